"""What one browser session has chosen so far, and the study spec it makes.

The app never builds an analysis of its own: every step turns the choices into
a ``study.yaml`` text (:func:`spec_text`), loads it with the ordinary loader and
builds the cohort with the ordinary data layer, so the checks, the counts and
the error messages are the CLI's, and the downloaded spec reproduces the run.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "DATE_GROUPS",
    "TYPES",
    "AnalysisChoice",
    "ColumnChoice",
    "CriterionChoice",
    "EndpointChoice",
    "RunRecord",
    "Session",
    "Upload",
    "parse_list",
    "parse_numbers",
    "reference_shown",
    "spec_dict",
    "spec_text",
]

#: Column types offered in the mapping step ("ignore": not part of the spec; "text": free
#: text, checked to exist but never analysed, never offered for Table 1, never written).
TYPES = ("continuous", "categorical", "binary", "date", "identifier", "text", "ignore")
#: What a date column may also give (the mapping step's "group" choice): nothing, a group
#: fixed at the start (with a date vs without: ``derive: DATE is not missing``), or a
#: time-dependent group (``time_dependent: {from: DATE}``: unexposed before the date,
#: exposed from it; issue 19).
DATE_GROUPS = {
    "": "no group",
    "fixed": "group: with a date vs without (fixed at the start)",
    "time-dependent": "group: time-dependent (from the date on)",
}
_TRUE = frozenset({"yes", "y", "true", "1"})
_FALSE = frozenset({"no", "n", "false", "0"})


@dataclass
class Upload:
    """The uploaded file: stored under a server-chosen name, shown under its sanitised one."""

    stored: Path
    display_name: str
    kind: str
    n_rows: int
    columns: tuple[str, ...]


@dataclass
class ColumnChoice:
    column: str
    name: str
    type: str
    label: str
    levels: str = ""  # comma-separated display order; empty: the values as found
    note: str = ""
    values_hint: str = ""  # the guessed category values (never for identifiers/dates)
    group: str = ""  # date columns: a key of DATE_GROUPS
    reference: str = ""  # the reference level chosen; empty: the spec's default rule


@dataclass
class EndpointChoice:
    name: str
    label: str
    form: str = "dates"  # dates | columns | status (start + end date + vital status column)
    start: str | None = None
    end: str | None = None
    status: str | None = None
    events: list[str] = field(default_factory=list)
    censor: list[str] = field(default_factory=list)
    time: str | None = None
    time_unit: str = "months"
    event: str | None = None
    event_values: str = ""
    censored_values: str = ""
    competing: list[str] = field(default_factory=list)  # date variables of competing events
    competing_values: str = ""  # event-column value(s) meaning a competing event
    competing_label: str = ""  # the competing event in words (e.g. death without progression)


@dataclass
class CriterionChoice:
    kind: str  # include | exclude
    expression: str
    reason: str = ""


@dataclass
class AnalysisChoice:
    table1: list[str] = field(default_factory=list)
    continuous: str = "median-range"
    survival: list[str] = field(default_factory=list)
    landmarks: str = ""
    factors: list[str] = field(default_factory=list)
    covariates: list[str] = field(default_factory=list)
    km_by: str = ""
    methods: str = "standard"
    treatment: str = ""  # a two-level variable: propensity-score comparison (issue 20)
    confounders: list[str] = field(default_factory=list)
    te_method: str = "weighting-ATE"  # weighting-ATE | weighting-ATT | weighting-overlap | matching
    saved: bool = False


@dataclass
class RunRecord:
    """One finished run: its folder in the server's temporary directory and what to show."""

    id: str
    out_dir: Path
    spec_download: str
    figures: list[tuple[str, Path]]  # (caption, PNG file)
    downloads: dict[str, Path]  # fixed download name -> file
    page: dict[str, Any] = field(default_factory=dict)  # what the results page shows


@dataclass
class Session:
    id: str
    csrf: str
    folder: Path
    upload: Upload | None = None
    columns: list[ColumnChoice] = field(default_factory=list)
    columns_saved: bool = False
    title: str = "My study"
    date_format: str = ""
    cutoff: str = ""
    units: str = "months"
    endpoints: list[EndpointChoice] = field(default_factory=list)
    population: list[CriterionChoice] = field(default_factory=list)
    analyses: AnalysisChoice = field(default_factory=AnalysisChoice)
    runs: dict[str, RunRecord] = field(default_factory=dict)
    last_run: str | None = None
    n_uploads: int = 0

    def reset_for_upload(self) -> None:
        """A new file is a new study: nothing chosen for the previous one carries over
        (its data cut-off, date format, units and title included)."""
        self.columns = []
        self.columns_saved = False
        self.title = "My study"
        self.date_format = ""
        self.cutoff = ""
        self.units = "months"
        self.endpoints = []
        self.population = []
        self.analyses = AnalysisChoice()
        self.last_run = None

    def variables(self, *types: str) -> list[ColumnChoice]:
        """Columns in the spec (not ignored), optionally of the given types."""
        return [c for c in self.columns if c.type != "ignore" and (not types or c.type in types)]

    def visible(self) -> list[ColumnChoice]:
        """Columns that may be named after the mapping step: never identifiers or free text."""
        return [c for c in self.columns if c.type not in ("identifier", "text", "ignore")]

    def date_groups(self) -> list[ColumnChoice]:
        """The groups the user made from date columns (the mapping step's "group" choice),
        as binary variables named ``with_<date>``: ``column`` is the date variable's name."""
        taken = {c.name for c in self.columns} | {e.name for e in self.endpoints}
        out = []
        for c in self.variables("date"):
            if c.group not in DATE_GROUPS or not c.group:
                continue
            name = f"with_{c.name}"
            while name in taken:
                name += "_"
            taken.add(name)
            what = "time-dependent" if c.group == "time-dependent" else "date given"
            out.append(
                ColumnChoice(
                    column=c.name,
                    name=name,
                    type="binary",
                    label=f"{c.label or c.name} ({what})",
                    group=c.group,
                )
            )
        return out

    def choosable(self) -> list[ColumnChoice]:
        """What the analyses form offers: the non-date columns, then the date groups."""
        return [c for c in self.visible() if c.type != "date"] + self.date_groups()

    def endpoint(self, name: str) -> EndpointChoice | None:
        return next((e for e in self.endpoints if e.name == name), None)


def parse_list(text: str) -> list[str]:
    """'a, b ,c' -> ['a', 'b', 'c'] (empty items dropped)."""
    return [x.strip() for x in text.split(",") if x.strip()]


def parse_numbers(text: str) -> list[float]:
    """'12, 24 36' -> [12.0, 24.0, 36.0]; raises ValueError on anything else."""
    items = [x for x in re.split(r"[,;\s]+", text.strip()) if x]
    return [float(x) for x in items]


def _level_value(text: str) -> Any:
    """A level typed in the form as the YAML scalar the data hold: '1' -> 1, 'x' -> 'x'."""
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def _variable(c: ColumnChoice) -> dict[str, Any]:
    out: dict[str, Any] = {"type": c.type}
    if c.column != c.name:
        out["column"] = c.column
    if c.type not in ("identifier", "text") and c.label and c.label != c.name:
        out["label"] = c.label
    levels = parse_list(c.levels)
    if c.reference and c.type in ("categorical", "binary"):
        out["reference"] = c.reference
    if levels and c.type in ("categorical", "binary"):
        out["levels"] = [_level_value(x) for x in levels]
    elif c.type == "binary":
        # name the data's own yes/no (1/0) values, so Table 1 shows "Yes"/"No" rather than
        # the list of every default spelling
        values = parse_list(c.values_hint)
        yes = [_level_value(v) for v in values if v.casefold() in _TRUE]
        no = [_level_value(v) for v in values if v.casefold() in _FALSE]
        if yes and no and len(yes) + len(no) == len(values):
            out["levels"] = {"Yes": yes, "No": no}
    return out


def reference_shown(c: ColumnChoice) -> str:
    """The reference level the spec gives this column (the chosen one, else the spec's
    default rule: first level; a binary's No level), '' when there is none yet or the
    choices do not make a valid variable (the check step says why)."""
    if c.type not in ("categorical", "binary"):
        return ""
    from pydantic import ValidationError

    from survstudy.spec.model import VariableSpec

    try:
        ref = VariableSpec.model_validate(_variable(c)).reference_level() or ""
    except ValidationError:
        return ""
    if not ref and not c.reference and c.type == "categorical":
        # levels found in the data, in the data layer's order (the guess lists them so)
        found = parse_list(c.values_hint)
        ref = found[0] if found else ""
    return ref


def _endpoint(e: EndpointChoice) -> dict[str, Any]:
    out: dict[str, Any] = {"label": e.label or e.name}
    if e.form == "status":
        out["start"] = e.start
        out["end"] = e.end
        out["status"] = e.status
        ev, ce = parse_list(e.event_values), parse_list(e.censored_values)
        if ev or ce:
            out["event_codes"] = {
                "event": [_level_value(x) for x in ev],
                "censored": [_level_value(x) for x in ce],
            }
        return out
    if e.form == "columns":
        out["time"] = e.time
        out["time_unit"] = e.time_unit
        out["event"] = e.event
        ev, ce = parse_list(e.event_values), parse_list(e.censored_values)
        co = parse_list(e.competing_values)
        if co and not (ev or ce):
            ev, ce = ["1"], ["0"]  # the 0/1 convention of the event column, plus the competing code
        if ev or ce:
            out["event_codes"] = {
                "event": [_level_value(x) for x in ev],
                "censored": [_level_value(x) for x in ce],
            }
            if co:
                out["event_codes"]["competing"] = [_level_value(x) for x in co]
        has_competing = bool(co)
    else:
        out["start"] = e.start
        out["events"] = list(e.events)
        if e.censor:
            out["censor"] = list(e.censor)
        if e.competing:
            out["competing"] = list(e.competing)
        has_competing = bool(e.competing)
    if has_competing and e.competing_label:
        out["competing_label"] = e.competing_label
    return out


def spec_dict(s: Session, data_path: str, *, analyses: bool = True) -> dict[str, Any]:
    """The study spec of the session's choices as plain data (``data_path`` as given)."""
    data: dict[str, Any] = {"path": data_path}
    ids = s.variables("identifier")
    if ids:
        data["id"] = ids[0].column
    if s.date_format:
        data["date_format"] = s.date_format
    if s.cutoff:
        data["cutoff"] = _dt.date.fromisoformat(s.cutoff)
    spec: dict[str, Any] = {"title": s.title or "My study", "data": data, "units": s.units}
    spec["variables"] = {c.name: _variable(c) for c in s.variables()}
    for g in s.date_groups():
        rule: dict[str, Any] = {"type": "binary", "label": g.label}
        if g.group == "time-dependent":
            rule["time_dependent"] = {"from": g.column}
        else:
            rule["derive"] = f"{g.column} is not missing"
        spec["variables"][g.name] = rule
    spec["endpoints"] = {e.name: _endpoint(e) for e in s.endpoints}
    spec["population"] = [
        {c.kind: c.expression, **({"reason": c.reason} if c.reason else {})} for c in s.population
    ]
    if not analyses:
        return spec
    a = s.analyses
    an: dict[str, Any] = {"methods": a.methods}
    ep_names = [e.name for e in s.endpoints]
    survival = [x for x in a.survival if x in ep_names]
    valid = {c.name for c in s.visible()} | {g.name for g in s.date_groups()}
    if a.table1:
        an["table1"] = {
            "variables": [v for v in a.table1 if v in valid or v in ep_names],
            "continuous": a.continuous,
        }
    if survival:
        an["survival"] = {"endpoints": survival, "landmarks": parse_numbers(a.landmarks)}
        factors = [f for f in a.factors if f in valid]
        if factors:
            an["univariable"] = {"endpoints": survival, "factors": factors}
        covariates = [f for f in a.covariates if f in valid]
        if covariates:
            an["multivariable"] = [
                {"name": f"{ep} model", "endpoint": ep, "covariates": covariates} for ep in survival
            ]
        by = a.km_by if a.km_by in valid else ""
        an["km"] = [{"endpoint": ep} for ep in survival]
        if by:
            an["km"] += [{"endpoint": ep, "by": by} for ep in survival]
        confounders = [f for f in a.confounders if f in valid and f != a.treatment]
        if a.treatment in valid and confounders:
            method, _, estimand = a.te_method.partition("-")
            an["treatment_effect"] = [
                {
                    "name": f"{a.treatment} ({ep})",
                    "endpoint": ep,
                    "treatment": a.treatment,
                    "confounders": confounders,
                    "method": "matching" if method == "matching" else "weighting",
                    **({"estimand": estimand} if method == "weighting" and estimand else {}),
                }
                for ep in survival
            ]
    spec["analyses"] = an
    return spec


class _PlainDumper(yaml.SafeDumper):
    """A spec for people: a list used twice is written twice, never as ``&id001``/``*id001``
    anchors and aliases (which a reader of the downloaded study.yaml cannot follow)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def spec_text(s: Session, data_path: str, *, analyses: bool = True, header: str = "") -> str:
    """``study.yaml`` text for the session (``header``: comment lines put on top)."""
    body = yaml.dump(
        spec_dict(s, data_path, analyses=analyses),
        Dumper=_PlainDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=None,  # short mappings and lists on one line: {type: date}
        width=100,
    )
    return header + body

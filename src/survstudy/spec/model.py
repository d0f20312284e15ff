"""Pydantic models of ``study.yaml``.

Structure checks live here (types, allowed keys, value ranges); checks that need
the whole spec (a name used in an expression is a declared variable, an endpoint
refers to date variables, …) live in :mod:`survstudy.spec.checks`, which knows the
YAML line of every key.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    WithJsonSchema,
    field_validator,
    model_validator,
)

__all__ = [
    "AnalysesSpec",
    "Criterion",
    "DataSpec",
    "EndpointSpec",
    "EventCodes",
    "Factor",
    "KMFigureSpec",
    "LandmarkSpec",
    "ModelSpec",
    "PrecisionSpec",
    "StudySpec",
    "SurvivalSpec",
    "Table1Spec",
    "TableSpec",
    "TimeDependentSpec",
    "TreatmentEffectSpec",
    "UnitsSpec",
    "UnivariableSpec",
    "VariableSpec",
]

#: abbreviations common in hospital column names, as words (prose only: the methods)
_ABBREVIATIONS = {
    "fu": "follow-up",
    "lfu": "last follow-up",
    "dx": "diagnosis",
    "dt": "date",
    "dob": "date of birth",
    "dod": "date of death",
    "pt": "patient",
    "tx": "treatment",
    "op": "operation",
    "yr": "year",
    "yrs": "years",
}


def _readable_name(name: str) -> str:
    """``name`` as words: split at ``_``, ``.``, ``-`` and camelCase, lower case except
    acronyms (all capitals), the abbreviations above spelled out."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    words = []
    for w in re.split(r"[\s_.\-]+", spaced):
        if not w:
            continue
        low = w.lower()
        if low in _ABBREVIATIONS:
            words.append(_ABBREVIATIONS[low])
        elif len(w) > 1 and w.isupper():
            words.append(w)
        else:
            words.append(low)
    return " ".join(words) or name


Scalar = str | bool | int | float
TimeUnit = Literal["days", "weeks", "months", "years"]
VariableType = Literal[
    "continuous", "categorical", "binary", "date", "identifier", "multiselect", "text"
]
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"

#: default values that mean "missing" in every column (compared case-insensitively)
DEFAULT_MISSING: tuple[str, ...] = ("", "na", "n/a", "nan", "null", ".")
#: default values of a binary variable / multi-select option
DEFAULT_TRUE: tuple[Scalar, ...] = (1, True, "yes", "y")
DEFAULT_FALSE: tuple[Scalar, ...] = (0, False, "no", "n")
#: names or data values of the level a binary variable compares against by default
NO_LIKE: frozenset[str] = frozenset({"no", "n", "0", "false", "absent", "none", "negative"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _as_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, str | int | float | bool):
        return [value]
    return value


Summary = Literal["first", "last", "min", "max", "count", "any"]


class TableSpec(_Model):
    """A further sheet or file joined to the main table on the patient id (``data.tables``)."""

    path: str = Field(
        description="Data file, relative to the spec file (may be the same workbook)."
    )
    format: Literal["csv", "xlsx", "sav", "dta", "parquet"] | None = Field(
        None, description="File format; by default chosen from the extension."
    )
    sheet: str | int | None = Field(
        None, description="Excel sheet by name or 0-based index (default: first sheet)."
    )
    header_row: int | None = Field(
        None, ge=1, description="Spreadsheet row holding the column names (default: first)."
    )
    id: str | None = Field(
        None, description="Column holding the patient id in this table (default: data.id)."
    )
    rows: Literal["one", "many"] = Field(
        "one",
        description="one: at most one row per patient (a baseline or outcome sheet); many: "
        "several rows per patient (visits, events), summarised per patient by each "
        "variable's 'summary'.",
    )
    separator: str | None = Field(None, description="CSV field separator (default: detected).")
    decimal: Literal[".", ","] | None = Field(
        None, description="CSV decimal mark (default: detected)."
    )
    encoding: str | None = Field(None, description="CSV text encoding (default: detected).")


class DataSpec(_Model):
    """Where the patient data are and how to read them."""

    path: str = Field(description="Data file, relative to the spec file.")
    format: Literal["csv", "xlsx", "sav", "dta", "parquet"] | None = Field(
        None, description="File format; by default chosen from the extension."
    )
    sheet: str | int | None = Field(
        None, description="Excel sheet by name or 0-based index (default: first sheet)."
    )
    header_row: int | None = Field(
        None,
        ge=1,
        description="Spreadsheet row holding the column names (default: the first non-empty "
        "row), for sheets with title lines above the table.",
    )
    id: str | None = Field(None, description="Column holding the patient identifier.")
    date_format: str | None = Field(
        None,
        description="Order of day, month and year in dates written like 03/04/2015: "
        "DMY, MDY or YMD, or a strptime pattern such as %d.%m.%Y.",
    )
    century_pivot: int | None = Field(
        None,
        ge=0,
        le=99,
        description="Two-digit years below the pivot are 20xx, the others 19xx. "
        "Without it two-digit years are an error.",
    )
    excel_date_system: Literal[1900, 1904] | None = Field(
        None,
        description="Date system of Excel serial numbers found in a CSV file "
        "(XLSX files record their own).",
    )
    missing: list[Scalar] = Field(
        default_factory=list,
        description="Extra codes meaning 'missing' in every column (e.g. 999, unknown); "
        "empty cells, NA, N/A, NaN, NULL and '.' are always missing.",
    )
    separator: str | None = Field(None, description="CSV field separator (default: detected).")
    decimal: Literal[".", ","] | None = Field(
        None, description="CSV decimal mark (default: detected)."
    )
    encoding: str | None = Field(None, description="CSV text encoding (default: detected).")
    cutoff: _dt.date | None = Field(
        None,
        description="Data cut-off date: later events are censored at the cut-off and later "
        "dates are reported. Never taken from today's clock.",
    )
    tables: dict[Annotated[str, Field(pattern=NAME_PATTERN)], TableSpec] = Field(
        default_factory=dict,
        description="Further sheets or files joined to this table on the id column, by name; "
        "a variable reads one with 'from_table: NAME' (and 'summary:' for rows: many).",
    )

    _norm_missing = field_validator("missing", mode="before")(_as_list)


class UnitsSpec(_Model):
    """The unit of every reported duration. Durations are kept in whole days internally."""

    time: TimeUnit = Field("months", description="Unit of reported durations and landmarks.")
    days_per_month: float = Field(30.4375, gt=0, description="Days in a month (365.25 / 12).")
    days_per_year: float = Field(365.25, gt=0, description="Days in a year.")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"time": value} if isinstance(value, str) else value

    def days_per(self, unit: str | None = None) -> float:
        """Days in one ``unit`` (default: the reporting unit)."""
        unit = unit or self.time
        return {
            "days": 1.0,
            "weeks": 7.0,
            "months": self.days_per_month,
            "years": self.days_per_year,
        }[unit]

    @property
    def days_per_unit(self) -> float:
        return self.days_per(self.time)


class TimeDependentSpec(_Model):
    """A variable that changes during follow-up: a binary exposure from a date (``from``), or
    a continuous value measured repeatedly in a joined table (``date``)."""

    from_: str | None = Field(
        None,
        alias="from",
        description="binary: date variable where the exposure starts: 0 before it, 1 from it "
        "(no date: never exposed; a date on or before an endpoint's start: exposed from the "
        "start). Cox models split each patient's follow-up at it, KM figures by it are "
        "Simon–Makuch curves with the Mantel–Byar test, a landmark groups by the status at "
        "the landmark; Table 1 shows the status at the end of follow-up.",
    )
    date: str | None = Field(
        None,
        description="continuous, read from a joined table with rows: many (from_table): the "
        "table's column holding each measurement's date. Each value holds from its date until "
        "the patient's next measurement (R's tmerge(..., tdc(time, value))); before the first "
        "measurement the value is missing and Cox models leave that part of the follow-up "
        "out; a measurement on or before the start holds from the start. Cox models split "
        "each patient's follow-up at the measurement dates; Table 1 shows the variable's "
        "summary (default: the last measurement).",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> TimeDependentSpec:
        if (self.from_ is None) == (self.date is None):
            raise ValueError(
                "give 'from' (a binary exposure from a date) or 'date' (the date column of "
                "a table of measurements), not both"
                if self.from_ is not None
                else "give 'from' (a binary exposure from a date) or 'date' (the date column "
                "of a table of measurements)"
            )
        return self


class VariableSpec(_Model):
    """One variable of the study: a data column or a derived value."""

    type: VariableType = Field(
        description="continuous, categorical, binary, date, identifier, multiselect or text "
        "(free text such as comments: the column is checked to exist, never analysed and "
        "never written to any output)."
    )
    label: str | None = Field(None, description="Label shown in tables (default: the name).")
    column: str | None = Field(None, description="Data column (default: the variable's name).")
    unit: str | None = Field(None, description="Unit shown after the label, e.g. mm or years.")
    levels: list[Scalar] | dict[str, Scalar | list[Scalar]] | None = Field(
        None,
        description="Categories in display order. A list names them; a mapping groups data "
        "values into a category, e.g. {'I/II': [1, 2], 'III': [3]}.",
    )
    reference: str | None = Field(
        None,
        description="Reference category. Default: the first level; for a binary variable "
        "its No level (the level named No, 0, false, n, absent, none or negative, or whose "
        "data values all are), whatever the order; a binary variable without such a level: "
        "the second level.",
    )
    cuts: list[float] | None = Field(
        None, description="Cut-points turning a numeric column into categories [a, b)."
    )
    cut_labels: list[str] | None = Field(None, description="Names of the categories from cuts.")
    range: tuple[float, float] | None = Field(
        None, description="Plausible [min, max]; values outside are an error."
    )
    derive: str | None = Field(
        None, description="Safe expression computing the variable from other variables."
    )
    applicable_when: str | None = Field(
        None,
        description="Condition (safe expression): the variable applies only to these patients "
        "and its denominator counts only them.",
    )
    missing: list[Scalar] = Field(
        default_factory=list, description="Extra missing-value codes for this column."
    )
    date_format: str | None = Field(None, description="Date format for this column only.")
    death: bool | None = Field(
        None,
        description="date: this is the date of death (no event or follow-up may come after "
        "it). Default: a date variable whose name or label says 'death' or 'died'.",
    )
    options: dict[str, str] | None = Field(
        None,
        description="multiselect: row label -> data column, e.g. {Radiotherapy: rt}.",
    )
    selected: list[Scalar] | None = Field(
        None, description="multiselect: values meaning 'selected' (default 1, true, yes, y)."
    )
    value_labels: dict[str, str] | None = Field(
        None,
        description="Display names of data values where a grouped level shows its parts, "
        "e.g. {1: I, 2: II} prints 'I (n=3)/II (n=4)' for the level I/II: [1, 2].",
    )
    time_dependent: TimeDependentSpec | None = Field(
        None,
        description="binary: the exposure starts at a date after time zero (e.g. "
        "{from: transplant_date}); the variable is then derived as 'ever exposed' ("
        "'<date> is not missing') unless it has its own derive. continuous: a value measured "
        "repeatedly, read from a joined table with rows: many (e.g. {date: lab_date}).",
    )
    from_table: str | None = Field(
        None,
        description="Read the column from this joined table of data.tables (default: the main "
        "table).",
    )
    summary: Summary | None = Field(
        None,
        description="For a table with rows: many, the value per patient: first or last (in the "
        "file's row order, among present values), min or max (numbers, dates), count (rows with "
        "a value; a continuous variable), any (binary: the first level on any row).",
    )
    blank_is_no: bool = Field(
        True,
        description="multiselect: an empty cell means 'not selected' (as in a checkbox "
        "column); set false to count empty cells as missing.",
    )

    _norm_missing = field_validator("missing", mode="before")(_as_list)

    @model_validator(mode="before")
    @classmethod
    def _time_dependent_derive(cls, value: Any) -> Any:
        # a time-dependent binary without its own rule is 'ever exposed'
        if isinstance(value, dict) and isinstance(value.get("time_dependent"), dict):
            td = value["time_dependent"]
            date = td.get("from", td.get("from_"))
            if isinstance(date, str) and value.get("derive") is None and not value.get("column"):
                value = {**value, "derive": f"{date} is not missing"}
            if isinstance(td.get("date"), str) and value.get("summary") is None:
                # a measured value: Table 1 shows the last measurement unless told otherwise
                value = {**value, "summary": "last"}
        return value

    @field_validator("levels", mode="before")
    @classmethod
    def _level_keys_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {_text(k): v for k, v in value.items()}
        return value

    @field_validator("value_labels", mode="before")
    @classmethod
    def _value_label_keys_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {_text(k): _text(v) for k, v in value.items()}
        return value

    @field_validator("reference", mode="before")
    @classmethod
    def _reference_as_text(cls, value: Any) -> Any:
        return _text(value) if isinstance(value, int | float | bool) else value

    @model_validator(mode="after")
    def _consistent(self) -> VariableSpec:
        if self.type == "multiselect" and not self.options:
            raise ValueError("a multiselect variable needs 'options' (row label -> column)")
        if self.death and self.type != "date":
            raise ValueError("'death: true' marks a date variable")
        if self.type != "multiselect" and (self.options or self.selected):
            raise ValueError("'options' and 'selected' are for multiselect variables only")
        if self.derive and self.column:
            raise ValueError("a variable is either read from a 'column' or has 'derive', not both")
        if self.from_table is not None and (self.derive or self.type == "multiselect"):
            raise ValueError(
                "'from_table' is for a variable read from a column (not derived, not multiselect)"
            )
        if self.summary is not None:
            if self.from_table is None:
                raise ValueError("'summary' summarises a joined table: give 'from_table' too")
            allowed = {
                "count": ("continuous",),
                "any": ("binary",),
                "min": ("continuous", "date"),
                "max": ("continuous", "date"),
            }.get(self.summary, ("continuous", "date", "categorical", "binary"))
            if self.type not in allowed:
                raise ValueError(
                    f"summary '{self.summary}' makes a {' or '.join(allowed)} variable, "
                    f"not {self.type}"
                )
            if self.cuts is not None:
                raise ValueError("'cuts' on a summary: derive a variable from it and cut that")
        if self.cuts is not None:
            if self.type != "categorical":
                raise ValueError("'cuts' makes categories: use it with type: categorical")
            if list(self.cuts) != sorted(set(self.cuts)):
                raise ValueError("'cuts' must be increasing")
            if self.levels is not None:
                raise ValueError("give either 'cuts' (with 'cut_labels') or 'levels', not both")
            if self.cut_labels is not None and len(self.cut_labels) != len(self.cuts) + 1:
                raise ValueError(
                    f"{len(self.cuts)} cut-points make {len(self.cuts) + 1} categories; "
                    f"'cut_labels' has {len(self.cut_labels)}"
                )
        if self.levels is not None and self.type not in ("categorical", "binary"):
            raise ValueError("'levels' are for categorical and binary variables")
        if self.range is not None and self.range[0] > self.range[1]:
            raise ValueError("'range' must be [min, max] with min <= max")
        td = self.time_dependent
        if td is not None and td.from_ is not None and self.type != "binary":
            raise ValueError(
                "'time_dependent: {from: DATE}' is for binary variables (0 before the date, 1 "
                "from it); a measured value uses 'time_dependent: {date: COLUMN}'"
            )
        if td is not None and td.date is not None:
            if self.type != "continuous":
                raise ValueError(
                    "'time_dependent: {date: COLUMN}' is for continuous values measured "
                    "repeatedly (a binary exposure uses 'time_dependent: {from: DATE}')"
                )
            if self.from_table is None:
                raise ValueError(
                    "'time_dependent: {date: COLUMN}' reads the measurements of a joined table: "
                    "give 'from_table' (a table of data.tables with rows: many)"
                )
        if self.type == "binary" and self.levels is not None and len(self.levels) != 2:
            raise ValueError(f"a binary variable has exactly 2 levels, got {len(self.levels)}")
        seen: dict[str, str] = {}
        for level, values in self.level_map().items():
            for v in values:
                key = _text(v).strip().casefold()
                if key in seen and seen[key] != level:
                    raise ValueError(
                        f"the value {_text(v)!r} is listed under two levels, "
                        f"'{seen[key]}' and '{level}'"
                    )
                seen[key] = level
        levels = self.level_names()
        if self.reference is not None and levels and self.reference not in levels:
            raise ValueError(
                f"reference '{self.reference}' is not one of the levels {', '.join(levels)}"
            )
        return self

    def level_map(self) -> dict[str, list[Scalar]]:
        """Level name -> data values that mean it, in display order (empty for non-categories)."""
        if self.type == "binary" and self.levels is None:
            return {"Yes": list(DEFAULT_TRUE), "No": list(DEFAULT_FALSE)}
        if self.cuts is not None:
            return {name: [] for name in self.cut_names()}
        if self.levels is None:
            return {}
        if isinstance(self.levels, list):
            return {_text(v): [v] for v in self.levels}
        return {name: list(_as_list(values)) for name, values in self.levels.items()}

    def level_names(self) -> list[str]:
        return list(self.level_map())

    def cut_names(self) -> list[str]:
        cuts = list(self.cuts or [])
        if self.cut_labels is not None:
            return list(self.cut_labels)
        if not cuts:
            return []
        names = [f"<{_text(cuts[0])}"]
        names += [f"{_text(a)}–<{_text(b)}" for a, b in itertools.pairwise(cuts)]
        names.append(f"≥{_text(cuts[-1])}")
        return names

    def reference_level(self) -> str | None:
        """The reference category: as given, else the first level; a binary variable's is
        its No level (:func:`binary_reference`)."""
        if self.reference is not None:
            return self.reference
        names = self.level_names()
        if not names:
            return None
        return binary_reference(self.level_map()) if self.type == "binary" else names[0]


def _no_like(value: Any) -> bool:
    return _text(value).strip().casefold() in NO_LIKE


def binary_reference(level_map: dict[str, list[Scalar]]) -> str:
    """A binary variable's default reference: the one level named No/0/false/n/absent/
    none/negative or whose data values all are, whatever the order (so the hazard ratio
    is Yes versus No); else the second level."""
    names = list(level_map)
    no = [
        lv
        for lv, values in level_map.items()
        if _no_like(lv) or (values and all(_no_like(v) for v in values))
    ]
    if len(no) == 1:
        return no[0]
    return names[1] if len(names) == 2 else names[0]


def _text(value: Any) -> str:
    """A YAML scalar as text: 1 -> '1', 1.0 -> '1', True -> 'true'."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class EventCodes(_Model):
    """How an event column is coded when it is not 0/1 or true/false."""

    event: list[Scalar] = Field(description="Values meaning the event happened, e.g. [Dead].")
    censored: list[Scalar] = Field(description="Values meaning censored, e.g. [Alive].")
    competing: list[Scalar] = Field(
        default_factory=list, description="Values meaning a competing event (censored here)."
    )

    _lists = field_validator("event", "censored", "competing", mode="before")(_as_list)


class EndpointSpec(_Model):
    """A time-to-event endpoint, from dates, from a status at an end date, or from a time
    column and an event column.

    From dates: time runs from ``start`` to the earliest of the ``events`` dates
    (event = 1) or, when none is present, to the latest ``censor`` date (event = 0).
    From a status (the layout "last contact date + Alive/Dead"): time runs from ``start``
    to ``end``; the ``status`` column says whether the patient had the event there (its
    values as 0/1, true/false or mapped by ``event_codes``).
    """

    label: str | None = Field(None, description="Label shown in tables and figures.")
    definition: str | None = Field(
        None,
        description="The endpoint in clinical words for the methods: time origin, which events "
        "count and how patients without an event are censored, e.g. 'from surgery to "
        "recurrence or death from any cause; patients alive without recurrence censored at "
        "last follow-up'. An endpoint from a time and an event column needs it (without it "
        "the methods give only the label, with a warning).",
    )
    start: str | None = Field(None, description="Date variable where time starts (time zero).")
    events: list[str] = Field(
        default_factory=list,
        description="Date variable(s) of the event; with several, the earliest counts "
        "(composite endpoint).",
    )
    censor: list[str] = Field(
        default_factory=list,
        description="Date variable(s) of last follow-up; patients without an event are "
        "censored at the latest of them.",
    )
    competing: list[str] = Field(
        default_factory=list,
        description="Date variable(s) of competing events: follow-up for this endpoint ends "
        "there (censored; recorded as status 2 for competing-risks analyses).",
    )
    end: str | None = Field(
        None,
        description="Date variable where follow-up ends (e.g. the last contact date), with "
        "'start' and 'status': the layout 'last contact date + Alive/Dead status'.",
    )
    status: str | None = Field(
        None,
        description="Column holding the status at 'end' (event or censored: 0/1, true/false "
        "or the values given by event_codes, e.g. {event: [Dead], censored: [Alive]}).",
    )
    time: str | list[str] | None = Field(
        None,
        description="Time (instead of dates): a data column or a derived variable; a list "
        "[rtime, dtime] makes a composite endpoint with the 'event' list, paired by position "
        "(the earliest time among the components whose event happened; when none happened, "
        "censored at the latest component time).",
    )
    time_unit: TimeUnit | None = Field(
        None, description="Unit of the time column (default: units.time)."
    )
    event: str | list[str] | None = Field(
        None,
        description="Event indicator: a data column or a derived variable; a list "
        "[recur, death] pairs each component's event with the time at its position.",
    )
    event_codes: EventCodes | None = Field(
        None, description="Mapping of event-column values when they are not 0/1 or true/false."
    )
    horizon: float | None = Field(
        None,
        gt=0,
        description="Administrative censoring: events after this time (in units.time) are "
        "censored at it.",
    )
    event_noun: str | None = Field(
        None,
        description="Plural noun for this endpoint's events in plain-language notes, e.g. "
        "progressions or deaths (default: events).",
    )
    competing_label: str | None = Field(
        None,
        description="The competing event in words for tables, figures and notes, e.g. death "
        "without progression (default: the labels of the 'competing' dates, or the "
        "event_codes.competing values).",
    )

    _lists = field_validator("events", "censor", "competing", mode="before")(_as_list)

    @model_validator(mode="after")
    def _one_form(self) -> EndpointSpec:
        by_columns = self.time is not None or self.event is not None
        if self.end is not None or self.status is not None:
            if by_columns or self.events or self.censor or self.competing:
                raise ValueError(
                    "an endpoint is from dates (start, events, censor), from a status "
                    "(start, end, status) or from columns (time, event), one form only"
                )
            if self.start is None or self.end is None or self.status is None:
                raise ValueError(
                    "an endpoint from a status needs 'start' and 'end' (dates) and 'status' "
                    "(the column saying event or censored at 'end')"
                )
            return self
        by_dates = self.start is not None or bool(self.events) or bool(self.censor)
        if by_dates and by_columns:
            raise ValueError(
                "an endpoint is either from dates (start, events, censor) or from columns "
                "(time, event), not both"
            )
        if by_columns:
            if self.time is None or self.event is None:
                raise ValueError("an endpoint from columns needs both 'time' and 'event'")
            if self.competing:
                raise ValueError(
                    "'competing' dates need an endpoint from dates; "
                    "use event_codes.competing for an event column"
                )
            if isinstance(self.time, list) or isinstance(self.event, list):
                times, events = self.time_parts(), self.event_parts()
                if len(times) != len(events):
                    raise ValueError(
                        f"a composite endpoint pairs times and events by position: 'time' "
                        f"lists {len(times)}, 'event' lists {len(events)}"
                    )
                if len(times) < 2:
                    raise ValueError(
                        "a composite endpoint lists at least two times and two events; "
                        "write a single one without brackets"
                    )
                pairs = list(zip(times, events, strict=True))
                if len(set(pairs)) != len(pairs):
                    raise ValueError("a composite endpoint lists the same component twice")
        else:
            if self.start is None or not self.events:
                raise ValueError(
                    "an endpoint needs 'start' and 'events' (dates), or 'time' and 'event' "
                    "(columns)"
                )
        if self.event_codes is not None and not by_columns:
            raise ValueError(
                "'event_codes' belong to an endpoint with an 'event' or a 'status' column"
            )
        both = [v for v in self.events if v in self.censor]
        if both:
            raise ValueError(
                f"'{both[0]}' is both an event date and a censoring date: every patient with "
                "that date would count as an event; censor at the last follow-up date instead"
            )
        both = [v for v in self.competing if v in (*self.events, *self.censor)]
        if both:
            raise ValueError(
                f"'{both[0]}' is a competing-event date and also an event or censoring date"
            )
        if self.competing_label is not None and not (
            self.competing or (self.event_codes is not None and self.event_codes.competing)
        ):
            raise ValueError(
                "'competing_label' needs competing events ('competing' dates or "
                "event_codes.competing)"
            )
        return self

    @property
    def from_dates(self) -> bool:
        """Time from dates (``start`` with ``events``/``censor``, or with ``end``/``status``)."""
        return self.time is None

    @property
    def from_status(self) -> bool:
        """The form ``start`` + ``end`` + ``status``."""
        return self.end is not None

    @property
    def composite(self) -> bool:
        """An endpoint from several time/event pairs (``time: [a, b]``)."""
        return isinstance(self.time, list)

    def time_parts(self) -> list[str]:
        """The time column(s) or derived variable(s), one per component."""
        return _parts(self.time)

    def event_parts(self) -> list[str]:
        """The event column(s) or derived variable(s), one per component."""
        return _parts(self.event)


def _parts(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


class Criterion(_Model):
    """One step of the inclusion flow: keep patients where ``include`` is true, or drop
    patients where ``exclude`` is true. A missing result excludes (include) or keeps
    (exclude) the patient and is counted in the flow."""

    include: str | None = Field(None, description="Keep patients for whom this is true.")
    exclude: str | None = Field(None, description="Drop patients for whom this is true.")
    reason: str | None = Field(None, description="Text shown in the flow diagram.")

    @model_validator(mode="after")
    def _one_of(self) -> Criterion:
        if (self.include is None) == (self.exclude is None):
            raise ValueError("a population step has exactly one of 'include' or 'exclude'")
        return self

    @property
    def expression(self) -> str:
        return self.include if self.include is not None else str(self.exclude)


_FACTOR_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "description": "Variable name."},
        {
            "type": "object",
            "description": "{variable: {per: 10}} or {variable: ki67, per: 10}; "
            "{variable: {transform: rcs}} or {variable: {transform: log}}",
            "additionalProperties": True,
        },
    ]
}


class Factor(_Model):
    """A covariate: a variable name, optionally scaled (``per: 10`` → HR per 10 units) or
    transformed (``transform: log`` or ``rcs``; a key of the model entry, so that one
    variable can enter one model linearly and another as a spline)."""

    variable: str
    per: float | None = Field(None, gt=0, description="Report the HR per this many units.")
    label: str | None = None
    transform: Literal["log", "rcs"] | None = Field(
        None,
        description="Continuous covariates only. log: the covariate enters as its natural "
        "log (HR per unit of log; zero or negative values are refused); rcs: as a "
        "restricted cubic spline with 4 knots at Harrell's quantiles (rms::rcs), reported "
        "as a figure of the HR against reference_value with its CI, the overall and the "
        "non-linearity likelihood-ratio p.",
    )
    reference_value: float | None = Field(
        None,
        description="transform: rcs: the value the hazard-ratio curve is compared with "
        "(default: the median of the patients analysed).",
    )

    @model_validator(mode="after")
    def _transform_options(self) -> Factor:
        if self.transform is not None and self.per is not None:
            raise ValueError(f"'{self.variable}': per cannot be combined with transform")
        if self.reference_value is not None and self.transform != "rcs":
            raise ValueError(f"'{self.variable}': reference_value needs transform: rcs")
        return self

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"variable": value}
        if isinstance(value, dict) and len(value) == 1:
            ((key, options),) = value.items()
            if key not in ("variable", "per", "label", "transform", "reference_value"):
                if options is None:
                    return {"variable": key}
                if isinstance(options, dict):
                    return {"variable": key, **options}
        return value


FactorItem = Annotated[Factor, WithJsonSchema(_FACTOR_SCHEMA)]


class Table1Spec(_Model):
    """Table 1: the characteristics of the analysed population."""

    variables: list[str] = Field(
        description="Variables (or multiselect groups, or endpoint names for their times), "
        "in row order."
    )
    continuous: Literal["median-range", "median-iqr", "mean-sd"] = Field(
        "median-range", description="Summary of continuous variables."
    )
    by: str | None = Field(
        None, description="Optional grouping variable: one column per level (STROBE 14a)."
    )
    tests: bool = Field(
        False,
        description="With by: add a p column of group tests (off by default: CONSORT "
        "discourages significance tests of baseline differences).",
    )
    smd: bool = Field(
        False,
        description="With a two-level by: add a column of standardised mean differences "
        "(continuous: difference of means over the pooled SD; categorical: Yang and "
        "Dalton's multi-level SMD, as R's tableone).",
    )
    missing: bool = Field(True, description="Show the number missing when there are any.")
    style: Literal["journal", "seed"] = Field(
        "journal",
        description="journal: labels get ', n (%)' / ', median (range)', en dash ranges, "
        "'50.0'; seed: labels printed as given, hyphen ranges, '6 (50)', a '#: Median "
        "(range).' footnote (the seed paper's Table I).",
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Row labels for Table 1 only (variable or endpoint -> text); "
        "other tables keep the variable's label.",
    )
    show_levels: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Print only these levels of a variable, e.g. {progression: [Yes]} "
        "(percentages stay of all patients).",
    )
    show_denominator: dict[str, bool] = Field(
        default_factory=dict,
        description="Per variable or endpoint: true always adds ' (n=…)' to the label, false "
        "never does (default: added when its denominator differs from the table's n).",
    )
    sublevel_counts: list[str] | None = Field(
        None,
        description="Variables whose grouped levels show their parts' counts, "
        "'I (n=3)/II (n=4)' (default: every grouped level; [] for none).",
    )


class SurvivalSpec(_Model):
    """Survival summary: n, events, median, rates at landmark times."""

    endpoints: list[str]
    landmarks: list[float] = Field(
        default_factory=list, description="Times (in units.time) for survival rates."
    )
    rmst_tau: float | None = Field(
        None,
        gt=0,
        description="Horizon (in units.time) of the restricted mean survival time difference "
        "of a two-group Kaplan-Meier comparison (analyses.km with by:); default the last "
        "landmark. Not estimated (with a note) when beyond either group's last follow-up.",
    )

    _lists = field_validator("endpoints", "landmarks", mode="before")(_as_list)

    @field_validator("landmarks")
    @classmethod
    def _positive(cls, value: list[float]) -> list[float]:
        if any(t <= 0 for t in value):
            raise ValueError("landmark times must be positive")
        return value


FirthOption = Literal["auto", "always", "never"]
_FIRTH_DESCRIPTION = (
    "Firth-penalised Cox fit (Heinze & Schemper 2001): auto = also fitted, and shown beside "
    "the ordinary estimate, when an ordinary term is not estimable (monotone likelihood); "
    "always = for every model; never = not fitted."
)


CIOption = Literal["wald", "profile"]
_CI_DESCRIPTION = (
    "Confidence intervals of the ordinary Cox hazard ratios: wald = exp(beta ± z·SE); "
    "profile = profile likelihood (Venzon & Moolgavkar 1988), which follows the likelihood "
    "and behaves better with few events. p-values stay Wald tests."
)
PermutationOption = Literal["auto", "exact", "monte-carlo", "never"]
_PERMUTATION_DESCRIPTION = (
    "Permutation log-rank p shown beside the chi-square p: auto = when any group expects "
    "fewer than 5 events (exact enumeration, or a seeded Monte-Carlo p with its CI when "
    "enumeration is too large); exact = always, exact where possible; monte-carlo = always, "
    "Monte-Carlo; never = chi-square p only."
)
_SEED_DESCRIPTION = "Seed of the Monte-Carlo permutation log-rank test (reproducible p)."
_RESAMPLES_DESCRIPTION = "Number of random permutations of the Monte-Carlo log-rank test."


class UnivariableSpec(_Model):
    """Univariable Cox models (and log-rank tests for categorical factors)."""

    endpoints: list[str]
    factors: list[FactorItem]
    logrank: bool = Field(True, description="Add the log-rank p for categorical factors.")
    firth: FirthOption = Field("auto", description=_FIRTH_DESCRIPTION)
    ci: CIOption = Field("wald", description=_CI_DESCRIPTION)
    permutation: PermutationOption = Field("auto", description=_PERMUTATION_DESCRIPTION)
    seed: int = Field(20261126, ge=0, description=_SEED_DESCRIPTION)
    resamples: int = Field(10_000, ge=100, le=10_000_000, description=_RESAMPLES_DESCRIPTION)
    adjust: Literal["none", "holm", "bh"] = Field(
        "none",
        description="Adjust the factors' p-values for the number of factors tested per "
        "endpoint: holm (Holm 1979) or bh (Benjamini-Hochberg false discovery rate); shown "
        "in an extra column.",
    )

    _lists = field_validator("endpoints", mode="before")(_as_list)


class ModelSpec(_Model):
    """A multivariable Cox model."""

    name: str
    endpoint: str
    covariates: list[FactorItem]
    model: Literal["cox", "fine-gray"] = Field(
        "cox",
        description="cox = Cox proportional hazards (on an endpoint with competing events: the "
        "cause-specific Cox model, competing events censored); fine-gray = Fine-Gray "
        "subdistribution-hazard model (Fine & Gray 1999; needs an endpoint with competing "
        "events).",
    )
    strata: list[str] = Field(default_factory=list)
    firth: FirthOption = Field("auto", description=_FIRTH_DESCRIPTION)
    ci: CIOption = Field("wald", description=_CI_DESCRIPTION)

    _lists = field_validator("strata", mode="before")(_as_list)


class KMFigureSpec(_Model):
    """A Kaplan–Meier figure."""

    endpoint: str
    by: str | None = Field(None, description="Categorical variable: one curve per level.")
    ci: bool = Field(False, description="Draw confidence bands.")
    risk_table: bool = Field(True, description="Number at risk under the plot.")
    min_at_risk: int = Field(
        10,
        ge=0,
        description="Curtail each curve after the last time at which at least this many "
        "patients of its group were at risk (Pocock, Clayton & Altman 2002; the caption says "
        "so); the x-axis ends there unless max_time is given. 0 draws whole curves.",
    )
    max_time: float | None = Field(None, gt=0, description="x-axis limit, in units.time.")
    breaks: float | None = Field(None, gt=0, description="x-axis tick spacing, in units.time.")
    title: str | None = None
    permutation: PermutationOption = Field("auto", description=_PERMUTATION_DESCRIPTION)
    seed: int = Field(20261126, ge=0, description=_SEED_DESCRIPTION)
    resamples: int = Field(10_000, ge=100, le=10_000_000, description=_RESAMPLES_DESCRIPTION)


class LandmarkSpec(_Model):
    """A landmark analysis (Anderson, Cain & Gelber 1983): the patients still at risk at
    the landmark, grouped by their status then, followed from it."""

    endpoint: str
    at: float = Field(gt=0, description="The landmark, in units.time from the endpoint's start.")
    by: str = Field(
        description="Group variable (categorical or binary); a time-dependent one is taken "
        "at its status at the landmark."
    )


class PrecisionSpec(_Model):
    """The precision note: the smallest hazard ratio detectable from the observed events."""

    power: float = Field(0.8, gt=0, lt=1, description="Power of the precision note.")
    alpha: float = Field(
        0.05, gt=0, lt=1, description="Two-sided significance level of the precision note."
    )
    factor: str | None = Field(
        None,
        description="A two-group variable whose observed group sizes the endpoint's note "
        "uses (default: two equal groups).",
    )


class TreatmentEffectSpec(_Model):
    """A comparison of two treatments in an observational cohort by propensity scores.

    The propensity model is a logistic regression of the treatment on the confounders
    (coded and scaled as Cox factors, complete cases). ``method: weighting`` weights the
    patients (ATE, ATT or overlap weights); ``method: matching`` matches treated to
    control patients 1:``ratio`` on the logit of the score (estimand ATT).
    """

    name: str = Field(description="Name of the comparison, shown as its section title.")
    endpoint: str = Field(description="Endpoint compared.")
    treatment: str = Field(
        description="Binary variable (two levels); its non-reference level is 'treated', "
        "the reference level 'control'."
    )
    confounders: list[FactorItem] = Field(
        description="Variables of the propensity model (as Cox factors: a name, or "
        "{variable: {per: 10}})."
    )
    method: Literal["weighting", "matching"] = Field(
        "weighting",
        description="weighting (inverse-probability, ATT or overlap weights) or matching "
        "(nearest neighbour on the logit of the propensity score, without replacement).",
    )
    estimand: Literal["ATE", "ATT", "overlap"] | None = Field(
        None,
        description="ATE, ATT or overlap (weighting; default ATE); matching estimates the "
        "ATT (the default and the only choice).",
    )
    trim: tuple[float, float] | None = Field(
        None,
        description="Weighting: drop patients whose propensity score lies outside these "
        "percentiles of all scores, e.g. [0.01, 0.99] (the model is not refitted).",
    )
    truncate: tuple[float, float] | None = Field(
        None,
        description="Weighting: set weights outside these percentiles of the weights to the "
        "percentile, e.g. [0.01, 0.99].",
    )
    stabilise: bool = Field(
        True,
        description="Weighting, ATE: stabilised weights (multiplied by the share of the "
        "patient's group) instead of 1/e and 1/(1-e).",
    )
    caliper: float | None = Field(
        0.2,
        gt=0,
        description="Matching: largest distance of a match, in standard deviations of the "
        "logit of the propensity score (null: no caliper).",
    )
    ratio: int = Field(1, ge=1, le=10, description="Matching: controls per treated patient.")
    landmarks: list[float] | None = Field(
        None,
        description="Times (in units.time) of the adjusted survival and its difference "
        "(default: analyses.survival.landmarks).",
    )

    _lists = field_validator("landmarks", mode="before")(_as_list)

    @field_validator("landmarks")
    @classmethod
    def _positive(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and any(t <= 0 for t in value):
            raise ValueError("landmark times must be positive")
        return value

    @model_validator(mode="after")
    def _combination(self) -> TreatmentEffectSpec:
        if self.method == "matching":
            if self.estimand not in (None, "ATT"):
                raise ValueError(
                    f"matching estimates the effect in the treated (ATT), not {self.estimand}; "
                    "use method: weighting for the ATE or overlap weights"
                )
            for key in ("trim", "truncate"):
                if getattr(self, key) is not None:
                    raise ValueError(f"'{key}' is for method: weighting, not matching")
        for key in ("trim", "truncate"):
            lim = getattr(self, key)
            if lim is not None and not 0.0 <= lim[0] < lim[1] <= 1.0:
                raise ValueError(
                    f"'{key}' is [lower, upper] percentiles as proportions with "
                    f"0 <= lower < upper <= 1, got [{_text(lim[0])}, {_text(lim[1])}]"
                )
        return self

    @property
    def effective_estimand(self) -> str:
        """The estimand with its default filled in (ATE for weighting, ATT for matching)."""
        if self.estimand is not None:
            return self.estimand
        return "ATE" if self.method == "weighting" else "ATT"


class AnalysesSpec(_Model):
    """What the runner computes."""

    methods: Literal["standard", "spss"] = Field(
        "standard",
        description="standard (Efron ties, log-log CIs, R conventions) or spss (SPSS 25 "
        "conventions: Breslow ties, …).",
    )
    conf_level: float = Field(0.95, gt=0, lt=1)
    conf_type: Literal["log-log", "log", "plain"] = "log-log"
    table1: Table1Spec | None = None
    survival: SurvivalSpec | None = None
    univariable: UnivariableSpec | None = None
    multivariable: list[ModelSpec] = Field(default_factory=list)
    km: list[KMFigureSpec] = Field(default_factory=list)
    landmark: list[LandmarkSpec] = Field(
        default_factory=list,
        description="Landmark analyses: KM, log-rank and Cox from each landmark.",
    )
    treatment_effect: list[TreatmentEffectSpec] = Field(
        default_factory=list,
        description="Comparisons of two treatments by propensity-score weighting or matching "
        "(balance table, Love plot, adjusted curves, weighted or matched Cox hazard ratio).",
    )
    precision: PrecisionSpec | None = Field(
        default_factory=lambda: PrecisionSpec(),
        description="Per endpoint (and per binary factor), the smallest hazard ratio "
        "detectable with this power from the observed number of events (Schoenfeld 1983); "
        "null turns the note off.",
    )


class StudySpec(_Model):
    """A whole study: data, units, variables, endpoints, population and analyses.

    Load it with :func:`survstudy.spec.load_spec`, which also records where the
    file is (:attr:`path`, :attr:`base_dir`) so that ``data.path`` resolves
    relative to the spec.
    """

    title: str | None = None
    description: str | None = None
    synthetic: bool = Field(False, description="The data are synthetic: every report says so.")
    data: DataSpec
    units: UnitsSpec = Field(default_factory=lambda: UnitsSpec())
    variables: dict[Annotated[str, Field(pattern=NAME_PATTERN)], VariableSpec] = Field(
        default_factory=dict
    )
    endpoints: dict[Annotated[str, Field(pattern=NAME_PATTERN)], EndpointSpec] = Field(
        default_factory=dict
    )
    population: list[Criterion] = Field(default_factory=list)
    analyses: AnalysesSpec = Field(default_factory=lambda: AnalysesSpec())

    _path: Path | None = PrivateAttr(default=None)
    _sha256: str | None = PrivateAttr(default=None)
    _lines: dict[tuple[str | int, ...], int] = PrivateAttr(default_factory=dict)

    @property
    def path(self) -> Path | None:
        """The spec file, or ``None`` for a spec built in memory."""
        return self._path

    @property
    def base_dir(self) -> Path:
        """Folder that relative paths in the spec are resolved against."""
        return self._path.parent if self._path is not None else Path.cwd()

    @property
    def data_path(self) -> Path:
        """``data.path`` resolved against the spec's folder."""
        p = Path(self.data.path).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    @property
    def sha256(self) -> str | None:
        """SHA-256 of the spec file's bytes (``None`` for a spec built in memory)."""
        return self._sha256

    def attach_source(
        self,
        *,
        path: Path | None = None,
        sha256: str | None = None,
        lines: dict[tuple[str | int, ...], int] | None = None,
    ) -> None:
        """Record where the spec came from: its file, the SHA-256 of the file's bytes and
        the YAML line of each key path (each only when given). The loader calls it; so
        does the app for the spec it writes for download."""
        if path is not None:
            self._path = path
        if sha256 is not None:
            self._sha256 = sha256
        if lines is not None:
            self._lines = lines

    def line_of(self, *key: str | int) -> int | None:
        """YAML line of a key path such as ``("endpoints", "OS", "start")``, if known."""
        while key:
            if key in self._lines:
                return self._lines[key]
            key = key[:-1]
        return None

    def is_derived(self, name: str) -> bool:
        """``name`` is a derived variable or one read from a joined table: an endpoint's
        ``time``/``event`` then means the variable, not a column of the main table."""
        var = self.variables.get(name)
        return var is not None and (var.derive is not None or var.from_table is not None)

    def label_of(self, name: str) -> str:
        """Display label of a variable or endpoint."""
        if name in self.variables:
            return self.variables[name].label or name
        if name in self.endpoints:
            return self.endpoints[name].label or name
        return name

    def words_of(self, name: str) -> str:
        """A variable or endpoint as prose names it (the methods paragraph): its
        ``label:``, else its name as words (``last_fu_date`` -> "last follow-up date",
        ``DateOfDeath`` -> "date of death"; acronyms such as ``OS`` kept), never the raw
        column name."""
        label = self.label_of(name)
        return _readable_name(name) if label == name else label

"""The renderer-facing bundle: everything a report shows, as plain data.

The pipeline (or :func:`survstudy.report.build.build_bundle`) fills a
:class:`ReportBundle`; :func:`survstudy.report.write_report` lays it out as
HTML, Word, CSV/XLSX and JSON. Nothing here computes or rounds a number: table
cells arrive as text formatted by :mod:`survstudy.tables.format`, and
``results`` is the unrounded JSON document.

Privacy: quality notes carry a row number and a column name, never a value of
an identifier or date column; the pipeline is responsible for the message text.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "SYNTHETIC_BANNER",
    "FigureSpec",
    "FlowStep",
    "Provenance",
    "QualityNote",
    "ReportBundle",
    "ReportSection",
    "ReportWarning",
    "methods_paragraph",
    "source_date",
]

SYNTHETIC_BANNER = "SYNTHETIC DATA — not real patients"


@dataclass(frozen=True)
class FlowStep:
    """One box of the inclusion flow: ``n`` remain after ``excluded`` left for ``reason``."""

    description: str
    n: int
    excluded: int = 0
    reason: str = ""


@dataclass(frozen=True)
class QualityNote:
    """A data-quality finding: where (row, column), never the offending value."""

    code: str
    severity: str
    message: str
    row: int | None = None
    column: str | None = None


@dataclass(frozen=True)
class FigureSpec:
    """A figure of the report.

    Either ``files`` maps a format (``"png"``, ``"svg"``, ``"pdf"``, ``"tiff"``) to
    an existing file that is copied into ``figures/``, or ``figure`` is a
    matplotlib Figure (or a plots object with ``.figure``) written by
    :func:`survstudy.plots.save_figure`, or ``draw`` is a callable returning one.
    ``id`` is the file stem (sanitised before use).
    """

    id: str
    caption: str
    files: Mapping[str, str | os.PathLike[str]] = field(default_factory=dict)
    figure: Any = None
    draw: Callable[[], Any] | None = None


@dataclass(frozen=True)
class ReportWarning:
    """A plain-language warning shown next to the number it concerns.

    ``table`` is a table key (``TableModel.key``), ``row`` a 0-based row index in
    that table (or ``None`` for the whole table) and ``column`` a column key; a
    warning without ``table`` is shown in the report's general warnings list.
    """

    message: str
    code: str = ""
    table: str | None = None
    row: int | None = None
    column: str | None = None


@dataclass(frozen=True)
class Provenance:
    """Where the numbers came from."""

    input_sha256: str = ""
    spec_sha256: str | None = None
    versions: Mapping[str, str] = field(default_factory=dict)
    command: str = ""
    date: str | None = None


@dataclass(frozen=True)
class ReportSection:
    """A section of its own (e.g. one treatment comparison): its tables (by key) and
    figures (by id), which the HTML and Word reports show together under ``title``
    instead of in the general Tables and Figures parts, then ``paragraphs`` (its
    methods). The tables and figures stay in the bundle's lists (CSV, XLSX, files)."""

    title: str
    tables: Sequence[str] = ()
    figures: Sequence[str] = ()
    paragraphs: Sequence[str] = ()
    heading: str = ""  # the heading of the paragraphs ("Methods")


@dataclass(frozen=True)
class ReportBundle:
    """Everything one report shows. ``tables`` are table models (key, title, columns,
    rows with kind and cells, footnotes); ``results`` is the results.json document."""

    title: str
    subtitle: str = ""
    banner: str = ""
    flow: Sequence[FlowStep] = ()
    quality: Sequence[QualityNote] = ()
    tables: Sequence[Any] = ()
    figures: Sequence[FigureSpec] = ()
    methods: str = ""
    warnings: Sequence[ReportWarning] = ()
    provenance: Provenance = field(default_factory=Provenance)
    results: Mapping[str, Any] = field(default_factory=dict)
    tiff: bool = False  # also write TIFF figures
    sections: Sequence[ReportSection] = ()


def source_date() -> _dt.datetime | None:
    """``SOURCE_DATE_EPOCH`` as an aware UTC datetime, or ``None`` when unset or invalid."""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return None
    try:
        return _dt.datetime.fromtimestamp(int(raw), tz=_dt.UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _join(items: Sequence[str]) -> str:
    items = [str(i) for i in items if str(i)]
    if len(items) <= 1:
        return "".join(items)
    if len(items) == 2:
        return f"{items[0]} and {items[1]}"
    return ", ".join(items[:-1]) + f", and {items[-1]}"


def _as_list(v: Any) -> list[str]:
    if v is None or v == "":
        return []
    if isinstance(v, str):
        return [v]
    if isinstance(v, Mapping):
        return [f"{k} {val}" for k, val in v.items()]
    return [str(x) for x in v]


def methods_paragraph(methods: Mapping[str, Any]) -> str:
    """The *Statistical analysis* paragraph from plain facts; formats, never computes.

    Recognised keys (all optional): ``survival`` (estimator sentence or name, e.g.
    "Kaplan–Meier"), ``ci`` (e.g. "log-log"), ``conf_level`` (0.95), ``variance``
    ("Greenwood"), ``median`` (the rule, completing "The median survival time was …"), ``followup`` ("reverse Kaplan–Meier"),
    ``tests`` (list, e.g. ["log-rank"]), ``cox`` (bool or text), ``ties``
    ("Efron"/"Breslow"), ``ph_test``, ``table1_tests`` (list), ``alpha`` (0.05),
    ``sided`` ("two-sided"), ``multiplicity`` (text), ``software`` (mapping
    name -> version or list of strings), ``extra`` (list of sentences appended).
    """
    m = dict(methods)
    out: list[str] = []
    surv = m.get("survival", "Kaplan–Meier")
    level = m.get("conf_level", 0.95)
    try:
        pct = f"{float(level) * 100:g}%"
    except (TypeError, ValueError):
        pct = str(level)
    s = f"Survival was estimated with the {surv} method"
    ci = m.get("ci")
    var = m.get("variance", "Greenwood")
    if m.get("ci_text"):
        s += f", with {pct} {m['ci_text']}"
    elif ci:
        s += f", with {pct} confidence intervals on the {ci} scale ({var} variance)"
    out.append(s + ".")
    if m.get("median"):
        out.append(f"The median survival time was {m['median']}.")
    if m.get("followup"):
        out.append(f"Median follow-up was estimated by the {m['followup']} method.")
    # "Log-rank" is a common noun mid-sentence; named tests (Breslow, Tarone–Ware) keep capitals.
    tests = [
        "log-rank" + t[8:] if t.lower().startswith("log-rank") else t
        for t in _as_list(m.get("tests"))
    ]
    if tests:
        out.append(
            f"Survival curves were compared with the {_join(tests)} test{'s' if len(tests) > 1 else ''}."
        )
    cox = m.get("cox")
    if cox:
        ties = m.get("ties")
        text = (
            cox
            if isinstance(cox, str)
            else "Hazard ratios with 95% confidence intervals were estimated by Cox proportional-hazards regression"
        )
        if ties:
            text += f" ({ties} method for tied event times)"
        out.append(text.rstrip(".") + ".")
    if m.get("ph_test"):
        out.append(f"The proportional-hazards assumption was checked with {m['ph_test']}.")
    t1 = _as_list(m.get("table1_tests"))
    if t1:
        out.append(f"Patient characteristics were compared with {_join(t1)}.")
    alpha = m.get("alpha")
    if alpha is not None:
        sided = m.get("sided", "two-sided")
        out.append(f"All tests were {sided}; p < {alpha} was considered statistically significant.")
    if m.get("multiplicity"):
        out.append(str(m["multiplicity"]).rstrip(".") + ".")
    out.extend(str(x).rstrip(".") + "." for x in _as_list(m.get("extra")))
    soft = _as_list(m.get("software"))
    if soft:
        out.append(f"Analyses were performed with {_join(soft)}.")
    return " ".join(out)

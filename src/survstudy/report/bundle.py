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
    "references_of",
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
    ``id`` is the file stem (sanitised before use). ``cost``: the drawing work relative
    to the other figures (the writer draws the heaviest first when two processes share
    them); it changes no file.
    """

    id: str
    caption: str
    files: Mapping[str, str | os.PathLike[str]] = field(default_factory=dict)
    figure: Any = None
    draw: Callable[[], Any] | None = None
    cost: float = 1.0


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
    references: Sequence[str] = ()  # the works the methods paragraph cites, in citation order
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
    name -> version or list of strings), ``extra`` (list of sentences appended), ``cite``
    (mapping survival/followup/tests/ties -> the citation put after that method).
    """
    m = dict(methods)
    out: list[str] = []
    surv = m.get("survival", "Kaplan–Meier")
    level = m.get("conf_level", 0.95)
    try:
        pct = f"{float(level) * 100:g}%"
    except (TypeError, ValueError):
        pct = str(level)
    cite = dict(m.get("cite") or {})

    def ref(what: str) -> str:
        return f" ({cite[what]})" if cite.get(what) else ""

    s = f"Survival was estimated with the {surv} method{ref('survival')}"
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
        out.append(
            f"Median follow-up was estimated by the {m['followup']} method{ref('followup')}."
        )
    # "Log-rank" is a common noun mid-sentence; named tests (Breslow, Tarone–Ware) keep capitals.
    tests = [
        "log-rank" + t[8:] if t.lower().startswith("log-rank") else t
        for t in _as_list(m.get("tests"))
    ]
    if tests:
        out.append(
            f"Survival curves were compared with the {_join(tests)} "
            f"test{'s' if len(tests) > 1 else ''}{ref('tests')}."
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
            text += f" ({ties} method for tied event times{'; ' + cite['ties'] if cite.get('ties') else ''})"
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


#: the full reference of every citation the methods paragraphs use ("Author Year" as cited)
REFERENCES: dict[str, str] = {
    "Kaplan and Meier 1958": "Kaplan EL, Meier P. Nonparametric estimation from incomplete "
    "observations. J Am Stat Assoc 1958;53:457–481.",
    "Greenwood 1926": "Greenwood M. The natural duration of cancer. Reports on Public Health "
    "and Medical Subjects 33. London: HMSO, 1926.",
    "Brookmeyer and Crowley 1982": "Brookmeyer R, Crowley J. A confidence interval for the "
    "median survival time. Biometrics 1982;38:29–41.",
    "Schemper and Smith 1996": "Schemper M, Smith TL. A note on quantifying follow-up in "
    "studies of failure time. Control Clin Trials 1996;17:343–346.",
    "Mantel 1966": "Mantel N. Evaluation of survival data and two new rank order statistics "
    "arising in its consideration. Cancer Chemother Rep 1966;50:163–170.",
    "Breslow 1970": "Breslow N. A generalized Kruskal–Wallis test for comparing K samples "
    "subject to unequal patterns of censorship. Biometrika 1970;57:579–594.",
    "Cox 1972": "Cox DR. Regression models and life-tables. J R Stat Soc B 1972;34:187–220.",
    "Efron 1977": "Efron B. The efficiency of Cox's likelihood function for censored data. "
    "J Am Stat Assoc 1977;72:557–565.",
    "Breslow 1974": "Breslow N. Covariance analysis of censored survival data. Biometrics "
    "1974;30:89–99.",
    "Grambsch and Therneau 1994": "Grambsch PM, Therneau TM. Proportional hazards tests and "
    "diagnostics based on weighted residuals. Biometrika 1994;81:515–526.",
    "Harrell et al. 1996": "Harrell FE, Lee KL, Mark DB. Multivariable prognostic models. "
    "Stat Med 1996;15:361–387.",
    "Harrell 2015": "Harrell FE. Regression Modeling Strategies, 2nd ed. Cham: Springer, 2015.",
    "Heinze and Schemper 2001": "Heinze G, Schemper M. A solution to the problem of monotone "
    "likelihood in Cox regression. Biometrics 2001;57:114–119.",
    "Venzon and Moolgavkar 1988": "Venzon DJ, Moolgavkar SH. A method for computing "
    "profile-likelihood-based confidence intervals. Appl Stat 1988;37:87–94.",
    "Heimann and Neuhaus 1998": "Heimann G, Neuhaus G. Permutational distribution of the "
    "log-rank statistic under random censorship with applications to carcinogenicity "
    "assays. Biometrics 1998;54:168–184.",
    "Royston and Parmar 2013": "Royston P, Parmar MKB. Restricted mean survival time: an "
    "alternative to the hazard ratio for the design and analysis of randomized trials with "
    "a time-to-event outcome. BMC Med Res Methodol 2013;13:152.",
    "Schoenfeld 1983": "Schoenfeld DA. Sample-size formula for the proportional-hazards "
    "regression model. Biometrics 1983;39:499–503.",
    "Peduzzi et al. 1995": "Peduzzi P, Concato J, Feinstein AR, Holford TR. Importance of "
    "events per independent variable in proportional hazards regression analysis. II. "
    "Accuracy and precision of regression estimates. J Clin Epidemiol 1995;48:1503–1510.",
    "Therneau 2023": "Therneau TM. A Package for Survival Analysis in R (R package survival). "
    "https://CRAN.R-project.org/package=survival.",
}


def references_of(*texts: str) -> list[str]:
    """The full references of the works cited in ``texts``, in order of first citation.

    Only what a paragraph cites is listed, so a reference list never names a method the
    report did not use; citations not in :data:`REFERENCES` are left out.
    """
    joined = " ".join(texts)
    found = [(joined.find(cite), full) for cite, full in REFERENCES.items() if cite in joined]
    return [full for _, full in sorted(found)]

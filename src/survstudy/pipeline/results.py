"""The result objects of a study run: plain, frozen, JSON-serialisable.

``StudyResults.to_dict()`` is the body of ``results.json`` (see
``docs/results-schema.md``): unrounded floats, NaN as ``null``, every time in the
study's display unit (``time_unit``). Numbers are never formatted here; the
``tables`` package turns these objects into table models and printed text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from survstudy.stats import StatWarning

__all__ = [
    "CoxRow",
    "CurveGroup",
    "EndpointSummary",
    "FirthEstimate",
    "FollowUp",
    "GroupTest",
    "KMCurves",
    "Landmark",
    "Median",
    "MethodsProfile",
    "ModelResult",
    "PermutationTest",
    "Precision",
    "ProfileDifference",
    "Provenance",
    "StudyResults",
    "StudyWarning",
    "Table1Result",
    "Table1Row",
    "UnivariableResult",
]


def _f(x: Any) -> float | None:
    """A float for JSON: NaN/inf/None -> None."""
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


@dataclass(frozen=True)
class StudyWarning:
    """A statistical or data warning, with where it applies (endpoint, variable, term, time)."""

    code: str
    message: str
    endpoint: str | None = None
    variable: str | None = None
    term: str | None = None
    model: str | None = None
    time: float | None = None
    section: str = ""  # table1 | survival | univariable | multivariable | km | data

    @classmethod
    def from_stat(cls, w: StatWarning, *, section: str, **where: Any) -> StudyWarning:
        ctx = dict(w.context)
        term = where.pop("term", None) or ctx.get("term")
        return cls(
            code=w.code,
            message=w.message,
            term=str(term) if term is not None else None,
            section=section,
            **where,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "section": self.section,
            "endpoint": self.endpoint,
            "variable": self.variable,
            "term": self.term,
            "model": self.model,
            "time": _f(self.time),
        }


@dataclass(frozen=True)
class MethodsProfile:
    """Conventions of a methods profile (``standard`` = R's survival, ``spss`` = SPSS 25)."""

    name: str
    ties: str  # efron | breslow
    median_rule: str  # r | spss
    conf_type: str  # log-log | log | plain (pointwise survival CIs)
    conf_level: float
    tests: tuple[tuple[str, str], ...]  # (weights, printed label) for group comparisons
    software: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ties": self.ties,
            "median_rule": self.median_rule,
            "conf_type": self.conf_type,
            "conf_level": self.conf_level,
            "tests": [{"weights": w, "label": lab} for w, lab in self.tests],
            "software": self.software,
        }


# --------------------------------------------------------------------------- Table 1


@dataclass(frozen=True)
class Table1Row:
    """One row of Table 1: a continuous summary, a category, a multi-select option or missing.

    ``kind`` is ``continuous``, ``level``, ``option`` or ``missing``. Counts and
    percents are of ``denominator`` (the patients to whom the variable applies and
    whose value is known). ``groups`` holds the same statistics per level of the
    ``by`` variable (in level order), ``p_value``/``test`` the group comparison.
    """

    variable: str
    label: str
    kind: str
    level: str | None = None
    n: int | None = None
    denominator: int | None = None
    percent: float | None = None
    median: float | None = None
    min: float | None = None
    max: float | None = None
    q1: float | None = None
    q3: float | None = None
    mean: float | None = None
    sd: float | None = None
    n_missing: int = 0
    unit: str | None = None
    sublevels: tuple[tuple[str, int], ...] = ()  # grouped level's data values and counts
    show_sublevels: bool | None = None  # None: the table's default
    show_denominator: bool | None = None  # None: when it differs from the table's n
    groups: tuple[Table1Row, ...] = ()
    group: str | None = None
    p_value: float | None = None
    test: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "variable": self.variable,
            "label": self.label,
            "kind": self.kind,
            "level": self.level,
            "n": self.n,
            "denominator": self.denominator,
            "percent": _f(self.percent),
            "median": _f(self.median),
            "min": _f(self.min),
            "max": _f(self.max),
            "q1": _f(self.q1),
            "q3": _f(self.q3),
            "mean": _f(self.mean),
            "sd": _f(self.sd),
            "n_missing": self.n_missing,
            "unit": self.unit,
            "sublevels": [{"value": v, "n": c} for v, c in self.sublevels],
        }
        if self.group is not None:
            d["group"] = self.group
        if self.groups:
            d["groups"] = [g.to_dict() for g in self.groups]
        if self.test is not None:
            d["test"] = self.test
            d["p_value"] = _f(self.p_value)
        return d


@dataclass(frozen=True)
class Table1Result:
    """Table 1 of the analysed population (optionally by a grouping variable)."""

    n: int
    rows: tuple[Table1Row, ...]
    continuous: str  # median-range | median-iqr | mean-sd
    by: str | None = None
    by_label: str | None = None
    by_levels: tuple[tuple[str, int], ...] = ()  # (level, n)
    tests: tuple[str, ...] = ()  # names of the tests used, for the footnote
    style: str = "journal"  # journal | seed (analyses.table1.style)

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "continuous": self.continuous,
            "style": self.style,
            "by": self.by,
            "by_label": self.by_label,
            "by_levels": [{"level": lev, "n": n} for lev, n in self.by_levels],
            "tests": list(self.tests),
            "rows": [r.to_dict() for r in self.rows],
        }


# --------------------------------------------------------------------------- survival


@dataclass(frozen=True)
class Median:
    """A median survival time with its CI (``None``-like NaN when not reached/undefined)."""

    estimate: float
    lower: float
    upper: float
    rule: str  # r | spss
    se: float = float("nan")  # SPSS's SE of the median (rule "spss")

    @property
    def reached(self) -> bool:
        return math.isfinite(self.estimate)

    def to_dict(self) -> dict[str, Any]:
        return {
            "estimate": _f(self.estimate),
            "lower": _f(self.lower),
            "upper": _f(self.upper),
            "se": _f(self.se),
            "rule": self.rule,
            "reached": self.reached,
        }


@dataclass(frozen=True)
class Landmark:
    """Survival at a landmark time with its pointwise CI and the number still at risk."""

    time: float
    survival: float
    lower: float
    upper: float
    std_err: float
    n_risk: int
    warnings: tuple[str, ...] = ()  # codes of warnings that concern this estimate
    messages: tuple[str, ...] = ()  # the same warnings in plain words

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "survival": _f(self.survival),
            "lower": _f(self.lower),
            "upper": _f(self.upper),
            "std_err": _f(self.std_err),
            "n_risk": self.n_risk,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class FollowUp:
    """Median follow-up by the reverse Kaplan–Meier method, and the observed range."""

    median: float
    lower: float
    upper: float
    min: float
    max: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "median": _f(self.median),
            "lower": _f(self.lower),
            "upper": _f(self.upper),
            "min": _f(self.min),
            "max": _f(self.max),
        }


@dataclass(frozen=True)
class Precision:
    """The smallest hazard ratio detectable with ``power`` from ``events`` (Schoenfeld 1983).

    ``proportion`` is the share of patients in one of two groups (0.5 for the
    endpoint's note, the observed share for a binary factor); ``hr`` is ``inf``
    (``null`` in JSON) when nothing is detectable; ``message`` is the plain-language
    note the report prints next to the endpoint.
    """

    events: int
    proportion: float
    alpha: float
    power: float
    hr: float
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "proportion": _f(self.proportion),
            "alpha": self.alpha,
            "power": self.power,
            "hr": _f(self.hr),
            "message": self.message,
        }


@dataclass(frozen=True)
class EndpointSummary:
    """Survival summary of one endpoint under the run's methods profile."""

    name: str
    label: str
    definition: str
    n: int
    events: int
    median: Median
    followup: FollowUp
    at: tuple[Landmark, ...]
    median_other: Median | None = None  # the median under the other profile's rule
    warnings: tuple[str, ...] = ()
    precision: Precision | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "definition": self.definition,
            "n": self.n,
            "events": self.events,
            "censored": self.n - self.events,
            "median": _f(self.median.estimate),
            "median_lower": _f(self.median.lower),
            "median_upper": _f(self.median.upper),
            "median_se": _f(self.median.se),
            "median_rule": self.median.rule,
            "median_reached": self.median.reached,
            "followup_median": _f(self.followup.median),
            "followup_lower": _f(self.followup.lower),
            "followup_upper": _f(self.followup.upper),
            "followup_min": _f(self.followup.min),
            "followup_max": _f(self.followup.max),
            "at": [a.to_dict() for a in self.at],
            "warnings": list(self.warnings),
            "precision": self.precision.to_dict() if self.precision else None,
        }


@dataclass(frozen=True)
class GroupTest:
    """A k-sample test of survival curves (log-rank family)."""

    weights: str  # logrank | gehan-breslow | …
    label: str  # as printed, e.g. "Log-rank" or "Breslow (Generalized Wilcoxon)"
    statistic: float
    df: int
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights": self.weights,
            "label": self.label,
            "statistic": _f(self.statistic),
            "df": self.df,
            "p_value": _f(self.p_value),
        }


@dataclass(frozen=True)
class PermutationTest:
    """A permutation log-rank p shown beside the chi-square p (small expected counts).

    ``method``: ``exact`` (enumeration of every assignment of the group labels) or
    ``monte-carlo`` (``n_resamples`` seeded permutations; ``p_lower``/``p_upper`` is
    the Clopper–Pearson interval of the permutation p). ``option`` is the spec's
    ``permutation`` setting, ``reason`` why this test was run.
    """

    method: str
    statistic: float
    p_value: float
    option: str = "auto"
    reason: str = ""
    p_lower: float = float("nan")
    p_upper: float = float("nan")
    n_resamples: int | None = None
    seed: int | None = None

    @property
    def label(self) -> str:
        """The printed name: "exact permutation p" or "Monte-Carlo permutation p"."""
        return "exact permutation p" if self.method == "exact" else "Monte-Carlo permutation p"

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "label": self.label,
            "statistic": _f(self.statistic),
            "p_value": _f(self.p_value),
            "p_lower": _f(self.p_lower),
            "p_upper": _f(self.p_upper),
            "n_resamples": self.n_resamples,
            "seed": self.seed,
            "option": self.option,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class CurveGroup:
    """One Kaplan–Meier curve as step data for a figure (times in the display unit).

    ``time``/``survival``/``lower``/``upper`` start at (0, 1); ``censor_time`` and
    ``censor_survival`` place the censoring marks; ``n_risk_at`` is the number at
    risk at each of the figure's ``ticks``.
    """

    level: str | None
    n: int
    events: int
    time: tuple[float, ...]
    survival: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    censor_time: tuple[float, ...]
    censor_survival: tuple[float, ...]
    n_risk_at: tuple[int, ...]
    median: Median

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "n": self.n,
            "events": self.events,
            "median": self.median.to_dict(),
            "n_risk_at": list(self.n_risk_at),
            "time": [_f(x) for x in self.time],
            "survival": [_f(x) for x in self.survival],
            "lower": [_f(x) for x in self.lower],
            "upper": [_f(x) for x in self.upper],
            "censor_time": [_f(x) for x in self.censor_time],
        }


@dataclass(frozen=True)
class KMCurves:
    """A Kaplan–Meier figure's data: one or more curves, the risk-table ticks and the test."""

    key: str  # file-name stem, e.g. "km_PFS" or "km_PFS_by_lm_within_3y"
    endpoint: str
    endpoint_label: str
    by: str | None
    by_label: str | None
    groups: tuple[CurveGroup, ...]
    ticks: tuple[float, ...]
    max_time: float
    time_unit: str
    ci: bool
    risk_table: bool
    title: str | None
    tests: tuple[GroupTest, ...] = ()
    permutation: PermutationTest | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "endpoint": self.endpoint,
            "by": self.by,
            "ticks": list(self.ticks),
            "max_time": self.max_time,
            "groups": [g.to_dict() for g in self.groups],
            "tests": [t.to_dict() for t in self.tests],
            "permutation": self.permutation.to_dict() if self.permutation else None,
        }


# --------------------------------------------------------------------------- Cox


@dataclass(frozen=True)
class FirthEstimate:
    """A term's Firth-penalised estimate (Heinze & Schemper 2001).

    ``lower``/``upper`` are the profile penalised-likelihood limits of the HR
    (``ci_method`` = ``profile``) and ``p_value`` the penalised likelihood-ratio p;
    ``reason`` says why it was fitted: ``monotone`` (the ordinary estimate does
    not exist) or ``always`` (the spec asked for it).
    """

    coef: float
    se: float
    hr: float
    lower: float
    upper: float
    p_value: float
    reason: str
    ci_method: str = "profile"

    def to_dict(self) -> dict[str, Any]:
        return {
            "coef": _f(self.coef),
            "se": _f(self.se),
            "hr": _f(self.hr),
            "lower": _f(self.lower),
            "upper": _f(self.upper),
            "p_value": _f(self.p_value),
            "ci_method": self.ci_method,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class CoxRow:
    """One row of a univariable or multivariable table.

    ``kind``: ``continuous`` (one row per unit, ``per`` = 1, and one per the spec's
    ``per``), ``reference`` (the "1 (reference)" level), ``level`` (a
    non-reference level) or ``header`` (the variable's name row of a categorical
    factor, carrying the factor's overall p and the log-rank p).
    """

    variable: str
    label: str
    kind: str
    level: str | None = None
    reference: bool = False
    per: float | None = None
    unit: str | None = None
    term: str | None = None
    coef: float = float("nan")
    se: float = float("nan")
    hr: float = float("nan")
    lower: float = float("nan")
    upper: float = float("nan")
    p_value: float = float("nan")
    overall_p: float = float("nan")
    logrank_p: float = float("nan")
    breslow_p: float = float("nan")
    ph_p: float = float("nan")
    n: int | None = None
    events: int | None = None
    estimable: bool = True
    warnings: tuple[str, ...] = ()  # plain-language notes shown next to the number
    firth: FirthEstimate | None = None
    adjusted_p: float = float("nan")  # Holm / BH adjusted p of the factor (univariable)
    detectable_hr: float = float("nan")  # binary factor: Schoenfeld's detectable HR
    ci_method: str = "wald"  # wald | profile: how lower/upper were computed
    permutation: PermutationTest | None = None  # header row: permutation log-rank p

    def to_dict(self) -> dict[str, Any]:
        return {
            "variable": self.variable,
            "label": self.label,
            "kind": self.kind,
            "level": self.level,
            "reference": self.reference,
            "per": self.per,
            "unit": self.unit,
            "term": self.term,
            "coef": _f(self.coef),
            "se": _f(self.se),
            "hr": _f(self.hr),
            "lower": _f(self.lower),
            "upper": _f(self.upper),
            "p_value": _f(self.p_value),
            "overall_p": _f(self.overall_p),
            "logrank_p": _f(self.logrank_p),
            "breslow_p": _f(self.breslow_p),
            "ph_p": _f(self.ph_p),
            "n": self.n,
            "events": self.events,
            "estimable": self.estimable,
            "warnings": list(self.warnings),
            "firth": self.firth.to_dict() if self.firth else None,
            "adjusted_p": _f(self.adjusted_p),
            "detectable_hr": _f(self.detectable_hr),
            "ci_method": self.ci_method,
            "permutation": self.permutation.to_dict() if self.permutation else None,
        }


@dataclass(frozen=True)
class UnivariableResult:
    """Univariable Cox models (one per factor) and group tests for one endpoint."""

    endpoint: str
    endpoint_label: str
    rows: tuple[CoxRow, ...]
    ties: str
    n_tests: int
    adjust: str = "none"  # none | holm | bh
    firth: str = "auto"  # the spec's firth option
    ci: str = "wald"  # the spec's ci option: wald | profile
    permutation: str = "auto"  # the spec's permutation option
    precision: Precision | None = None
    power: float = 0.8  # of the rows' detectable_hr
    alpha: float = 0.05

    def to_dict(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.rows]

    def summary_dict(self) -> dict[str, Any]:
        """What is not per row (``univariable_summary`` in results.json)."""
        return {
            "n_tests": self.n_tests,
            "adjust": self.adjust,
            "firth": self.firth,
            "ci": self.ci,
            "permutation": self.permutation,
            "precision": self.precision.to_dict() if self.precision else None,
        }


@dataclass(frozen=True)
class ModelResult:
    """A multivariable Cox model: rows, fit summary, concordance and PH test."""

    name: str
    endpoint: str
    endpoint_label: str
    ties: str
    rows: tuple[CoxRow, ...]
    n: int
    events: int
    n_dropped: int
    n_parameters: int
    events_per_variable: float
    concordance: float
    concordance_se: float
    lr_statistic: float
    lr_df: int
    lr_p: float
    ph_global_chisq: float
    ph_global_df: int
    ph_global_p: float
    strata: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    estimable: bool = True
    reason: str | None = None  # why the model could not be fitted
    firth: str | None = None  # monotone | always: the rows carry Firth estimates
    firth_lr_statistic: float = float("nan")
    firth_lr_df: int = 0
    firth_lr_p: float = float("nan")
    ci: str = "wald"  # the spec's ci option: wald | profile

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "estimable": self.estimable,
            "ci": self.ci,
            "not_estimable_reason": self.reason,
            "firth": None
            if self.firth is None
            else {
                "reason": self.firth,
                "likelihood_ratio": {
                    "statistic": _f(self.firth_lr_statistic),
                    "df": self.firth_lr_df,
                    "p_value": _f(self.firth_lr_p),
                },
            },
            "endpoint": self.endpoint,
            "ties": self.ties,
            "n": self.n,
            "events": self.events,
            "n_dropped": self.n_dropped,
            "n_parameters": self.n_parameters,
            "events_per_variable": _f(self.events_per_variable),
            "concordance": _f(self.concordance),
            "concordance_se": _f(self.concordance_se),
            "likelihood_ratio": {
                "statistic": _f(self.lr_statistic),
                "df": self.lr_df,
                "p_value": _f(self.lr_p),
            },
            "ph_test": {
                "chisq": _f(self.ph_global_chisq),
                "df": self.ph_global_df,
                "p_value": _f(self.ph_global_p),
            },
            "strata": list(self.strata),
            "rows": [r.to_dict() for r in self.rows],
            "warnings": list(self.warnings),
        }


# --------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class ProfileDifference:
    """One quantity computed under both methods profiles (for the reconciliation table).

    ``kind`` says how to print the values: ``time`` (with ``lower``/``upper``),
    ``hr`` (with CI), ``p`` or ``count``.
    """

    section: str
    item: str
    quantity: str
    kind: str
    standard: float
    spss: float
    standard_lower: float = float("nan")
    standard_upper: float = float("nan")
    spss_lower: float = float("nan")
    spss_upper: float = float("nan")
    standard_method: str = ""
    spss_method: str = ""
    analysis: str = ""  # "Survival summary", "Univariable, Overall survival", a model's name

    @property
    def relative_difference(self) -> float:
        a, b = self.standard, self.spss
        if not (math.isfinite(a) and math.isfinite(b)):
            return 0.0 if (math.isfinite(a) == math.isfinite(b)) else float("inf")
        scale = max(abs(a), abs(b), 1e-300)
        return abs(a - b) / scale

    def to_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "analysis": self.analysis,
            "item": self.item,
            "quantity": self.quantity,
            "kind": self.kind,
            "standard": _f(self.standard),
            "standard_lower": _f(self.standard_lower),
            "standard_upper": _f(self.standard_upper),
            "standard_method": self.standard_method,
            "spss": _f(self.spss),
            "spss_lower": _f(self.spss_lower),
            "spss_upper": _f(self.spss_upper),
            "spss_method": self.spss_method,
        }


# --------------------------------------------------------------------------- the whole run


@dataclass(frozen=True)
class Provenance:
    """Where the numbers came from: input and spec hashes, versions, profile, date."""

    input_file: str
    input_sha256: str
    spec_file: str | None
    spec_sha256: str | None
    versions: dict[str, str]
    generated: str | None  # ISO date from SOURCE_DATE_EPOCH, else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_file": self.input_file,
            "input_sha256": self.input_sha256,
            "spec_file": self.spec_file,
            "spec_sha256": self.spec_sha256,
            "versions": dict(sorted(self.versions.items())),
            "generated": self.generated,
        }


@dataclass(frozen=True)
class StudyResults:
    """Everything ``survstudy run`` computed, ready for tables, figures and results.json."""

    title: str
    description: str | None
    synthetic: bool
    time_unit: str
    days_per_unit: float
    profile: MethodsProfile
    n: int
    flow: tuple[dict[str, Any], ...]
    quality: tuple[str, ...]
    table1: Table1Result | None
    endpoints: dict[str, EndpointSummary]
    univariable: dict[str, UnivariableResult]
    multivariable: tuple[ModelResult, ...]
    km: tuple[KMCurves, ...]
    reconciliation: tuple[ProfileDifference, ...]
    warnings: tuple[StudyWarning, ...]
    provenance: Provenance
    methods: dict[str, Any] = field(default_factory=dict)
    quality_issues: tuple[dict[str, Any], ...] = ()  # code, severity, message, row, column

    def to_dict(self) -> dict[str, Any]:
        """The body of results.json (Table 1 ``text`` is added by the tables package)."""
        return {
            "schema": "survstudy-results/1",
            "title": self.title,
            "synthetic": self.synthetic,
            "time_unit": self.time_unit,
            "days_per_unit": self.days_per_unit,
            "profile": self.profile.to_dict(),
            "n": self.n,
            "flow": list(self.flow),
            "data_quality": list(self.quality),
            "table1": [r.to_dict() for r in self.table1.rows] if self.table1 else [],
            "table1_summary": (
                {k: v for k, v in self.table1.to_dict().items() if k != "rows"}
                if self.table1
                else None
            ),
            "endpoints": {k: v.to_dict() for k, v in self.endpoints.items()},
            "univariable": {k: v.to_dict() for k, v in self.univariable.items()},
            "univariable_summary": {k: v.summary_dict() for k, v in self.univariable.items()},
            "multivariable": [m.to_dict() for m in self.multivariable],
            "km": [k.to_dict() for k in self.km],
            "reconciliation": [d.to_dict() for d in self.reconciliation],
            "methods": self.methods,
            "warnings": [w.to_dict() for w in self.warnings],
            "provenance": self.provenance.to_dict(),
        }

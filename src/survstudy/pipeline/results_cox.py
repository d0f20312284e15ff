"""Result types of the Cox tables (:mod:`.univariable`, :mod:`.multivariable`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from survstudy.pipeline.results_common import json_float as _f
from survstudy.pipeline.results_survival import PermutationTest, Precision

__all__ = [
    "CoxRow",
    "FirthEstimate",
    "ModelResult",
    "PhPlot",
    "PhSensitivity",
    "SplineCurve",
    "UnivariableResult",
]


def _fl(a: Any) -> list[float | None]:
    return [_f(v) for v in np.asarray(a, dtype=float)]


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
    # continuous factor: LR test of non-linearity (rcs, 4 knots, against linear)
    nonlinearity_p: float = float("nan")
    transform: str | None = None  # the spec's transform: log | rcs
    # a competing-risks endpoint's univariable row: the Fine–Gray subdistribution HR beside
    # the cause-specific HR (hr, lower, upper, p_value)
    subdistribution: bool = False
    shr: float = float("nan")
    shr_lower: float = float("nan")
    shr_upper: float = float("nan")
    shr_p_value: float = float("nan")

    def to_dict(self) -> dict[str, Any]:
        out = self._dict()
        if self.subdistribution:
            out["shr"] = _f(self.shr)
            out["shr_lower"] = _f(self.shr_lower)
            out["shr_upper"] = _f(self.shr_upper)
            out["shr_p_value"] = _f(self.shr_p_value)
        return out

    def _dict(self) -> dict[str, Any]:
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
            "nonlinearity_p": _f(self.nonlinearity_p),
            "transform": self.transform,
        }


@dataclass(frozen=True)
class SplineCurve:
    """A ``transform: rcs`` covariate (restricted cubic spline, knots at Harrell's quantiles):
    the hazard ratio against ``reference`` over ``value`` with pointwise Wald limits, the
    overall likelihood-ratio p (spline against no term, ``df_overall``) and the p of
    non-linearity (spline against linear, ``df_nonlinear``).
    """

    variable: str
    label: str
    unit: str | None
    reference: float
    knots: tuple[float, ...]
    value: Any  # numpy arrays
    hr: Any
    lower: Any
    upper: Any
    conf_level: float
    overall_p: float
    df_overall: int
    nonlinearity_p: float
    df_nonlinear: int
    model: str | None = None  # the multivariable model (None: univariable)
    endpoint: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "variable": self.variable,
            "label": self.label,
            "unit": self.unit,
            "reference": self.reference,
            "knots": list(self.knots),
            "conf_level": self.conf_level,
            "overall": {"p_value": _f(self.overall_p), "df": self.df_overall},
            "nonlinearity": {"p_value": _f(self.nonlinearity_p), "df": self.df_nonlinear},
            "curve": {
                "value": _fl(self.value),
                "hr": _fl(self.hr),
                "lower": _fl(self.lower),
                "upper": _fl(self.upper),
            },
        }


@dataclass(frozen=True)
class PhPlot:
    """One panel of the scaled Schoenfeld residual plot (R's ``plot(cox.zph(fit))``) of a
    model term: β(t) smooth with its band (±2 SE) at ``curve_x`` (transformed time, ``km``),
    the constant coefficient ``line``, the time ticks (``ticks_time`` in ``time_unit`` at
    ``ticks_x``) and the term's PH test p. The residual points (``x``, ``y``) are drawn in
    the figure but not written to results.json (one per patient with an event).
    """

    variable: str
    label: str
    time_unit: str
    curve_x: Any
    fit: Any
    lower: Any
    upper: Any
    ticks_x: Any
    ticks_time: Any
    line: float
    p_value: float
    factor: bool = False  # several columns: the y scale is β(t)/β̂
    x: Any = field(default=None, repr=False, compare=False)
    y: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "variable": self.variable,
            "label": self.label,
            "line": _f(self.line),
            "p_value": _f(self.p_value),
            "scale": "beta/beta_hat" if self.factor else "beta",
            "curve": {
                "x": _fl(self.curve_x),
                "fit": _fl(self.fit),
                "lower": _fl(self.lower),
                "upper": _fl(self.upper),
            },
            "ticks": {"x": _fl(self.ticks_x), "time": _fl(self.ticks_time)},
        }


@dataclass(frozen=True)
class PhSensitivity:
    """The sensitivity model of a multivariable model whose global PH test has p < 0.05.

    ``kind`` ``stratified``: the offending categorical covariates (``strata``, PH p < 0.05)
    leave the linear predictor and define strata (one baseline hazard per combination of
    their levels); ``split`` (no offending covariate is categorical): each offending
    continuous covariate (``split``) gets one HR up to ``cut`` (the median follow-up, in
    ``time_unit``) and one after it (rows of kind ``period``). ``rows`` are the remaining covariates' rows, as the model's own;
    ``offending`` every covariate with PH p < 0.05 in the model, ``not_stratified`` the
    offending ones the refit leaves in (continuous). ``largest_change`` is the largest
    ratio max(HR_s/HR, HR/HR_s) over the terms both models estimate, at ``largest_change_label``.
    """

    kind: str
    strata: tuple[str, ...]
    strata_labels: tuple[str, ...]
    offending: tuple[str, ...]
    not_stratified: tuple[str, ...]
    rows: tuple[CoxRow, ...]
    n: int
    events: int
    ph_global_chisq: float
    ph_global_df: int
    ph_global_p: float
    ph_terms: tuple[tuple[str, float, int, float], ...] = ()  # (variable, chisq, df, p)
    largest_change: float = float("nan")
    largest_change_label: str = ""
    split: tuple[str, ...] = ()  # kind split: the covariates with one HR per period
    split_labels: tuple[str, ...] = ()
    cut: float = float("nan")  # kind split: the cut (median follow-up), in time_unit
    time_unit: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "strata": list(self.strata),
            "rows": [r.to_dict() for r in self.rows],
            "ph_test": {
                "chisq": _f(self.ph_global_chisq),
                "df": self.ph_global_df,
                "p_value": _f(self.ph_global_p),
                "terms": [
                    {"term": t, "chisq": _f(c), "df": d, "p_value": _f(p)}
                    for t, c, d, p in self.ph_terms
                ],
            },
            "offending": list(self.offending),
            "not_stratified": list(self.not_stratified),
            "n": self.n,
            "events": self.events,
            "largest_hr_ratio": _f(self.largest_change),
            "split": list(self.split),
            "cut": _f(self.cut),
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
    ci: str = "wald"  # the CI method used: the spec's ci option, profile with few events
    permutation: str = "auto"  # the permutation option used (auto becomes exact, few events)
    precision: Precision | None = None
    power: float = 0.8  # of the rows' detectable_hr
    alpha: float = 0.05
    few_events: bool = False  # fewer than 10 events in the endpoint
    splines: tuple[SplineCurve, ...] = ()  # transform: rcs factors
    time_dependent: tuple[str, ...] = ()  # factors fitted on split follow-up

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
            "few_events": self.few_events,
            "splines": [c.to_dict() for c in self.splines],
            # only with time-dependent factors (earlier results.json files unchanged)
            **({"time_dependent": list(self.time_dependent)} if self.time_dependent else {}),
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
    sensitivity: tuple[PhSensitivity, ...] = ()  # when the global PH test has p < 0.05
    ph_plots: tuple[PhPlot, ...] = ()  # β(t) of every term, when the global PH p < 0.05
    splines: tuple[SplineCurve, ...] = ()  # transform: rcs covariates
    time_dependent: tuple[str, ...] = ()  # covariates fitted on split follow-up
    # cox (cause-specific on a competing-risks endpoint) | fine-gray (rows' hr = sHR)
    model: str = "cox"
    competing: bool = False  # the endpoint has competing events

    @property
    def model_label(self) -> str:
        """``Cox``, ``cause-specific Cox`` or ``Fine–Gray``."""
        if self.model == "fine-gray":
            return "Fine–Gray"
        return "cause-specific Cox" if self.competing else "Cox"

    def to_dict(self) -> dict[str, Any]:
        out = self._dict()
        if self.competing:
            # only on competing-risks endpoints (other models' results.json unchanged)
            out["model"] = "fine-gray" if self.model == "fine-gray" else "cause-specific"
        return out

    def _dict(self) -> dict[str, Any]:
        extra = {"time_dependent": list(self.time_dependent)} if self.time_dependent else {}
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
            "sensitivity": [x.to_dict() for x in self.sensitivity],
            "ph_plots": [x.to_dict() for x in self.ph_plots],
            "splines": [c.to_dict() for c in self.splines],
            **extra,
        }


# --------------------------------------------------------------------------- profiles

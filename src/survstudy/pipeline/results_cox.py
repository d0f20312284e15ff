"""Result types of the Cox tables (:mod:`.univariable`, :mod:`.multivariable`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from survstudy.pipeline.results_common import json_float as _f
from survstudy.pipeline.results_survival import PermutationTest, Precision

__all__ = ["CoxRow", "FirthEstimate", "ModelResult", "UnivariableResult"]


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
    ci: str = "wald"  # the CI method used: the spec's ci option, profile with few events
    permutation: str = "auto"  # the permutation option used (auto becomes exact, few events)
    precision: Precision | None = None
    power: float = 0.8  # of the rows' detectable_hr
    alpha: float = 0.05
    few_events: bool = False  # fewer than 10 events in the endpoint

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

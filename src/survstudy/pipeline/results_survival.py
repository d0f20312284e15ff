"""Result types of the survival summaries, KM figures and group tests
(:mod:`.survival`, :mod:`.precision`, :mod:`.km_figures`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from survstudy.pipeline.results_common import json_float as _f
from survstudy.pipeline.results_competing import CIFSummary, GrayTest

__all__ = [
    "CurveGroup",
    "EndpointSummary",
    "FollowUp",
    "GroupTest",
    "KMComparison",
    "KMCurves",
    "Landmark",
    "LandmarkDifference",
    "Median",
    "PermutationTest",
    "Precision",
    "RMSTDifference",
]


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
    """The precision of a two-group hazard ratio from ``events`` (Schoenfeld 1983).

    ``proportion`` is the share of patients in one of two groups (0.5 for the
    endpoint's note, the observed share for a binary factor); ``hr`` the smallest
    hazard ratio detectable with ``power`` (``inf``, ``null`` in JSON, when nothing is
    detectable; kept, not printed); ``factor`` the expected half-width of the CI on
    the ratio scale; ``message`` the plain-language note the report prints next to the
    endpoint (a precision statement, never a power claim).
    """

    events: int
    proportion: float
    alpha: float
    power: float
    hr: float
    message: str = ""
    factor: float = float("nan")  # the CI runs from about HR/factor to HR×factor
    few_events: bool = False  # fewer than 10 events: no number, "too few events"

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "proportion": _f(self.proportion),
            "alpha": self.alpha,
            "power": self.power,
            "hr": _f(self.hr),
            "message": self.message,
            "factor": _f(self.factor),
            "few_events": self.few_events,
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
    person_years: float = float("nan")  # total follow-up (STROBE 14c), in units.days_per_year
    cif: CIFSummary | None = None  # an endpoint with competing events: cumulative incidence

    @property
    def competing(self) -> bool:
        """An endpoint with competing events (summarised by cumulative incidence)."""
        return self.cif is not None

    def to_dict(self) -> dict[str, Any]:
        out = self._dict()
        if self.cif is not None:
            # only on competing-risks endpoints (other endpoints' results.json unchanged)
            out["competing"] = True
            out["cif"] = self.cif.to_dict()
        return out

    def _dict(self) -> dict[str, Any]:
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
            "followup_person_years": _f(self.person_years),
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
    at: tuple[Landmark, ...] = ()  # survival at analyses.survival.landmarks (by-group table)
    curtail_time: float | None = None  # the curve is drawn up to here (display unit)
    # a cumulative-incidence figure: ``survival`` holds the event's cumulative incidence and
    # ``competing`` the competing event's, on the same times
    competing: tuple[float, ...] = ()
    competing_events: int = 0

    @property
    def censored(self) -> int:
        return self.n - self.events

    def to_dict(self) -> dict[str, Any]:
        out = self._dict()
        if self.competing:
            out["cif"] = out.pop("survival")
            out["competing_cif"] = [_f(x) for x in self.competing]
            out["competing_events"] = self.competing_events
            del out["median"]
        return out

    def _dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "n": self.n,
            "events": self.events,
            "censored": self.censored,
            "median": self.median.to_dict(),
            "at": [a.to_dict() for a in self.at],
            "n_risk_at": list(self.n_risk_at),
            "time": [_f(x) for x in self.time],
            "survival": [_f(x) for x in self.survival],
            "lower": [_f(x) for x in self.lower],
            "upper": [_f(x) for x in self.upper],
            "censor_time": [_f(x) for x in self.censor_time],
            "curtail_time": _f(self.curtail_time),
        }


@dataclass(frozen=True)
class LandmarkDifference:
    """``S_group(t) − S_reference(t)`` at a landmark (proportions), Greenwood variances of
    independent groups, plain Wald CI (:func:`survstudy.stats.comparison.compare_two_groups`).

    NaN (``null``) beyond either group's last follow-up, with ``note`` saying why.
    """

    time: float
    difference: float
    lower: float
    upper: float
    std_err: float
    reference_survival: float
    group_survival: float
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "difference": _f(self.difference),
            "lower": _f(self.lower),
            "upper": _f(self.upper),
            "std_err": _f(self.std_err),
            "reference_survival": _f(self.reference_survival),
            "group_survival": _f(self.group_survival),
            "note": self.note or None,
        }


@dataclass(frozen=True)
class RMSTDifference:
    """Restricted mean survival time of each group up to ``tau`` and their difference
    (group − reference), times in the display unit; Klein & Moeschberger's variance.

    When ``tau`` is beyond either group's last follow-up the estimates are NaN (``null``)
    and ``note`` says why (refused, never extrapolated).
    """

    tau: float
    difference: float
    lower: float
    upper: float
    p_value: float
    std_err: float
    reference_rmst: float
    reference_std_err: float
    group_rmst: float
    group_std_err: float
    note: str = ""
    # each group's Wald limits, RMST ± z·SE
    reference_lower: float = float("nan")
    reference_upper: float = float("nan")
    group_lower: float = float("nan")
    group_upper: float = float("nan")

    @property
    def estimable(self) -> bool:
        return math.isfinite(self.difference)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tau": self.tau,
            "difference": _f(self.difference),
            "lower": _f(self.lower),
            "upper": _f(self.upper),
            "p_value": _f(self.p_value),
            "std_err": _f(self.std_err),
            "reference": {
                "estimate": _f(self.reference_rmst),
                "std_err": _f(self.reference_std_err),
                "lower": _f(self.reference_lower),
                "upper": _f(self.reference_upper),
            },
            "group": {
                "estimate": _f(self.group_rmst),
                "std_err": _f(self.group_std_err),
                "lower": _f(self.group_lower),
                "upper": _f(self.group_upper),
            },
            "note": self.note or None,
        }


@dataclass(frozen=True)
class KMComparison:
    """Absolute effects of a two-group Kaplan–Meier comparison: the survival difference at
    each landmark and the RMST difference at ``tau`` (``group`` minus ``reference``, the
    reference level of the hazard ratio)."""

    reference: str
    group: str
    at: tuple[LandmarkDifference, ...]
    rmst: RMSTDifference | None
    conf_level: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": [a.to_dict() for a in self.at],
            "rmst": self.rmst.to_dict() if self.rmst is not None else None,
            "reference": self.reference,
            "group": self.group,
            "direction": "group minus reference",
            "conf_level": self.conf_level,
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
    comparison: KMComparison | None = None  # two groups only
    few_events: bool = False  # fewer than FEW_EVENTS events: the permutation p is primary
    min_at_risk: int = 0  # curves curtailed below this many at risk (0: whole curves)
    # a competing-risks endpoint: cumulative-incidence curves (``kind`` "cif"), Gray's test
    kind: str = "km"
    competing_label: str = ""
    gray: GrayTest | None = None

    @property
    def cif(self) -> bool:
        return self.kind == "cif"

    def to_dict(self) -> dict[str, Any]:
        out = self._dict()
        if self.cif:
            out["kind"] = self.kind
            out["competing_label"] = self.competing_label
            out["gray"] = self.gray.to_dict() if self.gray else None
        return out

    def _dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "endpoint": self.endpoint,
            "by": self.by,
            "ticks": list(self.ticks),
            "max_time": self.max_time,
            "groups": [g.to_dict() for g in self.groups],
            "tests": [t.to_dict() for t in self.tests],
            "permutation": self.permutation.to_dict() if self.permutation else None,
            "comparison": self.comparison.to_dict() if self.comparison else None,
            "few_events": self.few_events,
            "min_at_risk": self.min_at_risk,
        }


# --------------------------------------------------------------------------- Cox

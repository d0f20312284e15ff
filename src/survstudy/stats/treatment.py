"""Comparing two treatments in an observational cohort: propensity-score weighting or matching.

:func:`treatment_effect` runs the whole analysis on plain arrays (the caller has
dropped incomplete rows and passes their count as ``n_dropped``):

1. propensity model: logistic regression of the treatment on the confounders
   (:mod:`.logistic`; separation is an error naming the covariates, since a score of
   0 or 1 leaves no comparable patients);
2. adjustment (:mod:`.propensity`): ``method="weighting"`` — ATE (stabilised by
   default), ATT or overlap weights, optional trimming at propensity quantiles and
   truncation of the weights; ``method="matching"`` — 1:k nearest-neighbour matching on
   the logit of the score without replacement within a caliper of ``caliper`` SDs
   (MatchIt's ``nearest``), analysed with the matching weights (estimand ATT);
3. balance before and after (SMD, variance ratio);
4. outcome in the adjusted sample:

   - weighted Kaplan–Meier per arm with the infinitesimal-jackknife variance
     (``survfit(Surv(time, event) ~ treat, weights = w, robust = TRUE, id = id)``;
     matched: ``cluster = pair``), beside the unweighted numbers at risk;
   - survival at the landmarks per arm and the difference treated − control with a
     Wald interval ``d ± z·sqrt(V₁ + V₀)`` — the arms are treated as independent
     samples, so their robust variances add (for matched pairs this ignores the
     within-pair correlation, which for a positive correlation makes the interval
     conservative);
   - Cox hazard ratio treated vs control with the robust (Lin & Wei 1989) SE:
     ``coxph(Surv(time, event) ~ treat, weights = w, robust = TRUE)``; matched:
     ``coxph(..., weights = weights, cluster = pair)`` (Austin 2014, *Stat Med*
     33:1242); Wald CI and p on the robust SE;
   - beside it the crude HR (unadjusted Cox in all complete-case patients) and the
     multivariable-adjusted HR (Cox with the treatment and the confounders).

Warnings (data on the result): ``SEPARATION`` is an error; ``EXTREME-WEIGHT``
(a weight above 10), ``LOW-ESS`` (effective sample size below half of n),
``FEW-EVENTS`` (fewer than 10 events in an arm of the adjusted sample),
``IMBALANCE`` (|SMD| > 0.1 after adjustment, one per row), ``UNMATCHED-TREATED``,
``INCOMPLETE-MATCHES``, ``NOT-CONVERGED``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from survstudy.errors import AnalysisError
from survstudy.stats._common import StatWarning, as_event, as_time, clean_float
from survstudy.stats._dist import norm_ppf
from survstudy.stats.cox import CoxResult, cox_fit, dummy_code
from survstudy.stats.km import CONF_TYPES, KaplanMeierResult, kaplan_meier
from survstudy.stats.logistic import LogisticResult, logistic_fit
from survstudy.stats.propensity import (
    ESTIMANDS,
    BalanceColumn,
    BalanceRow,
    MatchResult,
    PropensityWeights,
    balance_table,
    few_events_warnings,
    nearest_neighbour_match,
    propensity_weights,
)
from survstudy.stats.riskset import risk_table

__all__ = [
    "METHODS",
    "ArmCurve",
    "Confounder",
    "HazardRatio",
    "LandmarkDifference",
    "TreatmentEffectResult",
    "adjusted_hazard_ratio",
    "treatment_effect",
]

F = NDArray[np.float64]

METHODS = ("weighting", "matching")


@dataclass(frozen=True)
class Confounder:
    """A confounder's design columns, coded as for Cox (one column for a continuous
    variable; 0/1 dummies against the reference level for a categorical one)."""

    name: str
    columns: F
    terms: tuple[str, ...]
    levels: tuple[str | None, ...]
    reference: str | None = None
    all_levels: tuple[str, ...] = ()
    per: float | None = None

    @property
    def categorical(self) -> bool:
        return self.reference is not None

    @classmethod
    def continuous(cls, name: str, values: ArrayLike, *, per: float | None = None) -> Confounder:
        v = np.asarray(values, dtype=np.float64).reshape(-1, 1)
        return cls(name=name, columns=v, terms=(name,), levels=(None,), per=per)

    @classmethod
    def categorical_from(
        cls,
        name: str,
        values: ArrayLike,
        *,
        levels: Sequence[Any] | None = None,
        reference: Any = None,
    ) -> Confounder:
        """Dummy-code ``values`` with :func:`survstudy.stats.cox.dummy_code`; levels
        without patients get no column (an all-zero column cannot be estimated)."""
        mat, names, levs, ref = dummy_code(values, levels=levels, reference=reference, name=name)
        others = [lv for lv in levs if lv != ref]
        present = [j for j in range(mat.shape[1]) if np.nansum(mat[:, j]) > 0]
        shown = {str(ref)} | {str(others[j]) for j in present}
        kept_levels = tuple(str(lv) for lv in levs if str(lv) in shown)
        return cls(
            name=name,
            columns=mat[:, present],
            terms=tuple(names[j] for j in present),
            levels=tuple(str(others[j]) for j in present),
            reference=str(ref),
            all_levels=kept_levels,
        )

    def balance_columns(self) -> list[BalanceColumn]:
        """Rows of the balance table: the variable itself (continuous); every level for a
        categorical variable with 3+ levels, the non-reference level for 2 levels."""
        if not self.categorical:
            return [BalanceColumn(self.name, self.columns[:, 0])]
        out: list[BalanceColumn] = []
        if self.columns.shape[1] >= 2:
            ref = 1.0 - self.columns.sum(axis=1)
            by_level = {
                lv: self.columns[:, j] for j, lv in enumerate(self.levels) if lv is not None
            }
            order: tuple[str, ...] = self.all_levels or (str(self.reference), *by_level)
            for lv in order:
                col = ref if lv == self.reference else by_level.get(str(lv))
                if col is not None:
                    out.append(BalanceColumn(self.name, col, str(lv)))
        else:
            out = [
                BalanceColumn(self.name, self.columns[:, j], lv) for j, lv in enumerate(self.levels)
            ]
        return out


@dataclass(frozen=True)
class HazardRatio:
    """A Cox hazard ratio of treated vs control with its Wald CI and p."""

    hr: float
    lower: float
    upper: float
    p_value: float | None
    coef: float
    se: float
    robust_se: float | None
    n: int
    events: int
    conf_level: float
    estimable: bool = True

    @classmethod
    def from_fit(cls, fit: CoxResult, j: int = 0) -> HazardRatio:
        t = fit.terms[j]
        return cls(
            hr=t.hr,
            lower=t.lower,
            upper=t.upper,
            p_value=t.p_value,
            coef=t.coef,
            se=t.se,
            robust_se=t.robust_se,
            n=fit.n,
            events=fit.events,
            conf_level=fit.conf_level,
            estimable=t.estimable,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "hr": clean_float(self.hr),
            "lower": clean_float(self.lower),
            "upper": clean_float(self.upper),
            "p_value": clean_float(self.p_value),
            "coef": clean_float(self.coef),
            "se": clean_float(self.se),
            "robust_se": clean_float(self.robust_se),
            "n": self.n,
            "events": self.events,
            "estimable": self.estimable,
        }


@dataclass(frozen=True)
class LandmarkDifference:
    """Adjusted survival per arm at one time and the difference treated − control."""

    time: float
    treated: float
    treated_lower: float
    treated_upper: float
    treated_std_err: float
    control: float
    control_lower: float
    control_upper: float
    control_std_err: float
    difference: float
    difference_lower: float
    difference_upper: float
    difference_std_err: float
    n_risk_treated: float
    n_risk_control: float
    beyond_follow_up: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "treated": clean_float(self.treated),
            "treated_lower": clean_float(self.treated_lower),
            "treated_upper": clean_float(self.treated_upper),
            "control": clean_float(self.control),
            "control_lower": clean_float(self.control_lower),
            "control_upper": clean_float(self.control_upper),
            "difference": clean_float(self.difference),
            "difference_lower": clean_float(self.difference_lower),
            "difference_upper": clean_float(self.difference_upper),
            "treated_std_err": clean_float(self.treated_std_err),
            "control_std_err": clean_float(self.control_std_err),
            "difference_std_err": clean_float(self.difference_std_err),
            "n_risk_treated": self.n_risk_treated,
            "n_risk_control": self.n_risk_control,
            "beyond_follow_up": self.beyond_follow_up,
        }


@dataclass(frozen=True)
class ArmCurve:
    """The adjusted Kaplan–Meier curve of one arm; ``km.n_risk`` is the weighted number
    at risk, ``n_risk_unweighted`` the patients at risk (aligned with ``km.time``)."""

    label: str
    km: KaplanMeierResult
    n_risk_unweighted: F
    n: int
    events: int

    def n_risk_at(self, times: ArrayLike) -> F:
        """Unweighted patients at risk just before each of ``times`` (for the risk table)."""
        t = np.atleast_1d(np.asarray(times, dtype=np.float64))
        j = np.searchsorted(self.km.time, t, side="left")
        return np.asarray(np.concatenate((self.n_risk_unweighted, [0.0]))[j])

    def to_dict(self) -> dict[str, Any]:
        recs = self.km.to_records()
        for r, nu in zip(recs, self.n_risk_unweighted.tolist(), strict=True):
            r["n_risk_unweighted"] = nu
        return {"label": self.label, "n": self.n, "events": self.events, "table": recs}


@dataclass(frozen=True)
class TreatmentEffectResult:
    """Everything a report of the comparison needs (see :func:`treatment_effect`).

    ``n``, ``n_treated``, ``n_control`` count the adjusted sample (after trimming,
    or the matched patients); ``flow`` says where the others went. Per-patient
    arrays are in the input order of the complete-case patients.
    """

    method: str
    estimand: str
    conf_type: str
    conf_level: float
    n: int
    n_treated: int
    n_control: int
    ess_treated: float
    ess_control: float
    propensity: LogisticResult
    balance: tuple[BalanceRow, ...]
    hr: float
    lower: float
    upper: float
    p_value: float | None
    robust_se: float | None
    coef: float
    se: float
    crude: HazardRatio
    adjusted: HazardRatio | None
    at: tuple[LandmarkDifference, ...]
    curves: tuple[ArmCurve, ArmCurve]  # (treated, control)
    propensity_score: F
    treated: NDArray[np.bool_]
    analysed: NDArray[np.bool_]
    weights: F
    flow: dict[str, int]
    weighting: PropensityWeights | None
    matching: MatchResult | None
    cox: CoxResult
    warnings: tuple[StatWarning, ...] = ()

    def overlap_histogram(self, bins: int = 20) -> dict[str, Any]:
        """Counts of propensity scores per group in ``bins`` equal bins on [0, 1]
        (all complete-case patients: the overlap figure)."""
        edges = np.linspace(0.0, 1.0, bins + 1)
        t = self.treated
        c1, _ = np.histogram(self.propensity_score[t], bins=edges)
        c0, _ = np.histogram(self.propensity_score[~t], bins=edges)
        return {"edges": edges.tolist(), "treated": c1.tolist(), "control": c0.tolist()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "estimand": self.estimand,
            "n": self.n,
            "n_treated": self.n_treated,
            "n_control": self.n_control,
            "ess_treated": clean_float(self.ess_treated),
            "ess_control": clean_float(self.ess_control),
            "propensity": self.propensity.to_dict(),
            "balance": [b.to_dict() for b in self.balance],
            "hr": clean_float(self.hr),
            "lower": clean_float(self.lower),
            "upper": clean_float(self.upper),
            "p_value": clean_float(self.p_value),
            "robust_se": clean_float(self.robust_se),
            "crude": self.crude.to_dict(),
            "at": [a.to_dict() for a in self.at],
            "warnings": [w.to_dict() for w in self.warnings],
            # beyond the contract
            "coef": clean_float(self.coef),
            "se": clean_float(self.se),
            "conf_type": self.conf_type,
            "conf_level": self.conf_level,
            "adjusted": None if self.adjusted is None else self.adjusted.to_dict(),
            "flow": dict(self.flow),
            "weighting": None if self.weighting is None else self.weighting.to_dict(),
            "matching": None if self.matching is None else self.matching.to_dict(),
            "curves": {"treated": self.curves[0].to_dict(), "control": self.curves[1].to_dict()},
            "overlap": self.overlap_histogram(),
        }


def _design(
    confounders: Sequence[Confounder], n: int
) -> tuple[F, list[str], list[Any], list[Any], list[Any]]:
    cols: list[F] = []
    names: list[str] = []
    pers: list[float | None] = []
    variables: list[str | None] = []
    levels: list[str | None] = []
    for c in confounders:
        m = np.asarray(c.columns, dtype=np.float64)
        if m.ndim == 1:
            m = m[:, None]
        if m.shape[0] != n or m.shape[1] != len(c.terms):
            raise ValueError(f"confounder {c.name}: columns must be (n, number of terms)")
        if not np.all(np.isfinite(m)):
            raise AnalysisError(
                f"confounder {c.name} has missing values; drop incomplete patients first"
            )
        cols.append(m)
        names.extend(c.terms)
        pers.extend([c.per] * len(c.terms))
        variables.extend([c.name] * len(c.terms))
        levels.extend(c.levels)
    x = np.hstack(cols) if cols else np.zeros((n, 0))
    return x, names, pers, variables, levels


def adjusted_hazard_ratio(
    treat: ArrayLike,
    confounders: Sequence[Confounder],
    time: ArrayLike,
    event: ArrayLike,
    *,
    ties: str = "efron",
    conf_level: float = 0.95,
) -> HazardRatio:
    """The multivariable-adjusted HR of the treatment: ``coxph(Surv ~ treat + confounders)``."""
    t = np.asarray(treat, dtype=np.float64)
    x, names, _, _, _ = _design(confounders, t.size)
    fit = cox_fit(
        np.column_stack((t, x)),
        time,
        event,
        ties=ties,
        term_names=["treatment", *names],
        concordance=False,
        conf_level=conf_level,
    )
    return HazardRatio.from_fit(fit, 0)


def _landmarks(
    tr: KaplanMeierResult,
    co: KaplanMeierResult,
    c_tr: ArmCurve,
    c_co: ArmCurve,
    times: Sequence[float],
    conf_level: float,
) -> tuple[LandmarkDifference, ...]:
    if not times:
        return ()
    z = norm_ppf(0.5 + conf_level / 2.0)
    a, b = tr.survival_at(times), co.survival_at(times)
    ua, ub = c_tr.n_risk_at(times), c_co.n_risk_at(times)
    out: list[LandmarkDifference] = []
    for i, t in enumerate(a.time.tolist()):
        se_a = float(a.std_err[i]) if math.isfinite(a.std_err[i]) else 0.0
        se_b = float(b.std_err[i]) if math.isfinite(b.std_err[i]) else 0.0
        diff = float(a.survival[i] - b.survival[i])
        se = math.sqrt(se_a * se_a + se_b * se_b)
        out.append(
            LandmarkDifference(
                time=float(t),
                treated=float(a.survival[i]),
                treated_lower=float(a.lower[i]),
                treated_upper=float(a.upper[i]),
                treated_std_err=se_a,
                control=float(b.survival[i]),
                control_lower=float(b.lower[i]),
                control_upper=float(b.upper[i]),
                control_std_err=se_b,
                difference=diff,
                difference_lower=diff - z * se,
                difference_upper=diff + z * se,
                difference_std_err=se,
                n_risk_treated=float(ua[i]),
                n_risk_control=float(ub[i]),
                beyond_follow_up=bool(a.beyond[i] or b.beyond[i]),
            )
        )
    return tuple(out)


def treatment_effect(
    treat: ArrayLike,
    confounders: Sequence[Confounder],
    time: ArrayLike,
    event: ArrayLike,
    *,
    method: str = "weighting",
    estimand: str | None = None,
    stabilise: bool = True,
    trim: Sequence[float] | None = None,
    truncate: Sequence[float] | None = None,
    caliper: float | None = 0.2,
    ratio: int = 1,
    match_order: str = "largest",
    landmarks: Sequence[float] = (),
    conf_type: str = "log-log",
    conf_level: float = 0.95,
    ties: str = "efron",
    adjusted: bool = True,
    n_dropped: int = 0,
) -> TreatmentEffectResult:
    """Propensity-score weighted or matched comparison of treated (1) vs control (0).

    ``confounders`` describe the propensity model's columns (:class:`Confounder`);
    ``estimand`` defaults to ``ATE`` for weighting and must be ``ATT`` (the default)
    for matching. ``landmarks`` are times (the unit of ``time``) at which survival
    and its difference are reported. See the module docstring for every choice.
    """
    if method not in METHODS:
        raise AnalysisError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if estimand is None:
        estimand = "ATE" if method == "weighting" else "ATT"
    if estimand not in ESTIMANDS:
        raise AnalysisError(f"estimand must be one of {', '.join(ESTIMANDS)}, not {estimand!r}")
    if method == "matching" and estimand != "ATT":
        raise AnalysisError(
            f"matching estimates the effect in the treated (ATT), not {estimand}: "
            "use method: weighting for the ATE or overlap weights"
        )
    if conf_type not in CONF_TYPES:
        raise AnalysisError(f"conf_type must be one of {', '.join(CONF_TYPES)}, not {conf_type!r}")
    if not confounders:
        raise AnalysisError("a propensity-score analysis needs at least one confounder")
    t = as_time(time)
    n = t.size
    e = as_event(event, n)
    tv = np.asarray(treat)
    if tv.shape != (n,):
        raise ValueError("treat must have one value per patient")
    tf = tv.astype(np.float64)
    if not np.all((tf == 0) | (tf == 1)):
        raise AnalysisError("the treatment must be coded 0 (control) or 1 (treated)")
    tr = tf == 1
    if tr.all() or not tr.any():
        raise AnalysisError("both treated and control patients are needed")

    x, names, pers, variables, levels = _design(confounders, n)
    ps_fit = logistic_fit(
        x,
        tf,
        term_names=names,
        per=pers,
        variables=variables,
        levels=levels,
        conf_level=conf_level,
        n_dropped=n_dropped,
    )
    if ps_fit.separation is not None:
        sep = ps_fit.separation
        raise AnalysisError(
            f"the treatment is perfectly predicted ({sep.kind} separation) by "
            f"{', '.join(sep.terms) if sep.terms else 'the confounders'} for "
            f"{sep.n_separated} patients: those patients had no chance of the other treatment "
            "(propensity 0 or 1), so they cannot be compared; merge or drop the level, or "
            "restrict the cohort",
            code="PS-SEPARATION",
        )
    warns: list[StatWarning] = list(ps_fit.warnings)
    ps = ps_fit.fitted

    weighting: PropensityWeights | None = None
    matching: MatchResult | None = None
    cluster: NDArray[np.intp] | None = None
    if method == "weighting":
        weighting = propensity_weights(
            ps, tr, estimand=estimand, stabilise=stabilise, trim=trim, truncate=truncate
        )
        w_all = weighting.weights
        keep = weighting.kept
        ess1, ess0 = weighting.ess_treated, weighting.ess_control
        warns.extend(weighting.warnings)
        flow = {
            "n_complete": n,
            "n_dropped": int(n_dropped),
            "n_trimmed": weighting.n_trimmed,
            "n_analysed": int(keep.sum()),
        }
    else:
        matching = nearest_neighbour_match(
            ps_fit.linear_predictor, tr, ratio=ratio, caliper=caliper, order=match_order
        )
        w_all = matching.weights
        keep = matching.matched
        cluster = matching.pair
        ess1, ess0 = matching.ess_treated, matching.ess_control
        warns.extend(matching.warnings)
        flow = {
            "n_complete": n,
            "n_dropped": int(n_dropped),
            "n_unmatched_treated": matching.n_unmatched_treated,
            "n_unmatched_control": matching.n_unmatched_control,
            "n_analysed": int(keep.sum()),
        }

    bal_cols = [bc for c in confounders for bc in c.balance_columns()]
    balance, bal_warns = balance_table(bal_cols, tr, w_all, estimand)
    warns.extend(bal_warns)

    tk, ek, wk, trk = t[keep], e[keep], w_all[keep], tr[keep]
    ck = None if cluster is None else cluster[keep]
    warns.extend(few_events_warnings(trk, ek))

    curves: list[ArmCurve] = []
    kms: list[KaplanMeierResult] = []
    for label, arm in (("treated", trk), ("control", ~trk)):
        km = kaplan_meier(
            tk[arm],
            ek[arm],
            weights=wk[arm],
            robust=True,
            cluster=None if ck is None else ck[arm],
            conf_type=conf_type,
            conf_level=conf_level,
        )
        un = risk_table(tk[arm], ek[arm]).n_risk
        if un.size != km.time.size:
            raise AssertionError("weighted and unweighted risk tables disagree")
        kms.append(km)
        curves.append(
            ArmCurve(
                label=label,
                km=km,
                n_risk_unweighted=un,
                n=int(arm.sum()),
                events=int(ek[arm].sum()),
            )
        )
    at = _landmarks(kms[0], kms[1], curves[0], curves[1], list(landmarks), conf_level)

    cox = cox_fit(
        trk.astype(np.float64)[:, None],
        tk,
        ek,
        weights=wk,
        robust=cluster is None,
        cluster=ck,
        ties=ties,
        term_names=["treatment"],
        concordance=False,
        conf_level=conf_level,
    )
    term = cox.terms[0]
    warns.extend(cox.warnings)
    crude_fit = cox_fit(
        tf[:, None],
        t,
        e,
        ties=ties,
        term_names=["treatment"],
        concordance=False,
        conf_level=conf_level,
    )
    crude = HazardRatio.from_fit(crude_fit)
    adj: HazardRatio | None = None
    if adjusted:
        try:
            adj = adjusted_hazard_ratio(tf, confounders, t, e, ties=ties, conf_level=conf_level)
        except AnalysisError as exc:
            warns.append(
                StatWarning(
                    "ADJUSTED-HR-UNAVAILABLE",
                    f"the multivariable-adjusted hazard ratio could not be estimated: {exc}",
                    {},
                )
            )
    return TreatmentEffectResult(
        method=method,
        estimand=estimand,
        conf_type=conf_type,
        conf_level=float(conf_level),
        n=int(keep.sum()),
        n_treated=int(trk.sum()),
        n_control=int((~trk).sum()),
        ess_treated=ess1,
        ess_control=ess0,
        propensity=ps_fit,
        balance=balance,
        hr=term.hr,
        lower=term.lower,
        upper=term.upper,
        p_value=term.p_value,
        robust_se=term.robust_se,
        coef=term.coef,
        se=term.se,
        crude=crude,
        adjusted=adj,
        at=at,
        curves=(curves[0], curves[1]),
        propensity_score=ps,
        treated=tr,
        analysed=keep,
        weights=w_all,
        flow=flow,
        weighting=weighting,
        matching=matching,
        cox=cox,
        warnings=tuple(warns),
    )

"""Thin wrappers over :mod:`survstudy.stats` with the shapes the pipeline needs.

No estimator lives here: each function calls one statistics routine and picks
the numbers the study tables need out of its result object.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import ndtri

from survstudy.errors import AnalysisError
from survstudy.pipeline.results import GroupTest
from survstudy.stats import StatWarning

__all__ = [
    "KM",
    "CoxFit",
    "adjust_p",
    "categorical_test",
    "collect_cox",
    "continuous_test",
    "cox",
    "cox_engine_fits",
    "cox_firth",
    "describe_continuous",
    "detectable_hr",
    "kaplan_meier",
    "logrank",
    "n_risk_at",
    "r_median",
    "spss_median",
    "step_curve",
    "survival_at",
    "versions",
    "z_value",
]

KM = Any  # survstudy.stats.km.KaplanMeierResult


def _stats(name: str) -> Any:
    """A :mod:`survstudy.stats` module, imported on first use (keeps ``run`` imports light)."""
    import importlib

    return importlib.import_module(f"survstudy.stats.{name}")


def z_value(conf_level: float) -> float:
    """The two-sided normal quantile for ``conf_level`` (1.959964 for 95%)."""
    return float(ndtri(0.5 + conf_level / 2.0))


def versions() -> dict[str, str]:
    """Versions of survstudy and the libraries whose numbers it reports."""
    import scipy

    from survstudy._version import __version__

    return {
        "survstudy": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }


# --------------------------------------------------------------------------- KM


def kaplan_meier(
    time: np.ndarray,
    event: np.ndarray,
    *,
    conf_type: str,
    conf_level: float,
    start: np.ndarray | None = None,
) -> KM:
    """Kaplan–Meier; ``start``: rows ``(start, time]`` (delayed entry, split follow-up)."""
    kw: dict[str, Any] = {"conf_type": conf_type, "conf_level": conf_level, "start": start}
    return _stats("km").kaplan_meier(time, event, **kw)


def r_median(km: KM) -> tuple[float, float, float]:
    """Median and CI by R's rule (NaN for not reached / undefined limits)."""
    q = km.median()
    return _nan(q.estimate), _nan(q.lower), _nan(q.upper)


def spss_median(km: KM, conf_level: float) -> tuple[float, float, float, float]:
    """SPSS's median, its SE and median ± z·SE (see :mod:`survstudy.stats.spss`)."""
    from survstudy.stats.spss import spss_percentile

    res = spss_percentile(km.time, km.survival, km.std_err, km.n_event, conf_level=conf_level)
    return res.estimate, res.se, res.lower, res.upper


def survival_at(km: KM, t: float) -> tuple[float, float, float, float, int]:
    """(survival, std_err, lower, upper, n_risk) at time ``t`` (same unit as the KM)."""
    at = km.survival_at([t])
    s, se, lo, hi = (_nan(a[0]) for a in (at.survival, at.std_err, at.lower, at.upper))
    return s, se, lo, hi, int(at.n_risk[0])


def n_risk_at(km: KM, times: list[float]) -> tuple[int, ...]:
    """Number still at risk at each time (0 past the last observation)."""
    at = km.survival_at(times)
    return tuple(int(x) if np.isfinite(x) else 0 for x in np.asarray(at.n_risk, dtype=float))


def step_curve(km: KM) -> dict[str, np.ndarray]:
    """Step data starting at (0, 1) and the censoring marks, from the KM table."""
    t = np.asarray(km.time, dtype=float)
    s = np.asarray(km.survival, dtype=float)
    lo = np.asarray(km.lower, dtype=float)
    hi = np.asarray(km.upper, dtype=float)
    nc = np.asarray(km.n_censor, dtype=float)
    return {
        "time": np.concatenate(([0.0], t)),
        "survival": np.concatenate(([1.0], s)),
        "lower": np.concatenate(([1.0], lo)),
        "upper": np.concatenate(([1.0], hi)),
        "censor_time": t[nc > 0],
        "censor_survival": s[nc > 0],
    }


def _nan(x: Any) -> float:
    return float("nan") if x is None else float(x)


# --------------------------------------------------------------------------- tests


def logrank(
    time: np.ndarray,
    event: np.ndarray,
    codes: np.ndarray,
    weights: str,
    *,
    start: np.ndarray | None = None,
) -> GroupTest:
    """k-sample test; ``codes``: group indices (>= 0); ``start``: split rows (Mantel–Byar)."""
    res = _stats("logrank").logrank_test(time, event, codes, weights=weights, start=start)
    return _group_test(res, weights)


def _group_test(res: Any, weights: str) -> GroupTest:
    return GroupTest(
        weights=weights,
        label=weights,
        statistic=float(res.statistic),
        df=int(res.df),
        p_value=float(res.p_value),
    )


def km_from_counts(counts: Any, *, conf_type: str, conf_level: float) -> list[tuple[Any, KM]]:
    """Kaplan–Meier per group from an engine's risk table
    (:func:`survstudy.stats.sufficient.kaplan_meier_from_counts`)."""
    return list(
        _stats("sufficient").kaplan_meier_from_counts(
            counts, conf_type=conf_type, conf_level=conf_level
        )
    )


def logrank_from_counts(counts: Any, weights: str) -> GroupTest:
    """The k-sample test from an engine's risk table (same numbers as :func:`logrank`)."""
    return _group_test(_stats("sufficient").logrank_from_counts(counts, weights=weights), weights)


def logrank_small(counts: Any) -> bool:
    """Whether a group expects fewer events than the chi-square approximation needs
    (the rule of :func:`survstudy.stats.exact.logrank_small_sample`'s ``auto``)."""
    exact = _stats("exact")
    res = _stats("sufficient").logrank_from_counts(counts, weights="logrank")
    return bool(np.any(np.asarray(res.expected) < exact.EXPECTED_LIMIT))


# --------------------------------------------------------------------------- Cox


@dataclass(frozen=True)
class CoxFit:
    """The numbers of a Cox fit the tables use, per column of X.

    ``p`` is the Wald p, or for a term that is not estimable (monotone likelihood)
    the likelihood-ratio p of dropping it (``p_is_lr``). ``ph_p`` maps each
    variable (the ``assign`` label of its columns) to its PH-test p.
    """

    coef: np.ndarray
    se: np.ndarray
    hr: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    p: np.ndarray
    estimable: tuple[bool, ...]
    notes: tuple[tuple[str, ...], ...]
    lr_statistic: float
    lr_df: int
    lr_p: float
    wald_p: float = float("nan")
    ph_p: dict[str, float] = field(default_factory=dict)
    concordance: float = float("nan")
    concordance_se: float = float("nan")
    ph_global_chisq: float = float("nan")
    ph_global_df: int = 0
    ph_global_p: float = float("nan")
    warnings: tuple[StatWarning, ...] = field(default_factory=tuple)
    method: str = "ordinary"  # ordinary | firth
    ci_method: str = "wald"  # wald | profile (Firth: profile penalised likelihood)
    loglik: float = float("nan")  # log partial likelihood at the estimate


def _fit_cox(x: np.ndarray, time: np.ndarray, event: np.ndarray, **kwargs: Any) -> Any:
    ci = kwargs.pop("ci", "wald")
    if ci == "profile" and kwargs.get("start") is not None:
        raise AnalysisError("profile limits are not available on split follow-up; use ci: wald")
    if ci == "profile":
        kwargs.pop("layout", None)
        return _stats("firth").cox_fit_ci(x, time, event, ci="profile", ph_test=False, **kwargs)
    return _stats("cox").cox_fit(x, time, event, ph_test=False, **kwargs)


def cox(
    x: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    *,
    ties: str,
    conf_level: float,
    strata: np.ndarray | None = None,
    ph_test: bool = False,
    concordance: bool = False,
    term_names: tuple[str, ...] | None = None,
    assign: tuple[str, ...] | None = None,
    ci: str = "wald",
    start: np.ndarray | None = None,
    layout: Any = None,
    keep: Any = None,
) -> CoxFit:
    """Fit a Cox model (:func:`survstudy.stats.cox.cox_fit`) and collect its numbers.

    ``ci="profile"``: profile-likelihood limits (:func:`survstudy.stats.firth.cox_fit_ci`)
    instead of Wald limits. ``start``: counting-process rows ``(start, time]`` (split
    follow-up of a time-dependent covariate), Wald limits only. ``keep``: called with the
    result of a Wald fit (:class:`survstudy.stats.cox.CoxResult`).
    """
    extra: dict[str, Any] = {} if start is None else {"start": start}
    # A degenerate fit (e.g. monotone likelihood in a tiny series) can give a negative variance
    # on the diagonal: cox_fit flags the term; no numpy RuntimeWarning on the user's terminal.
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        res = _fit_cox(
            x,
            time,
            event,
            ties=ties,
            strata=strata,
            conf_level=conf_level,
            term_names=term_names,
            assign=assign,
            concordance=concordance,
            ci=ci,
            layout=layout,
            **extra,
        )
    if keep is not None and ci != "profile":
        keep(res)
    return collect_cox(res, ph_test=ph_test, concordance=concordance)


def cox_engine_fits(
    eng: Any,
    source: Any,
    *,
    time: str,
    event: str,
    terms: list[Any],
    fits: list[dict[str, Any]],
    strata: str | None = None,
    assign: tuple[str, ...] | None = None,
) -> list[CoxFit]:
    """Several fits of one model through a data engine, their passes shared
    (:func:`survstudy.engines.analyses.cox_fits`): each entry of ``fits`` holds
    ``ties``, ``conf_level``, ``ph_test``, ``concordance`` and ``assign`` (whether the
    fit gets the ``assign`` labels). A degenerate fit whose PH test fails (monotone
    likelihood) is refitted without it, as :func:`cox` leaves the PH p empty for such a
    fit."""
    from survstudy.engines import analyses

    def run(with_ph: bool) -> list[Any]:
        opts = [dict(f, ph_test=bool(f.get("ph_test")) and with_ph) for f in fits]
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            return analyses.cox_fits(
                eng,
                source,
                time=time,
                event=event,
                terms=terms,
                fits=opts,
                strata=strata,
                assign=assign,
            )

    try:
        res, with_ph = run(True), True
    except np.linalg.LinAlgError:
        # a degenerate fit (monotone likelihood) has no usable PH test: refit without it,
        # as :func:`cox` leaves the PH p empty for such a fit
        res, with_ph = run(False), False
    return [
        collect_cox(
            r,
            ph_test=with_ph and bool(f.get("ph_test")),
            concordance=bool(f.get("concordance")),
        )
        for r, f in zip(res, fits, strict=True)
    ]


def collect_cox(
    res: Any,
    *,
    ph_test: bool,
    concordance: bool,
) -> CoxFit:
    """The numbers the tables use, from a Cox result (:class:`survstudy.stats.cox.CoxResult`)."""
    p = len(res.terms)
    estimable = []
    notes: list[tuple[str, ...]] = []
    pval = np.full(p, np.nan)
    for j, term in enumerate(res.terms):
        estimable.append(bool(term.estimable))
        if term.estimable:
            pval[j] = _nan(term.p_value)
            notes.append(())
        else:
            pval[j] = _nan(term.lr_p_value)
            why = (
                "not estimable: the hazard ratio runs off to infinity (monotone likelihood); "
                "p from the likelihood-ratio test"
                if term.reason and "monotone" in term.reason
                else f"not estimable: {term.reason or 'the fit failed'}"
            )
            notes.append((why,))
    ph_by: dict[str, float] = {}
    ph_chisq = ph_global = float("nan")
    ph_df = 0
    if ph_test:
        try:
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                ph = res.ph_test()
        except np.linalg.LinAlgError:
            # a degenerate fit (e.g. monotone likelihood) has no usable PH test: NaN, no p
            ph = None
        if ph is not None:
            ph_by = {t.term: float(t.p_value) for t in ph.terms}
            ph_chisq, ph_df = float(ph.global_chisq), int(ph.global_df)
            ph_global = float(ph.global_p)
    c = c_se = float("nan")
    if concordance and res.concordance is not None:
        c, c_se = float(res.concordance.c), float(res.concordance.se)
    lr = res.tests["likelihood_ratio"]
    wald = res.tests["wald"]
    lower = np.array([t.lower for t in res.terms], dtype=float)
    upper = np.array([t.upper for t in res.terms], dtype=float)
    ci_method = str(getattr(res, "ci_method", "wald"))
    res_warnings = tuple(res.warnings)
    return CoxFit(
        coef=np.asarray(res.coef, dtype=float),
        se=np.asarray(res.se, dtype=float),
        hr=np.array([t.hr for t in res.terms], dtype=float),
        lower=lower,
        upper=upper,
        p=pval,
        estimable=tuple(estimable),
        notes=tuple(notes),
        lr_statistic=float(lr.statistic),
        lr_df=int(lr.df),
        lr_p=_nan(lr.p_value),
        wald_p=_nan(wald.p_value),
        ph_p=ph_by,
        concordance=c,
        concordance_se=c_se,
        ph_global_chisq=ph_chisq,
        ph_global_df=ph_df,
        ph_global_p=ph_global,
        warnings=res_warnings,
        ci_method=ci_method,
        loglik=float(getattr(res, "loglik", float("nan"))),
    )


def cox_firth(
    x: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    *,
    ties: str,
    conf_level: float,
    strata: np.ndarray | None = None,
    term_names: tuple[str, ...] | None = None,
) -> CoxFit | None:
    """Firth-penalised Cox fit (:func:`survstudy.stats.firth.cox_fit_firth`), or ``None``
    when this installation has no Firth module.

    ``lower``/``upper`` are the profile penalised-likelihood limits of the HR and ``p``
    the penalised likelihood-ratio p of each term (as R's ``coxphf`` with ``pl=TRUE``).
    """
    try:
        firth = _stats("firth")
    except ImportError:
        return None
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        res = firth.cox_fit_firth(
            x,
            time,
            event,
            strata=strata,
            ties=ties,
            conf_level=conf_level,
            term_names=term_names,
            concordance=False,
            ph_test=False,
        )
    lr = res.tests.get("likelihood_ratio")
    return CoxFit(
        coef=np.asarray(res.coef, dtype=float),
        se=np.asarray(res.se, dtype=float),
        hr=np.array([t.hr for t in res.terms], dtype=float),
        lower=np.array([_nan(t.lower) for t in res.terms], dtype=float),
        upper=np.array([_nan(t.upper) for t in res.terms], dtype=float),
        p=np.array([_nan(t.p_value) for t in res.terms], dtype=float),
        estimable=tuple(bool(t.estimable) for t in res.terms),
        notes=tuple(() for _ in res.terms),
        lr_statistic=float(lr.statistic) if lr is not None else float("nan"),
        lr_df=int(lr.df) if lr is not None else 0,
        lr_p=_nan(lr.p_value) if lr is not None else float("nan"),
        warnings=tuple(res.warnings),
        method=str(getattr(res, "method", "firth")),
        ci_method=str(getattr(res, "ci_method", "profile")),
    )


def logrank_permutation(
    time: np.ndarray,
    event: np.ndarray,
    codes: np.ndarray,
    *,
    option: str,
    seed: int,
    n_resamples: int,
) -> Any:
    """The permutation log-rank p the spec's ``permutation`` option asks for, or ``None``.

    :func:`survstudy.stats.exact.logrank_small_sample`: ``auto`` gives the exact (or
    Monte-Carlo) p only when a group expects fewer than 5 events (``None`` otherwise);
    ``exact`` and ``monte-carlo`` always give one; ``never`` gives none. Always computed
    in memory (the arrays of one comparison are small).
    """
    if option == "never":
        return None
    res = _stats("exact").logrank_small_sample(
        time, event, codes, method=option, n_resamples=n_resamples, seed=seed
    )
    return None if res.method == "asymptotic" else res


def adjust_p(p: list[float], method: str) -> list[float]:
    """Holm or Benjamini–Hochberg adjusted p-values (:mod:`survstudy.stats.multiplicity`)."""
    adj = _stats("multiplicity").adjust_pvalues(np.asarray(p, dtype=float), method)
    return [float(v) for v in adj]


def detectable_hr(events: int, proportion: float, *, alpha: float, power: float) -> Any:
    """Schoenfeld's smallest detectable HR (:func:`survstudy.stats.power.detectable_hr`)."""
    return _stats("power").detectable_hr(events, proportion, alpha=alpha, power=power)


# --------------------------------------------------------------------------- Table 1


def describe_continuous(values: np.ndarray, quantiles: str = "r7") -> dict[str, Any]:
    """n, median, min, max, quartiles (R type 7, or SPSS's type 6), mean and SD."""
    descriptive = _stats("descriptive")
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    d = descriptive.describe(v, method=quantiles)
    return {
        "n": int(v.size),
        "median": d.median,
        "min": d.min,
        "max": d.max,
        "q1": d.q1,
        "q3": d.q3,
        "mean": d.mean,
        "sd": d.sd,
    }


def categorical_test(table: np.ndarray) -> tuple[str, float]:
    """Chi-square or Fisher's exact test of a groups × categories count table."""
    descriptive = _stats("descriptive")
    res = descriptive.categorical_test(np.asarray(table))
    return str(res.footnote), float(res.p_value)


def continuous_test(samples: list[np.ndarray], summary: str) -> tuple[str, float]:
    """Mann–Whitney / Kruskal–Wallis (medians) or t-test / ANOVA (mean-sd)."""
    descriptive = _stats("descriptive")
    res = descriptive.continuous_test(samples, parametric=summary == "mean-sd")
    return str(res.footnote), float(res.p_value)

"""Thin wrappers over :mod:`survstudy.stats` with the shapes the pipeline needs.

No estimator lives here: each function calls one statistics routine and picks
the numbers the study tables need out of its result object.
"""

from __future__ import annotations

import math
import platform
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import ndtri

from survstudy.pipeline.results import GroupTest
from survstudy.stats._common import StatWarning

__all__ = [
    "KM",
    "CoxFit",
    "categorical_test",
    "continuous_test",
    "cox",
    "describe_continuous",
    "kaplan_meier",
    "logrank",
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

    import survstudy

    return {
        "survstudy": survstudy.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }


# --------------------------------------------------------------------------- KM


def kaplan_meier(time: np.ndarray, event: np.ndarray, *, conf_type: str, conf_level: float) -> KM:
    return _stats("km").kaplan_meier(time, event, conf_type=conf_type, conf_level=conf_level)


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
    return (
        _nan(at.survival[0]),
        _nan(at.std_err[0]),
        _nan(at.lower[0]),
        _nan(at.upper[0]),
        int(at.n_risk[0]),
    )


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


def logrank(time: np.ndarray, event: np.ndarray, codes: np.ndarray, weights: str) -> GroupTest:
    """k-sample test with the given weights; ``codes`` are group indices (>= 0)."""
    res = _stats("logrank").logrank_test(time, event, codes, weights=weights)
    return GroupTest(
        weights=weights,
        label=weights,
        statistic=float(res.statistic),
        df=int(res.df),
        p_value=float(res.p_value),
    )


# --------------------------------------------------------------------------- Cox


@dataclass(frozen=True)
class CoxFit:
    """The numbers of a Cox fit the tables use, per term (column of X)."""

    coef: np.ndarray
    se: np.ndarray
    hr: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    p: np.ndarray
    estimable: tuple[bool, ...]
    notes: tuple[tuple[str, ...], ...]
    ph_p: np.ndarray
    lr_statistic: float
    lr_df: int
    lr_p: float
    wald_p: float = float("nan")
    concordance: float = float("nan")
    concordance_se: float = float("nan")
    ph_global_chisq: float = float("nan")
    ph_global_df: int = 0
    ph_global_p: float = float("nan")
    warnings: tuple[StatWarning, ...] = field(default_factory=tuple)


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
) -> CoxFit:
    """Fit a Cox model and collect its per-term numbers and warnings."""
    res = _stats("cox").cox_fit(x, time, event, ties=ties, strata=strata, conf_level=conf_level)
    p = x.shape[1]
    coef = np.asarray(res.coef, dtype=float)
    se = np.asarray(res.se, dtype=float)
    z = z_value(conf_level)
    hr = np.exp(coef)
    lower = np.exp(coef - z * se)
    upper = np.exp(coef + z * se)
    pval = np.asarray(res.p_value, dtype=float)
    estimable = [True] * p
    notes: list[list[str]] = [[] for _ in range(p)]
    for w in res.warnings:
        j = w.context.get("index") if hasattr(w, "context") else None
        if w.code == "MONOTONE-LIKELIHOOD" and isinstance(j, int):
            estimable[j] = False
            notes[j].append("not estimable: the hazard ratio runs off to infinity")
    ph_p = np.full(p, np.nan)
    ph_chisq = ph_df = ph_global = float("nan")
    if ph_test:
        ph = res.ph_test()
        ph_p = np.asarray([t.p_value for t in ph.terms], dtype=float)
        ph_chisq, ph_df, ph_global = ph.global_chisq, ph.global_df, ph.global_p
    c = c_se = float("nan")
    if concordance:
        c, c_se = float(res.concordance.c), float(res.concordance.se)
    lr = res.tests["likelihood_ratio"]
    return CoxFit(
        coef=coef,
        se=se,
        hr=hr,
        lower=lower,
        upper=upper,
        p=pval,
        estimable=tuple(estimable),
        notes=tuple(tuple(n) for n in notes),
        ph_p=ph_p,
        lr_statistic=float(lr.statistic),
        lr_df=int(lr.df),
        lr_p=float(lr.p_value),
        wald_p=float(res.tests["wald"].p_value),
        concordance=c,
        concordance_se=c_se,
        ph_global_chisq=float(ph_chisq),
        ph_global_df=int(ph_df) if math.isfinite(ph_df) else 0,
        ph_global_p=float(ph_global),
        warnings=tuple(res.warnings),
    )


# --------------------------------------------------------------------------- Table 1


def describe_continuous(values: np.ndarray) -> dict[str, Any]:
    """n, median, min, max, quartiles (type 7), mean and SD of the known values."""
    descriptive = _stats("descriptive")
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    d = descriptive.describe(v)
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
    return str(res.test), float(res.p_value)


def continuous_test(samples: list[np.ndarray], summary: str) -> tuple[str, float]:
    """Mann–Whitney / Kruskal–Wallis (medians) or t-test / ANOVA (mean-sd)."""
    descriptive = _stats("descriptive")
    res = descriptive.continuous_test(samples, parametric=summary == "mean-sd")
    return str(res.test), float(res.p_value)

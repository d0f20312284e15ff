"""Functional form of a continuous covariate in a Cox model: spline test and HR curve.

Test of non-linearity (Harrell 2015, *Regression Modeling Strategies*, 2nd ed., sec. 2.4.5
and 20.1; Clark et al. 2003, Br J Cancer 89:781, part IV). The covariate enters as a
restricted cubic spline with ``nk`` knots (default 4, Harrell's quantiles, see
:mod:`.splines`) beside the other covariates; the likelihood-ratio statistic
``2 (ℓ_spline − ℓ_linear)`` on ``nk − 2`` df tests the non-linear part (the same
statistic as R's ``anova(coxph(… + x), coxph(… + rcs(x, 4)))``), and
``2 (ℓ_spline − ℓ_without x)`` on ``nk − 1`` df tests any association.

HR-versus-value curve: with ``b(v)`` the spline columns at value ``v`` and ``β̂``, ``V̂`` the
spline coefficients and their model-based covariance, the log hazard ratio against a
reference value ``r`` is ``c(v)ᵀβ̂`` with ``c(v) = b(v) − b(r)``, its variance
``c(v)ᵀ V̂ c(v)``, and the pointwise Wald CI ``exp(c(v)ᵀβ̂ ± z·sqrt(c(v)ᵀ V̂ c(v)))`` —
the contrast ``rms::Predict(fit, x, ref.zero = TRUE, fun = exp)`` draws (its CI has width
0 at the reference). The default reference is the median of ``x`` (``rms::datadist``'s
"Adjust to" value for a continuous variable) and the default grid is ``rms``'s: 200 equally
spaced values between the ``q`` and ``1 − q`` quantiles of ``x``, ``q = 10 / max(n, 200)``.

A log transform is a derived column: :func:`log_covariate` refuses zeros and negative
values rather than shifting them silently.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from survstudy.errors import AnalysisError
from survstudy.stats._common import StatWarning, clean_float
from survstudy.stats._dist import chi2_sf, norm_ppf
from survstudy.stats.cox import CoxControl, CoxResult, cox_fit, cox_layout
from survstudy.stats.splines import (
    quantile_type7,
    rcs_basis,
    rcs_knots,
    rcs_names,
    sorted_unique,
)

__all__ = ["HRCurve", "SplineTest", "log_covariate", "nonlinearity_test"]

F = NDArray[np.float64]


@dataclass(frozen=True)
class HRCurve:
    """Hazard ratio against ``reference`` at each of ``value``, with pointwise Wald limits."""

    term: str
    reference: float
    value: F
    hr: F
    lower: F
    upper: F
    conf_level: float

    def to_records(self) -> list[dict[str, Any]]:
        return [
            {
                "value": float(self.value[i]),
                "hr": clean_float(self.hr[i]),
                "lower": clean_float(self.lower[i]),
                "upper": clean_float(self.upper[i]),
            }
            for i in range(self.value.size)
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "reference": self.reference,
            "conf_level": self.conf_level,
            "points": self.to_records(),
        }


@dataclass(frozen=True)
class SplineTest:
    """Restricted-cubic-spline fit of one covariate: LR tests of non-linearity and of any effect.

    ``coef``/``var`` are the spline columns' coefficients and covariance in the spline
    model (columns named as ``rms::rcs``: ``x``, ``x'``, ``x''``); ``fit`` is that model.
    """

    term: str
    knots: F
    lr_nonlinear: float
    df_nonlinear: int
    p_nonlinear: float
    lr_overall: float
    df_overall: int
    p_overall: float
    loglik_linear: float
    loglik_spline: float
    loglik_without: float
    coef: F
    var: F
    columns: tuple[str, ...]
    reference: float
    display_range: tuple[float, float]
    conf_level: float
    alpha: float
    warnings: tuple[StatWarning, ...] = ()
    fit: CoxResult | None = field(default=None, repr=False, compare=False)

    @property
    def nonlinearity_p(self) -> float:
        """The p of the test of non-linearity (``rows[j].nonlinearity_p`` in results.json)."""
        return self.p_nonlinear

    def hr_curve(
        self, values: ArrayLike | None = None, *, reference: float | None = None, n: int = 200
    ) -> HRCurve:
        """HR(value) / HR(reference) with pointwise CI (module docstring); ``values`` default
        to ``n`` equally spaced values over :attr:`display_range`."""
        ref = self.reference if reference is None else float(reference)
        v = (
            np.linspace(self.display_range[0], self.display_range[1], n)
            if values is None
            else np.atleast_1d(np.asarray(values, dtype=np.float64))
        )
        c = rcs_basis(v, self.knots) - rcs_basis(np.array([ref]), self.knots)
        lp = c @ self.coef
        se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", c, self.var, c), 0.0))
        z = norm_ppf(1.0 - (1.0 - self.conf_level) / 2.0)
        with np.errstate(over="ignore"):
            return HRCurve(
                term=self.term,
                reference=ref,
                value=v,
                hr=np.exp(lp),
                lower=np.exp(lp - z * se),
                upper=np.exp(lp + z * se),
                conf_level=self.conf_level,
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "knots": [float(k) for k in self.knots],
            "nonlinearity": {
                "statistic": clean_float(self.lr_nonlinear),
                "df": self.df_nonlinear,
                "p_value": clean_float(self.p_nonlinear),
            },
            "overall": {
                "statistic": clean_float(self.lr_overall),
                "df": self.df_overall,
                "p_value": clean_float(self.p_overall),
            },
            "nonlinearity_p": clean_float(self.p_nonlinear),
            "reference": self.reference,
            "columns": list(self.columns),
            "coef": [clean_float(b) for b in self.coef],
            "conf_level": self.conf_level,
            "warnings": [w.to_dict() for w in self.warnings],
        }


def log_covariate(x: ArrayLike, name: str = "x") -> F:
    """``log(x)`` for a ``transform: log`` covariate; zeros or negative values are refused.

    NaN (missing) stays NaN. A value ≤ 0 is an :class:`AnalysisError` naming how many:
    ``log(x + c)`` with an arbitrary ``c`` changes the model and must be the user's choice.
    """
    v = np.asarray(x, dtype=np.float64)
    bad = ~np.isnan(v) & (v <= 0)
    if bad.any():
        k = int(bad.sum())
        raise AnalysisError(
            f"{name}: {k} value{'s' if k > 1 else ''} {'are' if k > 1 else 'is'} zero or "
            "negative, so log(x) is undefined; choose another transform (e.g. a spline) or "
            "derive a shifted variable in the spec"
        )
    return np.log(v)


def _display_range(xs: F) -> tuple[float, float]:
    """``rms::datadist``'s Low:prediction and High:prediction of a continuous variable
    (``xs``: its values sorted, without NaN)."""
    if sorted_unique(xs)[0].size < 4:
        return float(xs[0]), float(xs[-1])
    q = 10.0 / max(xs.size, 200)
    lo, hi = quantile_type7(xs, np.array([q, 1.0 - q]))
    if lo == hi:
        return float(xs[0]), float(xs[-1])
    return float(lo), float(hi)


def nonlinearity_test(
    x: ArrayLike,
    time: ArrayLike,
    event: ArrayLike,
    *,
    covariates: ArrayLike | None = None,
    covariate_names: Sequence[str] | None = None,
    name: str = "x",
    nk: int = 4,
    knots: ArrayLike | None = None,
    strata: ArrayLike | None = None,
    ties: str = "efron",
    weights: ArrayLike | None = None,
    reference: float | None = None,
    conf_level: float = 0.95,
    alpha: float = 0.05,
    control: CoxControl | None = None,
    layout: Any = None,
    linear: tuple[float, Sequence[StatWarning]] | None = None,
    overall: bool = True,
) -> SplineTest:
    """Spline (``nk`` knots) versus linear Cox model for covariate ``x`` (module docstring).

    ``covariates`` (n, q) are the model's other columns (already coded; no missing values:
    drop incomplete rows first). A ``NON-LINEAR`` warning is added when the test's p is
    below ``alpha``; the knot-placement warnings of :func:`.rcs_knots` are kept.
    ``layout``: :func:`.cox.cox_layout` of these rows and ``ties``, shared by the three fits
    (made here when not given). ``linear``: the log-likelihood and warnings of the linear
    model (``covariates`` then ``x``, on these rows with these ties, weights and control)
    when the caller has fitted it already; it is then not fitted again. ``overall=False``:
    the overall test (the spline against no term for x) is not wanted: with ``covariates``
    its model without x is not fitted, and ``loglik_without``, ``lr_overall`` and
    ``p_overall`` are NaN (the non-linearity test is the same).
    """
    xv = np.asarray(x, dtype=np.float64)
    if xv.ndim != 1:
        raise ValueError("x must be one-dimensional")
    if np.isnan(xv).any():
        raise AnalysisError(f"{name} has missing values; drop those rows first")
    n = xv.size
    if covariates is None:
        other = np.zeros((n, 0))
    else:
        other = np.asarray(covariates, dtype=np.float64)
        if other.ndim == 1:
            other = other[:, None]
    q = other.shape[1]
    onames = (
        tuple(covariate_names)
        if covariate_names is not None
        else tuple(f"z{j + 1}" for j in range(q))
    )
    warns: list[StatWarning] = []
    xs = np.sort(xv)  # once, for the knots and the display range
    if knots is None:
        kn = rcs_knots(xs, nk, presorted=True)
        kv = kn.knots
        warns.extend(kn.warnings)
    else:
        kv = np.asarray(knots, dtype=np.float64)
    cols = rcs_names(name, kv.size)
    if layout is None:
        # the three fits share one sort of the rows
        layout = cox_layout(time, event, strata=strata, ties=ties, weights=weights)
    kw: dict[str, Any] = dict(
        strata=strata, ties=ties, weights=weights, control=control, concordance=False, layout=layout
    )
    # Peak memory: each fit holds a sorted copy of the data. Of the linear model and the
    # model without x only the log-likelihood (and warnings) are kept, so they are fitted
    # first and released; the spline model, whose fit the result keeps, comes last.
    if linear is None:
        fit_lin = cox_fit(
            np.column_stack((other, xv)), time, event, term_names=(*onames, name), **kw
        )
        loglik_lin, warns_lin = fit_lin.loglik, tuple(fit_lin.warnings)
        del fit_lin
    else:
        loglik_lin, warns_lin = float(linear[0]), tuple(linear[1])
    ll_other = None
    if q and overall:
        ll_other = cox_fit(other, time, event, term_names=onames, **kw).loglik
    design = np.column_stack((other, rcs_basis(xv, kv)))  # (the basis alone not kept: memory)
    fit_rcs = cox_fit(design, time, event, term_names=(*onames, *cols), conf_level=conf_level, **kw)
    del design
    ll_without = fit_rcs.loglik_null if ll_other is None else ll_other
    if q and not overall:
        ll_without = math.nan
    warns.extend(warns_lin)
    warns.extend(fit_rcs.warnings)
    lr_nl = 2.0 * (fit_rcs.loglik - loglik_lin)
    lr_all = 2.0 * (fit_rcs.loglik - ll_without)
    df_nl = kv.size - 2
    df_all = kv.size - 1
    p_nl = chi2_sf(max(lr_nl, 0.0), df_nl)
    p_all = chi2_sf(max(lr_all, 0.0), df_all)
    if math.isfinite(p_nl) and p_nl < alpha:
        warns.append(
            StatWarning(
                "NON-LINEAR",
                f"{name}: the hazard ratio per unit is not constant across its values "
                "(likelihood-ratio test of a restricted cubic spline against a linear term); "
                "one hazard ratio per unit misrepresents its effect",
                {"term": name, "p_value": p_nl, "statistic": lr_nl, "df": df_nl},
            )
        )
    sl = slice(q, q + df_all)
    ref = float(np.median(xv)) if reference is None else float(reference)
    return SplineTest(
        term=name,
        knots=kv,
        lr_nonlinear=lr_nl,
        df_nonlinear=df_nl,
        p_nonlinear=p_nl,
        lr_overall=lr_all,
        df_overall=df_all,
        p_overall=p_all,
        loglik_linear=loglik_lin,
        loglik_spline=fit_rcs.loglik,
        loglik_without=float(ll_without),
        coef=np.asarray(fit_rcs.coef[sl], dtype=np.float64),
        var=np.asarray(fit_rcs.var[sl, sl], dtype=np.float64),
        columns=cols,
        reference=ref,
        display_range=_display_range(xs),
        conf_level=conf_level,
        alpha=alpha,
        warnings=tuple(warns),
        fit=fit_rcs,
    )

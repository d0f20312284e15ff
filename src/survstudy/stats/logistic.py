"""Logistic regression (binary outcome) by Newton–Raphson, as R's ``glm(family = binomial)``.

Model: ``logit P(y = 1 | x) = β₀ + xᵀβ`` with an intercept added here. ``x`` is a
numeric design without missing values (the caller drops incomplete rows and passes
their count as ``n_dropped``); categorical variables are dummy-coded as for Cox
(:func:`survstudy.stats.cox.dummy_code`).

Estimation: the maximum-likelihood estimate by Newton–Raphson, which for the
canonical logit link is Fisher scoring, i.e. glm's iteratively reweighted least
squares (McCullagh & Nelder 1989, sec. 4.4). Start as glm: ``μ₀ = (y + ½)/2``.
Covariates are centred at their mean and scaled by their SD inside the fit and the
results transformed back, so a change of unit does not change the answer. A step
that raises the deviance is halved (up to 30 times). Convergence rule: stop when the
largest Newton step on the standardised scale is ≤ 1e-8; that step is applied, so
(quadratic convergence) the estimate is correct to rounding and does not depend on
the BLAS or processor — R's rule ``|D − D_old| / (|D| + 0.1) < 1e-8`` stops earlier,
within about 1e-10 (relative) of this answer. At most ``iter_max`` (50) iterations.

Inference (as ``summary.glm`` for the binomial family, dispersion 1): variance
``(XᵀWX)⁻¹`` at the estimate, ``W = diag(μ(1 − μ))``; Wald z = β/SE, two-sided
normal p; odds ratio ``exp(β·per)`` with Wald limits ``exp((β ± z·SE)·per)``.
Deviance ``D = 2 Σ [log(1 + e^η) − y η]``; null deviance the same for the
intercept-only model; AIC ``D + 2(p + 1)``.

Separation (Albert & Anderson 1984): the MLE does not exist when some direction
``b`` has ``s_i x̃_iᵀ b ≥ 0`` for every patient (``s = ±1`` for y = 1/0, ``x̃`` the
design with intercept) and ``> 0`` for at least one — the coefficient would run to
infinity and the fitted probabilities of those patients to 0 or 1. It is detected
as in Konis (2007, *Linear programming algorithms for detecting separated data in
binary logistic regression models*, DPhil thesis, Oxford; R package
``safeBinaryRegression``): when the iteration has not converged or a fitted
probability is within 1e-8 of 0 or 1, the linear programme
``max Σ_i s_i x̃_iᵀ b`` subject to ``s_i x̃_iᵀ b ≥ 0``, ``−1 ≤ b ≤ 1`` (standardised
design) is solved (scipy's HiGHS); a positive optimum whose margins check out
exactly means separation. The covariates named are those of the sparsest separating
direction (a second programme minimising ``Σ|b_j|`` over the non-intercept
coefficients subject to the same constraints and ``Σ margins ≥ 1``); it is
*complete* when some direction separates every patient strictly
(``max t`` s.t. all margins ``≥ t``, ``t ≤ 1`` has ``t > 0``), otherwise
*quasi-complete*. The result then carries a ``SEPARATION`` warning naming them and
the terms are marked not estimable — never a silent huge coefficient.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from survstudy.errors import AnalysisError
from survstudy.stats._common import StatWarning, clean_float
from survstudy.stats._cox_fitting import check_collinear
from survstudy.stats._dist import norm_ppf, norm_sf2

__all__ = [
    "LogisticControl",
    "LogisticResult",
    "LogisticTerm",
    "Separation",
    "expit",
    "logistic_fit",
]

F = NDArray[np.float64]

INTERCEPT = "(Intercept)"


@dataclass(frozen=True)
class LogisticControl:
    """Numerical settings of :func:`logistic_fit`.

    ``step_tol``: converged when the largest Newton step (standardised scale) is at
    most this. ``extreme``: a fitted probability closer than this to 0 or 1 (or no
    convergence) triggers the separation check.
    """

    iter_max: int = 50
    step_tol: float = 1e-8
    max_halving: int = 30
    extreme: float = 1e-8


@dataclass(frozen=True)
class LogisticTerm:
    """One coefficient: estimate, SE, Wald z and p (glm's), odds ratio per ``per`` units."""

    term: str
    coef: float
    se: float
    z: float
    p_value: float | None
    odds_ratio: float
    lower: float
    upper: float
    per: float = 1.0
    variable: str | None = None
    level: str | None = None
    estimable: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "variable": self.variable,
            "level": self.level,
            "per": self.per,
            "coef": clean_float(self.coef),
            "se": clean_float(self.se),
            "z": clean_float(self.z),
            "p_value": clean_float(self.p_value),
            "odds_ratio": clean_float(self.odds_ratio),
            "lower": clean_float(self.lower),
            "upper": clean_float(self.upper),
            "estimable": self.estimable,
        }


@dataclass(frozen=True)
class Separation:
    """Detected (quasi-)complete separation: which terms, how many patients are separated."""

    kind: str  # "complete" | "quasi-complete"
    terms: tuple[str, ...]
    n_separated: int

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "terms": list(self.terms), "n_separated": self.n_separated}


@dataclass(frozen=True)
class LogisticResult:
    """The fit of :func:`logistic_fit` (first coefficient the intercept, original scale)."""

    n: int
    n_events: int
    n_dropped: int
    term_names: tuple[str, ...]
    coef: F
    se: F
    var: F
    z: F
    p_value: F
    terms: tuple[LogisticTerm, ...]
    deviance: float
    null_deviance: float
    df_residual: int
    aic: float
    iterations: int
    converged: bool
    conf_level: float
    linear_predictor: F
    fitted: F
    separation: Separation | None = None
    warnings: tuple[StatWarning, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "n_events": self.n_events,
            "n_dropped": self.n_dropped,
            "deviance": clean_float(self.deviance),
            "null_deviance": clean_float(self.null_deviance),
            "df_residual": self.df_residual,
            "aic": clean_float(self.aic),
            "iterations": self.iterations,
            "converged": self.converged,
            "conf_level": self.conf_level,
            "terms": [t.to_dict() for t in self.terms],
            "separation": None if self.separation is None else self.separation.to_dict(),
            "warnings": [w.to_dict() for w in self.warnings],
        }

    def to_records(self) -> list[dict[str, Any]]:
        return [t.to_dict() for t in self.terms]

    def predict(self, x: ArrayLike) -> F:
        """Fitted probabilities for new rows of the same design (without intercept column)."""
        xm = np.atleast_2d(np.asarray(x, dtype=np.float64))
        return expit(self.coef[0] + xm @ self.coef[1:])


def expit(eta: ArrayLike) -> F:
    """``1 / (1 + e^−η)`` without overflow for any finite η."""
    e = np.asarray(eta, dtype=np.float64)
    q = np.exp(-np.abs(e))
    return np.asarray(np.where(e >= 0, 1.0 / (1.0 + q), q / (1.0 + q)))


def _exp(v: float) -> float:
    """exp without OverflowError: +inf beyond the float range, NaN stays NaN."""
    if math.isnan(v):
        return math.nan
    return math.exp(v) if v < 709.0 else math.inf


def _deviance(eta: F, y: F) -> float:
    # -2 log L = 2 Σ [log(1 + e^η) − y η]; logaddexp keeps it finite for large |η|.
    return float(2.0 * np.sum(np.logaddexp(0.0, eta) - y * eta))


def _solve(a: F, b: F) -> F:
    """Least-squares solution (SVD): a singular information (a direction whose
    probabilities have saturated) gives a zero step in that direction, not an error."""
    return np.asarray(np.linalg.lstsq(a, b, rcond=None)[0])


def _newton(xs: F, y: F, control: LogisticControl) -> tuple[F, F, int, bool]:
    """Newton–Raphson on the standardised design ``xs`` (first column the intercept)."""
    mu0 = (y + 0.5) / 2.0
    eta = np.log(mu0 / (1.0 - mu0))
    # glm starts from η₀ = logit(μ₀): one weighted least-squares solve gives β₀.
    w0 = mu0 * (1.0 - mu0)
    z0 = eta + (y - mu0) / w0
    beta = _solve(xs.T @ (w0[:, None] * xs), xs.T @ (w0 * z0))
    eta = xs @ beta
    dev = _deviance(eta, y)
    for it in range(1, control.iter_max + 1):
        mu = expit(eta)
        w = mu * (1.0 - mu)
        step = _solve(xs.T @ (w[:, None] * xs), xs.T @ (y - mu))
        new = beta + step
        new_eta = xs @ new
        new_dev = _deviance(new_eta, y)
        h = 0
        while not (math.isfinite(new_dev) and new_dev <= dev * (1.0 + 1e-15)):
            h += 1
            if h > control.max_halving:
                return beta, eta, it, False
            step = step / 2.0
            new = beta + step
            new_eta = xs @ new
            new_dev = _deviance(new_eta, y)
        beta, eta, dev = new, new_eta, new_dev
        if float(np.max(np.abs(step))) <= control.step_tol:
            return beta, eta, it, True
    return beta, eta, control.iter_max, False


def _margins_ok(a: F, b: F) -> tuple[bool, F]:
    """Whether ``b`` separates exactly: all margins ≥ −(rounding) and some clearly > 0."""
    m = a @ b
    scale = float(np.max(np.abs(a), initial=0.0)) * float(np.sum(np.abs(b))) + 1e-300
    tol = 1e-9 * scale
    return bool(np.all(m >= -tol) and np.any(m > 1e-6 * scale)), m


def _detect_separation(xs: F, y: F, names: Sequence[str]) -> Separation | None:
    """Konis's linear programmes on the standardised design (see module docstring)."""
    from scipy.optimize import linprog  # slow to import; only needed here

    n, k = xs.shape
    a = xs * np.where(y == 1.0, 1.0, -1.0)[:, None]
    zeros = np.zeros(n)
    r1 = linprog(-a.sum(axis=0), A_ub=-a, b_ub=zeros, bounds=[(-1.0, 1.0)] * k, method="highs")
    if r1.status != 0 or -float(r1.fun) <= 0.0:
        return None
    ok, m = _margins_ok(a, np.asarray(r1.x))
    if not ok:
        return None
    # Sparsest separating direction: b = b⁺ − b⁻ (intercept free of charge),
    # min Σ (b⁺ + b⁻) over covariates s.t. a b ≥ 0, Σ a b ≥ 1.
    cost = np.concatenate(([0.0], np.ones(k - 1), [0.0], np.ones(k - 1)))
    a2 = np.hstack((a, -a))
    r2 = linprog(
        cost,
        A_ub=np.vstack((-a2, -a2.sum(axis=0)[None, :])),
        b_ub=np.concatenate((zeros, [-1.0])),
        bounds=[(0.0, None)] * (2 * k),
        method="highs",
    )
    b = np.asarray(r2.x[:k] - r2.x[k:]) if r2.status == 0 else np.asarray(r1.x)
    if r2.status == 0 and not _margins_ok(a, b)[0]:
        b = np.asarray(r1.x)
    big = float(np.max(np.abs(b[1:]), initial=0.0))
    involved = tuple(names[j - 1] for j in range(1, k) if big > 0 and abs(b[j]) > 1e-6 * big)
    # complete separation: some direction with every margin ≥ t > 0
    cost3 = np.concatenate((np.zeros(k), [-1.0]))
    r3 = linprog(
        cost3,
        A_ub=np.hstack((-a, np.ones((n, 1)))),
        b_ub=zeros,
        bounds=[(-1.0, 1.0)] * k + [(None, 1.0)],
        method="highs",
    )
    complete = r3.status == 0 and -float(r3.fun) > 1e-9 * float(np.max(np.abs(a)))
    # patients pushed to a fitted probability of 0 or 1: every one under complete
    # separation, else those with a positive margin on the direction maximising the margins
    scale = float(np.max(np.abs(m), initial=0.0))
    n_sep = n if complete else int(np.sum(m > 1e-8 * scale))
    return Separation(
        kind="complete" if complete else "quasi-complete", terms=involved, n_separated=n_sep
    )


def logistic_fit(
    x: ArrayLike,
    y: ArrayLike,
    *,
    term_names: Sequence[str] | None = None,
    per: Sequence[float | None] | None = None,
    variables: Sequence[str | None] | None = None,
    levels: Sequence[str | None] | None = None,
    conf_level: float = 0.95,
    n_dropped: int = 0,
    control: LogisticControl | None = None,
) -> LogisticResult:
    """Fit ``logit P(y = 1) = β₀ + xᵀβ`` by maximum likelihood (see module docstring).

    ``x`` is (n, p) numeric without missing values; ``y`` is 0/1 (or boolean).
    ``per[j]`` reports column j's odds ratio per that many units (coef and SE stay per
    unit, as glm). ``variables``/``levels`` label each column (the confounder and the
    level of a dummy) for the report. Raises :class:`AnalysisError` when y has one
    value only, a column is constant or columns are collinear. Separation is reported
    on the result (``separation``, a ``SEPARATION`` warning), not raised.
    """
    control = control or LogisticControl()
    xm = np.asarray(x, dtype=np.float64)
    if xm.ndim == 1:
        xm = xm[:, None]
    yv = np.asarray(y)
    n, p = xm.shape
    if yv.shape != (n,):
        raise ValueError("y must have one value per row of x")
    yf = yv.astype(np.float64)
    if not np.all((yf == 0) | (yf == 1)):
        raise AnalysisError("the outcome of a logistic regression must be coded 0/1")
    if not np.all(np.isfinite(xm)):
        raise AnalysisError("covariates have missing values; drop those rows first")
    names = tuple(term_names) if term_names is not None else tuple(f"x{j + 1}" for j in range(p))
    if len(names) != p:
        raise ValueError("term_names must have one name per column of x")
    n1 = int(yf.sum())
    if n1 == 0 or n1 == n:
        which = "all" if n1 == n else "none"
        raise AnalysisError(
            f"{which} of the {n} patients have the outcome: a logistic model cannot be fitted"
        )
    pers = [1.0 if v is None else float(v) for v in (per if per is not None else [None] * p)]
    varl = list(variables) if variables is not None else [None] * p
    levl = list(levels) if levels is not None else [None] * p
    if len(pers) != p or len(varl) != p or len(levl) != p:
        raise ValueError("per, variables and levels must have one entry per column of x")

    center = xm.mean(axis=0) if p else np.zeros(0)
    xc = xm - center
    sd = np.sqrt(np.mean(xc * xc, axis=0)) if p else np.zeros(0)
    for j in range(p):
        if not sd[j] > 0 or np.all(xm[:, j] == xm[0, j]):
            raise AnalysisError(
                f"covariate {names[j]} has the same value for every analysed patient"
            )
    xs_cov = xc / sd
    if p > 1:
        check_collinear(xs_cov.T @ xs_cov / n, names)
    xs = np.column_stack((np.ones(n), xs_cov))

    beta_s, eta, iterations, converged = _newton(xs, yf, control)
    mu = expit(eta)
    w = mu * (1.0 - mu)
    info = xs.T @ (w[:, None] * xs)

    separation = None
    extreme = bool(np.any(np.minimum(mu, 1.0 - mu) < control.extreme))
    if not converged or extreme:
        separation = _detect_separation(xs, yf, names)

    # back to the original scale: β_j = βs_j / sd_j, β₀ = βs₀ − Σ βs_j c_j / sd_j
    t = np.zeros((p + 1, p + 1))
    t[0, 0] = 1.0
    t[0, 1:] = -center / sd
    t[1:, 1:] = np.diag(1.0 / sd)
    coef = t @ beta_s
    with np.errstate(divide="ignore", invalid="ignore"):
        try:
            var_s = np.linalg.inv(info)
        except np.linalg.LinAlgError:
            var_s = np.full((p + 1, p + 1), np.nan)
    var = t @ var_s @ t.T
    vd = np.diag(var)
    se = np.sqrt(np.where(vd >= 0, vd, np.nan))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = coef / se
    pv = np.array([norm_sf2(float(v)) for v in z])
    dev = _deviance(eta, yf)
    pbar = n1 / n
    null_dev = float(-2.0 * (n1 * math.log(pbar) + (n - n1) * math.log(1.0 - pbar)))

    warns: list[StatWarning] = []
    bad: set[str] = set()
    if separation is not None:
        bad = set(separation.terms) or set(names)
        warns.append(
            StatWarning(
                "SEPARATION",
                f"{separation.kind} separation: "
                f"{', '.join(separation.terms) if separation.terms else 'the covariates'} "
                f"predict the outcome perfectly for {separation.n_separated} patients; "
                "their coefficients are infinite (the estimate does not exist)",
                {"terms": list(separation.terms), "kind": separation.kind},
            )
        )
    elif not converged:
        warns.append(
            StatWarning(
                "NOT-CONVERGED",
                f"the logistic regression did not converge in {control.iter_max} iterations",
                {},
            )
        )
    zq = norm_ppf(0.5 + conf_level / 2.0)
    terms: list[LogisticTerm] = []
    all_names = (INTERCEPT, *names)
    all_per = [1.0, *pers]
    for j, nm in enumerate(all_names):
        k = all_per[j]
        # with separation the other coefficients tend to finite limits (estimable),
        # but no p-value is reliable while one coefficient runs off to infinity
        est = nm not in bad and (converged or separation is not None)
        reliable = separation is None and converged
        orr = _exp(coef[j] * k)
        lo = _exp((coef[j] - zq * se[j]) * k)
        hi = _exp((coef[j] + zq * se[j]) * k)
        terms.append(
            LogisticTerm(
                term=nm,
                coef=float(coef[j]),
                se=float(se[j]),
                z=float(z[j]),
                p_value=float(pv[j]) if reliable else None,
                odds_ratio=orr,
                lower=lo,
                upper=hi,
                per=k,
                variable=None if j == 0 else varl[j - 1],
                level=None if j == 0 else levl[j - 1],
                estimable=est,
            )
        )
    return LogisticResult(
        n=n,
        n_events=n1,
        n_dropped=int(n_dropped),
        term_names=all_names,
        coef=coef,
        se=se,
        var=var,
        z=z,
        p_value=pv,
        terms=tuple(terms),
        deviance=dev,
        null_deviance=null_dev,
        df_residual=n - p - 1,
        aic=dev + 2.0 * (p + 1),
        iterations=iterations,
        converged=converged,
        conf_level=conf_level,
        linear_predictor=eta.copy(),
        fitted=mu,
        separation=separation,
        warnings=tuple(warns),
    )

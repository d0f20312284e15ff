"""Pieces of a Cox fit shared by the in-memory fit (:mod:`.cox`) and the fit from
per-time sums (:mod:`.sufficient`): the design checks, the Newton–Raphson
iteration and the post-fit summary (coefficients, tests, terms, warnings).

Each takes what differs between the two paths as an argument — the objective as
an evaluator callable, the refit without one term as a callable — so both paths
run the same rules (R's ``coxfit6`` and ``summary.coxph``; Therneau & Grambsch
2000, ch. 3).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from survstudy.errors import AnalysisError
from survstudy.stats._common import StatWarning, clean_float
from survstudy.stats._dist import chi2_sf, norm_ppf, norm_sf2

F = NDArray[np.float64]


@dataclass(frozen=True)
class TestResult:
    """A chi-square test: statistic, degrees of freedom, p-value."""

    statistic: float
    df: int
    p_value: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "statistic": clean_float(self.statistic),
            "df": self.df,
            "p_value": clean_float(self.p_value),
        }


@dataclass(frozen=True)
class CoxTerm:
    """One column of X: estimate, model-based SE, hazard ratio with Wald CI, z and p.

    ``p_value`` is ``None`` when the term is not estimable (monotone
    likelihood): its Wald p is meaningless; ``lr_p_value`` (the likelihood-ratio
    test of dropping the term) is given instead.
    """

    term: str
    coef: float
    se: float
    hr: float
    lower: float
    upper: float
    z: float
    p_value: float | None
    robust_se: float | None = None
    estimable: bool = True
    reason: str | None = None
    lr_p_value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "coef": clean_float(self.coef),
            "se": clean_float(self.se),
            "hr": clean_float(self.hr),
            "lower": clean_float(self.lower),
            "upper": clean_float(self.upper),
            "z": clean_float(self.z),
            "p_value": clean_float(self.p_value),
            "robust_se": clean_float(self.robust_se),
            "estimable": self.estimable,
            "reason": self.reason,
            "lr_p_value": clean_float(self.lr_p_value),
        }


# --------------------------------------------------------------------------- linear algebra

TOLER_CHOL = float(np.finfo(float).eps ** 0.75)


def cholesky2(a: F, toler: float = TOLER_CHOL) -> tuple[F, F]:
    """Generalised Cholesky ``A = L D Lᵀ`` as R's ``cholesky2``: a pivot below
    ``toler · max(diag)`` (or below ``toler`` when no diagonal entry is positive) is set
    to zero, so a direction with (numerically) no information is left alone instead
    of producing a huge or sign-flipped Newton step — which is what happens when the
    information of a coefficient running off to infinity drops below 0 by rounding.
    """
    p = a.shape[0]
    diag_max = float(np.max(np.diag(a))) if p else 0.0
    eps = toler * diag_max if diag_max > 0 else toler
    lower = np.eye(p)
    d = np.zeros(p)
    for i in range(p):
        piv = float(a[i, i] - (lower[i, :i] ** 2) @ d[:i])
        if not math.isfinite(piv) or piv < eps:
            continue
        d[i] = piv
        below = a[i + 1 :, i] - (lower[i + 1 :, :i] * lower[i, :i]) @ d[:i]
        lower[i + 1 :, i] = below / piv
    return lower, d


def solve_psd(a: F, b: F) -> F:
    """Solve ``A x = b`` with the generalised Cholesky; zero-pivot components of x are 0."""
    lower, d = cholesky2(a)
    y = np.linalg.solve(lower, b)
    z = np.divide(y, d, out=np.zeros_like(y), where=d > 0)
    return np.asarray(np.linalg.solve(lower.T, z))


def generalised_inverse(a: F) -> F:
    """Generalised inverse as R's ``chinv2``: rows and columns of zero pivots are 0."""
    lower, d = cholesky2(a)
    linv = np.linalg.inv(lower)
    dinv = np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)
    inv = linv.T @ (dinv[:, None] * linv)
    zero = d <= 0
    inv[zero, :] = 0.0
    inv[:, zero] = 0.0
    return np.asarray(inv)


def check_collinear(gram: F, names: Sequence[str]) -> None:
    """Raise :class:`AnalysisError` naming the first column dependent on earlier ones.

    ``gram`` is ``XᵀX/n`` of the centred, scaled design. A Cholesky-type sweep:
    column j is dependent when its residual variance after the earlier kept columns
    is below 1e-10 of its own (R's ``toler.chol`` idea on a correlation scale).
    """
    kept: list[int] = []
    for j in range(gram.shape[0]):
        if kept:
            gk = gram[np.ix_(kept, kept)]
            coefs = np.linalg.solve(gk, gram[kept, j])
            resid = gram[j, j] - float(gram[kept, j] @ coefs)
        else:
            coefs = np.zeros(0)
            resid = gram[j, j]
        if resid <= 1e-10 * gram[j, j]:
            used = [names[k] for k, c in zip(kept, coefs, strict=True) if abs(c) > 1e-8]
            raise AnalysisError(
                f"covariate {names[j]} is a linear combination of "
                f"{', '.join(used) if used else 'the other covariates'} (collinear columns)"
            )
        kept.append(j)


@dataclass
class NewtonFit:
    """End of a Newton–Raphson run: ``obj`` is the objective at ``beta``, ``first``
    at the initial value; ``var`` the generalised inverse of ``obj.information``."""

    beta: F
    obj: Any
    var: F
    iterations: int
    converged: bool
    first: Any


def newton(
    evaluate: Callable[[F], tuple[Any, bool]],
    init: F,
    iter_max: int,
    eps: float,
    solve: Callable[[F, F], F],
    inverse: Callable[[F], F],
) -> NewtonFit:
    """Newton–Raphson with step halving, as R's ``coxfit6`` (survival 3.5) behaves.

    ``evaluate(beta)`` returns (objective with ``loglik``, ``score``,
    ``information``; whether all three are finite). The iteration itself is
    :func:`newton_steps`; this drives it with ``evaluate``.
    """
    steps = newton_steps(init, iter_max, eps, solve, inverse)
    beta = next(steps)
    while True:
        try:
            beta = steps.send(evaluate(beta))
        except StopIteration as stop:
            fit: NewtonFit = stop.value
            return fit


def newton_steps(
    init: F,
    iter_max: int,
    eps: float,
    solve: Callable[[F, F], F],
    inverse: Callable[[F], F],
) -> Generator[F, tuple[Any, bool], NewtonFit]:
    """The Newton–Raphson iteration of :func:`newton` as a generator: it yields each beta
    to evaluate and is sent back ``(objective, finite)``; it returns the
    :class:`NewtonFit`. (So that several fits can share their evaluations: one pass of
    a data engine evaluates the per-time sums of two fits at once.)

    * Converged when ``|1 − ℓ_best/ℓ_new| ≤ eps`` at a finite trial point; the
      trial point is the answer.
    * A trial point with a lower or non-finite ℓ is rejected and pulled back
      towards the last accepted beta, more each consecutive time
      (``new = (new + h·beta)/(h + 1)``, h = 1, 2, …).
    * Out of iterations: the last ACCEPTED beta is returned with its own ℓ, score
      and information — never the rejected trial point (which has a lower ℓ and
      gave a sign-flipped coefficient and a wrong LR test in a monotone series).
      Checked against ``coxph(iter.max = k)`` for k = 1..8 on a series that halves.
    """
    beta = init.copy()
    o, _ = yield beta
    first = o
    best = o  # objective at the last accepted beta

    def done(b: F, at: Any, it: int, conv: bool) -> NewtonFit:
        return NewtonFit(b, at, inverse(at.information), it, conv, first)

    if beta.size == 0:
        return done(beta, o, 0, True)
    if iter_max <= 0 or not math.isfinite(o.loglik):
        return done(beta, o, 0, False)
    newbeta = beta + solve(o.information, o.score)
    halving = 0
    for it in range(1, iter_max + 1):
        o, finite = yield newbeta
        if finite and abs(1.0 - best.loglik / o.loglik) <= eps:
            return done(newbeta, o, it, True)
        if not finite or o.loglik < best.loglik:
            halving += 1
            newbeta = (newbeta + halving * beta) / (halving + 1.0)
        else:
            halving = 0
            best = o
            beta = newbeta
            newbeta = newbeta + solve(o.information, o.score)
    return done(beta, best, iter_max, False)


@dataclass
class CoxSummary:
    coef: F
    se: F
    var: F
    z: F
    p_value: F
    robust_se: F | None
    tests: dict[str, Any]
    terms: tuple[Any, ...]
    warnings: list[StatWarning]


def summarise_fit(
    *,
    beta_s: F,
    var_s: F,
    score: F,
    loglik: float,
    loglik0: float,
    score0: F,
    info0: F,
    scale: F,
    converged: bool,
    control: Any,
    conf_level: float,
    names: Sequence[str],
    level_no_events: Sequence[bool],
    refit_loglik: Callable[[list[int]], float],
    robust_var: F | None = None,
    counting: bool = False,
) -> CoxSummary:
    """Coefficients, SEs, Wald z/p, LR/Wald/score tests, terms and warnings of a Cox fit.

    Inputs are on the fit's (scaled) scale: ``beta_s``, its generalised-inverse
    variance ``var_s`` and the score at it; ``score0``/``info0`` at β = 0.
    Monotone likelihood is R's test ``|U·V| > eps`` and ``> toler_inf·|β|``; such a
    term gets an LR p from ``refit_loglik(kept columns)``; for counting-process data
    (``counting``) R's ``agreg.fit`` rule instead: the last Newton increment on the
    original scale above ``toler_inf·(1 + |β|)``. With ``robust_var``
    (original scale) z, p, the Wald test and the CIs use it (R's ``summary.coxph``).
    """
    solve = solve_psd
    p = len(names)
    warnings: list[StatWarning] = []
    if not converged:
        warnings.append(
            StatWarning(
                "NOT-CONVERGED",
                f"the Cox fit did not converge in {control.iter_max} iterations; "
                "estimates are unreliable",
                {},
            )
        )
    for j in range(p):
        if level_no_events[j]:
            warnings.append(
                StatWarning(
                    "LEVEL-NO-EVENTS",
                    f"{names[j]}: no events among the patients in this group; "
                    "its hazard ratio cannot be estimated",
                    {"term": names[j], "index": j},
                )
            )
    infs = np.abs(score @ var_s)
    if counting:
        monotone = ~np.isfinite(score) | (
            infs / scale > control.toler_inf * (1 + np.abs(beta_s / scale))
        )
    else:
        monotone = (infs > control.eps) & (infs > control.toler_inf * np.abs(beta_s))
    # A zero pivot at the end (the design was checked for collinearity before the fit)
    # means the information for that coefficient vanished as it ran off to infinity.
    monotone |= np.diag(var_s) == 0
    coef = beta_s / scale
    var = var_s / np.outer(scale, scale)
    vdiag = np.diag(var)
    # The generalised inverse keeps this diagonal >= 0; a negative or undefined value
    # (an information matrix that is not positive semi-definite) must flag the term,
    # never become a silent NaN SE from sqrt of a negative number.
    bad_var = ~np.isfinite(vdiag) | (vdiag < 0)
    se = np.sqrt(np.where(bad_var, np.nan, vdiag))
    monotone &= ~bad_var  # the |U·V| test means nothing without a valid variance
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, coef / np.where(se > 0, se, 1.0), np.nan)
    zq = norm_ppf(0.5 + conf_level / 2.0)
    pvals = np.array([norm_sf2(float(v)) for v in z])

    robust_se = None
    if robust_var is not None:
        robust_se = np.sqrt(np.diag(robust_var))
        z = coef / robust_se
        pvals = np.array([norm_sf2(float(v)) for v in z])

    lr_stat = 2.0 * (loglik - loglik0)
    if p:
        wald_stat = float(beta_s @ solve(var_s, beta_s))
        if robust_var is not None:
            rvs = robust_var * np.outer(scale, scale)
            wald_stat = float(beta_s @ solve(rvs, beta_s))
        score_stat = float(score0 @ solve(info0, score0))
    else:
        wald_stat = score_stat = float("nan")
    tests = {
        "likelihood_ratio": TestResult(lr_stat, p, chisq_sf(lr_stat, p) if p else None),
        "wald": TestResult(wald_stat, p, chisq_sf(wald_stat, p) if p else None),
        "score": TestResult(score_stat, p, chisq_sf(score_stat, p) if p else None),
    }

    terms: list[CoxTerm] = []
    with np.errstate(over="ignore"):  # an infinite limit is a valid answer (monotone likelihood)
        # as R's summary.coxph: with a robust variance the CI uses the robust SE
        ci_se = se if robust_se is None else robust_se
        lower = np.exp(coef - zq * ci_se)
        upper = np.exp(coef + zq * ci_se)
        hr = np.exp(coef)
    for j in range(p):
        estimable = not bool(monotone[j])
        lr_p = None
        reason = None
        pj: float | None = float(pvals[j])
        if monotone[j]:
            reason = "monotone likelihood: the coefficient runs off to infinity"
            pj = None
            keep = [k for k in range(p) if k != j]
            ll_sub = refit_loglik(keep) if keep else loglik0
            lr_p = chisq_sf(max(2.0 * (loglik - ll_sub), 0.0), 1)
            warnings.append(
                StatWarning(
                    "MONOTONE-LIKELIHOOD",
                    f"{names[j]}: the log-likelihood converged before the coefficient did; "
                    "the hazard ratio is not estimable (infinite). Use the likelihood-ratio p.",
                    {"term": names[j], "index": j},
                )
            )
        elif bad_var[j]:
            estimable = False
            reason = "the variance is not estimable (information not positive definite)"
            pj = None
            warnings.append(
                StatWarning(
                    "VARIANCE-NOT-ESTIMABLE",
                    f"{names[j]}: the model-based variance is negative or undefined; "
                    "no standard error, confidence interval or Wald p is given",
                    {"term": names[j], "index": j},
                )
            )
        elif not converged:
            estimable = False
            reason = "the fit did not converge"
            pj = None
        terms.append(
            CoxTerm(
                term=names[j],
                coef=float(coef[j]),
                se=float(se[j]),
                hr=float(hr[j]),
                lower=float(lower[j]),
                upper=float(upper[j]),
                z=float(z[j]),
                p_value=pj,
                robust_se=None if robust_se is None else float(robust_se[j]),
                estimable=estimable,
                reason=reason,
                lr_p_value=lr_p,
            )
        )
    return CoxSummary(coef, se, var, z, pvals, robust_se, tests, tuple(terms), warnings)


def chisq_sf(x: float, df: float) -> float:
    """Upper tail of the chi-square distribution with ``df`` (a whole number) degrees of freedom."""
    return chi2_sf(x, int(df))

"""Firth-penalised Cox regression and profile-likelihood confidence intervals.

Firth's bias reduction for the Cox model (Heinze & Schemper 2001, *Biometrics*
57:114–119; Firth 1993, *Biometrika* 80:27–38) maximises the penalised log
partial likelihood

    ℓ*(β) = ℓ(β) + ½ log|I(β)|,

whose score is ``U*_r = U_r + ½ tr(I⁻¹ ∂I/∂β_r)``. Unlike the ordinary estimate
it is finite under monotone likelihood (a covariate that separates the events),
the usual situation in small series.

Objective. ``ℓ``, ``U`` and ``I`` come from :mod:`._cox_objective` (Efron or
Breslow ties, strata, case weights). The derivative of the information is the
third central moment of the covariates under the risk-set weights: for one
death row (Efron: one row per death with ``den = R0 − f D0``)

    ∂I_jk/∂β_l = m · E[(x_j − a_j)(x_k − a_k)(x_l − a_l)],

so ``tr(A ∂I/∂β_l)`` for a symmetric ``A`` needs only the risk-set sums of
``w r``, ``w r x``, ``w r x xᵀ``, ``w r s`` and ``w r s x`` with ``s = xᵀ A x``:

    E[q (x_l − a_l)] = N3_l − 2 (M2 A a)_l − a_l tr(A M2) + 2 (aᵀ A a) a_l,

``q = (x − a)ᵀ A (x − a)``, ``N3 = E[s x]``, ``M2 = E[x xᵀ]``. The sums are taken
per distinct time and accumulated over risk sets with (stratum-wise) reverse
cumulative sums; no loop runs over subjects.

Algorithm (R ``coxphf`` 1.13, ``coxphf.control`` defaults maxit = 50, maxhs = 5,
epsilon = 1e-6, gconv = 1e-4, maxstep = 0.5, on covariates scaled by their SD):
Newton steps ``I(β)⁻¹ U*(β)``, each component capped at ``maxstep``; from the
second iteration a step that does not increase ℓ* is halved up to ``maxhs``
times; converged when every ``|Δβ| ≤ epsilon`` and every ``|U*| ≤ gconv``.

Inference (as ``coxphf`` with ``pl = TRUE``): variance ``I(β̂)⁻¹`` (the
information at the penalised estimate); per-term penalised likelihood-ratio
test ``2[ℓ*(β̂) − max_{β_r = 0} ℓ*]`` on 1 df (the other coefficients
re-maximised, the penalty always that of the full model); profile penalised
likelihood limits ``{b : 2[ℓ*(β̂) − max_{β_r = b} ℓ*] ≤ χ²₁(1 − α)}`` found by a
bracket search and the Illinois root-finder; the global test ``2[ℓ*(β̂) − ℓ*(0)]``.
With the penalty switched off the same code gives the ordinary Cox fit and
profile-likelihood limits for it (Venzon & Moolgavkar 1988 define the limits;
here they are found by root-finding on the profile).

coxphf handles tied event times by Breslow's method only; Efron's correction is
offered here as for the ordinary fit (``ties="breslow"`` reproduces coxphf).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from survstudy.errors import AnalysisError
from survstudy.stats import _cox_objective as obj
from survstudy.stats._common import StatWarning, as_event, as_time
from survstudy.stats._dist import chi2_sf
from survstudy.stats.cox import CoxControl, CoxResult, CoxTerm, TestResult, cox_fit

__all__ = [
    "FirthControl",
    "PenalisedObjective",
    "cox_fit_ci",
    "cox_fit_firth",
    "penalised_objective",
    "profile_ci",
]

F = NDArray[Any]

# Beyond this |β| on the SD-scaled covariates (a hazard ratio of e^40 per SD) a
# profile limit is reported as infinite: exp(x·β) would soon overflow, and no
# clinical question distinguishes such hazard ratios.
_BETA_BOUND = 40.0


@dataclass(frozen=True)
class FirthControl:
    """Numerical settings, as R ``coxphf`` (same names and defaults).

    ``maxit`` iterations, ``maxhs`` step halvings per iteration, ``epsilon`` the
    largest change of a (SD-standardised) coefficient and ``gconv`` the largest
    penalised score at convergence, ``maxstep`` the largest change of a
    standardised coefficient in one step. ``profile_epsilon``/``profile_gconv``
    are the (tighter) tolerances to which the estimate itself and the
    re-maximisations inside profile limits and likelihood-ratio tests are carried,
    so that estimates and limits are those of the maximum to ~1e-10, on any machine.
    """

    maxit: int = 50
    maxhs: int = 5
    epsilon: float = 1e-6
    gconv: float = 1e-4
    maxstep: float = 0.5
    profile_epsilon: float = 1e-10
    profile_gconv: float = 1e-8


@dataclass(frozen=True)
class PenalisedObjective:
    """ℓ*(β), U*(β) and the (ordinary) information I(β) at one β.

    ``loglik`` is the unpenalised ℓ(β); ``ok`` is False when something is not
    finite or I(β) is not positive definite (then ℓ* is −∞).
    """

    pen_loglik: float
    pen_score: F
    loglik: float
    information: F
    ok: bool


def _third_moment_trace(data: obj.CoxData, beta: F, amat: F) -> F:
    """``tr(A ∂I/∂β_l)`` for every l (see module docstring), vectorised over subjects."""
    x = data.x
    n, p = x.shape
    eta = x @ beta
    # a common shift of the linear predictor cancels in every risk-set ratio
    shift = float(eta.max()) if n else 0.0
    wr = data.weight * np.exp(eta - shift)
    s = np.einsum("ij,jk,ik->i", x, amat, x)
    wrs = wr * s
    cols = [
        wr[:, None],
        wr[:, None] * x,
        (wr[:, None, None] * x[:, :, None] * x[:, None, :]).reshape(n, p * p),
        wrs[:, None],
        wrs[:, None] * x,
    ]
    per = np.hstack(cols)
    allsum = np.add.reduceat(per, data.starts, axis=0)
    deathsum = np.add.reduceat(per * data.event[:, None], data.starts, axis=0)
    risk = obj.cumsum_within(allsum, data.gstart)
    g = data.erow_group
    f = data.erow_f[:, None]
    rows = risk[g] - f * deathsum[g]
    den = rows[:, 0]
    q = rows / den[:, None]
    a = q[:, 1 : 1 + p]
    m2 = q[:, 1 + p : 1 + p + p * p].reshape(-1, p, p)
    tr_am2 = q[:, 1 + p + p * p]
    n3 = q[:, 2 + p + p * p :]
    aa = a @ amat
    a_aa = np.einsum("rj,rj->r", a, aa)
    m2aa = np.einsum("rjk,rk->rj", m2, aa)
    t_rows = n3 - 2.0 * m2aa - a * tr_am2[:, None] + 2.0 * a_aa[:, None] * a
    return np.asarray(data.erow_mult @ t_rows)


def _chol_inverse_logdet(info: F) -> tuple[F, float] | None:
    """Inverse and log-determinant of a positive definite matrix, None if not PD."""
    if info.shape[0] == 0:
        return np.zeros((0, 0)), 0.0
    if not np.all(np.isfinite(info)):
        return None
    try:
        c = np.linalg.cholesky(info)
    except np.linalg.LinAlgError:
        return None
    d = np.diag(c)
    if np.any(d <= 0):
        return None
    cinv = np.linalg.inv(c)
    return cinv.T @ cinv, float(2.0 * np.sum(np.log(d)))


def penalised_objective(
    data: obj.CoxData, beta: F, *, penalty: float = 0.5, score: bool = True
) -> PenalisedObjective:
    """ℓ*(β) = ℓ(β) + penalty·log|I(β)| and its gradient U*(β) (``penalty = 0``: ordinary).

    ``data`` is a :func:`._cox_objective.prepare` result; β is on the scale of
    ``data.x``. The information returned is the ordinary I(β) (coxphf uses it for the
    Newton step and, at the estimate, for the variance).
    """
    p = data.x.shape[1]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        o = obj.evaluate(data, beta)
    info = o.information
    assert info is not None
    bad = PenalisedObjective(-math.inf, np.full(p, np.nan), -math.inf, info, False)
    if not (math.isfinite(o.loglik) and np.all(np.isfinite(o.score))):
        return bad
    if penalty == 0.0:
        ok = bool(np.all(np.isfinite(info)))
        return PenalisedObjective(o.loglik, o.score, o.loglik, info, ok)
    inv = _chol_inverse_logdet(info)
    if inv is None:
        return bad
    ainv, logdet = inv
    pl = o.loglik + penalty * logdet
    if not score:
        return PenalisedObjective(pl, o.score, o.loglik, info, True)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        tr = _third_moment_trace(data, beta, ainv)
    ps = o.score + penalty * tr
    ok = bool(np.all(np.isfinite(ps)))
    return PenalisedObjective(pl if ok else -math.inf, ps, o.loglik, info, ok)


@dataclass
class _Max:
    beta: F
    value: PenalisedObjective
    iterations: int
    converged: bool


def _maximise(
    data: obj.CoxData,
    start: F,
    free: NDArray[np.bool_],
    penalty: float,
    control: FirthControl,
    *,
    epsilon: float,
    gconv: float,
    ll_tol: float = 0.0,
    pins: F | None = None,
) -> _Max:
    """Maximise ℓ* over the ``free`` coefficients (the others stay at ``start``).

    coxphf's iteration: Newton step on the free block, each component capped at
    ``maxstep``; from the second iteration a step that lowers ℓ* is halved up to
    ``maxhs`` times (a non-finite trial point always is); converged when all free
    ``|Δβ| ≤ epsilon`` and ``|U*| ≤ gconv`` — or, with ``ll_tol > 0``, when ℓ* changes
    by at most ``ll_tol·|ℓ*|`` (R ``coxph``'s rule), which ends a re-maximisation in
    which a combination of coefficients runs off to infinity (monotone likelihood that
    no single covariate shows: see ``pins``).

    "Lowers" means by more than rounding (:data:`_NOISE` relative): near the maximum ℓ*
    changes by less than its rounding error, and halving a step there on the sign of
    that noise shrinks the step — then "|Δβ| ≤ epsilon" holds for a point that is not
    converged, at an iteration that depends on the CPU's floating-point kernels.

    ``pins`` (ordinary likelihood only): coefficients whose likelihood rises to its
    supremum only as they go to ±infinity (:func:`_recession_signs`) are held at a value
    so far out (:func:`_pin_values`) that ℓ equals its limit to machine precision; the
    others are then maximised on a regular, well-conditioned problem.
    """
    beta = np.array(start, dtype=np.float64)
    free = np.array(free, dtype=bool)
    if pins is not None:
        pinned = free & np.isfinite(pins)
        beta[pinned] = pins[pinned]
        free &= ~pinned
    cur = penalised_objective(data, beta, penalty=penalty)
    if not free.any():
        return _Max(beta, cur, 0, cur.ok)
    if not cur.ok:
        return _Max(beta, cur, 0, False)
    fi = np.flatnonzero(free)
    for it in range(1, control.maxit + 1):
        old = beta.copy()
        sub = cur.information[np.ix_(fi, fi)]
        try:
            step = np.linalg.solve(sub, cur.pen_score[fi])
        except np.linalg.LinAlgError:
            return _Max(beta, cur, it, False)
        step = np.clip(step, -control.maxstep, control.maxstep)
        trial = old.copy()
        trial[fi] += step
        new = penalised_objective(data, trial, penalty=penalty)
        floor = cur.pen_loglik - _NOISE * max(1.0, abs(cur.pen_loglik))
        hs = 0
        while (not new.ok or (it > 1 and new.pen_loglik < floor)) and hs < max(
            control.maxhs, 0 if new.ok else 30
        ):
            hs += 1
            trial[fi] = (trial[fi] + old[fi]) / 2.0
            new = penalised_objective(data, trial, penalty=penalty)
        if not new.ok:
            return _Max(old, cur, it, False)
        if hs == 0:
            trial, new = _secant(data, penalty, old, fi, cur, trial, new, floor)
        gain = new.pen_loglik - cur.pen_loglik
        beta, cur = trial, new
        if it > 1 and ll_tol > 0.0 and abs(gain) <= ll_tol * abs(new.pen_loglik):
            return _Max(beta, cur, it, True)
        if np.all(np.abs(beta[fi] - old[fi]) <= epsilon) and np.all(
            np.abs(cur.pen_score[fi]) <= gconv
        ):
            return _Max(beta, cur, it, True)
    return _Max(beta, cur, control.maxit, False)


def _secant(
    data: obj.CoxData,
    penalty: float,
    old: F,
    fi: NDArray[np.intp],
    cur: PenalisedObjective,
    trial: F,
    new: PenalisedObjective,
    floor: float,
) -> tuple[F, PenalisedObjective]:
    """Shorten a step that overshot the maximum along its own direction.

    With ``s`` the step, ``g(t) = U*(β + t s)·s`` is the slope of ℓ* along it: positive at
    0, and negative at 1 when the step went past the maximum on that line. The Newton
    step of the penalised fit uses I(β), not the curvature of ℓ* (larger by the
    penalty's), so it overshoots systematically — on a one-coefficient problem by a
    factor up to 2, which makes the iterates oscillate about β̂ with ℓ* equal on both
    sides to rounding. The secant root ``t = g(0)/(g(0) − g(1))`` (exact for a quadratic)
    lands on the line maximum; slopes are accurate to the rounding of the scores, not of
    a difference of two ℓ*, so the decision does not depend on noise.
    """
    s = trial[fi] - old[fi]
    g0 = float(cur.pen_score[fi] @ s)
    g1 = float(new.pen_score[fi] @ s)
    if not (g0 > 0.0 and g1 < 0.0):
        return trial, new
    t = g0 / (g0 - g1)
    cand = old.copy()
    cand[fi] += t * s
    nxt = penalised_objective(data, cand, penalty=penalty)
    if nxt.ok and nxt.pen_loglik >= floor:
        return cand, nxt
    return trial, new


# Relative size of the rounding error of ℓ* (a sum over risk sets, each ~1e-16 relative):
# changes smaller than this are noise, not evidence that a step overshot.
_NOISE = 1e-12

# A coefficient pinned at infinity is held where the covariate's smallest gap between
# distinct values times |β| is this large: every patient below the top of a risk set
# then weighs exp(-_PIN_GAP) ≈ 1e-26 of the top, below the rounding of the sums.
_PIN_GAP = 60.0


def _recession_signs(data: obj.CoxData) -> F:
    """For each covariate: +1 (−1) when the partial likelihood never decreases as its
    coefficient goes to +∞ (−∞), whatever the other coefficients; 0 otherwise.

    That happens when every event has the largest (smallest) value of the covariate in
    its risk set — e.g. all events in one group — and some risk set holds a smaller
    (larger) value (Bryson & Johnson 1981, monotone likelihood). Then ∂ℓ/∂β_k = Σ (x_k of
    the event − a weighted mean of x_k over its risk set) ≥ 0 for all β, so the supremum
    of ℓ is its limit as β_k → ±∞, where the risk sets keep only the patients at the
    extreme value. Checked exactly on the data (Efron and Breslow alike): risk-set
    maxima and minima by cumulative max/min over the time-sorted tie groups of each
    stratum.
    """
    x = data.x
    p = x.shape[1]
    out = np.zeros(p)
    ev = data.event > 0
    if not ev.any() or p == 0:
        return out
    gmax = np.maximum.reduceat(x, data.starts, axis=0)
    gmin = np.minimum.reduceat(x, data.starts, axis=0)
    firsts = np.flatnonzero(data.gstart == np.arange(data.gstart.size))
    bounds = [*firsts.tolist(), data.gstart.size]
    for a, b in itertools.pairwise(bounds):
        gmax[a:b] = np.maximum.accumulate(gmax[a:b], axis=0)
        gmin[a:b] = np.minimum.accumulate(gmin[a:b], axis=0)
    g = data.group[ev]
    xe = x[ev]
    rmax = gmax[g]
    rmin = gmin[g]
    up = np.all(xe >= rmax, axis=0) & np.any(xe > rmin, axis=0)
    down = np.all(xe <= rmin, axis=0) & np.any(xe < rmax, axis=0)
    out[up] = 1.0
    out[down & ~up] = -1.0
    return out


def _pin_values(data: obj.CoxData, signs: F) -> F:
    """Where to hold the coefficients that go to ±∞ (NaN for the others)."""
    pins = np.full(signs.size, np.nan)
    for k in np.flatnonzero(signs):
        vals = np.unique(data.x[:, k])
        gap = float(np.diff(vals).min()) if vals.size > 1 else 1.0
        pins[k] = signs[k] * _PIN_GAP / gap
    return pins


@dataclass
class _Problem:
    """A prepared (centred, SD-scaled) data set and the fitted maximum.

    ``pins`` (ordinary likelihood under monotone likelihood) holds the coefficients that
    go to ±∞ at values where ℓ equals its limit (NaN elsewhere; see :func:`_maximise`).
    """

    data: obj.CoxData
    scale: F
    penalty: float
    control: FirthControl
    best: _Max
    pins: F | None = None

    def profile(self, j: int, b: float, start: F) -> _Max:
        """Maximise with coefficient j fixed at b (scaled)."""
        init = np.array(start, dtype=np.float64)
        init[j] = b
        free = np.ones(init.size, dtype=bool)
        free[j] = False
        c = self.control
        return _maximise(
            self.data,
            init,
            free,
            self.penalty,
            c,
            epsilon=c.profile_epsilon,
            gconv=c.profile_gconv,
            ll_tol=1e-14,
            pins=self.pins,
        )


def _setup(
    x: ArrayLike,
    time: ArrayLike,
    event: ArrayLike,
    strata: ArrayLike | None,
    weights: ArrayLike | None,
    ties: str,
) -> tuple[obj.CoxData, F, F]:
    t = as_time(time)
    n = t.size
    xm = np.asarray(x, dtype=np.float64)
    if xm.ndim == 1:
        xm = xm[:, None]
    e = as_event(event, n)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    scodes = None
    if strata is not None:
        _, inv = np.unique(np.asarray(strata), return_inverse=True)
        scodes = inv.astype(np.intp)
    mean = xm.mean(axis=0) if w is None else (w @ xm) / w.sum()
    xc = xm - mean
    sd = xc.std(axis=0, ddof=1) if n > 1 else np.ones(xm.shape[1])
    scale = np.where(sd > 0, sd, 1.0)
    data = obj.prepare(xc / scale, t, e, strata=scodes, weights=w, ties=ties)
    return data, scale, mean


def _solve_problem(
    data: obj.CoxData, scale: F, penalty: float, control: FirthControl, init: F | None = None
) -> _Problem:
    p = data.x.shape[1]
    start = np.zeros(p) if init is None else np.asarray(init, dtype=np.float64) * scale
    pins = None
    if penalty == 0.0:
        signs = _recession_signs(data)
        if signs.any():
            pins = _pin_values(data, signs)
    best = _maximise(
        data,
        start,
        np.ones(p, dtype=bool),
        penalty,
        control,
        epsilon=control.epsilon,
        gconv=control.gconv,
        pins=pins,
    )
    if best.converged:
        # go on at the profile tolerances, so that the estimate, the likelihood-ratio
        # statistics and the limits measured from this maximum are those of the maximum
        # itself (coxphf's own rule stops within ~1e-6 of it on the standardised scale)
        more = _maximise(
            data,
            best.beta,
            np.ones(p, dtype=bool),
            penalty,
            control,
            epsilon=control.profile_epsilon,
            gconv=control.profile_gconv,
            pins=pins,
        )
        if more.converged:
            best = _Max(more.beta, more.value, best.iterations, True)
    return _Problem(data, scale, penalty, control, best, pins)


def _lr_test(prob: _Problem, j: int) -> tuple[float, bool]:
    """Penalised LR statistic for β_j = 0 (others re-maximised) and convergence."""
    fit0 = prob.profile(j, 0.0, prob.best.beta)
    stat = 2.0 * (prob.best.value.pen_loglik - fit0.value.pen_loglik)
    return max(stat, 0.0), fit0.converged


def _find_root(
    fun: Callable[[float], tuple[float, float]],
    neg: tuple[float, float, float],
    pos: tuple[float, float, float],
    tol: float,
) -> float:
    """Root of ``fun`` between a point where it is negative and one where it is positive.

    ``fun`` returns its value and derivative; ``neg``/``pos`` are ``(x, f, f')``.
    Newton steps from the better end, replaced by bisection when they leave the
    bracket (safeguarded Newton): quadratic on the smooth profile deviance, never lost.
    Written here so that the command line does not import scipy.optimize (~0.3 s).
    """
    a, fa, ga = neg
    c, fc, gc = pos
    x, f, g = (a, fa, ga) if abs(fa) <= abs(fc) else (c, fc, gc)
    for _ in range(100):
        lo, hi = min(a, c), max(a, c)
        xn = x - f / g if g != 0.0 and math.isfinite(g) else math.nan
        if not (lo < xn < hi):
            xn = 0.5 * (lo + hi)
        fn, gn = fun(xn)
        if abs(fn) <= 1e-11 or abs(xn - x) <= tol or hi - lo <= tol:
            return xn
        if fn < 0:
            a = xn
        else:
            c = xn
        x, f, g = xn, fn, gn
    return x


def _profile_limit(prob: _Problem, j: int, crit: float, direction: int) -> tuple[float, str | None]:
    """One profile limit of coefficient j (scaled), ±inf when never reached within the bound.

    Bracket search: steps of (z·se)·2^k away from the estimate (each profile point is
    re-maximised from the nearest solved point), then safeguarded Newton on
    ``D(b) = 2[ℓ*(β̂) − ℓ*_prof(b)] − crit``, whose derivative is ``−2 U*_j`` at the
    profile point (the other scores are 0 there: envelope theorem).
    """
    b_hat = float(prob.best.beta[j])
    top = prob.best.value.pen_loglik
    var = _chol_inverse_logdet(prob.best.value.information)
    se = math.sqrt(var[0][j, j]) if var is not None else 1.0
    h = min(max(math.sqrt(crit) * se, 0.05), 10.0)
    starts: dict[float, F] = {b_hat: prob.best.beta}
    failed: list[str] = []

    def dev(b: float) -> tuple[float, float]:
        near = min(starts, key=lambda k: abs(k - b))
        fit = prob.profile(j, b, starts[near])
        if not fit.converged:
            failed.append(f"{b:.6g}")
        starts[b] = fit.beta
        return (
            2.0 * (top - fit.value.pen_loglik) - crit,
            -2.0 * float(fit.value.pen_score[j]),
        )

    inside = (b_hat, -crit, 0.0)
    k = 0
    while True:
        b = b_hat + direction * h * 2.0**k
        if abs(b) > _BETA_BOUND:
            b = direction * _BETA_BOUND
            if (b - inside[0]) * direction <= 0:
                return direction * math.inf, None
            d, g = dev(b)
            if d < 0:
                return direction * math.inf, None
            break
        d, g = dev(b)
        if not math.isfinite(d):
            return math.nan, "the profile likelihood could not be evaluated"
        if d >= 0:
            break
        inside = (b, d, g)
        k += 1
    root = _find_root(dev, inside, (b, d, g), tol=1e-10 * max(1.0, abs(b_hat)))
    note = None
    if failed:
        note = "a re-maximisation of the other coefficients did not converge"
    return root, note


def _profile_limits(
    prob: _Problem, conf_level: float, names: Sequence[str]
) -> tuple[F, F, list[StatWarning]]:
    """Profile limits (original scale, log-HR) for all terms, with warnings."""
    p = prob.best.beta.size
    crit = _chi2_quantile(conf_level)
    lower = np.empty(p)
    upper = np.empty(p)
    warns: list[StatWarning] = []
    for j in range(p):
        for direction, out in ((-1, lower), (1, upper)):
            v, note = _profile_limit(prob, j, crit, direction)
            out[j] = v / prob.scale[j]
            side = "lower" if direction < 0 else "upper"
            if math.isinf(v):
                warns.append(
                    StatWarning(
                        "PROFILE-LIMIT-INFINITE",
                        f"{names[j]}: the {side} confidence limit of the hazard ratio is "
                        f"{'zero' if direction < 0 else 'infinite'}: the profile likelihood "
                        "never falls far enough (monotone likelihood); only a one-sided "
                        "interval is informative",
                        {"term": names[j], "index": j, "side": side},
                    )
                )
            elif note is not None or math.isnan(v):
                warns.append(
                    StatWarning(
                        "PROFILE-LIMIT-UNCERTAIN",
                        f"{names[j]}: the {side} profile-likelihood limit may be inaccurate "
                        f"({note or 'not found'})",
                        {"term": names[j], "index": j, "side": side},
                    )
                )
    return lower, upper, warns


def _chi2_quantile(conf_level: float) -> float:
    """χ²₁ quantile at ``conf_level`` (the square of the normal quantile)."""
    from survstudy.stats._dist import norm_ppf

    z = norm_ppf(0.5 + conf_level / 2.0)
    return z * z


def _base_result(
    x: ArrayLike,
    time: ArrayLike,
    event: ArrayLike,
    coef: F,
    *,
    strata: ArrayLike | None,
    ties: str,
    weights: ArrayLike | None,
    term_names: Sequence[str] | None,
    conf_level: float,
    n_dropped: int,
    assign: Sequence[str] | None,
    concordance: bool,
    ph_test: bool,
) -> CoxResult:
    """The ordinary result machinery evaluated at a given β (no iterations).

    Gives the same validation and errors as :func:`cox_fit`, the baseline hazard,
    concordance and PH test at β — the Firth fields are then put in its place.
    """
    return cox_fit(
        x,
        time,
        event,
        strata=strata,
        ties=ties,
        weights=weights,
        term_names=term_names,
        conf_level=conf_level,
        n_dropped=n_dropped,
        assign=assign,
        concordance=concordance,
        ph_test=ph_test,
        init=coef,
        # iter_max 0: evaluate at init; eps inf: no monotone-likelihood test at a
        # point that is not the ordinary maximum
        control=CoxControl(iter_max=0, eps=math.inf),
    )


def cox_fit_firth(
    x: ArrayLike,
    time: ArrayLike,
    event: ArrayLike,
    *,
    strata: ArrayLike | None = None,
    ties: str = "efron",
    weights: ArrayLike | None = None,
    control: FirthControl | None = None,
    term_names: Sequence[str] | None = None,
    conf_level: float = 0.95,
    n_dropped: int = 0,
    assign: Sequence[str] | None = None,
    concordance: bool = True,
    ph_test: bool = False,
    penalty: bool = True,
    profile: bool = True,
) -> CoxResult:
    """Firth-penalised Cox regression (Heinze & Schemper 2001), as R ``coxphf(pl=TRUE)``.

    Returns a :class:`CoxResult` marked ``method="firth"``, ``ci_method="profile"``:
    ``coef`` maximises ℓ*(β) = ℓ(β) + ½ log|I(β)|; ``se`` = √diag I(β̂)⁻¹;
    ``lower``/``upper`` are the profile penalised-likelihood limits of the hazard
    ratio; ``p_value`` (and ``lr_p_value``) the penalised likelihood-ratio p of each
    term (others re-maximised); ``z`` the Wald z = coef/se (shown, not used for p);
    ``loglik``/``loglik_null`` are the penalised ℓ*(β̂) and ℓ*(0), and
    ``tests["likelihood_ratio"]`` = 2[ℓ*(β̂) − ℓ*(0)] on p df as coxphf prints it.
    ``tests["wald"]`` is β̂ᵀ I(β̂) β̂; ``tests["score"]`` the ordinary score test U(0)ᵀI(0)⁻¹U(0).

    ``penalty=False`` fits the ordinary Cox model with the same algorithm (then
    method stays "ordinary" and limits are profile-likelihood limits).
    ``profile=False`` skips the profile limits and LR tests (Wald limits, Wald p).
    Raises :class:`AnalysisError` as :func:`cox_fit` (no events, constant or
    collinear covariates, missing values).
    """
    control = control or FirthControl()
    if not 0.0 < conf_level < 1.0:
        raise ValueError("conf_level must be between 0 and 1")
    xm = np.asarray(x, dtype=np.float64)
    if xm.ndim == 1:
        xm = xm[:, None]
    p = xm.shape[1]
    names = tuple(term_names) if term_names is not None else tuple(f"x{j + 1}" for j in range(p))
    kw: dict[str, Any] = {
        "strata": strata,
        "ties": ties,
        "weights": weights,
        "term_names": names,
        "conf_level": conf_level,
        "n_dropped": n_dropped,
        "assign": assign,
    }
    # validation (and the errors users see) exactly as the ordinary fit, before the work
    _base_result(xm, time, event, np.zeros(p), concordance=False, ph_test=False, **kw)
    data, scale, _ = _setup(xm, time, event, strata, weights, ties)
    pen = 0.5 if penalty else 0.0
    prob = _solve_problem(data, scale, pen, control)
    best = prob.best
    warnings: list[StatWarning] = []
    if not best.converged:
        warnings.append(
            StatWarning(
                "NOT-CONVERGED",
                f"the {'Firth-penalised ' if penalty else ''}Cox fit did not converge in "
                f"{control.maxit} iterations; estimates are unreliable",
                {},
            )
        )
    coef = best.beta / scale
    inv = _chol_inverse_logdet(best.value.information)
    if inv is None:
        raise AnalysisError(
            "the information matrix at the estimate is not positive definite; "
            "the model cannot be fitted"
        )
    var = inv[0] / np.outer(scale, scale)
    se = np.sqrt(np.diag(var))
    z = coef / se
    zq = math.sqrt(_chi2_quantile(conf_level))

    null = penalised_objective(data, np.zeros(p), penalty=pen, score=False)
    lr_global = 2.0 * (best.value.pen_loglik - null.pen_loglik)
    # ℓ* was computed on SD-scaled covariates x/sd: log|I| there is log|I| on the
    # covariates as given minus 2·Σ log sd; report ℓ* for the covariates as given
    shift = pen * 2.0 * float(np.sum(np.log(scale)))
    if profile:
        lr_p = np.empty(p)
        for j in range(p):
            stat, conv = _lr_test(prob, j)
            lr_p[j] = chi2_sf(stat, 1)
            if not conv:
                warnings.append(
                    StatWarning(
                        "LR-TEST-NOT-CONVERGED",
                        f"{names[j]}: the fit without this term did not converge; "
                        "its likelihood-ratio p may be inaccurate",
                        {"term": names[j], "index": j},
                    )
                )
        lower_b, upper_b, pw = _profile_limits(prob, conf_level, names)
        warnings.extend(pw)
        pvals = lr_p
    else:
        lower_b = coef - zq * se
        upper_b = coef + zq * se
        pvals = np.array([math.erfc(abs(v) / math.sqrt(2.0)) for v in z])
        lr_p = np.full(p, np.nan)

    base = _base_result(xm, time, event, coef, concordance=concordance, ph_test=ph_test, **kw)
    with np.errstate(over="ignore"):
        hr = np.exp(coef)
        lower = np.exp(lower_b)
        upper = np.exp(upper_b)
    terms = tuple(
        CoxTerm(
            term=names[j],
            coef=float(coef[j]),
            se=float(se[j]),
            hr=float(hr[j]),
            lower=float(lower[j]),
            upper=float(upper[j]),
            z=float(z[j]),
            p_value=float(pvals[j]),
            estimable=bool(best.converged),
            reason=None if best.converged else "the fit did not converge",
            lr_p_value=None if not profile else float(lr_p[j]),
        )
        for j in range(p)
    )
    wald = float(coef @ np.linalg.solve(var, coef)) if p else math.nan
    # the (unpenalised) score test of β = 0: U(0)ᵀ I(0)⁻¹ U(0), invariant to the scaling
    at0 = penalised_objective(data, np.zeros(p), penalty=0.0)
    score_stat = float(at0.pen_score @ np.linalg.solve(at0.information, at0.pen_score))
    tests = {
        "likelihood_ratio": TestResult(lr_global, p, chi2_sf(max(lr_global, 0.0), p)),
        "wald": TestResult(wald, p, chi2_sf(wald, p)),
        "score": TestResult(score_stat, p, chi2_sf(score_stat, p)),
    }
    # keep the base fit's data warnings (e.g. a level without events), not its
    # convergence verdicts, which were about a fit that made no iterations
    keep = [w for w in base.warnings if w.code == "LEVEL-NO-EVENTS"]
    return dataclasses.replace(
        base,
        iterations=best.iterations,
        converged=best.converged,
        loglik_null=float(null.pen_loglik) + shift,
        loglik=float(best.value.pen_loglik) + shift,
        coef=coef,
        se=se,
        var=var,
        z=z,
        p_value=pvals,
        robust_se=None,
        robust_var=None,
        terms=terms,
        tests=tests,
        warnings=tuple(keep + warnings),
        method="firth" if penalty else "ordinary",
        ci_method="profile" if profile else "wald",
    )


def profile_ci(
    x: ArrayLike,
    time: ArrayLike,
    event: ArrayLike,
    *,
    strata: ArrayLike | None = None,
    ties: str = "efron",
    weights: ArrayLike | None = None,
    conf_level: float = 0.95,
    penalty: bool = False,
    init: ArrayLike | None = None,
    term_names: Sequence[str] | None = None,
    control: FirthControl | None = None,
) -> tuple[F, F, tuple[StatWarning, ...]]:
    """Profile-likelihood limits of each coefficient (log hazard ratio scale).

    Ordinary Cox (``penalty=False``, default) or Firth-penalised. Each limit solves
    ``2[ℓ(β̂) − max_{β_r = b} ℓ(β)] = χ²₁(conf_level)`` (the other coefficients are
    re-maximised at every b). Under monotone likelihood the profile never falls that
    far on one side: the limit is ±inf and a ``PROFILE-LIMIT-INFINITE`` warning says so.
    Returns ``(lower, upper, warnings)``.
    """
    control = control or FirthControl()
    xm = np.asarray(x, dtype=np.float64)
    if xm.ndim == 1:
        xm = xm[:, None]
    p = xm.shape[1]
    names = tuple(term_names) if term_names is not None else tuple(f"x{j + 1}" for j in range(p))
    data, scale, _ = _setup(xm, time, event, strata, weights, ties)
    prob = _solve_problem(
        data, scale, 0.5 if penalty else 0.0, control, None if init is None else np.asarray(init)
    )
    lower, upper, warns = _profile_limits(prob, conf_level, names)
    return lower, upper, tuple(warns)


def cox_fit_ci(
    x: ArrayLike,
    time: ArrayLike,
    event: ArrayLike,
    *,
    ci: str = "wald",
    **kwargs: Any,
) -> CoxResult:
    """The ordinary :func:`cox_fit`, with Wald (``ci="wald"``) or profile-likelihood
    (``ci="profile"``) confidence limits for the hazard ratios.

    Profile limits (Venzon & Moolgavkar 1988) follow the likelihood instead of a
    normal approximation and behave better with few events; under monotone
    likelihood one limit is infinite (reported as such, with a warning). The
    estimate, SE, z and Wald p are those of :func:`cox_fit`; ``ci_method`` records
    the choice. Robust variances keep Wald limits (a profile of the model-based
    likelihood would ignore the robust variance).
    """
    if ci not in ("wald", "profile"):
        raise ValueError("ci must be 'wald' or 'profile'")
    res = cox_fit(x, time, event, **kwargs)
    if ci == "wald" or res.robust_se is not None or not res.terms:
        return res
    names = res.term_names
    lower_b, upper_b, warns = profile_ci(
        x,
        time,
        event,
        strata=kwargs.get("strata"),
        ties=kwargs.get("ties", "efron"),
        weights=kwargs.get("weights"),
        conf_level=kwargs.get("conf_level", 0.95),
        term_names=names,
        init=res.coef,
    )
    with np.errstate(over="ignore"):
        lo = np.exp(lower_b)
        hi = np.exp(upper_b)
    terms = tuple(
        dataclasses.replace(t, lower=float(lo[j]), upper=float(hi[j]))
        for j, t in enumerate(res.terms)
    )
    return dataclasses.replace(res, terms=terms, warnings=res.warnings + warns, ci_method="profile")

"""Fine–Gray proportional subdistribution-hazards regression, matching R's ``cmprsk::crr``.

Model (Fine & Gray 1999, JASA 94:496–509): the subdistribution hazard of the cause of
interest is λ₁(t | x) = λ₁₀(t) exp(xᵀβ). Patients who failed from another cause stay in
the risk set after their failure with the inverse-probability-of-censoring weight
w_i(t) = Ĝ(t−)/Ĝ(T_i−), Ĝ the Kaplan–Meier estimate of the censoring distribution
(censorings are its events; a failure at the same time as a censoring is at risk for it,
so ``Ĝ(t−)`` at a failure time excludes censorings at that time). The weights are crr's:
Ĝ is evaluated just before each observed time (``approx(…, xout = time·(1 − 100ε))``),
which at time 0 includes censorings at 0.

Pseudo log-likelihood, Breslow handling of tied failures (crr's ``crrf``): over the distinct
failure times τ_k of the cause, with D_k failures,

    ℓ(β) = Σ_k [Σ_{i fails at τ_k} x_iᵀβ − D_k log S0_k],
    S0_k = Σ_{T_i ≥ τ_k} e^{x_iᵀβ} + Ĝ(τ_k−) Σ_{T_i < τ_k, other cause} e^{x_iᵀβ}/Ĝ(T_i−);

score and information as for a Cox model with these weighted risk sets. All sums are
cumulative sums over the distinct times (no loop over patients; O(n p²) per iteration).

Variance (crr's ``crrvv``; Fine & Gray 1999, sec. 3): the sandwich I⁻¹ Ω I⁻¹ with
Ω = Σ_i η_i η_iᵀ, η_i = the score residual of patient i plus ψ_i, the term for the
estimated censoring distribution:

    ψ_i = q(T_i)/π(T_i) · [i censored] − Σ_{u ≤ T_i} c(u) q(u)/π(u)²,
    q(u) = Σ_{τ_k ≥ u} D_k Ĝ(τ_k−)/S0_k Σ_{T_j < u, other cause} e^{x_jᵀβ} (x_j − x̄_k)/Ĝ(T_j−),

π(u) the number at risk and c(u) the censorings at u, x̄_k = S1_k/S0_k.

Estimation: Newton–Raphson on centred and scaled covariates, with crr's backtracking (halve
the step until ℓ rises by at least 10⁻⁴ of the predicted change, at most 20 times). Stopping
rule: crr's test max_j |U_j| · max(|β_j|, 1) < 10⁻⁶ · max(|ℓ|, 1) (original scale), then one
more full Newton step — so the estimate is the maximiser to rounding (crr's own estimate,
which stops at the test, can sit about 10⁻⁶ (relative) away from it; compare crr with
``gtol = 1e-12`` for more digits). At most 25 iterations. A coefficient still moving at the
end (R ``coxph``'s test: |U·I⁻¹| > 10⁻⁹ and > √10⁻⁹ |β|) runs off to infinity (monotone
pseudo-likelihood, e.g. a group without failures of the cause): it is reported as not
estimable — Firth's correction is not defined for this model.

Inference: z = β/se with the sandwich se, two-sided normal p, Wald CI exp(β ± z se); the
"likelihood-ratio" test is crr's pseudo-likelihood ratio 2(ℓ(β̂) − ℓ(0)) on p df (summary.crr),
the Wald test βᵀ V⁻¹ β uses the sandwich variance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from survstudy.errors import AnalysisError
from survstudy.stats._common import StatWarning, as_time, clean_float
from survstudy.stats._cox_fitting import check_collinear
from survstudy.stats._dist import chi2_sf, norm_ppf, norm_sf2
from survstudy.stats.competing import status_codes
from survstudy.stats.cox import CoxTerm, TestResult
from survstudy.stats.riskset import distinct_times

__all__ = ["MIN_EPV", "FineGrayControl", "FineGrayResult", "fine_gray_fit"]

F = NDArray[Any]  # float64 arrays (Any: numpy stubs type bincount results as int)

#: fewer failures of the cause per coefficient than this: ``LOW-EPV``
MIN_EPV = 10


@dataclass(frozen=True)
class FineGrayControl:
    """Numerical settings (module docstring): crr's gradient tolerance and backtracking,
    the iteration limit, and coxph's monotone-likelihood test."""

    gtol: float = 1e-6
    iter_max: int = 25
    max_halving: int = 20
    eps: float = 1e-9
    toler_inf: float = math.sqrt(1e-9)


@dataclass(frozen=True)
class FineGrayResult:
    """A Fine–Gray fit. ``se``/``var`` are crr's sandwich; ``naive_var`` is I⁻¹ (crr's
    ``invinf``). ``baseline_time``/``baseline_jump`` are the failure times of the cause and
    the jumps of the cumulative baseline subdistribution hazard at x = 0 (crr's
    ``uftime``/``bfitj``)."""

    cause: int
    n: int
    events: int
    competing_events: int
    censored: int
    n_dropped: int
    iterations: int
    converged: bool
    loglik_null: float
    loglik: float
    coef: F
    se: F
    var: F
    naive_var: F
    z: F
    p_value: F
    term_names: tuple[str, ...]
    terms: tuple[CoxTerm, ...]
    tests: dict[str, TestResult]
    conf_level: float
    baseline_time: F = field(repr=False)
    baseline_jump: F = field(repr=False)
    assign: tuple[str, ...] | None = None
    warnings: tuple[StatWarning, ...] = ()

    model = "fine-gray"
    ties = "breslow"

    @property
    def estimable(self) -> tuple[bool, ...]:
        return tuple(t.estimable for t in self.terms)

    def to_records(self) -> list[dict[str, Any]]:
        return [self._term_dict(j) for j in range(len(self.terms))]

    def _term_dict(self, j: int) -> dict[str, Any]:
        d = self.terms[j].to_dict()
        d["naive_se"] = clean_float(math.sqrt(max(float(self.naive_var[j, j]), 0.0)))
        return d

    def to_dict(self) -> dict[str, Any]:
        """The ``cox`` JSON keys, plus ``model``, ``cause``, ``competing_events``,
        ``censored``, ``variance`` and each term's model-based ``naive_se``."""
        return {
            "model": self.model,
            "cause": self.cause,
            "ties": self.ties,
            "n": self.n,
            "events": self.events,
            "competing_events": self.competing_events,
            "censored": self.censored,
            "n_dropped": self.n_dropped,
            "iterations": self.iterations,
            "converged": self.converged,
            "loglik_null": clean_float(self.loglik_null),
            "loglik": clean_float(self.loglik),
            "conf_level": self.conf_level,
            "variance": "sandwich",
            "terms": self.to_records(),
            "tests": {k: v.to_dict() for k, v in self.tests.items()},
            "concordance": None,
            "ph_test": None,
            "warnings": [{"code": w.code, "message": w.message} for w in self.warnings],
            "method": "ordinary",
            "ci_method": "wald",
        }


def _rev_incl(x: F) -> F:
    return np.cumsum(x[::-1], axis=0)[::-1]


def _rev_excl(x: F) -> F:
    out = np.zeros_like(x)
    if x.shape[0] > 1:
        out[:-1] = np.cumsum(x[:0:-1], axis=0)[::-1]
    return out


def _fwd_excl(x: F) -> F:
    out = np.zeros_like(x)
    if x.shape[0] > 1:
        out[1:] = np.cumsum(x[:-1], axis=0)
    return out


@dataclass
class _Data:
    """The fixed part: standardised design, time index, failure types, censoring weights."""

    xs: F  # (n, p) centred and scaled
    tidx: NDArray[np.intp]  # distinct-time index of each patient
    ntimes: int
    fail: NDArray[np.bool_]  # failed from the cause
    comp: NDArray[np.bool_]  # failed from another cause
    wt: F  # Ĝ just before each patient's time (crr's weights)
    wt_time: F  # the same per distinct time
    ftimes: NDArray[np.intp]  # distinct-time indices with failures of the cause
    dcount: F  # failures of the cause at each of ftimes
    xfail: F  # Σ over failures of xs
    pi: F  # at risk per distinct time
    cens: F  # censorings per distinct time


@dataclass
class _Obj:
    loglik: float
    score: F
    info: F
    shift: float
    r: F  # exp(η − shift)
    s0: F  # at ftimes (scaled by exp(−shift))
    xbar: F  # (k, p)
    q0: F  # per distinct time: Σ_{other cause at t} r/Ĝ
    q1: F  # (T, p)


def _bincols(idx: NDArray[np.intp], w: F, cols: F, size: int) -> F:
    """(size, p): Σ over rows with index idx of w · cols[:, j]."""
    p = cols.shape[1]
    out = np.empty((size, p))
    for j in range(p):  # loop over covariates (few), not patients
        out[:, j] = np.bincount(idx, weights=w * cols[:, j], minlength=size)
    return out


def _evaluate(d: _Data, beta: F) -> tuple[_Obj, bool]:
    n, p = d.xs.shape
    eta = d.xs @ beta
    with np.errstate(over="ignore", invalid="ignore"):
        shift = float(np.max(eta)) if n else 0.0
        r = np.exp(eta - shift)
    if not np.all(np.isfinite(r)):
        nan = float("nan")
        return _Obj(nan, np.full(p, nan), np.full((p, p), nan), shift, r, r, r, r, r), False
    nt = d.ntimes
    e0 = np.bincount(d.tidx, weights=r, minlength=nt)
    e1 = _bincols(d.tidx, r, d.xs, nt)
    qw = np.where(d.comp, r / d.wt, 0.0)
    q0 = np.bincount(d.tidx, weights=qw, minlength=nt)
    q1 = _bincols(d.tidx, qw, d.xs, nt)
    f = d.ftimes
    wf = d.wt_time[f]
    s0 = _rev_incl(e0)[f] + wf * _fwd_excl(q0)[f]
    s1 = _rev_incl(e1)[f] + wf[:, None] * _fwd_excl(q1)[f]
    with np.errstate(divide="ignore", invalid="ignore"):
        xbar = s1 / s0[:, None]
        loglik = float(np.sum(eta[d.fail]) - np.sum(d.dcount * (np.log(s0) + shift)))
        c = d.dcount / s0
    score = d.xfail - (d.dcount[:, None] * xbar).sum(axis=0)
    # Σ_k c_k S2_k = Xᵀ diag(r·C) X: C_i sums c_k over the failure times where i is at risk
    ck = np.zeros(nt)
    ck[f] = c
    cw = np.zeros(nt)
    cw[f] = c * wf
    ci = np.cumsum(ck)[d.tidx] + np.where(d.comp, _rev_excl(cw)[d.tidx] / d.wt, 0.0)
    info = (d.xs * (r * ci)[:, None]).T @ d.xs - (xbar * d.dcount[:, None]).T @ xbar
    ok = bool(np.isfinite(loglik) and np.all(np.isfinite(score)) and np.all(np.isfinite(info)))
    return _Obj(loglik, score, info, shift, r, s0, xbar, q0, q1), ok


def _solve(a: F, b: F) -> F:
    """Solve the (positive semi-definite) information system; minimum-norm when singular."""
    try:
        chol = np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        return np.asarray(np.linalg.lstsq(a, b, rcond=None)[0])
    y = np.linalg.solve(chol, b)
    return np.asarray(np.linalg.solve(chol.T, y))


def _ginv(a: F) -> F:
    """Inverse of the information; the pseudo-inverse when it is singular."""
    try:
        linv = np.linalg.inv(np.linalg.cholesky(a))
    except np.linalg.LinAlgError:
        return np.asarray(np.linalg.pinv(a, hermitian=True))
    return np.asarray(linv.T @ linv)


def _newton(
    d: _Data,
    init: F,
    control: FineGrayControl,
    scale: F,
) -> tuple[F, _Obj, _Obj, int, bool]:
    """(beta, objective at beta, objective at init, iterations, converged) — module docstring."""
    beta = init.copy()
    obj, ok = _evaluate(d, beta)
    first = obj
    if not ok:
        raise AnalysisError("the Fine–Gray pseudo-likelihood cannot be evaluated at the start")
    if beta.size == 0:
        return beta, obj, first, 0, True

    def crr_test(o: _Obj, b: F) -> bool:
        u = np.abs(o.score * scale)  # score on the original scale
        return bool(
            np.max(u * np.maximum(np.abs(b / scale), 1.0)) < control.gtol * max(abs(o.loglik), 1.0)
        )

    it = 0
    while True:
        if crr_test(obj, beta):
            step = _solve(obj.info, obj.score)
            trial, ok = _evaluate(d, beta + step)
            if ok:
                beta, obj = beta + step, trial
                it += 1
            return beta, obj, first, it, True
        if it >= control.iter_max:
            return beta, obj, first, it, False
        step = _solve(obj.info, obj.score)
        slope = float(step @ obj.score)
        for _ in range(control.max_halving + 1):
            trial, ok = _evaluate(d, beta + step)
            if ok and trial.loglik >= obj.loglik + 1e-4 * slope:
                break
            step = step * 0.5
            slope *= 0.5
        else:
            return beta, obj, first, it, False
        beta, obj = beta + step, trial
        it += 1


def _sandwich_middle(d: _Data, o: _Obj) -> F:
    """Ω = Σ_i η_i η_iᵀ (module docstring), on the fit's scale."""
    nt = d.ntimes
    f = d.ftimes
    wf = d.wt_time[f]
    ck = np.zeros(nt)
    ck[f] = d.dcount / o.s0
    ckx = np.zeros((nt, d.xs.shape[1]))
    ckx[f] = o.xbar * ck[f][:, None]
    cw = np.zeros(nt)
    cw[f] = ck[f] * wf
    cwx = np.zeros_like(ckx)
    cwx[f] = o.xbar * cw[f][:, None]
    inv_w = np.where(d.comp, 1.0 / d.wt, 0.0)
    a_i = np.cumsum(ck)[d.tidx] + inv_w * _rev_excl(cw)[d.tidx]
    b_i = np.cumsum(ckx, axis=0)[d.tidx] + inv_w[:, None] * _rev_excl(cwx)[d.tidx]
    xbar_t = np.zeros_like(ckx)
    xbar_t[f] = o.xbar
    res = np.where(d.fail[:, None], d.xs - xbar_t[d.tidx], 0.0)
    res -= o.r[:, None] * (d.xs * a_i[:, None] - b_i)
    # the estimated censoring distribution: q(u) at every distinct time
    h0 = _rev_incl(cw)
    h1 = _rev_incl(cwx)
    q = _fwd_excl(o.q1) * h0[:, None] - _fwd_excl(o.q0)[:, None] * h1
    with np.errstate(divide="ignore", invalid="ignore"):
        step = np.where((d.cens > 0)[:, None], q * (d.cens / d.pi**2)[:, None], 0.0)
        own = np.where((d.cens > 0)[:, None], q / d.pi[:, None], 0.0)
    psi = -np.cumsum(step, axis=0)[d.tidx]
    censored = ~(d.fail | d.comp)
    psi += np.where(censored[:, None], own[d.tidx], 0.0)
    eta = res + psi
    return np.asarray(eta.T @ eta)


def fine_gray_fit(
    x: ArrayLike,
    time: ArrayLike,
    status: ArrayLike,
    *,
    cause: int = 1,
    term_names: Sequence[str] | None = None,
    conf_level: float = 0.95,
    control: FineGrayControl | None = None,
    n_dropped: int = 0,
    assign: Sequence[str] | None = None,
    init: ArrayLike | None = None,
) -> FineGrayResult:
    """Fit the Fine–Gray model (module docstring) as ``crr(time, status, cov1 = x,
    failcode = cause, cencode = 0)``.

    ``status``: 0 = censored, ``cause`` = the failure of interest, any other positive
    code a competing failure. ``x`` (n, p) without missing values (drop rows first and
    pass their count as ``n_dropped``). Raises :class:`AnalysisError` for no failures of the
    cause, a constant covariate or collinear columns.
    """
    control = control or FineGrayControl()
    t = as_time(time)
    n = t.size
    xm = np.asarray(x, dtype=np.float64)
    if xm.ndim == 1:
        xm = xm[:, None]
    if xm.shape[0] != n:
        raise ValueError("x must have one row per observation")
    p = xm.shape[1]
    names = tuple(term_names) if term_names is not None else tuple(f"x{j + 1}" for j in range(p))
    if len(names) != p:
        raise ValueError("term_names must have one name per column of x")
    if not np.all(np.isfinite(xm)):
        raise AnalysisError("covariates have missing values; drop those rows first")
    col, cs = status_codes(status, None, n)
    if cause not in cs:
        raise AnalysisError(
            f"there are no failures of cause {cause}: a Fine–Gray model cannot be fitted"
        )
    ci = cs.index(cause) + 1
    fail = col == ci
    comp = (col > 0) & ~fail
    cens_i = col == 0

    center = xm.mean(axis=0) if n else np.zeros(p)
    xc = xm - center
    scale = np.mean(np.abs(xc), axis=0) if n else np.ones(p)
    for j in range(p):
        if scale[j] == 0:
            raise AnalysisError(
                f"covariate {names[j]} has the same value for every analysed patient (zero variance)"
            )
    xs = xc / scale
    if p > 1:
        check_collinear(xs.T @ xs / n, names)

    uniq, tidx = distinct_times(t)
    nt = uniq.size
    exits = np.bincount(tidx, minlength=nt).astype(np.float64)
    cens = np.bincount(tidx, weights=cens_i.astype(np.float64), minlength=nt)
    nfail = np.bincount(tidx, weights=fail.astype(np.float64), minlength=nt)
    pi = _rev_incl(exits)
    g = np.cumprod(1.0 - cens / pi)
    g_minus = np.concatenate(([1.0], g[:-1]))
    wt_time = np.where(uniq == 0, g, g_minus)  # crr: Ĝ at time·(1 − 100ε)
    ftimes = np.flatnonzero(nfail > 0).astype(np.intp)
    data = _Data(
        xs=np.ascontiguousarray(xs),
        tidx=tidx,
        ntimes=nt,
        fail=fail,
        comp=comp,
        wt=wt_time[tidx],
        wt_time=wt_time,
        ftimes=ftimes,
        dcount=nfail[ftimes],
        xfail=xs[fail].sum(axis=0),
        pi=pi,
        cens=cens,
    )
    b0 = np.zeros(p) if init is None else np.asarray(init, dtype=np.float64) * scale
    beta_s, obj, first, iterations, converged = _newton(data, b0, control, scale)
    loglik0 = first.loglik if init is None else _evaluate(data, np.zeros(p))[0].loglik

    inv_info = _ginv(obj.info)
    omega = _sandwich_middle(data, obj)
    var_s = inv_info @ omega @ inv_info
    ss = np.outer(scale, scale)
    coef = beta_s / scale
    var = var_s / ss
    naive = inv_info / ss
    vd = np.diag(var)
    se = np.sqrt(np.where(vd >= 0, vd, np.nan))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, coef / se, np.nan)
    pvals = np.array([norm_sf2(float(v)) for v in z])

    infs = np.abs(obj.score @ inv_info)
    monotone = (infs > control.eps) & (infs > control.toler_inf * np.abs(beta_s))
    level_no_events = [
        bool(np.all((xm[:, j] == 0) | (xm[:, j] == 1)) and not np.any(fail & (xm[:, j] == 1)))
        for j in range(p)
    ]
    warns: list[StatWarning] = []
    if not converged:
        warns.append(
            StatWarning(
                "NOT-CONVERGED",
                f"the Fine–Gray fit did not converge in {control.iter_max} iterations; "
                "estimates are unreliable",
                {},
            )
        )
    events = int(fail.sum())
    if p and events / p < MIN_EPV:
        warns.append(
            StatWarning(
                "LOW-EPV",
                f"{events} failures of cause {cause} for {p} model parameters "
                f"({events / p:.1f} per parameter, fewer than {MIN_EPV}); the estimates may be "
                "unstable and overfitted",
                {"events": events, "parameters": p},
            )
        )
    zq = norm_ppf(0.5 + conf_level / 2.0)
    terms: list[CoxTerm] = []
    with np.errstate(over="ignore"):
        hr = np.exp(coef)
        lower = np.exp(coef - zq * se)
        upper = np.exp(coef + zq * se)
    for j in range(p):
        if level_no_events[j]:
            warns.append(
                StatWarning(
                    "LEVEL-NO-EVENTS",
                    f"{names[j]}: no failures of cause {cause} among the patients in this "
                    "group; its subdistribution hazard ratio cannot be estimated",
                    {"term": names[j], "index": j},
                )
            )
        estimable = not bool(monotone[j]) and converged
        reason = None
        if monotone[j]:
            reason = (
                "monotone pseudo-likelihood: the coefficient runs off to infinity "
                "(Firth's correction is not defined for the Fine–Gray model)"
            )
            warns.append(
                StatWarning(
                    "MONOTONE-LIKELIHOOD",
                    f"{names[j]}: the pseudo-likelihood keeps rising as the coefficient grows; "
                    "the subdistribution hazard ratio is not estimable",
                    {"term": names[j], "index": j},
                )
            )
        elif not converged:
            reason = "the fit did not converge"
        terms.append(
            CoxTerm(
                term=names[j],
                coef=float(coef[j]),
                se=float(se[j]),
                hr=float(hr[j]),
                lower=float(lower[j]),
                upper=float(upper[j]),
                z=float(z[j]),
                p_value=float(pvals[j]) if estimable else None,
                estimable=estimable,
                reason=reason,
            )
        )
    lr = 2.0 * (obj.loglik - loglik0)
    if p:
        try:
            wald = float(coef @ np.linalg.solve(var, coef))
        except np.linalg.LinAlgError:
            wald = float("nan")
    else:
        wald = float("nan")
    tests = {
        "likelihood_ratio": TestResult(lr, p, chi2_sf(lr, p) if p and math.isfinite(lr) else None),
        "wald": TestResult(wald, p, chi2_sf(wald, p) if p and math.isfinite(wald) else None),
        "score": TestResult(float("nan"), p, None),
    }
    with np.errstate(over="ignore"):
        # at x = 0 far from the data (a shifted covariate) this over/underflows: inf/0 is honest
        jump = data.dcount / obj.s0 * np.exp(-(float(center @ coef) + obj.shift))
    return FineGrayResult(
        cause=int(cause),
        n=n,
        events=events,
        competing_events=int(comp.sum()),
        censored=int(cens_i.sum()),
        n_dropped=int(n_dropped),
        iterations=iterations,
        converged=converged,
        loglik_null=float(loglik0),
        loglik=float(obj.loglik),
        coef=coef,
        se=se,
        var=var,
        naive_var=naive,
        z=z,
        p_value=pvals,
        term_names=names,
        terms=tuple(terms),
        tests=tests,
        conf_level=float(conf_level),
        baseline_time=uniq[ftimes],
        baseline_jump=jump,
        assign=None if assign is None else tuple(assign),
        warnings=tuple(warns),
    )

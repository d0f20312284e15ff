"""Proportional hazards: R's ``cox.zph`` test and the β(t) plot of ``plot(cox.zph(fit))``.

**Test** (survival >= 3.0). A score test, at the fitted β and γ = 0, for adding the
time-varying covariates ``x·g(t)`` to the model, where ``g`` is the time transform
(``km``, the default: ``g(t) = 1 − Ŝ(t−)``, the left-continuous Kaplan–Meier of all
subjects ignoring strata and case weights; ``identity``: t; ``rank``: the average rank of t
among all subjects; ``log``: log t), centred by its (unweighted) mean over the events.
Because ``g`` is the same for everyone at risk at an event time, the per-time score ``U_t``
and information ``I_t`` of the fitted model give everything: ``U_γ = Σ g_t U_t``,
``I_ββ = Σ I_t``, ``I_βγ = Σ g_t I_t``, ``I_γγ = Σ g_t² I_t``. For a term with columns J the
statistic is ``uᵀ A⁻¹ u`` with ``u = (0, U_γ[J])`` and ``A`` the information of (β, γ_J);
the global test uses all γ.

Counting-process rows ``(start, stop]`` (a ``cox_fit(..., start=...)`` fit): the risk-set
sums run over the rows at risk (``start < t ≤ stop``), the times are the stop times and
the ``km`` transform is the Kaplan–Meier with delayed entry, as R's ``cox.zph`` on a
``Surv(start, stop, event)`` fit.

**Scaled Schoenfeld residuals** (Grambsch & Therneau 1994; Therneau & Grambsch 2000,
sec. 6.2). The Schoenfeld residual of a death at time t is ``x_i − x̄(t)``, x̄ the
risk-weighted mean of the risk set (Efron: the average of the d partial means of the tie,
as ``coxph``'s information uses them). With ``V̄ = I(β̂)/d`` the average information per
event (d events; with strata, per pair of columns the events of the strata in which both
columns vary), the scaled residual is ``V̄⁻¹ r_i + β̂``: its smoothed mean over time
estimates β(t). A term with several columns (a factor) gets one residual,
``β̂_Jᵀ r_i[J]`` scaled by ``β̂_Jᵀ V̄_JJ β̂_J``, plus 1 (its β(t)/β̂ in effect). In a
stratum where a column does not vary, its residuals are undefined (NaN), as in R.

**Smooth and band** (``plot.cox.zph``, ``df = 4``, ``nsmo = 40``). On the transformed
times x of the residuals, a natural cubic spline with 4 knots — the boundary knots at the
range of x and interior knots at the 1/3 and 2/3 type-7 quantiles of x pooled with the 40
plotting points (R's ``ns(c(pred.x, x), df = 4, intercept = TRUE)``) — is fitted to the
residuals by least squares; the curve is drawn at 40 equally spaced x, and the band is
``ŷ ± 2·sqrt(v_jj · p(x)ᵀ (XᵀX)⁻¹ p(x))`` with ``v_jj`` the term's diagonal element of
``V̄⁻¹`` (R's ``cox.zph(fit)$var``) and ``p(x)`` the spline row at x. The x-axis ticks of a
transformed axis are R's: 8 times read off the residuals' (x, time) pairs at evenly spaced
x, rounded to 2 significant digits, and mapped back to x.

References: Grambsch & Therneau (1994), Biometrika 81:515; Therneau & Grambsch (2000),
*Modeling Survival Data*, ch. 6; survival package 3.x ``cox.zph`` / ``plot.cox.zph``.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from survstudy.stats import _cox_objective as obj
from survstudy.stats._common import StatWarning, clean_float
from survstudy.stats._dist import chi2_sf as chisq_sf
from survstudy.stats.riskset import TIE_TOLERANCE, distinct_times
from survstudy.stats.splines import quantile_type7, rcs_basis

__all__ = [
    "TRANSFORMS",
    "BetaTimePlot",
    "BetaTimeTerm",
    "PhTerm",
    "PhTestResult",
    "ScaledSchoenfeld",
    "beta_time_plot",
    "cox_zph",
    "same_in_unit",
    "scaled_schoenfeld",
]

F = NDArray[Any]
TRANSFORMS = ("km", "identity", "rank", "log")


@dataclass(frozen=True)
class PhTerm:
    term: str
    chisq: float
    df: int
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "chisq": clean_float(self.chisq),
            "df": self.df,
            "p_value": clean_float(self.p_value),
        }


@dataclass(frozen=True)
class PhTestResult:
    """Per-term and global score tests of proportional hazards."""

    terms: tuple[PhTerm, ...]
    global_chisq: float
    global_df: int
    global_p: float
    transform: str = "km"

    def to_dict(self) -> dict[str, Any]:
        return {
            "transform": self.transform,
            "terms": [t.to_dict() for t in self.terms],
            "global": {
                "chisq": clean_float(self.global_chisq),
                "df": self.global_df,
                "p_value": clean_float(self.global_p),
            },
        }

    def offending(self, alpha: float = 0.05) -> tuple[str, ...]:
        """Terms whose PH test has p < ``alpha``, in model order."""
        return tuple(t.term for t in self.terms if math.isfinite(t.p_value) and t.p_value < alpha)


def _unique_times(time: F, d: obj.CoxData | None) -> tuple[F, NDArray[np.intp], NDArray[np.intp]]:
    """``np.unique(time, return_inverse=True, return_counts=True)``.

    From the fit's tie groups ``d`` (sorted once by the fit) when every row's time equals
    its group's time exactly (no near-ties merged): the distinct times of the few groups,
    mapped back to the rows — the same arrays without sorting the n times again."""
    n = time.size
    if d is not None and n and d.order.size == n:
        ts = time[d.order]
        if np.array_equal(ts, d.gtime[d.group]):
            uniq, ginv = np.unique(d.gtime, return_inverse=True)
            inv = np.empty(n, dtype=np.intp)
            inv[d.order] = ginv.ravel()[d.group]
            return uniq, inv, np.bincount(inv, minlength=uniq.size)
    uniq, inv, counts = np.unique(time, return_inverse=True, return_counts=True)
    return uniq, inv.ravel(), counts


def _transform_times(
    time: F,
    event: NDArray[np.bool_],
    transform: str,
    start: F | None = None,
    data: obj.CoxData | None = None,
) -> F:
    """The transformed time of every subject (R's ``ttimes``); ``start``: rows (start, stop];
    ``data``: the fit's sorted data (its tie groups spare a sort of the times)."""
    if transform == "km" and start is not None:
        from survstudy.stats.riskset import risk_table

        # unweighted KM with delayed entry; 1 - S(t-) at each row's stop time
        rt = risk_table(time, event, start=start)
        surv = np.cumprod(1.0 - rt.n_event / rt.n_risk)
        idx = np.searchsorted(rt.time, time, side="left")  # table times strictly before t
        return np.asarray(1.0 - np.concatenate(([1.0], surv))[idx], dtype=np.float64)
    if transform == "identity":
        return time.astype(np.float64)
    if transform == "log":
        with np.errstate(divide="ignore"):
            return np.log(time)
    uniq, inv, counts = _unique_times(time, data)
    if transform == "rank":
        first = np.cumsum(counts) - counts  # 0-based rank of the first of each tie
        return np.asarray((first + (counts + 1) / 2.0)[inv], dtype=np.float64)
    if transform == "km":
        # unweighted, strata pooled (R calls survfitKM without the case weights)
        deaths = np.bincount(inv, weights=event.astype(np.float64), minlength=uniq.size)
        risk = np.cumsum(counts[::-1])[::-1].astype(np.float64)
        surv_left = np.concatenate(([1.0], np.cumprod(1.0 - deaths / risk)))[:-1]
        return np.asarray(1.0 - surv_left[inv], dtype=np.float64)
    raise ValueError(f"transform must be one of {TRANSFORMS}")


@dataclass(frozen=True)
class _Parts:
    """What the test and the residuals need from the fitted model (scaled coordinates)."""

    u_g: F  # (ng, p) score contributions per tie group
    info: tuple[F, F, F]  # Σ_t w_t I_t for w = 1, g_t, g_t² (g: centred transformed time)
    xbar: F  # (ng, p) mean of the risk set used for Schoenfeld residuals (Efron: averaged)
    ttimes: F  # (n,) transformed time of every subject (original order)
    center: float  # mean of ttimes over the events


def _weighted_grams(
    d: obj.CoxData,
    wr: F,
    coefs: Sequence[tuple[F, F]],
    big: F,
) -> list[F]:
    """``Xᵀ diag(v) X`` per ``(c1, c2)`` of per-group coefficients, with
    ``v_i = w_i r_i (C_i − δ_i c2_{g(i)})``, ``C_i`` the sum of ``c1`` over the groups at
    which row i is at risk (all later-or-equal times of its stratum; counting-process
    rows: the groups of their own interval, :func:`._cox_objective.interval_sums` with the
    non-negative ``big`` choosing the well-conditioned form). Blocks of rows keep the
    n×p temporaries small; no p×p matrix per time is ever formed."""
    x = d.x
    n, p = x.shape
    out = []
    step = 1 << 16
    for c1, c2 in coefs:  # one v at a time (each sum runs over the blocks in the same order)
        if d.entry is None:
            big_c = obj.revcumsum_within(c1, d.gstart)
            v = big_c[d.group] - d.event * c2[d.group]
        else:
            v = obj.interval_sums(d, c1, big=big, sub=c2)
        v *= wr
        acc = np.zeros((p, p))
        for a in range(0, n, step):
            xb = x[a : a + step]
            acc += (xb * v[a : a + step, None]).T @ xb
        out.append(acc)
        del v
    return out


# The last fit's parts: the PH test and the residuals of one fit (cox_zph, then
# beta_time_plot's scaled_schoenfeld) share them instead of computing them twice (0.4 s
# at 10^6 rows). A weak reference: the cache never keeps a fit's data alive.
_LAST: list[tuple[weakref.ref[Any], str, _Parts]] = []


def _parts(fit: Any, transform: str) -> _Parts:
    st = fit.fit_state
    for ref, tr, parts in tuple(_LAST):  # one read of the list (threads)
        if ref() is st and tr == transform:
            return parts
    parts = _compute_parts(fit, transform)
    _LAST[:] = [(weakref.ref(st, _forget), transform, parts)]
    return parts


def _forget(ref: weakref.ref[Any]) -> None:
    """The cached fit is gone: drop its parts too."""
    if _LAST and _LAST[0][0] is ref:
        _LAST.clear()


def _compute_parts(fit: Any, transform: str) -> _Parts:
    st = fit.fit_state
    d: obj.CoxData = st.data
    beta = st.beta_scaled
    x = d.x
    gs = obj.group_sums(d, x @ beta)
    r0, r1 = obj.risk_sums(d, gs)
    ng = d.n_groups
    # the tie rows' sums per group (one row per death under Efron: den = R0 − f D0):
    # c1 = Σ m/den, c2 = Σ m f/den, q_j = Σ m f^j/den²
    g = d.erow_group
    f = d.erow_f
    m = d.erow_mult
    den = r0[g] - f * gs.d0[g]
    h = m / den
    c1, c2 = (np.bincount(g, weights=w, minlength=ng) for w in (h, h * f))
    h2 = h / den
    q0, q1, q2 = (np.bincount(g, weights=w, minlength=ng) for w in (h2, h2 * f, h2 * f * f))
    # per event time: the score U_t = Σ_D w x − m Σ_k a_k, a_k = (R1 − f_k D1)/den_k
    # (column by column: the same sums as over the n x p product, without that temporary)
    wev = d.weight * d.event
    wdx = np.empty((ng, x.shape[1]))
    for j in range(x.shape[1]):
        wdx[:, j] = np.add.reduceat(x[:, j] * wev, d.starts)
    u_g = wdx - c1[:, None] * r1 + c2[:, None] * gs.d1
    # a_k = (R1 − f_k D1)/den_k summed per group, column by column (no rows × p temporaries)
    nrow = np.bincount(g, minlength=ng).astype(np.float64)
    xbar = np.empty((ng, x.shape[1]))
    for j in range(x.shape[1]):  # np.add.at(xbar, g, a) column by column (same order of sums)
        xbar[:, j] = np.bincount(g, weights=(r1[g, j] - f * gs.d1[g, j]) / den, minlength=ng)
    xbar /= np.maximum(nrow, 1.0)[:, None]
    # the transformed times depend on the rows only: fits sharing a layout share them
    lay = d.layout
    tt = None if lay is None else lay.cache.get(("ttimes", transform))
    if tt is None:
        tt = _transform_times(st.time, st.event, transform, getattr(st, "start", None), d)
        if lay is not None:
            lay.cache[("ttimes", transform)] = tt
    center = float(np.mean(tt[st.event]))
    gt = tt[d.order[d.starts]] - center
    # Σ_t w_t I_t for the time weights w = 1, g, g² without a p×p matrix per time:
    # Σ_t w_t m Σ_k (R2 − f_k D2)/den_k = Xᵀ diag(v) X with v_i = w r_i (C_w − δ_i w c2),
    # C_w the sum of w c1 over the times at which subject i is at risk (as the fit's
    # information in _cox_objective.evaluate); the a aᵀ part from the per-time sums
    weights = (np.ones(ng), gt, gt * gt)
    grams = _weighted_grams(d, gs.wr, [(w * c1, w * c2) for w in weights], big=c1)
    r1d1 = [
        (r1 * (w * q0)[:, None]).T @ r1
        - (r1 * (w * q1)[:, None]).T @ gs.d1
        - (gs.d1 * (w * q1)[:, None]).T @ r1
        + (gs.d1 * (w * q2)[:, None]).T @ gs.d1
        for w in weights
    ]
    i_bb, i_bg, i_gg = (gram - aa for gram, aa in zip(grams, r1d1, strict=True))
    return _Parts(u_g=u_g, info=(i_bb, i_bg, i_gg), xbar=xbar, ttimes=tt, center=center)


def _labels(fit: Any, assign: Sequence[str] | None) -> list[str]:
    return list(assign if assign is not None else (fit.assign or fit.term_names))


def _group_ttimes(fit: Any, parts: _Parts) -> F:
    d: obj.CoxData = fit.fit_state.data
    return parts.ttimes[d.order[d.starts]]


def cox_zph(fit: Any, assign: Sequence[str] | None = None, transform: str = "km") -> PhTestResult:
    """PH test of a :class:`~survstudy.stats.cox.CoxResult` (``cox.zph(fit, transform)``).

    ``assign`` names the term of each column (default: each column its own
    term, or the fit's ``assign``); columns of one term are tested jointly.
    """
    parts = _parts(fit, transform)
    labels = _labels(fit, assign)
    p = parts.u_g.shape[1]
    gt = _group_ttimes(fit, parts) - parts.center
    u_gam = (gt[:, None] * parts.u_g).sum(axis=0)
    i_bb, i_bg, i_gg = parts.info
    full = np.block([[i_bb, i_bg], [i_bg.T, i_gg]])
    u_full = np.concatenate((np.zeros(p), u_gam))

    order: list[str] = list(dict.fromkeys(labels))
    terms: list[PhTerm] = []
    for lab in order:
        cols = [j for j in range(p) if labels[j] == lab]
        jj = list(range(p)) + [p + j for j in cols]
        tu = u_full[jj]
        stat = float(tu @ np.linalg.solve(full[np.ix_(jj, jj)], tu))
        terms.append(PhTerm(lab, stat, len(cols), chisq_sf(stat, len(cols))))
    gstat = float(u_full @ np.linalg.solve(full, u_full))
    return PhTestResult(tuple(terms), gstat, p, chisq_sf(gstat, p), transform=transform)


# --------------------------------------------------------------------------- residuals


@dataclass(frozen=True)
class ScaledSchoenfeld:
    """Scaled Schoenfeld residuals + coefficient, one row per event, one column per term.

    Rows are the events in order of (stratum, time, input row), as R's ``cox.zph``; ``x``
    is the transformed time, ``time`` the time itself, ``stratum`` the stratum code (None
    without strata). ``y`` has NaN where a term's columns do not vary within the event's
    stratum. ``var`` is R's ``cox.zph(fit)$var`` (the inverse of the average information,
    per term); ``line`` is the value of a constant effect on the y scale (β̂ for a one-column
    term, 1 for a term with several columns).
    """

    transform: str
    terms: tuple[str, ...]
    x: F
    time: F
    stratum: NDArray[np.intp] | None
    y: F
    var: F
    line: F


def same_in_unit(fit: Any, time_unit: float) -> bool:
    """Whether :func:`~survstudy.stats.cox.cox_fit` on this fit's times divided by
    ``time_unit`` is this very fit, bit for bit, and so are its PH test and residuals with
    the ``km`` or ``rank`` transform (``time_unit`` of :func:`beta_time_plot`): the fit
    merged no near-tied times, and the division keeps every two distinct times apart by
    more than the tie tolerance (:func:`.riskset.distinct_times`). The times enter the fit
    only through their sort and tie groups, which are then the same."""
    st = fit.fit_state
    if st is None or st.start is not None or not (time_unit > 0 and math.isfinite(time_unit)):
        return False
    uniq, inv = distinct_times(st.time)
    if not np.array_equal(uniq[inv], st.time):
        return False
    scaled = uniq / time_unit
    if scaled.size < 2:
        return True
    tol = TIE_TOLERANCE * max(abs(float(scaled[0])), abs(float(scaled[-1])), 1.0)
    return bool(np.all(np.diff(scaled) > tol))


def _events_in_r_order(
    d: obj.CoxData, time: F, rows: NDArray[np.intp], orig: NDArray[np.intp], sstr: NDArray[np.intp]
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    """The event rows (sorted positions ``rows``, input rows ``orig``, strata ``sstr``) in the
    order of stratum, time, input row. The fit sorted the rows by stratum, descending time and
    (stably) input row, so when every row's time is its tie group's exactly (no near-ties
    merged) that order is the fit's tie groups reversed within each stratum: a counting sort
    of the groups instead of a sort of the times."""
    grows = d.group[rows]
    ng = d.n_groups
    if ng and np.array_equal(time[orig], d.gtime[grows]):
        firsts = np.flatnonzero(d.gstart == np.arange(ng))
        last = np.repeat(np.append(firsts[1:], ng) - 1, np.diff(np.append(firsts, ng)))
        rank = (d.gstart + last - np.arange(ng))[grows]
        kind = np.uint16 if ng <= 1 << 16 else (np.uint32 if ng <= 1 << 32 else np.int64)
        key = np.argsort(rank.astype(kind), kind="stable")
    else:
        key = np.lexsort((orig, time[orig], sstr))
    return rows[key], orig[key], sstr[key]


def scaled_schoenfeld(
    fit: Any, assign: Sequence[str] | None = None, transform: str = "km", time_unit: float = 1.0
) -> ScaledSchoenfeld:
    """The scaled Schoenfeld residuals of a Cox fit, as R's ``cox.zph(fit, transform)$y``
    (``time_unit``: as :func:`beta_time_plot`'s)."""
    if time_unit != 1.0 and transform not in ("km", "rank"):
        raise ValueError("time_unit: only with the km or rank transform")
    st = fit.fit_state
    d: obj.CoxData = st.data
    parts = _parts(fit, transform)
    labels = _labels(fit, assign)
    p = parts.u_g.shape[1]
    scale = np.asarray(st.scale, dtype=np.float64)
    coef = np.asarray(fit.coef, dtype=np.float64)

    # events in R's order: stratum, time, input row
    rows = np.flatnonzero(d.event == 1)
    orig = d.order[rows]
    sstr = d.gstratum[d.group[rows]]
    rows, orig, sstr = _events_in_r_order(d, st.time, rows, orig, sstr)
    # (x − x̄)·scale in original units, column by column (no n_events × p temporaries)
    grows = d.group[rows]
    resid = np.empty((rows.size, p))
    for j in range(p):
        resid[:, j] = (d.x[rows, j] - parts.xbar[grows, j]) * scale[j]
    del grows
    info = parts.info[0] * np.outer(scale, scale)  # dℓ²/dβ² on the original scale

    # events per stratum in which each column varies (R's "used")
    nstrat = int(d.gstratum.max()) + 1 if d.gstratum.size else 1
    used = np.zeros((nstrat, p))
    # the sorted rows of a stratum are contiguous (its groups' rows, sorted by stratum first)
    firsts = np.flatnonzero(np.concatenate(([True], d.gstratum[1:] != d.gstratum[:-1])))
    for gi, s in zip(firsts, d.gstratum[firsts], strict=True):
        a = int(d.starts[gi])
        gj = int(np.searchsorted(d.gstratum, s, side="right"))
        b = int(d.starts[gj]) if gj < d.n_groups else d.x.shape[0]
        xs = d.x[a:b]
        varies = np.any(xs != xs[0], axis=0)
        used[s] = np.where(varies, float(d.event[a:b].sum()), 0.0)
    order = list(dict.fromkeys(labels))
    cols_of = [[j for j in range(p) if labels[j] == lab] for lab in order]
    for cols in cols_of:
        if len(cols) > 1 and np.any(used[:, cols] == 0):
            used[:, cols] = used[:, cols].max(axis=1)[:, None]
    wtmat = np.minimum(used[:, :, None], used[:, None, :]).sum(axis=0)
    vmean = info / np.where(wtmat == 0, 1.0, wtmat)

    nterm = len(order)
    if any(len(c) > 1 for c in cols_of):
        tmat = np.zeros((p, nterm))
        for i, cols in enumerate(cols_of):
            tmat[cols, i] = 1.0 if len(cols) == 1 else coef[cols]
        resid = resid @ tmat
        vmean = tmat.T @ vmean @ tmat
        used = used[:, [c[0] for c in cols_of]]
    # column-major: each term's residuals are contiguous (beta_time_plot keeps them as views)
    y = np.full(resid.shape, np.nan, order="F")
    for s in range(nstrat):
        k = np.flatnonzero(used[s] > 0)
        j = sstr == s
        if k.size == 0 or not j.any():
            continue
        y[np.ix_(j, k)] = np.linalg.solve(vmean[np.ix_(k, k)], resid[np.ix_(j, k)].T).T
    line = np.array([coef[c[0]] if len(c) == 1 else 1.0 for c in cols_of])
    y += line
    return ScaledSchoenfeld(
        transform=transform,
        terms=tuple(order),
        x=parts.ttimes[orig],
        time=np.asarray(st.time[orig], dtype=np.float64) / time_unit
        if time_unit != 1.0
        else np.asarray(st.time[orig], dtype=np.float64),
        stratum=None if st.strata is None else sstr.astype(np.intp),
        y=y,
        var=np.linalg.inv(vmean),
        line=line,
    )


# --------------------------------------------------------------------------- β(t) plot


@dataclass(frozen=True)
class BetaTimeTerm:
    """One panel of ``plot(cox.zph(fit))``: residual points, smooth with band, axis ticks.

    Points: ``x`` (transformed time), ``time``, ``y`` (scaled residual + coefficient).
    Curve at ``nsmo`` points ``curve_x``: ``fit`` with ``lower``/``upper`` = fit ∓ 2 SE
    (empty when the spline fit is singular: see ``warnings``). ``ticks_x``/``ticks_time``
    place time labels on a transformed axis (empty for ``identity`` and ``log``). ``line``
    is the constant effect (β̂, or 1 for a factor); ``chisq``/``df``/``p_value`` its PH test.
    """

    term: str
    x: F
    time: F
    y: F
    curve_x: F
    fit: F
    lower: F
    upper: F
    ticks_x: F
    ticks_time: F
    line: float
    chisq: float
    df: int
    p_value: float
    warnings: tuple[StatWarning, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        def fl(a: F) -> list[float | None]:
            return [clean_float(v) for v in a]

        return {
            "term": self.term,
            "points": {"x": fl(self.x), "time": fl(self.time), "y": fl(self.y)},
            "curve": {
                "x": fl(self.curve_x),
                "fit": fl(self.fit),
                "lower": fl(self.lower),
                "upper": fl(self.upper),
            },
            "ticks": {"x": fl(self.ticks_x), "time": fl(self.ticks_time)},
            "line": clean_float(self.line),
            "ph_test": {
                "chisq": clean_float(self.chisq),
                "df": self.df,
                "p_value": clean_float(self.p_value),
            },
            "warnings": [w.to_dict() for w in self.warnings],
        }


@dataclass(frozen=True)
class BetaTimePlot:
    """β(t) panels of every term and the PH test they illustrate."""

    transform: str
    terms: tuple[BetaTimeTerm, ...]
    test: PhTestResult
    df: int = 4
    nsmo: int = 40
    band: float = 2.0
    residuals: ScaledSchoenfeld | None = field(default=None, repr=False, compare=False)

    def term(self, name: str) -> BetaTimeTerm:
        for t in self.terms:
            if t.term == name:
                return t
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "transform": self.transform,
            "df": self.df,
            "nsmo": self.nsmo,
            "band": self.band,
            "terms": [t.to_dict() for t in self.terms],
            "ph_test": self.test.to_dict(),
        }


def _signif(v: F, digits: int) -> F:
    """R's ``signif``: round to ``digits`` significant digits."""
    out = np.array(v, dtype=np.float64)
    nz = np.isfinite(out) & (out != 0)
    e = np.floor(np.log10(np.abs(out[nz]))) - digits + 1
    out[nz] = np.round(out[nz] / 10.0**e) * 10.0**e
    return out


def _approx(xp: F, fp: F, xq: F) -> F:
    """R's ``approx`` (linear, ``rule = 1``: NaN outside, ties in ``xp`` averaged)."""
    u, inv = np.unique(xp, return_inverse=True)
    fu = np.bincount(inv, weights=fp) / np.bincount(inv)
    out = np.interp(xq, u, fu)
    out[(xq < u[0]) | (xq > u[-1])] = np.nan
    return out


def _ticks(x: F, time: F) -> tuple[F, F]:
    """R's tick placement on a transformed time axis (8 ticks; NaN ones dropped)."""
    _, first = np.unique(x, return_index=True)
    first = np.sort(first)
    xu, tu = x[first], time[first]
    probe = np.linspace(x.min(), x.max(), 17)[1::2]
    tick_time = _signif(_approx(xu, tu, probe), 2)
    tick_x = _approx(tu, xu, tick_time)
    ok = np.isfinite(tick_x)
    return tick_x[ok], tick_time[ok]


def _smoother(x: F, df: int, nsmo: int) -> tuple[F, F, F, F, F] | None:
    """What :func:`_smooth` needs of ``x`` alone: the grid, the QR factors of the natural-spline
    design at ``x``, the design at the grid and ``p R⁻¹`` (``None``: singular). The terms of one
    fit share their event times, so this is computed once for all of them."""
    grid = np.linspace(x.min(), x.max(), nsmo)
    pooled = np.sort(np.concatenate((grid, x)))
    n_inner = df - 2  # ns(df, intercept = TRUE): df − 2 interior knots
    probs = np.arange(1, n_inner + 1) / (n_inner + 1)
    knots = np.concatenate(([pooled[0]], quantile_type7(pooled, probs), [pooled[-1]]))
    if np.any(np.diff(knots) <= 0) or np.unique(x).size < df:
        return None

    def design(v: F) -> F:
        return np.column_stack((np.ones(v.size), rcs_basis(v, knots)))

    q, r = np.linalg.qr(design(x))
    if np.min(np.abs(np.diag(r))) <= 1e-7 * np.max(np.abs(np.diag(r))):
        return None
    pm = design(grid)
    pr = np.linalg.solve(r.T, pm.T).T  # p R⁻¹
    return grid, q, r, pm, pr


def _smooth(
    x: F, y: F, df: int, nsmo: int, basis: tuple[F, F, F, F, F] | None = None
) -> tuple[F, F, F] | None:
    """Least-squares natural spline (``df`` = 4) of y on x, at ``nsmo`` points: (grid, ŷ, p(XᵀX)⁻¹pᵀ).

    ``basis``: :func:`_smoother` of this ``x`` (``df``, ``nsmo``), if already computed."""
    sm = _smoother(x, df, nsmo) if basis is None else basis
    if sm is None:
        return None
    grid, q, r, pm, pr = sm
    coef = np.linalg.solve(r, q.T @ y)
    return grid, pm @ coef, np.sum(pr**2, axis=1)


def beta_time_plot(
    fit: Any,
    assign: Sequence[str] | None = None,
    transform: str = "km",
    *,
    df: int = 4,
    nsmo: int = 40,
    band: float = 2.0,
    test: PhTestResult | None = None,
    time_unit: float = 1.0,
    residuals: ScaledSchoenfeld | None = None,
) -> BetaTimePlot:
    """The data of ``plot(cox.zph(fit, transform))`` for every term (module docstring).

    ``band`` is the multiple of the SE drawn around the smooth (R: 2). ``test`` reuses an
    already computed PH test with the same transform (default: computed here).
    ``time_unit``: the fit's times per unit of the plot's times (``time`` of the points
    and the ticks are the fit's times divided by it), for the ``km`` and ``rank``
    transforms, which do not depend on the unit (:func:`same_in_unit`). ``residuals``:
    :func:`scaled_schoenfeld` of the fit (``assign``, ``transform``, ``time_unit``) already
    computed; with ``test`` also given, ``fit`` is not used (may be ``None``: a caller can
    release the fit and its data before the smooths).
    """
    if df < 3:
        raise ValueError("df must be >= 3")
    res = (
        residuals if residuals is not None else scaled_schoenfeld(fit, assign, transform, time_unit)
    )
    ph = test if test is not None else cox_zph(fit, assign, transform)
    by_term = {t.term: t for t in ph.terms}
    out: list[BetaTimeTerm] = []
    # the smoother's design at the event times, shared by the terms that share those times
    shared: tuple[F, tuple[F, F, F, F, F] | None] | None = None
    for i, term in enumerate(res.terms):
        keep = ~np.isnan(res.y[:, i])
        if keep.all():  # the terms share the event times (no copy per term: peak memory)
            x, tm, y = res.x, res.time, np.ascontiguousarray(res.y[:, i])
        else:
            x, tm, y = res.x[keep], res.time[keep], res.y[keep, i]
        warns: list[StatWarning] = []
        sm = None
        if y.size:
            if shared is None or shared[0] is not x:
                shared = (x, _smoother(x, df, nsmo))
            sm = _smooth(x, y, df, nsmo, basis=shared[1]) if shared[1] is not None else None
        empty = np.zeros(0)
        if sm is None:
            grid = fitv = lo = hi = empty
            warns.append(
                StatWarning(
                    "ZPH-SMOOTH-SINGULAR",
                    f"{term}: too few distinct event times for the smooth of β(t); "
                    "only the residuals are shown",
                    {"term": term},
                )
            )
        else:
            grid, fitv, lev = sm
            half = band * np.sqrt(res.var[i, i] * lev)
            lo, hi = fitv - half, fitv + half
        ticks_x, ticks_t = (
            (empty, empty) if transform in ("identity", "log") or not y.size else _ticks(x, tm)
        )
        pt = by_term.get(term)
        out.append(
            BetaTimeTerm(
                term=term,
                x=x,
                time=tm,
                y=y,
                curve_x=grid,
                fit=fitv,
                lower=lo,
                upper=hi,
                ticks_x=ticks_x,
                ticks_time=ticks_t,
                line=float(res.line[i]),
                chisq=pt.chisq if pt else math.nan,
                df=pt.df if pt else 0,
                p_value=pt.p_value if pt else math.nan,
                warnings=tuple(warns),
            )
        )
    return BetaTimePlot(
        transform=transform,
        terms=tuple(out),
        test=ph,
        df=df,
        nsmo=nsmo,
        band=band,
        residuals=res,
    )

"""Kaplan–Meier product-limit estimate with Greenwood variance, R ``survfit`` conventions.

Estimator: S(t) = prod_{t_j <= t} (1 - d_j / n_j) over the distinct times t_j,
with n_j at risk just before t_j and d_j events (case weights allowed).

Variance (Greenwood 1926): Var(log S(t)) = sum_{t_j <= t} d_j / (n_j (n_j - d_j));
the standard error reported is that of S itself, S(t) * sqrt(Var(log S)) — what
R's ``summary.survfit`` prints as ``std.err``. Where S = 0 it is undefined (NaN).

Pointwise intervals (Kalbfleisch & Prentice 2002, sec. 1.3; R ``survfit_confint``),
z = Phi^-1(1 - (1 - level) / 2), se = sqrt(Var(log S)):

- ``plain``:   S -/+ z se S, clipped to [0, 1];
- ``log``:     S exp(-/+ z se), upper clipped to 1; undefined where S = 0;
- ``log-log``: S^exp(-/+ z se / log S); undefined where S = 0 or S = 1.

Undefined limits are NaN here and ``None`` in ``to_dict`` (R reports NA).

Robust variance (``robust=True``, or ``cluster`` given): the infinitesimal
jackknife, as ``survfit(..., weights =, robust = TRUE, id =)`` (survival 3.x;
Therneau's methods vignette "survfitkm: robust variance"). The influence of
patient k (case weight w_k) on S(t) is ``U_k(t) = w_k ∂S(t)/∂w_k``; from
S = prod (1 - h_j), h_j = d_j / n_j (weighted counts),

    U_k(t) = w_k S(t) sum_{t_j <= t} (Y_k(t_j) h_j - dN_k(t_j)) / (n_j (1 - h_j)),

Y_k at risk, dN_k the event of k at t_j. Var S(t) = sum_c (sum_{k in c} U_k(t))^2
over clusters c (each patient its own cluster unless ``cluster`` is given). With
C(t) = sum_{t_j <= t} h_j / (n_j (1 - h_j)), a patient still at risk contributes
w_k S(t) C(t), one who left at T_k the constant w_k S(t) a_k, a_k = C(T_k) -
δ_k / (n(T_k) (1 - h(T_k))); so per cluster the sum is S(t) (C(t) W_c(t) + B_c(t))
(W_c the weight still at risk, B_c the sum of w_k a_k of those gone), and
sum_c of its square needs only the running sums of W_c^2, W_c B_c and B_c^2, which
change when a member leaves: O(n log n), no loop over patients. Where S reaches
0 every influence is 0. The intervals use se(log S) = sqrt(Var S) / S in the
formulas above (R's ``logse = FALSE`` path of ``survfit_confint``).

Quantiles follow R's ``quantile.survfit`` (Therneau, survival 3.x): the
p-quantile is the first time where 1 - S reaches p; if 1 - S equals p (within
sqrt(machine eps)) over a flat segment, the midpoint of that segment (or of the
last time and the last observation when the curve ends there). The limits are
the same rule applied to the lower and upper pointwise curves (Brookmeyer &
Crowley 1982). ``None`` means "not reached".

Restricted mean (Irwin 1949): area under S from 0 to the horizon; variance
sum_j A_j^2 d_j / (n_j (n_j - d_j)), A_j the area from t_j to the horizon
(R ``survival:::survmean``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from survstudy.errors import AnalysisError
from survstudy.stats._common import StatWarning, as_event, as_start, as_time, clean_float
from survstudy.stats._dist import norm_ppf, norm_sf
from survstudy.stats.riskset import TIE_TOLERANCE, distinct_times, risk_table

__all__ = [
    "CONF_TYPES",
    "RMST",
    "GroupSummary",
    "KaplanMeierResult",
    "Quantile",
    "RMSTDifference",
    "SurvivalAt",
    "kaplan_meier",
    "kaplan_meier_by",
    "rmst_difference",
]

CONF_TYPES = ("log-log", "log", "plain")
_QTOL = math.sqrt(np.finfo(np.float64).eps)


def _f(x: Any) -> float | None:
    return clean_float(x)


def _confint(
    s: NDArray[np.float64], se_log: NDArray[np.float64], conf_type: str, z: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Pointwise limits from S and the SE of log S (R's ``survfit_confint``, ulimit=TRUE)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            half = z * se_log * s
            lo = np.fmax(s - half, 0.0)
            hi = np.fmin(s + half, 1.0)
            bad = ~np.isfinite(half)
            lo = np.where(bad, np.nan, lo)
            hi = np.where(bad, np.nan, hi)
        elif conf_type == "log":
            xx = np.where(s == 0, np.nan, s)
            lo = xx * np.exp(-z * se_log)
            hi = np.fmin(xx * np.exp(z * se_log), 1.0)
            hi = np.where(np.isnan(xx), np.nan, hi)
        elif conf_type == "log-log":
            xx = np.where((s == 0) | (s == 1), np.nan, s)
            lx = np.log(xx)
            w = z * se_log / lx
            lo = np.exp(-np.exp(np.log(-lx) - w))
            hi = np.exp(-np.exp(np.log(-lx) + w))
        else:
            raise ValueError(f"conf_type must be one of {CONF_TYPES}")
    return lo, hi


def _findq(x: NDArray[np.float64], y: NDArray[np.float64], p: float) -> float | None:
    """R's ``findq``: x = (0, times), y = (0, 1 - curve) non-decreasing, NaN allowed."""
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return None
    xmax = float(x[-1])
    # Drop repeated values as R's duplicated() does: any value seen before, anywhere
    # earlier (confidence curves need not be monotone), NaN counted as a value.
    keep = np.ones(y.size, dtype=bool)
    seen: set[float] = set()
    seen_nan = False
    for i in range(y.size):  # loop over distinct curve values, not over subjects
        v = float(y[i])
        if math.isnan(v):
            keep[i] = not seen_nan
            seen_nan = True
        else:
            keep[i] = v not in seen
            seen.add(v)
    x, y = x[keep], y[keep]
    idx = np.arange(y.size)
    ok = ~np.isnan(y)
    # R's approx() drops NA pairs and sorts the knots (a CI curve can turn back up).
    order = np.argsort(y[ok], kind="stable")
    yv, iv = y[ok][order], idx[ok][order]

    def approx(shift: float) -> int | None:
        knots = yv + shift
        if p < knots[0]:
            return None
        j = int(np.searchsorted(knots, p, side="left"))
        return None if j >= knots.size else int(iv[j])

    i1, i2 = approx(_QTOL), approx(-_QTOL)
    q: float | None = None
    if i1 is not None and i2 is not None:
        q = (float(x[i1]) + float(x[i2])) / 2.0
    if p == 0:
        q = float(x[0])
    ylast = y[-1]
    if not np.isnan(ylast) and abs(p - ylast) < _QTOL and i1 is not None:
        q = (float(x[i1]) + xmax) / 2.0
    return q


@dataclass(frozen=True)
class Quantile:
    """A survival-time quantile with its CI; ``None`` means not reached / undefined."""

    p: float
    estimate: float | None
    lower: float | None
    upper: float | None

    @property
    def reached(self) -> bool:
        return self.estimate is not None

    def to_dict(self) -> dict[str, Any]:
        return {"p": self.p, "estimate": self.estimate, "lower": self.lower, "upper": self.upper}


@dataclass(frozen=True)
class SurvivalAt:
    """Survival at chosen times (R ``summary(fit, times=)``).

    Before the first time: S = 1, n at risk = n. After the last observation (event or
    censoring) the curve says nothing: survival, SE and limits are NaN (``null`` in
    JSON, "not estimable" in reports) with 0 at risk and ``beyond`` True — R's
    ``summary(fit, times = t)`` gives no row there; ``extend = TRUE`` would carry the
    last value forward, which reads as an estimate nobody was followed long enough for.
    """

    time: NDArray[np.float64]
    n_risk: NDArray[np.float64]
    survival: NDArray[np.float64]
    std_err: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    beyond: NDArray[np.bool_]

    def to_records(self) -> list[dict[str, Any]]:
        return [
            {
                "time": float(self.time[i]),
                "n_risk": float(self.n_risk[i]),
                "survival": _f(self.survival[i]),
                "std_err": _f(self.std_err[i]),
                "lower": _f(self.lower[i]),
                "upper": _f(self.upper[i]),
                "beyond_follow_up": bool(self.beyond[i]),
            }
            for i in range(self.time.size)
        ]


@dataclass(frozen=True)
class RMST:
    """Restricted mean survival time up to ``horizon`` with its standard error."""

    horizon: float
    estimate: float
    std_err: float

    def to_dict(self) -> dict[str, Any]:
        return {"horizon": self.horizon, "estimate": _f(self.estimate), "std_err": _f(self.std_err)}


@dataclass(frozen=True)
class RMSTDifference:
    """Difference of two restricted means (first minus second), Wald CI and two-sided p."""

    horizon: float
    difference: float
    std_err: float
    lower: float
    upper: float
    z: float
    p_value: float
    conf_level: float

    def to_dict(self) -> dict[str, Any]:
        return {k: _f(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class GroupSummary:
    """One curve's summary for a by-group table: n, events, censored, median (CI), landmarks.

    ``last_time`` is the last observed time (event or censoring): estimates beyond it
    are carried forward (``at.beyond``) and are not estimates of survival.
    """

    n: float
    events: float
    censored: float
    median: Quantile
    at: SurvivalAt
    last_time: float
    conf_type: str
    conf_level: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "events": self.events,
            "censored": self.censored,
            "median": self.median.estimate,
            "median_lower": self.median.lower,
            "median_upper": self.median.upper,
            "last_time": self.last_time,
            "conf_type": self.conf_type,
            "conf_level": self.conf_level,
            "at": self.at.to_records(),
        }


@dataclass(frozen=True)
class KaplanMeierResult:
    """The product-limit table at every distinct time (events and censorings)."""

    time: NDArray[np.float64]
    n_risk: NDArray[np.float64]
    n_event: NDArray[np.float64]
    n_censor: NDArray[np.float64]
    survival: NDArray[np.float64]
    std_err: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    conf_type: str
    conf_level: float
    n: float
    events: float
    var_log_survival: NDArray[np.float64] = field(repr=False, default_factory=lambda: np.empty(0))
    reverse: bool = False
    warnings: tuple[StatWarning, ...] = ()
    variance: str = "greenwood"  # "greenwood" | "robust" (infinitesimal jackknife)

    @property
    def _z(self) -> float:
        return norm_ppf(1.0 - (1.0 - self.conf_level) / 2.0)

    def survival_at(self, times: ArrayLike) -> SurvivalAt:
        """Survival, SE, CI and number at risk at each of ``times``."""
        t = np.atleast_1d(np.asarray(times, dtype=np.float64))
        scale = max(abs(float(self.time[-1])), 1.0) if self.time.size else 1.0
        tol = TIE_TOLERANCE * scale
        # Last table time <= t (a time within the tolerance counts as reached).
        i = np.searchsorted(self.time, t + tol, side="right") - 1
        has = i >= 0
        ii = np.where(has, i, 0)
        s = np.where(has, self.survival[ii] if self.time.size else 1.0, 1.0)
        v = np.where(has, self.var_log_survival[ii] if self.time.size else 0.0, 0.0)
        with np.errstate(invalid="ignore"):
            se_log = np.sqrt(v)
            se = np.where(s == 0, np.nan, se_log * s)
        lo, hi = _confint(s, se_log, self.conf_type, self._z)
        # Before the first observed time R's summary() reports the limits as 1 (not NA).
        lo = np.where(has, lo, 1.0)
        hi = np.where(has, hi, 1.0)
        j = np.searchsorted(self.time, t - tol, side="left")
        risk_ext = np.concatenate((self.n_risk, [0.0]))
        beyond = t > (float(self.time[-1]) + tol if self.time.size else 0.0)
        nan = np.full(t.shape, np.nan)
        return SurvivalAt(
            time=t,
            n_risk=risk_ext[j],
            survival=np.where(beyond, nan, s),
            std_err=np.where(beyond, nan, se),
            lower=np.where(beyond, nan, lo),
            upper=np.where(beyond, nan, hi),
            beyond=beyond,
        )

    def quantile(self, p: float) -> Quantile:
        """The time by which a fraction ``p`` has had the event, with CI (R's rule)."""
        if not 0 <= p <= 1:
            raise ValueError("p must be in [0, 1]")
        x = np.concatenate(([0.0], self.time))
        est = _findq(x, np.concatenate(([0.0], 1.0 - self.survival)), p)
        lo = _findq(x, np.concatenate(([0.0], 1.0 - self.lower)), p)
        hi = _findq(x, np.concatenate(([0.0], 1.0 - self.upper)), p)
        return Quantile(p=p, estimate=est, lower=lo, upper=hi)

    def last_time_at_risk(self, min_at_risk: float) -> float | None:
        """The last table time at which at least ``min_at_risk`` patients were at risk: the
        curve rests on that many patients up to it (where to curtail a plot; Pocock, Clayton
        and Altman 2002). ``None`` when even the first time has fewer."""
        ok = np.flatnonzero(self.n_risk >= min_at_risk)
        return float(self.time[ok[-1]]) if ok.size else None

    def total_time(self) -> float:
        """Total observed time (the sum of the patients' follow-up times, weighted when the
        fit is), ∫ Y(t) dt: the number at risk is constant between the table's times, which
        hold every event and censoring time. Without delayed entry (``start``) only: entry
        times are not in the table. ``nan`` for an empty fit."""
        if not self.time.size:
            return float("nan")
        widths = np.diff(np.concatenate(([0.0], self.time)))
        return float(np.sum(self.n_risk * widths))

    def median(self) -> Quantile:
        """Median survival (or median follow-up for a reverse KM) with CI."""
        return self.quantile(0.5)

    def summary(self, times: ArrayLike = ()) -> GroupSummary:
        """n, events, censored, median with CI and survival with CI at ``times``."""
        return GroupSummary(
            n=float(self.n),
            events=float(self.events),
            censored=float(self.n - self.events),
            median=self.median(),
            at=self.survival_at(np.asarray(times, dtype=np.float64)),
            last_time=float(self.time[-1]) if self.time.size else 0.0,
            conf_type=self.conf_type,
            conf_level=self.conf_level,
        )

    def rmst(self, horizon: float) -> RMST:
        """Restricted mean survival time up to ``horizon`` and its SE (R's survmean)."""
        tau = float(horizon)
        if tau <= 0:
            raise ValueError("horizon must be positive")
        keep = self.time <= tau
        t = self.time[keep]
        s = self.survival[keep]
        grid = np.concatenate(([0.0], t, [tau]))
        steps = np.concatenate(([1.0], s))
        area = steps * np.diff(grid)  # area of each rectangle from grid[k] to grid[k+1]
        mean = float(area.sum())
        # A_j: area from t_j to tau = sum of the rectangles to its right.
        tail = np.cumsum(area[::-1])[::-1][1:]
        d = self.n_event[keep]
        r = self.n_risk[keep]
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.where(r - d > 0, d / (r * (r - d)), 0.0)
        var = float(np.sum(tail**2 * h))
        return RMST(horizon=tau, estimate=mean, std_err=math.sqrt(var))

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per distinct time (JSON-ready; undefined values are ``None``)."""
        return [
            {
                "time": float(self.time[i]),
                "n_risk": float(self.n_risk[i]),
                "n_event": float(self.n_event[i]),
                "n_censor": float(self.n_censor[i]),
                "survival": float(self.survival[i]),
                "std_err": _f(self.std_err[i]),
                "lower": _f(self.lower[i]),
                "upper": _f(self.upper[i]),
            }
            for i in range(self.time.size)
        ]

    def to_dict(self) -> dict[str, Any]:
        med = self.median()
        return {
            "conf_type": self.conf_type,
            "conf_level": self.conf_level,
            "reverse": self.reverse,
            "n": float(self.n),
            "events": float(self.events),
            "median": med.estimate,
            "median_lower": med.lower,
            "median_upper": med.upper,
            "table": self.to_records(),
            "warnings": [w.to_dict() for w in self.warnings],
        }


def kaplan_meier(
    time: ArrayLike,
    event: ArrayLike,
    *,
    conf_type: str = "log-log",
    conf_level: float = 0.95,
    weights: ArrayLike | None = None,
    reverse: bool = False,
    robust: bool = False,
    cluster: ArrayLike | None = None,
    start: ArrayLike | None = None,
) -> KaplanMeierResult:
    """Kaplan–Meier estimate with Greenwood SE and pointwise CIs (see module docstring).

    ``start`` (keyword): delayed entry (left truncation) or counting-process rows —
    R's ``survfit(Surv(start, stop, event) ~ 1)``: a row is at risk at t when
    ``start < t ≤ time`` (Klein & Moeschberger 2003, sec. 4.6), so ``n_risk`` can rise
    between times as rows enter; the product-limit estimate, Greenwood variance,
    limits and quantiles are then computed as above. ``n`` counts rows. The table
    lists the distinct stop times (``n_risk`` there, as R); the exact number at risk
    at any time is :func:`survstudy.stats.riskset.number_at_risk`. Not combined with
    ``robust``/``cluster`` (:class:`AnalysisError`).

    ``weights`` are case (frequency) weights: counts and the Greenwood sum use the
    weighted numbers, so integer weights equal replicating rows; this is R's
    ``survfit(..., weights=, robust=FALSE)`` (R switches to an infinitesimal-jackknife
    variance by default for non-integer weights: ask for it with ``robust=True``).

    ``robust=True`` (implied by ``cluster``) gives the infinitesimal-jackknife
    variance of the module docstring, R's ``survfit(..., weights = w, robust = TRUE,
    id = id)`` or ``cluster = cluster``; ``std_err`` is then sqrt(Var S).

    ``reverse=True`` treats censorings as the events (reverse Kaplan–Meier,
    Schemper & Smith 1996): its median is the median follow-up.
    No events gives a flat curve at 1 with a ``NO-EVENTS`` warning.
    """
    if conf_type not in CONF_TYPES:
        raise AnalysisError(f"conf_type must be one of {', '.join(CONF_TYPES)}, not {conf_type!r}")
    if not 0 < conf_level < 1:
        raise AnalysisError("conf_level must be between 0 and 1")
    t = as_time(time)
    if t.size == 0:
        raise AnalysisError("no observations for the Kaplan–Meier estimate")
    e = as_event(event, t.size)
    if reverse:
        e = ~e
    w = None
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != t.shape or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise AnalysisError("weights must be finite, non-negative and one per observation")
    st = None if start is None else as_start(start, t)
    if st is not None and (robust or cluster is not None):
        raise AnalysisError(
            "the robust (infinitesimal-jackknife) variance is not available with delayed "
            "entry (start=); leave out robust/cluster"
        )
    rt = risk_table(t, e, weights=w, start=st)
    r, d = rt.n_risk, rt.n_event
    with np.errstate(divide="ignore", invalid="ignore"):
        s: NDArray[np.float64] = np.cumprod(1.0 - d / r).astype(np.float64)
        inc = np.where(d > 0, d / (r * (r - d)), 0.0)
    robust = robust or cluster is not None
    if robust:
        var_s = _ij_variance(t, e, w, rt.time, r, d, s, cluster)
        se = np.sqrt(var_s)
        with np.errstate(divide="ignore", invalid="ignore"):
            var = np.where(var_s == 0, 0.0, var_s / (s * s))
        se_log = np.sqrt(var)
    else:
        var = np.cumsum(inc)
        se_log = np.sqrt(var)
        with np.errstate(invalid="ignore"):
            se = np.where(s == 0, np.nan, se_log * s)
    z = norm_ppf(1.0 - (1.0 - conf_level) / 2.0)
    lo, hi = _confint(s, se_log, conf_type, z)
    events = float(d.sum())
    warns: list[StatWarning] = []
    if events == 0:
        warns.append(
            StatWarning(
                "NO-EVENTS",
                "no events were observed: the curve stays at 100 %",
                {"reverse": reverse},
            )
        )
    return KaplanMeierResult(
        time=rt.time,
        n_risk=r,
        n_event=d,
        n_censor=rt.n_censor,
        survival=s,
        std_err=se,
        lower=lo,
        upper=hi,
        conf_type=conf_type,
        conf_level=float(conf_level),
        n=float(t.size if w is None else w.sum()),
        events=events,
        var_log_survival=var,
        reverse=reverse,
        warnings=tuple(warns),
        variance="robust" if robust else "greenwood",
    )


def _ij_variance(
    t: NDArray[np.float64],
    e: NDArray[np.bool_],
    w: NDArray[np.float64] | None,
    utime: NDArray[np.float64],
    r: NDArray[np.float64],
    d: NDArray[np.float64],
    s: NDArray[np.float64],
    cluster: ArrayLike | None,
) -> NDArray[np.float64]:
    """Infinitesimal-jackknife Var S(t) at each distinct time (module docstring)."""
    n = t.size
    k = utime.size
    wt = np.ones(n) if w is None else w
    # index of each patient's exit time among the distinct times (the table's tie rule)
    uniq, idx = distinct_times(t)
    if uniq.size != k:
        raise AssertionError("distinct times disagree with the risk table")
    step = d > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(step, d / r, 0.0)
        one_minus = 1.0 - h
        dead = one_minus <= 0.0  # the curve reaches 0 here: every influence is 0 from here on
        safe = np.where(dead, 1.0, one_minus)
        c = np.where(step & ~dead, h / (r * safe), 0.0)
        big_c = np.cumsum(c)
        a = big_c[idx] - np.where(e, 1.0 / (r[idx] * safe[idx]), 0.0)
    wa = wt * a
    if cluster is None:
        # each patient its own cluster: sum of W_c^2 is the at-risk sum of w^2, W_c B_c = 0
        w2_exit = np.bincount(idx, weights=wt * wt, minlength=k)
        q1 = float(np.sum(wt * wt)) - np.cumsum(w2_exit)
        q2 = np.zeros(k)
        q3 = np.cumsum(np.bincount(idx, weights=wa * wa, minlength=k))
    else:
        cl = np.unique(np.asarray(cluster), return_inverse=True)[1].reshape(-1)
        if cl.size != n:
            raise ValueError("cluster must have one value per observation")
        order = np.lexsort((idx, cl))
        cs, ws, was, ids = cl[order], wt[order], wa[order], idx[order]
        first = np.concatenate(([True], cs[1:] != cs[:-1]))
        start = np.flatnonzero(first)
        seg = np.cumsum(first) - 1

        def within(v: NDArray[np.float64]) -> NDArray[np.float64]:
            tot = np.cumsum(v)
            base = np.concatenate(([0.0], tot))[start]
            return np.asarray(tot - base[seg])

        total = np.bincount(cl, weights=wt)
        w_after = total[cs] - within(ws)
        w_before = w_after + ws
        b_after = within(was)
        b_before = b_after - was
        d1 = w_after**2 - w_before**2
        d2 = w_after * b_after - w_before * b_before
        d3 = b_after**2 - b_before**2
        q1 = float(np.sum(total**2)) + np.cumsum(np.bincount(ids, weights=d1, minlength=k))
        q2 = np.cumsum(np.bincount(ids, weights=d2, minlength=k))
        q3 = np.cumsum(np.bincount(ids, weights=d3, minlength=k))
    with np.errstate(invalid="ignore", over="ignore"):
        v = s * s * (big_c * big_c * q1 + 2.0 * big_c * q2 + q3)
    after_zero = np.cumsum(dead) > 0
    v = np.where(after_zero | (s == 0), 0.0, v)
    return np.asarray(np.maximum(v, 0.0))


def kaplan_meier_by(
    time: ArrayLike,
    event: ArrayLike,
    group_codes: ArrayLike,
    levels: list[Any] | tuple[Any, ...],
    **kwargs: Any,
) -> list[tuple[Any, KaplanMeierResult]]:
    """One Kaplan–Meier result per level, in level order (codes 0..len(levels)-1).

    Levels without observations are skipped (R drops empty factor levels). With
    ``start=`` (rows ``(start, time]``) and a group that changes over a patient's
    rows, these are Simon–Makuch curves (patients move between curves).
    """
    t = np.asarray(time, dtype=np.float64)
    e = np.asarray(event)
    g = np.asarray(group_codes)
    w = kwargs.pop("weights", None)
    st = kwargs.pop("start", None)
    out: list[tuple[Any, KaplanMeierResult]] = []
    for code, level in enumerate(levels):
        m = g == code
        if not np.any(m):
            continue
        wk = None if w is None else np.asarray(w, dtype=np.float64)[m]
        sk = None if st is None else np.asarray(st, dtype=np.float64)[m]
        out.append((level, kaplan_meier(t[m], e[m], weights=wk, start=sk, **kwargs)))
    return out


def rmst_difference(
    a: KaplanMeierResult, b: KaplanMeierResult, horizon: float, conf_level: float = 0.95
) -> RMSTDifference:
    """RMST(a) - RMST(b) at ``horizon``: independent groups, SE = sqrt(se_a^2 + se_b^2), Wald p."""
    ra, rb = a.rmst(horizon), b.rmst(horizon)
    diff = ra.estimate - rb.estimate
    se = math.sqrt(ra.std_err**2 + rb.std_err**2)
    z = norm_ppf(1.0 - (1.0 - conf_level) / 2.0)
    zs = diff / se if se > 0 else float("nan")
    p = 2.0 * norm_sf(abs(zs)) if se > 0 else float("nan")
    return RMSTDifference(
        horizon=float(horizon),
        difference=diff,
        std_err=se,
        lower=diff - z * se,
        upper=diff + z * se,
        z=zs,
        p_value=p,
        conf_level=conf_level,
    )

"""Propensity-score weights, nearest-neighbour matching and covariate balance.

Inputs are plain arrays: the propensity score ``e`` (fitted probability of
treatment, :func:`survstudy.stats.logistic.logistic_fit`) or its logit, and the
treatment indicator (1 = treated, 0 = control).

**Weights** (Rosenbaum & Rubin 1983; Austin & Stuart 2015, *Stat Med* 34:3661;
Li, Morgan & Zaslavsky 2018, *JASA* 113:390 for overlap weights):

- ``ATE``: treated 1/e, control 1/(1 − e); stabilised (default, Xu et al. 2010,
  *Value Health* 13:273) treated p̄/e, control (1 − p̄)/(1 − e), p̄ the share treated
  among the analysed patients;
- ``ATT``: treated 1, control e/(1 − e);
- ``overlap``: treated 1 − e, control e.

*Trimming* ``trim=(lo, hi)``: the lo- and hi-quantiles of the propensity scores of
all (complete-case) patients are computed by linear interpolation between order
statistics (R's ``quantile(type = 7)``, numpy's default); patients whose score lies
outside ``[q_lo, q_hi]`` are dropped from the analysis (limits inclusive). The
propensity model is not refitted and p̄ is the share treated among the patients kept.
*Truncation* ``truncate=(lo, hi)``: after trimming, the lo- and hi-quantiles (type 7)
of the weights of all kept patients (both groups pooled, Cole & Hernán 2008, *Am J
Epidemiol* 168:656) are computed and weights outside are set to the limit.

Effective sample size (Kish 1965): ``(Σw)² / Σw²`` per group.

**Matching** (:func:`nearest_neighbour_match`): greedy 1:k nearest-neighbour matching
without replacement on a distance (here the logit of the propensity score), as
MatchIt's ``matchit(method = "nearest", distance = "glm", link = "linear.logit",
caliper = c, std.caliper = TRUE, ratio = k)`` (checked against 4.5.1 with upstream
commit 4b5b2f8; gcc builds of MatchIt <= 4.5.2 compare distances with the integer
``abs()`` and so ignore the caliper — see tests/reference/propensity.R):

- caliper = c × SD of the distance over all patients (sample SD, n − 1);
- treated patients are taken in order of decreasing distance (MatchIt's default
  ``m.order = "largest"``; ties in the order of the data), each in turn gets the
  nearest control still unmatched — all patients sorted by distance (ties in data
  order), the nearest available control below and above the treated patient in that
  order is found; the one below wins ties of the absolute difference; a side whose
  nearest control is farther than the caliper offers none;
- with k > 1 every treated patient gets its first control, then (in the same order)
  its second, and so on;
- matching weights (MatchIt's): treated 1; a control gets Σ 1/(number of controls of
  its treated patient) over the treated patients it is matched to, rescaled so that
  the controls' weights sum to the number of matched controls.

**Balance** (:func:`balance_table`; Austin 2009, *Stat Med* 28:3083; cobalt's
``bal.tab`` conventions): standardised mean difference
``(m̄₁ − m̄₀) / s`` with weighted means ``Σwx/Σw`` per group (before adjustment
w = 1) and one denominator before and after, from the UNADJUSTED sample:
``s = sqrt((s₁² + s₀²)/2)`` for ATE and overlap weights, ``s = s₁`` (treated SD) for
ATT and matching. For a column with two distinct values ``s_g² = (b − a)² p_g(1 − p_g)``;
otherwise the sample variance (n − 1). Variance ratio (columns with more than two
values): ``v₁/v₀`` with the weighted variance ``Σw(x − x̄)² · Σw / ((Σw)² − Σw²)``
(reliability weights, R's ``cov.wt(method = "unbiased")``; with w = 1 the sample
variance). |SMD| > 0.1 after adjustment is flagged (Austin 2009).
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

__all__ = [
    "ESTIMANDS",
    "IMBALANCE_THRESHOLD",
    "BalanceColumn",
    "BalanceRow",
    "MatchResult",
    "PropensityWeights",
    "balance_table",
    "few_events_warnings",
    "kish_ess",
    "nearest_neighbour_match",
    "propensity_weights",
]

F = NDArray[np.float64]

ESTIMANDS = ("ATE", "ATT", "overlap")
IMBALANCE_THRESHOLD = 0.1
EXTREME_WEIGHT = 10.0
MIN_EVENTS = 10


def kish_ess(w: ArrayLike) -> float:
    """Kish's effective sample size ``(Σw)² / Σw²`` (0 for no weights)."""
    v = np.asarray(w, dtype=np.float64)
    s2 = float(np.sum(v * v))
    return float(np.sum(v)) ** 2 / s2 if s2 > 0 else 0.0


def _as_treat(treated: ArrayLike, n: int | None = None) -> NDArray[np.bool_]:
    t = np.asarray(treated)
    if t.ndim != 1 or (n is not None and t.size != n):
        raise ValueError("the treatment indicator must be one value per patient")
    if t.dtype == np.bool_:
        return t
    tf = t.astype(np.float64)
    if not np.all((tf == 0) | (tf == 1)):
        raise AnalysisError("the treatment must be coded 0 (control) or 1 (treated)")
    return tf == 1


def _check_pair(
    x: tuple[float, float] | Sequence[float] | None, what: str
) -> tuple[float, float] | None:
    if x is None:
        return None
    lo, hi = (float(v) for v in x)
    if not 0.0 <= lo < hi <= 1.0:
        raise AnalysisError(f"{what} must be two quantiles 0 <= lower < upper <= 1, not {list(x)}")
    return lo, hi


@dataclass(frozen=True)
class PropensityWeights:
    """Weights per patient (input order); trimmed patients have weight 0 and ``kept`` False."""

    estimand: str
    stabilised: bool
    weights: F
    kept: NDArray[np.bool_]
    treated: NDArray[np.bool_]
    trim: tuple[float, float] | None
    trim_limits: tuple[float, float] | None
    truncate: tuple[float, float] | None
    truncate_limits: tuple[float, float] | None
    n_trimmed: int
    n_truncated: int
    ess_treated: float
    ess_control: float
    max_weight: float
    warnings: tuple[StatWarning, ...] = ()

    @property
    def n_kept(self) -> int:
        return int(self.kept.sum())

    def to_dict(self) -> dict[str, Any]:
        """The choices and their consequences, for the methods paragraph and the flow."""
        return {
            "estimand": self.estimand,
            "stabilised": self.stabilised,
            "trim": None if self.trim is None else list(self.trim),
            "trim_limits": None if self.trim_limits is None else list(self.trim_limits),
            "truncate": None if self.truncate is None else list(self.truncate),
            "truncate_limits": None if self.truncate_limits is None else list(self.truncate_limits),
            "n_trimmed": self.n_trimmed,
            "n_truncated": self.n_truncated,
            "ess_treated": self.ess_treated,
            "ess_control": self.ess_control,
            "max_weight": self.max_weight,
            "warnings": [w.to_dict() for w in self.warnings],
        }


def _weights(estimand: str, e: F, t: NDArray[np.bool_], stabilise: bool) -> F:
    if estimand == "ATE":
        if stabilise:
            pbar = float(t.mean())
            return np.where(t, pbar / e, (1.0 - pbar) / (1.0 - e))
        return np.where(t, 1.0 / e, 1.0 / (1.0 - e))
    if estimand == "ATT":
        return np.where(t, 1.0, e / (1.0 - e))
    return np.where(t, 1.0 - e, e)


def weight_warnings(w: F, t: NDArray[np.bool_], *, what: str = "weights") -> list[StatWarning]:
    """``EXTREME-WEIGHT`` (a weight above 10) and ``LOW-ESS`` (Kish ESS below half of n)."""
    out: list[StatWarning] = []
    big = w > EXTREME_WEIGHT
    if np.any(big):
        out.append(
            StatWarning(
                "EXTREME-WEIGHT",
                f"{int(big.sum())} patient(s) have {what} above {EXTREME_WEIGHT:g} "
                f"(largest {float(w.max()):.3g}): a few patients carry much of the estimate; "
                "consider trimming or overlap weights",
                {"count": int(big.sum()), "max_weight": float(w.max())},
            )
        )
    for label, m in (("treated", t), ("control", ~t)):
        n = int(m.sum())
        ess = kish_ess(w[m])
        if n and ess < n / 2.0:
            out.append(
                StatWarning(
                    "LOW-ESS",
                    f"{label} group: the effective sample size ({ess:.1f}) is less than half "
                    f"of the {n} patients; the adjusted estimate is imprecise",
                    {"group": label, "ess": ess, "n": n},
                )
            )
    return out


def propensity_weights(
    ps: ArrayLike,
    treated: ArrayLike,
    *,
    estimand: str = "ATE",
    stabilise: bool = True,
    trim: Sequence[float] | None = None,
    truncate: Sequence[float] | None = None,
) -> PropensityWeights:
    """ATE (inverse probability), ATT or overlap weights, with optional trimming and
    truncation (module docstring), Kish ESS per group and the weight warnings."""
    if estimand not in ESTIMANDS:
        raise AnalysisError(f"estimand must be one of {', '.join(ESTIMANDS)}, not {estimand!r}")
    e = np.asarray(ps, dtype=np.float64)
    t = _as_treat(treated, e.size)
    if not np.all((e > 0) & (e < 1)):
        raise AnalysisError(
            "propensity scores must lie strictly between 0 and 1 (a score of 0 or 1 means "
            "some patients could never, or always, have been treated)"
        )
    tr = _check_pair(trim, "trim")
    tc = _check_pair(truncate, "truncate")
    kept = np.ones(e.size, dtype=bool)
    trim_limits = None
    if tr is not None:
        q = np.quantile(e, tr)
        trim_limits = (float(q[0]), float(q[1]))
        kept = (e >= q[0]) & (e <= q[1])
        for label, m in (("treated", t), ("control", ~t)):
            if not np.any(kept & m):
                raise AnalysisError(f"trimming at {list(tr)} leaves no {label} patients")
    wk = _weights(estimand, e[kept], t[kept], stabilise)
    trunc_limits = None
    n_trunc = 0
    if tc is not None:
        q = np.quantile(wk, tc)
        trunc_limits = (float(q[0]), float(q[1]))
        n_trunc = int(np.sum((wk < q[0]) | (wk > q[1])))
        wk = np.clip(wk, q[0], q[1])
    w = np.zeros(e.size)
    w[kept] = wk
    tk = t[kept]
    warns = weight_warnings(wk, tk)
    return PropensityWeights(
        estimand=estimand,
        stabilised=bool(stabilise) if estimand == "ATE" else False,
        weights=w,
        kept=kept,
        treated=t,
        trim=tr,
        trim_limits=trim_limits,
        truncate=tc,
        truncate_limits=trunc_limits,
        n_trimmed=int((~kept).sum()),
        n_truncated=n_trunc,
        ess_treated=kish_ess(wk[tk]),
        ess_control=kish_ess(wk[~tk]),
        max_weight=float(wk.max()),
        warnings=tuple(warns),
    )


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class MatchResult:
    """A matched sample. ``controls[i]`` are the controls (input indices, −1 = none) of
    the treated patient ``treated_index[i]``; ``pair`` is each patient's matched-set id
    (−1 if unmatched); ``weights`` MatchIt's matching weights (0 if unmatched)."""

    ratio: int
    caliper: float | None
    caliper_distance: float | None
    order: str
    treated_index: NDArray[np.intp]
    controls: NDArray[np.intp]
    pair: NDArray[np.intp]
    weights: F
    n_treated: int
    n_control: int
    n_matched_treated: int
    n_matched_control: int
    ess_treated: float
    ess_control: float
    warnings: tuple[StatWarning, ...] = ()

    @property
    def matched(self) -> NDArray[np.bool_]:
        return np.asarray(self.pair >= 0)

    @property
    def n_unmatched_treated(self) -> int:
        return self.n_treated - self.n_matched_treated

    @property
    def n_unmatched_control(self) -> int:
        return self.n_control - self.n_matched_control

    def pairs(self) -> list[tuple[int, list[int]]]:
        """(treated index, [control indices]) per matched set, input indices."""
        return [
            (int(ti), [int(c) for c in row if c >= 0])
            for ti, row in zip(self.treated_index, self.controls, strict=True)
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ratio": self.ratio,
            "caliper": self.caliper,
            "caliper_distance": clean_float(self.caliper_distance),
            "order": self.order,
            "distance": "logit of the propensity score",
            "n_treated": self.n_treated,
            "n_control": self.n_control,
            "n_matched_treated": self.n_matched_treated,
            "n_matched_control": self.n_matched_control,
            "n_unmatched_treated": self.n_unmatched_treated,
            "n_unmatched_control": self.n_unmatched_control,
            "n_pairs": int(self.treated_index.size),
            "ess_treated": self.ess_treated,
            "ess_control": self.ess_control,
            "warnings": [w.to_dict() for w in self.warnings],
        }


def _nearest_available(m: int) -> tuple[Any, Any, Any]:
    """Nearest available control at or right of / at or left of position j among m
    controls in distance order, and removal: two pointer arrays with path compression
    (union–find), so each query is amortised nearly O(1)."""
    nxt = list(range(m + 1))  # nxt[j]: smallest available ≥ j (m = none)
    prv = list(range(-1, m))  # prv[j + 1]: largest available ≤ j (−1 = none)

    def right(j: int) -> int:
        root = j
        while nxt[root] != root:
            root = nxt[root]
        while nxt[j] != root:
            nxt[j], j = root, nxt[j]
        return root

    def left(j: int) -> int:
        # slot s = j + 1 stands for position j; slot 0 is the sentinel "none"
        s = j + 1
        root = s
        while root != 0 and prv[root] != root - 1:
            root = prv[root] + 1
        while s != root:
            s_next = prv[s] + 1
            prv[s] = root - 1
            s = s_next
        return root - 1

    def remove(j: int) -> None:
        nxt[j] = j + 1
        prv[j + 1] = j - 1

    return right, left, remove


def nearest_neighbour_match(
    distance: ArrayLike,
    treated: ArrayLike,
    *,
    ratio: int = 1,
    caliper: float | None = 0.2,
    order: str = "largest",
) -> MatchResult:
    """Greedy 1:``ratio`` nearest-neighbour matching without replacement (module docstring).

    ``distance`` is the matching distance per patient (the logit of the propensity
    score); ``caliper`` is in SDs of the distance (``None``: no caliper); ``order`` is
    MatchIt's ``m.order``: ``largest`` (default), ``smallest`` or ``data``.
    """
    d = np.asarray(distance, dtype=np.float64)
    t = _as_treat(treated, d.size)
    if not np.all(np.isfinite(d)):
        raise AnalysisError("the matching distance has missing or infinite values")
    if int(ratio) != ratio or ratio < 1:
        raise AnalysisError(f"ratio must be a whole number >= 1, not {ratio}")
    ratio = int(ratio)
    if order not in ("largest", "smallest", "data"):
        raise AnalysisError("order must be 'largest', 'smallest' or 'data'")
    n = d.size
    n1 = int(t.sum())
    n0 = n - n1
    if n1 == 0 or n0 == 0:
        raise AnalysisError("matching needs treated and control patients")
    cal_d: float | None = None
    if caliper is not None:
        if not caliper > 0:
            raise AnalysisError("caliper must be positive (or None for no caliper)")
        cal_d = float(caliper) * float(np.std(d, ddof=1))

    # all patients in distance order (stable: ties in data order), as MatchIt's sort.list
    srt = np.argsort(d, kind="stable")
    t_sorted = t[srt]
    ctrl_sorted = srt[~t_sorted]  # control input indices in distance order
    dc = d[ctrl_sorted]
    # for every patient: number of controls before it in the sorted order
    is_ctrl = (~t_sorted).astype(np.intp)
    before: NDArray[np.intp] = np.cumsum(is_ctrl) - is_ctrl
    ins = np.empty(n, dtype=np.intp)
    ins[srt] = before
    tidx = np.flatnonzero(t)
    if order == "largest":
        proc = tidx[np.argsort(-d[tidx], kind="stable")]
    elif order == "smallest":
        proc = tidx[np.argsort(d[tidx], kind="stable")]
    else:
        proc = tidx
    right, left, remove = _nearest_available(n0)
    row_of = np.full(n, -1, dtype=np.intp)
    row_of[tidx] = np.arange(n1)
    mm = np.full((n1, ratio), -1, dtype=np.intp)
    remaining = n0
    lim = math.inf if cal_d is None else cal_d
    # Greedy matching is sequential by nature (each choice removes a control for the
    # next): one pass per round over the treated, each query amortised O(1).
    for r in range(ratio):
        if remaining == 0:
            break
        for ti in proc.tolist():
            j = int(ins[ti])
            di = float(d[ti])
            lo = left(j - 1)
            hi = right(j)
            kl = lo if lo >= 0 and abs(dc[lo] - di) <= lim else -1
            kr = hi if hi < n0 and abs(dc[hi] - di) <= lim else -1
            if kl >= 0 and kr >= 0:
                k = kl if abs(dc[kl] - di) <= abs(dc[kr] - di) else kr
            elif kl >= 0:
                k = kl
            elif kr >= 0:
                k = kr
            else:
                continue
            mm[row_of[ti], r] = ctrl_sorted[k]
            remove(k)
            remaining -= 1
            if remaining == 0:
                break
    has = mm[:, 0] >= 0
    treated_index = tidx[has]
    controls = mm[has]
    pair = np.full(n, -1, dtype=np.intp)
    pair[treated_index] = np.arange(treated_index.size)
    k_per = (controls >= 0).sum(axis=1)
    raw = np.zeros(n)
    for col in range(ratio):
        ok = controls[:, col] >= 0
        pair[controls[ok, col]] = np.flatnonzero(ok)
        np.add.at(raw, controls[ok, col], 1.0 / k_per[ok])
    w = np.zeros(n)
    w[treated_index] = 1.0
    cm = raw > 0
    n_mc = int(cm.sum())
    if n_mc:
        w[cm] = raw[cm] * (n_mc / float(raw[cm].sum()))
    n_mt = int(treated_index.size)
    warns: list[StatWarning] = []
    if n_mt < n1:
        warns.append(
            StatWarning(
                "UNMATCHED-TREATED",
                f"{n1 - n_mt} of {n1} treated patients found no control within the caliper "
                "and are left out: the estimate concerns the matched treated patients only",
                {"unmatched": n1 - n_mt, "treated": n1},
            )
        )
    if ratio > 1 and np.any(k_per < ratio):
        warns.append(
            StatWarning(
                "INCOMPLETE-MATCHES",
                f"{int(np.sum(k_per < ratio))} treated patients got fewer than {ratio} controls",
                {"count": int(np.sum(k_per < ratio)), "ratio": ratio},
            )
        )
    mt = pair >= 0
    return MatchResult(
        ratio=ratio,
        caliper=None if caliper is None else float(caliper),
        caliper_distance=cal_d,
        order=order,
        treated_index=treated_index,
        controls=controls,
        pair=pair,
        weights=w,
        n_treated=n1,
        n_control=n0,
        n_matched_treated=n_mt,
        n_matched_control=n_mc,
        ess_treated=kish_ess(w[mt & t]),
        ess_control=kish_ess(w[mt & ~t]),
        warnings=tuple(warns),
    )


# --------------------------------------------------------------------------- balance


@dataclass(frozen=True)
class BalanceColumn:
    """One row of the balance table: a continuous confounder or one level of a categorical one."""

    variable: str
    values: F
    level: str | None = None


@dataclass(frozen=True)
class BalanceRow:
    """Balance of one column before and after adjustment (module docstring for formulas)."""

    variable: str
    level: str | None
    binary: bool
    mean_treated_before: float
    mean_control_before: float
    mean_treated_after: float
    mean_control_after: float
    sd_denominator: float
    smd_before: float
    smd_after: float
    variance_ratio_before: float | None
    variance_ratio_after: float | None

    @property
    def imbalanced(self) -> bool:
        return bool(abs(self.smd_after) > IMBALANCE_THRESHOLD)

    def to_dict(self) -> dict[str, Any]:
        return {
            "variable": self.variable,
            "level": self.level,
            "smd_before": clean_float(self.smd_before),
            "smd_after": clean_float(self.smd_after),
            "variance_ratio_before": clean_float(self.variance_ratio_before),
            "variance_ratio_after": clean_float(self.variance_ratio_after),
            "binary": self.binary,
            "mean_treated_before": clean_float(self.mean_treated_before),
            "mean_control_before": clean_float(self.mean_control_before),
            "mean_treated_after": clean_float(self.mean_treated_after),
            "mean_control_after": clean_float(self.mean_control_after),
            "sd_denominator": clean_float(self.sd_denominator),
            "imbalanced": self.imbalanced,
        }


def _wvar(x: F, w: F) -> float:
    """Reliability-weighted variance Σw(x − x̄)² Σw / ((Σw)² − Σw²)."""
    sw = float(w.sum())
    denom = sw * sw - float(np.sum(w * w))
    if not denom > 0:
        return math.nan
    m = float(np.sum(w * x)) / sw
    return float(np.sum(w * (x - m) ** 2)) * sw / denom


def balance_table(
    columns: Sequence[BalanceColumn],
    treated: ArrayLike,
    weights: ArrayLike,
    estimand: str,
) -> tuple[tuple[BalanceRow, ...], tuple[StatWarning, ...]]:
    """SMD and variance ratio of every column before (unweighted, all patients) and after
    (``weights``; 0 = not in the adjusted sample). ``estimand`` picks the SMD denominator:
    ``ATT`` the treated SD, ``ATE``/``overlap`` the pooled SD (module docstring)."""
    if estimand not in ESTIMANDS:
        raise AnalysisError(f"estimand must be one of {', '.join(ESTIMANDS)}")
    w = np.asarray(weights, dtype=np.float64)
    t = _as_treat(treated, w.size)
    rows: list[BalanceRow] = []
    warns: list[StatWarning] = []
    w1, w0 = w[t], w[~t]
    k1, k0 = w1 > 0, w0 > 0
    for col in columns:
        x = np.asarray(col.values, dtype=np.float64)
        if x.shape != w.shape:
            raise ValueError("each balance column must have one value per patient")
        x1, x0 = x[t], x[~t]
        lo, hi = float(x.min()), float(x.max())
        binary = bool(np.unique(x).size == 2)
        if binary:
            p1, p0 = float(np.mean(x1 == hi)), float(np.mean(x0 == hi))
            v1 = (hi - lo) ** 2 * p1 * (1.0 - p1)
            v0 = (hi - lo) ** 2 * p0 * (1.0 - p0)
        else:
            v1 = float(np.var(x1, ddof=1)) if x1.size > 1 else math.nan
            v0 = float(np.var(x0, ddof=1)) if x0.size > 1 else math.nan
        sd = math.sqrt(v1) if estimand == "ATT" else math.sqrt((v1 + v0) / 2.0)
        mb1, mb0 = float(x1.mean()), float(x0.mean())
        ma1 = float(np.sum(w1 * x1) / np.sum(w1))
        ma0 = float(np.sum(w0 * x0) / np.sum(w0))
        with np.errstate(divide="ignore", invalid="ignore"):
            smd_b = (mb1 - mb0) / sd if sd > 0 else (0.0 if mb1 == mb0 else math.nan)
            smd_a = (ma1 - ma0) / sd if sd > 0 else (0.0 if ma1 == ma0 else math.nan)
        vr_b = vr_a = None
        if not binary:
            vr_b = _ratio(float(np.var(x1, ddof=1)), float(np.var(x0, ddof=1)))
            vr_a = _ratio(_wvar(x1[k1], w1[k1]), _wvar(x0[k0], w0[k0]))
        row = BalanceRow(
            variable=col.variable,
            level=col.level,
            binary=binary,
            mean_treated_before=mb1,
            mean_control_before=mb0,
            mean_treated_after=ma1,
            mean_control_after=ma0,
            sd_denominator=sd,
            smd_before=smd_b,
            smd_after=smd_a,
            variance_ratio_before=vr_b,
            variance_ratio_after=vr_a,
        )
        rows.append(row)
        if row.imbalanced:
            name = col.variable if col.level is None else f"{col.variable} = {col.level}"
            warns.append(
                StatWarning(
                    "IMBALANCE",
                    f"{name}: standardised mean difference {smd_a:+.3f} after adjustment "
                    f"(|SMD| > {IMBALANCE_THRESHOLD:g})",
                    {"variable": col.variable, "level": col.level, "smd_after": smd_a},
                )
            )
    return tuple(rows), tuple(warns)


def _ratio(a: float, b: float) -> float | None:
    if not (math.isfinite(a) and math.isfinite(b)) or b <= 0:
        return None
    return a / b


def few_events_warnings(
    treated: ArrayLike, event: ArrayLike, *, minimum: int = MIN_EVENTS
) -> tuple[StatWarning, ...]:
    """``FEW-EVENTS`` for a group (treated / control) with fewer than ``minimum`` events."""
    t = _as_treat(treated)
    ev = np.asarray(event).astype(np.float64) == 1
    if ev.shape != t.shape:
        raise ValueError("event must have one value per patient")
    out: list[StatWarning] = []
    for label, m in (("treated", t), ("control", ~t)):
        k = int(np.sum(ev & m))
        if k < minimum:
            out.append(
                StatWarning(
                    "FEW-EVENTS",
                    f"{label} group: only {k} event(s); the adjusted curves and hazard ratio "
                    "are unreliable with fewer than 10 events in a group",
                    {"group": label, "events": k},
                )
            )
    return tuple(out)

"""Exact and Monte-Carlo permutation log-rank tests for small samples, k groups, strata.

The permutation test conditions on the observed times and event indicators and
permutes the group labels (Peto & Peto 1972; Heimann & Neuhaus 1998; Hothorn,
Hornik, van de Wiel & Zeileis 2006, the R package ``coin``: ``logrank_test`` with
``distribution = "exact"`` or ``approximate(...)``). It uses the log-rank scores

    a_i = delta_i - sum_{t_j <= t_i} d_j / n_j     (pooled Nelson–Aalen at t_i),

for which sum_{i in group g} a_i = O_g - E_g of the ordinary log-rank test
(Mantel's handling of ties). These are minus ``coin::logrank_trafo`` with its
default ``ties.method = "mid-ranks"`` (all subjects tied at t_i get the full
Nelson–Aalen increment at t_i); the sign does not change any statistic below.
With strata the scores are computed within each stratum (its own Nelson–Aalen,
as ``survival::survdiff`` with ``strata()`` and :func:`logrank_test` do) and the
labels are permuted only within strata. Note: coin's ``logrank_test(y ~ g | s)``
permutes within blocks too but computes the scores on the pooled sample; the
stratified test here equals coin's ``independence_test(a ~ g | s)`` with ``a``
from ``logrank_trafo`` applied within each block (tests/reference/exact_logrank.R).

Statistic. With U_g = sum_{i in g} (a_i - a-bar_s(i)) (sum over strata) and the
permutation covariance

    W = sum_s SS_s / (n_s (n_s - 1)) * (n_s diag(n_gs) - n_.s n_.s'),
    SS_s = sum_{i in s} (a_i - a-bar_s)^2,

the test statistic is the quadratic form T = U' W^- U over the first k - 1 groups
(df = rank W), which is coin's "asymptotic" chi-square statistic (for two groups
it is the square of coin's Z). For two groups the reported ``statistic`` stays
S = O_1 - E_1 (= U_1) and T = S^2 / W_11; ``chisq`` always holds T.

p-value: P(T >= t_obs) under the permutation distribution (two-sided for two
groups, P(|S| >= |s_obs|)). Floating ties: a permuted T counts as "at least as
extreme" when T >= t_obs - 1e-9 * max(t_obs, 1) (``_REL_T``). Before the exact
enumeration the scores are quantised to integer multiples of
q = 1e-9 * max(sum |a_i|, 1), so assignments with the same multiset of scores
have exactly equal sums; as equal sums reached through different score values
can then differ by up to n q / 2, the exact test widens the tolerance by the
bound on the resulting change of T (2 sqrt(T lam) dU + lam dU^2, lam the largest
eigenvalue of W^-, dU = sqrt(k - 1) n q / 2): T values closer than that (about
1e-7 on the chi-square scale for n ~ 20) count as ties.

Exact enumeration. The distribution of U depends only on how many subjects
with each distinct score value go to each group. A dynamic programme runs over
the distinct score values of each stratum: the state is (counts in groups
1..k-1, integer score sums of groups 1..k-1), the weight of moving c_1..c_k of
the m_v subjects with value v into the groups is the multinomial
m_v! / prod c_g!; states with equal keys are merged. Strata are convolved one
after the other. The number of states never exceeds the number of distinct
label assignments up to ties (the multinomial over tied score values), so the
documented limit is: enumeration is exact while the number of states stays
<= ``max_states`` (default ``MAX_STATES`` = 2 * 10^6) and one expansion step
has <= ``MAX_EXPAND`` (8 * 10^6) rows (memory); above either, ``logrank_exact`` raises
and the automatic choice falls back to Monte-Carlo. (12 patients in 3 groups
of 4 have 34 650 assignments and at most that many states.)

Monte-Carlo: ``n_resamples`` seeded permutations (within strata); p = (b + 1) /
(B + 1) (Phipson & Smyth 2010), b the number of resampled T at least as
extreme, with the Clopper–Pearson interval for b / B.

Automatic choice (:func:`logrank_small_sample`): when any group expects fewer
than 5 events under the chi-square test (the usual rule for the chi-square
approximation), the exact test is used when enumeration is within the limit,
else the Monte-Carlo test; otherwise the chi-square log-rank test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from survstudy.errors import AnalysisError
from survstudy.stats._common import as_event, as_time, clean_float
from survstudy.stats.logrank import logrank_test
from survstudy.stats.riskset import distinct_times

__all__ = [
    "EXPECTED_LIMIT",
    "MAX_EXPAND",
    "MAX_STATES",
    "PermutationLogRankResult",
    "logrank_exact",
    "logrank_permutation",
    "logrank_scores",
    "logrank_small_sample",
]

MAX_STATES = 2_000_000
MAX_EXPAND = 8_000_000
EXPECTED_LIMIT = 5.0
_REL = 1e-9  # score quantum, relative to sum |a_i|
_REL_T = 1e-9  # relative tolerance for "T at least as extreme" (floor 1)


@dataclass(frozen=True)
class PermutationLogRankResult:
    """A permutation (exact or Monte-Carlo) or asymptotic log-rank p-value.

    ``statistic``: O_1 - E_1 for two groups, the quadratic form T for k > 2 (and for
    ``asymptotic``, the ordinary chi-square); ``chisq``: T with the permutation
    variance (see the module docstring), ``df`` its degrees of freedom.
    """

    method: str  # "exact" | "monte-carlo" | "asymptotic"
    statistic: float
    p_value: float
    p_lower: float | None = None
    p_upper: float | None = None
    n_resamples: int | None = None
    seed: int | None = None
    n_states: int | None = None
    reason: str = ""
    chisq: float | None = None
    df: int | None = None
    n_groups: int | None = None
    n_strata: int | None = None
    n_assignments: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "statistic": clean_float(self.statistic),
            "p_value": clean_float(self.p_value),
            "p_lower": clean_float(self.p_lower),
            "p_upper": clean_float(self.p_upper),
            "n_resamples": self.n_resamples,
            "seed": self.seed,
            "reason": self.reason,
            "chisq": clean_float(self.chisq),
            "df": self.df,
            "n_groups": self.n_groups,
            "n_strata": self.n_strata,
            "n_states": self.n_states,
            "n_assignments": self.n_assignments,
        }


def _scores_one(t: NDArray[np.float64], e: NDArray[np.bool_]) -> NDArray[np.float64]:
    uniq, inv = distinct_times(t)
    k = uniq.size
    exits = np.bincount(inv, minlength=k).astype(np.float64)
    d = np.bincount(inv, weights=e.astype(np.float64), minlength=k)
    n_risk = np.cumsum(exits[::-1])[::-1]
    cumhaz = np.cumsum(d / n_risk)
    out: NDArray[np.float64] = e.astype(np.float64) - cumhaz[inv]
    return out


def _strata_codes(strata: ArrayLike | None, n: int) -> tuple[NDArray[np.intp], int]:
    if strata is None:
        return np.zeros(n, dtype=np.intp), 1
    s = np.asarray(strata)
    if s.shape != (n,):
        raise ValueError("strata must have the same length as time")
    _, codes = np.unique(s, return_inverse=True)
    return codes.astype(np.intp).ravel(), int(codes.max()) + 1 if n else 0


def logrank_scores(
    time: ArrayLike, event: ArrayLike, strata: ArrayLike | None = None
) -> NDArray[np.float64]:
    """Log-rank scores a_i = delta_i - Nelson–Aalen(t_i), pooled within each stratum."""
    t = as_time(time)
    e = as_event(event, t.size)
    s, ns = _strata_codes(strata, t.size)
    if ns == 1:
        return _scores_one(t, e)
    a = np.empty(t.size)
    for st in range(ns):
        m = s == st
        a[m] = _scores_one(t[m], e[m])
    return a


def _groups(group: ArrayLike, n: int) -> tuple[NDArray[np.intp], int]:
    g = np.asarray(group)
    if g.shape != (n,):
        raise ValueError("group must have the same length as time")
    _, codes = np.unique(g, return_inverse=True)
    k = int(codes.max()) + 1 if n else 0
    if k < 2:
        raise AnalysisError("the log-rank test needs at least two groups")
    return codes.astype(np.intp).ravel(), k


@dataclass(frozen=True)
class _Setup:
    a: NDArray[np.float64]  # scores centred within strata
    g: NDArray[np.intp]
    k: int
    s: NDArray[np.intp]
    n_strata: int
    w_inv: NDArray[np.float64]  # generalised inverse of W over groups 0..k-2
    df: int


def _setup(time: ArrayLike, event: ArrayLike, group: ArrayLike, strata: ArrayLike | None) -> _Setup:
    t = as_time(time)
    e = as_event(event, t.size)
    if not e.any():
        raise AnalysisError("no events: the log-rank test cannot be computed")
    g, k = _groups(group, t.size)
    s, ns = _strata_codes(strata, t.size)
    a = logrank_scores(t, e, None if ns == 1 else s)
    w = np.zeros((k, k))
    for st in range(ns):
        m = s == st
        n_s = int(m.sum())
        a_s = a[m] - a[m].mean()  # the scores sum to 0 exactly in theory; remove rounding
        a[m] = a_s
        if n_s < 2:
            continue
        ng = np.bincount(g[m], minlength=k).astype(np.float64)
        ss = float(a_s @ a_s)
        w += ss / (n_s * (n_s - 1.0)) * (n_s * np.diag(ng) - np.outer(ng, ng))
    sub = w[: k - 1, : k - 1]
    scale = float(np.abs(sub).max()) if sub.size else 0.0
    df = int(np.linalg.matrix_rank(sub, tol=1e-10 * scale)) if scale > 0 else 0
    # df = 0 (no stratum mixes groups with different scores): T = 0 for every assignment
    # and p = 1, as the chi-square test's "0 on 0 df, p = 1".
    w_inv: NDArray[np.float64] = (
        np.linalg.pinv(sub, rcond=1e-10).astype(np.float64) if df > 0 else np.zeros_like(sub)
    )
    return _Setup(a=a, g=g, k=k, s=s, n_strata=ns, w_inv=w_inv, df=df)


def _quad(u: NDArray[np.float64], w_inv: NDArray[np.float64]) -> NDArray[np.float64]:
    """U' W^- U for each row of ``u`` (shape (B, k - 1))."""
    out: NDArray[np.float64] = np.einsum("bi,ij,bj->b", u, w_inv, u)
    return out


def _group_sums(a: NDArray[Any], labels: NDArray[np.intp], k: int) -> NDArray[Any]:
    """Score sums of groups 0..k-2 for each row of ``labels`` (shape (B, n))."""
    return np.stack([(labels == g) @ a for g in range(k - 1)], axis=1)


def _n_assignments(su: _Setup) -> int:
    total = 1
    for st in range(su.n_strata):
        ng = np.bincount(su.g[su.s == st], minlength=su.k)
        rest = int(ng.sum())
        for c in ng.tolist():
            total *= math.comb(rest, int(c))
            rest -= int(c)
    return total


@lru_cache(maxsize=256)
def _compositions(m: int, k: int) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """All (c_1..c_k) >= 0 with sum m (stars and bars), and their multinomial m!/prod c!.

    Cached (most tied runs are 1 or 2 long); the arrays are read-only."""
    rows = []
    for bars in combinations(range(m + k - 1), k - 1):
        prev = -1
        c = []
        for b in bars:
            c.append(b - prev - 1)
            prev = b
        c.append(m + k - 2 - prev)
        rows.append(c)
    comp = np.array(rows, dtype=np.int64).reshape(-1, k)
    comp.flags.writeable = False
    wts = []
    for c in rows:
        r, left = 1, m
        for x in c:
            r *= math.comb(left, x)
            left -= x
        wts.append(float(r))
    out = np.array(wts)
    out.flags.writeable = False
    return comp, out


def _merge(
    key: NDArray[np.int64], w: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Distinct rows of ``key`` and the summed weights of each."""
    lo = key.min(axis=0)
    span = (key.max(axis=0) - lo + 1).tolist()
    if math.prod(int(x) for x in span) < 2**62:
        # Mixed-radix code of the row: one int64 sort instead of a row-wise one (10x faster).
        code = np.zeros(key.shape[0], dtype=np.int64)
        for j, r in enumerate(span):
            code = code * int(r) + (key[:, j] - lo[j])
        uc, inv = np.unique(code, return_inverse=True)
        wt = np.bincount(inv.ravel(), weights=w, minlength=uc.size).astype(np.float64)
        out = np.empty((uc.size, key.shape[1]), dtype=np.int64)
        for j in range(key.shape[1] - 1, -1, -1):
            r = int(span[j])
            out[:, j] = uc % r + lo[j]
            uc = uc // r
        return out, wt
    order = np.lexsort(key.T[::-1])
    ks = key[order]
    first = np.ones(ks.shape[0], dtype=bool)
    first[1:] = np.any(ks[1:] != ks[:-1], axis=1)
    wt = np.bincount(np.cumsum(first) - 1, weights=w[order]).astype(np.float64)
    return np.ascontiguousarray(ks[first]), wt


def _enumerate(
    su: _Setup, aq: NDArray[np.int64], max_states: int
) -> tuple[NDArray[np.int64], NDArray[np.float64], int] | None:
    """Exact distribution of the integer group sums (groups 0..k-2): (sums, weights, peak
    number of states), or None above the limits. Weights are relative (rescaled)."""
    k1 = su.k - 1
    sums = np.zeros((1, k1), dtype=np.int64)
    w = np.ones(1)
    peak = 1
    for st in range(su.n_strata):
        m_st = su.s == st
        ng = np.bincount(su.g[m_st], minlength=su.k).astype(np.int64)
        vals, mult = np.unique(aq[m_st], return_counts=True)
        counts = np.zeros((sums.shape[0], k1), dtype=np.int64)
        done = 0
        for v, m in zip(vals.tolist(), mult.tolist(), strict=True):
            comp, cw = _compositions(int(m), su.k)
            if counts.shape[0] * comp.shape[0] > MAX_EXPAND:
                return None
            done += int(m)
            c2 = (counts[:, None, :] + comp[None, :, :k1]).reshape(-1, k1)
            s2 = (sums[:, None, :] + int(v) * comp[None, :, :k1]).reshape(-1, k1)
            w2 = (w[:, None] * cw[None, :]).ravel()
            # Keep only partial assignments that can be completed: no group over its size.
            ok = np.all(c2 <= ng[None, :k1], axis=1) & (done - c2.sum(axis=1) <= ng[k1])
            key, w = _merge(np.hstack((c2[ok], s2[ok])), w2[ok])
            counts, sums = key[:, :k1], key[:, k1:]
            w = w / w.max()  # weights are only needed up to a constant; avoid overflow
            peak = max(peak, key.shape[0])
            if key.shape[0] > max_states:
                return None
        # At the end of a stratum every state has counts == n_g: keep the sums only.
        sums, w = _merge(np.ascontiguousarray(sums), w)
    return sums, w, peak


def _exact_p(su: _Setup, max_states: int) -> tuple[float, float, int] | None:
    """(observed T, exact p, peak states) or None above the limits."""
    scale = max(float(np.abs(su.a).sum()), 1.0)
    quantum = _REL * scale
    aq = np.round(su.a / quantum).astype(np.int64)
    res = _enumerate(su, aq, max_states)
    if res is None:
        return None
    sums, w, peak = res
    t_all = _quad(sums.astype(np.float64) * quantum, su.w_inv)
    obs_q = _group_sums(aq, su.g[None, :], su.k).astype(np.float64) * quantum
    t_obs = float(_quad(obs_q, su.w_inv)[0])
    # Quantised sums are exact integers, but two assignments whose true sums are equal
    # through different score values can differ by up to n q / 2 per group: widen the tie
    # tolerance by that bound on |T(U + dU) - T(U)| <= 2 sqrt(T lam) |dU| + lam |dU|^2.
    lam = float(np.linalg.eigvalsh(su.w_inv).max())
    du = math.sqrt(su.k - 1) * su.a.size * quantum / 2
    tol = _REL_T * max(t_obs, 1.0) + 2 * math.sqrt(max(t_obs, 0.0) * lam) * du + lam * du * du
    extreme = t_all >= t_obs - tol
    p = float(min(1.0, w[extreme].sum() / w.sum()))
    return t_obs, p, peak


def _observed(su: _Setup) -> tuple[float, float]:
    """(reported statistic, T) for the observed labels."""
    u = _group_sums(su.a, su.g[None, :], su.k)
    t_obs = float(_quad(u, su.w_inv)[0])
    return (float(u[0, 0]) if su.k == 2 else t_obs), t_obs


def _clopper_pearson(b: int, n: int, level: float = 0.95) -> tuple[float, float]:
    from scipy.special import betaincinv

    alpha = 1 - level
    lo = 0.0 if b == 0 else float(betaincinv(b, n - b + 1, alpha / 2))
    hi = 1.0 if b == n else float(betaincinv(b + 1, n - b, 1 - alpha / 2))
    return lo, hi


def logrank_permutation(
    time: ArrayLike,
    event: ArrayLike,
    group: ArrayLike,
    *,
    strata: ArrayLike | None = None,
    n_resamples: int = 10_000,
    seed: int = 20261126,
    conf_level: float = 0.95,
) -> PermutationLogRankResult:
    """Seeded Monte-Carlo permutation log-rank test (k >= 2 groups, labels permuted within
    strata): p = (b + 1) / (B + 1) with the Clopper–Pearson CI of b / B."""
    if n_resamples < 1:
        raise AnalysisError("n_resamples must be at least 1")
    su = _setup(time, event, group, strata)
    stat, t_obs = _observed(su)
    n = su.a.size
    blocks = [np.flatnonzero(su.s == st) for st in range(su.n_strata)]
    rng = np.random.default_rng(seed)
    b = 0
    done = 0
    batch = max(1, min(n_resamples, 2_000_000 // max(n, 1)))
    cut = t_obs - _REL_T * max(t_obs, 1.0)
    while done < n_resamples:
        m = min(batch, n_resamples - done)
        if su.n_strata == 1:
            labels = rng.permuted(np.tile(su.g, (m, 1)), axis=1)
        else:
            labels = np.empty((m, n), dtype=np.intp)
            for idx in blocks:
                labels[:, idx] = rng.permuted(np.tile(su.g[idx], (m, 1)), axis=1)
        b += int(np.sum(_quad(_group_sums(su.a, labels, su.k), su.w_inv) >= cut))
        done += m
    lo, hi = _clopper_pearson(b, n_resamples, conf_level)
    return PermutationLogRankResult(
        method="monte-carlo",
        statistic=stat,
        p_value=(b + 1) / (n_resamples + 1),
        p_lower=lo,
        p_upper=hi,
        n_resamples=n_resamples,
        seed=seed,
        chisq=t_obs,
        df=su.df,
        n_groups=su.k,
        n_strata=su.n_strata,
        n_assignments=_n_assignments(su),
    )


def _exact_result(su: _Setup, max_states: int, reason: str = "") -> PermutationLogRankResult | None:
    res = _exact_p(su, max_states)
    if res is None:
        return None
    stat, t_obs = _observed(su)
    return PermutationLogRankResult(
        method="exact",
        statistic=stat,
        p_value=res[1],
        n_states=res[2],
        reason=reason,
        chisq=t_obs,
        df=su.df,
        n_groups=su.k,
        n_strata=su.n_strata,
        n_assignments=_n_assignments(su),
    )


def logrank_exact(
    time: ArrayLike,
    event: ArrayLike,
    group: ArrayLike,
    *,
    strata: ArrayLike | None = None,
    max_states: int = MAX_STATES,
) -> PermutationLogRankResult:
    """Exact permutation log-rank test (k >= 2 groups, optional strata): p = P(T >= t_obs)
    by enumeration; AnalysisError above the limit (see the module docstring)."""
    su = _setup(time, event, group, strata)
    out = _exact_result(su, max_states)
    if out is None:
        raise AnalysisError(
            f"too many distinct assignments to enumerate (more than {max_states} states); "
            "use the Monte-Carlo test"
        )
    return out


def logrank_small_sample(
    time: ArrayLike,
    event: ArrayLike,
    group: ArrayLike,
    *,
    strata: ArrayLike | None = None,
    method: str = "auto",
    n_resamples: int = 10_000,
    seed: int = 20261126,
    max_states: int = MAX_STATES,
) -> PermutationLogRankResult:
    """Chi-square, exact or Monte-Carlo log-rank p, chosen by the rule in the module docstring.

    ``method``: ``auto`` (default), ``exact``, ``monte-carlo`` or ``asymptotic``.
    """
    if method not in ("auto", "exact", "monte-carlo", "asymptotic"):
        raise AnalysisError("method must be auto, exact, monte-carlo or asymptotic")
    asym = logrank_test(time, event, group, strata=strata)
    small = bool(np.any(asym.expected < EXPECTED_LIMIT))
    if method == "asymptotic" or (method == "auto" and not small):
        return PermutationLogRankResult(
            method="asymptotic",
            statistic=asym.statistic,
            p_value=asym.p_value,
            reason="all expected counts >= 5" if method == "auto" else "requested",
            chisq=asym.statistic,
            df=asym.df,
            n_groups=int(asym.n.size),
        )
    reason = (
        f"a group expects fewer than {EXPECTED_LIMIT:g} events" if method == "auto" else "requested"
    )
    su = _setup(time, event, group, strata)
    if method in ("auto", "exact"):
        res = _exact_result(su, max_states, reason)
        if res is not None:
            return res
        if method == "exact":
            raise AnalysisError(
                f"too many distinct assignments to enumerate (more than {max_states} states); "
                "use --permutation monte-carlo"
            )
        reason += "; too many assignments to enumerate"
    mc = logrank_permutation(time, event, group, strata=strata, n_resamples=n_resamples, seed=seed)
    return PermutationLogRankResult(**{**mc.__dict__, "reason": reason})

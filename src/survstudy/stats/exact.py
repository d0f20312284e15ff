"""Exact and Monte-Carlo permutation log-rank tests for small samples.

The permutation test conditions on the observed times and event indicators and
permutes the group labels (Peto & Peto 1972; Heimann & Neuhaus 1998; the
``coin`` package's ``logrank_test`` with ``distribution = "exact"``). It uses the
log-rank scores

    a_i = delta_i - sum_{t_j <= t_i} d_j / n_j     (pooled Nelson–Aalen at t_i),

for which sum_{i in group g} a_i = O_g - E_g of the ordinary log-rank test
(Mantel's handling of ties). Under the null every assignment of the labels with
the observed group sizes is equally likely.

Two groups: the statistic is S = O_1 - E_1; the two-sided p-value is
P(|S - E S| >= |s_obs - E S|) (E S = 0). The exact distribution is enumerated
over the distinct score values: if value v occurs m_v times, choosing k_v of them
for group 1 has weight prod_v C(m_v, k_v) / C(n, n_1). The enumeration runs while
the number of (count, sum) states stays below ``max_states`` (default 2 * 10^6):
this is the documented limit; above it a Monte-Carlo p-value is used.

k groups: the statistic is the quadratic form U' W^- U with the permutation
covariance W_gh = n_g (n delta_gh - n_h) / (n (n - 1)) * sum_i (a_i - a-bar)^2;
only the Monte-Carlo p-value is offered.

Monte-Carlo: ``n_resamples`` seeded permutations; p = (b + 1) / (B + 1)
(Phipson & Smyth 2010), b the number of resampled statistics at least as
extreme, with the Clopper–Pearson interval for b / B.

Automatic choice (:func:`logrank_small_sample`): when any group expects fewer
than 5 events under the chi-square test (the usual rule for the chi-square
approximation), the exact test is used when enumeration is within the limit,
else the Monte-Carlo test; otherwise the chi-square log-rank test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from survstudy.errors import AnalysisError
from survstudy.stats._common import as_event, as_time, clean_float
from survstudy.stats.logrank import logrank_test
from survstudy.stats.riskset import distinct_times

__all__ = [
    "EXPECTED_LIMIT",
    "MAX_STATES",
    "PermutationLogRankResult",
    "logrank_exact",
    "logrank_permutation",
    "logrank_scores",
    "logrank_small_sample",
]

MAX_STATES = 2_000_000
EXPECTED_LIMIT = 5.0
_REL = 1e-9  # relative tolerance for "at least as extreme" and for merging equal sums


@dataclass(frozen=True)
class PermutationLogRankResult:
    """A permutation (exact or Monte-Carlo) or asymptotic log-rank p-value."""

    method: str  # "exact" | "monte-carlo" | "asymptotic"
    statistic: float
    p_value: float
    p_lower: float | None = None
    p_upper: float | None = None
    n_resamples: int | None = None
    seed: int | None = None
    n_states: int | None = None
    reason: str = ""

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
        }


def logrank_scores(time: ArrayLike, event: ArrayLike) -> NDArray[np.float64]:
    """Log-rank scores a_i = delta_i - Nelson–Aalen(t_i) of the pooled sample."""
    t = as_time(time)
    e = as_event(event, t.size)
    uniq, inv = distinct_times(t)
    k = uniq.size
    exits = np.bincount(inv, minlength=k).astype(np.float64)
    d = np.bincount(inv, weights=e.astype(np.float64), minlength=k)
    n_risk = np.cumsum(exits[::-1])[::-1]
    cumhaz = np.cumsum(d / n_risk)
    return e.astype(np.float64) - cumhaz[inv]


def _groups(group: ArrayLike, n: int) -> tuple[NDArray[np.intp], int]:
    g = np.asarray(group)
    if g.shape != (n,):
        raise ValueError("group must have the same length as time")
    _, codes = np.unique(g, return_inverse=True)
    k = int(codes.max()) + 1 if n else 0
    if k < 2:
        raise AnalysisError("the log-rank test needs at least two groups")
    return codes.astype(np.intp), k


def _exact_two_sample(
    a: NDArray[np.float64], in1: NDArray[np.bool_], max_states: int
) -> tuple[float, float, int] | None:
    """(statistic, two-sided p, states) by enumeration over distinct scores, or None if too big."""
    n, n1 = a.size, int(in1.sum())
    s_obs = float(a[in1].sum())
    scale = max(float(np.abs(a).sum()), 1.0)
    quantum = _REL * scale
    vals, mult = np.unique(np.round(a / quantum).astype(np.int64), return_counts=True)
    # States: (count chosen, integer-quantised sum) -> probability weight.
    counts = np.zeros(1, dtype=np.int64)
    sums = np.zeros(1, dtype=np.int64)
    wts: NDArray[np.float64] = np.ones(1)
    total = math.comb(n, n1)
    for v, m in zip(vals.tolist(), mult.tolist(), strict=True):
        ks = np.arange(m + 1)
        ck = np.array([float(math.comb(m, int(k))) for k in ks])
        c2 = (counts[:, None] + ks[None, :]).ravel()
        s2 = (sums[:, None] + v * ks[None, :]).ravel()
        w2 = (wts[:, None] * ck[None, :]).ravel()
        ok = c2 <= n1
        c2, s2, w2 = c2[ok], s2[ok], w2[ok]
        key = np.stack((c2, s2))
        uk, inv = np.unique(key, axis=1, return_inverse=True)
        counts, sums = uk[0].astype(np.int64), uk[1].astype(np.int64)
        wts = np.bincount(inv.ravel(), weights=w2, minlength=uk.shape[1]).astype(np.float64)
        if counts.size > max_states:
            return None
    final = counts == n1
    dist_s = sums[final].astype(np.float64) * quantum
    dist_w = wts[final] / float(total)
    extreme = np.abs(dist_s) >= abs(s_obs) - 2 * quantum - _REL * abs(s_obs)
    p = float(min(1.0, dist_w[extreme].sum()))
    return s_obs, p, int(counts.size)


def _clopper_pearson(b: int, n: int, level: float = 0.95) -> tuple[float, float]:
    from scipy.special import betaincinv

    alpha = 1 - level
    lo = 0.0 if b == 0 else float(betaincinv(b, n - b + 1, alpha / 2))
    hi = 1.0 if b == n else float(betaincinv(b + 1, n - b, 1 - alpha / 2))
    return lo, hi


def _quad_stats(
    a: NDArray[np.float64], labels: NDArray[np.intp], k: int, w_inv: NDArray[np.float64]
) -> NDArray[np.float64]:
    """U' W^- U for each row of ``labels`` (shape (B, n)); U over the first k - 1 groups."""
    u = np.stack([(labels == g) @ a for g in range(k - 1)], axis=1)
    out: NDArray[np.float64] = np.einsum("bi,ij,bj->b", u, w_inv, u)
    return out


def logrank_permutation(
    time: ArrayLike,
    event: ArrayLike,
    group: ArrayLike,
    *,
    n_resamples: int = 10_000,
    seed: int = 20261126,
    conf_level: float = 0.95,
) -> PermutationLogRankResult:
    """Seeded Monte-Carlo permutation log-rank test (any k >= 2), p with Clopper–Pearson CI."""
    t = as_time(time)
    e = as_event(event, t.size)
    if not e.any():
        raise AnalysisError("no events: the log-rank test cannot be computed")
    g, k = _groups(group, t.size)
    a = logrank_scores(t, e)
    n = a.size
    if k == 2:
        s_obs = float(a[g == 0].sum())

        def stat(lab: NDArray[np.intp]) -> NDArray[np.float64]:
            r: NDArray[np.float64] = np.abs((lab == 0) @ a)
            return r

        obs = abs(s_obs)
    else:
        ng = np.bincount(g, minlength=k).astype(np.float64)
        ss = float(np.sum((a - a.mean()) ** 2))
        w = (np.diag(ng * n) - np.outer(ng, ng)) / (n * (n - 1)) * ss
        w_inv: NDArray[np.float64] = np.linalg.pinv(w[: k - 1, : k - 1]).astype(np.float64)

        def stat(lab: NDArray[np.intp]) -> NDArray[np.float64]:
            return _quad_stats(a, lab, k, w_inv)

        obs = float(stat(g[None, :])[0])
        s_obs = obs
    rng = np.random.default_rng(seed)
    b = 0
    done = 0
    batch = max(1, min(n_resamples, 2_000_000 // max(n, 1)))
    tol = 2 * _REL * max(float(np.abs(a).sum()), 1.0) + _REL * abs(obs)
    while done < n_resamples:
        m = min(batch, n_resamples - done)
        labels = rng.permuted(np.tile(g, (m, 1)), axis=1)
        b += int(np.sum(stat(labels) >= obs - tol))
        done += m
    lo, hi = _clopper_pearson(b, n_resamples, conf_level)
    return PermutationLogRankResult(
        method="monte-carlo",
        statistic=s_obs,
        p_value=(b + 1) / (n_resamples + 1),
        p_lower=lo,
        p_upper=hi,
        n_resamples=n_resamples,
        seed=seed,
    )


def logrank_exact(
    time: ArrayLike,
    event: ArrayLike,
    group: ArrayLike,
    *,
    max_states: int = MAX_STATES,
) -> PermutationLogRankResult:
    """Exact two-sample permutation log-rank test (two-sided); AnalysisError above the limit."""
    t = as_time(time)
    e = as_event(event, t.size)
    if not e.any():
        raise AnalysisError("no events: the log-rank test cannot be computed")
    g, k = _groups(group, t.size)
    if k != 2:
        raise AnalysisError(
            "exact enumeration is available for two groups; use the Monte-Carlo test"
        )
    a = logrank_scores(t, e)
    res = _exact_two_sample(a, g == 0, max_states)
    if res is None:
        raise AnalysisError(
            f"too many distinct assignments to enumerate (more than {max_states} states); "
            "use the Monte-Carlo test"
        )
    s, p, states = res
    return PermutationLogRankResult(method="exact", statistic=s, p_value=p, n_states=states)


def logrank_small_sample(
    time: ArrayLike,
    event: ArrayLike,
    group: ArrayLike,
    *,
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
    asym = logrank_test(time, event, group)
    small = bool(np.any(asym.expected < EXPECTED_LIMIT))
    if method == "asymptotic" or (method == "auto" and not small):
        return PermutationLogRankResult(
            method="asymptotic",
            statistic=asym.statistic,
            p_value=asym.p_value,
            reason="all expected counts >= 5" if method == "auto" else "requested",
        )
    reason = (
        f"a group expects fewer than {EXPECTED_LIMIT:g} events" if method == "auto" else "requested"
    )
    if method in ("auto", "exact") and asym.n.size == 2:
        t = as_time(time)
        a = logrank_scores(t, as_event(event, t.size))
        g, _ = _groups(group, t.size)
        res = _exact_two_sample(a, g == 0, max_states)
        if res is not None:
            return PermutationLogRankResult(
                method="exact", statistic=res[0], p_value=res[1], n_states=res[2], reason=reason
            )
        if method == "exact":
            raise AnalysisError("too many distinct assignments to enumerate; use monte-carlo")
        reason += "; too many assignments to enumerate"
    mc = logrank_permutation(time, event, group, n_resamples=n_resamples, seed=seed)
    return PermutationLogRankResult(**{**mc.__dict__, "reason": reason})

"""Exact and Monte-Carlo permutation log-rank tests: brute force, convergence, automatic choice."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from survstudy.errors import AnalysisError
from survstudy.stats.exact import (
    logrank_exact,
    logrank_permutation,
    logrank_scores,
    logrank_small_sample,
)
from survstudy.stats.logrank import logrank_test

T = [1, 2, 2, 3, 4, 5, 6, 6, 7, 9]
E = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1]
G = [0, 1, 0, 0, 1, 1, 0, 1, 1, 0]


def _brute_force(t, e, g):
    """Naive oracle: every relabelling with the observed group sizes, O1 - E1 from the
    ordinary log-rank test each time (a different code path from the scores)."""
    n, n1 = len(t), sum(1 for x in g if x == 0)
    obs = logrank_test(t, e, g)
    s_obs = abs(obs.observed[0] - obs.expected[0])
    hits = total = 0
    for idx in itertools.combinations(range(n), n1):
        lab = np.ones(n, dtype=int)
        lab[list(idx)] = 0
        r = logrank_test(t, e, lab)
        total += 1
        hits += abs(r.observed[0] - r.expected[0]) >= s_obs - 1e-9
    return hits / total


@pytest.mark.parametrize(
    ("t", "e", "g"),
    [
        (T, E, G),
        ([3, 1, 4, 1, 5, 9, 2, 6], [1, 1, 0, 1, 1, 1, 0, 1], [0, 0, 0, 1, 1, 1, 1, 1]),
        ([5, 5, 5, 6, 6, 8, 9], [1, 1, 0, 1, 0, 1, 1], [1, 0, 1, 0, 1, 0, 0]),
    ],
)
def test_exact_equals_brute_force(t, e, g):
    """Naive oracle: enumeration equals brute force over all C(n, n1) assignments."""
    assert logrank_exact(t, e, g).p_value == pytest.approx(_brute_force(t, e, g), rel=1e-12)


def test_scores_sum_to_o_minus_e():
    """Identity: the sum of log-rank scores in group 0 is O - E of the ordinary test."""
    r = logrank_test(T, E, G)
    a = logrank_scores(T, E)
    assert a[np.array(G) == 0].sum() == pytest.approx(r.observed[0] - r.expected[0], rel=1e-12)


@pytest.mark.slow
def test_monte_carlo_converges_to_exact():
    """Property: the Monte-Carlo p (B = 40 000) lies within 4 binomial SEs of the exact p,
    and the exact p is inside its 95 % Clopper–Pearson interval (seeded)."""
    exact = logrank_exact(T, E, G).p_value
    mc = logrank_permutation(T, E, G, n_resamples=40_000, seed=1)
    se = (exact * (1 - exact) / 40_000) ** 0.5
    assert abs(mc.p_value - exact) < 4 * se
    assert mc.p_lower <= exact <= mc.p_upper


def test_monte_carlo_small_b_close():
    """Property (fast): B = 4000, within 5 binomial SEs of the exact p."""
    exact = logrank_exact(T, E, G).p_value
    mc = logrank_permutation(T, E, G, n_resamples=4000, seed=3)
    assert abs(mc.p_value - exact) < 5 * (exact * (1 - exact) / 4000) ** 0.5


def test_k_sample_monte_carlo_brute_force():
    """Naive oracle: k = 3 Monte-Carlo p vs the full enumeration of the quadratic statistic
    by brute force over all distinct labellings of 7 subjects (sizes 3, 2, 2)."""
    t = [1, 2, 3, 4, 5, 6, 7]
    e = [1, 1, 0, 1, 1, 1, 0]
    g = np.array([0, 0, 0, 1, 1, 2, 2])
    a = logrank_scores(t, e)
    n = 7
    ng = np.bincount(g).astype(float)
    ss = np.sum((a - a.mean()) ** 2)
    w = (np.diag(ng * n) - np.outer(ng, ng)) / (n * (n - 1)) * ss
    wi = np.linalg.inv(w[:2, :2])

    def q(lab):
        u = np.array([a[lab == 0].sum(), a[lab == 1].sum()])
        return u @ wi @ u

    obs = q(g)
    labs = {tuple(p) for p in itertools.permutations(g.tolist())}
    p_exact = np.mean([q(np.array(lab)) >= obs - 1e-9 for lab in labs])
    mc = logrank_permutation(t, e, g, n_resamples=20_000, seed=5)
    assert abs(mc.p_value - p_exact) < 5 * (p_exact * (1 - p_exact) / 20_000) ** 0.5


def test_auto_choice():
    """Rule: expected < 5 in a group -> exact (two groups); large samples -> asymptotic."""
    assert logrank_small_sample(T, E, G).method == "exact"
    rng = np.random.default_rng(2)
    t = rng.integers(1, 100, 400)
    e = rng.random(400) < 0.8
    g = rng.integers(0, 2, 400)
    r = logrank_small_sample(t, e, g)
    assert r.method == "asymptotic"
    assert r.p_value == pytest.approx(logrank_test(t, e, g).p_value)
    tiny = logrank_small_sample(T, E, G, max_states=3)
    assert tiny.method == "monte-carlo"


def test_limits_and_errors():
    """Hand: no events and too many states are clear errors."""
    with pytest.raises(AnalysisError, match="no events"):
        logrank_exact([1, 2, 3], [0, 0, 0], [0, 1, 1])
    with pytest.raises(AnalysisError, match="too many"):
        logrank_exact(T, E, G, max_states=3)

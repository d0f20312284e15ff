"""Group tests and quantiles of stats.descriptive from sufficient quantities.

Kinds of truth: hand calculation (closed forms written in each test), naive
oracle (scipy.stats.kruskal / mannwhitneyu / ttest_ind / f_oneway on the rows,
to 1e-12 relative) and identity (continuous_test and continuous_test_from_sums
give the same p from the same sums).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from survstudy.stats import descriptive as d


def test_type6_and_type7_quartiles_of_1_to_10_by_hand() -> None:
    """Hand calculation, x = 1..10. Type 6: h = 11p - 1 -> Q1 at 1.75 (2.75), median at 4.5
    (5.5), Q3 at 7.25 (8.25). Type 7: h = 9p -> Q1 at 2.25 (3.25), Q3 at 6.75 (7.75)."""
    x = np.arange(1.0, 11.0)
    assert d.quantile_position(10, 0.25, "spss") == (1, 0.75)
    assert d.quantile_position(10, 0.5, "spss") == (4, 0.5)
    assert d.quantile_position(10, 0.75, "spss") == (7, 0.25)
    assert d.quantile_position(10, 0.25, "r7") == (2, 0.25)
    assert [d.quantile(x, p, "spss") for p in (0.25, 0.5, 0.75)] == [2.75, 5.5, 8.25]
    assert [d.quantile(x, p, "r7") for p in (0.25, 0.5, 0.75)] == [3.25, 5.5, 7.75]
    # clamping: type 6 of 2 values at p = 0.25 sits at h = -0.25 -> the minimum
    assert d.quantile_position(2, 0.25, "spss") == (0, 0.0)
    assert d.quantile_position(1, 0.75, "r7") == (0, 0.0)
    assert d.interpolate(2.0, 3.0, 0.75) == 2.75


def test_kruskal_wallis_with_ties_by_hand() -> None:
    """Hand calculation: groups (1, 2), (2, 3), (3, 3). Midranks 1, 2.5, 2.5, 5, 5, 5 ->
    R = 3.5, 7.5, 10 (expected 7 each); H0 = 12/42 * (12.25 + 0.25 + 9)/2 = 43/14; ties
    T = (8 - 2) + (27 - 3) = 30, correction 1 - 30/210 = 6/7 -> H = 43/12; df 2, so
    p = exp(-H/2) = exp(-43/24)."""
    counts = [1, 2, 3]
    assert d.tie_term(counts) == 30.0
    r = d.kruskal_wallis_from_ranks([3.5, 7.5, 10.0], [2, 2, 2], 30.0)
    assert r.statistic == pytest.approx(43 / 12, rel=1e-14)
    assert r.p_value == pytest.approx(math.exp(-43 / 24), rel=1e-12)
    same = d.continuous_test([[1, 2], [2, 3], [3, 3]])
    assert (same.statistic, same.p_value) == pytest.approx((43 / 12, math.exp(-43 / 24)))


def test_mann_whitney_from_ranks_by_hand() -> None:
    """Hand calculation: x = (1, 2), y = (2, 3, 3). Midranks 1, 2.5, 2.5, 4.5, 4.5 -> R1 = 3.5,
    U1 = 0.5, U2 = 5.5; T = 6 + 6 = 12, σ² = 6/12 (6 - 12/20) = 2.7; z = (5.5 - 3 - 0.5)/√2.7,
    p = erfc(z/√2)."""
    r = d.mann_whitney_from_ranks(3.5, 2, 3, 12.0)
    z = 2.0 / math.sqrt(2.7)
    assert r.statistic == 0.5
    assert r.p_value == pytest.approx(math.erfc(z / math.sqrt(2.0)), rel=1e-13)
    assert r.p_value == d.continuous_test([[1, 2], [2, 3, 3]]).p_value  # identity


def test_welch_and_anova_from_moments_by_hand() -> None:
    """Hand calculation. Welch: n (3, 4), means (1, 3), variances (1, 2): v1/n1 + v2/n2 = 5/6,
    t = -2/√(5/6), df = (25/36)/(1/18 + 1/12) = 5. ANOVA: (1, 2, 3) vs (4, 5, 6): SSB = 13.5,
    SSW = 4, F = 13.5/(4/4) = 13.5 on (1, 4) df."""
    w = d.welch_t_from_moments([3, 4], [1.0, 3.0], [1.0, 2.0])
    assert w.statistic == pytest.approx(-2 / math.sqrt(5 / 6), rel=1e-14)
    assert w.df == pytest.approx(5.0, rel=1e-14)
    assert w.p_value == pytest.approx(2 * stats.t.sf(2 / math.sqrt(5 / 6), 5), rel=1e-12)
    a = d.anova_from_moments([3, 3], [2.0, 5.0], [1.0, 1.0])
    assert a.statistic == pytest.approx(13.5, rel=1e-14)
    assert a.p_value == pytest.approx(stats.f.sf(13.5, 1, 4), rel=1e-12)


def _samples(rng: np.random.Generator, sizes: list[int], levels: int) -> list[np.ndarray]:
    return [rng.integers(0, levels, size=n).astype(float) + 0.5 * i for i, n in enumerate(sizes)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rank_tests_match_scipy(seed: int) -> None:
    """Naive oracle: scipy.stats.kruskal and mannwhitneyu (asymptotic, continuity) on the
    rows, heavy ties, to 1e-12 relative."""
    rng = np.random.default_rng(seed)
    xs = _samples(rng, [60, 75, 90, 41], 12)
    r = d.continuous_test(xs)
    want = stats.kruskal(*xs)
    assert r.statistic == pytest.approx(want.statistic, rel=1e-12)
    assert r.p_value == pytest.approx(want.pvalue, rel=1e-12)
    r2 = d.continuous_test(xs[:2])
    want2 = stats.mannwhitneyu(xs[0], xs[1], method="asymptotic", use_continuity=True)
    assert r2.statistic == want2.statistic
    assert r2.p_value == pytest.approx(want2.pvalue, rel=1e-12)


@pytest.mark.parametrize("seed", [4, 5])
def test_parametric_tests_match_scipy(seed: int) -> None:
    """Naive oracle: scipy.stats.ttest_ind(equal_var=False) and f_oneway, to 1e-12 relative."""
    rng = np.random.default_rng(seed)
    xs = [rng.normal(i * 0.3, 1 + i, size=n) for i, n in enumerate([30, 45, 12])]
    r = d.continuous_test(xs[:2], parametric=True)
    want = stats.ttest_ind(xs[0], xs[1], equal_var=False)
    assert r.p_value == pytest.approx(want.pvalue, rel=1e-12)
    r3 = d.continuous_test(xs, parametric=True)
    want3 = stats.f_oneway(*xs)
    assert r3.p_value == pytest.approx(want3.pvalue, rel=1e-12)


def test_from_sums_is_continuous_test() -> None:
    """Identity: the same sums give bit-for-bit the same p; empty groups are dropped."""
    rng = np.random.default_rng(9)
    xs = _samples(rng, [70, 0, 80, 66], 9)
    pooled = np.concatenate(xs)
    ranks = stats.rankdata(pooled)
    bounds = np.cumsum([0, *[x.size for x in xs]])
    rs = [float(ranks[bounds[j] : bounds[j + 1]].sum()) for j in range(len(xs))]
    _u, counts = np.unique(pooled, return_counts=True)
    ns = [x.size for x in xs]
    got = d.continuous_test_from_sums(ns, rank_sums=rs, ties=d.tie_term(counts))
    assert got == d.continuous_test(xs)
    means = [float(x.mean()) if x.size else math.nan for x in xs]
    var = [float(x.var(ddof=1)) if x.size > 1 else math.nan for x in xs]
    got2 = d.continuous_test_from_sums(ns, parametric=True, means=means, variances=var)
    assert got2 == d.continuous_test(xs, parametric=True)


def test_exact_path_needs_values_and_degenerate_cases() -> None:
    """Hand calculation: 2 groups under 50 without ties -> the exact test, which needs the
    values (ValueError from sums); all values equal -> not computed (Kruskal–Wallis) / p = 1
    (Mann–Whitney); one group -> not computed."""
    with pytest.raises(ValueError, match="exact"):
        d.continuous_test_from_sums([3, 4], rank_sums=[6.0, 22.0], ties=0.0)
    assert d.mann_whitney_exact_applies(49, 49, False)
    assert not d.mann_whitney_exact_applies(50, 3, False)
    assert not d.mann_whitney_exact_applies(3, 3, True)
    kw = d.continuous_test([[1.0, 1.0], [1.0], [1.0, 1.0]])
    assert kw.test == "not computed"
    assert d.continuous_test([[2.0] * 30, [2.0] * 30]).p_value == 1.0
    assert d.continuous_test_from_sums([5, 0], rank_sums=[15.0, 0.0], ties=0.0).test == (
        "not computed"
    )


def test_tie_term_is_exact_for_huge_ties() -> None:
    """Hand calculation: one tie of 3·10⁶ values and one of 2: T = (3·10⁶)³ - 3·10⁶ + 6, an
    integer beyond 2^53, rounded once."""
    want = float((3 * 10**6) ** 3 - 3 * 10**6 + 6)
    assert d.tie_term([3 * 10**6, 2, 1]) == want
    assert d.tie_term([3 * 10**6, 2, 1], [1, 1, 7]) == want  # as a histogram of tie sizes
    assert d.tie_term([2, 3], [4, 2]) == 4 * 6 + 2 * 24

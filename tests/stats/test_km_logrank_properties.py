"""Naive loop oracles, identities and properties for Kaplan–Meier and the log-rank family."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survstudy.stats.km import kaplan_meier
from survstudy.stats.logrank import logrank_test


def _naive_km(t, e):
    """Naive oracle: loop over sorted distinct times, product of (1 - d/n), Greenwood sum."""
    times = sorted(set(t))
    s, g, out = 1.0, 0.0, []
    for u in times:
        n = sum(1 for x in t if x >= u)
        d = sum(1 for x, y in zip(t, e, strict=True) if x == u and y)
        s *= 1 - d / n
        if d and n > d:
            g += d / (n * (n - d))
        out.append((u, n, d, s, s * math.sqrt(g) if s > 0 else float("nan")))
    return out


def _naive_logrank(t, e, g):
    """Naive oracle: loop over event times, O-E and hypergeometric variance for k groups."""
    levels = sorted(set(g))
    k = len(levels)
    u = np.zeros(k)
    v = np.zeros((k, k))
    for tt in sorted({x for x, y in zip(t, e, strict=True) if y}):
        n = np.array(
            [sum(1 for x, h in zip(t, g, strict=True) if x >= tt and h == lev) for lev in levels],
            float,
        )
        d = np.array(
            [
                sum(1 for x, y, h in zip(t, e, g, strict=True) if x == tt and y and h == lev)
                for lev in levels
            ],
            float,
        )
        big_n, big_d = n.sum(), d.sum()
        u += d - big_d * n / big_n
        if big_n > 1:
            for a in range(k):
                for b in range(k):
                    v[a, b] += (
                        big_d
                        * (big_n - big_d)
                        / (big_n - 1)
                        * n[a]
                        / big_n
                        * ((a == b) - n[b] / big_n)
                    )
    if not np.any(v):
        return float("nan")  # no information (e.g. every event while only one group is at risk)
    return float(u[:-1] @ np.linalg.pinv(v[:-1, :-1]) @ u[:-1])


data = st.integers(4, 40).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(1, 15), min_size=n, max_size=n),
        st.lists(st.booleans(), min_size=n, max_size=n),
        st.lists(st.integers(0, 2), min_size=n, max_size=n),
    )
)


@settings(max_examples=60, deadline=None)
@given(data)
def test_km_matches_naive_oracle(d):
    """Naive oracle on random tied integer data."""
    t, e, _ = d
    res = kaplan_meier(t, e)
    ref = _naive_km(t, e)
    np.testing.assert_allclose(res.time, [r[0] for r in ref])
    np.testing.assert_allclose(res.n_risk, [r[1] for r in ref])
    np.testing.assert_allclose(res.survival, [r[3] for r in ref], atol=1e-12)
    np.testing.assert_allclose(res.std_err, [r[4] for r in ref], rtol=1e-9, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(data)
def test_km_monotone_in_unit_interval(d):
    """Property: S is non-increasing and within [0, 1]; limits bracket S where defined."""
    t, e, _ = d
    for ct in ("log-log", "log", "plain"):
        res = kaplan_meier(t, e, conf_type=ct)
        assert np.all(np.diff(res.survival) <= 1e-15)
        assert np.all((res.survival >= 0) & (res.survival <= 1))
        ok = ~np.isnan(res.lower)
        assert np.all(res.lower[ok] <= res.survival[ok] + 1e-12)
        assert np.all(res.upper[ok] >= res.survival[ok] - 1e-12)


@settings(max_examples=60, deadline=None)
@given(data)
def test_logrank_matches_naive_and_relabelling(d):
    """Naive oracle, and property: relabelling/permuting the groups leaves the statistic unchanged."""
    t, e, g = d
    if len(set(g)) < 2 or not any(e):
        return
    r = logrank_test(t, e, g)
    naive = _naive_logrank(t, e, g)
    if math.isnan(naive):
        # R reference (survdiff): "Chisq= 0 on 0 degrees of freedom, p= 1" when V = 0.
        assert r.statistic == 0
        assert r.df == 0
        assert r.p_value == 1
        return
    assert math.isclose(r.statistic, naive, rel_tol=1e-7, abs_tol=1e-9)
    relabel = {0: "c", 1: "a", 2: "b"}
    r2 = logrank_test(t, e, [relabel[x] for x in g])
    assert math.isclose(r.statistic, r2.statistic, rel_tol=1e-9, abs_tol=1e-12)


def _cox_score_breslow(t, e, x):
    """Hand calculation: Cox score test at beta = 0, Breslow ties, one binary covariate."""
    t, e, x = map(np.asarray, (t, e, x))
    u = i = 0.0
    for tt in np.unique(t[e == 1]):
        risk = t >= tt
        d = np.sum((t == tt) & (e == 1))
        n, n1 = risk.sum(), x[risk].sum()
        xbar = n1 / n
        u += np.sum(x[(t == tt) & (e == 1)]) - d * xbar
        i += d * (xbar - xbar**2)
    return u * u / i


def test_logrank_equals_cox_score_without_ties():
    """Identity: without tied event times, the log-rank statistic equals the Cox score test
    (Breslow = Efron = exact there)."""
    rng = np.random.default_rng(7)
    t = rng.permutation(np.arange(1, 61)).astype(float)
    e = rng.random(60) < 0.7
    x = (rng.random(60) < 0.5).astype(float)
    r = logrank_test(t, e, x)
    assert math.isclose(r.statistic, _cox_score_breslow(t, e, x), rel_tol=1e-10)


def test_time_unit_invariance():
    """Property: days -> months (÷ 30.4375, non-integer times, sorting path with the tie
    tolerance) changes neither S nor the log-rank statistic; the median scales."""
    rng = np.random.default_rng(11)
    t = rng.integers(1, 400, 300).astype(float)
    e = rng.random(300) < 0.6
    g = rng.integers(0, 3, 300)
    a, b = kaplan_meier(t, e), kaplan_meier(t / 30.4375, e)
    np.testing.assert_allclose(a.survival, b.survival, rtol=1e-12)
    assert math.isclose(a.median().estimate / 30.4375, b.median().estimate, rel_tol=1e-12)
    assert math.isclose(
        logrank_test(t, e, g).statistic, logrank_test(t / 30.4375, e, g).statistic, rel_tol=1e-10
    )


def test_group_never_at_risk_at_an_event_has_no_test() -> None:
    """R reference (survdiff's rule: groups with expected 0 are dropped; "Chisq= 0 on 0
    degrees of freedom"): one group-1 patient censored at time 1 before any event
    (hypothesis found that a rank test on V read a rounding residue under Prescott)."""
    r = logrank_test([1.0, 2.0, 3.0, 5.0], [0, 1, 1, 0], [1, 0, 0, 0])
    assert r.expected[1] == 0
    assert r.statistic == 0
    assert r.df == 0
    assert r.p_value == 1
    # three groups, one never at risk at an event time: a 1-df test of the other two
    t = [1.0, 2.0, 3.0, 4.0, 6.0, 7.0]
    e = [0, 1, 1, 1, 1, 0]
    g = [2, 0, 0, 1, 1, 1]
    r3 = logrank_test(t, e, g)
    r2 = logrank_test(t[1:], e[1:], g[1:])
    assert r3.df == 1
    assert r3.statistic == pytest.approx(r2.statistic, rel=1e-12)

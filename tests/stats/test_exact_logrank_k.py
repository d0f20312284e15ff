"""Exact k-group and stratified permutation log-rank: brute force, coin fixtures, Monte-Carlo.

R reference: tests/reference/exact_logrank.R -> exact_logrank.json (coin 1.4-2). coin's
log-rank scores (``ties.method = "mid-ranks"``, its default) are minus survstudy's; all
statistics compared are sign-invariant. Stratified cases in the fixture use scores computed
within each stratum (coin's ``independence_test(y ~ g | s)`` with ``y`` from
``logrank_trafo`` per block), as survstudy does; coin's own ``logrank_test(... | s)`` uses
pooled scores (see ``test_coin_blocked_logrank_uses_pooled_scores``).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

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

REF = json.loads(
    (Path(__file__).resolve().parents[1] / "reference" / "exact_logrank.json").read_text()
)
CASES = REF["cases"]
DATA = REF["data"]
B_R = int(REF["nresample"])


def _data(name: str):
    d = DATA[name]
    return np.array(d["t"], float), np.array(d["e"], int), np.array(d["g"]), np.array(d["s"])


def _hand_scores(t, e):
    """delta_i minus the pooled Nelson–Aalen at t_i, by a plain loop (hand formula)."""
    out = np.empty(len(t))
    for i, ti in enumerate(t):
        h = 0.0
        for u in sorted(set(t.tolist())):
            if u <= ti:
                h += sum(e[t == u]) / np.sum(t >= u)
        out[i] = e[i] - h
    return out


def _brute_force(t, e, g, s=None):
    """Naive oracle: every distinct relabelling (within strata), U = O - E from the ordinary
    (stratified) log-rank test, W the permutation covariance by hand, T = U' W^-1 U."""
    t, e, g = np.asarray(t, float), np.asarray(e, int), np.asarray(g)
    s = np.zeros(len(t), int) if s is None else np.asarray(s)
    levels = np.unique(g)
    k = levels.size
    w = np.zeros((k, k))
    for st in np.unique(s):
        m = s == st
        a = _hand_scores(t[m], e[m])
        n = m.sum()
        ng = np.array([np.sum(g[m] == lv) for lv in levels], float)
        if n > 1:
            w += np.sum((a - a.mean()) ** 2) / (n * (n - 1)) * (n * np.diag(ng) - np.outer(ng, ng))
    wi = np.linalg.pinv(w[: k - 1, : k - 1], rcond=1e-10)
    strat = None if np.unique(s).size == 1 else s

    def stat(lab):
        r = logrank_test(t, e, lab, strata=strat)
        u = (r.observed - r.expected)[: k - 1]
        return float(u @ wi @ u)

    t_obs = stat(g)
    per_stratum = []
    for st in np.unique(s):
        idx = np.flatnonzero(s == st)
        perms = sorted(set(itertools.permutations(g[idx].tolist())))
        per_stratum.append((idx, perms))
    hits = total = 0
    for combo in itertools.product(*[p for _, p in per_stratum]):
        lab = g.copy()
        for (idx, _), labs in zip(per_stratum, combo, strict=True):
            lab[idx] = labs
        total += 1
        hits += stat(lab) >= t_obs - 1e-9 * max(t_obs, 1)
    return hits / total, total


TINY = [
    # (time, event, group, strata)
    (
        [2, 3, 3, 5, 7, 8, 10, 12, 13],
        [1, 1, 1, 0, 1, 1, 0, 1, 0],
        [0, 1, 2, 0, 1, 2, 2, 0, 1],
        None,
    ),
    ([1, 2, 4, 4, 6, 7, 9, 11], [1, 0, 1, 1, 1, 0, 1, 1], [0, 0, 1, 1, 2, 2, 0, 1], None),
    ([5, 1, 9, 2, 2, 6, 8], [1, 1, 0, 1, 1, 1, 1], ["b", "a", "c", "c", "b", "a", "a"], None),
    (
        [2, 3, 3, 5, 7, 8, 10, 12, 13],
        [1, 1, 1, 0, 1, 1, 0, 1, 0],
        [0, 1, 2, 0, 1, 2, 2, 0, 1],
        [1, 2, 1, 2, 1, 2, 1, 2, 1],
    ),
    (
        [1, 2, 2, 3, 4, 5, 6, 6, 7, 9],
        [1, 1, 0, 1, 1, 0, 1, 1, 0, 1],
        [0, 1, 0, 0, 1, 1, 0, 1, 1, 0],
        [1, 2] * 5,
    ),
]


TINY.append(  # a group confined to one stratum: W is singular (generalised inverse)
    ([2, 5, 1, 5, 3], [1, 1, 1, 1, 1], [1, 0, 1, 2, 2], [1, 0, 1, 0, 1])
)


@pytest.mark.parametrize(("t", "e", "g", "s"), TINY)
def test_enumeration_equals_brute_force(t, e, g, s):
    """Naive oracle: the exact p (k = 3 and stratified) equals brute force over every
    relabelling to 1e-12, and n_assignments is the number of relabellings."""
    p_bf, total = _brute_force(t, e, g, s)
    r = logrank_exact(t, e, g, strata=s)
    assert r.method == "exact"
    assert r.p_value == pytest.approx(p_bf, rel=1e-12, abs=1e-12)
    assert r.n_assignments == total


def test_scores_within_strata_hand():
    """Hand calculation: stratified scores are each stratum's own delta - Nelson–Aalen."""
    t, e, _, s = _data("three12")
    a = logrank_scores(t, e, strata=s)
    for st in (1, 2):
        m = s == st
        np.testing.assert_allclose(a[m], _hand_scores(t[m], e[m]), rtol=0, atol=1e-14)


@pytest.mark.parametrize("name", [c for c in CASES if CASES[c]["distribution"] == "exact"])
def test_two_group_exact_matches_coin(name):
    """R reference: coin's exact p (split-up; shift algorithm within blocks) to 1e-6."""
    c = CASES[name]
    t, e, g, s = _data(c["data"])
    r = logrank_exact(t, e, g, strata=s if c["stratified"] else None)
    assert r.p_value == pytest.approx(c["p_value"], rel=1e-6)


@pytest.mark.parametrize("name", [c for c in CASES if CASES[c]["distribution"] == "asymptotic"])
def test_statistic_matches_coin_asymptotic(name):
    """R reference: coin's asymptotic statistic (Z^2 for two groups, the chi-square quadratic
    form for k) equals chisq, the quadratic form with the permutation variance, to 1e-6."""
    c = CASES[name]
    t, e, g, s = _data(c["data"])
    r = logrank_exact(t, e, g, strata=s if c["stratified"] else None)
    want = c["statistic"] ** 2 if c["n_groups"] == 2 else c["statistic"]
    assert r.chisq == pytest.approx(want, rel=1e-6)
    assert r.df == c["n_groups"] - 1


@pytest.mark.parametrize(
    "name",
    [c for c in CASES if CASES[c]["distribution"] == "approximate" and CASES[c]["n_groups"] > 2],
)
def test_k_group_exact_vs_coin_approximate(name):
    """R reference (Monte-Carlo): coin's approximate p (B = 200 000) lies within 4 MC SEs
    of the exact k-group p (coin offers no exact k-sample test)."""
    c = CASES[name]
    t, e, g, s = _data(c["data"])
    p = logrank_exact(t, e, g, strata=s if c["stratified"] else None).p_value
    se = max(p * (1 - p), 1 / B_R) ** 0.5 / B_R**0.5
    assert abs(c["p_value"] - p) <= 4 * se


def test_twelve_patients_three_groups_is_exact():
    """Limit (documented): 12 patients in 3 groups of 4 = 34 650 assignments are enumerated."""
    t, e, g, _ = _data("three12")
    r = logrank_small_sample(t, e, g, method="exact")
    assert r.method == "exact"
    assert r.n_assignments == 34_650
    assert r.n_states <= 34_650
    auto = logrank_small_sample(t, e, g)
    assert auto.method == "exact"


@pytest.mark.parametrize(("data", "strat"), [("three12", False), ("three12", True), ("aml", True)])
def test_monte_carlo_converges_to_exact(data, strat):
    """Property (seeded): the Monte-Carlo p (B = 20 000, within strata where given) is within
    4 MC SEs of the exact p, and the exact p is inside a slightly wider CP interval."""
    t, e, g, s = _data(data)
    st = s if strat else None
    p = logrank_exact(t, e, g, strata=st).p_value
    b = 20_000
    mc = logrank_permutation(t, e, g, strata=st, n_resamples=b, seed=11)
    assert abs(mc.p_value - p) <= 4 * (p * (1 - p) / b) ** 0.5
    assert mc.n_strata == (2 if strat else 1)


@pytest.mark.parametrize("name", ["three12_strat_approximate", "aml_strat_approximate"])
def test_monte_carlo_vs_coin_approximate(name):
    """R reference (Monte-Carlo): our MC p and coin's approximate p agree within the
    combined MC error (4 SE of the difference)."""
    c = CASES[name]
    t, e, g, s = _data(c["data"])
    b = 20_000
    mc = logrank_permutation(t, e, g, strata=s, n_resamples=b, seed=7)
    p = c["p_value"]
    se = (p * (1 - p) * (1 / b + 1 / B_R)) ** 0.5
    assert abs(mc.p_value - p) <= 4 * se


@pytest.mark.parametrize("strat", [False, True])
def test_invariant_to_relabelling_groups(strat):
    """Identity: renaming/permuting the group labels leaves T and the exact p unchanged."""
    t, e, g, s = _data("three12")
    st = s if strat else None
    r1 = logrank_exact(t, e, g, strata=st)
    relab = np.array(["z", "x", "y"])[g.astype(int)]
    r2 = logrank_exact(t, e, relab, strata=st)
    assert r2.p_value == pytest.approx(r1.p_value, rel=1e-12)
    assert r2.chisq == pytest.approx(r1.chisq, rel=1e-10)
    m1 = logrank_permutation(t, e, g, strata=st, n_resamples=500, seed=3)
    assert m1.chisq == pytest.approx(r1.chisq, rel=1e-12)


def test_coin_blocked_logrank_uses_pooled_scores():
    """R reference + hand formula: coin's logrank_test(Surv ~ g | s) standardises the sum of
    POOLED-sample scores with the within-block permutation variance; survstudy's stratified
    test (within-stratum scores, as survdiff with strata) is a different statistic."""
    t, e, g, s = _data("two10")
    a = _hand_scores(t, e)
    u = v = 0.0
    for st in (1, 2):
        m = s == st
        aa, gg, n = a[m], g[m], m.sum()
        n1 = np.sum(gg == 0)
        u += aa[gg == 0].sum() - n1 * aa.mean()
        v += n1 * (n - n1) / (n * (n - 1)) * np.sum((aa - aa.mean()) ** 2)
    assert abs(u / v**0.5) == pytest.approx(
        abs(REF["coin_blocked_pooled_scores"]["statistic"]), rel=1e-9
    )
    ours = logrank_exact(t, e, g, strata=s).chisq
    assert abs(ours - u * u / v) > 1e-3


def test_exact_limit_and_fallback():
    """Rule: above max_states, exact raises and auto falls back to a seeded Monte-Carlo p."""
    t, e, g, s = _data("three12")
    with pytest.raises(AnalysisError, match="too many"):
        logrank_exact(t, e, g, max_states=10)
    with pytest.raises(AnalysisError, match="too many"):
        logrank_small_sample(t, e, g, strata=s, method="exact", max_states=10)
    r = logrank_small_sample(t, e, g, strata=s, max_states=10, n_resamples=300, seed=2)
    assert r.method == "monte-carlo"
    assert "too many" in r.reason
    assert 0 <= r.p_lower <= r.p_upper <= 1
    assert r.n_strata == 2


def test_to_dict_keys():
    """Contract: the 2-group keys stay; k-group/strata add chisq, df, n_groups, n_strata."""
    t, e, g, s = _data("three12")
    d = logrank_exact(t, e, g, strata=s).to_dict()
    for key in (
        "method",
        "statistic",
        "p_value",
        "p_lower",
        "p_upper",
        "n_resamples",
        "seed",
        "reason",
    ):
        assert key in d
    assert (d["n_groups"], d["n_strata"], d["df"]) == (3, 2, 2)
    json.dumps(d, allow_nan=False)


def test_no_information_gives_p_one():
    """Hand: groups never mixed within a stratum -> every assignment has T = 0, df = 0, p = 1
    (the chi-square test says "0 on 0 df, p = 1")."""
    t, e, g = [3, 1, 5, 3, 5, 1], [1, 0, 1, 1, 1, 1], [0, 1, 1, 0, 1, 1]
    r = logrank_exact(t, e, g, strata=g)
    assert (r.df, r.chisq, r.p_value) == (0, 0.0, 1.0)
    mc = logrank_permutation(t, e, g, strata=g, n_resamples=99, seed=1)
    assert mc.p_value == 1.0

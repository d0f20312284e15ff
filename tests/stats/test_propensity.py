"""Propensity weights, nearest-neighbour matching and balance (survstudy.stats.propensity)."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest

from survstudy.errors import AnalysisError
from survstudy.stats.logistic import logistic_fit
from survstudy.stats.propensity import (
    BalanceColumn,
    balance_table,
    few_events_warnings,
    kish_ess,
    nearest_neighbour_match,
    propensity_weights,
)

from ._ps_ref import DATASETS, arr, balance_columns, design, fixtures, outcome

# ----------------------------------------------------------------------------- by hand


def test_weights_by_hand() -> None:
    """Hand calculation of ATE (stabilised and not), ATT and overlap weights and Kish's ESS.

    e = (0.2, 0.5, 0.8) treated, (0.25, 0.5) control; p̄ = 3/5.
    """
    e = np.array([0.2, 0.5, 0.8, 0.25, 0.5])
    t = np.array([1, 1, 1, 0, 0])
    ate = propensity_weights(e, t, estimand="ATE")
    np.testing.assert_allclose(
        ate.weights, [0.6 / 0.2, 0.6 / 0.5, 0.6 / 0.8, 0.4 / 0.75, 0.4 / 0.5]
    )
    raw = propensity_weights(e, t, estimand="ATE", stabilise=False)
    np.testing.assert_allclose(raw.weights, [5.0, 2.0, 1.25, 4 / 3, 2.0])
    att = propensity_weights(e, t, estimand="ATT")
    np.testing.assert_allclose(att.weights, [1.0, 1.0, 1.0, 0.25 / 0.75, 1.0])
    ov = propensity_weights(e, t, estimand="overlap")
    np.testing.assert_allclose(ov.weights, [0.8, 0.5, 0.2, 0.25, 0.5])
    # Kish: (3 + 1.2 + 0.75)^2 / (9 + 1.44 + 0.5625)
    assert ate.ess_treated == pytest.approx(4.95**2 / 11.0025, rel=1e-14)
    assert kish_ess([1.0, 1.0, 2.0]) == pytest.approx(16 / 6, rel=1e-14)
    assert ate.max_weight == pytest.approx(3.0)


def test_trimming_and_truncation_by_hand() -> None:
    """Hand calculation of type-7 quantiles: for e = 0.1, 0.2, ..., 0.9, 0.95 the 10 % and
    90 % quantiles are 0.1 + 0.9·0.1 = 0.19 and 0.9 + 0.1·0.05 = 0.905, so the patients at
    0.1 and 0.95 are dropped; truncation at the 25 %/75 % quantiles of the kept weights
    clips them to those quantiles (computed by hand below)."""
    e = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95])
    t = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
    r = propensity_weights(e, t, estimand="ATE", stabilise=False, trim=(0.1, 0.9))
    assert r.trim_limits == pytest.approx((0.19, 0.905))
    assert r.kept.tolist() == [False] + [True] * 8 + [False]
    assert r.n_trimmed == 2
    assert r.weights[0] == 0
    assert r.weights[-1] == 0
    kept_w = np.where(t[1:9] == 1, 1 / e[1:9], 1 / (1 - e[1:9]))
    np.testing.assert_allclose(r.weights[1:9], kept_w)
    # truncation: sorted kept weights and their type-7 quartiles by hand
    s = sorted(kept_w)
    q25 = s[1] + 0.75 * (s[2] - s[1])  # h = 7·0.25 = 1.75
    q75 = s[5] + 0.25 * (s[6] - s[5])  # h = 7·0.75 = 5.25
    r2 = propensity_weights(
        e, t, estimand="ATE", stabilise=False, trim=(0.1, 0.9), truncate=(0.25, 0.75)
    )
    assert r2.truncate_limits == pytest.approx((q25, q75))
    np.testing.assert_allclose(r2.weights[1:9], np.clip(kept_w, q25, q75))
    assert r2.n_truncated == int(np.sum((kept_w < q25) | (kept_w > q75)))


def test_weight_warnings() -> None:
    """Hand-made cases: a weight above 10 (e = 0.05 unstabilised: 20) and an ESS below half of n."""
    e = np.array([0.05, 0.5, 0.5, 0.5, 0.5, 0.5])
    t = np.array([1, 1, 1, 0, 0, 0])
    r = propensity_weights(e, t, estimand="ATE", stabilise=False)
    codes = [w.code for w in r.warnings]
    assert "EXTREME-WEIGHT" in codes
    # treated weights (20, 2, 2): ESS = 576 / 408 = 1.41 < 3/2
    assert "LOW-ESS" in codes
    low = next(w for w in r.warnings if w.code == "LOW-ESS")
    assert low.context["group"] == "treated"
    assert low.context["ess"] == pytest.approx(24**2 / 408)
    ok = propensity_weights(np.full(6, 0.5), t, estimand="ATE")
    assert ok.warnings == ()


def test_weight_errors() -> None:
    """User errors: a propensity of exactly 0 or 1, a bad estimand, bad trim quantiles."""
    t = np.array([1, 0, 1, 0])
    with pytest.raises(AnalysisError, match="strictly between"):
        propensity_weights([0.2, 0.0, 0.5, 0.5], t)
    with pytest.raises(AnalysisError, match="estimand"):
        propensity_weights([0.2, 0.3, 0.5, 0.5], t, estimand="ATC")
    with pytest.raises(AnalysisError, match="trim"):
        propensity_weights([0.2, 0.3, 0.5, 0.5], t, trim=(0.9, 0.1))


def test_few_events() -> None:
    """Hand-made: 9 events among the treated, 10 among the controls -> one FEW-EVENTS."""
    t = np.array([1] * 20 + [0] * 20)
    ev = np.array([1] * 9 + [0] * 11 + [1] * 10 + [0] * 10)
    w = few_events_warnings(t, ev)
    assert [(x.code, x.context["group"], x.context["events"]) for x in w] == [
        ("FEW-EVENTS", "treated", 9)
    ]


def test_matching_by_hand() -> None:
    """Hand calculation of greedy matching in MatchIt's order (largest distance first).

    Treated T1 = 2.0, T2 = 1.0, T3 = 0.0; controls C1 = 1.9, C2 = 1.2, C3 = 0.95, C4 = -0.5.
    T1 takes C1 (0.1 away); T2 takes C3 (0.05, nearer than C2's 0.2); T3 takes C4 (0.5).
    With a caliper of 0.3 on the distance T3 finds nobody (C4 0.5, C2 1.2 away).
    Ratio 2: the second round gives T1 the nearest left, C2 (0.8); T2 and T3 find none.
    Weights: C1, C2 share T1 (1/2 each), C3 and C4 have 1; rescaled to sum to 4 controls:
    2/3, 2/3, 4/3, 4/3.
    """
    d = np.array([2.0, 1.0, 0.0, 1.9, 1.2, 0.95, -0.5])
    t = np.array([1, 1, 1, 0, 0, 0, 0])
    m = nearest_neighbour_match(d, t, caliper=None)
    assert m.pairs() == [(0, [3]), (1, [5]), (2, [6])]
    assert m.pair.tolist() == [0, 1, 2, 0, -1, 1, 2]
    sd = statistics.stdev(d.tolist())
    m2 = nearest_neighbour_match(d, t, caliper=0.3 / sd)
    assert m2.caliper_distance == pytest.approx(0.3)
    assert m2.pairs() == [(0, [3]), (1, [5])]
    assert (m2.n_unmatched_treated, m2.n_unmatched_control) == (1, 2)
    assert [w.code for w in m2.warnings] == ["UNMATCHED-TREATED"]
    m3 = nearest_neighbour_match(d, t, caliper=None, ratio=2)
    assert m3.pairs() == [(0, [3, 4]), (1, [5]), (2, [6])]
    np.testing.assert_allclose(m3.weights, [1, 1, 1, 2 / 3, 2 / 3, 4 / 3, 4 / 3])


def test_matching_tie_goes_to_the_lower_distance() -> None:
    """Hand: controls at 0.9 and 1.1 are equally far from a treated patient at 1.0; MatchIt
    takes the one below. Order 'smallest' processes 0.0 before 1.0."""
    d = np.array([1.0, 1.1, 0.9])
    t = np.array([1, 0, 0])
    assert nearest_neighbour_match(d, t, caliper=None).pairs() == [(0, [2])]
    d2 = np.array([1.0, 0.0, 0.45, 0.6])
    t2 = np.array([1, 1, 0, 0])
    # largest first: 1.0 takes 0.6, then 0.0 takes 0.45; smallest first: 0.0 takes 0.45 too
    assert nearest_neighbour_match(d2, t2, caliper=None).pairs() == [(0, [3]), (1, [2])]
    d3 = np.array([0.5, 0.0, 0.3, 0.9])
    # smallest first: 0.0 takes 0.3, then 0.5 takes 0.9; largest first: 0.5 takes 0.3, 0.0 takes 0.9
    assert nearest_neighbour_match(d3, t2, caliper=None, order="smallest").pairs() == [
        (0, [3]),
        (1, [2]),
    ]
    assert nearest_neighbour_match(d3, t2, caliper=None).pairs() == [(0, [2]), (1, [3])]


def _naive_match(d, t, ratio, cal, order):
    """Naive oracle: MatchIt's rule written as plain scans over the sorted list."""
    n = len(d)
    srt = sorted(range(n), key=lambda i: (d[i], i))
    pos = {i: k for k, i in enumerate(srt)}
    treated = [i for i in range(n) if t[i] == 1]
    if order == "largest":
        treated = sorted(treated, key=lambda i: (-d[i], i))
    elif order == "smallest":
        treated = sorted(treated, key=lambda i: (d[i], i))
    used: set[int] = set()
    out = {i: [] for i in treated}
    for _ in range(ratio):
        for i in treated:
            cands = []
            for step in (-1, 1):
                k = pos[i] + step
                while 0 <= k < n and (t[srt[k]] == 1 or srt[k] in used):
                    k += step
                if 0 <= k < n and abs(d[srt[k]] - d[i]) <= cal:
                    cands.append(srt[k])
            if not cands:
                continue
            if len(cands) == 2:
                c = cands[0] if abs(d[cands[0]] - d[i]) <= abs(d[cands[1]] - d[i]) else cands[1]
            else:
                c = cands[0]
            out[i].append(c)
            used.add(c)
    return sorted((i, cs) for i, cs in out.items() if cs)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(
    ("ratio", "caliper", "order"),
    [(1, 0.2, "largest"), (2, 0.1, "largest"), (3, None, "smallest"), (1, 0.05, "data")],
)
def test_matching_against_naive_oracle(
    seed: int, ratio: int, caliper: float | None, order: str
) -> None:
    """Naive oracle: the path-compressed search equals a plain scan on random distances
    rounded to 2 decimals (many ties between and within groups)."""
    rng = np.random.default_rng(seed)
    n = 120
    d = np.round(rng.normal(0, 1, n), 2)
    t = (rng.random(n) < 0.35).astype(int)
    m = nearest_neighbour_match(d, t, ratio=ratio, caliper=caliper, order=order)
    cal = math.inf if caliper is None else caliper * statistics.stdev(d.tolist())
    assert m.pairs() == _naive_match(d.tolist(), t.tolist(), ratio, cal, order)


# ----------------------------------------------------------------------------- R reference


def _ps(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, names = design(name)
    treat, _, _ = outcome(name)
    fit = logistic_fit(x, treat, term_names=names)
    return fit.fitted, fit.linear_predictor, treat


def _cases(kind: str) -> list[tuple[str, str]]:
    return [(ds, sc) for ds in DATASETS for sc in fixtures()[ds][kind]]


@pytest.mark.parametrize(("name", "scenario"), _cases("matching"))
def test_matching_equals_matchit(name: str, scenario: str) -> None:
    """R reference: MatchIt::matchit(method = "nearest", distance = "glm",
    link = "linear.logit", caliper = 0.2 / none, std.caliper = TRUE, ratio = 1 / 2):
    the same treated patients get the same controls in the same order; MatchIt's
    matching weights (1e-12: sums of 1/k rescaled), counts, caliper on the logit (1e-9,
    through the glm fit)."""
    fx = fixtures()[name]["matching"][scenario]
    _, lp, treat = _ps(name)
    m = nearest_neighbour_match(lp, treat, ratio=fx["ratio"], caliper=fx["caliper"])
    ref = [(p["treated"] - 1, [c - 1 for c in p["controls"]]) for p in fx["pairs"]]
    assert m.pairs() == sorted(ref)
    np.testing.assert_allclose(m.weights, fx["weights"], rtol=1e-12, atol=1e-15)
    assert m.n_matched_treated == fx["n_matched_treated"]
    assert m.n_matched_control == fx["n_matched_control"]
    if fx["caliper"] is None:
        assert m.caliper_distance is None
    else:
        assert m.caliper_distance == pytest.approx(fx["caliper_logit"], rel=1e-9)
    np.testing.assert_allclose([m.ess_control, m.ess_treated], fx["ess"], rtol=1e-12)


def _check_balance(rows, ref) -> None:
    assert [(r.variable, r.level) for r in rows] == [(b["variable"], b["level"]) for b in ref]
    assert [r.binary for r in rows] == [b["binary"] for b in ref]
    # SMDs rest on the propensity scores (agree to ~1e-12): 1e-8 relative, and 1e-10
    # absolute for SMDs that adjustment has driven to ~0 (overlap weights balance means exactly)
    np.testing.assert_allclose(
        [r.smd_before for r in rows], arr([b["smd_before"] for b in ref]), rtol=1e-12
    )
    np.testing.assert_allclose(
        [r.smd_after for r in rows], arr([b["smd_after"] for b in ref]), rtol=1e-8, atol=1e-10
    )
    vb = [np.nan if r.variance_ratio_before is None else r.variance_ratio_before for r in rows]
    va = [np.nan if r.variance_ratio_after is None else r.variance_ratio_after for r in rows]
    np.testing.assert_allclose(vb, arr([b["variance_ratio_before"] for b in ref]), rtol=1e-12)
    np.testing.assert_allclose(va, arr([b["variance_ratio_after"] for b in ref]), rtol=1e-9)


@pytest.mark.parametrize(("name", "scenario"), _cases("matching"))
def test_matched_balance(name: str, scenario: str) -> None:
    """R reference (formulas in propensity.R, cobalt's conventions): SMD before/after with the
    treated SD as denominator (ATT), variance ratios with cov.wt(method = "unbiased")."""
    fx = fixtures()[name]["matching"][scenario]
    _, lp, treat = _ps(name)
    m = nearest_neighbour_match(lp, treat, ratio=fx["ratio"], caliper=fx["caliper"])
    rows, _ = balance_table(balance_columns(name), treat, m.weights, "ATT")
    _check_balance(rows, fx["balance"])


@pytest.mark.parametrize(("name", "scenario"), _cases("weighting"))
def test_weights_and_balance(name: str, scenario: str) -> None:
    """R reference (formulas in propensity.R): trimmed patients and limits (R's quantile
    type 7), truncation limits, weight sums and maximum, Kish ESS (1e-12 on top of the
    propensity scores' 1e-12), balance before and after."""
    fx = fixtures()[name]["weighting"][scenario]
    ps, _, treat = _ps(name)
    r = propensity_weights(
        ps,
        treat,
        estimand=fx["estimand"],
        stabilise=fx["stabilise"],
        trim=fx["trim"],
        truncate=fx["truncate"],
    )
    assert sorted(np.flatnonzero(~r.kept).tolist()) == [i - 1 for i in fx["dropped"]]
    assert r.n_kept == fx["n_kept"]
    if fx["trim"] is not None:
        np.testing.assert_allclose(r.trim_limits, fx["trim_limits"], rtol=1e-11)
    if fx["truncate"] is not None:
        np.testing.assert_allclose(r.truncate_limits, fx["truncate_limits"], rtol=1e-11)
    t = treat == 1
    sums = [r.weights[r.kept & ~t].sum(), r.weights[r.kept & t].sum()]
    np.testing.assert_allclose(sums, fx["weight_sum"], rtol=1e-11)
    assert r.max_weight == pytest.approx(fx["weight_max"], rel=1e-11)
    np.testing.assert_allclose([r.ess_control, r.ess_treated], fx["ess"], rtol=1e-11)
    rows, warns = balance_table(balance_columns(name), treat, r.weights, fx["estimand"])
    _check_balance(rows, fx["balance"])
    assert [w.context["variable"] for w in warns] == [x.variable for x in rows if x.imbalanced]


def test_balance_by_hand() -> None:
    """Hand calculation of the SMD with a binary and a continuous column.

    Treated x = (1, 0, 1), control x = (0, 0, 1): p1 = 2/3, p0 = 1/3; pooled SD
    sqrt((2/9 + 2/9)/2) = sqrt(2)/3. Weights (1, 1, 2 | 1, 1, 1): weighted p1 = 3/4.
    SMD before (2/3 - 1/3)/(sqrt 2/3) = 1/sqrt 2; after (3/4 - 1/3)/(sqrt 2/3).
    Continuous z treated (1, 2, 6), control (1, 2, 3): s1² = 7, s0² = 1; ATT denominator
    sqrt 7; weighted mean treated (1 + 2 + 12)/4 = 3.75; variance ratio before 7.
    Weighted variance (1, 1, 2 on 1, 2, 6): m = 3.75, Σw(z - m)² = 7.5625 + 3.0625 + 10.125
    = 20.75, times Σw / ((Σw)² - Σw²) = 4 / (16 - 6).
    """
    t = np.array([1, 1, 1, 0, 0, 0])
    w = np.array([1.0, 1, 2, 1, 1, 1])
    x = np.array([1.0, 0, 1, 0, 0, 1])
    z = np.array([1.0, 2, 6, 1, 2, 3])
    rows, _ = balance_table([BalanceColumn("x", x, "yes"), BalanceColumn("z", z)], t, w, "ATE")
    bx, bz = rows
    assert bx.binary
    assert not bz.binary
    assert bx.smd_before == pytest.approx((1 / 3) / (math.sqrt(2) / 3))
    assert bx.smd_after == pytest.approx((3 / 4 - 1 / 3) / (math.sqrt(2) / 3))
    assert bx.variance_ratio_before is None
    assert bz.variance_ratio_before == pytest.approx(7.0)
    assert bz.variance_ratio_after == pytest.approx((20.75 * 4 / 10) / 1.0)
    rows_att, _ = balance_table([BalanceColumn("z", z)], t, w, "ATT")
    assert rows_att[0].smd_after == pytest.approx((3.75 - 2.0) / math.sqrt(7.0))
    assert rows_att[0].imbalanced

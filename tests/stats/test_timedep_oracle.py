"""Counting-process data: hand-solved risk sets, a naive oracle, identities and properties.

Kinds of truth (per test): hand calculation (a 5-row data set with delayed entry
solved on paper), naive oracle (loop-based partial likelihood, score and
information with every risk set formed directly as ``start < t ≤ stop``, on seeded
random data with ties, strata and weights), identity (splitting an interval with
unchanged covariates changes nothing; all starts below every time = right-censored
data), finite difference (score and information of the objective).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from survstudy.errors import AnalysisError
from survstudy.stats import _cox_objective as obj
from survstudy.stats.cox import cox_fit
from survstudy.stats.km import kaplan_meier
from survstudy.stats.logrank import logrank_test
from survstudy.stats.riskset import number_at_risk, risk_table
from survstudy.stats.timedep import split_at_exposure, tdc_split

# --------------------------------------------------------------------------- hand

# Five rows (start, stop], event, x. Event times 3, 4, 5.
#   t = 3: at risk rows 1 (0,3], 2 (1,5], 3 (2,4]   (row 4 starts at 4, row 5 ended at 2)
#   t = 4: rows 2, 3                              (row 4: start 4 is not < 4)
#   t = 5: rows 2, 4
# With u = exp(beta): l(beta) = [b - log(1 + 2u)] + [b - log(1 + u)] + [0 - log(1 + u)],
# U = 2 - 2u/(1+2u) - 2u/(1+u) = 0  <=>  u^2 - u - 1 = 0  <=>  u = golden ratio.
HAND_START = np.array([0.0, 1.0, 2.0, 4.0, 0.0])
HAND_STOP = np.array([3.0, 5.0, 4.0, 6.0, 2.0])
HAND_EVENT = np.array([1, 1, 1, 0, 0])
HAND_X = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
PHI = (1 + math.sqrt(5)) / 2


def _hand_fit(ties: str = "breslow") -> object:
    return cox_fit(HAND_X[:, None], HAND_STOP, HAND_EVENT, start=HAND_START, ties=ties)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_hand_cox_with_delayed_entry(ties: str) -> None:
    """Hand calculation: beta-hat = log(golden ratio); l(0) = -log 12; score test 2/13
    (U(0) = 1/3, I(0) = 2/9 + 1/4 + 1/4 = 13/18); SE = I(beta-hat)^-1/2 with
    I = 2u/(1+2u)^2 + 2u/(1+u)^2; no tied deaths, so Efron = Breslow."""
    r = _hand_fit(ties)
    # Newton stops at a relative change of 1e-9 in l (R's rule): beta within ~1e-9 of the root
    assert r.coef[0] == pytest.approx(math.log(PHI), rel=1e-8)
    assert r.loglik_null == pytest.approx(-math.log(12.0), rel=1e-14)
    u = PHI
    ll = 2 * math.log(u) - math.log(1 + 2 * u) - 2 * math.log(1 + u)
    assert r.loglik == pytest.approx(ll, rel=1e-12)
    info = 2 * u / (1 + 2 * u) ** 2 + 2 * u / (1 + u) ** 2
    assert r.se[0] == pytest.approx(1 / math.sqrt(info), rel=1e-8)
    assert r.tests["score"].statistic == pytest.approx(2 / 13, rel=1e-12)
    # Breslow cumulative hazard at x = 0: 1/(1+2u), then 1/(1+u) at 4 and at 5
    bh = r.baseline
    inc = np.diff(np.concatenate(([0.0], bh.cumhaz)))
    want = {3.0: 1 / (1 + 2 * u), 4.0: 1 / (1 + u), 5.0: 1 / (1 + u)}
    for t, h in zip(bh.time, inc, strict=True):
        assert h == pytest.approx(want.get(float(t), 0.0), rel=1e-8, abs=1e-15)


def test_hand_km_with_delayed_entry() -> None:
    """Hand calculation: n at risk 3 (t = 2: rows 1, 2, 5), 3, 2, 2, 1 at t = 2..6;
    S = 2/3, 1/3, 1/6; Greenwood sums 1/6, 2/3, 7/6."""
    r = kaplan_meier(HAND_STOP, HAND_EVENT, start=HAND_START)
    np.testing.assert_array_equal(r.time, [2, 3, 4, 5, 6])
    np.testing.assert_array_equal(r.n_risk, [3, 3, 2, 2, 1])
    np.testing.assert_allclose(r.survival, [1, 2 / 3, 1 / 3, 1 / 6, 1 / 6], rtol=1e-15)
    np.testing.assert_allclose(r.var_log_survival, [0, 1 / 6, 2 / 3, 7 / 6, 7 / 6], rtol=1e-15)
    np.testing.assert_allclose(
        r.std_err[1:4],
        [2 / 3 * math.sqrt(1 / 6), 1 / 3 * math.sqrt(2 / 3), 1 / 6 * math.sqrt(7 / 6)],
        rtol=1e-14,
    )
    # exact count at any time (start < t <= stop), including between stop times
    np.testing.assert_array_equal(
        number_at_risk([0.5, 1.5, 2.5, 4.0, 4.5, 6.0, 7.0], HAND_STOP, start=HAND_START),
        [2, 3, 3, 2, 2, 1, 0],
    )


def test_hand_logrank_with_delayed_entry() -> None:
    """Hand calculation: O - E = 1/3 + 1/2 - 1/2, V = 2/9 + 1/4 + 1/4 = 13/18, chi2 = 2/13
    (= the Cox score test: no tied deaths)."""
    r = logrank_test(HAND_STOP, HAND_EVENT, HAND_X.astype(int), start=HAND_START)
    assert r.statistic == pytest.approx(2 / 13, rel=1e-14)
    assert r.observed[1] - r.expected[1] == pytest.approx(1 / 3, rel=1e-14)
    assert r.variance[1, 1] == pytest.approx(13 / 18, rel=1e-14)
    assert r.n.tolist() == [2, 3]  # rows per group


# --------------------------------------------------------------------------- naive oracle


def _random_cp(n: int, p: int, seed: int, n_strata: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    start = rng.integers(0, 30, n).astype(float)
    stop = start + rng.integers(1, 40, n)
    return {
        "x": rng.normal(size=(n, p)),
        "start": start,
        "stop": stop,
        "event": rng.random(n) < 0.5,
        "strata": rng.integers(0, n_strata, n),
        "weights": rng.uniform(0.5, 2.0, n),
    }


def naive(
    d: dict[str, np.ndarray], beta: np.ndarray, ties: str, weighted: bool
) -> tuple[float, np.ndarray, np.ndarray]:
    """Naive oracle: loop over strata and distinct event times; each risk set formed
    directly as start < t <= stop; Efron's d-step weights written out per death."""
    x, t0, t1, ev, st = d["x"], d["start"], d["stop"], d["event"], d["strata"]
    w = d["weights"] if weighted else np.ones(len(t1))
    p = x.shape[1]
    r = np.exp(x @ beta)
    ll, u, info = 0.0, np.zeros(p), np.zeros((p, p))
    for s in np.unique(st):
        for t in np.unique(t1[ev & (st == s)]):
            risk = (st == s) & (t0 < t) & (t <= t1)
            dead = risk & ev & (t1 == t)
            nd = int(dead.sum())
            wd = w[dead].sum()
            ll += float(w[dead] @ (x[dead] @ beta))
            u += w[dead] @ x[dead]
            for k in range(nd):
                f = k / nd if ties == "efron" else 0.0
                wr = w * r * (risk - f * dead)
                s0 = wr.sum()
                s1 = wr @ x
                s2 = (x * wr[:, None]).T @ x
                m = wd / nd if ties == "efron" else wd
                if ties == "breslow" and k > 0:
                    break
                ll -= m * math.log(s0)
                u -= m * s1 / s0
                info += m * (s2 / s0 - np.outer(s1, s1) / s0**2)
    return ll, u, info


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_objective_matches_naive_oracle(ties: str, seed: int) -> None:
    """Naive oracle: l, U and I of the counting-process objective at random beta (seeded
    data with tied stop/start times, 3 strata, case weights)."""
    d = _random_cp(300, 3, seed, n_strata=3)
    beta = np.random.default_rng(seed + 10).normal(scale=0.5, size=3)
    for weighted in (False, True):
        data = obj.prepare(
            d["x"],
            d["stop"],
            d["event"],
            strata=d["strata"],
            weights=d["weights"] if weighted else None,
            ties=ties,
            start=d["start"],
        )
        o = obj.evaluate(data, beta)
        ll, u, info = naive(d, beta, ties, weighted)
        assert o.loglik == pytest.approx(ll, rel=1e-12)
        np.testing.assert_allclose(o.score, u, rtol=1e-10, atol=1e-10)
        assert o.information is not None
        np.testing.assert_allclose(o.information, info, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_score_and_information_finite_differences(ties: str) -> None:
    """Finite difference: U = dl/dbeta and I = -dU/dbeta (central differences, h = 1e-6;
    agreement 1e-6 relative, the truncation + rounding error of the differences)."""
    d = _random_cp(200, 2, 7, n_strata=2)
    data = obj.prepare(
        d["x"],
        d["stop"],
        d["event"],
        strata=d["strata"],
        weights=d["weights"],
        ties=ties,
        start=d["start"],
    )
    beta = np.array([0.3, -0.2])
    o = obj.evaluate(data, beta)
    h = 1e-6
    for j in range(2):
        e = np.zeros(2)
        e[j] = h
        lp = obj.evaluate(data, beta + e)
        lm = obj.evaluate(data, beta - e)
        assert o.score[j] == pytest.approx((lp.loglik - lm.loglik) / (2 * h), rel=1e-6)
        assert o.information is not None
        np.testing.assert_allclose(-(lp.score - lm.score) / (2 * h), o.information[:, j], rtol=1e-6)


def test_score_residuals_sum_to_score_and_match_oracle() -> None:
    """Identity: score residuals add up to U(beta); naive oracle: each row's residual is
    the sum over the event times in its own interval of w(x - a(t)) dN - w r (x - a) dA."""
    d = _random_cp(80, 2, 11)
    data = obj.prepare(d["x"], d["stop"], d["event"], ties="breslow", start=d["start"])
    beta = np.array([0.4, -0.3])
    res = obj.score_residuals(data, beta)
    np.testing.assert_allclose(res.sum(axis=0), obj.evaluate(data, beta).score, atol=1e-10)
    x, t0, t1, ev = d["x"], d["start"], d["stop"], d["event"]
    r = np.exp(x @ beta)
    want = np.zeros_like(x)
    for t in np.unique(t1[ev]):
        risk = (t0 < t) & (t <= t1)
        dead = risk & ev & (t1 == t)
        s0 = r[risk].sum()
        a = (r[risk] @ x[risk]) / s0
        dh = dead.sum() / s0
        want[dead] += x[dead] - a
        want[risk] -= (r[risk] * dh)[:, None] * (x[risk] - a)
    got = np.empty_like(res)
    got[data.order] = res
    np.testing.assert_allclose(got, want, atol=1e-12)


# --------------------------------------------------------------------------- identities


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_splitting_with_unchanged_covariates_changes_nothing(ties: str) -> None:
    """Identity: cutting each patient's follow-up at arbitrary times, covariates copied,
    leaves every risk set and so the whole Cox fit (and its robust SE with the patient as
    cluster) unchanged; the KM is unchanged too."""
    rng = np.random.default_rng(5)
    n = 120
    x = rng.normal(size=(n, 2))
    t = rng.integers(1, 60, n).astype(float)
    e = rng.random(n) < 0.6
    ref = cox_fit(x, t, e, ties=ties, robust=True)
    cut = np.where(rng.random(n) < 0.7, np.floor(t * rng.random(n)), np.nan)
    sp = split_at_exposure(np.zeros(n), t, e, cut)
    assert sp.n > n
    got = cox_fit(x[sp.patient], sp.stop, sp.event, start=sp.start, ties=ties, cluster=sp.patient)
    np.testing.assert_allclose(got.coef, ref.coef, rtol=1e-10)
    np.testing.assert_allclose(got.se, ref.se, rtol=1e-10)
    assert got.robust_se is not None
    assert ref.robust_se is not None
    np.testing.assert_allclose(got.robust_se, ref.robust_se, rtol=1e-9)
    assert got.loglik == pytest.approx(ref.loglik, rel=1e-12)
    np.testing.assert_allclose(got.baseline.cumhaz[-1], ref.baseline.cumhaz[-1], rtol=1e-10)
    k0 = kaplan_meier(t, e)
    k1 = kaplan_meier(sp.stop, sp.event, start=sp.start)
    s0 = k0.survival_at(np.arange(0, 60))
    s1 = k1.survival_at(np.arange(0, 60))
    np.testing.assert_allclose(s1.survival, s0.survival, rtol=1e-13)
    np.testing.assert_allclose(s1.std_err, s0.std_err, rtol=1e-12)


def test_entry_before_every_time_is_right_censored() -> None:
    """Identity: with every start below the first time the rows are right-censored data:
    the same Cox fit, KM and log-rank as without ``start``."""
    rng = np.random.default_rng(8)
    n = 90
    x = rng.normal(size=(n, 2))
    t = rng.integers(1, 30, n).astype(float)
    e = rng.random(n) < 0.5
    g = rng.integers(0, 3, n)
    s = np.full(n, -1.0)
    a, b = cox_fit(x, t, e), cox_fit(x, t, e, start=s)
    np.testing.assert_allclose(b.coef, a.coef, rtol=1e-12)
    np.testing.assert_allclose(b.se, a.se, rtol=1e-12)
    assert a.concordance is not None
    assert b.concordance is not None
    assert b.concordance.c == pytest.approx(a.concordance.c, rel=1e-14)
    assert b.concordance.se == pytest.approx(a.concordance.se, rel=1e-12)
    np.testing.assert_allclose(kaplan_meier(t, e, start=s).survival, kaplan_meier(t, e).survival)
    la, lb = logrank_test(t, e, g), logrank_test(t, e, g, start=s)
    assert lb.statistic == pytest.approx(la.statistic, rel=1e-12)


def test_blocked_path_matches_row_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Identity: the blocked large-data evaluation equals the row-wise one on (start, stop]
    data (tie groups split over many blocks, entry groups anywhere)."""
    d = _random_cp(400, 3, 21, n_strata=2)
    beta = np.array([0.2, -0.4, 0.1])
    rows = obj.evaluate(
        obj.prepare(
            d["x"],
            d["stop"],
            d["event"],
            strata=d["strata"],
            weights=d["weights"],
            start=d["start"],
        ),
        beta,
    )
    monkeypatch.setattr(obj, "_SMALL_N", 0)
    monkeypatch.setattr(obj, "_ROWS_GROUP_FRACTION", 2.0)
    monkeypatch.setattr(obj, "_BLOCK", 16)
    monkeypatch.setattr(obj, "_ECHUNK", 16)
    data = obj.prepare(
        d["x"], d["stop"], d["event"], strata=d["strata"], weights=d["weights"], start=d["start"]
    )
    assert not obj._row_path(data)
    blk = obj.evaluate(data, beta)
    assert blk.loglik == pytest.approx(rows.loglik, rel=1e-13)
    np.testing.assert_allclose(blk.score, rows.score, rtol=1e-11, atol=1e-12)
    assert blk.information is not None
    assert rows.information is not None
    np.testing.assert_allclose(blk.information, rows.information, rtol=1e-11, atol=1e-12)


# --------------------------------------------------------------------------- cancellation


def _ghost_data() -> dict[str, np.ndarray]:
    """Late intervals with a huge risk score (x = 10) and early ones with x = 0 or 1: at
    the early event times the running sum has added and removed ~e^30-sized terms."""
    rng = np.random.default_rng(3)
    m = 40
    late0 = rng.integers(50, 60, m).astype(float)
    early_stop = rng.integers(2, 12, m).astype(float)
    return {
        "x": np.concatenate((np.full(m, 10.0), rng.integers(0, 2, m)))[:, None].astype(float),
        "start": np.concatenate((late0, np.zeros(m))),
        "stop": np.concatenate((late0 + rng.integers(1, 10, m), early_stop)),
        "event": np.concatenate((rng.random(m) < 0.5, rng.random(m) < 0.7)),
        "strata": np.zeros(2 * m, dtype=int),
        "weights": np.ones(2 * m),
    }


@pytest.mark.parametrize("blocked", [False, True])
def test_removed_rows_do_not_swamp_small_risk_sets(
    blocked: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Naive oracle: at beta = 3 the removed rows outweigh the early risk sets by ~1e11;
    the running sum alone loses every digit there (checked with the guard switched off),
    the recomputed risk sets give the oracle's l, U and I to 1e-10 (row-wise and blocked);
    the score residuals still add up to U."""
    if blocked:
        monkeypatch.setattr(obj, "_SMALL_N", 0)
        monkeypatch.setattr(obj, "_ROWS_GROUP_FRACTION", 2.0)
        monkeypatch.setattr(obj, "_BLOCK", 8)
        monkeypatch.setattr(obj, "_ECHUNK", 8)
    d = _ghost_data()
    beta = np.array([3.0])
    ll, u, info = naive(d, beta, "efron", False)
    data = obj.prepare(d["x"], d["stop"], d["event"], ties="efron", start=d["start"])
    o = obj.evaluate(data, beta)
    assert o.loglik == pytest.approx(ll, rel=1e-10)
    np.testing.assert_allclose(o.score, u, rtol=1e-10)
    assert o.information is not None
    np.testing.assert_allclose(o.information, info, rtol=1e-10)
    np.testing.assert_allclose(obj.score_residuals(data, beta).sum(axis=0), u, rtol=1e-9)
    monkeypatch.setattr(obj, "_CANCEL", math.inf)
    with np.errstate(all="ignore"):
        bad = obj.evaluate(data, beta)
    assert not (math.isfinite(bad.loglik) and abs(bad.loglik - ll) < 1e-6 * abs(ll))


# --------------------------------------------------------------------------- errors


def test_start_not_before_stop_is_an_error() -> None:
    """Hand: an interval (5, 5] or (6, 5] has no time at risk: refused with the positions."""
    with pytest.raises(AnalysisError, match="start >= stop"):
        cox_fit(np.ones((3, 1)), [5.0, 6.0, 7.0], [1, 0, 1], start=[0.0, 6.0, 1.0])
    with pytest.raises(AnalysisError, match="start >= stop"):
        kaplan_meier([5.0, 6.0], [1, 0], start=[5.0, 0.0])
    with pytest.raises(AnalysisError, match="missing"):
        logrank_test([5.0, 6.0], [1, 0], [0, 1], start=[np.nan, 0.0])


# --------------------------------------------------------------------------- split and tdc


def _tmerge_loop(start, stop, event, pat, mt, mv, init):  # type: ignore[no-untyped-def]
    """Naive oracle for tdc_split: per patient, cut at the distinct measurement times
    strictly inside the follow-up; the value on (a, b] is the last measurement at or
    before a (ties: last in input order), else init."""
    out = []
    for i in range(len(stop)):
        ms = [
            (t, k, v)
            for k, (pp, t, v) in enumerate(zip(pat, mt, mv, strict=True))
            if pp == i and not math.isnan(t)
        ]
        cuts = sorted({t for t, _, _ in ms if start[i] < t < stop[i]})
        bounds = [start[i], *cuts, stop[i]]
        for a, b in itertools.pairwise(bounds):
            before = sorted((t, k, v) for t, k, v in ms if t <= a)
            val = before[-1][2] if before else init
            out.append((i, a, b, bool(event[i]) and b == stop[i], val))
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tdc_split_matches_loop_oracle(seed: int) -> None:
    """Naive oracle: tdc_split equals a per-patient loop on random measurement tables
    (ties in time, measurements before the start and after the stop, patients without any)."""
    rng = np.random.default_rng(seed)
    n = 40
    start = rng.integers(0, 5, n).astype(float)
    stop = start + rng.integers(1, 20, n)
    event = rng.random(n) < 0.5
    k = 120
    pat = rng.integers(0, n, k)
    mt = rng.integers(-3, 25, k).astype(float)
    mt[rng.random(k) < 0.05] = np.nan
    mv = rng.normal(size=k)
    sp = tdc_split(start, stop, event, pat, mt, mv, init=-9.0)
    want = _tmerge_loop(start, stop, event, pat, mt, mv, -9.0)
    got = [
        (int(p), float(a), float(b), bool(e), float(v))
        for p, a, b, e, v in zip(sp.patient, sp.start, sp.stop, sp.event, sp.value, strict=True)
    ]
    assert got == want


def test_risk_table_with_entry_matches_oracle() -> None:
    """Naive oracle: n at risk per group at every stop time = #(start < t <= stop) by group."""
    d = _random_cp(150, 1, 4)
    g = np.random.default_rng(4).integers(0, 3, 150)
    rt = risk_table(d["stop"], d["event"], g, n_groups=3, start=d["start"])
    for i, t in enumerate(rt.time):
        for k in range(3):
            m = (g == k) & (d["start"] < t) & (t <= d["stop"])
            assert rt.n_risk[i, k] == m.sum()
            assert rt.n_event[i, k] == (m & d["event"] & (d["stop"] == t)).sum()
    q = np.linspace(-1, 80, 200)
    nr = number_at_risk(q, d["stop"], start=d["start"], group=g, n_groups=3)
    for i, t in enumerate(q):
        for k in range(3):
            assert nr[i, k] == ((g == k) & (d["start"] < t) & (t <= d["stop"])).sum()

"""Cumulative incidence and Gray's test: hand calculation, naive loop oracles, properties.

The oracles do everything differently from the vectorised code: one Python loop over the
distinct times (and groups), the variance summed term by term from its defining formula
(no running sums), Gray's statistic from the formulas of Gray (1988) as cmprsk's ``crstm``
writes them (running matrices c, v2, v3 updated time by time).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from survstudy.errors import AnalysisError
from survstudy.stats.competing import (
    competing_counts,
    cumulative_incidence,
    cumulative_incidence_by,
    gray_from_counts,
    gray_test,
    status_codes,
)

# --------------------------------------------------------------------------- hand calculation


def test_aalen_johansen_by_hand():
    """Hand calculation. Six patients: cause 1 at 1, cause 2 at 2, censored at 3, cause 1 and
    cause 2 tied at 4, censored at 5.

    S: 5/6 after t=1, 4/6 after t=2, 2/9 after t=4. F1 = 1/6 + (4/6)(1/3) = 7/18,
    F2 = (5/6)(1/5) + (4/6)(1/3) = 7/18. Variance of F1 at 4 (delta method, cmprsk):
    t=1: (1/36)(1 − (6/5)(2/9))² = 121/8100; t=2 (other cause): (1/36)(3/2)²(2/9)² = 1/324;
    t=4: k1 = (2/3)²/9 = 4/81 with F(4) − F_4 = 0. Total 546/8100.
    """
    res = cumulative_incidence([1, 2, 3, 4, 4, 5], [1, 2, 0, 1, 2, 0])
    assert res.causes == (1, 2)
    np.testing.assert_allclose(res.time, [1, 2, 3, 4, 5])
    np.testing.assert_allclose(res.n_risk, [6, 5, 4, 3, 1])
    np.testing.assert_allclose(res.survival, [5 / 6, 4 / 6, 4 / 6, 2 / 9, 2 / 9], rtol=1e-15)
    np.testing.assert_allclose(res.cif[:, 0], [1 / 6, 1 / 6, 1 / 6, 7 / 18, 7 / 18], rtol=1e-15)
    np.testing.assert_allclose(res.cif[:, 1], [0, 1 / 6, 1 / 6, 7 / 18, 7 / 18], rtol=1e-15)
    np.testing.assert_allclose(res.cif.sum(axis=1) + res.survival, 1.0, rtol=1e-15)
    at = res.at([4, 4.5, 6, 0.5], cause=1)
    np.testing.assert_allclose(at.std_err[:2] ** 2, 546 / 8100, rtol=1e-13)
    # variance at t=1: (1/36)(1 − 0)² = 1/36 (F(1) = F_1)
    np.testing.assert_allclose(res.variance[0, 0], 1 / 36, rtol=1e-13)
    assert math.isnan(at.cif[2])  # after the last follow-up (5): NA as timepoints()
    assert at.beyond.tolist() == [False, False, True, False]
    np.testing.assert_allclose(at.n_risk, [3, 1, 0, 6])
    assert at.cif[3] == 0
    assert at.std_err[3] == 0


# --------------------------------------------------------------------------- naive oracles


def naive_cif(time, status, cause):
    """Loop over distinct times: AJ estimate and Var F(t) = Σ_j k1_j (1 − (F(t) − F_j)/S_j)²
    + k2_j ((F(t) − F_j)/S_j)², evaluated term by term at each failure time of ``cause``."""
    t = np.asarray(time, float)
    s = np.asarray(status)
    times = sorted(set(t.tolist()))
    surv, f = 1.0, 0.0
    rows = []
    for u in times:
        r = int(np.sum(t >= u))
        d1 = int(np.sum((t == u) & (s == cause)))
        d2 = int(np.sum((t == u) & (s != 0) & (s != cause)))
        s_prev = surv
        f += s_prev * d1 / r
        surv *= 1 - (d1 + d2) / r
        rows.append((u, r, d1, d2, s_prev, surv, f))
    out_t, out_f, out_v = [], [], []
    for i, (u, *_rest) in enumerate(rows):
        ft = rows[i][6]
        v = 0.0
        for _u, r, d1, d2, s_prev, s_now, fj in rows[: i + 1]:
            a = 1 / s_now if s_now > 0 else 0.0
            if d1:
                tau = 1 - (d1 - 1) / (r - 1) if d1 > 1 else 1.0
                v += s_prev**2 * tau * d1 / r**2 * (1 - a * (ft - fj)) ** 2
            if d2 and s_now > 0:
                tau = 1 - (d2 - 1) / (r - 1) if d2 > 1 else 1.0
                v += s_prev**2 * tau * d2 / r**2 * (a * (ft - fj)) ** 2
        out_t.append(u)
        out_f.append(ft)
        out_v.append(v)
    # cmprsk reports the variance of the last failure time of the cause at or before t
    last = 0.0
    var = []
    for (_u, _r, d1, *_), v in zip(rows, out_v, strict=True):
        if d1:
            last = v
        var.append(last)
    return np.array(out_t), np.array(out_f), np.array(var)


def naive_gray(time, status, group, cause, rho=0.0):
    """Gray's score and variance, one stratum: a loop over the distinct times following the
    running-matrix bookkeeping of Gray (1988) (c, v2, v3 and v updated per time)."""
    t = np.asarray(time, float)
    s = np.asarray(status)
    g = np.asarray(group)
    levels = sorted(set(g.tolist()))
    ng = len(levels)
    gi = np.array([levels.index(v) for v in g.tolist()])
    rs = np.array([np.sum(gi == k) for k in range(ng)], float)
    skmm = np.ones(ng)
    f1m = np.zeros(ng)
    fm = 0.0
    c = np.zeros((ng, ng))
    v = np.zeros((ng - 1, ng - 1))
    v2 = np.zeros((ng - 1, ng))
    v3 = np.zeros(ng)
    score = np.zeros(ng - 1)
    for u in sorted(set(t.tolist())):
        at = t == u
        d1 = np.array([np.sum(at & (gi == k) & (s == cause)) for k in range(ng)], float)
        d2 = np.array([np.sum(at & (gi == k) & (s != 0) & (s != cause)) for k in range(ng)], float)
        nd1, nd2 = d1.sum(), d2.sum()
        skm, f1 = skmm.copy(), f1m.copy()
        if nd1 + nd2 > 0:
            tr = tq = 0.0
            for k in range(ng):
                if rs[k] > 0:
                    skm[k] = skmm[k] * (rs[k] - d1[k] - d2[k]) / rs[k]
                    f1[k] = f1m[k] + skmm[k] * d1[k] / rs[k]
                    tr += rs[k] / skmm[k]
                    tq += rs[k] * (1 - f1m[k]) / skmm[k]
            f = fm + nd1 / tr
            fb = (1 - fm) ** rho
            a = np.zeros((ng, ng))
            for i in range(ng):
                for j in range(ng):
                    if rs[i] > 0 and rs[j] > 0:
                        hi, hj = rs[i] / skmm[i], rs[j] / skmm[j]
                        a[i, j] = fb * (hi * (1 - hi / tr) if i == j else -hi * hj / tr)
            c += a * nd1 / (tr * (1 - fm))
            for i in range(ng - 1):
                if rs[i] > 0:
                    score[i] += fb * (d1[i] - nd1 * rs[i] * (1 - f1m[i]) / (skmm[i] * tq))
            if nd1 > 0:
                for k in range(ng):
                    if rs[k] <= 0:
                        continue
                    t4 = 1 - (1 - f) / skm[k] if skm[k] > 0 else 1.0
                    t5 = 1 - (nd1 - 1) / (tr * skmm[k] - 1) if nd1 > 1 else 1.0
                    t3 = t5 * skmm[k] * nd1 / (tr * rs[k])
                    v3[k] += t4 * t4 * t3
                    for i in range(ng - 1):
                        t1 = a[i, k] - t4 * c[i, k]
                        v2[i, k] += t1 * t4 * t3
                        for j in range(ng - 1):
                            v[i, j] += t1 * (a[j, k] - t4 * c[j, k]) * t3
            for k in range(ng):
                if skm[k] <= 0 or d2[k] <= 0:
                    continue
                t4 = (1 - f) / skm[k]
                t5 = 1 - (d2[k] - 1) / (rs[k] - 1) if d2[k] > 1 else 1.0
                t3 = t5 * skmm[k] ** 2 * d2[k] / rs[k] ** 2
                v3[k] += t4 * t4 * t3
                for i in range(ng - 1):
                    t1 = t4 * c[i, k]
                    v2[i, k] -= t1 * t4 * t3
                    for j in range(ng - 1):
                        v[i, j] += t1 * t4 * c[j, k] * t3
            fm = f
        for k in range(ng):
            rs[k] -= np.sum(at & (gi == k))
        skmm, f1m = skm, f1
    for i in range(ng - 1):
        for j in range(ng - 1):
            for k in range(ng):
                v[i, j] += c[i, k] * c[j, k] * v3[k] + c[i, k] * v2[j, k] + c[j, k] * v2[i, k]
    return score, v


def _random(seed, n, ng=3, days=True):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, ng, n)
    t = rng.exponential(20 + 5 * g)
    c = rng.uniform(0, 60, n)
    cause = rng.choice([1, 2, 3], size=n, p=[0.5, 0.35, 0.15])
    time = np.minimum(t, c)
    if days:
        time = np.ceil(time)  # ties between failures, other causes and censorings
    status = np.where(t <= c, cause, 0)
    return time, status, g


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("days", [True, False])
def test_cif_against_naive_oracle(seed, days):
    """Naive oracle: the loop-based CIF and variance on seeded random data with three causes."""
    time, status, _ = _random(seed, 150, days=days)
    res = cumulative_incidence(time, status)
    for cause in (1, 2, 3):
        tt, ff, vv = naive_cif(time, status, cause)
        np.testing.assert_allclose(res.time, tt)
        np.testing.assert_allclose(res.cif[:, cause - 1], ff, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(res.variance[:, cause - 1], vv, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("seed", [4, 5, 6, 7])
@pytest.mark.parametrize("rho", [0.0, 1.0])
def test_gray_against_naive_oracle(seed, rho):
    """Naive oracle: Gray's score and variance from the time-by-time running matrices."""
    time, status, g = _random(seed, 120)
    for cause in (1, 2):
        cc = competing_counts(
            time,
            np.where(status == 0, 0, np.where(status == cause, 1, 2)),
            g,
            n_groups=3,
            causes=(1, 2),
        )
        score, var = gray_from_counts(cc.n_risk, cc.n_event[:, :, 0], cc.n_event[:, :, 1], rho=rho)
        s_ref, v_ref = naive_gray(time, status, g, cause, rho=rho)
        np.testing.assert_allclose(score, s_ref, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(var, v_ref, rtol=1e-9, atol=1e-12)
        res = gray_test(time, status, g, cause=cause, rho=rho)
        np.testing.assert_allclose(res.statistic, s_ref @ np.linalg.solve(v_ref, s_ref), rtol=1e-9)


def test_gray_stratified_is_sum_over_strata():
    """Naive oracle: the stratified test adds each stratum's naive score and variance."""
    time, status, g = _random(11, 200)
    st = np.random.default_rng(12).integers(0, 2, time.size)
    s_all = np.zeros(2)
    v_all = np.zeros((2, 2))
    for k in (0, 1):
        m = st == k
        s1, v1 = naive_gray(time[m], status[m], g[m], 1)
        s_all += s1
        v_all += v1
    res = gray_test(time, status, g, cause=1, strata=st)
    np.testing.assert_allclose(res.score, s_all, rtol=1e-10)
    np.testing.assert_allclose(res.variance, v_all, rtol=1e-9)
    assert res.stratified


# --------------------------------------------------------------------------- properties


def test_cif_without_competing_events_is_one_minus_km():
    """Identity: with one cause only, the CIF is 1 − Kaplan–Meier."""
    from survstudy.stats.km import kaplan_meier

    time, status, _ = _random(3, 200)
    status = (status > 0).astype(int)
    res = cumulative_incidence(time, status)
    km = kaplan_meier(time, status)
    np.testing.assert_allclose(res.cif[:, 0], 1 - km.survival, rtol=1e-13, atol=1e-15)


def test_cif_counts_equal_subject_level_by_group():
    """Property: a group's result equals the one-group fit of its own patients."""
    time, status, g = _random(8, 300)
    by = dict(cumulative_incidence_by(time, status, g, ["a", "b", "c"]))
    for code, lv in enumerate(["a", "b", "c"]):
        m = g == code
        one = cumulative_incidence(time[m], status[m], causes=(1, 2, 3))
        np.testing.assert_allclose(by[lv].cif, one.cif, rtol=1e-15)
        np.testing.assert_allclose(by[lv].variance, one.variance, rtol=1e-15)


def test_group_without_a_cause_has_flat_zero_curve():
    """Property (as cmprsk): the causes are those of the whole sample."""
    res = dict(
        cumulative_incidence_by(
            [1, 2, 3, 4, 5, 6], [1, 2, 0, 1, 1, 0], [0, 0, 0, 1, 1, 1], ["x", "y"]
        )
    )
    assert res["y"].causes == (1, 2)
    assert np.all(res["y"].cif[:, 1] == 0)
    assert res["y"].events(2) == 0
    codes = {w.code for w in res["y"].warnings}
    assert "FEW-EVENTS" in codes


def test_gray_singular_variance_is_reported_not_guessed():
    """Property: groups never at risk together at a failure time: no statistic (cmprsk,
    checked by hand in R 4.2: ``cuminc(c(1,2,3,10,11,12), c(0,0,0,1,1,0), c(1,1,1,0,0,0))``
    reports stat = −1, p = 1)."""
    res = gray_test([1, 2, 3, 10, 11, 12], [0, 0, 0, 1, 1, 0], [1, 1, 1, 0, 0, 0])
    assert math.isnan(res.statistic)
    assert math.isnan(res.p_value)
    assert res.to_dict()["statistic"] is None
    assert [w.code for w in res.warnings] == ["NO-INFORMATION"]


def test_status_validation():
    """Property: only 0 and the causes are accepted."""
    with pytest.raises(AnalysisError):
        status_codes([0, 1, -1])
    with pytest.raises(AnalysisError):
        status_codes([0, 1, 3], causes=(1, 2))
    with pytest.raises(AnalysisError):
        status_codes([0.5, 1.0])
    idx, cs = status_codes(np.array([0, 2, 5, 2]))
    assert cs == (2, 5)
    assert idx.tolist() == [0, 1, 2, 1]
    with pytest.raises(AnalysisError):
        gray_test([1, 2], [1, 0], [0, 0])


def test_few_at_risk_warning():
    """Property: fewer than max(10, 10 % of n) at risk at a chosen time within follow-up."""
    time, status, _ = _random(9, 100)
    res = cumulative_incidence(time, status)
    late = float(np.quantile(time, 0.97))
    w = res.few_at_risk(res.at([1.0, late, 1e6], 1))
    assert [x.context["time"] for x in w] == [late]


def test_results_are_json_and_picklable():
    """Property: results are plain data — to_dict() is strict JSON (NaN -> null) and they
    pickle."""
    import json
    import pickle

    from survstudy.stats.finegray import fine_gray_fit

    time, status, g = _random(13, 120)
    cif = cumulative_incidence(time, status)
    out = json.dumps(cif.to_dict(), allow_nan=False)
    assert '"cause": 3' in out
    at = cif.at([10.0, 1e6], 2).to_records()
    assert at[1]["cif"] is None
    gt = gray_test(time, status, g)
    assert set(gt.to_dict()) >= {"statistic", "df", "p_value"}
    json.dumps(gt.to_dict(), allow_nan=False)
    fg = fine_gray_fit(np.column_stack([g == 1, g == 2]).astype(float), time, status)
    json.dumps(fg.to_dict(), allow_nan=False)
    for obj in (cif, gt, fg):
        assert pickle.loads(pickle.dumps(obj)).to_dict() == obj.to_dict()

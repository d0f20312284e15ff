"""Kaplan–Meier against R's survfit / quantile / summary (R reference: tests/reference/km_logrank.R)."""

from __future__ import annotations

import numpy as np
import pytest

from survstudy.stats.km import kaplan_meier, rmst_difference

from ._km_ref import arr, close, dataset, fixtures

KM = sorted(k for k, v in fixtures().items() if v["kind"] == "km")


def _fits(fx):
    d = dataset(fx["data"])
    t = d[fx["time"]].astype(float)
    e = d[fx["event"]].astype(int)
    kw = dict(conf_type=fx["conf_type"], conf_level=fx["conf_level"], reverse=fx["reverse"])
    if fx["by"] is None:
        return [(fx["groups"][0], kaplan_meier(t, e, **kw))]
    g = d[fx["by"]]
    out = []
    for grp in fx["groups"]:
        m = g == grp["group"]
        out.append((grp, kaplan_meier(t[m], e[m], **kw)))
    return out


@pytest.mark.parametrize("name", KM)
def test_km_table(name):
    """R reference: the product-limit table, Greenwood SE of S and pointwise limits (NA -> NaN)."""
    for ref, res in _fits(fixtures()[name]):
        close(res.time, ref["time"])
        close(res.n_risk, ref["n_risk"])
        close(res.n_event, ref["n_event"])
        close(res.n_censor, ref["n_censor"])
        close(res.survival, ref["survival"])
        close(res.std_err, ref["std_err"])
        close(res.lower, ref["lower"])
        close(res.upper, ref["upper"])


@pytest.mark.parametrize("name", KM)
def test_km_quantiles(name):
    """R reference: quantile.survfit estimates and limits, None where R says NA (not reached)."""
    for ref, res in _fits(fixtures()[name]):
        probs = arr(ref["probs"])
        for i, p in enumerate(probs):
            q = res.quantile(float(p))
            got = [np.nan if v is None else v for v in (q.estimate, q.lower, q.upper)]
            want = [arr(ref["q"])[i], arr(ref["q_lower"])[i], arr(ref["q_upper"])[i]]
            np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True, err_msg=f"p={p}")


@pytest.mark.parametrize("name", KM)
def test_km_survival_at(name):
    """R reference: summary(fit, times=, extend=TRUE) up to the last observation; past
    it R's default summary(fit, times=) gives no row, and survstudy gives the row as not
    estimable (NaN, 0 at risk) — extend=TRUE's carried value is not an estimate."""
    fx = fixtures()[name]
    for ref, res in _fits(fx):
        at = res.survival_at(arr(fx["times"]))
        close(at.time, ref["at_time"])
        close(at.n_risk, ref["at_n_risk"])
        inside = arr(ref["at_time"]) <= res.time[-1]
        assert np.array_equal(at.beyond, ~inside)
        for key, mine in (
            ("at_survival", at.survival),
            ("at_std_err", at.std_err),
            ("at_lower", at.lower),
            ("at_upper", at.upper),
        ):
            close(mine[inside], arr(ref[key])[inside])
            assert np.all(np.isnan(mine[~inside]))
        assert np.all(at.n_risk[~inside] == 0)


@pytest.mark.parametrize("name", [k for k in KM if "rmean" in fixtures()[k]["groups"][0]])
def test_km_rmst(name):
    """R reference: summary(fit, rmean=tau)$table rmean and se(rmean)."""
    for ref, res in _fits(fixtures()[name]):
        r = res.rmst(ref["horizon"])
        close(r.estimate, ref["rmean"])
        close(r.std_err, ref["rmean_se"])


def test_rmst_difference_from_r_groups():
    """Hand calculation on R's per-group rmean/se: difference, SE = sqrt(sum se^2), Wald p."""
    from statistics import NormalDist

    fx = fixtures()["km_aml_by"]
    (ra, a), (rb, b) = _fits(fx)
    d = rmst_difference(a, b, 48)
    diff = ra["rmean"] - rb["rmean"]
    se = (ra["rmean_se"] ** 2 + rb["rmean_se"] ** 2) ** 0.5
    assert d.difference == pytest.approx(diff, rel=1e-6)
    assert d.std_err == pytest.approx(se, rel=1e-6)
    assert d.p_value == pytest.approx(2 * NormalDist().cdf(-abs(diff / se)), rel=1e-6)
    assert d.lower == pytest.approx(diff - 1.959963984540054 * se, rel=1e-6)


def test_reverse_km_median_followup():
    """R reference: the reverse KM (censoring as event) of lung gives R's median follow-up."""
    fx = fixtures()["km_lung_reverse"]
    d = dataset("lung")
    res = kaplan_meier(d["time"], d["ev"], reverse=True)
    q = res.median()
    i = list(arr(fx["groups"][0]["probs"])).index(0.5)
    assert q.estimate == pytest.approx(arr(fx["groups"][0]["q"])[i], rel=1e-9)


def test_no_events_flat_with_warning():
    """Hand calculation: no events -> S = 1 everywhere, median not reached, NO-EVENTS warning."""
    res = kaplan_meier([1, 2, 3], [0, 0, 0])
    assert np.all(res.survival == 1)
    assert res.median().estimate is None
    assert [w.code for w in res.warnings] == ["NO-EVENTS"]


def test_to_dict_nulls():
    """Hand calculation: S = 0 at the last time (4 deaths of 4) -> std_err/limits are None in JSON."""
    res = kaplan_meier([1, 2, 4, 5], [1, 1, 1, 1])
    last = res.to_dict()["table"][-1]
    assert last["survival"] == 0
    assert last["std_err"] is None
    assert last["lower"] is None
    assert res.to_dict()["median"] == 3.0  # midpoint of the flat segment at S = 0.5: (2 + 4) / 2


def test_km_lifelines_loglog_agrees():
    """Independent implementation: lifelines KaplanMeierFitter (its default CI is the same
    log(-log) Greenwood interval) on lung."""
    from lifelines import KaplanMeierFitter

    d = dataset("lung")
    res = kaplan_meier(d["time"], d["ev"])
    kmf = KaplanMeierFitter().fit(d["time"], d["ev"])
    s = kmf.survival_function_.iloc[1:, 0].to_numpy()  # lifelines starts with a row at t = 0
    ci = kmf.confidence_interval_.iloc[1:].to_numpy()
    np.testing.assert_allclose(res.survival, s, rtol=1e-10)
    ok = ~np.isnan(res.lower)
    np.testing.assert_allclose(res.lower[ok], ci[ok, 0], rtol=1e-6)
    np.testing.assert_allclose(res.upper[ok], ci[ok, 1], rtol=1e-6)
    assert res.median().estimate == kmf.median_survival_time_


def test_integer_weights_equal_replicated_rows():
    """Identity: frequency weight 2 on a row equals that row written twice."""
    d = dataset("aml")
    w = 1 + (np.arange(1, 24) % 3)
    a = kaplan_meier(d["time"], d["status"], weights=w)
    b = kaplan_meier(np.repeat(d["time"], w), np.repeat(d["status"], w))
    np.testing.assert_allclose(a.survival, b.survival, rtol=1e-12)
    np.testing.assert_allclose(a.std_err, b.std_err, rtol=1e-12)
    np.testing.assert_allclose(a.lower, b.lower, rtol=1e-12)

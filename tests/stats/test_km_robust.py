"""The weighted Kaplan–Meier with the infinitesimal-jackknife (robust) variance (stats.km)."""

from __future__ import annotations

import numpy as np
import pytest

from survstudy.stats.km import kaplan_meier
from survstudy.stats.logistic import logistic_fit
from survstudy.stats.propensity import nearest_neighbour_match, propensity_weights

from ._ps_ref import DATASETS, arr, design, fixtures, outcome

# R prints 15 significant digits; the curves are products/sums of a few thousand terms
# computed in a different order: 1e-10 relative, 1e-13 absolute (values near 0).
RTOL, ATOL = 1e-10, 1e-13


def _arms(name: str, weights: np.ndarray, keep: np.ndarray, cluster=None, conf_type="log-log"):
    treat, time, event = outcome(name)
    out = []
    for code in (0, 1):  # R's strata order: tr=0, tr=1
        m = keep & (treat == code)
        out.append(
            kaplan_meier(
                time[m],
                event[m],
                weights=weights[m],
                robust=True,
                cluster=None if cluster is None else cluster[m],
                conf_type=conf_type,
            )
        )
    return out


def _ps(name: str):
    x, names = design(name)
    treat, _, _ = outcome(name)
    return logistic_fit(x, treat, term_names=names), treat


def _check_at(km, ref) -> None:
    sa = km.survival_at(ref["at_time"])
    np.testing.assert_allclose(sa.survival, arr(ref["at_survival"]), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(sa.std_err, arr(ref["at_std_err"]), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(sa.lower, arr(ref["at_lower"]), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(sa.upper, arr(ref["at_upper"]), rtol=RTOL, atol=ATOL)


def _check_full(km, ref) -> None:
    np.testing.assert_array_equal(km.time, ref["time"])
    np.testing.assert_allclose(km.n_risk, ref["n_risk"], rtol=RTOL)
    np.testing.assert_allclose(km.n_event, ref["n_event"], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(km.survival, ref["survival"], rtol=RTOL)
    np.testing.assert_allclose(km.std_err, arr(ref["std_err"]), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(km.lower, arr(ref["lower"]), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(km.upper, arr(ref["upper"]), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize(
    ("name", "scenario"), [(ds, sc) for ds in DATASETS for sc in fixtures()[ds]["weighting"]]
)
def test_weighted_km_robust(name: str, scenario: str) -> None:
    """R reference: survfit(Surv(time, event) ~ treat, weights = w, robust = TRUE, id = id,
    conf.type = ...) — the whole curve (gbsg ATE) and summary(times = 27-point grid)."""
    fx = fixtures()[name]["weighting"][scenario]
    fit, treat = _ps(name)
    pw = propensity_weights(
        fit.fitted,
        treat,
        estimand=fx["estimand"],
        stabilise=fx["stabilise"],
        trim=fx["trim"],
        truncate=fx["truncate"],
    )
    arms = _arms(name, pw.weights, pw.kept, conf_type=fx["conf_type"])
    for km, ref in zip(arms, fx["km"], strict=True):
        assert km.variance == "robust"
        _check_at(km, ref)
        if "time" in ref:
            _check_full(km, ref)


@pytest.mark.parametrize(
    ("name", "scenario"), [(ds, sc) for ds in DATASETS for sc in fixtures()[ds]["matching"]]
)
def test_matched_km_cluster(name: str, scenario: str) -> None:
    """R reference: survfit(Surv ~ treat, data = match.data(m), weights = weights,
    robust = TRUE, cluster = subclass) — pairs (and 1:2 sets) as clusters."""
    fx = fixtures()[name]["matching"][scenario]
    fit, treat = _ps(name)
    m = nearest_neighbour_match(
        fit.linear_predictor, treat, ratio=fx["ratio"], caliper=fx["caliper"]
    )
    arms = _arms(name, m.weights, m.matched, cluster=m.pair)
    for km, ref in zip(arms, fx["km"], strict=True):
        _check_at(km, ref)
        if "time" in ref:
            _check_full(km, ref)


def _fd_variance(t, e, w, cluster, h=1e-6):
    """Finite-difference oracle: U_k(t) = w_k dS(t)/dw_k by central differences of the
    plain weighted product-limit estimate, summed within clusters and squared."""

    def surv(wv):
        return kaplan_meier(t, e, weights=wv).survival

    base = kaplan_meier(t, e, weights=w)
    u = np.zeros((int(cluster.max()) + 1, base.time.size))
    for k in range(t.size):
        wp, wm = w.copy(), w.copy()
        wp[k] += h * w[k]
        wm[k] -= h * w[k]
        u[cluster[k]] += (surv(wp) - surv(wm)) / (2 * h)
    return (u**2).sum(axis=0)


@pytest.mark.parametrize("clustered", [False, True])
def test_ij_variance_equals_finite_differences(clustered: bool) -> None:
    """Finite-difference derivative: the closed-form IJ variance equals Σ_c (Σ_{k∈c} w_k ∂S/∂w_k)²
    from central differences (tied times, censorings at event times, clusters spanning
    several times). Central differences with relative step 1e-6 are accurate to ~1e-9."""
    rng = np.random.default_rng(2)
    n = 40
    t = rng.integers(1, 15, n).astype(float)
    e = (rng.random(n) < 0.6).astype(float)
    w = rng.uniform(0.3, 3.0, n)
    cl = rng.integers(0, 12, n) if clustered else np.arange(n)
    km = kaplan_meier(t, e, weights=w, robust=True, cluster=cl if clustered else None)
    v = _fd_variance(t, e, w, cl)
    np.testing.assert_allclose(km.std_err**2, v, rtol=1e-7, atol=1e-14)


def test_ij_variance_when_the_curve_reaches_zero() -> None:
    """Hand calculation: when every patient at risk dies the curve is 0 and so is every
    influence (R: std.err 0). Two patients, weights 1 and 3: S = 3/4 after the first death
    at t = 1 (h = 1/4), influences w∂S/∂w: patient 1 -> -(3/4)(1 - 1/4)/(1 - 1/4)·... by hand:
    S = w2/(w1 + w2); w1 ∂S/∂w1 = -w1 w2/(w1+w2)² = -3/16, w2 ∂S/∂w2 = w1 w2/(w1+w2)² = 3/16;
    Var = 2·9/256."""
    km = kaplan_meier([1.0, 2.0], [1, 1], weights=[1.0, 3.0], robust=True)
    assert km.survival.tolist() == [0.75, 0.0]
    assert km.std_err[0] == pytest.approx(np.sqrt(2 * 9 / 256), rel=1e-14)
    assert km.std_err[1] == 0.0


def test_robust_equals_greenwood_at_the_first_death() -> None:
    """Hand calculation: unweighted, one death among n at the first time, h = 1/n,
    C = h / (n (1 - h)) = 1 / (n (n - 1)); the n - 1 survivors contribute S C each, the
    death S (C - 1/(n - 1)) = -S/n, so Var = S² [(n - 1) C² + 1/n²] = S² / (n (n - 1)),
    Greenwood's S² d / (n (n - d)) with d = 1."""
    t = np.arange(1.0, 21.0)
    e = np.ones(20)
    g = kaplan_meier(t, e)
    r = kaplan_meier(t, e, robust=True)
    assert r.std_err[0] ** 2 == pytest.approx(0.95**2 / (20 * 19), rel=1e-13)
    assert g.std_err[0] ** 2 == pytest.approx(0.95**2 / (20 * 19), rel=1e-13)

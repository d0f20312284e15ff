"""Properties of the Cox fit: invariances, finite differences, a naive oracle, lifelines.

Kinds of truth are named on each test.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from survstudy.stats import _cox_objective as obj
from survstudy.stats.cox import cox_fit, dummy_code

REF = Path(__file__).resolve().parents[1] / "reference"


def _lung() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with (REF / "data" / "lung.csv").open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if "NA" not in (r["ph.ecog"], r["age"], r["sex"])]
    x = np.array([[float(r["age"]), float(r["sex"]), float(r["ph.ecog"])] for r in rows])
    t = np.array([float(r["time"]) for r in rows])
    e = np.array([r["status"] == "2" for r in rows])
    return x, t, e


def _random(n: int, p: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p))
    t = np.ceil(rng.exponential(50, size=n) * np.exp(-x @ np.linspace(0.5, -0.5, p)))
    e = rng.random(n) < 0.7
    s = rng.integers(0, 3, size=n)
    return x, t, e, s


def naive_loglik(x: np.ndarray, t: np.ndarray, e: np.ndarray, beta: np.ndarray, ties: str) -> float:
    """Naive oracle: the partial likelihood by loops over event times (no sorting tricks)."""
    eta = x @ beta
    r = np.exp(eta)
    ll = 0.0
    for tt in np.unique(t[e]):
        dead = e & (t == tt)
        risk = t >= tt
        d = int(dead.sum())
        ll += float(eta[dead].sum())
        for k in range(d):
            f = k / d if ties == "efron" else 0.0
            ll -= math.log(r[risk].sum() - f * r[dead].sum())
    return ll


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_loglik_matches_naive_oracle(ties: str) -> None:
    """Naive oracle: loop-based partial likelihood on seeded data with many ties."""
    x, t, e, _ = _random(300, 3, 1)
    beta = np.array([0.3, -0.2, 0.1])
    d = obj.prepare(x, t, e, ties=ties)
    assert obj.evaluate(d, beta).loglik == pytest.approx(
        naive_loglik(x, t, e, beta, ties), rel=1e-12
    )


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_score_and_information_finite_differences(ties: str) -> None:
    """Finite difference: U = ∂ℓ/∂β and I = −∂U/∂β (central differences), with strata and weights."""
    x, t, e, s = _random(400, 3, 2)
    w = np.random.default_rng(3).uniform(0.5, 2.0, size=t.size)
    d = obj.prepare(x, t, e, strata=s, weights=w, ties=ties)
    beta = np.array([0.2, -0.4, 0.3])
    o = obj.evaluate(d, beta)
    h = 1e-5
    for j in range(3):
        dp = beta.copy()
        dp[j] += h
        dm = beta.copy()
        dm[j] -= h
        fp, fm = obj.evaluate(d, dp), obj.evaluate(d, dm)
        assert o.score[j] == pytest.approx((fp.loglik - fm.loglik) / (2 * h), rel=1e-6, abs=1e-6)
        assert o.information is not None
        np.testing.assert_allclose(
            o.information[:, j], -(fp.score - fm.score) / (2 * h), rtol=1e-6, atol=1e-6
        )


def test_score_residuals_sum_to_score() -> None:
    """Identity: the score residuals (dfbeta before I⁻¹) add up to U(β), Efron with strata and weights."""
    x, t, e, s = _random(300, 2, 4)
    w = np.random.default_rng(5).uniform(0.5, 2.0, size=t.size)
    for ties in ("efron", "breslow"):
        d = obj.prepare(x, t, e, strata=s, weights=w, ties=ties)
        beta = np.array([0.3, -0.1])
        np.testing.assert_allclose(
            obj.score_residuals(d, beta).sum(axis=0), obj.evaluate(d, beta).score, atol=1e-10
        )


def test_loglik_at_r_coefficients_equals_r_loglik() -> None:
    """R reference: ℓ at R's coefficients (lung, Efron) equals R's fit$loglik[2]."""
    f = json.loads((REF / "cox.json").read_text())["fixtures"]["lung_efron"]
    x, t, e = _lung()
    d = obj.prepare(x, t, e)
    assert obj.evaluate(d, np.array(f["coef"])).loglik == pytest.approx(f["loglik"][1], rel=1e-12)


@pytest.mark.parametrize("shift", [1e12, -3e6])
def test_invariant_to_shifting_a_covariate(shift: float) -> None:
    """Property: adding a constant (even 1e12) to an integer covariate changes nothing."""
    x, t, e = _lung()
    a = cox_fit(x, t, e)
    xs = x.copy()
    xs[:, 0] += shift
    b = cox_fit(xs, t, e)
    np.testing.assert_allclose(b.coef, a.coef, rtol=1e-9)
    np.testing.assert_allclose(b.se, a.se, rtol=1e-9)
    assert b.loglik == pytest.approx(a.loglik, rel=1e-12)


def test_scaling_a_covariate_scales_its_coefficient() -> None:
    """Property: x -> x/365.25 multiplies β and its SE by 365.25; tests unchanged."""
    x, t, e = _lung()
    a = cox_fit(x, t, e)
    xs = x.copy()
    xs[:, 0] /= 365.25
    b = cox_fit(xs, t, e)
    assert b.coef[0] == pytest.approx(a.coef[0] * 365.25, rel=1e-9)
    assert b.se[0] == pytest.approx(a.se[0] * 365.25, rel=1e-9)
    assert b.tests["wald"].statistic == pytest.approx(a.tests["wald"].statistic, rel=1e-9)


def test_breslow_equals_efron_without_ties() -> None:
    """Property: with no tied event times the two approximations coincide."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(200, 2))
    t = rng.permutation(200).astype(float) + 1
    e = rng.random(200) < 0.6
    a, b = cox_fit(x, t, e, ties="efron"), cox_fit(x, t, e, ties="breslow")
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-12)
    np.testing.assert_allclose(a.se, b.se, rtol=1e-12)


def test_matches_lifelines_efron() -> None:
    """Peer: lifelines CoxPHFitter (Efron, no penalty) on lung; coefficients and SEs."""
    import warnings

    pd = pytest.importorskip("pandas")
    lifelines = pytest.importorskip("lifelines")
    x, t, e = _lung()
    df = pd.DataFrame({"age": x[:, 0], "sex": x[:, 1], "ecog": x[:, 2], "T": t, "E": e.astype(int)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cph = lifelines.CoxPHFitter().fit(df, "T", "E")
    r = cox_fit(x, t, e)
    np.testing.assert_allclose(r.coef, cph.params_.to_numpy(), rtol=1e-5)
    np.testing.assert_allclose(r.se, cph.standard_errors_.to_numpy(), rtol=1e-5)


def test_dummy_code_orders_levels() -> None:
    """Hand calculation: numbers sort numerically, text as text; reference = first level."""
    m, names, levels, ref = dummy_code([10, 2, 1, 2, None], name="grade")
    assert levels == [1, 2, 10]
    assert ref == 1
    assert names == ["grade[2]", "grade[10]"]
    np.testing.assert_array_equal(m[:4], [[0, 1], [1, 0], [0, 0], [1, 0]])
    assert np.isnan(m[4]).all()
    m2, names2, _, ref2 = dummy_code(["b", "a", "c"], reference="c", name="g")
    assert ref2 == "c"
    assert names2 == ["g[a]", "g[b]"]
    np.testing.assert_array_equal(m2, [[0, 1], [1, 0], [0, 0]])


def test_no_events_is_an_error() -> None:
    """Property: no events -> AnalysisError."""
    from survstudy.errors import AnalysisError

    with pytest.raises(AnalysisError, match="no events"):
        cox_fit(np.arange(5.0)[:, None], np.arange(1.0, 6.0), np.zeros(5))


def test_pvalue_helpers_match_scipy() -> None:
    """Peer: the scipy-free chi-square and normal tails equal scipy.special's to 1e-12."""
    from scipy.special import chdtrc, ndtr, ndtri

    from survstudy.stats._dist import chi2_sf as chisq_sf
    from survstudy.stats._dist import norm_ppf as norm_quantile
    from survstudy.stats._dist import norm_sf2

    for k in range(1, 40):
        for x in (1e-6, 0.3, 1.0, 3.84, 12.5, 61.07, 250.0):
            assert chisq_sf(x, k) == pytest.approx(float(chdtrc(k, x)), rel=1e-12)
    for z in (0.0, 0.5, 1.96, -3.3, 8.0):
        assert norm_sf2(z) == pytest.approx(float(2 * ndtr(-abs(z))), rel=1e-12)
    assert norm_quantile(0.975) == pytest.approx(float(ndtri(0.975)), rel=1e-14)

"""Fine–Gray regression (survstudy.stats.finegray) and the cause-specific Cox helper.

Kinds of truth: R reference (tests/reference/competing.R: cmprsk 2.2-11 ``crr``, survival
``coxph``), a naive loop oracle of the weighted pseudo-likelihood, finite-difference
derivatives, and properties (invariance, monotone likelihood flagged).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from survstudy.errors import AnalysisError
from survstudy.stats.competing import cause_specific_cox
from survstudy.stats.cox import dummy_code
from survstudy.stats.finegray import FineGrayControl, fine_gray_fit

from ._competing_ref import arr, crr_design, dataset, fixtures, matrix

CRR = sorted(k for k, v in fixtures().items() if v["kind"] == "crr")


def _fit(fx):
    x, t, s, names = crr_design(fx)
    return fine_gray_fit(x, t, s, cause=int(fx["cause"]), term_names=names), names


@pytest.mark.parametrize("name", CRR)
def test_crr_polished_reference(name):
    """R reference: crr's estimate polished by Newton steps with crr's own score and
    information (the fixture's ``tight_*``; crr's score there is <= 5e-11). Our fit is the
    maximiser to rounding, so coefficients, sandwich variance, pseudo log-likelihoods and the
    baseline jumps agree to 1e-8 relative (the fixtures' 15 digits, less the conditioning of
    a 5-parameter sandwich)."""
    fx = fixtures()[name]
    res, names = _fit(fx)
    p = len(names)
    assert len(res.term_names) == len(fx["terms"] if isinstance(fx["terms"], list) else [1])
    assert res.n == fx["n"]
    assert res.converged
    np.testing.assert_allclose(res.coef, arr(fx["tight_coef"]), rtol=1e-8)
    np.testing.assert_allclose(res.var, matrix(fx["tight_var"], p), rtol=1e-8, atol=1e-16)
    np.testing.assert_allclose(res.loglik, fx["tight_loglik"], rtol=1e-12)
    np.testing.assert_allclose(res.loglik_null, fx["loglik_null"], rtol=1e-12)
    np.testing.assert_allclose(res.baseline_jump, arr(fx["tight_bfitj"]), rtol=1e-8)
    np.testing.assert_allclose(res.baseline_time, arr(fx["uftime"]), rtol=1e-15)


@pytest.mark.parametrize("name", CRR)
def test_crr_default_output(name):
    """R reference: crr with its defaults (gtol = 1e-6). crr stops once its gradient test
    holds, up to ~2e-6 (relative) before the maximum (bmt: 1.7e-6 on tcell), so coefficients,
    SEs, z, p and CI are compared at 5e-6 relative; the naive (model-based) variance I⁻¹ is
    evaluated at crr's own estimate, which moves it up to ~1.2e-5 (colon), compared at 5e-5."""
    fx = fixtures()[name]
    res, names = _fit(fx)
    p = len(names)
    np.testing.assert_allclose(res.coef, arr(fx["coef"]), rtol=5e-6)
    np.testing.assert_allclose(res.se, arr(fx["se"]), rtol=5e-6)
    np.testing.assert_allclose(res.z, arr(fx["z"]), rtol=5e-6)
    np.testing.assert_allclose(res.p_value, arr(fx["p_value"]), rtol=5e-5)
    terms = res.to_dict()["terms"]
    np.testing.assert_allclose([t["hr"] for t in terms], arr(fx["hr"]), rtol=5e-6)
    np.testing.assert_allclose([t["lower"] for t in terms], arr(fx["lower"]), rtol=5e-6)
    np.testing.assert_allclose([t["upper"] for t in terms], arr(fx["upper"]), rtol=5e-6)
    np.testing.assert_allclose(res.naive_var, matrix(fx["invinf"], p), rtol=5e-5)


def test_to_dict_has_the_cox_keys():
    """Property: the contract — the cox JSON keys plus "model": "fine-gray"."""
    res, _ = _fit(fixtures()["crr_colon"])
    out = res.to_dict()
    assert out["model"] == "fine-gray"
    for k in (
        "ties",
        "n",
        "events",
        "n_dropped",
        "iterations",
        "converged",
        "loglik_null",
        "loglik",
        "terms",
        "tests",
        "concordance",
        "ph_test",
        "warnings",
        "method",
        "ci_method",
    ):
        assert k in out
    for t in out["terms"]:
        for k in ("term", "coef", "se", "hr", "lower", "upper", "z", "p_value", "estimable"):
            assert k in t
    assert [t["term"] for t in out["terms"]][:2] == ["rx[Lev]", "rx[Lev+5FU]"]
    lr = out["tests"]["likelihood_ratio"]
    np.testing.assert_allclose(lr["statistic"], 2 * (res.loglik - res.loglik_null), rtol=1e-12)
    assert out["tests"]["score"]["statistic"] is None


# --------------------------------------------------------------------------- naive oracle


def naive_pseudo_loglik(x, time, status, beta, cause=1):
    """Loop over the failure times; each patient's weight from a loop-computed censoring KM:
    1 while T_i >= τ, Ĝ(τ−)/Ĝ(T_i−) after a competing failure, 0 otherwise."""
    x = np.atleast_2d(np.asarray(x, float).T).T
    t = np.asarray(time, float)
    s = np.asarray(status)
    times = sorted(set(t.tolist()))

    def g_minus(u):  # censoring KM just before u (at 0: including censorings at 0, as crr)
        val = 1.0
        for v in times:
            if v < u or (u == 0 and v == 0):
                at_risk = np.sum(t >= v)
                val *= 1 - np.sum((t == v) & (s == 0)) / at_risk
        return val

    eta = x @ beta
    ll = 0.0
    score = np.zeros(x.shape[1])
    for tau in sorted(set(t[s == cause].tolist())):
        w = np.zeros(t.size)
        for i in range(t.size):
            if t[i] >= tau:
                w[i] = 1.0
            elif s[i] != 0 and s[i] != cause:
                w[i] = g_minus(tau) / g_minus(t[i])
        fails = (t == tau) & (s == cause)
        s0 = np.sum(w * np.exp(eta))
        s1 = (w * np.exp(eta)) @ x
        ll += eta[fails].sum() - fails.sum() * math.log(s0)
        score += x[fails].sum(axis=0) - fails.sum() * s1 / s0
    return ll, score


def test_pseudo_likelihood_against_naive_oracle():
    """Naive oracle: ℓ(β) (via the fit's reported log-likelihood at a fixed β, no iteration)
    on the tied toy set and a seeded random set with ties at 0 and censorings at 0."""
    d = dataset("cr_ties")
    x = d["x"].to_numpy(float)[:, None]
    t = d["time"].to_numpy(float)
    s = d["status"].to_numpy(int)
    for b in (0.0, 0.7, -1.3):
        ref, _ = naive_pseudo_loglik(x, t, s, np.array([b]))
        got = fine_gray_fit(x, t, s, init=[b], control=FineGrayControl(gtol=0.0, iter_max=0))
        np.testing.assert_allclose(got.loglik, ref, rtol=1e-12)
    rng = np.random.default_rng(5)
    n = 60
    x2 = rng.normal(size=(n, 2))
    t2 = np.floor(rng.exponential(4, n))
    s2 = rng.choice([0, 1, 2], n, p=[0.3, 0.4, 0.3])
    beta = np.array([0.4, -0.8])
    ref, _ = naive_pseudo_loglik(x2, t2, s2, beta)
    got = fine_gray_fit(x2, t2, s2, init=beta, control=FineGrayControl(gtol=0.0, iter_max=0))
    np.testing.assert_allclose(got.loglik, ref, rtol=1e-12)
    # the fitted maximum has a zero naive score
    fit = fine_gray_fit(x2, t2, s2)
    _, sc = naive_pseudo_loglik(x2, t2, s2, fit.coef)
    np.testing.assert_allclose(sc, 0.0, atol=1e-9)


def test_naive_variance_is_inverse_hessian_by_finite_differences():
    """Finite-difference derivative: I⁻¹ (naive_var) against the numerical Hessian of the
    naive oracle's ℓ at the estimate (central differences, h = 1e-4: error O(h²) ≈ 1e-8)."""
    rng = np.random.default_rng(8)
    n = 80
    x = rng.normal(size=(n, 2))
    t = np.ceil(rng.exponential(5, n))
    s = rng.choice([0, 1, 2], n, p=[0.25, 0.45, 0.3])
    fit = fine_gray_fit(x, t, s)
    h = 1e-4
    hess = np.zeros((2, 2))
    for j in range(2):
        e = np.zeros(2)
        e[j] = h
        _, up = naive_pseudo_loglik(x, t, s, fit.coef + e)
        _, dn = naive_pseudo_loglik(x, t, s, fit.coef - e)
        hess[:, j] = (up - dn) / (2 * h)
    np.testing.assert_allclose(np.linalg.inv(-hess), fit.naive_var, rtol=1e-6)


# --------------------------------------------------------------------------- properties


def test_invariant_to_shift_and_unit_of_covariates():
    """Property: β scales with the unit and ignores a shift; SEs follow."""
    fx = fixtures()["crr_mgus2"]
    x, t, s, names = crr_design(fx)
    a = fine_gray_fit(x, t, s, term_names=names)
    x2 = x.copy()
    x2[:, 0] = x2[:, 0] * 12 + 1e6  # age in months, shifted
    b = fine_gray_fit(x2, t, s, term_names=names)
    np.testing.assert_allclose(b.coef[0] * 12, a.coef[0], rtol=1e-9)
    np.testing.assert_allclose(b.coef[1:], a.coef[1:], rtol=1e-9)
    np.testing.assert_allclose(b.se[0] * 12, a.se[0], rtol=1e-8)


def test_monotone_likelihood_is_not_estimable():
    """Property: a binary covariate whose x = 1 group has no failures of the cause: the
    coefficient runs to −infinity — flagged, no p-value, and named in the warnings."""
    rng = np.random.default_rng(3)
    n = 120
    grp = rng.integers(0, 2, n).astype(float)
    age = rng.normal(size=n)
    t = np.ceil(rng.exponential(10, n))
    s = rng.choice([0, 1, 2], n, p=[0.3, 0.4, 0.3])
    s = np.where((grp == 1) & (s == 1), 2, s)
    res = fine_gray_fit(np.column_stack([grp, age]), t, s, term_names=["grp", "age"])
    assert not res.terms[0].estimable
    assert res.terms[0].p_value is None
    assert "Firth" in (res.terms[0].reason or "")
    assert res.terms[1].estimable
    codes = {w.code for w in res.warnings}
    assert {"MONOTONE-LIKELIHOOD", "LEVEL-NO-EVENTS"} <= codes


def test_design_errors():
    """Property: refused with a user error, as Cox."""
    t = np.arange(1.0, 11.0)
    s = np.array([1, 2, 0, 1, 2, 0, 1, 2, 0, 1])
    with pytest.raises(AnalysisError, match="same value"):
        fine_gray_fit(np.ones((10, 1)), t, s)
    x = np.column_stack([np.arange(10.0), 2 * np.arange(10.0)])
    with pytest.raises(AnalysisError, match="linear combination"):
        fine_gray_fit(x, t, s, term_names=["a", "b"])
    with pytest.raises(AnalysisError, match="no failures of cause 3"):
        fine_gray_fit(np.arange(10.0), t, s, cause=3)


def test_cause_specific_cox_equals_coxph():
    """R reference: coxph(Surv(time, status == 1) ~ age + sex + hgb) on mgus2 (competing
    deaths censored); the helper recodes and labels the fit."""
    fx = fixtures()["cs_mgus2"]
    d = dataset(fx["data"]).dropna(subset=["age", "sex", "hgb"])
    sex, nm, _, _ = dummy_code(d["sex"].to_numpy(object), levels=["F", "M"], name="sex")
    x = np.column_stack([d["age"].to_numpy(float), sex, d["hgb"].to_numpy(float)])
    res = cause_specific_cox(
        x, d["time"], d["status"].to_numpy(int), cause=1, term_names=["age", *nm, "hgb"]
    )
    np.testing.assert_allclose(res.fit.coef, arr(fx["coef"]), rtol=1e-6)
    np.testing.assert_allclose(res.fit.se, arr(fx["se"]), rtol=1e-6)
    assert res.fit.events == fx["events"]
    out = res.to_dict()
    assert out["model"] == "cause-specific"
    assert out["competing_events"] == int((d["status"] == 2).sum())

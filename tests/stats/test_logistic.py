"""Logistic regression (survstudy.stats.logistic) against R's glm, hand calculations and
constructed separation cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from survstudy.errors import AnalysisError
from survstudy.stats.logistic import expit, logistic_fit

from ._ps_ref import DATASETS, design, fixtures, outcome


@pytest.mark.parametrize("name", DATASETS)
def test_glm_reference(name: str) -> None:
    """R reference: glm(treat ~ confounders, family = binomial) on survival::gbsg / rotterdam.

    Coefficients, deviances, AIC and fitted values: 1e-9 relative (glm stops when the
    deviance changes by < 1e-8 relative, which leaves its coefficients within ~1e-12 of
    the maximum; ours is iterated to a step of 1e-8 and agrees to ~1e-12).
    SEs and p-values are compared twice: with (X'WX)^-1 at R's fitted values (written out
    in the R script) to 1e-9, and with summary.glm's own SEs to 1e-6 — glm takes W from
    its last-but-one iterate, which moves its SEs by up to 1.2e-7 here; the p-value then
    moves by about z^2 times that (z up to 7), hence 2e-5 on summary.glm's p.
    """
    fx = fixtures()[name]["glm"]
    x, names = design(name)
    treat, _, _ = outcome(name)
    r = logistic_fit(x, treat, term_names=names)
    assert r.converged
    # R names a dummy "grade2" where we write "grade[2]"
    assert [n.replace("[", "").replace("]", "") for n in r.term_names] == fx["terms"]
    np.testing.assert_allclose(r.coef, fx["coef"], rtol=1e-9)
    np.testing.assert_allclose(r.se, fx["se_at_fit"], rtol=1e-9)
    np.testing.assert_allclose(r.p_value, fx["p_value_at_fit"], rtol=1e-9)
    np.testing.assert_allclose(r.se, fx["se"], rtol=1e-6)
    np.testing.assert_allclose(r.z, fx["z"], rtol=1e-6)
    np.testing.assert_allclose(r.p_value, fx["p_value"], rtol=2e-5)
    np.testing.assert_allclose(r.deviance, fx["deviance"], rtol=1e-10)
    np.testing.assert_allclose(r.null_deviance, fx["null_deviance"], rtol=1e-10)
    np.testing.assert_allclose(r.aic, fx["aic"], rtol=1e-10)
    assert r.df_residual == fx["df_residual"]
    np.testing.assert_allclose(r.fitted, fx["ps"], rtol=1e-9)
    np.testing.assert_allclose(r.linear_predictor, fx["linear_predictor"], rtol=1e-9, atol=1e-12)
    assert r.separation is None
    assert r.warnings == ()


def test_two_by_two_table_by_hand() -> None:
    """Hand calculation: with one binary covariate the MLE reproduces the 2x2 table.

    x = 0: 3 treated / 5 untreated; x = 1: 6 treated / 2 untreated.
    β0 = log(3/5), β1 = log((6/2)/(3/5)) = log 5; SE(β1) = sqrt(1/3 + 1/5 + 1/6 + 1/2),
    SE(β0) = sqrt(1/3 + 1/5); deviance = -2 Σ n log p̂ with p̂ = 3/8 and 6/8.
    """
    x = np.array([0] * 8 + [1] * 8, dtype=float)
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0], dtype=float)
    r = logistic_fit(x, y, term_names=["x"])
    assert r.coef[0] == pytest.approx(math.log(3 / 5), rel=1e-12)
    assert r.coef[1] == pytest.approx(math.log(5.0), rel=1e-12)
    assert r.se[1] == pytest.approx(math.sqrt(1 / 3 + 1 / 5 + 1 / 6 + 1 / 2), rel=1e-10)
    assert r.se[0] == pytest.approx(math.sqrt(1 / 3 + 1 / 5), rel=1e-10)
    dev = -2 * (
        3 * math.log(3 / 8) + 5 * math.log(5 / 8) + 6 * math.log(6 / 8) + 2 * math.log(2 / 8)
    )
    assert r.deviance == pytest.approx(dev, rel=1e-12)
    null = -2 * (9 * math.log(9 / 16) + 7 * math.log(7 / 16))
    assert r.null_deviance == pytest.approx(null, rel=1e-12)
    t = r.terms[1]
    assert t.odds_ratio == pytest.approx(5.0, rel=1e-12)
    z = 1.959963984540054
    assert t.lower == pytest.approx(math.exp(math.log(5) - z * r.se[1]), rel=1e-12)


def test_per_unit_scaling_of_the_odds_ratio() -> None:
    """Hand calculation: ``per = 10`` reports exp(10 β) and its limits; coef and SE stay per unit,
    and a rescaled column (x / 10) gives the same fit with coefficient 10 β (invariance)."""
    rng = np.random.default_rng(3)
    x = rng.normal(50, 10, 300)
    y = (rng.random(300) < expit(-2 + 0.04 * x)).astype(float)
    a = logistic_fit(x, y, term_names=["age"], per=[10.0])
    b = logistic_fit(x / 10, y, term_names=["age10"])
    assert a.terms[1].per == 10.0
    assert a.terms[1].odds_ratio == pytest.approx(math.exp(10 * a.coef[1]), rel=1e-12)
    assert a.terms[1].odds_ratio == pytest.approx(b.terms[1].odds_ratio, rel=1e-10)
    assert a.terms[1].lower == pytest.approx(b.terms[1].lower, rel=1e-10)
    assert b.coef[1] == pytest.approx(10 * a.coef[1], rel=1e-10)
    assert a.deviance == pytest.approx(b.deviance, rel=1e-12)


def test_quasi_complete_separation_names_the_level() -> None:
    """Constructed case: every patient with grade 3 is treated (quasi-complete separation:
    the other levels overlap). The fit must say so, name grade[3] only, count the 4
    separated patients and not give it a p-value — never a silent huge coefficient."""
    rng = np.random.default_rng(11)
    n = 60
    age = rng.normal(60, 8, n)
    g2 = np.zeros(n)
    g3 = np.zeros(n)
    g2[10:30] = 1
    g3[30:34] = 1
    y = (rng.random(n) < 0.4).astype(float)
    y[30:34] = 1.0
    r = logistic_fit(np.column_stack((age, g2, g3)), y, term_names=["age", "grade[2]", "grade[3]"])
    assert r.separation is not None
    assert r.separation.kind == "quasi-complete"
    assert r.separation.terms == ("grade[3]",)
    assert r.separation.n_separated == 4
    assert [w.code for w in r.warnings] == ["SEPARATION"]
    assert "grade[3]" in r.warnings[0].message
    by = {t.term: t for t in r.terms}
    assert not by["grade[3]"].estimable
    assert by["age"].estimable
    assert all(t.p_value is None for t in r.terms)


def test_complete_separation_on_a_continuous_covariate() -> None:
    """Constructed case: treated iff size > 30 (complete separation) — detected as complete,
    naming size and not the unrelated covariate."""
    rng = np.random.default_rng(5)
    size = np.concatenate((rng.uniform(5, 29, 25), rng.uniform(31, 60, 20)))
    other = rng.normal(0, 1, 45)
    y = (size > 30).astype(float)
    r = logistic_fit(np.column_stack((other, size)), y, term_names=["other", "size"])
    assert r.separation is not None
    assert r.separation.kind == "complete"
    assert r.separation.terms == ("size",)
    assert r.separation.n_separated == 45


def test_no_separation_when_groups_overlap() -> None:
    """Property: a small overlapping data set (some near-extreme fitted values) is not
    flagged; the LP check runs only on warning signs and finds nothing."""
    x = np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    y = np.array([0.0, 0, 0, 1, 0, 1, 0, 1, 1, 1])
    r = logistic_fit(x, y, term_names=["x"])
    assert r.converged
    assert r.separation is None
    assert r.warnings == ()


def test_errors() -> None:
    """User errors: one outcome value, a constant column, collinear columns, missing values."""
    x = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0], [4.0, 8.5]])
    with pytest.raises(AnalysisError, match="all of the 4"):
        logistic_fit(x[:, 0], np.ones(4))
    with pytest.raises(AnalysisError, match="same value"):
        logistic_fit(np.column_stack((x[:, 0], np.ones(4))), [0, 1, 0, 1], term_names=["a", "c"])
    xc = np.column_stack((x[:, 0], 2 * x[:, 0] + 1))
    with pytest.raises(AnalysisError, match="linear combination"):
        logistic_fit(xc, [0, 1, 0, 1], term_names=["a", "b"])
    with pytest.raises(AnalysisError, match="missing"):
        logistic_fit(np.array([1.0, np.nan, 2.0, 3.0]), [0, 1, 0, 1])


def test_to_dict_is_json_ready() -> None:
    """Property: to_dict has the terms with the documented keys and no NaN."""
    import json

    x = np.arange(10.0)
    y = np.array([0.0, 0, 1, 0, 0, 1, 1, 0, 1, 1])
    d = logistic_fit(x, y, term_names=["x"]).to_dict()
    json.dumps(d, allow_nan=False)
    assert [t["term"] for t in d["terms"]] == ["(Intercept)", "x"]
    assert set(d["terms"][1]) >= {"coef", "se", "z", "p_value", "odds_ratio", "lower", "upper"}

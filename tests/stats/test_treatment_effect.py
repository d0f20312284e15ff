"""The propensity-score analysis end to end (survstudy.stats.treatment.treatment_effect)."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest

from survstudy.errors import AnalysisError
from survstudy.stats.treatment import Confounder, adjusted_hazard_ratio, treatment_effect

from ._ps_ref import DATASETS, confounders, fixtures, outcome

Z95 = 1.959963984540054
RTOL = 1e-9  # R's coxph/survfit agree with ours to ~1e-13; the chain starts at glm (1e-12)


def _run(name: str, method: str, sc: dict, **kw):
    treat, time, event = outcome(name)
    fx = fixtures()[name]
    if method == "weighting":
        kw |= dict(
            estimand=sc["estimand"],
            stabilise=sc["stabilise"],
            trim=sc["trim"],
            truncate=sc["truncate"],
            conf_type=sc["conf_type"],
        )
    else:
        kw |= dict(ratio=sc["ratio"], caliper=sc["caliper"])
    return treatment_effect(
        treat, confounders(name), time, event, method=method, landmarks=fx["landmarks"], **kw
    )


def _cases(kind: str) -> list[tuple[str, str]]:
    return [(ds, sc) for ds in DATASETS for sc in fixtures()[ds][kind]]


def _check_hr(r, cox) -> None:
    assert r.hr == pytest.approx(cox["hr"], rel=RTOL)
    assert r.lower == pytest.approx(cox["lower"], rel=RTOL)
    assert r.upper == pytest.approx(cox["upper"], rel=RTOL)
    assert r.coef == pytest.approx(cox["coef"], rel=RTOL)
    assert r.se == pytest.approx(cox["se"], rel=RTOL)
    assert r.robust_se == pytest.approx(cox["robust_se"], rel=RTOL)
    assert r.p_value == pytest.approx(cox["p_value"], rel=1e-8)


def _check_landmarks(r, name: str, km_ref) -> None:
    """Per-arm survival and limits from R's summary(fit, times = landmarks); the difference
    and its CI written out from R's values: S1 - S0 ± z sqrt(se1² + se0²)."""
    fx = fixtures()[name]
    control, treated = km_ref  # R's strata order tr=0, tr=1
    for a in r.at:
        j = fx["grid"].index(a.time)
        assert a.treated == pytest.approx(treated["at_survival"][j], rel=1e-10)
        assert a.control == pytest.approx(control["at_survival"][j], rel=1e-10)
        assert a.treated_lower == pytest.approx(treated["at_lower"][j], rel=1e-10)
        assert a.control_upper == pytest.approx(control["at_upper"][j], rel=1e-10)
        d = treated["at_survival"][j] - control["at_survival"][j]
        se = math.hypot(treated["at_std_err"][j], control["at_std_err"][j])
        assert a.difference == pytest.approx(d, rel=1e-9, abs=1e-13)
        assert a.difference_lower == pytest.approx(d - Z95 * se, rel=1e-9)
        assert a.difference_upper == pytest.approx(d + Z95 * se, rel=1e-9)
    assert [a.time for a in r.at] == fx["landmarks"]


@pytest.mark.parametrize(("name", "scenario"), _cases("weighting"))
def test_weighting_end_to_end(name: str, scenario: str) -> None:
    """R reference: glm -> weights -> coxph(Surv ~ treat, weights = w, robust = TRUE) HR, robust
    SE, CI and p; survfit(robust = TRUE, id) at the landmarks; ESS; crude and adjusted coxph."""
    fx = fixtures()[name]
    sc = fx["weighting"][scenario]
    r = _run(name, "weighting", sc)
    _check_hr(r, sc["cox"])
    assert r.n == sc["n_kept"]
    np.testing.assert_allclose([r.ess_control, r.ess_treated], sc["ess"], rtol=1e-11)
    _check_landmarks(r, name, sc["km"])
    assert r.crude.hr == pytest.approx(fx["crude"]["hr"], rel=RTOL)
    assert r.crude.upper == pytest.approx(fx["crude"]["upper"], rel=RTOL)
    assert r.crude.p_value == pytest.approx(fx["crude"]["p_value"], rel=1e-8)
    assert r.adjusted is not None
    assert r.adjusted.hr == pytest.approx(fx["adjusted"]["hr"], rel=RTOL)
    assert r.adjusted.lower == pytest.approx(fx["adjusted"]["lower"], rel=RTOL)
    assert r.adjusted.p_value == pytest.approx(fx["adjusted"]["p_value"], rel=1e-8)
    if sc["trim"] is None:
        # unweighted numbers at risk beside the curves: R's unweighted survfit per arm
        for curve, ref in zip(
            r.curves, (fx["unweighted_n_risk"]["1"], fx["unweighted_n_risk"]["0"]), strict=True
        ):
            np.testing.assert_array_equal(curve.n_risk_at(fx["grid"]), ref)


@pytest.mark.parametrize(("name", "scenario"), _cases("matching"))
def test_matching_end_to_end(name: str, scenario: str) -> None:
    """R reference: MatchIt nearest on the logit -> coxph(Surv ~ treat, data = match.data(m),
    weights = weights, cluster = subclass) and survfit(..., cluster = subclass)."""
    fx = fixtures()[name]
    sc = fx["matching"][scenario]
    r = _run(name, "matching", sc)
    _check_hr(r, sc["cox"])
    assert r.estimand == "ATT"
    assert r.n_treated == sc["n_matched_treated"]
    assert r.n_control == sc["n_matched_control"]
    assert r.flow["n_unmatched_treated"] == r.matching.n_treated - sc["n_matched_treated"]
    _check_landmarks(r, name, sc["km"])


CONTRACT = {
    "method",
    "estimand",
    "n",
    "n_treated",
    "n_control",
    "ess_treated",
    "ess_control",
    "propensity",
    "balance",
    "hr",
    "lower",
    "upper",
    "p_value",
    "robust_se",
    "crude",
    "at",
    "warnings",
}


def test_to_dict_contract() -> None:
    """The results.json contract of issue 20: every key, nested keys, JSON without NaN."""
    fx = fixtures()["gbsg"]
    r = _run("gbsg", "weighting", fx["weighting"]["ATE"])
    d = r.to_dict()
    assert set(d) >= CONTRACT
    assert "terms" in d["propensity"]
    assert set(d["balance"][0]) >= {
        "variable",
        "level",
        "smd_before",
        "smd_after",
        "variance_ratio_before",
        "variance_ratio_after",
    }
    assert set(d["crude"]) >= {"hr", "lower", "upper"}
    assert set(d["at"][0]) >= {
        "time",
        "treated",
        "treated_lower",
        "treated_upper",
        "control",
        "control_lower",
        "control_upper",
        "difference",
        "difference_lower",
        "difference_upper",
    }
    json.dumps(d, allow_nan=False)
    assert d["method"] == "weighting"
    assert d["estimand"] == "ATE"
    assert [(b["variable"], b["level"]) for b in d["balance"]][:6] == [
        ("age", None),
        ("meno", None),
        ("size", None),
        ("grade", "1"),
        ("grade", "2"),
        ("grade", "3"),
    ]
    # figures: curves per arm with unweighted numbers at risk, overlap histogram
    assert set(d["curves"]) == {"treated", "control"}
    assert "n_risk_unweighted" in d["curves"]["treated"]["table"][0]
    h = d["overlap"]
    assert sum(h["treated"]) == 246
    assert sum(h["control"]) == 440
    assert pickle.loads(pickle.dumps(r)).hr == r.hr


@pytest.mark.parametrize("method", ["weighting", "matching"])
def test_to_dict_with_warnings_is_json_ready(method: str) -> None:
    """Property: with warnings (rotterdam: extreme weights, imbalance, unmatched treated)
    the dictionary still serialises without NaN, and every warning has code and message."""
    treat, time, event = outcome("rotterdam")
    r = treatment_effect(treat, confounders("rotterdam"), time, event, method=method)
    d = r.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["warnings"]
    assert all(w["code"] and w["message"] for w in d["warnings"])
    imb = [w for w in d["warnings"] if w["code"] == "IMBALANCE"]
    assert len(imb) == sum(b["imbalanced"] for b in d["balance"])


def test_separation_is_an_error_naming_the_level() -> None:
    """Constructed: all grade-3 patients treated -> PS-SEPARATION naming grade[3]."""
    rng = np.random.default_rng(4)
    n = 80
    grade = np.array(["1"] * 30 + ["2"] * 40 + ["3"] * 10, dtype=object)
    treat = (rng.random(n) < 0.4).astype(float)
    treat[70:] = 1
    age = rng.normal(60, 8, n)
    time = rng.integers(10, 1000, n).astype(float)
    event = (rng.random(n) < 0.5).astype(float)
    confs = [Confounder.continuous("age", age), Confounder.categorical_from("grade", grade)]
    with pytest.raises(AnalysisError, match=r"grade\[3\]") as exc:
        treatment_effect(treat, confs, time, event)
    assert exc.value.code == "PS-SEPARATION"


def test_argument_errors() -> None:
    """User errors: matching with the ATE, an unknown method, missing confounder values."""
    treat, time, event = outcome("gbsg")
    confs = confounders("gbsg")
    with pytest.raises(AnalysisError, match="ATT"):
        treatment_effect(treat, confs, time, event, method="matching", estimand="ATE")
    with pytest.raises(AnalysisError, match="method"):
        treatment_effect(treat, confs, time, event, method="stratification")
    bad = [Confounder.continuous("age", np.where(np.arange(treat.size) == 3, np.nan, 1.0))]
    with pytest.raises(AnalysisError, match="missing"):
        treatment_effect(treat, bad, time, event)


def test_few_events_warning_and_adjusted_helper() -> None:
    """Hand-made: 8 events among the treated -> FEW-EVENTS on the result; the adjusted HR
    helper equals the first term of a Cox fit with the treatment and the confounders
    (identity with cox_fit, checked against R in test_weighting_end_to_end)."""
    rng = np.random.default_rng(9)
    n = 200
    age = rng.normal(60, 10, n)
    treat = (rng.random(n) < 1 / (1 + np.exp(-(age - 60) / 10))).astype(float)
    time = rng.integers(1, 2000, n).astype(float)
    event = np.zeros(n)
    tr_idx = np.flatnonzero(treat == 1)
    co_idx = np.flatnonzero(treat == 0)
    event[tr_idx[:8]] = 1
    event[co_idx[:30]] = 1
    r = treatment_effect(treat, [Confounder.continuous("age", age)], time, event)
    few = [w for w in r.warnings if w.code == "FEW-EVENTS"]
    assert [(w.context["group"], w.context["events"]) for w in few] == [("treated", 8)]
    a = adjusted_hazard_ratio(treat, [Confounder.continuous("age", age)], time, event)
    assert r.adjusted is not None
    assert r.adjusted.hr == a.hr

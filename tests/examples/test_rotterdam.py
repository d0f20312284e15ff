"""The Rotterdam example (examples/rotterdam, issue 20): the study run's treatment comparisons
equal R on the same data.

Kind of truth: R reference (tests/reference/propensity.R -> propensity.json, data set
``rotterdam``: glm(family = binomial), MatchIt::matchit(method = "nearest", distance = "glm",
caliper = 0.2, std.caliper = TRUE), survfit(weights, robust = TRUE, id / cluster = subclass),
coxph(weights, robust = TRUE / cluster = subclass)). The example's CSV is written by
examples/rotterdam/make_data.R from survival::rotterdam, the fixture's CSV by propensity.R
from the same data; the first test checks they hold the same values.
"""

from __future__ import annotations

import csv
import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from survstudy.study import run_spec

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "rotterdam"
RTOL = 1e-9  # R's coxph/survfit agree with ours to ~1e-13; the chain starts at glm (1e-12)
DAYS_PER_YEAR = 365.25  # the example reports in years


@cache
def fixture() -> dict[str, Any]:
    return json.loads((ROOT / "tests" / "reference" / "propensity.json").read_text())["rotterdam"]


@cache
def results() -> dict[str, Any]:
    d = run_spec(EXAMPLE / "study.yaml").results.to_dict()
    json.dumps(d, allow_nan=False)
    return {t["method"]: t for t in d["treatment_effect"]}


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_example_data_are_the_fixture_data() -> None:
    ours = _rows(EXAMPLE / "rotterdam.csv")
    ref = _rows(ROOT / "tests" / "reference" / "data" / "ps_rotterdam.csv")
    assert len(ours) == len(ref) == 2982
    for a, b in zip(ours, ref, strict=True):
        for k in ("age", "meno", "size", "grade", "nodes", "pgr", "er", "chemo", "rtime", "recur"):
            assert a[k] == b[k]


def _balance_key(b: dict[str, Any]) -> tuple[str, str | None]:
    # R's design has meno numeric (0/1): one row, level None; the example declares it as a
    # two-level factor, whose balance row is its non-reference level
    if b["variable"] == "meno":
        return ("meno", None)
    return (b["variable"], b["level"])


def _check_common(t: dict[str, Any], sc: dict[str, Any]) -> None:
    fx = fixture()
    cox = sc["cox"]
    for k in ("hr", "lower", "upper", "robust_se"):
        assert t[k] == pytest.approx(cox[k], rel=RTOL), k
    assert t["p_value"] == pytest.approx(cox["p_value"], rel=1e-8)
    for k in ("hr", "lower", "upper"):
        assert t["crude"][k] == pytest.approx(fx["crude"][k], rel=RTOL)
        assert t["adjusted"][k] == pytest.approx(fx["adjusted"][k], rel=RTOL)
    # propensity model: glm's coefficients (R's names: size20-50, our size[20-50])
    terms = t["propensity"]["terms"]
    assert len(terms) == len(fx["glm"]["coef"])
    np.testing.assert_allclose([x["coef"] for x in terms], fx["glm"]["coef"], rtol=1e-9)
    np.testing.assert_allclose([x["se"] for x in terms], fx["glm"]["se"], rtol=1e-6)
    # balance before and after
    ref = {(b["variable"], b["level"]): b for b in sc["balance"]}
    ours = {_balance_key(b): b for b in t["balance"]}
    assert set(ours) == set(ref)
    for k, b in ours.items():
        for q in ("smd_before", "smd_after", "variance_ratio_before", "variance_ratio_after"):
            if ref[k][q] is None:
                assert b[q] is None
            else:
                assert b[q] == pytest.approx(ref[k][q], rel=1e-9, abs=1e-12), (k, q)
    # survival at the landmarks (5 and 10 years = days 1826.25, 3652.5; R's landmarks are
    # days 1826 and 3652: integer event days, so no event lies between)
    arms = {k["arm"]: k for k in sc["km"]}
    for a in t["at"]:
        day = {5.0: 1826.0, 10.0: 3652.0}[a["time"]]
        for arm, key in (("tr=1", "treated"), ("tr=0", "control")):
            j = arms[arm]["at_time"].index(day)
            assert a[key] == pytest.approx(arms[arm]["at_survival"][j], rel=1e-10)
            assert a[f"{key}_lower"] == pytest.approx(arms[arm]["at_lower"][j], rel=1e-10)
            assert a[f"{key}_upper"] == pytest.approx(arms[arm]["at_upper"][j], rel=1e-10)


def test_weighting_equals_r() -> None:
    t = results()["weighting"]
    sc = fixture()["weighting"]["ATE"]
    assert (t["estimand"], t["n"], t["n_treated"], t["n_control"]) == ("ATE", 2982, 580, 2402)
    assert [t["ess_control"], t["ess_treated"]] == pytest.approx(sc["ess"], rel=1e-12)
    assert t["weighting"]["max_weight"] == pytest.approx(sc["weight_max"], rel=1e-9)
    _check_common(t, sc)
    codes = {w["code"] for w in t["warnings"]}
    assert {"EXTREME-WEIGHT", "LOW-ESS", "IMBALANCE"} <= codes  # weight 15.5 > 10; ESS 237 < 290


def test_matching_equals_matchit() -> None:
    t = results()["matching"]
    sc = fixture()["matching"]["nearest_1"]
    assert t["estimand"] == "ATT"
    assert (t["n_treated"], t["n_control"]) == (sc["n_matched_treated"], sc["n_matched_control"])
    assert t["matching"]["caliper_distance"] == pytest.approx(sc["caliper_logit"], rel=1e-9)
    assert t["flow"]["n_unmatched_treated"] == 580 - sc["n_matched_treated"]
    _check_common(t, sc)

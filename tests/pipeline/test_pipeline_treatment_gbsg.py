"""The runner's propensity-score comparisons on GBSG 2 (hormonal therapy; grade has 3 levels)
equal R, through the spec: weighting (stabilised ATE, overlap, ATT trimmed and truncated) and
1:2 matching.

Kind of truth: R reference (tests/reference/propensity.R -> propensity.json, data set
``gbsg``: glm(family = binomial), MatchIt::matchit(ratio = 2, caliper = 0.2, std.caliper =
TRUE), survfit(weights, robust = TRUE), coxph(weights, robust = TRUE / cluster = subclass)).
The spec reads examples/gbsg/gbsg.csv, the same values in the same order as the fixture's
ps_gbsg.csv (checked below); time is reported in days, as R's landmarks.
"""

from __future__ import annotations

import csv
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from survstudy.data import build_cohort
from survstudy.pipeline import run_study
from survstudy.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
RTOL = 1e-9  # R's coxph/survfit agree with ours to ~1e-13; the chain starts at glm (1e-12)

SPEC = f"""\
data: {{path: {ROOT / "examples" / "gbsg" / "gbsg.csv"}, id: pid}}
units: days
variables:
  pid: {{type: identifier}}
  age: {{type: continuous}}
  meno: {{type: continuous}}
  size: {{type: continuous}}
  grade: {{type: categorical, levels: {{"1": [1], "2": [2], "3": [3]}}}}
  nodes: {{type: continuous}}
  pgr: {{type: continuous}}
  er: {{type: continuous}}
  hormon: {{type: categorical, levels: {{"No": [0], "Yes": [1]}}}}
endpoints:
  RFS: {{time: rfstime, time_unit: days, event: status}}
analyses:
  survival: {{endpoints: [RFS], landmarks: [365, 1096, 1826]}}
  treatment_effect:
    - {{name: ATE, endpoint: RFS, treatment: hormon, confounders: &c [age, meno, size, grade, nodes, pgr, er]}}
    - {{name: overlap, endpoint: RFS, treatment: hormon, confounders: *c, estimand: overlap}}
    - name: ATT_trim_truncate
      endpoint: RFS
      treatment: hormon
      confounders: *c
      estimand: ATT
      trim: [0.02, 0.98]
      truncate: [0, 0.95]
    - {{name: nearest_2, endpoint: RFS, treatment: hormon, confounders: *c, method: matching,
        ratio: 2}}
"""


@cache
def fixture() -> dict[str, Any]:
    return json.loads((ROOT / "tests" / "reference" / "propensity.json").read_text())["gbsg"]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    path = tmp_path_factory.mktemp("gbsg") / "study.yaml"
    path.write_text(SPEC, encoding="utf-8")
    spec = load_spec(path)
    d = run_study(spec, build_cohort(spec)).to_dict()
    json.dumps(d, allow_nan=False)
    return {t["name"]: t for t in d["treatment_effect"]}


def test_same_data_as_the_fixture() -> None:
    def rows(p: Path) -> list[dict[str, str]]:
        with p.open(newline="") as fh:
            return list(csv.DictReader(fh))

    a = rows(ROOT / "examples" / "gbsg" / "gbsg.csv")
    b = rows(ROOT / "tests" / "reference" / "data" / "ps_gbsg.csv")
    keys = ("age", "meno", "size", "grade", "nodes", "pgr", "er", "hormon", "rfstime", "status")
    assert [[float(r[k]) for k in keys] for r in a] == [[float(r[k]) for k in keys] for r in b]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("ATE", "weighting"),
        ("overlap", "weighting"),
        ("ATT_trim_truncate", "weighting"),
        ("nearest_2", "matching"),
    ],
)
def test_equals_r(results: dict[str, dict[str, Any]], name: str, kind: str) -> None:
    t = results[name]
    sc = fixture()[kind][name]
    for k in ("hr", "lower", "upper", "robust_se"):
        assert t[k] == pytest.approx(sc["cox"][k], rel=RTOL), k
    assert t["p_value"] == pytest.approx(sc["cox"]["p_value"], rel=1e-8)
    if kind == "weighting":
        assert t["n"] == sc["n_kept"]
        assert [t["ess_control"], t["ess_treated"]] == pytest.approx(sc["ess"], rel=1e-10)
    else:
        assert (t["n_treated"], t["n_control"]) == (
            sc["n_matched_treated"],
            sc["n_matched_control"],
        )
    # balance, every level of grade (3 levels)
    ref = {(b["variable"], b["level"]): b for b in sc["balance"]}
    ours = {(b["variable"], b["level"]): b for b in t["balance"]}
    assert set(ours) == set(ref)
    assert {lv for v, lv in ours if v == "grade"} == {"1", "2", "3"}
    for k, b in ours.items():
        assert b["smd_after"] == pytest.approx(ref[k]["smd_after"], rel=1e-9, abs=1e-12), k
    # survival at the landmarks, both arms
    arms = {a["arm"]: a for a in sc["km"]}
    assert [a["time"] for a in t["at"]] == [365.0, 1096.0, 1826.0]
    for a in t["at"]:
        for arm, key in (("tr=1", "treated"), ("tr=0", "control")):
            j = arms[arm]["at_time"].index(a["time"])
            assert a[key] == pytest.approx(arms[arm]["at_survival"][j], rel=1e-10)
            assert a[f"{key}_upper"] == pytest.approx(arms[arm]["at_upper"][j], rel=1e-10)


def test_methods_name_every_choice(results: dict[str, dict[str, Any]]) -> None:
    """The methods paragraph states trimming and truncation with R's counts (patients left
    out: 686 minus R's kept), the SMD denominator by estimand, and the matching caliper."""
    sc = fixture()["weighting"]["ATT_trim_truncate"]
    text = " ".join(results["ATT_trim_truncate"]["methods"])
    assert (
        "outside the 2nd and 98th percentiles of all scores were left out "
        f"({686 - sc['n_kept']} patients)" in text
    )
    assert "truncated at their 0th and 95th percentiles" in text
    assert "the treated group's standard deviation" in text
    assert "pooled standard deviation" in " ".join(results["ATE"]["methods"])
    assert "stabilised" in " ".join(results["ATE"]["methods"])
    m = " ".join(results["nearest_2"]["methods"])
    assert "matched to 2 control patients" in m
    assert "within a caliper of 0.2 standard deviations of the logit" in m

"""The runner's propensity-score comparisons (issue 20) on a constructed small series.

40 patients, one binary confounder x: among x = 1, 19 of 20 are treated; among x = 0, 3 of
20. The propensity model with x alone is saturated, so the scores are the observed shares
(0.95 and 0.15) and every weight can be written by hand. One further patient has x missing
(complete-case analysis: dropped, counted). Kinds of truth: hand calculation (weights, Kish's
effective sample size, counts), property (which warnings appear; JSON keys of the contract).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from survstudy.data import build_cohort
from survstudy.errors import SpecError
from survstudy.pipeline import run_study
from survstudy.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]

SPEC = """\
title: Small treatment comparison (synthetic)
synthetic: true
data: {{path: data.csv}}
units: months
variables:
  trt: {{type: binary, label: Treatment}}
  x: {{type: categorical, label: Risk group, levels: {{low: [0], high: [1]}}}}
  z: {{type: continuous, label: Copy of the treatment}}
endpoints:
  OS: {{label: Overall survival, time: t, event: status}}
analyses:
  treatment_effect:
    - name: Treated vs not
      endpoint: OS
      treatment: trt
      confounders: {confounders}
      method: weighting
      estimand: ATE
      stabilise: false
      landmarks: [12]
"""


def _rows() -> list[tuple[int, int, int, str, int]]:
    """(time, status, trt, x, z) rows; 6 events among the treated, 4 among controls."""
    rows = []
    for i in range(20):  # x = 1: 19 treated, 1 control
        trt = 1 if i < 19 else 0
        rows.append((5 + i, 1 if i % 4 == 0 else 0, trt, "1", trt))
    for i in range(20):  # x = 0: 3 treated, 17 control
        trt = 1 if i < 3 else 0
        rows.append((7 + i, 1 if i % 4 == 1 else 0, trt, "0", trt))
    rows.append((30, 0, 1, "", 1))  # x missing
    return rows


def _run(tmp_path: Path, confounders: str = "[x]") -> Any:
    lines = ["t,status,trt,x,z"] + [",".join(map(str, r)) for r in _rows()]
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "study.yaml").write_text(SPEC.format(confounders=confounders), encoding="utf-8")
    spec = load_spec(tmp_path / "study.yaml")
    return run_study(spec, build_cohort(spec))


def test_weights_ess_and_small_sample_warnings(tmp_path: Path) -> None:
    """Hand calculation: unstabilised ATE weights 1/0.95 (19 treated, x high), 1/0.15
    (3 treated, x low), 1/(1-0.15) (17 controls, x low), 1/(1-0.95) = 20 (1 control, x high).
    Kish ESS = (sum w)^2 / sum w^2: treated (20 + 20)^2 / (19/0.95^2 + 3/0.15^2), control
    (20 + 20)^2 / (17/0.85^2 + 400)."""
    res = _run(tmp_path)
    (te,) = res.treatment_effect
    r = te.result
    assert (te.n_known, te.n_dropped, r.flow["n_dropped"], r.n) == (41, 1, 1, 40)
    assert (r.n_treated, r.n_control, te.treated_level, te.control_level) == (22, 18, "Yes", "No")
    ess1 = 40.0**2 / (19 / 0.95**2 + 3 / 0.15**2)
    ess0 = 40.0**2 / (17 / 0.85**2 + 400)
    tol = 1e-6  # the scores come from IRLS (converged to ~1e-10 in the deviance)
    assert r.ess_treated == pytest.approx(ess1, rel=tol)
    assert r.ess_control == pytest.approx(ess0, rel=tol)
    assert r.weighting.max_weight == pytest.approx(20.0, rel=tol)
    codes = [w.code for w in res.warnings if w.section == "treatment_effect"]
    # item 8: weights above 10 (one: the control with x high), ESS below half of n in both
    # arms (10.4 of 22, 3.8 of 18), fewer than 10 events in each arm (6 and 4)
    assert codes.count("EXTREME-WEIGHT") == 1
    assert codes.count("LOW-ESS") == 2
    assert codes.count("FEW-EVENTS") == 2
    assert "ROWS-DROPPED" in codes
    ew = next(w for w in res.warnings if w.code == "EXTREME-WEIGHT")
    assert ew.message.startswith("1 patient(s) have weights above 10 (largest 20")
    assert any("treated group (Yes)" in n for n in te.notes)


def test_results_json_contract(tmp_path: Path) -> None:
    """Property: results.json's treatment_effect[] has exactly the issue's keys (and more
    beside them), times in the study's unit, and serialises without NaN."""
    d = _run(tmp_path).to_dict()
    json.dumps(d, allow_nan=False)
    (t,) = d["treatment_effect"]
    contract = [
        "name",
        "endpoint",
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
    ]
    assert set(contract) <= set(t)
    assert (t["name"], t["endpoint"], t["method"], t["estimand"]) == (
        "Treated vs not",
        "OS",
        "weighting",
        "ATE",
    )
    assert [x["term"] for x in t["propensity"]["terms"]] == ["(Intercept)", "x[high]"]
    assert set(t["balance"][0]) >= {
        "variable",
        "level",
        "smd_before",
        "smd_after",
        "variance_ratio_before",
        "variance_ratio_after",
    }
    assert [(b["variable"], b["level"]) for b in t["balance"]] == [("x", "high")]
    assert set(t["crude"]) >= {"hr", "lower", "upper"}
    (a,) = t["at"]
    assert a["time"] == 12.0  # months, as the spec's landmark
    assert set(a) >= {
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
    assert a["difference"] == pytest.approx(a["treated"] - a["control"], abs=1e-15)


def test_separation_is_reported_and_the_run_goes_on(tmp_path: Path) -> None:
    """Constructed: z equals the treatment (complete separation): no silent huge
    coefficient; the comparison is not estimable, with the reason, and results.json says so."""
    res = _run(tmp_path, "[x, z]")
    (te,) = res.treatment_effect
    assert te.result is None
    assert "separation" in (te.reason or "")
    assert any(w.code == "PS-SEPARATION" for w in res.warnings)
    d = res.to_dict()["treatment_effect"][0]
    assert d["estimable"] is False
    assert d["hr"] is None


def test_engines_refuse_it(tmp_path: Path) -> None:
    """With a data engine the comparison is refused before any work, naming the key."""
    pytest.importorskip("duckdb", reason="the duckdb extra is not installed")
    from survstudy.data.registry import derive_from_cohort
    from survstudy.engines import get_engine

    lines = ["t,status,trt,x,z"] + [",".join(map(str, r)) for r in _rows()]
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "study.yaml").write_text(SPEC.format(confounders="[x]"), encoding="utf-8")
    spec = load_spec(tmp_path / "study.yaml")
    derived = derive_from_cohort(build_cohort(spec), tmp_path / "cohort")
    eng = get_engine("duckdb", threads=1)
    try:
        with pytest.raises(SpecError) as info:
            run_study(spec, derived, data_engine=eng)
    finally:
        eng.close()
    assert info.value.code == "SPEC-ENGINE-UNSUPPORTED"
    assert info.value.key == "analyses.treatment_effect"
    assert info.value.line == 12  # the line of 'treatment_effect:'


def test_weighting_does_not_depend_on_the_file_order(tmp_path: Path) -> None:
    """Identity (issue 16): the Rotterdam example's rows shuffled give the same weighted
    comparison, to the last bit (weighting computes on the canonical order)."""
    import random

    src = ROOT / "examples" / "rotterdam"
    text = (src / "study.yaml").read_text(encoding="utf-8")
    text = text[: text.index("    - name: Chemotherapy vs none (matching)")]
    results = []
    for seed in (None, 5):
        folder = tmp_path / f"s{seed}"
        folder.mkdir()
        (folder / "study.yaml").write_text(text, encoding="utf-8")
        header, *lines = (src / "rotterdam.csv").read_text(encoding="utf-8").splitlines(True)
        if seed is not None:
            random.Random(seed).shuffle(lines)
        (folder / "rotterdam.csv").write_text(header + "".join(lines), encoding="utf-8")
        spec = load_spec(folder / "study.yaml")
        (te,) = run_study(spec, build_cohort(spec)).to_dict()["treatment_effect"]
        results.append(json.dumps(te, sort_keys=True))
    assert results[0] == results[1]

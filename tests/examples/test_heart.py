"""The Stanford heart transplant example (examples/heart): naive and correct side by side.

Kind of truth: R reference (tests/reference/timedep_study.json, whose script wrote the
example's spreadsheet: the files are asserted identical). Tolerance 1e-5 relative on Cox
coefficients (R's convergence), exact on counts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from survstudy.data import build_cohort
from survstudy.pipeline import run_study
from survstudy.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
R = json.loads((ROOT / "tests" / "reference" / "timedep_study.json").read_text(encoding="utf-8"))


def test_heart_example_naive_and_time_dependent_side_by_side() -> None:
    here = ROOT / "examples" / "heart"
    fixture = ROOT / "tests" / "reference" / "data" / "jasa_dates.csv"
    assert (here / "jasa.csv").read_bytes() == fixture.read_bytes()
    spec = load_spec(here / "study.yaml")
    cohort = build_cohort(spec)
    guard = [i for i in cohort.report.issues if i.code == "IMMORTAL-TIME"]
    assert len(guard) == 1
    assert f"for {R['naive']['n_after_start']} patient(s)" in guard[0].message
    res = run_study(spec, cohort).to_dict()
    rows = res["univariable"]["OS"]
    naive = next(r for r in rows if r["variable"] == "transplant_ever" and r["level"] == "Yes")
    td = next(r for r in rows if r["variable"] == "transplant" and r["level"] == "Yes")
    assert naive["coef"] == pytest.approx(R["naive"]["coef"], rel=1e-5)
    assert td["coef"] == pytest.approx(R["time_dependent"]["univariable"]["coef"], rel=1e-5)
    assert [lm["n"] for lm in res["landmark"]] == [x["n"] for x in R["landmark"]]
    assert [lm["excluded"] for lm in res["landmark"]] == [x["excluded"] for x in R["landmark"]]
    sentences = " ".join(res["methods"]["sentences"])
    assert "Mantel–Byar" in sentences
    assert "landmark" in sentences

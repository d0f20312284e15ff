"""Issue 19 in the study run: time-dependent variables and landmark analyses against R.

Kind of truth: R reference (``tests/reference/timedep_study.R`` -> ``timedep_study.json``,
survival 3.5-3 on ``survival::jasa``: the spreadsheet ``data/jasa_dates.csv`` that the
script writes is the one the study below reads). Tolerances: R's coxph stops at a relative
change of the log-likelihood below 1e-9, so coefficients agree to ~1e-6 relative (we use
1e-5); Kaplan–Meier, log-rank, Mantel–Byar and counts are closed forms (1e-9 or exact).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from survstudy.data import build_cohort
from survstudy.errors import SpecError
from survstudy.pipeline import run_study
from survstudy.spec import load_spec

REF = Path(__file__).resolve().parents[1] / "reference"
R = json.loads((REF / "timedep_study.json").read_text(encoding="utf-8"))

SPEC: dict[str, Any] = {
    "data": {"path": "jasa.csv", "id": "id"},
    "units": "days",
    "variables": {
        "id": {"type": "identifier"},
        "accept_date": {"type": "date"},
        "tx_date": {"type": "date"},
        "last_fu": {"type": "date"},
        "death_date": {"type": "date", "death": True},
        "age": {"type": "continuous"},
        "surgery": {"type": "binary", "levels": {"Yes": [1], "No": [0]}},
        "transplant_ever": {"type": "binary", "derive": "tx_date is not missing"},
        "transplant": {"type": "binary", "time_dependent": {"from": "tx_date"}},
    },
    "endpoints": {"OS": {"start": "accept_date", "events": "death_date", "censor": "last_fu"}},
    "analyses": {
        "univariable": {"endpoints": ["OS"], "factors": ["transplant_ever", "transplant"]},
        "multivariable": [
            {"name": "td", "endpoint": "OS", "covariates": ["age", "surgery", "transplant"]}
        ],
        "km": [
            {"endpoint": "OS", "by": "transplant_ever"},
            {"endpoint": "OS", "by": "transplant", "breaks": 10},
        ],
        "landmark": [
            {"endpoint": "OS", "at": 30, "by": "transplant"},
            {"endpoint": "OS", "at": 90, "by": "transplant"},
        ],
    },
}


def _spec(tmp: Path, doc: dict[str, Any] = SPEC) -> Path:
    shutil.copy(REF / "data" / "jasa_dates.csv", tmp / "jasa.csv")
    path = tmp / "study.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    spec = load_spec(_spec(tmp_path_factory.mktemp("jasa")))
    return run_study(spec, build_cohort(spec)).to_dict()


def _row(rows: list[dict[str, Any]], variable: str, level: str = "Yes") -> dict[str, Any]:
    return next(r for r in rows if r["variable"] == variable and r["level"] == level)


def test_naive_comparison_is_the_biased_r_fit(results: dict[str, Any]) -> None:
    """R: coxph(Surv(futime, status) ~ transplant) and survdiff: the naive, biased numbers."""
    row = _row(results["univariable"]["OS"], "transplant_ever")
    assert row["coef"] == pytest.approx(R["naive"]["coef"], rel=1e-5)
    assert row["se"] == pytest.approx(R["naive"]["se"], rel=1e-5)
    km = next(k for k in results["km"] if k["by"] == "transplant_ever")
    assert km["tests"][0]["statistic"] == pytest.approx(R["naive"]["logrank_chisq"], rel=1e-9)


def test_guard_flags_the_naive_variable_only(results: dict[str, Any]) -> None:
    """R count: transplants after the day of acceptance; the time-dependent one is not flagged."""
    lines = [q for q in results["data_quality"] if "[IMMORTAL-TIME]" in q]
    assert len(lines) == 1
    assert "'transplant_ever'" in lines[0]
    assert f"for {R['naive']['n_after_start']} patient(s)" in lines[0]


def test_time_dependent_univariable_and_multivariable_cox(results: dict[str, Any]) -> None:
    """R: coxph(Surv(tstart, tstop, death) ~ trt [+ age + surgery]) on tmerge's split data."""
    td = R["time_dependent"]
    row = _row(results["univariable"]["OS"], "transplant")
    uni = td["univariable"]
    assert row["coef"] == pytest.approx(uni["coef"], rel=1e-5)
    assert row["se"] == pytest.approx(uni["se"], rel=1e-5)
    assert row["p_value"] == pytest.approx(uni["p"], rel=1e-4)
    assert row["lower"] == pytest.approx(uni["lower"], rel=1e-5)
    assert row["upper"] == pytest.approx(uni["upper"], rel=1e-5)
    header = next(
        r
        for r in results["univariable"]["OS"]
        if r["variable"] == "transplant" and r["kind"] == "header"
    )
    # the log-rank on split rows is the Mantel–Byar test = exact-ties score test
    assert header["logrank_p"] == pytest.approx(td["mantel_byar"]["p_value"], rel=1e-9)
    assert header["n"] == td["n_patients"]
    assert results["univariable_summary"]["OS"]["time_dependent"] == ["transplant"]
    model = results["multivariable"][0]
    assert model["time_dependent"] == ["transplant"]
    assert (model["n"], model["events"]) == (td["n_patients"], td["multivariable"]["events"])
    coefs = [r["coef"] for r in model["rows"] if r["term"] is not None]
    np.testing.assert_allclose(coefs, td["multivariable"]["coef"], rtol=1e-5)
    ses = [r["se"] for r in model["rows"] if r["term"] is not None]
    np.testing.assert_allclose(ses, td["multivariable"]["se"], rtol=1e-5)


def test_simon_makuch_curves_and_mantel_byar(results: dict[str, Any]) -> None:
    """R: survfit(Surv(tstart, tstop, death) ~ trt) and coxph(..., ties = "exact")$score;
    the risk table counts sum(tstart < t & t <= tstop) per group."""
    sm = R["time_dependent"]["simon_makuch"]
    km = next(k for k in results["km"] if k["by"] == "transplant")
    assert km["tests"][0]["label"] == "Mantel–Byar"
    assert km["tests"][0]["statistic"] == pytest.approx(
        R["time_dependent"]["mantel_byar"]["score"], rel=1e-9
    )
    groups = {g["level"]: g for g in km["groups"]}
    n0 = sm["strata"][0]  # strata trt=0 then trt=1, as survfit's table
    r_curves = {
        "No": (sm["time"][:n0], sm["surv"][:n0]),
        "Yes": (sm["time"][n0:], sm["surv"][n0:]),
    }
    for level, (times, surv) in r_curves.items():
        g = groups[level]
        # our step data start at (0, 1) and list every row time of the curve
        ours = dict(zip(g["time"][1:], g["survival"][1:], strict=True))
        for t, s in zip(times, surv, strict=True):
            assert ours[t] == pytest.approx(s, rel=1e-9)
    assert [g["median"]["estimate"] for g in (groups["No"], groups["Yes"])] == sm["medians"]
    ticks = km["ticks"]
    # at 0, the rows starting there: R's sum(trt == 1 & tstart == 0) = 2 (two transplants on
    # the day of acceptance); the other patients with follow-up start unexposed
    assert groups["Yes"]["n_risk_at"][0] == 2
    assert groups["No"]["n_risk_at"][0] == R["time_dependent"]["n_patients"] - 2
    for i, t in enumerate(sm["times"]):
        if t == 0 or t not in ticks:
            continue
        j = ticks.index(t)
        assert groups["No"]["n_risk_at"][j] == sm["n_risk"][i][0]
        assert groups["Yes"]["n_risk_at"][j] == sm["n_risk"][i][1]


@pytest.mark.parametrize("k", [0, 1])
def test_landmarks_against_r(results: dict[str, Any], k: int) -> None:
    """R: subset(d, futime > at), group txtime <= at, time futime - at: survfit, survdiff, coxph."""
    ref = R["landmark"][k]
    lm = results["landmark"][k]
    assert (lm["at"], lm["n"], lm["excluded"]) == (ref["at"], ref["n"], ref["excluded"])
    assert lm["time_dependent"] is True
    assert lm["logrank"]["statistic"] == pytest.approx(ref["logrank_chisq"], rel=1e-9)
    assert lm["logrank"]["p_value"] == pytest.approx(ref["logrank_p"], rel=1e-9)
    yes = _row(lm["cox"]["rows"], "transplant")
    assert yes["coef"] == pytest.approx(ref["cox"]["coef"], rel=1e-5)
    assert yes["se"] == pytest.approx(ref["cox"]["se"], rel=1e-5)
    groups = {g["level"]: g for g in lm["km"]["groups"]}
    # R's strata grp=0 (No) then grp=1 (Yes)
    assert [groups["No"]["n"], groups["Yes"]["n"]] == ref["n_per_group"]
    assert [groups["No"]["events"], groups["Yes"]["events"]] == ref["events_per_group"]
    meds = [groups[x]["median"]["estimate"] for x in ("No", "Yes")]
    for ours, theirs in zip(meds, ref["km_medians"], strict=True):
        assert (ours is None and theirs is None) or ours == pytest.approx(theirs, rel=1e-9)
    n0 = ref["km_strata"][0]
    for level, sl in (("No", slice(0, n0)), ("Yes", slice(n0, None))):
        ours = dict(zip(groups[level]["time"][1:], groups[level]["survival"][1:], strict=True))
        for t, s in zip(ref["km_time"][sl], ref["km_surv"][sl], strict=True):
            assert ours[t] == pytest.approx(s, rel=1e-9)


def test_landmark_of_a_baseline_variable(tmp_path: Path) -> None:
    """Hand calculation: a landmark by a baseline variable keeps its value; the patients with
    follow-up beyond the landmark are those of R's landmark (same n and excluded)."""
    doc = json.loads(json.dumps(SPEC))
    doc["analyses"] = {"landmark": [{"endpoint": "OS", "at": 30, "by": "surgery"}]}
    spec = load_spec(_spec(tmp_path, doc))
    res = run_study(spec, build_cohort(spec)).to_dict()
    lm = res["landmark"][0]
    assert (lm["n"], lm["excluded"]) == (R["landmark"][0]["n"], R["landmark"][0]["excluded"])
    assert lm["time_dependent"] is False
    assert "time_dependent" not in res["univariable_summary"].get("OS", {})


def test_results_without_landmarks_have_no_landmark_key(tmp_path: Path) -> None:
    """Property: studies that ask for no landmark keep their results.json keys."""
    doc = json.loads(json.dumps(SPEC))
    doc["analyses"] = {"univariable": {"endpoints": ["OS"], "factors": ["age"]}}
    spec = load_spec(_spec(tmp_path, doc))
    res = run_study(spec, build_cohort(spec)).to_dict()
    assert "landmark" not in res
    assert "time_dependent" not in res["univariable_summary"]["OS"]


def test_time_dependent_needs_a_binary_and_a_date(tmp_path: Path) -> None:
    """Property: the spec's rules, with the key named."""
    doc = json.loads(json.dumps(SPEC))
    doc["variables"]["transplant"] = {"type": "binary", "time_dependent": {"from": "age"}}
    with pytest.raises(SpecError, match="'age' is a continuous variable"):
        load_spec(_spec(tmp_path, doc))
    doc["variables"]["transplant"] = {"type": "continuous", "time_dependent": {"from": "tx_date"}}
    with pytest.raises(SpecError, match="time_dependent"):
        load_spec(_spec(tmp_path, doc))


def test_engines_refuse_time_dependent_and_landmark(tmp_path: Path) -> None:
    """Property: with a data engine, SPEC-ENGINE-UNSUPPORTED names the key (landmark, then
    time_dependent) before any work."""
    pytest.importorskip("duckdb")
    from survstudy.data.registry import derive_from_cohort
    from survstudy.engines import get_engine

    eng = get_engine("duckdb", threads=1)
    try:
        for name, doc in (("a", SPEC), ("b", {**SPEC, "analyses": {**SPEC["analyses"]}})):
            if name == "b":
                doc["analyses"].pop("landmark")
            folder = tmp_path / name
            folder.mkdir()
            spec = load_spec(_spec(folder, doc))
            derived = derive_from_cohort(build_cohort(spec), folder / "cohort")
            with pytest.raises(SpecError) as info:
                run_study(spec, derived, data_engine=eng)
            assert info.value.code == "SPEC-ENGINE-UNSUPPORTED"
            key = "landmark" if name == "a" else "time_dependent"
            assert info.value.message.startswith(key)
    finally:
        eng.close()


def test_landmark_after_all_follow_up_and_endpoint_without_dates(tmp_path: Path) -> None:
    """Property: a landmark beyond every follow-up, and a time-dependent variable used with an
    endpoint from time/event columns (no start date to place the date on), are spec errors
    naming the key."""
    doc = json.loads(json.dumps(SPEC))
    doc["analyses"] = {"landmark": [{"endpoint": "OS", "at": 5000, "by": "transplant"}]}
    spec = load_spec(_spec(tmp_path, doc))
    with pytest.raises(SpecError) as info:
        run_study(spec, build_cohort(spec))
    assert info.value.key == "analyses.landmark.0.at"
    doc = json.loads(json.dumps(SPEC))
    doc["endpoints"]["OS2"] = {"time": "age", "event": "surgery", "time_unit": "days"}
    doc["analyses"] = {"univariable": {"endpoints": ["OS2"], "factors": ["transplant"]}}
    with pytest.raises(SpecError) as info:
        load_spec(_spec(tmp_path, doc))
    assert info.value.key == "variables.transplant.time_dependent"


def test_report_tables_show_the_landmarks_and_the_status_footnote(tmp_path: Path) -> None:
    """R reference through the formatting rules: the landmark table prints R's HR and limits
    to 2 decimals and the excluded count; Table 1 says its time-dependent row is the status at
    the end of follow-up."""
    from survstudy.tables.study import study_tables

    doc = json.loads(json.dumps(SPEC))
    doc["analyses"]["table1"] = {"variables": ["age", "transplant"]}
    spec = load_spec(_spec(tmp_path, doc))
    tables = {t.key: t for t in study_tables(run_study(spec, build_cohort(spec)))}
    lt = tables["landmark"]
    for ref in R["landmark"]:
        header = next(
            r for r in lt.rows if r.kind == "label" and f"at {ref['at']} days" in r.text("group")
        )
        assert f"({ref['excluded']} excluded before it)" in header.text("group")
        assert header.text("n") == str(ref["n"])
        i = lt.rows.index(header)
        yes = next(r for r in lt.rows[i + 1 : i + 3] if r.level == "Yes")
        c = ref["cox"]
        want = f"{math.exp(c['coef']):.2f} ({c['lower']:.2f}–{c['upper']:.2f})"
        assert yes.text("hr") == want
    t1 = tables["table1"]
    assert any("status at the end of follow-up" in f for f in t1.footnotes)


def test_propensity_comparisons_and_time_dependent_treatments(tmp_path: Path) -> None:
    """Property: a time-dependent treatment of a propensity comparison is refused (it needs
    the value at time zero); a treatment derived from a later date draws IMMORTAL-TIME with
    R's count of transplants after the day of acceptance."""
    doc = json.loads(json.dumps(SPEC))
    te = {"name": "tx", "endpoint": "OS", "treatment": "transplant", "confounders": ["age"]}
    doc["analyses"] = {"treatment_effect": [te]}
    with pytest.raises(SpecError) as info:
        load_spec(_spec(tmp_path, doc))
    assert info.value.key == "analyses.treatment_effect.0.treatment"
    doc["analyses"] = {"treatment_effect": [{**te, "treatment": "transplant_ever"}]}
    cohort = build_cohort(load_spec(_spec(tmp_path, doc)))
    guard = [i for i in cohort.report.issues if i.code == "IMMORTAL-TIME"]
    assert len(guard) == 1
    assert f"for {R['naive']['n_after_start']} patient(s)" in guard[0].message

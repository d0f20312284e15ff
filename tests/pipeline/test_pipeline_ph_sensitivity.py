"""Proportional hazards acted on (issue 22, item 3) on the GBSG example, against R.

Kind of truth: R reference (tests/reference/reviewer.R -> reviewer.json, R 4.2, survival 3.5-3):
``coxph(... + strata(grade, meno))`` (the sensitivity model: grade and meno are the categorical
covariates with cox.zph p < 0.05 in the demo's full model), ``cox.zph`` of it, and what
``plot(cox.zph(fit))`` draws for the full model (read back from R's display list); gbsg.json's
univariable ``cox.zph`` p (the univariable table's PH column); the text the report must contain.

Tolerances: the Cox estimates converge to R's 1e-9 relative criterion, so 1e-6 relative on
HRs, limits and chi-squares; the β(t) smooth is a least-squares fit on those residuals (1e-6
relative, 1e-9 absolute for values near 0). Printed values are compared as text (3 decimals).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from survstudy.data import build_cohort
from survstudy.pipeline import run_study
from survstudy.spec import load_spec
from survstudy.tables import format as fmt
from survstudy.tables.study import study_tables

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "examples" / "gbsg" / "study.yaml"
REF = json.loads((ROOT / "tests" / "reference" / "reviewer.json").read_text())
GBSG = json.loads((ROOT / "tests" / "reference" / "gbsg.json").read_text())
TOL = 1e-6

# R's column of each pipeline row (variable, per) and its scale: R fitted age/10 etc.
R_TERM = {
    ("hormon", None): "hormon_f",
    ("age", 10.0): "age10",
    ("size", 10.0): "size10",
    ("nodes", 1.0): "nodes",
    ("pgr", 100.0): "pgr100",
    ("er", 100.0): "er100",
}
# plot panels: pipeline variable -> (R term, scale of β: R's covariate = ours / scale)
R_PANEL = {
    "hormon": ("hormon_f", 1.0),
    "age": ("age10", 10.0),
    "meno": ("meno_f", 1.0),
    "size": ("size10", 10.0),
    "grade": ("grade_f", 1.0),
    "nodes": ("nodes", 1.0),
    "pgr": ("pgr100", 100.0),
    "er": ("er100", 100.0),
}


def close(a: Any, b: Any, tol: float = TOL) -> bool:
    return math.isclose(float(a), float(b), rel_tol=tol, abs_tol=1e-12)


@pytest.fixture(scope="module")
def results() -> Any:
    spec = load_spec(SPEC)
    return run_study(spec, build_cohort(spec), profile="standard")


@pytest.fixture(scope="module")
def model(results: Any) -> dict[str, Any]:
    doc: dict[str, Any] = results.to_dict()["multivariable"][0]
    return doc


def test_global_ph_test_fails_and_a_stratified_model_follows(model: dict[str, Any]) -> None:
    """R reference: cox.zph(full model) global p = 0.0037 < 0.05; grade and meno (the
    categorical covariates with p < 0.05) become strata."""
    r = REF["zph"]["gbsg_full"]
    assert close(model["ph_test"]["p_value"], r["p"][-1])
    assert len(model["sensitivity"]) == 1
    sens = model["sensitivity"][0]
    assert sens["kind"] == "stratified"
    assert sorted(sens["strata"]) == ["grade", "meno"]
    # offending per R: the terms with cox.zph p < 0.05
    r_off = {t for t, p in zip(r["terms"], r["p"][:-1], strict=True) if p < 0.05}
    names = {"age10": "age", "meno_f": "meno", "grade_f": "grade", "pgr100": "pgr", "er100": "er"}
    assert set(sens["offending"]) == {names[t] for t in r_off}
    assert sorted(sens["not_stratified"]) == ["age", "er", "pgr"]


def test_sensitivity_rows_match_r_stratified_coxph(model: dict[str, Any]) -> None:
    """R reference: coxph(Surv(rfstime, status) ~ hormon_f + age10 + size10 + nodes + pgr100 +
    er100 + strata(grade, meno)) — HR and Wald limits of each term."""
    r = REF["zph"]["gbsg_strat"]
    rows = model["sensitivity"][0]["rows"]
    assert {x["variable"] for x in rows} == {"hormon", "age", "size", "nodes", "pgr", "er"}
    seen = set()
    for row in rows:
        key = (row["variable"], None if row["kind"] == "level" else row["per"])
        if row["kind"] not in ("level", "continuous") or key not in R_TERM:
            continue
        j = r["terms"].index(R_TERM[key])
        assert close(row["hr"], r["hr"][j]), key
        assert close(row["lower"], r["lower"][j]), key
        assert close(row["upper"], r["upper"][j]), key
        seen.add(R_TERM[key])
    assert seen == set(r["terms"])


def test_sensitivity_ph_test_matches_r_cox_zph(model: dict[str, Any]) -> None:
    """R reference: cox.zph of the stratified model, per term and global."""
    r = REF["zph"]["gbsg_strat"]
    ph = model["sensitivity"][0]["ph_test"]
    assert close(ph["chisq"], r["chisq"][-1])
    assert ph["df"] == r["df"][-1]
    assert close(ph["p_value"], r["p"][-1])
    ours = {t["term"]: t for t in ph["terms"]}
    back = {v: k for k, (v, _s) in R_PANEL.items()}
    for term, chisq, p in zip(r["terms"], r["chisq"], r["p"], strict=False):
        t = ours[back[term]]
        assert close(t["chisq"], chisq), term
        assert close(t["p_value"], p), term


@pytest.mark.parametrize("variable", list(R_PANEL))
def test_beta_t_plot_matches_r_plot_cox_zph(results: Any, variable: str) -> None:
    """R reference: plot(cox.zph(full model)[i]) — the smooth and the ±2 SE band at its 40
    points (x on the KM scale, independent of the time unit). R's covariate is ours divided
    by ``scale`` (age/10, …), so R's β(t) is ``scale`` times ours; a factor's panel is β(t)/β̂."""
    term, scale = R_PANEL[variable]
    r = REF["zph"]["gbsg_full"]["plots"][term]
    panel = next(p for p in results.multivariable[0].ph_plots if p.variable == variable)
    np.testing.assert_allclose(panel.curve_x, r["curve_x"], rtol=1e-9)
    for ours, theirs in (
        (panel.fit, r["fit"]),
        (panel.lower, r["lower"]),
        (panel.upper, r["upper"]),
    ):
        np.testing.assert_allclose(np.asarray(ours) * scale, theirs, rtol=TOL, atol=1e-9)
    np.testing.assert_allclose(
        np.sort(panel.y) * scale, np.sort(r["points_y"]), rtol=TOL, atol=1e-9
    )
    assert panel.factor == (variable == "grade")
    # R's tick labels are in days; ours in months read off the same rule at the same points
    assert panel.time_unit == "months"


def test_results_json_has_no_residual_points(model: dict[str, Any]) -> None:
    """Privacy: one residual per patient with an event stays out of results.json."""
    for p in model["ph_plots"]:
        assert set(p) == {"variable", "label", "line", "p_value", "scale", "curve", "ticks"}


def test_report_tables_show_both_models_and_the_sentence(
    results: Any, model: dict[str, Any]
) -> None:
    """Text: the sensitivity table prints both HRs side by side, the strata, and the results
    sentence with the global PH p (R: 0.0037 -> "p = 0.004") and the stratified model's
    (R: 0.2466 -> "p = 0.247")."""
    tables = study_tables(results)
    sens = next(t for t in tables if t.key.endswith("_sensitivity"))
    r = REF["zph"]["gbsg_strat"]
    yes = next(row for row in sens.rows if row.level == "Yes")
    j = r["terms"].index("hormon_f")
    assert yes.cells["s_hr"] == fmt.hr_ci_text(r["hr"][j], r["lower"][j], r["upper"][j])
    full = REF["zph"]["gbsg_full"]
    assert yes.cells["hr"] == fmt.hr_ci_text(full["hr"][0], full["lower"][0], full["upper"][0])
    grade = next(row for row in sens.rows if row.variable == "grade" and row.kind == "label")
    assert grade.cells["s_hr"] == "stratified"
    sentence = sens.footnotes[0]
    assert "gave p = 0.004" in sentence
    assert "stratified on menopausal status and tumour grade" in sentence
    assert "global proportional-hazards test gave p = 0.247" in sentence
    # the largest HR change (hormonal therapy 0.707 -> 0.699 in R: 1.2%)
    ratio = full["hr"][0] / r["hr"][j]
    assert f"at most {ratio * 100 - 100:.1f}%" in sentence
    # Table 1, survival, survival by hormonal therapy, univariable, the model, its sensitivity
    assert sens.title.startswith("Table 6. Sensitivity analysis")


def test_univariable_table_shows_the_ph_p(results: Any) -> None:
    """R reference: cox.zph p of each univariable coxph fit (gbsg.json), printed in the
    univariable table's PH column."""
    uni = next(t for t in study_tables(results) if t.key == "univariable_RFS")
    assert any(c.key == "ph" and c.header == "PH test p" for c in uni.columns)
    age = next(row for row in uni.rows if row.variable == "age")
    assert age.cells["ph"] == fmt.p_value(GBSG["univariable"]["age"]["zph_p"][0])
    grade = next(row for row in uni.rows if row.variable == "grade" and row.kind == "label")
    assert grade.cells["ph"] == fmt.p_value(GBSG["univariable"]["grade_f"]["zph_p"][0])


# ----------------------------------------------------------------- no categorical offender


@pytest.fixture(scope="module")
def split_results(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The demo's model without meno and grade: its PH violations (age, pgr, er) are all
    continuous (R: cox.zph p 0.0008, 0.023, 0.015; hormon 0.61)."""
    text = SPEC.read_text(encoding="utf-8").replace(
        "path: gbsg.csv", f"path: {(SPEC.parent / 'gbsg.csv').as_posix()}"
    )
    head, tail = text.split("multivariable:", 1)
    tail = tail.replace("        - meno\n", "").replace("        - grade\n", "")
    path = tmp_path_factory.mktemp("split") / "study.yaml"
    path.write_text(head + "multivariable:" + tail, encoding="utf-8")
    spec = load_spec(path)
    return run_study(spec, build_cohort(spec), profile="standard")


def test_split_sensitivity_matches_r_survsplit_coxph(split_results: Any) -> None:
    """R reference: survSplit at the reverse-KM median follow-up (1645 days), then
    coxph(Surv(tstart, rfstime, status) ~ hormon_f + size10 + nodes + age10:strata(tgroup) +
    pgr100:strata(tgroup) + er100:strata(tgroup)): HR, limits and p per period, and cox.zph of
    that fit (2 df per split covariate)."""
    r = REF["split_sensitivity"]
    model = split_results.to_dict()["multivariable"][0]
    assert close(model["ph_test"]["p_value"], r["zph_p"][-1])
    [sens] = model["sensitivity"]
    assert sens["kind"] == "split"
    assert sens["strata"] == []
    assert sens["split"] == ["age", "pgr", "er"]
    days = split_results.methods["days_per_unit"]
    assert close(sens["cut"] * days, r["cut_days"])
    r_term = {
        ("hormon", None): "hormon_f1",
        ("size", 10.0): "size10",
        ("nodes", 1.0): "nodes",
        ("age", 1): "age10:strata(tgroup)tgroup=1",
        ("age", 2): "age10:strata(tgroup)tgroup=2",
        ("pgr", 1): "strata(tgroup)tgroup=1:pgr100",
        ("pgr", 2): "strata(tgroup)tgroup=2:pgr100",
        ("er", 1): "strata(tgroup)tgroup=1:er100",
        ("er", 2): "strata(tgroup)tgroup=2:er100",
    }
    seen = set()
    for row in sens["rows"]:
        if row["kind"] == "period":
            key: tuple[str, Any] = (row["variable"], int(row["term"][-1]))
        elif row["kind"] == "level":
            key = (row["variable"], None)
        elif row["kind"] == "continuous":
            key = (row["variable"], row["per"])
        else:
            continue
        if key not in r_term:
            continue
        j = r["terms"].index(r_term[key])
        assert close(row["hr"], r["hr"][j]), key
        assert close(row["lower"], r["lower"][j]), key
        assert close(row["upper"], r["upper"][j]), key
        assert close(row["p_value"], r["p"][j], 1e-5), key
        seen.add(key)
    assert seen == set(r_term)
    ph = sens["ph_test"]
    assert close(ph["p_value"], r["split_zph_p"][-1])
    assert ph["df"] == r["split_zph_df"][-1]
    by_term = {t["term"]: t for t in ph["terms"]}
    for name, ours in (("age10:strata(tgroup)", "age"), ("strata(tgroup):er100", "er")):
        i = r["split_zph_terms"].index(name)
        assert by_term[ours]["df"] == 2
        assert close(by_term[ours]["chisq"], r["split_zph_chisq"][i])


def test_split_sensitivity_table_and_sentence(split_results: Any) -> None:
    """Text: one HR per period under each split covariate, the cut in months
    (1645 / 30.4375 = 54.0) and R's HRs of age (0.95, 1.70) in the sentence."""
    r = REF["split_sensitivity"]
    model = split_results.multivariable[0]
    table = next(t for t in study_tables(split_results) if t.key.endswith("_sensitivity"))
    labels = [row.cells["variable"] for row in table.rows]
    i = labels.index("Age (per 10 years)")
    assert labels[i + 1 : i + 3] == ["follow-up ≤ 54.0 months", "follow-up > 54.0 months"]
    j = r["terms"].index("age10:strata(tgroup)tgroup=2")
    after = fmt.hr_ci_text(r["hr"][j], r["lower"][j], r["upper"][j])
    assert table.rows[i + 2].cells["s_hr"] == after
    sentence = table.footnotes[0]
    assert "one hazard ratio up to the median follow-up (54.0 months)" in sentence
    assert f"and {after} after" in sentence
    assert model.sensitivity[0].kind == "split"


def test_methods_name_the_refit(results: Any, split_results: Any) -> None:
    """Text: the methods paragraph names the sensitivity refit that was run, and only it."""
    strat = " ".join(results.methods["sentences"])
    split = " ".join(split_results.methods["sentences"])
    assert "Schoenfeld residuals" in strat
    assert "refitted stratified on the categorical covariates" in strat
    assert "median follow-up for the continuous covariates" not in strat
    assert "median follow-up for the continuous covariates" in split
    assert "refitted stratified" not in split


def test_no_follow_up_when_ph_holds() -> None:
    """Property: a study without a failing global PH test (the seed study, examples/bclm, has
    no multivariable model) gets no sensitivity model, no residual plots, no sentence."""
    spec = load_spec(ROOT / "examples" / "bclm" / "study.yaml")
    res = run_study(spec, build_cohort(spec))
    for m in res.multivariable:
        assert not (math.isfinite(m.ph_global_p) and m.ph_global_p < 0.05)
        assert m.sensitivity == ()
        assert m.ph_plots == ()
    assert not any("Schoenfeld residuals" in x for x in res.methods["sentences"])


def test_beta_t_figure_is_weighed_by_its_panels(results: Any) -> None:
    """The writer draws the heaviest figures first when two processes share them: the β(t)
    figure weighs one plus one per panel (at 10^6 rows its six panels took longer than a KM
    figure of three groups, which weighs 2 + 3), a forest plot one."""
    from survstudy.report.build import figure_specs

    specs = {f.id: f for f in figure_specs(results)}
    n_panels = len(results.multivariable[0].ph_plots)
    assert n_panels >= 2
    assert specs["ph_residuals_multivariable_1"].cost == 1 + n_panels
    assert specs["forest_multivariable_1"].cost == 1

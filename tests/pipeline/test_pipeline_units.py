"""Small pieces of the runner: profiles, dummy coding, tick spacing, output-folder checks.

Kinds of truth: hand calculation (dummy columns and ticks written out by hand), property.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from survstudy.data import build_cohort
from survstudy.errors import SurvstudyError
from survstudy.pipeline import get_profile
from survstudy.pipeline.design import factor_design, on_model_matrix, stratum_design
from survstudy.pipeline.km_figures import nice_step
from survstudy.spec import load_spec
from survstudy.study import check_out_dir, default_out_dir

SEEDLIKE = Path(__file__).parent / "fixtures" / "seedlike.yaml"


def test_profiles_conventions() -> None:
    """Property: the two profiles' documented conventions."""
    std, spss = get_profile("standard"), get_profile("spss")
    assert (std.ties, std.median_rule) == ("efron", "r")
    assert (spss.ties, spss.median_rule) == ("breslow", "spss")
    assert [lab for _w, lab in spss.tests] == [
        "Log Rank (Mantel-Cox)",
        "Breslow (Generalized Wilcoxon)",
    ]
    with pytest.raises(ValueError, match="unknown methods profile"):
        get_profile("sas")


def test_dummy_coding_against_the_reference() -> None:
    """Hand calculation: pT stage of S01, S02, S03, S06, S07 = I/II, III, I/II, I/II, I/II."""
    spec = load_spec(SEEDLIKE)
    cohort = build_cohort(spec)
    d = factor_design(cohort, "pt_stage")
    assert d.reference == "I/II"
    assert d.terms == ("pt_stage[III]",)
    assert d.columns[:, 0].tolist() == [0.0, 1.0, 0.0, 0.0, 0.0]
    k = factor_design(cohort, "ki67", per=10)
    assert k.columns[:, 0].tolist() == [10.0, 40.0, 20.0, 55.0, 15.0]
    assert k.per == 10


def test_stratum_design_keeps_codes_without_dummies() -> None:
    """Property: a stratum keeps its codes, levels and reference (all a stratum uses),
    and no dummy columns (the rows stay: one empty row per patient)."""
    cohort = build_cohort(load_spec(SEEDLIKE))
    d = factor_design(cohort, "pt_stage")
    s = stratum_design(d)
    assert s.columns.shape == (5, 0)
    assert s.codes is d.codes
    assert (s.levels, s.reference) == (d.levels, d.reference)


def test_designs_on_the_model_matrix() -> None:
    """Property: with every patient in the matrix stacked from the designs, each design's
    columns become a view of its block (equal values, no own memory); with a row dropped,
    a width that does not add up, or no matrix, the designs come back unchanged."""
    cohort = build_cohort(load_spec(SEEDLIKE))
    ds = [factor_design(cohort, "pt_stage"), factor_design(cohort, "ki67", per=10)]
    x = np.hstack([d.columns for d in ds])
    out = on_model_matrix(ds, x)
    for d, o in zip(ds, out, strict=True):
        np.testing.assert_array_equal(o.columns, d.columns)
        assert np.shares_memory(o.columns, x)
        assert (o.terms, o.codes is d.codes) == (d.terms, True)
    assert on_model_matrix(ds, x[1:]) is ds
    assert on_model_matrix(ds, x[:, :1]) is ds
    assert on_model_matrix(ds, None) is ds


def test_dates_and_identifiers_cannot_be_factors() -> None:
    """Property: a multiselect (or unknown) variable is a spec error, not a crash."""
    cohort = build_cohort(load_spec(SEEDLIKE))
    with pytest.raises(SurvstudyError):
        factor_design(cohort, "other_treatment")
    with pytest.raises(SurvstudyError):
        factor_design(cohort, "patient_id")


@pytest.mark.parametrize(
    ("max_time", "unit", "step"),
    [(130.0, "months", 24.0), (60.0, "months", 12.0), (14.0, "months", 2.0), (10.0, "years", 2.0)],
)
def test_nice_step(max_time: float, unit: str, step: float) -> None:
    """Hand calculation: the smallest habitual step giving at most 8 intervals."""
    assert nice_step(max_time, unit) == step


def test_out_dir_rules(tmp_path: Path) -> None:
    """Property: an output folder holding an input, or equal to one, is refused."""
    spec = tmp_path / "s" / "study.yaml"
    spec.parent.mkdir()
    spec.write_text("x")
    data = tmp_path / "d" / "data.csv"
    data.parent.mkdir()
    data.write_text("x")
    assert default_out_dir(spec) == spec.parent.resolve() / "out"
    check_out_dir(tmp_path / "elsewhere", [spec, data])
    check_out_dir(spec.parent / "out", [spec, data])
    for bad in (spec.parent, data.parent, tmp_path, data):
        with pytest.raises(SurvstudyError):
            check_out_dir(bad, [spec, data])


def test_table1_by_group_excludes_the_grouping_variable(tmp_path: Path) -> None:
    """Hand count: 12 patients, arm A rows 1-6 and arm B rows 7-12; ages by hand."""
    (tmp_path / "d.csv").write_text(
        "pid,months,event,arm,age\n"
        + "".join(f"p{i},{i + 1},{i % 2},{'A' if i < 6 else 'B'},{40 + i}\n" for i in range(12))
    )
    (tmp_path / "s.yaml").write_text(
        "data: {path: d.csv, id: pid}\n"
        "variables:\n"
        "  pid: {type: identifier}\n"
        "  arm: {type: categorical, levels: [A, B]}\n"
        "  age: {type: continuous}\n"
        "endpoints:\n"
        "  OS: {time: months, event: event, time_unit: months}\n"
        "analyses:\n"
        "  table1: {variables: [arm, age], by: arm}\n"
    )
    from survstudy.pipeline import run_study

    spec = load_spec(tmp_path / "s.yaml")
    t1 = run_study(spec, build_cohort(spec)).table1
    assert t1 is not None
    assert [r.variable for r in t1.rows] == ["age"]
    assert t1.by_levels == (("A", 6), ("B", 6))
    (age,) = t1.rows
    assert [(g.group, g.median, g.min, g.max) for g in age.groups] == [
        ("A", 42.5, 40, 45),
        ("B", 48.5, 46, 51),
    ]
    assert age.test is not None
    assert "Mann–Whitney" in age.test


def test_warnings_in_plain_words_for_an_endpoint_without_events(tmp_path: Path) -> None:
    """Hand calculation: every time is >= 1 month, a 1-month horizon censors all 12 patients
    at 1 month: no events, a 6-month landmark beyond follow-up, no Cox model possible."""
    (tmp_path / "d.csv").write_text(
        "pid,months,event,age\n" + "".join(f"p{i},{i + 2},1,{40 + i}\n" for i in range(12))
    )
    (tmp_path / "s.yaml").write_text(
        "data: {path: d.csv, id: pid}\n"
        "variables:\n"
        "  pid: {type: identifier}\n"
        "  age: {type: continuous}\n"
        "endpoints:\n"
        "  OS: {label: Overall survival, time: months, event: event, time_unit: months,"
        " horizon: 1}\n"
        "analyses:\n"
        "  survival: {endpoints: [OS], landmarks: [6]}\n"
        "  univariable: {endpoints: [OS], factors: [age]}\n"
    )
    from survstudy.pipeline import run_study

    spec = load_spec(tmp_path / "s.yaml")
    res = run_study(spec, build_cohort(spec)).to_dict()
    ep = res["endpoints"]["OS"]
    assert (ep["n"], ep["events"]) == (12, 0)
    assert ep["median"] is None
    assert ep["at"][0]["survival"] is None
    assert ep["at"][0]["warnings"] == ["BEYOND-FOLLOW-UP"]
    codes = [w["code"] for w in res["warnings"]]
    assert {"NO-EVENTS", "MEDIAN-NOT-REACHED", "BEYOND-FOLLOW-UP", "MODEL-NOT-FITTED"} <= set(codes)
    (row,) = res["univariable"]["OS"]
    assert row["hr"] is None
    assert row["warnings"] == ["no events among these patients; no model possible"]

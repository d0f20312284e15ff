"""Issue 22 items 6 and 8 (presentation) on the GBSG example.

Kind of truth: the text the report must or must not contain (issue 22's wording), and for
the total follow-up the sum of the data file's times computed here from the CSV (as R's
``sum(gbsg$rfstime) / 365.25``).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import pytest

from survstudy.data import build_cohort
from survstudy.pipeline import run_study
from survstudy.report.build import build_bundle
from survstudy.spec import load_spec
from survstudy.stats.km import kaplan_meier

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "examples" / "gbsg" / "study.yaml"


@pytest.fixture(scope="module")
def bundle() -> Any:
    spec = load_spec(SPEC)
    return build_bundle(run_study(spec, build_cohort(spec), profile="standard"))


def _table(bundle: Any, key: str) -> Any:
    return next(t for t in bundle.tables if t.key == key)


def _text(t: Any) -> str:
    cells = [str(v) for r in t.rows for v in r.cells.values()]
    heads = [c.header for c in t.columns]
    return " | ".join([t.title, *heads, *cells, *t.footnotes])


def test_total_time_by_hand() -> None:
    """Times 2, 3+, 3, 5+: total 13 (by hand); the number at risk 4, 4 (at 3), 1 (at 5)
    times the widths 2, 1, 2 gives the same."""
    km = kaplan_meier([2.0, 3.0, 3.0, 5.0], [1, 0, 1, 0])
    assert km.total_time() == pytest.approx(13.0, rel=1e-15)


def test_person_years_is_the_sum_of_the_times(bundle: Any) -> None:
    """followup_person_years = sum of rfstime (days) / 365.25, from the CSV directly;
    Table 2 prints it and the censored count (STROBE 14c)."""
    with (ROOT / "examples" / "gbsg" / "gbsg.csv").open() as f:
        rows = list(csv.DictReader(f))
    want = sum(float(r["rfstime"]) for r in rows) / 365.25
    censored = sum(1 for r in rows if r["status"] == "0")
    ep = bundle.results["endpoints"]["RFS"]
    assert ep["followup_person_years"] == pytest.approx(want, rel=1e-12)  # a float sum
    assert ep["censored"] == censored
    cells = {r.cells["statistic"]: r.cells["RFS"] for r in _table(bundle, "survival").rows}
    assert cells["Total follow-up, person-years"] == f"{want:.0f}"
    assert cells["Censored, n"] == str(censored)


def test_concordance_labelled_apparent(bundle: Any) -> None:
    """C is optimistic on the data it was fitted to: it is labelled apparent (item 8)."""
    text = _text(next(t for t in bundle.tables if t.key.startswith("multivariable")))
    assert "Apparent concordance (Harrell's C, not validated) 0.692" in text
    assert "Concordance (Harrell's C)" not in text


def test_reconciliation_column_says_what_it_is(bundle: Any) -> None:
    """The standard profile is not R's default (conf.type = 'log'): the column says so."""
    text = _text(_table(bundle, "reconciliation"))
    assert "R conventions" not in text
    assert "Standard profile (as R survival, log-log CI)" in text
    assert "conf.type = 'log-log'" in text
    assert "neither is a run of R or SPSS" in text


def test_no_power_wording_in_the_univariable_table(bundle: Any) -> None:
    """The detectable HR stays in results.json, not in the report as a power claim; the
    table's precision note words it as precision (item 5's 'elsewhere')."""
    t = _table(bundle, "univariable_RFS")
    text = _text(t)
    assert "Detectable HR" not in text
    assert "80% power" not in text
    assert "could have detected" not in text
    assert "This describes the precision of the study; it is not a power calculation." in text
    # the contract key stays: Schoenfeld's detectable HR of the two binary factors
    rows = bundle.results["univariable"]["RFS"]
    assert [r["variable"] for r in rows if r["detectable_hr"] is not None] == ["meno", "hormon"]


def test_methods_paragraph_and_references(bundle: Any) -> None:
    """Item 6: no jargon, software with the R survival version, a reference list of the
    works cited, and no method that was not used (GBSG has no Firth estimate)."""
    m = bundle.methods
    assert "Methods profile" not in m
    assert "verified against R survival 3.5.3 in the test suite" in m
    assert "Firth" not in m
    assert "Brookmeyer and Crowley 1982" in m
    refs = bundle.references
    assert refs[0].startswith("Kaplan EL, Meier P.")
    assert any(r.startswith("Cox DR.") for r in refs)
    assert not any(r.startswith("Heinze G") for r in refs)


def test_univariable_rows_carry_n_and_events(bundle: Any) -> None:
    """Every factor's first line gives its model's patients and events: 686 and 299 for
    GBSG (no missing values; counted from the CSV), level lines blank."""
    with (ROOT / "examples" / "gbsg" / "gbsg.csv").open() as f:
        rows = list(csv.DictReader(f))
    n, events = len(rows), sum(1 for r in rows if r["status"] == "1")
    t = _table(bundle, "univariable_RFS")
    assert [c.key for c in t.columns][:3] == ["variable", "n", "events"]
    first = [r for r in t.rows if r.kind in ("label", "summary")]
    assert len(first) == 8  # the 8 factors
    assert {(r.cells["n"], r.cells["events"]) for r in first} == {(str(n), str(events))}
    assert {r.cells["n"] for r in t.rows if r.kind in ("level", "reference")} == {""}


def test_forest_plots_state_n_and_events(bundle: Any) -> None:
    """The forest plots' captions give the patients and events (686 and 299, from the CSV
    as above; the full model has no missing covariate)."""
    caps = {f.id: f.caption for f in bundle.figures}
    assert "Each model: 686 patients, 299 events." in caps["forest_univariable_RFS"]
    assert (
        "Full model (recurrence-free survival); 686 patients, 299 events."
        in (caps["forest_multivariable_1"])
    )


def test_km_curves_curtailed_where_fewer_than_10_at_risk(bundle: Any) -> None:
    """Each curve stops after the last time at which at least 10 patients were at risk
    (counted here from the CSV: #(rfstime >= t)); the x-axis ends at the longest-drawn
    curve; the caption says so, and the single curve has its CI band (item 8)."""
    with (ROOT / "examples" / "gbsg" / "gbsg.csv").open() as f:
        rows = list(csv.DictReader(f))

    def last_with_10(times: list[float]) -> float:
        return max(t for t in set(times) if sum(x >= t for x in times) >= 10) / 30.4375

    every = [float(r["rfstime"]) for r in rows]
    by = {
        lev: [float(r["rfstime"]) for r in rows if r["hormon"] == code]
        for lev, code in (("No", "0"), ("Yes", "1"))
    }
    kms = {k["key"]: k for k in bundle.results["km"]}
    single = kms["km_RFS"]
    assert single["min_at_risk"] == 10
    assert single["groups"][0]["curtail_time"] == pytest.approx(last_with_10(every), rel=1e-12)
    two = kms["km_RFS_by_hormon"]
    for g in two["groups"]:
        assert g["curtail_time"] == pytest.approx(last_with_10(by[g["level"]]), rel=1e-12)
    assert two["max_time"] == max(g["curtail_time"] for g in two["groups"])
    caps = {f.id: f.caption for f in bundle.figures}
    assert (
        "The curve stops after the last time at which at least 10 patients were at risk."
        in caps["km_RFS"]
    )
    assert "Shaded: pointwise 95% confidence band." in caps["km_RFS"]
    assert "Each curve stops after the last time at which at least 10" in caps["km_RFS_by_hormon"]


def _table1_by(tests: bool) -> Any:
    from survstudy.tables.study import table1_table

    spec = load_spec(SPEC)
    t1 = spec.analyses.table1
    assert t1 is not None
    update = {"by": "hormon", **({"tests": True} if tests else {})}
    analyses = spec.analyses.model_copy(update={"table1": t1.model_copy(update=update)})
    spec = spec.model_copy(update={"analyses": analyses})
    res = run_study(spec, build_cohort(spec), profile="standard")
    return res, table1_table(res)


def test_table1_by_group_without_tests_by_default() -> None:
    """Item 7: table1.by gives one column per group and, by default, no p column and no
    test footnote (CONSORT); tests: true adds them. Group sizes 440 / 246 from the CSV."""
    with (ROOT / "examples" / "gbsg" / "gbsg.csv").open() as f:
        rows = list(csv.DictReader(f))
    n_yes = sum(1 for r in rows if r["hormon"] == "1")
    res, t = _table1_by(tests=False)
    heads = [c.header for c in t.columns]
    assert f"Yes (n = {n_yes})" in heads
    assert f"No (n = {len(rows) - n_yes})" in heads
    assert "p" not in [c.key for c in t.columns]
    assert not [f for f in t.footnotes if f.startswith("p-values")]
    assert res.to_dict()["table1_summary"]["show_tests"] is False
    _, with_tests = _table1_by(tests=True)
    assert "p" in [c.key for c in with_tests.columns]
    assert [f for f in with_tests.footnotes if f.startswith("p-values")]


def test_table1_endpoint_times_footnoted() -> None:
    """Item 7: Table 1's naive summaries of endpoint times (BCLM's DFS, PFS, OS rows) carry
    the footnote 'observed times of censored and uncensored patients; not survival
    estimates'; the other rows do not carry its mark."""
    from survstudy.tables.study import table1_table

    spec = load_spec(ROOT / "examples" / "bclm" / "study.yaml")
    t = table1_table(run_study(spec, build_cohort(spec)))
    assert t is not None
    marked = {r.variable for r in t.rows if "†" in r.footnote_markers}
    assert marked == {"DFS", "PFS", "OS"}
    assert (
        "† Observed times of censored and uncensored patients; not survival estimates "
        "(see the Kaplan–Meier estimates)." in t.footnotes
    )


def test_one_p_per_comparison_in_the_univariable_table(bundle: Any) -> None:
    """Item 8: GBSG's univariable table has one p column (the Cox p); the log-rank p of
    each categorical factor is in a supplementary table. Below 10 events (BCLM's PFS, 3
    events) the permutation p stays primary with the chi-square p beside it (item 5)."""
    from survstudy.tables.study import study_tables

    t = _table(bundle, "univariable_RFS")
    tests = [c.key for c in t.columns if c.header.endswith("p")]
    assert tests == ["p", "ph", "nonlinear"]  # one test of the effect; two of assumptions
    assert "Group tests compare" not in " ".join(t.footnotes)
    supp = _table(bundle, "supplementary_tests_RFS")
    assert [r.cells["variable"] for r in supp.rows] == [
        "Menopausal status",
        "Tumour grade",
        "Hormonal therapy",
    ]
    spec = load_spec(ROOT / "examples" / "bclm" / "study.yaml")
    tables = {x.key: x for x in study_tables(run_study(spec, build_cohort(spec)))}
    keys = [c.key for c in tables["univariable_PFS"].columns]
    assert "permutation" in keys
    assert "logrank" in keys
    assert "supplementary_tests_PFS" not in tables
    assert "logrank" not in [c.key for c in tables["univariable_DFS"].columns]


def test_table1_smd_column_by_hand() -> None:
    """Item 7's SMD option, computed here from the CSV: age (continuous) (m1 − m0) /
    sqrt((s1² + s0²)/2) with sample SDs; menopausal status (binary) |p1 − p0| /
    sqrt((p1q1 + p0q0)/2); grade (3 levels) Yang and Dalton's sqrt(Tᵀ S⁻¹ T), written out
    here with the 2×2 inverse by hand. Tolerance 1e-9: sums of 686 values."""
    import statistics

    from survstudy.tables.study import table1_table

    with (ROOT / "examples" / "gbsg" / "gbsg.csv").open() as f:
        rows = list(csv.DictReader(f))
    g = {c: [r for r in rows if r["hormon"] == c] for c in ("0", "1")}
    age = {c: [float(r["age"]) for r in g[c]] for c in g}
    want_age = (statistics.mean(age["1"]) - statistics.mean(age["0"])) / math.sqrt(
        (statistics.variance(age["1"]) + statistics.variance(age["0"])) / 2
    )
    p = {c: sum(r["meno"] == "1" for r in g[c]) / len(g[c]) for c in g}
    want_meno = abs(p["1"] - p["0"]) / math.sqrt(
        (p["1"] * (1 - p["1"]) + p["0"] * (1 - p["0"])) / 2
    )
    q = {c: [sum(r["grade"] == k for r in g[c]) / len(g[c]) for k in "23"] for c in g}
    t = [q["1"][0] - q["0"][0], q["1"][1] - q["0"][1]]
    s11 = (q["1"][0] * (1 - q["1"][0]) + q["0"][0] * (1 - q["0"][0])) / 2
    s22 = (q["1"][1] * (1 - q["1"][1]) + q["0"][1] * (1 - q["0"][1])) / 2
    s12 = -(q["1"][0] * q["1"][1] + q["0"][0] * q["0"][1]) / 2
    det = s11 * s22 - s12 * s12
    want_grade = math.sqrt((t[0] * t[0] * s22 - 2 * t[0] * t[1] * s12 + t[1] * t[1] * s11) / det)

    spec = load_spec(SPEC)
    t1 = spec.analyses.table1
    assert t1 is not None
    analyses = spec.analyses.model_copy(
        update={"table1": t1.model_copy(update={"by": "hormon", "smd": True})}
    )
    spec = spec.model_copy(update={"analyses": analyses})
    res = run_study(spec, build_cohort(spec), profile="standard")
    smd = {r.variable: r.smd for r in res.table1.rows if r.smd is not None}
    assert smd["age"] == pytest.approx(want_age, rel=1e-9)
    assert smd["meno"] == pytest.approx(want_meno, rel=1e-9)
    assert smd["grade"] == pytest.approx(want_grade, rel=1e-9)
    table = table1_table(res)
    assert table is not None
    assert "smd" in [c.key for c in table.columns]
    assert "p" not in [c.key for c in table.columns]
    (age_row,) = [r for r in table.rows if r.variable == "age"]
    assert age_row.cells["smd"] == f"{want_age:.2f}"

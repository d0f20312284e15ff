"""Issue 22 items 1, 2, 4, 5 in the study run: endpoint definitions and their warnings, the
by-group survival table with absolute effects, the univariable PH p, the few-events regime.

Kinds of truth:
- R reference: tests/reference/reviewer.R -> reviewer.json (``comparison.gbsg_hormon``:
  ``summary(survfit(...), times)`` per group, the differences with Greenwood variances of
  independent groups, ``print(survfit, rmean = 60)`` and the survRM2 formula of the RMST
  difference) and tests/reference/gbsg.R -> gbsg.json (``km_hormon``: the per-group
  log-log limits and medians; ``univariable``: ``cox.zph`` p of each factor's model).
  R prints 15 significant digits: relative tolerance 1e-9 (the days -> months scaling is
  exact in both).
- hand calculation: counts read off the data (bclm: 11 of 11 with a DFS event), the
  precision factor exp(z / sqrt(D/4)).
- property: which warnings, columns and texts appear (issue 22's wording).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from survstudy.data import build_cohort
from survstudy.pipeline import run_study
from survstudy.spec import load_spec
from survstudy.tables import format as fmt
from survstudy.tables.study import km_group_table, study_tables, univariable_table

ROOT = Path(__file__).resolve().parents[2]
GBSG = ROOT / "examples" / "gbsg" / "study.yaml"
BCLM = ROOT / "examples" / "bclm" / "study.yaml"
REF = ROOT / "tests" / "reference"
R_CMP = json.loads((REF / "reviewer.json").read_text())["comparison"]["gbsg_hormon"]
R_GBSG = json.loads((REF / "gbsg.json").read_text())
R_TAU = json.loads((REF / "issue22.json").read_text())["rmst_tau"]
TOL = 1e-9
Z975 = 1.959963984540054  # published normal quantile


def _run(path: Path) -> Any:
    spec = load_spec(path)
    return run_study(spec, build_cohort(spec))


@pytest.fixture(scope="module")
def gbsg() -> Any:
    return _run(GBSG)


@pytest.fixture(scope="module")
def bclm() -> Any:
    return _run(BCLM)


def _gbsg_variant(tmp_path: Path, old: str, new: str) -> Any:
    text = GBSG.read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "study.yaml").write_text(text.replace(old, new), encoding="utf-8")
    (tmp_path / "gbsg.csv").write_bytes((GBSG.parent / "gbsg.csv").read_bytes())
    return _run(tmp_path / "study.yaml")


# --------------------------------------------------------------------------- item 2


def test_gbsg_comparison_matches_r(gbsg: Any) -> None:
    """R reference: hormonal therapy Yes minus No at 12, 36, 60 months (Greenwood variances,
    independent groups, Wald CI) and the RMST difference at tau = 60 (the last landmark)."""
    (k,) = [k for k in gbsg.km if k.by == "hormon"]
    d = k.to_dict()["comparison"]
    assert (d["reference"], d["group"]) == ("No", "Yes")  # R: hormon 1 minus hormon 0
    r = R_CMP["at"]
    assert [a["time"] for a in d["at"]] == r["time"]
    for key in ("difference", "lower", "upper", "std_err"):
        assert [a[key] for a in d["at"]] == pytest.approx(r[key], rel=TOL), key
    rm, rr = d["rmst"], R_CMP["rmst"]
    assert rm["tau"] == rr["tau"] == 60
    for key in ("difference", "lower", "upper", "std_err", "p_value"):
        assert rm[key] == pytest.approx(rr[key], rel=TOL), key
    pg = R_CMP["per_group"]
    assert rm["reference"]["estimate"] == pytest.approx(pg["reference"]["rmean"], rel=TOL)
    assert rm["group"]["std_err"] == pytest.approx(pg["group"]["rmean_se"], rel=TOL)
    # the figure without by: has no comparison (null in results.json)
    (plain,) = [k for k in gbsg.to_dict()["km"] if k["by"] is None]
    assert plain["comparison"] is None


def test_gbsg_group_rows_match_r(gbsg: Any) -> None:
    """R reference: survfit(Surv(rfs_months, status) ~ hormon, conf.type = 'log-log'):
    n, events, medians with limits, and each group's survival with limits at 12/36/60."""
    r = R_GBSG["km_hormon"]
    (k,) = [k for k in gbsg.km if k.by == "hormon"]
    for i, g in enumerate(k.groups):
        assert (g.n, g.events, g.censored) == (
            r["n"][i],
            r["events"][i],
            r["n"][i] - r["events"][i],
        )
        assert g.median.estimate == pytest.approx(r["median"][i], rel=TOL)
        assert g.median.lower == pytest.approx(r["median_lower"][i], rel=TOL)
        if r["median_upper"][i] is None:
            assert math.isnan(g.median.upper)
        else:
            assert g.median.upper == pytest.approx(r["median_upper"][i], rel=TOL)
        sl = slice(3 * i, 3 * i + 3)
        assert [a.survival for a in g.at] == pytest.approx(r["at_survival"][sl], rel=TOL)
        assert [a.lower for a in g.at] == pytest.approx(r["at_lower"][sl], rel=TOL)
        assert [a.upper for a in g.at] == pytest.approx(r["at_upper"][sl], rel=TOL)
        assert [a.n_risk for a in g.at] == r["at_n_risk"][sl]


def test_gbsg_group_table_prints_r_values(gbsg: Any) -> None:
    """R reference formatted by the one formatting module: 60-month difference 14.4 points
    (5.3-23.6), RMST difference 4.9 months (1.8-8.1), its p, the per-group rates; the table
    sits after the survival summary and is in the CSV/XLSX/HTML/Word set (study_tables)."""
    tables = {t.id: t for t in study_tables(gbsg)}
    (_k,) = [k for k in gbsg.km if k.by == "hormon"]
    t = tables["survival_RFS_by_hormon"]
    assert list(tables).index("survival_RFS_by_hormon") == list(tables).index("survival") + 1
    assert [c.key for c in t.columns] == ["statistic", "No", "Yes", "difference", "p"]
    rows = {r.text("statistic"): r for r in t.rows}
    r = R_CMP["at"]
    at60 = rows["60-month survival, % (95% CI)"]
    assert at60.text("difference") == fmt.estimate_ci(
        100 * r["difference"][2], 100 * r["lower"][2], 100 * r["upper"][2], 1
    )
    assert at60.text("difference") == "14.4 (5.3–23.6)"  # the reviewer's R numbers
    ref = R_GBSG["km_hormon"]
    assert at60.text("No") == fmt.percent_ci(
        ref["at_survival"][2], ref["at_lower"][2], ref["at_upper"][2], decimals=1
    )
    rm = rows["Restricted mean survival to 60 months, months (95% CI)"]
    rr = R_CMP["rmst"]
    assert rm.text("difference") == fmt.estimate_ci(rr["difference"], rr["lower"], rr["upper"], 1)
    assert rm.text("difference") == "4.9 (1.8–8.1)"
    assert rm.text("p") == fmt.p_value(rr["p_value"])
    assert rows["Censored, n"].text("No") == "235"  # 440 - 205 (R)
    assert rows["Log-rank p"].text("p") == fmt.p_value(R_GBSG["logrank_hormon"]["p"])
    assert km_group_table(gbsg, next(x for x in gbsg.km if x.by is None), 9) is None
    methods = " ".join(gbsg.methods["sentences"])
    assert "difference in restricted mean survival time up to 60 months" in methods


def test_rmst_tau_from_the_spec_matches_r(tmp_path: Path) -> None:
    """R reference (tests/reference/issue22.R): analyses.survival.rmst_tau: 48 gives R's
    print(survfit, rmean = 48) per group and survRM2's difference, CI and p; the table
    prints it under its horizon; a 3-group figure has no difference column."""
    text = (
        GBSG.read_text(encoding="utf-8")
        .replace(
            "    - {endpoint: RFS, by: hormon, breaks: 12}",
            "    - {endpoint: RFS, by: hormon, breaks: 12}\n    - {endpoint: RFS, by: grade}",
        )
        .replace("landmarks: [12, 36, 60]", "landmarks: [12, 36, 60]\n    rmst_tau: 48")
    )
    assert "rmst_tau: 48" in text
    assert "by: grade" in text
    (tmp_path / "study.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "gbsg.csv").write_bytes((GBSG.parent / "gbsg.csv").read_bytes())
    res = _run(tmp_path / "study.yaml")
    (k,) = [k for k in res.km if k.by == "hormon"]
    rm = k.to_dict()["comparison"]["rmst"]
    assert rm["tau"] == R_TAU["tau"] == 48
    for key in ("difference", "lower", "upper", "std_err", "p_value"):
        assert rm[key] == pytest.approx(R_TAU[key], rel=TOL), key
    pg = R_TAU["per_group"]
    assert rm["reference"]["estimate"] == pytest.approx(pg["reference"]["rmean"], rel=TOL)
    assert rm["group"]["std_err"] == pytest.approx(pg["group"]["rmean_se"], rel=TOL)
    t = km_group_table(res, k, 3)
    assert t is not None
    row = next(r for r in t.rows if r.text("statistic").startswith("Restricted mean"))
    assert row.text("statistic").startswith("Restricted mean survival to 48 months")
    assert row.text("difference") == fmt.estimate_ci(
        R_TAU["difference"], R_TAU["lower"], R_TAU["upper"], 1
    )
    (g,) = [k for k in res.km if k.by == "grade"]
    assert g.comparison is None
    tg = km_group_table(res, g, 4)
    assert tg is not None
    assert [c.key for c in tg.columns] == ["statistic", "1", "2", "3", "p"]
    assert next(r for r in tg.rows if r.text("statistic") == "Log-rank p").text("p") == (
        fmt.p_value(R_GBSG["logrank_grade"]["p"])
    )


def test_rmst_tau_refused_beyond_follow_up(tmp_path: Path) -> None:
    """R reference: the last follow-up is 84.2 months without and 87.4 with hormonal
    therapy, so tau = 86 is refused (a note, null values), never extrapolated."""
    assert (
        R_CMP["per_group"]["reference"]["last_time"] < 86 < R_CMP["per_group"]["group"]["last_time"]
    )
    res = _gbsg_variant(
        tmp_path, "landmarks: [12, 36, 60]", "landmarks: [12, 36, 60]\n    rmst_tau: 86"
    )
    (k,) = [k for k in res.km if k.by == "hormon"]
    rm = k.to_dict()["comparison"]["rmst"]
    assert rm["tau"] == 86
    assert rm["difference"] is None
    assert rm["p_value"] is None
    assert rm["lower"] is None
    assert "beyond the last follow-up" in rm["note"]
    assert "RMST-TAU-BEYOND-FOLLOW-UP" in {w.code for w in res.warnings}
    t = km_group_table(res, k, 3)
    assert t is not None
    row = next(r for r in t.rows if r.text("statistic").startswith("Restricted mean"))
    assert row.text("difference") == fmt.not_estimable()
    assert any(n.message == rm["note"] for n in t.notes)
    # the landmark differences are unaffected by tau
    assert [a["difference"] for a in k.to_dict()["comparison"]["at"]] == pytest.approx(
        R_CMP["at"]["difference"], rel=TOL
    )


# --------------------------------------------------------------------------- item 4


def test_univariable_table_shows_the_ph_p(gbsg: Any) -> None:
    """R reference: cox.zph of each univariable model (age p 0.0024 -> "0.002")."""
    t = univariable_table(gbsg, "RFS")
    assert "ph" in [c.key for c in t.columns]
    row = next(r for r in t.rows if r.variable == "age")
    assert row.text("ph") == fmt.p_value(R_GBSG["univariable"]["age"]["zph_p"][0]) == "0.002"
    assert any(f.startswith("PH test p:") and "cox.zph" in f for f in t.footnotes)


# --------------------------------------------------------------------------- item 1


def test_definition_replaces_column_names(gbsg: Any, tmp_path: Path) -> None:
    """Property: the spec's definition is the methods sentence; without one, the label and a
    warning, never the columns."""
    text = " ".join(gbsg.methods["sentences"])
    assert "Recurrence-free survival: from the date of surgery to the first recurrence" in text
    assert "rfstime" not in text
    assert "'status'" not in text
    assert "ENDPOINT-NO-DEFINITION" not in {w.code for w in gbsg.warnings}
    spec_text = GBSG.read_text(encoding="utf-8")
    start = spec_text.index("    definition: >-")
    end = spec_text.index("    time: rfstime")
    res = _gbsg_variant(tmp_path, spec_text[start:end], "")
    text = " ".join(res.methods["sentences"])
    assert "rfstime" not in text
    assert "status" not in text
    assert "Recurrence-free survival:" in text
    assert "ENDPOINT-NO-DEFINITION" in {w.code for w in res.warnings}


def test_bclm_endpoint_warnings(bclm: Any) -> None:
    """Hand count: every one of the 11 patients with a DFS has the event (the series is
    selected on liver metastasis); DFS and PFS do not count death (Death, death: true);
    OS does, and has 9 censored."""
    codes = [(w.code, w.endpoint) for w in bclm.warnings if w.code.startswith("ENDPOINT-")]
    assert ("ENDPOINT-ALL-EVENTS", "DFS") in codes
    assert ("ENDPOINT-NO-DEATH", "PFS") in codes
    assert ("ENDPOINT-NO-DEATH", "DFS") in codes
    assert not [c for c in codes if c[1] == "OS"]
    dfs = bclm.univariable["DFS"].rows[0]
    assert (dfs.n, dfs.events) == (11, 11)


# --------------------------------------------------------------------------- item 5


def test_bclm_few_events_rows(bclm: Any) -> None:
    """Property (3 events in PFS and OS, 11 in DFS): FEW-EVENTS on every row with an
    estimate, profile-likelihood CIs, no detectable HR; DFS keeps the spec's Wald CIs."""
    for ep in ("PFS", "OS"):
        uni = bclm.univariable[ep]
        assert uni.ci == "profile"
        assert uni.few_events
        est = [r for r in uni.rows if r.kind in ("level", "continuous") and math.isfinite(r.coef)]
        assert len(est) >= 10
        for r in est:
            assert any(
                w.startswith("Only 3 events: hazard ratios cannot be estimated") for w in r.warnings
            )
            assert r.ci_method == "profile"
        assert all(math.isnan(r.detectable_hr) for r in uni.rows)
        t = univariable_table(bclm, ep)
        assert "detectable" not in [c.key for c in t.columns]
        keys = [c.key for c in t.columns]
        assert keys.index("permutation") < keys.index("logrank")
        assert bclm.endpoints[ep].precision.message.startswith("Too few events (3)")
    assert {w.endpoint for w in bclm.warnings if w.code == "FEW-EVENTS"} == {"PFS", "OS"}
    dfs = bclm.univariable["DFS"]
    assert dfs.ci == "wald"
    assert not dfs.few_events


def test_bclm_exact_p_is_primary(bclm: Any) -> None:
    """Property: below 10 events the exact permutation p leads (table, figure text, demo
    summary), the chi-square p beside it; the spec's option is kept in results.json."""
    from survstudy.cli.demo import summary_lines
    from survstudy.plots import plot_km_curves

    (k,) = [k for k in bclm.km if k.key == "km_PFS_by_lm_within_3y"]
    assert k.few_events
    assert k.permutation is not None
    assert k.permutation.method == "exact"
    assert k.permutation.option == "auto"
    assert k.permutation.reason == "fewer than 10 events"
    t = km_group_table(bclm, k, 3)
    assert t is not None
    labels = [r.text("statistic") for r in t.rows]
    i = labels.index("Exact permutation p (log-rank)")
    assert labels[i + 1].startswith("Log Rank (Mantel-Cox) p (chi-square")
    assert t.rows[i].text("p") == fmt.p_value(k.permutation.p_value)
    line = next(x for x in summary_lines(bclm) if x.startswith("Progression-free survival by"))
    assert line.index("Exact permutation p") < line.index("Log Rank (Mantel-Cox)")
    plot = plot_km_curves(k)
    texts = " ".join(tx.get_text() for ax in plot.figure.axes for tx in ax.texts)
    assert texts.index("Exact permutation") < texts.index("Log Rank")
    import matplotlib.pyplot as plt

    plt.close(plot.figure)


def test_precision_worded_as_precision(gbsg: Any) -> None:
    """Hand calculation: 299 events, equal groups: factor exp(1.959964 / sqrt(299/4)) =
    1.254; the note states precision and makes no power claim."""
    factor = math.exp(Z975 / math.sqrt(299 * 0.25))
    assert factor == pytest.approx(1.254, abs=5e-4)
    p = gbsg.endpoints["RFS"].precision
    assert p.factor == pytest.approx(factor, rel=1e-12)
    assert p.message.startswith(
        "With 299 events, a hazard ratio between two groups of equal size is estimated to "
        "within a factor of about 1.25"
    )
    assert "could have been detected" not in p.message
    assert "could have been detected" not in " ".join(gbsg.methods["sentences"])


def test_group_table_in_every_format(gbsg: Any, tmp_path: Path) -> None:
    """R reference (the reviewer's 60-month difference 14.4 (5.3-23.6) and RMST difference
    4.9 (1.8-8.1)): the HTML, Word, CSV and XLSX reports and results.json carry them."""
    import docx
    import openpyxl

    from survstudy.report import build_bundle, write_report

    write_report(
        build_bundle(gbsg),
        tmp_path,
        formats=("html", "docx", "csv", "xlsx", "json"),
        figure_formats=(),
    )
    want = ("14.4 (5.3–23.6)", "4.9 (1.8–8.1)")
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    d = docx.Document(str(tmp_path / "report.docx"))
    cells = {c.text for t in d.tables for r in t.rows for c in r.cells}
    csv = (tmp_path / "tables" / "survival_RFS_by_hormon.csv").read_text(encoding="utf-8-sig")
    ws = openpyxl.load_workbook(tmp_path / "tables.xlsx")["survival_RFS_by_hormon"]
    xlsx = {str(c.value) for row in ws.iter_rows() for c in row}
    for text in want:
        assert text in html
        assert text in cells
        assert text in csv
        assert text in xlsx
    doc = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    (k,) = [k for k in doc["km"] if k["by"] == "hormon"]
    assert k["comparison"]["rmst"]["difference"] == pytest.approx(
        R_CMP["rmst"]["difference"], rel=TOL
    )

"""Functional form of continuous covariates (issue 22, item 4) on the GBSG example, against R.

Kind of truth: R reference (tests/reference/reviewer.R -> reviewer.json, R 4.2, survival 3.5-3,
rms/Hmisc): ``anova(coxph(… + x), coxph(… + rcs(x, 4)))`` (the non-linearity test, knots from
``rcspline.eval``), the overall LR test of the spline, ``rms::Predict(cph(…), x, ref.zero = TRUE,
fun = exp)`` (the HR curve on rms's own grid, against the median), ``coxph(~ log(nodes))``; the
text the tables must contain; spec errors.

Tolerances: p-values and likelihood-ratio statistics from Cox fits converged to R's 1e-9
relative criterion: 1e-6 relative. The HR curve is compared with rms's cph fit (eps = 1e-10):
1e-6 relative.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from survstudy.data import build_cohort
from survstudy.errors import SpecError
from survstudy.pipeline import run_study
from survstudy.spec import load_spec
from survstudy.tables import format as fmt
from survstudy.tables.study import study_tables

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "examples" / "gbsg" / "study.yaml"
REF = json.loads((ROOT / "tests" / "reference" / "reviewer.json").read_text())
NL = REF["nonlinearity"]
TOL = 1e-6


def close(a: Any, b: Any, tol: float = TOL) -> bool:
    return math.isclose(float(a), float(b), rel_tol=tol, abs_tol=1e-300)


def _spec(tmp_path: Path, uni: str, multi: str) -> Path:
    """The demo's spec with the univariable factor line ``- nodes`` and the model's covariate
    line ``- nodes`` replaced, reading the demo's data file."""
    text = SPEC.read_text(encoding="utf-8")
    text = text.replace("path: gbsg.csv", f"path: {(SPEC.parent / 'gbsg.csv').as_posix()}")
    lines = text.splitlines()
    hits = [i for i, ln in enumerate(lines) if ln.strip() == "- nodes"]
    assert len(hits) == 2
    for i, new in zip(hits, (uni, multi), strict=True):
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        lines[i] = f"{indent}- {new}"
    out = tmp_path / "study.yaml"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def _run(path: Path) -> Any:
    spec = load_spec(path)
    return run_study(spec, build_cohort(spec), profile="standard")


@pytest.fixture(scope="module")
def demo() -> Any:
    return _run(SPEC)


def _rows(rows: Any, variable: str) -> list[Any]:
    return [r for r in rows if r.variable == variable and r.kind in ("continuous", "spline")]


@pytest.mark.parametrize(
    ("variable", "case"), [("nodes", "gbsg_nodes_uni"), ("pgr", "gbsg_pgr_uni")]
)
def test_univariable_nonlinearity_p_matches_r_anova(demo: Any, variable: str, case: str) -> None:
    """R reference: anova(coxph(Surv ~ x), coxph(Surv ~ rcs(x, 4))) on the 686 patients."""
    rows = _rows(demo.univariable["RFS"].rows, variable)
    assert rows
    for r in rows:  # per unit and per k: the same test
        assert close(r.nonlinearity_p, NL[case]["p_nonlinear"])
    doc = demo.to_dict()["univariable"]["RFS"]
    assert any(
        d["variable"] == variable and close(d["nonlinearity_p"], NL[case]["p_nonlinear"])
        for d in doc
    )


@pytest.mark.parametrize(
    ("variable", "case"), [("nodes", "gbsg_nodes_full"), ("pgr", "gbsg_pgr_full")]
)
def test_multivariable_nonlinearity_p_matches_r_anova(demo: Any, variable: str, case: str) -> None:
    """R reference: anova(coxph(Surv ~ hormon + age + meno + size + grade + pgr + er + nodes),
    coxph(… + rcs(nodes, 4))) — the test beside the model's other covariates (the scale of a
    covariate, age/10 or age, does not change a likelihood)."""
    for r in _rows(demo.multivariable[0].rows, variable):
        assert close(r.nonlinearity_p, NL[case]["p_nonlinear"])
    doc = demo.to_dict()["multivariable"][0]["rows"]
    assert all("nonlinearity_p" in d for d in doc)


def test_non_linear_warning_and_table_column(demo: Any) -> None:
    """Text: R's p for nodes (1.5e-6) is below 0.05: a NON-LINEAR warning and a note on the
    row; the tables print the p in a "Non-linearity p" column."""
    codes = [(w.code, w.variable, w.section) for w in demo.warnings]
    assert ("NON-LINEAR", "nodes", "multivariable") in codes
    assert ("NON-LINEAR", "nodes", "univariable") in codes
    # size: R's multivariable p is above 0.05 (no warning for it there)
    tables = {t.key: t for t in study_tables(demo)}
    multi = tables["multivariable_Full_model"]
    assert any(c.key == "nonlinear" and c.header == "Non-linearity p" for c in multi.columns)
    i = next(k for k, row in enumerate(multi.rows) if row.variable == "pgr")
    assert multi.rows[i].cells["nonlinear"] == fmt.p_value(NL["gbsg_pgr_full"]["p_nonlinear"])
    assert any(n.row == i and n.column == "nonlinear" for n in multi.notes)
    assert any("Non-linearity p: likelihood-ratio test" in f for f in multi.footnotes)


@pytest.fixture(scope="module")
def rcs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = _spec(
        tmp_path_factory.mktemp("rcs"), "{nodes: {transform: rcs}}", "{nodes: {transform: rcs}}"
    )
    return _run(path)


def test_rcs_term_in_the_model_matches_r(rcs: Any) -> None:
    """R reference: coxph(… + rcs(nodes, 4)): knots 1, 2, 5, 16; overall LR p (3 df) and the
    non-linearity p (2 df); one table row carrying both."""
    r = NL["gbsg_nodes_full"]
    model = rcs.multivariable[0]
    [row] = _rows(model.rows, "nodes")
    assert row.kind == "spline"
    assert row.transform == "rcs"
    assert close(row.overall_p, r["p_overall"])
    assert close(row.nonlinearity_p, r["p_nonlinear"])
    [curve] = model.splines
    assert list(curve.knots) == r["knots"]
    assert curve.df_overall == r["df_overall"]
    assert curve.df_nonlinear == r["df_nonlinear"]
    assert curve.reference == r["reference"]  # the median, rms's "Adjust to" value


def test_rcs_hr_curve_matches_rms_predict(rcs: Any) -> None:
    """R reference: Predict(cph(… + rcs(nodes, 4)), nodes, ref.zero = TRUE, fun = exp) — rms's
    200-point grid from Low:prediction to High:prediction, HR and pointwise 95% limits."""
    r = NL["gbsg_nodes_full"]["predict_default"]
    [curve] = rcs.multivariable[0].splines
    np.testing.assert_allclose(curve.value, r["value"], rtol=1e-12)
    np.testing.assert_allclose(curve.hr, r["hr"], rtol=TOL)
    np.testing.assert_allclose(curve.lower, r["lower"], rtol=TOL)
    np.testing.assert_allclose(curve.upper, r["upper"], rtol=TOL)
    doc = rcs.to_dict()["multivariable"][0]["splines"][0]
    assert doc["reference"] == 3
    assert len(doc["curve"]["hr"]) == 200


def test_rcs_univariable_matches_r(rcs: Any) -> None:
    """R reference: coxph(Surv ~ rcs(nodes, 4)) alone: overall p = the model's LR p."""
    r = NL["gbsg_nodes_uni"]
    [row] = _rows(rcs.univariable["RFS"].rows, "nodes")
    assert close(row.overall_p, r["p_overall"])
    assert close(row.nonlinearity_p, r["p_nonlinear"])
    [curve] = rcs.univariable["RFS"].splines
    np.testing.assert_allclose(curve.hr, r["predict_default"]["hr"], rtol=TOL)


def test_rcs_report_row_and_figure(rcs: Any) -> None:
    """Text: the row says the HR is a curve and prints the overall p; a figure per spline whose
    caption states the reference value; no reconciliation rows for spline coefficients."""
    from survstudy.report.build import figure_specs

    tables = {t.key: t for t in study_tables(rcs)}
    row = next(x for x in tables["multivariable_Full_model"].rows if x.variable == "nodes")
    assert row.cells["hr"] == "see figure (HR curve)"
    assert row.cells["p"] == fmt.p_value(NL["gbsg_nodes_full"]["p_overall"])
    assert row.cells["variable"] == "Positive lymph nodes (restricted cubic spline)"
    figs = [f for f in figure_specs(rcs) if f.id.startswith("hr_curve_")]
    assert len(figs) == 2  # univariable and multivariable
    assert all("reference value 3 (dot)" in f.caption for f in figs)
    assert not any(
        "nodes" in d.item.lower() or "lymph" in d.item.lower() for d in rcs.reconciliation
    )


def test_rcs_reference_value_is_used(tmp_path: Path) -> None:
    """Identity: against reference 5 the curve is the median-referenced one divided by its
    value at 5 (HR(v)/HR(5)), and HR = 1 at 5."""
    path = _spec(tmp_path, "nodes", "{nodes: {transform: rcs, reference_value: 5}}")
    res = _run(path)
    [curve] = res.multivariable[0].splines
    assert curve.reference == 5
    r = NL["gbsg_nodes_full"]
    at5 = r["hr"][r["grid"].index(5)]  # R: HR(5) against the median 3
    np.testing.assert_allclose(curve.hr, np.asarray(r["predict_default"]["hr"]) / at5, rtol=TOL)


def test_log_transform_matches_r(tmp_path: Path) -> None:
    """R reference: coxph(Surv ~ log(nodes)) and the spline test on the log scale."""
    path = _spec(tmp_path, "{nodes: {transform: log}}", "nodes")
    res = _run(path)
    [row] = _rows(res.univariable["RFS"].rows, "nodes")
    r = REF["log_nodes"]
    assert row.transform == "log"
    assert close(row.hr, r["hr"])
    assert close(row.lower, r["lower"])
    assert close(row.upper, r["upper"])
    assert close(row.nonlinearity_p, NL["gbsg_lognodes_uni"]["p_nonlinear"])
    assert row.label == "Positive lymph nodes (natural log)"


def test_log_of_zero_is_refused(tmp_path: Path) -> None:
    """Hand check: pgr has zeros in GBSG (min 0), so log(pgr) is refused with the count."""
    text = SPEC.read_text(encoding="utf-8").replace(
        "path: gbsg.csv", f"path: {(SPEC.parent / 'gbsg.csv').as_posix()}"
    )
    text = text.replace("- {pgr: {per: 100}}", "- {pgr: {transform: log}}", 1)
    path = tmp_path / "study.yaml"
    path.write_text(text, encoding="utf-8")
    import csv

    with (SPEC.parent / "gbsg.csv").open(encoding="utf-8") as fh:
        zeros = sum(1 for rec in csv.DictReader(fh) if float(rec["pgr"]) <= 0)
    with pytest.raises(SpecError) as err:
        _run(path)
    assert err.value.code == "SPEC-TRANSFORM-LOG"
    assert f"{zeros} values are zero or negative" in err.value.message


def test_transform_spec_rules() -> None:
    """Spec: per and transform exclude each other; reference_value needs rcs; the short form
    {nodes: {transform: rcs}} is read."""
    from pydantic import ValidationError

    from survstudy.spec.model import Factor

    f = Factor.model_validate({"nodes": {"transform": "rcs", "reference_value": 4}})
    assert (f.variable, f.transform, f.reference_value) == ("nodes", "rcs", 4)
    with pytest.raises(ValidationError):
        Factor.model_validate({"nodes": {"transform": "log", "per": 10}})
    with pytest.raises(ValidationError):
        Factor.model_validate({"nodes": {"reference_value": 4}})
    with pytest.raises(ValidationError):
        Factor.model_validate({"nodes": {"transform": "sqrt"}})


def test_few_events_no_spline_test() -> None:
    """Hand check on the seed study (examples/bclm: 3 PFS events, 3 OS events, 11 DFS events):
    a univariable spline model has 3 parameters, so fewer than 30 events means no test — the
    continuous rows keep a null nonlinearity_p and one NONLINEARITY-NOT-TESTED note per table
    says why; the methods paragraph does not claim the check."""
    res = _run(ROOT / "examples" / "bclm" / "study.yaml")
    for ep, uni in res.univariable.items():
        rows = [r for r in uni.rows if r.kind == "continuous"]
        assert rows
        assert all(math.isnan(r.nonlinearity_p) for r in rows), ep
    notes = [w for w in res.warnings if w.code == "NONLINEARITY-NOT-TESTED"]
    assert {w.endpoint for w in notes} == set(res.univariable)
    pfs = next(w for w in notes if w.endpoint == "PFS")
    assert "3 events for the 3 parameters" in pfs.message
    assert not any("functional form" in x for x in res.methods["sentences"])


def test_methods_sentence_when_tested(demo: Any) -> None:
    """Text: the GBSG run tested every continuous covariate: the methods paragraph says how."""
    assert any(
        "restricted cubic spline with 4 knots at Harrell's quantiles" in x
        for x in demo.methods["sentences"]
    )


def test_transform_of_a_categorical_variable_is_refused(tmp_path: Path) -> None:
    """Spec: grade is categorical, so transform: rcs is an error naming the variable."""
    text = SPEC.read_text(encoding="utf-8").replace(
        "path: gbsg.csv", f"path: {(SPEC.parent / 'gbsg.csv').as_posix()}"
    )
    head, tail = text.split("multivariable:", 1)
    tail = tail.replace("        - grade\n", "        - {grade: {transform: rcs}}\n")
    path = tmp_path / "study.yaml"
    path.write_text(head + "multivariable:" + tail, encoding="utf-8")
    with pytest.raises(SpecError) as err:
        _run(path)
    assert err.value.code == "SPEC-TRANSFORM-TYPE"
    assert "'grade'" in err.value.message

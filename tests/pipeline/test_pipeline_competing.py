"""The competing-risks example (examples/mgus2) through `survstudy run`, against R.

Kind of truth: R reference (tests/reference/mgus2_example.R -> mgus2_example.json; R 4.2,
cmprsk 2.2-11, survival 3.5-3): cumulative incidence and its variance from
``cmprsk::cuminc``/``timepoints``, the number at risk from the multi-state ``survfit``, 1 − KM
from ``survfit(Surv(months, status == 1))``, Gray's test from ``cuminc(group = sex)``, the
Fine–Gray model from ``crr`` (its estimate polished by Newton steps with crr's own score and
information: "tight") and the cause-specific Cox model from ``coxph`` (Efron ties). The
estimates are closed-form (CIF) or converged to < 1e-9 relative, so 1e-8 relative is a
comfortable bound; crr's own (unpolished) estimate is only ~1e-6 from the maximum, which is why
the tight values are used. Report text: hand-written expectations of the wording.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from survstudy.errors import SpecError
from survstudy.study import run_spec

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "examples" / "mgus2" / "study.yaml"
R = json.loads((ROOT / "tests" / "reference" / "mgus2_example.json").read_text())
TOL = 1e-8


def one(x: Any) -> Any:
    """A length-1 R vector (jsonlite's auto_unbox writes it as a scalar)."""
    return x[0] if isinstance(x, list) else x


def close(a: Any, b: Any, tol: float = TOL) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=tol, abs_tol=1e-13)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("mgus2") / "out"
    return run_spec(SPEC, out=out, formats=("html", "json"))


@pytest.fixture(scope="module")
def res(run: Any) -> dict[str, Any]:
    return json.loads((run.out_dir / "results.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def html(run: Any) -> str:
    return (run.out_dir / "report.html").read_text(encoding="utf-8")


def test_cumulative_incidence_at_landmarks_equals_cmprsk(res: dict[str, Any]) -> None:
    """R reference: cuminc + timepoints (estimate, SE = sqrt(var)), log-log CI by
    survival:::survfit_confint, n at risk from the multi-state survfit."""
    ep = res["endpoints"]["PCM"]
    r = R["cif"]
    assert ep["competing"] is True
    assert ep["n"] == r["n"]
    assert ep["events"] == r["events"]
    cif = ep["cif"]
    assert cif["competing_events"] == r["competing_events"]
    assert cif["conf_type"] == "log-log"
    assert [a["time"] for a in cif["at"]] == [t for t in r["times"] for _ in (0, 1)]
    for a in cif["at"]:
        assert {"time", "cause", "cif", "lower", "upper", "n_risk"} <= set(a)
        k = r["times"].index(a["time"])
        ref = r["event"] if a["cause"] == "event" else r["competing"]
        assert a["cause"] in ("event", "competing")
        assert close(a["cif"], ref["est"][k])
        assert close(a["std_err"], math.sqrt(ref["var"][k]))
        assert close(a["lower"], ref["lower"][k])
        assert close(a["upper"], ref["upper"][k])
        assert a["n_risk"] == r["n_risk"][k]
        if a["cause"] == "event":
            assert close(a["one_minus_km"], r["one_minus_km"][k])
        else:
            assert a["one_minus_km"] is None


def test_one_minus_km_note_only_beyond_one_point(res: dict[str, Any], html: str) -> None:
    """R reference + hand: 1 − KM − CIF is 0.09 and 0.81 points at 12 and 60 months (no
    note), 3.2 and 11.0 points at 120 and 240 months (notes: 9.5% and 21%)."""
    r = R["cif"]
    diffs = [km - f for km, f in zip(r["one_minus_km"], r["event"]["est"], strict=True)]
    assert [d > 0.01 for d in diffs] == [False, False, True, True]
    at = {a["time"]: a for a in res["endpoints"]["PCM"]["cif"]["at"] if a["cause"] == "event"}
    assert [("CIF-VS-KM" in at[t]["warnings"]) for t in r["times"]] == [False, False, True, True]
    assert "1 − Kaplan–Meier would give 9.5%" in html
    assert "1 − Kaplan–Meier would give 21%" in html
    assert "cumulative incidence 6.4% with death as a competing event" in html
    # hand: 57 at risk at 240 months < 10% of 1384: one note, on the cumulative incidence
    few = [w for w in res["warnings"] if w["code"] == "FEW-AT-RISK"]
    assert len(few) == 1
    assert "still event-free and under observation" in few[0]["message"]


def test_survival_table_prints_cumulative_incidence(run: Any) -> None:
    """Hand: 100 × the R estimates, one decimal (n >= 100), rows for event and competing event;
    no Kaplan–Meier median or survival rate for the competing-risks endpoint."""
    table = next(t for t in run.bundle.tables if t.key == "survival")
    cells = {r.cells["statistic"]: r.cells["PCM"] for r in table.rows}
    assert cells["120-month cumulative incidence, % (95% CI)"] == "6.4 (5.1–7.8)"
    assert cells["120-month cumulative incidence of the competing event, % (95% CI)"] == (
        "53.2 (50.4–55.9)"
    )
    assert cells["At risk at 120 months, n"] == "424"
    assert cells["Competing events, n (%)"] == "860 (62.1)"  # hand: 860 / 1384
    assert not any("survival, %" in k for k in cells)
    assert cells["Median, months (95% CI)"] == "—"
    assert any("death is a competing event (860 patients)" in f for f in table.footnotes)


def test_cif_figure_and_gray_test(res: dict[str, Any]) -> None:
    """R reference: cuminc(group = sex) timepoints and $Tests; n at risk per sex from the
    multi-state survfit at the ticks 60, 120 and 240 months."""
    fig = next(k for k in res["km"] if k["by"] == "sex")
    r = R["by_sex"]
    assert fig["kind"] == "cif"
    assert fig["competing_label"] == "death"
    assert close(fig["gray"]["statistic"], r["gray"]["statistic"])
    assert fig["gray"]["df"] == r["gray"]["df"]
    assert close(fig["gray"]["p_value"], r["gray"]["p_value"])
    assert close(fig["gray"]["competing"]["statistic"], r["gray_competing"]["statistic"])
    assert close(fig["gray"]["competing"]["p_value"], r["gray_competing"]["p_value"])
    assert fig["tests"][0]["label"] == "Gray's test"
    for g in fig["groups"]:
        ref = r["groups"]["F" if g["level"] == "Female" else "M"]
        assert g["n"] == ref["n"]
        assert g["events"] == ref["events"]
        assert g["competing_events"] == ref["competing_events"]
        for t in (60.0, 120.0, 240.0):
            k = r["times"].index(t)
            assert g["n_risk_at"][fig["ticks"].index(t)] == ref["n_risk"][k]
            # the step curve's value at t: the last time at or before t (timepoints)
            i = max(j for j, x in enumerate(g["time"]) if x <= t)
            assert close(g["cif"][i], ref["event"][k])
            assert close(g["competing_cif"][i], ref["competing"][k])
    overall = next(k for k in res["km"] if k["by"] is None)
    assert overall["kind"] == "cif"
    assert overall["gray"] is None


def test_univariable_cause_specific_and_subdistribution_hr(res: dict[str, Any]) -> None:
    """R reference: coxph(Surv(months, status == 1) ~ x) and crr(cov1 = x) per factor."""
    rows = res["univariable"]["PCM"]
    pick = {
        "sex": next(r for r in rows if r["variable"] == "sex" and r["level"] == "Male"),
        "age": next(r for r in rows if r["variable"] == "age" and r["per"] == 1),
        "hgb": next(r for r in rows if r["variable"] == "hgb" and r["per"] == 1),
        "mspike": next(r for r in rows if r["variable"] == "mspike" and r["per"] == 1),
    }
    for name, row in pick.items():
        ref = R["univariable"][name]
        assert close(row["hr"], one(ref["cs_hr"])), name
        assert close(row["p_value"], one(ref["cs_p_value"]), 1e-6), name
        assert close(row["shr"], one(ref["shr"])), name
        assert close(row["shr_lower"], one(ref["lower"])), name
        assert close(row["shr_upper"], one(ref["upper"])), name
        assert close(row["shr_p_value"], one(ref["p_value"]), 1e-6), name
    ref_row = next(r for r in rows if r["kind"] == "reference")
    assert ref_row["shr"] is None
    assert "shr_p_value" in ref_row


def test_multivariable_cause_specific_and_fine_gray(res: dict[str, Any], html: str) -> None:
    """R reference: coxph(Surv(months, status == 1) ~ age + sex + hgb + mspike) and crr with
    the same model matrix (24 patients with a missing covariate left out)."""
    cs, fg = res["multivariable"]
    ref = R["multivariable"]
    assert cs["model"] == "cause-specific"
    assert fg["model"] == "fine-gray"
    assert cs["n"] == fg["n"] == ref["n"]

    def coefs(m: dict[str, Any]) -> list[dict[str, Any]]:
        return [r for r in m["rows"] if r["term"] is not None and r.get("per") in (None, 1)]

    for row, b, se in zip(coefs(cs), ref["cs_coef"], ref["cs_se"], strict=True):
        assert close(row["coef"], b)
        assert close(row["se"], se)
    for row, b, se, lo, hi in zip(
        coefs(fg), ref["coef"], ref["se"], ref["lower"], ref["upper"], strict=True
    ):
        assert close(row["coef"], b)
        assert close(row["se"], se)
        assert close(row["hr"], math.exp(b))
        assert close(row["lower"], lo)
        assert close(row["upper"], hi)
    assert "Adjusted subdistribution HR (95% CI)" in html
    assert "A subdistribution HR describes the cumulative incidence of the event" in html
    assert "Multivariable cause-specific Cox regression" in html


def test_methods_paragraph_names_variance_and_transform(res: dict[str, Any]) -> None:
    """Hand: the methods sentence names the CIF variance, the CI scale and the models."""
    text = " ".join(res["methods"]["sentences"])
    assert "Aalen–Johansen" in text
    assert "Gray's delta-method variance (as R's cmprsk::cuminc)" in text
    assert "pointwise confidence intervals on the log-log scale" in text
    assert "Fine–Gray models" in text
    assert "cause-specific" in text


def test_engine_refuses_fine_gray() -> None:
    """Hand: with a data engine the Fine–Gray fits (univariable sHR, model: fine-gray) stop the
    run before any work, naming the key."""
    pytest.importorskip("duckdb")
    with pytest.raises(SpecError) as err:
        run_spec(SPEC, engine="duckdb")
    assert err.value.code == "SPEC-ENGINE-UNSUPPORTED"
    assert "analyses.univariable.endpoints" in str(err.value)


def _without_fine_gray(tmp_path: Path) -> Path:
    """The example's spec without the analyses that need Fine–Gray fits."""
    text = SPEC.read_text(encoding="utf-8")
    text = text.replace("path: mgus2.csv", f"path: {SPEC.parent / 'mgus2.csv'}")
    text = re.sub(r"  univariable:\n(    .*\n)+", "", text)
    text = re.sub(r"    - name: Fine-Gray model\n(      .*\n)+", "", text)
    assert "fine-gray" not in text
    assert "univariable" not in text
    spec = tmp_path / "study.yaml"
    spec.write_text(text, encoding="utf-8")
    return spec


def _same(a: Any, b: Any, path: str = "", skip: frozenset[str] = frozenset()) -> None:
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            if k not in skip:
                _same(a[k], b[k], f"{path}.{k}", skip)
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]", skip)
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (path, a, b)
    else:
        assert a == b, (path, a, b)


def test_engine_duckdb_equals_memory(tmp_path: Path) -> None:
    """Identity (parity to 1e-9): the cumulative incidence at the landmarks, the CIF figures
    with Gray's test, the follow-up and the cause-specific model from DuckDB's per-time
    counts by status equal the in-memory run."""
    pytest.importorskip("duckdb")
    spec = _without_fine_gray(tmp_path)
    mem = run_spec(spec).results.to_dict()
    duck = run_spec(spec, engine="duckdb").results.to_dict()
    assert mem["endpoints"]["PCM"]["competing"] is True
    assert mem["km"][1]["gray"] is not None
    for key in ("endpoints", "km"):
        _same(mem[key], duck[key], key)
    # the spline test of non-linearity needs the rows (null with an engine, and a warning
    # saying so): everything else of the cause-specific model is equal
    _same(
        mem["multivariable"],
        duck["multivariable"],
        "multivariable",
        frozenset({"nonlinearity_p", "warnings"}),
    )


def test_fine_gray_needs_competing_events(tmp_path: Path) -> None:
    """Hand: `model: fine-gray` on an endpoint without competing events is a spec error."""
    text = (ROOT / "examples" / "gbsg" / "study.yaml").read_text(encoding="utf-8")
    text = text.replace("path: gbsg.csv", f"path: {ROOT / 'examples' / 'gbsg' / 'gbsg.csv'}")
    text = text.replace(
        "    - name: Full model\n", "    - name: Full model\n      model: fine-gray\n"
    )
    spec = tmp_path / "study.yaml"
    spec.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as err:
        run_spec(spec)
    assert "needs an endpoint with competing events" in str(err.value)
    assert "analyses.multivariable.0.model" in str(err.value)


def test_figure_caption_and_risk_header(run: Any, html: str) -> None:
    """Hand: the caption names the cumulative incidence and the competing event; the figure
    draws the competing event dashed and says what its number at risk counts."""
    from survstudy.plots import plot_km_curves

    assert (
        "Cumulative incidence of progression to plasma-cell malignancy by sex (solid lines) "
        "and of death as a competing event (dashed lines)"
    ) in html
    assert "the number of patients still event-free and under observation" in html
    k = next(k for k in run.results.km if k.by == "sex")
    drawn = plot_km_curves(k)
    texts = [t.get_text() for t in drawn.ax.texts]
    assert "At risk, event-free" in texts
    assert "Gray's test p = 0.274" in texts  # R: 0.2744
    dashed = [ln for ln in drawn.ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(dashed) == 2  # one competing-event curve per sex


SMALL = """\
title: tiny competing-risks set
data: {path: small.csv, id: id}
units: months
variables:
  id: {type: identifier}
  arm:
    type: categorical
    label: Arm
    levels: {A: [A], B: [B]}
endpoints:
  REL:
    label: Relapse
    time: months
    time_unit: months
    event: outcome
    event_codes: {event: [relapse], censored: [alive], competing: [death]}
analyses:
  survival: {endpoints: [REL], landmarks: [12]}
  univariable:
    endpoints: [REL]
    factors: [arm]
  km:
    - {endpoint: REL, by: arm}
"""


def test_subdistribution_hr_not_estimable_without_events_in_a_group(tmp_path: Path) -> None:
    """Hand: arm A has no relapse, so the Fine–Gray pseudo-likelihood rises without bound as
    the coefficient of B grows: the subdistribution HR is "not estimable" (Firth is not
    defined for this model), the rows say so and results.json has null."""
    arm_a = ["death", "alive", "death", "alive", "death", "alive"]  # no relapse
    arm_b = ["relapse", "death", "relapse", "alive", "relapse", "relapse"]
    outcomes = [*arm_a, *arm_b]
    lines = ["id,arm,months,outcome"]
    for i, o in enumerate(outcomes):
        lines.append(f"{i + 1},{'A' if i < 6 else 'B'},{3 + 2 * i},{o}")
    (tmp_path / "small.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "study.yaml").write_text(SMALL, encoding="utf-8")
    results = run_spec(tmp_path / "study.yaml").results
    res = results.to_dict()
    row = next(r for r in res["univariable"]["REL"] if r["level"] == "B")
    assert row["shr"] is None
    assert any("subdistribution HR not estimable" in w for w in row["warnings"])
    from survstudy.tables import format as fmt
    from survstudy.tables.study import univariable_table

    table = univariable_table(results, "REL")
    cells = next(r.cells for r in table.rows if r.level == "B")
    assert cells["shr"] == fmt.not_estimable()
    # hand: 4 relapses and 4 deaths in all; arm A 0 relapses and 3 deaths, arm B 4 and 1
    few = {
        w["message"]
        for w in res["warnings"]
        if w["code"] == "FEW-EVENTS" and "cumulative incidence" in w["message"]
    }
    assert few == {
        "Relapse: only 4 patients with the event (relapse); its cumulative incidence is imprecise",
        "Relapse: only 4 patients with the competing event (death); its cumulative incidence "
        "is imprecise",
        "Relapse, Arm A: no patient with the event (relapse); its cumulative incidence is 0 "
        "throughout",
        "Relapse, Arm A: only 3 patients with the competing event (death); its cumulative "
        "incidence is imprecise",
        "Relapse, Arm B: only 4 patients with the event (relapse); its cumulative incidence is "
        "imprecise",
        "Relapse, Arm B: only 1 patient with the competing event (death); its cumulative "
        "incidence is imprecise",
    }


def test_python_api_cumulative_incidence_frame(run: Any) -> None:
    """R reference (as above) through the Python API's frame; glossary column names."""
    from survstudy.api.glossary import GLOSSARY
    from survstudy.api.study import StudyOutput

    out = StudyOutput(run.results)
    ci = out.cumulative_incidence
    assert set(ci.columns) <= set(GLOSSARY)
    ev = ci[ci["cause"] == "event"]
    assert ev["time"].tolist() == R["cif"]["times"]
    for got, want in zip(ev["cif"], R["cif"]["event"]["est"], strict=True):
        assert close(got, want)
    assert "cif" not in out.survival.columns
    assert {"shr", "shr_conf_low", "shr_conf_high", "shr_p_value"} <= set(out.univariable.columns)


def test_spss_profile_prints_no_median_se_for_competing_endpoint() -> None:
    """Hand: no Kaplan–Meier median, so no SPSS standard error of it either; the cumulative
    incidence is the same under both profiles (R reference as above)."""
    from survstudy.tables.study import survival_table

    results = run_spec(SPEC, profile="spss").results
    table = survival_table(results)
    assert table is not None
    cells = {r.cells["statistic"]: r.cells["PCM"] for r in table.rows}
    assert cells["Standard error of the median"] == "—"
    assert cells["120-month cumulative incidence, % (95% CI)"] == "6.4 (5.1–7.8)"


def test_competing_label_needs_competing_events(tmp_path: Path) -> None:
    """Hand: `competing_label` on an endpoint without competing events is a spec error."""
    from survstudy.spec import load_spec

    text = SMALL.replace("competing: [death]}", "competing: []}\n    competing_label: death")
    (tmp_path / "study.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as err:
        load_spec(tmp_path / "study.yaml")
    assert "'competing_label' needs competing events" in str(err.value)

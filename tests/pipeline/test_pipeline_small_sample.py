"""What reaches the report for a small series: precision note, Firth, unfittable models, notes.

A 10-patient synthetic series (time/event columns) where every event is in group A:
the ordinary hazard ratio of ``grp`` runs off to infinity (monotone likelihood).

Kinds of truth: hand calculation (Schoenfeld's formula written out with published
normal quantiles; Holm's formula), identity (the runner passes on what
``stats.firth.cox_fit_firth`` gives for the same arrays; a per-k row is the
per-unit estimate to the k-th power), property (which notes appear where).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from survstudy.data import build_cohort
from survstudy.pipeline import run_study
from survstudy.spec import load_spec

Z975 = 1.959963984540054  # published normal quantiles
Z80 = 0.8416212335729143

# time (months), status, group, x; events (status 1) only in group A
ROWS = [
    (3, 1, "A", 1.2),
    (5, 1, "A", 3.1),
    (8, 1, "A", 2.2),
    (12, 1, "A", 4.0),
    (20, 0, "A", 0.7),
    (4, 0, "B", 2.5),
    (9, 0, "B", 1.9),
    (15, 0, "B", 3.3),
    (22, 0, "B", 0.4),
    (30, 0, "B", 2.8),
]

SPEC = """\
title: Small series (synthetic)
synthetic: true
data: {{path: data.csv}}
units: months
variables:
  grp: {{type: categorical, label: Group, levels: [B, A]}}
  x: {{type: continuous, label: Marker}}
  x2: {{type: continuous, label: Marker doubled, derive: 2 * x}}
  high: {{type: binary, label: High marker, derive: x > 2.6}}
endpoints:
  OS:
    label: Overall survival
    time: t
    event: status
    event_noun: deaths
analyses:
  survival: {{endpoints: [OS], landmarks: [6]}}
  univariable:
    endpoints: [OS]
    factors: [grp, {{x: {{per: 2}}}}]
{univariable_extra}
  multivariable:
    - {{name: Monotone model, endpoint: OS, covariates: [grp, x]{model_extra}}}
    - {{name: Collinear model, endpoint: OS, covariates: [x, x2]}}
{analyses_extra}
"""


def _run(
    tmp_path: Path, univariable_extra: str = "", model_extra: str = "", analyses_extra: str = ""
) -> Any:
    tmp_path.mkdir(parents=True, exist_ok=True)
    lines = ["t,status,grp,x"] + [f"{t},{s},{g},{x}" for t, s, g, x in ROWS]
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = SPEC.format(
        univariable_extra=univariable_extra,
        model_extra=model_extra,
        analyses_extra=analyses_extra,
    )
    (tmp_path / "study.yaml").write_text(text, encoding="utf-8")
    spec = load_spec(tmp_path / "study.yaml")
    return spec, run_study(spec, build_cohort(spec))


def _arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    t = np.array([r[0] for r in ROWS], dtype=float)
    e = np.array([r[1] for r in ROWS], dtype=float)
    g = np.array([1.0 if r[2] == "A" else 0.0 for r in ROWS])
    x = np.array([r[3] for r in ROWS], dtype=float)
    return t, e, g, x


@pytest.fixture(scope="module")
def auto(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return _run(tmp_path_factory.mktemp("auto"))[1]


def test_endpoint_precision_note_hand_calculation(auto: Any) -> None:
    """Hand calculation: 4 deaths, equal groups -> exp(2.801585/sqrt(4·0.25)) = 16.47, kept
    in results.json; printed below 10 events: no number (issue 22 item 5)."""
    expected = math.exp((Z975 + Z80) / math.sqrt(4 * 0.25))
    assert expected == pytest.approx(16.47, abs=0.01)
    for prec in (auto.endpoints["OS"].precision, auto.univariable["OS"].precision):
        assert prec.events == 4
        assert prec.hr == pytest.approx(expected, rel=1e-12)
        assert prec.message == (
            "Too few events (4) for a comparative analysis; the results are descriptive."
        )
        assert prec.few_events
    d = auto.to_dict()
    assert d["endpoints"]["OS"]["precision"]["hr"] == pytest.approx(expected, rel=1e-12)
    assert d["univariable_summary"]["OS"]["precision"]["events"] == 4


def test_no_detectable_hr_below_10_events(auto: Any) -> None:
    """Property: 4 deaths -> no detectable HR on any row (post-hoc power at 4 events reads
    as a finding; issue 22 item 5), and the FEW-EVENTS note on every row with an estimate."""
    rows = auto.univariable["OS"].rows
    assert all(math.isnan(r.detectable_hr) for r in rows)
    few = [r for r in rows if r.kind in ("level", "continuous") and math.isfinite(r.coef)]
    assert few
    assert all(any(w.startswith("Only 4 events") for w in r.warnings) for r in few)


def test_precision_configurable_and_off(tmp_path: Path) -> None:
    """Hand calculation: 90% power (z = 1.281552), alpha 0.10 (z = 1.644854); null turns it off."""
    _spec, res = _run(tmp_path / "a", analyses_extra="  precision: {power: 0.9, alpha: 0.1}")
    expected = math.exp((1.6448536269514722 + 1.2815515655446004) / math.sqrt(1.0))
    assert res.endpoints["OS"].precision.hr == pytest.approx(expected, rel=1e-12)
    assert res.endpoints["OS"].precision.power == 0.9
    _spec, off = _run(tmp_path / "b", analyses_extra="  precision: null")
    assert off.endpoints["OS"].precision is None
    assert all(math.isnan(r.detectable_hr) for r in off.univariable["OS"].rows)


def test_firth_auto_beside_the_monotone_term(auto: Any) -> None:
    """Identity: the runner's Firth row is cox_fit_firth on the same arrays (Efron ties)."""
    from survstudy.stats.firth import cox_fit_firth

    t, e, g, _x = _arrays()
    ref = cox_fit_firth(g[:, None], t, e, ties="efron", term_names=["grp[A]"])
    row = next(r for r in auto.univariable["OS"].rows if r.term == "grp[A]")
    assert not row.estimable  # the ordinary estimate does not exist
    assert row.firth is not None
    assert row.firth.reason == "monotone"
    assert row.firth.hr == pytest.approx(ref.terms[0].hr, rel=1e-10)
    assert row.firth.lower == pytest.approx(ref.terms[0].lower, rel=1e-8)
    assert row.firth.upper == pytest.approx(ref.terms[0].upper, rel=1e-8)
    assert row.firth.p_value == pytest.approx(ref.terms[0].p_value, rel=1e-8)
    assert row.firth.ci_method == "profile"
    assert math.isfinite(row.firth.hr)
    assert row.firth.hr > 1
    # x is estimable: under auto no Firth fit for it
    assert all(r.firth is None for r in auto.univariable["OS"].rows if r.variable == "x")


def test_firth_auto_table_never_shows_a_wald_p_for_the_monotone_term(auto: Any) -> None:
    """Property: the table marks the Firth columns and the monotone term's p is the LR p."""
    from survstudy.tables.study import univariable_table

    t = univariable_table(auto, "OS")
    keys = [c.key for c in t.columns]
    assert keys[:7] == ["variable", "n", "events", "hr", "p", "firth_hr", "firth_p"]
    row = next(r for r in t.rows if r.level == "A")
    assert row.text("hr") == "NE"
    assert row.text("firth_hr") != ""
    res_row = next(r for r in auto.univariable["OS"].rows if r.term == "grp[A]")
    # the p printed is the likelihood-ratio p of the ordinary fit (the Wald p is None)
    from survstudy.tables import format as fmt

    assert row.text("p") in ("", fmt.p_value(res_row.p_value))
    assert any("Firth-penalised" in f and "profile penalised likelihood" in f for f in t.footnotes)
    assert any("likelihood-ratio" in n.message for n in t.notes)


def test_firth_never_and_always(tmp_path: Path) -> None:
    """Identity: never -> no Firth; always -> every term, and a per-2 row is the per-unit HR squared."""
    _s, never = _run(
        tmp_path / "n", univariable_extra="    firth: never", model_extra=", firth: never"
    )
    assert all(r.firth is None for r in never.univariable["OS"].rows)
    assert never.multivariable[0].firth is None
    _s, always = _run(tmp_path / "a", univariable_extra="    firth: always")
    xs = [r for r in always.univariable["OS"].rows if r.variable == "x"]
    per1 = next(r for r in xs if r.per == 1)
    per2 = next(r for r in xs if r.per == 2)
    assert per1.firth is not None
    assert per1.firth.reason == "always"
    assert per2.firth.hr == pytest.approx(per1.firth.hr**2, rel=1e-10)
    assert per2.firth.lower == pytest.approx(per1.firth.lower**2, rel=1e-10)
    assert per2.firth.p_value == per1.firth.p_value
    assert "Firth-penalised Cox models" in " ".join(always.methods["sentences"])


def test_multivariable_firth_auto(auto: Any) -> None:
    """Identity: a model with a monotone term gets the Firth fit of the whole model."""
    from survstudy.stats.firth import cox_fit_firth

    t, e, g, x = _arrays()
    ref = cox_fit_firth(np.column_stack([g, x]), t, e, ties="efron", term_names=["grp[A]", "x"])
    m = auto.multivariable[0]
    assert m.estimable
    assert m.firth == "monotone"
    got = {r.term: r.firth for r in m.rows if r.firth is not None}
    assert got["grp[A]"].hr == pytest.approx(ref.terms[0].hr, rel=1e-10)
    assert got["x"].hr == pytest.approx(ref.terms[1].hr, rel=1e-10)
    assert m.to_dict()["firth"]["reason"] == "monotone"
    # no PH test is reported for a fit with a term running off to infinity
    assert math.isnan(m.ph_global_p)
    assert all(math.isnan(r.ph_p) for r in m.rows)


def test_unfittable_multivariable_model_is_a_not_estimable_table(auto: Any, tmp_path: Path) -> None:
    """Property: collinear covariates -> the model is 'not estimable' with its reason; the run and
    the report go on (the other model and every other table are there)."""
    m = auto.multivariable[1]
    assert not m.estimable
    assert "collinear" in (m.reason or "")
    assert all(not r.estimable for r in m.rows)
    codes = [(w.code, w.model) for w in auto.warnings]
    assert ("MODEL-NOT-FITTED", "Collinear model") in codes
    d = m.to_dict()
    assert d["estimable"] is False
    assert "collinear" in d["not_estimable_reason"]

    from survstudy.report import build_bundle, write_report
    from survstudy.tables.study import multivariable_table

    t = multivariable_table(auto, m)
    assert {r.text("hr") for r in t.rows if r.kind == "summary"} == {"NE"}
    assert any("could not be fitted" in f for f in t.footnotes)
    out = tmp_path / "report"
    write_report(build_bundle(auto), out)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "could not be fitted" in html
    assert "Monotone model" in html
    assert "Univariable analysis" in html
    # no forest plot for the model without estimates
    assert not (out / "figures" / "forest_multivariable_2.png").exists()
    assert (out / "figures" / "forest_multivariable_1.png").exists()


def test_low_epv_note(auto: Any) -> None:
    """Hand calculation: 4 events for 2 parameters = 2.0 events per variable (< 10)."""
    m = auto.multivariable[0]
    assert m.events_per_variable == 2.0
    assert any("2.0 events per variable" in w for w in m.warnings)


def test_holm_and_bh_adjusted_p(tmp_path: Path) -> None:
    """Hand calculation: Holm for two p-values p1 <= p2 is (2 p1, max(2 p1, p2));
    BH is (min(2 p1, p2), p2)."""
    from survstudy.tables.study import univariable_table

    for method in ("holm", "bh"):
        _s, res = _run(tmp_path / method, univariable_extra=f"    adjust: {method}")
        rows = res.univariable["OS"].rows
        p_g = next(r for r in rows if r.term == "grp[A]")
        p_x = next(r for r in rows if r.variable == "x" and r.per == 1)
        p1, p2 = sorted([p_g.p_value, p_x.p_value])
        want = (
            (min(1, 2 * p1), max(min(1, 2 * p1), p2))
            if method == "holm"
            else (
                min(2 * p1, p2),
                p2,
            )
        )
        got = sorted([p_g.adjusted_p, p_x.adjusted_p])
        assert got == pytest.approx(list(want), rel=1e-12)
        t = univariable_table(res, "OS")
        assert ("BH" if method == "bh" else "Holm") + "-adjusted p" in [c.header for c in t.columns]
        assert "2 factors tested; p-values adjusted" in " ".join(t.footnotes)
        assert "adjusted for the number of factors tested" in " ".join(res.methods["sentences"])


def test_multivariable_firth_always(tmp_path: Path) -> None:
    """Identity: firth: always on a model -> every term carries the Firth estimate."""
    _s, res = _run(tmp_path, model_extra=", firth: always")
    m = res.multivariable[0]
    assert m.firth == "always"
    assert {r.term for r in m.rows if r.firth is not None} == {"grp[A]", "x"}
    assert math.isfinite(m.firth_lr_p)


def test_firth_missing_is_said_not_hidden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Property: without a Firth fit the monotone row says so (FIRTH-NOT-FITTED). (Only the
    Firth fit is taken away: with 4 deaths the profile-likelihood CIs, from the same stats
    module, are used too; issue 22.)"""
    from survstudy.pipeline import engine

    monkeypatch.setattr(engine, "cox_firth", lambda *a, **k: None)
    _s, res = _run(tmp_path)
    row = next(r for r in res.univariable["OS"].rows if r.term == "grp[A]")
    assert row.firth is None
    assert any("not available" in w for w in row.warnings)
    assert "FIRTH-NOT-FITTED" in {w.code for w in res.warnings}


def test_precision_with_a_factor_hand_calculation(tmp_path: Path) -> None:
    """Hand calculation: 4 deaths; marker > 2.6 in 4 of 10 patients (3.1, 4.0, 3.3, 2.8) ->
    exp(2.801585 / sqrt(4 · 0.4 · 0.6)) = exp(2.859370) = 17.45; the note names the factor.
    A continuous factor is a spec error."""
    _s, res = _run(tmp_path / "f", analyses_extra="  precision: {factor: high}")
    prec = res.endpoints["OS"].precision
    assert prec.proportion == pytest.approx(0.4)
    hand = math.exp((Z975 + Z80) / math.sqrt(4 * 0.4 * 0.6))
    assert hand == pytest.approx(17.45, abs=0.01)
    assert prec.hr == pytest.approx(hand, rel=1e-12)
    # 4 deaths: the printed note gives no number (issue 22 item 5)
    assert prec.message.startswith("Too few events (4)")
    from survstudy.errors import SpecError

    with pytest.raises(SpecError, match="two groups"):
        _run(tmp_path / "g", analyses_extra="  precision: {factor: x}")


def test_forest_plot_shows_the_firth_estimate_marked(auto: Any) -> None:
    """Identity: the forest row of the monotone term is its Firth estimate, labelled (Firth)."""
    from survstudy.report.build import _forest_rows, figure_specs

    rows = _forest_rows(auto.univariable["OS"].rows)
    row = next(r for r in rows if r.label == "A (Firth)")
    firth = next(r.firth for r in auto.univariable["OS"].rows if r.term == "grp[A]")
    assert (row.hr, row.lower, row.upper) == (firth.hr, firth.lower, firth.upper)
    assert not row.not_estimable
    cap = next(f.caption for f in figure_specs(auto) if f.id == "forest_univariable_OS")
    assert "(Firth)" in cap

"""The notes of issue 7 in the bclm example's report (SYNTHETIC data, 12 patients).

Kinds of truth: hand calculation (Schoenfeld's formula with published normal
quantiles; events counted in the published paper: 3 progressions, 3 deaths, 11 liver
metastases among the 11 patients with breast-cancer surgery), identity (the Firth row
is ``cox_fit_firth`` on the same arrays), property (each note sits on the cell it
concerns).
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
from survstudy.tables.study import survival_table, univariable_table

SPEC = Path(__file__).resolve().parents[2] / "examples" / "bclm" / "study.yaml"
Z = 1.959963984540054 + 0.8416212335729143  # z_0.975 + z_0.80


@pytest.fixture(scope="module")
def results() -> Any:
    spec = load_spec(SPEC)
    return run_study(spec, build_cohort(spec))


def test_precision_notes_by_hand(results: Any) -> None:
    """Hand calculation: 3 events -> exp(2.801585/sqrt(0.75)) = 25.4 (the detectable HR
    stays in results.json, not printed); below 10 events the note gives no number (issue
    22 item 5); 11 events -> CI factor exp(1.959964/sqrt(11/4)) = 3.26 (precision, not power)."""
    assert math.exp(Z / math.sqrt(0.75)) == pytest.approx(25.40, abs=0.01)
    assert results.endpoints["PFS"].precision.hr == pytest.approx(
        math.exp(Z / math.sqrt(0.75)), rel=1e-12
    )
    few = "Too few events (3) for a comparative analysis; the results are descriptive."
    assert results.endpoints["PFS"].precision.message == few
    assert results.endpoints["OS"].precision.message == few
    dfs = results.univariable["DFS"].precision
    assert dfs.hr == pytest.approx(math.exp(Z / math.sqrt(2.75)), rel=1e-12)
    factor = math.exp(1.959963984540054 / math.sqrt(11 * 0.25))
    assert factor == pytest.approx(3.26, abs=0.005)
    assert dfs.factor == pytest.approx(factor, rel=1e-12)
    assert dfs.message.startswith(
        "With 11 events, a hazard ratio between two groups of equal size is estimated to "
        "within a factor of about 3.26"
    )
    assert "power" not in dfs.message.replace("not a power calculation", "")


def test_survival_table_notes_sit_on_their_numbers(results: Any) -> None:
    """Property: precision on the events cell, 'not reached' on the median, few at risk on
    the landmark rate (PFS: 9 at risk at 24 months, 4 at 36; OS: 5 at 36)."""
    t = survival_table(results)
    by_row: dict[str, list[tuple[str | None, str]]] = {}
    for n in t.notes:
        by_row.setdefault(t.rows[n.row].text("statistic"), []).append((n.column, n.message))
    events = by_row["Events, n (%)"]
    assert ("PFS", results.endpoints["PFS"].precision.message) in events
    assert ("OS", results.endpoints["OS"].precision.message) in events
    assert {c for c, _m in by_row["Median, months (95% CI)"]} == {"PFS", "OS"}
    at24 = by_row["24-month survival, % (95% CI)"]
    assert [c for c, m in at24 if "only 9 patients still at risk" in m] == ["PFS"]
    at36 = " ".join(m for _c, m in by_row["36-month survival, % (95% CI)"])
    assert "only 4 patients" in at36
    assert "only 5 patients" in at36


def test_monotone_grade_gets_firth_beside_it(results: Any) -> None:
    """Identity: OS by grade (no deaths in grade I/II) is monotone; the table shows the
    Firth estimate (cox_fit_firth, Breslow ties as the spss profile) beside 'NE'."""
    from survstudy.data import CategoricalColumn
    from survstudy.stats.firth import cox_fit_firth

    spec = load_spec(SPEC)
    cohort = build_cohort(spec)
    t, e, ok = cohort.survival_data("OS")
    col = cohort.columns["grade"]
    assert isinstance(col, CategoricalColumn)
    g = np.array([1.0 if v == "III" else 0.0 for v in col.values])
    ref = cox_fit_firth(g[ok][:, None], t[ok], e[ok], ties="breslow")
    row = next(r for r in results.univariable["OS"].rows if r.term == "grade[III]")
    assert not row.estimable
    assert row.firth is not None
    assert row.firth.hr == pytest.approx(ref.terms[0].hr, rel=1e-10)
    assert row.firth.p_value == pytest.approx(ref.terms[0].p_value, rel=1e-8)
    tab = univariable_table(results, "OS")
    level = next(r for r in tab.rows if r.variable == "grade" and r.level == "III")
    assert level.text("hr") == "NE"
    assert level.text("firth_hr").startswith(f"{ref.terms[0].hr:.2f} (")
    # no other endpoint has a monotone term: no Firth columns there
    for ep in ("DFS", "PFS"):
        assert "firth_hr" not in [c.key for c in univariable_table(results, ep).columns]


def test_univariable_screen_footnotes(results: Any) -> None:
    """Property: the number of tests, the precision note and no detectable-HR column."""
    tab = univariable_table(results, "PFS")
    foot = " ".join(tab.footnotes)
    assert "10 factors tested; p-values are not adjusted for multiple testing." in foot
    assert results.univariable["PFS"].precision.message in foot
    # 3 progressions: no detectable-HR column (post-hoc power at 3 events reads as a
    # finding; issue 22 item 5) ...
    assert "detectable" not in [c.key for c in tab.columns]
    # ... nor at 11 events (DFS): the report words the study's precision, not power
    # (issue 22 item 5's "elsewhere"); results.json keeps the rows' detectable_hr
    dfs = univariable_table(results, "DFS")
    assert "detectable" not in [c.key for c in dfs.columns]
    assert not [f for f in dfs.footnotes if "power" in f and "not a power" not in f]
    grade = next(
        r for r in results.univariable["DFS"].rows if r.variable == "grade" and r.kind == "header"
    )
    assert grade.detectable_hr != grade.detectable_hr  # three levels: NaN (two-group only)
    ht = [r for r in results.univariable["DFS"].rows if r.kind == "level" and r.detectable_hr > 0]
    assert ht  # a binary factor's detectable HR is still computed

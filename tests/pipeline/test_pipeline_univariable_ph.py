"""The univariable PH-test note on the GBSG example, against R's cox.zph.

Kind of truth: R reference (tests/reference/gbsg.R -> gbsg.json: cox.zph(fit,
transform = "km") of each univariable coxph fit, R 4.2, survival 3.5-3), property
(the note is on the factor's row exactly when its PH p < 0.05).
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

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "examples" / "gbsg" / "study.yaml"
R = json.loads((ROOT / "tests" / "reference" / "gbsg.json").read_text())
NOTE = "the hazard ratio may change over follow-up (PH test p < 0.05)"


@pytest.fixture(scope="module")
def rows() -> Any:
    spec = load_spec(SPEC)
    return run_study(spec, build_cohort(spec), profile="standard").univariable["RFS"].rows


@pytest.mark.parametrize(
    ("variable", "r_name"),
    [
        ("size", "size"),
        ("nodes", "nodes"),
        ("pgr", "pgr"),
        ("er", "er"),
        ("age", "age"),
        ("meno", "meno_f"),
        ("grade", "grade_f"),
        ("hormon", "hormon_f"),
    ],
)
def test_univariable_ph_p_matches_r_cox_zph(rows: Any, variable: str, r_name: str) -> None:
    """R reference: the factor's cox.zph p (one row per factor) on its header/continuous rows;
    the plain-language note on the row showing its p exactly when p < 0.05."""
    r_p = R["univariable"][r_name]["zph_p"][0]
    mine = [r for r in rows if r.variable == variable]
    shown = [r for r in mine if r.kind in ("header", "continuous")]
    assert shown
    for r in shown:
        assert math.isclose(r.ph_p, r_p, rel_tol=1e-6, abs_tol=1e-12)
    noted = [r for r in mine if NOTE in r.warnings]
    assert bool(noted) == (r_p < 0.05)
    assert len({r.kind for r in noted}) <= 1


def test_ph_note_printed_on_the_scaled_row(rows: Any) -> None:
    """Property: age is printed per 10 years only; its PH note (R p = 0.0024) is on that row."""
    from survstudy.tables.study import _cox_rows

    age = tuple(r for r in rows if r.variable == "age")
    printed, notes = _cox_rows(age, [])
    assert [r.text("variable") for r in printed] == ["Age (per 10 years)"]
    assert [n.row for n in notes if "PH test" in n.message] == [0]

"""The printed study tables of the GBSG example.

Kind of truth: R reference, rounded by hand. Each expected text below is written from
tests/reference/gbsg.json (R 4.2, survival 3.5-3) with the journal rules of
docs/formatting.md: HR and CI to 2 decimals, survival % to 1 decimal from n = 100, times to
1 decimal, p to 3 decimals or "<0.001".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from survstudy.data import build_cohort
from survstudy.pipeline import run_study
from survstudy.spec import load_spec
from survstudy.tables.study import results_document, study_tables

SPEC = Path(__file__).resolve().parents[2] / "examples" / "gbsg" / "study.yaml"


@pytest.fixture(scope="module")
def tables() -> dict[str, Any]:
    spec = load_spec(SPEC)
    return {t.id: t for t in study_tables(run_study(spec, build_cohort(spec)))}


def cell(table: Any, first: str, column: str, key: str = "variable") -> str:
    (row,) = [r for r in table.rows if r.text(key) == first]
    return str(row.text(column))


def test_table_order_and_ids(tables: dict[str, Any]) -> None:
    """Property: Table 1, survival, survival by group (KM figure by hormon), one univariable
    table per endpoint, models (each followed by its PH sensitivity table when its global PH
    test has p < 0.05: GBSG's p = 0.0037 in R), reconciliation."""
    assert list(tables) == [
        "table1",
        "survival",
        "survival_RFS_by_hormon",
        "univariable_RFS",
        "multivariable_Full_model",
        "multivariable_Full_model_sensitivity",
        "supplementary_tests_RFS",  # the univariable group tests (issue 22 item 8)
        "reconciliation",
    ]


def test_survival_table_prints_r_values(tables: dict[str, Any]) -> None:
    """R reference: median 59.37 (50.20–66.30); S(12) 0.9156 (0.8917–0.9344), 602 at risk;
    reverse-KM follow-up 54.05 (51.25–56.31)."""
    t = tables["survival"]
    assert cell(t, "Median, months (95% CI)", "RFS", "statistic") == "59.4 (50.2–66.3)"
    assert cell(t, "12-month survival, % (95% CI)", "RFS", "statistic") == "91.6 (89.2–93.4)"
    assert cell(t, "At risk at 12 months, n", "RFS", "statistic") == "602"
    assert cell(t, "60-month survival, % (95% CI)", "RFS", "statistic") == "49.2 (44.6–53.6)"
    assert cell(t, "Median follow-up, months (95% CI)", "RFS", "statistic") == "54.0 (51.3–56.3)"


def test_univariable_table_prints_r_values(tables: dict[str, Any]) -> None:
    """R reference: grade 2 HR 2.391 (1.476–3.873) p 0.000395; grade 3 3.170 (1.899–5.293);
    overall LR p 5.5e-6; log-rank p 2.6e-5; hormonal therapy 0.695 (0.544–0.888) p 0.0036."""
    t = tables["univariable_RFS"]
    assert cell(t, "2", "hr") == "2.39 (1.48–3.87)"
    assert cell(t, "2", "p") == "<0.001"
    assert cell(t, "3", "hr") == "3.17 (1.90–5.29)"
    assert cell(t, "Tumour grade", "p") == "<0.001"
    # one p per comparison: the log-rank p is in the supplementary table (issue 22 item 8)
    assert "logrank" not in [c.key for c in t.columns]
    g = tables["supplementary_tests_RFS"]
    assert cell(g, "Tumour grade", "logrank") == "<0.001"
    assert cell(t, "1", "hr") == "1 (reference)"
    assert cell(t, "Yes", "hr") == "0.69 (0.54–0.89)"
    assert cell(t, "Yes", "p") == "0.004"
    assert cell(g, "Hormonal therapy", "logrank") == "0.003"


def test_per_k_units_row_replaces_the_per_unit_row(tables: dict[str, Any]) -> None:
    """R reference + identity: age β = −0.004485, SE 0.005887: per 10 years
    exp(−0.04485) = 0.956, CI exp(10(β ± 1.96·SE)) = 0.85–1.07; no 'per year' row printed."""
    t = tables["univariable_RFS"]
    assert cell(t, "Age (per 10 years)", "hr") == "0.96 (0.85–1.07)"
    assert cell(t, "Age (per 10 years)", "p") == "0.446"
    assert not [r for r in t.rows if r.text("variable") == "Age (per year)"]


def test_multivariable_table_has_fit_summary_and_ph_notes(tables: dict[str, Any]) -> None:
    """R reference: n 686, 299 events, 9 parameters, C = 0.692; global PH p = 0.0037 < 0.05,
    so the table carries a plain-language note on the PH p-values below 0.05."""
    t = tables["multivariable_Full_model"]
    foot = " ".join(t.footnotes)
    assert "686 patients, 299 events, 9 parameters (33.2 events per variable)" in foot
    assert "0.692" in foot
    assert "p = 0.004" in foot
    assert any("PH test p < 0.05" in n.message for n in t.notes)
    # PH notes on the PH column; the spline test's notes (issue 22) on the non-linearity column
    assert {n.column for n in t.notes if "PH test" in n.message} == {"ph"}
    assert {n.column for n in t.notes if "non-linearity" in n.message} == {"nonlinear"}


def test_results_json_table1_text_is_the_printed_statistic(tables: dict[str, Any]) -> None:
    """Identity: results.json's table1[].text equals the Table 1 statistic cell, row by row."""
    spec = load_spec(SPEC)
    res = run_study(spec, build_cohort(spec))
    doc = results_document(res)
    printed = [r.text("statistic") for r in tables["table1"].rows]
    assert [r["text"] for r in doc["table1"]] == printed
    assert doc["table1"][0]["text"] == "53 (46–61)"

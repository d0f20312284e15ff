"""Table 1, denominators, multi-select rows, grouped levels and warnings on a seed-shaped cohort.

Kind of truth: hand calculation. The fixture (tests/pipeline/fixtures/seedlike.*) has 7 rows;
S04 (surgery in 2009) and S05 (extrahepatic disease) are excluded, leaving S01, S02, S03,
S06, S07. Counts below are read off the CSV by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from survstudy.data import build_cohort
from survstudy.pipeline import run_study
from survstudy.spec import load_spec

SPEC = Path(__file__).parent / "fixtures" / "seedlike.yaml"


@pytest.fixture(scope="module")
def res() -> dict[str, Any]:
    spec = load_spec(SPEC)
    return run_study(spec, build_cohort(spec)).to_dict()


def rows(res: dict[str, Any], variable: str) -> list[dict[str, Any]]:
    return [r for r in res["table1"] if r["variable"] == variable]


def test_flow_and_population(res: dict[str, Any]) -> None:
    """Hand count: 7 rows, 1 outside the surgery window, 1 with extrahepatic disease -> 5."""
    assert res["n"] == 5
    assert [s["n_after"] for s in res["flow"]] == [7, 6, 5]


def test_grouped_level_counts_and_sublevels(res: dict[str, Any]) -> None:
    """Hand count: pT I/II = S01 (I), S03 (II), S06 (II), S07 (I) = 4 of 5; III = S02."""
    r = rows(res, "pt_stage")
    assert [(x["level"], x["n"], x["denominator"]) for x in r] == [("I/II", 4, 5), ("III", 1, 5)]
    assert r[0]["percent"] == pytest.approx(80.0)
    assert r[0]["sublevels"] == [{"value": "I", "n": 2}, {"value": "II", "n": 2}]


def test_applicable_when_denominator(res: dict[str, Any]) -> None:
    """Hand count: resection type applies to the 4 resected patients (S06 had RFA)."""
    r = rows(res, "resection_type")
    assert [(x["level"], x["n"], x["denominator"]) for x in r] == [
        ("Anatomical", 1, 4),
        ("Non-anatomical", 3, 4),
    ]
    assert r[0]["percent"] == pytest.approx(25.0)


def test_multiselect_options_each_of_all_patients(res: dict[str, Any]) -> None:
    """Hand count: adjuvant CT S01, S03, S06 (3/5); RT all 5; hormonotherapy S01, S03, S06, S07."""
    r = rows(res, "other_treatment")
    assert [(x["level"], x["n"], x["denominator"]) for x in r] == [
        ("Adjuvant chemotherapy", 3, 5),
        ("Radiotherapy", 5, 5),
        ("Hormonotherapy", 4, 5),
    ]


def test_continuous_median_and_range(res: dict[str, Any]) -> None:
    """Hand calculation: Ki-67 of the 5 included = 10, 40, 20, 55, 15 -> median 20, range 10-55."""
    (r,) = [x for x in rows(res, "ki67") if x["kind"] == "continuous"]
    assert (r["median"], r["min"], r["max"], r["n"]) == (20, 10, 55, 5)


def test_endpoint_time_row_counts_only_derivable_patients(res: dict[str, Any]) -> None:
    """Hand count: S03 has no breast-cancer treatment date, so DFS time exists for 4 patients."""
    (r,) = rows(res, "DFS")
    assert r["n"] == 4
    assert r["n_missing"] == 1


def test_spss_profile_from_the_spec(res: dict[str, Any]) -> None:
    """Property: analyses.methods: spss in the spec selects the SPSS profile."""
    assert res["profile"]["name"] == "spss"
    assert res["profile"]["tests"][1]["label"] == "Breslow (Generalized Wilcoxon)"


def test_few_at_risk_warning_next_to_the_rate(res: dict[str, Any]) -> None:
    """Hand count: 5 patients in all, so every landmark has fewer than 10 at risk."""
    for ep in ("PFS", "OS"):
        for a in res["endpoints"][ep]["at"]:
            assert "FEW-AT-RISK" in a["warnings"]
    codes = {(w["code"], w["endpoint"]) for w in res["warnings"]}
    assert ("FEW-AT-RISK", "PFS") in codes

"""The report section of a propensity-score comparison (issue 20) on the Rotterdam example.

Kinds of truth: R reference (the printed HRs and landmark survival are R's numbers from
tests/reference/propensity.json, printed through the one formatting module), property (the
section holds its balance table, the three figures, the methods paragraph naming every
choice; the numbers at risk are said to be unweighted; identifiers never appear).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from survstudy.report import build_bundle, write_report
from survstudy.study import run_spec
from survstudy.tables import format as fmt

ROOT = Path(__file__).resolve().parents[2]


@cache
def _fixture() -> dict[str, Any]:
    return json.loads((ROOT / "tests" / "reference" / "propensity.json").read_text())["rotterdam"]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    results = run_spec(ROOT / "examples" / "rotterdam" / "study.yaml").results
    bundle = build_bundle(results)
    out = tmp_path_factory.mktemp("rotterdam")
    write_report(bundle, out, formats=("html", "docx"), figure_formats=("png",))
    return bundle, out


def _table(bundle: Any, key: str) -> Any:
    return next(t for t in bundle.tables if t.key == key)


def test_hr_table_prints_r_numbers_side_by_side(report: tuple[Any, Path]) -> None:
    bundle, _ = report
    fx = _fixture()
    for i, sc in ((1, fx["weighting"]["ATE"]), (2, fx["matching"]["nearest_1"])):
        rows = _table(bundle, f"treatment_effect_{i}").rows
        hr = [r.text("hr") for r in rows]
        cox = sc["cox"]
        assert hr == [
            fmt.hr_ci_text(fx["crude"]["hr"], fx["crude"]["lower"], fx["crude"]["upper"]),
            fmt.hr_ci_text(fx["adjusted"]["hr"], fx["adjusted"]["lower"], fx["adjusted"]["upper"]),
            fmt.hr_ci_text(cox["hr"], cox["lower"], cox["upper"]),
        ]
        assert rows[2].text("p") == fmt.p_value(cox["p_value"])
    # adjusted survival at 5 years: R's weighted survfit, in percent
    arms = {k["arm"]: k for k in fx["weighting"]["ATE"]["km"]}
    j = arms["tr=1"]["at_time"].index(1826)
    row = _table(bundle, "treatment_landmarks_1").rows[0]
    assert row.text("treated") == fmt.percent_ci(
        arms["tr=1"]["at_survival"][j], arms["tr=1"]["at_lower"][j], arms["tr=1"]["at_upper"][j]
    )


def test_balance_table_rows_and_imbalance_notes(report: tuple[Any, Path]) -> None:
    bundle, _ = report
    t = _table(bundle, "treatment_balance_1")
    ref = {(b["variable"], b["level"]): b for b in _fixture()["weighting"]["ATE"]["balance"]}
    age = next(r for r in t.rows if r.variable == "age")
    assert age.text("smd0") == fmt.number(ref[("age", None)]["smd_before"], 3)
    assert age.text("smd1") == fmt.number(ref[("age", None)]["smd_after"], 3)
    size = [r.level for r in t.rows if r.variable == "size" and r.kind == "level"]
    assert size == ["<=20", "20-50", ">50"]  # every level of a 3-level confounder
    flagged = {t.rows[n.row].variable for n in t.notes}
    expected = {v for (v, _lv), b in ref.items() if abs(b["smd_after"]) > 0.1}
    assert flagged == expected


def test_html_section_holds_everything(report: tuple[Any, Path]) -> None:
    _, out = report
    html = (out / "report.html").read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"data:[^\"]+", "", html)))
    start = text.index("Treatment comparison: Chemotherapy vs none (weighting)")
    end = text.index("Treatment comparison: Chemotherapy vs none (matching)")
    sec = text[start:end]
    for needle in (
        "Balance of the confounders",
        "Treatment effect",
        "Adjusted survival (weighted Kaplan–Meier)",
        "Love plot",
        "propensity scores of the 580 treated",
        "numbers at risk under the x-axis are unweighted",
        "Methods of this comparison",
        "stabilised",
        "pooled standard deviation",
        "robust (Lin–Wei sandwich) standard errors",
        "infinitesimal-jackknife",
    ):
        assert needle in sec, needle
    matched = text[end:]
    for needle in ("caliper of 0.2 standard deviations of the logit", "cluster(pair)"):
        assert needle in matched, needle
    assert html.count('<figure id="f-treatment_') == 6


def test_word_has_the_sections(report: tuple[Any, Path]) -> None:
    import docx

    _, out = report
    doc = docx.Document(str(out / "report.docx"))
    heads = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert "Treatment comparison: Chemotherapy vs none (weighting)" in heads
    assert "Treatment comparison: Chemotherapy vs none (matching)" in heads
    body = "\n".join(p.text for p in doc.paragraphs)
    assert "nearest-neighbour matching on the logit" in body
    assert len(doc.inline_shapes) == 7  # the KM figure by chemotherapy + 3 per comparison

"""Adapters from the pipeline's result objects to the figures."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

from survstudy.pipeline.results import CoxRow, CurveGroup, GroupTest, KMCurves, Median
from survstudy.plots import forest_rows_from_cox, plot_forest, plot_km_curves, save_figure

SVG = "{http://www.w3.org/2000/svg}"
NAN = math.nan


def _group(level: str, n_risk: tuple[int, ...]) -> CurveGroup:
    return CurveGroup(
        level=level,
        n=4,
        events=2,
        time=(0.0, 5.0, 10.0, 20.0),
        survival=(1.0, 0.75, 0.5, 0.5),
        lower=(1.0, 0.4, 0.2, 0.2),
        upper=(1.0, 0.95, 0.85, 0.85),
        censor_time=(20.0,),
        censor_survival=(0.5,),
        n_risk_at=n_risk,
        median=Median(10.0, 5.0, NAN, "r"),
    )


def test_km_curves_prints_given_risk_table_and_logrank(tmp_path: Path) -> None:
    """Hand-made input: the figure prints the pipeline's n_risk_at under each tick and the
    log-rank (not the Breslow) p."""
    kc = KMCurves(
        key="km_PFS_by_g",
        endpoint="PFS",
        endpoint_label="Progression-free survival",
        by="g",
        by_label="Group",
        groups=(_group("A", (4, 3, 1)), _group("B", (4, 2, 0))),
        ticks=(0.0, 12.0, 24.0),
        max_time=20.0,
        time_unit="months",
        ci=True,
        risk_table=True,
        title=None,
        tests=(
            GroupTest("gehan-breslow", "Breslow", 3.0, 1, 0.2),
            GroupTest("logrank", "Log-rank", 4.2, 1, 0.0403),
        ),
    )
    plot = plot_km_curves(kc)
    (svg,) = save_figure(plot, tmp_path / "km", formats=("svg",))
    root = ET.parse(svg).getroot()
    cells = {
        g.get("id"): "".join(g.itertext()).strip()
        for g in root.iter(f"{SVG}g")
        if (g.get("id") or "").startswith("nrisk-")
    }
    assert cells == {
        "nrisk-0-0": "4",
        "nrisk-0-1": "3",
        "nrisk-0-2": "1",
        "nrisk-1-0": "4",
        "nrisk-1-1": "2",
        "nrisk-1-2": "0",
    }
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert "A (n=4, events=2)" in texts
    assert any(t.startswith("Log-rank p") and "0.04" in t for t in texts)
    assert not any(t.startswith("Breslow") for t in texts)


def test_forest_rows_from_cox_rows() -> None:
    """Hand-made input: header/reference/level/continuous rows map to forest rows; the
    per-1-year row is dropped when a per-10-years row follows."""
    rows = [
        CoxRow(
            "age",
            "Age",
            "continuous",
            per=1.0,
            unit="years",
            hr=1.01,
            lower=0.9,
            upper=1.1,
            p_value=0.5,
        ),
        CoxRow(
            "age",
            "Age",
            "continuous",
            per=10.0,
            unit="years",
            hr=1.1,
            lower=0.4,
            upper=2.6,
            p_value=0.5,
        ),
        CoxRow("grade", "Grade", "header", overall_p=0.048),
        CoxRow("grade", "Grade", "reference", level="1–2", reference=True, hr=1.0),
        CoxRow(
            "grade", "Grade", "level", level="3", hr=4.85, lower=1.01, upper=23.3, p_value=0.048
        ),
        CoxRow("er", "ER", "level", level="positive", estimable=False),
    ]
    fr = forest_rows_from_cox(rows)
    assert [r.label for r in fr] == ["Age, per 10 years", "Grade", "1–2", "3", "positive"]
    assert [r.is_header for r in fr] == [False, True, False, False, False]
    assert fr[2].is_reference
    assert fr[4].not_estimable
    assert fr[0].hr == 1.1
    plot = plot_forest(fr)
    assert [ln.get_marker() for ln in plot.ax.get_lines()].count("s") == 2
    assert [r.label for r in forest_rows_from_cox(rows, both_per=True)][:2] == [
        "Age, per year",
        "Age, per 10 years",
    ]

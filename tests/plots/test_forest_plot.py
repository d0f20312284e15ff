"""Forest plot: the text columns in the SVG text layer."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from survstudy.plots import ForestRow, plot_forest, save_figure

SVG = "{http://www.w3.org/2000/svg}"

ROWS = [
    ForestRow("Age, per 10 years", 1.12, 0.61, 2.05, "0.71"),
    ForestRow("Grade", is_header=True, p_text="0.048"),
    ForestRow("Grade 1–2", is_reference=True, indent=1),
    ForestRow("Grade 3", 4.85, 1.01, 23.3, "0.048", indent=1),
    ForestRow("Ki-67 ≥ 20%", 3.10, 0.78, 12.4, "0.11"),
    ForestRow("LM within 3 years", 6.21, 1.08, 135.0, "0.040"),
    ForestRow("HER2 positive", 0.45, 0.05, 3.9, "0.47"),
    ForestRow("Multiple metastases", not_estimable=True),
]


def _texts(path: Path) -> list[str]:
    return ["".join(t.itertext()) for t in ET.parse(path).getroot().iter(f"{SVG}text")]


def test_forest_text_columns(tmp_path: Path) -> None:
    """Hand formatting (docs/formatting.md): HR (lower–upper), two decimals at every magnitude."""
    plot = plot_forest(ROWS)
    (svg,) = save_figure(plot, tmp_path / "forest", formats=("svg",))
    texts = _texts(svg)
    for expected in (
        "HR (95% CI)",
        "1.12 (0.61–2.05)",
        "4.85 (1.01–23.30)",
        "6.21 (1.08–135.00)",
        "0.45 (0.05–3.90)",
        "1 (reference)",
        "not estimable",
        "0.048",
        "Grade 1–2",
    ):
        assert expected in texts, expected
    assert texts.count("0.048") == 2


def test_forest_points_and_arrows() -> None:
    """Hand count: 5 estimable rows get a square; the CI past the right edge (135 > 50)
    gets one '>' arrow; reference, header and not-estimable rows get no point."""
    plot = plot_forest(ROWS)
    markers = [ln.get_marker() for ln in plot.ax.get_lines()]
    assert markers.count("s") == 5
    assert markers.count(">") == 1
    assert markers.count("<") == 0
    assert plot.xlim == (0.05, 50.0)


def test_forest_accepts_mappings() -> None:
    """Identity: a dict row draws like the dataclass row."""
    plot = plot_forest([{"label": "x", "hr": 2.0, "lower": 1.0, "upper": 4.0, "p_text": "0.05"}])
    assert [ln.get_marker() for ln in plot.ax.get_lines()].count("s") == 1

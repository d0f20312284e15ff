"""Figures at registry scale (10^6-10^8 patients): a readable number-at-risk table, grouped
counts in the legend, and the forest plot's HR text equal to the table's.

Kinds of truth: the no-overlap checks are properties measured with matplotlib's own
renderer (bounding boxes of neighbouring texts); the printed strings are written by hand.
"""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from survstudy.pipeline.results import CurveGroup, KMCurves, Median
from survstudy.plots import ForestRow, plot_forest, plot_km_curves, save_figure
from survstudy.plots.km import risk_text
from survstudy.tables.study import hr_text

NAN = math.nan
SVG = "{http://www.w3.org/2000/svg}"


def _curves(n: int, n_groups: int, n_ticks: int, labels: tuple[str, ...] = ()) -> KMCurves:
    ticks = tuple(12.0 * i for i in range(n_ticks))
    groups = []
    for g in range(n_groups):
        # a hand-made decreasing risk set: n, 0.67 n, 0.45 n, ... (realistic digit counts)
        at = tuple(int(n * (0.67**i)) - g for i in range(n_ticks))
        groups.append(
            CurveGroup(
                level=labels[g] if labels else f"Group {'ABCDE'[g]}",
                n=n,
                events=int(0.76 * n),
                time=(0.0, ticks[-1]),
                survival=(1.0, 0.1),
                lower=(1.0, 0.09),
                upper=(1.0, 0.11),
                censor_time=(),
                censor_survival=(),
                n_risk_at=at,
                median=Median(20.0, 19.0, 21.0, "r"),
            )
        )
    return KMCurves(
        key="km_OS_by_g",
        endpoint="OS",
        endpoint_label="Overall survival",
        by="g" if n_groups > 1 else None,
        by_label="Group" if n_groups > 1 else None,
        groups=tuple(groups),
        ticks=ticks,
        max_time=ticks[-1],
        time_unit="months",
        ci=False,
        risk_table=True,
        title=None,
        tests=(),
    )


def _drawn(plot: Any) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(plot.figure)
    canvas.draw()
    return canvas.get_renderer()


def _risk_rows(plot: Any) -> dict[int, list[Any]]:
    rows: dict[int, list[Any]] = {}
    for t in plot.ax.texts:
        gid = t.get_gid() or ""
        if gid.startswith("nrisk-"):
            _, r, j = gid.split("-")
            rows.setdefault(int(r), []).append((int(j), t))
    return {r: [t for _, t in sorted(v, key=lambda x: x[0])] for r, v in rows.items()}


@pytest.mark.parametrize(
    ("n", "n_groups", "n_ticks"),
    [
        (100_000_000, 1, 9),
        (100_000_000, 3, 9),
        (10_000_000, 3, 8),
        (10_000_000, 1, 9),
        (2_000_000, 3, 9),
        (99_999, 2, 9),
    ],
)
def test_risk_table_counts_never_touch(n: int, n_groups: int, n_ticks: int) -> None:
    """Property: at any n and 8-9 ticks, each count's bounding box ends before its right
    neighbour's begins, the row label ends before the first count, and the whole table
    stays inside the figure."""
    plot = plot_km_curves(_curves(n, n_groups, n_ticks))
    renderer = _drawn(plot)
    width = plot.figure.bbox.width
    labels = {
        t.get_text(): t
        for t in plot.ax.texts
        if not (t.get_gid() or "").startswith("nrisk-") and t.get_text().startswith("Group")
    }
    rows = _risk_rows(plot)
    assert len(rows) == n_groups
    for r, cells in rows.items():
        assert len(cells) == n_ticks
        boxes = [c.get_window_extent(renderer) for c in cells]
        for a, b in itertools.pairwise(boxes):
            assert a.x1 < b.x0, (r, a, b)
        label = labels[f"Group {'ABCDE'[r]}"].get_window_extent(renderer)
        assert label.x1 < boxes[0].x0
        assert label.x0 >= 0
        assert boxes[-1].x1 <= width
        assert min(c.get_fontsize() for c in cells) >= 6.0


def test_large_counts_switch_to_thousands_or_millions_and_say_so() -> None:
    """Hand-written: 10^8 at 9 ticks cannot print whole; the header names the unit and
    the first cell is 10^8 in that unit."""
    plot = plot_km_curves(_curves(100_000_000, 3, 9))
    assert plot.risk_scale in (1_000, 1_000_000)
    header = [t.get_text() for t in plot.ax.texts if t.get_text().startswith("Number at risk")]
    unit = {1_000: "thousands", 1_000_000: "millions"}[plot.risk_scale]
    assert header == [f"Number at risk ({unit})"]
    first = _risk_rows(plot)[0][0].get_text()
    assert first == {1_000: "100,000", 1_000_000: "100"}[plot.risk_scale]


def test_small_counts_stay_whole() -> None:
    """Hand-written: a 12-patient-sized table is printed as before, unscaled."""
    plot = plot_km_curves(_curves(12, 2, 6))
    assert plot.risk_scale == 1
    assert [t.get_text() for t in plot.ax.texts if t.get_text().startswith("Number")] == [
        "Number at risk"
    ]
    assert [c.get_text() for c in _risk_rows(plot)[0]] == ["12", "8", "5", "3", "2", "1"]


def test_legend_groups_thousands() -> None:
    """Hand-written: "(n=3,335,375, events=2,534,885)" (0.76 n rounded down)."""
    plot = plot_km_curves(_curves(3_335_375, 2, 9))
    legend = plot.ax.get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts[0] == "Group A (n=3,335,375, events=2,534,885)"


@pytest.mark.parametrize(
    ("k", "scale", "want"),
    [
        (9_999, 1, "9999"),
        (6_801_899, 1, "6,801,899"),
        (6_801_899, 1_000, "6802"),
        (68_018_990, 1_000, "68,019"),
        (63_408, 1_000, "63"),
        (9_950, 1_000, "10.0"),
        (528, 1_000, "0.5"),
        (40, 1_000, "<0.1"),
        (0, 1_000, "0"),
        (100_000_000, 1_000_000, "100"),
        (1_049_976, 1_000_000, "1.0"),
    ],
)
def test_risk_text(k: int, scale: int, want: str) -> None:
    """Hand-written: whole numbers from 10 units (commas from 10 000), one decimal below, "<0.1" not "0"."""
    assert risk_text(k, scale) == want


HRS = [
    (0.997, 0.937, 1.061),
    (1.0812, 1.0012, 1.168),
    (0.910, 0.831, 0.996),
    (0.80, 0.79, 0.81),
    (1.92, 0.48, 7.75),
    (53.42, 53.03, 53.82),
    (0.9996, 0.9990, 1.0003),
    (1.0, 0.5, 2.0),
    (2.5, 0.7, math.inf),
]


def test_forest_prints_the_table_hr_text() -> None:
    """Identity: the forest plot's HR column is the table cell for the same HR (the near-1
    rule included: "0.997 (0.937–1.061)", never "1.00 (0.94–1.06)")."""
    rows = [
        ForestRow(label=f"row {i}", hr=h, lower=lo, upper=hi) for i, (h, lo, hi) in enumerate(HRS)
    ]
    plot = plot_forest(rows)
    texts = {t.get_text() for t in plot.ax.texts}
    for h, lo, hi in HRS:
        assert hr_text(h, lo, hi) in texts
    assert "0.997 (0.937–1.061)" in texts
    assert "1.00 (0.94–1.06)" not in texts


def test_negative_tick_labels_use_the_minus_sign(tmp_path: Path) -> None:
    """Hand-written: a linear forest axis from -1 to 2 labels its negative tick "−1" in the
    saved file."""
    plot = plot_forest(
        [ForestRow(label="d", hr=0.5, lower=-0.5, upper=1.5)],
        log_scale=False,
        xlim=(-1.0, 2.0),
        ref_line=0.0,
    )
    (svg,) = save_figure(plot, tmp_path / "f", formats=("svg",))
    texts = ["".join(t.itertext()) for t in ET.parse(svg).getroot().iter(f"{SVG}text")]
    assert "\u22121" in texts or "\u22121.0" in texts
    assert not any(t.startswith("-") for t in texts)

"""The β(t) panels and the HR-versus-value figure draw what R draws.

Kind of truth: R reference (tests/reference/reviewer.R -> reviewer.json): the lines and axis of
``plot(cox.zph(fit)[i])`` read back from R's display list (smooth, ±2 SE band, tick positions
and labels) and ``rms::Predict(…, ref.zero = TRUE, fun = exp)``. The panels and the curve are
given R's numbers directly, so these tests check the drawing alone (the numbers themselves are
checked in tests/stats and tests/pipeline).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from survstudy.pipeline import PhPlot, SplineCurve
from survstudy.plots import plot_hr_curve, plot_ph_residuals

ROOT = Path(__file__).resolve().parents[2]
REF = json.loads((ROOT / "tests" / "reference" / "reviewer.json").read_text())


def _panel(term: str, label: str, factor: bool = False) -> PhPlot:
    r = REF["zph"]["gbsg_full"]["plots"][term]
    return PhPlot(
        variable=term,
        label=label,
        time_unit="days",
        curve_x=np.asarray(r["curve_x"]),
        fit=np.asarray(r["fit"]),
        lower=np.asarray(r["lower"]),
        upper=np.asarray(r["upper"]),
        ticks_x=np.asarray(r["axis_at"]),
        ticks_time=np.asarray([float(x) for x in r["axis_labels"]]),
        line=0.0,
        p_value=0.0012,
        factor=factor,
        x=np.asarray(r["points_x"]),
        y=np.asarray(r["points_y"]),
    )


def test_beta_t_panels_draw_rs_smooth_band_and_ticks() -> None:
    """R reference: plot(cox.zph(full GBSG model)[i]) for age/10 and grade (a 2-column term)."""
    panels = [_panel("age10", "Age"), _panel("grade_f", "Tumour grade", factor=True)]
    fig = plot_ph_residuals(panels)
    assert len(fig.axes) == 2
    for ax, p in zip(fig.axes, panels, strict=True):
        r = REF["zph"]["gbsg_full"]["plots"][p.variable]
        ys = [np.asarray(ln.get_ydata(), dtype=float) for ln in ax.get_lines()]
        for want in ("fit", "lower", "upper"):
            assert any(y.shape == (40,) and np.allclose(y, r[want]) for y in ys), want
        points = next(y for y in ys if y.size == len(r["points_y"]))
        np.testing.assert_allclose(points, r["points_y"])
        np.testing.assert_allclose(ax.get_xticks(), r["axis_at"])
        assert [t.get_text() for t in ax.get_xticklabels()] == r["axis_labels"]
        assert ax.get_title(loc="left").startswith(p.label)
        assert "PH test p = 0.001" in ax.get_title(loc="left")


def test_empty_panel_list_is_refused() -> None:
    with pytest.raises(ValueError, match="no panels"):
        plot_ph_residuals([])


def test_hr_curve_draws_rms_predict() -> None:
    """R reference: Predict(cph(… + rcs(nodes, 4)), nodes, ref.zero = TRUE, fun = exp): the
    curve, the band, the reference point at (3, 1) and a tick per knot; the title prints the
    overall and non-linearity p as the tables do (< 0.001 for 1e-12 and 1.5e-6)."""
    r = REF["nonlinearity"]["gbsg_nodes_full"]
    pd = r["predict_default"]
    curve = SplineCurve(
        variable="nodes",
        label="Positive lymph nodes",
        unit=None,
        reference=float(r["reference"]),
        knots=tuple(r["knots"]),
        value=np.asarray(pd["value"]),
        hr=np.asarray(pd["hr"]),
        lower=np.asarray(pd["lower"]),
        upper=np.asarray(pd["upper"]),
        conf_level=0.95,
        overall_p=r["p_overall"],
        df_overall=3,
        nonlinearity_p=r["p_nonlinear"],
        df_nonlinear=2,
    )
    plot = plot_hr_curve(curve)
    ax = plot.ax
    lines = ax.get_lines()
    main = next(ln for ln in lines if np.asarray(ln.get_xdata()).size == 200)
    np.testing.assert_allclose(main.get_ydata(), pd["hr"])
    ref = [ln for ln in lines if list(ln.get_xdata()) == [3.0] and list(ln.get_ydata()) == [1.0]]
    assert len(ref) == 1
    knots = sorted(
        float(ln.get_xdata()[0])
        for ln in lines
        if np.asarray(ln.get_xdata()).size == 2 and ln.get_xdata()[0] == ln.get_xdata()[1]
    )
    assert knots == r["knots"]
    assert ax.get_yscale() == "log"
    assert ax.get_title(loc="left") == "overall p < 0.001; non-linearity p < 0.001"
    assert ax.get_xlabel() == "Positive lymph nodes"


def _cloud(x: np.ndarray, y: np.ndarray) -> PhPlot:
    """A panel of residuals ``x, y`` whose smooth runs from -1 to 1 with β̂ = 0."""
    grid = np.linspace(0.0, 1.0, 40)
    return PhPlot(
        variable="x",
        label="X",
        time_unit="days",
        curve_x=grid,
        fit=np.zeros(40),
        lower=np.full(40, -1.0),
        upper=np.full(40, 1.0),
        ticks_x=np.zeros(0),
        ticks_time=np.zeros(0),
        line=0.0,
        p_value=0.5,
        factor=False,
        x=x,
        y=y,
    )


def test_many_residuals_are_thinned_to_the_visible_range() -> None:
    """Property (hand-built panel): 12 000 residuals, 2 000 of them above the plotted range.
    The smooth runs from -1 to 1 with β̂ = 0, so the view is [-1.5, 1.5] (25% padding of the
    range 2, as the plot pads); the panel draws MAX_PH_POINTS (5 000) of the 10 000 visible
    points, evenly spaced: the first and the last visible one and every second one between
    (10 000 visible points thinned to 5 000: indices 0, 2, 4, … of the visible points, with
    the rounding of linspace(0, 9 999, 5 000) giving the last one, 9 999)."""
    from survstudy.plots import MAX_PH_POINTS

    n = 12_000
    x = np.linspace(0.0, 1.0, n)
    y = np.where(np.arange(n) % 6 == 5, 10.0, np.sin(np.arange(n)))  # every 6th far above
    ax = plot_ph_residuals([_cloud(x, y)]).axes[0]
    assert ax.get_ylim() == (-1.5, 1.5)
    points = next(ln for ln in ax.get_lines() if ln.get_marker() == "o")
    px, py = (np.asarray(v, dtype=float) for v in (points.get_xdata(), points.get_ydata()))
    assert MAX_PH_POINTS == 5000
    assert px.size == 5000
    visible = np.flatnonzero(np.abs(y) <= 1.5)
    assert visible.size == 10_000
    np.testing.assert_array_equal(px[:3], x[visible[[0, 2, 4]]])
    assert px[-1] == x[visible[-1]]
    assert np.all(np.abs(py) <= 1.5)
    assert np.all(np.diff(px) > 0)  # time order kept


def test_dense_residuals_are_an_image_in_vector_files_only(tmp_path: Path) -> None:
    """Above RASTER_POINTS (1 000) drawn points a panel's residuals are rasterised: the SVG
    holds one embedded image instead of one marker per point, and holds no more markers than
    a panel at the limit; the PNG is the same pixels either way (Agg draws every artist as an
    image), checked against the same figure with rasterisation switched off by hand."""
    from survstudy.plots import save_figure
    from survstudy.plots.zph import RASTER_POINTS

    assert RASTER_POINTS == 1000
    few, many = (
        plot_ph_residuals([_cloud(np.linspace(0.0, 1.0, n), np.sin(np.arange(n)))])
        for n in (RASTER_POINTS, 3 * RASTER_POINTS)
    )
    pts = [next(ln for ln in f.axes[0].get_lines() if ln.get_marker() == "o") for f in (few, many)]
    assert [p.get_rasterized() for p in pts] == [False, True]
    save_figure(few, tmp_path / "few", formats=["svg"])
    save_figure(many, tmp_path / "many", formats=["svg", "png"])
    svg_few = (tmp_path / "few.svg").read_text()
    svg_many = (tmp_path / "many.svg").read_text()
    assert svg_few.count("<use ") >= RASTER_POINTS
    assert "<image" not in svg_few
    assert svg_many.count("<image") == 1
    assert svg_many.count("<use ") < RASTER_POINTS
    pts[1].set_rasterized(False)
    save_figure(many, tmp_path / "vector", formats=["png"])
    assert (tmp_path / "many.png").read_bytes() == (tmp_path / "vector.png").read_bytes()


def test_beta_t_figure_is_drawn_once_per_format(tmp_path: Path) -> None:
    """Property: the β(t) figure leaves no layout engine behind (its layout is fixed by
    tight_layout), so saving draws it once per format, not a dry run and a draw; the files are
    those of the same figure saved with the placeholder engine tight_layout used to leave."""
    from matplotlib.figure import Figure
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    from survstudy.plots import save_figure

    panel = _panel("age10", "Age")
    fig = plot_ph_residuals([panel]).figure
    assert fig.get_layout_engine() is None
    draws = []
    real = Figure.draw

    def counted(self: Figure, renderer: object) -> None:
        draws.append(renderer)
        real(self, renderer)

    Figure.draw = counted  # type: ignore[method-assign]
    try:
        save_figure(fig, tmp_path / "once", formats=["png", "svg", "pdf"])
    finally:
        Figure.draw = real  # type: ignore[method-assign]
    assert len(draws) == 3
    old = plot_ph_residuals([panel]).figure
    old.set_layout_engine(PlaceHolderLayoutEngine(True, True))
    save_figure(old, tmp_path / "twice", formats=["png", "svg", "pdf"])
    for fmt in ("png", "svg", "pdf"):
        assert (tmp_path / f"once.{fmt}").read_bytes() == (tmp_path / f"twice.{fmt}").read_bytes()

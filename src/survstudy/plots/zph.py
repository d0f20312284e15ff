"""Scaled Schoenfeld residual plots: β(t) of each covariate of a Cox model, as R draws them.

One panel per covariate, as ``plot(cox.zph(fit))`` (survival 3.x): the scaled Schoenfeld
residuals (points) against time on the Kaplan–Meier scale, a natural-spline smooth (4 df)
with a ±2 SE band (dashed), and — added here — the constant coefficient β̂ of the model
(dotted), so that a smooth that leaves the dotted line shows a hazard ratio changing over
follow-up. The numbers come from :class:`survstudy.pipeline.PhPlot` (computed in
``survstudy.stats.coxzph``); nothing is computed here. matplotlib is imported lazily.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from survstudy.plots._style import format_p, style_context

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["MAX_POINTS", "PhResidualPlot", "plot_ph_residuals"]

#: At most this many residuals are drawn per panel. A large registry has one residual per
#: event (762 221 at 10^6 patients): drawn one by one they made a 400 MB SVG and took minutes,
#: for a grey cloud that a few thousand points show as well. Above the limit, the points in
#: the visible y-range are kept and thinned to ``MAX_POINTS`` evenly spaced in time order
#: (the residuals are sorted by event time); the smooth, the band and the test use them all.
MAX_POINTS = 5000

#: Above this many points, a panel's residuals are drawn as an image in the vector files
#: (SVG, PDF; ``rasterized``, at the file's 300 dpi) while its axes, text and lines stay
#: vector: thousands of point markers took ~3 of the 4 CPU-seconds of the β(t) figure at
#: 10^6 patients and made a 1.6 MB SVG. PNG and TIFF are images anyway (unchanged).
RASTER_POINTS = 1000


@dataclass(frozen=True)
class PhResidualPlot:
    """The drawn figure and its axes (one per covariate, in model order)."""

    figure: Figure
    axes: tuple[Any, ...]


def _tick_text(v: float) -> str:
    return f"{v:g}"


def _thinned(x: np.ndarray, y: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """``x, y`` unchanged up to ``MAX_POINTS``; above, those with ``lo <= y <= hi`` (the
    visible range), then ``MAX_POINTS`` of them evenly spaced in their (time) order."""
    if x.size <= MAX_POINTS:
        return x, y
    keep = np.flatnonzero((y >= lo) & (y <= hi))
    if keep.size > MAX_POINTS:
        keep = keep[np.linspace(0, keep.size - 1, MAX_POINTS).round().astype(np.intp)]
    return x[keep], y[keep]


def plot_ph_residuals(panels: Sequence[Any], *, ncols: int = 3) -> PhResidualPlot:
    """Draw one β(t) panel per :class:`~survstudy.pipeline.PhPlot` in ``panels``."""
    n = len(panels)
    if n == 0:
        raise ValueError("no panels to draw")
    cols = min(ncols, n)
    nrows = math.ceil(n / cols)
    with style_context():
        from matplotlib.figure import Figure

        fig = Figure(figsize=(2.45 * cols + 0.3, 2.1 * nrows + 0.3))
        grid = fig.subplots(nrows, cols, squeeze=False)
        axes = []
        for i, ax in enumerate(grid.ravel()):
            if i >= n:
                ax.set_visible(False)
                continue
            p = panels[i]
            axes.append(ax)
            cx = np.asarray(p.curve_x, dtype=float)
            lo, hi = -math.inf, math.inf
            if cx.size:
                # the residuals spread far wider than β(t): centre the view on the smooth
                lo = float(np.nanmin(np.asarray(p.lower, dtype=float)))
                hi = float(np.nanmax(np.asarray(p.upper, dtype=float)))
                if math.isfinite(p.line):
                    lo, hi = min(lo, p.line), max(hi, p.line)
                pad = 0.25 * (hi - lo or 1.0)
                lo, hi = lo - pad, hi + pad
            if p.x is not None and p.y is not None:
                px, py = _thinned(
                    np.asarray(p.x, dtype=float), np.asarray(p.y, dtype=float), lo, hi
                )
                ax.plot(
                    px,
                    py,
                    linestyle="none",
                    marker="o",
                    markersize=1.6,
                    color="#9a9a9a",
                    zorder=1,
                    rasterized=px.size > RASTER_POINTS,
                )
            if cx.size:
                ax.plot(cx, np.asarray(p.fit, dtype=float), color="#000000", lw=1.2, zorder=3)
                for band in (p.lower, p.upper):
                    ax.plot(
                        cx,
                        np.asarray(band, dtype=float),
                        color="#000000",
                        lw=0.8,
                        linestyle=(0, (4, 2)),
                        zorder=3,
                    )
                ax.set_ylim(lo, hi)
            if math.isfinite(p.line):
                ax.axhline(p.line, color="#555555", lw=0.7, linestyle=(0, (1, 1.5)), zorder=2)
            tx = np.asarray(p.ticks_x, dtype=float)
            if tx.size:
                ax.set_xticks(tx)
                ax.set_xticklabels([_tick_text(v) for v in np.asarray(p.ticks_time, dtype=float)])
            ax.set_xlabel(f"Time ({p.time_unit})")
            # mathtext: the text fonts may have no Greek glyphs
            ax.set_ylabel(r"$\beta(t)\,/\,\hat{\beta}$" if p.factor else r"$\beta(t)$")
            title = p.label
            if math.isfinite(p.p_value):
                title += f"\nPH test {format_p(p.p_value)}"
            ax.set_title(title, loc="left", fontsize=8)
        fig.tight_layout()
        # the layout is fixed now: without the placeholder engine tight_layout leaves, saving
        # draws the figure once per format instead of twice (a dry run for the engine)
        fig.set_layout_engine(None)
    return PhResidualPlot(figure=fig, axes=tuple(axes))

"""Hazard ratio against the value of a continuous covariate entered as a restricted cubic spline.

Draws a :class:`survstudy.pipeline.SplineCurve` (computed in ``survstudy.stats.functional_form``,
as ``rms::Predict(fit, x, ref.zero = TRUE, fun = exp)``): the HR against the reference value
on a log axis, its pointwise confidence band, a dashed line at HR = 1, a marker at the
reference value and ticks at the knots. Nothing is computed here; matplotlib is imported lazily.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from survstudy.plots._style import format_p, style_context

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["HRCurvePlot", "plot_hr_curve"]


@dataclass(frozen=True)
class HRCurvePlot:
    figure: Figure | None
    ax: Axes


def plot_hr_curve(curve: Any, *, ax: Axes | None = None) -> HRCurvePlot:
    """Draw ``curve`` (a :class:`~survstudy.pipeline.SplineCurve`) on ``ax`` or a new figure."""
    with style_context():
        from matplotlib.figure import Figure
        from matplotlib.ticker import FixedLocator, NullLocator

        fig: Figure | None = None
        if ax is None:
            fig = Figure(figsize=(3.6, 2.8))
            ax = fig.add_subplot(1, 1, 1)
        v = np.asarray(curve.value, dtype=float)
        hr = np.asarray(curve.hr, dtype=float)
        lo = np.asarray(curve.lower, dtype=float)
        hi = np.asarray(curve.upper, dtype=float)
        ax.set_yscale("log")
        ax.fill_between(v, lo, hi, color="#d0d0d0", linewidth=0, zorder=1)
        ax.plot(v, hr, color="#000000", lw=1.3, zorder=3)
        ax.axhline(1.0, color="#777777", lw=0.6, linestyle=(0, (3, 2)), zorder=2)
        ax.plot([curve.reference], [1.0], marker="o", markersize=3.5, color="#000000", zorder=4)
        for k in curve.knots:
            ax.axvline(k, ymax=0.04, color="#000000", lw=0.8)
        finite = np.concatenate([x[np.isfinite(x) & (x > 0)] for x in (lo, hi, hr)])
        if finite.size:
            y0, y1 = float(finite.min()), float(finite.max())
            y0, y1 = min(y0, 1.0) / 1.1, max(y1, 1.0) * 1.1
            ax.set_ylim(y0, y1)
            nice = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100]
            ticks = [t for t in nice if y0 <= t <= y1] or [1.0]
            ax.yaxis.set_major_locator(FixedLocator(ticks))
            ax.yaxis.set_minor_locator(NullLocator())
            ax.set_yticklabels([f"{t:g}" for t in ticks])
        unit = f" ({curve.unit})" if curve.unit else ""
        ax.set_xlabel(f"{curve.label}{unit}")
        pct = f"{round(curve.conf_level * 100, 1):g}%"
        ax.set_ylabel(f"Hazard ratio ({pct} CI)")
        parts = [f"overall {format_p(curve.overall_p)}"] if math.isfinite(curve.overall_p) else []
        if math.isfinite(curve.nonlinearity_p):
            parts.append(f"non-linearity {format_p(curve.nonlinearity_p)}")
        ax.set_title("; ".join(parts), loc="left", fontsize=8)
        if fig is not None:
            fig.tight_layout()
            # the layout is fixed now: without the placeholder engine tight_layout leaves, saving
            # draws the figure once per format instead of twice (a dry run for the engine)
            fig.set_layout_engine(None)
    return HRCurvePlot(figure=fig, ax=ax)

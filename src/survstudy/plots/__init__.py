"""Figures: Kaplan–Meier and cumulative-incidence curves with a number-at-risk table,
forest plots, scaled Schoenfeld residual plots (β(t)), hazard-ratio curves of spline
covariates.

Belongs here: functions that take a result object and a matplotlib ``Axes``
and return the ``Axes``; matplotlib is imported lazily inside them.

Must not be here: statistics (the risk table's numbers come from the result),
file layout of a report. Imports: matplotlib (lazily), result types.
"""

from survstudy.plots.forest import (
    ForestPlot,
    ForestRow,
    forest_rows_from_cox,
    format_hr_ci,
    plot_forest,
)
from survstudy.plots.km import KMPlot, nice_ticks, plot_cif, plot_km, plot_km_curves
from survstudy.plots.save import preload, save_figure
from survstudy.plots.spline import HRCurvePlot, plot_hr_curve
from survstudy.plots.zph import MAX_POINTS as MAX_PH_POINTS
from survstudy.plots.zph import PhResidualPlot, plot_ph_residuals

__all__ = [
    "MAX_PH_POINTS",
    "ForestPlot",
    "ForestRow",
    "HRCurvePlot",
    "KMPlot",
    "PhResidualPlot",
    "forest_rows_from_cox",
    "format_hr_ci",
    "nice_ticks",
    "plot_cif",
    "plot_forest",
    "plot_hr_curve",
    "plot_km",
    "plot_km_curves",
    "plot_ph_residuals",
    "preload",
    "save_figure",
]

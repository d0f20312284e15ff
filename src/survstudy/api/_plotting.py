"""``.plot()`` of the API's results: the report's figures (:mod:`survstudy.plots`) on an Axes.

Without an ``ax`` the figure is made by ``matplotlib.pyplot.figure``, so that a notebook
shows it and ``plt.show()``/``plt.savefig()`` work as users expect; the figure's size and
layout are still those of :mod:`survstudy.plots`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["cif_axes", "forest_axes", "km_axes"]


def _pyplot_figure() -> Any:
    import matplotlib.pyplot as plt

    return plt.figure


def km_axes(fit: Any, ax: Any, options: Mapping[str, Any]) -> Any:
    """Draw a :class:`~survstudy.api.survival.KaplanMeierFit`; return the Axes."""
    from survstudy.plots import plot_km

    opts = _time_axis(fit)
    opts |= {
        "legend": fit.by is not None,
        "legend_title": fit.by,
        "ylabel": "Follow-up probability" if fit.reverse else "Survival probability",
    }
    opts.update(options)
    if ax is None:
        opts.setdefault("figure_factory", _pyplot_figure())
    curves = [("All" if level is None else str(level), res) for level, res in fit.curves]
    return plot_km(curves, ax=ax, **opts).ax


def _time_axis(fit: Any) -> dict[str, Any]:
    if fit.time_unit:
        # ticks usual for the unit (12, 24, … months) and "Time (months)"
        return {"unit_label": fit.time_unit.capitalize()}
    # the unit is unknown: plain 1-2-5 ticks, the column name as the label
    return {"unit_label": "time", "xlabel": fit.time}


def cif_axes(fit: Any, ax: Any, cause: int, options: Mapping[str, Any]) -> Any:
    """Draw the curves of ``cause`` (1 the event, 2 the competing event) of a
    :class:`~survstudy.api.competing.CumulativeIncidenceFit`; return the Axes."""
    from survstudy.plots import plot_cif

    opts = _time_axis(fit)
    what = "event" if cause == 1 else "competing event"
    opts |= {
        "legend": fit.by is not None,
        "legend_title": fit.by,
        "ylabel": f"Cumulative incidence of the {what}",
    }
    opts.update(options)
    if ax is None:
        opts.setdefault("figure_factory", _pyplot_figure())
    curves = [("All" if level is None else str(level), res) for level, res in fit.curves]
    return plot_cif(curves, cause=cause, ax=ax, **opts).ax


def forest_axes(fit: Any, ax: Any, options: Mapping[str, Any]) -> Any:
    """Draw the terms of a :class:`~survstudy.api.regression.CoxFit` (or a
    :class:`~survstudy.api.competing.FineGrayFit`) as a forest plot; return the Axes.

    A categorical covariate is a bold heading with its reference level ("1 (reference)")
    and one row per other level; a numeric covariate is one row (HR per unit).
    """
    from survstudy.plots import ForestRow, plot_forest
    from survstudy.tables import format as fmt

    res = fit.result
    by_term = {t.term: t for t in res.terms}
    rows: list[ForestRow] = []
    assign = res.assign or res.term_names
    for cov in fit.covariates:
        mine = [t for t, a in zip(res.term_names, assign, strict=True) if a == cov]
        if cov in fit.references:
            rows.append(ForestRow(label=cov, is_header=True))
            rows.append(ForestRow(label=str(fit.references[cov]), is_reference=True, indent=1))
            for name in mine:
                rows.append(_row(by_term[name], name[len(cov) + 1 : -1], 1, fmt))
        else:
            rows.extend(_row(by_term[name], name, 0, fmt) for name in mine)
    opts: dict[str, Any] = {
        "xlabel": f"Hazard ratio ({res.conf_level * 100:g}% CI)",
        "hr_header": f"HR ({res.conf_level * 100:g}% CI)",
    }
    opts.update(options)
    if ax is None:
        opts.setdefault("figure_factory", _pyplot_figure())
    return plot_forest(rows, ax=ax, **opts).ax


def _row(term: Any, label: str, indent: int, fmt: Any) -> Any:
    from survstudy.plots import ForestRow

    def f(x: Any) -> float:
        return math.nan if x is None else float(x)

    p = term.p_value if term.estimable else term.lr_p_value
    return ForestRow(
        label=label,
        hr=f(term.hr),
        lower=f(term.lower),
        upper=f(term.upper),
        p_text="" if p is None else fmt.p_value(float(p)),
        not_estimable=not term.estimable,
        indent=indent,
    )

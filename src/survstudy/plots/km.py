"""Kaplan–Meier figure: step curves, censor marks, CI bands and a number-at-risk table.

The cumulative-incidence figure of competing risks (:func:`plot_cif`) is the same figure
with rising curves (from 0) of one cause.

The figure only draws numbers it is given: survival, confidence limits and the
number at risk all come from the estimator's result object
(:class:`survstudy.stats.km.KaplanMeierResult`, times in days), read through
``result.survival_at(times)`` for the risk table (R ``summary.survfit``
semantics). Times are divided by ``time_scale`` (days per display unit) for
display only.

matplotlib is imported lazily and used through :class:`matplotlib.figure.Figure`
(never pyplot), inside an rcParams context, so nothing leaks between calls.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from survstudy.plots._style import BASE_SIZE, OKABE_ITO, format_p, style_context
from survstudy.tables import format as tables_format

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["KMPlot", "nice_ticks", "plot_cif", "plot_km", "plot_km_curves", "risk_text"]

# Tick spacings per display unit, in the habits of clinical papers.
_STEPS: dict[str, tuple[float, ...]] = {
    "days": (1, 2, 5, 7, 14, 30, 60, 90, 180, 365, 730, 1825, 3650),
    "weeks": (1, 2, 4, 8, 13, 26, 52, 104, 260, 520),
    "months": (1, 2, 3, 6, 12, 24, 36, 48, 60, 120, 240),
    "years": (0.5, 1, 2, 5, 10, 20, 50),
}

_RISK_ROW_PT = 10.5  # height of one risk-table row, points
_RISK_GAP_PT = 34.0  # from the axis line to the "Number at risk" header (clears the x label)


@dataclass(frozen=True)
class KMPlot:
    """The drawn figure: ``figure`` (None when drawn on a caller's ``ax``), ``ax``,
    the x ``ticks`` in display units and the ``n_risk`` rows printed under them
    (divided by ``risk_scale``, 1, 1000 or 10^6, when whole counts would not fit)."""

    figure: Figure | None
    ax: Axes
    ticks: tuple[float, ...]
    n_risk: tuple[tuple[int, ...], ...]
    risk_scale: int = 1


@dataclass(frozen=True)
class _Curve:
    label: str
    n: int
    events: int
    time: np.ndarray  # display units, starts at 0
    survival: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    censor_time: np.ndarray
    censor_survival: np.ndarray
    dashed: np.ndarray | None = None  # a second curve on ``time`` (competing event), dashed


def nice_ticks(
    max_time: float, unit_label: str = "Months", *, max_intervals: int = 8
) -> tuple[float, ...]:
    """Ticks from 0 past ``max_time`` with a spacing usual for the unit (e.g. 12 months)."""
    if not math.isfinite(max_time) or max_time <= 0:
        max_time = 1.0
    steps = _STEPS.get(unit_label.strip().lower(), (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000))
    step = next((float(s) for s in steps if max_time / s <= max_intervals), None)
    if step is None:
        step = float(steps[-1]) * math.ceil(max_time / (max_intervals * steps[-1]))
    n = math.ceil(max_time / step - 1e-9)
    return tuple(float(i * step) for i in range(n + 1))


def _arr(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _curve_from_km(label: str, km: Any, time_scale: float) -> _Curve:
    t = _arr(km.time)
    s = _arr(km.survival)
    lo = _arr(getattr(km, "lower", np.full_like(s, np.nan)))
    hi = _arr(getattr(km, "upper", np.full_like(s, np.nan)))
    nev = _arr(km.n_event)
    ncen = _arr(km.n_censor)
    n = getattr(km, "n", None)
    n_total = int(n) if n is not None else round(float(nev.sum() + ncen.sum()))
    cmask = ncen > 0
    start = t.size == 0 or t[0] > 0
    return _Curve(
        label=label,
        n=n_total,
        events=round(float(getattr(km, "events", nev.sum()))),
        time=np.concatenate(([0.0], t / time_scale)) if start else t / time_scale,
        survival=np.concatenate(([1.0], s)) if start else s,
        lower=np.concatenate(([1.0], lo)) if start else lo,
        upper=np.concatenate(([1.0], hi)) if start else hi,
        censor_time=t[cmask] / time_scale,
        censor_survival=s[cmask],
    )


def _n_risk_from_km(km: Any, ticks_days: np.ndarray) -> tuple[int, ...]:
    at = km.survival_at(ticks_days)
    vals = _arr(at.n_risk)
    # Past the last follow-up time nobody is at risk; an estimator that returns NaN
    # there (R's extend=FALSE drops such rows) is shown as 0, never estimated here.
    return tuple(0 if not math.isfinite(v) else int(v) for v in vals)


def plot_km(
    curves: Sequence[tuple[str, Any]],
    *,
    ax: Axes | None = None,
    risk_table: bool = True,
    ticks: Sequence[float] | None = None,
    time_scale: float = 1.0,
    unit_label: str = "Months",
    xlabel: str | None = None,
    conf_band: bool = False,
    censor_marks: bool = True,
    logrank_p: float | None = None,
    p_label: str = "Log-rank",
    title: str | None = None,
    ylabel: str = "Survival probability",
    ylim: tuple[float, float] = (0.0, 1.0),
    percent_axis: bool = False,
    palette: Sequence[str] = OKABE_ITO,
    legend: bool = True,
    legend_loc: str = "above",
    legend_title: str | None = None,
    p_position: tuple[float, float] = (0.02, 0.04),
    figsize: tuple[float, float] | None = None,
    figure_factory: Callable[..., Figure] | None = None,
) -> KMPlot:
    """Draw Kaplan–Meier curves with an aligned number-at-risk table.

    ``curves``: ``(label, KaplanMeierResult)`` pairs, times in days. ``ticks`` are in
    the display unit (``time`` / ``time_scale``); the number at risk under each
    tick is the result's own ``survival_at(tick * time_scale).n_risk``.
    ``logrank_p`` is printed as "Log-rank p = 0.042" at ``p_position`` (axes
    fraction, lower left by default). The legend sits above the panel (``legend_loc``
    "above"; any matplotlib location puts it inside) with an optional ``legend_title``.
    The legend reads "Label (n=12, events=3)". Without ``ax`` a new figure is made by
    ``figure_factory(figsize=…, layout="constrained")`` (default
    :class:`matplotlib.figure.Figure`; ``matplotlib.pyplot.figure`` registers it with
    pyplot, so that a notebook shows it).
    """
    if time_scale <= 0 or not math.isfinite(time_scale):
        raise ValueError("time_scale must be a positive number of days per display unit")
    cs = [_curve_from_km(str(label), km, time_scale) for label, km in curves]
    t_max = max((float(np.nanmax(c.time)) for c in cs if c.time.size), default=1.0)
    tk = tuple(float(x) for x in ticks) if ticks is not None else nice_ticks(t_max, unit_label)
    ticks_days = np.asarray(tk, dtype=float) * time_scale
    n_risk = tuple(_n_risk_from_km(km, ticks_days) for _, km in curves) if risk_table else ()
    return _draw(
        cs,
        tk,
        n_risk,
        ax=ax,
        unit_label=unit_label,
        xlabel=xlabel,
        conf_band=conf_band,
        censor_marks=censor_marks,
        p_text=None if logrank_p is None else f"{p_label} {format_p(float(logrank_p))}".strip(),
        title=title,
        ylabel=ylabel,
        ylim=ylim,
        percent_axis=percent_axis,
        palette=palette,
        legend=legend,
        legend_loc=legend_loc,
        legend_title=legend_title,
        p_position=p_position,
        figsize=figsize,
        figure_factory=figure_factory,
    )


def _curve_from_cif(label: str, res: Any, cause: int, time_scale: float) -> _Curve:
    c = list(res.causes).index(cause)
    t = _arr(res.time)
    f = _arr(res.cif)[:, c]
    lo = _arr(res.lower)[:, c]
    hi = _arr(res.upper)[:, c]
    cmask = _arr(res.n_censor) > 0
    start = t.size == 0 or t[0] > 0

    def from0(x: np.ndarray, first: float) -> np.ndarray:
        return np.concatenate(([first], x)) if start else x

    return _Curve(
        label=label,
        n=round(float(res.n)),
        events=round(float(res.events(cause))),
        time=from0(t / time_scale, 0.0),
        survival=from0(f, 0.0),
        lower=from0(lo, math.nan),
        upper=from0(hi, math.nan),
        censor_time=t[cmask] / time_scale,
        censor_survival=f[cmask],
    )


def plot_cif(
    curves: Sequence[tuple[str, Any]],
    *,
    cause: int = 1,
    ax: Axes | None = None,
    risk_table: bool = True,
    ticks: Sequence[float] | None = None,
    time_scale: float = 1.0,
    unit_label: str = "Months",
    gray_p: float | None = None,
    p_label: str = "Gray's test",
    ylabel: str = "Cumulative incidence",
    **options: Any,
) -> KMPlot:
    """Draw cumulative-incidence curves of ``cause`` with the number-at-risk table.

    ``curves``: ``(label, CumulativeIncidence)`` pairs
    (:class:`survstudy.stats.competing.CumulativeIncidence`); each curve rises from 0 at
    time 0, censorings marked on it; the legend's events are the failures of ``cause``.
    The number at risk (event-free and under observation) under each tick is the result's
    own ``at(tick * time_scale, cause).n_risk``. ``gray_p`` is printed as "Gray's test p =
    0.042"; ``options`` as :func:`plot_km` (``conf_band``, ``title``, ``xlabel``, ``ylim``,
    ``legend_title``, ``figure_factory``, …).
    """
    if time_scale <= 0 or not math.isfinite(time_scale):
        raise ValueError("time_scale must be a positive number of days per display unit")
    cs = [_curve_from_cif(str(label), res, cause, time_scale) for label, res in curves]
    t_max = max((float(np.nanmax(c.time)) for c in cs if c.time.size), default=1.0)
    tk = tuple(float(x) for x in ticks) if ticks is not None else nice_ticks(t_max, unit_label)
    ticks_days = np.asarray(tk, dtype=float) * time_scale
    n_risk: tuple[tuple[int, ...], ...] = ()
    if risk_table:
        n_risk = tuple(
            tuple(int(v) for v in _arr(res.at(ticks_days, cause).n_risk)) for _, res in curves
        )
    p_text = None if gray_p is None else f"{p_label} {format_p(float(gray_p))}".strip()
    options.setdefault("p_position", (0.02, 0.88))  # the curves rise from the lower left
    return _draw(
        cs, tk, n_risk, unit_label=unit_label, p_text=p_text, ylabel=ylabel, ax=ax, **options
    )


def _curtailed(c: _Curve, at: float | None) -> _Curve:
    """The curve up to ``at`` (its last step held flat to ``at``); whole when ``None``."""
    if at is None or not c.time.size:
        return c
    keep = c.time <= at
    last = int(np.flatnonzero(keep)[-1]) if keep.any() else 0

    def cut(a: Any) -> Any:
        return np.concatenate((a[keep], [a[last]]))

    marks = c.censor_time <= at
    return replace(
        c,
        time=np.concatenate((c.time[keep], [at])),
        survival=cut(c.survival),
        lower=cut(c.lower),
        upper=cut(c.upper),
        censor_time=c.censor_time[marks],
        censor_survival=c.censor_survival[marks],
        dashed=None if c.dashed is None else cut(c.dashed),
    )


def plot_km_curves(km_curves: Any, **kwargs: Any) -> KMPlot:
    """Draw a pipeline ``KMCurves`` (display-unit step data with ``n_risk_at`` per tick).

    Keyword arguments override the figure options (``conf_band``, ``risk_table``,
    ``title``, ``unit_label``, ...). The log-rank test in ``km_curves.tests`` (else the first) is printed.
    """
    groups = km_curves.groups
    cif = getattr(km_curves, "kind", "km") == "cif"
    cs = []
    for i, g in enumerate(groups):
        label = g.level if g.level is not None else (km_curves.endpoint_label or f"Curve {i + 1}")
        if cif and g.level is None:
            label = "All patients"  # the endpoint is named above the curves
        cs.append(
            _curtailed(
                _Curve(
                    label=str(label),
                    n=int(g.n),
                    events=int(g.events),
                    time=_arr(g.time),
                    survival=_arr(g.survival),
                    lower=_arr(g.lower),
                    upper=_arr(g.upper),
                    censor_time=_arr(g.censor_time),
                    censor_survival=_arr(g.censor_survival),
                    dashed=_arr(g.competing) if getattr(g, "competing", ()) else None,
                ),
                getattr(g, "curtail_time", None),
            )
        )
    unit = str(getattr(km_curves, "time_unit", "months") or "months")
    opts: dict[str, Any] = {
        "unit_label": unit.capitalize(),
        "conf_band": bool(getattr(km_curves, "ci", False)),
        "risk_table": bool(getattr(km_curves, "risk_table", True)),
        "title": getattr(km_curves, "title", None),
        "ylabel": f"{km_curves.endpoint_label} probability"
        if km_curves.endpoint_label
        else "Survival probability",
        "legend_title": getattr(km_curves, "by_label", None) if len(groups) > 1 else None,
    }
    if cif:
        # cumulative incidence: the event solid, the competing event dashed; the number at
        # risk counts patients still event-free and under observation, and says so
        opts["ylabel"] = "Cumulative incidence"
        opts["dashed_label"] = (
            f"{km_curves.endpoint_label} (solid); {km_curves.competing_label} (dashed)"
        )
        opts["risk_title"] = "At risk, event-free"
        opts["p_position"] = (0.02, 0.80)
    opts.update(kwargs)
    tests = tuple(getattr(km_curves, "tests", ()) or ())
    p_text = None
    if tests and len(groups) > 1:
        # The log-rank test when the profile ran several (SPSS also prints Breslow, Tarone–Ware).
        lr = [t for t in tests if str(getattr(t, "weights", "")) in ("logrank", "log-rank")]
        t0 = lr[0] if lr else tests[0]
        name = str(getattr(t0, "label", "") or "Log-rank")
        p_text = f"{name} {format_p(float(t0.p_value))}"
        perm = getattr(km_curves, "permutation", None)
        if perm is not None and getattr(km_curves, "few_events", False):
            # fewer than 10 events: the permutation p is the p, the chi-square p beside it
            kind = "Exact" if perm.method == "exact" else "Monte-Carlo"
            p_text = (
                f"{kind} permutation {format_p(float(perm.p_value))}\n"
                f"({name} chi-square {format_p(float(t0.p_value))})"
            )
        elif perm is not None:
            # small expected counts: the permutation p beside the chi-square p, named as such
            if perm.method == "exact":
                p_text += f"\nExact permutation {format_p(float(perm.p_value))}"
            else:
                p_text += f"\nMonte-Carlo permutation {format_p(float(perm.p_value))}"
    risk = bool(opts.pop("risk_table"))
    n_risk = tuple(tuple(int(x) for x in g.n_risk_at) for g in groups) if risk else ()
    opts.pop("logrank_p", None)
    return _draw(
        cs,
        tuple(float(x) for x in km_curves.ticks),
        n_risk,
        p_text=opts.pop("p_text", p_text),
        **opts,
    )


def _draw(
    cs: Sequence[_Curve],
    ticks: tuple[float, ...],
    n_risk: tuple[tuple[int, ...], ...],
    *,
    ax: Axes | None = None,
    unit_label: str = "Months",
    xlabel: str | None = None,
    conf_band: bool = False,
    censor_marks: bool = True,
    p_text: str | None = None,
    title: str | None = None,
    ylabel: str = "Survival probability",
    ylim: tuple[float, float] = (0.0, 1.0),
    percent_axis: bool = False,
    palette: Sequence[str] = OKABE_ITO,
    legend: bool = True,
    legend_loc: str = "above",
    legend_title: str | None = None,
    p_position: tuple[float, float] = (0.02, 0.04),
    figsize: tuple[float, float] | None = None,
    figure_factory: Callable[..., Figure] | None = None,
    dashed_label: str | None = None,
    risk_title: str = "Number at risk",
) -> KMPlot:
    with style_context():
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from matplotlib.ticker import FixedLocator, PercentFormatter

        rows = len(n_risk)
        fig: Figure | None = None
        if ax is None:
            height = (
                3.0
                + 0.14 * (len(cs) + bool(legend_title)) * legend
                + (0.3 + 0.16 * (rows + 1) if rows else 0.0)
            )
            make = figure_factory or Figure
            fig = make(figsize=figsize or (5.0, height), layout="constrained")
            fig.get_layout_engine().set(w_pad=0.06, h_pad=0.05)  # type: ignore[union-attr,call-arg]
            ax = fig.add_subplot()
        colours = [palette[i % len(palette)] for i in range(len(cs))]
        handles = []
        for c, col in zip(cs, colours, strict=True):
            if conf_band:
                ok = np.isfinite(c.lower) & np.isfinite(c.upper)
                ax.fill_between(
                    c.time,
                    np.where(ok, c.lower, np.nan),
                    np.where(ok, c.upper, np.nan),
                    step="post",
                    color=col,
                    alpha=0.15,
                    linewidth=0,
                )
            ax.step(c.time, c.survival, where="post", color=col, clip_on=False, zorder=3)
            if c.dashed is not None:
                ax.step(
                    c.time,
                    c.dashed,
                    where="post",
                    color=col,
                    linestyle="--",
                    clip_on=False,
                    zorder=3,
                )
            if censor_marks and c.censor_time.size:
                ax.plot(
                    c.censor_time,
                    c.censor_survival,
                    linestyle="none",
                    marker="|",
                    markersize=5.0,
                    markeredgewidth=0.9,
                    color=col,
                    clip_on=False,
                    zorder=4,
                )
            handles.append(
                Line2D(
                    [],
                    [],
                    color=col,
                    label=f"{c.label} (n={tables_format.count(c.n)}, events={tables_format.count(c.events)})",
                )
            )

        x_hi = max(ticks[-1] if ticks else 0.0, max((float(c.time.max()) for c in cs), default=1.0))
        ax.set_xlim(0.0, x_hi if x_hi > 0 else 1.0)
        ax.xaxis.set_major_locator(FixedLocator(list(ticks)))
        ax.set_xticklabels([_fmt_tick(t) for t in ticks])
        lo, hi = ylim
        pad = 0.02 * (hi - lo)
        ax.set_ylim(lo - pad, hi + pad)
        ax.spines["left"].set_bounds(lo, hi)
        ax.spines["bottom"].set_bounds(0.0, ax.get_xlim()[1])
        ax.yaxis.set_major_locator(FixedLocator(list(np.linspace(lo, hi, 6))))
        if percent_axis:
            ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
        ax.set_xlabel(xlabel if xlabel is not None else f"Time ({unit_label.lower()})")
        ax.set_ylabel(ylabel)
        if title:
            if fig is not None:
                # A suptitle sits above the legend; constrained layout keeps both clear.
                fig.suptitle(title, x=0.01, ha="left", fontweight="bold", fontsize="medium")
            else:
                ax.set_title(title, loc="left", fontweight="bold", pad=20.0)
        if legend and handles:
            if legend_loc == "above":
                # Above the axes: KM curves fill the top of the panel (good prognosis stays
                # near 1), so an inside legend sooner or later covers a curve.
                width = sum(len(str(h.get_label())) for h in handles)
                ax.legend(
                    handles=handles,
                    loc="lower left",
                    bbox_to_anchor=(0.0, 1.01, 1.0, 0.1),
                    handlelength=1.6,
                    borderaxespad=0.0,
                    ncols=len(handles) if width <= 48 else 1,
                    columnspacing=1.5,
                    title=legend_title,
                    alignment="left",
                )
            else:
                loc: Any = legend_loc
                ax.legend(
                    handles=handles,
                    loc=loc,
                    handlelength=1.6,
                    borderaxespad=0.3,
                    title=legend_title,
                    alignment="left",
                )
        if p_text:
            ax.text(*p_position, p_text, transform=ax.transAxes, ha="left", va="bottom")
        if dashed_label:
            ax.text(
                0.02,
                0.97,
                dashed_label,
                transform=ax.transAxes,
                ha="left",
                va="top",
                fontsize="small",
            )

        scale = 1
        if rows:
            scale = _risk_table(
                ax, cs, colours, ticks, n_risk, own_layout=fig is not None, title=risk_title
            )
    return KMPlot(figure=fig, ax=ax, ticks=ticks, n_risk=n_risk, risk_scale=scale)


# (divisor, font size) tried in order until neighbouring counts stand clear of each other:
# whole counts at the base size, whole counts 1 pt smaller, then counts in thousands or
# millions (the header says so), and last smaller type down to a 6-pt floor.
_RISK_CHOICES: tuple[tuple[int, float], ...] = (
    (1, BASE_SIZE),
    (1, BASE_SIZE - 1),
    (1_000, BASE_SIZE),
    (1_000_000, BASE_SIZE),
    (1_000_000, BASE_SIZE - 1),
    (1_000_000, 6.0),
)
_RISK_MIN_GAP_PT = 3.0  # white space kept between neighbouring counts
_RISK_UNIT = {1: "", 1_000: " (thousands)", 1_000_000: " (millions)"}


def risk_text(k: int, scale: int = 1) -> str:
    """A number at risk as printed under the KM figure, in units of ``scale``.

    Whole counts go through the tables' count rule ("9999", "10,000"). In thousands or
    millions: whole numbers from 10 ("6,802"), one decimal below ("0.5"), "<0.1" for a
    count that would print as zero, "0" only for nobody at risk.
    """
    if scale == 1 or k == 0:
        return tables_format.count(k)
    v = k / scale
    if v >= 10:
        return tables_format.count(int(tables_format.round_half_up(v, 0)))
    if v >= 0.05:
        return tables_format.fixed(v, 1)
    return "<0.1"


def _risk_table(
    ax: Axes,
    cs: Sequence[_Curve],
    colours: Sequence[str],
    ticks: tuple[float, ...],
    n_risk: tuple[tuple[int, ...], ...],
    *,
    own_layout: bool,
    title: str = "Number at risk",
) -> int:
    """Write the number-at-risk rows under ``ax``; return the divisor used (1, 10^3, 10^6).

    Each choice of :data:`_RISK_CHOICES` is laid out and measured with the figure's
    renderer; the first whose counts (and row labels) do not touch is kept.
    """
    from matplotlib import transforms

    figure: Any = ax.figure
    renderer = figure._get_renderer()
    xform = ax.get_xaxis_transform()  # x in data units, y in axes fraction
    artists: list[Any] = []
    scale = 1
    for scale, size in _RISK_CHOICES:
        for a in artists:
            a.remove()
        artists = []
        texts = [[risk_text(k, scale) for k in counts] for counts in n_risk]
        # Row labels end clear of the widest count centred on x = 0 (~2.3 pt per digit
        # at 8 pt; never closer than half the measured width of that count).
        digits = max((len(t) for row in texts for t in row), default=1)
        first = max(
            (_width_pt(figure, renderer, row[0], size) for row in texts if row), default=0.0
        )
        label_gap = max(2.3 * digits + 8.0, first / 2 + 6.0)
        artists.append(
            ax.text(
                0.0,
                0.0,
                title + _RISK_UNIT[scale],
                transform=transforms.offset_copy(
                    ax.transAxes, fig=figure, x=-label_gap, y=-_RISK_GAP_PT, units="points"
                ),
                ha="right",
                va="top",
                fontweight="bold",
                clip_on=False,
            )
        )
        cells: list[list[Any]] = []
        for r, (c, col, row) in enumerate(zip(cs, colours, texts, strict=True)):
            dy = -_RISK_GAP_PT - _RISK_ROW_PT * (r + 1)
            label = ax.text(
                0.0,
                0.0,
                c.label,
                color=col,
                transform=transforms.offset_copy(
                    ax.transAxes, fig=figure, x=-label_gap, y=dy, units="points"
                ),
                ha="right",
                va="top",
                clip_on=False,
            )
            artists.append(label)
            line = [label]
            for j, (t, text) in enumerate(zip(ticks, row, strict=True)):
                cell = ax.text(
                    t,
                    0.0,
                    text,
                    color=col,
                    transform=transforms.offset_copy(xform, fig=figure, y=dy, units="points"),
                    ha="center",
                    va="top",
                    clip_on=False,
                    fontsize=size,
                    gid=f"nrisk-{r}-{j}",
                )
                artists.append(cell)
                line.append(cell)
            cells.append(line)
        if _measure_laid_out(figure, own_layout, renderer, cells):
            break
    return scale


def _measure_laid_out(
    figure: Any, own_layout: bool, renderer: Any, cells: Sequence[Sequence[Any]]
) -> bool:
    """True when every row of ``cells`` is :func:`_apart`, measured with the figure's layout
    applied and the axes put back where they were afterwards (the saved file is laid out
    afresh, byte-identical to a figure never measured)."""
    gap = _RISK_MIN_GAP_PT * figure.dpi / 72.0

    def check() -> bool:
        return all(_apart(line, renderer, gap) for line in cells)

    engine = figure.get_layout_engine() if own_layout else None
    if engine is None:
        return check()
    saved = [(a, a.get_position(original=True), a.get_position()) for a in figure.axes]
    engine.execute(figure)
    try:
        return check()
    finally:
        for a, original, active in saved:
            a._set_position(original, which="original")
            a._set_position(active, which="active")


def _width_pt(figure: Any, renderer: Any, text: str, size: float) -> float:
    from matplotlib.font_manager import FontProperties

    prop = FontProperties(family=_style_family(), size=size)
    w, _, _ = renderer.get_text_width_height_descent(text, prop, ismath=False)
    return float(w) * 72.0 / figure.dpi


def _style_family() -> list[str]:
    import matplotlib

    return list(matplotlib.rcParams["font.sans-serif"])


def _apart(line: Sequence[Any], renderer: Any, gap: float) -> bool:
    """True when each text of ``line`` ends at least ``gap`` pixels before the next begins."""
    boxes = [t.get_window_extent(renderer) for t in line]
    return all(a.x1 + gap <= b.x0 for a, b in itertools.pairwise(boxes))


def _fmt_tick(t: float) -> str:
    return f"{t:g}".replace("-", tables_format.MINUS)

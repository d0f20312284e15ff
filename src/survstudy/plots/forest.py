"""Forest plot of hazard ratios with the "HR (95% CI)" and p columns beside it.

Draws the numbers it is given (from :class:`survstudy.stats.cox.CoxResult` terms
via the pipeline): a square at the HR and a line for its confidence interval on a
log axis, a dashed line at HR = 1, "1 (reference)" rows for reference levels,
"not estimable" rows without a point, and arrows where an interval runs past
the axis. matplotlib is imported lazily and pyplot is never used.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from survstudy.plots._style import format_p, style_context
from survstudy.tables import format as tables_format

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["ForestPlot", "ForestRow", "forest_rows_from_cox", "format_hr_ci", "plot_forest"]

_NICE = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)


@dataclass(frozen=True)
class ForestRow:
    """One line of the forest plot.

    ``is_header`` rows carry a variable's name (bold, no estimate; ``p_text`` may
    hold its overall p); level rows are indented by ``indent``. ``hr_text``
    overrides the formatted "HR (lower–upper)" text.
    """

    label: str
    hr: float = math.nan
    lower: float = math.nan
    upper: float = math.nan
    p_text: str = ""
    is_reference: bool = False
    not_estimable: bool = False
    is_header: bool = False
    indent: int = 0
    hr_text: str | None = None


@dataclass(frozen=True)
class ForestPlot:
    """The drawn figure (None when drawn on a caller's ``ax``) and its axes."""

    figure: Figure | None
    ax: Axes
    xlim: tuple[float, float]


def format_hr_ci(hr: float, lower: float, upper: float) -> str:
    """ "1.23 (0.45–3.40)", "0.997 (0.937–1.061)": the tables' HR cell
    (:func:`survstudy.tables.format.hr_ci_text`, three decimals near 1)."""
    return tables_format.hr_ci_text(hr, lower, upper)


def _p_text(p: float) -> str:
    return format_p(p, prefix=False) if math.isfinite(p) else ""


def _per_text(per: float | None, unit: str | None) -> str:
    if per is None:
        return ""
    u = (unit or "").strip()
    if per == 1:
        return f"per {u.removesuffix('s')}" if u else "per unit"
    return f"per {per:g} {u}".rstrip()


def forest_rows_from_cox(rows: Sequence[Any], *, both_per: bool = False) -> list[ForestRow]:
    """Forest rows from the pipeline's Cox table rows (``kind`` header/reference/level/continuous).

    A continuous factor reported per 1 unit and per the spec's unit shows only the
    spec's unit unless ``both_per``. Header rows carry the factor's overall p.
    """
    rs = list(rows)
    out: list[ForestRow] = []
    for i, r in enumerate(rs):
        kind = str(getattr(r, "kind", "level"))
        if kind == "continuous":
            nxt = rs[i + 1] if i + 1 < len(rs) else None
            same_next = (
                nxt is not None
                and getattr(nxt, "kind", None) == "continuous"
                and nxt.variable == r.variable
            )
            if same_next and not both_per:
                continue
            per = _per_text(getattr(r, "per", None), getattr(r, "unit", None))
            out.append(
                ForestRow(
                    label=f"{r.label}, {per}" if per else str(r.label),
                    hr=float(r.hr),
                    lower=float(r.lower),
                    upper=float(r.upper),
                    p_text=_p_text(float(r.p_value)),
                    not_estimable=not bool(getattr(r, "estimable", True)),
                )
            )
        elif kind == "header":
            out.append(
                ForestRow(
                    label=str(r.label),
                    is_header=True,
                    p_text=_p_text(float(getattr(r, "overall_p", math.nan))),
                )
            )
        elif kind == "reference":
            out.append(ForestRow(label=str(r.level), is_reference=True, indent=1))
        else:
            out.append(
                ForestRow(
                    label=str(r.level if r.level is not None else r.label),
                    hr=float(r.hr),
                    lower=float(r.lower),
                    upper=float(r.upper),
                    p_text=_p_text(float(r.p_value)),
                    not_estimable=not bool(getattr(r, "estimable", True)),
                    indent=1 if r.level is not None else 0,
                )
            )
    return out


def _as_row(x: Any) -> ForestRow:
    if isinstance(x, ForestRow):
        return x
    if isinstance(x, Mapping):
        return ForestRow(**dict(x))
    return ForestRow(*tuple(x))


def _estimable(r: ForestRow) -> bool:
    return (
        not r.is_header
        and not r.is_reference
        and not r.not_estimable
        and math.isfinite(r.hr)
        and r.hr > 0
    )


def _auto_xlim(rows: Sequence[ForestRow], ref: float) -> tuple[float, float]:
    lo, hi = ref, ref
    for r in rows:
        if _estimable(r):
            for v in (r.hr, r.lower, r.upper):
                if math.isfinite(v) and v > 0:
                    lo, hi = min(lo, v), max(hi, v)
    # Snap to round values; keep very wide intervals from squashing the rest (arrows mark them).
    lo = max(lo, 0.02)
    hi = min(hi, 50.0)
    nlo = max((n for n in _NICE if n <= lo * 1.0001), default=_NICE[0])
    nhi = min((n for n in _NICE if n >= hi * 0.9999), default=_NICE[-1])
    if nlo == nhi:
        nlo, nhi = nlo / 2, nhi * 2
    return nlo, nhi


def _log_ticks(x0: float, x1: float) -> list[float]:
    # 1-2-5 ticks crowd each other over more than ~2 decades: keep powers of ten there.
    decades = math.log10(x1 / x0)
    if decades <= 1.1:
        pool: tuple[float, ...] = (*_NICE, 0.25, 0.75, 1.5, 3.0, 4.0)
    elif decades <= 2.5:
        pool = _NICE
    else:
        pool = (0.01, 0.1, 1.0, 10.0, 100.0)
    return sorted(t for t in pool if x0 * 0.9999 <= t <= x1 * 1.0001)


def plot_forest(
    rows: Sequence[ForestRow | Mapping[str, Any] | tuple[Any, ...]],
    *,
    ax: Axes | None = None,
    log_scale: bool = True,
    ref_line: float = 1.0,
    xlim: tuple[float, float] | None = None,
    xlabel: str = "Hazard ratio (95% CI)",
    hr_header: str = "HR (95% CI)",
    p_header: str = "p",
    label_header: str = "",
    title: str | None = None,
    colour: str = "#000000",
    figsize: tuple[float, float] | None = None,
    figure_factory: Callable[..., Figure] | None = None,
) -> ForestPlot:
    """Draw a forest plot of ``rows`` (top to bottom) with text columns at its right.

    Intervals running past ``xlim`` end in an arrow at the axis edge; reference
    rows print "1 (reference)" and not-estimable rows "not estimable", neither
    with a point. Without ``ax`` a new figure is made by ``figure_factory(figsize=…)``
    (default :class:`matplotlib.figure.Figure`; ``matplotlib.pyplot.figure`` for one that
    pyplot and notebooks show).
    """
    rs = [_as_row(r) for r in rows]
    lim = xlim if xlim is not None else (_auto_xlim(rs, ref_line) if log_scale else None)
    n = len(rs)
    with style_context():
        from matplotlib import transforms
        from matplotlib.figure import Figure
        from matplotlib.ticker import FixedLocator, NullLocator

        fig: Figure | None = None
        # Column widths in inches: the label column grows with the longest label
        # (about 0.062 in per character at 8 pt) so labels never run into the plot.
        longest = max((len(r.label) + 3 * r.indent for r in rs), default=10)
        label_w = min(max(0.062 * longest + 0.15, 1.2), 4.2)
        plot_w, hr_w, p_w, margin = 2.3, 1.45, 0.55, 0.1
        col_label = -label_w / plot_w
        col_hr = 1.0 + 0.12 / plot_w
        col_p_right = 1.0 + (0.12 + hr_w + p_w) / plot_w
        if ax is None:
            width = margin + label_w + plot_w + 0.12 + hr_w + p_w + margin
            height = 0.75 + 0.2 * (n + 1) + (0.2 if title else 0.0)
            fig = (figure_factory or Figure)(figsize=figsize or (width, height))
            fw, fh = fig.get_size_inches()
            bottom = 0.5 / fh
            top = 1.0 - (0.32 if title else 0.12) / fh
            ax = fig.add_axes(((margin + label_w) / fw, bottom, plot_w / fw, top - bottom))
        else:
            col_label, col_hr, col_p_right = -1.22, 1.06, 1.82
        figure: Any = ax.figure
        if log_scale:
            ax.set_xscale("log")
        if lim is None:
            vals = [v for r in rs if _estimable(r) for v in (r.lower, r.upper)]
            vals = [v for v in vals if math.isfinite(v)] + [ref_line]
            span = (max(vals) - min(vals)) or 1.0
            lim = (min(vals) - 0.05 * span, max(vals) + 0.05 * span)
        x0, x1 = float(lim[0]), float(lim[1])
        ax.set_xlim(x0, x1)
        ax.set_ylim(n - 0.5, -1.3)
        ax.axvline(ref_line, color="#777777", linewidth=0.6, linestyle=(0, (3, 2)), zorder=1)

        yform = transforms.blended_transform_factory(ax.transAxes, ax.transData)
        head: dict[str, Any] = {"fontweight": "bold", "va": "center", "clip_on": False}
        if label_header:
            ax.text(col_label, -1, label_header, transform=yform, ha="left", **head)
        ax.text(col_hr, -1, hr_header, transform=yform, ha="left", **head)
        ax.text(col_p_right, -1, p_header, transform=yform, ha="right", **head)

        for y, r in enumerate(rs):
            ax.text(
                col_label,
                y,
                r.label,
                transform=transforms.offset_copy(
                    yform, fig=figure, x=8.0 * r.indent, units="points"
                ),
                ha="left",
                va="center",
                fontweight="bold" if r.is_header else "normal",
                clip_on=False,
            )
            if r.is_header:
                text = r.hr_text or ""
            elif r.is_reference:
                text = r.hr_text or tables_format.reference()
            elif r.not_estimable or not _estimable(r):
                text = r.hr_text or "not estimable"
            else:
                text = r.hr_text or format_hr_ci(r.hr, r.lower, r.upper)
            if text:
                ax.text(col_hr, y, text, transform=yform, ha="left", va="center", clip_on=False)
            if r.p_text:
                ax.text(
                    col_p_right,
                    y,
                    r.p_text,
                    transform=yform,
                    ha="right",
                    va="center",
                    clip_on=False,
                )
            if not _estimable(r):
                continue
            lo = r.lower if math.isfinite(r.lower) else x0
            hi = r.upper if math.isfinite(r.upper) else x1
            left, right = max(lo, x0), min(hi, x1)
            ax.plot(
                [left, right], [y, y], color=colour, linewidth=1.0, solid_capstyle="butt", zorder=2
            )
            if lo < x0:
                ax.plot(
                    [x0], [y], marker="<", markersize=4.5, color=colour, clip_on=False, zorder=3
                )
            if hi > x1:
                ax.plot(
                    [x1], [y], marker=">", markersize=4.5, color=colour, clip_on=False, zorder=3
                )
            if x0 <= r.hr <= x1:
                ax.plot(
                    [r.hr],
                    [y],
                    marker="s",
                    markersize=4.5,
                    color=colour,
                    linestyle="none",
                    zorder=4,
                )

        ax.yaxis.set_major_locator(NullLocator())
        ax.spines["left"].set_visible(False)
        if log_scale:
            ticks = _log_ticks(x0, x1)
            ax.xaxis.set_major_locator(FixedLocator(ticks))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_xticklabels([f"{t:g}" for t in ticks])
        ax.set_xlabel(xlabel)
        if title:
            ax.set_title(title, loc="left", fontweight="bold", x=col_label, pad=14)
    return ForestPlot(figure=fig, ax=ax, xlim=(x0, x1))

"""Figures of a propensity-score comparison (issue 20): Love plot, overlap, adjusted curves.

Each takes a pipeline :class:`~survstudy.pipeline.results.TreatmentEffect` (or an object
with the same attributes) and draws only numbers it holds: the balance rows' SMDs, the
propensity-score histogram counts (``result.overlap_histogram()``), the adjusted
Kaplan–Meier steps and the unweighted numbers at risk (``ArmCurve.n_risk_at``).
matplotlib is imported lazily and used through :class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from survstudy.plots._style import OKABE_ITO, style_context
from survstudy.plots.km import KMPlot, nice_ticks, plot_km_curves
from survstudy.tables import format as fmt

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["balance_label", "plot_adjusted_km", "plot_love", "plot_overlap"]

#: |SMD| above this after adjustment is flagged (the line drawn on the Love plot)
SMD_LINE = 0.1


@dataclass(frozen=True)
class Drawn:
    """A drawn figure (``figure``) — the report's writer saves ``.figure``."""

    figure: Figure


def balance_label(te: Any, variable: str, level: str | None) -> str:
    """'Tumour size: >50' — the confounder's label, and the level of a categorical one."""
    lab = str(te.labels.get(variable, variable))
    return lab if level is None else f"{lab}: {level}"


def plot_love(te: Any) -> Drawn:
    """Love plot: absolute standardised mean differences before (open) and after (filled)
    adjustment, one row per balance row, with the 0.1 line."""
    r = te.result
    rows = list(r.balance)
    with style_context():
        from matplotlib.figure import Figure

        fig = Figure(figsize=(5.0, 1.0 + 0.24 * max(len(rows), 1)), layout="constrained")
        ax = fig.add_subplot()
        y = np.arange(len(rows))[::-1]
        before = np.abs([b.smd_before for b in rows])
        after = np.abs([b.smd_after for b in rows])
        for yi, b0, b1 in zip(y, before, after, strict=True):
            ax.plot([b0, b1], [yi, yi], color="#999999", linewidth=0.6, zorder=1)
        ax.scatter(
            before, y, s=22, facecolors="white", edgecolors=OKABE_ITO[0], label="Before", zorder=2
        )
        after_label = "After matching" if r.method == "matching" else "After weighting"
        ax.scatter(after, y, s=22, color=OKABE_ITO[2], label=after_label, zorder=3)
        ax.axvline(SMD_LINE, color="#555555", linestyle="--", linewidth=0.7)
        ax.axvline(0.0, color="#000000", linewidth=0.6)
        ax.set_yticks(y)
        ax.set_yticklabels([balance_label(te, b.variable, b.level) for b in rows])
        ax.set_xlabel("Absolute standardised mean difference")
        ax.set_xlim(0.0, max(0.25, float(np.nanmax(np.concatenate((before, after)))) * 1.08))
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.legend(loc="lower right", frameon=False)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    return Drawn(fig)


def plot_overlap(te: Any, bins: int = 20) -> Drawn:
    """Mirrored histograms of the propensity score: treated above the axis, control below
    (all complete-case patients, counts per bin)."""
    r = te.result
    h = r.overlap_histogram(bins)
    edges = np.asarray(h["edges"], dtype=float)
    width = np.diff(edges)
    with style_context():
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter

        fig = Figure(figsize=(5.0, 3.2), layout="constrained")
        ax = fig.add_subplot()
        ax.bar(
            edges[:-1],
            h["treated"],
            width=width,
            align="edge",
            color=OKABE_ITO[2],
            edgecolor="white",
            linewidth=0.4,
            label=f"{te.treated_level} (treated, n={fmt.count(int(r.treated.sum()))})",
        )
        ax.bar(
            edges[:-1],
            -np.asarray(h["control"], dtype=float),
            width=width,
            align="edge",
            color=OKABE_ITO[1],
            edgecolor="white",
            linewidth=0.4,
            label=f"{te.control_level} (control, n={fmt.count(int((~r.treated).sum()))})",
        )
        ax.axhline(0.0, color="#000000", linewidth=0.6)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{abs(v):g}"))
        ax.set_xlim(0.0, 1.0)
        ax.set_xlabel("Propensity score (probability of treatment)")
        ax.set_ylabel("Patients")
        ax.legend(loc="upper center", frameon=False, ncols=2, bbox_to_anchor=(0.5, 1.12))
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    return Drawn(fig)


@dataclass(frozen=True)
class _Group:
    level: str
    n: int
    events: int
    time: np.ndarray
    survival: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    censor_time: np.ndarray
    censor_survival: np.ndarray
    n_risk_at: tuple[int, ...]


@dataclass(frozen=True)
class _Curves:
    groups: tuple[_Group, ...]
    ticks: tuple[float, ...]
    endpoint_label: str
    time_unit: str
    by_label: str
    ci: bool = True
    risk_table: bool = True
    title: str | None = None
    tests: tuple[Any, ...] = ()


def _steps(km: Any) -> tuple[np.ndarray, ...]:
    """The curve's steps from (0, 1): the estimator's own values, with the start point."""
    t = np.asarray(km.time, dtype=float)
    s = np.asarray(km.survival, dtype=float)
    lo = np.asarray(km.lower, dtype=float)
    hi = np.asarray(km.upper, dtype=float)
    cen = np.asarray(km.n_censor, dtype=float) > 0
    if t.size == 0 or t[0] > 0:
        t, s = np.concatenate(([0.0], t)), np.concatenate(([1.0], s))
        lo, hi = np.concatenate(([1.0], lo)), np.concatenate(([1.0], hi))
        cen = np.concatenate(([False], cen))
    return t, s, lo, hi, t[cen], s[cen]


def plot_adjusted_km(te: Any, time_unit: str) -> KMPlot:
    """The weighted (or matched) Kaplan–Meier curves per arm with their robust confidence
    bands and, underneath, the unweighted numbers of patients at risk (the header says so)."""
    r = te.result
    t_max = max(float(np.max(c.km.time)) if c.km.time.size else 1.0 for c in r.curves)
    ticks = nice_ticks(t_max, time_unit.capitalize())
    groups = []
    for curve, level in zip(r.curves, (te.treated_level, te.control_level), strict=True):
        t, s, lo, hi, ct, cs = _steps(curve.km)
        groups.append(
            _Group(
                level=str(level),
                n=curve.n,
                events=curve.events,
                time=t,
                survival=s,
                lower=lo,
                upper=hi,
                censor_time=ct,
                censor_survival=cs,
                n_risk_at=tuple(int(x) for x in curve.n_risk_at(ticks)),
            )
        )
    curves = _Curves(
        groups=tuple(groups),
        ticks=tuple(ticks),
        endpoint_label=str(te.endpoint_label),
        time_unit=time_unit,
        by_label=str(te.treatment_label),
    )
    adj = "weighted" if r.method == "weighting" else "matched"
    p_text = (
        f"HR ({adj}) {fmt.hr_ci_text(r.hr, r.lower, r.upper)}\n{_p_text(r.p_value)}"
        if r.p_value is not None
        else None
    )
    return plot_km_curves(
        curves,
        p_text=p_text,
        risk_title="At risk (unweighted)",
        conf_band=True,
        ylabel="Adjusted probability",
        # the longer risk-table header takes width from the panel: a wider figure keeps
        # the legend above it whole (height as plot_km's for two curves with a title)
        figsize=(5.6, 4.2),
    )


def _p_text(p: float) -> str:
    text = fmt.p_value(p)
    return f"p {text}" if text.startswith(("<", ">")) else f"p = {text}"

"""Kaplan–Meier figures: ``analyses.km`` of the spec.

Per figure the step curves (Kaplan 1958; Greenwood variance, pointwise limits on
the profile's scale) per group, the number at risk at the axis ticks, each group's
median, and the group tests of the profile (log-rank; with the SPSS profile also
Breslow–Gehan), with the permutation log-rank p when the spec asks for it.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from survstudy.errors import SpecError
from survstudy.pipeline import engine, split
from survstudy.pipeline.context import StudyContext
from survstudy.pipeline.design import FactorDesign
from survstudy.pipeline.permutation import permutation_test
from survstudy.pipeline.results import (
    CurveGroup,
    GroupTest,
    KMCurves,
    MethodsProfile,
    PermutationTest,
)
from survstudy.pipeline.survival import median_of

__all__ = ["curve_group", "km_figure", "km_figures", "nice_step"]


def km_figures(ctx: StudyContext) -> tuple[KMCurves, ...]:
    """Every figure of ``analyses.km``."""
    return tuple(km_figure(ctx, k) for k in ctx.spec.analyses.km)


def nice_step(max_time: float, unit: str) -> float:
    """A tick spacing giving at most 8 intervals on [0, max_time], in the unit's habits."""
    steps = {
        "days": (1, 2, 5, 7, 14, 30, 60, 90, 180, 365, 730, 1825, 3650),
        "weeks": (1, 2, 4, 8, 13, 26, 52, 104, 260, 520),
        "months": (1, 2, 3, 6, 12, 24, 36, 48, 60, 120, 240),
        "years": (0.5, 1, 2, 5, 10, 20, 50),
    }[unit]
    for s in steps:
        if max_time / s <= 8:
            return float(s)
    return float(steps[-1] * math.ceil(max_time / (8 * steps[-1])))


def curve_group(
    lev: str | None,
    km: Any,
    n: int,
    events: int,
    ticks: tuple[float, ...],
    dpu: float,
    prof: MethodsProfile,
    *,
    n_risk: tuple[int, ...] | None = None,
) -> CurveGroup:
    """One curve of a figure: step data and censoring marks in the display unit, the
    number at risk at the ticks (``n_risk`` when given) and the median (``dpu``: days
    per display unit)."""
    curve = engine.step_curve(km)
    return CurveGroup(
        level=lev,
        n=n,
        events=events,
        time=tuple(float(x) / dpu for x in curve["time"]),
        survival=tuple(float(x) for x in curve["survival"]),
        lower=tuple(float(x) for x in curve["lower"]),
        upper=tuple(float(x) for x in curve["upper"]),
        censor_time=tuple(float(x) / dpu for x in curve["censor_time"]),
        censor_survival=tuple(float(x) for x in curve["censor_survival"]),
        n_risk_at=n_risk
        if n_risk is not None
        else engine.n_risk_at(km, [tick * dpu for tick in ticks]),
        median=median_of(km, prof.median_rule, dpu, prof.conf_level),
    )


def km_figure(
    ctx: StudyContext,
    k: Any,
) -> KMCurves:
    """One figure of ``analyses.km`` (``k``: its spec entry): the curves per group with
    the number at risk at the ticks, each curve's median, and the group tests."""
    cohort, rows, prof, warn = ctx.cohort, ctx.rows, ctx.profile, ctx.warn
    ctx.check_endpoint(k.endpoint, ("analyses", "km"))
    dpu = cohort.days_per_unit
    ep_label = cohort.endpoints[k.endpoint].label
    longest = rows.max_time(k.endpoint)
    t_max = longest / dpu if longest is not None else 1.0
    max_time = float(k.max_time) if k.max_time else t_max
    step = float(k.breaks) if k.breaks else nice_step(max_time, cohort.unit)
    ticks = tuple(float(x) for x in np.arange(0.0, max_time + 1e-9 * max(step, 1.0), step))
    by_label = None
    d: FactorDesign | None = None
    if k.by:
        d = rows.design(k.by)
        if d.codes is None:
            raise SpecError(
                f"KM figure 'by: {k.by}' must be a categorical or binary variable",
                key="analyses.km",
            )
        by_label = d.label
    exposure = split.exposure(ctx, k.endpoint, k.by) if k.by else None
    if d is not None and exposure is not None:
        # Simon–Makuch curves: patients move to the exposed curve at their exposure date;
        # the risk table counts the rows at risk at each tick exactly
        curves = [
            curve_group(lev, km, n_group, events_group, ticks, dpu, prof, n_risk=risk)
            for lev, km, n_group, events_group, risk in rows.km_groups_split(
                k.endpoint,
                d,
                exposure,
                [tick * dpu for tick in ticks],
                conf_type=prof.conf_type,
                conf_level=prof.conf_level,
            )
        ]
    else:
        curves = [
            curve_group(lev, km, n_group, events_group, ticks, dpu, prof)
            for lev, km, n_group, events_group in rows.km_groups(
                k.endpoint, d, conf_type=prof.conf_type, conf_level=prof.conf_level
            )
        ]
    tests: list[GroupTest] = []
    perm: PermutationTest | None = None
    if d is not None and len(curves) > 1:
        sel, _td = split.select(ctx, k.endpoint, [], group=d)
        if sel.events > 0:
            for weights, label in prof.tests if exposure is None else split.MANTEL_BYAR:
                g = sel.logrank(weights)
                tests.append(replace(g, label=label))
            if sel.n_groups() > 1 and exposure is None:
                perm = permutation_test(
                    k.permutation,
                    k.seed,
                    k.resamples,
                    sel,
                    warn,
                    f"{ep_label} by {by_label}",
                    "km",
                    endpoint=k.endpoint,
                    variable=k.by,
                )
    key = f"km_{k.endpoint}" + (f"_by_{k.by}" if k.by else "")
    return KMCurves(
        key=key,
        endpoint=k.endpoint,
        endpoint_label=ep_label,
        by=k.by,
        by_label=by_label,
        groups=tuple(curves),
        ticks=ticks,
        max_time=max_time,
        time_unit=cohort.unit,
        ci=bool(k.ci),
        risk_table=bool(k.risk_table),
        title=k.title,
        tests=tuple(tests),
        permutation=perm,
    )

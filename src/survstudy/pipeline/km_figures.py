"""Kaplan–Meier figures: ``analyses.km`` of the spec.

Per figure the step curves (Kaplan 1958; Greenwood variance, pointwise limits on
the profile's scale) per group, the number at risk at the axis ticks, each group's
median, and the group tests of the profile (log-rank; with the SPSS profile also
Breslow–Gehan), with the permutation log-rank p when the spec asks for it.

On an endpoint with competing events the figure shows cumulative-incidence curves instead
(Aalen–Johansen; the event solid, the competing event dashed, pointwise limits of the event's
curve on the profile's scale), Gray's test of the event across the groups (and of the
competing event, in ``results.json``), and under them the number still event-free and under
observation.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from survstudy.errors import AnalysisError, SpecError
from survstudy.pipeline import engine, split
from survstudy.pipeline.competing import competing_label, few_events_text
from survstudy.pipeline.context import StudyContext
from survstudy.pipeline.design import FactorDesign
from survstudy.pipeline.permutation import permutation_test
from survstudy.pipeline.results import (
    CurveGroup,
    GrayTest,
    GroupTest,
    KMCurves,
    Median,
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
    if competing_label(ctx, k.endpoint) is not None:
        if exposure is not None:
            i = ctx.spec.analyses.km.index(k)
            raise ctx.spec_error(
                f"KM figure 'by: {k.by}': cumulative-incidence curves by a time-dependent "
                "variable are not available (an endpoint with competing events)",
                "analyses",
                "km",
                i,
                "by",
            )
        return _cif_figure(ctx, k, d, by_label, ticks, max_time)
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


def _cif_figure(
    ctx: StudyContext,
    k: Any,
    d: FactorDesign | None,
    by_label: str | None,
    ticks: tuple[float, ...],
    max_time: float,
) -> KMCurves:
    """One figure of ``analyses.km`` on a competing-risks endpoint (module docstring)."""
    cohort, prof = ctx.cohort, ctx.profile
    dpu = cohort.days_per_unit
    ep_label = cohort.endpoints[k.endpoint].label
    nan = float("nan")
    curves = []
    for lev, cif, n_group in ctx.rows.cif_groups(
        k.endpoint, d, conf_type=prof.conf_type, conf_level=prof.conf_level
    ):
        for w in cif.warnings:
            group = None if lev is None else f"{by_label} {lev}"
            ctx.warn.add(
                w.code,
                few_events_text(ctx, k.endpoint, w, group),
                "km",
                endpoint=k.endpoint,
                variable=k.by,
            )
        ev, cp = cif.causes.index(1), cif.causes.index(2)
        t = np.asarray(cif.time, dtype=float)
        censored = np.asarray(cif.n_censor, dtype=float) > 0
        at_ticks = cif.at([tick * dpu for tick in ticks], 1)
        curves.append(
            CurveGroup(
                level=lev,
                n=n_group,
                events=round(cif.events(1)),
                time=(0.0, *(float(x) / dpu for x in t)),
                survival=(0.0, *(float(x) for x in cif.cif[:, ev])),
                lower=(0.0, *(float(x) for x in cif.lower[:, ev])),
                upper=(0.0, *(float(x) for x in cif.upper[:, ev])),
                censor_time=tuple(float(x) / dpu for x in t[censored]),
                censor_survival=tuple(float(x) for x in cif.cif[censored, ev]),
                n_risk_at=tuple(int(x) for x in at_ticks.n_risk),
                median=Median(nan, nan, nan, prof.median_rule),
                competing=(0.0, *(float(x) for x in cif.cif[:, cp])),
                competing_events=round(cif.events(2)),
            )
        )
    tests: list[GroupTest] = []
    gray: GrayTest | None = None
    if d is not None and len(curves) > 1:
        found: list[Any] = []
        for cause in (1, 2):
            try:
                found.append(ctx.rows.gray(k.endpoint, d, cause))
            except AnalysisError:  # no failures of this cause: nothing to compare
                found.append(None)
        g1, g2 = found
        if g1 is not None:
            for w in g1.warnings:
                ctx.warn.add_stat(w, "km", endpoint=k.endpoint, variable=k.by)
            tests.append(GroupTest("gray", "Gray's test", g1.statistic, g1.df, g1.p_value))
        gray = GrayTest(
            statistic=g1.statistic if g1 is not None else nan,
            df=g1.df if g1 is not None else 0,
            p_value=g1.p_value if g1 is not None else nan,
            competing_statistic=g2.statistic if g2 is not None else nan,
            competing_df=g2.df if g2 is not None else 0,
            competing_p_value=g2.p_value if g2 is not None else nan,
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
        kind="cif",
        competing_label=competing_label(ctx, k.endpoint) or "competing event",
        gray=gray,
    )

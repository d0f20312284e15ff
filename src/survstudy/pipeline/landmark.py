"""Landmark analyses: ``analyses.landmark`` of the spec (Anderson, Cain & Gelber 1983).

The patients with the endpoint known and still under follow-up after the landmark,
grouped by their status at it (a time-dependent variable: exposed on or before the
landmark; another variable: its value), followed from it: Kaplan–Meier per group, the
log-rank test and a Cox model of the group, as R's ``survfit``/``survdiff``/``coxph`` on
``subset(d, time > at)`` with ``time - at``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from survstudy.errors import AnalysisError
from survstudy.pipeline import engine
from survstudy.pipeline.context import StudyContext, fmt_num
from survstudy.pipeline.km_figures import curve_group, nice_step
from survstudy.pipeline.models import cox_rows
from survstudy.pipeline.results import GroupTest, KMCurves
from survstudy.pipeline.results_landmark import LandmarkResult
from survstudy.pipeline.split import exposure

__all__ = ["landmark", "landmarks"]


def landmarks(ctx: StudyContext) -> tuple[LandmarkResult, ...]:
    """Every analysis of ``analyses.landmark``."""
    return tuple(landmark(ctx, i, lm) for i, lm in enumerate(ctx.spec.analyses.landmark))


def landmark(ctx: StudyContext, i: int, lm: Any) -> LandmarkResult:
    """One landmark analysis (``lm``: its spec entry; see the module docstring)."""
    cohort, prof, warn = ctx.cohort, ctx.profile, ctx.warn
    ctx.check_endpoint(lm.endpoint, ("analyses", "landmark"))
    dpu = cohort.days_per_unit
    at_days = float(lm.at) * dpu
    d = ctx.rows.design(lm.by)
    if d.codes is None:
        raise ctx.spec_error(
            f"landmark 'by: {lm.by}' must be a categorical or binary variable",
            "analyses",
            "landmark",
            i,
            "by",
        )
    t_all, e_all, ok = ctx.rows.survival_arrays(lm.endpoint)
    codes = np.asarray(d.codes, dtype=int).copy()
    x = exposure(ctx, lm.endpoint, lm.by)
    if x is not None:
        # the status at the landmark: exposed on or before it (an exposure after the
        # landmark leaves the patient in the unexposed group, as intended)
        exposed = d.levels.index(x.level)
        other = next(j for j in range(len(d.levels)) if j != exposed)
        with np.errstate(invalid="ignore"):
            codes = np.where(x.days <= at_days, exposed, other)
    after = ok & (t_all > at_days)
    excluded = int((ok & ~after).sum())
    missing = int((after & (codes < 0)).sum())
    keep = after & (codes >= 0)
    t = t_all[keep] - at_days
    e = e_all[keep]
    g = codes[keep]
    n, events = int(keep.sum()), int(e.sum())
    label = ctx.endpoint_label(lm.endpoint)
    what = f"{label}, landmark at {fmt_num(float(lm.at))} {cohort.unit} by {d.label}"
    notes: list[str] = []
    if n == 0:
        raise ctx.spec_error(
            f"{what}: no patient is still under follow-up after the landmark; choose an "
            "earlier one",
            "analyses",
            "landmark",
            i,
            "at",
        )
    # Kaplan–Meier per group, times from the landmark
    t_max = float(t.max()) / dpu
    step = nice_step(t_max, cohort.unit)
    ticks = tuple(float(v) for v in np.arange(0.0, t_max + 1e-9 * max(step, 1.0), step))
    curves = []
    for j, lev in enumerate(d.levels):
        m = g == j
        if not m.any():
            continue
        km = engine.kaplan_meier(t[m], e[m], conf_type=prof.conf_type, conf_level=prof.conf_level)
        curves.append(curve_group(lev, km, int(m.sum()), int(e[m].sum()), ticks, dpu, prof))
    present = sorted({int(c) for c in g})
    test: GroupTest | None = None
    rows = []
    if len(present) > 1 and events > 0:
        test = replace(engine.logrank(t, e, g, "logrank"), label="Log-rank")
        levels_here = [d.levels[j] for j in present]
        ref = d.reference if d.reference in levels_here else levels_here[0]
        others = [lev for lev in levels_here if lev != ref]
        cols = np.column_stack([(g == d.levels.index(lev)).astype(float) for lev in others])
        design = replace(
            d,
            columns=cols,
            terms=tuple(f"{d.variable}[{lev}]" for lev in others),
            term_levels=tuple(others),
            reference=ref,
            empty_levels=tuple(lev for lev in d.levels if lev not in levels_here),
            codes=g,
        )
        note = None
        try:
            fit = engine.cox(
                cols, t, e, ties=prof.ties, conf_level=prof.conf_level, term_names=design.terms
            )
        except AnalysisError as exc:
            fit, note = None, str(exc)
        rows = cox_rows(design, fit, 0, prof.conf_level, n=n, events=events, note=note)
        if fit is not None:
            for w in fit.warnings:
                warn.add_stat(w, "landmark", endpoint=lm.endpoint, variable=lm.by)
    else:
        notes.append(
            warn.add(
                "LANDMARK-NO-COMPARISON",
                f"{what}: only one group or no events after the landmark; no comparison",
                "landmark",
                endpoint=lm.endpoint,
                variable=lm.by,
            )
        )
    if missing:
        notes.append(
            f"{missing} patient{'s' if missing != 1 else ''} with an unknown {d.label} left out"
        )
    km_result = KMCurves(
        key=f"landmark_{lm.endpoint}_{fmt_num(float(lm.at))}_by_{lm.by}",
        endpoint=lm.endpoint,
        endpoint_label=f"{label} from the landmark",
        by=lm.by,
        by_label=d.label,
        groups=tuple(curves),
        ticks=ticks,
        max_time=t_max,
        time_unit=cohort.unit,
        ci=False,
        risk_table=True,
        title=f"{label}: landmark at {fmt_num(float(lm.at))} {cohort.unit}",
        tests=(test,) if test is not None else (),
    )
    return LandmarkResult(
        endpoint=lm.endpoint,
        endpoint_label=label,
        at=float(lm.at),
        at_days=at_days,
        by=lm.by,
        by_label=d.label,
        time_dependent=x is not None,
        n=n,
        events=events,
        excluded=excluded,
        missing=missing,
        km=km_result,
        logrank=test,
        cox=tuple(rows),
        ties=prof.ties,
        warnings=tuple(notes),
    )

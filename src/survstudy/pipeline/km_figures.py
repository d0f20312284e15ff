"""Kaplan–Meier figures: ``analyses.km`` of the spec.

Per figure the step curves (Kaplan 1958; Greenwood variance, pointwise limits on
the profile's scale) per group, the number at risk at the axis ticks, each group's
median, and the group tests of the profile (log-rank; with the SPSS profile also
Breslow–Gehan), with the permutation log-rank p when the spec asks for it.

A figure with ``by:`` also gives the by-group survival table (STROBE 16c, REMARK 15):
each group's survival at ``analyses.survival.landmarks`` and, for two groups, the
absolute effects (:func:`survstudy.stats.comparison.compare_two_groups`): the
difference in survival at each landmark (Greenwood variances, independent groups) and
the restricted-mean-survival-time difference at ``analyses.survival.rmst_tau``
(default the last landmark), refused with a note beyond either group's last follow-up.

Below ``FEW_EVENTS`` (10) events the permutation log-rank p is the primary p
(:mod:`survstudy.stats.precision`): ``permutation: auto`` then always computes it,
exactly where possible.

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
from survstudy.pipeline.context import StudyContext, fmt_num, unit_word
from survstudy.pipeline.design import FactorDesign
from survstudy.pipeline.permutation import permutation_test
from survstudy.pipeline.results import (
    CurveGroup,
    GrayTest,
    GroupTest,
    KMComparison,
    KMCurves,
    Landmark,
    LandmarkDifference,
    Median,
    MethodsProfile,
    PermutationTest,
    RMSTDifference,
)
from survstudy.pipeline.survival import median_of
from survstudy.stats.comparison import compare_two_groups
from survstudy.stats.precision import FEW_EVENTS

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
    at: tuple[Landmark, ...] = (),
    min_at_risk: int = 0,
) -> CurveGroup:
    """One curve of a figure: step data and censoring marks in the display unit, the
    number at risk at the ticks (``n_risk`` when given), the median (``dpu``: days per
    display unit) and the survival at the landmarks ``at`` (by-group table)."""
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
        at=at,
        curtail_time=_curtail(km, min_at_risk, dpu),
    )


def _curtail(km: Any, min_at_risk: int, dpu: float) -> float | None:
    """Where a curve is cut (display unit): after the last time with at least
    ``min_at_risk`` at risk; ``None`` when it is drawn whole (the option is 0, it never
    falls below, or the group had fewer than ``min_at_risk`` patients from the start)."""
    if min_at_risk <= 0:
        return None
    # KaplanMeierResult.last_time_at_risk (survstudy.stats.km)
    t = km.last_time_at_risk(min_at_risk)
    last = float(np.max(km.time)) if len(km.time) else 0.0
    if t is None or t >= last:
        return None
    return t / dpu


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
    landmarks: list[float] = []
    kms: list[Any] = []
    if d is not None and exposure is not None:
        # Simon–Makuch curves: patients move to the exposed curve at their exposure date;
        # the risk table counts the rows at risk at each tick exactly
        curves = [
            curve_group(
                lev,
                km,
                n_group,
                events_group,
                ticks,
                dpu,
                prof,
                n_risk=risk,
                min_at_risk=k.min_at_risk,
            )
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
        surv_spec = ctx.spec.analyses.survival
        landmarks = [float(x) for x in surv_spec.landmarks] if surv_spec and d is not None else []
        groups = rows.km_groups(k.endpoint, d, conf_type=prof.conf_type, conf_level=prof.conf_level)
        kms = [km for _lev, km, _n, _e in groups]
        if k.min_at_risk and not k.max_time and kms:
            # the x-axis ends where the longest-drawn curve is curtailed
            ends = [_curtail(km, k.min_at_risk, dpu) for km in kms]
            if all(e is not None for e in ends):
                max_time = max(float(e) for e in ends if e is not None)
                step = float(k.breaks) if k.breaks else nice_step(max_time, cohort.unit)
                ticks = tuple(
                    float(x) for x in np.arange(0.0, max_time + 1e-9 * max(step, 1.0), step)
                )
        curves = [
            curve_group(
                lev,
                km,
                n_group,
                events_group,
                ticks,
                dpu,
                prof,
                at=_group_landmarks(km, landmarks, dpu),
                min_at_risk=k.min_at_risk,
            )
            for lev, km, n_group, events_group in groups
        ]
    tests: list[GroupTest] = []
    perm: PermutationTest | None = None
    few = False
    if d is not None and len(curves) > 1:
        sel, _td = split.select(ctx, k.endpoint, [], group=d)
        few = sel.events < FEW_EVENTS
        if sel.events > 0:
            for weights, label in prof.tests if exposure is None else split.MANTEL_BYAR:
                g = sel.logrank(weights)
                tests.append(replace(g, label=label))
            if sel.n_groups() > 1 and exposure is None:
                # few events: the permutation p is the primary p, so it is always computed
                upgrade = few and k.permutation == "auto" and ctx.in_memory
                option = "exact" if upgrade else k.permutation
                perm = permutation_test(
                    option,
                    k.seed,
                    k.resamples,
                    sel,
                    warn,
                    f"{ep_label} by {by_label}",
                    "km",
                    endpoint=k.endpoint,
                    variable=k.by,
                )
                if perm is not None and option != k.permutation:
                    # computed because of the few events; recorded under the spec's option
                    perm = replace(
                        perm, option=k.permutation, reason=f"fewer than {FEW_EVENTS} events"
                    )
    comparison = None
    if d is not None and exposure is None and len(curves) == 2:
        # (Simon–Makuch curves of a time-dependent variable are not independent groups)
        comparison = _comparison(ctx, k, d, curves, kms, landmarks, f"{ep_label} by {by_label}")
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
        comparison=comparison,
        few_events=few and bool(tests),
        min_at_risk=int(k.min_at_risk),
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


def _group_landmarks(km: engine.KM, landmarks: list[float], dpu: float) -> tuple[Landmark, ...]:
    """One group's survival at the landmarks (display units); not estimable (NaN, with the
    ``BEYOND-FOLLOW-UP`` code) past the group's last follow-up."""
    last = float(km.time[-1]) if km.time.size else 0.0
    out = []
    for lm in landmarks:
        s, se, lo, hi, n_risk = engine.survival_at(km, lm * dpu)
        codes: tuple[str, ...] = ()
        if lm * dpu > last:
            s = se = lo = hi = float("nan")
            codes = ("BEYOND-FOLLOW-UP",)
        out.append(Landmark(lm, s, lo, hi, se, n_risk, codes))
    return tuple(out)


def _comparison(
    ctx: StudyContext,
    k: Any,
    d: FactorDesign,
    curves: list[CurveGroup],
    kms: list[Any],
    landmarks: list[float],
    what: str,
) -> KMComparison:
    """The absolute effects of two groups: group minus the factor's reference level."""
    dpu = ctx.cohort.days_per_unit
    unit = ctx.cohort.unit
    levels = [c.level for c in curves]
    r = levels.index(d.reference) if d.reference in levels else 0
    g = 1 - r
    surv_spec = ctx.spec.analyses.survival
    tau = surv_spec.rmst_tau if surv_spec and surv_spec.rmst_tau else None
    if tau is None and landmarks:
        tau = max(landmarks)
    res = compare_two_groups(
        kms[r],
        kms[g],
        [lm * dpu for lm in landmarks],
        tau=tau * dpu if tau is not None else None,
        rmst=tau is not None,
        conf_level=ctx.profile.conf_level,
    )
    where = {"endpoint": k.endpoint, "variable": k.by}
    truncated = {
        float(w.context["time"]) for w in res.warnings if w.code == "DIFFERENCE-CI-TRUNCATED"
    }
    at = []
    for i, lm in enumerate(landmarks):
        note = ""
        if not bool(res.at.estimable[i]):
            note = ctx.warn.add(
                "LANDMARK-BEYOND-FOLLOW-UP",
                f"{what}: no survival difference at {fmt_num(lm)} {unit_word(unit, lm)}, "
                "beyond the last follow-up of a group",
                "km",
                time=lm,
                **where,
            )
        elif float(res.at.time[i]) in truncated:
            note = ctx.warn.add(
                "DIFFERENCE-CI-TRUNCATED",
                f"{what}: the confidence interval of the survival difference at "
                f"{fmt_num(lm)} {unit_word(unit, lm)} reaches beyond the possible range and is "
                "shown truncated at ±100 percentage points (few patients)",
                "km",
                time=lm,
                **where,
            )
        at.append(
            LandmarkDifference(
                time=lm,
                difference=float(res.at.difference[i]),
                lower=float(res.at.lower[i]),
                upper=float(res.at.upper[i]),
                std_err=float(res.at.std_err[i]),
                reference_survival=float(res.at.reference_survival[i]),
                group_survival=float(res.at.group_survival[i]),
                note=note,
            )
        )
    rmst = None
    if res.rmst is not None and tau is not None:
        rm = res.rmst
        if rm.estimable:
            z = engine.z_value(ctx.profile.conf_level)
            ref_m, ref_se = _val(rm.reference_rmst) / dpu, _val(rm.reference_std_err) / dpu
            grp_m, grp_se = _val(rm.group_rmst) / dpu, _val(rm.group_std_err) / dpu
            rmst = RMSTDifference(
                tau=float(tau),
                difference=_val(rm.difference) / dpu,
                lower=_val(rm.lower) / dpu,
                upper=_val(rm.upper) / dpu,
                p_value=_val(rm.p_value),
                std_err=_val(rm.std_err) / dpu,
                reference_rmst=ref_m,
                reference_std_err=ref_se,
                group_rmst=grp_m,
                group_std_err=grp_se,
                reference_lower=ref_m - z * ref_se,
                reference_upper=ref_m + z * ref_se,
                group_lower=grp_m - z * grp_se,
                group_upper=grp_m + z * grp_se,
            )
        else:
            last = min(float(kms[r].time[-1]), float(kms[g].time[-1])) / dpu
            note = ctx.warn.add(
                "RMST-TAU-BEYOND-FOLLOW-UP",
                f"{what}: the restricted mean survival time to {fmt_num(tau)} "
                f"{unit_word(unit, tau)} is not estimated: this horizon is beyond the last "
                f"follow-up of a group ({fmt_num(round(last, 1))} {unit_word(unit, last)}), "
                "where the survival curve is unknown; set analyses.survival.rmst_tau within "
                "it",
                "km",
                **where,
            )
            nan = float("nan")
            rmst = RMSTDifference(float(tau), nan, nan, nan, nan, nan, nan, nan, nan, nan, note)
    return KMComparison(
        reference=str(levels[r]),
        group=str(levels[g]),
        at=tuple(at),
        rmst=rmst,
        conf_level=ctx.profile.conf_level,
    )


def _val(x: float | None) -> float:
    """An estimate of an estimable RMST comparison (``None`` only when it was refused)."""
    return float("nan") if x is None else float(x)

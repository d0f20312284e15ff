"""Multivariable Cox models: ``analyses.multivariable`` of the spec.

Each model is fitted to complete cases (:func:`.models.fit_model`, with Harrell's
concordance and the global PH test), optionally stratified; the table reports the
events per parameter, the likelihood-ratio test and the PH test. A model that
cannot be fitted becomes a "not estimable" table with the reason; the run goes on.
On an endpoint with competing events ``model: cox`` (the default) is the cause-specific Cox model
(competing events censored) and ``model: fine-gray`` the Fine–Gray subdistribution-hazard model
(:func:`survstudy.pipeline.engine_competing.fine_gray`, ``cmprsk::crr``).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from survstudy._parallel import Beside
from survstudy.errors import AnalysisError, SpecError
from survstudy.pipeline import engine, split
from survstudy.pipeline.competing import competing_label
from survstudy.pipeline.context import MIN_EPV, StudyContext, Warnings, exp_or_inf
from survstudy.pipeline.design import (
    FactorDesign,
    on_model_matrix,
    stratum_design,
    transformed,
)
from survstudy.pipeline.few_events import few_events_ci, few_events_rows
from survstudy.pipeline.fine_gray import check_fine_gray, fine_gray_model, low_epv, not_fitted
from survstudy.pipeline.models import (
    cox_rows,
    firth_rows,
    fit_model,
    functional_form,
    hr_differences,
    select_with_splines,
)
from survstudy.pipeline.results import (
    CoxRow,
    ModelResult,
    PhPlot,
    PhSensitivity,
    ProfileDifference,
)
from survstudy.pipeline.rows import Selection

__all__ = ["multivariable", "multivariable_models"]


def multivariable_models(ctx: StudyContext) -> tuple[list[ModelResult], list[ProfileDifference]]:
    """Every model of ``analyses.multivariable``, and the reconciliation rows of its HRs."""
    models: list[ModelResult] = []
    recon: list[ProfileDifference] = []
    for m in ctx.spec.analyses.multivariable:
        ctx.check_endpoint(m.endpoint, ("analyses", "multivariable"))
        model, diffs = multivariable(ctx, m)
        models.append(model)
        recon.extend(diffs)
    return models, recon


def multivariable(ctx: StudyContext, m: Any) -> tuple[ModelResult, list[ProfileDifference]]:
    """One model of ``analyses.multivariable`` (``m``: its spec entry)."""
    prof, warn, rows = ctx.profile, ctx.warn, ctx.rows
    label = ctx.endpoint_label(m.endpoint)
    designs = [
        transformed(
            rows.design(f.variable, per=f.per, label=f.label), f.transform, f.reference_value
        )
        for f in m.covariates
    ]
    strata = []
    for s in m.strata:
        sd = stratum_design(rows.design(s))
        if sd.codes is None:
            raise SpecError(
                f"model '{m.name}': stratum '{s}' must be categorical",
                key="analyses.multivariable",
            )
        strata.append(sd)
    competing = competing_label(ctx, m.endpoint) is not None
    fine_gray = getattr(m, "model", "cox") == "fine-gray"
    if fine_gray:
        check_fine_gray(ctx, m, competing, bool(strata))
    where = {"endpoint": m.endpoint, "model": m.name}
    designs, sel, td = select_with_splines(
        ctx, m.endpoint, designs, strata=strata, section="multivariable", where=where
    )
    if not td:  # every patient kept: the designs' columns as views of the model matrix
        designs = on_model_matrix(designs, getattr(sel, "x", None))
    n, events = sel.n, sel.events
    n_dropped = rows.n_known(m.endpoint) - n
    p = sum(len(d.terms) for d in designs)
    terms = tuple(t for d in designs for t in d.terms)
    assign = tuple(d.variable for d in designs for _t in d.terms)
    notes: list[str] = []
    epv = events / p if p else float("nan")
    if fine_gray:
        return fine_gray_model(ctx, m, sel, designs, label, n_dropped, terms, assign), []
    ci = few_events_ci(m.ci, events, ctx.in_memory)
    fits = fit_model(ctx, sel, terms=terms, assign=assign, ci=ci, firth=m.firth, concordance=True)
    if fits.error is not None or fits.fit is None or fits.other is None:
        # The rest of the report is still worth having: the model becomes a
        # "not estimable" table with the reason, the run goes on.
        assert fits.error is not None
        model = not_fitted(m, label, designs, n, events, n_dropped, p, epv, fits.error, warn)
        return replace(model, ties=prof.ties, competing=competing), []
    fit, fit_other = fits.fit, fits.other
    for w in fit.warnings:
        warn.add_stat(w, "multivariable", endpoint=m.endpoint, model=m.name)
    if p and epv < MIN_EPV:
        notes.append(low_epv(m, events, p, epv, warn))
    if not all(fit.estimable):
        # the PH test of a fit with a term running off to infinity means nothing
        fit = replace(
            fit, ph_p={}, ph_global_chisq=float("nan"), ph_global_df=0, ph_global_p=float("nan")
        )
    ph_failed = math.isfinite(fit.ph_global_p) and fit.ph_global_p < 0.05
    if ph_failed:
        notes.append(
            warn.add(
                "PH-VIOLATION",
                f"{m.name}: the global proportional-hazards test is significant (p < 0.05): "
                "some hazard ratios may change over follow-up",
                "multivariable",
                endpoint=m.endpoint,
                model=m.name,
            )
        )
    if n_dropped:
        notes.append(
            warn.add(
                "ROWS-DROPPED",
                f"{m.name}: {n_dropped} patient{'s' if n_dropped != 1 else ''} with a missing "
                "covariate left out (complete-case analysis)",
                "multivariable",
                endpoint=m.endpoint,
                model=m.name,
            )
        )
    ffit, freason = fits.firth, fits.firth_reason
    if fits.firth_problem:
        notes.append(
            warn.add(
                "FIRTH-NOT-FITTED",
                f"{m.name}: {fits.firth_problem}",
                "multivariable",
                endpoint=m.endpoint,
                model=m.name,
            )
        )
    table: list[CoxRow] = []
    diffs: list[ProfileDifference] = []
    offset = 0
    for d in designs:
        new = cox_rows(d, fit, offset, prof.conf_level, n=None, events=None)
        if d.variable in td:
            new[0] = replace(
                new[0], warnings=(*new[0].warnings, split.time_dependent_note(ctx, d.variable))
            )
        if ffit is not None and freason is not None:
            new = firth_rows(new, d, ffit, offset, freason)
        for i, r in enumerate(new):
            if (
                r.kind in ("header", "continuous", "spline")
                and math.isfinite(r.ph_p)
                and r.ph_p < 0.05
            ):
                new[i] = replace(
                    r,
                    warnings=(
                        *r.warnings,
                        "the hazard ratio may change over follow-up (PH test p < 0.05)",
                    ),
                )
        table.extend(new)
        diffs.extend(hr_differences("multivariable", m.name, d, offset, fit, fit_other, prof))
        offset += len(d.terms)
    curves: list[Any] = []
    # The spline tests and the PH follow-up are independent refits of the model (the
    # follow-up reads the rows' HRs, which the spline tests leave as they are): with two
    # jobs the spline tests run in a second process meanwhile; their warnings are added
    # before the follow-up's, as in a run one after the other. In one process the follow-up
    # comes first too (it reuses the model's fit, which is released before the spline fits).
    form: Beside[tuple[list[CoxRow], list[Any], Any]] | None = None
    if not td:

        def spline_tests() -> tuple[list[CoxRow], list[Any], Any]:
            fctx = replace(ctx, warn=Warnings())
            with fctx.warn.recording() as log:
                got = functional_form(
                    fctx, sel, designs, table, section="multivariable", where=where, model=m.name
                )
            return (*got, log)

        form = Beside(spline_tests, run=ph_failed and ctx.jobs > 1 and ctx.in_memory)
        if not ph_failed:
            table, curves, flog = form.result()
            ctx.warn.replay(flog)
    sensitivity: tuple[PhSensitivity, ...] = ()
    plots: tuple[PhPlot, ...] = ()
    if form is not None and ph_failed:
        before = list(ctx.warn.items)
        with ctx.warn.recording() as plog:
            try:
                sensitivity, plots, why = _ph_follow_up(ctx, m, designs, sel, terms, assign, table)
            except BaseException as exc:
                if isinstance(exc, Exception):
                    form.result()  # the spline tests' error first
                else:
                    form.cancel()  # interrupted: nothing more is computed
                raise
        table, curves, flog = form.result()
        ctx.warn.items[:] = before
        ctx.warn.replay(flog)
        ctx.warn.replay(plog)
        if why:
            notes.append(why)
    elif ph_failed and td:
        # the spline test, the beta(t) plots and the stratified refit are written for one
        # row per patient; on follow-up split at an exposure date they are not made
        notes.append(
            ctx.warn.add(
                "PH-SENSITIVITY-NOT-FITTED",
                f"{m.name}: no sensitivity model or residual plots for the "
                "proportional-hazards violation: the model is fitted on follow-up split at "
                "the date of a time-dependent covariate",
                "multivariable",
                **where,
            )
        )
    elif ph_failed:
        sensitivity, plots, why = _ph_follow_up(ctx, m, designs, sel, terms, assign, table)
        if why:
            notes.append(why)
    table = few_events_rows(
        ctx, table, events, m.name, "multivariable", endpoint=m.endpoint, model=m.name
    )
    model = ModelResult(
        name=m.name,
        endpoint=m.endpoint,
        endpoint_label=label,
        ties=prof.ties,
        rows=tuple(table),
        n=n,
        events=events,
        n_dropped=n_dropped,
        n_parameters=p,
        events_per_variable=epv,
        concordance=fit.concordance,
        concordance_se=fit.concordance_se,
        lr_statistic=fit.lr_statistic,
        lr_df=fit.lr_df,
        lr_p=fit.lr_p,
        ph_global_chisq=fit.ph_global_chisq,
        ph_global_df=fit.ph_global_df,
        ph_global_p=fit.ph_global_p,
        strata=tuple(m.strata),
        warnings=tuple(notes),
        firth=freason if ffit is not None else None,
        firth_lr_statistic=ffit.lr_statistic if ffit is not None else float("nan"),
        firth_lr_df=ffit.lr_df if ffit is not None else 0,
        firth_lr_p=ffit.lr_p if ffit is not None else float("nan"),
        ci=ci,
        sensitivity=sensitivity,
        ph_plots=plots,
        splines=tuple(curves),
        competing=competing,
        time_dependent=td,
    )
    return model, diffs


def _ph_follow_up(
    ctx: StudyContext,
    m: Any,
    designs: list[FactorDesign],
    sel: Selection,
    terms: tuple[str, ...],
    assign: tuple[str, ...],
    table: list[CoxRow],
) -> tuple[tuple[PhSensitivity, ...], tuple[PhPlot, ...], str | None]:
    """A model whose global PH test has p < 0.05: β(t) plots of every covariate and the
    sensitivity model stratified on the offending categorical covariates (issue 22)."""
    prof, warn = ctx.profile, ctx.warn
    by_var = {d.variable: d for d in designs}
    where = {"endpoint": m.endpoint, "model": m.name}
    try:
        fu = sel.ph_follow_up(
            ties=prof.ties,
            conf_level=prof.conf_level,
            term_names=terms,
            assign=assign,
            categorical=tuple(d.variable for d in designs if d.categorical),
            days_per_unit=float(ctx.cohort.days_per_unit),
        )
    except AnalysisError as exc:
        why = warn.add(
            "PH-SENSITIVITY-NOT-FITTED",
            f"{m.name}: no sensitivity model or residual plots for the "
            f"proportional-hazards violation: {exc.message}",
            "multivariable",
            **where,
        )
        return (), (), why
    plots = tuple(
        PhPlot(
            variable=t.term,
            label=by_var[t.term].label,
            time_unit=ctx.cohort.unit,
            curve_x=t.curve_x,
            fit=t.fit,
            lower=t.lower,
            upper=t.upper,
            ticks_x=t.ticks_x,
            ticks_time=t.ticks_time,
            line=t.line,
            p_value=t.p_value,
            factor=len(by_var[t.term].terms) > 1,
            x=t.x,
            y=t.y,
        )
        for t in fu.plot.terms
    )
    for t in fu.plot.terms:
        for w in t.warnings:
            warn.add_stat(w, "multivariable", **where)
    sfit = fu.fit
    if fu.kind is None or sfit is None:
        offending = [by_var[v].label for v in fu.offending]
        why = warn.add(
            "PH-SENSITIVITY-NOT-FITTED",
            f"{m.name}: no sensitivity model: {fu.reason}"
            + (f" (offending: {', '.join(offending)})" if offending else ""),
            "multivariable",
            **where,
        )
        return (), plots, why
    for w in sfit.warnings:
        warn.add_stat(w, "multivariable", **where)
    unit = ctx.cohort.unit
    rows: list[CoxRow] = []
    offset = 0
    for d in designs:
        if d.variable in fu.strata:
            continue
        if d.variable in fu.split:
            rows.extend(_period_rows(d, sfit, offset, fu.cut, unit, prof.conf_level))
            offset += 2
            continue
        rows.extend(cox_rows(d, sfit, offset, prof.conf_level, n=None, events=None))
        offset += len(d.terms)
    ratio, at = _largest_change(table, rows)
    ph = fu.ph
    handled = set(fu.strata) | set(fu.split)
    return (
        (
            PhSensitivity(
                kind=str(fu.kind),
                strata=fu.strata,
                strata_labels=tuple(by_var[v].label for v in fu.strata),
                offending=fu.offending,
                not_stratified=tuple(v for v in fu.offending if v not in handled),
                rows=tuple(rows),
                n=sel.n,
                events=sel.events,
                ph_global_chisq=float(ph.global_chisq),
                ph_global_df=int(ph.global_df),
                ph_global_p=float(ph.global_p),
                ph_terms=tuple(
                    (t.term, float(t.chisq), int(t.df), float(t.p_value)) for t in ph.terms
                ),
                largest_change=ratio,
                largest_change_label=at,
                split=fu.split,
                split_labels=tuple(by_var[v].label for v in fu.split),
                cut=fu.cut,
                time_unit=unit,
            ),
        ),
        plots,
        None,
    )


def _period_rows(
    d: FactorDesign, fit: Any, offset: int, cut: float, unit: str, conf_level: float
) -> list[CoxRow]:
    """A split continuous covariate's rows: its HR up to the cut and after it (per ``per``
    units when the spec scales it), each with its Wald CI and p."""
    z = engine.z_value(conf_level)
    k = float(d.per) if d.per else 1.0
    out = []
    for i, level in enumerate((f"follow-up ≤ {cut:.1f} {unit}", f"follow-up > {cut:.1f} {unit}")):
        j = offset + i
        b, se = float(fit.coef[j]), float(fit.se[j])
        out.append(
            CoxRow(
                variable=d.variable,
                label=d.label,
                kind="period",
                level=level,
                per=k,
                unit=d.unit,
                term=f"{d.variable}:period{i + 1}",
                coef=b,
                se=se,
                hr=exp_or_inf(k * b),
                lower=exp_or_inf(k * (b - z * se)),
                upper=exp_or_inf(k * (b + z * se)),
                p_value=float(fit.p[j]),
                ph_p=fit.ph_p.get(d.variable, float("nan")),
                estimable=bool(fit.estimable[j]),
            )
        )
    return out


def _largest_change(main: list[CoxRow], other: list[CoxRow]) -> tuple[float, str]:
    """The largest ratio max(a/b, b/a) of two models' HRs for the same row (as printed: the
    per-k row of a scaled continuous covariate), and that row's label."""
    scaled = {r.variable for r in main if r.kind == "continuous" and r.per not in (None, 1)}

    def key(r: CoxRow) -> tuple[str, str | None, float | None]:
        return (r.variable, r.level, r.per)

    by_key = {key(r): r for r in main}
    best, label = float("nan"), ""
    for r in other:
        if r.term is None or r.reference:
            continue
        if r.kind == "continuous" and r.variable in scaled and r.per in (None, 1):
            continue
        a = by_key.get(key(r))
        if a is None or not (a.hr > 0 and r.hr > 0):
            continue
        if not (math.isfinite(a.hr) and math.isfinite(r.hr)):
            continue
        q = max(r.hr / a.hr, a.hr / r.hr)
        if not q <= best:
            best = q
            label = r.label if r.kind == "continuous" else f"{r.label}: {r.level}"
    return best, label

"""Multivariable Cox models: ``analyses.multivariable`` of the spec.

Each model is fitted to complete cases (:func:`.models.fit_model`, with Harrell's
concordance and the global PH test), optionally stratified; the table reports the
events per parameter, the likelihood-ratio test and the PH test. A model that
cannot be fitted becomes a "not estimable" table with the reason; the run goes on.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from survstudy.errors import AnalysisError, SpecError
from survstudy.pipeline.context import MIN_EPV, StudyContext, Warnings
from survstudy.pipeline.design import FactorDesign
from survstudy.pipeline.models import (
    cox_rows,
    few_events_ci,
    few_events_rows,
    firth_rows,
    fit_model,
    hr_differences,
)
from survstudy.pipeline.results import CoxRow, ModelResult, ProfileDifference

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
    designs = [rows.design(f.variable, per=f.per, label=f.label) for f in m.covariates]
    strata = []
    for s in m.strata:
        sd = rows.design(s)
        if sd.codes is None:
            raise SpecError(
                f"model '{m.name}': stratum '{s}' must be categorical",
                key="analyses.multivariable",
            )
        strata.append(sd)
    sel = rows.select(m.endpoint, designs, strata=strata)
    n, events = sel.n, sel.events
    n_dropped = rows.n_known(m.endpoint) - n
    p = sum(len(d.terms) for d in designs)
    terms = tuple(t for d in designs for t in d.terms)
    assign = tuple(d.variable for d in designs for _t in d.terms)
    notes: list[str] = []
    epv = events / p if p else float("nan")
    ci = few_events_ci(m.ci, events, ctx.in_memory)
    fits = fit_model(ctx, sel, terms=terms, assign=assign, ci=ci, firth=m.firth, concordance=True)
    if fits.error is not None or fits.fit is None or fits.other is None:
        # The rest of the report is still worth having: the model becomes a
        # "not estimable" table with the reason, the run goes on.
        assert fits.error is not None
        model = _not_fitted(m, label, designs, n, events, n_dropped, p, epv, fits.error, warn)
        return replace(model, ties=prof.ties), []
    fit, fit_other = fits.fit, fits.other
    for w in fit.warnings:
        warn.add_stat(w, "multivariable", endpoint=m.endpoint, model=m.name)
    if p and epv < MIN_EPV:
        notes.append(_low_epv(m, events, p, epv, warn))
    if not all(fit.estimable):
        # the PH test of a fit with a term running off to infinity means nothing
        fit = replace(
            fit, ph_p={}, ph_global_chisq=float("nan"), ph_global_df=0, ph_global_p=float("nan")
        )
    if math.isfinite(fit.ph_global_p) and fit.ph_global_p < 0.05:
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
        if ffit is not None and freason is not None:
            new = firth_rows(new, d, ffit, offset, freason)
        for i, r in enumerate(new):
            if r.kind in ("header", "continuous") and math.isfinite(r.ph_p) and r.ph_p < 0.05:
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
    )
    return model, diffs


def _low_epv(m: Any, events: int, p: int, epv: float, warn: Warnings) -> str:
    return warn.add(
        "LOW-EPV",
        f"{m.name}: {events} events for {p} model parameters ({epv:.1f} events per "
        f"variable, fewer than {MIN_EPV}); the estimates may be unstable and "
        "overfitted",
        "multivariable",
        endpoint=m.endpoint,
        model=m.name,
    )


def _not_fitted(
    m: Any,
    label: str,
    designs: list[FactorDesign],
    n: int,
    events: int,
    n_dropped: int,
    p: int,
    epv: float,
    exc: AnalysisError,
    warn: Warnings,
) -> ModelResult:
    """A multivariable model that cannot be fitted: its rows "not estimable", the reason noted."""
    reason = exc.message
    msg = warn.add(
        "MODEL-NOT-FITTED",
        f"{m.name} ({label}, {n} patients, {events} events) could not be fitted: {reason}",
        "multivariable",
        endpoint=m.endpoint,
        model=m.name,
    )
    notes = [msg]
    if p and events and epv < MIN_EPV:
        notes.append(_low_epv(m, events, p, epv, warn))
    rows: list[CoxRow] = []
    for d in designs:
        rows.extend(cox_rows(d, None, 0, 0.95, n=None, events=None))
    nan = float("nan")
    return ModelResult(
        name=m.name,
        endpoint=m.endpoint,
        endpoint_label=label,
        ties="efron",
        rows=tuple(rows),
        n=n,
        events=events,
        n_dropped=n_dropped,
        n_parameters=p,
        events_per_variable=epv,
        concordance=nan,
        concordance_se=nan,
        lr_statistic=nan,
        lr_df=0,
        lr_p=nan,
        ph_global_chisq=nan,
        ph_global_df=0,
        ph_global_p=nan,
        strata=tuple(m.strata),
        warnings=tuple(notes),
        estimable=False,
        reason=reason,
    )

"""Multivariable models that are not ordinary Cox fits, and the shared notes.

``model: fine-gray`` entries of ``analyses.multivariable`` (:func:`fine_gray_model`: the
Fine–Gray subdistribution-hazard model, ``cmprsk::crr``, on an endpoint with competing
events; :func:`check_fine_gray` refuses what it cannot be), and what every multivariable
model may need: the low events-per-variable note (:func:`low_epv`) and the "not estimable"
table of a model that cannot be fitted (:func:`not_fitted`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from survstudy.errors import AnalysisError
from survstudy.pipeline.context import MIN_EPV, StudyContext, Warnings
from survstudy.pipeline.design import FactorDesign
from survstudy.pipeline.models import cox_rows
from survstudy.pipeline.results import CoxRow, ModelResult

__all__ = ["check_fine_gray", "fine_gray_model", "low_epv", "not_fitted"]


def check_fine_gray(ctx: StudyContext, m: Any, competing: bool, stratified: bool) -> None:
    """Refuse a ``model: fine-gray`` entry that cannot be one: an endpoint without competing
    events, strata, a time-dependent or a ``transform: rcs`` covariate (not available in this
    model)."""
    i = ctx.spec.analyses.multivariable.index(m)
    if not competing:
        raise ctx.spec_error(
            f"model '{m.name}': a Fine–Gray model needs an endpoint with competing events "
            f"('{m.endpoint}' has none: give it 'competing' dates or event_codes.competing)",
            "analyses",
            "multivariable",
            i,
            "model",
        )
    if stratified:
        raise ctx.spec_error(
            f"model '{m.name}': a stratified Fine–Gray model is not available; remove 'strata'",
            "analyses",
            "multivariable",
            i,
            "strata",
        )
    for f in m.covariates:
        var = ctx.spec.variables.get(f.variable)
        if var is not None and getattr(var, "time_dependent", None) is not None:
            raise ctx.spec_error(
                f"model '{m.name}': the time-dependent covariate '{f.variable}' is not "
                "available in a Fine–Gray model",
                "analyses",
                "multivariable",
                i,
                "covariates",
            )
        if getattr(f, "transform", None) == "rcs":
            raise ctx.spec_error(
                f"model '{m.name}': transform: rcs ('{f.variable}') is not available in a "
                "Fine–Gray model; use a linear or log term",
                "analyses",
                "multivariable",
                i,
                "covariates",
            )


def fine_gray_model(
    ctx: StudyContext,
    m: Any,
    sel: Any,
    designs: list[FactorDesign],
    label: str,
    n_dropped: int,
    terms: tuple[str, ...],
    assign: tuple[str, ...],
) -> ModelResult:
    """A ``model: fine-gray`` entry: the Fine–Gray model (``cmprsk::crr``; sandwich SE,
    Wald CI and p, crr's pseudo-likelihood-ratio test). No concordance and no PH test; a
    coefficient running off to infinity is "not estimable" (Firth is not defined here)."""
    warn, prof = ctx.warn, ctx.profile
    n, events = sel.n, sel.events
    p = len(terms)
    epv = events / p if p else float("nan")
    try:
        fit = sel.fine_gray(conf_level=prof.conf_level, term_names=terms, assign=assign)
    except AnalysisError as exc:
        model = not_fitted(m, label, designs, n, events, n_dropped, p, epv, exc, warn)
        return replace(model, ties="breslow", model="fine-gray", competing=True)
    notes: list[str] = []
    for w in fit.warnings:
        warn.add_stat(w, "multivariable", endpoint=m.endpoint, model=m.name)
    if p and epv < MIN_EPV:
        notes.append(low_epv(m, events, p, epv, warn))
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
    table: list[CoxRow] = []
    offset = 0
    for d in designs:
        table.extend(cox_rows(d, fit, offset, prof.conf_level, n=None, events=None))
        offset += len(d.terms)
    nan = float("nan")
    return ModelResult(
        name=m.name,
        endpoint=m.endpoint,
        endpoint_label=label,
        ties="breslow",  # crr's handling of tied failure times
        rows=tuple(table),
        n=n,
        events=events,
        n_dropped=n_dropped,
        n_parameters=p,
        events_per_variable=epv,
        concordance=nan,
        concordance_se=nan,
        lr_statistic=fit.lr_statistic,
        lr_df=fit.lr_df,
        lr_p=fit.lr_p,
        ph_global_chisq=nan,
        ph_global_df=0,
        ph_global_p=nan,
        strata=(),
        warnings=tuple(notes),
        ci="wald",
        model="fine-gray",
        competing=True,
    )


def low_epv(m: Any, events: int, p: int, epv: float, warn: Warnings) -> str:
    return warn.add(
        "LOW-EPV",
        f"{m.name}: {events} events for {p} model parameters ({epv:.1f} events per "
        f"variable, fewer than {MIN_EPV}); the estimates may be unstable and "
        "overfitted",
        "multivariable",
        endpoint=m.endpoint,
        model=m.name,
    )


def not_fitted(
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
        notes.append(low_epv(m, events, p, epv, warn))
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

"""Univariable Cox tables: one model per factor and endpoint.

``analyses.univariable`` of the spec. Each factor is fitted on the patients with
the endpoint and the factor known (:func:`.models.fit_model`); a categorical
factor with several terms gets the overall likelihood-ratio p (R's
``summary.coxph``) or the Wald p (SPSS's COXREG), optionally the log-rank and
Breslow–Gehan p and the permutation log-rank p; a binary factor gets its
detectable HR (Schoenfeld 1983). The factors' p-values can be adjusted for their
number (Holm; Benjamini–Hochberg). On an endpoint with competing events the Cox HR is the
cause-specific HR (competing events censored) and each row also carries the Fine–Gray
subdistribution HR (``shr``; ``cmprsk::crr``) of the same factor.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from survstudy.errors import AnalysisError
from survstudy.pipeline import engine, split
from survstudy.pipeline.competing import competing_label
from survstudy.pipeline.context import StudyContext, Warnings
from survstudy.pipeline.design import FactorDesign, transformed
from survstudy.pipeline.few_events import few_events_ci, few_events_rows
from survstudy.pipeline.models import (
    cox_rows,
    firth_rows,
    fit_model,
    functional_form,
    hr_differences,
    select_with_splines,
)
from survstudy.pipeline.permutation import permutation_test
from survstudy.pipeline.precision import endpoint_precision
from survstudy.pipeline.results import CoxRow, ProfileDifference, SplineCurve, UnivariableResult
from survstudy.pipeline.rows import Selection
from survstudy.stats.precision import FEW_EVENTS

__all__ = ["univariable_tables"]


def univariable_tables(
    ctx: StudyContext,
) -> tuple[dict[str, UnivariableResult], list[ProfileDifference]]:
    """Every endpoint's univariable table, and the reconciliation rows of its HRs."""
    u = ctx.spec.analyses.univariable
    out: dict[str, UnivariableResult] = {}
    recon: list[ProfileDifference] = []
    if not u:
        return out, recon
    for ep in u.endpoints:
        ctx.check_endpoint(ep, ("analyses", "univariable", "endpoints"))
        uni, diffs = univariable(ctx, ep)
        out[ep] = uni
        recon.extend(diffs)
    return out, recon


def univariable(ctx: StudyContext, ep: str) -> tuple[UnivariableResult, list[ProfileDifference]]:
    """The univariable table of endpoint ``ep``."""
    prof, warn, rows = ctx.profile, ctx.warn, ctx.rows
    u = ctx.spec.analyses.univariable
    assert u is not None
    pr = ctx.spec.analyses.precision
    label = ctx.endpoint_label(ep)
    # below FEW_EVENTS events in the endpoint: profile CIs, the FEW-EVENTS warning on every
    # row, the permutation log-rank p always (it is the primary p), no detectable HR
    ep_events = rows.select(ep, []).events
    few = ep_events < FEW_EVENTS
    ci = few_events_ci(u.ci, ep_events, ctx.in_memory)
    upgrade = few and u.permutation == "auto" and ctx.in_memory
    perm_option = "exact" if upgrade else u.permutation
    table: list[CoxRow] = []
    diffs: list[ProfileDifference] = []
    n_tests = 0
    tested: list[tuple[list[int], float]] = []  # (row indices showing a factor's p, the p)
    competing = competing_label(ctx, ep) is not None
    splines: list[SplineCurve] = []
    time_dependent: list[str] = []
    for factor in u.factors:
        design = transformed(
            rows.design(factor.variable, per=factor.per, label=factor.label),
            factor.transform,
            factor.reference_value,
        )
        where = {"endpoint": ep}
        [design], sel, td = select_with_splines(
            ctx,
            ep,
            [design],
            group=design if design.categorical else None,
            section="univariable",
            where=where,
        )
        time_dependent.extend(td)
        n, events = sel.n, sel.events
        fits = None
        note: str | None = None
        if not design.terms:
            note = "only one group has patients; no comparison possible"
        elif events == 0:
            note = "no events among these patients; no model possible"
        else:
            fits = fit_model(
                ctx,
                sel,
                terms=design.terms,
                assign=(design.variable,) * len(design.terms),
                ci=ci,
                firth=u.firth,
            )
            if fits.error is not None:
                note = str(fits.error)
        fit = fits.fit if fits is not None else None
        if note:
            warn.add(
                "MODEL-NOT-FITTED",
                f"{label}, {design.label}: {note}",
                "univariable",
                endpoint=ep,
                variable=design.variable,
            )
        new = cox_rows(design, fit, 0, prof.conf_level, n=n, events=events, note=note)
        if td:
            new[0] = replace(
                new[0], warnings=(*new[0].warnings, split.time_dependent_note(ctx, design.variable))
            )
        if fits is not None and fit is not None:
            n_tests += 1
            for w in fit.warnings:
                warn.add_stat(w, "univariable", endpoint=ep, variable=design.variable)
            if design.categorical and len(design.terms) > 1:
                # R's summary reports the likelihood-ratio test; SPSS's COXREG the Wald test.
                overall = fit.wald_p if prof.name == "spss" else fit.lr_p
                new[0] = replace(new[0], overall_p=overall)
            new = _notes(new, design, fit, sel, None if few else pr, warn, ep, label)
            if fits.firth is not None and fits.firth_reason is not None:
                new = firth_rows(new, design, fits.firth, 0, fits.firth_reason)
            elif fits.firth_problem:
                problem = fits.firth_problem
                i = next((k for k, r in enumerate(new) if r.term is not None), 0)
                new[i] = replace(new[i], warnings=(*new[i].warnings, problem))
                warn.add(
                    "FIRTH-NOT-FITTED",
                    f"{label}, {design.label}: {problem}",
                    "univariable",
                    endpoint=ep,
                    variable=design.variable,
                )
        if design.categorical and u.logrank and design.codes is not None and design.terms:
            lr = gb = float("nan")
            several = bool(events) and sel.n_groups() > 1
            if several:
                lr = sel.logrank("logrank").p_value  # split rows: the Mantel–Byar test
                gb = sel.logrank("gehan-breslow").p_value if not td else float("nan")
            perm = (
                permutation_test(
                    perm_option,
                    u.seed,
                    u.resamples,
                    sel,
                    warn,
                    f"{label}, {design.label}",
                    "univariable",
                    endpoint=ep,
                    variable=design.variable,
                )
                if several and not td
                else None
            )
            if perm is not None and perm_option != u.permutation:
                # computed because of the few events; recorded under the spec's option
                perm = replace(perm, option=u.permutation, reason=f"fewer than {FEW_EVENTS} events")
            new[0] = replace(
                new[0],
                logrank_p=lr,
                breslow_p=gb if prof.name == "spss" else float("nan"),
                permutation=perm,
            )
        if fit is not None and not td:
            new, curves = functional_form(
                ctx, sel, [design], new, section="univariable", where=where
            )
            splines.extend(curves)
        if fits is not None and fit is not None and fits.other is not None:
            diffs.extend(
                hr_differences(
                    "univariable", f"Univariable, {label}", design, 0, fit, fits.other, prof
                )
            )
        if competing and fit is not None:
            new = _subdistribution(ctx, sel, design, new, ep, label, bool(td))
        if fit is not None:
            base = len(table)
            if design.spline or (design.categorical and len(design.terms) > 1):
                tested.append(([base], new[0].overall_p))
            else:
                idx = [base + k for k, r in enumerate(new) if r.term is not None]
                if idx:
                    tested.append((idx, new[idx[0] - base].p_value))
        if few:
            new = few_events_rows(ctx, new, ep_events, label, "univariable", endpoint=ep)
        table.extend(new)
    if u.adjust != "none" and tested:
        adjusted = engine.adjust_p([p for _i, p in tested], u.adjust)
        for (idx, _p), q in zip(tested, adjusted, strict=True):
            for i in idx:
                table[i] = replace(table[i], adjusted_p=q)
    return (
        UnivariableResult(
            endpoint=ep,
            endpoint_label=label,
            rows=tuple(table),
            ties=prof.ties,
            n_tests=n_tests,
            adjust=u.adjust,
            firth=u.firth,
            ci=ci,
            permutation=u.permutation if u.logrank else "never",
            precision=endpoint_precision(ctx, ep),
            power=pr.power if pr else 0.8,
            alpha=pr.alpha if pr else 0.05,
            few_events=few,
            splines=tuple(splines),
            time_dependent=tuple(time_dependent),
        ),
        diffs,
    )


def _notes(
    rows: list[CoxRow],
    design: FactorDesign,
    fit: engine.CoxFit,
    sel: Selection,
    pr: Any,
    warn: Warnings,
    ep: str,
    label: str,
) -> list[CoxRow]:
    """A factor's PH-test note and, for a binary factor, its detectable HR (Schoenfeld)."""
    out = list(rows)
    ph = fit.ph_p.get(design.variable, float("nan"))
    # the row that shows the factor's p: the level row of a binary factor, else the first
    where = next((k for k, r in enumerate(out) if r.term is not None), 0)
    if len(design.terms) > 1:
        where = 0
    if not all(fit.estimable):
        # a PH test of a fit that ran off to infinity means nothing
        out = [replace(r, ph_p=float("nan")) for r in out]
    elif math.isfinite(ph):
        out = [
            replace(r, ph_p=ph) if r.kind in ("header", "continuous", "spline") else r for r in out
        ]
        if ph < 0.05:
            msg = "the hazard ratio may change over follow-up (PH test p < 0.05)"
            # every row of a continuous factor (the table prints only the per-k one)
            targets = (
                [k for k, r in enumerate(out) if r.kind in ("continuous", "spline")]
                if design.kind == "continuous"
                else [where]
            )
            for k in targets:
                out[k] = replace(out[k], warnings=(*out[k].warnings, msg))
            warn.add(
                "PH-VIOLATION",
                f"{label}, {design.label}: {msg}",
                "univariable",
                endpoint=ep,
                variable=design.variable,
            )
    if pr is not None and design.categorical and len(design.terms) == 1:
        d = engine.detectable_hr(sel.events, sel.share(), alpha=pr.alpha, power=pr.power)
        out[where] = replace(out[where], detectable_hr=float(d.hr))
    return out


def _subdistribution(
    ctx: StudyContext,
    sel: Selection,
    design: FactorDesign,
    rows: list[CoxRow],
    ep: str,
    label: str,
    time_dependent: bool = False,
) -> list[CoxRow]:
    """The factor's rows with the Fine–Gray subdistribution HR beside the cause-specific HR
    (same rows, same factor coding; a model that cannot be fitted leaves them empty with a
    note)."""
    out = [replace(r, subdistribution=True) for r in rows]
    if design.spline or time_dependent:
        # (a spline's terms have no single subdistribution HR to print beside the HR; a
        # time-dependent factor's rows are split follow-up, not patients, for crr)
        return out
    try:
        fg = sel.fine_gray(
            conf_level=ctx.profile.conf_level,
            term_names=design.terms,
            assign=(design.variable,) * len(design.terms),
        )
    except AnalysisError as exc:
        msg = f"subdistribution HR not estimable: {exc.message}"
        ctx.warn.add(
            "MODEL-NOT-FITTED",
            f"{label}, {design.label}: Fine–Gray model: {exc.message}",
            "univariable",
            endpoint=ep,
            variable=design.variable,
        )
        i = next((k for k, r in enumerate(out) if r.term is not None), 0)
        out[i] = replace(out[i], warnings=(*out[i].warnings, msg))
        return out
    for w in fg.warnings:
        ctx.warn.add_stat(w, "univariable", endpoint=ep, variable=design.variable)
    fg_rows = cox_rows(design, fg, 0, ctx.profile.conf_level, n=None, events=None)
    for k, (r, f) in enumerate(zip(out, fg_rows, strict=True)):
        if r.term is None:
            continue
        nan = float("nan")
        ok = f.estimable  # a coefficient running off to infinity: "not estimable", no number
        out[k] = replace(
            r,
            shr=f.hr if ok else nan,
            shr_lower=f.lower if ok else nan,
            shr_upper=f.upper if ok else nan,
            shr_p_value=f.p_value if ok else nan,
            warnings=(*r.warnings, *(f"subdistribution HR {m}" for m in f.warnings)),
        )
    return out

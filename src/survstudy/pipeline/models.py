"""Cox models for the study tables: one fitting routine, and the rows it gives.

Univariable tables (:mod:`.univariable`) and multivariable models
(:mod:`.multivariable`) both fit through :func:`fit_model`: the model under the
chosen profile's tie rule (with the PH test, R's ``cox.zph``, and optionally
Harrell's concordance), the same model under the other profile's tie rule for the
reconciliation table (Efron vs Breslow), and — when the spec's ``firth`` option
asks — the Firth-penalised model (Heinze and Schemper 2001). :func:`cox_rows`
turns a factor's terms into table rows (HR per k units for a continuous factor:
``exp(k·β)``, Wald limits ``exp(k(β ± z·se))``), :func:`firth_rows` attaches the
Firth estimates, :func:`hr_differences` gives the reconciliation rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from survstudy.errors import AnalysisError
from survstudy.pipeline import engine, split
from survstudy.pipeline.context import MIN_EPV, StudyContext, exp_or_inf, fmt_num
from survstudy.pipeline.design import FactorDesign, spline_design
from survstudy.pipeline.results import (
    CoxRow,
    FirthEstimate,
    MethodsProfile,
    ProfileDifference,
    SplineCurve,
)
from survstudy.pipeline.rows import Selection
from survstudy.stats.splines import rcs_knots

__all__ = [
    "NONLINEAR_NOTE",
    "ModelFits",
    "cox_rows",
    "firth_fit",
    "firth_rows",
    "fit_model",
    "functional_form",
    "hr_differences",
    "select_with_splines",
]

NONLINEAR_NOTE = (
    "the hazard ratio per unit is not constant across its values (spline test of "
    "non-linearity p < 0.05); consider transform: rcs"
)


@dataclass(frozen=True)
class ModelFits:
    """One model's fits: ``fit`` under the chosen profile's ties, ``other`` under the other
    profile's (same CI method, so that the reconciliation shows the ties' effect only).

    ``error`` is the first fit that failed (``fit`` and/or ``other`` are then ``None``);
    ``firth`` the Firth-penalised fit the spec asked for (``firth_reason``: ``always`` or
    ``monotone``), ``firth_problem`` why a wanted Firth fit is missing.
    """

    fit: engine.CoxFit | None
    other: engine.CoxFit | None
    error: AnalysisError | None = None
    firth: engine.CoxFit | None = None
    firth_reason: str | None = None
    firth_problem: str | None = None


def fit_model(
    ctx: StudyContext,
    sel: Selection,
    *,
    terms: tuple[str, ...],
    assign: tuple[str, ...],
    ci: str,
    firth: str,
    concordance: bool = False,
) -> ModelFits:
    """Fit one Cox model on ``sel``'s rows as the study tables need it (see the module
    docstring). A fit that fails is reported in ``error``, never raised. (Callers pass
    :func:`few_events_ci` of their endpoint's or model's events as ``ci``.)"""
    prof, other = ctx.profile, ctx.other
    pair = sel.cox_pair(
        {
            "ties": prof.ties,
            "conf_level": prof.conf_level,
            "ph_test": True,
            "concordance": concordance,
            "assign": assign,
        },
        # same CI method, so that the reconciliation shows the ties' effect only
        {"ties": other.ties, "conf_level": other.conf_level},
        term_names=terms,
        ci=ci,
    )
    fits = ModelFits(pair.fit, pair.other, pair.error)
    if fits.fit is None:
        return fits
    ffit, reason, problem = firth_fit(firth, fits.fit, sel, prof, term_names=terms)
    return replace(fits, firth=ffit, firth_reason=reason, firth_problem=problem)


def firth_fit(
    option: str,
    fit: engine.CoxFit,
    sel: Selection,
    prof: MethodsProfile,
    *,
    term_names: tuple[str, ...],
) -> tuple[engine.CoxFit | None, str | None, str | None]:
    """The Firth fit the spec's ``firth`` option asks for: (fit, reason, problem).

    ``auto`` fits it when an ordinary term is not estimable (monotone likelihood or
    no valid variance); ``always`` for every model. ``problem`` says why a Firth fit
    that was wanted is missing.
    """
    if option == "never" or fit.method != "ordinary":
        return None, None, None
    if option == "auto" and all(fit.estimable):
        return None, None, None
    reason = "always" if option == "always" else "monotone"
    try:
        ffit = sel.firth(ties=prof.ties, conf_level=prof.conf_level, term_names=term_names)
    except AnalysisError as exc:
        return None, reason, f"the Firth-penalised model could not be fitted: {exc.message}"
    if ffit is None:
        return None, reason, "the Firth-penalised fit is not available in this version"
    return ffit, reason, None


def cox_rows(
    design: FactorDesign,
    fit: engine.CoxFit | None,
    offset: int,
    conf_level: float,
    *,
    n: int | None,
    events: int | None,
    note: str | None = None,
) -> list[CoxRow]:
    """Rows for one factor from a fitted model whose terms start at column ``offset``."""
    z = engine.z_value(conf_level)
    rows: list[CoxRow] = []
    if design.spline:
        # one row: the spline's p values are set by functional_form, its HRs are a curve
        w = len(design.terms)
        return [
            CoxRow(
                design.variable,
                design.label,
                "spline",
                unit=design.unit,
                n=n,
                events=events,
                ph_p=fit.ph_p.get(design.variable, float("nan")) if fit else float("nan"),
                estimable=fit is not None and all(fit.estimable[offset : offset + w]),
                warnings=(note,) if note else (),
                transform="rcs",
            )
        ]
    if design.kind == "continuous":
        pers = [1.0] + ([design.per] if design.per and design.per != 1 else [])
        for k in pers:
            if fit is None:
                rows.append(
                    CoxRow(
                        design.variable,
                        design.label,
                        "continuous",
                        per=k,
                        unit=design.unit,
                        term=design.variable,
                        n=n,
                        events=events,
                        estimable=False,
                        warnings=(note,) if note else (),
                    )
                )
                continue
            j = offset
            b, se = fit.coef[j], fit.se[j]
            if fit.ci_method == "profile":
                # profile limits are limits for β: exp(k·β_lower) = lower^k
                with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                    lo, hi = float(fit.lower[j]) ** k, float(fit.upper[j]) ** k
            else:
                lo, hi = exp_or_inf(k * (b - z * se)), exp_or_inf(k * (b + z * se))
            rows.append(
                CoxRow(
                    variable=design.variable,
                    label=design.label,
                    kind="continuous",
                    per=k,
                    unit=design.unit,
                    term=design.variable,
                    coef=b,
                    se=se,
                    hr=exp_or_inf(k * b),
                    lower=lo,
                    upper=hi,
                    ci_method=fit.ci_method,
                    p_value=fit.p[j],
                    ph_p=fit.ph_p.get(design.variable, float("nan")),
                    n=n,
                    events=events,
                    estimable=fit.estimable[j],
                    warnings=tuple(fit.notes[j]) + ((note,) if note else ()),
                    transform=design.transform,
                )
            )
        return rows
    rows.append(
        CoxRow(
            design.variable,
            design.label,
            "header",
            n=n,
            events=events,
            ph_p=fit.ph_p.get(design.variable, float("nan")) if fit else float("nan"),
            warnings=(note,) if note else (),
        )
    )
    term_index = {lev: offset + i for i, lev in enumerate(design.term_levels)}
    for lev in design.levels:
        if lev == design.reference:
            rows.append(
                CoxRow(
                    design.variable, design.label, "reference", level=lev, reference=True, hr=1.0
                )
            )
            continue
        if lev in design.empty_levels or fit is None or lev not in term_index:
            msg = "no patients in this group" if lev in design.empty_levels else None
            rows.append(
                CoxRow(
                    design.variable,
                    design.label,
                    "level",
                    level=lev,
                    estimable=False,
                    warnings=(msg,) if msg else (),
                )
            )
            continue
        j = term_index[lev]
        b, se = fit.coef[j], fit.se[j]
        rows.append(
            CoxRow(
                variable=design.variable,
                label=design.label,
                kind="level",
                level=lev,
                term=design.terms[j - offset],
                coef=b,
                se=se,
                hr=fit.hr[j],
                lower=fit.lower[j],
                upper=fit.upper[j],
                p_value=fit.p[j],
                estimable=fit.estimable[j],
                warnings=tuple(fit.notes[j]),
                ci_method=fit.ci_method,
            )
        )
    return rows


def firth_rows(
    rows: list[CoxRow],
    design: FactorDesign,
    ffit: engine.CoxFit,
    offset: int,
    reason: str,
) -> list[CoxRow]:
    """Attach a factor's Firth estimates (terms from column ``offset``) to its rows.

    A continuous row per k units gets exp(k·β) and the profile limits to the k-th power
    (they are limits for β, so exp(k·β_lower) = lower^k).
    """
    term_index = {t: offset + i for i, t in enumerate(design.terms)}
    out = []
    for r in rows:
        j = term_index.get(r.term) if r.term is not None else None
        if j is None or r.reference:
            out.append(r)
            continue
        k = float(r.per) if r.kind == "continuous" and r.per else 1.0
        b, se = float(ffit.coef[j]), float(ffit.se[j])
        lo, hi = float(ffit.lower[j]), float(ffit.upper[j])
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            est = FirthEstimate(
                coef=b,
                se=se,
                hr=exp_or_inf(k * b),
                lower=lo**k if k != 1 else lo,
                upper=hi**k if k != 1 else hi,
                p_value=float(ffit.p[j]),
                reason=reason,
                ci_method=ffit.ci_method,
            )
        out.append(replace(r, firth=est))
    return out


def hr_differences(
    section: str,
    analysis: str,
    design: FactorDesign,
    offset: int,
    fit: engine.CoxFit,
    fit_other: engine.CoxFit,
    prof: MethodsProfile,
) -> list[ProfileDifference]:
    """HR and p of each term under Efron (standard) and Breslow (spss) ties.

    A continuous factor with ``per: k`` is compared per k units, as the tables print it.
    """
    out: list[ProfileDifference] = []
    if design.spline:
        return out  # a spline's coefficients are not printed
    std, sps = (fit, fit_other) if prof.name == "standard" else (fit_other, fit)
    z = engine.z_value(prof.conf_level)
    k = float(design.per) if design.kind == "continuous" and design.per else 1.0
    label = design.label if k == 1 else f"{design.label} (per {fmt_num(k)} {design.unit or ''})"
    label = label.replace(" )", ")")
    for i in range(len(design.terms)):
        j = offset + i
        lev = design.term_levels[i]
        item = f"{label}: {lev}" if lev is not None else label

        def hr(f: engine.CoxFit, j: int = j) -> tuple[float, float, float]:
            if k == 1:
                return float(f.hr[j]), float(f.lower[j]), float(f.upper[j])
            b, se = float(f.coef[j]), float(f.se[j])
            return exp_or_inf(k * b), exp_or_inf(k * (b - z * se)), exp_or_inf(k * (b + z * se))

        (a, alo, ahi), (b_, blo, bhi) = hr(std), hr(sps)
        common: dict[str, Any] = {
            "section": section,
            "analysis": analysis,
            "item": item,
            "standard_method": "Efron ties",
            "spss_method": "Breslow ties",
        }
        out.append(
            ProfileDifference(
                quantity="HR (95% CI)",
                kind="hr",
                standard=a,
                standard_lower=alo,
                standard_upper=ahi,
                spss=b_,
                spss_lower=blo,
                spss_upper=bhi,
                **common,
            )
        )
        out.append(
            ProfileDifference(quantity="p", kind="p", standard=std.p[j], spss=sps.p[j], **common)
        )
    return out


def select_with_splines(
    ctx: StudyContext,
    ep: str,
    designs: list[FactorDesign],
    *,
    strata: list[FactorDesign] | None = None,
    group: FactorDesign | None = None,
    section: str,
    where: dict[str, Any],
) -> tuple[list[FactorDesign], Selection, tuple[str, ...]]:
    """The complete cases of a model, with every ``transform: rcs`` design given its spline
    columns: 4 knots at Harrell's quantiles of the values of the patients analysed (as
    ``rms::rcs`` in a ``coxph`` fitted to them); on follow-up split at their dates when a
    factor is time-dependent (:func:`.split.select`; the knots are then those of the split
    rows, as ``rcs`` in a ``coxph`` on ``tmerge`` data). Also the names of the time-dependent
    factors."""
    sel, td = split.select(ctx, ep, designs, strata=strata, group=group)
    if not any(d.spline for d in designs):
        return designs, sel, td
    out: list[FactorDesign] = []
    col = 0
    for d in designs:
        width = len(d.terms)
        if d.spline and not d.knots:
            try:
                kn = rcs_knots(sel.column(col), 4)
            except AnalysisError as exc:
                raise ctx.spec_error(
                    f"'{d.variable}': transform: rcs is not possible: {exc.message}",
                    "analyses",
                    code="SPEC-TRANSFORM-RCS",
                ) from None
            for w in kn.warnings:
                ctx.warn.add_stat(w, section, variable=d.variable, **where)
            d = spline_design(d, tuple(float(k) for k in kn.knots))
        out.append(d)
        col += width
    sel, td = split.select(ctx, ep, out, strata=strata, group=group)
    return out, sel, td


def functional_form(
    ctx: StudyContext,
    sel: Selection,
    designs: list[FactorDesign],
    rows: list[CoxRow],
    *,
    section: str,
    where: dict[str, Any],
    model: str | None = None,
) -> tuple[list[CoxRow], list[SplineCurve]]:
    """For each continuous covariate of a fitted model: the likelihood-ratio test of
    non-linearity (restricted cubic spline, 4 knots, against linear, the model's other
    covariates beside it: ``anova(coxph(… + x), coxph(… + rcs(x, 4)))``) as the rows'
    ``nonlinearity_p``, with a ``NON-LINEAR`` warning below 0.05; a ``transform: rcs``
    covariate gets its overall p and its HR-versus-value curve (:class:`SplineCurve`).
    The test is not computed (``NONLINEARITY-NOT-TESTED``) when the spline model would have
    fewer than ``MIN_EPV`` (10) events per parameter: a spline fitted to a handful of events
    reads noise as a curve.

    Where the rows are not in memory (a data engine) the test is not computed (NaN)."""
    prof, warn = ctx.profile, ctx.warn
    out = list(rows)
    curves: list[SplineCurve] = []
    col = 0
    p = sum(len(d.terms) for d in designs)
    for d in designs:
        width = len(d.terms)
        start, col = col, col + width
        if d.kind != "continuous":
            continue
        # the spline model has the other columns and 3 spline columns (4 knots)
        n_par = p - width + 3
        if sel.events < MIN_EPV * n_par:
            # one note per table (identical messages are recorded once)
            what = where.get("model") or ctx.endpoint_label(str(where.get("endpoint", "")))
            warn.add(
                "NONLINEARITY-NOT-TESTED",
                f"{what}: the spline tests of non-linearity were not computed: "
                f"{sel.events} events for the {n_par} parameters of a spline model "
                f"(fewer than {MIN_EPV} per parameter)",
                section,
                **where,
            )
            continue
        try:
            test = sel.nonlinearity(
                start,
                width,
                ties=prof.ties,
                conf_level=prof.conf_level,
                name=d.label,
                reference=d.reference_value,
                overall=d.spline,  # only a spline covariate reports its overall p
            )
        except AnalysisError as exc:
            if "in memory" not in exc.message:
                warn.add(
                    "NONLINEARITY-NOT-TESTED",
                    f"{d.label}: the spline test of non-linearity could not be computed: "
                    f"{exc.message}",
                    section,
                    variable=d.variable,
                    **where,
                )
            continue
        for w in test.warnings:
            if w.code.startswith("RCS-"):
                warn.add_stat(w, section, variable=d.variable, **where)
        p_nl = float(test.p_nonlinear)
        flag = math.isfinite(p_nl) and p_nl < 0.05 and not d.spline
        idx = [i for i, r in enumerate(out) if r.variable == d.variable]
        for i in idx:
            r = out[i]
            if r.kind not in ("continuous", "spline"):
                continue
            extra: dict[str, Any] = {"nonlinearity_p": p_nl}
            if d.spline:
                extra["overall_p"] = float(test.p_overall)
            if flag:
                extra["warnings"] = (*r.warnings, NONLINEAR_NOTE)
            out[i] = replace(r, **extra)
        if flag:
            warn.add(
                "NON-LINEAR",
                f"{d.label}: {NONLINEAR_NOTE}",
                section,
                variable=d.variable,
                **where,
            )
        if d.spline:
            curve = test.hr_curve(reference=d.reference_value)
            curves.append(
                SplineCurve(
                    variable=d.variable,
                    label=d.label,
                    unit=d.unit,
                    reference=float(curve.reference),
                    knots=tuple(float(k) for k in test.knots),
                    value=curve.value,
                    hr=curve.hr,
                    lower=curve.lower,
                    upper=curve.upper,
                    conf_level=float(curve.conf_level),
                    overall_p=float(test.p_overall),
                    df_overall=int(test.df_overall),
                    nonlinearity_p=p_nl,
                    df_nonlinear=int(test.df_nonlinear),
                    model=model,
                    endpoint=str(where.get("endpoint", "")),
                )
            )
        del test  # it holds its spline fit (and data copy): freed before the next fits
    return out, curves

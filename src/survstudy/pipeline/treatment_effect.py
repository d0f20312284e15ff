"""Propensity-score comparisons of two treatments: ``analyses.treatment_effect`` (issue 20).

For each entry: the patients with a known endpoint, treatment and confounders
(complete cases; the others are counted in the flow), the confounders coded as
Cox factors (:mod:`.design`: dummies against the reference level, ``per`` scaling),
and :func:`survstudy.stats.treatment.treatment_effect` — propensity model, weights
or matches, balance, adjusted Kaplan–Meier curves with robust CIs, weighted or
matched Cox HR beside the crude and the multivariable-adjusted HR. Times go to the
statistics in the study's display unit, so curves and landmarks are in that unit.

A comparison that cannot be made (separation in the propensity model, an arm
without patients) becomes a "not estimable" result with the reason; the run goes
on. The rows are needed in memory: with a data engine the analysis is refused
before any work (``run._check_engine_options``, ``SPEC-ENGINE-UNSUPPORTED``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from survstudy.errors import AnalysisError
from survstudy.pipeline.context import StudyContext, fmt_num, unit_word
from survstudy.pipeline.design import FactorDesign
from survstudy.pipeline.results_treatment import TreatmentEffect
from survstudy.pipeline.rows import MemoryRows
from survstudy.spec import TreatmentEffectSpec
from survstudy.stats.propensity import EXTREME_WEIGHT, IMBALANCE_THRESHOLD
from survstudy.stats.treatment import Confounder, TreatmentEffectResult, treatment_effect

__all__ = ["treatment_effect_analyses"]

SECTION = "treatment_effect"


def treatment_effect_analyses(ctx: StudyContext) -> tuple[TreatmentEffect, ...]:
    """Every comparison of ``analyses.treatment_effect``, in spec order."""
    out: list[TreatmentEffect] = []
    for i, te in enumerate(ctx.spec.analyses.treatment_effect):
        key = ("analyses", SECTION, i)
        if te.endpoint not in ctx.cohort.endpoints:
            known = ", ".join(sorted(ctx.cohort.endpoints)) or "none"
            raise ctx.spec_error(
                f"'{te.endpoint}' is not an endpoint of the study (endpoints: {known})",
                *key,
                "endpoint",
            )
        out.append(_one(ctx, te, key))
    return tuple(out)


def _one(ctx: StudyContext, te: TreatmentEffectSpec, key: tuple[str, str, int]) -> TreatmentEffect:
    rows = ctx.rows
    if not isinstance(rows, MemoryRows):  # refused earlier; a guard, not a user path
        raise AnalysisError("a treatment comparison needs the patients' rows in memory")
    cohort = rows.cohort
    prof = ctx.profile
    tdes = rows.design(te.treatment)
    if tdes.codes is None or len(tdes.levels) != 2:
        levels = ", ".join(tdes.levels) or "none"
        raise ctx.spec_error(
            f"the treatment '{te.treatment}' must have exactly 2 levels in the data "
            f"(treated and control); it has {len(tdes.levels)}: {levels}",
            *key,
            "treatment",
            code="SPEC-TREATMENT-NOT-BINARY",
        )
    control_level = str(tdes.reference)
    treated_level = next(str(lv) for lv in tdes.levels if lv != tdes.reference)
    designs = [rows.design(f.variable, per=f.per, label=f.label) for f in te.confounders]
    t_days, e_all, ok = cohort.survival_data(te.endpoint)
    n_known = int(ok.sum())
    mask = ok & (tdes.codes >= 0)
    for d in designs:
        mask &= ~d.missing
    n_dropped = n_known - int(mask.sum())
    idx = np.flatnonzero(mask)
    if te.method == "matching":
        # Matching takes the complete cases in spreadsheet order (the pipeline's cohort is
        # in canonical order): nearest-neighbour matching takes tied candidates in data
        # order, as MatchIt does, so the matches are MatchIt's on the file as written. Which
        # of two tied patients is matched is a property of the file's order, as in R.
        # Weighting has no such choice and keeps the canonical order (issue 16: the same
        # patients in any file order give the same numbers).
        idx = idx[np.argsort(np.asarray(cohort.rows)[idx], kind="stable")]
    time = t_days[idx] / float(cohort.days_per_unit)
    event = e_all[idx]
    treated_code = tdes.levels.index(treated_level)
    treat = (tdes.codes[idx] == treated_code).astype(np.float64)
    confounders = [_confounder(d, idx) for d in designs]
    landmarks = tuple(
        te.landmarks
        if te.landmarks is not None
        else (ctx.spec.analyses.survival.landmarks if ctx.spec.analyses.survival else [])
    )
    estimand = te.effective_estimand
    labels = {d.variable: d.label for d in designs}
    where = {"endpoint": te.endpoint, "model": te.name}
    notes: list[str] = []
    if n_dropped:
        notes.append(
            ctx.warn.add(
                "ROWS-DROPPED",
                f"{te.name}: {n_dropped} patient{'s' if n_dropped != 1 else ''} with a missing "
                "treatment or confounder left out (complete-case analysis)",
                SECTION,
                **where,
            )
        )
    base: dict[str, Any] = {
        "name": te.name,
        "endpoint": te.endpoint,
        "endpoint_label": ctx.endpoint_label(te.endpoint),
        "treatment": te.treatment,
        "treatment_label": tdes.label,
        "treated_level": treated_level,
        "control_level": control_level,
        "method": te.method,
        "estimand": estimand,
        "confounders": tuple(d.variable for d in designs),
        "labels": labels,
        "n_known": n_known,
        "n_dropped": n_dropped,
        "landmarks": tuple(float(x) for x in landmarks),
        "options": {
            "stabilise": te.stabilise,
            "trim": None if te.trim is None else list(te.trim),
            "truncate": None if te.truncate is None else list(te.truncate),
            "caliper": te.caliper,
            "ratio": te.ratio,
            "ties": prof.ties,
            "conf_type": prof.conf_type,
            "conf_level": prof.conf_level,
        },
    }
    try:
        res = treatment_effect(
            treat,
            confounders,
            time,
            event,
            method=te.method,
            estimand=estimand,
            stabilise=te.stabilise,
            trim=te.trim,
            truncate=te.truncate,
            caliper=te.caliper,
            ratio=te.ratio,
            landmarks=landmarks,
            conf_type=prof.conf_type,
            conf_level=prof.conf_level,
            ties=prof.ties,
            n_dropped=n_dropped,
        )
    except AnalysisError as exc:
        notes.append(
            ctx.warn.add(
                exc.code if exc.code and exc.code != "ANALYSIS" else "TREATMENT-EFFECT-NOT-FITTED",
                f"{te.name}: the comparison could not be made: {exc.message}",
                SECTION,
                **where,
            )
        )
        return TreatmentEffect(**base, result=None, notes=tuple(notes), reason=exc.message)
    for w in res.warnings:
        notes.append(f"{te.name}: {_relabel(w.message, treated_level, control_level)}")
        ctx.warn.add_stat(w, SECTION, **where)
    return TreatmentEffect(
        **base,
        result=res,
        methods=tuple(_methods(te, res, tdes.label, treated_level, control_level, ctx)),
        notes=tuple(notes),
    )


def _relabel(message: str, treated: str, control: str) -> str:
    return message.replace("treated group:", f"treated group ({treated}):").replace(
        "control group:", f"control group ({control}):"
    )


def _confounder(d: FactorDesign, idx: np.ndarray) -> Confounder:
    """A factor's design columns over the complete cases, as a propensity-model confounder.

    A categorical factor is recoded on the complete cases, so that a level without
    patients among them gets no column (:meth:`Confounder.categorical_from`).
    """
    if not d.categorical:
        return Confounder.continuous(d.variable, d.columns[idx, 0], per=d.per)
    assert d.codes is not None
    levels = [lv for lv in d.levels if lv not in d.empty_levels]
    values = np.asarray(d.levels, dtype=object)[d.codes[idx]]
    return Confounder.categorical_from(d.variable, values, levels=levels, reference=d.reference)


def _methods(
    te: TreatmentEffectSpec,
    r: TreatmentEffectResult,
    treatment_label: str,
    treated: str,
    control: str,
    ctx: StudyContext,
) -> list[str]:
    """The methods paragraph of one comparison: every choice named."""
    unit = ctx.cohort.unit
    ci = f"{fmt_num(100 * r.conf_level)}%"
    conf = ", ".join(
        f"{d.label}" + (f" (per {fmt_num(d.per)} {d.unit or 'units'})" if d.per else "")
        for d in (ctx.rows.design(f.variable, per=f.per, label=f.label) for f in te.confounders)
    )
    out = [
        f"{treatment_label} ({treated}, treated, vs {control}, control) was compared by "
        f"propensity scores. The propensity score was estimated by logistic regression of "
        f"the treatment on {conf}, categorical variables dummy-coded against their "
        f"reference level, in the {r.flow['n_complete']} patients with complete data"
        + (f" ({r.flow['n_dropped']} left out for missing values)." if r.flow["n_dropped"] else ".")
    ]
    if r.method == "weighting":
        assert r.weighting is not None
        w = r.weighting
        kind = {
            "ATE": "inverse-probability-of-treatment weights for the average treatment effect "
            "in the whole population (ATE)"
            + (
                ", stabilised by the proportion of patients in each group"
                if w.stabilised
                else " (not stabilised: 1/e for treated, 1/(1−e) for control patients)"
            ),
            "ATT": "weights for the average treatment effect in the treated (ATT: 1 for "
            "treated patients, e/(1−e) for controls)",
            "overlap": "overlap weights (1−e for treated, e for control patients; the "
            "population with clinical equipoise)",
        }[r.estimand]
        out.append(f"Patients were weighted with {kind}.")
        if w.trim is not None:
            out.append(
                f"Patients whose propensity score lay outside the {_pct(w.trim[0])} and "
                f"{_pct(w.trim[1])} percentiles of all scores were left out "
                f"({w.n_trimmed} patients); the propensity model was not refitted."
            )
        if w.truncate is not None:
            out.append(
                f"Weights were truncated at their {_pct(w.truncate[0])} and "
                f"{_pct(w.truncate[1])} percentiles ({w.n_truncated} weights changed)."
            )
        out.append(
            f"Weights above {EXTREME_WEIGHT:g} are flagged (largest weight "
            f"{w.max_weight:.3g}); the effective sample size is Kish's (Σw)²/Σw² per group."
        )
        denom = (
            "the treated group's standard deviation"
            if r.estimand == "ATT"
            else "the pooled standard deviation sqrt((s₁² + s₀²)/2)"
        )
    else:
        assert r.matching is not None
        m = r.matching
        cal = (
            f"within a caliper of {fmt_num(m.caliper)} standard deviations of the logit "
            f"({m.caliper_distance:.3g} on the logit scale)"
            if m.caliper is not None and m.caliper_distance is not None
            else "without a caliper"
        )
        out.append(
            f"Each treated patient was matched to {m.ratio} control patient"
            f"{'s' if m.ratio > 1 else ''} by nearest-neighbour matching on the logit of the "
            f"propensity score without replacement, {cal}, treated patients taken in "
            f'decreasing order of the score (MatchIt\'s method = "nearest"); the estimand '
            f"is the average treatment effect in the treated (ATT). "
            f"{m.n_unmatched_treated} treated and {m.n_unmatched_control} control patients "
            "were not matched."
        )
        denom = "the treated group's standard deviation"
    out.append(
        "Balance is shown as standardised mean differences (SMD) before and after "
        f"adjustment, with weighted means and as denominator {denom} in the unadjusted "
        "sample (for a level of a categorical variable s² = p(1−p)), and as variance "
        "ratios (treated/control, weighted) for continuous variables; an absolute SMD "
        f"above {IMBALANCE_THRESHOLD:g} after adjustment is flagged."
    )
    var = (
        "robust standard errors clustered on the matched sets (cluster(pair))"
        if r.method == "matching"
        else "robust (Lin–Wei sandwich) standard errors"
    )
    out.append(
        f"Survival by treatment in the {'matched' if r.method == 'matching' else 'weighted'} "
        f"sample was estimated by {'weighted ' if r.method == 'weighting' else ''}"
        f"Kaplan–Meier with {ci} confidence intervals ({r.conf_type} transformation) from "
        "the infinitesimal-jackknife (robust) variance"
        + (" clustered on the matched sets" if r.method == "matching" else "")
        + "; the numbers at risk under the curves are unweighted patients. Differences in "
        "survival (treated − control) at the landmarks have Wald intervals with the two "
        "groups' variances added."
    )
    out.append(
        f"The hazard ratio of {treated} vs {control} comes from a Cox model with the "
        f"treatment only, {'weighted' if r.method == 'weighting' else 'in the matched sample with the matching weights'}, "
        f"with {var}, Wald {ci} confidence intervals and p-values ({r.cox.ties.capitalize()} "
        "ties); beside it the crude hazard ratio (Cox, all complete cases) and the "
        "multivariable-adjusted hazard ratio (Cox with the treatment and the confounders)."
    )
    if r.at:
        times = ", ".join(fmt_num(a.time) for a in r.at)
        out.append(f"Landmark times: {times} {unit_word(unit, r.at[-1].time)}.")
    return out


def _pct(p: float) -> str:
    """0.02 -> '2nd', 0.99 -> '99th', 0.025 -> '2.5th' (a percentile as an ordinal)."""
    x = round(100 * p, 6)
    text = fmt_num(x)
    if not float(x).is_integer():
        return f"{text}th"
    k = int(x)
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{text}{suffix}"

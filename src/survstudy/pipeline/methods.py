"""The facts of the report's *Statistical analysis* paragraph (the report words them).

What the spec asked for and how it was computed — the endpoints' definitions,
Table 1's summaries, the HR scaling, the CI methods, the permutation tests, the
precision notes, multiplicity, the time unit — as complete sentences and keys.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Sequence
from typing import Any

from survstudy.data import Cohort
from survstudy.data.plan import analysis_uses
from survstudy.data.registry import DerivedCohort
from survstudy.pipeline import engine
from survstudy.pipeline.context import MIN_EPV, fmt_num
from survstudy.pipeline.results import MethodsProfile
from survstudy.pipeline.table1 import MEASURED_SUMMARY
from survstudy.spec import StudySpec
from survstudy.stats.precision import FEW_EVENTS

__all__ = ["R_SURVIVAL_VERIFIED", "methods_facts"]

#: the version of R's survival package that made the test suite's reference numbers
#: (tests/reference/*.json record it; a test checks that they agree)
R_SURVIVAL_VERIFIED = "3.5.3"


def _sentence(text: str) -> str:
    """``text`` opening a sentence: its first letter in capitals (labels stay as written)."""
    return text[:1].upper() + text[1:]


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" and {items[-1]}"


def methods_facts(
    spec: StudySpec,
    cohort: Cohort | DerivedCohort,
    prof: MethodsProfile,
    versions: dict[str, str],
    models: Sequence[Any] = (),
    univariable: Sequence[Any] = (),
    applied_methods: dict[str, bool] | None = None,
) -> dict[str, Any]:
    """Facts for the Statistical analysis paragraph (the report words them).

    ``sentences`` are complete sentences on what the spec asked for (endpoint
    definitions, Table 1 summaries, HR scaling, multiplicity) for the report to
    append to its paragraph. ``applied_methods`` says which conditional methods the run applied
    (``firth``, ``permutation``): with the spec's ``auto`` option a method that was never
    needed is not described (``None``: describe what the spec allows).
    """
    applied = {"firth": True, "permutation": True, **(applied_methods or {})}
    a = spec.analyses
    sentences: list[str] = []
    used = set()
    if a.survival:
        used |= set(a.survival.endpoints)
    if a.univariable:
        used |= set(a.univariable.endpoints)
    used |= {m.endpoint for m in a.multivariable} | {k.endpoint for k in a.km}
    used |= {lm.endpoint for lm in a.landmark}
    used |= {te.endpoint for te in a.treatment_effect}
    for name, ep in cohort.endpoints.items():
        if name in used and ep.definition:
            sentences.append(ep.definition)
    if a.table1:
        summary = {
            "median-range": "medians (ranges)",
            "median-iqr": "medians (interquartile ranges)",
            "mean-sd": "means (standard deviations)",
        }[a.table1.continuous]
        sentences.append(
            f"Categorical variables are given as counts (percentages) of the patients to "
            f"whom each variable applies, continuous variables as {summary}"
            + (
                "; quartiles as SPSS computes them (weighted average)"
                if prof.name == "spss" and a.table1.continuous == "median-iqr"
                else ""
            )
            + "."
        )
    scaled = [
        f for f in [*(a.univariable.factors if a.univariable else [])] if f.per and f.per != 1
    ]
    if scaled:
        sentences.append(
            "Hazard ratios of continuous factors are per unit unless stated (for example "
            f"per {fmt_num(float(scaled[0].per or 1))} {spec.variables[scaled[0].variable].unit or 'units'}"
            " for "
            f"{spec.words_of(scaled[0].variable).lower()}), computed as exp(k·β)."
        )
    if a.multivariable:
        sentences.append(
            "Multivariable models were fitted to complete cases; the number of events per "
            "model parameter, Harrell's concordance (apparent, not validated; Harrell et al. "
            "1996) and the global proportional-hazards test "
            "are reported with each model."
        )
    factors = [
        *(a.univariable.factors if a.univariable else []),
        *(f for m in a.multivariable for f in m.covariates),
    ]
    tested = [
        r.nonlinearity_p
        for t in [*models, *univariable]
        for r in getattr(t, "rows", ())
        if r.kind in ("continuous", "spline")
    ]
    if any(math.isfinite(x) for x in tested):
        sentences.append(
            "The functional form of each continuous covariate was checked by a "
            "likelihood-ratio test of a restricted cubic spline with 4 knots at Harrell's "
            "quantiles (the 5th, 35th, 65th and 95th percentiles) against the linear term, "
            "in the same model (Harrell 2015)"
            + (
                "; it was not computed where the spline model would have had fewer than "
                f"{MIN_EPV} events per parameter."
                if not all(math.isfinite(x) for x in tested)
                else "."
            )
        )
    splines = list(
        dict.fromkeys(spec.words_of(f.variable) for f in factors if f.transform == "rcs")
    )
    logs = list(dict.fromkeys(spec.words_of(f.variable) for f in factors if f.transform == "log"))
    if splines:
        sentences.append(
            f"{_sentence(_join(splines))} entered the models as restricted cubic splines (4 knots); "
            "their hazard ratios are shown as curves against a reference value with pointwise "
            "confidence intervals, with the overall and the non-linearity likelihood-ratio p."
        )
    if logs:
        sentences.append(f"{_sentence(_join(logs))} entered the models as natural logarithms.")
    kinds = {s.kind for m in models for s in getattr(m, "sensitivity", ())}
    if kinds or any(getattr(m, "ph_plots", ()) for m in models):
        refit = {
            "stratified": "stratified on the categorical covariates whose test gave p < 0.05",
            "split": "with one hazard ratio before and one after the median follow-up for the "
            "continuous covariates whose test gave p < 0.05 (none being categorical)",
        }
        sentences.append(
            "Where a model's global proportional-hazards test gave p < 0.05, the scaled "
            "Schoenfeld residuals of each covariate were plotted against time (Kaplan–Meier "
            "scale) with a natural-spline smooth (Grambsch and Therneau 1994)"
            + (
                ", and the model was refitted "
                + " or ".join(refit[k] for k in sorted(kinds))
                + " as a sensitivity analysis."
                if kinds
                else "."
            )
        )
    firth = {a.univariable.firth} if a.univariable else set()
    firth |= {m.firth for m in a.multivariable}
    if "always" in firth:
        sentences.append(
            "Firth-penalised Cox models (Heinze and Schemper 2001) were fitted as well, with "
            "confidence intervals and p-values from the profile penalised likelihood."
        )
    elif "auto" in firth and (a.univariable or a.multivariable) and applied["firth"]:
        # only when a Firth estimate was reported (issue 22 item 6: only methods used)
        sentences.append(
            "Where a hazard ratio could not be estimated because the partial likelihood "
            "increased without bound (monotone likelihood, e.g. no events in one group), the "
            "Firth-penalised estimate (Heinze and Schemper 2001) is reported, with its "
            "confidence interval and p-value from the profile penalised likelihood."
        )
    cis = {a.univariable.ci} if a.univariable else set()
    cis |= {m.ci for m in a.multivariable}
    if cis:
        pct = f"{fmt_num(round(prof.conf_level * 100, 1))}%"
        if cis == {"profile"}:
            sentences.append(
                f"The {pct} confidence intervals of the Cox hazard ratios were computed from "
                "the profile likelihood (Venzon and Moolgavkar 1988), which behaves better "
                "than the Wald interval with few events; p-values are from Wald tests."
            )
        elif cis == {"wald"}:
            sentences.append(
                f"The {pct} confidence intervals of the Cox hazard ratios are Wald intervals, "
                f"exp(β ± {fmt_num(round(engine.z_value(prof.conf_level), 2))} × SE)."
            )
        else:
            where = [
                *(
                    ["the univariable analyses"]
                    if a.univariable and a.univariable.ci == "profile"
                    else []
                ),
                *(f"the model {m.name}" for m in a.multivariable if m.ci == "profile"),
            ]
            sentences.append(
                f"The {pct} confidence intervals of the Cox hazard ratios were computed from "
                f"the profile likelihood (Venzon and Moolgavkar 1988) for {', '.join(where)} "
                "and are Wald intervals elsewhere; p-values are from Wald tests."
            )
    competing = [
        name
        for name in spec.endpoints
        if name in used
        and (
            spec.endpoints[name].competing
            or (spec.endpoints[name].event_codes and spec.endpoints[name].event_codes.competing)  # type: ignore[union-attr]
        )
    ]
    if competing:
        pct = f"{fmt_num(round(prof.conf_level * 100, 1))}%"
        names = ", ".join(spec.words_of(n).lower() for n in competing)
        shr_where = []
        if a.univariable and any(n in competing for n in a.univariable.endpoints):
            shr_where.append("beside the cause-specific ones in the univariable analyses")
        if any(getattr(m, "model", "cox") == "fine-gray" for m in a.multivariable):
            shr_where.append("in the multivariable Fine–Gray models")
        sentences.append(
            f"For endpoints with a competing event ({names}), the cumulative incidence of the "
            "event and of the competing event was estimated by the Aalen–Johansen method "
            "instead of 1 − Kaplan–Meier, with Gray's delta-method variance (as R's "
            f"cmprsk::cuminc) and {pct} pointwise confidence intervals on the "
            f"{prof.conf_type} scale; curves were compared with Gray's test (Gray 1988). "
            "Hazard ratios from Cox models on these endpoints are cause-specific (competing "
            "events censored)"
            + (
                "; subdistribution hazard ratios (Fine–Gray models, Fine and Gray 1999, with "
                f"the robust variance of R's cmprsk::crr) are given {' and '.join(shr_where)}"
                if shr_where
                else ""
            )
            + "."
        )
    perm_options = {
        *([a.univariable.permutation] if a.univariable and a.univariable.logrank else []),
        *(k.permutation for k in a.km if k.by),
    } - {"never"}
    # with 'auto' only, a permutation test that never ran is not described
    if perm_options and (perm_options != {"auto"} or applied["permutation"]):
        when = (
            "where a group expected fewer than 5 events"
            if perm_options == {"auto"}
            else "where a group expected fewer than 5 events, or where the analysis asked for it"
            if "auto" in perm_options
            else "for every comparison"
        )
        sentences.append(
            f"{when[:1].upper()}{when[1:]}, the log-rank p from the chi-square approximation is "
            "accompanied by the exact permutation p (all assignments of the group labels "
            "enumerated, conditional on the observed times; Heimann and Neuhaus 1998) or, when "
            "enumeration is too large, a Monte-Carlo permutation p from seeded random "
            "permutations with its 95% Clopper–Pearson interval."
        )
    if any(k.by for k in a.km) and a.survival and a.survival.landmarks:
        tau = a.survival.rmst_tau or max(a.survival.landmarks)
        sentences.append(
            "For each Kaplan–Meier comparison of two groups, the absolute effects are given "
            "beside the test: the difference in survival at each landmark time, with the "
            "Greenwood variances of the two independent groups and a Wald confidence "
            "interval, and the difference in restricted mean survival time up to "
            f"{fmt_num(tau)} {cohort.unit} (the area under each Kaplan–Meier curve; Klein and "
            "Moeschberger's variance, Wald confidence interval and p; Royston and Parmar "
            "2013), not estimated where the horizon is beyond a group's last follow-up."
        )
    if a.precision is not None and (a.survival or a.univariable):
        sentences.append(
            "The precision of each endpoint is stated as the expected width of a hazard "
            "ratio's confidence interval from the observed number of events (variance of "
            "the log hazard ratio 1/(D·p·(1 − p)) for D events and a share p in one of two "
            "groups; Schoenfeld 1983), not as post-hoc power."
        )
    few = sorted(
        {ep for ep in used if ep in cohort.endpoints and cohort.endpoints[ep].events < FEW_EVENTS}
    )
    if few:
        names = ", ".join(
            spec.words_of(ep)
            if cohort.endpoints[ep].label in ("", ep)
            else cohort.endpoints[ep].label
            for ep in few
        )
        sentences.append(
            f"With fewer than {FEW_EVENTS} events ({names}), hazard ratios cannot be "
            "estimated with useful precision (Peduzzi et al. 1995): "
            + (
                "their confidence intervals are from the profile likelihood (Venzon and "
                "Moolgavkar 1988), "
                if not isinstance(cohort, DerivedCohort)
                else ""
            )
            + (
                "the exact permutation log-rank p (Heimann and Neuhaus 1998) is the p of a "
                "group comparison with the chi-square p beside it, "
                if perm_options and not isinstance(cohort, DerivedCohort)
                else ""
            )
            + "the results are exploratory."
        )
    sentences.extend(_time_dependent_sentences(spec, cohort.unit))
    if a.treatment_effect:
        names = ", ".join(f"'{te.name}'" for te in a.treatment_effect)
        sentences.append(
            f"Treatments were compared by propensity-score weighting or matching ({names}); "
            "each comparison's section states its propensity model, weights or matching, "
            "balance measures and variances."
        )
    adjust = a.univariable.adjust if a.univariable else "none"
    adjusted = {
        "none": "without adjustment for multiple testing",
        "holm": "univariable p-values were also adjusted for the number of factors tested "
        "by Holm's method",
        "bh": "univariable p-values were also adjusted for the number of factors tested "
        "by the Benjamini–Hochberg method (false discovery rate)",
    }[adjust]
    sentences.append(
        f"Durations were computed in days and are reported in {cohort.unit}"
        + (f" (1 month = {cohort.days_per_unit:g} days)" if cohort.unit == "months" else "")
        + f"; two-sided p < 0.05 was considered statistically significant, {adjusted}."
    )
    return {
        "sentences": sentences,
        "profile": prof.name,
        "software": f"survstudy {versions.get('survstudy', '')} (Python "
        f"{versions.get('python', '')}, NumPy {versions.get('numpy', '')}, SciPy "
        f"{versions.get('scipy', '')})",
        "km_ci": f"{prof.conf_type} pointwise confidence intervals (Greenwood variance)",
        "conf_level": prof.conf_level,
        "median_rule": prof.median_rule,
        "ties": prof.ties,
        "tests": ["log-rank"]
        if prof.name == "standard"
        else ["log-rank (Mantel–Cox)", "Breslow (generalized Wilcoxon)"],
        "followup": "reverse Kaplan–Meier",
        "conf_type": prof.conf_type,
        "cox_used": bool(a.univariable or a.multivariable),
        "logrank_used": bool(any(k.by for k in a.km) or (a.univariable and a.univariable.logrank)),
        "verified_against": f"R survival {R_SURVIVAL_VERIFIED}",
        "cox_ci": sorted(cis),
        "permutation": sorted(perm_options),
        "continuous_summary": a.table1.continuous if a.table1 else None,
        "time_unit": cohort.unit,
        "days_per_unit": cohort.days_per_unit,
        "endpoints": {n: e.definition for n, e in cohort.endpoints.items()},
        "platform": platform.python_implementation(),
    }


def _time_dependent_sentences(spec: StudySpec, unit: str) -> list[str]:
    """Issue 19: how time-dependent variables and landmarks were analysed (none: [])."""
    a = spec.analyses
    out: list[str] = []
    td: dict[str, str] = {}
    measured: list[str] = []
    for v, _ep in analysis_uses(spec):
        var = spec.variables.get(v)
        if var is not None and var.time_dependent is not None:
            if var.time_dependent.from_ is None:
                measured.append(v)
                continue
            td[v] = spec.words_of(var.time_dependent.from_).lower()
    if measured:
        names = ", ".join(spec.words_of(v).lower() for v in dict.fromkeys(measured))
        kinds = {MEASURED_SUMMARY.get(spec.variables[v].summary or "last", "") for v in measured}
        table1 = (
            f" Table 1 shows {next(iter(kinds))} of each patient."
            if len(kinds) == 1 and "" not in kinds
            else ""
        )
        out.append(
            f"Values measured repeatedly during follow-up — {names} — were analysed as "
            "time-dependent covariates: each patient's follow-up was split at the measurement "
            "dates and each measurement held from its date until the next (Therneau and "
            "Grambsch 2000); follow-up before a patient's first measurement was left out of "
            f"the Cox models.{table1}"
        )
    if td:
        names = ", ".join(f"{spec.words_of(v).lower()} (from the {d})" for v, d in td.items())
        out.append(
            f"Exposures that start after time zero — {names} — were analysed as "
            "time-dependent covariates: each patient's follow-up was split at the exposure "
            "date (unexposed before, exposed from it; Therneau and Grambsch 2000), Cox models "
            "were fitted to the counting-process data, curves by exposure are Simon–Makuch "
            "estimates (Simon and Makuch 1984) with patients moving between curves, and "
            "groups were compared with the Mantel–Byar test (Mantel and Byar 1974). Table 1 "
            "shows the exposure status at the end of follow-up."
        )
    if a.landmark:
        ats = ", ".join(fmt_num(float(lm.at)) for lm in a.landmark)
        out.append(
            f"In landmark analyses (at {ats} {unit}; Anderson, Cain and Gelber 1983), the "
            "patients still under follow-up at the landmark were grouped by their status at "
            "the landmark and followed from it (Kaplan–Meier, log-rank test, Cox model); "
            "patients with an event or censored before the landmark were excluded."
        )
    return out

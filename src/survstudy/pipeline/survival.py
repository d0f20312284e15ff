"""Survival summaries: per endpoint n, events, median, landmark rates and follow-up.

``analyses.survival`` of the spec. The Kaplan–Meier estimate (and the reverse
Kaplan–Meier for the median follow-up, censorings as events — Schemper and Smith
1996) comes from the context's rows; the median and its CI follow the profile's
rule (R's ``survfit``, or SPSS's KM median with its SE) and both profiles' medians
are kept for the reconciliation table. An endpoint with competing events also gets its
cumulative incidence at the landmarks (:mod:`.competing`); its Kaplan–Meier median (competing
events censored) stays in ``results.json`` but is not printed, and the reverse Kaplan–Meier
of the follow-up counts only censorings as the end of follow-up.
"""

from __future__ import annotations

import re
from dataclasses import replace

from survstudy.data.cohort import death_variables
from survstudy.pipeline import engine
from survstudy.pipeline.competing import cif_summary, competing_label
from survstudy.pipeline.context import FEW_AT_RISK, StudyContext, fmt_num, unit_word
from survstudy.pipeline.precision import endpoint_precision
from survstudy.pipeline.results import (
    EndpointSummary,
    FollowUp,
    Landmark,
    Median,
    ProfileDifference,
)

__all__ = [
    "endpoint_warnings",
    "median_difference",
    "median_of",
    "survival_summaries",
    "survival_summary",
]

#: Words of an endpoint's name or label that make death from any cause one of its events
#: (DATECAN, Gourgou-Bourgade et al. 2015): progression-, disease-, relapse-, recurrence-,
#: event- and metastasis-free survival.
_FREE_SURVIVAL = re.compile(
    r"\b(progression|disease|relapse|recurrence|event|metastasis)[- ]free\b|\b(pfs|dfs|rfs|efs)\b",
    re.IGNORECASE,
)


def median_of(km: engine.KM, rule: str, days_per_unit: float, conf_level: float) -> Median:
    """The median of a Kaplan–Meier estimate and its CI in display units, by ``rule``
    (``spss``: SPSS's median with its SE; otherwise R's ``survfit`` median)."""
    if rule == "spss":
        est, se, lo, hi = engine.spss_median(km, conf_level)
        return Median(
            est / days_per_unit, lo / days_per_unit, hi / days_per_unit, "spss", se / days_per_unit
        )
    est, lo, hi = engine.r_median(km)
    return Median(est / days_per_unit, lo / days_per_unit, hi / days_per_unit, "r")


def survival_summary(
    ctx: StudyContext, ep: str, landmarks: list[float]
) -> tuple[EndpointSummary, Median]:
    """The summary of endpoint ``ep`` (with its warnings) and the other profile's median."""
    prof, other, warn, cohort = ctx.profile, ctx.other, ctx.warn, ctx.cohort
    surv = ctx.rows.survival(ep, conf_type=prof.conf_type, conf_level=prof.conf_level)
    km = surv.km
    info = cohort.endpoints[ep]
    dpu = cohort.days_per_unit
    unit = cohort.unit
    notes: list[str] = []
    for w in getattr(km, "warnings", ()):
        warn.add(w.code, f"{info.label}: {w.message}", "survival", endpoint=ep)
    med = median_of(km, prof.median_rule, dpu, prof.conf_level)
    med_other = median_of(km, other.median_rule, dpu, other.conf_level)
    competing = competing_label(ctx, ep) is not None
    if not med.reached and not competing:
        notes.append(
            warn.add(
                "MEDIAN-NOT-REACHED",
                f"{info.label}: the median was not reached (more than half of the patients "
                "were event-free at the last follow-up)",
                "survival",
                endpoint=ep,
            )
        )
    at: list[Landmark] = []
    n = surv.n
    limit = max(FEW_AT_RISK, 0.1 * n)
    for lm in landmarks:
        s, se, lo, hi, n_risk = engine.survival_at(km, lm * dpu)
        codes: list[str] = []
        msgs: list[str] = []
        beyond = lm * dpu > surv.max_time
        if n_risk < limit and not beyond:
            codes.append("FEW-AT-RISK")
            # (a competing-risks endpoint's notes are on its cumulative incidence instead)
            msg = (warn.add if not competing else _say)(
                "FEW-AT-RISK",
                f"{info.label} at {fmt_num(lm)} {unit_word(unit, lm)}: only {n_risk} "
                f"patient{'s' if n_risk != 1 else ''} still at risk, so this rate is imprecise.",
                "survival",
                endpoint=ep,
                time=lm,
            )
            msgs.append(msg)
        if beyond:
            codes.append("BEYOND-FOLLOW-UP")
            msg = (warn.add if not competing else _say)(
                "BEYOND-FOLLOW-UP",
                f"{info.label} at {fmt_num(lm)} {unit_word(unit, lm)}: beyond the longest "
                "follow-up; the rate is not estimable",
                "survival",
                endpoint=ep,
                time=lm,
            )
            msgs.append(msg)
            s = lo = hi = se = float("nan")
        at.append(Landmark(lm, s, lo, hi, se, n_risk, tuple(codes), tuple(msgs)))
    # Median follow-up: reverse Kaplan–Meier (censorings as events), by the profile's rule.
    fmed = median_of(surv.reverse, prof.median_rule, dpu, prof.conf_level)
    followup = FollowUp(
        fmed.estimate, fmed.lower, fmed.upper, surv.min_time / dpu, surv.max_time / dpu
    )
    summary = EndpointSummary(
        name=ep,
        label=info.label,
        definition=info.definition,
        n=n,
        events=surv.events,
        median=med,
        followup=followup,
        at=tuple(at),
        median_other=med_other,
        warnings=tuple(notes),
        # the KM table's times are in days (the cohort's durations)
        person_years=km.total_time() / ctx.spec.units.days_per_year,
    )
    if competing:
        # cumulative incidence of the event and the competing event instead of 1 − KM
        summary = replace(summary, cif=cif_summary(ctx, ep, landmarks, km, surv.max_time))
    return summary, med_other


def _say(_code: str, message: str, _section: str, **_where: object) -> str:
    """A note's text without recording it as a study warning."""
    return message


def median_difference(ctx: StudyContext, ep: str, med: Median, other: Median) -> ProfileDifference:
    """The reconciliation row of an endpoint's median under both profiles."""
    std, sps = (med, other) if ctx.profile.name == "standard" else (other, med)
    return ProfileDifference(
        section="survival",
        analysis="Survival summary",
        item=ctx.cohort.endpoints[ep].label,
        quantity=f"Median, {ctx.cohort.unit} (95% CI)",
        kind="time",
        standard=std.estimate,
        standard_lower=std.lower,
        standard_upper=std.upper,
        spss=sps.estimate,
        spss_lower=sps.lower,
        spss_upper=sps.upper,
        standard_method="median rule and CI",
        spss_method="median rule and CI",
    )


def _used_endpoints(ctx: StudyContext) -> list[str]:
    a = ctx.spec.analyses
    used = [
        *(a.survival.endpoints if a.survival else []),
        *(a.univariable.endpoints if a.univariable else []),
        *(m.endpoint for m in a.multivariable),
        *(k.endpoint for k in a.km),
    ]
    return [ep for ep in dict.fromkeys(used) if ep in ctx.cohort.endpoints]


def endpoint_warnings(ctx: StudyContext) -> None:
    """Warnings on how the analysed endpoints are defined (REMARK 7, STROBE 7).

    ``ENDPOINT-NO-DEFINITION``: an endpoint from a time and an event column has no
    ``definition:`` (the methods then name it by its label only, never by its columns).
    ``ENDPOINT-NO-DEATH``: its name or label says progression-, disease-, relapse- or
    recurrence-free (or event-/metastasis-free) survival but a date of death of the spec
    is not among its events (it is then a time to progression, not a PFS).
    ``ENDPOINT-ALL-EVENTS``: every patient has the event (no one censored): the cohort was
    probably selected on the event, and hazard ratios compare the timing of an event all
    patients had.
    """
    spec, cohort = ctx.spec, ctx.cohort
    deaths = death_variables(spec)
    for ep in _used_endpoints(ctx):
        e = spec.endpoints.get(ep)
        info = cohort.endpoints[ep]
        if e is None:
            continue
        if not e.from_dates and not e.definition:
            ctx.warn.add(
                "ENDPOINT-NO-DEFINITION",
                f"{info.label}: no definition in the spec; give the endpoint a "
                "'definition:' (time origin, which events count, how patients without an "
                "event are censored) for the methods",
                "endpoints",
                endpoint=ep,
            )
        if _FREE_SURVIVAL.search(f"{ep} {e.label or ''}") and e.from_dates:
            missing = [d for d in deaths if d not in e.events and d not in e.competing]
            if missing:
                ctx.warn.add(
                    "ENDPOINT-NO-DEATH",
                    f"{info.label}: death ({', '.join(spec.label_of(d) for d in missing)}) "
                    "is not one of its events, so this is the time to "
                    + " or ".join(spec.label_of(v).lower() for v in e.events)
                    + ", not a "
                    + f"{info.label.lower()} (which counts death from any cause as an event); "
                    "add the date of death to 'events' or rename the endpoint",
                    "endpoints",
                    endpoint=ep,
                )
        if info.n > 0 and info.events == info.n:
            ctx.warn.add(
                "ENDPOINT-ALL-EVENTS",
                f"{info.label}: every patient ({info.n}) has the event and no one is censored; "
                "if the patients were selected because they had it, its analysis describes "
                "the timing of an event all of them had and hazard ratios are not "
                "estimates of risk",
                "endpoints",
                endpoint=ep,
            )


def survival_summaries(
    ctx: StudyContext,
) -> tuple[dict[str, EndpointSummary], list[ProfileDifference]]:
    """``analyses.survival``: every listed endpoint's summary (with its precision note) and
    the medians' reconciliation rows."""
    s = ctx.spec.analyses.survival
    endpoints: dict[str, EndpointSummary] = {}
    recon: list[ProfileDifference] = []
    if not s:
        return endpoints, recon
    for ep in s.endpoints:
        ctx.check_endpoint(ep, ("analyses", "survival", "endpoints"))
        summary, other_median = survival_summary(ctx, ep, s.landmarks)
        summary = replace(summary, precision=endpoint_precision(ctx, ep))
        endpoints[ep] = summary
        if not summary.competing:  # (no Kaplan–Meier median for a competing-risks endpoint)
            recon.append(median_difference(ctx, ep, summary.median, other_median))
    return endpoints, recon

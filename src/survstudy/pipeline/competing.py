"""Competing risks in the study run: cumulative incidence instead of 1 − Kaplan–Meier.

An endpoint is a competing-risks endpoint when the spec gives it competing events
(``competing:`` dates, or ``event_codes.competing`` values of its event column): its status
is 0 (censored), 1 (the event) or 2 (a competing event). For such an endpoint

* the survival summary (:mod:`.survival`) carries the cumulative incidence of the event and
  of the competing event at the landmarks (Aalen–Johansen, ``cmprsk::cuminc`` with its
  variance, pointwise CIs on the profile's scale — :func:`cif_summary`), with a note where
  1 − Kaplan–Meier (competing events censored) would differ by more than one percentage
  point;
* the figures of ``analyses.km`` show cumulative-incidence curves and Gray's test
  (:mod:`.km_figures`);
* the univariable tables add the Fine–Gray subdistribution HR to the cause-specific HR
  (:mod:`.univariable`), and a multivariable model may be ``model: fine-gray``.

The estimators are :mod:`survstudy.stats.competing` and :mod:`survstudy.stats.finegray`.
"""

from __future__ import annotations

import math
from typing import Any

from survstudy.pipeline import engine
from survstudy.pipeline.context import FEW_AT_RISK, StudyContext, fmt_num, unit_word
from survstudy.pipeline.results import CIFPoint, CIFSummary

__all__ = [
    "DIFF_NOTE",
    "cif_summary",
    "competing_key",
    "competing_label",
    "few_events_text",
    "percent_text",
]

#: 1 − KM and the cumulative incidence further apart than this (a proportion) get a note
DIFF_NOTE = 0.01


def _code_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def competing_label(ctx: StudyContext, ep: str) -> str | None:
    """What the competing event of endpoint ``ep`` is, in words (``None``: the endpoint has
    no competing events): its ``competing_label``, else the labels of its ``competing``
    dates, or its ``event_codes.competing`` values."""
    spec_ep = ctx.spec.endpoints.get(ep)
    if spec_ep is None:
        return None
    has = spec_ep.competing or (spec_ep.event_codes is not None and spec_ep.event_codes.competing)
    if has and spec_ep.competing_label:
        return spec_ep.competing_label
    if spec_ep.competing:
        return ", ".join(ctx.spec.label_of(v) for v in spec_ep.competing)
    codes = spec_ep.event_codes
    if codes is not None and codes.competing:
        return ", ".join(_code_text(v) for v in codes.competing)
    return None


def competing_key(ctx: StudyContext, ep: str) -> tuple[str, ...]:
    """The spec key that makes ``ep`` a competing-risks endpoint (for error messages)."""
    spec_ep = ctx.spec.endpoints[ep]
    if spec_ep.competing:
        return ("endpoints", ep, "competing")
    return ("endpoints", ep, "event_codes", "competing")


def few_events_text(ctx: StudyContext, ep: str, w: Any, group: str | None = None) -> str:
    """A cumulative incidence's ``FEW-EVENTS`` warning in the study's words (the event or
    the competing event, not "cause 1")."""
    label = ctx.endpoint_label(ep)
    if w.code != "FEW-EVENTS":
        return f"{label}: {w.message}"
    cause = w.context.get("cause")
    n = w.context.get("events", 0)
    what = (
        f"the event ({_lower(label)})"
        if cause == 1
        else f"the competing event ({competing_label(ctx, ep) or 'competing event'})"
    )
    where = f"{label}" + (f", {group}" if group else "")
    if not n:
        return f"{where}: no patient with {what}; its cumulative incidence is 0 throughout"
    return (
        f"{where}: only {float(n):g} patient{'s' if n != 1 else ''} with {what}; its "
        "cumulative incidence is imprecise"
    )


def _lower(text: str) -> str:
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def percent_text(p: float) -> str:
    """A proportion as a percentage in a sentence: ``32%``, ``9.5%`` (one decimal below 10%)."""
    v = 100.0 * p
    return f"{v:.0f}%" if v >= 10 else f"{v:.1f}%"


def cif_summary(
    ctx: StudyContext, ep: str, landmarks: list[float], km: Any, max_time: float
) -> CIFSummary:
    """Cumulative incidence of the event and of the competing event at ``landmarks``
    (display units), with 1 − Kaplan–Meier of the event (``km``: competing events
    censored) beside it and the notes: few at risk, beyond follow-up, and 1 − KM differing
    by more than one percentage point."""
    prof, warn, cohort = ctx.profile, ctx.warn, ctx.cohort
    label = ctx.endpoint_label(ep)
    comp = competing_label(ctx, ep) or "competing event"
    dpu, unit = cohort.days_per_unit, cohort.unit
    groups = ctx.rows.cif_groups(ep, None, conf_type=prof.conf_type, conf_level=prof.conf_level)
    _lev, cif, n = groups[0]
    for w in cif.warnings:
        warn.add(w.code, few_events_text(ctx, ep, w), "survival", endpoint=ep)
    limit = max(FEW_AT_RISK, 0.1 * n)
    points: list[CIFPoint] = []
    days = [lm * dpu for lm in landmarks]
    at_event = cif.at(days, 1)
    at_comp = cif.at(days, 2)
    for k, lm in enumerate(landmarks):
        when = f"{label} at {fmt_num(lm)} {unit_word(unit, lm)}"
        beyond = days[k] > max_time
        n_risk = int(at_event.n_risk[k])
        s_km = engine.survival_at(km, days[k])[0]
        one_minus = 1.0 - s_km if not beyond else float("nan")
        for cause, at in (("event", at_event), ("competing", at_comp)):
            f = float(at.cif[k])
            lo, hi, se = float(at.lower[k]), float(at.upper[k]), float(at.std_err[k])
            codes: list[str] = []
            msgs: list[str] = []
            if n_risk < limit and not beyond:
                codes.append("FEW-AT-RISK")
                msgs.append(
                    warn.add(
                        "FEW-AT-RISK",
                        f"{when}: only {n_risk} patient{'s' if n_risk != 1 else ''} still "
                        "event-free and under observation, so the cumulative incidence is "
                        "imprecise.",
                        "survival",
                        endpoint=ep,
                        time=lm,
                    )
                )
            if beyond:
                codes.append("BEYOND-FOLLOW-UP")
                msgs.append(
                    warn.add(
                        "BEYOND-FOLLOW-UP",
                        f"{when}: beyond the longest follow-up; the cumulative incidence is "
                        "not estimable",
                        "survival",
                        endpoint=ep,
                        time=lm,
                    )
                )
                f = lo = hi = se = float("nan")
            km_c = one_minus if cause == "event" else float("nan")
            if (
                cause == "event"
                and math.isfinite(f)
                and math.isfinite(km_c)
                and abs(km_c - f) > DIFF_NOTE
            ):
                codes.append("CIF-VS-KM")
                msgs.append(
                    warn.add(
                        "CIF-VS-KM",
                        f"{when}: cumulative incidence {percent_text(f)} with {comp} as a "
                        f"competing event; 1 − Kaplan–Meier would give {percent_text(km_c)} "
                        f"(it counts patients with {comp} as if they could still have the "
                        "event).",
                        "survival",
                        endpoint=ep,
                        time=lm,
                    )
                )
            if cause == "competing":
                msgs = []  # (the same time's notes are already on the event's row)
            points.append(
                CIFPoint(
                    time=lm,
                    cause=cause,
                    cif=f,
                    lower=lo,
                    upper=hi,
                    std_err=se,
                    n_risk=n_risk,
                    km_complement=km_c,
                    warnings=tuple(codes),
                    messages=tuple(msgs),
                )
            )
    return CIFSummary(
        competing_label=comp,
        competing_events=round(cif.events(2)),
        conf_type=prof.conf_type,
        conf_level=prof.conf_level,
        at=tuple(points),
    )

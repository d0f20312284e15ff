"""Precision notes: what the observed events allow a hazard ratio to be estimated to.

``analyses.precision`` of the spec. At the endpoint's observed number of events, for
two equal groups or for the observed groups of a two-group factor: the expected width
of a hazard ratio's confidence interval (:func:`survstudy.stats.precision.study_precision`,
Schoenfeld 1983's variance), worded as the precision of the study and not as a power
claim ("With 299 events, a hazard ratio between two groups of equal size is estimated
to within a factor of about 1.25 …"); below 10 events no number, only "too few events
for a comparative analysis". Schoenfeld's detectable hazard ratio
(:func:`survstudy.stats.power.detectable_hr`) stays in ``results.json`` (``hr``) but is
no longer the printed sentence: post-hoc power reads as a finding (Hoenig and Heisey 2001).
"""

from __future__ import annotations

import math

from survstudy.pipeline import engine
from survstudy.pipeline.context import StudyContext, fmt_num
from survstudy.pipeline.results import Precision
from survstudy.spec import StudySpec
from survstudy.stats.precision import study_precision

__all__ = ["about", "endpoint_precision", "event_noun", "precision_message"]


def event_noun(spec: StudySpec, ep: str, events: int) -> str:
    """The endpoint's plural noun for its events ("progressions"), singular for one event."""
    e = spec.endpoints.get(ep)
    noun = (e.event_noun if e is not None and e.event_noun else None) or "events"
    if events == 1 and noun.endswith("s") and not noun.endswith("ses"):
        return noun[:-1]
    return noun


def about(hr: float) -> str:
    """A detectable HR in words: one decimal below 10, whole numbers to 100, then 2 digits."""
    if hr < 10:
        # a registry detects HRs barely above 1: "1.003", never "1.0" (which reads "no effect")
        for digits in (1, 2):
            if hr == 1 or f"{hr:.{digits}f}".rstrip("0") != "1.":
                return f"{hr:.{digits}f}"
        return f"{hr:.3f}"
    if hr < 100:
        return str(round(hr))
    return str(int(float(f"{hr:.2g}")))


def precision_message(
    noun: str, events: int, hr: float, power: float, between: str | None = None
) -> str:
    """The precision note's sentence."""
    pw = f"{fmt_num(round(power * 100, 1))}%"
    tail = "; a non-significant result here does not show the absence of an effect."
    if events == 0 or not math.isfinite(hr):
        return f"With no {noun}, no hazard ratio could have been detected" + tail
    only = "only " if hr >= 2 else ""
    # the report's count style (survstudy.tables.format.count): "9999", "7,623,599"
    n_events = f"{events:,}" if events >= 10_000 else str(events)
    what = f" between the groups of {between}" if between else ""
    return (
        f"With {n_events} {noun}, {only}a hazard ratio{what} of about {about(hr)} or more could "
        f"have been detected with {pw} power" + tail
    )


def endpoint_precision(ctx: StudyContext, ep: str) -> Precision | None:
    """Schoenfeld's detectable HR at the endpoint's observed events: two equal groups, or
    the observed groups of ``analyses.precision.factor`` (patients with a known value)."""
    spec, rows = ctx.spec, ctx.rows
    pr = spec.analyses.precision
    if pr is None:
        return None
    share, between = 0.5, None
    sel = rows.select(ep, [])
    if pr.factor:
        design = rows.design(pr.factor)
        if not design.categorical or len(design.levels) != 2:
            raise ctx.spec_error(
                f"analyses.precision.factor '{pr.factor}' must be a variable with two groups",
                "analyses",
                "precision",
                "factor",
            )
        sel = rows.select(ep, [design])
        share = sel.share() if sel.n else 0.0
        between = design.label
    events = sel.events
    d = engine.detectable_hr(events, share, alpha=pr.alpha, power=pr.power)
    sp = study_precision(events, share, conf_level=ctx.profile.conf_level)
    message = sp.message
    if between and not sp.few_events:
        message = message.replace("the two groups", f"the groups of {between}")
    return Precision(
        events=events,
        proportion=share,
        alpha=pr.alpha,
        power=pr.power,
        hr=float(d.hr),
        message=message,
        factor=float("nan") if sp.factor is None else float(sp.factor),
        few_events=bool(sp.few_events),
    )

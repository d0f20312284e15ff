"""The few-events regime of the Cox tables (issue 22): below ``FEW_EVENTS`` (10) events.

Hazard ratios rest on too little information to be estimated with useful precision
(Peduzzi et al. 1995; :mod:`survstudy.stats.precision`): the univariable tables and the
multivariable models of such an endpoint use profile-likelihood limits (Venzon and
Moolgavkar 1988) whatever the spec's ``ci`` says (:func:`few_events_ci`; a registry
cohort read by an engine keeps ``ci``, the profile needs the rows), and every row with
an estimate carries the ``FEW-EVENTS`` warning (:func:`few_events_rows`).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from survstudy.pipeline.context import StudyContext
from survstudy.pipeline.results import CoxRow
from survstudy.stats.precision import FEW_EVENTS, few_events_warning

__all__ = ["FEW_EVENTS", "few_events_ci", "few_events_rows"]


def few_events_ci(ci: str, events: int, in_memory: bool = True) -> str:
    """The CI method of a model with ``events`` events: profile likelihood (Venzon and
    Moolgavkar 1988) below ``FEW_EVENTS``, where Wald limits are unreliable; else ``ci``.
    (A registry cohort read by an engine keeps ``ci``: profile limits need the rows.)"""
    return "profile" if events < FEW_EVENTS and in_memory else ci


def few_events_rows(
    ctx: StudyContext,
    rows: list[CoxRow],
    events: int,
    what: str,
    section: str,
    **where: Any,
) -> list[CoxRow]:
    """Below ``FEW_EVENTS`` events: the ``FEW-EVENTS`` warning on every row with an estimate
    (:func:`survstudy.stats.precision.few_events_warning`), recorded once for the study."""
    w = few_events_warning(events)
    if w is None or not any(math.isfinite(r.coef) for r in rows):
        return rows
    text = w.message[:1].upper() + w.message[1:]
    ctx.warn.add("FEW-EVENTS", f"{what}: {w.message}", section, **where)
    # rows of a model that was not fitted (no events, one group) say so already
    return [
        replace(r, warnings=(*r.warnings, text))
        if r.kind in ("continuous", "level") and math.isfinite(r.coef)
        else r
        for r in rows
    ]

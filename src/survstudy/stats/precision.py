"""The few-events regime and the precision of a study, worded without a power claim.

Few events. Below ``FEW_EVENTS`` (10) events in an endpoint, hazard ratios rest on too
little information to be estimated with useful precision (Peduzzi et al. 1995, J Clin
Epidemiol 48:1503: below 10 events per variable the Cox model "may not be valid"):
:func:`few_events_warning` gives the ``FEW-EVENTS`` warning to show on every model row of
that endpoint. What to use instead exists elsewhere in this package: profile-likelihood
confidence limits (:func:`.firth.cox_fit_ci` with ``ci="profile"``) or Firth's penalised
estimates (:func:`.firth.cox_fit_firth`) for every row, and the exact or permutation
log-rank p (:func:`.exact.logrank_small_sample` with ``method="exact"``) as the primary p
of a group comparison, the chi-square p beside it.

Precision of the study. A detectable hazard ratio (:mod:`.power`) computed after the
study from its observed events is post-hoc power (Hoenig & Heisey 2001, Am Stat 55:19): a
reader takes "could have detected HR ≥ 25" as a finding. The same information worded as
precision is the expected width of the hazard ratio's confidence interval: with ``D``
events and a share ``p`` in one of two groups the log hazard ratio has variance about
``1 / (D p (1 − p))`` (Schoenfeld 1983, Biometrics 39:499), so its ``conf_level``
confidence interval extends a factor ``exp(z / sqrt(D p (1 − p)))`` either side of the
estimate. :func:`study_precision` gives that factor and a sentence; below ``FEW_EVENTS``
events it gives no number, only "too few events for comparative analysis".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from survstudy.stats._common import StatWarning, clean_float
from survstudy.stats._dist import norm_ppf

__all__ = ["FEW_EVENTS", "StudyPrecision", "few_events_warning", "study_precision"]

FEW_EVENTS = 10


def few_events_warning(
    events: int, *, threshold: int = FEW_EVENTS, endpoint: str | None = None
) -> StatWarning | None:
    """A ``FEW-EVENTS`` warning when ``events`` < ``threshold``, else ``None``."""
    if events < 0:
        raise ValueError("events must be >= 0")
    if events >= threshold:
        return None
    noun = "event" if events == 1 else "events"
    return StatWarning(
        "FEW-EVENTS",
        f"only {events} {noun}: hazard ratios cannot be estimated with useful precision, "
        "and Wald and chi-square p-values are unreliable; treat the results as exploratory",
        {"events": int(events), "threshold": int(threshold), "endpoint": endpoint},
    )


@dataclass(frozen=True)
class StudyPrecision:
    """Expected precision of a two-group hazard ratio from ``events`` (module docstring).

    ``factor`` is ``exp(z / sqrt(D p (1 − p)))``: the CI runs from about HR/factor to
    HR×factor. ``None`` (and ``few_events`` True) below the threshold; ``inf`` with one
    group empty or no events. ``message`` is the sentence for a report.
    """

    events: int
    proportion: float
    conf_level: float
    factor: float | None
    few_events: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "proportion": clean_float(self.proportion),
            "conf_level": self.conf_level,
            "factor": clean_float(self.factor),
            "few_events": self.few_events,
            "message": self.message,
        }


def _factor_text(f: float) -> str:
    return f"{f:.2f}" if f < 10 else f"{f:.0f}"


def study_precision(
    events: int,
    proportion: float = 0.5,
    *,
    conf_level: float = 0.95,
    threshold: int = FEW_EVENTS,
) -> StudyPrecision:
    """The precision of a hazard ratio from ``events`` events (module docstring)."""
    if events < 0:
        raise ValueError("events must be >= 0")
    if not 0.0 <= proportion <= 1.0:
        raise ValueError("proportion must be in [0, 1]")
    if not 0.0 < conf_level < 1.0:
        raise ValueError("conf_level must be in (0, 1)")
    noun = "event" if events == 1 else "events"
    if events < threshold:
        return StudyPrecision(
            events=int(events),
            proportion=float(proportion),
            conf_level=conf_level,
            factor=None,
            few_events=True,
            message=f"Too few events ({events}) for a comparative analysis; "
            "the results are descriptive.",
        )
    info = events * proportion * (1.0 - proportion)
    z = norm_ppf(1.0 - (1.0 - conf_level) / 2.0)
    factor = math.exp(z / math.sqrt(info)) if info > 0 else math.inf
    level = f"{100 * conf_level:g}%"
    groups = "two groups of equal size" if proportion == 0.5 else "the two groups"
    ft = _factor_text(factor)
    message = (
        f"With {events} {noun}, a hazard ratio between {groups} is estimated to within a "
        f"factor of about {ft} (its {level} confidence interval runs from about HR/{ft} "
        f"to HR×{ft}). This describes the precision of the study; it is not a power "
        "calculation."
        if math.isfinite(factor)
        else f"With {events} {noun} and one group empty, no hazard ratio can be estimated."
    )
    return StudyPrecision(
        events=int(events),
        proportion=float(proportion),
        conf_level=conf_level,
        factor=factor,
        few_events=False,
        message=message,
    )

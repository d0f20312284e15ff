"""Precision of a survival comparison from its number of events (Schoenfeld 1983).

For a two-group comparison by the log-rank test (equivalently the Cox score test of
a binary covariate) with allocation proportion ``p`` and ``D`` events, the log hazard
ratio is estimated with variance ≈ 1 / (D·p·(1 − p)). A two-sided test at level α
then has power ``1 − β`` against a hazard ratio ``HR`` when

    D = (z_{1−α/2} + z_{1−β})² / (p·(1 − p)·(log HR)²),

so the smallest hazard ratio (>= 1) detectable with that power from ``D`` observed
events is

    HR_min = exp((z_{1−α/2} + z_{1−β}) / sqrt(D·p·(1 − p))).

(A protective effect 1/HR_min is detected with the same power.) This is what a
reader needs next to a "non-significant" result: with 3 events and equal groups
only a hazard ratio of about 25 could have been found with 80% power.

References: Schoenfeld DA (1983) Sample-size formula for the proportional-hazards
regression model. *Biometrics* 39:499–503; Collett D (2015) *Modelling Survival
Data in Medical Research*, 3rd ed., section 10.2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from survstudy.stats._common import clean_float
from survstudy.stats._dist import norm_ppf

__all__ = ["DetectableHR", "detectable_hr", "events_required", "minimum_detectable_hr"]


def _z_sum(alpha: float, power: float) -> float:
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must be in (0, 1)")
    if not 0.0 < power < 1.0:
        raise ValueError("power must be in (0, 1)")
    return norm_ppf(1.0 - alpha / 2.0) + norm_ppf(power)


def minimum_detectable_hr(
    events: float, proportion: float = 0.5, *, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Smallest hazard ratio (>= 1) detectable with ``power`` at two-sided ``alpha``.

    ``HR_min = exp((z_{1−α/2} + z_{power}) / sqrt(D·p·(1−p)))`` (Schoenfeld 1983).
    ``events`` = 0 or a proportion of 0 or 1 (one group empty) gives ``inf``: no
    hazard ratio can be detected.
    """
    if events < 0:
        raise ValueError("events must be >= 0")
    if not 0.0 <= proportion <= 1.0:
        raise ValueError("proportion must be in [0, 1]")
    info = events * proportion * (1.0 - proportion)
    if info <= 0.0:
        return float("inf")
    x = _z_sum(alpha, power) / math.sqrt(info)
    return math.exp(x) if x < 709.0 else float("inf")


def events_required(
    hr: float, proportion: float = 0.5, *, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Events needed to detect ``hr`` with ``power`` at two-sided ``alpha`` (Schoenfeld 1983).

    ``D = (z_{1−α/2} + z_{power})² / (p·(1−p)·(log HR)²)``, unrounded (round up to plan a
    study). The inverse of :func:`minimum_detectable_hr`.
    """
    if hr <= 0 or hr == 1:
        raise ValueError("hr must be positive and different from 1")
    if not 0.0 < proportion < 1.0:
        raise ValueError("proportion must be in (0, 1)")
    return _z_sum(alpha, power) ** 2 / (proportion * (1.0 - proportion) * math.log(hr) ** 2)


@dataclass(frozen=True)
class DetectableHR:
    """The smallest hazard ratio detectable with ``power`` from ``events`` events."""

    events: int
    proportion: float
    alpha: float
    power: float
    hr: float  # inf when nothing is detectable (no events, or one group empty)

    def to_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "proportion": clean_float(self.proportion),
            "alpha": self.alpha,
            "power": self.power,
            "hr": clean_float(self.hr),
        }


def detectable_hr(
    events: int, proportion: float = 0.5, *, alpha: float = 0.05, power: float = 0.8
) -> DetectableHR:
    """:func:`minimum_detectable_hr` with its inputs, as a result object."""
    return DetectableHR(
        events=int(events),
        proportion=float(proportion),
        alpha=float(alpha),
        power=float(power),
        hr=minimum_detectable_hr(events, proportion, alpha=alpha, power=power),
    )

"""Result types of the competing-risks summaries (:mod:`.competing`).

An endpoint with competing events (``competing:`` dates or ``event_codes.competing``) is
summarised by its cumulative incidence (Aalen–Johansen; ``cmprsk::cuminc``) of the event and
of the competing event at the landmarks, instead of 1 − Kaplan–Meier.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from survstudy.pipeline.results_common import json_float as _f

__all__ = ["CIFPoint", "CIFSummary", "GrayTest"]

#: the variance and CI wording of the methods paragraph and the table footnote
CIF_VARIANCE = "Gray's delta-method variance as in cmprsk::cuminc"


@dataclass(frozen=True)
class CIFPoint:
    """Cumulative incidence of the event (``cause = "event"``) or of the competing event
    (``"competing"``) at a landmark, with its pointwise CI, standard error and the number
    still event-free and under observation; ``km_complement`` is 1 − Kaplan–Meier of the
    event (competing events censored) at the same time (event rows only), and
    ``messages`` the plain-language notes on this estimate."""

    time: float
    cause: str
    cif: float
    lower: float
    upper: float
    std_err: float
    n_risk: int
    km_complement: float = float("nan")
    warnings: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "cause": self.cause,
            "cif": _f(self.cif),
            "lower": _f(self.lower),
            "upper": _f(self.upper),
            "std_err": _f(self.std_err),
            "n_risk": self.n_risk,
            "one_minus_km": _f(self.km_complement),
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class CIFSummary:
    """The cumulative incidence part of a competing-risks endpoint's summary."""

    competing_label: str  # what the competing event is, e.g. "death"
    competing_events: int
    conf_type: str
    conf_level: float
    at: tuple[CIFPoint, ...]

    def point(self, time: float, cause: str) -> CIFPoint | None:
        return next((a for a in self.at if a.time == time and a.cause == cause), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "competing_label": self.competing_label,
            "competing_events": self.competing_events,
            "conf_type": self.conf_type,
            "conf_level": self.conf_level,
            "variance": "cmprsk",
            "at": [a.to_dict() for a in self.at],
        }


@dataclass(frozen=True)
class GrayTest:
    """Gray's test of equal cumulative incidence of the event across the groups of a figure
    (``cmprsk::cuminc(..., group)$Tests``), and the same for the competing event."""

    statistic: float
    df: int
    p_value: float
    competing_statistic: float = float("nan")
    competing_df: int = 0
    competing_p_value: float = float("nan")

    def to_dict(self) -> dict[str, Any]:
        return {
            "statistic": _f(self.statistic),
            "df": self.df,
            "p_value": _f(self.p_value),
            "competing": {
                "statistic": _f(self.competing_statistic),
                "df": self.competing_df,
                "p_value": _f(self.competing_p_value),
            },
        }

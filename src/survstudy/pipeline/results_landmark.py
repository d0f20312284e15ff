"""Result type of a landmark analysis (``analyses.landmark``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from survstudy.pipeline.results_common import json_float as _f
from survstudy.pipeline.results_cox import CoxRow
from survstudy.pipeline.results_survival import GroupTest, KMCurves

__all__ = ["LandmarkResult"]


@dataclass(frozen=True)
class LandmarkResult:
    """One landmark analysis (Anderson, Cain & Gelber 1983).

    The patients with the endpoint known and still under follow-up after the landmark
    ``at`` (display unit; ``at_days`` in days), grouped by ``by`` as it stood at the
    landmark (a time-dependent variable: exposed on or before it), time measured from
    the landmark. ``excluded``: patients whose follow-up ended (event or censoring) at
    or before the landmark; ``missing``: patients left out for an unknown group.
    ``km`` holds the curves (times from the landmark), ``logrank`` the test, ``cox``
    the hazard-ratio rows of the group (reference row first).
    """

    endpoint: str
    endpoint_label: str
    at: float
    at_days: float
    by: str
    by_label: str
    time_dependent: bool
    n: int
    events: int
    excluded: int
    missing: int
    km: KMCurves
    logrank: GroupTest | None
    cox: tuple[CoxRow, ...]
    ties: str
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "at": self.at,
            "at_days": _f(self.at_days),
            "by": self.by,
            "time_dependent": self.time_dependent,
            "n": self.n,
            "events": self.events,
            "excluded": self.excluded,
            "missing": self.missing,
            "km": self.km.to_dict(),
            "logrank": self.logrank.to_dict() if self.logrank is not None else None,
            "cox": {"ties": self.ties, "rows": [r.to_dict() for r in self.cox]},
            "warnings": list(self.warnings),
        }

"""The result objects of a study run: plain, frozen, JSON-serialisable.

``StudyResults.to_dict()`` is the body of ``results.json`` (see
``docs/results-schema.md``): unrounded floats, NaN as ``null``, every time in the
study's display unit (``time_unit``). Numbers are never formatted here; the
``tables`` package turns these objects into table models and printed text.

Each analysis's types live in their own module (``results_table1``,
``results_survival``, ``results_cox``; shared ones in ``results_common``);
import them from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from survstudy.pipeline.results_common import (
    MethodsProfile,
    ProfileDifference,
    Provenance,
    StudyWarning,
)
from survstudy.pipeline.results_competing import CIFPoint, CIFSummary, GrayTest
from survstudy.pipeline.results_cox import (
    CoxRow,
    FirthEstimate,
    ModelResult,
    PhPlot,
    PhSensitivity,
    SplineCurve,
    UnivariableResult,
)
from survstudy.pipeline.results_landmark import LandmarkResult
from survstudy.pipeline.results_survival import (
    CurveGroup,
    EndpointSummary,
    FollowUp,
    GroupTest,
    KMComparison,
    KMCurves,
    Landmark,
    LandmarkDifference,
    Median,
    PermutationTest,
    Precision,
    RMSTDifference,
)
from survstudy.pipeline.results_table1 import Table1Result, Table1Row
from survstudy.pipeline.results_treatment import TreatmentEffect

__all__ = [
    "CIFPoint",
    "CIFSummary",
    "CoxRow",
    "CurveGroup",
    "EndpointSummary",
    "FirthEstimate",
    "FollowUp",
    "GrayTest",
    "GroupTest",
    "KMComparison",
    "KMCurves",
    "Landmark",
    "LandmarkDifference",
    "LandmarkResult",
    "Median",
    "MethodsProfile",
    "ModelResult",
    "PermutationTest",
    "PhPlot",
    "PhSensitivity",
    "Precision",
    "ProfileDifference",
    "Provenance",
    "RMSTDifference",
    "SplineCurve",
    "StudyResults",
    "StudyWarning",
    "Table1Result",
    "Table1Row",
    "TreatmentEffect",
    "UnivariableResult",
]


@dataclass(frozen=True)
class StudyResults:
    """Everything ``survstudy run`` computed, ready for tables, figures and results.json."""

    title: str
    description: str | None
    synthetic: bool
    time_unit: str
    days_per_unit: float
    profile: MethodsProfile
    n: int
    flow: tuple[dict[str, Any], ...]
    quality: tuple[str, ...]
    table1: Table1Result | None
    endpoints: dict[str, EndpointSummary]
    univariable: dict[str, UnivariableResult]
    multivariable: tuple[ModelResult, ...]
    km: tuple[KMCurves, ...]
    reconciliation: tuple[ProfileDifference, ...]
    warnings: tuple[StudyWarning, ...]
    provenance: Provenance
    methods: dict[str, Any] = field(default_factory=dict)
    quality_issues: tuple[dict[str, Any], ...] = ()  # code, severity, message, row, column
    landmark: tuple[LandmarkResult, ...] = ()  # analyses.landmark
    treatment_effect: tuple[TreatmentEffect, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The body of results.json (Table 1 ``text`` is added by the tables package).

        ``treatment_effect`` is there only when the spec asks for a comparison (the
        results of studies without one are unchanged)."""
        out: dict[str, Any] = {
            "schema": "survstudy-results/1",
            "title": self.title,
            "synthetic": self.synthetic,
            "time_unit": self.time_unit,
            "days_per_unit": self.days_per_unit,
            "profile": self.profile.to_dict(),
            "n": self.n,
            "flow": list(self.flow),
            "data_quality": list(self.quality),
            "table1": [r.to_dict() for r in self.table1.rows] if self.table1 else [],
            "table1_summary": (
                {k: v for k, v in self.table1.to_dict().items() if k != "rows"}
                if self.table1
                else None
            ),
            "endpoints": {k: v.to_dict() for k, v in self.endpoints.items()},
            "univariable": {k: v.to_dict() for k, v in self.univariable.items()},
            "univariable_summary": {k: v.summary_dict() for k, v in self.univariable.items()},
            "multivariable": [m.to_dict() for m in self.multivariable],
            "km": [k.to_dict() for k in self.km],
            # only when the spec asks for landmarks (earlier results.json files unchanged)
            **({"landmark": [lm.to_dict() for lm in self.landmark]} if self.landmark else {}),
            "reconciliation": [d.to_dict() for d in self.reconciliation],
            "methods": self.methods,
            "warnings": [w.to_dict() for w in self.warnings],
            "provenance": self.provenance.to_dict(),
        }
        if self.treatment_effect:
            out["treatment_effect"] = [t.to_dict() for t in self.treatment_effect]
        return out

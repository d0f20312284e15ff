"""The pipeline: ``run_study(spec, cohort) -> StudyResults``.

Belongs here: turning the spec's ``analyses`` section into arrays and calls to
``survstudy.stats``, and collecting the results (plain, JSON-serialisable) with
their warnings and provenance.

Must not be here: estimators (they live in ``stats``), number formatting (in
``tables``), rendering (in ``report``). Imports: ``spec``, ``data``, ``stats``.


Public API::

    results = run_study(spec, cohort, profile="spss")   # StudyResults
    results.to_dict()                                   # the body of results.json
    results.endpoints["PFS"].at[0].survival             # unrounded, times in results.time_unit
"""

from __future__ import annotations

from survstudy.pipeline.profiles import PROFILES, get_profile
from survstudy.pipeline.results import (
    CoxRow,
    CurveGroup,
    EndpointSummary,
    FollowUp,
    GroupTest,
    KMCurves,
    Landmark,
    Median,
    MethodsProfile,
    ModelResult,
    ProfileDifference,
    Provenance,
    StudyResults,
    StudyWarning,
    Table1Result,
    Table1Row,
    UnivariableResult,
)
from survstudy.pipeline.run import run_study

__all__ = [
    "PROFILES",
    "CoxRow",
    "CurveGroup",
    "EndpointSummary",
    "FollowUp",
    "GroupTest",
    "KMCurves",
    "Landmark",
    "Median",
    "MethodsProfile",
    "ModelResult",
    "ProfileDifference",
    "Provenance",
    "StudyResults",
    "StudyWarning",
    "Table1Result",
    "Table1Row",
    "UnivariableResult",
    "get_profile",
    "run_study",
]

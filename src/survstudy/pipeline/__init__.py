"""The pipeline: ``run_study(spec, cohort) -> StudyResults``.

Belongs here: turning the spec's ``analyses`` section into arrays and calls to
``survstudy.stats``, and collecting the results (plain, JSON-serialisable) with
their warnings and provenance.

Must not be here: estimators (they live in ``stats``), number formatting (in
``tables``), rendering (in ``report``). Imports: ``spec``, ``data``, ``stats``,
``engines``.


Public API::

    results = run_study(spec, cohort, profile="spss")   # StudyResults
    results.to_dict()                                   # the body of results.json
    results.endpoints["PFS"].at[0].survival             # unrounded, times in results.time_unit

How it is laid out
------------------

* :mod:`.run` only orchestrates: it makes the run's :class:`.context.StudyContext`
  and calls one module per analysis, in report order, then assembles
  :class:`.results.StudyResults`.
* :mod:`.context` — what every analysis reads: the spec, the cohort's metadata, the
  :class:`.rows.Rows` that give an analysis its patients (:class:`.rows.MemoryRows`
  for the in-memory cohort, :class:`.rows_engine.EngineRows` for a registry cohort
  read by DuckDB/Spark), the chosen and the other methods profile, the warnings.
* One module per analysis: :mod:`.table1` (built once from summaries given by
  :mod:`.table1_memory` or :mod:`.table1_engine`), :mod:`.survival` (with
  :mod:`.precision`), :mod:`.univariable` and :mod:`.multivariable` (both fit through
  :func:`.models.fit_model`), :mod:`.km_figures` (with :mod:`.permutation`), and
  :mod:`.methods` (the facts of the methods paragraph). Result types live beside them
  in ``results_*`` modules and are re-exported by :mod:`.results`.
* :mod:`.engine` — thin wrappers over ``survstudy.stats``; :mod:`.design` — Cox design
  columns; :mod:`.profiles` — the methods profiles.

Adding an analysis (competing risks, landmark analysis, a treatment effect, …)
-------------------------------------------------------------------------------

1. Its estimator goes to ``survstudy.stats`` (NumPy in, a frozen result out); if an
   engine must compute it from sums, the per-time sums go to ``survstudy.engines``.
2. Its result type (frozen dataclass with ``to_dict()``) goes to a new
   ``pipeline/results_<analysis>.py``, re-exported from :mod:`.results`; add a field
   to :class:`.results.StudyResults` and its key to ``to_dict()`` (and to
   ``docs/results-schema.md``).
3. A new module ``pipeline/<analysis>.py`` with one entry point taking the
   context, e.g. ``def competing_risks(ctx: StudyContext) -> tuple[CIFResult, ...]``.
   It picks its patients through ``ctx.rows`` (``select``/``design``/``survival``, or a
   new method on :class:`.rows.Rows` implemented by both row sources), reads its
   options from ``ctx.spec.analyses``, raises spec problems with
   ``ctx.spec_error(...)``, and records warnings with ``ctx.warn.add(...)``.
4. One progress step and one call in :func:`.run.run_study`, and its sentence in
   :mod:`.methods`.
5. If it needs the patients' rows (no engine path yet), refuse it for engines in
   ``run._check_engine_options`` with ``SPEC-ENGINE-UNSUPPORTED``.
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
    PhPlot,
    PhSensitivity,
    ProfileDifference,
    Provenance,
    SplineCurve,
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
    "PhPlot",
    "PhSensitivity",
    "ProfileDifference",
    "Provenance",
    "SplineCurve",
    "StudyResults",
    "StudyWarning",
    "Table1Result",
    "Table1Row",
    "UnivariableResult",
    "get_profile",
    "run_study",
]

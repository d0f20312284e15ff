"""The data layer: from a patient spreadsheet to an analysis-ready cohort.

Belongs here: readers (CSV, XLSX, SPSS .sav, Stata .dta, Parquet), opened
read-only; date parsing; the validation rules and the data-quality report;
endpoint derivation (durations in whole days, events as 0/1); the inclusion
flow; the :class:`Cohort` (one row per patient).

Must not be here: statistics beyond counting, formatting for reports, writing
any file. Imports: pandas, pyarrow, openpyxl, pyreadstat, ``survstudy.spec``,
``survstudy.engines`` (the SQL executor runs on a data engine), ``survstudy.stats``
(only the quick commands' dummy coding and interval checks; no estimator),
``survstudy.errors``.

Public API::

    plan = compile_plan(spec)                        # the cohort plan (data/plan.py)
    with open_cohort(spec, engine="memory") as h:    # or "duckdb" / "spark"
        h.cohort, h.engine                           # Cohort (memory) or DerivedCohort
    cohort = build_cohort(load_spec("study.yaml"))   # or load_cohort("study.yaml")
    cohort.frame                  # one row per included patient, index = spreadsheet row
    cohort.variables["grade"]     # VariableInfo(label, type, levels, reference, denominator, …)
    cohort.endpoints["OS"]        # EndpointInfo(time_column, event_column, n, events, …)
    cohort.time_in_units("OS")    # durations in the spec's unit (days / 30.4375 for months)
    cohort.flow                   # (FlowStep(description, n_before, n_excluded, n_after, reason), …)
    cohort.report                 # QualityReport(issues); .lines(), .errors, .warnings
    cohort.input_sha256
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from survstudy.data.access import ENGINES, CohortHandle, open_cohort
    from survstudy.data.cohort import (
        CategoricalColumn,
        Cohort,
        EndpointInfo,
        FlowStep,
        VariableInfo,
    )
    from survstudy.data.plan import CohortPlan, compile_plan
    from survstudy.data.quality import CATALOGUE, QualityReport, format_issue
    from survstudy.data.readers import RawTable, read_raw, read_table, sha256_of
    from survstudy.data.registry import DerivedCohort, derive_from_cohort
    from survstudy.data.run_memory import build_cohort, load_cohort

# public name -> defining module; imported on first use, so that the quick commands,
# which need only the readers, do not load the cohort builder, the spec model and pydantic
_WHERE = {
    "ENGINES": "access",
    "CohortHandle": "access",
    "open_cohort": "access",
    "CategoricalColumn": "cohort",
    "Cohort": "cohort",
    "EndpointInfo": "cohort",
    "FlowStep": "cohort",
    "VariableInfo": "cohort",
    "build_cohort": "run_memory",
    "load_cohort": "run_memory",
    "CohortPlan": "plan",
    "compile_plan": "plan",
    "CATALOGUE": "quality",
    "QualityReport": "quality",
    "format_issue": "quality",
    "RawTable": "readers",
    "read_raw": "readers",
    "read_table": "readers",
    "sha256_of": "readers",
    "DerivedCohort": "registry",
    "derive_from_cohort": "registry",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'survstudy.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"survstudy.data.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "CATALOGUE",
    "ENGINES",
    "CategoricalColumn",
    "Cohort",
    "CohortHandle",
    "CohortPlan",
    "DerivedCohort",
    "EndpointInfo",
    "FlowStep",
    "QualityReport",
    "RawTable",
    "VariableInfo",
    "build_cohort",
    "compile_plan",
    "derive_from_cohort",
    "format_issue",
    "load_cohort",
    "open_cohort",
    "read_raw",
    "read_table",
    "sha256_of",
]

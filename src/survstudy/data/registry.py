"""The analysis cohort of a registry-sized study, kept where the data live.

``survstudy run --engine duckdb|spark`` does not hold the cohort in memory: the
included patients' analysis columns are written once as a Parquet dataset (the
*derived table*), and every analysis reads that table through the engine
(:mod:`survstudy.engines`). :class:`DerivedCohort` carries the derived table's
location and the same metadata as :class:`survstudy.data.Cohort` (variables,
endpoints, inclusion flow, data-quality report, provenance), but no per-patient
arrays.

The derived table (contract; every engine-side analysis relies on it)
--------------------------------------------------------------------
One row per included patient, Parquet files directly under ``path``, in no promised
order (the DuckDB derivation writes them in the order of the first endpoint's time,
which makes the analyses' per-time aggregations cheaper; ``row`` keeps the data's):

* ``row`` (BIGINT): the row number the user sees (spreadsheet row; case number
  for Parquet/SPSS/Stata), as in :attr:`Cohort.rows`.
* a continuous variable ``name``: DOUBLE, NULL when missing or not applicable.
* a categorical or binary variable ``name``: INTEGER code into
  ``variables[name].levels`` (0-based, the spec's level order), NULL when missing
  or not applicable. Codes, not text, so that no engine re-parses level names.
* a multiselect option: its :attr:`VariableInfo.options` column (``name__1`` …),
  DOUBLE 1/0, NULL when missing or not applicable.
* ``name__detail`` (:attr:`VariableInfo.detail_column`, for a level grouping several
  data values): INTEGER code into :func:`detail_levels`, NULL as above.
* ``name__applicable`` (BOOLEAN) for every variable with ``applicable_when``.
* per endpoint, the :class:`EndpointInfo` columns: ``{ep}_time`` (DOUBLE, days),
  ``{ep}_event`` (DOUBLE 0/1) and ``{ep}_status`` (DOUBLE 0/1/2), NULL where the
  endpoint could not be derived.

Identifiers and dates are never in it. :func:`derive_from_cohort` writes the
derived table of an in-memory :class:`Cohort` (small files read with the
ordinary readers, e.g. SPSS or Excel); the engines derive it from files too
large for memory with SQL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from survstudy.data.cohort import CategoricalColumn, Cohort, EndpointInfo, FlowStep, VariableInfo
from survstudy.data.quality import QualityReport
from survstudy.spec import StudySpec

__all__ = ["DerivedCohort", "applicable_column", "derive_from_cohort", "detail_levels"]


def applicable_column(name: str) -> str:
    """The derived table's BOOLEAN column saying where ``name`` applies."""
    return f"{name}__applicable"


def detail_levels(info: VariableInfo) -> tuple[str, ...]:
    """The values a ``name__detail`` code indexes: every level's data values, in order."""
    return tuple(dict.fromkeys(v for group in info.sublevels.values() for v in group))


@dataclass(frozen=True)
class DerivedCohort:
    """A cohort whose rows live in a Parquet dataset (see the module docstring).

    ``variables[name].applicable`` is an empty array here: use the column
    :func:`applicable_column` (present when ``applicable_when`` is set) and
    ``denominator``. Everything else has the meaning it has on
    :class:`survstudy.data.Cohort`.
    """

    spec: StudySpec
    path: str
    n: int
    variables: dict[str, VariableInfo]
    endpoints: dict[str, EndpointInfo]
    flow: tuple[FlowStep, ...]
    report: QualityReport
    input_file: str
    input_sha256: str
    unit: str
    days_per_unit: float

    def has_applicable(self, name: str) -> bool:
        """Whether ``name`` has an ``applicable_when`` condition (and so its column)."""
        return self.variables[name].applicable_when is not None


def derive_from_cohort(
    cohort: Cohort, out_dir: str | os.PathLike[str], *, rows_per_file: int = 1_000_000
) -> DerivedCohort:
    """Write ``cohort``'s derived table under ``out_dir`` (created; must be empty or new).

    Streams ``rows_per_file`` rows a file so that the written table never needs a
    second copy of the cohort in memory.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = {"row": pa.array(np.asarray(cohort.rows, dtype=np.int64))}
    for name, info in cohort.variables.items():
        if info.type == "multiselect":
            for _label, col in info.options:
                arrays[col] = _double(cohort.columns[col])
        elif info.column is not None:
            col_values = cohort.columns[info.column]
            if isinstance(col_values, CategoricalColumn):
                arrays[info.column] = _codes(col_values, info.levels)
            else:
                arrays[info.column] = _double(col_values)
            if info.detail_column is not None:
                detail = cohort.columns[info.detail_column]
                assert isinstance(detail, CategoricalColumn)
                arrays[info.detail_column] = _codes(detail, detail_levels(info))
        if info.applicable_when is not None:
            arrays[applicable_column(name)] = pa.array(np.asarray(info.applicable, dtype=bool))
    for ep in cohort.endpoints.values():
        for col in (ep.time_column, ep.event_column, ep.status_column):
            arrays[col] = _double(cohort.columns[col])
    table = pa.table(arrays)
    n = table.num_rows
    step = max(1, int(rows_per_file))
    for i, start in enumerate(range(0, max(n, 1), step)):
        pq.write_table(table.slice(start, step), out / f"part-{i:05d}.parquet")
    variables = {
        k: replace(v, applicable=np.zeros(0, dtype=bool)) for k, v in cohort.variables.items()
    }
    return DerivedCohort(
        spec=cohort.spec,
        path=str(out),
        n=cohort.n,
        variables=variables,
        endpoints=dict(cohort.endpoints),
        flow=tuple(cohort.flow),
        report=cohort.report,
        input_file=cohort.input_file,
        input_sha256=cohort.input_sha256,
        unit=cohort.unit,
        days_per_unit=cohort.days_per_unit,
    )


def _double(values: Any) -> Any:
    import pyarrow as pa

    arr = np.asarray(values, dtype=float)
    return pa.array(arr, mask=np.isnan(arr), type=pa.float64())


def _codes(col: CategoricalColumn, levels: tuple[str, ...]) -> Any:
    import pyarrow as pa

    order = levels or tuple(col.categories)
    index = {lev: i for i, lev in enumerate(order)}
    remap = np.array([index[c] for c in col.categories] + [-1], dtype=np.int32)
    codes = remap[np.where(col.codes < 0, len(col.categories), col.codes)]
    return pa.array(codes, mask=codes < 0, type=pa.int32())

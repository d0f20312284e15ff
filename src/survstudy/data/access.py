"""The one front door to a study's cohort: :func:`open_cohort`.

``survstudy run``, ``validate``, ``demo`` and the web app all get their cohort here,
whatever executes the cohort plan:

* ``engine="memory"`` (the default): the spec's data file is read (only the columns
  the spec uses) and the plan runs columnar in memory
  (:func:`survstudy.data.run_memory.build_cohort`); ``handle.cohort`` is a
  :class:`~survstudy.data.cohort.Cohort` and ``handle.engine`` is ``None``.
* ``engine="duckdb"`` or ``"spark"``: the cohort is derived where the data are and
  written as the *derived table* (:mod:`survstudy.data.registry`) into a private
  temporary folder, removed when the handle is closed (it holds patient-level data):
  by SQL for Parquet/CSV data (:func:`survstudy.data.derive_sql.derive_cohort`), by the
  in-memory executor for spreadsheets (small by nature). ``handle.cohort`` is a
  :class:`~survstudy.data.registry.DerivedCohort` and ``handle.engine`` the engine that
  reads it.

A handle is a context manager::

    with open_cohort(spec, engine="duckdb", options={"threads": 2}) as h:
        results = run_study(spec, h.cohort, data_engine=h.engine)

``data_file`` reads the bytes from another file than ``spec.data.path`` (the web app's
stored upload) while every message, count and provenance entry names the spec's file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from survstudy.data.cohort import Cohort
from survstudy.data.readers import RawTable
from survstudy.data.registry import DerivedCohort, derive_from_cohort
from survstudy.data.run_memory import build_cohort
from survstudy.spec import StudySpec

__all__ = ["ENGINES", "CohortHandle", "open_cohort", "sql_readable"]

#: the executors of the cohort plan: in memory, or by SQL in a data engine
ENGINES = ("memory", "duckdb", "spark")


def sql_readable(spec: StudySpec) -> bool:
    """Whether the spec's data are Parquet or CSV files (read in place by an engine)."""
    fmt = (spec.data.format or "").lower()
    if fmt:
        return fmt in ("parquet", "csv")
    name = str(spec.data_path).lower()
    return os.path.isdir(name) or name.endswith((".parquet", ".pq", ".csv", ".txt", ".tsv"))


@dataclass
class CohortHandle:
    """An opened cohort: ``cohort`` and the ``engine`` reading it (``None`` in memory).

    Close it (or use it in a ``with`` block) to stop the engine and remove the derived
    table's temporary folder.
    """

    cohort: Cohort | DerivedCohort
    engine: Any = None
    engine_name: str = "memory"
    _work: str | None = field(default=None, repr=False)

    def close(self) -> None:
        """Stop the engine and remove the temporary folder (idempotent)."""
        if self.engine is not None:
            self.engine.close()
            self.engine = None
        if self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)
            self._work = None

    def __enter__(self) -> CohortHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_cohort(
    spec: StudySpec,
    engine: str = "memory",
    *,
    options: Mapping[str, Any] | None = None,
    strict: bool = True,
    data_file: str | os.PathLike[str] | None = None,
    data_format: str | None = None,
    raw: RawTable | None = None,
) -> CohortHandle:
    """Read, validate and derive ``spec``'s cohort with the executor ``engine``.

    ``options`` are the engine's settings (``threads``, ``memory_limit``,
    ``temp_directory`` for DuckDB; ``master`` for Spark). With ``strict`` (the
    default) the first error of the data-quality report raises its
    :class:`~survstudy.errors.DataError`; with ``strict=False`` the cohort comes back
    with the errors in ``cohort.report`` (what ``survstudy validate`` prints).
    ``data_file``/``data_format``: read these bytes instead of ``spec.data.path``
    (names in messages stay the spec's). ``raw``: cells already read, an in-memory table
    from :func:`~survstudy.data.readers.read_frame` (the Python API's DataFrame), instead
    of any file.
    """
    if engine not in ENGINES:
        from survstudy.errors import AnalysisError

        raise AnalysisError(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "memory":
        return CohortHandle(
            build_cohort(spec, strict=strict, data_file=data_file, data_format=data_format, raw=raw)
        )
    from survstudy.engines import get_engine

    opts = dict(options or {})
    eng = get_engine(engine, **opts)
    work = tempfile.mkdtemp(prefix="survstudy-cohort-", dir=opts.get("temp_directory"))
    try:
        derived = str(Path(work) / "cohort")
        cohort: Cohort | DerivedCohort
        if data_file is None and raw is None and sql_readable(spec):
            from survstudy.data.derive_sql import derive_cohort

            cohort = derive_cohort(spec, eng, derived, strict=strict)
        else:
            built = build_cohort(
                spec, strict=strict, data_file=data_file, data_format=data_format, raw=raw
            )
            cohort = derive_from_cohort(built, derived)
    except BaseException:
        eng.close()
        shutil.rmtree(work, ignore_errors=True)
        raise
    return CohortHandle(cohort, eng, engine, work)

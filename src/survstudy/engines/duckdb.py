"""The DuckDB engine: Parquet/CSV files read in place, reduced in SQL.

DuckDB (embedded, https://duckdb.org) scans the files with ``read_parquet`` /
``read_csv`` and streams them through the aggregations of :mod:`.sql`; the
table is never loaded into Python. Memory stays bounded by ``memory_limit``
(DuckDB spills to ``temp_directory`` when a hash aggregate grows beyond it);
``threads`` caps the cores used.

In-memory columns (:meth:`Source.from_arrays`) are registered as a DuckDB view
of a NumPy dict (used by the parity tests).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from survstudy.engines import sql
from survstudy.engines._sql_engine import SqlEngine, arrow_table
from survstudy.engines.base import MISSING_TEXT, Source
from survstudy.engines.cells import column_kinds
from survstudy.errors import AnalysisError, DataError

__all__ = ["DuckDBEngine", "arrow_table"]

F = NDArray[np.float64]


def _reason(exc: Exception) -> str:
    """DuckDB's first error line without quoted text (it can quote a cell of the data,
    and identifiers must never reach a message)."""
    import re

    line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", line)[:300]


def _kind(duck_type: str) -> str:
    t = duck_type.upper()
    if t == "BOOLEAN":
        return "boolean"
    if t in ("DOUBLE", "FLOAT", "REAL") or t.startswith("DECIMAL"):
        return "float"
    if any(
        t.startswith(k)
        for k in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT")
    ) or t in ("UINTEGER", "UBIGINT", "UHUGEINT"):
        return "integer"
    return "text"


class DuckDBEngine(SqlEngine):
    """Engine ``duckdb``; ``memory_limit`` (e.g. ``"4GB"``), ``threads``, ``temp_directory``.

    The analysis passes are :class:`~survstudy.engines._sql_engine.SqlEngine`'s; this class
    is the DuckDB plumbing (connection, relations, running a query, schema, views)."""

    name = "duckdb"

    def __init__(
        self,
        *,
        memory_limit: str | None = None,
        threads: int | None = None,
        temp_directory: str | None = None,
    ) -> None:
        try:
            import duckdb
        except ImportError:
            raise AnalysisError(
                "engine duckdb needs the duckdb package: pip install 'survstudy[duckdb]'"
            ) from None
        config: dict[str, Any] = {}
        if memory_limit is not None:
            config["memory_limit"] = str(memory_limit)
        if threads is not None:
            config["threads"] = int(threads)
        if temp_directory is not None:
            config["temp_directory"] = str(temp_directory)
        self._duckdb = duckdb
        try:
            self._con = duckdb.connect(":memory:", config=config)
        except duckdb.Error as exc:
            raise AnalysisError(f"duckdb engine settings rejected: {_reason(exc)}") from None
        self._views = 0
        self._mem_views: dict[int, tuple[str, Any]] = {}
        self._d = sql.dialect("duckdb")

    def write_parquet(self, query: str, out_dir: str, *, file: str | None = None) -> None:
        """Write ``query``'s rows as Parquet files directly under ``out_dir`` (a new or
        empty directory), streamed by the engine."""
        import os

        os.makedirs(out_dir, exist_ok=True)
        target = str(out_dir).replace("'", "''")
        try:
            self._con.execute(
                f"COPY ({query}) TO '{target}' (FORMAT parquet, PER_THREAD_OUTPUT true)"
            )
        except self._duckdb.Error as exc:
            raise DataError(f"the data could not be read: {_reason(exc)}", file=file) from None

    # ------------------------------------------------------------------ plumbing

    def _relation(self, source: Source) -> tuple[str, str | None]:
        """SQL text for the rows and a file label for error messages."""
        if source.columns is not None:
            # one view per columns object, kept alive with it (so its id is not reused):
            # every pass of an analysis then reads the same relation (as the Spark engine)
            key = id(source.columns)
            if key not in self._mem_views:
                self._views += 1
                name = f"survstudy_mem_{self._views}"
                self._con.register(name, arrow_table(source.columns))
                self._mem_views[key] = (name, source.columns)
            return self._mem_views[key][0], None
        files = source.expanded_paths()
        listing = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
        label = files[0] if len(files) == 1 else f"{files[0]} (+{len(files) - 1} files)"
        if source.file_format() == "csv":
            nulls = "[" + ", ".join(f"'{m}'" for m in MISSING_TEXT) + "]"
            return f"read_csv({listing}, header = true, nullstr = {nulls})", label
        return f"read_parquet({listing}, union_by_name = true)", label

    def _text_relation(self, source: Source) -> tuple[str, str | None]:
        files = source.expanded_paths()
        listing = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
        label = files[0] if len(files) == 1 else f"{files[0]} (+{len(files) - 1} files)"
        return f"read_csv({listing}, header = true, all_varchar = true)", label

    def _run(self, query: str, file: str | None) -> dict[str, Any]:
        try:
            return dict(self._con.execute(query).fetchnumpy())
        except self._duckdb.Error as exc:
            raise DataError(f"the data could not be read: {_reason(exc)}", file=file) from None

    def _kinds(self, relation: str, names: Sequence[str], file: str | None) -> dict[str, str]:
        try:
            desc = self._con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        except self._duckdb.Error as exc:
            raise DataError(f"the data could not be read: {_reason(exc)}", file=file) from None
        types = {str(r[0]): str(r[1]) for r in desc}
        return column_kinds(types, names, file, _kind)

    def _register(self, table: Any) -> str:
        self._views += 1
        name = f"survstudy_join_{self._views}"
        self._con.register(name, table)
        return name

    def _unregister(self, name: str) -> None:
        self._con.unregister(name)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing twice is harmless
            self._con.close()

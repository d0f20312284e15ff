"""The Spark engine: the SQL of :mod:`.sql`, rendered for Spark SQL, run by a Spark session.

The data stay where Spark reads them (Parquet or CSV paths the cluster can
reach: local paths in local mode, ``hdfs://``, ``s3a://`` …); each pass of the
analyses is one Spark SQL aggregation whose small per-(stratum, time) result is
collected to the driver, where :mod:`survstudy.stats.sufficient` computes the
statistics exactly as for the other engines.

The queries, the value checks and the reduction of the collected cells are shared
with the DuckDB engine (:class:`~survstudy.engines._sql_engine.SqlEngine`, whose
methods only see ``_relation``, ``_run``, ``_kinds`` and ``_register``/``_unregister``);
this class supplies the Spark plumbing for those.

Session: ``master`` (``"local[2]"`` by default, or ``spark://host:7077``,
``yarn``, ``k8s://…``). An active session of the process is reused (so a test
session or a notebook shares one); a session this engine started is stopped by
:meth:`close`. Settings: ``driver_memory`` (local mode), ``shuffle_partitions``,
and any ``spark.*`` key passed through ``conf``.

CSV files: read as text, the missing-value codes of
:data:`~survstudy.engines.base.MISSING_TEXT` become NULL, and a column is
numeric (integer when every value is whole, else double) or boolean when every
non-missing value is one, as the DuckDB engine's reader decides. Quantiles for
Table 1 are exact (Spark's ``percentile``, R type 7).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from survstudy.engines import sql
from survstudy.engines._sql_engine import SqlEngine, arrow_table
from survstudy.engines.base import MISSING_TEXT, Source
from survstudy.engines.cells import column_kinds
from survstudy.errors import AnalysisError, DataError

__all__ = ["SparkEngine", "spark_session"]

F = NDArray[np.float64]


def _reason(exc: Exception) -> str:
    """Spark's first error line without quoted text (identifiers and cells never reach a
    message)."""
    import re

    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return re.sub(r"'[^']*'|\"[^\"]*\"|`[^`]*`", "'…'", line)[:300]


def spark_session(
    master: str = "local[2]",
    *,
    driver_memory: str | None = None,
    shuffle_partitions: int | None = None,
    conf: Mapping[str, str] | None = None,
) -> tuple[Any, bool]:
    """The process's active Spark session, or a new one; and whether it was created here.

    A local master gets a loopback driver address, no web UI and few shuffle
    partitions (the per-time results are small), so tests and a laptop need no
    network.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise AnalysisError(
            "engine spark needs PySpark and a Java 17 runtime: pip install 'survstudy[spark]'"
        ) from None
    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    local = master.startswith("local")
    b = SparkSession.builder.master(master).appName("survstudy")
    b = b.config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
    b = b.config("spark.sql.shuffle.partitions", str(shuffle_partitions or (2 if local else 200)))
    if local:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # loopback only, no network
        b = b.config("spark.driver.bindAddress", "127.0.0.1").config(
            "spark.driver.host", "127.0.0.1"
        )
        b = b.config("spark.driver.memory", driver_memory or "1g")
    elif driver_memory:
        b = b.config("spark.driver.memory", driver_memory)
    for k, v in (conf or {}).items():
        b = b.config(k, v)
    try:
        spark = b.getOrCreate()
    except Exception as exc:  # JVM missing or cluster unreachable: a user-fixable setup problem
        raise AnalysisError(
            f"could not start a Spark session on {master}: {_reason(exc)}",
            hint="Spark needs a Java 17 runtime (java on PATH or JAVA_HOME)",
        ) from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark, True


def _kind(type_name: str) -> str:
    t = type_name.lower()
    if t == "boolean":
        return "boolean"
    if t in ("double", "float") or t.startswith("decimal"):
        return "float"
    if t in ("tinyint", "smallint", "int", "bigint", "byte", "short", "integer", "long"):
        return "integer"
    return "text"


class SparkEngine(SqlEngine):
    """Engine ``spark``; ``master`` (default ``local[2]``), ``driver_memory``,
    ``shuffle_partitions``, ``conf`` (extra ``spark.*`` settings)."""

    name = "spark"

    def __init__(
        self,
        *,
        master: str = "local[2]",
        driver_memory: str | None = None,
        shuffle_partitions: int | str | None = None,
        conf: Mapping[str, str] | None = None,
        **unknown: Any,
    ) -> None:
        if unknown:
            raise AnalysisError(
                f"unknown spark engine option {sorted(unknown)[0]!r}; "
                "use master, driver_memory or shuffle_partitions"
            )
        self._spark, self._owned = spark_session(
            master,
            driver_memory=driver_memory,
            shuffle_partitions=None if shuffle_partitions is None else int(shuffle_partitions),
            conf=conf,
        )
        self._views = 0
        self._d = sql.dialect("spark")
        self._relations: dict[Any, str] = {}
        self._alive: list[Any] = []

    # ------------------------------------------------------------------ plumbing

    def _view_name(self) -> str:
        self._views += 1
        return f"survstudy_{id(self):x}_{self._views}"

    def _relation(self, source: Source) -> tuple[str, str | None]:
        if source.columns is not None:
            # keyed by the columns object, which the cache keeps alive (so the id is not reused)
            key: Any = ("memory", id(source.columns))
            if key not in self._relations:
                name = self._view_name()
                table = arrow_table(source.columns)
                self._spark.createDataFrame(table).createOrReplaceTempView(name)
                self._relations[key] = name
                self._alive.append(source.columns)
            return self._relations[key], None
        files = source.expanded_paths()
        label = files[0] if len(files) == 1 else f"{files[0]} (+{len(files) - 1} files)"
        key = (tuple(files), source.file_format())
        if key in self._relations:
            return self._relations[key], label
        name = self._view_name()
        try:
            if source.file_format() == "csv":
                self._csv_view(files, name)
            else:
                self._spark.read.option("mergeSchema", "true").parquet(
                    *files
                ).createOrReplaceTempView(name)
        except Exception as exc:
            raise DataError(f"the data could not be read: {_reason(exc)}", file=label) from None
        self._relations[key] = name
        return name, label

    def _text_relation(self, source: Source) -> tuple[str, str | None]:
        name, label = self._relation(source)  # makes NAME_raw, the untyped view, too
        return f"{name}_raw", label

    def _csv_view(self, files: list[str], name: str) -> None:
        """CSV read as text; missing codes -> NULL; numeric/boolean columns typed (one pass)."""
        raw = self._spark.read.option("header", "true").option("inferSchema", "false").csv(files)
        raw_name = name + "_raw"
        raw.createOrReplaceTempView(raw_name)
        codes = ", ".join("'" + m + "'" for m in MISSING_TEXT)
        cleaned = {
            c: f"CASE WHEN trim({self._d.ident(c)}) IN ({codes}) THEN NULL "
            f"ELSE trim({self._d.ident(c)}) END"
            for c in raw.columns
        }
        probes = []
        for i, (_c, e) in enumerate(cleaned.items()):
            probes += [
                f"count({e}) AS n{i}",
                f"count(try_cast({e} AS DOUBLE)) AS num{i}",
                f"count(CASE WHEN try_cast({e} AS DOUBLE) = floor(try_cast({e} AS DOUBLE)) "
                f"AND abs(try_cast({e} AS DOUBLE)) < 9.0E15 AND {e} NOT LIKE '%.%' "
                f"AND lower({e}) NOT LIKE '%e%' THEN 1 END) AS int{i}",
                f"count(CASE WHEN lower({e}) IN ('true', 'false') THEN 1 END) AS bool{i}",
            ]
        row = self._spark.sql(f"SELECT {', '.join(probes)} FROM {raw_name}").collect()[0]
        cols = []
        for i, (c, e) in enumerate(cleaned.items()):
            n = row[f"n{i}"]
            if n and row[f"bool{i}"] == n:
                expr = f"CAST(lower({e}) = 'true' AS BOOLEAN)"
            elif n and row[f"int{i}"] == n:
                expr = f"CAST(try_cast({e} AS DOUBLE) AS BIGINT)"
            elif n and row[f"num{i}"] == n:
                expr = f"try_cast({e} AS DOUBLE)"
            else:
                expr = e
            cols.append(f"{expr} AS {self._d.ident(c)}")
        self._spark.sql(f"SELECT {', '.join(cols)} FROM {raw_name}").createOrReplaceTempView(name)

    def _run(self, query: str, file: str | None) -> dict[str, Any]:
        try:
            table = self._spark.sql(query).toArrow()
        except Exception as exc:
            raise DataError(f"the data could not be read: {_reason(exc)}", file=file) from None
        out: dict[str, Any] = {}
        import pyarrow as pa

        for cname in table.column_names:
            col = table.column(cname)
            numeric = pa.types.is_integer(col.type) or pa.types.is_floating(col.type)
            if numeric and col.null_count == 0:
                out[cname] = col.to_numpy()
            else:  # text, booleans, decimals and NULLs (None, as the other engines give them)
                out[cname] = np.asarray(col.to_pylist(), dtype=object)
        return out

    def write_parquet(self, query: str, out_dir: str, *, file: str | None = None) -> None:
        """Write ``query``'s rows as Parquet files under ``out_dir`` (written by the executors)."""
        try:
            self._spark.sql(query).write.mode("overwrite").parquet(out_dir)
        except Exception as exc:
            raise DataError(f"the data could not be read: {_reason(exc)}", file=file) from None

    def _kinds(self, relation: str, names: Sequence[str], file: str | None) -> dict[str, str]:
        try:
            fields = {f.name: f.dataType.simpleString() for f in self._spark.table(relation).schema}
        except Exception as exc:
            raise DataError(f"the data could not be read: {_reason(exc)}", file=file) from None
        return column_kinds(fields, names, file, _kind)

    def _register(self, table: Any) -> str:
        name = self._view_name()
        self._spark.createDataFrame(table).createOrReplaceTempView(name)
        return name

    def _unregister(self, name: str) -> None:
        self._spark.catalog.dropTempView(name)

    def close(self) -> None:
        for name in self._relations.values():
            with contextlib.suppress(Exception):
                self._spark.catalog.dropTempView(name)
        self._relations = {}
        self._alive = []
        if self._owned:
            with contextlib.suppress(Exception):
                self._spark.stop()
            self._owned = False

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
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from survstudy.engines import sql
from survstudy.engines.base import (
    CONCORDANCE_CELL_LIMIT,
    MISSING_TEXT,
    CategoryCount,
    ConcordanceCells,
    CoxMoments,
    CoxSums,
    NumericSummary,
    RiskCounts,
    Source,
    Table1Stats,
    Term,
    column_kinds,
    concordance_cells_from_records,
    cox_sums_from_cells,
    level_sort_key,
    level_value,
    order_levels,
    raise_for_checks,
    risk_counts_from_cells,
    robust_from_cells,
    too_many_cells,
)
from survstudy.errors import AnalysisError, DataError

__all__ = ["DuckDBEngine"]

F = NDArray[np.float64]


def _reason(exc: Exception) -> str:
    """DuckDB's first error line without quoted text (it can quote a cell of the data,
    and identifiers must never reach a message)."""
    import re

    line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", line)[:300]


def _num_or_nan(x: Any) -> float:
    return float("nan") if x is None or np.ma.is_masked(x) else float(x)


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


def _arrow_table(columns: Any) -> Any:
    """In-memory columns as an Arrow table: object columns become numbers when every
    non-missing value is one, else text; missing values (NaN, None, the text codes)
    become NULL, as in a file."""
    import pyarrow as pa

    from survstudy.engines.memory import _missing, _to_float

    out = {}
    for k, v in columns.items():
        a = np.asarray(v)
        if a.dtype.kind in "OUS":
            miss = _missing(a.astype(object))
            f, bad = _to_float(np.where(miss, "nan", a.astype(object)))
            if bad == 0:
                out[k] = pa.array(f, mask=miss)
            else:
                out[k] = pa.array(
                    [None if m else str(x) for x, m in zip(a.tolist(), miss, strict=True)],
                    type=pa.string(),
                )
        elif a.dtype.kind == "f":
            out[k] = pa.array(a, mask=np.isnan(a))
        else:
            out[k] = pa.array(a)
    return pa.table(out)


class DuckDBEngine:
    """Engine ``duckdb``; ``memory_limit`` (e.g. ``"4GB"``), ``threads``, ``temp_directory``."""

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
        self._d = sql.dialect("duckdb")

    # ------------------------------------------------------------------ public SQL plumbing
    # For callers that generate their own SQL (the registry cohort derivation, Table 1):
    # the relation of a source, a query's result as NumPy columns, and a query written
    # out as a Parquet dataset, without the rows passing through Python.

    @property
    def dialect(self) -> sql.Dialect:
        """The SQL dialect this engine renders (:func:`survstudy.engines.sql.dialect`)."""
        return self._d

    def relation(self, source: Source) -> tuple[str, str | None]:
        """SQL text naming the rows of ``source`` (usable after ``FROM``) and a file label."""
        return self._relation(source)

    def query(self, query: str, *, file: str | None = None) -> dict[str, Any]:
        """Run ``query``; its columns as NumPy arrays (NULL -> NaN or ``None``).

        Errors become :class:`~survstudy.errors.DataError` naming ``file`` and never
        a cell's value."""
        return self._run(query, file)

    def kinds(self, source: Source, names: Sequence[str]) -> dict[str, str]:
        """survstudy's kind of each column (``number``, ``text``, …) of ``source``."""
        relation, label = self._relation(source)
        return self._kinds(relation, names, label)

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
            self._views += 1
            name = f"survstudy_mem_{self._views}"
            self._con.register(name, _arrow_table(source.columns))
            return name, None
        files = source.expanded_paths()
        listing = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
        label = files[0] if len(files) == 1 else f"{files[0]} (+{len(files) - 1} files)"
        if source.file_format() == "csv":
            nulls = "[" + ", ".join(f"'{m}'" for m in MISSING_TEXT) + "]"
            return f"read_csv({listing}, header = true, nullstr = {nulls})", label
        return f"read_parquet({listing}, union_by_name = true)", label

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

    def _spec(
        self,
        source: Source,
        *,
        time: str,
        event: str,
        group: str | None = None,
        strata: str | None = None,
        weight: str | None = None,
        terms: Sequence[Term] = (),
        where: str | None = None,
        cluster: str | None = None,
    ) -> tuple[sql.Spec, str | None]:
        relation, label = self._relation(source)
        names = [
            time,
            event,
            *(c for c in (group, strata, weight, cluster) if c),
            *(t.column for t in terms),
        ]
        kinds = self._kinds(relation, list(dict.fromkeys(names)), label)

        def col(n: str | None) -> sql.Column | None:
            return None if n is None else sql.Column(n, kinds[n])

        tcol = col(time)
        ecol = col(event)
        assert tcol is not None
        assert ecol is not None
        if tcol.kind == "text":
            raise DataError(
                "follow-up time must be a number", file=label, column=time, rule="NOT-A-NUMBER"
            )
        spec = sql.Spec(
            relation=relation,
            time=tcol,
            event=ecol,
            group=col(group),
            strata=col(strata),
            weight=col(weight),
            terms=tuple(
                (
                    sql.Column(t.column, kinds[t.column]),
                    None if t.level is None else level_value(t.level),
                )
                for t in terms
            ),
            where=where,
            cluster=col(cluster),
        )
        return spec, label

    def _check(self, spec: sql.Spec, label: str | None, weight: str | None) -> int:
        """Validate the used rows; the number of rows read."""
        c = self._run(sql.checks_sql(spec, self._d), label)
        raise_for_checks(
            bad_time=int(c["bad_time"][0]),
            bad_event=int(c["bad_event"][0]),
            bad_weight=int(c["bad_weight"][0]),
            bad_term=int(c["bad_term"][0]),
            time=spec.time.name,
            event=spec.event.name,
            weight=weight,
            file=label,
        )
        return int(c["n_read"][0])

    # ------------------------------------------------------------------ interface

    def risk_table(
        self,
        source: Source,
        *,
        time: str,
        event: str,
        group: str | None = None,
        strata: str | None = None,
        weight: str | None = None,
        where: str | None = None,
    ) -> RiskCounts:
        spec, label = self._spec(
            source, time=time, event=event, group=group, strata=strata, weight=weight, where=where
        )
        n_read = self._check(spec, label, weight)
        r = self._run(sql.risk_table_sql(spec, self._d), label)
        return risk_counts_from_cells(
            stratum=list(r["s_"]),
            group=list(r["g_"]),
            time=np.asarray(r["t_"], dtype=np.float64),
            event=np.asarray(r["e_"], dtype=np.float64),
            weight_sum=np.asarray(r["w"], dtype=np.float64),
            rows=np.asarray(r["n"], dtype=np.float64),
            has_strata=strata is not None,
            has_group=group is not None,
            n_read=n_read,
        )

    def levels(
        self,
        source: Source,
        column: str,
        *,
        required: Sequence[str] = (),
        where: str | None = None,
    ) -> tuple[Any, ...]:
        relation, label = self._relation(source)
        names = list(dict.fromkeys([column, *required]))
        kinds = self._kinds(relation, names, label)
        q = sql.levels_sql(
            relation,
            sql.Column(column, kinds[column]),
            [sql.Column(n, kinds[n]) for n in required],
            self._d,
            where,
        )
        r = self._run(q, label)
        return order_levels(list(r["v"]))[0]

    def cox_moments(
        self,
        source: Source,
        *,
        time: str,
        event: str,
        terms: Sequence[Term],
        strata: str | None = None,
        weight: str | None = None,
        where: str | None = None,
        center: F | None = None,
        cluster: str | None = None,
    ) -> CoxMoments:
        spec, label = self._spec(
            source,
            time=time,
            event=event,
            strata=strata,
            weight=weight,
            terms=terms,
            where=where,
            cluster=cluster,
        )
        # the values are checked on the first pass (no centre yet); the second pass about the
        # centre re-reads the same rows, so it only counts the rows read
        if center is None:
            n_read = self._check(spec, label, weight)
        else:
            n_read = int(self._run(sql.checks_sql(spec, self._d), label)["n_read"][0])
        r = self._run(sql.moments_sql(spec, self._d, center), label)
        p = len(terms)

        def v(name: str) -> float:
            x = r[name][0]
            return 0.0 if x is None or np.ma.is_masked(x) else float(x)

        n = int(v("n"))
        w_sum = v("w_sum")
        abs_dev = cross = None
        if center is not None:
            abs_dev = np.array([v(f"ad{j}") for j in range(p)])
            cross = np.zeros((p, p))
            for j in range(p):
                for k in range(j, p):
                    cross[j, k] = cross[k, j] = v(f"cp{j}_{k}")
        return CoxMoments(
            n=n,
            n_events=int(v("n_events")),
            weight_sum=w_sum,
            mean=np.array([v(f"sw{j}") / w_sum if w_sum else 0.0 for j in range(p)]),
            abs_dev=abs_dev,
            cross=cross,
            binary=np.array([v(f"nonbin{j}") == 0 for j in range(p)], dtype=bool),
            events_at_one=np.array([v(f"ev1_{j}") for j in range(p)]),
            n_read=n_read,
            n_dropped=n_read - n,
        )

    def cox_sums(
        self,
        source: Source,
        *,
        time: str,
        event: str,
        terms: Sequence[Term],
        beta: F,
        center: F,
        strata: str | None = None,
        weight: str | None = None,
        where: str | None = None,
        cluster: str | None = None,
    ) -> CoxSums:
        spec, label = self._spec(
            source,
            time=time,
            event=event,
            strata=strata,
            weight=weight,
            terms=terms,
            where=where,
            cluster=cluster,
        )
        q = sql.cox_sums_sql(
            spec, self._d, np.asarray(beta, dtype=np.float64), np.asarray(center, dtype=np.float64)
        )
        r = self._run(q, label)
        r["s_"] = list(r["s_"])
        return cox_sums_from_cells(r, len(terms), has_strata=strata is not None)

    def cox_robust(
        self,
        source: Source,
        *,
        time: str,
        event: str,
        terms: Sequence[Term],
        beta: F,
        center: F,
        table: Mapping[str, Any],
        strata: str | None = None,
        weight: str | None = None,
        where: str | None = None,
        cluster: str | None = None,
    ) -> F:
        """Σ over rows (with ``cluster``: over clusters, of the residuals summed in each) of
        r rᵀ, the score residuals at ``beta`` (see :func:`sql.robust_sql`); ``table`` from
        :func:`survstudy.stats.sufficient.robust_join_table`."""
        import pyarrow as pa

        spec, label = self._spec(
            source,
            time=time,
            event=event,
            strata=strata,
            weight=weight,
            terms=terms,
            where=where,
            cluster=cluster,
        )
        self._views += 1
        name = f"survstudy_join_{self._views}"
        cols = {k: pa.array(v) if k != "s_" else pa.array(list(v)) for k, v in table.items()}
        self._con.register(name, pa.table(cols))
        try:
            q = sql.robust_sql(
                spec,
                self._d,
                np.asarray(beta, dtype=np.float64),
                np.asarray(center, dtype=np.float64),
                name,
            )
            r = self._run(q, label)
        finally:
            self._con.unregister(name)
        return robust_from_cells(r, len(terms))

    def concordance_cells(
        self,
        source: Source,
        *,
        time: str,
        event: str,
        terms: Sequence[Term],
        strata: str | None = None,
        weight: str | None = None,
        where: str | None = None,
        cluster: str | None = None,
        limit: int = CONCORDANCE_CELL_LIMIT,
        n_rows: int | None = None,
    ) -> ConcordanceCells:
        """The used rows grouped by (stratum, time, event, terms[, cluster]) with n, Σ w, Σ w²
        (:func:`sql.concordance_cells_sql`). Unless ``n_rows`` (the used rows, when known) is
        at most ``limit``, a streaming estimate of the number of records comes first
        (:func:`sql.cells_estimate_sql`): above ``limit`` the grouping is not run."""
        spec, label = self._spec(
            source,
            time=time,
            event=event,
            strata=strata,
            weight=weight,
            terms=terms,
            where=where,
            cluster=cluster,
        )
        if n_rows is None or n_rows > limit:
            est = self._run(sql.cells_estimate_sql(spec, self._d), label)
            k = int(est["k"][0] or 0)
            if min(k, int(est["n"][0] or 0)) > limit:
                return too_many_cells(k, limit)
        r = self._run(sql.concordance_cells_sql(spec, self._d, limit), label)
        return concordance_cells_from_records(
            r,
            len(terms),
            has_strata=strata is not None,
            has_cluster=cluster is not None,
            limit=limit,
        )

    def table1_stats(
        self,
        source: Source,
        *,
        numeric: Sequence[str] = (),
        categorical: Sequence[str] = (),
        group: str | None = None,
        where: str | None = None,
    ) -> Table1Stats:
        """Table 1 statistics overall and per ``group`` level (rows with a missing group are
        left out of the per-group rows): numeric summaries with exact quartiles (R type 7),
        counts per category with the missing count (``level=None``)."""
        relation, label = self._relation(source)
        names = list(dict.fromkeys([*numeric, *categorical, *([group] if group else [])]))
        kinds = self._kinds(relation, names, label)
        gcol = None if group is None else sql.Column(group, kinds[group])
        nums: list[NumericSummary] = []
        counts: list[CategoryCount] = []
        for c in numeric:
            if kinds[c] == "text":
                raise DataError("not a number", file=label, column=c, rule="NOT-A-NUMBER")
            for gc in (None, gcol) if gcol is not None else (None,):
                r = self._run(
                    sql.numeric_summary_sql(relation, sql.Column(c, kinds[c]), self._d, gc, where),
                    label,
                )
                keys = list(r["g_"])
                levels, codes = order_levels(keys) if gc is not None else ((None,), [0] * len(keys))
                order = np.argsort(np.asarray(codes), kind="stable")
                for i in order.tolist():
                    nums.append(
                        NumericSummary(
                            column=c,
                            group=None if gc is None else levels[codes[i]],
                            n=int(r["n"][i]),
                            n_missing=int(r["n_missing"][i]),
                            mean=_num_or_nan(r["mean"][i]),
                            sd=_num_or_nan(r["sd"][i]),
                            min=_num_or_nan(r["min"][i]),
                            q1=_num_or_nan(r["q1"][i]),
                            median=_num_or_nan(r["median"][i]),
                            q3=_num_or_nan(r["q3"][i]),
                            max=_num_or_nan(r["max"][i]),
                        )
                    )
        for c in categorical:
            for gc in (None, gcol) if gcol is not None else (None,):
                r = self._run(
                    sql.category_counts_sql(relation, sql.Column(c, kinds[c]), self._d, gc, where),
                    label,
                )
                acc: dict[tuple[Any, Any], int] = {}
                for g, v, n in zip(list(r["g_"]), list(r["v"]), list(r["n"]), strict=True):
                    miss = v is None or np.ma.is_masked(v)
                    key = (
                        None if gc is None else level_value(g),
                        None if miss else level_value(v),
                    )
                    acc[key] = acc.get(key, 0) + int(n)

                def sort_key(k: tuple[Any, Any]) -> tuple[Any, ...]:
                    g, v = k
                    return (
                        (False, 0.0, "") if g is None else level_sort_key(g),
                        v is None,
                        (False, 0.0, "") if v is None else level_sort_key(v),
                    )

                for (g, v), n in sorted(acc.items(), key=lambda kv: sort_key(kv[0])):
                    counts.append(CategoryCount(column=c, group=g, level=v, n=n))
        return Table1Stats(numeric=tuple(nums), counts=tuple(counts))

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing twice is harmless
            self._con.close()

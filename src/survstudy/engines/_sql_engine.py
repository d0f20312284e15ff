"""What the SQL engines (DuckDB, Spark) share: every analysis pass, written once.

:class:`SqlEngine` runs the queries of :mod:`.sql` and turns their result columns
into the containers of :mod:`survstudy.stats.sufficient` through the helpers of
:mod:`.base`. A subclass supplies only the plumbing: the relation of a source
(``_relation``), running a query (``_run``), the schema's column kinds
(``_kinds``), a small table shipped to the engine and dropped again
(``_register``/``_unregister``, the robust variance's per-time join table), writing
a query out (``write_parquet``) and ``close``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from survstudy.engines import sql
from survstudy.engines.base import (
    CONCORDANCE_CELL_LIMIT,
    CategoryCount,
    ConcordanceCells,
    CoxMoments,
    CoxSums,
    NumericSummary,
    RiskCounts,
    Source,
    Table1Stats,
    Term,
    level_sort_key,
    level_value,
    order_levels,
)
from survstudy.engines.cells import (
    concordance_cells_from_records,
    cox_moments_from_records,
    cox_sums_from_cells,
    cox_sums_from_records,
    missing_mask,
    raise_for_checks,
    risk_counts_from_cells,
    robust_from_cells,
    to_float,
    too_many_cells,
)
from survstudy.errors import DataError

__all__: list[str] = []

#: most records for which a discrete Cox model is fitted on the driver
#: (:meth:`SqlEngine._discrete_records`): each Newton evaluation then collapses the
#: records in memory, which beyond about this many costs more than a pass in SQL
DISCRETE_RECORD_LIMIT = 1_000_000

F = NDArray[np.float64]


def _num_or_nan(x: Any) -> float:
    return float("nan") if x is None or np.ma.is_masked(x) else float(x)


def arrow_table(columns: Any) -> Any:
    """In-memory columns as an Arrow table: object columns become numbers when every
    non-missing value is one, else text; missing values (NaN, None, the text codes)
    become NULL, as in a file."""
    import pyarrow as pa

    out = {}
    for k, v in columns.items():
        a = np.asarray(v)
        if a.dtype.kind in "OUS":
            miss = missing_mask(a.astype(object))
            f, bad = to_float(np.where(miss, "nan", a.astype(object)))
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


class SqlEngine:
    """Base of the DuckDB and Spark engines (module docstring); not an engine by itself."""

    name = "sql"
    _d: sql.Dialect
    _views: int
    #: (checks query, rows read) of the last first-moments pass (see :meth:`cox_moments`)
    _last_check: tuple[str, int] | None = None
    #: (spec, records or None) of the last discrete model (see :meth:`_discrete_records`)
    _last_records: tuple[sql.Spec, dict[str, Any] | None] | None = None
    #: complete rows of the last :meth:`_check`
    _last_used: int | None = None

    # ------------------------------------------------------------------ subclass plumbing

    def _relation(self, source: Source) -> tuple[str, str | None]:
        """SQL text for the rows and a file label for error messages."""
        raise NotImplementedError

    def _run(self, query: str, file: str | None) -> dict[str, Any]:
        """The query's columns as NumPy arrays; errors as :class:`DataError` naming ``file``."""
        raise NotImplementedError

    def _kinds(self, relation: str, names: Sequence[str], file: str | None) -> dict[str, str]:
        """``{name: kind}`` (:data:`sql.KINDS`) of ``names`` in ``relation``."""
        raise NotImplementedError

    def _register(self, table: Any) -> str:
        """Ship a small Arrow table to the engine as a view; its name."""
        raise NotImplementedError

    def _unregister(self, name: str) -> None:
        """Drop a view made by :meth:`_register`."""
        raise NotImplementedError

    def write_parquet(self, query: str, out_dir: str, *, file: str | None = None) -> None:
        """Write ``query``'s rows as Parquet files under ``out_dir``."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections/sessions (idempotent)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ public SQL plumbing
    # For callers that generate their own SQL (the registry cohort derivation, Table 1):
    # the relation of a source, a query's result as NumPy columns, and a query written
    # out as a Parquet dataset, without the rows passing through Python.

    @property
    def dialect(self) -> sql.Dialect:
        """The SQL dialect this engine renders (:func:`survstudy.engines.sql.dialect`)."""
        return self._d

    def relation(self, source: Source, *, text: bool = False) -> tuple[str, str | None]:
        """SQL text naming the rows of ``source`` (usable after ``FROM``) and a file label.

        ``text``: a CSV file with every cell as the text it holds (no typing, no
        missing-value codes applied) — for callers that apply the in-memory reader's
        rules themselves (the registry cohort derivation). Other sources are unchanged.
        """
        if text and source.columns is None and source.file_format() == "csv":
            return self._text_relation(source)
        return self._relation(source)

    def _text_relation(self, source: Source) -> tuple[str, str | None]:
        """:meth:`relation` with ``text=True`` for a CSV source."""
        raise NotImplementedError

    def query(self, query: str, *, file: str | None = None) -> dict[str, Any]:
        """Run ``query``; its columns as NumPy arrays (NULL -> NaN or ``None``).

        Errors become :class:`~survstudy.errors.DataError` naming ``file`` and never
        a cell's value."""
        return self._run(query, file)

    def kinds(self, source: Source, names: Sequence[str]) -> dict[str, str]:
        """survstudy's kind of each column (``number``, ``text``, …) of ``source``."""
        relation, label = self._relation(source)
        return self._kinds(relation, names, label)

    # ------------------------------------------------------------------ plumbing

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
        self._last_used = int(c["n_used"][0])
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

    def _discrete_records(
        self, spec: sql.Spec, label: str | None, n_used: int | None = None
    ) -> dict[str, Any] | None:
        """A discrete Cox model's used rows grouped by (stratum, time, event, terms), or
        ``None`` when the model is not discrete or has too many such records.

        A model whose terms are all level indicators of categorical columns (no numeric
        term, no cluster) has few distinct (stratum, time, event, covariates) records:
        one grouping pass (:func:`sql.concordance_cells_sql`) gives every moment and every
        Newton evaluation's sums on the driver (:func:`cox_moments_from_records`,
        :func:`cox_sums_from_records`) — and the concordance's records — instead of a
        pass each. Above :data:`DISCRETE_RECORD_LIMIT` records (e.g. times that are not
        rounded, on many rows) the model is fitted by the usual passes. Kept for the last
        model (its fits, then its concordance)."""
        if self._last_records is not None and self._last_records[0] == spec:
            return self._last_records[1]
        if not spec.terms or spec.cluster is not None:
            return None
        if any(level is None for _col, level in spec.terms):
            return None
        limit = DISCRETE_RECORD_LIMIT
        records: dict[str, Any] | None = None
        if n_used is None or n_used > limit:
            est = self._run(sql.cells_estimate_sql(spec, self._d), label)
            k = int(est["k"][0] or 0)
            if min(k, int(est["n"][0] or 0)) > limit:
                self._last_records = (spec, None)
                return None
        r = self._run(sql.concordance_cells_sql(spec, self._d, limit), label)
        if np.asarray(r["t_"]).size <= limit:
            records = r
        self._last_records = (spec, records)
        return records

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
        # centre reads the same rows: the count of the first pass of the same query is
        # reused (a full scan fewer per fit), otherwise the rows read are counted again
        checks = sql.checks_sql(spec, self._d)
        if center is None:
            n_read = self._check(spec, label, weight)
            self._last_check = (checks, n_read)
        elif self._last_check is not None and self._last_check[0] == checks:
            n_read = self._last_check[1]
        else:
            n_read = int(self._run(checks, label)["n_read"][0])
        if center is None:
            # a new fit reads the rows afresh (the records kept are for one model's fits)
            self._last_records = None
        records = self._discrete_records(spec, label, self._last_used if center is None else None)
        if records is not None:
            return cox_moments_from_records(records, len(terms), center=center, n_read=n_read)
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
        records = self._discrete_records(spec, label)
        if records is not None:
            return cox_sums_from_records(
                records,
                len(terms),
                beta=np.asarray(beta, dtype=np.float64),
                center=np.asarray(center, dtype=np.float64),
                has_strata=strata is not None,
            )
        q = sql.cox_sums_sql(
            spec, self._d, np.asarray(beta, dtype=np.float64), np.asarray(center, dtype=np.float64)
        )
        r = self._run(q, label)
        r["s_"] = list(r["s_"])
        return cox_sums_from_cells(r, len(terms), has_strata=strata is not None)

    def cox_sums_many(
        self,
        source: Source,
        *,
        time: str,
        event: str,
        terms: Sequence[Term],
        betas: Sequence[F],
        center: F,
        strata: str | None = None,
        weight: str | None = None,
        where: str | None = None,
        cluster: str | None = None,
    ) -> list[CoxSums]:
        """:meth:`cox_sums` at each β of ``betas``, in one pass over the rows."""
        kw: dict[str, Any] = {"time": time, "event": event, "terms": terms, "strata": strata}
        kw |= {"weight": weight, "where": where, "cluster": cluster}
        # equal β (both tie rules start at β = 0) are evaluated once: the same sums
        keys = [np.asarray(b, dtype=np.float64).tobytes() for b in betas]
        unique = list(dict.fromkeys(keys))
        if len(unique) < len(betas):
            first = {k: i for i, k in reversed(list(enumerate(keys)))}
            got = self.cox_sums_many(
                source, betas=[betas[first[k]] for k in unique], center=center, **kw
            )
            by_key = dict(zip(unique, got, strict=True))
            return [by_key[k] for k in keys]
        if len(betas) == 1:
            return [self.cox_sums(source, beta=betas[0], center=center, **kw)]
        spec, label = self._spec(source, **kw)
        records = self._discrete_records(spec, label)
        if records is not None:
            return [
                cox_sums_from_records(
                    records,
                    len(terms),
                    beta=np.asarray(b, dtype=np.float64),
                    center=np.asarray(center, dtype=np.float64),
                    has_strata=strata is not None,
                )
                for b in betas
            ]
        q = sql.cox_sums_many_sql(
            spec,
            self._d,
            [np.asarray(b, dtype=np.float64) for b in betas],
            np.asarray(center, dtype=np.float64),
        )
        r = self._run(q, label)
        p = len(terms)
        shared = {k: r[k] for k in ("t_", "e_", "n", "w", *(f"sx{j}" for j in range(p)))}
        shared["s_"] = list(r["s_"])
        out = []
        for b in range(len(betas)):
            cells = dict(shared)
            cells["r0"], cells["seta"] = r[f"r0_b{b}"], r[f"seta_b{b}"]
            cells |= {f"r1_{j}": r[f"r1_{j}_b{b}"] for j in range(p)}
            cells |= {f"r2_{j}_{k}": r[f"r2_{j}_{k}_b{b}"] for j in range(p) for k in range(j, p)}
            out.append(cox_sums_from_cells(cells, p, has_strata=strata is not None))
        return out

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
        cols = {k: pa.array(list(v)) if k == "s_" else pa.array(v) for k, v in table.items()}
        name = self._register(pa.table(cols))
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
            self._unregister(name)
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
        (:func:`sql.cells_estimate_sql`): above ``limit`` the grouping is not run (the
        estimate is within a few per cent, so within that margin of ``limit`` the decision
        follows it); the grouping itself stops at ``limit + 1`` records."""
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
        cached = self._last_records
        if cached is not None and cached[0] == spec and cached[1] is not None:
            return concordance_cells_from_records(
                cached[1],
                len(terms),
                has_strata=strata is not None,
                has_cluster=cluster is not None,
                limit=limit,
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

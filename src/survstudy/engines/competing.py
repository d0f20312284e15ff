"""Competing risks through an SQL engine (DuckDB, Spark): per-time counts by status value.

One aggregation reads the used rows — time, the status (event-code) column, and the
optional group and stratum columns — and returns one record per (stratum value, group
value, time, status value) with its row count; rows with a missing value in a used column
are counted once more, together, for ``n_read``/``n_dropped``. Everything else happens on
the driver: levels are normalised and ordered as the engines do
(:func:`survstudy.engines.base.order_levels`), the caller maps the status values to
censored / event / competing event, and the cumulative incidence and Gray's test come from
:mod:`survstudy.stats.competing` with the records' counts as frequency weights — the same
numbers as the in-memory path (the distinct times, and so the near-tie merging, are the
same set).

Only the public SQL plumbing of the SQL engines is used (``relation``, ``kinds``,
``query``, ``dialect``); the in-memory engine has none and is refused (the quick commands
read files into memory themselves). Fine–Gray is not available through an engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from survstudy.engines.base import Source, order_levels
from survstudy.errors import AnalysisError, DataError

__all__ = ["StatusRecords", "status_records"]


@dataclass(frozen=True)
class StatusRecords:
    """Row counts per (stratum, group, time, status), any order.

    ``stratum``/``group``/``status`` are codes into the level tuples (level order of
    :func:`~survstudy.engines.base.order_levels`; all 0 and ``()`` when absent);
    ``n`` the number of rows of the record. ``n_read`` rows passed ``where``, ``n_used``
    had no missing value in a used column.
    """

    stratum: NDArray[np.intp]
    group: NDArray[np.intp]
    time: NDArray[np.float64]
    status: NDArray[np.intp]
    n: NDArray[np.float64]
    strata_levels: tuple[Any, ...]
    group_levels: tuple[Any, ...]
    status_levels: tuple[Any, ...]
    n_read: int
    n_used: int

    @property
    def n_dropped(self) -> int:
        return self.n_read - self.n_used


def _num(expr: str, kind: str, try_cast: str) -> str:
    if kind == "boolean":
        return f"(CASE WHEN {expr} THEN CAST(1 AS DOUBLE) ELSE CAST(0 AS DOUBLE) END)"
    if kind == "text":
        return f"{try_cast}(trim({expr}) AS DOUBLE)"
    return f"CAST({expr} AS DOUBLE)"


def status_records(
    engine: Any,
    source: Source,
    *,
    time: str,
    status: str,
    group: str | None = None,
    strata: str | None = None,
    where: str | None = None,
) -> StatusRecords:
    """The records of one competing-risks analysis (module docstring).

    Raises :class:`AnalysisError` for an engine without SQL plumbing and
    :class:`DataError` for an unknown column, a time that is not a number >= 0 (naming the
    column and the number of rows; engines never show a row's values).
    """
    for attr in ("relation", "kinds", "query", "dialect"):
        if not hasattr(engine, attr):
            raise AnalysisError(
                f"competing risks are not available with engine {getattr(engine, 'name', '?')}; "
                "use --engine memory, duckdb or spark"
            )
    d = engine.dialect
    relation, label = engine.relation(source)
    names = list(dict.fromkeys([time, status, *(c for c in (group, strata) if c)]))
    kinds: dict[str, str] = engine.kinds(source, names)
    if kinds[time] == "text":
        raise DataError(
            "follow-up time must be a number", file=label, column=time, rule="NOT-A-NUMBER"
        )

    def missing(c: str) -> str:
        q = d.ident(c)
        if kinds[c] != "float":
            return f"{q} IS NULL"
        return f"({q} IS NULL OR {d.isnan(q)})"  # Dialect.isnan: DuckDB's Parquet NaN

    ok = " OR ".join(missing(c) for c in names)
    t_expr = _num(d.ident(time), kinds[time], d.try_cast)
    sel = [
        f"CASE WHEN {ok} THEN 0 ELSE 1 END AS ok_",
        f"{t_expr} AS t_",
        f"{d.ident(status)} AS e_",
        f"{'0' if group is None else d.ident(group)} AS g_",
        f"{'0' if strata is None else d.ident(strata)} AS s_",
    ]
    filt = f" WHERE {where}" if where else ""
    keys = ["s_", "g_", "t_", "e_"]
    inner = ", ".join(["ok_", *(f"CASE WHEN ok_ = 1 THEN {k} END AS {k}" for k in keys)])
    query = (
        f"WITH base AS (SELECT {', '.join(sel)} FROM {relation}{filt}), "
        f"cells AS (SELECT {inner} FROM base) "
        f"SELECT ok_, {', '.join(keys)}, COUNT(*) AS n FROM cells GROUP BY ok_, {', '.join(keys)}"
    )
    r = engine.query(query, file=label)
    okv = np.asarray(r["ok_"], dtype=np.int64)
    nv = np.asarray(r["n"], dtype=np.float64)
    n_read = int(nv.sum())
    used = okv == 1
    n_used = int(nv[used].sum())
    tv = np.array([math.nan if v is None else float(v) for v in np.asarray(r["t_"])[used]])
    nv = nv[used]
    bad = ~np.isfinite(tv) | (tv < 0)
    if np.any(bad):
        raise DataError(
            f"follow-up time must be a number >= 0 ({int(nv[bad].sum())} rows are not)",
            file=label,
            column=time,
            rule="TIME-NEGATIVE",
        )
    ev = np.asarray(r["e_"], dtype=object)[used]
    status_levels, scode = order_levels(list(ev))
    if group is None:
        glev: tuple[Any, ...] = ()
        gcode = np.zeros(tv.size, dtype=np.intp)
    else:
        glev, gcode = order_levels(list(np.asarray(r["g_"], dtype=object)[used]))
    if strata is None:
        slev: tuple[Any, ...] = ()
        stcode = np.zeros(tv.size, dtype=np.intp)
    else:
        slev, stcode = order_levels(list(np.asarray(r["s_"], dtype=object)[used]))
    return StatusRecords(
        stratum=stcode.astype(np.intp),
        group=gcode.astype(np.intp),
        time=tv,
        status=scode.astype(np.intp),
        n=nv,
        strata_levels=tuple(slev),
        group_levels=tuple(glev),
        status_levels=tuple(status_levels),
        n_read=n_read,
        n_used=n_used,
    )

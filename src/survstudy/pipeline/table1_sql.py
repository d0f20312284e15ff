"""SQL plumbing of the engine's Table 1 (:mod:`.table1_engine`): the query context and the
exact selection of order statistics.

The quartiles need a few order statistics of each continuous variable, overall and
per group (positions from :func:`~survstudy.stats.descriptive.quantile_position`: R
type 7 or SPSS type 6). :func:`order_statistics` selects them exactly by histogram
refinement: one scan counting the rows of every scope in 4096 value buckets with
each bucket's min and max, then one scan fetching the few rows of the buckets that
hold the wanted positions (sorted on the driver); a bucket whose min equals its max
(ties) is its value without a fetch. Skewed data take more rounds; after six, a
running count over the distinct values (a window query) finishes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from survstudy.data.registry import DerivedCohort, applicable_column
from survstudy.engines.sql import lit
from survstudy.stats import descriptive

__all__ = ["ALL", "PROBS", "SqlContext", "floats", "ints", "order_statistics"]

#: the overall column's scope code (the ``by`` codes are 0, 1, …)
ALL = -1
PROBS = (0.25, 0.5, 0.75)


@dataclass
class SqlContext:
    eng: Any
    relation: str
    label: str | None
    cohort: DerivedCohort
    q: str
    continuous: str
    show_missing: bool
    by_levels: tuple[str, ...] = ()
    group: str | None = None  # SQL of the by column (codes; NULL = missing)
    # variable -> count key -> by code (None: missing group) -> rows
    counts: dict[str, dict[str, dict[int | None, int]]] = field(default_factory=dict)
    moments: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)

    def ident(self, name: str) -> str:
        return str(self.eng.dialect.ident(name))

    def run(self, sql: str) -> dict[str, Any]:
        return dict(self.eng.query(sql, file=self.label))

    def applicable(self, name: str) -> str:
        if self.cohort.has_applicable(name):
            return f"COALESCE({self.ident(applicable_column(name))}, FALSE)"
        return "TRUE"

    def known(self, column: str) -> str:
        """The column is neither NULL nor NaN."""
        q = self.ident(column)
        return f"({q} IS NOT NULL AND NOT {self.eng.dialect.isnan(f'CAST({q} AS DOUBLE)')})"

    @property
    def g(self) -> str:
        return self.group if self.group is not None else "CAST(NULL AS INTEGER)"


def _is_null(x: Any) -> bool:
    if x is None or x is np.ma.masked:
        return True
    return isinstance(x, float) and math.isnan(x)


def ints(a: Any) -> list[int | None]:
    return [None if _is_null(x) else int(x) for x in _values(a)]


def floats(a: Any) -> list[float]:
    return [math.nan if _is_null(x) else float(x) for x in _values(a)]


def _values(a: Any) -> list[Any]:
    if isinstance(a, np.ma.MaskedArray):
        return [
            None if m else v for v, m in zip(a.data.tolist(), np.ma.getmaskarray(a), strict=True)
        ]
    return list(np.asarray(a, dtype=object).tolist())


def _cum_sql(ctx: SqlContext, value: str, known: str, overall: bool) -> str:
    """CTEs ``c`` (rows per group and value) and ``cum`` (per scope and value: count ``c_`` and
    running count ``hi_``; the value's order statistics are positions ``hi_ - c_ … hi_ - 1``)."""
    scoped = []
    if overall:
        scoped.append(
            f"SELECT CAST({ALL} AS BIGINT) AS s_, v_, CAST(SUM(c_) AS BIGINT) AS c_ FROM c GROUP BY v_"
        )
    if ctx.group is not None:
        scoped.append("SELECT CAST(g_ AS BIGINT) AS s_, v_, c_ FROM c WHERE g_ IS NOT NULL")
    return (
        f"WITH b AS (SELECT {ctx.g} AS g_, {value} AS v_ FROM {ctx.relation} WHERE {known}), "
        "c AS (SELECT g_, v_, CAST(COUNT(*) AS BIGINT) AS c_ FROM b GROUP BY g_, v_), "
        f"sc AS ({' UNION ALL '.join(scoped)}), "
        "cum AS (SELECT s_, v_, c_, CAST(SUM(c_) OVER (PARTITION BY s_ ORDER BY v_ "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT) AS hi_ FROM sc) "
    )


#: rank the rows rather than the distinct values when more than this share is distinct

_BUCKETS = 4096
#: a region with at most this many rows is fetched and sorted on the driver
_FETCH = 200_000
#: histogram rounds before falling back to the running-count query
_ROUNDS = 6


def _wanted(n_of: dict[int, int], q: str) -> dict[int, set[int]]:
    """Per scope, the 0-based order statistics its quartiles need."""
    wanted: dict[int, set[int]] = {}
    for s, n in n_of.items():
        if n == 0:
            continue
        for p in PROBS:
            lo, frac = descriptive.quantile_position(n, p, q)
            wanted.setdefault(s, set()).update({lo, lo + 1} if frac != 0.0 else {lo})
    return wanted


@dataclass(frozen=True)
class _Region:
    """The rows of scope ``s`` with ``lo <= value <= hi``: ``n`` of them, ``below`` smaller."""

    s: int
    lo: float
    hi: float
    below: int
    n: int


def _region_cond(reg: _Region) -> str:
    scope = "TRUE" if reg.s == ALL else f"g_ = {reg.s}"
    return f"({scope} AND v_ >= {lit(reg.lo)} AND v_ <= {lit(reg.hi)})"


def _base_sql(ctx: SqlContext, value: str, known: str) -> str:
    return f"WITH b AS (SELECT {ctx.g} AS g_, {value} AS v_ FROM {ctx.relation} WHERE {known}) "


def _histogram_sql(
    ctx: SqlContext, value: str, known: str, regions: Sequence[_Region], *, by_group: bool = False
) -> str:
    """Per region ``r_`` and bucket ``k_``: rows, min and max (a UNION ALL of one filtered
    scan per region: cheaper than joining the rows to a table of regions)."""
    parts = []
    for i, reg in enumerate(regions):
        width = reg.hi - reg.lo
        scale = _BUCKETS / width if width > 0 else 0.0
        if not math.isfinite(scale):
            scale = 0.0  # a sub-normal width: one bucket, then the fallback
        bucket = (
            f"LEAST(CAST({_BUCKETS - 1} AS BIGINT), "
            f"CAST(FLOOR((v_ - {lit(reg.lo)}) * {lit(scale)}) AS BIGINT))"
        )
        parts.append(f"SELECT {i} AS r_, g_, v_, {bucket} AS k_ FROM b WHERE {_region_cond(reg)}")
    key = "g_" if by_group else "r_"
    return (
        _base_sql(ctx, value, known)
        + f"SELECT {key}, k_, CAST(COUNT(*) AS BIGINT) AS n_, MIN(v_) AS mn_, MAX(v_) AS mx_ "
        f"FROM ({' UNION ALL '.join(parts)}) t GROUP BY {key}, k_"
    )


def _histograms(
    ctx: SqlContext, value: str, known: str, regions: Sequence[_Region], *, first: bool
) -> list[list[tuple[int, float, float]]]:
    """Per region, its buckets in value order: (rows, min, max).

    In the first round every region is a whole scope, so one scan over the overall
    range grouped by (group, bucket) serves them all (the overall column adds the
    groups' buckets, the rows with a missing group included)."""
    if first and ctx.group is not None and len(regions) > 1:
        lo = min(reg.lo for reg in regions)
        hi = max(reg.hi for reg in regions)
        whole = _Region(ALL, lo, hi, 0, 0)
        sql = _histogram_sql(ctx, value, known, [whole], by_group=True)
        r = ctx.run(sql)
        by: dict[int | None, dict[int, list[Any]]] = {}
        merged: dict[int, list[Any]] = {}
        for g, k, n, mn, mx in zip(
            ints(r["g_"]),
            ints(r["k_"]),
            ints(r["n_"]),
            floats(r["mn_"]),
            floats(r["mx_"]),
            strict=True,
        ):
            assert k is not None
            assert n is not None
            by.setdefault(g, {})[k] = [n, mn, mx]
            m = merged.setdefault(k, [0, mn, mx])
            m[0] += n
            m[1], m[2] = min(m[1], mn), max(m[2], mx)
        out = []
        for reg in regions:
            cells = merged if reg.s == ALL else by.get(reg.s, {})
            out.append([(int(c[0]), float(c[1]), float(c[2])) for _k, c in sorted(cells.items())])
        return out
    r = ctx.run(_histogram_sql(ctx, value, known, regions))
    rows = sorted(
        zip(
            ints(r["r_"]),
            ints(r["k_"]),
            ints(r["n_"]),
            floats(r["mn_"]),
            floats(r["mx_"]),
            strict=True,
        ),
        key=lambda c: (c[0] or 0, c[1] or 0),
    )
    return [
        [(int(n or 0), mn, mx) for ri, _k, n, mn, mx in rows if ri == i]
        for i in range(len(regions))
    ]


def order_statistics(
    ctx: SqlContext,
    value: str,
    known: str,
    n_of: dict[int, int],
    moments: dict[int, dict[str, Any]],
) -> dict[tuple[int, int], float]:
    """The order statistics (scope, 0-based position) -> value that the quartiles need.

    Exact selection by histogram refinement: a region (scope, value range, rows below
    it) starts as the scope's [min, max]; one scan counts its rows in ``_BUCKETS``
    equal-width buckets with each bucket's min and max (bucket = floor((v - lo) ·
    scale), monotone in v, so the buckets are consecutive runs of the sorted
    values); the target's bucket becomes its region. A region whose min equals its
    max is its value; one with at most ``_FETCH`` rows is fetched and sorted on the
    driver. Typically one histogram scan and one small fetch per variable.
    """
    wanted = _wanted(n_of, ctx.q)
    out: dict[tuple[int, int], float] = {}
    pending: dict[_Region, set[int]] = {}
    for s, ks in wanted.items():
        m = moments[s]
        pending[_Region(s, float(m["min"]), float(m["max"]), 0, n_of[s])] = set(ks)
    for _round in range(_ROUNDS):
        for reg, ks in list(pending.items()):
            if reg.lo == reg.hi:
                out.update({(reg.s, k): reg.lo for k in ks})
                del pending[reg]
        if not pending:
            return out
        fetch = [reg for reg in pending if reg.n <= _FETCH]
        if fetch:
            conds = " OR ".join(_region_cond(reg) for reg in fetch)
            r = ctx.run(_base_sql(ctx, value, known) + f"SELECT g_, v_ FROM b WHERE {conds}")
            g = np.array([-2 if x is None else x for x in ints(r["g_"])], dtype=np.int64)
            vals = np.array(floats(r["v_"]), dtype=float)
            for reg in fetch:
                keep = (vals >= reg.lo) & (vals <= reg.hi)
                if reg.s != ALL:
                    keep &= g == reg.s
                v = np.sort(vals[keep])
                out.update({(reg.s, k): float(v[k - reg.below]) for k in pending.pop(reg)})
        split = list(pending)
        if not split:
            return out
        per_region = _histograms(ctx, value, known, split, first=_round == 0)
        nxt: dict[_Region, set[int]] = {}
        for reg, cells in zip(split, per_region, strict=True):
            below = reg.below
            for n, mn, mx in cells:
                hit = {k for k in pending[reg] if below <= k < below + n}
                if hit:
                    nxt.setdefault(_Region(reg.s, mn, mx, below, n), set()).update(hit)
                below += n
        if sum(len(v) for v in nxt.values()) != sum(len(v) for v in pending.values()):
            break  # the counts moved under us (a changing source): use the exact fallback
        pending = nxt
    rest = {s: n_of[s] for s in {reg.s for reg in pending}}
    out.update(_order_statistics_window(ctx, value, known, rest))
    return out


def _order_statistics_window(
    ctx: SqlContext, value: str, known: str, n_of: dict[int, int]
) -> dict[tuple[int, int], float]:
    """Fallback: the order statistics from a running count over the distinct values
    (one sort of the distinct values per scope; slower on mostly distinct values)."""
    wanted = _wanted(n_of, ctx.q)
    if not wanted:
        return {}
    conds = []
    for s, ks in sorted(wanted.items()):
        hit = " OR ".join(f"(hi_ > {k} AND hi_ - c_ <= {k})" for k in sorted(ks))
        conds.append(f"(s_ = {s} AND ({hit}))")
    r = ctx.run(
        _cum_sql(ctx, value, known, overall=True)
        + f"SELECT s_, hi_ - c_ AS lo_, hi_, v_ FROM cum WHERE {' OR '.join(conds)}"
    )
    found = list(zip(ints(r["s_"]), ints(r["lo_"]), ints(r["hi_"]), floats(r["v_"]), strict=True))
    out: dict[tuple[int, int], float] = {}
    for s, ks in wanted.items():
        for k in ks:
            (v,) = [
                v
                for s2, lo, hi, v in found
                if s2 == s and lo is not None and hi is not None and lo <= k < hi
            ]
            out[(s, k)] = v
    return out

"""Table 1 of a registry-sized cohort, reduced by a data engine (DuckDB or Spark).

:func:`table1_from_engine` returns the :class:`Table1Result` that the in-memory
runner's Table 1 (``run._table1``) gives on the same patients: every number is
computed in SQL over the derived table (:mod:`survstudy.pipeline.registry`) down
to a few small tables, and the statistics are finished on the driver by
:mod:`survstudy.stats.descriptive` exactly as in memory.

What it costs (each query is one scan of the derived table unless said):

* every count of every categorical/binary variable (levels, ``__detail``
  sublevels, applicable rows) and multiselect option, overall and per ``by``
  level, and the ``by`` column's counts: one query of conditional counts grouped
  by the ``by`` code;
* every continuous variable's and endpoint time's n, mean, variance, SD, min and
  max (``AVG``/``VAR_SAMP``/``STDDEV_SAMP``): one query (two scans with ``by``);
* per continuous variable, the order statistics its quartiles need (positions
  from :func:`~survstudy.stats.descriptive.quantile_position`: R type 7 or SPSS
  type 6), selected exactly by histogram refinement (:func:`_order_statistics`):
  one scan counting the rows of every scope in 4096 value buckets with each
  bucket's min and max, then one scan fetching the few rows of the buckets that
  hold the wanted positions (sorted on the driver); a bucket whose min equals its
  max (ties) is its value without a fetch. Skewed data take more rounds; after
  six, a running count over the distinct values (a window query) finishes;
* with ``by`` and medians, the groups' midrank sums and the histogram of tie
  sizes (one window query; a 100k-row sample first decides whether to rank the
  rows — mostly distinct values — or the distinct-value table — heavy ties): twice
  a midrank, ``2·rank + t - 1``, is an exact integer, so the sums are exact and
  :func:`~survstudy.stats.descriptive.continuous_test_from_sums` gives bit-for-bit
  the Mann–Whitney / Kruskal–Wallis p of ``continuous_test`` on the rows. With
  ``mean-sd`` the t-test/ANOVA use the groups' n, mean and variance (equal to the
  in-memory ones to ~1e-13 relative: summed in another order).

The exact Mann–Whitney test (two groups, both under 50 values, no ties — R's
rule) needs the values themselves: then, and only then, the at most 98 values are
fetched and ``continuous_test`` runs on them.

The rows with a missing ``by`` value count in the overall column and in no
group, as in memory. The memory engine has no SQL and is not supported here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from survstudy.engines.base import Source
from survstudy.engines.sql import lit
from survstudy.errors import AnalysisError
from survstudy.pipeline import engine as pipeline_engine
from survstudy.pipeline.registry import DerivedCohort, applicable_column, detail_levels
from survstudy.pipeline.results import MethodsProfile, Table1Result, Table1Row
from survstudy.pipeline.run import (
    _cont_row_from,
    _missing_row,
    _quantiles,
    _table1_assemble,
    _table1_by_error,
    _table1_type_error,
    _table1_unknown_error,
)
from survstudy.spec import StudySpec
from survstudy.stats import descriptive

__all__ = ["table1_from_engine"]

#: the overall column's scope code (the ``by`` codes are 0, 1, …)
_ALL = -1
_PROBS = (0.25, 0.5, 0.75)


def table1_from_engine(
    spec: StudySpec,
    cohort: DerivedCohort,
    eng: Any,
    source: Source,
    warn: Any,
    prof: MethodsProfile,
) -> Table1Result:
    """Table 1 of ``cohort`` (its derived table read by ``eng`` through ``source``).

    Equal to ``run._table1`` on the same patients in memory (floats to ~1e-13
    relative: means and SDs are summed in a different order; everything else
    exactly). ``eng`` must have ``relation``, ``query`` and ``dialect`` (the DuckDB
    and Spark engines). ``warn`` is accepted for symmetry with ``run._table1``
    (Table 1 adds no study warning).
    """
    del warn  # Table 1 issues no study warnings (as in memory)
    t1 = spec.analyses.table1
    assert t1 is not None
    if not all(hasattr(eng, a) for a in ("relation", "query", "dialect")):
        raise AnalysisError(
            f"Table 1 of a registry cohort needs a SQL engine (duckdb or spark), "
            f"not {getattr(eng, 'name', type(eng).__name__)}"
        )
    relation, label = eng.relation(source)
    ctx = _Ctx(eng, relation, label, cohort, _quantiles(prof), t1.continuous, t1.missing)
    by_label = None
    by_counts: tuple[tuple[str, int], ...] = ()
    if t1.by is not None:
        info = cohort.variables.get(t1.by)
        if info is None or not info.is_categorical:
            raise _table1_by_error(spec)
        ctx.by_levels = info.levels
        ctx.group = ctx.ident(t1.by)
        by_label = info.label
    per_group = _prefetch(ctx, [name for name in t1.variables if name != t1.by])
    if t1.by is not None:
        by_counts = tuple((lev, int(per_group.get(i, 0))) for i, lev in enumerate(ctx.by_levels))

    def rows_of(name: str) -> list[Table1Row]:
        return _rows(spec, ctx, name)

    return _table1_assemble(spec, cohort.n, rows_of, by_label, by_counts)


# --------------------------------------------------------------------------- plumbing


@dataclass
class _Ctx:
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


def _ints(a: Any) -> list[int | None]:
    return [None if _is_null(x) else int(x) for x in _values(a)]


def _floats(a: Any) -> list[float]:
    return [math.nan if _is_null(x) else float(x) for x in _values(a)]


def _values(a: Any) -> list[Any]:
    if isinstance(a, np.ma.MaskedArray):
        return [
            None if m else v for v, m in zip(a.data.tolist(), np.ma.getmaskarray(a), strict=True)
        ]
    return list(np.asarray(a, dtype=object).tolist())


# --------------------------------------------------------------------------- rows


def _count_plan(ctx: _Ctx, name: str) -> list[tuple[str, str]]:
    """(key, SQL condition) of every count a categorical/multiselect variable needs.

    Categorical: ``known`` = applicable and coded; one count per level code
    (``L{i}``), per detail code (``D{i}``) among the known rows, and the applicable
    rows (``A``). Multiselect option ``col``: known (``K:col``), selected
    (``S:col``) and applicable-but-missing (``M:col``) rows."""
    info = ctx.cohort.variables[name]
    a = ctx.applicable(name)
    out: list[tuple[str, str]] = []
    if info.type == "multiselect":
        for _label, col in info.options:
            known = f"({a}) AND {ctx.known(col)}"
            out.append((f"K:{col}", known))
            out.append((f"S:{col}", f"{known} AND CAST({ctx.ident(col)} AS DOUBLE) = 1"))
            out.append((f"M:{col}", f"({a}) AND NOT {ctx.known(col)}"))
        return out
    v = f"CAST({ctx.ident(name)} AS INTEGER)"
    known = f"({a}) AND {v} IS NOT NULL"
    out += [(f"L{i}", f"{known} AND {v} = {i}") for i in range(len(info.levels))]
    if info.detail_column and info.sublevels:
        d = f"CAST({ctx.ident(info.detail_column)} AS INTEGER)"
        out += [(f"D{i}", f"{known} AND {d} = {i}") for i in range(len(detail_levels(info)))]
    out.append(("A", a))
    return out


def _continuous_item(ctx: _Ctx, name: str) -> tuple[str, str, str] | None:
    """(value, known, applicable) SQL of a continuous variable or an endpoint's time."""
    cohort = ctx.cohort
    if name in cohort.endpoints and name not in cohort.variables:
        ep = cohort.endpoints[name]
        ok = f"{ctx.known(ep.time_column)} AND {ctx.known(ep.event_column)}"
        value = f"(CAST({ctx.ident(ep.time_column)} AS DOUBLE) / {lit(cohort.days_per_unit)})"
        return value, ok, "TRUE"
    info = cohort.variables.get(name)
    if info is None or info.type != "continuous":
        return None
    app = ctx.applicable(name)
    return f"CAST({ctx.ident(name)} AS DOUBLE)", f"{app} AND {ctx.known(name)}", app


def _prefetch(ctx: _Ctx, names: Sequence[str]) -> dict[int, int]:
    """Two scans for every count and moment of Table 1 (``ctx.counts``, ``ctx.moments``);
    returns the rows per ``by`` code."""
    plans: dict[str, list[tuple[str, str]]] = {}
    items: dict[str, tuple[str, str, str]] = {}
    for name in dict.fromkeys(names):
        item = _continuous_item(ctx, name)
        if item is not None:
            items[name] = item
            continue
        info = ctx.cohort.variables.get(name)
        if info is not None and (info.is_categorical or info.type == "multiselect"):
            plans[name] = _count_plan(ctx, name)
    aggs = ["CAST(COUNT(*) AS BIGINT) AS n_"]
    keys: list[tuple[str, str]] = []
    for name, plan in plans.items():
        for key, cond in plan:
            aggs.append(f"CAST(COUNT(CASE WHEN {cond} THEN 1 END) AS BIGINT) AS c{len(keys)}_")
            keys.append((name, key))
    sql = f"SELECT {ctx.g} AS g_, {', '.join(aggs)} FROM {ctx.relation}"
    if ctx.group is not None:
        sql += f" GROUP BY {ctx.group}"
    r = ctx.run(sql)
    groups = _ints(r["g_"])
    per_group = {
        g: int(n or 0) for g, n in zip(groups, _ints(r["n_"]), strict=True) if g is not None
    }
    for j, (name, key) in enumerate(keys):
        col = {g: int(n or 0) for g, n in zip(groups, _ints(r[f"c{j}_"]), strict=True)}
        ctx.counts.setdefault(name, {})[key] = col
    if items:
        ctx.moments.update(_moments_many(ctx, items))
    return per_group


def _rows(spec: StudySpec, ctx: _Ctx, name: str) -> list[Table1Row]:
    cohort = ctx.cohort
    if name in cohort.endpoints and name not in cohort.variables:
        ep = cohort.endpoints[name]
        s = _continuous(ctx, name)
        row = _cont_row_from(name, f"{ep.label} time", s.overall, cohort.unit, s.rows - s.known)
        return [_with_groups(ctx, row, s)] if ctx.group is not None else [row]
    info = cohort.variables.get(name)
    if info is None:
        raise _table1_unknown_error(spec, name, {*cohort.variables, *cohort.endpoints})
    if info.type == "continuous":
        s = _continuous(ctx, name)
        row = _cont_row_from(name, info.label, s.overall, info.unit, info.n_missing)
        row = replace(row, denominator=s.applicable)
        out = [_with_groups(ctx, row, s) if ctx.group is not None else row]
        if ctx.show_missing and info.n_missing:
            out.append(
                replace(_missing_row(name, info, np.zeros(0, bool)), denominator=s.applicable)
            )
        return out
    if info.type == "multiselect":
        return [_option_row(ctx, name, opt_label, col) for opt_label, col in info.options]
    if not info.is_categorical:
        raise _table1_type_error(spec, name, info.type)
    return _categorical_rows(ctx, name)


def _count(ctx: _Ctx, name: str, key: str, group: int | None = _ALL) -> int:
    """A prefetched count: all rows (``_ALL``) or those of one ``by`` code."""
    col = ctx.counts[name][key]
    if group == _ALL:
        return int(sum(col.values()))
    return int(col.get(group, 0))


def _percent(n: Any, denom: int) -> float:
    return 100.0 * n / denom if denom else float("nan")


def _option_row(ctx: _Ctx, name: str, opt_label: str, col: str) -> Table1Row:
    info = ctx.cohort.variables[name]
    groups = range(len(ctx.by_levels))
    known = {g: _count(ctx, name, f"K:{col}", g) for g in groups}
    sel = {g: _count(ctx, name, f"S:{col}", g) for g in groups}
    missing = _count(ctx, name, f"M:{col}")
    denom = _count(ctx, name, f"K:{col}")
    n_sel = _count(ctx, name, f"S:{col}")
    row = Table1Row(
        variable=name,
        label=info.label,
        kind="option",
        level=opt_label,
        n=n_sel,
        denominator=denom,
        percent=_percent(n_sel, denom),
        n_missing=missing,
    )
    if ctx.group is None:
        return row
    grows = [
        replace(row, n=sel[i], denominator=known[i], percent=_percent(sel[i], known[i]), group=lev)
        for i, lev in enumerate(ctx.by_levels)
    ]
    table = np.array([[sel[i], known[i] - sel[i]] for i in groups])
    test, p = pipeline_engine.categorical_test(table)
    return replace(row, groups=tuple(grows), test=test, p_value=p)


def _categorical_rows(ctx: _Ctx, name: str) -> list[Table1Row]:
    info = ctx.cohort.variables[name]
    levels = list(info.levels)
    n_groups = len(ctx.by_levels)
    per_level = np.array([_count(ctx, name, f"L{i}") for i in range(len(levels))], dtype=np.int64)
    per_cell = np.array(
        [[_count(ctx, name, f"L{i}", g) for g in range(n_groups)] for i in range(len(levels))],
        dtype=np.int64,
    ).reshape(len(levels), n_groups)
    per_group = per_cell.sum(axis=0)
    denom = int(per_level.sum())
    detail: dict[str, list[tuple[str, int]]] = {}
    if info.detail_column and info.sublevels:
        index = {v: i for i, v in enumerate(detail_levels(info))}
        for lev, subs in info.sublevels.items():
            if len(subs) > 1:
                detail[lev] = [(s, _count(ctx, name, f"D{index[s]}")) for s in subs]
    out = []
    for i, lev in enumerate(levels):
        n = int(per_level[i])
        row = Table1Row(
            variable=name,
            label=info.label,
            kind="level",
            level=lev,
            n=n,
            denominator=denom,
            percent=_percent(n, denom),
            n_missing=info.n_missing,
            sublevels=tuple(detail.get(lev, ())),
        )
        if ctx.group is not None:
            grows = []
            for j, glev in enumerate(ctx.by_levels):
                gd, gn = int(per_group[j]), int(per_cell[i, j])
                grows.append(
                    replace(
                        row,
                        n=gn,
                        denominator=gd,
                        percent=_percent(gn, gd),
                        group=glev,
                        sublevels=(),
                    )
                )
            row = replace(row, groups=tuple(grows))
        out.append(row)
    if ctx.group is not None and out:
        test, p = pipeline_engine.categorical_test(per_cell.T)
        out[0] = replace(out[0], test=test, p_value=p)
    if ctx.show_missing and info.n_missing:
        n_app = _count(ctx, name, "A")
        out.append(replace(_missing_row(name, info, np.zeros(0, bool)), denominator=n_app))
    return out


# --------------------------------------------------------------------------- continuous


@dataclass
class _Summary:
    """A continuous variable's summaries (``describe_continuous`` dicts) and its group test."""

    rows: int  # rows read
    known: int  # rows with a known, applicable value
    applicable: int  # rows where the variable applies
    overall: dict[str, Any]
    groups: list[dict[str, Any]]
    test: tuple[str, float] | None


def _continuous(ctx: _Ctx, name: str) -> _Summary:
    """Summaries of ``name``'s values (where known), overall and per group."""
    item = _continuous_item(ctx, name)
    assert item is not None
    value, known, _applicable = item
    if name not in ctx.moments:
        ctx.moments.update(_moments_many(ctx, {name: item}))
    moments = ctx.moments[name]
    scopes = [_ALL, *range(len(ctx.by_levels))] if ctx.group is not None else [_ALL]
    n_of = {s: int(moments.get(s, {}).get("n", 0)) for s in scopes}
    order = _order_statistics(ctx, value, known, n_of, moments)
    dicts: dict[int, dict[str, Any]] = {}
    for s in scopes:
        m = moments.get(s, {})
        n = n_of[s]
        d: dict[str, Any] = {"n": n}
        for key, p in zip(("q1", "median", "q3"), _PROBS, strict=True):
            if n == 0:
                d[key] = math.nan
                continue
            lo, frac = descriptive.quantile_position(n, p, ctx.q)
            upper = order[(s, lo + 1)] if frac != 0.0 else math.nan
            d[key] = descriptive.interpolate(order[(s, lo)], upper, frac)
        nan = math.nan
        d["min"] = m.get("min", nan) if n else nan
        d["max"] = m.get("max", nan) if n else nan
        d["mean"] = m.get("mean", nan) if n else nan
        d["sd"] = m.get("sd", nan) if n > 1 else nan
        dicts[s] = d
    test = None
    if ctx.group is not None:
        groups = [moments.get(g, {}) for g in scopes[1:]]
        test = _group_test(ctx, value, known, groups)
    top = moments.get(_ALL, {})
    return _Summary(
        rows=int(top.get("rows", 0)),
        known=n_of[_ALL],
        applicable=int(top.get("app", 0)),
        overall=dicts[_ALL],
        groups=[dicts[s] for s in scopes[1:]],
        test=test,
    )


def _moments_many(
    ctx: _Ctx, items: dict[str, tuple[str, str, str]]
) -> dict[str, dict[int, dict[str, Any]]]:
    """Per item and scope (``_ALL``, each group code): rows, applicable rows, n, mean,
    variance, SD, min, max — all items in one query (two scans with ``by``)."""
    aggs = ["CAST(COUNT(*) AS BIGINT) AS rows_"]
    for i, (value, known, applicable) in enumerate(items.values()):
        v = f"(CASE WHEN {known} THEN {value} END)"
        aggs += [
            f"CAST(COUNT(CASE WHEN {applicable} THEN 1 END) AS BIGINT) AS app{i}_",
            f"CAST(COUNT({v}) AS BIGINT) AS n{i}_",
            f"AVG({v}) AS mean{i}_",
            f"VAR_SAMP({v}) AS var{i}_",
            f"STDDEV_SAMP({v}) AS sd{i}_",
            f"MIN({v}) AS min{i}_",
            f"MAX({v}) AS max{i}_",
        ]
    agg = ", ".join(aggs)
    sql = f"SELECT CAST({_ALL} AS BIGINT) AS s_, {agg} FROM {ctx.relation}"
    if ctx.group is not None:
        sql += (
            f" UNION ALL SELECT CAST({ctx.group} AS BIGINT) AS s_, {agg} FROM {ctx.relation} "
            f"WHERE {ctx.group} IS NOT NULL GROUP BY {ctx.group}"
        )
    r = ctx.run(sql)
    scopes = _ints(r["s_"])
    rows = _ints(r["rows_"])
    out: dict[str, dict[int, dict[str, Any]]] = {}
    for i, name in enumerate(items):
        cols = {k: _floats(r[f"{k}{i}_"]) for k in ("mean", "var", "sd", "min", "max")}
        ints = {k: _ints(r[f"{k}{i}_"]) for k in ("app", "n")}
        per: dict[int, dict[str, Any]] = {}
        for j, s in enumerate(scopes):
            assert s is not None
            per[s] = {k: v[j] for k, v in cols.items()}
            per[s] |= {k: int(v[j] or 0) for k, v in ints.items()} | {"rows": int(rows[j] or 0)}
        out[name] = per
    return out


def _cum_sql(ctx: _Ctx, value: str, known: str, overall: bool) -> str:
    """CTEs ``c`` (rows per group and value) and ``cum`` (per scope and value: count ``c_`` and
    running count ``hi_``; the value's order statistics are positions ``hi_ - c_ … hi_ - 1``)."""
    scoped = []
    if overall:
        scoped.append(
            f"SELECT CAST({_ALL} AS BIGINT) AS s_, v_, CAST(SUM(c_) AS BIGINT) AS c_ FROM c GROUP BY v_"
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
_DISTINCT_SHARE = 0.25
#: rows sampled to estimate that share
_SAMPLE = 100_000
#: histogram buckets per region and round of the order-statistic search
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
        for p in _PROBS:
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
    scope = "TRUE" if reg.s == _ALL else f"g_ = {reg.s}"
    return f"({scope} AND v_ >= {lit(reg.lo)} AND v_ <= {lit(reg.hi)})"


def _base_sql(ctx: _Ctx, value: str, known: str) -> str:
    return f"WITH b AS (SELECT {ctx.g} AS g_, {value} AS v_ FROM {ctx.relation} WHERE {known}) "


def _histogram_sql(
    ctx: _Ctx, value: str, known: str, regions: Sequence[_Region], *, by_group: bool = False
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
    ctx: _Ctx, value: str, known: str, regions: Sequence[_Region], *, first: bool
) -> list[list[tuple[int, float, float]]]:
    """Per region, its buckets in value order: (rows, min, max).

    In the first round every region is a whole scope, so one scan over the overall
    range grouped by (group, bucket) serves them all (the overall column adds the
    groups' buckets, the rows with a missing group included)."""
    if first and ctx.group is not None and len(regions) > 1:
        lo = min(reg.lo for reg in regions)
        hi = max(reg.hi for reg in regions)
        whole = _Region(_ALL, lo, hi, 0, 0)
        sql = _histogram_sql(ctx, value, known, [whole], by_group=True)
        r = ctx.run(sql)
        by: dict[int | None, dict[int, list[Any]]] = {}
        merged: dict[int, list[Any]] = {}
        for g, k, n, mn, mx in zip(
            _ints(r["g_"]),
            _ints(r["k_"]),
            _ints(r["n_"]),
            _floats(r["mn_"]),
            _floats(r["mx_"]),
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
            cells = merged if reg.s == _ALL else by.get(reg.s, {})
            out.append([(int(c[0]), float(c[1]), float(c[2])) for _k, c in sorted(cells.items())])
        return out
    r = ctx.run(_histogram_sql(ctx, value, known, regions))
    rows = sorted(
        zip(
            _ints(r["r_"]),
            _ints(r["k_"]),
            _ints(r["n_"]),
            _floats(r["mn_"]),
            _floats(r["mx_"]),
            strict=True,
        ),
        key=lambda c: (c[0] or 0, c[1] or 0),
    )
    return [
        [(int(n or 0), mn, mx) for ri, _k, n, mn, mx in rows if ri == i]
        for i in range(len(regions))
    ]


def _order_statistics(
    ctx: _Ctx, value: str, known: str, n_of: dict[int, int], moments: dict[int, dict[str, Any]]
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
            g = np.array([-2 if x is None else x for x in _ints(r["g_"])], dtype=np.int64)
            vals = np.array(_floats(r["v_"]), dtype=float)
            for reg in fetch:
                keep = (vals >= reg.lo) & (vals <= reg.hi)
                if reg.s != _ALL:
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
    ctx: _Ctx, value: str, known: str, n_of: dict[int, int]
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
    found = list(
        zip(_ints(r["s_"]), _ints(r["lo_"]), _ints(r["hi_"]), _floats(r["v_"]), strict=True)
    )
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


def _group_test(
    ctx: _Ctx,
    value: str,
    known: str,
    groups: Sequence[dict[str, Any]],
) -> tuple[str, float]:
    """The group comparison that ``engine.continuous_test`` makes on the groups' values."""
    ns = [int(g.get("n", 0)) for g in groups]
    parametric = ctx.continuous == "mean-sd"
    nonempty = [n for n in ns if n > 0]
    if parametric or len(nonempty) < 2:
        res = descriptive.continuous_test_from_sums(
            ns,
            parametric=parametric,
            means=[g.get("mean", math.nan) for g in groups],
            variances=[g.get("var", math.nan) for g in groups],
            rank_sums=[0.0] * len(ns),
            ties=0.0,
        )
        return str(res.footnote), float(res.p_value)
    if len(nonempty) == 2 and all(n < descriptive.MW_EXACT_MAX for n in nonempty):
        # the exact test may apply (R's rule also looks at ties): run it on the few values
        r = ctx.run(
            f"SELECT g_, v_ FROM (SELECT {ctx.g} AS g_, {value} AS v_ FROM {ctx.relation} "
            f"WHERE {known}) t WHERE g_ IS NOT NULL"
        )
        g = np.array(_ints(r["g_"]), dtype=np.int64)
        v = np.array(_floats(r["v_"]), dtype=float)
        samples = [v[g == i] for i in range(len(groups))]
        return pipeline_engine.continuous_test(samples, ctx.continuous)
    base = (
        f"WITH b AS (SELECT {ctx.g} AS g_, {value} AS v_ FROM {ctx.relation} "
        f"WHERE {known} AND {ctx.g} IS NOT NULL), "
    )
    # only chooses how the exact rank sums are computed: the share of distinct values
    # among the first _SAMPLE rows
    r = ctx.run(
        base + "s AS (SELECT v_ FROM b LIMIT "
        f"{_SAMPLE}) SELECT CAST(COUNT(DISTINCT v_) AS BIGINT) AS d_, "
        "CAST(COUNT(*) AS BIGINT) AS n_ FROM s"
    )
    (n_distinct,), (n_sample,) = _ints(r["d_"]), _ints(r["n_"])
    if (n_distinct or 0) > _DISTINCT_SHARE * (n_sample or 0):
        # mostly distinct values: rank the rows (one sort) rather than first collapsing
        # them to a distinct-value table as large as the data; 2·midrank = 2·rank + t - 1
        sql = base + (
            "x AS (SELECT g_, RANK() OVER (ORDER BY v_) AS rk_, "
            "COUNT(*) OVER (PARTITION BY v_) AS t_ FROM b) "
            "SELECT 0 AS k_, CAST(g_ AS BIGINT) AS a_, "
            "CAST(SUM(2 * rk_ + t_ - 1) AS BIGINT) AS b_ FROM x GROUP BY g_ "
            "UNION ALL SELECT 2 AS k_, CAST(t_ AS BIGINT) AS a_, CAST(COUNT(*) AS BIGINT) AS b_ "
            "FROM x WHERE t_ > 1 GROUP BY t_"
        )
    else:
        sql = base + (
            "c AS (SELECT g_, v_, CAST(COUNT(*) AS BIGINT) AS c_ FROM b GROUP BY g_, v_), "
            "p AS (SELECT v_, CAST(SUM(c_) AS BIGINT) AS t_ FROM c GROUP BY v_), "
            "r AS (SELECT v_, t_, CAST(SUM(t_) OVER (ORDER BY v_ ROWS BETWEEN UNBOUNDED "
            "PRECEDING AND CURRENT ROW) AS BIGINT) AS hi_ FROM p) "
            # twice the midrank of a value: 2 (hi - t) + t + 1, an exact integer
            "SELECT 0 AS k_, CAST(c.g_ AS BIGINT) AS a_, "
            "CAST(SUM(c.c_ * (2 * r.hi_ - r.t_ + 1)) AS BIGINT) AS b_ "
            "FROM c JOIN r ON c.v_ = r.v_ GROUP BY c.g_ "
            "UNION ALL SELECT 1 AS k_, t_ AS a_, CAST(COUNT(*) AS BIGINT) AS b_ FROM p "
            "WHERE t_ > 1 GROUP BY t_"
        )
    r = ctx.run(sql)
    rank2 = [0] * len(ns)
    sizes: list[int] = []
    mult: list[int] = []
    for k, a, b in zip(_ints(r["k_"]), _ints(r["a_"]), _ints(r["b_"]), strict=True):
        assert a is not None
        assert b is not None
        if k == 0:
            rank2[a] = b
        else:  # k == 2: rows in ties of size a (a per tie), k == 1: ties of size a
            sizes.append(a)
            mult.append(b // a if k == 2 else b)
    res = descriptive.continuous_test_from_sums(
        ns,
        rank_sums=[x / 2.0 for x in rank2],
        ties=descriptive.tie_term(sizes, mult) if sizes else 0.0,
    )
    return str(res.footnote), float(res.p_value)


def _with_groups(ctx: _Ctx, row: Table1Row, s: _Summary) -> Table1Row:
    grows = [
        replace(_cont_row_from(row.variable, row.label, d, row.unit, 0), group=lev)
        for lev, d in zip(ctx.by_levels, s.groups, strict=True)
    ]
    assert s.test is not None
    test, p = s.test
    return replace(row, groups=tuple(grows), test=test, p_value=p)

"""Table 1 of a registry-sized cohort, reduced by a data engine (DuckDB or Spark).

:class:`EngineTable1` gives the summaries Table 1 is built from
(:mod:`survstudy.pipeline.table1`; the same rows and tests as the in-memory
summaries of :mod:`survstudy.pipeline.table1_memory`): every number is computed in
SQL over the derived table (:mod:`survstudy.pipeline.registry`) down to a few small
tables, and the statistics are finished on the driver by
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
  type 6), selected exactly by histogram refinement
  (:func:`survstudy.pipeline.table1_sql.order_statistics`):
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
from typing import Any

import numpy as np

from survstudy.data.registry import DerivedCohort, detail_levels
from survstudy.engines.base import Source
from survstudy.engines.sql import lit
from survstudy.errors import AnalysisError
from survstudy.pipeline import engine as pipeline_engine
from survstudy.pipeline.results import MethodsProfile, Table1Result
from survstudy.pipeline.table1 import (
    ContinuousSummary,
    Counts,
    by_error,
    quantile_rule,
    table1_result,
)
from survstudy.pipeline.table1_sql import (
    ALL,
    PROBS,
    SqlContext,
    floats,
    ints,
    order_statistics,
)
from survstudy.spec import StudySpec
from survstudy.stats import descriptive

__all__ = ["EngineTable1", "table1_from_engine"]


def table1_from_engine(
    spec: StudySpec,
    cohort: DerivedCohort,
    eng: Any,
    source: Source,
    prof: MethodsProfile,
) -> Table1Result:
    """Table 1 of ``cohort`` (its derived table read by ``eng`` through ``source``).

    Equal to the in-memory Table 1 on the same patients (floats to ~1e-13 relative:
    means and SDs are summed in a different order; everything else exactly). ``eng``
    must have ``relation``, ``query`` and ``dialect`` (the DuckDB and Spark engines).
    """
    return table1_result(spec, cohort, EngineTable1(spec, cohort, eng, source, prof))


class EngineTable1:
    """:class:`~survstudy.pipeline.table1.Table1Summaries` of a registry cohort, by SQL.

    Every count and moment is fetched at construction (two scans); quartiles and group
    tests are computed per variable when asked for.
    """

    def __init__(
        self,
        spec: StudySpec,
        cohort: DerivedCohort,
        eng: Any,
        source: Source,
        prof: MethodsProfile,
    ) -> None:
        t1 = spec.analyses.table1
        assert t1 is not None
        if not all(hasattr(eng, a) for a in ("relation", "query", "dialect")):
            raise AnalysisError(
                f"Table 1 of a registry cohort needs a SQL engine (duckdb or spark), "
                f"not {getattr(eng, 'name', type(eng).__name__)}"
            )
        relation, label = eng.relation(source)
        ctx = SqlContext(
            eng, relation, label, cohort, quantile_rule(prof), t1.continuous, t1.missing
        )
        self.by_label: str | None = None
        if t1.by is not None:
            info = cohort.variables.get(t1.by)
            if info is None or not info.is_categorical:
                raise by_error(spec)
            ctx.by_levels = info.levels
            ctx.group = ctx.ident(t1.by)
            self.by_label = info.label
        self.ctx = ctx
        self._per_group = _prefetch(ctx, [name for name in t1.variables if name != t1.by])

    @property
    def by_levels(self) -> tuple[str, ...]:
        return self.ctx.by_levels

    def by_counts(self) -> tuple[tuple[str, int], ...]:
        if self.ctx.group is None:
            return ()
        return tuple(
            (lev, int(self._per_group.get(i, 0))) for i, lev in enumerate(self.ctx.by_levels)
        )

    def counts(self, name: str) -> Counts:
        info = self.ctx.cohort.variables[name]
        levels = () if info.type == "multiselect" else tuple(info.levels)
        return Counts(levels=levels, cells=self.ctx.counts.get(name, {}))

    def continuous(self, name: str) -> ContinuousSummary:
        return _continuous(self.ctx, name)


# --------------------------------------------------------------------------- counts


def _count_plan(ctx: SqlContext, name: str) -> list[tuple[str, str]]:
    """(key, SQL condition) of every count a categorical/multiselect variable needs.

    The keys of :mod:`.table1`: categorical ``known`` = applicable and coded; one
    count per level (``L:<level>``; the column holds the level's code), per detail
    value (``D:<value>``) among the known rows, and the applicable rows (``A``).
    Multiselect option ``col``: known (``K:col``), selected (``S:col``) and
    applicable-but-missing (``M:col``) rows."""
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
    out += [(f"L:{lev}", f"{known} AND {v} = {i}") for i, lev in enumerate(info.levels)]
    if info.detail_column and info.sublevels:
        d = f"CAST({ctx.ident(info.detail_column)} AS INTEGER)"
        out += [(f"D:{val}", f"{known} AND {d} = {i}") for i, val in enumerate(detail_levels(info))]
    out.append(("A", a))
    return out


def _continuous_item(ctx: SqlContext, name: str) -> tuple[str, str, str] | None:
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


def _prefetch(ctx: SqlContext, names: Sequence[str]) -> dict[int, int]:
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
    groups = ints(r["g_"])
    per_group = {
        g: int(n or 0) for g, n in zip(groups, ints(r["n_"]), strict=True) if g is not None
    }
    for j, (name, key) in enumerate(keys):
        col = {g: int(n or 0) for g, n in zip(groups, ints(r[f"c{j}_"]), strict=True)}
        ctx.counts.setdefault(name, {})[key] = col
    if items:
        ctx.moments.update(_moments_many(ctx, items))
    return per_group


# --------------------------------------------------------------------------- continuous


def _continuous(ctx: SqlContext, name: str) -> ContinuousSummary:
    """Summaries of ``name``'s values (where known), overall and per group."""
    item = _continuous_item(ctx, name)
    assert item is not None
    value, known, _applicable = item
    if name not in ctx.moments:
        ctx.moments.update(_moments_many(ctx, {name: item}))
    moments = ctx.moments[name]
    scopes = [ALL, *range(len(ctx.by_levels))] if ctx.group is not None else [ALL]
    n_of = {s: int(moments.get(s, {}).get("n", 0)) for s in scopes}
    order = order_statistics(ctx, value, known, n_of, moments)
    dicts: dict[int, dict[str, Any]] = {}
    for s in scopes:
        m = moments.get(s, {})
        n = n_of[s]
        d: dict[str, Any] = {"n": n}
        for key, p in zip(("q1", "median", "q3"), PROBS, strict=True):
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
    top = moments.get(ALL, {})
    return ContinuousSummary(
        overall=dicts[ALL],
        groups=tuple(dicts[s] for s in scopes[1:]),
        test=test,
        rows=int(top.get("rows", 0)),
        known=n_of[ALL],
        applicable=int(top.get("app", 0)),
    )


def _moments_many(
    ctx: SqlContext, items: dict[str, tuple[str, str, str]]
) -> dict[str, dict[int, dict[str, Any]]]:
    """Per item and scope (``ALL``, each group code): rows, applicable rows, n, mean,
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
    sql = f"SELECT CAST({ALL} AS BIGINT) AS s_, {agg} FROM {ctx.relation}"
    if ctx.group is not None:
        sql += (
            f" UNION ALL SELECT CAST({ctx.group} AS BIGINT) AS s_, {agg} FROM {ctx.relation} "
            f"WHERE {ctx.group} IS NOT NULL GROUP BY {ctx.group}"
        )
    r = ctx.run(sql)
    scopes = ints(r["s_"])
    rows = ints(r["rows_"])
    out: dict[str, dict[int, dict[str, Any]]] = {}
    for i, name in enumerate(items):
        cols = {k: floats(r[f"{k}{i}_"]) for k in ("mean", "var", "sd", "min", "max")}
        counts = {k: ints(r[f"{k}{i}_"]) for k in ("app", "n")}
        per: dict[int, dict[str, Any]] = {}
        for j, s in enumerate(scopes):
            assert s is not None
            per[s] = {k: v[j] for k, v in cols.items()}
            per[s] |= {k: int(v[j] or 0) for k, v in counts.items()} | {"rows": int(rows[j] or 0)}
        out[name] = per
    return out


_DISTINCT_SHARE = 0.25
#: rows sampled to estimate that share
_SAMPLE = 100_000
#: histogram buckets per region and round of the order-statistic search


def _group_test(
    ctx: SqlContext,
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
        g = np.array(ints(r["g_"]), dtype=np.int64)
        v = np.array(floats(r["v_"]), dtype=float)
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
    (n_distinct,), (n_sample,) = ints(r["d_"]), ints(r["n_"])
    if (n_distinct or 0) > _DISTINCT_SHARE * (n_sample or 0):
        # mostly distinct values: rank the rows (one sort) rather than first collapsing
        # them to a distinct-value table as large as the data; 2·midrank = 2·rank + t - 1
        # with t = (rows <= v) - rank + 1, both from the one ordering (a partition by the
        # value would be a second grouping of every row)
        sql = base + (
            "x AS (SELECT g_, rk_, hi_ - rk_ + 1 AS t_ FROM (SELECT g_, "
            "RANK() OVER (ORDER BY v_) AS rk_, COUNT(*) OVER (ORDER BY v_ RANGE BETWEEN "
            "UNBOUNDED PRECEDING AND CURRENT ROW) AS hi_ FROM b) xr) "
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
    for k, a, b in zip(ints(r["k_"]), ints(r["a_"]), ints(r["b_"]), strict=True):
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

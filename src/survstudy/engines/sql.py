"""SQL for the engine interface, written once and rendered for DuckDB or Spark SQL.

An analysis is described by a :class:`Spec` (the relation to read, the typed
columns, the Cox terms, the filter); the functions below turn it into one
``SELECT`` each. An engine only has to (1) give the relation as text (DuckDB:
``read_parquet([...])``; Spark: a temporary view name), (2) say each used
column's :data:`KINDS` from its schema, (3) run the query and hand the result
columns (names documented per function) to :mod:`survstudy.engines.cells`'s
helpers / the containers of :mod:`survstudy.stats.sufficient`.

Every query reads the rows of ``base``: ``WHERE <where>``, then (except in
:func:`checks_sql`) only *complete* rows (no used column NULL, nor NaN for
floating-point columns). Derived columns in ``base``:

* ``t_`` — time as DOUBLE; ``e_`` — event as 0.0/1.0 (NULL for a value that is
  not 0/1/true/false: :func:`checks_sql` counts them); ``w_`` — case weight
  (1.0 without a weight column); ``s_``/``g_`` — raw stratum/group values
  (NULL-free on complete rows; the driver orders and codes them); ``c_`` — raw
  cluster value (0 without a cluster column);
* ``x0_ … x{p-1}_`` — the Cox terms as DOUBLE (indicators for categorical
  levels), centred by ``center`` when given.

Float literals are written ``%.17e`` so both dialects read them as exact DOUBLEs
(DuckDB reads ``0.1`` as a DECIMAL).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "DIALECTS",
    "KINDS",
    "Column",
    "Dialect",
    "Spec",
    "category_counts_sql",
    "cells_estimate_sql",
    "checks_sql",
    "concordance_cells_sql",
    "cox_sums_sql",
    "dialect",
    "levels_sql",
    "moments_sql",
    "numeric_summary_sql",
    "risk_table_sql",
    "robust_sql",
]

#: column kinds an engine reports from its schema
KINDS = ("float", "integer", "boolean", "text")


@dataclass(frozen=True)
class Dialect:
    """How the two SQL dialects differ, for the constructs used here."""

    name: str
    quote_char: str
    string_type: str
    try_cast: str

    def ident(self, name: str) -> str:
        q = self.quote_char
        return q + name.replace(q, q + q) + q

    def isnan(self, expr: str) -> str:
        if self.name == "duckdb":
            # DuckDB 2.0 folds isnan(col) (and col <> col) to false from a Parquet file's
            # column statistics, which leave NaN out; isfinite is evaluated, and a NaN is
            # the non-finite value whose absolute value is not infinity
            return f"(NOT isfinite({expr}) AND abs({expr}) <> CAST('Infinity' AS DOUBLE))"
        return f"isnan({expr})"

    def not_finite(self, expr: str) -> str:
        if self.name == "duckdb":
            return f"(NOT isfinite({expr}))"
        return f"(isnan({expr}) OR abs({expr}) = CAST('Infinity' AS DOUBLE))"


DIALECTS: dict[str, Dialect] = {
    "duckdb": Dialect("duckdb", '"', "VARCHAR", "TRY_CAST"),
    "spark": Dialect("spark", "`", "STRING", "TRY_CAST"),
}


def dialect(name: str) -> Dialect:
    """The :class:`Dialect` called ``duckdb`` or ``spark``."""
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValueError(f"SQL dialect must be duckdb or spark, not {name!r}") from None


@dataclass(frozen=True)
class Column:
    """A used column: its name and kind (one of :data:`KINDS`)."""

    name: str
    kind: str


@dataclass(frozen=True)
class Spec:
    """The rows and columns of one analysis.

    ``terms`` are ``(column, level)`` pairs: ``level is None`` = the numeric
    column, else the indicator ``column == level`` (``level`` a normalised level,
    see :func:`survstudy.engines.base.level_value`).
    """

    relation: str
    time: Column
    event: Column
    group: Column | None = None
    strata: Column | None = None
    weight: Column | None = None
    terms: tuple[tuple[Column, Any], ...] = ()
    where: str | None = None
    cluster: Column | None = None

    def used(self) -> list[Column]:
        cols = [self.time, self.event]
        cols += [c for c in (self.group, self.strata, self.weight, self.cluster) if c is not None]
        cols += [c for c, _ in self.terms]
        out: dict[str, Column] = {}
        for c in cols:
            out.setdefault(c.name, c)
        return list(out.values())


def lit(v: float) -> str:
    """A DOUBLE literal both dialects read exactly."""
    f = float(v)
    if not np.isfinite(f):
        raise ValueError("non-finite literal")
    return f"{f:.17e}"


def _text_lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _num(c: Column, d: Dialect) -> str:
    q = d.ident(c.name)
    if c.kind == "boolean":
        return f"(CASE WHEN {q} THEN CAST(1 AS DOUBLE) ELSE CAST(0 AS DOUBLE) END)"
    if c.kind == "text":
        return f"{d.try_cast}(trim({q}) AS DOUBLE)"
    return f"CAST({q} AS DOUBLE)"


def _event(c: Column, d: Dialect) -> str:
    q = d.ident(c.name)
    if c.kind == "boolean":
        return f"(CASE WHEN {q} THEN CAST(1 AS DOUBLE) ELSE CAST(0 AS DOUBLE) END)"
    if c.kind == "text":
        v = f"lower(trim({q}))"
        return (
            f"(CASE WHEN {v} IN ('1', '1.0', 'true') THEN CAST(1 AS DOUBLE) "
            f"WHEN {v} IN ('0', '0.0', 'false') THEN 0.0 END)"
        )
    return f"(CASE WHEN {q} = 1 THEN CAST(1 AS DOUBLE) WHEN {q} = 0 THEN CAST(0 AS DOUBLE) END)"


def _indicator(c: Column, level: Any, d: Dialect) -> str:
    q = d.ident(c.name)
    if isinstance(level, str):
        if c.kind != "text":
            return "CAST(0 AS DOUBLE)"
        return f"(CASE WHEN trim({q}) = {_text_lit(level)} THEN CAST(1 AS DOUBLE) ELSE CAST(0 AS DOUBLE) END)"
    return f"(CASE WHEN {_num(c, d)} = {lit(float(level))} THEN CAST(1 AS DOUBLE) ELSE CAST(0 AS DOUBLE) END)"


def _missing(c: Column, d: Dialect) -> str:
    q = d.ident(c.name)
    if c.kind == "float":
        return f"({q} IS NULL OR {d.isnan(q)})"
    return f"{q} IS NULL"


def _base(spec: Spec, d: Dialect, center: NDArray[np.float64] | None = None) -> str:
    """``base`` CTE: derived columns plus ``ok_`` (the row is complete)."""
    sel = [
        f"{_num(spec.time, d)} AS t_",
        f"{_event(spec.event, d)} AS e_",
        f"{'CAST(1 AS DOUBLE)' if spec.weight is None else _num(spec.weight, d)} AS w_",
        f"{'0' if spec.strata is None else d.ident(spec.strata.name)} AS s_",
        f"{'0' if spec.group is None else d.ident(spec.group.name)} AS g_",
        f"{'0' if spec.cluster is None else d.ident(spec.cluster.name)} AS c_",
    ]
    for j, (c, level) in enumerate(spec.terms):
        x = _num(c, d) if level is None else _indicator(c, level, d)
        if center is not None:
            x = f"({x} - {lit(center[j])})"
        sel.append(f"{x} AS x{j}_")
    miss = " OR ".join(_missing(c, d) for c in spec.used())
    sel.append(f"(CASE WHEN {miss} THEN 0 ELSE 1 END) AS ok_")
    where = f" WHERE {spec.where}" if spec.where else ""
    return f"WITH base AS (SELECT {', '.join(sel)} FROM {spec.relation}{where})"


def checks_sql(spec: Spec, d: Dialect) -> str:
    """Row counts and validity, one row.

    Columns: ``n_read`` (rows passing ``where``), ``n_used`` (complete rows),
    ``bad_time`` (complete rows with a time < 0, not finite or not a number),
    ``bad_event`` (complete rows whose event is not 0/1/true/false),
    ``bad_weight`` (weight <= 0 or not finite), ``bad_term`` (a numeric term's
    text value that is not a number).
    """
    bad_w = (
        "0"
        if spec.weight is None
        else f"CASE WHEN ok_ = 1 AND (w_ IS NULL OR w_ <= 0 OR {d.not_finite('w_')}) THEN 1 ELSE 0 END"
    )
    bad_x = [f"x{j}_ IS NULL" for j, (_, lv) in enumerate(spec.terms) if lv is None]
    bad_term = f"CASE WHEN ok_ = 1 AND ({' OR '.join(bad_x)}) THEN 1 ELSE 0 END" if bad_x else "0"
    return (
        _base(spec, d)
        + " SELECT COUNT(*) AS n_read, COALESCE(SUM(ok_), 0) AS n_used, "
        + "COALESCE(SUM(CASE WHEN ok_ = 1 AND (t_ IS NULL OR t_ < 0 OR "
        + d.not_finite("t_")
        + ") THEN 1 ELSE 0 END), 0) AS bad_time, "
        + "COALESCE(SUM(CASE WHEN ok_ = 1 AND e_ IS NULL THEN 1 ELSE 0 END), 0) AS bad_event, "
        + f"COALESCE(SUM({bad_w}), 0) AS bad_weight, COALESCE(SUM({bad_term}), 0) AS bad_term "
        + "FROM base"
    )


def risk_table_sql(spec: Spec, d: Dialect) -> str:
    """Per (s_, g_, t_, e_) over complete rows: ``w`` = Σ weight, ``n`` = row count.

    Columns ``s_, g_, t_, e_, w, n``; the driver sums ``w`` over ``e_ = 1`` for
    the events and over both for the exits (:func:`survstudy.engines.cells.risk_counts_from_cells`).
    """
    return (
        _base(spec, d)
        + " SELECT s_, g_, t_, e_, SUM(w_) AS w, COUNT(*) AS n FROM base WHERE ok_ = 1"
        + " GROUP BY s_, g_, t_, e_"
    )


def levels_sql(
    relation: str,
    column: Column,
    required: Sequence[Column],
    d: Dialect,
    where: str | None = None,
) -> str:
    """Distinct non-missing values of ``column`` where ``required`` are non-missing: column ``v``."""
    conds = [f"NOT ({_missing(c, d)})" for c in [column, *required]]
    if where:
        conds.insert(0, f"({where})")
    return (
        f"SELECT DISTINCT {d.ident(column.name)} AS v FROM {relation} WHERE {' AND '.join(conds)}"
    )


def moments_sql(spec: Spec, d: Dialect, center: NDArray[np.float64] | None = None) -> str:
    """One row over complete rows. Columns: ``n, n_events, w_sum``, ``sw{j}`` (Σ w x_j),
    ``nonbin{j}`` (rows with x_j not in {0, 1}), ``ev1_{j}`` (events with x_j = 1) and,
    with ``center``, ``ad{j}`` (Σ |x_j − c_j|) and ``cp{j}_{k}`` (k >= j, Σ (x_j − c_j)(x_k − c_k))."""
    p = len(spec.terms)
    agg = ["COUNT(*) AS n", "SUM(e_) AS n_events", "SUM(w_) AS w_sum"]
    for j in range(p):
        agg.append(f"SUM(w_ * x{j}_) AS sw{j}")
        agg.append(f"SUM(CASE WHEN x{j}_ = 0 OR x{j}_ = 1 THEN 0 ELSE 1 END) AS nonbin{j}")
        agg.append(f"SUM(CASE WHEN x{j}_ = 1 THEN e_ ELSE 0 END) AS ev1_{j}")
    if center is not None:
        for j in range(p):
            agg.append(f"SUM(abs(x{j}_ - {lit(center[j])})) AS ad{j}")
        for j in range(p):
            for k in range(j, p):
                agg.append(
                    f"SUM((x{j}_ - {lit(center[j])}) * (x{k}_ - {lit(center[k])})) AS cp{j}_{k}"
                )
    return _base(spec, d) + f" SELECT {', '.join(agg)} FROM base WHERE ok_ = 1"


def cox_sums_sql(
    spec: Spec, d: Dialect, beta: NDArray[np.float64], center: NDArray[np.float64]
) -> str:
    """Per (s_, t_, e_) over complete rows at ``beta`` with ``x_c = x − center``, ``η = x_c·β``.

    Columns: ``s_, t_, e_``, ``n`` (rows), ``w`` (Σ w), ``r0`` (Σ w e^η), ``r1_{j}``
    (Σ w x_cj e^η), ``r2_{j}_{k}`` for k >= j (Σ w x_cj x_ck e^η), ``sx{j}``
    (Σ w x_cj) and ``seta`` (Σ w η). Rows with ``e_ = 1`` give the event sums, both
    rows together the all-rows sums (:func:`survstudy.engines.cells.cox_sums_from_cells`).
    """
    p = len(spec.terms)
    eta = " + ".join(f"x{j}_ * {lit(beta[j])}" for j in range(p)) if p else "CAST(0 AS DOUBLE)"
    inner = (
        f"SELECT s_, t_, e_, w_, {', '.join(f'x{j}_' for j in range(p))}"
        + (", " if p else "")
        + f"({eta}) AS eta_ FROM base WHERE ok_ = 1"
    )
    agg = [
        "COUNT(*) AS n",
        "SUM(w_) AS w",
        "SUM(wr_) AS r0",
        "SUM(w_ * eta_) AS seta",
    ]
    for j in range(p):
        agg.append(f"SUM(wr_ * x{j}_) AS r1_{j}")
        agg.append(f"SUM(w_ * x{j}_) AS sx{j}")
    for j in range(p):
        for k in range(j, p):
            agg.append(f"SUM(wr_ * x{j}_ * x{k}_) AS r2_{j}_{k}")
    return (
        _base(spec, d, center)
        + f", lp AS ({inner}), r AS (SELECT *, w_ * exp(eta_) AS wr_ FROM lp)"
        + f" SELECT s_, t_, e_, {', '.join(agg)} FROM r GROUP BY s_, t_, e_"
    )


def cox_sums_many_sql(
    spec: Spec,
    d: Dialect,
    betas: Sequence[NDArray[np.float64]],
    center: NDArray[np.float64],
) -> str:
    """:func:`cox_sums_sql` at several β in one pass (the Efron and Breslow fits of a model
    evaluate their Newton steps together).

    Columns: ``s_, t_, e_, n, w`` and ``sx{j}`` as there (they do not depend on β), and
    per β number ``b`` the β-dependent sums of :func:`cox_sums_sql` with the suffix
    ``_b{b}``: ``r0_b{b}``, ``seta_b{b}``, ``r1_{j}_b{b}``, ``r2_{j}_{k}_b{b}``. Each is
    the same expression as in :func:`cox_sums_sql`.
    """
    p = len(spec.terms)
    xs = "".join(f", x{j}_" for j in range(p))
    etas = []
    for b, beta in enumerate(betas):
        eta = " + ".join(f"x{j}_ * {lit(beta[j])}" for j in range(p)) if p else "CAST(0 AS DOUBLE)"
        etas.append(f"({eta}) AS eta_b{b}")
    inner = f"SELECT s_, t_, e_, w_{xs}, {', '.join(etas)} FROM base WHERE ok_ = 1"
    wrs = ", ".join(f"w_ * exp(eta_b{b}) AS wr_b{b}" for b in range(len(betas)))
    agg = ["COUNT(*) AS n", "SUM(w_) AS w"]
    agg += [f"SUM(w_ * x{j}_) AS sx{j}" for j in range(p)]
    for b in range(len(betas)):
        agg += [f"SUM(wr_b{b}) AS r0_b{b}", f"SUM(w_ * eta_b{b}) AS seta_b{b}"]
        agg += [f"SUM(wr_b{b} * x{j}_) AS r1_{j}_b{b}" for j in range(p)]
        agg += [
            f"SUM(wr_b{b} * x{j}_ * x{k}_) AS r2_{j}_{k}_b{b}"
            for j in range(p)
            for k in range(j, p)
        ]
    return (
        _base(spec, d, center)
        + f", lp AS ({inner}), r AS (SELECT *, {wrs} FROM lp)"
        + f" SELECT s_, t_, e_, {', '.join(agg)} FROM r GROUP BY s_, t_, e_"
    )


def robust_sql(
    spec: Spec,
    d: Dialect,
    beta: NDArray[np.float64],
    center: NDArray[np.float64],
    table: str,
) -> str:
    """Σ over rows of the score residuals' cross-products (robust variance, second pass).

    ``table`` is a relation with the columns of
    :func:`survstudy.stats.sufficient.robust_join_table` (``s_, t_, abar{j}, h, ha{j},
    dh, dha{j}``), joined to the rows on ``(s_, t_)``. Row residual
    ``r_j = e w (x_j − abar_j) − w e^η (x_j (h − e·dh) − (ha_j − e·dha_j))``.
    With ``spec.cluster`` the residuals are first summed within each cluster value
    (``GROUP BY c_``; R's ``cluster(id)``) and the cross-products taken of those sums.
    Columns: ``n`` (rows joined, or clusters) and ``rr{j}_{k}`` for k >= j (Σ r_j r_k).
    """
    p = len(spec.terms)
    eta = " + ".join(f"b.x{j}_ * {lit(beta[j])}" for j in range(p)) if p else "CAST(0 AS DOUBLE)"
    res = [
        f"b.e_ * b.w_ * (b.x{j}_ - k.abar{j}) - b.w_ * exp({eta}) * "
        f"(b.x{j}_ * (k.h - b.e_ * k.dh) - (k.ha{j} - b.e_ * k.dha{j})) AS r{j}"
        for j in range(p)
    ]
    agg = ["COUNT(*) AS n"] + [
        f"SUM(r{j} * r{k}) AS rr{j}_{k}" for j in range(p) for k in range(j, p)
    ]
    out = (
        _base(spec, d, center)
        + f", res AS (SELECT b.c_ AS c_{''.join(', ' + r for r in res)} FROM base b JOIN {table} k"
        + " ON b.s_ = k.s_ AND b.t_ = k.t_ WHERE b.ok_ = 1)"
    )
    if spec.cluster is None:
        return out + f" SELECT {', '.join(agg)} FROM res"
    per_cluster = ", ".join(f"SUM(r{j}) AS r{j}" for j in range(p)) or "COUNT(*) AS m_"
    return (
        out + f", cl AS (SELECT {per_cluster} FROM res GROUP BY c_) SELECT {', '.join(agg)} FROM cl"
    )


def _cell_keys(spec: Spec) -> list[str]:
    keys = ["s_", "t_", "e_", *(f"x{j}_" for j in range(len(spec.terms)))]
    return keys + (["c_"] if spec.cluster is not None else [])


def cells_estimate_sql(spec: Spec, d: Dialect) -> str:
    """One row over complete rows: ``n`` (rows) and ``k``, an estimate of the number of
    distinct :func:`concordance_cells_sql` records (HyperLogLog of a 64-bit hash of the keys:
    DuckDB ``hash``, Spark ``xxhash64``; a few per cent error), a cheap streaming pass that
    avoids a grouping with as many groups as rows."""
    h = "hash" if d.name == "duckdb" else "xxhash64"
    return (
        _base(spec, d)
        + f" SELECT COUNT(*) AS n, approx_count_distinct({h}({', '.join(_cell_keys(spec))})) AS k"
        + " FROM base WHERE ok_ = 1"
    )


def concordance_cells_sql(spec: Spec, d: Dialect, limit: int | None = None) -> str:
    """Complete rows grouped by (s_, t_, e_, x0_ … x{p-1}_[, c_]) (terms not centred).

    Columns: the keys, ``n`` (rows), ``w`` (Σ w), ``w2`` (Σ w²). With ``limit`` at most
    ``limit + 1`` records are returned (more than ``limit`` = too many)."""
    keys = ", ".join(_cell_keys(spec))
    tail = "" if limit is None else f" LIMIT {int(limit) + 1}"
    return (
        _base(spec, d)
        + f" SELECT {keys}, COUNT(*) AS n, SUM(w_) AS w, SUM(w_ * w_) AS w2"
        + f" FROM base WHERE ok_ = 1 GROUP BY {keys}{tail}"
    )


def _quantile(d: Dialect, expr: str, q: float) -> str:
    if d.name == "duckdb":
        return f"quantile_cont({expr}, {q!r})"
    return f"percentile({expr}, {q!r})"


def numeric_summary_sql(
    relation: str,
    column: Column,
    d: Dialect,
    group: Column | None = None,
    where: str | None = None,
) -> str:
    """Per group value ``g_`` (all rows when ``group`` is None; rows with a missing group
    are left out): ``n, n_missing, mean, sd, min, q1, median, q3, max`` of the column as
    DOUBLE (NaN counts as missing; SD with n − 1; exact type-7 quantiles)."""
    q = d.ident(column.name)
    v = _num(column, d)
    if column.kind == "float":
        v = f"(CASE WHEN {d.isnan(q)} THEN NULL ELSE {v} END)"
    g = "0" if group is None else d.ident(group.name)
    conds = [] if group is None else [f"NOT ({_missing(group, d)})"]
    if where:
        conds.insert(0, f"({where})")
    wh = f" WHERE {' AND '.join(conds)}" if conds else ""
    return (
        f"WITH base AS (SELECT {g} AS g_, {v} AS v_ FROM {relation}{wh}) "
        "SELECT g_, COUNT(v_) AS n, COUNT(*) - COUNT(v_) AS n_missing, AVG(v_) AS mean, "
        "STDDEV_SAMP(v_) AS sd, MIN(v_) AS min, "
        f"{_quantile(d, 'v_', 0.25)} AS q1, {_quantile(d, 'v_', 0.5)} AS median, "
        f"{_quantile(d, 'v_', 0.75)} AS q3, MAX(v_) AS max FROM base GROUP BY g_"
    )


def category_counts_sql(
    relation: str,
    column: Column,
    d: Dialect,
    group: Column | None = None,
    where: str | None = None,
) -> str:
    """Rows per (group value ``g_``, column value ``v``; NULL ``v`` = missing)."""
    q = d.ident(column.name)
    v = f"(CASE WHEN {_missing(column, d)} THEN NULL ELSE {q} END)"
    g = "0" if group is None else d.ident(group.name)
    conds = [] if group is None else [f"NOT ({_missing(group, d)})"]
    if where:
        conds.insert(0, f"({where})")
    wh = f" WHERE {' AND '.join(conds)}" if conds else ""
    return f"SELECT {g} AS g_, {v} AS v, COUNT(*) AS n FROM {relation}{wh} GROUP BY g_, v"

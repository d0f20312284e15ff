"""The analysis cohort of a registry-sized study, derived by the DuckDB or Spark engine in SQL.

:func:`derive_cohort` is the out-of-memory twin of
:func:`survstudy.data.build_cohort` followed by
:func:`survstudy.data.registry.derive_from_cohort`: the spec's data file(s)
are read in place (``engine.relation``), one SQL query with CTEs types every
declared column, computes the derived variables, applies the population steps,
the ``applicable_when`` masks and the endpoint rules, and the engine writes the
*derived table* (contract in :mod:`survstudy.data.registry`) as Parquet. The
inclusion flow, the variables' metadata and the data-quality report come from one
aggregate query over the same CTEs (counts), plus, for each issue found, a query
for its first :data:`MAX_ROWS` row numbers; no identifier or date value ever
leaves the engine.

This module is the SQL executor of the cohort plan (:mod:`survstudy.data.plan`):
:class:`SqlRun` runs the plan's steps (each step's ``sql`` rendering, next to its
columnar one in :mod:`survstudy.data.steps`), which add columns to the chain of CTEs
and declare their checks. Missing-value codes and level matching compare cells as
:func:`survstudy.data.columns.norm_text` does (numbers by value, text trimmed and
case-folded), levels found in the data are ordered numbers first then text,
three-valued logic decides the population (an ``include`` that is unknown
excludes, an ``exclude`` that is unknown keeps), and errors raise the
:class:`~survstudy.errors.DataError` that ``build_cohort(strict=True)`` raises.

Rows: ``row`` is the spreadsheet row of a CSV file (header = row 1) and the case
number of a Parquet data set (files in name order), as the in-memory readers
number them. DuckDB counts with ``row_number() OVER ()`` (a streaming window over
the order-preserving scan); Spark from ``monotonically_increasing_id()`` per input
file and partition, offset by the counts of the earlier ones (a small aggregate).
DuckDB writes the derived table in the order of the first endpoint's time (each
analysis pass then aggregates neighbouring rows into the same per-time groups).

CSV files are read with every cell as text (DuckDB ``all_varchar``; Spark the
engine's untyped view), so that the typing rules see what the in-memory reader gives; Parquet
columns keep their types (numbers match codes by value, booleans as true/false).

Not translated (a :class:`~survstudy.errors.SpecError` with code
``SPEC-ENGINE-UNSUPPORTED`` says to use ``--engine memory``): joined tables
(``data.tables``); derived-table columns that differ only by case; Excel, SPSS and
Stata files; CSV options ``header_row``, ``encoding``, ``decimal: ","``; CSV files
with blank lines (their row numbers would shift) and several CSV files as one data
set; dates written as text other than ``YYYY-MM-DD`` (also with ``/`` or ``.``)
or ``a/b/YYYY`` (two-digit years, month names, ``date_format`` patterns with ``%``,
Excel serial numbers); date columns stored as numbers; a date column used as a
number or category; more than
:data:`MAX_LEVELS` categories found in the data; expressions comparing a category
with a *computed* number, date or condition.

The query is a chain of CTEs: a step's column joins the CTE being built unless it uses
one of that CTE's columns, which starts a new level. Spark's analyzer stops at 100 iterations;
a spec with a very long chain of derived variables on each other may need the
Spark engine's ``conf={"spark.sql.analyzer.maxIterations": "500"}``.

Known differences from the in-memory executor: messages list at most :data:`MAX_ROWS` rows
(and say how many in all); CATEGORY-UNKNOWN and EVENT-CODE give, per value, its
count and first/last rows; ID-DUPLICATE lists the first :data:`MAX_ROWS` ids.
Text is trimmed of spaces (not every Unicode space) and lower-cased (not
case-folded).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from survstudy.data.cohort import missing_column_error
from survstudy.data.columns import (
    allowed_levels,
    ambiguity_evidence,
    case_groups_text,
    listed_numbers,
    listed_texts,
    merged_case_text,
    norm_text,
    shown,
)
from survstudy.data.expressions import (
    Cell,
    ExpressionTypeError,
    PlanNode,
    SqlValue,
    Untranslatable,
    num_lit,
    str_lit,
    translate,
    translate_node,
)
from survstudy.data.plan import CohortPlan, compile_plan
from survstudy.data.quality import CHECKS, IssueCollector, format_rows
from survstudy.data.readers import sha256_of_files
from survstudy.data.registry import DerivedCohort, applicable_column
from survstudy.engines.base import Source
from survstudy.errors import DataError, SpecError
from survstudy.spec import StudySpec
from survstudy.spec import parse_expression as _parse

__all__ = ["MAX_ROWS", "Cell", "SqlRun", "derive_cohort"]

#: row numbers listed per data-quality issue (the message gives the total)
MAX_ROWS = 20
#: categories found in the data beyond which a variable is refused (not a category)
MAX_LEVELS = 10_000

_TIME_SQL = "[ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?$"
_ISO_SQL = "^([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})$"
_ABY_SQL = "^([0-9]{1,2})[-/.]([0-9]{1,2})[-/.]([0-9]{4})$"
_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
# the same pattern without backslashes (Spark SQL literals treat them as escapes)
_NUMBER_SQL = "^[-+]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][-+]?[0-9]+)?$"


def unsupported(feature: str) -> SpecError:
    """The error for a spec feature the SQL derivation does not translate."""
    return SpecError(
        f"{feature} is not supported by the SQL cohort derivation; use --engine memory",
        code="SPEC-ENGINE-UNSUPPORTED",
    )


@dataclass
class _Check:
    """A declared check: rows where ``cond`` holds (among included rows for scope incl);
    its wording is the catalogue's ``code``/``variant`` with ``params``."""

    code: str
    cond: str
    variant: str = ""
    scope: str = "all"
    column: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, str] = field(default_factory=dict)
    sensitive: bool = False
    file: str | None = None
    values: str | None = None  # SQL of the values the message lists
    values_mode: str = ""  # range | mixed | grouped
    total: int = 0
    rows: list[int] = field(default_factory=list)
    listed: list[Any] = field(default_factory=list)
    no_rows: bool = False


def _split_keys(keys: Sequence[str]) -> tuple[list[float], list[str]]:
    nums = [float(k) for k in keys if _NUMBER.match(k)]
    texts = [k for k in keys if not _NUMBER.match(k)]
    return list(dict.fromkeys(nums)), list(dict.fromkeys(texts))


def _type_kind(type_name: str) -> str:
    t = str(type_name).strip().lower()
    if t == "boolean":
        return "bool"
    if t in ("double", "float", "real") or t.startswith("decimal"):
        return "num"
    if t in (
        "tinyint",
        "smallint",
        "int",
        "integer",
        "bigint",
        "hugeint",
        "utinyint",
        "usmallint",
        "uinteger",
        "ubigint",
        "long",
        "short",
        "byte",
    ):
        return "int"
    if t == "date" or t.startswith("timestamp"):
        return "date"
    if t == "null":
        return "null"
    return "text"


class SqlRun:
    """Runs a plan's steps as SQL on a data engine (the primitives the steps' ``sql``
    renderings use): columns are added to a chain of CTEs, checks are declared and
    counted at the end."""

    def __init__(self, plan: CohortPlan, engine: Any) -> None:
        self.plan = plan
        self.spec = plan.spec
        self.engine = engine
        self.d: str = engine.dialect.name
        self.file = self.spec.data.path
        self.checks: list[_Check] = []
        self.ctes: list[tuple[str, str]] = []
        self.pending: list[str] = []  # select items of the CTE being built
        self.pending_idents: set[str] = set()
        self.env: dict[str, SqlValue] = {}
        self.levels: dict[str, list[str]] = {}
        self.value_col: dict[str, str] = {}  # name -> its column (value, or category code)
        self.multi: dict[str, list[tuple[str, str]]] = {}
        self.key_cols: dict[str, tuple[str, str, str, str]] = {}
        self.meta: list[tuple[str, str]] = []  # (name of a count, SQL over included rows)
        self.keeps: list[str] = []
        self.steps: list[tuple[str, str]] = []  # population: (before, after)
        self.population_checks: list[_Check] = []
        self.inc = "TRUE"
        self.id_cell: Cell | None = None
        self.idents: set[str] = set()

    # ------------------------------------------------------------------ SQL helpers
    def unsupported(self, feature: str) -> SpecError:
        return unsupported(feature)

    def q(self, name: str) -> str:
        return str(self.engine.dialect.ident(name))

    def s(self, text: str) -> str:
        return str_lit(text, self.d)

    def regex(self, expr: str, pattern: str) -> str:
        if self.d == "spark":
            return f"({expr} RLIKE {self.s(pattern)})"
        return f"regexp_matches({expr}, {self.s(pattern)})"

    def days(self, expr: str) -> str:
        if self.d == "spark":
            return f"CAST(datediff(CAST({expr} AS DATE), DATE'1970-01-01') AS DOUBLE)"
        return f"CAST(date_diff('day', DATE '1970-01-01', CAST({expr} AS DATE)) AS DOUBLE)"

    def text_type(self) -> str:
        return "STRING" if self.d == "spark" else "VARCHAR"

    def col(self, name: str) -> str:
        """An internal pipeline column (prefixed so it never meets a data column)."""
        return self.q(f"ss__{name}")

    def add(self, expr: str, name: str) -> str:
        """Add ``expr`` as a column of the CTE being built (a new CTE when it uses one of
        that CTE's columns)."""
        if any(i in expr for i in self.pending_idents):
            self.flush()
        base = re.sub(r"[^A-Za-z0-9_]", "_", name)
        ident = self.col(base)
        k = 1
        while ident in self.idents:
            k += 1
            ident = self.col(f"{base}_{k}")
        self.idents.add(ident)
        self.pending.append(f"{expr} AS {ident}")
        self.pending_idents.add(ident)
        return ident

    def flush(self) -> None:
        if not self.pending:
            return
        prev = self.ctes[-1][0]
        name = f"ss_c{len(self.ctes)}"
        self.ctes.append((name, f"SELECT *, {', '.join(self.pending)} FROM {prev}"))
        self.pending = []
        self.pending_idents = set()

    def with_sql(self, *, flush: bool = True) -> str:
        if flush:
            self.flush()
        ctes = []
        for n, body in self.ctes:
            if n == "ss_keys":
                items = [f"{k} AS {ki}, {kn} AS {kni}" for ki, kni, k, kn in self.key_cols.values()]
                body = f"SELECT *{''.join(', ' + i for i in items)} FROM ss_src"
            ctes.append(f"{n} AS ({body})")
        return "WITH " + ", ".join(ctes)

    @property
    def last(self) -> str:
        return self.ctes[-1][0]

    def run(self, sql: str) -> dict[str, Any]:
        return dict(self.engine.query(sql, file=self.label))

    # ------------------------------------------------------------------ plan columns
    def define(self, name: str, kind: str, sql: str) -> str:
        """The plan column ``name`` (of ``kind``) as a new column."""
        ident = self.add(sql, name.lstrip("#"))
        self.value_col[name] = ident
        self.env[name] = SqlValue(kind, ident)
        return ident

    def define_codes(self, name: str, code: str) -> None:
        """A category ``name`` as its code column (into ``self.levels[name]``); expressions
        see the level names."""
        ident = self.add(code, name.lstrip("#"))
        self.value_col[name] = ident
        levels = self.levels[name]
        whens = " ".join(f"WHEN {i} THEN {self.s(lv)}" for i, lv in enumerate(levels))
        sql = f"(CASE {ident} {whens} END)" if levels else f"CAST(NULL AS {self.text_type()})"
        self.env[name] = SqlValue("text", sql)

    def value_sql(self, name: str) -> str:
        return self.env[name].sql

    def spec_fail(self, message: str, key: tuple[str | int, ...]) -> SpecError:
        return SpecError(
            message,
            file=str(self.spec.path.name) if self.spec.path else None,
            line=self.spec.line_of(*key),
            key=".".join(str(k) for k in key),
            code="SPEC-EXPRESSION",
        )

    def eval_text(self, text: str, key: tuple[str | int, ...]) -> SqlValue:
        expr = _parse(text)
        env = {n: self.env[n] for n in expr.names if n in self.env}
        try:
            return translate(
                expr,
                env,
                dialect=self.d,
                days_per_month=self.spec.units.days_per_month,
                days_per_year=self.spec.units.days_per_year,
            )
        except ExpressionTypeError as exc:
            raise self.spec_fail(str(exc), key) from None
        except Untranslatable as exc:
            raise unsupported(f"{exc} ({'.'.join(str(k) for k in key)})") from None

    def eval_node(self, node: PlanNode, text: str = "") -> SqlValue:
        return translate_node(
            node,
            self.env,
            dialect=self.d,
            text=text,
            days_per_month=self.spec.units.days_per_month,
            days_per_year=self.spec.units.days_per_year,
        )

    # ------------------------------------------------------------------ cells
    def cell(self, column: str, key: tuple[str | int, ...]) -> Cell:
        if column not in self.types:
            raise missing_column_error(self.spec, self.file, column, list(self.types), key)
        kind = self.types[column]
        return Cell(self.q(column), kind, column, raw=True)

    def keys(self, c: Cell) -> tuple[str, str]:
        """SQL of a text cell's :func:`norm_text` key: (the trimmed, lower-case text, its
        number when the text is one, else NULL). A data column's keys are computed once
        per row in the ``ss_keys`` CTE; an expression's inline."""
        k = f"lower(trim(CAST({c.sql} AS {self.text_type()})))"
        kn = f"(CASE WHEN {self.regex(k, _NUMBER_SQL)} THEN TRY_CAST({k} AS DOUBLE) END)"
        if not c.raw:
            return k, kn
        if c.column not in self.key_cols:
            i = len(self.key_cols)
            self.key_cols[c.column] = (self.col(f"k{i}"), self.col(f"kn{i}"), k, kn)
        ki, kni, _, _ = self.key_cols[c.column]
        return ki, kni

    def match(self, c: Cell, keys: Sequence[str]) -> str:
        """SQL: the cell's :func:`norm_text` is one of ``keys`` (NULL for a NULL cell)."""
        nums, texts = _split_keys(keys)
        if c.kind in ("num", "int"):
            if not nums:
                return f"({c.sql} IS NULL AND FALSE)"
            return f"(CAST({c.sql} AS DOUBLE) IN ({', '.join(num_lit(n) for n in nums)}))"
        if c.kind == "bool":
            t, f = "true" in texts, "false" in texts
            if t and f:
                return f"({c.sql} IS NOT NULL)"
            if t:
                return f"({c.sql})"
            if f:
                return f"(NOT {c.sql})"
            return f"({c.sql} IS NULL AND FALSE)"
        if c.kind in ("text", "null"):
            k, kn = self.keys(c)
            num_hit = f"{kn} IN ({', '.join(num_lit(n) for n in nums)})" if nums else "FALSE"
            text_hit = f"{k} IN ({', '.join(self.s(t) for t in texts)})" if texts else "FALSE"
            return (
                f"(CASE WHEN {c.sql} IS NULL THEN NULL WHEN {kn} IS NOT NULL "
                f"THEN {num_hit} ELSE {text_hit} END)"
            )
        return f"({c.sql} IS NULL AND FALSE)"

    def missing(self, c: Cell, codes: frozenset[str]) -> str:
        """SQL (never NULL): the cell is empty, NaN or a missing-value code."""
        parts = [f"{c.sql} IS NULL"]
        if c.kind == "num":
            parts.append(self.engine.dialect.isnan(f"CAST({c.sql} AS DOUBLE)"))
        if c.kind in ("num", "int", "bool", "text", "null") and codes:
            parts.append(f"COALESCE({self.match(c, sorted(codes))}, FALSE)")
        return "(" + " OR ".join(parts) + ")"

    def number(self, c: Cell, codes: frozenset[str]) -> tuple[str, str | None]:
        """(value SQL as DOUBLE, SQL of cells that are text, not numbers) as parse_numbers."""
        miss = self.missing(c, codes)
        if c.kind in ("num", "int"):
            x = f"CAST({c.sql} AS DOUBLE)"
            return (
                f"(CASE WHEN {miss} THEN NULL WHEN {self.engine.dialect.not_finite(x)} THEN NULL "
                f"ELSE {x} END)",
                None,
            )
        if c.kind == "bool":
            return f"(CASE WHEN {miss} THEN NULL WHEN {c.sql} THEN 1.0E0 ELSE 0.0E0 END)", None
        if c.kind in ("text", "null"):
            t = f"trim(CAST({c.sql} AS {self.text_type()}))"
            ok = self.regex(t, _NUMBER_SQL)
            return (
                f"(CASE WHEN {miss} THEN NULL WHEN {ok} THEN TRY_CAST({t} AS DOUBLE) END)",
                f"(NOT {miss} AND NOT {ok})",
            )
        raise unsupported(f"the date column '{c.column}' used as a number")

    # ------------------------------------------------------------------ checks
    def check(
        self,
        code: str,
        cond: str,
        *,
        variant: str = "",
        scope: str = "all",
        column: str | None = None,
        params: dict[str, Any] | None = None,
        counts: dict[str, str] | None = None,
        sensitive: bool = False,
        file: str | None = None,
        values: str | None = None,
        values_mode: str = "",
        no_rows: bool = False,
    ) -> _Check:
        """Declare the catalogue's check ``code`` on the rows where ``cond`` holds."""
        chk = _Check(
            code,
            cond,
            variant=variant,
            scope=scope,
            column=column,
            params=dict(params or {}),
            counts=dict(counts or {}),
            sensitive=sensitive,
            file=file,
            values=values,
            values_mode=values_mode,
            no_rows=no_rows,
        )
        self.checks.append(chk)
        return chk

    def grouped_check(
        self, code: str, variant: str, cond: str, c: Cell, *, column: str, params: dict[str, Any]
    ) -> None:
        """A check listing each value found with its count and first/last rows."""
        self.check(
            code,
            cond,
            variant=variant,
            column=column,
            params=params,
            sensitive=True,
            values=c.sql if c.kind != "text" else f"trim({c.sql})",
            values_mode="grouped",
        )

    def mixed_types(self, c: Cell, bad: str) -> None:
        self.check(
            "MIXED-TYPES",
            bad,
            column=c.column,
            sensitive=True,
            values=f"trim(CAST({c.sql} AS {self.text_type()}))",
            values_mode="mixed",
        )

    def category_unknown(self, c: Cell, unknown: str, level_map: dict[str, list[Any]]) -> None:
        self.grouped_check(
            "CATEGORY-UNKNOWN",
            "",
            unknown,
            c,
            column=c.column,
            params={"allowed": allowed_levels(level_map)},
        )

    # ------------------------------------------------------------------ source
    def open_source(self) -> None:
        spec = self.spec
        d = spec.data
        path = spec.data_path
        fmt = d.format
        if fmt is None:
            suffix = path.suffix.lower()
            if suffix in (".csv", ".txt", ".tsv"):
                fmt = "csv"
            elif (
                suffix in (".parquet", ".pq") or path.is_dir() or any(c in str(path) for c in "*?[")
            ):
                fmt = "parquet"
            else:
                raise unsupported(f"the data format of '{d.path}'")
        if fmt not in ("csv", "parquet"):
            raise unsupported(f"the data format '{fmt}'")
        if fmt == "csv":
            if d.header_row is not None:
                raise unsupported("data.header_row")
            if d.decimal == ",":
                raise unsupported("data.decimal ','")
            if d.encoding is not None and d.encoding.lower().replace("_", "-") not in (
                "utf-8",
                "utf8",
                "ascii",
            ):
                raise unsupported(f"data.encoding '{d.encoding}'")
            if any(c in str(path) for c in "*?[") or path.is_dir():
                raise unsupported("several CSV files as one data set (their row numbers)")
            if not path.exists():
                raise DataError(
                    "the data file does not exist", file=self.file, rule="FILE-NOT-FOUND"
                )
            if _has_inner_blank_line(path):
                raise unsupported("a CSV file with blank lines (its row numbers)")
        self.fmt = fmt
        self.source = Source.from_path(str(path), format=fmt)
        files = self.source.expanded_paths()
        self.files = files
        # CSV cells as text: the typing rules (missing codes, level matching) apply to
        # the text, not to the engine's typing (DuckDB reads yes/no as BOOLEAN, '01' as 1)
        self.relation, label = self.engine.relation(self.source, text=True)
        self.label = label or self.file
        head = self.run(f"SELECT * FROM {self.relation} LIMIT 0")
        names = list(head)
        probe = ", ".join(f"typeof({self.q(n)}) AS t{i}" for i, n in enumerate(names))
        r = self.run(f"SELECT {probe} FROM {self.relation} LIMIT 1") if names else {}
        self.types: dict[str, str] = {}
        for i, n in enumerate(names):
            vals = list(r.get(f"t{i}", []))
            if vals:
                self.types[n] = _type_kind(vals[0])
            else:
                kind = self.engine.kinds(self.source, [n])[n]
                self.types[n] = {"float": "num", "integer": "int", "boolean": "bool"}.get(
                    kind, "text"
                )
        header = 1 if fmt == "csv" else 0
        if self.d == "spark":
            rel = self.relation
            self.ctes.append(
                (
                    "ss_s0",
                    "SELECT input_file_name() AS ss__f, monotonically_increasing_id() AS ss__m, * "
                    f"FROM {rel}",
                )
            )
            self.ctes.append(
                (
                    "ss_parts",
                    "SELECT ss__f, shiftright(ss__m, 33) AS ss__p, min(ss__m) AS ss__m0, "
                    "count(*) AS ss__n FROM ss_s0 GROUP BY ss__f, shiftright(ss__m, 33)",
                )
            )
            self.ctes.append(
                (
                    "ss_offs",
                    "SELECT ss__f AS ss__f2, ss__p AS ss__p2, ss__m0, "
                    "sum(ss__n) OVER (ORDER BY ss__f, ss__p) - ss__n AS ss__o FROM ss_parts",
                )
            )
            self.ctes.append(
                (
                    "ss_src",
                    f"SELECT a.*, CAST(o.ss__o + (a.ss__m - o.ss__m0) + {1 + header} AS BIGINT) "
                    "AS ss__row FROM ss_s0 a JOIN ss_offs o ON a.ss__f = o.ss__f2 "
                    "AND shiftright(a.ss__m, 33) = o.ss__p2",
                )
            )
        else:
            self.ctes.append(
                (
                    "ss_src",
                    f"SELECT CAST(row_number() OVER () AS BIGINT) + {header} AS {self.col('row')}, "
                    f"* FROM {self.relation}",
                )
            )
        self.ctes.append(("ss_keys", ""))  # rendered by with_sql (the text cells' keys)

    # ------------------------------------------------------------------ typing
    def make_date(self, y: str, m: str, d: str) -> str:
        return f"TRY_CAST(concat({y}, '-', lpad({m}, 2, '0'), '-', lpad({d}, 2, '0')) AS DATE)"

    def text_date(self, date_format: str | None, c: Cell, codes: frozenset[str]) -> str:
        """Day numbers of dates written as text, as parse_dates reads them: YYYY-MM-DD (or
        with / or .) always; a/b/YYYY by data.date_format, or when every such value of the
        column reads one way (else DATE-AMBIGUOUS / DATE-INCONSISTENT). Other writings
        (two-digit years, month names, Excel serials, strptime patterns) are refused."""
        fmt = (date_format or "").strip()
        order = fmt.upper() if fmt.upper() in ("DMY", "MDY", "YMD") else None
        pattern = "%" in fmt
        miss = self.missing(c, codes)
        t = f"regexp_replace(trim(CAST({c.sql} AS {self.text_type()})), {self.s(_TIME_SQL)}, '')"
        iso = f"({miss} = FALSE AND {self.regex(t, _ISO_SQL)})"
        aby = f"({miss} = FALSE AND NOT {iso} AND {self.regex(t, _ABY_SQL)})"

        def grp(regex: str, i: int) -> str:
            return f"regexp_extract({t}, {self.s(regex)}, {i})"

        iso_d = self.make_date(grp(_ISO_SQL, 1), grp(_ISO_SQL, 2), grp(_ISO_SQL, 3))
        dmy = self.make_date(grp(_ABY_SQL, 3), grp(_ABY_SQL, 2), grp(_ABY_SQL, 1))
        mdy = self.make_date(grp(_ABY_SQL, 3), grp(_ABY_SQL, 1), grp(_ABY_SQL, 2))
        amb = f"({aby} AND {dmy} IS NOT NULL AND {mdy} IS NOT NULL AND {dmy} <> {mdy})"
        odmy = f"({aby} AND {dmy} IS NOT NULL AND {mdy} IS NULL)"
        omdy = f"({aby} AND {mdy} IS NOT NULL AND {dmy} IS NULL)"
        other = f"({miss} = FALSE AND NOT {iso} AND NOT {aby})"
        if pattern:
            other = f"({miss} = FALSE AND NOT {iso})"
        row = self.col("row")
        r = self.run(
            f"{self.with_sql(flush=False)} SELECT sum(CASE WHEN {other} THEN 1 ELSE 0 END) AS o, "
            f"sum(CASE WHEN {amb} THEN 1 ELSE 0 END) AS a, "
            f"min(CASE WHEN {odmy} THEN {row} END) AS d, "
            f"min(CASE WHEN {omdy} THEN {row} END) AS m FROM ss_keys"
        )
        if int(_scalar(r["o"])):
            raise unsupported(
                f"the date column '{c.column}' holds dates written other than YYYY-MM-DD or "
                "day/month/four-digit year (two-digit years, month names, Excel serials, "
                "date_format patterns)"
            )
        n_amb = int(_scalar(r["a"]))
        first_d = None if _is_null(_py(r["d"][0])) else int(r["d"][0])
        first_m = None if _is_null(_py(r["m"][0])) else int(r["m"][0])
        blocked = False
        if order == "DMY":
            aby_d = dmy
        elif order == "MDY":
            aby_d = mdy
        elif order == "YMD":
            aby_d = "CAST(NULL AS DATE)"
        elif n_amb:
            variant, evidence_row = ambiguity_evidence(first_d, first_m)
            self.check(
                "DATE-AMBIGUOUS",
                amb,
                variant=variant,
                params={"row": evidence_row},
                column=c.column,
                sensitive=True,
            )
            aby_d, blocked = "CAST(NULL AS DATE)", True
        elif first_d is not None and first_m is not None:
            self.check(
                "DATE-INCONSISTENT",
                f"({odmy} OR {omdy})",
                params={"dmy_row": first_d, "mdy_row": first_m},
                column=c.column,
                sensitive=True,
            )
            aby_d, blocked = "CAST(NULL AS DATE)", True
        else:
            aby_d = f"COALESCE({dmy}, {mdy})"
        bad_aby = "FALSE" if blocked or order == "YMD" else f"({aby} AND {aby_d} IS NULL)"
        self.check(
            "DATE-UNPARSEABLE",
            f"(({iso} AND {iso_d} IS NULL) OR {bad_aby})",
            variant="impossible",
            column=c.column,
            sensitive=True,
        )
        if order == "YMD":
            # day/month/year writings where the spec says year first
            self.check("DATE-UNPARSEABLE", aby, column=c.column, sensitive=True)
        day = f"(CASE WHEN {iso} THEN {iso_d} WHEN {aby} THEN {aby_d} END)"
        return f"(CASE WHEN {miss} THEN NULL ELSE {self.days(day)} END)"

    def count_where(self, cond: str) -> int:
        """The number of rows of the file (all rows) where ``cond`` holds, now."""
        r = self.run(f"{self.with_sql()} SELECT COUNT(*) AS n FROM {self.last} WHERE {cond}")
        return int(next(iter(r["n"])))

    def merged_case(self, c: Cell, miss: str, level_map: dict[str, list[Any]]) -> None:
        """CATEGORY-CASE 'merged' from the column's distinct texts (as the memory executor)."""
        if not c.raw:
            self.flush()
        source = "ss_keys" if c.raw else self.last
        r = self.run(
            f"{self.with_sql(flush=not c.raw)} SELECT DISTINCT trim(CAST({c.sql} AS "
            f"{self.text_type()})) AS t FROM {source} WHERE NOT {miss} LIMIT {MAX_LEVELS + 1}"
        )
        merged = merged_case_text([str(t) for t in r["t"] if not _is_null(t)], level_map)
        if merged is not None:
            self.check(
                "CATEGORY-CASE",
                "FALSE",
                variant="merged",
                column=c.column,
                params={"merged": merged},
                no_rows=True,
            )

    def categorize(
        self, name: str, c: Cell, codes: frozenset[str], level_map: dict[str, list[Any]]
    ) -> tuple[str, str | None]:
        """(code SQL, SQL of unknown values or None) as parse_categories; sets self.levels."""
        miss = self.missing(c, codes)
        if level_map:
            keys_of: dict[int, list[str]] = {}
            seen: set[str] = set()
            for i, (level, values) in enumerate(level_map.items()):
                for v in [level, *values]:
                    k = norm_text(v)
                    if k is not None and k not in seen:
                        seen.add(k)
                        keys_of.setdefault(i, []).append(k)
            whens = " ".join(
                f"WHEN {self.match(c, ks)} THEN {i}" for i, ks in sorted(keys_of.items())
            )
            self.levels[name] = list(level_map)
            if c.kind in ("text", "null"):
                self.merged_case(c, miss, level_map)
            code = f"(CASE WHEN {miss} THEN NULL {whens} ELSE NULL END)"
            hit = self.match(c, sorted(seen)) if seen else "FALSE"
            unknown = f"(CASE WHEN {miss} THEN FALSE WHEN {hit} THEN FALSE ELSE TRUE END)"
            return code, unknown
        # levels found in the data: numbers in numeric order, then text alphabetically
        # (a data column's from the keys CTE: no new CTE level, which Spark's analyzer counts)
        if not c.raw:
            self.flush()
        source = "ss_keys" if c.raw else self.last
        if c.kind in ("num", "int"):
            num, lab = f"CAST({c.sql} AS DOUBLE)", f"CAST(NULL AS {self.text_type()})"
        elif c.kind == "bool":
            num = "CAST(NULL AS DOUBLE)"
            lab = f"(CASE WHEN {c.sql} THEN 'True' ELSE 'False' END)"
        elif c.kind in ("text", "null"):
            _k, num = self.keys(c)
            lab = f"(CASE WHEN {num} IS NOT NULL THEN NULL ELSE trim({c.sql}) END)"
        else:
            raise unsupported(f"the date column '{c.column}' as a category")
        r = self.run(
            f"{self.with_sql(flush=not c.raw)} SELECT DISTINCT {num} AS n, {lab} AS t FROM {source} "
            f"WHERE NOT {miss} LIMIT {MAX_LEVELS + 1}"
        )
        ns, ts = list(r["n"]), list(r["t"])
        if len(ns) > MAX_LEVELS:
            raise unsupported(f"more than {MAX_LEVELS} categories in '{name}'")
        numbers = sorted({float(x) for x, t in zip(ns, ts, strict=True) if not _is_null(x)})
        texts = sorted(
            {str(t) for x, t in zip(ns, ts, strict=True) if _is_null(x) and not _is_null(t)},
            key=lambda s: (s.casefold(), s),
        )
        groups: dict[str, list[str]] = {}
        for t in texts:
            groups.setdefault(t.casefold(), []).append(t)
        clashes = [sorted(g) for g in groups.values() if len(g) > 1]
        if clashes:
            self.check(
                "CATEGORY-CASE",
                "FALSE",
                column=c.column,
                params={"groups": case_groups_text(clashes)},
                no_rows=True,
            )
        order = [norm_text(x) or "" for x in numbers] + texts
        self.levels[name] = order
        nw = " ".join(f"WHEN {num_lit(x)} THEN {i}" for i, x in enumerate(numbers))
        tw = " ".join(f"WHEN {self.s(t)} THEN {len(numbers) + i}" for i, t in enumerate(texts))
        by_num = f"(CASE {num} {nw} END)" if numbers else "NULL"
        by_text = f"(CASE {lab} {tw} END)" if texts else "NULL"
        code = (
            f"(CASE WHEN {miss} THEN NULL WHEN {num} IS NOT NULL THEN {by_num} ELSE {by_text} END)"
        )
        return code, None

    def detail_codes(
        self, name: str, c: Cell, codes: frozenset[str], level_map: dict[str, list[Any]]
    ) -> None:
        """``#detail:name``: the code of each cell's data value among the grouped levels'
        values (:meth:`CohortPlan.detail_order`)."""
        index = {t: i for i, t in enumerate(self.plan.detail_order(name))}
        seen: set[str] = set()
        whens = []
        for values in level_map.values():
            for val in values:
                k = norm_text(val)
                if k is None or k in seen:
                    continue
                seen.add(k)
                text = "true" if val is True else "false" if val is False else str(val)
                if isinstance(val, float) and val.is_integer():
                    text = str(int(val))
                whens.append(f"WHEN {self.match(c, [k])} THEN {index[text]}")
        miss = self.missing(c, codes)
        expr = f"(CASE WHEN {miss} THEN NULL {' '.join(whens)} ELSE NULL END)"
        self.value_col[f"#detail:{name}"] = self.add(expr, f"dt__{name}")

    # ------------------------------------------------------------------ run
    def aggregate(self) -> None:
        items = ["count(*) AS n_all"]
        inc = self.inc
        for i, (before, after) in enumerate(self.steps):
            items.append(f"sum(CASE WHEN {before} THEN 1 ELSE 0 END) AS fb{i}")
            items.append(f"sum(CASE WHEN {after} THEN 1 ELSE 0 END) AS fa{i}")
        items.append(f"sum(CASE WHEN {inc} THEN 1 ELSE 0 END) AS n_inc")
        for k, cond in self.meta:
            items.append(f"sum(CASE WHEN {inc} AND {cond} THEN 1 ELSE 0 END) AS {self.q(k)}")
        for j, chk in enumerate(self.checks):
            if chk.no_rows:
                continue
            items.append(f"sum(CASE WHEN {self.scoped(chk)} THEN 1 ELSE 0 END) AS ck{j}")
        r = self.run(f"{self.with_sql()} SELECT {', '.join(items)} FROM {self.last}")
        self.counts = {k: int(_scalar(v)) for k, v in r.items()}

    def scoped(self, chk: _Check) -> str:
        return f"({self.inc} AND {chk.cond})" if chk.scope == "incl" else f"({chk.cond})"

    def details_of(self, chk: _Check) -> None:
        cond = self.scoped(chk)
        w = self.with_sql()
        r = self.run(
            f"{w} SELECT {self.col('row')} AS r FROM {self.last} WHERE {cond} "
            f"ORDER BY {self.col('row')} LIMIT {MAX_ROWS}"
        )
        chk.rows = [int(x) for x in r["r"]]
        if chk.values is None:
            return
        if chk.values_mode == "range":
            r = self.run(
                f"{w} SELECT DISTINCT {chk.values} AS v FROM {self.last} WHERE {cond} "
                "ORDER BY v LIMIT 5"
            )
            chk.listed = [float(x) for x in r["v"]]
        elif chk.values_mode == "mixed":
            r = self.run(
                f"{w} SELECT DISTINCT {chk.values} AS v FROM {self.last} WHERE {cond} LIMIT 100"
            )
            chk.listed = list(r["v"])
        else:
            r = self.run(
                f"{w} SELECT {chk.values} AS v, count(*) AS n, min({self.col('row')}) AS r0, "
                f"max({self.col('row')}) AS r1 FROM {self.last} WHERE {cond} "
                f"GROUP BY {chk.values} ORDER BY r0 LIMIT {MAX_ROWS}"
            )
            parts = []
            for v, n, r0, r1 in zip(r["v"], r["n"], r["r0"], r["r1"], strict=True):
                v = _py(v)
                if int(n) == 1:
                    where = f"row {int(r0)}"
                elif int(n) == 2:
                    where = f"rows {int(r0)}, {int(r1)}"
                else:
                    where = f"rows {int(r0)} … {int(r1)}, {int(n)} rows"
                parts.append((shown(v), f"'{shown(v)}' ({where})"))
            chk.listed = [p for _, p in sorted(parts)]

    def id_checks(self, issues: IssueCollector) -> None:
        if self.id_cell is None:
            return
        c = self.id_cell
        if c.kind in ("num", "int"):
            # numbers group by value (1 == 1.0, as norm_text); no text needed
            key = f"CAST({c.sql} AS DOUBLE)"
            if c.kind == "num":
                key = f"(CASE WHEN {self.engine.dialect.isnan(key)} THEN NULL ELSE {key} END)"
        elif c.kind == "bool":
            key = f"(CASE WHEN {c.sql} THEN 't:true' ELSE 't:false' END)"
        elif c.kind == "date":
            key = f"concat('d:', CAST({c.sql} AS {self.text_type()}))"
        else:
            k, kn = self.keys(Cell(c.sql, c.kind, c.column))
            key = (
                f"(CASE WHEN {k} = '' THEN NULL WHEN {kn} IS NOT NULL THEN "
                f"concat('n:', CAST({kn} AS {self.text_type()})) "
                f"ELSE concat('t:', {k}) END)"
            )
        w = self.with_sql()
        row = self.col("row")
        keyed = f"SELECT {key} AS k, {row} AS r FROM ss_src"
        groups = (
            f"SELECT k, min(r) AS r0, count(*) AS n FROM ({keyed}) g WHERE k IS NOT NULL "
            "GROUP BY k HAVING count(*) > 1"
        )
        # the count needs the keys only (no row numbers: a narrower grouping, one entry
        # per patient — 10^8 at registry scale); the rows are read only for duplicates
        dup_keys = (
            f"SELECT k FROM (SELECT {key} AS k FROM ss_src) g WHERE k IS NOT NULL "
            "GROUP BY k HAVING count(*) > 1"
        )
        total = int(_scalar(self.run(f"{w} SELECT count(*) AS n FROM ({dup_keys}) t")["n"]))
        if total:
            # the first MAX_ROWS duplicated ids, each with its first MAX_ROWS rows
            r = self.run(
                f"{w}, ss_dups AS ({groups} ORDER BY r0 LIMIT {MAX_ROWS}) "
                "SELECT g, r, n FROM (SELECT d.r0 AS g, s.r AS r, d.n AS n, "
                "row_number() OVER (PARTITION BY d.r0 ORDER BY s.r) AS i "
                f"FROM ({keyed}) s JOIN ss_dups d ON s.k = d.k) t WHERE i <= {MAX_ROWS} "
                "ORDER BY g, r"
            )
            by: dict[int, list[int]] = {}
            sizes: dict[int, int] = {}
            for g, rr, nn in zip(r["g"], r["r"], r["n"], strict=True):
                by.setdefault(int(g), []).append(int(rr))
                sizes[int(g)] = int(nn)
            for i, (g, rs) in enumerate(sorted(by.items())):
                more = _more(sizes[g], len(rs))
                if i == len(by) - 1 and total > len(by):
                    more += f" ({total - len(by)} more ids appear on several rows)"
                issues.check(
                    "ID-DUPLICATE",
                    params={"rows": format_rows(rs), "more": more},
                    rows=rs,
                    column=self.spec.data.id,
                    sensitive=True,
                )
        miss = (
            f"({c.sql} IS NULL)"
            if c.kind not in ("text",)
            else f"({c.sql} IS NULL OR trim({c.sql}) = '')"
        )
        if c.kind == "num":
            miss = f"({c.sql} IS NULL OR {self.engine.dialect.isnan(c.sql)})"
        r = self.run(f"{w} SELECT count(*) AS n FROM ss_src WHERE {miss}")
        n_miss = int(_scalar(r["n"]))
        if n_miss:
            r = self.run(
                f"{w} SELECT {row} AS r FROM ss_src WHERE {miss} ORDER BY {row} LIMIT {MAX_ROWS}"
            )
            issues.check(
                "ID-MISSING",
                params={"more": _more(n_miss, len(r["r"]))},
                rows=[int(x) for x in r["r"]],
                column=self.spec.data.id,
                sensitive=True,
            )

    def outputs(self) -> list[str]:
        """The derived table's columns (contract in :mod:`survstudy.data.registry`)."""
        out = [f"{self.col('row')} AS {self.q('row')}"]
        by_var: dict[str | None, list[Any]] = {}
        for o in self.plan.outputs:
            by_var.setdefault(o.variable, []).append(o)
        for name, var in [*self.spec.variables.items(), (None, None)]:
            for o in by_var.get(name, []):
                app = self.env[o.applicable].sql if o.applicable is not None else "TRUE"
                if o.kind == "number":
                    v, cast = self.env[o.source].sql, "DOUBLE"
                else:
                    v, cast = self.value_col[o.source], "INT"
                out.append(f"CAST((CASE WHEN {app} THEN {v} END) AS {cast}) AS {self.q(o.column)}")
            if name is not None and var is not None and var.applicable_when is not None:
                app = self.env[f"#applicable:{name}"].sql
                out.append(f"{app} AS {self.q(applicable_column(name))}")
        return out

    def issue(self, issues: IssueCollector, chk: _Check) -> None:
        """The issue of a check found on ``chk.total`` rows, worded by the catalogue."""
        params = dict(chk.params)
        params["n"] = chk.total
        for k, count in chk.counts.items():
            params[k] = self.counts[count]
        if chk.values_mode == "range":
            params["values"] = listed_numbers(chk.listed)
        elif chk.values_mode == "mixed":
            params["values"] = listed_texts(chk.listed)
        elif chk.values_mode == "grouped":
            params["values"] = "; ".join(chk.listed)
        message, hint, severity = CHECKS[chk.code].text(chk.variant, **params)
        if not chk.no_rows:
            message += _more(chk.total, len(chk.rows))
        issues.add(
            chk.code,
            message,
            rows=chk.rows,
            column=chk.column,
            sensitive=chk.sensitive,
            hint=hint,
            severity=severity,
            file=chk.file,
        )

    def check_names(self) -> None:
        """The derived table's columns must differ by more than case: SQL engines do not
        tell ``os_event`` from ``OS_event`` (the second would be renamed, and read back as
        the first)."""
        names = ["row", *(o.column for o in self.plan.outputs)]
        names += [applicable_column(n) for n, v in self.spec.variables.items() if v.applicable_when]
        seen: dict[str, str] = {}
        for n in names:
            other = seen.setdefault(n.casefold(), n)
            if other != n:
                raise unsupported(
                    f"two columns of the derived table that differ only by case ('{other}', "
                    f"'{n}': rename the variable)"
                )

    def derive_all(self, out_dir: str | os.PathLike[str], strict: bool) -> DerivedCohort:
        plan, spec = self.plan, self.spec
        self.check_names()
        self.open_source()
        for step in plan.steps:
            step.sql(self)
        out_columns = self.outputs()
        self.aggregate()
        counts = self.counts
        issues = IssueCollector(self.file)
        n_all = counts["n_all"]
        if n_all == 0:
            issues.check("NO-ROWS")
        self.id_checks(issues)
        for j, chk in enumerate(self.checks):
            if chk.no_rows:
                if chk.code == "NO-PATIENTS" and counts["n_inc"] != 0:
                    continue
                chk.total = 1
            else:
                chk.total = counts[f"ck{j}"]
                if chk.total == 0:
                    continue
                self.details_of(chk)
            self.issue(issues, chk)
        report = issues.report()
        if strict:
            report.raise_if_errors()
        flow = plan.flow(
            n_all,
            [
                (counts[f"fb{i}"], counts[f"fa{i}"], self.population_checks[i].total)
                for i in range(len(self.steps))
            ],
        )
        out = Path(out_dir)
        final = (
            f"{self.with_sql()} SELECT {', '.join(out_columns)} FROM {self.last} WHERE {self.inc}"
        )
        endpoints = plan.endpoint_infos(counts)
        if self.d == "duckdb" and endpoints:
            # rows in the order of the first endpoint's time: every per-time aggregation
            # of the analyses (risk tables, Cox sums: one group per stratum, time and
            # event) then updates the same few groups row after row instead of jumping
            # between thousands (3-4x fewer CPU seconds a Cox pass at 10^7 rows)
            first = next(iter(endpoints.values())).time_column
            final = f"SELECT * FROM ({final}) ss_out ORDER BY {self.q(first)} NULLS LAST"
        self.engine.write_parquet(final, str(out), file=self.label)
        return DerivedCohort(
            spec=spec,
            path=str(out),
            n=counts["n_inc"],
            variables=plan.variable_infos(self.levels, counts, self.multi),
            endpoints=endpoints,
            flow=flow,
            report=report,
            input_file=self.file,
            input_sha256=sha256_of_files(list(self.files)),
            unit=spec.units.time,
            days_per_unit=spec.units.days_per_unit,
        )


def _more(total: int, listed: int) -> str:
    if total > listed:
        return f" ({total} rows in all; the first {listed} are listed)"
    return ""


def _is_null(x: Any) -> bool:
    if x is None or np.ma.is_masked(x):
        return True
    return isinstance(x, float) and np.isnan(x)


def _py(x: Any) -> Any:
    if _is_null(x):
        return None
    if isinstance(x, np.generic):
        return x.item()
    return x


def _scalar(v: Any) -> float:
    arr: list[Any] = list(v) if not np.isscalar(v) else [v]
    if not arr or _is_null(arr[0]):
        return 0.0
    return float(arr[0])


def _has_inner_blank_line(path: Path, chunk: int = 1 << 22) -> bool:
    """Whether a blank line precedes data (it would shift the spreadsheet row numbers)."""
    pattern = re.compile(rb"\n[ \t\r]*\n|^[ \t\r]*\n")
    tail = b""
    with path.open("rb") as fh:
        first = True
        while True:
            block = fh.read(chunk)
            if not block:
                return False
            data = tail + block
            for m in pattern.finditer(data):
                if m.start() == 0 and not first and not m.group(0).startswith(b"\n"):
                    continue
                rest = data[m.end() :]
                if rest.strip():
                    return True
                # blank lines at the very end are harmless: look further only if more follows
                more = fh.read(chunk)
                return bool(more.strip())
            first = False
            tail = data[-64:]


def derive_cohort(
    spec: StudySpec, engine: Any, out_dir: str | os.PathLike[str], *, strict: bool = True
) -> DerivedCohort:
    """Derive ``spec``'s analysis cohort with ``engine`` (DuckDB or Spark) and write its
    derived table under ``out_dir`` (see :mod:`survstudy.data.registry`).

    With ``strict`` (the default) the first error of the data-quality report raises
    its :class:`~survstudy.errors.DataError`, as ``build_cohort(strict=True)`` does;
    with ``strict=False`` the table is written anyway, the errors in ``report``.
    An expression of the wrong type raises :class:`~survstudy.errors.SpecError`
    (``SPEC-EXPRESSION``); a spec feature the SQL does not translate raises one with
    code ``SPEC-ENGINE-UNSUPPORTED`` (the memory engine handles it). Issues list their
    first :data:`MAX_ROWS` rows; the message gives the total.
    """
    return SqlRun(compile_plan(spec), engine).derive_all(out_dir, strict)

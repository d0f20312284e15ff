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

The SQL mirrors the in-memory builder (:class:`survstudy.data.cohort._Builder`)
rule for rule: missing-value codes and level matching compare cells as
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

CSV files are read with every cell as text (DuckDB ``all_varchar``; Spark the
engine's untyped view), so that the builder's rules see what it sees; Parquet
columns keep their types (numbers match codes by value, booleans as true/false).

Not translated (a :class:`~survstudy.errors.SpecError` with code
``SPEC-ENGINE-UNSUPPORTED`` says to use ``--engine memory``): Excel, SPSS and
Stata files; CSV options ``header_row``, ``encoding``, ``decimal: ","``; CSV files
with blank lines (their row numbers would shift) and several CSV files as one data
set; dates written as text other than ``YYYY-MM-DD`` (also with ``/`` or ``.``)
or ``a/b/YYYY`` (two-digit years, month names, ``date_format`` patterns with ``%``,
Excel serial numbers); date columns stored as numbers; a date column used as a
number or category; more than
:data:`MAX_LEVELS` categories found in the data; expressions comparing a category
with a *computed* number, date or condition.

The query is a chain of CTEs (one level per step that needs the previous one's
columns: about 20 for the seed study). Spark's analyzer stops at 100 iterations;
a spec with a very long chain of derived variables on each other may need the
Spark engine's ``conf={"spark.sql.analyzer.maxIterations": "500"}``.

Known differences from the builder: messages list at most :data:`MAX_ROWS` rows
(and say how many in all); CATEGORY-UNKNOWN and EVENT-CODE give, per value, its
count and first/last rows; ID-DUPLICATE lists the first :data:`MAX_ROWS` ids.
Text is trimmed of spaces (not every Unicode space) and lower-cased (not
case-folded).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from survstudy.data.cohort import (
    EndpointInfo,
    FlowStep,
    VariableInfo,
    death_variables,
    endpoint_definition,
    missing_column_error,
)
from survstudy.data.columns import norm_text, shown, sublevels
from survstudy.data.expressions import (
    ExpressionTypeError,
    SqlValue,
    Untranslatable,
    date_to_days,
    num_lit,
    str_lit,
    translate,
)
from survstudy.data.quality import IssueCollector, format_rows
from survstudy.data.readers import sha256_of_files
from survstudy.data.registry import DerivedCohort, applicable_column, detail_levels
from survstudy.engines.base import Source
from survstudy.errors import DataError, SpecError
from survstudy.spec import DEFAULT_MISSING, StudySpec, derivation_order, endpoint_columns
from survstudy.spec import parse_expression as _parse
from survstudy.spec.model import DEFAULT_FALSE, DEFAULT_TRUE, VariableSpec

__all__ = ["MAX_ROWS", "derive_cohort"]

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
    """A data-quality check: rows where ``cond`` holds (among included rows for scope incl)."""

    code: str
    message: str | Callable[[int, list[Any]], str]
    cond: str
    scope: str = "all"
    column: str | None = None
    hint: str | None = None
    sensitive: bool = False
    severity: str | None = None
    file: str | None = None
    values: str | None = None  # SQL of the values the message lists
    values_mode: str = ""  # range | mixed | grouped
    total: int = 0
    rows: list[int] = field(default_factory=list)
    listed: list[Any] = field(default_factory=list)
    no_rows: bool = False


@dataclass(frozen=True)
class _Cell:
    """A raw cell of a data column: its SQL and kind (num, int, bool, text, date)."""

    sql: str
    kind: str
    column: str
    raw: bool = False  # a data column (its match keys are computed once, in ss_keys)


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


class _Deriver:
    def __init__(self, spec: StudySpec, engine: Any) -> None:
        self.spec = spec
        self.engine = engine
        self.d: str = engine.dialect.name
        self.file = spec.data.path
        base = {norm_text(c) for c in spec.data.missing}
        self.codes = frozenset({*DEFAULT_MISSING, *(c for c in base if c is not None)})
        self.checks: list[_Check] = []
        self.ctes: list[tuple[str, str]] = []
        self.pending: list[str] = []  # select items of the CTE being built
        self.env: dict[str, SqlValue] = {}
        self.levels: dict[str, list[str]] = {}
        self.value_col: dict[str, str] = {}  # variable -> pipeline column (value or code)
        self.invalid: dict[str, str] = {}  # variable -> BOOLEAN column: given but unreadable
        self.multi: dict[str, list[tuple[str, str, str]]] = {}  # name -> (label, out col, col)
        self.details: dict[str, tuple[str, dict[str, tuple[str, ...]]]] = {}
        self.reported: set[tuple[Any, ...]] = set()
        self.key_cols: dict[str, tuple[str, str, str, str]] = {}

    # ------------------------------------------------------------------ SQL helpers
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
        ident = self.col(name)
        self.pending.append(f"{expr} AS {ident}")
        return ident

    def flush(self) -> None:
        if not self.pending:
            return
        prev = self.ctes[-1][0]
        name = f"ss_c{len(self.ctes)}"
        self.ctes.append((name, f"SELECT *, {', '.join(self.pending)} FROM {prev}"))
        self.pending = []

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

    # ------------------------------------------------------------------ cells
    def cell(self, column: str, key: tuple[str | int, ...]) -> _Cell:
        if column not in self.types:
            raise missing_column_error(self.spec, self.file, column, list(self.types), key)
        kind = self.types[column]
        return _Cell(self.q(column), kind, column, raw=True)

    def keys(self, c: _Cell) -> tuple[str, str]:
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

    def match(self, c: _Cell, keys: Sequence[str]) -> str:
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

    def missing(self, c: _Cell, codes: frozenset[str]) -> str:
        """SQL (never NULL): the cell is empty, NaN or a missing-value code."""
        parts = [f"{c.sql} IS NULL"]
        if c.kind == "num":
            parts.append(f"isnan(CAST({c.sql} AS DOUBLE))")
        if c.kind in ("num", "int", "bool", "text", "null") and codes:
            parts.append(f"COALESCE({self.match(c, sorted(codes))}, FALSE)")
        return "(" + " OR ".join(parts) + ")"

    def number(self, c: _Cell, codes: frozenset[str]) -> tuple[str, str | None]:
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
    def check(self, code: str, message: Any, cond: str, **kw: Any) -> _Check:
        chk = _Check(code, message, cond, **kw)
        self.checks.append(chk)
        return chk

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
        # CSV cells as text: the builder's rules (missing codes, level matching) apply to
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

    # ------------------------------------------------------------------ steps
    def codes_for(self, var: VariableSpec) -> frozenset[str]:
        extra = {norm_text(c) for c in var.missing}
        return self.codes | frozenset(c for c in extra if c is not None)

    def check_ids(self) -> None:
        id_col = self.spec.data.id
        if id_col is None:
            self.id_cell = None
            return
        self.id_cell = self.cell(id_col, ("data", "id"))

    def read_variables(self) -> None:
        flags: list[tuple[str, str]] = []
        for name, var in self.spec.variables.items():
            if var.derive is not None:
                continue
            key = ("variables", name)
            if var.type == "multiselect":
                self.read_multiselect(name, var)
                continue
            column = var.column or name
            c = self.cell(column, key)
            if var.type == "identifier":
                continue
            codes = self.codes_for(var)
            self.read_column(name, var, c, codes)
            if c.kind != "date":
                flags.append((name, f"(NOT {self.missing(c, codes)})"))
        self.flush()
        # cells that hold something but failed a check: already reported as errors
        for name, present in flags:
            value = self.value_col[name]
            self.invalid[name] = self.add(f"({present} AND {value} IS NULL)", f"x__{name}")
        self.flush()

    def read_column(self, name: str, var: VariableSpec, c: _Cell, codes: frozenset[str]) -> None:
        if var.type == "date":
            if c.kind == "date":
                v = f"(CASE WHEN {c.sql} IS NULL THEN NULL ELSE {self.days(c.sql)} END)"
            elif c.kind in ("text", "null"):
                v = self.text_date(var, c, codes)
            else:
                raise unsupported(f"the date column '{c.column}' stored as numbers")
            self.value_col[name] = self.add(v, f"v__{name}")
            self.env[name] = SqlValue("date", self.value_col[name])
            return
        if var.type == "continuous" or var.cuts is not None:
            value, bad = self.number(c, codes)
            if bad is not None:
                self.mixed_types(c, bad)
            ident = self.add(value, f"n__{name}")
            self.check_range(name, var, c.column, ident)
            if var.cuts is not None:
                self.cut(name, var, value)
            else:
                self.value_col[name] = ident
                self.env[name] = SqlValue("number", ident)
            return
        level_map = var.level_map()
        code, unknown = self.categorize(name, c, codes, level_map)
        self.value_col[name] = self.add(code, f"v__{name}")
        self.set_text_env(name)
        if unknown is not None:
            self.category_unknown(c, unknown, level_map)
        if any(len(v) > 1 for v in level_map.values()):
            _, groups = sublevels([], codes, level_map)
            order = detail_levels(VariableInfo(name, name, var.type, name, sublevels=groups))
            index = {t: i for i, t in enumerate(order)}
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
            self.details[name] = (self.add(expr, f"dt__{name}"), groups)

    def make_date(self, y: str, m: str, d: str) -> str:
        return f"TRY_CAST(concat({y}, '-', lpad({m}, 2, '0'), '-', lpad({d}, 2, '0')) AS DATE)"

    def text_date(self, var: VariableSpec, c: _Cell, codes: frozenset[str]) -> str:
        """Day numbers of dates written as text, as parse_dates reads them: YYYY-MM-DD (or
        with / or .) always; a/b/YYYY by data.date_format, or when every such value of the
        column reads one way (else DATE-AMBIGUOUS / DATE-INCONSISTENT). Other writings
        (two-digit years, month names, Excel serials, strptime patterns) are refused."""
        fmt = (var.date_format or self.spec.data.date_format or "").strip()
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
            evidence = ""
            if first_d is not None and first_m is None:
                evidence = f" (row {first_d} can only be day/month/year)"
            elif first_m is not None and first_d is None:
                evidence = f" (row {first_m} can only be month/day/year)"
            self.check(
                "DATE-AMBIGUOUS",
                "the date can be read as day/month/year or as month/day/year" + evidence,
                amb,
                column=c.column,
                sensitive=True,
                hint="set data.date_format: DMY (day first) or MDY (month first)",
            )
            aby_d, blocked = "CAST(NULL AS DATE)", True
        elif first_d is not None and first_m is not None:
            self.check(
                "DATE-INCONSISTENT",
                f"the column mixes day/month/year (e.g. row {first_d}) and month/day/year "
                f"(e.g. row {first_m}) dates",
                f"({odmy} OR {omdy})",
                column=c.column,
                sensitive=True,
                hint="write one format throughout, preferably YYYY-MM-DD",
            )
            aby_d, blocked = "CAST(NULL AS DATE)", True
        else:
            aby_d = f"COALESCE({dmy}, {mdy})"
        bad_aby = "FALSE" if blocked else f"({aby} AND {aby_d} IS NULL)"
        self.check(
            "DATE-UNPARSEABLE",
            "cannot read the value as a date",
            f"(({iso} AND {iso_d} IS NULL) OR {bad_aby})",
            column=c.column,
            sensitive=True,
            hint="write dates as YYYY-MM-DD",
        )
        day = f"(CASE WHEN {iso} THEN {iso_d} WHEN {aby} THEN {aby_d} END)"
        return f"(CASE WHEN {miss} THEN NULL ELSE {self.days(day)} END)"

    def set_text_env(self, name: str) -> None:
        ident = self.value_col[name]
        levels = self.levels[name]
        whens = " ".join(f"WHEN {i} THEN {self.s(lv)}" for i, lv in enumerate(levels))
        sql = f"(CASE {ident} {whens} END)" if levels else f"CAST(NULL AS {self.text_type()})"
        self.env[name] = SqlValue("text", sql)

    def mixed_types(self, c: _Cell, bad: str) -> None:
        self.check(
            "MIXED-TYPES",
            lambda n, vals: (
                "expected numbers, found text: "
                + ", ".join(repr(v) for v in vals[:5])
                + (" …" if len(vals) > 5 else "")
            ),
            bad,
            column=c.column,
            sensitive=True,
            hint="correct the cells, or add the codes to data.missing if they mean 'missing'",
            values=f"trim(CAST({c.sql} AS {self.text_type()}))",
            values_mode="mixed",
        )

    def category_unknown(self, c: _Cell, unknown: str, level_map: dict[str, list[Any]]) -> None:
        allowed = ", ".join(
            f"{lv} = {', '.join(str(x) for x in vs)}" if vs else lv for lv, vs in level_map.items()
        )
        self.check(
            "CATEGORY-UNKNOWN",
            lambda n, vals: "value(s) not among the categories: " + "; ".join(vals),
            unknown,
            column=c.column,
            sensitive=True,
            hint=f"known: {allowed}; add the value to a level in the spec or correct the cell",
            values=c.sql if c.kind != "text" else f"trim({c.sql})",
            values_mode="grouped",
        )

    def check_range(self, name: str, var: VariableSpec, column: str, ident: str) -> None:
        if var.range is None:
            return
        lo, hi = var.range
        self.check(
            "RANGE",
            lambda n, vals: (
                f"value(s) outside the plausible range [{norm_text(lo)}, "
                f"{norm_text(hi)}]: " + ", ".join(norm_text(float(v)) or "" for v in vals[:5])
            ),
            f"({ident} < {num_lit(lo)} OR {ident} > {num_lit(hi)})",
            column=column,
            hint="correct the cells, or widen 'range' in the spec if they are right",
            values=ident,
            values_mode="range",
        )

    def cut(self, name: str, var: VariableSpec, ident: str) -> None:
        cuts = list(var.cuts or [])
        whens = " ".join(f"WHEN {ident} < {num_lit(c)} THEN {i}" for i, c in enumerate(cuts))
        expr = f"(CASE WHEN {ident} IS NULL THEN NULL {whens} ELSE {len(cuts)} END)"
        self.levels[name] = list(var.cut_names())
        self.value_col[name] = self.add(expr, f"v__{name}")
        self.set_text_env(name)

    def categorize(
        self, name: str, c: _Cell, codes: frozenset[str], level_map: dict[str, list[Any]]
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
                "categories differ only by upper/lower case: "
                + "; ".join(" / ".join(repr(shown(x)) for x in g) for g in clashes),
                "FALSE",
                column=c.column,
                hint="list the levels in the spec to merge them",
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

    def read_multiselect(self, name: str, var: VariableSpec) -> None:
        assert var.options is not None
        selected = var.selected if var.selected is not None else list(DEFAULT_TRUE)
        level_map: dict[str, list[Any]] = {"1": list(selected), "0": list(DEFAULT_FALSE)}
        out = []
        for j, (label, column) in enumerate(var.options.items()):
            c = self.cell(column, ("variables", name, "options", label))
            code, unknown = self.categorize(f"{name}__{j + 1}", c, self.codes_for(var), level_map)
            value = f"(CASE {code} WHEN 0 THEN 1.0E0 WHEN 1 THEN 0.0E0 END)"
            if var.blank_is_no:
                blank = f"({c.sql} IS NULL)"
                if c.kind in ("text", "null"):
                    blank = f"({c.sql} IS NULL OR trim({c.sql}) = '')"
                value = f"(CASE WHEN {blank} THEN 0.0E0 ELSE {value} END)"
            if unknown is not None:
                self.category_unknown(c, unknown, level_map)
            out.append((label, f"{name}__{j + 1}", self.add(value, f"m__{name}__{j + 1}")))
        self.multi[name] = out

    # ------------------------------------------------------------------ derive
    def spec_fail(self, message: str, key: tuple[str | int, ...]) -> SpecError:
        return SpecError(
            message,
            file=str(self.spec.path.name) if self.spec.path else None,
            line=self.spec.line_of(*key),
            key=".".join(str(k) for k in key),
            code="SPEC-EXPRESSION",
        )

    def eval(self, text: str, key: tuple[str | int, ...]) -> SqlValue:
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

    def derive(self) -> None:
        spec = self.spec
        # derived variables share a CTE level until one uses another of the same level
        level: set[str] = set()
        for name in derivation_order(spec):
            var = spec.variables[name]
            key = ("variables", name, "derive")
            if _parse(str(var.derive)).names & level:
                self.flush()
                level = set()
            level.add(name)
            result = self.eval(str(var.derive), key)
            if var.type == "continuous":
                if result.kind != "number":
                    raise self.spec_fail(
                        f"'{name}' is continuous but its expression gives a {result.kind}", key
                    )
                ident = self.add(result.sql, f"v__{name}")
                self.check_range(name, var, name, ident)
                self.value_col[name] = ident
                self.env[name] = SqlValue("number", ident)
            elif var.type == "date":
                if result.kind != "date":
                    raise self.spec_fail(
                        f"'{name}' is a date but its expression gives a {result.kind}", key
                    )
                self.value_col[name] = self.add(result.sql, f"v__{name}")
                self.env[name] = SqlValue("date", self.value_col[name])
            else:
                if var.cuts is not None and result.kind == "number":
                    self.cut(name, var, f"({result.sql})")
                    continue
                if result.kind == "date":
                    raise self.spec_fail(
                        f"'{name}' is {var.type} but its expression gives a date", key
                    )
                kind = {"bool": "bool", "number": "num", "text": "text"}[result.kind]
                c = _Cell(f"({result.sql})", kind, name)
                level_map = var.level_map()
                code, unknown = self.categorize(name, c, frozenset(), level_map)
                self.value_col[name] = self.add(code, f"v__{name}")
                self.set_text_env(name)
                if unknown is not None:
                    self.category_unknown(c, unknown, level_map)
        self.flush()

    # ------------------------------------------------------------------ population
    def population(self) -> None:
        keeps: list[str] = []
        self.steps: list[tuple[str, str, str, str]] = []  # (which, expr text, before, after)
        for i, step in enumerate(self.spec.population):
            which = "include" if step.include is not None else "exclude"
            key: tuple[str | int, ...] = ("population", i, which)
            result = self.eval(step.expression, key)
            if result.kind != "bool":
                raise self.spec_fail(
                    f"a population criterion must be a condition, not a {result.kind}", key
                )
            p = self.add(result.sql, f"p__{i}")
            before = " AND ".join(keeps) if keeps else "TRUE"
            keeps.append(f"({p} IS TRUE)" if which == "include" else f"({p} IS NOT TRUE)")
            after = " AND ".join(keeps)
            self.steps.append((which, step.expression, f"({before})", f"({after})"))
            fate = "excluded" if which == "include" else "kept"
            self.check(
                "POPULATION-MISSING",
                f"the criterion '{step.expression}' cannot be evaluated (missing values); "
                f"these rows were {fate}",
                f"({before} AND {p} IS NULL)",
                hint="fill in the values the criterion uses",
            )
        self.flush()
        self.inc = self.add(" AND ".join(keeps) if keeps else "TRUE", "inc")
        self.flush()
        if self.spec.population:
            self.check(
                "NO-PATIENTS",
                "no patient meets the inclusion criteria",
                f"(NOT {self.inc})",
                hint="check the population criteria and the dates' format",
                no_rows=True,
            )

    def applicable(self) -> None:
        self.app: dict[str, str] = {}
        for name, var in self.spec.variables.items():
            if var.applicable_when is None:
                self.app[name] = "TRUE"
                continue
            key = ("variables", name, "applicable_when")
            result = self.eval(var.applicable_when, key)
            if result.kind != "bool":
                raise self.spec_fail(
                    f"'applicable_when' must be a condition, not a {result.kind}", key
                )
            self.app[name] = self.add(f"COALESCE({result.sql}, FALSE)", f"a__{name}")
        self.flush()

    def inv(self, name: str) -> str:
        return self.invalid.get(name, "FALSE")

    def future_dates(self) -> None:
        spec = self.spec
        if spec.data.cutoff is None:
            return
        cutoff = num_lit(date_to_days(spec.data.cutoff))
        handled = {
            v for ep in spec.endpoints.values() for v in (*ep.events, *ep.censor, *ep.competing)
        }
        starts = {str(ep.start) for ep in spec.endpoints.values() if ep.from_dates}
        for name, var in spec.variables.items():
            if var.type != "date" or name not in self.value_col:
                continue
            if name in handled and name not in starts:
                continue
            cond = f"({self.value_col[name]} > {cutoff})"
            if name in starts:
                self.check(
                    "DATE-FUTURE",
                    f"the start date is after the data cut-off ({spec.data.cutoff})",
                    cond,
                    scope="incl",
                    column=var.column or name,
                    sensitive=True,
                    severity="error",
                    hint="exclude these patients under population, or move data.cutoff",
                )
            else:
                self.check(
                    "DATE-FUTURE",
                    f"the date is after the data cut-off ({spec.data.cutoff})",
                    cond,
                    scope="incl",
                    column=var.column or name,
                    sensitive=True,
                    hint="check the date or the cut-off in the spec",
                )

    def death_checks(self) -> None:
        spec = self.spec
        death_vars = death_variables(spec)
        event_vars = {v for ep in spec.endpoints.values() for v in ep.events}
        censor_vars = {v for ep in spec.endpoints.values() for v in ep.censor}
        for dv in death_vars:
            death = self.value_col[dv]
            for var in sorted(event_vars - {dv}):
                self.check(
                    "PROGRESSION-AFTER-DEATH",
                    f"the event date ('{var}') is after the date of death ('{dv}')",
                    f"({self.value_col[var]} > {death})",
                    scope="incl",
                    column=var,
                    sensitive=True,
                    hint="check both dates",
                )
            for var in sorted(censor_vars - {dv}):
                self.check(
                    "FOLLOWUP-AFTER-DEATH",
                    f"the last follow-up ('{var}') is after the date of death ('{dv}')",
                    f"({self.value_col[var]} > {death})",
                    scope="incl",
                    column=var,
                    sensitive=True,
                    hint="check both dates",
                )

    def pair_issue(self, code: str, message: str, cond: str, column: str, start: str) -> None:
        key = (code, column, start)
        if key in self.reported:
            return
        self.reported.add(key)
        self.check(
            code,
            message,
            cond,
            scope="incl",
            column=column,
            sensitive=True,
            hint="check both dates",
        )

    def endpoints(self) -> None:
        spec = self.spec
        self.ep_cols: dict[str, tuple[str, str, str]] = {}
        cutoff = date_to_days(spec.data.cutoff) if spec.data.cutoff else None
        death_vars = death_variables(spec)
        for name, ep in spec.endpoints.items():
            if not ep.from_dates:
                time, status = self.endpoint_columns_form(name)
            else:
                time, status = self.endpoint_dates_form(name, cutoff, death_vars)
            label = ep.label or name
            if ep.horizon is not None:
                h = num_lit(ep.horizon * spec.units.days_per_unit)
                time, status = (
                    self.add(f"(CASE WHEN {time} > {h} THEN {h} ELSE {time} END)", f"th__{name}"),
                    self.add(
                        f"(CASE WHEN {time} > {h} THEN 0.0E0 ELSE {status} END)", f"sh__{name}"
                    ),
                )
                self.flush()
            self.check(
                "DURATION-ZERO",
                f"{label}: the duration is zero days",
                f"({time} = 0)",
                scope="incl",
                hint="the patient contributes no follow-up; check the dates",
            )
            event = self.add(
                f"(CASE WHEN {status} IS NULL THEN NULL WHEN {status} = 1 THEN 1.0E0 ELSE 0.0E0 END)",
                f"ee__{name}",
            )
            self.flush()
            self.ep_cols[name] = (time, event, status)

    def endpoint_columns_form(self, name: str) -> tuple[str, str]:
        spec = self.spec
        ep = spec.endpoints[name]
        assert ep.time is not None
        assert ep.event is not None
        key = ("endpoints", name)
        label = ep.label or name
        tc = self.cell(ep.time, (*key, "time"))
        value, bad = self.number(tc, self.codes)
        if bad is not None:
            self.mixed_types(tc, bad)
        ec = self.cell(ep.event, (*key, "event"))
        codes = ep.event_codes
        if codes is None:
            mapping = {"1": 1, "true": 1, "0": 0, "false": 0}
        else:
            mapping = {}
            for v, st in (
                *((v, 1) for v in codes.event),
                *((v, 0) for v in codes.censored),
                *((v, 2) for v in codes.competing),
            ):
                k = norm_text(v)
                if k is not None:
                    mapping[k] = st
        by_status: dict[int, list[str]] = {}
        for k, st in mapping.items():
            by_status.setdefault(st, []).append(k)
        whens = " ".join(
            f"WHEN {self.match(ec, ks)} THEN {float(st):.1f}E0" for st, ks in by_status.items()
        )
        miss_e = self.missing(ec, self.codes)
        status_raw = f"(CASE {whens} ELSE NULL END)"
        hit = self.match(ec, list(mapping))
        ev_bad = (
            f"(CASE WHEN COALESCE({hit}, FALSE) THEN FALSE WHEN {miss_e} THEN FALSE ELSE TRUE END)"
        )
        if codes is None:
            msg_head = "the event indicator must be 0/1 or true/false; found "
            hint = "add event_codes: {event: [...], censored: [...]} to the endpoint"
        else:
            msg_head = "values not covered by event_codes: "
            hint = "add them to event_codes.event, .censored or .competing"
        self.check(
            "EVENT-CODE",
            lambda n, vals: msg_head + "; ".join(vals),
            ev_bad,
            column=ep.event,
            sensitive=True,
            hint=hint,
            values=ec.sql if ec.kind != "text" else f"trim({ec.sql})",
            values_mode="grouped",
        )
        per = num_lit(spec.units.days_per(ep.time_unit or spec.units.time))
        t0 = self.add(f"({value} * {per})", f"t0__{name}")
        s0 = self.add(status_raw, f"s0__{name}")
        given = self.add(f"(NOT {self.missing(tc, self.codes)} AND NOT {miss_e})", f"g__{name}")
        self.flush()
        self.check(
            "DURATION-NONPOSITIVE",
            f"{label}: the time is negative",
            f"({t0} < 0)",
            scope="incl",
            column=ep.time,
            hint="survival times must be zero or more",
        )
        t1 = f"(CASE WHEN {t0} < 0 THEN NULL ELSE {t0} END)"
        missing = f"({t1} IS NULL OR {s0} IS NULL)"
        self.check(
            "ENDPOINT-NOT-DERIVED",
            f"{label}: time or event missing; these patients are left out of its analyses",
            f"({missing} AND NOT {given})",
            scope="incl",
            hint="fill in the time and the event to include them",
        )
        time = self.add(f"(CASE WHEN {missing} THEN NULL ELSE {t1} END)", f"t__{name}")
        status = self.add(f"(CASE WHEN {missing} THEN NULL ELSE {s0} END)", f"s__{name}")
        self.flush()
        return time, status

    def endpoint_dates_form(
        self, name: str, cutoff: float | None, death_vars: list[str]
    ) -> tuple[str, str]:
        spec = self.spec
        ep = spec.endpoints[name]
        label = ep.label or name
        assert ep.start is not None
        start = self.value_col[ep.start]
        has = f"({start} IS NOT NULL)"
        self.check(
            "ENDPOINT-NOT-DERIVED",
            f"{label}: no '{ep.start}' date, so the endpoint cannot be derived; these "
            "patients are left out of its analyses",
            f"({start} IS NULL AND NOT {self.inv(ep.start)})",
            scope="incl",
            hint="fill in the start date to include them",
        )
        for var in ep.events:
            bad = f"({has} AND {self.value_col[var]} < {start})"
            if var in death_vars:
                self.pair_issue(
                    "DEATH-BEFORE-SURGERY",
                    f"the date of death ('{var}') is before the start date ('{ep.start}')",
                    bad,
                    var,
                    ep.start,
                )
            else:
                self.pair_issue(
                    "EVENT-BEFORE-START",
                    f"the event date ('{var}') is before the start date ('{ep.start}')",
                    bad,
                    var,
                    ep.start,
                )
        for var in ep.censor:
            self.pair_issue(
                "FOLLOWUP-BEFORE-START",
                f"the last follow-up ('{var}') is before the start date ('{ep.start}')",
                f"({has} AND {self.value_col[var]} < {start})",
                var,
                ep.start,
            )
        for dv in death_vars:
            if dv not in ep.events:
                self.pair_issue(
                    "DEATH-BEFORE-SURGERY",
                    f"the date of death ('{dv}') is before the start date ('{ep.start}')",
                    f"({has} AND {self.value_col[dv]} < {start})",
                    dv,
                    ep.start,
                )

        def nan_least(names: Sequence[str], fn: str) -> str:
            cols = [self.value_col[v] for v in names]
            if not cols:
                return "CAST(NULL AS DOUBLE)"
            return cols[0] if len(cols) == 1 else f"{fn}({', '.join(cols)})"

        ev = self.add(nan_least(ep.events, "least"), f"ev__{name}")
        fu = self.add(nan_least(ep.censor, "greatest"), f"fu__{name}")
        comp = self.add(nan_least(ep.competing, "least"), f"cp__{name}")
        self.flush()
        is_event = f"({ev} IS NOT NULL AND ({comp} IS NULL OR {ev} <= {comp}))"
        is_comp = f"({comp} IS NOT NULL AND NOT {is_event})"
        is_cens = f"(NOT {is_event} AND NOT {is_comp} AND {fu} IS NOT NULL)"
        end = self.add(
            f"(CASE WHEN {is_event} THEN {ev} WHEN {is_comp} THEN {comp} "
            f"WHEN {is_cens} THEN {fu} END)",
            f"end__{name}",
        )
        st = self.add(
            f"(CASE WHEN {is_event} THEN 1.0E0 WHEN {is_comp} THEN 2.0E0 "
            f"WHEN {is_cens} THEN 0.0E0 END)",
            f"st__{name}",
        )
        self.flush()
        self.check(
            "FOLLOWUP-BEFORE-EVENT",
            f"{label}: the last follow-up is before the event date; the event is used",
            f"({has} AND {ev} IS NOT NULL AND {fu} IS NOT NULL AND {fu} < {ev})",
            scope="incl",
            sensitive=True,
            hint="update the last follow-up date",
        )
        no_end = [has, f"{ev} IS NULL", f"{fu} IS NULL"]
        if ep.competing:
            no_end.append(f"{comp} IS NULL")
        for var in (*ep.events, *ep.censor, *ep.competing):
            no_end.append(f"NOT {self.inv(var)}")
        what = (
            f"and no last follow-up date ({', '.join(ep.censor)})"
            if ep.censor
            else "and the endpoint has no 'censor' date"
        )
        self.check(
            "FOLLOWUP-MISSING",
            f"{label}: no event date {what}, so the time cannot be derived",
            "(" + " AND ".join(no_end) + ")",
            scope="incl",
            sensitive=True,
            hint="fill in the last follow-up date"
            if ep.censor
            else "add 'censor: <last follow-up date>' to the endpoint",
        )
        if cutoff is not None:
            c = num_lit(cutoff)
            self.check(
                "EVENT-AFTER-CUTOFF",
                lambda n, vals: (
                    f"{label}: {n} event(s) after the data cut-off "
                    f"({spec.data.cutoff}) were censored at the cut-off"
                ),
                f"({has} AND {st} = 1 AND {end} > {c})",
                scope="incl",
                hint="move data.cutoff to count them",
            )
            end2 = f"(CASE WHEN {end} > {c} THEN {c} ELSE {end} END)"
            st2 = f"(CASE WHEN {end} > {c} THEN 0.0E0 ELSE {st} END)"
        else:
            end2, st2 = end, st
        t = f"(CASE WHEN {has} THEN {end2} - {start} END)"
        bad = f"({t} IS NULL OR {t} < 0)"
        time = self.add(f"(CASE WHEN {bad} THEN NULL ELSE {t} END)", f"t__{name}")
        status = self.add(f"(CASE WHEN {bad} THEN NULL ELSE {st2} END)", f"s__{name}")
        self.flush()
        return time, status

    # ------------------------------------------------------------------ output
    def outputs(self) -> None:
        """Output columns of the derived table, variable infos, and their checks."""
        spec = self.spec
        self.out: list[str] = [f"{self.col('row')} AS {self.q('row')}"]
        self.meta: list[tuple[str, str]] = []  # (name of count, SQL over included rows)
        self.var_rows: list[Any] = []
        for name, var in spec.variables.items():
            if var.type in ("identifier", "date"):
                continue
            app = self.app[name]
            label = var.label or name
            if var.type == "multiselect":
                for _opt, col, ident in self.multi[name]:
                    v = f"(CASE WHEN {app} THEN {ident} END)"
                    self.out.append(f"{v} AS {self.q(col)}")
                    self.meta.append((f"nm__{col}", f"({app} AND {ident} IS NULL)"))
                self.meta.append((f"den__{name}", app))
                if var.applicable_when is not None:
                    self.out.append(f"{app} AS {self.q(applicable_column(name))}")
                continue
            ident = self.value_col[name]
            v = f"(CASE WHEN {app} THEN {ident} END)"
            cast = "DOUBLE" if var.type == "continuous" else "INT"
            self.out.append(f"CAST({v} AS {cast}) AS {self.q(name)}")
            if var.type != "continuous":
                if var.applicable_when is not None:
                    self.check(
                        "NOT-APPLICABLE-VALUE",
                        f"'{label}' has a value although it does not apply "
                        f"({var.applicable_when}); the value is ignored",
                        f"(NOT {app} AND {ident} IS NOT NULL)",
                        scope="incl",
                        hint="clear the cell, or check the applicable_when condition",
                        column=var.column or name,
                    )
                levels = self.levels[name]
                reference = var.reference_level() or (levels[0] if levels else None)
                if var.type == "binary" and var.reference is None and len(levels) == 2:
                    reference = levels[1]
                if reference is not None and levels and reference not in levels:
                    self.check(
                        "REFERENCE-UNKNOWN",
                        f"the reference '{reference}' is not among the categories found: "
                        + ", ".join(levels),
                        "FALSE",
                        column=var.column or name,
                        hint="set 'reference' to one of them, or list the levels in the spec",
                        no_rows=True,
                    )
                if name in self.details:
                    dident, _groups = self.details[name]
                    self.out.append(
                        f"CAST((CASE WHEN {app} THEN {dident} END) AS INT) "
                        f"AS {self.q(f'{name}__detail')}"
                    )
            miss = f"({app} AND {ident} IS NULL)"
            self.meta.append((f"den__{name}", app))
            self.meta.append((f"nm__{name}", miss))
            if var.applicable_when is not None:
                self.out.append(f"{app} AS {self.q(applicable_column(name))}")
            self.check(
                "MISSING",
                lambda n, vals, name=name, label=label, var=var: (
                    f"{n} of "
                    f"{self.counts[f'den__{name}']} value(s) missing"
                    + (f" ('{label}', derived)" if var.derive else "")
                ),
                f"({miss} AND NOT {self.inv(name)})",
                scope="incl",
                hint="analyses use the patients with a value",
                column=var.column or name,
                file="" if var.derive else None,
            )
        for name in spec.endpoints:
            t, e, s = self.ep_cols[name]
            tn, en, sn = endpoint_columns(name)
            self.out += [
                f"CAST({t} AS DOUBLE) AS {self.q(tn)}",
                f"CAST({e} AS DOUBLE) AS {self.q(en)}",
                f"CAST({s} AS DOUBLE) AS {self.q(sn)}",
            ]
            self.meta.append((f"epn__{name}", f"({t} IS NOT NULL AND {e} IS NOT NULL)"))
            self.meta.append((f"epe__{name}", f"({e} = 1)"))

    # ------------------------------------------------------------------ run
    def aggregate(self) -> None:
        items = ["count(*) AS n_all"]
        inc = self.inc
        for i, (_w, _t, before, after) in enumerate(self.steps):
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
            chk.listed = sorted({shown(v) for v in r["v"]})
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
                key = f"(CASE WHEN isnan({key}) THEN NULL ELSE {key} END)"
        elif c.kind == "bool":
            key = f"(CASE WHEN {c.sql} THEN 't:true' ELSE 't:false' END)"
        elif c.kind == "date":
            key = f"concat('d:', CAST({c.sql} AS {self.text_type()}))"
        else:
            k, kn = self.keys(_Cell(c.sql, c.kind, c.column))
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
        total = int(_scalar(self.run(f"{w} SELECT count(*) AS n FROM ({groups}) t")["n"]))
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
                issues.add(
                    "ID-DUPLICATE",
                    f"the same patient id appears on {format_rows(rs)}{more}",
                    rows=rs,
                    column=self.spec.data.id,
                    sensitive=True,
                    hint="keep one row per patient",
                )
        miss = (
            f"({c.sql} IS NULL)"
            if c.kind not in ("text",)
            else f"({c.sql} IS NULL OR trim({c.sql}) = '')"
        )
        if c.kind == "num":
            miss = f"({c.sql} IS NULL OR isnan({c.sql}))"
        r = self.run(f"{w} SELECT count(*) AS n FROM ss_src WHERE {miss}")
        n_miss = int(_scalar(r["n"]))
        if n_miss:
            r = self.run(
                f"{w} SELECT {row} AS r FROM ss_src WHERE {miss} ORDER BY {row} LIMIT {MAX_ROWS}"
            )
            issues.add(
                "ID-MISSING",
                "the patient id is empty" + _more(n_miss, len(r["r"])),
                rows=[int(x) for x in r["r"]],
                hint="give every row its patient id",
                column=self.spec.data.id,
                sensitive=True,
            )

    def derive_all(self, out_dir: str | os.PathLike[str], strict: bool) -> DerivedCohort:
        spec = self.spec
        self.open_source()
        self.check_ids()
        self.read_variables()
        self.derive()
        self.population()
        self.applicable()
        self.future_dates()
        self.death_checks()
        self.endpoints()
        self.outputs()
        self.aggregate()
        counts = self.counts
        issues = IssueCollector(self.file)
        n_all = counts["n_all"]
        if n_all == 0:
            issues.add("NO-ROWS", "the file has no data rows")
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
            msg = chk.message(chk.total, chk.listed) if callable(chk.message) else chk.message
            if not chk.no_rows:
                msg += _more(chk.total, len(chk.rows))
            issues.add(
                chk.code,
                msg,
                rows=chk.rows,
                column=chk.column,
                sensitive=chk.sensitive,
                hint=chk.hint,
                severity=chk.severity,
                file=chk.file,
            )
        report = issues.report()
        if strict:
            report.raise_if_errors()
        flow = [FlowStep("Rows in the data file", n_all, 0, n_all)]
        for i, (which, text, _b, _a) in enumerate(self.steps):
            step = spec.population[i]
            before, after = counts[f"fb{i}"], counts[f"fa{i}"]
            pm = self.checks_by_step(i)
            reason = step.reason or (
                f"{'Not meeting' if which == 'include' else 'Meeting'}: {text}"
            )
            flow.append(
                FlowStep(
                    description=("Included: " if which == "include" else "Excluded: ") + text,
                    n_before=before,
                    n_excluded=before - after,
                    n_after=after,
                    reason=reason,
                    n_unknown=pm,
                )
            )
        out = Path(out_dir)
        final = f"{self.with_sql()} SELECT {', '.join(self.out)} FROM {self.last} WHERE {self.inc}"
        self.engine.write_parquet(final, str(out), file=self.label)
        return DerivedCohort(
            spec=spec,
            path=str(out),
            n=counts["n_inc"],
            variables=self.infos(),
            endpoints=self.endpoint_infos(),
            flow=tuple(flow),
            report=report,
            input_file=self.file,
            input_sha256=sha256_of_files(list(self.files)),
            unit=spec.units.time,
            days_per_unit=spec.units.days_per_unit,
        )

    def checks_by_step(self, i: int) -> int:
        pms = [c for c in self.checks if c.code == "POPULATION-MISSING"]
        return pms[i].total

    def infos(self) -> dict[str, VariableInfo]:
        spec = self.spec
        counts = self.counts
        out: dict[str, VariableInfo] = {}
        empty = np.zeros(0, dtype=bool)
        for name, var in spec.variables.items():
            if var.type in ("identifier", "date"):
                continue
            label = var.label or name
            if var.type == "multiselect":
                opts = tuple((lab, col) for lab, col, _ in self.multi[name])
                out[name] = VariableInfo(
                    name=name,
                    label=label,
                    type=var.type,
                    column=None,
                    options=opts,
                    applicable=empty,
                    applicable_when=var.applicable_when,
                    denominator=counts[f"den__{name}"],
                    n_missing=max([counts[f"nm__{col}"] for _l, col in opts], default=0),
                )
                continue
            levels: tuple[str, ...] = ()
            reference = None
            detail_column = None
            groups: dict[str, tuple[str, ...]] = {}
            if var.type != "continuous":
                levels = tuple(self.levels[name])
                reference = var.reference_level() or (levels[0] if levels else None)
                if var.type == "binary" and var.reference is None and len(levels) == 2:
                    reference = levels[1]
                if name in self.details:
                    detail_column, groups = f"{name}__detail", self.details[name][1]
            out[name] = VariableInfo(
                name=name,
                label=label,
                type=var.type,
                column=name,
                levels=levels,
                reference=reference,
                unit=var.unit,
                applicable=empty,
                applicable_when=var.applicable_when,
                denominator=counts[f"den__{name}"],
                n_missing=counts[f"nm__{name}"],
                derived=var.derive,
                detail_column=detail_column,
                sublevels=groups,
            )
        return out

    def endpoint_infos(self) -> dict[str, EndpointInfo]:
        spec = self.spec
        out = {}
        for name, ep in spec.endpoints.items():
            t_col, e_col, s_col = endpoint_columns(name)
            out[name] = EndpointInfo(
                name=name,
                label=ep.label or name,
                time_column=t_col,
                event_column=e_col,
                status_column=s_col,
                source="dates" if ep.from_dates else "columns",
                n=self.counts[f"epn__{name}"],
                events=self.counts[f"epe__{name}"],
                horizon_days=ep.horizon * spec.units.days_per_unit if ep.horizon else None,
                competing=tuple(ep.competing),
                definition=endpoint_definition(spec, name),
            )
        return out


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
    return _Deriver(spec, engine).derive_all(out_dir, strict)

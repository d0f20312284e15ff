"""The spec's expression language (:mod:`survstudy.spec.expr`) translated to SQL text.

The SQL computes, row by row, what :func:`survstudy.data.expressions.evaluate`
computes over arrays, for DuckDB and Spark SQL alike:

* ``number`` -> DOUBLE, NULL = missing (a division by zero is missing);
* ``date`` -> DOUBLE days since 1970-01-01 (so differences are days);
* ``text`` -> a string (level names), NULL = missing;
* ``bool`` -> BOOLEAN, NULL = unknown. SQL's AND/OR/NOT are Kleene's
  three-valued logic, which the evaluator implements on 1/0/NaN, and a
  comparison with NULL is NULL, as a comparison with a missing operand is missing.

Type errors raise :class:`~survstudy.data.expressions.ExpressionTypeError` with the
evaluator's wording; constructs that have no faithful SQL translation (a text
compared with a computed number, say) raise :class:`Untranslatable`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass

from survstudy.data.expressions import ExpressionTypeError, date_to_days
from survstudy.spec.expr import (
    Binary,
    BoolOp,
    Call,
    Compare,
    Const,
    Expression,
    InList,
    IsMissing,
    ListLit,
    Name,
    Node,
    Not,
    Unary,
)

__all__ = ["SqlValue", "Untranslatable", "num_lit", "str_lit", "translate"]


class Untranslatable(ValueError):
    """A construct the SQL translation does not cover (use the memory engine)."""


@dataclass(frozen=True)
class SqlValue:
    """An SQL expression and its kind in the expression language."""

    kind: str  # number | date | text | bool
    sql: str
    const: float | int | str | bool | None = None  # set for literal constants


def num_lit(v: float) -> str:
    """A DOUBLE literal both dialects read exactly (DuckDB reads ``0.1`` as DECIMAL)."""
    return f"CAST({float(v):.17e} AS DOUBLE)"


def str_lit(s: str, dialect: str) -> str:
    """A string literal; Spark SQL treats backslashes in literals as escapes."""
    if dialect == "spark":
        return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return "'" + s.replace("'", "''") + "'"


def _const_text(x: object) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


class _Translator:
    def __init__(
        self,
        expr: Expression,
        env: Mapping[str, SqlValue],
        dialect: str,
        days_per_month: float,
        days_per_year: float,
    ) -> None:
        self.expr = expr
        self.env = env
        self.dialect = dialect
        self.dpm = days_per_month
        self.dpy = days_per_year

    def fail(self, message: str) -> ExpressionTypeError:
        return ExpressionTypeError(f"{message} in '{self.expr.text}'")

    def cannot(self, what: str) -> Untranslatable:
        return Untranslatable(f"{what} in '{self.expr.text}'")

    def const(self, value: float | int | str | bool) -> SqlValue:
        if isinstance(value, bool):
            return SqlValue("bool", "TRUE" if value else "FALSE", value)
        if isinstance(value, int | float):
            return SqlValue("number", num_lit(float(value)), float(value))
        return SqlValue("text", str_lit(value, self.dialect), value)

    def run(self, node: Node) -> SqlValue:
        if isinstance(node, Const):
            return self.const(node.value)
        if isinstance(node, Name):
            if node.id not in self.env:
                raise self.fail(f"unknown name '{node.id}'")
            return self.env[node.id]
        if isinstance(node, ListLit):
            raise self.fail("a list can only follow 'in'")
        if isinstance(node, Unary):
            v = self.run(node.operand)
            if v.kind != "number":
                raise self.fail(f"'{node.op}' needs a number, not a {v.kind}")
            return SqlValue("number", f"(-({v.sql}))" if node.op == "-" else v.sql)
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, InList):
            return self.in_list(node)
        if isinstance(node, IsMissing):
            v = self.run(node.operand)
            return SqlValue("bool", f"(({v.sql}) IS {'NOT ' if node.negate else ''}NULL)")
        if isinstance(node, Not):
            v = self.as_bool(self.run(node.operand), "not")
            return SqlValue("bool", f"(NOT ({v.sql}))")
        if isinstance(node, BoolOp):
            values = [self.as_bool(self.run(x), node.op) for x in node.values]
            joiner = " AND " if node.op == "and" else " OR "
            return SqlValue("bool", "(" + joiner.join(f"({v.sql})" for v in values) + ")")
        if isinstance(node, Call):
            return self.call(node)
        raise self.fail(f"unsupported node {type(node).__name__}")  # pragma: no cover

    def as_bool(self, v: SqlValue, op: str) -> SqlValue:
        if v.kind != "bool":
            raise self.fail(f"'{op}' needs conditions (true/false), not a {v.kind}")
        return v

    def binary(self, node: Binary) -> SqlValue:
        a, b = self.run(node.left), self.run(node.right)
        op = node.op
        if a.kind == "number" and b.kind == "number":
            if op == "/":
                # x/0 is missing in the evaluator (inf and NaN become NaN)
                return SqlValue(
                    "number", f"(CASE WHEN ({b.sql}) = 0 THEN NULL ELSE ({a.sql}) / ({b.sql}) END)"
                )
            return SqlValue("number", f"(({a.sql}) {op} ({b.sql}))")
        if a.kind == "date" and b.kind == "date" and op == "-":
            return SqlValue("number", f"(({a.sql}) - ({b.sql}))")
        if a.kind == "date" and b.kind == "number" and op in "+-":
            return SqlValue("date", f"(({a.sql}) {op} ({b.sql}))")
        if a.kind == "number" and b.kind == "date" and op == "+":
            return SqlValue("date", f"(({a.sql}) + ({b.sql}))")
        raise self.fail(f"cannot compute {a.kind} {op} {b.kind}")

    def text_as_date(self, v: SqlValue) -> SqlValue:
        if v.const is None or not isinstance(v.const, str):
            raise self.cannot("a category compared with a date")
        try:
            day = date_to_days(_dt.date.fromisoformat(v.const))
        except ValueError:
            raise self.fail(f"'{v.const}' is not a YYYY-MM-DD date") from None
        return SqlValue("date", num_lit(day))

    def as_text(self, v: SqlValue) -> SqlValue:
        if v.const is None:
            raise self.cannot(f"a category compared with a computed {v.kind}")
        return SqlValue("text", str_lit(_const_text(v.const), self.dialect), _const_text(v.const))

    def coerce_pair(self, a: SqlValue, b: SqlValue) -> tuple[SqlValue, SqlValue]:
        if a.kind == "date" and b.kind == "text":
            return a, self.text_as_date(b)
        if a.kind == "text" and b.kind == "date":
            return self.text_as_date(a), b
        if a.kind == "text" and b.kind in ("number", "bool"):
            return a, self.as_text(b)
        if a.kind in ("number", "bool") and b.kind == "text":
            return self.as_text(a), b
        return a, b

    def compare(self, node: Compare) -> SqlValue:
        a, b = self.coerce_pair(self.run(node.left), self.run(node.right))
        if a.kind != b.kind:
            raise self.fail(f"cannot compare a {a.kind} with a {b.kind}")
        op = node.op
        if a.kind == "text" and op not in ("==", "!="):
            raise self.fail(f"categories can only be compared with == or !=, not {op}")
        sql_op = {"==": "=", "!=": "<>"}.get(op, op)
        return SqlValue("bool", f"(({a.sql}) {sql_op} ({b.sql}))")

    def in_list(self, node: InList) -> SqlValue:
        v = self.run(node.operand)
        items = [c.value for c in node.items.items]
        neg = "NOT " if node.negate else ""
        if v.kind == "text":
            wanted = list(dict.fromkeys(_const_text(x) for x in items))
            if not wanted:
                hit = "FALSE"
            else:
                hit = f"({v.sql}) IN ({', '.join(str_lit(w, self.dialect) for w in wanted)})"
        elif v.kind in ("number", "bool"):
            nums = [float(x) for x in items if isinstance(x, int | float)]
            x = v.sql if v.kind == "number" else f"CAST(({v.sql}) AS DOUBLE)"
            hit = f"({x}) IN ({', '.join(num_lit(n) for n in nums)})" if nums else "FALSE"
        else:
            raise self.fail("'in' works with categories and numbers, not dates")
        return SqlValue("bool", f"(CASE WHEN ({v.sql}) IS NULL THEN NULL ELSE {neg}({hit}) END)")

    def call(self, node: Call) -> SqlValue:
        f = node.func
        if f == "date":
            arg = node.args[0]
            assert isinstance(arg, Const)
            day = date_to_days(_dt.date.fromisoformat(str(arg.value)))
            return SqlValue("date", num_lit(day))
        args = [self.run(a) for a in node.args]
        if f.endswith("_between"):
            a, b = args
            if a.kind != "date" or b.kind != "date":
                raise self.fail(f"{f}() needs two dates, got {a.kind} and {b.kind}")
            per = {"days": 1.0, "weeks": 7.0, "months": self.dpm, "years": self.dpy}[
                f.removesuffix("_between")
            ]
            return SqlValue("number", f"((({b.sql}) - ({a.sql})) / {num_lit(per)})")
        if f == "missing":
            return SqlValue("bool", f"(({args[0].sql}) IS NULL)")
        if f == "abs":
            if args[0].kind != "number":
                raise self.fail("abs() needs a number")
            return SqlValue("number", f"abs({args[0].sql})")
        if f == "floor":
            if args[0].kind != "number":
                raise self.fail("floor() needs a number")
            # Spark's floor gives a BIGINT
            return SqlValue("number", f"CAST(floor({args[0].sql}) AS DOUBLE)")
        kinds = {a.kind for a in args}
        if len(kinds) != 1 or kinds & {"text", "bool"}:
            raise self.fail(f"{f}() needs numbers or dates of one kind")
        # least/greatest skip NULLs in DuckDB and Spark: missing only when all are
        fn = "least" if f == "min" else "greatest"
        return SqlValue(args[0].kind, f"{fn}({', '.join(a.sql for a in args)})")


def translate(
    expr: Expression,
    env: Mapping[str, SqlValue],
    *,
    dialect: str,
    days_per_month: float = 30.4375,
    days_per_year: float = 365.25,
) -> SqlValue:
    """``expr`` as SQL over the columns of ``env`` (name -> :class:`SqlValue`)."""
    return _Translator(expr, env, dialect, days_per_month, days_per_year).run(expr.tree)

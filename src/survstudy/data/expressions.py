"""Evaluate a parsed spec expression (:mod:`survstudy.spec.expr`) over the columns of a cohort.

Values are typed numpy arrays, one element per patient:

* ``number``: float64, NaN = missing;
* ``date``: float64 days since 1970-01-01, NaN = missing (so differences are days);
* ``text``: object array of level names, ``None`` = missing;
* ``bool``: float64 1.0 / 0.0 / NaN, combined with Kleene's three-valued logic
  (``missing and false`` is false, ``missing or true`` is true).

A comparison with a missing operand is missing. ``min``/``max`` ignore missing
arguments (missing only when all are). Division by zero gives missing.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

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

__all__ = ["EPOCH", "ExpressionTypeError", "Value", "date_to_days", "evaluate"]

EPOCH = _dt.date(1970, 1, 1)


class ExpressionTypeError(ValueError):
    """An expression combines values of incompatible types (e.g. a date plus a category)."""


@dataclass(frozen=True)
class Value:
    kind: str  # number | date | text | bool
    data: np.ndarray


def date_to_days(d: _dt.date | None) -> float:
    return float("nan") if d is None else float((d - EPOCH).days)


class _Evaluator:
    def __init__(
        self,
        expr: Expression,
        env: Mapping[str, Value],
        n: int,
        days_per_month: float,
        days_per_year: float,
    ) -> None:
        self.expr = expr
        self.env = env
        self.n = n
        self.dpm = days_per_month
        self.dpy = days_per_year

    def fail(self, message: str) -> ExpressionTypeError:
        return ExpressionTypeError(f"{message} in '{self.expr.text}'")

    def const(self, value: float | int | str | bool) -> Value:
        if isinstance(value, bool):
            return Value("bool", np.full(self.n, 1.0 if value else 0.0))
        if isinstance(value, int | float):
            return Value("number", np.full(self.n, float(value)))
        return Value("text", np.array([value] * self.n, dtype=object))

    def run(self, node: Node) -> Value:
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
            return Value("number", -v.data if node.op == "-" else v.data)
        if isinstance(node, Binary):
            return self.binary(node)
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, InList):
            return self.in_list(node)
        if isinstance(node, IsMissing):
            v = self.run(node.operand)
            miss = _missing_mask(v)
            return Value("bool", (~miss if node.negate else miss).astype(float))
        if isinstance(node, Not):
            v = self.as_bool(self.run(node.operand), "not")
            return Value("bool", np.where(np.isnan(v.data), np.nan, 1.0 - v.data))
        if isinstance(node, BoolOp):
            values = [self.as_bool(self.run(x), node.op) for x in node.values]
            acc = values[0].data
            for v in values[1:]:
                acc = _kleene(acc, v.data, node.op)
            return Value("bool", acc)
        if isinstance(node, Call):
            return self.call(node)
        raise self.fail(f"unsupported node {type(node).__name__}")  # pragma: no cover

    def as_bool(self, v: Value, op: str) -> Value:
        if v.kind != "bool":
            raise self.fail(f"'{op}' needs conditions (true/false), not a {v.kind}")
        return v

    def binary(self, node: Binary) -> Value:
        a, b = self.run(node.left), self.run(node.right)
        op = node.op
        if a.kind == "number" and b.kind == "number":
            with np.errstate(divide="ignore", invalid="ignore"):
                if op == "+":
                    out = a.data + b.data
                elif op == "-":
                    out = a.data - b.data
                elif op == "*":
                    out = a.data * b.data
                else:
                    out = a.data / b.data
            out = np.where(np.isfinite(out), out, np.nan)
            return Value("number", out)
        if a.kind == "date" and b.kind == "date" and op == "-":
            return Value("number", a.data - b.data)
        if a.kind == "date" and b.kind == "number" and op in "+-":
            return Value("date", a.data + b.data if op == "+" else a.data - b.data)
        if a.kind == "number" and b.kind == "date" and op == "+":
            return Value("date", a.data + b.data)
        raise self.fail(f"cannot compute {a.kind} {op} {b.kind}")

    def coerce_pair(self, a: Value, b: Value) -> tuple[Value, Value]:
        """Let a quoted 'YYYY-MM-DD' text stand for a date when compared with a date."""
        if a.kind == "date" and b.kind == "text":
            return a, self.text_as_date(b)
        if a.kind == "text" and b.kind == "date":
            return self.text_as_date(a), b
        if a.kind == "text" and b.kind == "number":
            return a, _number_as_text(b)
        if a.kind == "number" and b.kind == "text":
            return _number_as_text(a), b
        if a.kind == "text" and b.kind == "bool":
            return a, _bool_as_text(b)
        if a.kind == "bool" and b.kind == "text":
            return _bool_as_text(a), b
        return a, b

    def text_as_date(self, v: Value) -> Value:
        out = np.full(self.n, np.nan)
        for i, t in enumerate(v.data):
            if t is None:
                continue
            try:
                out[i] = date_to_days(_dt.date.fromisoformat(str(t)))
            except ValueError:
                raise self.fail(f"'{t}' is not a YYYY-MM-DD date") from None
        return Value("date", out)

    def compare(self, node: Compare) -> Value:
        a, b = self.coerce_pair(self.run(node.left), self.run(node.right))
        if a.kind != b.kind:
            raise self.fail(f"cannot compare a {a.kind} with a {b.kind}")
        op = node.op
        miss = _missing_mask(a) | _missing_mask(b)
        if a.kind == "text":
            if op not in ("==", "!="):
                raise self.fail(f"categories can only be compared with == or !=, not {op}")
            eq = np.array(
                [
                    x is not None and y is not None and x == y
                    for x, y in zip(a.data, b.data, strict=True)
                ]
            )
            res = eq if op == "==" else ~eq
        else:
            x = np.where(miss, 0.0, a.data)
            y = np.where(miss, 0.0, b.data)
            res = {
                "==": x == y,
                "!=": x != y,
                "<": x < y,
                "<=": x <= y,
                ">": x > y,
                ">=": x >= y,
            }[op]
        return Value("bool", np.where(miss, np.nan, res.astype(float)))

    def in_list(self, node: InList) -> Value:
        v = self.run(node.operand)
        items = [c.value for c in node.items.items]
        if v.kind == "text":
            wanted = {_const_text(x) for x in items}
            hit = np.array([x is not None and x in wanted for x in v.data])
        elif v.kind in ("number", "bool"):
            nums = [float(x) for x in items if isinstance(x, int | float)]
            hit = np.isin(v.data, nums)
        else:
            raise self.fail("'in' works with categories and numbers, not dates")
        miss = _missing_mask(v)
        res = ~hit if node.negate else hit
        return Value("bool", np.where(miss, np.nan, res.astype(float)))

    def call(self, node: Call) -> Value:
        f = node.func
        if f == "date":
            arg = node.args[0]
            assert isinstance(arg, Const)
            day = date_to_days(_dt.date.fromisoformat(str(arg.value)))
            return Value("date", np.full(self.n, day))
        args = [self.run(a) for a in node.args]
        if f.endswith("_between"):
            a, b = args
            if a.kind != "date" or b.kind != "date":
                raise self.fail(f"{f}() needs two dates, got {a.kind} and {b.kind}")
            per = {"days": 1.0, "weeks": 7.0, "months": self.dpm, "years": self.dpy}[
                f.removesuffix("_between")
            ]
            return Value("number", (b.data - a.data) / per)
        if f == "missing":
            return Value("bool", _missing_mask(args[0]).astype(float))
        if f == "abs":
            if args[0].kind != "number":
                raise self.fail("abs() needs a number")
            return Value("number", np.abs(args[0].data))
        if f == "floor":
            # completed units, e.g. age in completed years: floor(years_between(birth, dx))
            if args[0].kind != "number":
                raise self.fail("floor() needs a number")
            return Value("number", np.floor(args[0].data))
        kinds = {a.kind for a in args}
        if len(kinds) != 1 or kinds & {"text", "bool"}:
            raise self.fail(f"{f}() needs numbers or dates of one kind")
        stack = np.vstack([a.data for a in args])
        all_missing = np.isnan(stack).all(axis=0)
        filled = np.where(np.isnan(stack), np.inf if f == "min" else -np.inf, stack)
        out = filled.min(axis=0) if f == "min" else filled.max(axis=0)
        return Value(args[0].kind, np.where(all_missing, np.nan, out))


def _missing_mask(v: Value) -> np.ndarray:
    if v.kind == "text":
        return np.array([x is None for x in v.data], dtype=bool)
    return np.isnan(v.data)


def _kleene(a: np.ndarray, b: np.ndarray, op: str) -> np.ndarray:
    if op == "and":
        out = np.where((a == 0) | (b == 0), 0.0, np.where(np.isnan(a) | np.isnan(b), np.nan, 1.0))
    else:
        out = np.where((a == 1) | (b == 1), 1.0, np.where(np.isnan(a) | np.isnan(b), np.nan, 0.0))
    return out


def _const_text(x: object) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def _number_as_text(v: Value) -> Value:
    return Value(
        "text",
        np.array([None if np.isnan(x) else _const_text(float(x)) for x in v.data], dtype=object),
    )


def _bool_as_text(v: Value) -> Value:
    return Value(
        "text",
        np.array(
            [None if np.isnan(x) else ("true" if x == 1 else "false") for x in v.data], dtype=object
        ),
    )


def evaluate(
    expr: Expression,
    env: Mapping[str, Value],
    n: int,
    *,
    days_per_month: float = 30.4375,
    days_per_year: float = 365.25,
) -> Value:
    """Evaluate ``expr`` for ``n`` patients; ``env`` maps every name it uses to a :class:`Value`."""
    return _Evaluator(expr, env, n, days_per_month, days_per_year).run(expr.tree)

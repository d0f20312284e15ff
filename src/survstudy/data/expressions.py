"""The spec's expression language (:mod:`survstudy.spec.expr`): one definition per node kind,
evaluated over NumPy arrays and rendered as SQL.

Every node kind of the expression tree (constants, names, arithmetic, comparisons,
``in`` lists, ``is missing``, ``not``, ``and``/``or``, every function) is one entry of
:data:`NODE_KINDS` or :data:`FUNCTION_KINDS` holding both renderings side by side:

* ``numpy(walk, node)`` evaluates it over arrays, one element per patient
  (:func:`evaluate` -> :class:`Value`);
* ``sql(walk, node)`` renders it as SQL text for DuckDB and Spark SQL
  (:func:`translate` -> :class:`SqlValue`), computing row by row what the arrays hold.

Both share the type rules and their messages (:class:`ExpressionTypeError`); a test
evaluates every entry both ways on the same random data (``tests/data/test_plan_nodes.py``).
The cohort plan (:mod:`survstudy.data.plan`) writes its endpoint rules and checks with the
same nodes, plus two internal ones that users do not write: :class:`Case` (the first
branch whose condition is true) and :class:`Null` (a typed missing value).

Values:

* ``number``: float64, NaN = missing; SQL DOUBLE, NULL = missing;
* ``date``: float64 days since 1970-01-01 (so differences are days); SQL DOUBLE days;
* ``text``: object array of level names, ``None`` = missing; SQL strings;
* ``bool``: float64 1.0 / 0.0 / NaN, combined with Kleene's three-valued logic
  (``missing and false`` is false, ``missing or true`` is true); SQL BOOLEAN, whose
  AND/OR/NOT are the same logic.

A comparison with a missing operand is missing. ``min``/``max`` ignore missing
arguments (missing only when all are); ``coalesce`` takes the first argument that is
not missing. Division by zero gives missing. ``if_else(c, a, b)`` is missing where
``c`` is. ``log``, ``log10`` (of zero or less) and ``sqrt`` (of a negative value) give
missing and the cohort plan reports the rows (``EXPRESSION-DOMAIN``, see
:func:`domain_conditions`). ``round(x, digits)`` rounds half away from zero
(``round(2.5) = 3``, ``round(-2.5) = -3``), computed as
``sign(x) * floor(|x| * 10^digits + 0.5) / 10^digits`` in both renderings, so that
both give the same double.

Adding a function: one :class:`FunctionKind` in :data:`FUNCTION_KINDS` (its argument
kinds, result kind, NumPy and SQL renderings, and optional domain rule) and its
arity in :data:`survstudy.spec.expr.FUNCTIONS`; the parity test picks it up.
Constructs with no faithful SQL translation (a text compared with a *computed* number,
say) raise :class:`Untranslatable` (the SQL executor refuses the spec with
``SPEC-ENGINE-UNSUPPORTED``).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

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

__all__ = [
    "EPOCH",
    "FUNCTION_KINDS",
    "NODE_KINDS",
    "Case",
    "DomainCondition",
    "ExpressionTypeError",
    "FunctionKind",
    "Null",
    "PlanNode",
    "SqlValue",
    "Untranslatable",
    "Value",
    "date_to_days",
    "domain_conditions",
    "evaluate",
    "evaluate_node",
    "num_lit",
    "str_lit",
    "translate",
    "translate_node",
]

EPOCH = _dt.date(1970, 1, 1)


class ExpressionTypeError(ValueError):
    """An expression combines values of incompatible types (e.g. a date plus a category)."""


class Untranslatable(ValueError):
    """A construct the SQL rendering does not cover (use the memory engine)."""


@dataclass(frozen=True)
class Value:
    """An evaluated expression: its kind (number | date | text | bool) and one element per row.

    Numbers and dates are ``float64`` (NaN = missing), text an object array (``None`` =
    missing). A condition (``bool``) is three-valued: ``float64`` 1.0/0.0/NaN, or a NumPy
    ``bool`` array when no row can be unknown (``is missing``, presence flags, ``and``/``or``
    of such), which is eight times smaller and cheaper to combine; read it with ``== 1``
    and :func:`numpy.isnan`, which work on both. ``data`` is never written to (a constant
    is a read-only view of one element).
    """

    kind: str
    data: np.ndarray

    def missing_mask(self) -> np.ndarray:
        """Where the value is missing; a text column's mask is computed once (an ``is
        missing`` of a category is evaluated by several checks) and shared: do not modify."""
        if self.kind == "text":
            mask = self.__dict__.get("_missing")
            if mask is None:
                mask = np.asarray(self.data == None, dtype=bool)  # noqa: E711 - elementwise
                object.__setattr__(self, "_missing", mask)
            return mask
        if self.data.dtype == bool:
            return np.zeros(len(self.data), dtype=bool)
        return np.isnan(self.data)

    def set_missing_mask(self, mask: np.ndarray) -> None:
        """Give a text column its missing mask, known where it was made (``data == None``)."""
        object.__setattr__(self, "_missing", mask)


@dataclass(frozen=True)
class SqlValue:
    """An SQL expression and its kind in the expression language."""

    kind: str  # number | date | text | bool
    sql: str
    const: float | int | str | bool | None = None  # set for literal constants


# --------------------------------------------------------------------------- internal nodes


@dataclass(frozen=True)
class Null:
    """A missing value of ``kind`` (plan rules only)."""

    kind: str


@dataclass(frozen=True)
class Case:
    """The value of the first branch whose condition is true, else ``default`` (plan rules
    only). A missing condition is not true (SQL's ``CASE WHEN``)."""

    branches: tuple[tuple[PlanNode, PlanNode], ...]
    default: PlanNode


#: every node the walkers accept: the user's expression tree and the plan's internal nodes
PlanNode = Node | Null | Case


def date_to_days(d: _dt.date | None) -> float:
    return float("nan") if d is None else float((d - EPOCH).days)


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


# --------------------------------------------------------------------------- walkers

V = TypeVar("V", Value, SqlValue)


class _Walk(Generic[V]):
    """Walks a tree, handing each node to its kind's rendering (``numpy`` or ``sql``)."""

    def __init__(self, text: str, env: Mapping[str, V], dpm: float, dpy: float) -> None:
        self.text = text
        self.env: Mapping[str, V] = env
        self.dpm = dpm
        self.dpy = dpy

    def fail(self, message: str) -> ExpressionTypeError:
        return ExpressionTypeError(f"{message} in '{self.text}'")

    def cannot(self, what: str) -> Untranslatable:
        return Untranslatable(f"{what} in '{self.text}'")

    def name(self, node: Name) -> V:
        if node.id not in self.env:
            raise self.fail(f"unknown name '{node.id}'")
        return self.env[node.id]

    def bool_arg(self, v: V, op: str) -> V:
        if v.kind != "bool":
            raise self.fail(f"'{op}' needs conditions (true/false), not a {v.kind}")
        return v

    def per_unit(self, f: str) -> float:
        return {"days": 1.0, "weeks": 7.0, "months": self.dpm, "years": self.dpy}[
            f.removesuffix("_between")
        ]

    def run(self, node: PlanNode) -> V:  # pragma: no cover - overridden
        raise NotImplementedError


class NumpyWalk(_Walk[Value]):
    """Evaluates over arrays of ``n`` elements."""

    def __init__(self, text: str, env: Mapping[str, Value], n: int, dpm: float, dpy: float) -> None:
        super().__init__(text, env, dpm, dpy)
        self.n = n

    def run(self, node: PlanNode) -> Value:
        return NODE_KINDS[type(node)].numpy(self, node)

    def const(self, value: float | int | str | bool) -> Value:
        if isinstance(value, bool):
            return Value("bool", constant(self.n, value, bool))
        if isinstance(value, int | float):
            return Value("number", constant(self.n, float(value), float))
        return Value("text", np.array([value] * self.n, dtype=object))

    def missing(self, v: Value) -> np.ndarray:
        return _missing_mask(v)

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


class SqlWalk(_Walk[SqlValue]):
    """Renders SQL text in ``dialect`` (duckdb | spark)."""

    def __init__(
        self, text: str, env: Mapping[str, SqlValue], dialect: str, dpm: float, dpy: float
    ) -> None:
        super().__init__(text, env, dpm, dpy)
        self.dialect = dialect

    def run(self, node: PlanNode) -> SqlValue:
        return NODE_KINDS[type(node)].sql(self, node)

    def const(self, value: float | int | str | bool) -> SqlValue:
        if isinstance(value, bool):
            return SqlValue("bool", "TRUE" if value else "FALSE", value)
        if isinstance(value, int | float):
            return SqlValue("number", num_lit(float(value)), float(value))
        return SqlValue("text", str_lit(value, self.dialect), value)

    def null(self, kind: str) -> str:
        return {
            "number": "CAST(NULL AS DOUBLE)",
            "date": "CAST(NULL AS DOUBLE)",
            "bool": "CAST(NULL AS BOOLEAN)",
            "text": f"CAST(NULL AS {'STRING' if self.dialect == 'spark' else 'VARCHAR'})",
        }[kind]

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


def constant(n: int, value: Any, dtype: Any) -> np.ndarray:
    """``n`` copies of ``value`` as a read-only view of one element (no memory per row; a
    value's data is never written to)."""
    return np.broadcast_to(np.array(value, dtype=dtype), (n,))


def _missing_mask(v: Value) -> np.ndarray:
    return v.missing_mask()


def _kleene(a: np.ndarray, b: np.ndarray, op: str) -> np.ndarray:
    """Kleene's ``and``/``or`` on 1.0/0.0/NaN: a false (and) or true (or) operand decides;
    otherwise a missing one makes the result missing (``minimum``/``maximum`` carry NaN)."""
    if op == "and":
        out = np.minimum(a, b)
        out[(a == 0) | (b == 0)] = 0.0
    else:
        out = np.maximum(a, b)
        out[(a == 1) | (b == 1)] = 1.0
    return np.asarray(out, dtype=float)


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


def _same_kind(walk: _Walk[Any], what: str, kinds: Sequence[str]) -> str:
    """The one kind of ``kinds``."""
    if len(set(kinds)) != 1:
        raise walk.fail(
            f"{what} needs values of one kind, got {' and '.join(dict.fromkeys(kinds))}"
        )
    return kinds[0]


# --------------------------------------------------------------------------- node kinds


class NodeKind:
    """One node kind of the expression tree: its NumPy evaluation and its SQL rendering."""

    node: type

    def numpy(self, w: NumpyWalk, node: Any) -> Value:  # pragma: no cover - abstract
        raise NotImplementedError

    def sql(self, w: SqlWalk, node: Any) -> SqlValue:  # pragma: no cover - abstract
        raise NotImplementedError


class _Const(NodeKind):
    node = Const

    def numpy(self, w: NumpyWalk, node: Const) -> Value:
        return w.const(node.value)

    def sql(self, w: SqlWalk, node: Const) -> SqlValue:
        return w.const(node.value)


class _Name(NodeKind):
    node = Name

    def numpy(self, w: NumpyWalk, node: Name) -> Value:
        return w.name(node)

    def sql(self, w: SqlWalk, node: Name) -> SqlValue:
        return w.name(node)


class _ListLit(NodeKind):
    node = ListLit

    def numpy(self, w: NumpyWalk, node: ListLit) -> Value:
        raise w.fail("a list can only follow 'in'")

    def sql(self, w: SqlWalk, node: ListLit) -> SqlValue:
        raise w.fail("a list can only follow 'in'")


def _unary_arg(w: _Walk[Any], node: Unary, kind: str) -> None:
    if kind != "number":
        raise w.fail(f"'{node.op}' needs a number, not a {kind}")


class _Unary(NodeKind):
    node = Unary

    def numpy(self, w: NumpyWalk, node: Unary) -> Value:
        v = w.run(node.operand)
        _unary_arg(w, node, v.kind)
        return Value("number", -v.data if node.op == "-" else v.data)

    def sql(self, w: SqlWalk, node: Unary) -> SqlValue:
        v = w.run(node.operand)
        _unary_arg(w, node, v.kind)
        return SqlValue("number", f"(-({v.sql}))" if node.op == "-" else v.sql)


def _binary_kind(w: _Walk[Any], a: str, op: str, b: str) -> str:
    """The result kind of ``a op b``: numbers with numbers, date - date = days,
    date ± days = date, days + date = date."""
    if a == "number" and b == "number":
        return "number"
    if a == "date" and b == "date" and op == "-":
        return "number"
    if a == "date" and b == "number" and op in "+-":
        return "date"
    if a == "number" and b == "date" and op == "+":
        return "date"
    raise w.fail(f"cannot compute {a} {op} {b}")


class _Binary(NodeKind):
    node = Binary

    def numpy(self, w: NumpyWalk, node: Binary) -> Value:
        a, b = w.run(node.left), w.run(node.right)
        kind = _binary_kind(w, a.kind, node.op, b.kind)
        op = node.op
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if op == "+":
                out = a.data + b.data
            elif op == "-":
                out = a.data - b.data
            elif op == "*":
                out = a.data * b.data
            else:
                out = a.data / b.data
        if a.kind == "number" and b.kind == "number":
            out = np.where(np.isfinite(out), out, np.nan)
        return Value(kind, out)

    def sql(self, w: SqlWalk, node: Binary) -> SqlValue:
        a, b = w.run(node.left), w.run(node.right)
        kind = _binary_kind(w, a.kind, node.op, b.kind)
        if node.op == "/":
            # x/0 is missing in the evaluator (inf and NaN become NaN)
            return SqlValue(
                kind, f"(CASE WHEN ({b.sql}) = 0 THEN NULL ELSE ({a.sql}) / ({b.sql}) END)"
            )
        return SqlValue(kind, f"(({a.sql}) {node.op} ({b.sql}))")


def _compare_kinds(w: _Walk[Any], a: str, b: str, op: str) -> None:
    if a != b:
        raise w.fail(f"cannot compare a {a} with a {b}")
    if a == "text" and op not in ("==", "!="):
        raise w.fail(f"categories can only be compared with == or !=, not {op}")


class _Compare(NodeKind):
    """``==`` ``!=`` ``<`` ``<=`` ``>`` ``>=``; a quoted 'YYYY-MM-DD' stands for a date when
    compared with a date; a number or condition compared with a category is compared as
    its text (``grade == 3``)."""

    node = Compare

    def numpy(self, w: NumpyWalk, node: Compare) -> Value:
        a, b = w.run(node.left), w.run(node.right)
        if a.kind == "date" and b.kind == "text":
            b = w.text_as_date(b)
        elif a.kind == "text" and b.kind == "date":
            a = w.text_as_date(a)
        elif a.kind == "text" and b.kind == "number":
            b = _number_as_text(b)
        elif a.kind == "number" and b.kind == "text":
            a = _number_as_text(a)
        elif a.kind == "text" and b.kind == "bool":
            b = _bool_as_text(b)
        elif a.kind == "bool" and b.kind == "text":
            a = _bool_as_text(a)
        _compare_kinds(w, a.kind, b.kind, node.op)
        op = node.op
        miss = _missing_mask(a) | _missing_mask(b)
        known = not miss.any()
        if a.kind == "text":
            eq = np.asarray(a.data == b.data, dtype=bool)
            if not known:
                eq &= ~miss
            res = eq if op == "==" else ~eq
        else:
            x = a.data if known else np.where(miss, 0.0, a.data)
            y = b.data if known else np.where(miss, 0.0, b.data)
            res = {
                "==": x == y,
                "!=": x != y,
                "<": x < y,
                "<=": x <= y,
                ">": x > y,
                ">=": x >= y,
            }[op]
        if known:
            return Value("bool", res)
        return Value("bool", np.where(miss, np.nan, res.astype(float)))

    def sql(self, w: SqlWalk, node: Compare) -> SqlValue:
        a, b = w.run(node.left), w.run(node.right)
        if a.kind == "date" and b.kind == "text":
            b = w.text_as_date(b)
        elif a.kind == "text" and b.kind == "date":
            a = w.text_as_date(a)
        elif a.kind == "text" and b.kind in ("number", "bool"):
            b = w.as_text(b)
        elif a.kind in ("number", "bool") and b.kind == "text":
            a = w.as_text(a)
        _compare_kinds(w, a.kind, b.kind, node.op)
        sql_op = {"==": "=", "!=": "<>"}.get(node.op, node.op)
        return SqlValue("bool", f"(({a.sql}) {sql_op} ({b.sql}))")


class _InList(NodeKind):
    """``x in [..]`` / ``x not in [..]``: categories by their text, numbers by value;
    missing when ``x`` is."""

    node = InList

    def numpy(self, w: NumpyWalk, node: InList) -> Value:
        v = w.run(node.operand)
        items = [c.value for c in node.items.items]
        if v.kind == "text":
            wanted = {_const_text(x) for x in items}
            hit = np.array([x is not None and x in wanted for x in v.data], dtype=bool)
        elif v.kind in ("number", "bool"):
            nums = [float(x) for x in items if isinstance(x, int | float)]
            hit = np.isin(v.data, nums)
        else:
            raise w.fail("'in' works with categories and numbers, not dates")
        res = ~hit if node.negate else hit
        miss = _missing_mask(v)
        if not miss.any():
            return Value("bool", res)
        return Value("bool", np.where(miss, np.nan, res.astype(float)))

    def sql(self, w: SqlWalk, node: InList) -> SqlValue:
        v = w.run(node.operand)
        items = [c.value for c in node.items.items]
        neg = "NOT " if node.negate else ""
        if v.kind == "text":
            wanted = list(dict.fromkeys(_const_text(x) for x in items))
            if not wanted:
                hit = "FALSE"
            else:
                hit = f"({v.sql}) IN ({', '.join(str_lit(t, w.dialect) for t in wanted)})"
        elif v.kind in ("number", "bool"):
            nums = [float(x) for x in items if isinstance(x, int | float)]
            x = v.sql if v.kind == "number" else f"CAST(({v.sql}) AS DOUBLE)"
            hit = f"({x}) IN ({', '.join(num_lit(n) for n in nums)})" if nums else "FALSE"
        else:
            raise w.fail("'in' works with categories and numbers, not dates")
        return SqlValue("bool", f"(CASE WHEN ({v.sql}) IS NULL THEN NULL ELSE {neg}({hit}) END)")


class _IsMissing(NodeKind):
    node = IsMissing

    def numpy(self, w: NumpyWalk, node: IsMissing) -> Value:
        miss = _missing_mask(w.run(node.operand))
        return Value("bool", ~miss if node.negate else miss.copy())

    def sql(self, w: SqlWalk, node: IsMissing) -> SqlValue:
        v = w.run(node.operand)
        return SqlValue("bool", f"(({v.sql}) IS {'NOT ' if node.negate else ''}NULL)")


class _Not(NodeKind):
    node = Not

    def numpy(self, w: NumpyWalk, node: Not) -> Value:
        v = w.bool_arg(w.run(node.operand), "not")
        if v.data.dtype == bool:
            return Value("bool", ~v.data)
        return Value("bool", np.where(np.isnan(v.data), np.nan, 1.0 - v.data))

    def sql(self, w: SqlWalk, node: Not) -> SqlValue:
        v = w.bool_arg(w.run(node.operand), "not")
        return SqlValue("bool", f"(NOT ({v.sql}))")


class _BoolOp(NodeKind):
    node = BoolOp

    def numpy(self, w: NumpyWalk, node: BoolOp) -> Value:
        values = [w.bool_arg(w.run(x), node.op) for x in node.values]
        if all(v.data.dtype == bool for v in values):
            # no unknown operand: two-valued logic
            combine = np.logical_and if node.op == "and" else np.logical_or
            if len(values) == 1:
                return Value("bool", values[0].data)
            acc = combine(values[0].data, values[1].data)
            for v in values[2:]:
                combine(acc, v.data, out=acc)
            return Value("bool", acc)
        acc = values[0].data
        for v in values[1:]:
            acc = _kleene(acc, v.data, node.op)
        return Value("bool", acc)

    def sql(self, w: SqlWalk, node: BoolOp) -> SqlValue:
        values = [w.bool_arg(w.run(x), node.op) for x in node.values]
        joiner = " AND " if node.op == "and" else " OR "
        return SqlValue("bool", "(" + joiner.join(f"({v.sql})" for v in values) + ")")


class _Null(NodeKind):
    node = Null

    def numpy(self, w: NumpyWalk, node: Null) -> Value:
        if node.kind == "text":
            return Value("text", np.full(w.n, None, dtype=object))
        return Value(node.kind, constant(w.n, np.nan, float))

    def sql(self, w: SqlWalk, node: Null) -> SqlValue:
        return SqlValue(node.kind, w.null(node.kind))


class _Case(NodeKind):
    node = Case

    def numpy(self, w: NumpyWalk, node: Case) -> Value:
        conds = [w.bool_arg(w.run(c), "case") for c, _ in node.branches]
        values = [w.run(v) for _, v in node.branches]
        default = w.run(node.default)
        kind = _same_kind(w, "a case", [v.kind for v in (*values, default)])
        out = default.data
        # the first true branch wins: apply them from the last to the first
        for c, v in zip(reversed(conds), reversed(values), strict=True):
            out = np.where(c.data == 1, v.data, out)
        return Value(kind, out)

    def sql(self, w: SqlWalk, node: Case) -> SqlValue:
        conds = [w.bool_arg(w.run(c), "case") for c, _ in node.branches]
        values = [w.run(v) for _, v in node.branches]
        default = w.run(node.default)
        kind = _same_kind(w, "a case", [v.kind for v in (*values, default)])
        whens = " ".join(f"WHEN {c.sql} THEN {v.sql}" for c, v in zip(conds, values, strict=True))
        return SqlValue(kind, f"(CASE {whens} ELSE {default.sql} END)")


# --------------------------------------------------------------------------- functions


@dataclass(frozen=True)
class FunctionKind:
    """One function of the expression language: its result kind and both renderings.

    ``kind(walk, node, arg_kinds)`` returns the result kind or raises the type error;
    ``numpy(walk, node, args)`` and ``sql(walk, node, args)`` compute it (``args`` are the
    evaluated arguments; ``node`` gives constant arguments such as ``round``'s digits).
    ``domain`` (optional) is ``(op, bound)``: argument 1 ``op bound`` is outside the
    function's domain, where the result is missing and the plan reports the rows.
    """

    name: str
    kind: Callable[[_Walk[Any], Call, list[str]], str]
    numpy: Callable[[NumpyWalk, Call, list[Value]], np.ndarray]
    sql: Callable[[SqlWalk, Call, list[SqlValue]], str]
    domain: tuple[str, float] | None = None
    describe: str = ""


class _Call(NodeKind):
    node = Call

    def numpy(self, w: NumpyWalk, node: Call) -> Value:
        fk = FUNCTION_KINDS[node.func]
        args = [] if node.func == "date" else [w.run(a) for a in node.args]
        kind = fk.kind(w, node, [a.kind for a in args])
        return Value(kind, fk.numpy(w, node, args))

    def sql(self, w: SqlWalk, node: Call) -> SqlValue:
        fk = FUNCTION_KINDS[node.func]
        args = [] if node.func == "date" else [w.run(a) for a in node.args]
        kind = fk.kind(w, node, [a.kind for a in args])
        return SqlValue(kind, fk.sql(w, node, args))


def _one_number(name: str) -> Callable[[_Walk[Any], Call, list[str]], str]:
    def kind(w: _Walk[Any], node: Call, kinds: list[str]) -> str:
        if kinds[0] != "number":
            raise w.fail(f"{name}() needs a number")
        return "number"

    return kind


def _between_kind(w: _Walk[Any], node: Call, kinds: list[str]) -> str:
    if kinds[0] != "date" or kinds[1] != "date":
        raise w.fail(f"{node.func}() needs two dates, got {kinds[0]} and {kinds[1]}")
    return "number"


def _date_day(node: Call) -> float:
    arg = node.args[0]
    assert isinstance(arg, Const)
    return date_to_days(_dt.date.fromisoformat(str(arg.value)))


def _minmax_kind(w: _Walk[Any], node: Call, kinds: list[str]) -> str:
    if len(set(kinds)) != 1 or set(kinds) & {"text", "bool"}:
        raise w.fail(f"{node.func}() needs numbers or dates of one kind")
    return kinds[0]


def _minmax_numpy(w: NumpyWalk, node: Call, args: list[Value]) -> np.ndarray:
    stack = np.vstack([a.data for a in args])
    all_missing = np.isnan(stack).all(axis=0)
    low = node.func == "min"
    filled = np.where(np.isnan(stack), np.inf if low else -np.inf, stack)
    out = filled.min(axis=0) if low else filled.max(axis=0)
    return np.where(all_missing, np.nan, out)


def _minmax_sql(w: SqlWalk, node: Call, args: list[SqlValue]) -> str:
    # least/greatest skip NULLs in DuckDB and Spark: missing only when all are
    fn = "least" if node.func == "min" else "greatest"
    return f"{fn}({', '.join(a.sql for a in args)})"


def _if_else_kind(w: _Walk[Any], node: Call, kinds: list[str]) -> str:
    if kinds[0] != "bool":
        raise w.fail(f"if_else() needs a condition first, not a {kinds[0]}")
    if kinds[1] != kinds[2]:
        raise w.fail(f"if_else() needs two values of one kind, got {kinds[1]} and {kinds[2]}")
    return kinds[1]


def _if_else_numpy(w: NumpyWalk, node: Call, args: list[Value]) -> np.ndarray:
    c, a, b = args
    missing: Any = None if a.kind == "text" else np.nan
    return np.where(np.isnan(c.data), missing, np.where(c.data == 1, a.data, b.data))


def _if_else_sql(w: SqlWalk, node: Call, args: list[SqlValue]) -> str:
    c, a, b = args
    return (
        f"(CASE WHEN ({c.sql}) IS NULL THEN NULL WHEN ({c.sql}) THEN ({a.sql}) ELSE ({b.sql}) END)"
    )


def _coalesce_kind(w: _Walk[Any], node: Call, kinds: list[str]) -> str:
    if len(set(kinds)) != 1:
        raise w.fail(f"coalesce() needs values of one kind, got {', '.join(kinds)}")
    return kinds[0]


def _coalesce_numpy(w: NumpyWalk, node: Call, args: list[Value]) -> np.ndarray:
    out = args[-1].data
    for a in reversed(args[:-1]):
        out = np.where(_missing_mask(a), out, a.data)
    return out


def _math(
    name: str, fn: Callable[[np.ndarray], np.ndarray], sql_fn: str, domain: tuple[str, float] | None
) -> FunctionKind:
    """A function of one number, missing outside its domain (``domain``: argument op bound)."""

    def numpy(w: NumpyWalk, node: Call, args: list[Value]) -> np.ndarray:
        x = args[0].data
        ok = ~np.isnan(x)
        if domain is not None:
            ok &= ~_OPS[domain[0]](np.where(ok, x, 0.0), domain[1])
        out = np.full(len(x), np.nan)
        with np.errstate(over="ignore"):
            out[ok] = fn(x[ok])
        return np.where(np.isfinite(out), out, np.nan)

    def sql(w: SqlWalk, node: Call, args: list[SqlValue]) -> str:
        x = args[0].sql
        call = sql_fn.format(x=f"({x})")
        if domain is None:
            return f"(CASE WHEN ({x}) > {num_lit(_EXP_MAX)} THEN NULL ELSE {call} END)"
        op, bound = domain
        return f"(CASE WHEN ({x}) {op} {num_lit(bound)} THEN NULL ELSE {call} END)"

    return FunctionKind(name, _one_number(name), numpy, sql, domain)


_OPS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "<=": lambda x, b: np.asarray(x <= b),
    "<": lambda x, b: np.asarray(x < b),
}
# exp(x) overflows a double beyond this: missing, as any non-finite number is
_EXP_MAX = 709.782712893384


def _round_digits(w: _Walk[Any], node: Call) -> int:
    if len(node.args) < 2:
        return 0
    arg = node.args[1]
    if isinstance(arg, Unary) and isinstance(arg.operand, Const) and arg.op == "-":
        value: Any = -arg.operand.value if not isinstance(arg.operand.value, str) else None
    else:
        value = arg.value if isinstance(arg, Const) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or float(value) != int(value):
        raise w.fail("round() takes a whole number of digits, e.g. round(x, 1)")
    if not -15 <= int(value) <= 15:
        raise w.fail("round() takes between -15 and 15 digits")
    return int(value)


def _round_kind(w: _Walk[Any], node: Call, kinds: list[str]) -> str:
    if kinds[0] != "number":
        raise w.fail("round() needs a number")
    _round_digits(w, node)
    return "number"


def _round_numpy(w: NumpyWalk, node: Call, args: list[Value]) -> np.ndarray:
    d = _round_digits(w, node)
    x = args[0].data
    scale = 10.0 ** abs(d)
    a = np.abs(x)
    out = np.floor(a * scale + 0.5) / scale if d >= 0 else np.floor(a / scale + 0.5) * scale
    return np.sign(x) * out + 0.0  # + 0.0: no negative zero


def _round_sql(w: SqlWalk, node: Call, args: list[SqlValue]) -> str:
    d = _round_digits(w, node)
    x = args[0].sql
    s = num_lit(10.0 ** abs(d))
    if d >= 0:
        body = f"CAST(floor(abs({x}) * {s} + {num_lit(0.5)}) AS DOUBLE) / {s}"
    else:
        body = f"CAST(floor(abs({x}) / {s} + {num_lit(0.5)}) AS DOUBLE) * {s}"
    return f"(CAST(sign({x}) AS DOUBLE) * ({body}) + {num_lit(0.0)})"


FUNCTION_KINDS: dict[str, FunctionKind] = {
    f.name: f
    for f in [
        FunctionKind(
            "date",
            lambda w, node, kinds: "date",
            lambda w, node, args: constant(w.n, _date_day(node), float),
            lambda w, node, args: num_lit(_date_day(node)),
            describe='date("YYYY-MM-DD"): a date',
        ),
        *(
            FunctionKind(
                f"{unit}_between",
                _between_kind,
                lambda w, node, args: (args[1].data - args[0].data) / w.per_unit(node.func),
                lambda w, node, args: (
                    f"((({args[1].sql}) - ({args[0].sql})) / {num_lit(w.per_unit(node.func))})"
                ),
                describe=f"{unit}_between(a, b): b - a in {unit}",
            )
            for unit in ("days", "weeks", "months", "years")
        ),
        FunctionKind(
            "missing",
            lambda w, node, kinds: "bool",
            lambda w, node, args: _missing_mask(args[0]).copy(),
            lambda w, node, args: f"(({args[0].sql}) IS NULL)",
        ),
        FunctionKind(
            "abs",
            _one_number("abs"),
            lambda w, node, args: np.abs(args[0].data),
            lambda w, node, args: f"abs({args[0].sql})",
        ),
        # completed units, e.g. age in completed years: floor(years_between(birth, dx));
        # Spark's floor and ceil give a BIGINT
        FunctionKind(
            "floor",
            _one_number("floor"),
            lambda w, node, args: np.floor(args[0].data),
            lambda w, node, args: f"CAST(floor({args[0].sql}) AS DOUBLE)",
        ),
        FunctionKind(
            "ceil",
            _one_number("ceil"),
            lambda w, node, args: np.ceil(args[0].data),
            lambda w, node, args: f"CAST(ceil({args[0].sql}) AS DOUBLE)",
        ),
        FunctionKind("min", _minmax_kind, _minmax_numpy, _minmax_sql),
        FunctionKind("max", _minmax_kind, _minmax_numpy, _minmax_sql),
        FunctionKind("if_else", _if_else_kind, _if_else_numpy, _if_else_sql),
        FunctionKind(
            "coalesce",
            _coalesce_kind,
            _coalesce_numpy,
            lambda w, node, args: f"coalesce({', '.join(a.sql for a in args)})",
        ),
        _math("log", np.log, "ln({x})", ("<=", 0.0)),
        _math("log10", np.log10, "log10({x})", ("<=", 0.0)),
        _math("sqrt", np.sqrt, "sqrt({x})", ("<", 0.0)),
        _math("exp", np.exp, "exp({x})", None),
        FunctionKind("round", _round_kind, _round_numpy, _round_sql),
    ]
}


NODE_KINDS: dict[type, NodeKind] = {
    k.node: k
    for k in (
        _Const(),
        _Name(),
        _ListLit(),
        _Unary(),
        _Binary(),
        _Compare(),
        _InList(),
        _IsMissing(),
        _Not(),
        _BoolOp(),
        _Call(),
        _Null(),
        _Case(),
    )
}


@dataclass(frozen=True)
class DomainCondition:
    """Where a function of an expression gets a value outside its domain: the function, the
    condition over the expression's names (true on such rows) and the argument's text."""

    function: str
    condition: PlanNode


def domain_conditions(expr: Expression) -> list[DomainCondition]:
    """The domain rules of the functions ``expr`` calls (``log(x)``: ``x <= 0``), in the
    order they appear, each as a condition over the expression's own names."""
    out: list[DomainCondition] = []

    def visit(node: Node) -> None:
        if isinstance(node, Call):
            fk = FUNCTION_KINDS.get(node.func)
            if fk is not None and fk.domain is not None:
                op, bound = fk.domain
                out.append(DomainCondition(fk.name, Compare(op, node.args[0], Const(bound))))
        for child in _children(node):
            visit(child)

    visit(expr.tree)
    return out


def _children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, Unary | Not | IsMissing):
        return (node.operand,)
    if isinstance(node, Binary | Compare):
        return (node.left, node.right)
    if isinstance(node, InList):
        return (node.operand,)
    if isinstance(node, BoolOp):
        return node.values
    if isinstance(node, Call):
        return node.args
    return ()


def evaluate(
    expr: Expression,
    env: Mapping[str, Value],
    n: int,
    *,
    days_per_month: float = 30.4375,
    days_per_year: float = 365.25,
) -> Value:
    """Evaluate ``expr`` for ``n`` patients; ``env`` maps every name it uses to a :class:`Value`."""
    return NumpyWalk(expr.text, env, n, days_per_month, days_per_year).run(expr.tree)


def evaluate_node(
    node: PlanNode,
    env: Mapping[str, Value],
    n: int,
    *,
    text: str = "",
    days_per_month: float = 30.4375,
    days_per_year: float = 365.25,
) -> Value:
    """Evaluate a plan rule's tree (``text`` names it in type errors)."""
    return NumpyWalk(text, env, n, days_per_month, days_per_year).run(node)


def translate(
    expr: Expression,
    env: Mapping[str, SqlValue],
    *,
    dialect: str,
    days_per_month: float = 30.4375,
    days_per_year: float = 365.25,
) -> SqlValue:
    """``expr`` as SQL over the columns of ``env`` (name -> :class:`SqlValue`)."""
    return SqlWalk(expr.text, env, dialect, days_per_month, days_per_year).run(expr.tree)


def translate_node(
    node: PlanNode,
    env: Mapping[str, SqlValue],
    *,
    dialect: str,
    text: str = "",
    days_per_month: float = 30.4375,
    days_per_year: float = 365.25,
) -> SqlValue:
    """A plan rule's tree as SQL."""
    return SqlWalk(text, env, dialect, days_per_month, days_per_year).run(node)


@dataclass(frozen=True)
class Cell:
    """A raw cell of a data column: its SQL and kind (num, int, bool, text, date)."""

    sql: str
    kind: str
    column: str
    raw: bool = False  # a data column (its match keys are computed once, in ss_keys)

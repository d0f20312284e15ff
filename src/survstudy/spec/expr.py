"""The safe expression language of the study spec (derived variables, criteria, conditions).

An expression is parsed by Python's :mod:`ast` parser and then *translated* into a
small tree of our own node types, accepting only a whitelist of constructs; the
tree is evaluated by the data layer (``survstudy.data.expressions``) over columns.
Nothing is ever passed to ``eval``/``exec``; attribute access, subscripts,
lambdas, comprehensions, keyword arguments and unknown functions are rejected.

Grammar (informally)::

    expr     := expr 'or' expr | expr 'and' expr | 'not' expr
              | sum (cmp sum)*                    # == != < <= > >=, chained as in Python
              | sum ['not'] 'in' '[' literal, ... ']'
              | sum 'is' ['not'] 'missing'
    sum      := sum ('+'|'-') term | term ; term := term ('*'|'/') unary ; unary := '-' unary | atom
    atom     := number | "string" | true | false | name | func '(' expr, ... ')' | '(' expr ')'

Functions: ``date("2011-01-31")``, ``days_between(a, b)``, ``weeks_between(a, b)``,
``months_between(a, b)``, ``years_between(a, b)`` (all *b − a*, months and years
with the spec's ``units.days_per_month``/``days_per_year``), ``missing(x)``,
``min(a, b, …)``, ``max(a, b, …)``, ``abs(x)``, ``floor(x)``, ``ceil(x)``, ``round(x)`` /
``round(x, digits)`` (half away from zero), ``log(x)`` (natural), ``log10(x)``, ``exp(x)``,
``sqrt(x)``, ``if_else(condition, a, b)`` (missing where the condition is),
``coalesce(a, b, …)`` (the first that is not missing). Subtracting two dates gives days.

Missing values follow three-valued (Kleene) logic: a comparison with a missing
operand is missing; ``missing or true`` is true; ``missing and false`` is false.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "FUNCTIONS",
    "Binary",
    "BoolOp",
    "Call",
    "Compare",
    "Const",
    "Expression",
    "InList",
    "IsMissing",
    "ListLit",
    "Name",
    "Node",
    "Not",
    "Unary",
    "parse_expression",
]

#: function name -> (minimum, maximum) number of arguments (``None`` = unbounded)
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "date": (1, 1),
    "days_between": (2, 2),
    "weeks_between": (2, 2),
    "months_between": (2, 2),
    "years_between": (2, 2),
    "missing": (1, 1),
    "min": (2, None),
    "max": (2, None),
    "abs": (1, 1),
    "floor": (1, 1),
    "ceil": (1, 1),
    "round": (1, 2),
    "log": (1, 1),
    "log10": (1, 1),
    "exp": (1, 1),
    "sqrt": (1, 1),
    "if_else": (3, 3),
    "coalesce": (2, None),
}


@dataclass(frozen=True)
class Const:
    value: float | int | str | bool


@dataclass(frozen=True)
class Name:
    id: str


@dataclass(frozen=True)
class ListLit:
    items: tuple[Const, ...]


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "+"
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str  # + - * /
    left: Node
    right: Node


@dataclass(frozen=True)
class Compare:
    op: str  # == != < <= > >=
    left: Node
    right: Node


@dataclass(frozen=True)
class InList:
    operand: Node
    items: ListLit
    negate: bool


@dataclass(frozen=True)
class IsMissing:
    operand: Node
    negate: bool


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    values: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Node, ...]


Node = Const | Name | ListLit | Unary | Binary | Compare | InList | IsMissing | BoolOp | Not | Call


@dataclass(frozen=True)
class Expression:
    """A parsed, whitelisted expression: the source text, the tree and the names it uses."""

    text: str
    tree: Node
    names: frozenset[str]


_BINOPS: dict[type, str] = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_CMPOPS: dict[type, str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
}
_MISSING_RE = re.compile(r"\bis(\s+not)?\s+missing\b")
_MAX_LENGTH = 2000


def _string_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of string literals, so that ``is missing`` inside quotes is left alone."""
    spans: list[tuple[int, int]] = []
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.STRING:
                start = offsets[tok.start[0] - 1] + tok.start[1]
                end = offsets[tok.end[0] - 1] + tok.end[1]
                spans.append((start, end))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # the parser below reports the real syntax error
    return spans


def _rewrite_missing(text: str) -> str:
    spans = _string_spans(text)

    def repl(match: re.Match[str]) -> str:
        if any(a <= match.start() < b for a, b in spans):
            return match.group(0)
        return "is not None" if match.group(1) else "is None"

    return _MISSING_RE.sub(repl, text)


class _Translator:
    def __init__(self, text: str) -> None:
        self.text = text
        self.names: set[str] = set()

    def fail(self, what: str) -> ValueError:
        return ValueError(f"{what} is not allowed in an expression: '{self.text}'")

    def node(self, n: ast.AST) -> Node:
        if isinstance(n, ast.Constant):
            if isinstance(n.value, bool | int | float | str) and n.value is not None:
                return Const(n.value)
            raise self.fail(f"the constant {n.value!r}")
        if isinstance(n, ast.Name):
            if n.id in ("true", "True"):
                return Const(True)
            if n.id in ("false", "False"):
                return Const(False)
            if n.id in FUNCTIONS:
                raise ValueError(f"'{n.id}' is a function; call it as {n.id}(...) in '{self.text}'")
            self.names.add(n.id)
            return Name(n.id)
        if isinstance(n, ast.List | ast.Tuple):
            items = []
            for elt in n.elts:
                item = self.node(elt)
                if isinstance(item, Unary) and isinstance(item.operand, Const):
                    value = item.operand.value
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        item = Const(-value if item.op == "-" else value)
                if not isinstance(item, Const):
                    raise ValueError(
                        f"a list may hold only numbers, strings, true or false: '{self.text}'"
                    )
                items.append(item)
            return ListLit(tuple(items))
        if isinstance(n, ast.UnaryOp):
            if isinstance(n.op, ast.Not):
                return Not(self.node(n.operand))
            if isinstance(n.op, ast.USub | ast.UAdd):
                return Unary("-" if isinstance(n.op, ast.USub) else "+", self.node(n.operand))
            raise self.fail("the operator '~'")
        if isinstance(n, ast.BinOp):
            op = _BINOPS.get(type(n.op))
            if op is None:
                raise self.fail(f"the operator {type(n.op).__name__}")
            return Binary(op, self.node(n.left), self.node(n.right))
        if isinstance(n, ast.BoolOp):
            return BoolOp(
                "and" if isinstance(n.op, ast.And) else "or", tuple(self.node(v) for v in n.values)
            )
        if isinstance(n, ast.Compare):
            return self.compare(n)
        if isinstance(n, ast.Call):
            known = ", ".join(sorted(FUNCTIONS))
            if not isinstance(n.func, ast.Name) or n.func.id not in FUNCTIONS:
                name = ast.unparse(n.func)
                raise ValueError(
                    f"'{name}' is not a function that expressions may call, in '{self.text}' "
                    f"(allowed: {known})"
                )
            if n.keywords:
                raise self.fail("a keyword argument")
            lo, hi = FUNCTIONS[n.func.id]
            if len(n.args) < lo or (hi is not None and len(n.args) > hi):
                want = str(lo) if lo == hi else f"at least {lo}"
                raise ValueError(
                    f"{n.func.id}() takes {want} argument(s), got {len(n.args)} in '{self.text}'"
                )
            args = tuple(self.node(a) for a in n.args)
            if n.func.id == "date":
                arg = args[0]
                if not isinstance(arg, Const) or not isinstance(arg.value, str):
                    raise ValueError(f"date() takes a quoted \"YYYY-MM-DD\" text in '{self.text}'")
                _check_iso_date(arg.value, self.text)
            return Call(n.func.id, args)
        if isinstance(n, ast.Attribute):
            raise self.fail("attribute access ('.')")
        if isinstance(n, ast.Subscript):
            raise self.fail("indexing ('[...]' after a name)")
        raise self.fail(f"'{type(n).__name__}'")

    def compare(self, n: ast.Compare) -> Node:
        parts: list[Node] = []
        left_ast = n.left
        left = self.node(left_ast)
        for op, right_ast in zip(n.ops, n.comparators, strict=True):
            if isinstance(op, ast.Is | ast.IsNot):
                if not (isinstance(right_ast, ast.Constant) and right_ast.value is None):
                    raise ValueError(f"'is' must be followed by 'missing' in '{self.text}'")
                parts.append(IsMissing(left, negate=isinstance(op, ast.IsNot)))
                continue
            if isinstance(op, ast.In | ast.NotIn):
                items = self.node(right_ast)
                if not isinstance(items, ListLit):
                    raise ValueError(f"'in' must be followed by a list [..] in '{self.text}'")
                parts.append(InList(left, items, negate=isinstance(op, ast.NotIn)))
                continue
            sym = _CMPOPS.get(type(op))
            if sym is None:  # pragma: no cover - all comparison operators are covered above
                raise self.fail(f"the comparison {type(op).__name__}")
            right = self.node(right_ast)
            parts.append(Compare(sym, left, right))
            left = right
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))


def _check_iso_date(value: str, text: str) -> None:
    import datetime as _dt

    try:
        _dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"date() needs a YYYY-MM-DD date, got '{value}' in '{text}'") from None


@lru_cache(maxsize=1024)
def parse_expression(text: str) -> Expression:
    """Parse ``text`` into a whitelisted :class:`Expression`; raise ``ValueError`` if not allowed.

    The ``ValueError`` message is meant for the user (the spec loader wraps it in a
    :class:`~survstudy.errors.SpecError` naming the YAML line and key).
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("an expression must be a non-empty text")
    if len(text) > _MAX_LENGTH:
        raise ValueError(f"an expression may be at most {_MAX_LENGTH} characters long")
    source = _rewrite_missing(text.strip())
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"cannot parse the expression '{text}': {exc.msg}") from None
    translator = _Translator(text)
    node = translator.node(tree.body)
    return Expression(text=text, tree=node, names=frozenset(translator.names))

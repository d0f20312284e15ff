"""Every node kind and function of the expression language, evaluated in NumPy and in SQL.

Kind of truth: naive oracle, both ways. Each entry of
:data:`survstudy.data.expressions.NODE_KINDS` and :data:`FUNCTION_KINDS` holds its NumPy
evaluation and its SQL rendering side by side; here both run on the same seeded random
table (numbers, dates, categories and conditions, each with missing values) and must give
the same values and the same missing cells: numbers to 4 units in the last place (the
functions of libm and NumPy's own loops may round the last bit differently), everything
else exactly. A few values are also checked by hand (``round`` half away from zero).
Every registry entry must have examples here, so that a new entry cannot skip its test.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from survstudy.data.expressions import (
    FUNCTION_KINDS,
    NODE_KINDS,
    Case,
    ExpressionTypeError,
    Null,
    SqlValue,
    Value,
    evaluate,
    evaluate_node,
    translate,
    translate_node,
)
from survstudy.spec import parse_expression
from survstudy.spec.expr import BoolOp, Compare, Const, IsMissing, Name

duckdb = pytest.importorskip("duckdb", reason="the duckdb extra is not installed")

N = 400
KINDS = {"x": "number", "y": "number", "z": "number", "d1": "date", "d2": "date"}
KINDS |= {"g": "text", "h": "text", "b": "bool", "c": "bool"}

#: per registry entry, expressions that exercise it (several kinds of operands)
EXAMPLES: dict[str, list[str]] = {
    "Const": ["1.5", '"a"', "true", "false", "-3"],
    "Name": ["x", "d1", "g", "b"],
    "Unary": ["-x", "+y", "-(x - y)"],
    "Binary": ["x + y", "x - y", "x * y", "x / y", "x / (y - y)", "d2 - d1", "d1 + 30", "7 + d1"],
    "Compare": [
        "x < y",
        "x <= 0",
        "x == y",
        "x != 1",
        "x > y",
        "x >= 0.5",
        "d1 <= d2",
        'd1 < "2012-06-01"',
        'g == "B"',
        'g != "A"',
        "g == 3",
        "g == h",
        "b == true",
    ],
    "InList": ['g in ["A", "C"]', 'g not in ["B"]', "x in [1, 2, 3]", "z not in [0, 1]"],
    "IsMissing": ["x is missing", "g is not missing", "d1 is missing"],
    "Not": ["not b", "not (x > 0)"],
    "BoolOp": ["b and c", "b or c", "b and c or x > 0", "x > 0 and y > 0 and not c"],
    "ListLit": [],  # only after 'in' (InList); alone it is a type error (test below)
    "Call": ["min(x, y)"],
    "Null": [],  # plan rules only: test_internal_nodes
    "Case": [],
    "date": ['date("2011-01-31")', 'd1 - date("2010-01-01")'],
    "days_between": ["days_between(d1, d2)"],
    "weeks_between": ["weeks_between(d1, d2)"],
    "months_between": ["months_between(d1, d2)"],
    "years_between": ["years_between(d1, d2)"],
    "missing": ["missing(x)", "missing(g)"],
    "abs": ["abs(x)"],
    "floor": ["floor(x * 10)", "floor(years_between(d1, d2))"],
    "ceil": ["ceil(x * 10)"],
    "min": ["min(x, y)", "min(x, y, z)", "min(d1, d2)"],
    "max": ["max(x, y)", "max(d1, d2)"],
    "if_else": ["if_else(b, x, y)", 'if_else(x > 0, "pos", "neg")', "if_else(c, d1, d2)"],
    "coalesce": ["coalesce(x, y)", "coalesce(x, y, z)", "coalesce(g, h)", "coalesce(d1, d2)"],
    "log": ["log(x)", "log(x * x + 1)"],
    "log10": ["log10(y)"],
    "exp": ["exp(x)", "exp(x * 300)"],
    "sqrt": ["sqrt(y)"],
    "round": ["round(x * 10)", "round(x, 2)", "round(x * 1000, -1)", "round(z)"],
}


def _data(seed: int = 11) -> dict[str, Value]:
    rng = np.random.default_rng(seed)

    def holes(a: np.ndarray, p: float = 0.15) -> np.ndarray:
        a = a.astype(float)
        a[rng.random(N) < p] = np.nan
        return a

    x = holes(rng.normal(0, 2, N))
    y = holes(rng.normal(1, 2, N))
    z = holes(rng.integers(-2, 3, N) + 0.5 * rng.integers(0, 2, N))  # halves: round's ties
    d1 = holes(rng.integers(14000, 16000, N).astype(float))
    d2 = holes(d1 + rng.integers(-100, 2000, N))
    g = np.array(["A", "B", "C", "3", None], dtype=object)[rng.integers(0, 5, N)]
    h = np.array(["A", "B", None], dtype=object)[rng.integers(0, 3, N)]
    b = holes((rng.random(N) < 0.5).astype(float))
    c = holes((rng.random(N) < 0.3).astype(float))
    arrays = {"x": x, "y": y, "z": z, "d1": d1, "d2": d2, "g": g, "h": h, "b": b, "c": c}
    return {k: Value(KINDS[k], v) for k, v in arrays.items()}


@pytest.fixture(scope="module")
def table() -> Iterator[tuple[Any, dict[str, Value]]]:
    import pyarrow as pa

    env = _data()
    cols: dict[str, Any] = {"i": pa.array(np.arange(N))}
    for k, v in env.items():
        if v.kind == "text":
            cols[k] = pa.array(v.data.tolist(), type=pa.string())
        elif v.kind == "bool":
            cols[k] = pa.array(v.data == 1, mask=np.isnan(v.data), type=pa.bool_())
        else:
            cols[k] = pa.array(v.data, mask=np.isnan(v.data), type=pa.float64())
    con = duckdb.connect()
    con.register("t", pa.table(cols))
    yield con, env
    con.close()


def _sql_env() -> dict[str, SqlValue]:
    return {k: SqlValue(kind, f'"{k}"') for k, kind in KINDS.items()}


def _run_sql(con: Any, sql: str) -> list[Any]:
    return [r[0] for r in con.execute(f"SELECT {sql} FROM t ORDER BY i").fetchall()]


def _assert_same(mem: Value, sql_rows: list[Any], kind: str, what: str) -> None:
    assert mem.kind == kind, what
    if kind == "text":
        assert mem.data.tolist() == sql_rows, what
        return
    got = np.array([np.nan if v is None else float(v) for v in sql_rows])
    want = np.asarray(mem.data, dtype=float)
    assert np.array_equal(np.isnan(got), np.isnan(want)), what
    ok = ~np.isnan(want)
    if kind == "number":
        # 4 ulp: libm (DuckDB) and NumPy's loops may round the last bit of log/exp differently
        np.testing.assert_allclose(got[ok], want[ok], rtol=4 * 2.0**-52, atol=0, err_msg=what)
    else:
        assert np.array_equal(got[ok], want[ok]), what


def _entry_of(text: str) -> set[str]:
    names = {type(n).__name__ for n in _nodes(parse_expression(text).tree)}
    return names | {n.func for n in _nodes(parse_expression(text).tree) if hasattr(n, "func")}


def _nodes(node: Any) -> Iterator[Any]:
    yield node
    for attr in ("operand", "left", "right"):
        if hasattr(node, attr):
            yield from _nodes(getattr(node, attr))
    for attr in ("values", "args"):
        for child in getattr(node, attr, ()):
            yield from _nodes(child)


CASES = [(entry, text) for entry, texts in EXAMPLES.items() for text in texts]


def test_every_entry_has_examples() -> None:
    """Identity: the registries and this test's examples name the same entries, and each
    example exercises its entry."""
    entries = {k.__name__ for k in NODE_KINDS} | set(FUNCTION_KINDS)
    assert set(EXAMPLES) == entries
    for entry, text in CASES:
        assert entry in _entry_of(text), (entry, text)
    from survstudy.spec.expr import FUNCTIONS

    assert set(FUNCTIONS) == set(FUNCTION_KINDS)


@pytest.mark.parametrize(("entry", "text"), CASES, ids=[f"{e}:{t}" for e, t in CASES])
def test_numpy_equals_sql(table: tuple[Any, dict[str, Value]], entry: str, text: str) -> None:
    """Naive oracle both ways: the NumPy evaluation equals the SQL rendering run by DuckDB."""
    con, env = table
    expr = parse_expression(text)
    mem = evaluate(expr, env, N)
    sql = translate(expr, _sql_env(), dialect="duckdb")
    assert sql.kind == mem.kind
    _assert_same(mem, _run_sql(con, sql.sql), mem.kind, text)


def test_internal_nodes(table: tuple[Any, dict[str, Value]]) -> None:
    """Naive oracle both ways: the plan's Case (first true branch; a missing condition is not
    true) and typed Null nodes."""
    con, env = table
    x, y = Name("x"), Name("y")
    node = Case(
        (
            (IsMissing(x, False), Null("number")),
            (BoolOp("and", (Compare(">", y, Const(0)), Name("b"))), y),  # may be missing
            (Compare(">", x, y), x),
        ),
        Const(-1.0),
    )
    mem = evaluate_node(node, env, N)
    sql = translate_node(node, _sql_env(), dialect="duckdb")
    _assert_same(mem, _run_sql(con, sql.sql), "number", "case")
    text_case = Case(((Name("b"), Name("g")),), Null("text"))
    mem = evaluate_node(text_case, env, N)
    sql = translate_node(text_case, _sql_env(), dialect="duckdb")
    _assert_same(mem, _run_sql(con, sql.sql), "text", "text case")


def test_round_half_away_from_zero() -> None:
    """Hand calculation: halves round away from zero; digits to the right and left."""
    env = {"v": Value("number", np.array([2.5, -2.5, 0.5, -0.4, 1.25, 1234.0, np.nan]))}

    def r(text: str) -> list[float]:
        return evaluate(parse_expression(text), env, 7).data.tolist()

    out = r("round(v)")
    assert out[:6] == [3.0, -3.0, 1.0, 0.0, 1.0, 1234.0]
    assert np.isnan(out[6])
    assert np.copysign(1.0, out[3]) == 1.0  # no negative zero
    assert r("round(v, 1)")[4] == 1.3  # 1.25 is exact in binary: its half goes up
    assert r("round(v, -2)")[5] == 1200.0


def test_domain_and_type_rules() -> None:
    """Hand cases: log of zero or less and sqrt of a negative are missing (the plan reports
    them), if_else with a missing condition is missing, coalesce takes the first value, and
    the type rules give their messages."""
    env = {
        "v": Value("number", np.array([0.0, -1.0, np.e, np.nan])),
        "c": Value("bool", np.array([1.0, np.nan, 0.0, 1.0])),
    }
    log = evaluate(parse_expression("log(v)"), env, 4).data
    assert np.isnan(log[[0, 1, 3]]).all()
    assert log[2] == 1.0
    assert np.isnan(evaluate(parse_expression("sqrt(v)"), env, 4).data[1])
    ie = evaluate(parse_expression("if_else(c, v, 5)"), env, 4).data
    assert ie[0] == 0.0
    assert np.isnan(ie[1])
    assert ie[2] == 5.0
    assert np.isnan(ie[3])
    co = evaluate(parse_expression("coalesce(v, 7)"), env, 4).data
    assert co.tolist() == [0.0, -1.0, np.e, 7.0]
    for text, message in [
        ("if_else(v, 1, 2)", "if_else() needs a condition first, not a number"),
        ('if_else(c, 1, "a")', "if_else() needs two values of one kind, got number and text"),
        ("coalesce(v, c)", "coalesce() needs values of one kind, got number, bool"),
        ("round(v, 0.5)", "round() takes a whole number of digits"),
        ("log(c)", "log() needs a number"),
    ]:
        with pytest.raises(
            ExpressionTypeError, match=message.replace("(", r"\(").replace(")", r"\)")
        ):
            evaluate(parse_expression(text), env, 4)

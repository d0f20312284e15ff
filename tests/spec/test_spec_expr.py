"""The safe expression parser: what it accepts and what it refuses."""

from __future__ import annotations

import pytest

from survstudy.spec.expr import (
    BoolOp,
    Call,
    Compare,
    Const,
    InList,
    IsMissing,
    Name,
    parse_expression,
)


def test_comparison_and_names() -> None:
    e = parse_expression("months_between(bc_date, lm_date) >= 36")
    assert e.names == frozenset({"bc_date", "lm_date"})
    assert e.tree == Compare(
        ">=", Call("months_between", (Name("bc_date"), Name("lm_date"))), Const(36)
    )


def test_is_missing_and_in() -> None:
    e = parse_expression('resection is not missing and grade in ["I", "II"]')
    assert e.tree == BoolOp(
        "and",
        (
            IsMissing(Name("resection"), negate=True),
            InList(Name("grade"), parse_expression('x in ["I", "II"]').tree.items, negate=False),  # type: ignore[union-attr]
        ),
    )


def test_is_missing_inside_a_string_is_left_alone() -> None:
    e = parse_expression('note == "is missing"')
    assert e.tree == Compare("==", Name("note"), Const("is missing"))


def test_chained_comparison_is_a_conjunction() -> None:
    e = parse_expression("18 <= age < 65")
    assert isinstance(e.tree, BoolOp)
    assert e.tree.op == "and"


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os')",
        "open('x')",
        "age.real",
        "x[0]",
        "lambda: 1",
        "[a for a in b]",
        "f(x=1)",
        "a if b else c",
        "a ** 2",
        "a // 2",
        "x is 1",
        "x in y",
        "date(2020)",
        "date('2020-13-01')",
        "min(a)",
        "months_between(a)",
        "",
        "x >=",
        "None",
    ],
)
def test_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_expression(text)

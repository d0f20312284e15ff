"""The expression evaluator: arithmetic, dates, categories and three-valued logic, by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survstudy.data.expressions import ExpressionTypeError, Value, date_to_days, evaluate
from survstudy.spec import parse_expression

nan = np.nan


def d(s: str | None) -> float:
    return date_to_days(None if s is None else dt.date.fromisoformat(s))


ENV = {
    "age": Value("number", np.array([30.0, 70.0, nan])),
    "bc": Value("date", np.array([d("2010-01-01"), d("2012-06-30"), nan])),
    "lm": Value("date", np.array([d("2013-01-01"), d("2014-06-30"), d("2015-01-01")])),
    "grade": Value("text", np.array(["I/II", "III", None], dtype=object)),
}


def ev(text: str) -> list[float | str | None]:
    v = evaluate(parse_expression(text), ENV, 3)
    return [None if (isinstance(x, float) and np.isnan(x)) else x for x in v.data.tolist()]


def test_comparison_with_missing_is_missing() -> None:
    assert ev("age >= 65") == [0.0, 1.0, None]


def test_kleene_logic() -> None:
    """Hand truth table: missing and false = false; missing or true = true."""
    assert ev("age >= 65 and grade == 'III'") == [0.0, 1.0, None]
    assert ev("age >= 65 or grade is missing") == [0.0, 1.0, 1.0]
    assert ev("age >= 65 and grade is not missing") == [0.0, 1.0, 0.0]
    assert ev("not age >= 65") == [1.0, 0.0, None]


def test_conditions_without_unknowns_are_numpy_booleans() -> None:
    """A condition no row can leave unknown is a bool array (1 byte a row, two-valued
    logic); the same truth values as the three-valued float form, and the two mix."""
    for text, want in [
        ("age is missing or grade is missing", [0.0, 0.0, 1.0]),
        ("age is not missing and grade is not missing", [1.0, 1.0, 0.0]),
        ("not (age is missing)", [1.0, 1.0, 0.0]),
        ("lm >= date('2014-01-01')", [0.0, 1.0, 1.0]),
        ("missing(bc) and lm >= date('2014-01-01')", [0.0, 0.0, 1.0]),
    ]:
        v = evaluate(parse_expression(text), ENV, 3)
        assert v.data.dtype == bool, text
        assert v.data.tolist() == want, text
    assert ev("age is missing or age >= 65") == [0.0, 1.0, 1.0]  # a bool with a float
    assert ev("age is not missing and grade == 'III'") == [0.0, 1.0, 0.0]
    assert ev("bc is not missing or grade == 'III'") == [1.0, 1.0, None]


def test_date_differences() -> None:
    """Hand calculation: 2010-01-01 -> 2013-01-01 is 1096 days (2012 is a leap year)."""
    assert ev("lm - bc") == [1096.0, 730.0, None]  # 2012-06-30 is after 29 February
    assert ev("days_between(bc, lm)") == [1096.0, 730.0, None]
    months = ev("months_between(bc, lm)")
    assert months[0] == pytest.approx(1096 / 30.4375)
    assert ev("years_between(bc, lm) >= 3") == [1.0, 0.0, None]
    assert ev("months_between(bc, lm) < 36") == [0.0, 1.0, None]


def test_date_literals() -> None:
    assert ev('lm >= date("2014-01-01")') == [0.0, 1.0, 1.0]
    assert ev('lm >= "2014-01-01"') == [0.0, 1.0, 1.0]


def test_in_and_categories() -> None:
    assert ev('grade in ["III", "IV"]') == [0.0, 1.0, None]
    assert ev('grade not in ["III"]') == [1.0, 0.0, None]
    assert ev("grade == 'I/II'") == [1.0, 0.0, None]


def test_arithmetic_and_functions() -> None:
    assert ev("age / 10 + 1") == [4.0, 8.0, None]
    assert ev("age / 0") == [None, None, None]
    assert ev("min(bc, lm) == lm") == [0.0, 0.0, 1.0]  # min ignores a missing date
    assert ev("abs(-age)") == [30.0, 70.0, None]
    assert ev("missing(age)") == [0.0, 0.0, 1.0]


@pytest.mark.parametrize(
    "text",
    ["bc + lm", "grade > 'I'", "age == bc", "age and grade", "months_between(age, lm)", "-grade"],
)
def test_type_errors(text: str) -> None:
    with pytest.raises(ExpressionTypeError):
        evaluate(parse_expression(text), ENV, 3)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "age",
                "bc",
                "lm",
                "grade",
                " ",
                "(",
                ")",
                "+",
                "-",
                "*",
                "/",
                "<",
                ">=",
                "==",
                " and ",
                " or ",
                "not ",
                " is missing",
                "1",
                "0",
                "'III'",
                "min(",
                ",",
                "[1, 2]",
                " in ",
                "months_between(",
                "date('2015-01-01')",
            ]
        ),
        max_size=12,
    ).map("".join)
)
def test_property_any_parsed_expression_evaluates_or_is_a_type_error(text: str) -> None:
    """Property: what the parser accepts, the evaluator computes or refuses with a type error."""
    try:
        expr = parse_expression(text)
    except ValueError:
        return
    try:
        value = evaluate(expr, ENV, 3)
    except ExpressionTypeError:
        return
    assert value.kind in ("number", "date", "text", "bool")
    assert len(value.data) == 3

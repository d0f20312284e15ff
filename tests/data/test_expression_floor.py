"""floor() in expressions (age in completed years), by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from survstudy.data.expressions import ExpressionTypeError, Value, date_to_days, evaluate
from survstudy.spec import parse_expression


def test_floor_of_years_between_is_completed_years() -> None:
    """Hand calculation: 1968-04-11 -> 2014-11-17 is 17021 days = 46.60 years -> 46;
    2000-01-01 -> 2000-12-31 is 365 days = 0.999 years -> 0; missing stays missing."""
    birth = [dt.date(1968, 4, 11), dt.date(2000, 1, 1), None]
    dx = [dt.date(2014, 11, 17), dt.date(2000, 12, 31), dt.date(2001, 1, 1)]
    env = {
        "birth": Value("date", np.array([date_to_days(x) for x in birth])),
        "dx": Value("date", np.array([date_to_days(x) for x in dx])),
    }
    v = evaluate(parse_expression("floor(years_between(birth, dx))"), env, 3)
    assert v.data[:2].tolist() == [46.0, 0.0]
    assert np.isnan(v.data[2])


def test_floor_needs_a_number() -> None:
    env = {"d": Value("date", np.array([0.0]))}
    with pytest.raises(ExpressionTypeError):
        evaluate(parse_expression("floor(d)"), env, 1)

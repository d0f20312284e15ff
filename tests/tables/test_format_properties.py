"""tables.format: properties over many values (hypothesis)."""

from __future__ import annotations

import re
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from survstudy.tables import format as fmt

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@given(finite, st.integers(min_value=0, max_value=4))
def test_fixed_is_within_half_a_unit(x: float, decimals: int) -> None:
    """Property: the printed value is within half a unit of the last place of repr(x),
    has exactly `decimals` decimals, and never reads '-0' (minus sign U+2212 and thousands
    commas are display marks: read back without them)."""
    s = fmt.fixed(x, decimals).replace("\u2212", "-").replace(",", "")
    assert abs(Decimal(s) - Decimal(repr(x))) <= Decimal(5).scaleb(-decimals - 1)
    assert (len(s.split(".")[1]) if "." in s else 0) == decimals
    assert not re.fullmatch(r"-0(\.0*)?", s)


@given(st.floats(min_value=0.0, max_value=1.0))
def test_p_value_shape(p: float) -> None:
    """Property: '<0.001', '>0.999' or three decimals in [0.001, 0.999]."""
    s = fmt.p_value(p)
    assert s in ("<0.001", ">0.999") or (
        re.fullmatch(r"0\.\d{3}", s) and Decimal("0.001") <= Decimal(s) <= Decimal("0.999")
    )
    if p < 0.001:
        assert s == "<0.001"


@given(st.integers(min_value=0, max_value=500), st.integers(min_value=1, max_value=500))
def test_count_percent_shape(n: int, denom: int) -> None:
    """Property: 'n (p)' with the count verbatim and one decimal (a percent of 10 000 or
    more, n = 100 of 1, groups its thousands)."""
    s = fmt.count_percent(n, 100.0 * n / denom)
    assert re.fullmatch(rf"{n} \((\d+|\d{{1,3}}(,\d{{3}})+)\.\d\)", s)

"""tables.format: formatting rules, table-driven; every expectation is hand-written."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from survstudy.tables import format as fmt

NAN = float("nan")
INF = float("inf")


# Hand-written: round-half-up on the decimal value (binary floats would give 2.67 and 0.12).
@pytest.mark.parametrize(
    ("x", "decimals", "want"),
    [
        (58.333333, 1, "58.3"),
        (8.3333333, 1, "8.3"),
        (0.125, 2, "0.13"),
        (2.675, 2, "2.68"),
        (1.005, 2, "1.01"),
        (0.05, 1, "0.1"),
        (-0.04, 1, "0.0"),
        (-1.25, 1, "\u22121.3"),  # a real minus sign (U+2212)
        (100, 1, "100.0"),
        (7, 0, "7"),
        (NAN, 1, "—"),
        (None, 1, "—"),
        (INF, 2, "NE"),
    ],
)
def test_fixed(x: float | None, decimals: int, want: str) -> None:
    """Hand calculation: decimal round-half-up."""
    assert fmt.fixed(x, decimals) == want


def test_round_half_up_is_decimal() -> None:
    """Hand calculation."""
    assert fmt.round_half_up(0.125, 2) == Decimal("0.13")


@pytest.mark.parametrize(
    ("n", "pct", "kw", "want"),
    [
        (7, 700 / 12, {}, "7 (58.3)"),
        (1, 100 / 12, {}, "1 (8.3)"),
        (6, 50.0, {}, "6 (50.0)"),
        (6, 50.0, {"drop_trailing_zeros": True}, "6 (50)"),
        (9, 75.0, {"drop_trailing_zeros": True}, "9 (75)"),
        (12, 100.0, {"drop_trailing_zeros": True}, "12 (100)"),
        (11, 1100 / 12, {"drop_trailing_zeros": True}, "11 (91.7)"),
        (1, 100 / 12, {"drop_trailing_zeros": True}, "1 (8.3)"),
        (2, 200 / 11, {"drop_trailing_zeros": True}, "2 (18.2)"),
        (0, 0.0, {}, "0 (0.0)"),
        (0, 0.0, {"drop_trailing_zeros": True}, "0 (0)"),
        (1, 100 / 3, {}, "1 (33.3)"),
        (2, 200 / 3, {}, "2 (66.7)"),
        (2, 200 / 3, {"decimals": 0}, "2 (67)"),
        (1, 100 / 8, {"decimals": 0}, "1 (13)"),  # 12.5 -> 13: half-up
        (3, None, {}, "3"),
        (3, None, {"denominator": 4}, "3 (75.0)"),
        (3, 75.0, {"percent_sign": True}, "3 (75.0%)"),
        (None, None, {}, "—"),
    ],
)
def test_count_percent(n: int | None, pct: float | None, kw: dict, want: str) -> None:
    """Hand-written expectations (seed paper's Table I style with drop_trailing_zeros)."""
    assert fmt.count_percent(n, pct, **kw) == want


@pytest.mark.parametrize(
    ("args", "kw", "want"),
    [
        ((46, 29, 57), {"sep": "-"}, "46 (29-57)"),
        ((37.5, 10, 80), {"sep": "-"}, "37.5 (10-80)"),
        ((46.0, 29.0, 57.0), {}, "46 (29–57)"),
        ((37.25, 10, 80), {}, "37.3 (10–80)"),
        ((37.25, 10, 80), {"max_decimals": 2}, "37.25 (10–80)"),
        ((1, 1, 4), {"sep": "-"}, "1 (1-4)"),
        ((NAN, 1, 2), {}, "—"),
    ],
)
def test_median_range(args: tuple, kw: dict, want: str) -> None:
    """Hand-written: shortest text up to N decimals; seed hyphen, journal en dash."""
    assert fmt.median_range(*args, **kw) == want


def test_median_iqr_and_mean_sd() -> None:
    """Hand-written."""
    assert fmt.median_iqr(40, 25, 52.5) == "40 (25–52.5)"
    assert fmt.mean_sd(46.25, 8.125) == "46.3 (8.1)"
    assert fmt.mean_sd(None, 1.0) == "—"


@pytest.mark.parametrize(
    ("args", "want"),
    [
        ((1.92, 0.48, 7.75), "1.92 (0.48–7.75)"),
        ((0.999, 0.5, 1.9949), "1.00 (0.50–1.99)"),
        # thousands grouped from 10 000 only: "1000.00" stays, "100,000.00"
        ((1000, 10, 100000), "1000.00 (10.00–100,000.00)"),
        ((2.5, 0.7, INF), "2.50 (0.70–NE)"),
        ((INF, 1.0, INF), "NE"),
        ((NAN, NAN, NAN), "NE"),
        ((None, None, None), "NE"),
        ((0.125, 0.0149, 1.005), "0.13 (0.01–1.01)"),
    ],
)
def test_hr_ci(args: tuple, want: str) -> None:
    """Hand-written: two decimals at every magnitude, half-up; non-finite -> NE."""
    assert fmt.hr_ci(*args) == want
    assert fmt.format_hr_ci(*args) == want


@pytest.mark.parametrize(
    ("p", "want"),
    [
        (1.0, ">0.999"),
        (0.9995, ">0.999"),
        (0.9994, "0.999"),
        (0.995, "0.995"),
        (0.5, "0.500"),
        (0.05, "0.050"),
        (0.0499999, "0.050"),
        (0.0385, "0.039"),
        (0.038, "0.038"),
        (0.0105, "0.011"),
        (0.001, "0.001"),
        (0.00099, "<0.001"),
        (0.0009999, "<0.001"),
        (1e-12, "<0.001"),
        (0.0, "<0.001"),
        (NAN, "—"),
        (None, "—"),
    ],
)
def test_p_value(p: float | None, want: str) -> None:
    """Hand-written: three decimals, '<0.001', '>0.999'; never '1.000' or '0.000'."""
    assert fmt.p_value(p) == want
    assert fmt.format_p(p) == want


def test_p_value_out_of_range() -> None:
    """Identity: a p outside [0, 1] is a programming error."""
    with pytest.raises(ValueError, match="p-value"):
        fmt.p_value(1.5)
    with pytest.raises(ValueError, match="p-value"):
        fmt.p_value(-0.1)


@pytest.mark.parametrize(
    ("args", "kw", "want"),
    [
        ((0.8245, 0.5431, 0.9412), {}, "82 (54–94)"),
        ((0.8245, 0.5431, 0.9412), {"style": "text"}, "82% (95% CI 54–94)"),
        ((0.825, 0.5425, 0.9405), {"decimals": 1}, "82.5 (54.3–94.1)"),
        ((1.0, NAN, NAN), {}, "100 (NE–NE)"),
        ((0.0, 0.0, 0.0), {}, "0 (0–0)"),
        ((NAN, 0.1, 0.2), {}, "—"),
        ((0.685, 0.3, 0.9), {}, "69 (30–90)"),
    ],
)
def test_percent_ci(args: tuple, kw: dict, want: str) -> None:
    """Hand-written: survival proportion x 100, half-up on the decimal value (0.685 -> 69)."""
    assert fmt.percent_ci(*args, **kw) == want


def test_words() -> None:
    """Hand-written: the fixed words."""
    assert fmt.not_reached() == "not reached"
    assert fmt.not_estimable() == "NE"
    assert fmt.missing() == "—"
    assert fmt.reference() == "1 (reference)"
    assert fmt.denominator_note(11) == "(n=11)"
    assert fmt.estimate_ci(30.0, 14.25, None) == "30.0 (14.3–NE)"
    assert fmt.number(0.68456, 3) == "0.685"
    assert fmt.shortest(2.0) == "2"
    assert fmt.is_missing(math.nan)
    assert not fmt.is_missing("x")


def test_seed_style() -> None:
    """Hand-written: the seed preset prints hyphens and drops trailing zeros."""
    s = fmt.FormatStyle.seed()
    assert s.range_sep == "-"
    assert s.drop_trailing_zeros
    assert fmt.FormatStyle().range_sep == "–"


def test_round_half_up_of_a_huge_finite_value() -> None:
    """A Wald bound of ~4e26 (a coefficient diverging in a 12-patient study) has more digits
    than Decimal's default 28-digit context holds with 2 decimals; it must still print."""
    x = 4.236301555121605e26
    assert fmt.round_half_up(x, 2) == Decimal("423630155512160500000000000")
    assert fmt.round_half_up(x, 2).as_tuple().exponent == -2
    assert fmt.hr_ci(1.5, 0.2, x).startswith("1.50 (0.20–423,630,155,512,160,5")

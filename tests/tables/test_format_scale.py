"""Registry-scale numbers: thousands commas from 10 000, minus sign, ranges with negatives,
and one HR text for tables and forest plots (issue 9 follow-up).

Every expected string below is written by hand from the rule in
``survstudy.tables.format``'s docstring.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from survstudy.tables import format as fmt
from survstudy.tables.model import Table1Variable, table1_model
from survstudy.tables.study import hr_text

M = "\u2212"  # minus sign


@pytest.mark.parametrize(
    ("n", "want"),
    [
        (0, "0"),
        (12, "12"),
        (9999, "9999"),
        (10_000, "10,000"),
        (123_456, "123,456"),
        (6_801_899, "6,801,899"),
        (10_000_000, "10,000,000"),
        (100_000_000, "100,000,000"),
        (-12_345, f"{M}12,345"),
        (None, "—"),
    ],
)
def test_count(n: int | None, want: str) -> None:
    """Hand-written: no separator below 10 000, "," every three digits from 10 000."""
    assert fmt.count(n) == want


def test_counts_in_composite_cells() -> None:
    """Hand-written: the count and the denominator note follow the count rule."""
    assert fmt.count_percent(7_623_599, 76.23599) == "7,623,599 (76.2)"
    assert fmt.count_percent(9999, 50.0) == "9999 (50.0)"
    assert fmt.count_percent(7, 58.3333) == "7 (58.3)"
    assert fmt.count_percent(12_000, None) == "12,000"
    assert fmt.denominator_note(3_335_375) == "(n=3,335,375)"
    assert fmt.denominator_note(11) == "(n=11)"


def test_large_decimals_group_and_small_ones_do_not() -> None:
    """Hand-written: the same rule for non-integers (|x| >= 10 000)."""
    assert fmt.fixed(12_345.678, 1) == "12,345.7"
    assert fmt.fixed(9999.94, 1) == "9999.9"
    # rounding up to 10 000 crosses the threshold: the printed value decides
    assert fmt.fixed(9999.96, 1) == "10,000.0"
    assert fmt.shortest(1_000_000.0) == "1,000,000"


def test_negative_numbers_use_the_minus_sign() -> None:
    """Hand-written: U+2212, never a hyphen; no negative zero."""
    assert fmt.fixed(-1.25, 1) == f"{M}1.3"
    assert fmt.fixed(-0.04, 1) == "0.0"
    assert fmt.shortest(-0.04, 1) == "0"
    assert "-" not in fmt.fixed(-3.0, 2)


def test_ranges_with_a_negative_end_read_to() -> None:
    """Hand-written: " to " when either end is negative, the dash otherwise."""
    assert fmt.estimate_ci(0.2, -5.0, 5.1, digits=1) == f"0.2 ({M}5.0 to 5.1)"
    assert fmt.median_range(0.01, -5.04, 5.1) == f"0 ({M}5 to 5.1)"
    assert fmt.median_range(-2.0, -5.0, -1.0) == f"{M}2 ({M}5 to {M}1)"
    assert fmt.median_range(46, 29, 57) == "46 (29–57)"
    # the seed's hyphen style is just as ambiguous with negatives
    assert fmt.median_range(1, -3, 4, sep="-") == f"1 ({M}3 to 4)"
    assert fmt.median_range(46, 29, 57, sep="-") == "46 (29-57)"
    assert fmt.range_text("1.2", "3.4") == "1.2–3.4"


def test_continuous_median_near_zero_prints_zero() -> None:
    """Hand-written: the "shortest up to 1 decimal" rule prints a median of 0.003 as "0"
    (it rounds to 0.0 and the trailing zero is dropped): documented behaviour, not a bug."""
    assert fmt.median_range(0.003, -5.0, 5.1) == f"0 ({M}5 to 5.1)"


@pytest.mark.parametrize(
    ("hr", "lo", "hi", "want"),
    [
        (0.997, 0.937, 1.061, "0.997 (0.937–1.061)"),
        (1.0, 0.5, 2.0, "1.00 (0.50–2.00)"),
        (1.0812, 1.0012, 1.168, "1.081 (1.001–1.168)"),
        (0.80, 0.79, 0.81, "0.80 (0.79–0.81)"),
        # bounds that print alike take more decimals (registry-sized intervals), up to 4
        (1.2213, 1.2181, 1.2244, "1.221 (1.218–1.224)"),
        (0.8012, 0.7996, 0.8028, "0.801 (0.800–0.803)"),
        (0.74012, 0.73981, 0.74043, "0.7401 (0.7398–0.7404)"),
        (2.00001, 2.000005, 2.000015, "2.0000 (2.0000–2.0000)"),
        (1.92, 0.48, 7.75, "1.92 (0.48–7.75)"),
        (53.42, 53.03, 53.82, "53.42 (53.03–53.82)"),
        (12_345.0, 10_000.0, 20_000.0, "12,345.00 (10,000.00–20,000.00)"),
    ],
)
def test_hr_text_near_one_rule(hr: float, lo: float, hi: float, want: str) -> None:
    """Hand-written: 2 decimals; 3 when a value other than 1 would print "1.00"; more,
    up to 4, while the two bounds print alike."""
    assert fmt.hr_ci_text(hr, lo, hi) == want
    assert hr_text(hr, lo, hi) == want


def test_table1_headers_group_counts() -> None:
    """Hand-written: "Variable (n = 10,000,000)" and a grouped level count."""
    v = Table1Variable(
        variable="smoker",
        label="Smoker, n (%)",
        result=SimpleNamespace(
            levels=("No", "Yes"),
            counts=(6_000_000, 4_000_000),
            percents=(60.0, 40.0),
            denominator=10_000_000,
            n_missing=0,
        ),
    )
    t = table1_model([v], n=10_000_000)
    assert t.columns[0].header == "Variable (n = 10,000,000)"
    cells = [r.text("statistic") for r in t.rows]
    assert cells == ["6,000,000 (60.0)", "4,000,000 (40.0)"]


@pytest.mark.parametrize(
    ("lo", "hi", "start", "limit", "want"),
    [
        (0.7009, 0.7015, 2, 4, 3),  # "0.70" twice -> "0.701", "0.702"
        (0.70001, 0.70004, 2, 4, 4),  # still alike at 4: stop at the limit
        (0.5, 0.9, 2, 4, 2),  # already apart
        (0.7, 0.7, 2, 4, 2),  # equal bounds: more decimals cannot help
        (0.7, math.inf, 2, 4, 2),
        (None, 0.7, 2, 4, 2),
    ],
)
def test_decimals_apart(lo: float | None, hi: float, start: int, limit: int, want: int) -> None:
    """Hand-written: one more decimal at a time while two different bounds print alike."""
    assert fmt.decimals_apart(lo, hi, start, limit) == want


def test_survival_percent_interval_narrower_than_a_tenth() -> None:
    """Hand-written: 70.12% (70.09–70.15) at registry scale; the seed's whole percents
    and a wide interval are unchanged."""
    assert fmt.percent_ci(0.70123, 0.70091, 0.70154, decimals=2) == "70.12 (70.09–70.15)"
    assert fmt.decimals_apart(70.091, 70.139, 1, 2) == 2  # "70.1" twice at 1 decimal
    assert fmt.decimals_apart(54.3, 94.1, 0, 0) == 0


@pytest.mark.parametrize(
    ("hr", "want"),
    [(5.43, "5.4"), (25.2, "25"), (1.04, "1.04"), (1.0034, "1.003"), (1.0, "1.0")],
)
def test_detectable_hr_near_one(hr: float, want: str) -> None:
    """Hand-written: the detectable HR of a registry is never printed "1.0" unless it is 1."""
    from survstudy.pipeline.precision import about

    assert about(hr) == want


def test_precision_note_groups_the_events() -> None:
    """Hand-written: "With 7,623,599 events, ... about 1.003"; 9999 events stay ungrouped."""
    from survstudy.pipeline.precision import precision_message

    text = precision_message("events", 7_623_599, 1.0034, 0.8)
    assert text.startswith("With 7,623,599 events, a hazard ratio of about 1.003 or more")
    assert precision_message("events", 9999, 1.06, 0.8).startswith("With 9999 events,")

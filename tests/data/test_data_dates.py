"""Date parsing: round trips (property) and the day/month rules (hand-written cases)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survstudy.data.columns import parse_dates
from survstudy.data.quality import IssueCollector


def parse(cells, *, fmt=None, pivot=None, system=None, kind="csv"):
    issues = IssueCollector("f.csv")
    out = parse_dates(
        list(cells),
        list(range(2, 2 + len(cells))),
        column="d",
        codes=frozenset({"", "na"}),
        issues=issues,
        date_format=fmt,
        century_pivot=pivot,
        excel_system=system,
        source_kind=kind,
    )
    return out, [(i.code, list(i.context.get("rows", ()))) for i in issues.issues]


dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31))


@settings(max_examples=100, deadline=None)
@given(st.lists(dates, min_size=1, max_size=20))
def test_property_iso_round_trip(values: list[dt.date]) -> None:
    """Property: ISO text parses back to the same date, with no issue."""
    out, issues = parse([d.isoformat() for d in values])
    assert out == values
    assert issues == []


@settings(max_examples=100, deadline=None)
@given(st.lists(dates, min_size=1, max_size=20), st.sampled_from(["DMY", "MDY"]))
def test_property_day_month_round_trip_with_format(values: list[dt.date], fmt: str) -> None:
    """Property: with the spec's format, dd/mm/yyyy (or mm/dd/yyyy) text parses back exactly."""
    pattern = "%d/%m/%Y" if fmt == "DMY" else "%m/%d/%Y"
    out, issues = parse([d.strftime(pattern) for d in values], fmt=fmt)
    assert out == values
    assert issues == []


def test_unambiguous_column_needs_no_format() -> None:
    """Hand check: 13/04 can only be day/month; 05/05 reads the same both ways."""
    out, issues = parse(["13/04/2015", "05/05/2016", "28/02/2017"])
    assert out == [dt.date(2015, 4, 13), dt.date(2016, 5, 5), dt.date(2017, 2, 28)]
    assert issues == []


def test_ambiguous_and_inconsistent() -> None:
    _, issues = parse(["03/04/2015", "13/04/2015"])
    assert issues == [("DATE-AMBIGUOUS", [2])]
    _, issues = parse(["13/04/2015", "04/13/2015"])
    assert issues == [("DATE-INCONSISTENT", [2, 3])]


def test_two_digit_years_and_pivot() -> None:
    _, issues = parse(["13/04/15"])
    assert issues == [("DATE-TWO-DIGIT-YEAR", [2])]
    out, issues = parse(["13/04/15", "13/04/85"], pivot=30)
    assert out == [dt.date(2015, 4, 13), dt.date(1985, 4, 13)]
    assert issues == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-04-13 00:00:00", dt.date(2015, 4, 13)),
        ("2015/04/13", dt.date(2015, 4, 13)),
        ("13 Apr 2015", dt.date(2015, 4, 13)),
        ("April 13, 2015", dt.date(2015, 4, 13)),
        ("13-April-2015", dt.date(2015, 4, 13)),
    ],
)
def test_other_written_forms(text: str, expected: dt.date) -> None:
    out, issues = parse([text])
    assert out == [expected]
    assert issues == []


def test_impossible_dates_are_unparseable() -> None:
    """Issue 15 item 12: a date that does not exist is said so (not 'write dates as
    YYYY-MM-DD'); text that is no date keeps the format advice."""
    issues = IssueCollector("f.csv")
    parse_dates(
        ["2015-02-30", "31/31/2015", "soon", "31/02/2009"],
        [2, 3, 4, 5],
        column="d",
        codes=frozenset({"", "na"}),
        issues=issues,
        date_format=None,
        century_pivot=None,
        excel_system=None,
        source_kind="csv",
    )
    got = [(i.code, list(i.context.get("rows", ())), i.hint) for i in issues.issues]
    assert got == [
        ("DATE-UNPARSEABLE", [2, 3, 5], "correct the day or the month"),
        ("DATE-UNPARSEABLE", [4], "write dates as YYYY-MM-DD"),
    ]


def test_excel_serial_in_csv_needs_the_date_system() -> None:
    """Published fact: serial 42005 is 2015-01-01 in Excel's 1900 date system."""
    _, issues = parse(["42005"])
    assert issues == [("DATE-EXCEL-SERIAL", [2])]
    out, _ = parse(["42005"], system=1900)
    assert out == [dt.date(2015, 1, 1)]

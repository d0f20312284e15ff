"""Checks of (start, stop] rows (survstudy.stats.intervals), as R's tmerge makes them.

Kinds of truth: hand calculation (small tables with each defect written out, the rows
expected by reading them), property (the rows made by tdc_split pass every check).
"""

from __future__ import annotations

import numpy as np

from survstudy.stats.intervals import CODES, check_intervals
from survstudy.stats.timedep import tdc_split

# spreadsheet rows 2..11; patient a: row 2 event not last, rows 3-4 duplicate;
# b: rows 5-6 overlap; c: rows 7-8 gap (3, 4); d: row 9 (0, 10] covers rows 10 and 11
PID = ["a", "a", "a", "b", "b", "c", "c", "d", "d", "d"]
START = [0, 5, 5, 0, 3, 0, 4, 0, 2, 6]
STOP = [5, 9, 9, 4, 8, 3, 6, 10, 3, 7]
EVENT = [1, 0, 1, 0, 1, 0, 1, 0, 0, 1]


def _by_code(issues):  # type: ignore[no-untyped-def]
    return {i.code: i for i in issues}


def test_each_defect_is_found_with_its_rows() -> None:
    """Hand: every defect of the table above, with the rows concerned and the pairs."""
    got = _by_code(check_intervals(PID, START, STOP, EVENT, rows=range(2, 12)))
    assert set(got) == {"INTERVAL-DUPLICATE", "INTERVAL-OVERLAP", "EVENT-NOT-LAST", "INTERVAL-GAP"}
    assert got["INTERVAL-DUPLICATE"].rows == (3, 4)
    assert got["INTERVAL-OVERLAP"].rows == (5, 6, 9, 10, 11)
    assert got["INTERVAL-OVERLAP"].pairs == ((5, 6), (9, 10), (9, 11))
    assert got["EVENT-NOT-LAST"].rows == (2,)
    assert got["EVENT-NOT-LAST"].column == "event"
    assert got["INTERVAL-GAP"].rows == (7, 8)
    assert got["INTERVAL-GAP"].severity == "warning"
    assert all(got[c].severity == "error" for c in got if c != "INTERVAL-GAP")


def test_errors_come_first_and_codes_are_documented() -> None:
    """Hand: errors before warnings; every code has a severity, column role, message, hint."""
    issues = check_intervals(PID, START, STOP, EVENT)
    sev = [i.severity for i in issues]
    assert sev == sorted(sev, key=lambda s: s != "error")
    for code, (severity, col, msg, hint) in CODES.items():
        assert severity in ("error", "warning")
        assert col in ("start", "stop", "event")
        assert msg
        assert hint
        assert code.isupper()


def test_empty_interval() -> None:
    """Hand: (5, 5] and (6, 5] are empty; the other checks skip them (no cascade)."""
    issues = check_intervals([1, 1, 2], [0, 5, 6], [5, 5, 5], [0, 1, 0], rows=[2, 3, 4])
    assert [(i.code, i.rows) for i in issues] == [("INTERVAL-EMPTY", (3, 4))]


def test_touching_intervals_and_numeric_ids_are_fine() -> None:
    """Hand: (0, 2], (2, 5] of one patient touch without overlap or gap; order of rows in
    the file does not matter; numeric and mixed identifiers."""
    assert check_intervals([7, 7, 8], [2, 0, 0], [5, 2, 4], [1, 0, 0]) == ()
    assert check_intervals(np.array([1, "1"], dtype=object), [0, 2], [2, 5], [0, 1]) == ()


def test_split_rows_pass_every_check() -> None:
    """Property: the rows tdc_split makes have no defect (random measurement tables)."""
    rng = np.random.default_rng(9)
    n = 50
    start = rng.integers(0, 5, n).astype(float)
    stop = start + rng.integers(1, 30, n)
    k = 200
    sp = tdc_split(
        start,
        stop,
        rng.random(n) < 0.5,
        rng.integers(0, n, k),
        rng.integers(-2, 35, k).astype(float),
        rng.normal(size=k),
    )
    assert check_intervals(sp.patient, sp.start, sp.stop, sp.event) == ()

"""``--start`` for the quick commands: the entry-time column and the interval checks.

With ``--start START --time STOP`` each row is an interval ``(START, STOP]`` of a
patient (counting-process data: delayed entry, or follow-up split where a
covariate changes). The start values must be numbers; every row must end after it
starts. With ``--id COL`` the rows of one patient are also checked as R's
``tmerge`` does (:mod:`survstudy.stats.intervals`): duplicated or overlapping
intervals and an event that is not on the patient's last interval are errors, a
gap between intervals is a warning. Findings are printed in the house style, one
line each: ``error: [CODE] file, rows 3, 5, column 'start': what; how to fix``
(warnings on stderr as ``warning: …``); the identifier values never appear.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from survstudy.errors import DataError

__all__ = ["IntervalError", "check_interval_columns", "start_values"]


def _rows_text(rows: Sequence[int], limit: int = 10) -> str:
    """'row 5' or 'rows 5, 7, 9 and 3 more' (as the data-quality report writes them)."""
    rows = sorted(set(rows))
    if len(rows) == 1:
        return f"row {rows[0]}"
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"rows {', '.join(str(r) for r in rows[:limit])}{more}"


def _line(code: str, file: str, rows: Sequence[int], column: str, message: str, hint: str) -> str:
    return f"[{code}] {file}, {_rows_text(rows)}, column '{column}': {message}; {hint}"


class IntervalError(DataError):
    """One or more interval errors; printed as one ``error:`` line each."""

    def __init__(self, lines: list[str], code: str) -> None:
        super().__init__(lines[0], rule=code)
        self.lines = lines

    def __str__(self) -> str:
        return "\nerror: ".join(self.lines)


def start_values(
    values: Sequence[Any] | NDArray[Any], file: str, column: str, rows: Sequence[int] | NDArray[Any]
) -> NDArray[np.float64]:
    """The entry times as numbers (``NOT-A-NUMBER`` naming the row otherwise)."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
        fast = values.astype(np.float64)
        if np.all(np.isfinite(fast)):
            return fast
    elif all(isinstance(v, (bool, int, float)) for v in values):
        fast = np.asarray(values, dtype=np.float64)
        if np.all(np.isfinite(fast)):
            return fast
    out = np.empty(len(values))
    for i, (v, rw) in enumerate(zip(values, rows, strict=True)):
        try:
            f = float(v) if isinstance(v, (bool, int, float)) else float(str(v).strip())
        except ValueError:
            raise DataError(
                "not a number", file=file, row=rw, column=column, value=str(v), rule="NOT-A-NUMBER"
            ) from None
        if not math.isfinite(f):
            raise DataError(
                "the entry time must be a finite number",
                file=file,
                row=rw,
                column=column,
                value=str(v),
                rule="NOT-A-NUMBER",
            )
        out[i] = f
    return out


def check_interval_columns(
    *,
    file: str,
    rows: Sequence[int] | NDArray[Any],
    start: NDArray[np.float64],
    stop: NDArray[np.float64],
    event: NDArray[np.bool_],
    start_col: str,
    stop_col: str,
    event_col: str,
    patient: Sequence[Any] | None = None,
) -> None:
    """Run the interval checks; print warnings, raise :class:`IntervalError` for errors.

    Without ``patient`` (no ``--id``) only the row-wise check (start < stop) applies.
    """
    from survstudy.stats.intervals import check_intervals

    if patient is None:  # each row on its own: only start < stop can fail
        bad = ~(start < stop)
        if not bad.any():
            return
        issues = check_intervals(
            np.arange(int(bad.sum())), start[bad], stop[bad], rows=np.asarray(rows)[bad]
        )
    else:
        pid: Any = np.asarray(patient)
        if pid.dtype.kind not in "iufbU":  # mixed cells: compare as text
            pid = pid.astype(str)
        issues = check_intervals(pid, start, stop, event, rows=np.asarray(rows))
    column = {"start": start_col, "stop": stop_col, "event": event_col}
    errors: list[str] = []
    first_code = ""
    for i in issues:
        line = _line(i.code, file, i.rows, column[i.column], i.message, i.hint)
        if i.severity == "error":
            first_code = first_code or i.code
            errors.append(line)
        else:
            print(f"warning: {line}", file=sys.stderr)
    if errors:
        raise IntervalError(errors, first_code)

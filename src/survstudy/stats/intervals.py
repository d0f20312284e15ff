"""Checks of counting-process data: one row per interval ``(start, stop]`` of a patient.

The checks R's ``tmerge`` makes on such data (Therneau, ``tmerge`` in the survival
package, and the vignette "Using time dependent covariates"), as data:

========================  ========  ====================================================
code                      severity  finding
========================  ========  ====================================================
``INTERVAL-EMPTY``        error     an interval does not end after it starts (start ≥ stop)
``INTERVAL-DUPLICATE``    error     a patient has the same interval twice
``INTERVAL-OVERLAP``      error     two intervals of one patient overlap
``EVENT-NOT-LAST``        error     an event on an interval that is not the patient's last
``INTERVAL-GAP``          warning   time between two intervals of one patient is not covered
========================  ========  ====================================================

A gap is legal (the patient is simply not at risk then, e.g. while away from the
study) but often a data error, hence a warning. The function sees only arrays and
row labels: identifiers are used for grouping and never appear in a finding.
Vectorised: one lexicographic sort by (patient, start, stop) and a segmented
running maximum of the stop times (on integer ranks, so it is exact).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["CODES", "IntervalIssue", "check_intervals"]

I = NDArray[np.intp]  # noqa: E741

# code: (severity, role of the column it concerns, message, how to fix)
CODES: dict[str, tuple[str, str, str, str]] = {
    "INTERVAL-EMPTY": (
        "error",
        "start",
        "the interval does not end after it starts (start >= stop)",
        "each row must cover a time span start < stop",
    ),
    "INTERVAL-DUPLICATE": (
        "error",
        "start",
        "the same patient has the same interval twice",
        "remove the repeated rows",
    ),
    "INTERVAL-OVERLAP": (
        "error",
        "start",
        "intervals of the same patient overlap",
        "a patient's intervals must not share any time; split them at the change points",
    ),
    "EVENT-NOT-LAST": (
        "error",
        "event",
        "an event is recorded on an interval that is not the patient's last",
        "the event belongs on the interval that ends at the event time",
    ),
    "INTERVAL-GAP": (
        "warning",
        "start",
        "a patient's intervals leave a gap (time not at risk)",
        "check the dates if the patient was in fact followed in between",
    ),
}


@dataclass(frozen=True)
class IntervalIssue:
    """One kind of finding with every row it concerns (row labels as given).

    ``pairs`` lists, for the two-row findings (duplicate, overlap, gap), the earlier
    and the later row of each pair.
    """

    code: str
    severity: str
    column: str  # "start", "stop" or "event": the role of the column concerned
    message: str
    hint: str
    rows: tuple[int, ...]
    pairs: tuple[tuple[int, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "column": self.column,
            "message": self.message,
            "hint": self.hint,
            "rows": list(self.rows),
            "pairs": [list(p) for p in self.pairs],
        }


def _issue(
    code: str, rows: NDArray[Any], pairs: list[tuple[int, int]] | None = None
) -> IntervalIssue:
    sev, col, msg, hint = CODES[code]
    return IntervalIssue(
        code=code,
        severity=sev,
        column=col,
        message=msg,
        hint=hint,
        rows=tuple(int(r) for r in np.unique(rows)),
        pairs=tuple(pairs or ()),
    )


def check_intervals(
    patient: ArrayLike,
    start: ArrayLike,
    stop: ArrayLike,
    event: ArrayLike | None = None,
    *,
    rows: ArrayLike | None = None,
) -> tuple[IntervalIssue, ...]:
    """Findings on counting-process rows, errors first (codes in the module docstring).

    ``patient`` holds any hashable identifiers (or codes), one per row; ``rows`` the
    labels to report (default 0-based positions; the quick commands pass spreadsheet
    rows). Every start and stop must be a number (drop missing rows first).
    """
    t0 = np.asarray(start, dtype=np.float64)
    t1 = np.asarray(stop, dtype=np.float64)
    n = t1.size
    if t0.shape != (n,) or t1.ndim != 1:
        raise ValueError("start and stop must be 1-d arrays of one length")
    lab = np.arange(n) if rows is None else np.asarray(rows)
    if lab.shape != (n,):
        raise ValueError("rows must have one label per row")
    pid = np.asarray(patient)
    if pid.shape != (n,):
        raise ValueError("patient must have one identifier per row")
    ev = np.zeros(n, dtype=bool) if event is None else np.asarray(event).astype(bool)
    out: list[IntervalIssue] = []
    empty = ~(t0 < t1)
    if np.any(empty):
        out.append(_issue("INTERVAL-EMPTY", lab[empty]))
    ok = np.flatnonzero(~empty)
    if ok.size == 0:
        return tuple(out)
    if pid.dtype.kind in "iub":
        codes = np.unique(pid[ok], return_inverse=True)[1].astype(np.intp)
    else:  # mixed or text identifiers: compare as text
        codes = np.unique(pid[ok].astype(str), return_inverse=True)[1].astype(np.intp)
    s0, s1 = t0[ok], t1[ok]
    order = np.lexsort((s1, s0, codes))
    c, a, b, e, rl = codes[order], s0[order], s1[order], ev[ok][order], lab[ok][order]
    m = c.size
    same = np.zeros(m, dtype=bool)  # same patient as the previous row (in sorted order)
    same[1:] = c[1:] == c[:-1]
    # segmented running maximum of stop (exact, on integer ranks of the stop times)
    u, rank = np.unique(b, return_inverse=True)
    key = c.astype(np.int64) * np.int64(u.size) + rank.astype(np.int64)
    acc = np.maximum.accumulate(key)
    is_max = key == acc
    holder = np.maximum.accumulate(np.where(is_max, np.arange(m), -1))  # row holding the max
    prev_max = np.full(m, np.nan)
    prev_holder = np.full(m, -1, dtype=np.intp)
    prev_max[1:] = u[(acc[:-1] - c[:-1].astype(np.int64) * np.int64(u.size))]
    prev_holder[1:] = holder[:-1]
    dup = same.copy()
    dup[1:] &= (a[1:] == a[:-1]) & (b[1:] == b[:-1])
    over = same & (a < prev_max) & ~dup
    gap = same & (a > prev_max)
    last = np.ones(m, dtype=bool)
    last[:-1] = c[:-1] != c[1:]
    evnl = e & ~last
    if np.any(dup):
        i = np.flatnonzero(dup)
        pairs = [(int(rl[k - 1]), int(rl[k])) for k in i[:100]]
        out.append(_issue("INTERVAL-DUPLICATE", np.concatenate((rl[i - 1], rl[i])), pairs))
    if np.any(over):
        i = np.flatnonzero(over)
        j = prev_holder[i]
        pairs = [(int(rl[x]), int(rl[y])) for x, y in zip(j[:100], i[:100], strict=True)]
        out.append(_issue("INTERVAL-OVERLAP", np.concatenate((rl[j], rl[i])), pairs))
    if np.any(evnl):
        out.append(_issue("EVENT-NOT-LAST", rl[evnl]))
    if np.any(gap):
        i = np.flatnonzero(gap)
        j = prev_holder[i]
        pairs = [(int(rl[x]), int(rl[y])) for x, y in zip(j[:100], i[:100], strict=True)]
        out.append(_issue("INTERVAL-GAP", np.concatenate((rl[j], rl[i])), pairs))
    return tuple(out)

"""``survstudy init``'s pairing of time and status columns (issue 17 item 6).

Kind of truth: hand-written cases (each expected pair read off the column names).
"""

from __future__ import annotations

import pytest

from survstudy.data.scaffold import ColumnGuess, time_status_pairs


def _g(name: str, kind: str) -> ColumnGuess:
    if kind == "flag":
        return ColumnGuess(name, name, "binary", ("Yes", "No"), "1 = Yes, 0 = No")
    return ColumnGuess(name, name, "continuous")


@pytest.mark.parametrize(
    ("columns", "pairs"),
    [
        ([("os_months", "num"), ("os_status", "flag")], [("os_months", "os_status")]),
        ([("pfs_time", "num"), ("pfs_event", "flag")], [("pfs_time", "pfs_event")]),
        (
            [("rtime", "num"), ("recur", "flag"), ("dtime", "num"), ("death", "flag")],
            [("rtime", "recur"), ("dtime", "death")],
        ),
        ([("time_to_death", "num"), ("death", "flag")], [("time_to_death", "death")]),
        ([("age", "num"), ("sex", "flag")], []),  # no time word
        ([("nodes", "num"), ("node_status", "flag")], []),  # no time word
        ([("os_days", "num"), ("pfs_status", "flag")], []),  # different stems
        ([("os_time", "num"), ("os_status", "num")], []),  # the status is not 0/1
    ],
)
def test_pairs(columns: list[tuple[str, str]], pairs: list[tuple[str, str]]) -> None:
    got = time_status_pairs([_g(n, k) for n, k in columns])
    assert [(t.column, f.column) for t, f in got] == pairs

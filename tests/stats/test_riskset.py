"""Risk-set bookkeeping against hand counts and a naive oracle."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from survstudy.stats.riskset import distinct_times, risk_table


def test_hand_counted_table() -> None:
    """Hand calculation: times 1,1,2,3,3,3,5 with events 1,0,1,1,1,0,0."""
    t = [3, 1, 5, 3, 2, 1, 3]
    e = [1, 1, 0, 0, 1, 0, 1]
    rt = risk_table(t, e)
    np.testing.assert_array_equal(rt.time, [1, 2, 3, 5])
    np.testing.assert_array_equal(rt.n_risk, [7, 5, 4, 1])
    np.testing.assert_array_equal(rt.n_event, [1, 1, 2, 0])
    np.testing.assert_array_equal(rt.n_censor, [1, 0, 1, 1])


def test_grouped_counts_add_up_to_overall() -> None:
    """Hand calculation on two groups."""
    t = [1, 2, 2, 4, 4, 6]
    e = [1, 1, 0, 1, 1, 0]
    g = [0, 1, 0, 0, 1, 1]
    rt = risk_table(t, e, g, n_groups=2)
    np.testing.assert_array_equal(rt.n_risk, [[3, 3], [2, 3], [1, 2], [0, 1]])
    np.testing.assert_array_equal(rt.n_event, [[1, 0], [0, 1], [1, 1], [0, 0]])


def test_months_from_days_are_not_false_non_ties() -> None:
    """Identity: equal day counts divided by 30.4375 in different ways stay one time."""
    days = np.array([365.0, 365.0, 730.0])
    a = days / 30.4375
    b = days * (1 / 30.4375)
    uniq, inv = distinct_times(np.concatenate([a, b]))
    assert uniq.size == 2
    np.testing.assert_array_equal(inv, [0, 0, 1, 0, 0, 1])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.booleans(), st.integers(0, 2)), min_size=1, max_size=40
    ),
    st.booleans(),
)
def test_matches_naive_oracle(rows: list[tuple[int, bool, int]], fractional: bool) -> None:
    """Naive oracle: count by a Python loop; both the counting and the sorting path."""
    t = np.array([r[0] for r in rows], dtype=float) + (0.5 if fractional else 0.0)
    e = np.array([r[1] for r in rows])
    g = np.array([r[2] for r in rows])
    rt = risk_table(t, e, g, n_groups=3)
    times = sorted(set(t.tolist()))
    np.testing.assert_array_equal(rt.time, times)
    for j, tj in enumerate(times):
        for grp in range(3):
            at_risk = sum(1 for ti, gi in zip(t, g, strict=True) if ti >= tj and gi == grp)
            ev = sum(1 for ti, ei, gi in zip(t, e, g, strict=True) if ti == tj and ei and gi == grp)
            assert rt.n_risk[j, grp] == at_risk
            assert rt.n_event[j, grp] == ev

"""Risk-set bookkeeping shared by Kaplan–Meier, the log-rank family and Cox regression.

One job: from follow-up times (and optional group codes) find the distinct
times and, at each, the number at risk, the events and the censorings. Sorting
happens once, here.

Times from the data layer are whole days, so the distinct times are found by
counting (``bincount`` over the day range, O(n + range)) rather than sorting,
when the times are integer-valued and their range is not much larger than n.
Other times are sorted, and neighbours closer than a relative tolerance of
``sqrt(machine epsilon)`` are treated as tied — the rule of R's ``aeqSurv``
(Therneau, survival package, ``vignettes/tiedtimes``): a duration computed as
days / 30.4375 must not turn one tie into two times that differ in the 16th
digit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["TIE_TOLERANCE", "RiskTable", "distinct_times", "risk_table"]

TIE_TOLERANCE = float(np.sqrt(np.finfo(np.float64).eps))


def _day_offsets(t: NDArray[np.float64]) -> tuple[NDArray[np.intp], float, int] | None:
    """Offsets from the smallest time when the counting path applies, else ``None``."""
    tmin = float(t.min())
    span = float(t.max()) - tmin
    if span <= max(4 * t.size, 1 << 16) and np.array_equal(t, np.floor(t)):
        return (t - tmin).astype(np.intp), tmin, int(span) + 1
    return None


def distinct_times(time: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Distinct times in ascending order and, for each observation, the index of its time.

    ``uniq[inverse] == time`` up to the tie tolerance.
    """
    t = np.asarray(time, dtype=np.float64)
    if t.size == 0:
        return np.empty(0), np.empty(0, dtype=np.intp)
    days = _day_offsets(t)
    if days is not None:
        offset, tmin, width = days
        present = np.bincount(offset, minlength=width) > 0
        rank = np.cumsum(present) - 1
        uniq = np.flatnonzero(present).astype(np.float64) + tmin
        return uniq, rank[offset].astype(np.intp)
    uniq, inverse = np.unique(t, return_inverse=True)
    if uniq.size > 1:
        scale = max(abs(uniq[0]), abs(uniq[-1]), 1.0)
        new_group = np.diff(uniq) > TIE_TOLERANCE * scale
        if not np.all(new_group):
            # Merge near-ties onto the first (smallest) time of each run.
            group = np.concatenate(([0], np.cumsum(new_group)))
            first = np.concatenate(([True], new_group))
            uniq = uniq[first]
            inverse = group[inverse]
    return uniq, inverse.astype(np.intp)


@dataclass(frozen=True)
class RiskTable:
    """Counts at each distinct time (ascending), overall or per group.

    With ``n_groups`` groups the count arrays have shape ``(k, n_groups)``;
    without groups they have shape ``(k,)``. ``n_risk`` is the number still
    under observation just before the time (exits at the time are still at risk).
    """

    time: NDArray[np.float64]
    n_risk: NDArray[np.float64]
    n_event: NDArray[np.float64]
    n_censor: NDArray[np.float64]


def risk_table(
    time: ArrayLike,
    event: ArrayLike,
    group: ArrayLike | None = None,
    n_groups: int | None = None,
    weights: ArrayLike | None = None,
) -> RiskTable:
    """Number at risk, events and censorings at each distinct time.

    ``group`` holds integer codes ``0 .. n_groups-1``; ``weights`` are case
    weights (default 1). Event is 0/1 or boolean.
    """
    t = np.asarray(time, dtype=np.float64)
    e = np.asarray(event).astype(np.float64)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    ew = e if w is None else w * e
    exits: NDArray[np.float64]
    events: NDArray[np.float64]
    days = _day_offsets(t) if t.size else None
    if days is not None and group is not None:
        # Grouped fast path: one bincount over (day, group) cells, then keep the days that occur.
        offset, tmin, width = days
        g = np.asarray(group, dtype=np.intp)
        ng = (int(g.max()) + 1 if g.size else 1) if n_groups is None else int(n_groups)
        cell = offset * ng
        cell += g
        size = width * ng
        exits_all = np.bincount(cell, weights=w, minlength=size).astype(np.float64)
        exits_all = exits_all.reshape(width, ng)
        count = exits_all.sum(axis=1) if w is None else np.bincount(offset, minlength=width)
        present = count > 0
        uniq = np.flatnonzero(present).astype(np.float64) + tmin
        exits = exits_all[present]
        events = np.bincount(cell, weights=ew, minlength=size).astype(np.float64)
        events = events.reshape(width, ng)[present]
    elif days is not None:
        # Fast path: count straight onto the day grid, then keep the days that occur.
        offset, tmin, width = days
        exits_all = np.bincount(offset, weights=w, minlength=width).astype(np.float64)
        present = exits_all > 0 if w is None else np.bincount(offset, minlength=width) > 0
        uniq = np.flatnonzero(present).astype(np.float64) + tmin
        exits = exits_all[present]
        events = np.bincount(offset, weights=ew, minlength=width).astype(np.float64)[present]
    else:
        uniq, inv = distinct_times(t)
        k = uniq.size
        if group is None:
            exits = np.bincount(inv, weights=w, minlength=k).astype(np.float64)
            events = np.bincount(inv, weights=ew, minlength=k).astype(np.float64)
        else:
            g = np.asarray(group, dtype=np.intp)
            ng = (int(g.max()) + 1 if g.size else 1) if n_groups is None else int(n_groups)
            cell = inv * ng + g
            shape = (k, ng)
            exits = np.bincount(cell, weights=w, minlength=k * ng).astype(np.float64).reshape(shape)
            events = np.bincount(cell, weights=ew, minlength=k * ng).astype(np.float64)
            events = events.reshape(shape)
    # At risk just before t_j: everyone whose exit time is >= t_j.
    n_risk: NDArray[np.float64] = np.cumsum(exits[::-1], axis=0)[::-1]
    return RiskTable(time=uniq, n_risk=n_risk, n_event=events, n_censor=exits - events)

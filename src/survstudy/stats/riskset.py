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

__all__ = ["TIE_TOLERANCE", "RiskTable", "distinct_times", "number_at_risk", "risk_table"]

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
        return uniq, rank[offset].astype(np.intp, copy=False)
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
    start: ArrayLike | None = None,
) -> RiskTable:
    """Number at risk, events and censorings at each distinct time.

    ``group`` holds integer codes ``0 .. n_groups-1``; ``weights`` are case
    weights (default 1). Event is 0/1 or boolean.

    ``start`` (delayed entry / counting-process rows ``(start, time]``): a row is at
    risk at t when ``start < t ≤ time``; the times listed are still the distinct
    ``time`` values (R's ``survfit`` on ``Surv(start, stop, event)``), on one tie grid
    with the starts. ``n_risk`` is then the running sum of exits from the end minus
    the rows whose start is at or after the time.
    """
    if start is not None:
        return _risk_table_entry(time, event, group, n_groups, weights, start)
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


def _risk_table_entry(
    time: ArrayLike,
    event: ArrayLike,
    group: ArrayLike | None,
    n_groups: int | None,
    weights: ArrayLike | None,
    start: ArrayLike,
) -> RiskTable:
    """:func:`risk_table` for rows ``(start, time]`` (see there)."""
    t = np.asarray(time, dtype=np.float64)
    st = np.asarray(start, dtype=np.float64)
    n = t.size
    e = np.asarray(event).astype(np.float64)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    ew = e if w is None else w * e
    grid, inv = distinct_times(np.concatenate((t, st)))
    ti, si = inv[:n], inv[n:]
    k = grid.size
    if group is None:
        ng = 1
        cell_t, cell_s = ti, si
    else:
        g = np.asarray(group, dtype=np.intp)
        ng = (int(g.max()) + 1 if g.size else 1) if n_groups is None else int(n_groups)
        cell_t, cell_s = ti * ng + g, si * ng + g
    size = k * ng
    exits = np.bincount(cell_t, weights=w, minlength=size).astype(np.float64).reshape(k, ng)
    events = np.bincount(cell_t, weights=ew, minlength=size).astype(np.float64).reshape(k, ng)
    entries = np.bincount(cell_s, weights=w, minlength=size).astype(np.float64).reshape(k, ng)
    # at risk at grid time j: stop at or after j, minus start at or after j
    at_risk = np.cumsum((exits - entries)[::-1], axis=0)[::-1]
    present = np.bincount(ti, minlength=k) > 0
    shape = (-1,) if group is None else (-1, ng)
    return RiskTable(
        time=grid[present],
        n_risk=at_risk[present].reshape(shape),
        n_event=events[present].reshape(shape),
        n_censor=(exits - events)[present].reshape(shape),
    )


def number_at_risk(
    times: ArrayLike,
    time: ArrayLike,
    *,
    start: ArrayLike | None = None,
    group: ArrayLike | None = None,
    n_groups: int | None = None,
    weights: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """Number of rows at risk at each of ``times``: ``start < t ≤ time`` (``start`` default −∞).

    The exact count at any t, for number-at-risk tables under curves with delayed
    entry or patients moving between groups (R's ``summary(survfit, times=)`` reports
    instead the count at the next observed stop time, which misses rows entering in
    between). Shape ``(len(times),)``, or ``(len(times), n_groups)`` with ``group``.
    Ties within the module's tolerance count as equal times.
    """
    q = np.atleast_1d(np.asarray(times, dtype=np.float64))
    t = np.asarray(time, dtype=np.float64)
    w = np.ones(t.size) if weights is None else np.asarray(weights, dtype=np.float64)
    scale = max(float(np.max(np.abs(t))) if t.size else 1.0, 1.0)
    tol = TIE_TOLERANCE * scale
    g = np.zeros(t.size, dtype=np.intp) if group is None else np.asarray(group, dtype=np.intp)
    ng = (
        1
        if group is None
        else ((int(g.max()) + 1 if g.size else 1) if n_groups is None else n_groups)
    )
    out = np.zeros((q.size, ng))
    for code in range(ng):  # one pass per group (a handful), vectorised over rows and times
        m = g == code
        ts = np.sort(t[m])
        tw = w[m][np.argsort(t[m], kind="stable")]
        # weight with stop >= q (within tolerance)
        cw = np.concatenate(([0.0], np.cumsum(tw)))
        out[:, code] = cw[-1] - cw[np.searchsorted(ts, q - tol, side="left")]
        if start is not None:
            s_all = np.asarray(start, dtype=np.float64)[m]
            o = np.argsort(s_all, kind="stable")
            ss, sw = s_all[o], w[m][o]
            cs = np.concatenate(([0.0], np.cumsum(sw)))
            # minus weight with start >= q (within tolerance): not yet entered
            out[:, code] -= cs[-1] - cs[np.searchsorted(ss, q - tol, side="left")]
    return out[:, 0] if group is None else out

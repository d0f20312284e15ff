"""Split follow-up for time-dependent variables: the rows' intervals and risk counts.

Thin wrappers over :func:`survstudy.stats.timedep.tdc_split` and
:func:`survstudy.stats.riskset.number_at_risk` for :class:`~.rows.MemoryRows`.
"""

from __future__ import annotations

import numpy as np

from survstudy.stats.riskset import number_at_risk as _number_at_risk
from survstudy.stats.timedep import tdc_split

__all__ = ["carried_value", "number_at_risk", "split_follow_up"]


def split_follow_up(
    time: np.ndarray,
    event: np.ndarray,
    exposures: list[np.ndarray],
    cuts: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """Each patient's ``(0, time]`` split at every exposure time of ``exposures`` (one array
    of days per variable, NaN: never), as R's ``tmerge(..., tdc(t1), tdc(t2), …)``
    (:func:`survstudy.stats.timedep.tdc_split`): (patient, start, stop, event, one 0/1
    array per variable). A row ``(a, b]`` is exposed when the exposure time is ``<= a``:
    an exposure on or before time zero holds from the start, one at or after the end
    of follow-up never. ``time`` must be positive. ``cuts``: further (patient, days) cut
    points — the dates of measured values (:func:`carried_value` gives their value per row).
    """
    n = time.size
    extra = cuts or []
    parts = [*exposures, *(np.asarray(d, dtype=float) for _p, d in extra)]
    times = np.concatenate(parts) if parts else np.zeros(0)
    patient = np.concatenate(
        [
            np.tile(np.arange(n, dtype=np.intp), len(exposures)),
            *(np.asarray(p, dtype=np.intp) for p, _d in extra),
        ]
    )
    sp = tdc_split(np.zeros(n), time, event, patient, times, np.ones(times.size), init=0.0)
    with np.errstate(invalid="ignore"):
        flags = [(te[sp.patient] <= sp.start).astype(float) for te in exposures]
    return sp.patient, sp.start, sp.stop, sp.event.astype(float), flags


def number_at_risk(times: np.ndarray, stop: np.ndarray, start: np.ndarray) -> tuple[int, ...]:
    """Rows at risk at each of ``times`` exactly (``start < t <= stop``); at a time ``<= 0``
    the rows that start there or before (``start <= t < stop``: those entering at 0)."""
    t = np.asarray(times, dtype=float)
    nr = np.asarray(_number_at_risk(t, stop, start=start), dtype=float).reshape(-1)
    first = np.array([np.sum((start <= x) & (x < stop)) for x in t[t <= 0]], dtype=float)
    nr[t <= 0] = first
    return tuple(int(x) for x in nr)


def carried_value(
    row_patient: np.ndarray,
    row_start: np.ndarray,
    patient: np.ndarray,
    days: np.ndarray,
    value: np.ndarray,
) -> np.ndarray:
    """The value of each split row ``(start, stop]``: the patient's last measurement at or
    before ``start`` (of several on one day, the last in input order), as R's ``tmerge(...,
    tdc(days, value))``; NaN before the patient's first measurement. The rows must be the
    follow-up split at (at least) every measurement time (:func:`split_follow_up`)."""
    out = np.full(row_patient.size, np.nan)
    if days.size == 0:
        return out
    # measurements and rows merged by (patient, time); at equal keys measurements first
    key_p = np.concatenate((patient, row_patient)).astype(np.intp)
    key_t = np.concatenate((days, row_start)).astype(float)
    kind = np.concatenate(
        (np.zeros(days.size, dtype=np.int8), np.ones(row_patient.size, dtype=np.int8))
    )
    seq = np.concatenate((np.arange(days.size), np.arange(row_patient.size)))
    order = np.lexsort((seq, kind, key_t, key_p))
    is_m = kind[order] == 0
    last_m = np.maximum.accumulate(np.where(is_m, np.arange(order.size), -1))
    at = np.flatnonzero(~is_m)
    lm = last_m[at]
    src = order[np.where(lm >= 0, lm, 0)]
    same = (lm >= 0) & (key_p[src] == key_p[order[at]])
    row = order[at] - days.size
    out[row[same]] = np.asarray(value, dtype=float)[src[same]]
    return out

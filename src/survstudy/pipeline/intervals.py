"""Split follow-up for time-dependent variables: the rows' intervals and risk counts.

Thin wrappers over :func:`survstudy.stats.timedep.tdc_split` and
:func:`survstudy.stats.riskset.number_at_risk` for :class:`~.rows.MemoryRows`.
"""

from __future__ import annotations

import numpy as np

from survstudy.stats.riskset import number_at_risk as _number_at_risk
from survstudy.stats.timedep import tdc_split

__all__ = ["number_at_risk", "split_follow_up"]


def split_follow_up(
    time: np.ndarray, event: np.ndarray, exposures: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """Each patient's ``(0, time]`` split at every exposure time of ``exposures`` (one array
    of days per variable, NaN: never), as R's ``tmerge(..., tdc(t1), tdc(t2), …)``
    (:func:`survstudy.stats.timedep.tdc_split`): (patient, start, stop, event, one 0/1
    array per variable). A row ``(a, b]`` is exposed when the exposure time is ``<= a``:
    an exposure on or before time zero holds from the start, one at or after the end
    of follow-up never. ``time`` must be positive.
    """
    n = time.size
    times = np.concatenate(exposures) if exposures else np.zeros(0)
    patient = np.tile(np.arange(n), len(exposures))
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

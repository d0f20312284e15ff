"""Pure endpoint derivation rules, on arrays of day numbers (NaN = missing date).

These functions hold the rules; :mod:`survstudy.data.cohort` adds the checks and
messages around them. Rules (also in the README, "Study spec and data"):

1. time zero is the start date; without it the endpoint is not derived (NaN);
2. the event date is the earliest of the event dates (composite endpoint);
3. a competing event strictly before the event ends follow-up (status 2; an event
   and a competing event on the same day count as the event);
4. without an event or competing event the patient is censored (status 0) at the
   latest of the censoring (last follow-up) dates; with none, the time is NaN;
5. an end after the data cut-off becomes a censoring at the cut-off;
6. a time beyond the horizon becomes a censoring at the horizon.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Derivation", "censor_at_horizon", "derive_time_to_event", "nanmax", "nanmin"]


def nanmin(arrays: Sequence[np.ndarray], n: int) -> np.ndarray:
    """Element-wise minimum ignoring NaN (NaN where all are NaN); all-NaN for no arrays."""
    if not arrays:
        return np.full(n, np.nan)
    stack = np.vstack([np.asarray(a, dtype=float) for a in arrays])
    allnan = np.isnan(stack).all(axis=0)
    return np.where(allnan, np.nan, np.where(np.isnan(stack), np.inf, stack).min(axis=0))


def nanmax(arrays: Sequence[np.ndarray], n: int) -> np.ndarray:
    """Element-wise maximum ignoring NaN (NaN where all are NaN); all-NaN for no arrays."""
    if not arrays:
        return np.full(n, np.nan)
    stack = np.vstack([np.asarray(a, dtype=float) for a in arrays])
    allnan = np.isnan(stack).all(axis=0)
    return np.where(allnan, np.nan, np.where(np.isnan(stack), -np.inf, stack).max(axis=0))


@dataclass(frozen=True)
class Derivation:
    """Result of :func:`derive_time_to_event` (all arrays have one element per patient).

    ``time`` in days (NaN: not derivable), ``status`` 0 censored / 1 event /
    2 competing (NaN: not derivable), ``event_date`` the earliest event date,
    ``followup`` the latest censoring date, ``after_cutoff`` marks events that were
    censored at the cut-off.
    """

    time: np.ndarray
    status: np.ndarray
    event_date: np.ndarray
    followup: np.ndarray
    after_cutoff: np.ndarray

    @property
    def event(self) -> np.ndarray:
        """1.0 for an event, 0.0 otherwise (competing events count as censored), NaN unknown."""
        return np.where(np.isnan(self.status), np.nan, (self.status == 1).astype(float))


def censor_at_horizon(
    time: np.ndarray, status: np.ndarray, horizon: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Administrative censoring: a time beyond ``horizon`` becomes a censoring at it."""
    if horizon is None:
        return time, status
    over = time > horizon
    return np.where(over, horizon, time), np.where(over, 0.0, status)


def derive_time_to_event(
    start: np.ndarray,
    events: Sequence[np.ndarray],
    censor: Sequence[np.ndarray] = (),
    competing: Sequence[np.ndarray] = (),
    *,
    cutoff: float = np.inf,
    horizon: float | None = None,
) -> Derivation:
    """Apply the module's rules to day numbers; see :class:`Derivation`."""
    start = np.asarray(start, dtype=float)
    n = start.shape[0]
    ev = nanmin(events, n)
    fu = nanmax(censor, n)
    comp = nanmin(competing, n)
    is_event = ~np.isnan(ev) & (np.isnan(comp) | (ev <= comp))
    is_comp = ~np.isnan(comp) & ~is_event
    is_cens = ~is_event & ~is_comp & ~np.isnan(fu)
    end = np.where(is_event, ev, np.where(is_comp, comp, np.where(is_cens, fu, np.nan)))
    status = np.where(is_event, 1.0, np.where(is_comp, 2.0, np.where(is_cens, 0.0, np.nan)))
    has = ~np.isnan(start)
    after_cutoff = has & (status == 1) & (end > cutoff)
    late = end > cutoff
    end = np.where(late, cutoff, end)
    status = np.where(late, 0.0, status)
    with np.errstate(invalid="ignore"):
        time = np.where(has, end - start, np.nan)
    bad = np.isnan(time) | (time < 0)
    time = np.where(bad, np.nan, time)
    status = np.where(bad, np.nan, status)
    time, status = censor_at_horizon(time, status, horizon)
    return Derivation(
        time=time, status=status, event_date=ev, followup=fu, after_cutoff=after_cutoff
    )

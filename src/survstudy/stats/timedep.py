"""Time-dependent covariates: splitting follow-up at exposure times, landmarks, Simon–Makuch.

A covariate that changes during follow-up (transplantation, adjuvant chemotherapy,
a laboratory value) enters a Cox model or a Kaplan–Meier curve through
counting-process rows ``(start, stop]``: each patient's follow-up is cut at the
times the covariate changes and every piece carries the value that held on it
(Therneau & Grambsch 2000, sec. 3.7; Therneau, Crowson & Atkinson, "Using
time dependent covariates and time dependent coefficients in the Cox model",
vignette of the R survival package). Grouping patients by something that
happens after time zero instead credits the treated group with the time they
had to survive to be treated (immortal-time bias; Suissa 2008).

* :func:`tdc_split` is R's ``tmerge(base, long, id, tdc(time, value))``: a long
  table of measurements (several per patient) becomes intervals; the value of a
  measurement at time u holds on ``(u, next change]``; a measurement at or before
  the patient's start holds from the start; a measurement at or after the stop is
  ignored; before the first measurement the value is ``init``; of several
  measurements at one time the last (in input order) wins; the event stays on the
  patient's last interval.
* :func:`split_at_exposure` is ``tmerge(..., tdc(t_exposure))`` for a 0/1 exposure:
  ``(start, t_exp]`` unexposed, ``(t_exp, stop]`` exposed; ``t_exp ≤ start`` means
  exposed from the start; NaN means never exposed.
* :func:`landmark` keeps the patients still under follow-up at a landmark time,
  groups them by their status then and measures time from it (Anderson, Cain &
  Gelber 1983).
* :func:`simon_makuch` gives Kaplan–Meier curves by a time-dependent group on the
  split data (Simon & Makuch 1984; patients move between curves) with the exact
  number at risk per curve at chosen times.

Everything here is vectorised over patients and measurements (sorts, searches and
cumulative maxima); identifiers are never needed, only patient positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from survstudy.errors import AnalysisError
from survstudy.stats._common import as_event
from survstudy.stats.km import KaplanMeierResult, kaplan_meier
from survstudy.stats.riskset import number_at_risk

__all__ = [
    "LandmarkData",
    "SimonMakuch",
    "SplitData",
    "landmark",
    "simon_makuch",
    "split_at_exposure",
    "tdc_split",
]

F = NDArray[np.float64]
I = NDArray[np.intp]  # noqa: E741


@dataclass(frozen=True)
class SplitData:
    """Counting-process rows: ``patient`` is the input position of the patient of each row."""

    patient: I
    start: F
    stop: F
    event: NDArray[np.bool_]
    value: F

    @property
    def n(self) -> int:
        return int(self.patient.size)

    def to_records(self) -> list[dict[str, Any]]:
        return [
            {
                "patient": int(self.patient[i]),
                "start": float(self.start[i]),
                "stop": float(self.stop[i]),
                "event": bool(self.event[i]),
                "value": None if np.isnan(self.value[i]) else float(self.value[i]),
            }
            for i in range(self.n)
        ]


def _follow_up(
    start: ArrayLike, stop: ArrayLike, event: ArrayLike
) -> tuple[F, F, NDArray[np.bool_]]:
    t1 = np.asarray(stop, dtype=np.float64)
    if t1.ndim != 1:
        raise ValueError("stop must be one-dimensional")
    t0 = np.asarray(start, dtype=np.float64)
    if t0.shape != t1.shape:
        raise ValueError("start and stop must have one value per patient")
    if not (np.all(np.isfinite(t0)) and np.all(np.isfinite(t1))):
        raise AnalysisError("start and stop times must be finite; drop those patients first")
    bad = np.flatnonzero(~(t0 < t1))
    if bad.size:
        raise AnalysisError(
            f"{bad.size} patient(s) have no follow-up after the start (stop <= start; "
            f"positions {', '.join(str(int(i)) for i in bad[:5])}{' …' if bad.size > 5 else ''})"
        )
    return t0, t1, as_event(event, t1.size)


def tdc_split(
    start: ArrayLike,
    stop: ArrayLike,
    event: ArrayLike,
    patient: ArrayLike,
    time: ArrayLike,
    value: ArrayLike,
    *,
    init: float = float("nan"),
) -> SplitData:
    """Split each patient's ``(start, stop]`` at the measurement times of a long table.

    ``start``/``stop``/``event`` have one entry per patient; ``patient`` (positions
    0..n-1 into them), ``time`` and ``value`` one entry per measurement (NaN times
    are skipped). Rules in the module docstring (R's ``tmerge`` with ``tdc(time,
    value, init)``). Output rows are ordered by patient, then time.
    """
    t0, t1, ev = _follow_up(start, stop, event)
    n = t1.size
    mp = np.asarray(patient, dtype=np.intp)
    mt = np.asarray(time, dtype=np.float64)
    mv = np.asarray(value, dtype=np.float64)
    if mp.shape != mt.shape or mv.shape != mt.shape or mp.ndim != 1:
        raise ValueError("patient, time and value must be 1-d arrays of one length")
    if mp.size and (mp.min() < 0 or mp.max() >= n):
        raise ValueError("patient positions must index the follow-up arrays")
    ok = ~np.isnan(mt)
    mp, mt, mv = mp[ok], mt[ok], mv[ok]
    # measurements sorted by (patient, time, input order): the last at a time wins
    o = np.lexsort((np.arange(mp.size), mt, mp))
    mp, mt, mv = mp[o], mt[o], mv[o]
    # cut points: distinct measurement times strictly inside the patient's follow-up
    inside = (mt > t0[mp]) & (mt < t1[mp])
    cp, ct = mp[inside], mt[inside]
    if ct.size:
        keep = np.ones(ct.size, dtype=bool)
        keep[1:] = (cp[1:] != cp[:-1]) | (ct[1:] != ct[:-1])
        cp, ct = cp[keep], ct[keep]
    # interval starts: each patient's start, then its cuts (already in (patient, time) order)
    cuts_per = np.bincount(cp, minlength=n)
    rows_per = cuts_per + 1
    first = np.concatenate(([0], np.cumsum(rows_per)[:-1])).astype(np.intp)
    total = int(rows_per.sum())
    rp = np.repeat(np.arange(n, dtype=np.intp), rows_per)
    rs = np.empty(total)
    rs[first] = t0
    is_cut = np.ones(total, dtype=bool)
    is_cut[first] = False
    rs[is_cut] = ct  # cuts fill the remaining slots in (patient, time) order
    last = first + rows_per - 1
    re = np.empty(total)
    re[:-1] = rs[1:]
    re[last] = t1
    rev = np.zeros(total, dtype=bool)
    rev[last] = ev
    # value on (a, b]: the last measurement of the patient with time <= a
    # (a measurement before the start applies from the start)
    vals = np.full(total, float(init))
    if mt.size:
        # merge rows and measurements by (patient, time); measurements first at equal keys
        key_p = np.concatenate((mp, rp))
        key_t = np.concatenate((mt, rs))
        kind = np.concatenate((np.zeros(mt.size, dtype=np.int8), np.ones(total, dtype=np.int8)))
        seq = np.concatenate((np.arange(mt.size), np.arange(total)))
        order = np.lexsort((seq, kind, key_t, key_p))
        is_m = kind[order] == 0
        pos = np.where(is_m, np.arange(order.size), -1)
        last_m = np.maximum.accumulate(pos)  # position of the latest measurement so far
        rows_at = np.flatnonzero(~is_m)
        lm = last_m[rows_at]
        has = lm >= 0
        src = np.where(has, order[np.where(has, lm, 0)], 0)  # index into measurements
        same = has & (mp[np.minimum(src, mp.size - 1)] == key_p[order[rows_at]])
        target = order[rows_at] - mt.size  # row index
        vals[target[same]] = mv[src[same]]
    return SplitData(patient=rp, start=rs, stop=re, event=rev, value=vals)


def split_at_exposure(
    start: ArrayLike,
    stop: ArrayLike,
    event: ArrayLike,
    exposure_time: ArrayLike,
) -> SplitData:
    """Split at a 0/1 exposure that starts at ``exposure_time`` (NaN: never exposed).

    ``(start, t_exp]`` is unexposed (0), ``(t_exp, stop]`` exposed (1); ``t_exp ≤ start``:
    exposed from the start; ``t_exp ≥ stop``: never exposed during follow-up. As
    ``tmerge(base, base, id, tdc(t_exp))`` with ``init = 0``.
    """
    te = np.asarray(exposure_time, dtype=np.float64)
    n = te.size
    return tdc_split(start, stop, event, np.arange(n), te, np.ones(n), init=0.0)


@dataclass(frozen=True)
class LandmarkData:
    """The patients still under follow-up at a landmark: ``keep`` marks them among the input,
    ``time`` is measured from the landmark, ``group`` is 1 when exposed by the landmark."""

    at: float
    keep: NDArray[np.bool_]
    time: F
    event: NDArray[np.bool_]
    group: NDArray[np.int_]

    @property
    def n(self) -> int:
        return int(self.keep.sum())

    @property
    def excluded(self) -> int:
        """Patients with an event or censored at or before the landmark."""
        return int(self.keep.size - self.keep.sum())


def landmark(
    time: ArrayLike,
    event: ArrayLike,
    at: float,
    exposure_time: ArrayLike,
) -> LandmarkData:
    """Landmark analysis at time ``at`` (Anderson, Cain & Gelber 1983).

    Kept: patients whose follow-up ends after the landmark (``time > at``). Group:
    exposed by the landmark (``exposure_time ≤ at``; NaN never), fixed from then on.
    Time: ``time − at``. Exposures after the landmark are ignored (the patient stays
    in the unexposed group), which is the point of the method.
    """
    t = np.asarray(time, dtype=np.float64)
    e = as_event(event, t.size)
    te = np.asarray(exposure_time, dtype=np.float64)
    if te.shape != t.shape:
        raise ValueError("exposure_time must have one value per patient")
    keep = t > at
    with np.errstate(invalid="ignore"):
        grp = (te[keep] <= at).astype(np.int_)  # NaN compares False: never exposed
    return LandmarkData(at=float(at), keep=keep, time=t[keep] - at, event=e[keep], group=grp)


@dataclass(frozen=True)
class SimonMakuch:
    """Kaplan–Meier curves by a time-dependent group; ``n_risk`` is (times × groups)."""

    levels: tuple[Any, ...]
    curves: tuple[KaplanMeierResult, ...]
    times: F
    n_risk: F

    def to_dict(self) -> dict[str, Any]:
        return {
            "groups": [
                {"group": lv, **c.to_dict()} for lv, c in zip(self.levels, self.curves, strict=True)
            ],
            "risk_table": [
                {
                    "time": float(t),
                    "n_risk": {
                        str(lv): float(self.n_risk[i, j]) for j, lv in enumerate(self.levels)
                    },
                }
                for i, t in enumerate(self.times)
            ],
        }


def simon_makuch(
    start: ArrayLike,
    stop: ArrayLike,
    event: ArrayLike,
    group: ArrayLike,
    *,
    times: ArrayLike = (),
    levels: tuple[Any, ...] = (0, 1),
    **km_options: Any,
) -> SimonMakuch:
    """Simon–Makuch curves: ``survfit(Surv(start, stop, event) ~ group)`` on split rows.

    ``group`` holds codes 0..len(levels)-1 per row (e.g. :attr:`SplitData.value`);
    a patient contributes to a curve only while in its group. ``n_risk`` counts the
    rows at risk per group at each of ``times`` exactly (``start < t ≤ stop``).
    ``km_options`` go to :func:`~survstudy.stats.km.kaplan_meier`.
    """
    t1 = np.asarray(stop, dtype=np.float64)
    t0 = np.asarray(start, dtype=np.float64)
    e = np.asarray(event)
    g = np.asarray(group)
    if np.issubdtype(g.dtype, np.floating):
        if np.any(np.isnan(g)):
            raise AnalysisError("the group is missing on some rows")
        g = g.astype(np.intp)
    curves = []
    kept = []
    for code, lv in enumerate(levels):
        m = g == code
        if not np.any(m):
            continue
        kept.append(lv)
        curves.append(kaplan_meier(t1[m], e[m], start=t0[m], **km_options))
    tq = np.atleast_1d(np.asarray(times, dtype=np.float64))
    nr = number_at_risk(tq, t1, start=t0, group=g, n_groups=len(levels))
    cols = [i for i, lv in enumerate(levels) if lv in kept]
    return SimonMakuch(tuple(kept), tuple(curves), tq, nr[:, cols])

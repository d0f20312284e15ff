"""Hand-made data sets for the figure tests and sample renders.

Until ``survstudy.stats.km`` exists, ``km_result`` falls back to a deliberately
naive loop-based Kaplan–Meier (naive oracle: product-limit, Greenwood, log-log CI).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

DAYS_PER_MONTH = 30.4375

# 12 patients shaped like the seed's Figure 1a (PFS, months); 1 = progression.
PFS_MONTHS = [10, 14, 18, 22, 26, 30, 32, 40, 45, 50, 55, 58]
PFS_EVENT = [1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]
# Hand count, n at risk = #(time >= tick):
#   0 -> 12; 12 -> 11 (all but 10); 24 -> 8 (26..58); 36 -> 5 (40..58);
#   48 -> 3 (50, 55, 58); 60 -> 0.
PFS_TICKS = [0.0, 12.0, 24.0, 36.0, 48.0, 60.0]
PFS_N_RISK = [12, 11, 8, 5, 3, 0]


def days(months: list[float]) -> np.ndarray:
    return np.round(np.asarray(months, dtype=float) * DAYS_PER_MONTH)


@dataclass(frozen=True)
class _At:
    n_risk: np.ndarray
    survival: np.ndarray


@dataclass(frozen=True)
class NaiveKM:
    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    survival: np.ndarray
    std_err: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    def survival_at(self, times: Any) -> _At:
        tt = np.asarray(times, dtype=float)
        nr, sv = [], []
        for t in tt:
            later = np.nonzero(self.time >= t)[0]
            nr.append(self.n_risk[later[0]] if later.size else 0)
            before = np.nonzero(self.time <= t)[0]
            sv.append(self.survival[before[-1]] if before.size else 1.0)
        return _At(np.asarray(nr, dtype=float), np.asarray(sv))


def naive_km(time: Any, event: Any) -> NaiveKM:
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=int)
    uts = sorted(set(t.tolist()))
    s, g = 1.0, 0.0
    rows = []
    for u in uts:
        n = int((t >= u).sum())
        d = int(((t == u) & (e == 1)).sum())
        c = int(((t == u) & (e == 0)).sum())
        s *= 1 - d / n
        if n > d:
            g += d / (n * (n - d))
        se = s * math.sqrt(g)
        if 0 < s < 1:
            w = 1.959964 * math.sqrt(g) / math.log(s)
            lo, hi = s ** math.exp(-w), s ** math.exp(w)
        else:
            lo = hi = float("nan") if s == 0 else 1.0
        rows.append((u, n, d, c, s, se, lo, hi))
    a = np.asarray(rows, dtype=float)
    return NaiveKM(*(a[:, i] for i in range(8)))


def km_result(time: Any, event: Any) -> Any:
    """The real estimator when it exists, else the naive oracle."""
    try:
        from survstudy.stats.km import kaplan_meier
    except ImportError:
        return naive_km(time, event)
    return kaplan_meier(np.asarray(time, dtype=float), np.asarray(event, dtype=int))

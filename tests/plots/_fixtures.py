"""Hand-made data sets for the figure tests and sample renders."""

from __future__ import annotations

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


def km_result(time: Any, event: Any) -> Any:
    """The real estimator's result (times in days)."""
    from survstudy.stats.km import kaplan_meier

    return kaplan_meier(np.asarray(time, dtype=float), np.asarray(event, dtype=int))

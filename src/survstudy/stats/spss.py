"""SPSS 25 conventions for the Kaplan–Meier percentiles (the ``spss`` methods profile).

SPSS's KM procedure reports, for the median (and any percentile), an estimate,
a standard error and a 95% confidence interval ``estimate ± 1.96·SE``. These
differ from R's ``survfit`` (which reads the interval off the pointwise
confidence band, Brookmeyer & Crowley 1982), so a published SPSS analysis can
only be reproduced with SPSS's own rule:

* **Estimate.** The ``p``-th percentile is the smallest event time at which the
  KM estimate is at or below ``1 − p`` (no midpoint rule for a flat segment
  lying exactly at ``1 − p``, unlike R).
* **Standard error** (Collett 1994, *Modelling Survival Data in Medical
  Research*, §2.4.3, eqs. 2.17–2.18; the formula of IBM SPSS Statistics
  Algorithms, "KM: percentiles")::

      SE(t_p) = se(Ŝ(t_p)) / f̂(t_p)
      f̂(t_p)  = (Ŝ(û) − Ŝ(l̂)) / (l̂ − û)
      û = max{ t_j : Ŝ(t_j) ≥ 1 − p + ε },   l̂ = min{ t_j : Ŝ(t_j) ≤ 1 − p − ε },   ε = 0.05

  over the distinct event times ``t_j`` (with ``t_0 = 0``, ``Ŝ(0) = 1`` as a
  candidate for û), where ``se(Ŝ)`` is Greenwood's standard error of the KM
  estimate at ``t_p``. ``f̂`` is a difference-quotient estimate of the density at
  the percentile. When no event time has ``Ŝ ≤ 1 − p − ε`` the density and the
  SE cannot be estimated (SPSS prints a dot).
* **Interval.** ``t_p ± z·SE`` with ``z`` the normal quantile; it is not
  truncated at zero (SPSS prints negative lower limits as they come).

Checked by hand calculation in ``tests/stats/test_spss.py`` (no SPSS licence
was available to compare with a live SPSS run; see the module's test notes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtri

from survstudy.stats._common import StatWarning, clean_float

__all__ = ["SPSS_EPSILON", "SpssPercentile", "spss_percentile"]

#: The band around ``1 − p`` used by SPSS/Collett for the density estimate.
SPSS_EPSILON = 0.05


@dataclass(frozen=True)
class SpssPercentile:
    """A KM percentile as SPSS 25 reports it: estimate, SE and ``estimate ± z·SE``.

    ``estimate`` is NaN when the curve never reaches ``1 − probability`` ("not
    reached"); ``se``, ``lower`` and ``upper`` are NaN when they cannot be
    estimated. ``u_time``/``l_time`` are the two event times of the density
    estimate (for checking by hand).
    """

    probability: float
    estimate: float
    se: float
    lower: float
    upper: float
    conf_level: float
    u_time: float
    l_time: float
    warnings: tuple[StatWarning, ...] = ()

    @property
    def reached(self) -> bool:
        return bool(np.isfinite(self.estimate))

    def to_dict(self) -> dict[str, Any]:
        return {
            "probability": self.probability,
            "estimate": clean_float(self.estimate),
            "se": clean_float(self.se),
            "lower": clean_float(self.lower),
            "upper": clean_float(self.upper),
            "conf_level": self.conf_level,
            "u_time": clean_float(self.u_time),
            "l_time": clean_float(self.l_time),
            "warnings": [w.to_dict() for w in self.warnings],
        }


def spss_percentile(
    time: ArrayLike,
    survival: ArrayLike,
    std_err: ArrayLike,
    n_event: ArrayLike | None = None,
    *,
    probability: float = 0.5,
    conf_level: float = 0.95,
    epsilon: float = SPSS_EPSILON,
) -> SpssPercentile:
    """SPSS's percentile of a Kaplan–Meier curve with its SE and symmetric CI.

    ``time``, ``survival`` and ``std_err`` are the KM table at its distinct times
    in ascending order (``std_err`` is Greenwood's SE of Ŝ itself, not of log Ŝ).
    When ``n_event`` is given, rows without events (censoring-only times) are
    ignored, since the estimator is defined over event times. ``probability`` is
    the fraction that has had the event (0.5 for the median).
    """
    t = np.asarray(time, dtype=float)
    s = np.asarray(survival, dtype=float)
    se = np.asarray(std_err, dtype=float)
    if not (t.shape == s.shape == se.shape) or t.ndim != 1:
        raise ValueError("time, survival and std_err must be 1-d arrays of one length")
    if n_event is not None:
        keep = np.asarray(n_event, dtype=float) > 0
        t, s, se = t[keep], s[keep], se[keep]
    if not 0 < probability < 1:
        raise ValueError("probability must be in (0, 1)")
    if not 0 < conf_level < 1:
        raise ValueError("conf_level must be in (0, 1)")
    target = 1.0 - probability
    nan = float("nan")
    # tolerance: a product such as (19/20)(18/19)…(10/11) is 0.5 only up to rounding
    tol = 1e-12
    below = np.flatnonzero(s <= target + tol)
    if below.size == 0:
        return SpssPercentile(
            probability,
            nan,
            nan,
            nan,
            nan,
            conf_level,
            nan,
            nan,
            (
                StatWarning(
                    "MEDIAN-NOT-REACHED" if probability == 0.5 else "PERCENTILE-NOT-REACHED",
                    "the survival curve does not fall to "
                    f"{100 * target:g}%, so this percentile is not reached",
                    {"probability": probability},
                ),
            ),
        )
    j = int(below[0])
    estimate = float(t[j])
    # Candidates for û include the time origin, where Ŝ(0) = 1.
    t_u = np.concatenate(([0.0], t))
    s_u = np.concatenate(([1.0], s))
    upper_idx = np.flatnonzero(s_u >= target + epsilon - tol)
    lower_idx = np.flatnonzero(s <= target - epsilon + tol)
    if upper_idx.size == 0 or lower_idx.size == 0:
        return SpssPercentile(
            probability,
            estimate,
            nan,
            nan,
            nan,
            conf_level,
            float(t_u[upper_idx[-1]]) if upper_idx.size else nan,
            nan,
            (
                StatWarning(
                    "PERCENTILE-SE-UNDEFINED",
                    "the standard error of the median cannot be estimated: the curve does not "
                    f"fall below {100 * (target - epsilon):g}%",
                    {"probability": probability},
                ),
            ),
        )
    iu = int(upper_idx[-1])
    il = int(lower_idx[0])
    u_time, l_time = float(t_u[iu]), float(t[il])
    density = (float(s_u[iu]) - float(s[il])) / (l_time - u_time)
    se_p = float(se[j]) / density if density > 0 else nan
    z = float(ndtri(0.5 + conf_level / 2.0))
    return SpssPercentile(
        probability,
        estimate,
        se_p,
        estimate - z * se_p,
        estimate + z * se_p,
        conf_level,
        u_time,
        l_time,
    )

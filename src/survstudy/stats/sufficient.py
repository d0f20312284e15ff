"""Kaplan–Meier, log-rank and Cox regression from per-distinct-time sufficient statistics.

A data engine (in-memory NumPy, DuckDB, Spark: :mod:`survstudy.engines`) reduces
the rows to one record per (stratum, group, distinct time); everything else is
computed here, on the driver, with the formulas of :mod:`.km`, :mod:`.logrank`
and :mod:`.cox` — so every engine gives the numbers of the in-memory functions.

Containers (produced by engines, consumed here; arrays are float64 unless said):

* :class:`RiskCounts` — per (stratum, group, time): ``n_event`` (weighted
  events) and ``n_exit`` (weighted events + censorings). The number at risk is
  the reverse cumulative sum of ``n_exit`` within (stratum, group).
* :class:`CoxMoments` — the first passes of a Cox fit: weighted means (the
  centre), mean absolute deviations and the centred cross-product matrix about a
  given centre (scaling and the collinearity check of :func:`.cox.cox_fit`).
* :class:`CoxSums` — per (stratum, distinct time) at one β, with centred
  covariates ``x_c = x − center`` and ``η = x_c·β``: over all rows leaving at the
  time, ``e0 = Σ w e^η``, ``e1 = Σ w x_c e^η``, ``e2 = Σ w x_c x_cᵀ e^η``; the
  same over the event rows (``d0, d1, d2``); ``d_x = Σ_events w x_c`` and
  ``d_eta = Σ_events w η``; the number and weight of events.

Ties in time: engines group by the exact stored value; the driver merges
neighbouring times closer than R's ``aeqSurv`` tolerance exactly as
:func:`.riskset.distinct_times` does (on the same set of distinct values, so the
merged times are the in-memory ones).

References: as :mod:`.km`, :mod:`.logrank`, :mod:`.cox` (Therneau & Grambsch
2000, ch. 3; Kalbfleisch & Prentice 2002).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["CoxMoments", "CoxSums", "RiskCounts"]

F = NDArray[np.float64]
I = NDArray[np.intp]  # noqa: E741


@dataclass(frozen=True)
class RiskCounts:
    """Events and exits per (stratum, group, distinct time), sorted by those three keys.

    ``strata_levels``/``group_levels`` are the distinct non-missing values in
    level order (numbers numerically, then text; see
    :func:`survstudy.engines.base.level_sort_key`); ``()`` when the analysis has
    no strata / no groups, in which case every ``stratum``/``group`` code is 0.
    ``n_event`` is the (weighted) number of events at the time, ``n_exit`` the
    (weighted) number of rows whose follow-up ends there (events + censored).
    ``n_rows`` counts the rows used; ``n_read`` the rows read (after ``where``);
    ``n_dropped = n_read − n_rows`` (a missing value in a used column).
    """

    stratum: I
    group: I
    time: F
    n_event: F
    n_exit: F
    strata_levels: tuple[Any, ...] = ()
    group_levels: tuple[Any, ...] = ()
    n_rows: int = 0
    n_read: int = 0
    n_dropped: int = 0


@dataclass(frozen=True)
class CoxMoments:
    """Column summaries of the Cox design over the rows used (see module docstring).

    ``mean`` is the case-weighted mean of each covariate; ``abs_dev`` the
    unweighted mean of ``|x − center|`` and ``cross`` the unweighted
    ``Σ (x − center)(x − center)ᵀ`` (both ``None`` when no centre was given);
    ``binary[j]`` is True when column j takes only the values 0 and 1, and
    ``events_at_one[j]`` counts the event rows with ``x_j = 1``.
    """

    n: int
    n_events: int
    weight_sum: float
    mean: F
    abs_dev: F | None
    cross: F | None
    binary: NDArray[np.bool_]
    events_at_one: F
    n_read: int = 0
    n_dropped: int = 0


@dataclass(frozen=True)
class CoxSums:
    """Per (stratum, distinct time), ascending time within stratum, at one β (module docstring).

    Shapes with ``g`` records and ``p`` covariates: ``stratum, time, n_event,
    w_event, e0, d0, d_eta`` (g,); ``e1, d1, d_x`` (g, p); ``e2, d2`` (g, p, p).
    ``n_event`` is the unweighted number of event rows (Efron's ``d``),
    ``w_event`` their total case weight.
    """

    stratum: I
    time: F
    n_event: F
    w_event: F
    e0: F
    e1: F
    e2: F
    d0: F
    d1: F
    d2: F
    d_x: F
    d_eta: F
    strata_levels: tuple[Any, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

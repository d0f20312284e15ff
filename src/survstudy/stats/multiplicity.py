"""Adjusted p-values for multiple comparisons (R ``p.adjust`` semantics).

- ``bonferroni``: min(1, m p_i).
- ``holm`` (Holm 1979): step-down; sorted ascending p_(i) -> max_{j<=i} min(1, (m-j+1) p_(j)).
- ``bh`` (Benjamini & Hochberg 1995): step-up; sorted ascending ->
  min_{j>=i} min(1, m p_(j) / j).

NaN p-values are left NaN and do not count in m (as R with ``n = sum(!is.na(p))``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["adjust_pvalues"]

_METHODS = ("holm", "bh", "bonferroni")


def adjust_pvalues(p: ArrayLike, method: str = "holm") -> NDArray[np.float64]:
    """Adjusted p-values in the input order."""
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}")
    pv = np.asarray(p, dtype=np.float64).ravel()
    out = np.full(pv.shape, np.nan)
    ok = ~np.isnan(pv)
    q = pv[ok]
    m = q.size
    if m == 0:
        return out
    if method == "bonferroni":
        adj = np.minimum(1.0, m * q)
    elif method == "holm":
        order = np.argsort(q, kind="stable")
        steps = (m - np.arange(m)) * q[order]
        adj_sorted = np.minimum(1.0, np.maximum.accumulate(steps))
        adj = np.empty(m)
        adj[order] = adj_sorted
    else:
        order = np.argsort(q, kind="stable")[::-1]  # descending
        ranks = m - np.arange(m)  # rank of each p in ascending order
        steps = m * q[order] / ranks
        adj_sorted = np.minimum(1.0, np.minimum.accumulate(steps))
        adj = np.empty(m)
        adj[order] = adj_sorted
    out[ok] = adj
    return out

"""Tail probabilities for the Cox module without importing scipy (~0.2 s of import).

* ``norm_sf2(z) = 2·(1 − Φ(|z|)) = erfc(|z|/√2)``.
* ``chisq_sf(x, k)`` for integer k, closed forms (Abramowitz & Stegun 26.4.4/26.4.5):
  even k: ``e^{−x/2} Σ_{j<k/2} (x/2)^j / j!``;
  odd k: ``erfc(√(x/2)) + √(2x/π) e^{−x/2} Σ_{j=1}^{(k−1)/2} x^{j−1} / (1·3·…·(2j−1))``.
  All terms are positive, so there is no cancellation; for k > 200 scipy is used.
* ``norm_quantile(p)`` via :class:`statistics.NormalDist` (Wichura's AS 241, ~1e-16).
"""

from __future__ import annotations

import math
from statistics import NormalDist

__all__ = ["chisq_sf", "norm_quantile", "norm_sf2"]


def norm_sf2(z: float) -> float:
    """Two-sided normal p-value."""
    if math.isnan(z):
        return math.nan
    return math.erfc(abs(z) / math.sqrt(2.0))


def norm_quantile(p: float) -> float:
    return NormalDist().inv_cdf(p)


def chisq_sf(x: float, df: int) -> float:
    """P(X > x) for a chi-square with integer ``df`` degrees of freedom."""
    if math.isnan(x):
        return math.nan
    if x <= 0:
        return 1.0
    k = int(df)
    if k != df or k < 1 or k > 200:
        from scipy.special import chdtrc

        return float(chdtrc(df, x))
    h = x / 2.0
    if k % 2 == 0:
        term = 1.0
        total = 1.0
        for j in range(1, k // 2):
            term *= h / j
            total += term
        return math.exp(-h) * total
    total = 0.0
    term = 1.0
    for j in range(1, (k - 1) // 2 + 1):
        term = 1.0 if j == 1 else term * x / (2 * j - 1)
        total += term
    return math.erfc(math.sqrt(h)) + math.sqrt(2.0 * x / math.pi) * math.exp(-h) * total

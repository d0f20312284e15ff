"""Normal and chi-square distribution functions without importing scipy.

``scipy.special`` costs about 0.45 s to import on the reference machine, which
alone would break the 0.5 s budget of the quick commands. The standard library
has what is needed: :class:`statistics.NormalDist` (Wichura's AS 241 quantile,
accurate to about 1e-16) and :func:`math.erfc`. The chi-square upper tail for an
integer number of degrees of freedom has a closed form as a finite series
(Abramowitz & Stegun 26.4.4/26.4.5), which is what the tests here need.
"""

from __future__ import annotations

import math

__all__ = ["chi2_sf", "norm_ppf", "norm_sf", "norm_sf2"]


def norm_ppf(p: float) -> float:
    """Standard normal quantile: ``NormalDist().inv_cdf(p)``, calling its C function
    directly when there is one (importing ``statistics`` brings fractions, decimal and
    random: ~5 ms of a quick command)."""
    if 0.0 < p < 1.0:
        try:
            from _statistics import _normal_dist_inv_cdf  # type: ignore[import-not-found]
        except ImportError:
            pass
        else:
            return float(_normal_dist_inv_cdf(p, 0.0, 1.0))
    from statistics import NormalDist

    return NormalDist().inv_cdf(p)


def norm_sf(z: float) -> float:
    """Standard normal upper tail P(Z > z), accurate in the far tail (via erfc)."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def norm_sf2(z: float) -> float:
    """Two-sided normal p-value 2·P(Z > |z|) = erfc(|z|/√2); NaN stays NaN."""
    if math.isnan(z):
        return math.nan
    return math.erfc(abs(z) / math.sqrt(2.0))


def chi2_sf(x: float, df: int) -> float:
    """Upper tail of the chi-square distribution with integer ``df`` >= 1.

    Even df = 2m: exp(-x/2) sum_{i<m} (x/2)^i / i!.
    Odd df = 2m+1: erfc(sqrt(x/2)) + exp(-x/2) sum_{i<m} (x/2)^(i+1/2) / Gamma(i+3/2).
    """
    if df < 1 or int(df) != df:
        raise ValueError("df must be a positive integer")
    if math.isnan(x):
        return math.nan
    if not math.isfinite(x):
        return 0.0 if x > 0 else float("nan")
    if x <= 0:
        return 1.0
    h = x / 2.0
    m = int(df) // 2
    if df % 2 == 0:
        terms = (math.exp(i * math.log(h) - h - math.lgamma(i + 1)) for i in range(m))
        return min(1.0, math.fsum(terms))
    terms = (math.exp((i + 0.5) * math.log(h) - h - math.lgamma(i + 1.5)) for i in range(m))
    return min(1.0, math.erfc(math.sqrt(h)) + math.fsum(terms))

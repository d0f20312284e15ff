"""Integer codes of strata and cluster labels (stats._common.codes).

Kind of truth: naive oracle, ``np.unique(values, return_inverse=True)``, which the counting
path replaces for integer labels in a small range; the distinct values and the inverse must
be the same arrays (also in dtype of the values), on signed, unsigned, negative and
single-valued labels, and on labels that take the sorting path (a wide range, text, floats).
"""

from __future__ import annotations

import numpy as np
import pytest

from survstudy.stats._common import codes

rng = np.random.default_rng(11)
CASES = {
    "small ints": rng.integers(0, 4, 10_000),
    "negative": rng.integers(-3, 3, 500),
    "uint8": rng.integers(0, 200, 500).astype(np.uint8),
    "int32 with gaps": rng.choice(np.array([7, 100, 2_000], dtype=np.int32), 300),
    "one value": np.full(50, 5),
    "wide range": rng.integers(0, 1 << 40, 100),
    "text": np.array(["b", "a", "c", "a"]),
    "floats": rng.integers(0, 3, 100).astype(float),
    "0/1 dummies": (rng.random(2000) < 0.3).astype(float),
    "signed zero": np.array([0.0, -0.0, 1.0, -2.0, 0.0]),
    "fractions": rng.integers(0, 9, 200) / 4.0,
    "with NaN": np.array([1.0, np.nan, 0.0, 1.0]),
    "huge floats": np.array([1e300, 0.0, 1e300]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_codes_are_np_unique(name: str) -> None:
    v = CASES[name]
    levels, inv = codes(v)
    want_levels, want_inv = np.unique(v, return_inverse=True)
    np.testing.assert_array_equal(levels, want_levels)
    assert levels.dtype == want_levels.dtype
    np.testing.assert_array_equal(inv, np.ravel(want_inv))
    assert inv.dtype == np.intp


@pytest.mark.parametrize("name", ["small ints", "negative", "one value", "floats"])
def test_sorted_unique_is_np_unique(name: str) -> None:
    """Naive oracle: ``np.unique(x, return_counts=True)``, for values sorted beforehand (the
    spline knots' and display range's shortcut); also the knots from presorted values are
    the knots from the values."""
    from survstudy.stats.splines import rcs_knots, sorted_unique

    xs = np.sort(CASES[name].astype(float))
    got, counts = sorted_unique(xs)
    want, want_counts = np.unique(xs, return_counts=True)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(counts, want_counts)
    x = rng.normal(size=500).round(2)
    np.testing.assert_array_equal(
        rcs_knots(np.sort(x), 4, presorted=True).knots, rcs_knots(x, 4).knots
    )

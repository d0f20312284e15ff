"""A risk-set layout (stats.cox.cox_layout) shared by fits on the same rows gives the numbers
of fits without it, bit for bit; a layout of other rows is refused."""

from __future__ import annotations

import numpy as np
import pytest

from survstudy.stats.cox import cox_fit, cox_layout
from survstudy.stats.functional_form import nonlinearity_test


def _data(n: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.column_stack((rng.normal(size=n), rng.integers(0, 2, n), rng.normal(size=n)))
    t = np.ceil(rng.exponential(300.0, n) * np.exp(-0.3 * x[:, 0]))  # whole days: ties
    e = rng.random(n) < 0.7
    s = rng.integers(0, 3, n)
    return x, t, e, s


@pytest.mark.parametrize("n", [400, 30_000])
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_fits_sharing_a_layout_are_bit_identical(n: int, ties: str) -> None:
    x, t, e, s = _data(n)
    lay = cox_layout(t, e, strata=s, ties=ties)
    for cols in ([0], [0, 1], [2, 0, 1]):
        a = cox_fit(x[:, cols], t, e, strata=s, ties=ties)
        b = cox_fit(x[:, cols], t.copy(), e, strata=s, ties=ties, layout=lay)
        assert a.loglik == b.loglik
        assert a.loglik_null == b.loglik_null
        assert a.coef.tobytes() == b.coef.tobytes()
        assert a.var.tobytes() == b.var.tobytes()
        assert a.concordance == b.concordance
        assert a.baseline.cumhaz.tobytes() == b.baseline.cumhaz.tobytes()


def test_spline_test_with_a_layout_is_bit_identical() -> None:
    x, t, e, s = _data(2000)
    a = nonlinearity_test(x[:, 0], t, e, covariates=x[:, 1:], strata=s)
    lay = cox_layout(t, e, strata=s)
    b = nonlinearity_test(x[:, 0], t, e, covariates=x[:, 1:], strata=s, layout=lay)
    assert (a.loglik_linear, a.loglik_spline, a.loglik_without) == (
        b.loglik_linear,
        b.loglik_spline,
        b.loglik_without,
    )
    assert a.coef.tobytes() == b.coef.tobytes()


def test_a_layout_of_other_rows_or_ties_is_refused() -> None:
    x, t, e, s = _data(300)
    lay = cox_layout(t, e, strata=s)
    with pytest.raises(ValueError, match="layout"):
        cox_fit(x, t + 1.0, e, strata=s, layout=lay)
    with pytest.raises(ValueError, match="layout"):
        cox_fit(x, t, e, layout=lay)  # no strata
    with pytest.raises(ValueError, match="layout"):
        cox_fit(x, t, e, strata=s, ties="breslow", layout=lay)


def test_spline_test_reusing_the_linear_fit_is_bit_identical() -> None:
    """``linear=``: the one-column model fitted before (same rows, ties) is the test's linear
    model; the test gives the same numbers without fitting it again."""
    x, t, e, s = _data(3000)
    a = nonlinearity_test(x[:, 0], t, e, strata=s)
    lin = cox_fit(x[:, :1], t, e, strata=s, concordance=False)
    b = nonlinearity_test(x[:, 0], t, e, strata=s, linear=(lin.loglik, lin.warnings))
    assert a.loglik_linear == b.loglik_linear
    assert a.lr_nonlinear == b.lr_nonlinear
    assert a.p_nonlinear == b.p_nonlinear
    assert a.warnings == b.warnings

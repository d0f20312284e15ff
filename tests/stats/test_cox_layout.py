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


@pytest.mark.parametrize("n", [400, 30_000])
def test_the_other_tie_rule_made_like_a_layout_shares_its_design(n: int) -> None:
    """``cox_layout(..., like=)``: the other tie rule's layout takes the sort of the first, and
    a fit of the same design array on it shares the first fit's sorted design (while that fit
    lives): the numbers of a fit without layouts, bit for bit."""
    import pickle

    x, t, e, s = _data(n)
    efron = cox_layout(t, e, strata=s, ties="efron")
    breslow = cox_layout(t, e, strata=s, ties="breslow", like=efron)
    assert breslow.order is efron.order
    assert breslow.ties == "breslow"
    first = cox_fit(x, t, e, strata=s, ties="efron", layout=efron)
    second = cox_fit(x, t, e, strata=s, ties="breslow", layout=breslow)
    assert second.fit_state.data.xt is first.fit_state.data.xt  # shared, not copied
    ref = cox_fit(x, t, e, strata=s, ties="breslow")
    assert second.loglik == ref.loglik
    assert second.coef.tobytes() == ref.coef.tobytes()
    assert second.var.tobytes() == ref.var.tobytes()
    assert second.baseline.cumhaz.tobytes() == ref.baseline.cumhaz.tobytes()
    assert second.concordance == ref.concordance
    assert first.coef.tobytes() == cox_fit(x, t, e, strata=s).coef.tobytes()
    pickle.loads(pickle.dumps(second))  # the layout's weak cache is not pickled
    del first, second
    other = x.copy()  # another array (even with equal values): its own sorted copy
    third = cox_fit(other, t, e, strata=s, ties="breslow", layout=breslow)
    assert third.coef.tobytes() == ref.coef.tobytes()


def test_beta_time_plot_in_another_time_unit_is_the_refit_on_divided_times() -> None:
    """``same_in_unit``: whole days divided by 30.4375 keep their sort and ties, so the fit
    on months is the fit on days; the β(t) plot with ``time_unit`` is then that of the refit,
    bit for bit. Times a division would merge are refused."""
    from survstudy.stats.coxzph import beta_time_plot, cox_zph, same_in_unit

    x, t, e, s = _data(5000)
    days = cox_fit(x, t, e, strata=s, concordance=False)
    assert same_in_unit(days, 30.4375)
    months = cox_fit(x, t / 30.4375, e, strata=s, concordance=False)
    assert days.coef.tobytes() == months.coef.tobytes()
    a = beta_time_plot(days, time_unit=30.4375, test=cox_zph(days))
    b = beta_time_plot(months)
    assert a.test == b.test
    for ta, tb in zip(a.terms, b.terms, strict=True):
        for f in ("x", "time", "y", "curve_x", "fit", "lower", "upper", "ticks_x", "ticks_time"):
            assert getattr(ta, f).tobytes() == getattr(tb, f).tobytes(), f
    near = t.copy()
    near[np.flatnonzero(t == t[0])[1]] += 1e-12 * t[0]  # a near-tie with row 0
    assert not same_in_unit(cox_fit(x, near, e, strata=s, concordance=False), 1.0)
    assert not same_in_unit(days, 1e300)  # the division would merge distinct times
    with pytest.raises(ValueError, match="time_unit"):
        beta_time_plot(days, transform="identity", time_unit=30.4375)


def test_spline_test_without_the_overall_test_has_the_same_nonlinearity_test() -> None:
    """``overall=False``: the model without x is not fitted; the non-linearity test is the
    same, bit for bit, and the overall test is NaN."""
    x, t, e, s = _data(3000)
    a = nonlinearity_test(x[:, 0], t, e, covariates=x[:, 1:], strata=s)
    b = nonlinearity_test(x[:, 0], t, e, covariates=x[:, 1:], strata=s, overall=False)
    assert (a.loglik_linear, a.loglik_spline, a.lr_nonlinear, a.p_nonlinear) == (
        b.loglik_linear,
        b.loglik_spline,
        b.lr_nonlinear,
        b.p_nonlinear,
    )
    assert a.coef.tobytes() == b.coef.tobytes()
    assert a.warnings == b.warnings
    assert np.isnan(b.p_overall)
    assert np.isnan(b.loglik_without)
    assert np.isfinite(a.p_overall)

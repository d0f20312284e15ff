"""Scaled Schoenfeld residuals and the β(t) plot of ``plot(cox.zph(fit))`` (stats.coxzph).

Kind of truth: R reference (tests/reference/reviewer.R, survival 3.5-3): ``cox.zph(fit)``'s
table, ``x``, ``time``, ``y`` and ``var``, and what ``plot(cox.zph(fit)[i])`` draws, read back
from R's recorded plot (the points, the smooth and both band lines at the 40 points, the
x-axis tick positions and labels). Models: the GBSG demo's full model (a two-column factor),
its sensitivity model stratified on grade × menopausal status, veteran (a three-column
factor), veteran stratified with a covariate constant in three strata (NaN residuals there),
and a case-weighted veteran model.
Tolerance: 1e-6 relative (as the other Cox fixtures): the residuals depend on the fitted β,
which R and survstudy each converge to its stopping rule (observed agreement < 2e-11);
absolute 1e-9 × the largest |value| for values that cross zero.
"""

from __future__ import annotations

import numpy as np
import pytest

from survstudy.stats.coxzph import (
    _signif,
    beta_time_plot,
    cox_zph,
    scaled_schoenfeld,
)

from ._reviewer_ref import arr, close, fixtures, zph_fit

RTOL = 1e-6
NAMES = sorted(fixtures()["zph"])


def _atol(v: object) -> float:
    a = np.asarray(arr(v) if not isinstance(v, np.ndarray) else v, dtype=float)
    return 1e-9 * float(np.nanmax(np.abs(a)))


@pytest.mark.parametrize("name", NAMES)
def test_fit_and_test_match_r(name: str) -> None:
    """R reference: coxph coefficients and cox.zph's per-term and global chi-square and p."""
    fx = fixtures()["zph"][name]
    fit = zph_fit(name)
    close(fit.coef, fx["coef"], RTOL)
    ph = cox_zph(fit)
    assert [t.term for t in ph.terms] == fx["terms"]
    close([t.chisq for t in ph.terms] + [ph.global_chisq], fx["chisq"], RTOL)
    close([t.p_value for t in ph.terms] + [ph.global_p], fx["p"], RTOL)
    assert [t.df for t in ph.terms] + [ph.global_df] == fx["df"]


@pytest.mark.parametrize(
    ("name", "transform"),
    [(n, t) for n in NAMES for t in (fixtures()["zph"][n]["transforms"] or {})],
)
def test_other_transforms_match_r(name: str, transform: str) -> None:
    """R reference: cox.zph(fit, transform = "identity" / "rank") (the review: global p 0.022
    and 0.009 for GBSG against 0.0037 with "km")."""
    fx = fixtures()["zph"][name]["transforms"][transform]
    ph = cox_zph(zph_fit(name), transform=transform)
    assert ph.transform == transform
    close([t.chisq for t in ph.terms] + [ph.global_chisq], fx["chisq"], RTOL)
    close([t.p_value for t in ph.terms] + [ph.global_p], fx["p"], RTOL)


@pytest.mark.parametrize("name", NAMES)
def test_scaled_residuals_match_r(name: str) -> None:
    """R reference: cox.zph(fit)$x, $time, $y (scaled Schoenfeld residual + coef; NaN where a
    term does not vary in the stratum) and $var."""
    fx = fixtures()["zph"][name]
    res = scaled_schoenfeld(zph_fit(name))
    assert list(res.terms) == fx["terms"]
    close(res.time, fx["time"], 0.0)  # the event times themselves, in R's order
    close(res.x, fx["x"], 1e-12, 1e-15)  # 1 - KM(t-): closed form
    y = arr(fx["y"])
    assert np.array_equal(np.isnan(res.y), np.isnan(y))
    close(res.y, y, RTOL, _atol(y))
    close(res.var, fx["var"], RTOL)


@pytest.mark.parametrize("name", NAMES)
def test_plot_data_matches_what_r_draws(name: str) -> None:
    """R reference: the points, the smooth (ns, df = 4) and the ±2 SE band at nsmo = 40, and
    the x-axis ticks, as plot(cox.zph(fit)[i]) draws them."""
    fx = fixtures()["zph"][name]
    plot = beta_time_plot(zph_fit(name))
    assert [t.term for t in plot.terms] == fx["terms"]
    for term in plot.terms:
        want = fx["plots"][term.term]
        assert not term.warnings
        close(term.x, want["points_x"], 1e-12, 1e-15)
        close(term.y, want["points_y"], RTOL, _atol(want["points_y"]))
        close(term.curve_x, want["curve_x"], 1e-12, 1e-15)
        for key in ("fit", "lower", "upper"):
            close(getattr(term, key), want[key], RTOL, _atol(want[key]))
        close(term.ticks_x, want["axis_at"], 1e-9)
        assert [f"{v:g}" for v in term.ticks_time] == want["axis_labels"]


def test_factor_term_line_is_one_and_band_contains_fit() -> None:
    """Identity (R's definition): a factor's residuals are centred on 1, a single column's on its
    coefficient; property: lower < fit < upper at every plotting point."""
    fit = zph_fit("gbsg_full")
    plot = beta_time_plot(fit)
    assert plot.term("grade_f").line == 1.0
    assert plot.term("nodes").line == pytest.approx(float(fit.coef[fit.term_names.index("nodes0")]))
    for t in plot.terms:
        assert np.all(t.lower < t.fit)
        assert np.all(t.fit < t.upper)
    d = plot.to_dict()
    assert d["terms"][0]["curve"]["x"][0] == pytest.approx(plot.terms[0].x.min())
    assert d["ph_test"]["global"]["p_value"] == pytest.approx(plot.test.global_p)


def test_signif_two_digits() -> None:
    """Hand calculation: R's signif(x, 2)."""
    got = _signif(np.array([268.7, 1149.0, 0.0, 8.249, 0.01234, -57.6]), 2)
    np.testing.assert_allclose(got, [270, 1100, 0, 8.2, 0.012, -58])


def test_too_few_event_times_skips_the_smooth() -> None:
    """Hand-made data: 3 distinct event times cannot carry a 4-df spline; the residuals are kept
    and a ZPH-SMOOTH-SINGULAR warning replaces the curve (R warns and skips the panel)."""
    from survstudy.stats.cox import cox_fit

    t = np.array([1.0, 2, 2, 3, 4, 5, 6, 7])
    e = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    x = np.array([0.0, 1, 0, 1, 0, 1, 1, 0])
    plot = beta_time_plot(cox_fit(x, t, e))
    term = plot.terms[0]
    assert term.y.size == 4
    assert term.fit.size == 0
    assert [w.code for w in term.warnings] == ["ZPH-SMOOTH-SINGULAR"]


def test_shared_parts_give_what_a_fresh_computation_gives() -> None:
    """Identity: the PH test and the residuals of one fit share their parts (a one-entry cache);
    with the cache emptied before each call, every number is the same to the bit."""
    from survstudy.stats import coxzph

    fit = zph_fit("veteran")
    assign = fit.assign
    shared = (cox_zph(fit, assign), scaled_schoenfeld(fit, assign))
    coxzph._LAST.clear()
    test = cox_zph(fit, assign)
    coxzph._LAST.clear()
    res = scaled_schoenfeld(fit, assign)
    assert shared[0].to_dict() == test.to_dict()
    np.testing.assert_array_equal(shared[1].y, res.y)
    np.testing.assert_array_equal(shared[1].x, res.x)
    np.testing.assert_array_equal(shared[1].var, res.var)


def test_distinct_times_from_the_fits_tie_groups_are_np_unique() -> None:
    """Naive oracle: ``np.unique(time, return_inverse=True, return_counts=True)``, which the
    fit's tie groups replace when every time equals its group's time exactly: tied whole
    days with strata (the shortcut), near-ties that the fit merges into one group (the
    fallback sorts), and times that are not the fit's."""
    from survstudy.stats.cox import cox_fit
    from survstudy.stats.coxzph import _unique_times

    rng = np.random.default_rng(3)
    n = 3000
    days = rng.integers(1, 400, n).astype(float)
    near = days + np.where(rng.random(n) < 0.1, 1e-12 * days, 0.0)  # merged by the fit
    x = rng.normal(size=(n, 2))
    event = rng.random(n) < 0.7
    strata = rng.integers(0, 3, n)
    for t in (days, near):
        d = cox_fit(x, t, event, strata=strata, concordance=False).fit_state.data
        for probe in (t, t / 30.4375):
            got = _unique_times(probe, d)
            want = np.unique(probe, return_inverse=True, return_counts=True)
            for g, w in zip(got, want, strict=True):
                np.testing.assert_array_equal(g, np.ravel(w))


@pytest.mark.parametrize("kind", ["days", "continuous", "start"])
def test_events_in_r_order_are_those_of_a_sort_by_stratum_time_row(kind: str) -> None:
    """The residuals' order (stratum, time, input row) from the fit's tie groups equals the
    lexicographic sort it replaces, with strata, near-continuous times and entry times."""
    from survstudy.stats.cox import cox_fit
    from survstudy.stats.coxzph import _events_in_r_order

    rng = np.random.default_rng(7)
    n = 30_000
    x = rng.normal(size=(n, 2))
    t = np.ceil(rng.exponential(100.0, n)) + 2.0
    if kind == "continuous":
        t = rng.exponential(100.0, n)
    start = np.floor(t * rng.random(n)) if kind == "start" else None
    e = rng.random(n) < 0.7
    s = rng.integers(0, 3, n)
    fit = cox_fit(x, t, e, strata=s, start=start, concordance=False)
    d = fit.fit_state.data
    rows = np.flatnonzero(d.event == 1)
    orig = d.order[rows]
    sstr = d.gstratum[d.group[rows]]
    got = _events_in_r_order(d, fit.fit_state.time, rows, orig, sstr)
    key = np.lexsort((orig, fit.fit_state.time[orig], sstr))
    for a, b in zip(got, (rows, orig, sstr), strict=True):
        assert np.array_equal(a, b[key])

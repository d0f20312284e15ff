"""Cumulative incidence and Gray's test against R (R reference: tests/reference/competing.R,
cmprsk 2.2-11 ``cuminc``/``timepoints`` and survival 3.5-3 ``survfit``/``survfit_confint``).

Tolerances: cmprsk and survival compute in double precision with the same formulas
(cmprsk's variance from running sums like ours); the fixtures are written with 15
significant digits (jsonlite ``digits = NA``), so 1e-9 relative leaves room for the
rounding of sums over ~1,000 times and still catches any formula difference.
"""

from __future__ import annotations

import numpy as np
import pytest

from survstudy.errors import AnalysisError
from survstudy.stats.competing import (
    cif_analysis,
    cif_confint,
    cumulative_incidence,
    cumulative_incidence_by,
    gray_test,
    gray_tests,
)

from ._competing_ref import arr, cif_data, fixtures

CIF = sorted(k for k, v in fixtures().items() if v["kind"] == "cif")
RTOL = 1e-9


def _fits(fx):
    t, s, g, _, levels = cif_data(fx)
    if g is None:
        return {1: cumulative_incidence(t, s)}
    codes = np.array([levels.index(v) for v in g.tolist()])
    return dict(cumulative_incidence_by(t, s, codes, levels))


def _key(level):
    return int(level) if isinstance(level, float) and level.is_integer() else level


@pytest.mark.parametrize("name", CIF)
def test_cif_curve_equals_cuminc(name):
    """R reference: cuminc's step function (est, var) at each failure time of the cause."""
    fx = fixtures()[name]
    fits = _fits(fx)
    for cu in fx["curves"]:
        res = fits[_key(cu["group"])]
        # cuminc lists (0, t1, t1, t2, t2, ..., tmax): the value after each jump sits at
        # odd positions from the third on; the last entry repeats the final value.
        times = arr(cu["time"])[2:-1:2]
        est = arr(cu["est"])[2:-1:2]
        var = arr(cu["var"])[2:-1:2]
        at = res.at(times, cu["cause"])
        np.testing.assert_allclose(at.cif, est, rtol=RTOL, atol=1e-15)
        np.testing.assert_allclose(at.std_err**2, var, rtol=RTOL, atol=1e-15)


@pytest.mark.parametrize("name", CIF)
def test_cif_timepoints(name):
    """R reference: timepoints(cuminc, times) — estimate and variance at chosen times, NA
    (NaN) after the group's last follow-up time."""
    fx = fixtures()[name]
    fits = _fits(fx)
    for cu in fx["curves"]:
        at = fits[_key(cu["group"])].at(arr(fx["times"]), cu["cause"])
        np.testing.assert_allclose(at.cif, arr(cu["at_est"]), rtol=RTOL, atol=1e-15, equal_nan=True)
        np.testing.assert_allclose(
            at.std_err**2, arr(cu["at_var"]), rtol=RTOL, atol=1e-15, equal_nan=True
        )
        np.testing.assert_array_equal(at.beyond, np.isnan(arr(cu["at_est"])))


@pytest.mark.parametrize("name", CIF)
def test_cif_confidence_intervals(name):
    """R reference: survival's survfit_confint(est, sqrt(var), logse = FALSE) for log-log,
    log and plain at 95 % and 90 % — the result's own limits and cif_confint."""
    fx = fixtures()[name]
    t, s, g, _, levels = cif_data(fx)
    for cu in fx["curves"]:
        for ci in cu["at_ci"]:
            if g is None:
                res = cumulative_incidence(
                    t, s, conf_type=ci["conf_type"], conf_level=ci["conf_level"]
                )
            else:
                codes = np.array([levels.index(v) for v in g.tolist()])
                res = dict(
                    cumulative_incidence_by(
                        t,
                        s,
                        codes,
                        levels,
                        conf_type=ci["conf_type"],
                        conf_level=ci["conf_level"],
                    )
                )[_key(cu["group"])]
            at = res.at(arr(fx["times"]), cu["cause"])
            lo, hi = cif_confint(at.cif, at.std_err, ci["conf_type"], ci["conf_level"])
            for got in ((at.lower, at.upper), (lo, hi)):
                np.testing.assert_allclose(got[0], arr(ci["lower"]), rtol=RTOL, equal_nan=True)
                np.testing.assert_allclose(got[1], arr(ci["upper"]), rtol=RTOL, equal_nan=True)


@pytest.mark.parametrize("name", CIF)
def test_cif_equals_survfit_multistate(name):
    """R reference: survfit(Surv(time, factor(status))) per group — the Aalen–Johansen state
    probabilities and the number at risk in the initial state, at every time."""
    fx = fixtures()[name]
    fits = _fits(fx)
    for ms in fx["survfit"]:
        res = fits[_key(ms["group"])]
        times = arr(ms["time"])
        np.testing.assert_allclose(res.time, times, rtol=1e-12)
        np.testing.assert_allclose(res.n_risk, arr(ms["n_risk"]), rtol=0)
        for c, p in zip(
            ms["causes"] if isinstance(ms["causes"], list) else [ms["causes"]],
            ms["pstate"],
            strict=True,
        ):
            np.testing.assert_allclose(
                res.cif[:, res.causes.index(int(c))], arr(p), rtol=RTOL, atol=1e-15
            )


@pytest.mark.parametrize("name", [k for k in CIF if fixtures()[k]["tests"]])
def test_gray_test(name):
    """R reference: cuminc(…, strata =, rho =)$Tests — statistic and df per cause; p as
    pchisq(stat, df, lower.tail = FALSE) (cmprsk prints 1 − pchisq, which is 0 below 1e-16)."""
    fx = fixtures()[name]
    t, s, g, st, _ = cif_data(fx)
    for ref in fx["tests"]:
        res = gray_test(t, s, g, cause=int(ref["cause"]), strata=st, rho=fx["rho"])
        np.testing.assert_allclose(res.statistic, ref["statistic"], rtol=RTOL)
        assert res.df == ref["df"]
        np.testing.assert_allclose(res.p_value, ref["p_value"], rtol=1e-8)
        assert res.stratified == (fx["strata"] is not None)


@pytest.mark.parametrize(
    "name", [k for k in CIF if fixtures()[k]["tests"] and fixtures()[k]["rho"] == 0]
)
def test_cif_analysis_gray_equals_cuminc(name):
    """``survstudy cif``'s analysis (one count of the cells for the curves and Gray's tests
    when unstratified) against R: cuminc(…)$Tests and the curves at two times."""
    fx = fixtures()[name]
    t, s, g, st, levels = cif_data(fx)
    assert set(np.unique(s).tolist()) <= {0, 1, 2}
    codes = np.array([levels.index(v) for v in g.tolist()])
    res = cif_analysis(t, s, codes, levels, by=fx["by"], strata=st)
    got = {1: res.gray, 2: res.gray_competing}
    for ref in fx["tests"]:
        gt = got[int(ref["cause"])]
        assert gt is not None
        np.testing.assert_allclose(gt.statistic, ref["statistic"], rtol=RTOL)
        assert gt.df == ref["df"]
    fits = dict(cumulative_incidence_by(t, s, codes, levels))
    for level, curve in res.curves:
        np.testing.assert_array_equal(curve.cif, fits[level].cif)
        np.testing.assert_array_equal(curve.variance, fits[level].variance)


def _shared_cases():
    rng = np.random.default_rng(7)
    n = 600
    t = np.ceil(rng.exponential(300.0, n))
    s = rng.choice([0, 1, 2], n, p=[0.3, 0.45, 0.25])
    g = rng.integers(0, 4, n)
    g[g == 2] = 3  # level 2 absent: Gray's test on groups 0, 1, 3
    w = rng.integers(0, 4, n).astype(float)
    w_zero = w.copy()
    w_zero[g == 1] = 0.0  # a group present only with zero weights
    only1 = np.where(s == 2, 0, s)  # no competing events
    yield "absent level", t, s, g, None
    yield "weights", t, s, g, w
    yield "zero-weight group", t, s, g, w_zero
    yield "no competing events", t, only1, g, None
    yield "fractional times", t + rng.uniform(0, 0.5, n), s, g, None


@pytest.mark.parametrize("case", [c[0] for c in _shared_cases()])
def test_cif_analysis_gray_shared_counts_equal_gray_tests(case):
    """Gray's tests from the cells counted once for the curves are exactly those of
    gray_tests counting again (absent levels, frequency weights, zero-weight groups, a
    cause without failures)."""
    _, t, s, g, w = next(c for c in _shared_cases() if c[0] == case)
    levels = ["a", "b", "c", "d"]
    res = cif_analysis(t, s, g, levels, by="g", weights=w)
    present = [c for c in (1, 2) if np.any((s == c) & (w is None or w > 0))]
    ref = gray_tests(t, s, g, causes=present, weights=w)
    got = {1: res.gray, 2: res.gray_competing}
    for c in (1, 2):
        if c not in present:
            assert got[c] is None
            continue
        gt = got[c]
        assert gt is not None
        assert gt.groups == ref[c].groups
        np.testing.assert_array_equal(gt.score, ref[c].score)
        np.testing.assert_array_equal(gt.variance, ref[c].variance)
        assert gt.statistic == ref[c].statistic or (
            np.isnan(gt.statistic) and np.isnan(ref[c].statistic)
        )


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32", "int64", "uint64", "float64", "bool"])
def test_cif_analysis_status_types_give_the_same_numbers(dtype):
    """Status codes 0/1/2 of any type (used as their own columns when they are small
    integers) give exactly the numbers of int64 codes; bool (0/1) too."""
    rng = np.random.default_rng(3)
    n = 400
    t = np.ceil(rng.exponential(100.0, n))
    s = rng.choice([0, 1, 2], n) if dtype != "bool" else rng.choice([0, 1], n)
    g = rng.integers(0, 2, n)
    ref = cif_analysis(t, s.astype(np.int64), g, ["a", "b"], by="g", at=[50.0, 100.0])
    got = cif_analysis(t, s.astype(dtype), g, ["a", "b"], by="g", at=[50.0, 100.0])
    assert got.to_dict() == ref.to_dict()


def test_cif_analysis_status_outside_the_codes_is_an_error():
    t = np.array([1.0, 2.0, 3.0])
    g = np.array([0, 1, 0])
    with pytest.raises(AnalysisError, match=r"status values \[3\] are neither 0"):
        cif_analysis(t, np.array([0, 3, 1], dtype=np.int8), g, ["a", "b"], by="g")
    with pytest.raises(AnalysisError, match="status must be >= 0"):
        cif_analysis(t, np.array([0, -1, 1]), g, ["a", "b"], by="g")

"""Restricted cubic splines and the functional form of a Cox covariate.

Kinds of truth: R reference (tests/reference/reviewer.R: Hmisc 4.8.0 ``rcspline.eval`` knots —
default quantiles, n < 100, few distinct values, tied ends, the alternate algorithm, the
error — and basis; ``anova(coxph(... + x), coxph(... + rcs(x, 4)))`` on GBSG nodes and PgR
(full model and alone) and veteran Karnofsky score; the HR curve as the contrast written out
in R from ``coef``/``vcov`` and as ``rms::Predict(cph(...), ref.zero = TRUE, fun = exp)``), and
hand calculations.
Tolerances: knots and basis 1e-12 relative (closed forms; R and NumPy differ by rounding only,
observed < 2e-15); Cox-based quantities 1e-6 relative (each side converges to its own
stopping rule; observed < 2e-8 for the covariance).
"""

from __future__ import annotations

import numpy as np
import pytest

from survstudy.errors import AnalysisError
from survstudy.stats.functional_form import log_covariate, nonlinearity_test
from survstudy.stats.splines import rcs_basis, rcs_knots, rcs_names

from ._reviewer_ref import arr, close, data, fixtures

RTOL = 1e-6
KNOTS = {c["name"]: c for c in fixtures()["rcs_knots"]}
R_WARNING_CODE = {
    "knots set to": "RCS-FEW-VALUES",
    "alternate algorithm": "RCS-ALTERNATE-KNOTS",
}


def _x(case: dict) -> np.ndarray:
    if case.get("x") is not None:
        return arr(case["x"])
    return data(case["data"])[case["column"]].to_numpy(float)


@pytest.mark.parametrize("name", sorted(KNOTS))
def test_knots_match_rcspline_eval(name: str) -> None:
    """R reference: rcspline.eval(x, nk, knots.only = TRUE) and its warnings."""
    case = KNOTS[name]
    got = rcs_knots(_x(case), case["nk"])
    close(got.knots, case["knots"], 1e-12)
    r_warn = case["warning"] if isinstance(case["warning"], list) else [case["warning"]]
    want = [code for w in r_warn for key, code in R_WARNING_CODE.items() if key in w]
    assert [w.code for w in got.warnings] == want


def test_too_few_distinct_knots_is_an_error() -> None:
    """R reference: rcspline.eval stops ("fewer than 3 unique knots") for 100 zeros, 100 ones
    and 2..7; here an AnalysisError."""
    case = fixtures()["rcs_knots_error"]
    assert case["error"] == "error"
    with pytest.raises(AnalysisError, match="fewer than 3 distinct knots"):
        rcs_knots(arr(case["x"]), case["nk"])


def test_basis_matches_rcspline_eval() -> None:
    """R reference: rcspline.eval(x, knots, inclx = TRUE) (norm = 2) at values below, between
    and beyond the knots."""
    b = fixtures()["rcs_basis"]
    close(rcs_basis(b["x"], b["knots"]), arr(b["basis"]), 1e-12, 1e-14)


def test_basis_is_linear_outside_the_knots() -> None:
    """Property (the restriction): beyond the last knot each column's second difference is 0,
    below the first knot the non-linear columns are 0."""
    knots = [1.0, 2.0, 5.0, 16.0]
    hi = rcs_basis([20.0, 30.0, 40.0], knots)
    np.testing.assert_allclose(hi[2] - 2 * hi[1] + hi[0], 0.0, atol=1e-9)
    assert np.all(rcs_basis([0.0, 0.5, 1.0], knots)[:, 1:] == 0.0)
    assert rcs_names("nodes", 4) == ("nodes", "nodes'", "nodes''")


NONLIN = sorted(fixtures()["nonlinearity"])


def _covariates(fx: dict) -> tuple[np.ndarray | None, list[str]]:
    d = data(fx["data"].split("_")[0])
    cols, names = [], []
    factors = fx["factors"] if isinstance(fx["factors"], list) else [fx["factors"]]
    for o in fx["others"] if isinstance(fx["others"], list) else [fx["others"]]:
        if o in factors or d[o].dtype == object:
            levels = sorted(d[o].unique())
            for lev in levels[1:]:  # R's treatment coding, first level the reference
                cols.append((d[o] == lev).to_numpy(float))
                names.append(f"{o}[{lev}]")
        else:
            cols.append(d[o].to_numpy(float))
            names.append(o)
    return (np.column_stack(cols) if cols else None), names


def _test(name: str):
    fx = fixtures()["nonlinearity"][name]
    d = data(fx["data"].split("_")[0])
    if fx["var"] not in d and fx["var"].startswith("log"):
        # reviewer.R derives it: g2$lognodes <- log(g2$nodes)
        d = d.assign(**{fx["var"]: np.log(d[fx["var"][3:]].to_numpy(float))})
    cov, names = _covariates(fx) if fx["others"] else (None, [])
    res = nonlinearity_test(
        d[fx["var"]].to_numpy(float),
        d[fx["time"]].to_numpy(float),
        d[fx["event"]].to_numpy(),
        covariates=cov,
        covariate_names=names,
        name=fx["var"],
    )
    return fx, res


@pytest.mark.parametrize("name", NONLIN)
def test_nonlinearity_lr_test_matches_anova(name: str) -> None:
    """R reference: anova(linear fit, rcs(x, 4) fit): chi-square, df, p; the overall LR test
    against the model without x; knots; the spline coefficients and their covariance."""
    fx, res = _test(name)
    close(res.knots, fx["knots"], 1e-12)
    close(res.lr_nonlinear, fx["lr_nonlinear"], RTOL)
    assert res.df_nonlinear == fx["df_nonlinear"] == 2
    close(res.p_nonlinear, fx["p_nonlinear"], RTOL)
    close(res.lr_overall, fx["lr_overall"], RTOL)
    assert res.df_overall == fx["df_overall"] == 3
    close(res.p_overall, fx["p_overall"], RTOL)
    close(
        [res.loglik_linear, res.loglik_spline, res.loglik_without],
        [fx["loglik_linear"], fx["loglik_rcs"], fx["loglik_without"]],
        1e-9,  # log-likelihoods at the maximum: second-order in the coefficient error
    )
    close(res.coef, fx["coef_rcs"], RTOL)
    close(res.var, arr(fx["var_rcs"]), RTOL)
    nonlinear = res.p_nonlinear < 0.05
    assert ("NON-LINEAR" in [w.code for w in res.warnings]) == nonlinear
    assert res.to_dict()["nonlinearity_p"] == res.p_nonlinear


def test_gbsg_nonlinearity_is_strong() -> None:
    """R reference, as the review argues: nodes and PgR depart from linearity in the demo's full
    model (p = 1.5e-6 and 0.0023 with rcs, 4 knots)."""
    for name in ("gbsg_nodes_full", "gbsg_pgr_full"):
        _, res = _test(name)
        assert res.p_nonlinear < 0.01


@pytest.mark.parametrize("name", NONLIN)
def test_hr_curve_matches_contrast_and_predict(name: str) -> None:
    """R reference: exp(c'b) with c = basis(v) - basis(median), Wald CI from c'Vc (written out in
    R from coxph's coef and vcov), and rms::Predict(cph, ref.zero = TRUE, fun = exp) on the same
    values and on Predict's own 200-value grid (datadist's Low:prediction to High:prediction)."""
    fx, res = _test(name)
    # the median of a data column is a data value (exact); of log(nodes) it is log(3), which
    # the fixture holds to 15 significant digits (jsonlite), hence 1e-14 there
    close(res.reference, fx["reference"], 1e-14 if fx["var"].startswith("log") else 0.0)
    curve = res.hr_curve(fx["grid"])
    for key in ("hr", "lower", "upper"):
        close(getattr(curve, key), fx[key], RTOL)
        close(getattr(curve, key), fx["predict"][key], RTOL)
    default = res.hr_curve()
    pd_ = fx["predict_default"]
    close(res.display_range, [pd_["low"], pd_["high"]], 1e-12)
    close(default.value, pd_["value"], 1e-12)
    for key in ("hr", "lower", "upper"):
        close(getattr(default, key), pd_[key], RTOL)


def test_hr_curve_is_one_at_the_reference() -> None:
    """Hand calculation: at the reference value the contrast is 0, so HR = 1 with a CI of
    width 0 (rms's ref.zero); a stated reference other than the median moves the 1."""
    _, res = _test("veteran_karno")
    c = res.hr_curve([res.reference, 60.0])
    assert c.hr[0] == 1.0
    assert c.lower[0] == 1.0
    assert c.upper[0] == 1.0
    c60 = res.hr_curve([60.0], reference=60.0)
    assert c60.hr[0] == 1.0
    assert c60.reference == 60.0
    rec = c.to_dict()
    assert rec["reference"] == res.reference
    assert set(rec["points"][0]) == {
        "value",
        "hr",
        "lower",
        "upper",
    }


def test_log_covariate_refuses_zero_and_negative() -> None:
    """Hand calculation: log of positive values; a zero is refused with a message naming the
    variable and the count (GBSG PgR has 88 zeros: R gives table(pgr)[1] / 686 = 0.1283),
    NaN stays missing."""
    np.testing.assert_allclose(log_covariate([1.0, np.e, np.nan]), [0.0, 1.0, np.nan])
    with pytest.raises(AnalysisError, match=r"pgr: 88 values are zero or negative"):
        log_covariate(data("gbsg")["pgr"].to_numpy(float), "pgr")
    with pytest.raises(AnalysisError, match="1 value is zero or negative"):
        log_covariate([2.0, -1.0], "x")

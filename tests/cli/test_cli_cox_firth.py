"""``survstudy cox --firth`` and ``--ci wald|profile``: JSON contract and values.

Kinds of truth: published/third-party reference (R coxphf output recorded in the
firthmodels test suite, on tests/reference/data/firth_rng42.csv), R reference
(tests/reference/profile_ci.json from tests/reference/profile_ci.R), hand-written
expectations for the errors.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import survstudy.cli.cox  # noqa: F401  (registers the command before any test patches the app)
from survstudy.cli import main as cli_main

REF = Path(__file__).resolve().parents[1] / "reference"
DATA = REF / "data"
PROFILE = json.loads((REF / "profile_ci.json").read_text(encoding="utf-8"))["fixtures"]
# the Firth maximum on the same data, converged in R (tests/reference/firth.R, ~1e-12)
FIRTH_R = json.loads((REF / "firth.json").read_text(encoding="utf-8"))["fixtures"]["rng42_breslow"]

# R coxphf(Surv(time, event) ~ separator + x1 + x2 + x3), pl = TRUE, as recorded in
# github.com/jzluo/firthmodels tests/test_cox.py (test_matches_coxphf_with_monotone_likelihood)
COXPHF_COEF = [3.8815800583, 0.6042066427, -0.4202139201, 1.0415063080]
COXPHF_SE = [1.4430190269, 0.1599607483, 0.2541800107, 0.3128784410]
COXPHF_P = [7.318984974e-09, 1.686334002e-04, 9.295083722e-02, 8.463066114e-04]
COXPHF_CI_LOG = [
    [1.9343469272, 8.7215676015],
    [0.2921186188, 0.9164270978],
    [-0.9217200647, 0.0699415336],
    [0.4348431279, 1.6550461482],
]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = 0
    try:
        cli_main.main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def cox_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out, err = run(["cox", *args, "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


RNG42 = [
    str(DATA / "firth_rng42.csv"),
    "--time",
    "time",
    "--event",
    "event",
    "--covariates",
    "separator,x1,x2,x3",
]


def test_firth_json_matches_coxphf(capsys: pytest.CaptureFixture[str]) -> None:
    """Published/third-party reference: coxphf's estimates, SEs, profile penalised
    limits (lower/upper) and penalised LR p-values (p_value); same keys as the
    ordinary fit plus method = "firth"."""
    firth = cox_json([*RNG42, "--firth", "--ties", "breslow"], capsys)
    plain = cox_json([*RNG42, "--ties", "breslow"], capsys)
    assert firth.keys() == plain.keys()
    assert [set(t) for t in firth["terms"]] == [set(t) for t in plain["terms"]]
    assert firth["method"] == "firth"
    assert firth["ci_method"] == "profile"
    terms = firth["terms"]
    # coxphf stops within 1e-6 of the maximum on the SD-standardised scale (its epsilon;
    # 1.4e-7 off for `separator` here): its printed values are checked at that precision
    # (sd of the binary separator 0.5: 2e-6 absolute), the converged R maximum at 1e-9
    np.testing.assert_allclose([t["coef"] for t in terms], COXPHF_COEF, rtol=0, atol=2e-6)
    np.testing.assert_allclose([t["se"] for t in terms], COXPHF_SE, rtol=1e-6)
    np.testing.assert_allclose([t["p_value"] for t in terms], COXPHF_P, rtol=1e-6)
    ci = [[math.log(t["lower"]), math.log(t["upper"])] for t in terms]
    np.testing.assert_allclose(ci, COXPHF_CI_LOG, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose([t["coef"] for t in terms], FIRTH_R["coef"], rtol=1e-9)
    np.testing.assert_allclose([t["se"] for t in terms], FIRTH_R["se"], rtol=1e-9)
    np.testing.assert_allclose([t["p_value"] for t in terms], FIRTH_R["p_value"], rtol=1e-9)
    np.testing.assert_allclose([math.log(t["lower"]) for t in terms], FIRTH_R["lower"], rtol=1e-9)
    np.testing.assert_allclose([math.log(t["upper"]) for t in terms], FIRTH_R["upper"], rtol=1e-9)
    assert firth["tests"]["likelihood_ratio"]["statistic"] == pytest.approx(57.6071, abs=1e-4)
    lr = firth["tests"]["likelihood_ratio"]["statistic"]
    assert lr == pytest.approx(FIRTH_R["lr_global"], rel=1e-9)
    # the ordinary fit: separator not estimable (monotone likelihood)
    assert plain["terms"][0]["estimable"] is False


def test_firth_wald_option(capsys: pytest.CaptureFixture[str]) -> None:
    """Hand calculation from the Firth estimate: --firth --ci wald gives exp(β ± 1.96 se)
    and the Wald p; ci_method records it."""
    out = cox_json([*RNG42, "--firth", "--ties", "breslow", "--ci", "wald"], capsys)
    assert out["ci_method"] == "wald"
    z = 1.959963984540054
    for t, b, s in zip(out["terms"], FIRTH_R["coef"], FIRTH_R["se"], strict=True):
        assert t["lower"] == pytest.approx(math.exp(b - z * s), rel=1e-7)
        assert t["upper"] == pytest.approx(math.exp(b + z * s), rel=1e-7)
        assert t["p_value"] == pytest.approx(math.erfc(abs(b / s) / math.sqrt(2)), rel=1e-6)


def test_profile_ci_matches_r(capsys: pytest.CaptureFixture[str]) -> None:
    """R reference: --ci profile on veteran (Efron) gives R's profile-likelihood limits;
    the estimates are the ordinary ones."""
    f = PROFILE["veteran_efron"]
    args = [
        str(DATA / "veteran.csv"),
        "--time",
        "time",
        "--event",
        "status",
        "--covariates",
        "karno,trt,age",
    ]
    out = cox_json([*args, "--ci", "profile"], capsys)
    assert out["ci_method"] == "profile"
    assert out["method"] == "ordinary"
    np.testing.assert_allclose([t["coef"] for t in out["terms"]], f["coef"], rtol=1e-7)
    np.testing.assert_allclose(
        [math.log(t["lower"]) for t in out["terms"]], f["lower"], rtol=0, atol=1e-7
    )
    np.testing.assert_allclose(
        [math.log(t["upper"]) for t in out["terms"]], f["upper"], rtol=0, atol=1e-7
    )
    assert cox_json(args, capsys)["ci_method"] == "wald"


def test_profile_ci_infinite_limit_in_table(capsys: pytest.CaptureFixture[str]) -> None:
    """R reference (mono12: lower limit of the log HR 0.8653, upper infinite): the table
    shows the one-sided bound next to "not estimable" and the warning in plain words."""
    f = PROFILE["mono12_efron"]
    code, out, err = run(
        [
            "cox",
            str(DATA / "mono12.csv"),
            "--time",
            "time",
            "--event",
            "status",
            "--covariates",
            "x",
            "--ci",
            "profile",
        ],
        capsys,
    )
    assert code == 0, err
    low = math.exp(f["lower"][0])
    assert f"> {low:.3f}" in out
    assert "PROFILE-LIMIT-INFINITE" in out
    assert "infinite" in out


def test_firth_table(capsys: pytest.CaptureFixture[str]) -> None:
    """Hand-written: the readable table names the method and how CI and p were obtained."""
    code, out, err = run(["cox", *RNG42, "--firth", "--ties", "breslow"], capsys)
    assert code == 0, err
    assert out.startswith("Firth-penalised Cox (breslow ties)")
    assert "profile penalised likelihood" in out
    assert "penalised likelihood-ratio" in out


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--firth", "--robust"], "--firth"),
        (["--ci", "profile", "--robust"], "--ci profile"),
        (["--ci", "exact"], "--ci must be wald or profile"),
    ],
)
def test_option_errors(extra: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Hand-written: incompatible or unknown options are one error line, exit 2."""
    code, out, err = run(["cox", *RNG42, *extra], capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("error:")
    assert err.count("\n") == 1
    assert needle in err

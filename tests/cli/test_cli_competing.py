"""``survstudy cif`` and ``survstudy cox --cause/--competing [--fine-gray]`` end to end.

Kinds of truth: R reference (tests/reference/competing.json: cmprsk cuminc/timepoints/crr,
survival survfit_confint and coxph) through the command line, and properties of the
contract (keys, error lines, exit codes).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from survstudy.cli import main as cli_main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stats"))
from _competing_ref import REF, arr, fixtures, matrix

DATA = REF / "data"
BMT = str(DATA / "cr_bmt.csv")


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    cli_main._state["debug"] = False
    with pytest.raises(SystemExit) as info:
        cli_main.main(args)
    out = capsys.readouterr()
    code = info.value.code if isinstance(info.value.code, int) else 0
    return code, out.out, out.err


def _curve(fx, group, cause):
    return next(c for c in fx["curves"] if c["group"] == group and c["cause"] == cause)


def test_cif_json_matches_cmprsk(capsys):
    """R reference: cif_bmt_platelet_strata_tcell — timepoints() estimates and variances at
    1 and 5 years, survfit_confint log-log 95 % limits, Gray's stratified test for both causes
    (1e-9 relative: see tests/stats/test_competing_reference.py)."""
    fx = fixtures()["cif_bmt_platelet_strata_tcell"]
    code, out, err = run(
        [
            "cif", BMT, "--time", "time", "--event", "status", "--cause", "1",
            "--competing", "2", "--censored", "0", "--by", "platelet", "--strata", "tcell",
            "--at", "1,5", "--json",
        ],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    p = json.loads(out)
    assert {"groups", "gray", "warnings"} <= set(p)
    assert [g["group"] for g in p["groups"]] == [0, 1]
    for g in p["groups"]:
        assert {"group", "n", "events", "competing_events", "at", "competing_at"} <= set(g)
        for key, cause in (("at", 1), ("competing_at", 2)):
            ref = _curve(fx, g["group"], cause)
            rows = g[key]
            assert [r["time"] for r in rows] == [1.0, 5.0]
            for r in rows:
                assert {"time", "cif", "se", "lower", "upper", "n_risk"} <= set(r)
            np.testing.assert_allclose([r["cif"] for r in rows], arr(ref["at_est"]), rtol=1e-9)
            np.testing.assert_allclose([r["se"] ** 2 for r in rows], arr(ref["at_var"]), rtol=1e-9)
            ci = next(
                c for c in ref["at_ci"] if c["conf_type"] == "log-log" and c["conf_level"] == 0.95
            )
            np.testing.assert_allclose([r["lower"] for r in rows], arr(ci["lower"]), rtol=1e-9)
            np.testing.assert_allclose([r["upper"] for r in rows], arr(ci["upper"]), rtol=1e-9)
    tests = {t["cause"]: t for t in fx["tests"]}
    for key, cause in (("gray", 1), ("gray_competing", 2)):
        np.testing.assert_allclose(p[key]["statistic"], tests[cause]["statistic"], rtol=1e-9)
        assert p[key]["df"] == 1
        np.testing.assert_allclose(p[key]["p_value"], tests[cause]["p_value"], rtol=1e-8)
        assert p[key]["stratified"] is True


def test_cif_text_codes_as_words_and_plain_ci(tmp_path, capsys):
    """R reference (cif_ties, plain 90 % limits) with the codes written as words; the text
    table lists the failure times of each group."""
    fx = fixtures()["cif_ties"]
    src = (DATA / "cr_ties.csv").read_text().splitlines()
    words = {"0": "alive", "1": "relapse", "2": "death"}
    lines = [src[0]]
    for line in src[1:]:
        cells = line.split(",")
        cells[1] = words[cells[1]]
        lines.append(",".join(cells))
    f = tmp_path / "ties.csv"
    f.write_text("\n".join(lines) + "\n")
    args = ["cif", str(f), "--time", "time", "--event", "status", "--cause", "relapse",
            "--competing", "death", "--censored", "alive", "--by", "g"]  # fmt: skip
    code, out, err = run([*args, "--at", "2,5,9", "--conf-type", "plain", "--conf-level",
                          "0.9", "--json"], capsys)  # fmt: skip
    assert code == 0, err
    p = json.loads(out)
    ref = _curve(fx, "b", 1)
    times = list(arr(fx["times"]))
    idx = [times.index(x) for x in (2.0, 5.0, 9.0)]
    ci = next(c for c in ref["at_ci"] if c["conf_type"] == "plain" and c["conf_level"] == 0.9)
    got = p["groups"][1]["at"]
    np.testing.assert_allclose([r["cif"] for r in got], arr(ref["at_est"])[idx], rtol=1e-9)
    np.testing.assert_allclose([r["lower"] for r in got], arr(ci["lower"])[idx], rtol=1e-9)
    np.testing.assert_allclose([r["upper"] for r in got], arr(ci["upper"])[idx], rtol=1e-9)
    code, out, _ = run(args, capsys)
    assert code == 0
    assert "g = a: n = 10, events = 3, competing events = 4, censored = 3" in out
    assert "Gray's test for the event: chisq = 0.02177 on 1 df" in out
    assert "warning [FEW-EVENTS]" in out


def test_cif_without_groups_and_beyond_follow_up(capsys):
    """R reference (cif_mgus2): one curve, no Gray's test (null); a time after the last
    follow-up is null, as timepoints() gives NA."""
    fx = fixtures()["cif_mgus2"]
    code, out, _ = run(
        ["cif", str(DATA / "cr_mgus2.csv"), "--time", "time", "--event", "status", "--cause",
         "1", "--competing", "2", "--at", "120,500", "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0
    p = json.loads(out)
    assert p["gray"] is None
    assert p["groups"][0]["group"] is None
    ref = _curve(fx, 1, 1)
    got = p["groups"][0]["at"]
    np.testing.assert_allclose(got[0]["cif"], arr(ref["at_est"])[3], rtol=1e-9)
    assert got[1]["cif"] is None
    assert got[1]["lower"] is None
    assert got[1]["n_risk"] == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--censored", "3"], "row 3, column 'status'"),
        (["--censored", "0,2"], "given with both --cause and --censored"),
        (["--strata", "tcell"], "give --by as well"),
        (["--conf-type", "logit"], "--conf-type must be one of"),
    ],
)
def test_cif_errors_are_one_line(extra, message, capsys):
    """Property: user errors give one ``error:`` line and exit 2; an unknown code names its
    spreadsheet row (cr_pbc: row 2 holds status 2, row 3 the first 0)."""
    args = ["cif", str(DATA / "cr_pbc.csv"), "--time", "time", "--event", "status",
            "--cause", "2", "--competing", "1", *extra]  # fmt: skip
    if "--censored" not in extra:
        args += ["--censored", "0"]
    code, out, err = run(args, capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("error: ")
    assert message in err


def test_cox_fine_gray_json_matches_crr(capsys):
    """R reference: crr_bmt (age, platelet, tcell; relapse vs death in remission) — the
    polished crr estimate and sandwich variance, 1e-8 relative (tests/stats/test_finegray.py);
    the cox JSON keys plus "model": "fine-gray"."""
    fx = fixtures()["crr_bmt"]
    code, out, err = run(
        ["cox", BMT, "--time", "time", "--event", "status", "--covariates",
         "age,platelet,tcell", "--cause", "1", "--competing", "2", "--censored", "0",
         "--fine-gray", "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    p = json.loads(out)
    assert p["model"] == "fine-gray"
    for t in p["terms"]:
        assert {"term", "coef", "se", "hr", "lower", "upper", "z", "p_value"} <= set(t)
    np.testing.assert_allclose([t["coef"] for t in p["terms"]], arr(fx["tight_coef"]), rtol=1e-8)
    se = np.sqrt(np.diag(matrix(fx["tight_var"], 3)))
    np.testing.assert_allclose([t["se"] for t in p["terms"]], se, rtol=1e-8)
    assert p["events"] == 161
    assert p["competing_events"] == 87
    code, out, _ = run(
        ["cox", BMT, "--time", "time", "--event", "status", "--covariates",
         "age,platelet,tcell", "--cause", "1", "--competing", "2", "--fine-gray"],
        capsys,
    )  # fmt: skip
    assert code == 0
    assert "Fine–Gray subdistribution hazards" in out
    assert "sHR" in out


def test_cox_cause_specific_json_matches_coxph(capsys):
    """R reference: cs_mgus2 — coxph(Surv(time, status == 1) ~ age + sex + hgb) through
    ``cox --cause 1 --competing 2`` (1e-6, as the cox fixtures); "model": "cause-specific"."""
    fx = fixtures()["cs_mgus2"]
    code, out, err = run(
        ["cox", str(DATA / "cr_mgus2.csv"), "--time", "time", "--event", "status",
         "--covariates", "age,sex,hgb", "--categorical", "sex", "--cause", "1",
         "--competing", "2", "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    p = json.loads(out)
    assert p["model"] == "cause-specific"
    assert [t["term"] for t in p["terms"]] == ["age", "sex[M]", "hgb"]
    np.testing.assert_allclose([t["coef"] for t in p["terms"]], arr(fx["coef"]), rtol=1e-6)
    np.testing.assert_allclose([t["se"] for t in p["terms"]], arr(fx["se"]), rtol=1e-6)
    assert p["events"] == fx["events"]
    assert p["n_dropped"] == 13


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--fine-gray", "--strata", "tcell"], "--strata is not available with --fine-gray"),
        (["--fine-gray", "--robust"], "--robust is not available with --fine-gray"),
        (["--fine-gray", "--engine", "duckdb"], "--fine-gray is not available with engine"),
        (["--engine", "duckdb"], "--cause/--competing is not available with engine duckdb"),
    ],
)
def test_cox_competing_refusals(extra, message, capsys):
    """Property: combinations that are not defined are refused in one line (exit 2)."""
    pytest.importorskip("duckdb")
    code, _, err = run(
        ["cox", BMT, "--time", "time", "--event", "status", "--covariates", "age",
         "--cause", "1", "--competing", "2", *extra],
        capsys,
    )  # fmt: skip
    assert code == 2
    assert message in err


def test_cox_cause_without_competing(capsys):
    """Property: --cause alone is refused (the event column holds codes, not 0/1)."""
    code, _, err = run(
        ["cox", BMT, "--time", "time", "--event", "status", "--covariates", "age", "--cause", "1"],
        capsys,
    )
    assert code == 2
    assert "need both --cause and --competing" in err

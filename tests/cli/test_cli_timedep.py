"""``--start`` for ``survstudy cox``, ``km`` and ``logrank``: values against R, interval checks.

Kinds of truth: R reference (tests/reference/timedep.json, from tests/reference/timedep.R:
survival::heart, the jasa tmerge split, mgus2 on the age scale) and hand-written
expectations for the interval findings (a small CSV with each defect).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import survstudy.cli.cox
import survstudy.cli.km
import survstudy.cli.logrank  # noqa: F401
from survstudy.cli import main as cli_main

REF = Path(__file__).resolve().parents[1] / "reference"
FIX = json.loads((REF / "timedep.json").read_text())
DATA = REF / "data"
HEART = str(DATA / "heart.csv")


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = 0
    try:
        cli_main.main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def as_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out, err = run([*args, "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


HEART_ARGS = ["--start", "start", "--time", "stop", "--event", "event"]
COVS = ["--covariates", "age,year,surgery,transplant"]


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("heart_efron", []),
        ("heart_breslow", ["--ties", "breslow"]),
        ("heart_efron_cluster", ["--robust", "--id", "id"]),
        ("heart_breslow_cluster", ["--ties", "breslow", "--cluster", "id"]),
        ("heart_strata_surgery", ["--strata", "surgery"]),
    ],
)
def test_cox_start_matches_r(
    name: str, extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """R reference: coxph(Surv(start, stop, event) ~ age + year + surgery + transplant, heart)
    (Efron/Breslow, cluster(id), strata(surgery)); JSON keys as without --start."""
    f = FIX["cox"][name]
    covs = ["--covariates", ",".join(f["covariates"])]
    out = as_json(["cox", HEART, *HEART_ARGS, *covs, *extra], capsys)
    assert out["n"] == f["n"]
    assert out["events"] == f["events"]
    np.testing.assert_allclose([t["coef"] for t in out["terms"]], f["coef"], rtol=1e-6)
    np.testing.assert_allclose([t["se"] for t in out["terms"]], f["se"], rtol=1e-6)
    if f["robust_se"] is not None:
        np.testing.assert_allclose(
            [t["robust_se"] for t in out["terms"]], f["robust_se"], rtol=1e-6
        )
    np.testing.assert_allclose([out["loglik_null"], out["loglik"]], f["loglik"], rtol=1e-6)
    np.testing.assert_allclose(out["concordance"]["c"], f["concordance"], rtol=1e-6)
    assert set(out) >= {"ties", "terms", "tests", "concordance", "ph_test", "warnings"}


def test_cox_start_ph_test(capsys: pytest.CaptureFixture[str]) -> None:
    """R reference: cox.zph on the (start, stop] fit (KM with delayed entry)."""
    f = FIX["cox"]["heart_efron"]
    out = as_json(["cox", HEART, *HEART_ARGS, *COVS, "--ph-test"], capsys)
    ph = out["ph_test"]
    got = [t["chisq"] for t in ph["terms"]] + [ph["global"]["chisq"]]
    np.testing.assert_allclose(got, f["zph_chisq"], rtol=1e-6)


def test_km_start_matches_r(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """R reference: survfit(Surv(entry, exit, death) ~ 1) on mgus2 by age (log-log): table,
    median and its limits, summary(times=); plus the exact number at risk (start < t <= stop)
    computed here by counting rows of the CSV (hand, independent of the estimator)."""
    f = FIX["km"]["mgus2_age_log-log"]
    path = str(DATA / "mgus2_age.csv")
    at = [int(t) for t in f["at"]["time"]]
    out = as_json(
        [
            "km",
            path,
            "--start",
            "entry",
            "--time",
            "exit",
            "--event",
            "death",
            "--at",
            ",".join(map(str, at)),
        ],
        capsys,
    )
    assert out["delayed_entry"] is True
    g = out["groups"][0]
    np.testing.assert_allclose([r["n_risk"] for r in g["table"]], f["n_risk"])
    np.testing.assert_allclose([r["survival"] for r in g["table"]], f["surv"], rtol=1e-6)
    q = f["quantiles"]
    assert [g["median"], g["median_lower"], g["median_upper"]] == [
        q["quantile"][1],
        q["lower"][1],
        q["upper"][1],
    ]
    np.testing.assert_allclose([r["n_risk"] for r in g["at"]], f["at"]["n_risk"])
    # the last time (age 110) is beyond follow-up: not estimable (null), R carries S forward
    assert g["at"][-1]["survival"] is None
    np.testing.assert_allclose(
        [r["survival"] for r in g["at"][:-1]], f["at"]["surv"][:-1], rtol=1e-6
    )
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    exact = [sum(float(r["entry"]) < t <= float(r["exit"]) for r in rows) for t in at]
    assert [r["n_at_risk"] for r in g["at"]] == exact


def _jasa_split_csv(tmp_path: Path) -> str:
    """The tmerge split of jasa as R made it (fixture), written as a CSV."""
    s = FIX["split"]
    path = tmp_path / "jasa_split.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["subject", "tstart", "tstop", "death", "trt"])
        for row in zip(s["subject"], s["tstart"], s["tstop"], s["death"], s["trt"], strict=True):
            w.writerow(row)
    return str(path)


def test_logrank_start_is_mantel_byar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """R reference (identity): logrank --start on the split = score test of
    coxph(Surv(tstart, tstop, death) ~ trt, ties = "exact")."""
    path = _jasa_split_csv(tmp_path)
    out = as_json(
        [
            "logrank",
            path,
            "--start",
            "tstart",
            "--time",
            "tstop",
            "--event",
            "death",
            "--by",
            "trt",
            "--id",
            "subject",
        ],
        capsys,
    )
    np.testing.assert_allclose(out["statistic"], FIX["mantel_byar"]["score"], rtol=1e-6)
    assert out["intervals"] is True
    assert [g["group"] for g in out["groups"]] == [0, 1]


def test_km_start_by_time_dependent_group(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """R reference: Simon–Makuch curves (survfit(Surv(tstart, tstop, death) ~ trt)) and the
    exact number at risk per curve (sum(tstart < t & t <= tstop) in R)."""
    f = FIX["simon_makuch"]
    path = _jasa_split_csv(tmp_path)
    times = ",".join(str(t) for t in f["times"])
    out = as_json(
        [
            "km",
            path,
            "--start",
            "tstart",
            "--time",
            "tstop",
            "--event",
            "death",
            "--by",
            "trt",
            "--id",
            "subject",
            "--at",
            times,
        ],
        capsys,
    )
    t = f["table"]
    surv = [r["survival"] for g in out["groups"] for r in g["table"]]
    np.testing.assert_allclose(surv, t["surv"], rtol=1e-6)
    exact = np.array([[r["n_at_risk"] for r in g["at"]] for g in out["groups"]]).T
    np.testing.assert_array_equal(exact, f["exact_n_risk"])


BAD = """pid,t0,t1,dead,x
p1,0,5,1,0
p1,5,9,0,1
p1,5,9,1,1
p2,0,4,0,0
p2,3,8,1,1
p3,0,3,0,0
p3,4,6,1,1
p4,0,10,0,0
p4,7,7,1,1
"""


def test_interval_findings_name_code_rows_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hand: each defect of the CSV above as one line `error: [CODE] file, rows …, column …`
    (the gap as a warning); exit 2; the patient identifiers never appear."""
    path = tmp_path / "bad.csv"
    path.write_text(BAD)
    for cmd in (["cox", "--covariates", "x"], ["km"], ["logrank", "--by", "x"]):
        code, _, err = run(
            [
                cmd[0],
                str(path),
                "--start",
                "t0",
                "--time",
                "t1",
                "--event",
                "dead",
                "--id",
                "pid",
                *cmd[1:],
            ],
            capsys,
        )
        assert code == 2
        lines = err.strip().splitlines()
        assert f"warning: [INTERVAL-GAP] {path}, rows 7, 8, column 't0': " in lines[0]
        errs = [ln for ln in lines if ln.startswith("error: ")]
        assert [e.split("]")[0] for e in errs] == [
            "error: [INTERVAL-EMPTY",
            "error: [INTERVAL-DUPLICATE",
            "error: [INTERVAL-OVERLAP",
            "error: [EVENT-NOT-LAST",
        ]
        assert f"{path}, row 10, column 't0'" in errs[0]
        assert f"{path}, rows 3, 4, column 't0'" in errs[1]
        assert f"{path}, rows 5, 6, column 't0'" in errs[2]
        assert f"{path}, row 2, column 'dead'" in errs[3]
        assert not any(p in err for p in ("p1", "p2", "p3", "p4"))


def test_without_id_only_rows_are_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hand: without --id only start < stop is checked, row by row."""
    path = tmp_path / "bad.csv"
    path.write_text(BAD)
    code, _, err = run(
        ["km", str(path), "--start", "t0", "--time", "t1", "--event", "dead"], capsys
    )
    assert code == 2
    assert err.strip().splitlines() == [
        f"error: [INTERVAL-EMPTY] {path}, row 10, column 't0': the interval does not end after "
        "it starts (start >= stop); each row must cover a time span start < stop"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["cox", HEART, *HEART_ARGS, *COVS, "--engine", "duckdb"],
            "--start is not available with engine duckdb",
        ),
        (
            ["km", HEART, *HEART_ARGS, "--engine", "duckdb"],
            "--start is not available with engine duckdb",
        ),
        (
            ["logrank", HEART, *HEART_ARGS, "--by", "transplant", "--engine", "duckdb"],
            "--start is not available with engine duckdb",
        ),
        (["cox", HEART, *HEART_ARGS, *COVS, "--firth"], "--firth is not available with --start"),
        (["cox", HEART, *HEART_ARGS, *COVS, "--ci", "profile"], "--ci profile is not available"),
        (["cox", HEART, *HEART_ARGS, *COVS, "--robust"], "--robust with --start needs --id"),
        (
            ["cox", HEART, "--time", "stop", "--event", "event", *COVS, "--id", "id"],
            "--id applies to interval data",
        ),
        (
            ["logrank", HEART, *HEART_ARGS, "--by", "transplant", "--permutation", "exact"],
            "--permutation is not available with --start",
        ),
        (
            ["km", HEART, "--start", "nope", "--time", "stop", "--event", "event"],
            "column 'nope' not found",
        ),
    ],
)
def test_refusals_are_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hand: options that do not combine with --start are refused in one `error:` line, exit 2."""
    code, _, err = run(args, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert message in lines[0]

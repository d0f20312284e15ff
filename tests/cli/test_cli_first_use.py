"""Issue 15, as a surgeon meets it with R's `lung` file as distributed (status 1 = censored,
2 = dead): --event-codes on the quick commands, survival past the end of follow-up, the
compact km summary and --at with units.

Kinds of truth: R reference (tests/reference/km_logrank.json and cox.json: survfit,
survdiff and coxph on lung with ev = status == 2), hand-written expected messages.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from survstudy.cli import main as cli_main

REF = Path(__file__).resolve().parents[1] / "reference"
LUNG = str(REF / "data" / "lung.csv")
KL = json.loads((REF / "km_logrank.json").read_text(encoding="utf-8"))
COX = json.loads((REF / "cox.json").read_text(encoding="utf-8"))["fixtures"]["lung_efron"]
CODES = ["--event-codes", "event=2,censored=1"]


def _rows(status: str) -> list[int]:
    """Spreadsheet rows (header = row 1) of lung.csv with this status, read with csv."""
    import csv

    with open(LUNG, newline="", encoding="utf-8") as fh:
        return [i for i, r in enumerate(csv.DictReader(fh), start=2) if r["status"] == status]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    cli_main._state["debug"] = False
    code = 0
    try:
        cli_main.main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_lung_coding_refused_with_a_fix(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["km", LUNG, "--time", "time", "--event", "status"], capsys)
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("error: [EVENT-CODE]")
    assert "column 'status'" in err
    # '1' reads as an event under the default 0/1 coding; '2' is what cannot be read
    two = _rows("2")
    assert f"found '2' (rows {', '.join(map(str, two[:10]))} and {len(two) - 10} more)" in err
    assert "--event-codes event=2,censored=1" in err


def test_km_with_event_codes_equals_r(capsys: pytest.CaptureFixture[str]) -> None:
    """R: survfit(Surv(time, status == 2) ~ 1, lung): median 310 (284, 361); at 730 days."""
    code, out, err = run(
        ["km", LUNG, "--time", "time", "--event", "status", *CODES, "--at", "730", "--json"],
        capsys,
    )
    assert code == 0, err
    g = json.loads(out)["groups"][0]
    ref = KL["km_lung"]["groups"][0]
    assert (g["median"], g["median_lower"], g["median_upper"]) == (310, 284, 361)
    i = ref["at_time"].index(730)
    assert g["at"][0]["survival"] == pytest.approx(ref["at_survival"][i], rel=1e-9)
    assert g["at"][0]["lower"] == pytest.approx(ref["at_lower"][i], rel=1e-9)
    assert g["at"][0]["n_risk"] == ref["at_n_risk"][i]


def test_survival_past_the_end_of_follow_up_is_not_estimable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Nobody in lung is followed past day 1022: at day 1825 R's summary(fit, times = 1825)
    gives no row; survstudy says not estimable (JSON null), never 0.0357."""
    args = ["km", LUNG, "--time", "time", "--event", "status", *CODES, "--at", "730,1825"]
    code, out, _ = run([*args, "--json"], capsys)
    assert code == 0
    at = json.loads(out)["groups"][0]["at"]
    assert at[1] == {
        "time": 1825.0,
        "n_risk": 0.0,
        "survival": None,
        "std_err": None,
        "lower": None,
        "upper": None,
        "beyond_follow_up": True,
    }
    assert at[0]["survival"] is not None
    code, out, _ = run([*args, "--time-unit", "days"], capsys)
    assert code == 0
    assert "survival at 1825 days: not estimable (beyond the last follow-up, 1022 days)" in out
    assert "0.0357" not in out
    assert "3.6%" not in out


def test_km_prints_a_compact_summary_and_the_table_on_request(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["km", LUNG, "--time", "time", "--event", "status", *CODES, "--at", "1y"]
    code, out, _ = run([*args, "--time-unit", "days"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[2] == "n = 228, events = 165, median = 310 days (95% CI 284 to 361)"
    assert lines[3].startswith("  survival at 1y: ")
    assert "n.risk" not in out  # no product-limit table by default
    assert len(lines) < 10
    code, out, _ = run([*args, "--time-unit", "days", "--table"], capsys)
    assert "n.risk" in out
    assert len(out.splitlines()) > 180


def test_at_with_units(capsys: pytest.CaptureFixture[str]) -> None:
    """2y and 5y with --time-unit days are 730.5 and 1826.25 days (year = 365.25 days)."""
    base = ["km", LUNG, "--time", "time", "--event", "status", *CODES, "--json"]
    _, out_u, _ = run([*base, "--at", "2y,6m", "--time-unit", "days"], capsys)
    _, out_d, _ = run([*base, "--at", "730.5,182.625"], capsys)
    assert json.loads(out_u)["groups"][0]["at"] == json.loads(out_d)["groups"][0]["at"]
    code, _, err = run([*base, "--at", "2y"], capsys)
    assert code == 2
    assert "needs --time-unit" in err


def test_logrank_and_cox_with_event_codes_equal_r(capsys: pytest.CaptureFixture[str]) -> None:
    """R: survdiff(Surv(time, ev) ~ sex, lung); coxph(Surv(time, ev) ~ age + sex + ph.ecog)."""
    code, out, err = run(
        ["logrank", LUNG, "--time", "time", "--event", "status", *CODES, "--by", "sex", "--json"],
        capsys,
    )
    assert code == 0, err
    assert json.loads(out)["statistic"] == pytest.approx(KL["lr_lung_sex"]["statistic"], rel=1e-9)
    code, out, err = run(
        [
            "cox",
            LUNG,
            "--time",
            "time",
            "--event",
            "status",
            *CODES,
            "--covariates",
            "age,sex,ph.ecog",
            "--json",
        ],
        capsys,
    )
    assert code == 0, err
    coefs = [t["coef"] for t in json.loads(out)["terms"]]
    assert coefs == pytest.approx(COX["coef"], rel=1e-7)


@pytest.mark.parametrize(
    ("codes", "needle"),
    [
        ("event=2", "needs both event=... and censored=..."),
        ("dead=2,censored=1", "'dead=2' is not event=VALUE or censored=VALUE"),
        ("event=2,censored=2", "listed as event and as censored"),
        ("event=2,competing=3,censored=1", "analyse it as a competing risk"),
        ("event=2,censored=0", "values not covered by --event-codes: '1' (rows 4, 7, 39, "),
    ],
)
def test_event_code_mistakes(codes: str, needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        ["km", LUNG, "--time", "time", "--event", "status", "--event-codes", codes], capsys
    )
    assert code == 2
    assert err.count("\n") == 1
    assert needle in err

"""``survstudy init``: a commented spec with guessed types that validates as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from survstudy.cli import main as cli_main
from survstudy.spec import load_spec

CSV = (
    "Patient ID,Surgery date,Age,Grade,Sex,Smoker,Death\n"
    "MRN-77120,2015-01-10,54,1,F,no,0\n"
    "MRN-77121,2016-02-11,61,3,M,yes,1\n"
    "MRN-77122,2014-07-01,47,2,F,no,0\n"
    "MRN-77123,2017-03-15,70,3,F,former,1\n"
    "MRN-77124,2013-05-05,66,1,M,no,0\n"
)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    cli_main._state["debug"] = False
    with pytest.raises(SystemExit) as info:
        cli_main.main(args)
    out = capsys.readouterr()
    return (info.value.code if isinstance(info.value.code, int) else 0), out.out, out.err


def test_init_guesses_types_and_validates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hand check of each guess; the written spec loads and validates (exit 0)."""
    data = tmp_path / "raw" / "cohort.csv"
    data.parent.mkdir()
    data.write_text(CSV)
    out = tmp_path / "study.yaml"
    code, stdout, _ = run(["init", str(data), "--out", str(out)], capsys)
    assert code == 0
    assert stdout.startswith(f"wrote {out}: 7 columns")
    text = out.read_text()
    assert "MRN-77120" not in text
    assert "2015-01-10" not in text
    spec = load_spec(out)
    assert spec.data.path == "raw/cohort.csv"
    assert spec.data.id == "Patient ID"
    types = {n: v.type for n, v in spec.variables.items()}
    assert types == {
        "patient_id": "identifier",
        "surgery_date": "date",
        "age": "continuous",
        "grade": "categorical",
        "sex": "binary",
        "smoker": "categorical",
        "death": "binary",
    }
    assert spec.variables["smoker"].level_names() == ["former", "no", "yes"]
    assert spec.variables["patient_id"].column == "Patient ID"
    code, stdout, _ = run(["validate", str(out)], capsys)
    assert code == 0


def test_init_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "d.csv"
    data.write_text(CSV)
    out = tmp_path / "study.yaml"
    out.write_text("keep me\n")
    code, _, err = run(["init", str(data), "--out", str(out)], capsys)
    assert code == 2
    assert "already exists" in err
    assert out.read_text() == "keep me\n"
    code, _, err = run(["init", str(data), "--out", str(data), "--force"], capsys)
    assert code == 2
    assert data.read_text() == CSV


def test_init_xlsx_never_copies_dates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A column with date cells (and one Excel serial) is a date column; no date is written."""
    import datetime as dt

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["case", "Operation", "Death date", "Grade"])
    ws.append(["C-101", dt.datetime(2015, 1, 10), None, "G2"])
    ws.append(["C-102", 42005, None, "G3"])
    wb.save(tmp_path / "d.xlsx")
    out = tmp_path / "s.yaml"
    code, _, _ = run(
        ["init", str(tmp_path / "d.xlsx"), "--sheet", "Data", "--out", str(out)], capsys
    )
    assert code == 0
    text = out.read_text()
    for secret in ("2015", "42005", "C-101", "C-102"):
        assert secret not in text
    spec = load_spec(out)
    assert spec.data.sheet == "Data"
    assert {n: v.type for n, v in spec.variables.items()} == {
        "case": "identifier",
        "operation": "date",
        "death_date": "date",
        "grade": "binary",
    }


def test_init_header_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "t.csv"
    data.write_text("My title\n\nid,age\nA1,40\nA2,50\n")
    out = tmp_path / "t.yaml"
    code, _, _ = run(["init", str(data), "--header-row", "3", "--out", str(out)], capsys)
    assert code == 0
    spec = load_spec(out)
    assert spec.data.header_row == 3
    assert set(spec.variables) == {"id", "age"}


PAIRS = (
    "pid,age,rtime,recur,dtime,death,os_months,os_status\n"
    "P1,50,100,1,300,1,9.8,1\n"
    "P2,61,200,0,200,0,6.5,0\n"
    "P3,70,150,0,400,1,13.1,1\n"
    "P4,45,500,1,600,0,19.7,0\n"
    "P5,66,120,0,120,0,3.9,0\n"
)


def test_init_proposes_endpoints_from_time_status_pairs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hand check (issue 17 item 6): rtime/recur, dtime/death and os_months/os_status are
    proposed as endpoints and all three as a composite;
    the spec validates and the composite counts the earliest event per patient."""
    data = tmp_path / "d.csv"
    data.write_text(PAIRS)
    out = tmp_path / "s.yaml"
    code, _, _ = run(["init", str(data), "--out", str(out)], capsys)
    assert code == 0
    spec = load_spec(out)
    eps = {k: (v.time, v.event, v.time_unit) for k, v in spec.endpoints.items()}
    assert eps == {
        "RECUR": ("rtime", "recur", "days"),
        "DEATH": ("dtime", "death", "days"),
        "OS": ("os_months", "os_status", "months"),
        "FIRST_EVENT": (["rtime", "dtime", "os_months"], ["recur", "death", "os_status"], "days"),
    }
    code, stdout, _ = run(["validate", str(out)], capsys)
    assert code == 0
    # events per patient: P1 yes, P2 no, P3 yes (death), P4 yes (relapse), P5 no
    assert "endpoint FIRST_EVENT: 5 patients, 3 events" in stdout


def test_init_proposes_joins_for_further_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hand check (issue 17 item 6): a second file with one row per id is a one-row table,
    a third with repeated ids a rows: many table with a summary per column; the pair in the
    one-row table becomes an endpoint; the spec validates."""
    (tmp_path / "base.csv").write_text("pid,age\nP1,50\nP2,61\nP3,70\n")
    (tmp_path / "outcome.csv").write_text("pid,rfs_days,rfs_status\nP2,300,0\nP1,200,1\nP3,150,1\n")
    (tmp_path / "visits.csv").write_text(
        "pid,visit_date,score\nP1,2020-06-01,3\nP1,2020-09-01,4\nP2,2020-05-01,5\n"
    )
    out = tmp_path / "s.yaml"
    files = [str(tmp_path / f) for f in ("base.csv", "outcome.csv", "visits.csv")]
    code, _, _ = run(["init", *files, "--out", str(out)], capsys)
    assert code == 0
    text = out.read_text()
    assert "P1" not in text
    assert "2020" not in text
    spec = load_spec(out)
    tables = {k: (t.path, t.rows) for k, t in spec.data.tables.items()}
    assert tables == {"outcome": ("outcome.csv", "one"), "visits": ("visits.csv", "many")}
    joined = {n: (v.from_table, v.summary) for n, v in spec.variables.items() if v.from_table}
    assert joined == {
        "rfs_days": ("outcome", None),
        "rfs_status": ("outcome", None),
        "visit_date": ("visits", "max"),
        "score": ("visits", "last"),
    }
    assert (spec.endpoints["RFS"].time, spec.endpoints["RFS"].event) == ("rfs_days", "rfs_status")
    code, stdout, _ = run(["validate", str(out)], capsys)
    assert code == 0
    assert "endpoint RFS: 3 patients, 2 events" in stdout
    assert "[TABLE-NO-MATCH]" in stdout  # P3 has no visit

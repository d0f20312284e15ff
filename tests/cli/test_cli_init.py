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

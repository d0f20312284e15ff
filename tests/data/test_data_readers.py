"""Readers: encodings, separators, decimal comma, XLSX sheets and date systems, SPSS, Stata, Parquet."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pandas as pd
import pytest

from survstudy.data.columns import parse_dates
from survstudy.data.quality import IssueCollector
from survstudy.data.readers import read_raw, read_table
from survstudy.errors import DataError

TEXT = "id;name;ki67\n1;Müller;10,5\n2;Ødegård;20\n"


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("encoded", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + TEXT.encode("utf-8"), "utf-8-sig"),
        (TEXT.encode("utf-16"), "utf-16"),
    ],
)
def test_csv_encodings_separator_and_decimal_comma(
    tmp_path: Path, encoded: bytes, encoding: str
) -> None:
    """Hand check: ';' separator, decimal comma, BOM removed from the first header."""
    p = tmp_path / "d.csv"
    p.write_bytes(encoded)
    before = sha(p)
    raw = read_raw(p)
    assert raw.columns == ("id", "name", "ki67")
    assert raw.separator == ";"
    assert raw.decimal == ","
    assert raw.encoding == encoding
    assert raw.records[0] == ("1", "Müller", "10,5")
    assert raw.rows == (2, 3)
    frame = read_table(p)
    assert frame["ki67"].tolist() == [10.5, 20.0]
    assert sha(p) == before


def test_cp1252_is_read_with_a_note(tmp_path: Path) -> None:
    p = tmp_path / "d.csv"
    p.write_bytes(TEXT.encode("cp1252", errors="replace"))
    raw = read_raw(p)
    assert raw.encoding == "cp1252"
    assert raw.records[0][1] == "Müller"
    assert raw.notes


def test_csv_row_numbers_skip_blank_lines_as_excel_shows_them(tmp_path: Path) -> None:
    p = tmp_path / "d.csv"
    p.write_text("a,b\n1,2\n\n3,4\n")
    raw = read_raw(p)
    assert raw.rows == (2, 4)


def test_tab_separated(tmp_path: Path) -> None:
    p = tmp_path / "d.tsv"
    p.write_text("a\tb\n1.5\t2\n")
    assert read_table(p)["a"].tolist() == [1.5]


def _workbook(path: Path, *, epoch_1904: bool = False) -> None:
    import openpyxl
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    wb = openpyxl.Workbook()
    if epoch_1904:
        wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.title = "cover"
    ws.append(["not the data"])
    ws2 = wb.create_sheet("patients")
    ws2.append(["id", "surgery", "serial"])
    ws2.append([1, dt.datetime(2015, 3, 4), 43831])
    ws2.append([2, dt.datetime(2016, 5, 6), 0])
    wb.save(path)


def test_xlsx_sheet_by_name_and_index(tmp_path: Path) -> None:
    p = tmp_path / "d.xlsx"
    _workbook(p)
    before = sha(p)
    by_name = read_raw(p, sheet="patients")
    by_index = read_raw(p, sheet=1)
    assert by_name.records == by_index.records
    assert by_name.columns == ("id", "surgery", "serial")
    assert by_name.records[0][1] == dt.datetime(2015, 3, 4)
    assert by_name.date_system == 1900
    assert read_raw(p).columns == ("not the data",)
    with pytest.raises(DataError, match="no sheet named 'Patient'"):
        read_raw(p, sheet="Patient")
    assert sha(p) == before


@pytest.mark.parametrize(("system", "expected"), [(1900, "2020-01-01"), (1904, "2024-01-02")])
def test_excel_serial_dates_follow_the_date_system(system: int, expected: str) -> None:
    """Published fact: serial 43831 is 2020-01-01 in Excel's 1900 system; 1904 adds 1462 days."""
    issues = IssueCollector("f.xlsx")
    out = parse_dates(
        [43831],
        [2],
        column="c",
        codes=frozenset({""}),
        issues=issues,
        date_format=None,
        century_pivot=None,
        excel_system=system,
        source_kind="xlsx",
    )
    assert out == [dt.date.fromisoformat(expected)]
    assert [i.code for i in issues.issues] == ["DATE-EXCEL-SERIAL"]


def test_xlsx_1904_workbook_is_detected(tmp_path: Path) -> None:
    p = tmp_path / "d.xlsx"
    _workbook(p, epoch_1904=True)
    raw = read_raw(p, sheet="patients")
    assert raw.date_system == 1904


def test_sav_value_labels_and_user_missing(tmp_path: Path) -> None:
    """Value labels become the categories; SPSS user-missing codes (9) become missing."""
    import pyreadstat

    p = tmp_path / "d.sav"
    frame = pd.DataFrame({"grade": [1.0, 2.0, 9.0], "age": [40.0, 50.0, 60.0]})
    pyreadstat.write_sav(
        frame,
        str(p),
        variable_value_labels={"grade": {1.0: "Low", 2.0: "High", 9.0: "Unknown"}},
        missing_ranges={"grade": [9.0]},
    )
    before = sha(p)
    raw = read_raw(p)
    assert raw.column("grade") == ["Low", "High", None]
    assert raw.column("age") == [40.0, 50.0, 60.0]
    assert raw.rows == (1, 2, 3)
    assert sha(p) == before


def test_dta_value_labels(tmp_path: Path) -> None:
    p = tmp_path / "d.dta"
    frame = pd.DataFrame({"grade": [1, 2, 1], "age": [40.0, None, 60.0]})
    frame.to_stata(p, write_index=False, value_labels={"grade": {1: "Low", 2: "High"}})
    raw = read_raw(p)
    assert raw.column("grade") == ["Low", "High", "Low"]
    assert raw.column("age") == [40.0, None, 60.0]


def test_parquet(tmp_path: Path) -> None:
    p = tmp_path / "d.parquet"
    pd.DataFrame({"a": [1, 2], "when": pd.to_datetime(["2020-01-02", None])}).to_parquet(p)
    raw = read_raw(p)
    assert raw.column("a") == [1, 2]
    assert raw.column("when") == [dt.datetime(2020, 1, 2), None]


def test_explicit_format_overrides_extension(tmp_path: Path) -> None:
    p = tmp_path / "export.dat"
    p.write_text("a,b\n1,2\n")
    assert read_raw(p, fmt="csv").records == (("1", "2"),)
    with pytest.raises(DataError, match="cannot tell the file format"):
        read_raw(p)


def test_read_table_keeps_its_contract_on_the_shared_data() -> None:
    """Hand check against the file: book_test1.csv has 7 rows, one missing status."""
    path = Path(__file__).resolve().parents[3] / "shared" / "data" / "book_test1.csv"
    if not path.exists():
        pytest.skip("shared data not available")
    frame = read_table(path)
    assert list(frame.columns) == ["time", "status", "x"]
    assert frame["time"].tolist() == [9, 3, 1, 1, 6, 6, 8]
    assert int(frame["status"].isna().sum()) == 1


def test_header_row_skips_title_lines(tmp_path: Path) -> None:
    """Rows keep their spreadsheet numbers: header on row 3, first patient on row 4."""
    p = tmp_path / "d.csv"
    p.write_text("Liver metastasis study;;\nexported 2021;;\nid;age;grade\n1;40,5;2\n2;50;3\n")
    raw = read_raw(p, header_row=3)
    assert raw.columns == ("id", "age", "grade")
    assert raw.rows == (4, 5)
    assert raw.separator == ";"
    assert raw.decimal == ","
    with pytest.raises(DataError, match=r"row 9 \(data\.header_row\) is empty"):
        read_raw(p, header_row=9)


def test_header_row_in_a_workbook(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Study title"])
    ws.append([])
    ws.append(["id", "age"])
    ws.append([1, 40])
    wb.save(tmp_path / "d.xlsx")
    raw = read_raw(tmp_path / "d.xlsx", header_row=3)
    assert raw.columns == ("id", "age")
    assert raw.rows == (4,)
    assert read_raw(tmp_path / "d.xlsx").columns == ("Study title",)


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_checksum_false_skips_the_hash(tmp_path: Path, suffix: str) -> None:
    """Hand check: the checksum is SHA-256 of the file's bytes (hashlib on the bytes read
    back); ``checksum=False`` (the quick commands) reads the same cells without it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / f"d.{suffix}"
    if suffix == "csv":
        path.write_text("time,event\n5,1\n8,0\n")
    else:
        pq.write_table(pa.table({"time": [5.0, 8.0], "event": [1, 0]}), path)
    full = read_raw(path)
    quick = read_raw(path, checksum=False)
    assert full.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert quick.sha256 == ""
    assert quick.n == full.n == 2
    assert [str(v) for v in quick.cells("time").data] == [str(v) for v in full.cells("time").data]

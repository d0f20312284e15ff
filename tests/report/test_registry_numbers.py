"""Registry-scale numbers in the report: grouped counts in the inclusion flow (HTML, Word),
raw numbers in CSV/XLSX for cells that are only a grouped or minus-signed number.

Kinds of truth: every expected string and number is written by hand.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from survstudy.report import FlowStep, ReportBundle, write_report
from survstudy.tables.model import Column, Row, TableModel

M = "\u2212"


def _bundle() -> ReportBundle:
    table = TableModel(
        id="survival",
        title="Table 2. Survival",
        columns=[Column("statistic", ""), Column("os", "Overall survival")],
        rows=[
            Row("summary", {"statistic": "Patients, n", "os": "10,000,000"}),
            Row("summary", {"statistic": "Events, n (%)", "os": "7,623,599 (76.2)"}),
            Row("summary", {"statistic": "Small, n", "os": "9999"}),
            Row("summary", {"statistic": "Shift", "os": f"{M}1.3"}),
            Row("summary", {"statistic": "Range", "os": f"0 ({M}5 to 5.1)"}),
        ],
    )
    return ReportBundle(
        title="Registry",
        flow=[
            FlowStep("Rows in the data file", 10_000_000),
            FlowStep("Analysed", 9_999_000, 1_000, "missing follow-up"),
            FlowStep("Adults", 9_000, 12_345, "age under 18"),
        ],
        tables=[table],
    )


def test_flow_counts_are_grouped_in_html_and_word(tmp_path: Path) -> None:
    """Hand-written: "n = 10,000,000", "Excluded (n = 12,345)", "n = 9000" (below 10 000)."""
    import docx

    out = tmp_path / "o"
    write_report(_bundle(), out, formats=("html", "docx"))
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "n = 10,000,000" in html
    assert "n = 9,999,000" in html
    assert "Excluded (n = 1000)" in html
    assert "Excluded (n = 12,345)" in html
    assert "n = 9000" in html
    assert "n = 10000000" not in html
    text = "\n".join(p.text for p in docx.Document(str(out / "report.docx")).paragraphs)
    assert "Rows in the data file: n = 10,000,000" in text
    assert "→ excluded (n = 12,345): age under 18" in text
    assert "Adults: n = 9000" in text


def test_csv_and_xlsx_keep_raw_numbers(tmp_path: Path) -> None:
    """Hand-written: a cell that is only a number becomes that number (10000000, -1.3);
    composite cells stay as printed; a small count is unchanged."""
    import openpyxl

    out = tmp_path / "o"
    write_report(_bundle(), out, formats=("csv", "xlsx"))
    raw = (out / "tables" / "survival.csv").read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(raw)))
    assert [r[1] for r in rows[1:]] == [
        "10000000",
        "7,623,599 (76.2)",
        "9999",
        "-1.3",
        f"0 ({M}5 to 5.1)",
    ]
    ws = openpyxl.load_workbook(out / "tables.xlsx")["survival"]
    col = {ws.cell(r, 1).value: ws.cell(r, 2) for r in range(1, ws.max_row + 1)}
    assert col["Patients, n"].value == 10_000_000
    assert col["Patients, n"].data_type == "n"
    assert col["Shift"].value == -1.3
    assert col["Events, n (%)"].value == "7,623,599 (76.2)"
    assert col["Small, n"].value == "9999"

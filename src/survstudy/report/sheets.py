"""tables/*.csv and tables.xlsx, with formula-like text neutralised.

Every text cell that starts with ``=``, ``+``, ``-``, ``@``, tab or CR and is not
a plain number gets a leading apostrophe (``'=HYPERLINK(...)``), in CSV and in
XLSX alike, so no spreadsheet runs a label as a formula. Numbers (int/float
values from ``to_records()``, and text cells that are only a number printed with
thousands commas or a minus sign, "10,000,000", "−1.3") are written as numbers. CSV headers are the column
keys (stable for scripts); XLSX headers are the printed column headers. CSV files are UTF-8 with a
byte-order mark (so Excel reads "–" and "≥" correctly) and CRLF line ends.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from survstudy.report import _tables as T
from survstudy.report.safe import fixed_datetime, neutralise, normalise_zip

__all__ = ["render_csv", "render_xlsx"]


def _header_and_rows(table: Any) -> tuple[list[str], list[list[Any]]]:
    recs = T.records(table)
    header: list[str] = []
    for r in recs:
        for k in r:
            if k not in header:
                header.append(str(k))
    if not recs:
        header = [label or k for k, label in T.columns(table)]
    return header, [[_raw(r.get(h)) for h in header] for r in recs]


# a printed number with display-only marks: thousands commas and/or a minus sign U+2212
_PRINTED = re.compile(r"[\u2212-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?")


def _raw(v: Any) -> Any:
    """A cell that is only a number printed with "," or "−" ("10,000,000", "−1.3") as the
    raw number, so a spreadsheet sums it; every other cell is left as printed."""
    if not isinstance(v, str) or ("," not in v and "\u2212" not in v) or not _PRINTED.fullmatch(v):
        return v
    plain = v.replace(",", "").replace("\u2212", "-")
    return float(plain) if "." in plain else int(plain)


def render_csv(table: Any) -> bytes:
    header, rows = _header_and_rows(table)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([neutralise(h) for h in header])
    for r in rows:
        w.writerow(["" if v is None else v for v in (neutralise(x) for x in r)])
    return buf.getvalue().encode("utf-8-sig")


def render_xlsx(tables: list[tuple[str, Any]], banner: str = "") -> bytes:
    """One sheet per (sheet name, table); sheet names must be unique and <= 31 chars.

    Each sheet: title (row 1), the banner if any (row 2, e.g. the synthetic-data
    notice), column headers (row 3), rows, then the footnotes.
    """
    import openpyxl
    from openpyxl.styles import Font

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    when = fixed_datetime().replace(tzinfo=None)
    wb.properties.creator = "survstudy"
    wb.properties.lastModifiedBy = "survstudy"
    wb.properties.created = when
    wb.properties.modified = when
    for name, table in tables:
        ws = wb.create_sheet(title=name)
        header, rows = _header_and_rows(table)
        title = T.title(table)
        start = 1
        if title or banner:
            ws.cell(row=1, column=1, value=neutralise(title)).font = Font(bold=True)
            start = 3
        if banner:
            ws.cell(row=2, column=1, value=neutralise(banner)).font = Font(
                bold=True, color="B00000"
            )
        # People read the workbook: printed column headers (the key when a header is blank).
        labels = dict(T.columns(table))
        for j, h in enumerate(header, start=1):
            c = ws.cell(row=start, column=j, value=neutralise(labels.get(h) or h))
            c.font = Font(bold=True)
            c.data_type = "s"
        for i, r in enumerate(rows, start=start + 1):
            for j, v in enumerate(r, start=1):
                val = neutralise(v)
                c = ws.cell(row=i, column=j, value=val)
                if isinstance(val, str):
                    c.data_type = "s"
        foot_row = start + len(rows) + 2
        for f in T.footnotes(table):
            c = ws.cell(row=foot_row, column=1, value=neutralise(f))
            c.data_type = "s"
            foot_row += 1
        for j in range(1, len(header) + 1):
            width = max([len(str(header[j - 1]))] + [len(str(r[j - 1] or "")) for r in rows] + [8])
            ws.column_dimensions[openpyxl.utils.get_column_letter(j)].width = min(width + 2, 60)
    if not tables:
        wb.create_sheet(title="tables")
    buf = io.BytesIO()
    wb.save(buf)
    return normalise_zip(buf.getvalue())

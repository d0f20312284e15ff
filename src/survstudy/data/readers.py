"""Readers: one entry point per use, chosen by file extension (the spec may override).

* :func:`read_raw` returns the cells as the user sees them (text for CSV; the
  stored Python values for XLSX, SPSS, Stata, Parquet) with the spreadsheet row
  number of every record, for the validation layer.
* :func:`read_table` returns a typed DataFrame, for the quick statistics commands.

Input files are only ever opened for reading. Every problem is a
:class:`~survstudy.errors.DataError` naming the file.

CSV: the encoding is detected from a byte-order mark (UTF-8, UTF-16), else UTF-8
is tried, else Windows-1252 (reported); the separator is the one of ``,`` ``;``
``\\t`` found most often in the header line; the decimal mark is a comma when the
separator is not a comma and numbers are written like ``1,5`` and never ``1.5``.

XLSX: read with openpyxl in read-only mode with defusedxml active, formulas as
their cached values, external links and macros ignored, after checking the
archive's total uncompressed size and compression ratio (a "zip bomb" guard).
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from survstudy.data.cells import Cells
from survstudy.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_XLSX_RATIO",
    "MAX_XLSX_UNCOMPRESSED",
    "SUPPORTED_FORMATS",
    "RawTable",
    "arrow_without_pandas",
    "read_frame",
    "read_raw",
    "read_table",
    "sha256_of",
]

SUPPORTED_FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".sav": "sav",
    ".zsav": "sav",
    ".dta": "dta",
    ".parquet": "parquet",
    ".pq": "parquet",
}

MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_XLSX_UNCOMPRESSED = 512 * 1024 * 1024
MAX_XLSX_RATIO = 200.0

_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d+$")
_DECIMAL_POINT = re.compile(r"^[-+]?\d+\.\d+$")


@dataclass(frozen=True)
class RawTable:
    """The cells of a data file, untouched, column by column, with the row number the user
    sees for each record.

    ``columns`` names every column of the file; ``data`` holds the cells of the columns
    that were read (all, or those asked for: see :func:`read_raw`), each an Arrow array
    (CSV: text; Parquet: as stored) or a NumPy object array of Python values (XLSX,
    SPSS, Stata). ``row_numbers[i]`` is the spreadsheet row of record ``i`` (header =
    row 1 for CSV and XLSX; case number for SPSS, Stata and Parquet). ``typed`` says
    whether the cells carry their own types (XLSX, SPSS, …) or are all text (CSV).
    ``sha256`` is the file's checksum (provenance); empty when the caller asked for none
    (``read_raw(..., checksum=False)``).
    """

    file: str
    kind: str
    columns: tuple[str, ...]
    data: dict[str, Any]
    row_numbers: np.ndarray
    typed: bool
    sha256: str
    date_system: int | None = None  # 1900 or 1904 for XLSX
    decimal: str = "."
    separator: str | None = None
    encoding: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    value_labels: dict[str, dict[Any, str]] = field(default_factory=dict)
    #: SPSS/Stata variable labels ("Treatment arm" for rx)
    column_labels: dict[str, str] = field(default_factory=dict)
    #: SPSS/Stata value labels of a column in the order of their codes (Observation = 1 first)
    label_order: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """The number of records (data rows)."""
        return len(self.row_numbers)

    @property
    def rows(self) -> tuple[int, ...]:
        return tuple(int(r) for r in self.row_numbers)

    def cells(self, name: str) -> Cells:
        """The cells of column ``name`` (which must have been read)."""
        return Cells(self.data[name], self.row_numbers)

    def column(self, name: str) -> list[Any]:
        """The cells of column ``name`` as Python values (``None`` for empty)."""
        return self.cells(name).to_list()

    @property
    def records(self) -> tuple[tuple[Any, ...], ...]:
        """Row by row, the cells of the columns read (small files: scaffolding, tests)."""
        cols = [self.column(c) for c in self.columns if c in self.data]
        return tuple(zip(*cols, strict=True)) if cols else tuple(() for _ in range(self.n))


def _object_columns(
    columns: Sequence[str], records: Sequence[Sequence[Any]], wanted: Sequence[str] | None
) -> dict[str, np.ndarray]:
    """Per-column object arrays from row records (spreadsheets, small by nature)."""
    out: dict[str, np.ndarray] = {}
    for j, c in enumerate(columns):
        if wanted is not None and c not in wanted:
            continue
        arr = np.empty(len(records), dtype=object)
        arr[:] = [rec[j] for rec in records]
        out[c] = arr
    return out


def sha256_of(path: str | Path) -> str:
    """SHA-256 of a file's bytes (read-only)."""
    import hashlib  # here: the quick commands do not hash their file

    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_of_files(files: list[str]) -> str:
    """SHA-256 of a data set: of the file itself for one file; for several (a folder of
    Parquet files), of the lines ``name:sha256`` of each file in name order."""
    if len(files) == 1:
        return sha256_of(files[0])
    import hashlib

    digest = hashlib.sha256()
    for f in files:
        digest.update(f"{Path(f).name}:{sha256_of(f)}\n".encode())
    return digest.hexdigest()


def parquet_files(folder: Path) -> list[str]:
    """The Parquet files below ``folder``, in name order (a Parquet data set)."""
    return sorted(str(p) for p in folder.glob("**/*.parquet"))


def _format_of(path: Path, fmt: str | None, file: str | None = None) -> str:
    file = file or str(path)
    if fmt is None and path.is_dir():
        return "parquet"  # a folder of Parquet files (a partitioned data set)
    if fmt is not None:
        if fmt not in set(SUPPORTED_FORMATS.values()):
            raise DataError(
                f"unknown file format '{fmt}'",
                file=file,
                rule="FILE-FORMAT",
                hint=f"use one of {', '.join(sorted(set(SUPPORTED_FORMATS.values())))}",
            )
        return fmt
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_FORMATS:
        raise DataError(
            f"cannot tell the file format from the extension '{suffix or '(none)'}'",
            file=file,
            rule="FILE-FORMAT",
            hint="use .csv, .xlsx, .sav, .dta or .parquet, or give the format explicitly",
        )
    return SUPPORTED_FORMATS[suffix]


def _check_readable(path: Path, file: str) -> None:
    if not path.exists():
        raise DataError("file not found", file=file, rule="FILE-NOT-FOUND")
    if path.is_dir():
        raise DataError("is a folder, not a file", file=file, rule="FILE-NOT-FOUND")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise DataError(
            f"cannot open the file: {exc.strerror}", file=file, rule="FILE-UNREADABLE"
        ) from None
    if path.stat().st_size > MAX_FILE_BYTES:
        raise DataError("the file is larger than 512 MB", file=file, rule="FILE-TOO-LARGE")


# --------------------------------------------------------------------------- CSV


def _detect_encoding(data: bytes, given: str | None, file: str) -> tuple[str, str, list[str]]:
    notes: list[str] = []
    if given:
        try:
            codecs.lookup(given)
            return data.decode(given), given, notes
        except LookupError:
            raise DataError(
                f"unknown text encoding '{given}'", file=file, rule="FILE-ENCODING"
            ) from None
        except UnicodeDecodeError as exc:
            raise DataError(
                f"the file is not valid {given} text (byte {exc.start})",
                file=file,
                rule="FILE-ENCODING",
                hint="check data.encoding",
            ) from None
    try:
        if data.startswith(codecs.BOM_UTF8):
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig", notes
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16"), "utf-16", notes
    except UnicodeDecodeError as exc:  # a byte-order mark, then bytes that are not that text
        raise DataError(
            f"the file starts as {'UTF-8' if data.startswith(codecs.BOM_UTF8) else 'UTF-16'} "
            f"text but is not (byte {exc.start})",
            file=file,
            rule="FILE-ENCODING",
            hint="save the file again as UTF-8 text",
        ) from None
    try:
        return data.decode("utf-8"), "utf-8", notes
    except UnicodeDecodeError:
        notes.append(
            "the file is not UTF-8; it was read as Windows-1252 (set data.encoding to be sure)"
        )
        return data.decode("cp1252", errors="replace"), "cp1252", notes


def _first_line(text: str) -> str:
    """The text up to its first line feed (without copying the rest of a large file)."""
    end = text.find("\n")
    return text if end < 0 else text[:end]


def _sniff_separator(text: str, suffix: str) -> str:
    if suffix == ".tsv":
        return "\t"
    first = _first_line(text)
    outside = re.sub(r'"[^"]*"', "", first)
    counts = {sep: outside.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] > 0 else ","


def _detect_decimal(records: Sequence[Sequence[str]], sep: str) -> str:
    if sep == ",":
        return "."
    comma = point = 0
    for rec in records:
        for cell in rec:
            cell = cell.strip()
            if _DECIMAL_COMMA.match(cell):
                comma += 1
            elif _DECIMAL_POINT.match(cell):
                point += 1
    return "," if comma > 0 and point == 0 else "."


def _unique_columns(header: Sequence[Any], file: str, row: int = 1) -> tuple[str, ...]:
    names: list[str] = []
    for j, cell in enumerate(header):
        name = "" if cell is None else str(cell).strip()
        if not name:
            name = f"column_{j + 1}"
        if name in names:
            raise DataError(
                f"two columns are named '{name}'",
                file=file,
                row=row,
                column=name,
                rule="COLUMN-DUPLICATE",
                hint="rename one of them in the header row",
            )
        names.append(name)
    return tuple(names)


# CSV files smaller than this are read by the csv module: importing pyarrow (and the
# pandas that pyarrow imports whenever it builds an array) costs ~0.3-0.5 s, far more than
# parsing a spreadsheet-sized file; larger files are read column-wise by pyarrow.csv. Both
# readers give the same cells and rows (tests/data/test_csv_paths.py).
ARROW_CSV_MIN_BYTES = 1 << 20


def _read_csv_raw(
    path: Path,
    file: str,
    sha: str,
    *,
    encoding: str | None,
    separator: str | None,
    decimal: str | None,
    header_row: int | None = None,
    columns: Sequence[str] | None = None,
) -> RawTable:
    data = path.read_bytes()
    text, enc, notes = _detect_encoding(data, encoding, file)
    if "\x00" in text:
        raise DataError(
            "the file holds binary data, not text",
            file=file,
            rule="FILE-UNREADABLE",
            hint="is it really a CSV file?",
        )
    first_line = _first_line(text)
    if header_row is not None:
        lines = text.splitlines()
        sniff_from = lines[header_row - 1] if header_row <= len(lines) else text
    else:
        sniff_from = text
    sep = separator or _sniff_separator(sniff_from, path.suffix.lower())
    fast = None
    if (
        header_row is None
        and len(data) >= ARROW_CSV_MIN_BYTES
        and first_line.strip(" \t\r" + sep + '"')
    ):
        utf8 = data[len(codecs.BOM_UTF8) :] if enc == "utf-8-sig" else data
        if enc not in ("utf-8", "utf-8-sig"):
            utf8 = text.encode("utf-8")
        fast = _read_csv_arrow(utf8, text, file, sep, columns, decimal)
    if fast is not None:
        names, cols, rows, dec = fast
    else:
        names, cols, rows, dec = _read_csv_python(text, file, sep, header_row, columns, decimal)
    return RawTable(
        file=file,
        kind="csv",
        columns=names,
        data=cols,
        row_numbers=rows,
        typed=False,
        sha256=sha,
        decimal=dec,
        separator=sep,
        encoding=enc,
        notes=tuple(notes),
    )


_BLANK_LINE = re.compile(r"\n[ \t\r,;|\"]*(\n|$)")


def _read_csv_arrow(
    data: bytes,
    text: str,
    file: str,
    sep: str,
    wanted: Sequence[str] | None,
    decimal: str | None,
) -> tuple[tuple[str, ...], dict[str, Any], np.ndarray, str] | None:
    """The columnar CSV reader (pyarrow.csv, every cell as text). ``None`` when the file
    has something whose spreadsheet row numbers only the row-by-row reader keeps right
    (blank lines between records, line breaks inside quoted cells, ragged rows)."""
    import csv

    import pyarrow as pa
    import pyarrow.csv as pacsv

    first = _first_line(text)
    header_text = first.rstrip("\r")
    try:
        header = next(csv.reader([header_text], delimiter=sep), [])
    except csv.Error:  # a bare carriage return inside the header: the row-by-row reader says
        return None
    names = _unique_columns(header, file, 1)
    # the body's extent without copying it: from after the header's line feed to its last
    # character that is not a space or a line end
    start = len(first) + 1 if len(first) < len(text) else len(text)
    end = len(text)
    while end > start and text[end - 1] in " \t\r\n":
        end -= 1
    has_body = end > start
    # a blank line between records (spreadsheet rows would shift): "\n" then only blanks,
    # separators or quotes up to the next "\n" or the end of the body
    if has_body and _BLANK_LINE.search(text, start - 1, end):
        return None
    n_lines = text.count("\n", start, end) + 1 if has_body else 0
    quoted = text.find('"', start, end) >= 0
    internal = [f"c{j}" for j in range(len(names))]
    need_all = decimal is None and sep != ","
    include = None
    if wanted is not None and not need_all:
        include = [internal[j] for j, c in enumerate(names) if c in wanted]
    try:
        table = pacsv.read_csv(
            pa.BufferReader(data),
            # 16 MB blocks: few chunks to combine (1 MB blocks make combining cost more
            # than the read at 10^6 rows)
            read_options=pacsv.ReadOptions(skip_rows=1, column_names=internal, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=quoted),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(internal, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                include_columns=include,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if table.num_rows != n_lines:
        return None
    cols = {names[internal.index(c)]: table.column(c).combine_chunks() for c in table.column_names}
    dec = decimal or _detect_decimal_arrow(list(cols.values()), sep)
    if wanted is not None:
        cols = {c: v for c, v in cols.items() if c in wanted}
    # a record whose cells are all blank is skipped (its row still counts)
    rows = np.arange(2, table.num_rows + 2, dtype=np.int64)
    return names, cols, rows, dec


def _detect_decimal_arrow(arrays: Sequence[Any], sep: str) -> str:
    if sep == ",":
        return "."
    import pyarrow.compute as pc

    comma = point = 0
    for a in arrays:
        t = pc.utf8_trim_whitespace(a)
        comma += int(pc.sum(pc.match_substring_regex(t, r"^[-+]?\d+,\d+$")).as_py() or 0)
        point += int(pc.sum(pc.match_substring_regex(t, r"^[-+]?\d+\.\d+$")).as_py() or 0)
    return "," if comma > 0 and point == 0 else "."


def _read_csv_python(
    text: str,
    file: str,
    sep: str,
    header_row: int | None,
    wanted: Sequence[str] | None,
    decimal: str | None,
) -> tuple[tuple[str, ...], dict[str, Any], np.ndarray, str]:
    """The row-by-row CSV reader (Python's csv module): small files, and what the columnar
    reader leaves (blank lines, line breaks inside quotes, ragged rows, title lines)."""
    import csv

    try:
        all_rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
    except csv.Error as exc:
        raise DataError(
            f"cannot read the file as CSV: {exc}", file=file, rule="FILE-UNREADABLE"
        ) from None
    # the header is the first non-empty line (or data.header_row); row numbers count every
    # line as Excel shows it
    if header_row is not None:
        start = header_row - 1
        if start >= len(all_rows) or not any(c.strip() for c in all_rows[start]):
            raise DataError(
                f"row {header_row} (data.header_row) is empty or beyond the end of the file",
                file=file,
                rule="FILE-EMPTY",
            )
    else:
        start = 0
        while start < len(all_rows) and not any(c.strip() for c in all_rows[start]):
            start += 1
        if start == len(all_rows):
            raise DataError("the file is empty", file=file, rule="FILE-EMPTY")
    columns = _unique_columns(all_rows[start], file, start + 1)
    width = len(columns)
    records: list[list[str]] = []
    rows: list[int] = []
    for i in range(start + 1, len(all_rows)):
        rec = all_rows[i]
        if not any(c.strip() for c in rec):
            continue
        if len(rec) > width and any(c.strip() for c in rec[width:]):
            raise DataError(
                f"the row has {len(rec)} fields but the header has {width}",
                file=file,
                row=i + 1,
                rule="CSV-RAGGED",
                hint=f"check the separator ('{sep}') and quoting of that row",
            )
        records.append(list(rec[:width]) + [""] * (width - len(rec)))
        rows.append(i + 1)
    dec = decimal or _detect_decimal(records, sep)
    # object arrays of text cells (typed per distinct value like a spreadsheet's): no
    # pyarrow import on the small-file path
    cols: dict[str, Any] = {}
    for j, c in enumerate(columns):
        if wanted is None or c in wanted:
            col = np.empty(len(records), dtype=object)
            col[:] = [rec[j] for rec in records]
            cols[c] = col
    return columns, cols, np.array(rows, dtype=np.int64), dec


# --------------------------------------------------------------------------- XLSX


def _check_xlsx_archive(path: Path, file: str) -> None:
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError):
        raise DataError(
            "not a valid XLSX file (it is not a zip archive)", file=file, rule="FILE-UNREADABLE"
        ) from None
    total = sum(i.file_size for i in infos)
    if total > MAX_XLSX_UNCOMPRESSED:
        raise DataError(
            f"the workbook unpacks to {total // (1024 * 1024)} MB, over the 512 MB limit",
            file=file,
            rule="XLSX-TOO-LARGE",
        )
    for info in infos:
        if info.compress_size > 0 and info.file_size / info.compress_size > MAX_XLSX_RATIO:
            raise DataError(
                f"a part of the workbook is compressed {info.file_size / info.compress_size:.0f}"
                f" times (limit {MAX_XLSX_RATIO:.0f}); refusing a possible zip bomb",
                file=file,
                rule="XLSX-TOO-LARGE",
            )


def _read_xlsx_raw(
    path: Path,
    file: str,
    sha: str,
    sheet: str | int | None,
    header_row: int | None = None,
    columns: Sequence[str] | None = None,
) -> RawTable:
    import openpyxl
    import openpyxl.xml
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    if not openpyxl.xml.DEFUSEDXML:  # pragma: no cover - defusedxml is a dependency
        raise DataError(
            "defusedxml is not installed; refusing to parse a workbook without it",
            file=file,
            rule="XLSX-UNSAFE",
            hint="pip install defusedxml",
        )
    _check_xlsx_archive(path, file)
    try:
        wb = openpyxl.load_workbook(
            path, read_only=True, data_only=True, keep_links=False, keep_vba=False
        )
    except Exception:  # openpyxl raises many types for a damaged file
        raise DataError(
            "cannot read the workbook: it is damaged or not an .xlsx file",
            file=file,
            rule="FILE-UNREADABLE",
        ) from None
    try:
        names = wb.sheetnames
        if sheet is None:
            ws = wb[names[0]]
        elif isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise DataError(
                    f"there is no sheet number {sheet} (the workbook has {len(names)} sheet(s),"
                    " numbered from 0)",
                    file=file,
                    rule="SHEET-NOT-FOUND",
                    hint=f"sheets: {', '.join(names)}",
                )
            ws = wb[names[sheet]]
        else:
            if sheet not in names:
                raise DataError(
                    f"there is no sheet named '{sheet}'",
                    file=file,
                    rule="SHEET-NOT-FOUND",
                    hint=f"sheets: {', '.join(names)}",
                )
            ws = wb[sheet]
        date_system = 1904 if wb.epoch == CALENDAR_MAC_1904 else 1900
        header: tuple[Any, ...] | None = None
        found_row = 1
        records: list[tuple[Any, ...]] = []
        rows: list[int] = []
        for r, values in enumerate(ws.iter_rows(values_only=True), start=1):
            cells = tuple(_xlsx_cell(v) for v in values)
            empty = all(c is None for c in cells)
            if header is None:
                if header_row is not None and r < header_row:
                    continue
                if not empty:
                    header, found_row = cells, r
                elif header_row is not None:
                    break  # the stated header row is empty
                continue
            if empty:
                continue
            records.append(cells)
            rows.append(r)
    finally:
        wb.close()
    if header is None:
        what = (
            f"row {header_row} (data.header_row) is empty" if header_row else "the sheet is empty"
        )
        raise DataError(what, file=file, rule="FILE-EMPTY")
    while header and header[-1] is None:
        header = header[:-1]
    names = _unique_columns(header, file, found_row)
    width = len(names)
    fixed = [tuple(rec[:width]) + (None,) * (width - len(rec)) for rec in records]
    return RawTable(
        file=file,
        kind="xlsx",
        columns=names,
        data=_object_columns(names, fixed, columns),
        row_numbers=np.array(rows, dtype=np.int64),
        typed=True,
        sha256=sha,
        date_system=date_system,
    )


def _xlsx_cell(v: Any) -> Any:
    if isinstance(v, str):
        return v if v.strip() else None
    return v


# --------------------------------------------------------------------------- SPSS, Stata, Parquet


def _frame_to_raw(
    frame: pd.DataFrame,
    file: str,
    kind: str,
    sha: str,
    wanted: Sequence[str] | None = None,
    **extra: Any,
) -> RawTable:
    """A pandas frame (SPSS, Stata) as object columns of Python values, ``None`` for NA."""
    import pandas as pd

    names = tuple(str(c) for c in frame.columns)
    data: dict[str, np.ndarray] = {}
    for c, name in zip(frame.columns, names, strict=True):
        if wanted is not None and name not in wanted:
            continue
        col = frame[c]
        if pd.api.types.is_datetime64_any_dtype(col.dtype):
            values = list(col.dt.to_pydatetime())
        else:
            values = col.tolist()
        na = col.isna().to_numpy()
        arr = np.empty(len(values), dtype=object)
        arr[:] = values
        arr[na] = None
        data[name] = arr
    return RawTable(
        file=file,
        kind=kind,
        columns=names,
        data=data,
        row_numbers=np.arange(1, len(frame) + 1, dtype=np.int64),
        typed=True,
        sha256=sha,
        **extra,
    )


def _read_sav_raw(path: Path, file: str, sha: str, columns: Sequence[str] | None) -> RawTable:
    import pyreadstat

    try:
        # user-missing values (SPSS "missing values" definitions) become missing here
        frame, meta = pyreadstat.read_sav(str(path), user_missing=False)
    except Exception:  # pyreadstat raises its own error types
        raise DataError(
            "cannot read the file as SPSS .sav: it is damaged or not a .sav file",
            file=file,
            rule="FILE-UNREADABLE",
        ) from None
    labels: dict[str, dict[Any, str]] = {
        str(k): {kk: str(vv) for kk, vv in v.items()}
        for k, v in (meta.variable_value_labels or {}).items()
    }
    raw = _frame_to_raw(
        frame,
        file,
        "sav",
        sha,
        columns,
        value_labels=labels,
        column_labels=_variable_labels(meta.column_names_to_labels),
        label_order={c: _in_code_order(m) for c, m in labels.items()},
    )
    return _apply_value_labels(raw)


def _variable_labels(labels: Any) -> dict[str, str]:
    return {str(k): str(v).strip() for k, v in (labels or {}).items() if v and str(v).strip()}


def _in_code_order(mapping: dict[Any, str]) -> tuple[str, ...]:
    """Value labels ordered by their codes (numbers numerically, then text codes)."""
    keys = sorted(
        mapping, key=lambda k: (0, float(k), "") if isinstance(k, int | float) else (1, 0.0, str(k))
    )
    return tuple(dict.fromkeys(mapping[k] for k in keys))


def _apply_value_labels(raw: RawTable) -> RawTable:
    """Replace coded values by their value labels (SPSS/Stata), so categories read as words."""
    if not raw.value_labels:
        return raw
    data = dict(raw.data)
    for c, mapping in raw.value_labels.items():
        if c not in data or not mapping:
            continue
        new = data[c].copy()
        for i, v in enumerate(new):
            if v is None:
                continue
            key = v
            if isinstance(v, float) and v.is_integer() and v not in mapping:
                key = int(v)
            if key in mapping:
                new[i] = mapping[key]
            elif isinstance(key, int) and float(key) in mapping:
                new[i] = mapping[float(key)]
        data[c] = new
    return RawTable(
        file=raw.file,
        kind=raw.kind,
        columns=raw.columns,
        data=data,
        row_numbers=raw.row_numbers,
        typed=raw.typed,
        sha256=raw.sha256,
        value_labels=raw.value_labels,
        column_labels=raw.column_labels,
        label_order=raw.label_order,
    )


def _read_dta_raw(path: Path, file: str, sha: str, columns: Sequence[str] | None) -> RawTable:
    import pandas as pd

    try:
        frame = pd.read_stata(path, convert_categoricals=True, convert_missing=False)
    except Exception:  # pandas raises several types for a bad .dta
        raise DataError(
            "cannot read the file as Stata .dta: it is damaged or not a .dta file",
            file=file,
            rule="FILE-UNREADABLE",
        ) from None
    order: dict[str, tuple[str, ...]] = {}
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.CategoricalDtype):
            # pandas keeps the value labels in the file's order, which Stata sorts by code
            order[str(col)] = tuple(str(c) for c in frame[col].cat.categories)
            frame[col] = frame[col].astype(object)
    try:
        with pd.read_stata(path, iterator=True) as reader:
            variable_labels = _variable_labels(reader.variable_labels())
    except Exception:  # the data were read: a label table pandas cannot read loses labels only
        variable_labels = {}
    return _frame_to_raw(
        frame, file, "dta", sha, columns, column_labels=variable_labels, label_order=order
    )


def _read_parquet_raw(path: Path, file: str, sha: str, columns: Sequence[str] | None) -> RawTable:
    """One Parquet file, or every Parquet file below a folder, rows in file-name order;
    only ``columns`` are read (all when ``None``)."""
    import pyarrow as pa

    if path.is_dir():
        # a folder of one file (a data set written in one part) is read as that file:
        # in this thread, where pyarrow's threads would leave their freed decoding
        # buffers in their own heaps (~100 MB of resident memory at 10^6 rows)
        files = parquet_files(path)
        got = _read_parquet_file(files[0], columns) if len(files) == 1 else None
    else:
        got = _read_parquet_file(str(path), columns)
    if got is not None:
        names, wanted, table = got
    else:
        names, wanted, table = _read_parquet_files(path, file, columns)
    data: dict[str, Any] = {}
    for n in wanted:
        arr = table.column(n).combine_chunks()
        if pa.types.is_dictionary(arr.type):
            arr = arr.cast(arr.type.value_type)
        data[n] = arr
    return RawTable(
        file=file,
        kind="parquet",
        columns=names,
        data=data,
        row_numbers=np.arange(1, table.num_rows + 1, dtype=np.int64),
        typed=True,
        sha256=sha,
    )


#: from this many rows on, one Parquet file is decoded with pyarrow's thread pools
_PARQUET_THREADS_ROWS = 1 << 22


def _read_parquet_file(
    path: str, columns: Sequence[str] | None
) -> tuple[tuple[str, ...], list[str], Any] | None:
    """One Parquet file with a flat schema through pyarrow's reader class itself, as
    ``pq.ParquetFile(path).read(columns=…)`` reads it (the same columns in the same
    order) without importing ``pyarrow.parquet``, whose import of ``pyarrow.fs`` (ssl,
    sockets) cost ~30 ms of a 10^6-row ``survstudy cif``. ``None`` for anything else (a
    nested schema, a pyarrow without that class, a file it cannot read): the caller then
    reads through ``pyarrow.parquet`` and reports its errors.

    Files below ``_PARQUET_THREADS_ROWS`` rows are decoded in this thread, without
    pre-buffering (which reads through the I/O thread pool): starting pyarrow's thread
    pools cost more than they saved — 3 columns of 10^6 rows in a fresh process on 2
    busy cores: 28-33 ms wall, 20 ms CPU in one thread; 52-72 ms wall, 21-49 ms CPU with
    the pools. The decoded values are the same either way."""
    try:
        from pyarrow._parquet import ParquetReader

        reader = ParquetReader()
        reader.open(
            path, use_memory_map=False, buffer_size=0, pre_buffer=False,
            arrow_extensions_enabled=True,
        )  # fmt: skip
        try:
            threads = reader.metadata.num_rows >= _PARQUET_THREADS_ROWS
            paths = [tuple(p) for p in reader.column_paths]
            schema_names = list(reader.schema_arrow.names)
            flat = [p[0] for p in paths if len(p) == 1]
            if flat != schema_names or len(set(flat)) != len(flat):
                return None  # nested or repeated names: ParquetFile's own rules
            names = tuple(n for n in schema_names if not n.startswith("__index_level_"))
            wanted = [n for n in names if columns is None or n in columns]
            index = {p[0]: i for i, p in enumerate(paths)}
            table = reader.read_all(column_indices=[index[n] for n in wanted], use_threads=threads)
        finally:
            reader.close()
    except Exception:  # any failure: the ordinary reader decides
        return None
    return names, wanted, table


def _read_parquet_files(
    path: Path, file: str, columns: Sequence[str] | None
) -> tuple[tuple[str, ...], list[str], Any]:
    """The columns of every Parquet file of ``path`` (a file or a folder) through
    ``pyarrow.parquet``: the schema's names, those read and the table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = parquet_files(path) if path.is_dir() else [str(path)]
    try:
        names = tuple(
            n for n in pq.read_schema(files[0]).names if not n.startswith("__index_level_")
        )
        wanted = [n for n in names if columns is None or n in columns]
        # ParquetFile, not read_table: the same table without importing pyarrow.dataset
        # (and through it pandas), which costs more than reading 10^6 rows
        tables = [pq.ParquetFile(f).read(columns=wanted) for f in files]
        table = (
            pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]
        )
    except Exception:  # pyarrow raises several types for a bad file
        raise DataError(
            "cannot read the file as Parquet: it is damaged or not a Parquet file",
            file=file,
            rule="FILE-UNREADABLE",
        ) from None
    return names, wanted, table


def arrow_without_pandas() -> None:
    """Tell pyarrow, for this process, that pandas is not there (when it has not looked yet).

    pyarrow imports pandas the first time it converts a Python value (``pa.array``,
    ``pa.scalar``), to check whether it is a pandas object; that import costs more than
    a quick command's whole work on a small file. Only for processes that never hand data
    between pyarrow and pandas (the quick commands reading CSV or Parquet): afterwards
    ``Table.to_pandas`` raises. Our own ``import pandas`` still works.
    """
    import sys

    if "pandas" in sys.modules:
        return

    class _NoPandas:
        def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
            if name == "pandas" or name.startswith("pandas."):
                raise ImportError("pandas is not used by this command")

    import pyarrow as pa

    blocker = _NoPandas()
    sys.meta_path.insert(0, blocker)
    try:
        pa.scalar(0)  # pyarrow looks for pandas once, finds none, and remembers
    finally:
        sys.meta_path.remove(blocker)


def read_raw(
    path: str | Path,
    *,
    fmt: str | None = None,
    sheet: str | int | None = None,
    encoding: str | None = None,
    separator: str | None = None,
    decimal: str | None = None,
    display_name: str | None = None,
    header_row: int | None = None,
    columns: Sequence[str] | None = None,
    checksum: bool = True,
) -> RawTable:
    """Read the cells of a data file without interpreting them (see :class:`RawTable`).

    ``display_name`` is how the file is named in messages (default: the path as given);
    ``header_row`` is the spreadsheet row of the column names in a CSV or XLSX file
    (default: the first non-empty row), for sheets with title lines above the table;
    ``columns`` limits the cells read to these columns (Parquet projection; names the file
    does not have are left out: the caller says what is missing); ``checksum=False``
    skips hashing the file (``sha256`` empty) for callers that report no provenance (the
    quick commands: at 10^6 rows the hash costs a sixth of reading the file).
    """
    path = Path(path)
    file = display_name or str(path)
    kind = _format_of(path, fmt, file)
    if kind == "parquet" and path.is_dir():
        files = parquet_files(path)
        if not files:
            raise DataError("the folder holds no Parquet files", file=file, rule="FILE-NOT-FOUND")
        if not checksum:
            return _read_parquet_raw(path, file, "", columns)
        return _parquet_hashed_beside(path, file, files, columns)
    _check_readable(path, file)
    if kind == "parquet" and checksum:
        return _parquet_hashed_beside(path, file, [str(path)], columns)
    sha = sha256_of(path) if checksum else ""
    if kind == "csv":
        return _read_csv_raw(
            path,
            file,
            sha,
            encoding=encoding,
            separator=separator,
            decimal=decimal,
            header_row=header_row,
            columns=columns,
        )
    if kind == "xlsx":
        return _read_xlsx_raw(path, file, sha, sheet, header_row, columns)
    if kind == "sav":
        return _read_sav_raw(path, file, sha, columns)
    if kind == "dta":
        return _read_dta_raw(path, file, sha, columns)
    return _read_parquet_raw(path, file, sha, columns)


def _parquet_hashed_beside(
    path: Path, file: str, files: list[str], columns: Sequence[str] | None
) -> RawTable:
    """:func:`_read_parquet_raw` with the files' SHA-256 computed in a thread meanwhile (both
    run outside the GIL: at 10^6 rows the hash, ~40 ms, no longer adds to the read's wall
    time). A failure is raised as if hashing came first, as it did: the hash's own first."""
    import threading

    got: dict[str, Any] = {}

    def work() -> None:
        try:
            got["sha"] = sha256_of_files(files)
        except BaseException as exc:  # handed to the reading thread
            got["error"] = exc

    hasher = threading.Thread(target=work, name="survstudy-sha256", daemon=True)
    hasher.start()
    try:
        raw = _read_parquet_raw(path, file, "", columns)
    finally:
        hasher.join()
        if "error" in got:
            raise got["error"]
    return replace(raw, sha256=got["sha"])


def read_frame(data: Any, *, name: str = "data") -> RawTable:
    """The cells of an in-memory table, as :func:`read_raw` gives those of a file.

    ``data`` is a pandas DataFrame, a pyarrow Table or RecordBatch, or any table that
    pyarrow can take in (the Arrow PyCapsule stream protocol, ``__arrow_c_stream__``:
    polars, DuckDB relations, …) or that offers the dataframe interchange protocol
    (``__dataframe__``). Nothing is written anywhere. Columns become Arrow arrays as a
    Parquet file's do (categories as their values); a pandas column Arrow cannot hold
    (numbers and text mixed) stays a column of Python values, ``None`` for missing.
    ``row_numbers`` are 1, 2, … in the table's order (``data.iloc[row - 1]``), like a
    Parquet file's case numbers, and messages name the table ``name``. ``sha256`` is the
    SHA-256 of the column names and the cells, so the same table hashes the same. Two
    columns with one name are a ``COLUMN-DUPLICATE`` error.
    """
    import pyarrow as pa

    columns = _frame_columns(data)
    seen: set[str] = set()
    for c, _ in columns:
        if c in seen:
            raise DataError(
                f"two columns are named '{c}'",
                file=name,
                column=c,
                rule="COLUMN-DUPLICATE",
                hint="rename one of them",
            )
        seen.add(c)
    import hashlib

    digest = hashlib.sha256()
    n = len(columns[0][1]) if columns else 0
    for c, arr in columns:
        digest.update(repr(c).encode())
        if isinstance(arr, pa.Array):
            sink = pa.BufferOutputStream()
            batch = pa.record_batch([arr], names=["c"])
            with pa.ipc.new_stream(sink, batch.schema) as writer:
                writer.write_batch(batch)
            digest.update(sink.getvalue().to_pybytes())
        else:
            digest.update(repr(arr.tolist()).encode())
    return RawTable(
        file=name,
        kind="dataframe",
        columns=tuple(c for c, _ in columns),
        data=dict(columns),
        row_numbers=np.arange(1, n + 1, dtype=np.int64),
        typed=True,
        sha256=digest.hexdigest(),
    )


def _frame_columns(data: Any) -> list[tuple[str, Any]]:
    """``(name, cells)`` per column of ``data``: Arrow arrays, or object arrays of Python
    values for pandas columns Arrow cannot hold."""
    import pyarrow as pa

    def plain(arr: Any) -> Any:
        arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
        return arr.cast(arr.type.value_type) if pa.types.is_dictionary(arr.type) else arr

    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    if not isinstance(data, pa.Table):
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            out: list[tuple[str, Any]] = []
            for j, c in enumerate(data.columns):
                col = data.iloc[:, j]  # by position: two columns may share a name
                try:
                    out.append((str(c), plain(pa.Array.from_pandas(col))))
                except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
                    values = np.empty(len(col), dtype=object)
                    values[:] = col.tolist()
                    values[col.isna().to_numpy()] = None
                    out.append((str(c), values))
            return out
        if hasattr(data, "__arrow_c_stream__"):
            data = pa.table(data)
        elif hasattr(data, "__dataframe__"):
            frame = pd.api.interchange.from_dataframe(data)
            # pandas keeps the protocol's buffers in attrs, which pyarrow would try to write
            # into the table's JSON metadata (TypeError: PandasBuffer is not serializable)
            frame.attrs = {}
            data = pa.Table.from_pandas(frame, preserve_index=False)
        else:
            raise TypeError(
                "data must be a pandas DataFrame, a pyarrow Table, or a table with "
                f"__arrow_c_stream__ or __dataframe__ (e.g. polars); got {type(data).__name__}"
            )
    return [(str(n), plain(data.column(i))) for i, n in enumerate(data.column_names)]


def read_table(
    path: str | Path, *, fmt: str | None = None, sheet: str | int | None = None
) -> pd.DataFrame:
    """Read a data file into a DataFrame of typed values, without changing the file.

    The format is chosen by extension unless ``fmt`` is given. ``sheet`` picks an
    Excel sheet by name or 0-based index (default: the first sheet). CSV encoding,
    separator and decimal mark are detected as described in the module docstring.
    """
    import pandas as pd

    raw = read_raw(path, fmt=fmt, sheet=sheet)
    if raw.kind == "csv":
        text = "\n".join(
            _csv_line(rec) for rec in [raw.columns, *raw.records]
        )  # already split into cells: re-join with a comma for pandas' type inference
        try:
            return pd.read_csv(
                io.StringIO(text), sep=",", decimal=".", dtype=None, keep_default_na=True
            ).pipe(_apply_decimal, raw.decimal)
        except ValueError as exc:
            raise DataError(
                f"cannot read the file as csv: {exc}", file=raw.file, rule="FILE-UNREADABLE"
            ) from None
    frame = pd.DataFrame(list(raw.records), columns=list(raw.columns))
    return frame.infer_objects()


def _csv_line(cells: Sequence[Any]) -> str:
    import csv

    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


def _apply_decimal(frame: pd.DataFrame, decimal: str) -> pd.DataFrame:
    if decimal != ",":
        return frame
    import pandas as pd

    for col in frame.columns:
        if frame[col].dtype == object:
            values = frame[col].dropna().astype(str).str.strip()
            if len(values) and values.str.match(r"^[-+]?\d+(,\d+)?$").all():
                frame[col] = pd.to_numeric(frame[col].astype(str).str.replace(",", "."))
    return frame

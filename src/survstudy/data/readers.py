"""Readers: one entry point, :func:`read_table`, that picks a reader by file extension.

Input files are only ever opened for reading. Every problem is a
:class:`~survstudy.errors.DataError` naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from survstudy.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SUPPORTED_FORMATS", "read_table"]

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


def _format_of(path: Path, fmt: str | None) -> str:
    if fmt is not None:
        if fmt not in set(SUPPORTED_FORMATS.values()):
            raise DataError(
                f"unknown file format '{fmt}'",
                file=str(path),
                rule="FILE-FORMAT",
                hint=f"use one of {', '.join(sorted(set(SUPPORTED_FORMATS.values())))}",
            )
        return fmt
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_FORMATS:
        raise DataError(
            f"cannot tell the file format from the extension '{suffix or '(none)'}'",
            file=str(path),
            rule="FILE-FORMAT",
            hint="use .csv, .xlsx, .sav, .dta or .parquet, or give the format explicitly",
        )
    return SUPPORTED_FORMATS[suffix]


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise DataError("file not found", file=str(path), rule="FILE-NOT-FOUND")
    if path.is_dir():
        raise DataError("is a folder, not a file", file=str(path), rule="FILE-NOT-FOUND")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise DataError(
            f"cannot open the file: {exc.strerror}", file=str(path), rule="FILE-UNREADABLE"
        ) from None


def read_table(
    path: str | Path, *, fmt: str | None = None, sheet: str | int | None = None
) -> pd.DataFrame:
    """Read a data file into a DataFrame of raw values, without changing the file.

    The format is chosen by extension unless ``fmt`` is given. ``sheet`` picks an
    Excel sheet by name or 0-based index (default: the first sheet).
    """
    path = Path(path)
    kind = _format_of(path, fmt)
    _check_readable(path)
    import pandas as pd

    try:
        if kind == "csv":
            sep = "\t" if path.suffix.lower() == ".tsv" else None
            return pd.read_csv(path, sep=sep, engine="python", encoding="utf-8-sig")
        if kind == "xlsx":
            return pd.read_excel(path, sheet_name=0 if sheet is None else sheet, engine="openpyxl")
        if kind == "parquet":
            return pd.read_parquet(path)
        if kind == "dta":
            return pd.read_stata(path)
        import pyreadstat

        frame, _meta = pyreadstat.read_sav(str(path))
        return frame
    except (ValueError, OSError, UnicodeDecodeError, KeyError) as exc:
        raise DataError(
            f"cannot read the file as {kind}: {exc}", file=str(path), rule="FILE-UNREADABLE"
        ) from None

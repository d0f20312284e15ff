"""Columns for the quick commands (``km``, ``logrank``, ``cox``): file -> arrays.

The file is read with :func:`survstudy.data.readers.read_raw`, not ``read_table``:
``read_table`` goes through pandas, whose import alone (about 0.65 s here) would
break the 0.5 s budget of a quick command on a 12-row file. ``read_raw`` keeps
the spreadsheet row of every record (header = row 1), which is what error
messages name.

Rows with a missing value in any used column are dropped and counted. Times
must be numbers >= 0; the event column accepts 0/1 and true/false only.
Identifiers never reach an error message: only the row, the column and the
offending value of the column the user named.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from survstudy.errors import DataError

__all__ = ["Columns", "factor_codes", "level_value", "load_columns", "split_list"]

_MISSING = {"", "na", "nan", "n/a", "."}
_EVENT = {"0": False, "1": True, "0.0": False, "1.0": True, "false": False, "true": True}


def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and v.strip().lower() in _MISSING


def _number(v: Any, file: str, column: str, row: int) -> float:
    if isinstance(v, (bool, int, float)):
        return float(v)
    try:
        return float(str(v).strip())
    except ValueError:
        raise DataError(
            "not a number", file=file, row=row, column=column, value=str(v), rule="NOT-A-NUMBER"
        ) from None


def _event(v: Any, file: str, column: str, row: int) -> bool:
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) and v in (0, 1):
        return bool(v)
    s = str(v).strip().lower()
    if s in _EVENT:
        return _EVENT[s]
    raise DataError(
        "event must be 0/1 or true/false",
        file=file,
        row=row,
        column=column,
        value=str(v),
        rule="EVENT-CODE",
    )


def level_value(v: Any) -> Any:
    """A category value: numbers as numbers (2.0 -> 2), text stripped."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float)):
        return int(v) if float(v).is_integer() else float(v)
    s = str(v).strip()
    try:
        f = float(s)
    except ValueError:
        return s
    return int(f) if f.is_integer() else f


def factor_codes(values: Sequence[Any]) -> tuple[NDArray[np.intp], list[Any]]:
    """Integer codes and levels: numbers sorted numerically, text as text, numbers first."""
    levels = sorted(
        set(values), key=lambda x: (isinstance(x, str), x if not isinstance(x, str) else 0, str(x))
    )
    pos = {lev: i for i, lev in enumerate(levels)}
    return np.array([pos[v] for v in values], dtype=np.intp), levels


def split_list(s: str | None) -> list[str]:
    """``"a, b,c"`` -> ``["a", "b", "c"]``."""
    return [c.strip() for c in s.split(",") if c.strip()] if s else []


def _read_raw() -> Any:
    """``survstudy.data.readers.read_raw`` without the ``survstudy.data`` package ``__init__``.

    Importing the package pulls in the cohort builder, the spec model and pydantic
    (about 160 ms), a third of the quick commands' 0.5 s budget, although
    ``readers`` itself needs only the standard library and ``survstudy.errors``.
    When the package is not loaded yet, the module file is loaded on its own under
    a private name; any problem falls back to the ordinary import. (Making
    ``survstudy/data/__init__.py`` lazy would make this unnecessary.)
    """
    import sys

    if "survstudy.data" in sys.modules:
        from survstudy.data.readers import read_raw

        return read_raw
    name = "survstudy.cli._standalone_readers"
    mod = sys.modules.get(name)
    if mod is None:
        try:
            import importlib.util
            from pathlib import Path

            import survstudy

            src = Path(survstudy.__file__).parent / "data" / "readers.py"
            spec = importlib.util.spec_from_file_location(name, src)
            if spec is None or spec.loader is None:
                raise ImportError(name)
            mod = importlib.util.module_from_spec(spec)
            sys.modules[name] = mod
            spec.loader.exec_module(mod)
        except Exception:  # pragma: no cover - the ordinary import is always correct
            sys.modules.pop(name, None)
            from survstudy.data.readers import read_raw

            return read_raw
    return mod.read_raw


@dataclass(frozen=True)
class Columns:
    """Time, event and other columns after dropping rows with missing values."""

    file: str
    time: NDArray[np.float64]
    event: NDArray[np.bool_]
    others: dict[str, list[Any]]
    rows: tuple[int, ...]
    n_read: int
    n_dropped: int


def load_columns(
    path: str,
    time: str,
    event: str | None,
    *,
    others: Sequence[str | None] = (),
    sheet: str | int | None = None,
) -> Columns:
    """Read ``path`` and return the time, event and ``others`` columns.

    ``others`` values stay as cell values passed through :func:`level_value`
    (use :func:`factor_codes` for groups, or convert to numbers yourself);
    ``None`` entries are ignored, so optional options can be passed as they are.
    ``event=None`` reads no 0/1 event column (``Columns.event`` is then all False): a
    status column with other codes (competing risks) is read among ``others``.
    Unknown columns raise :class:`DataError` listing the available columns.
    """
    raw = _read_raw()(path, sheet=sheet)
    extra = [c for c in others if c]
    used = list(dict.fromkeys([time, *([event] if event else []), *extra]))
    for c in used:
        if c not in raw.columns:
            raise DataError(
                f"column '{c}' not found; columns are: {', '.join(raw.columns)}",
                file=raw.file,
                column=c,
                rule="COLUMN-UNKNOWN",
            )
    idx = {c: raw.columns.index(c) for c in used}
    keep = [
        i for i, rec in enumerate(raw.records) if not any(_is_missing(rec[idx[c]]) for c in used)
    ]
    rows = tuple(raw.rows[i] for i in keep)
    recs = [raw.records[i] for i in keep]
    t = np.array(
        [_number(r[idx[time]], raw.file, time, rw) for r, rw in zip(recs, rows, strict=True)],
        dtype=np.float64,
    )
    for v, rw in zip(t, rows, strict=True):
        if v < 0 or not math.isfinite(v):
            raise DataError(
                "follow-up time must be a number >= 0",
                file=raw.file,
                row=rw,
                column=time,
                value=float(v),
                rule="TIME-NEGATIVE",
            )
    e = (
        np.zeros(len(recs), dtype=bool)
        if event is None
        else np.array(
            [_event(r[idx[event]], raw.file, event, rw) for r, rw in zip(recs, rows, strict=True)],
            dtype=bool,
        )
    )
    oth = {c: [level_value(r[idx[c]]) for r in recs] for c in extra}
    return Columns(
        file=raw.file,
        time=t,
        event=e,
        others=oth,
        rows=rows,
        n_read=len(raw.records),
        n_dropped=len(raw.records) - len(keep),
    )

"""Columns for the quick commands (``km``, ``logrank``, ``cox``): file -> arrays.

The file is read with :func:`survstudy.data.readers.read_raw`, the reader of
``validate`` and ``run`` (so a CSV with ``;`` and decimal commas reads the same
everywhere), and only the named columns are read (Parquet projection, the columnar
CSV reader). Columns are typed whole (:class:`survstudy.data.cells.Cells`: NumPy
and Arrow for numbers, once per distinct value for the rest), not row by row.
``read_raw`` keeps the spreadsheet row of every record (header = row 1), which is
what error messages name. pandas is never imported (its import alone would take
most of a quick command's budget on a 12-row file).

Rows with a missing value in any used column are dropped and counted. Times
must be numbers >= 0; the event column accepts 0/1 and true/false only.
Identifiers never reach an error message: only the row, the column and the
offending value of the column the user named.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from survstudy.data.cells import Cells
from survstudy.errors import DataError

__all__ = [
    "Columns",
    "events",
    "factor",
    "factor_codes",
    "level_value",
    "load_columns",
    "numbers",
    "split_list",
]

_MISSING = {"", "na", "nan", "n/a", "."}
_NUMBER_RE = r"^[-+]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][-+]?[0-9]+)?$"
_COMMA = re.compile(r"^[-+]?\d+,\d+$")
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


def _missing_mask(cells: Cells) -> np.ndarray:
    if cells.arrow_kind in ("number", "integer", "bool", "date", "timestamp"):
        return np.asarray(cells.data.is_null().to_numpy(zero_copy_only=False), dtype=bool) | (
            _nan_mask(cells)
        )
    if cells.arrow_kind == "text":
        import pyarrow as pa
        import pyarrow.compute as pc

        key = pc.utf8_lower(pc.utf8_trim_whitespace(cells.data))
        hit = pc.is_in(key, value_set=pa.array(sorted(_MISSING)))
        return np.asarray(
            pc.fill_null(pc.or_kleene(hit, pc.is_null(cells.data)), True).to_numpy(
                zero_copy_only=False
            ),
            dtype=bool,
        )
    return cells.map_values(_is_missing, bool)


def _nan_mask(cells: Cells) -> np.ndarray:
    if cells.arrow_kind != "number":
        return np.zeros(len(cells), dtype=bool)
    import pyarrow.compute as pc

    return np.asarray(
        pc.fill_null(pc.is_nan(cells.data), False).to_numpy(zero_copy_only=False), dtype=bool
    )


def numbers(cells: Cells, file: str, column: str, decimal: str = ".") -> NDArray[np.float64]:
    """The cells as numbers; the first cell that is not one is a NOT-A-NUMBER error."""
    kind = cells.arrow_kind
    if kind in ("number", "integer", "bool"):
        import pyarrow as pa
        import pyarrow.compute as pc

        return np.array(
            pc.cast(cells.data, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
        )
    if kind == "text":
        return _text_numbers(cells, file, column, decimal)
    d = cells.distinct
    out = []
    for v, r in zip(d.values, d.first_rows, strict=True):
        if decimal == "," and isinstance(v, str) and _COMMA.match(v.strip()):
            v = v.strip().replace(",", ".")
        out.append(_number(v, file, column, r))
    return d.take(out, np.float64)


def _text_numbers(cells: Cells, file: str, column: str, decimal: str) -> NDArray[np.float64]:
    """Numbers written as text: Arrow converts those that look like numbers (as Python's
    float would); the others go through :func:`_number` once per distinct value."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = pc.utf8_trim_whitespace(cells.data)
    if decimal == ",":
        comma = pc.fill_null(pc.match_substring_regex(t, _COMMA.pattern), False)
        t = pc.if_else(comma, pc.replace_substring(t, ",", "."), t)
    fast = np.asarray(
        pc.fill_null(pc.match_substring_regex(t, _NUMBER_RE), False).to_numpy(zero_copy_only=False),
        dtype=bool,
    )
    out = np.full(len(cells), np.nan)
    if fast.any():
        mask = pa.array(fast)
        out[fast] = pc.cast(pc.filter(t, mask), pa.float64()).to_numpy(zero_copy_only=False)
    if not fast.all():
        slow = ~fast
        rest = Cells(pc.filter(t, pa.array(slow)), cells.rows[slow])
        out[slow] = numbers(rest, file, column, ".")
    return out


def events(cells: Cells, file: str, column: str) -> NDArray[np.bool_]:
    """The cells as event indicators (0/1, true/false); else an EVENT-CODE error."""
    d = cells.distinct
    return d.take(
        [_event(v, file, column, r) for v, r in zip(d.values, d.first_rows, strict=True)], bool
    )


def levels_of(cells: Cells) -> list[Any]:
    """The cells as category values (:func:`level_value`), row by row."""
    d = cells.distinct
    return list(d.take([level_value(v) for v in d.values]))


def factor(cells: Cells) -> tuple[NDArray[np.intp], list[Any]]:
    """Integer codes and levels as :func:`factor_codes`, computed per distinct value."""
    d = cells.distinct
    values = [level_value(v) for v in d.values]
    codes, levels = factor_codes(values)
    return codes[d.inverse], levels


@dataclass(frozen=True)
class Columns:
    """Time, event and other columns after dropping rows with missing values."""

    file: str
    time: NDArray[np.float64]
    event: NDArray[np.bool_]
    cells: dict[str, Cells]
    rows: NDArray[np.int64]
    n_read: int
    n_dropped: int
    decimal: str = "."

    @property
    def others(self) -> dict[str, list[Any]]:
        """The other columns' values (:func:`level_value`), row by row."""
        return {c: levels_of(v) for c, v in self.cells.items()}

    def numbers(self, column: str) -> NDArray[np.float64]:
        return numbers(self.cells[column], self.file, column, self.decimal)

    def factor(self, column: str) -> tuple[NDArray[np.intp], list[Any]]:
        return factor(self.cells[column])


def load_columns(
    path: str,
    time: str,
    event: str,
    *,
    others: Sequence[str | None] = (),
    sheet: str | int | None = None,
) -> Columns:
    """Read ``path`` and return the time, event and ``others`` columns.

    ``others`` are kept as cells (``cols.numbers(c)``, ``cols.factor(c)``,
    ``cols.others[c]``); ``None`` entries are ignored, so optional options can be
    passed as they are. Unknown columns raise :class:`DataError` listing the
    available columns.
    """
    from survstudy.cli._process import is_own
    from survstudy.data.readers import arrow_without_pandas, read_raw

    tabular = path.lower().endswith((".csv", ".txt", ".tsv", ".parquet", ".pq"))
    if is_own() and (tabular or os.path.isdir(path)):
        arrow_without_pandas()  # these formats never need pandas; its import costs ~0.3 s
    extra = [c for c in others if c]
    used = list(dict.fromkeys([time, event, *extra]))
    raw = read_raw(path, sheet=sheet, columns=used)
    for c in used:
        if c not in raw.columns:
            raise DataError(
                f"column '{c}' not found; columns are: {', '.join(raw.columns)}",
                file=raw.file,
                column=c,
                rule="COLUMN-UNKNOWN",
            )
    miss = np.zeros(raw.n, dtype=bool)
    for c in used:
        miss |= _missing_mask(raw.cells(c))
    keep = ~miss
    rows = raw.row_numbers[keep]

    def kept(c: str) -> Cells:
        cells = raw.cells(c)
        if keep.all():
            return cells
        if cells.is_arrow:
            import pyarrow as pa

            return Cells(cells.data.filter(pa.array(keep)), rows)
        return Cells(cells.data[keep], rows)

    t = numbers(kept(time), raw.file, time, raw.decimal)
    bad = (t < 0) | ~np.isfinite(t)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            "follow-up time must be a number >= 0",
            file=raw.file,
            row=int(rows[i]),
            column=time,
            value=float(t[i]),
            rule="TIME-NEGATIVE",
        )
    e = events(kept(event), raw.file, event)
    return Columns(
        file=raw.file,
        time=t,
        event=e,
        cells={c: kept(c) for c in extra},
        rows=rows,
        n_read=raw.n,
        n_dropped=int(miss.sum()),
        decimal=raw.decimal,
    )

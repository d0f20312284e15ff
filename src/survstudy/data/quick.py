"""Columns for the quick commands (``km``, ``logrank``, ``cox``, ``cif``) and the Python API: file -> arrays.

The file is read with :func:`survstudy.data.readers.read_raw`, the reader of
``validate`` and ``run`` (so a CSV with ``;`` and decimal commas reads the same
everywhere), and only the named columns are read (Parquet projection, the columnar
CSV reader). Columns are typed whole (:class:`survstudy.data.cells.Cells`: NumPy
and Arrow for numbers, once per distinct value for the rest), not row by row.
``read_raw`` keeps the spreadsheet row of every record (header = row 1), which is
what error messages name. pandas is never imported (its import alone would take
most of a quick command's budget on a 12-row file).

Rows with a missing value in any used column are dropped and counted (the Python
API's ``missing="error"`` refuses them instead, from :func:`first_missing`). Times
must be numbers >= 0; the event column accepts 0/1 and true/false only.
Identifiers never reach an error message: only the row, the column and the
offending value of the column the user named.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from survstudy.data.arrow import to_numpy
from survstudy.data.cells import Cells
from survstudy.errors import DataError

__all__ = [
    "Columns",
    "CoxDesign",
    "MissingCells",
    "check_known",
    "columns_from_raw",
    "cox_design",
    "events",
    "factor",
    "factor_codes",
    "first_missing",
    "level_value",
    "load_columns",
    "numbers",
    "parse_event_codes",
    "split_list",
    "used_columns",
]

_MISSING = {"", "na", "nan", "n/a", "."}
_NUMBER_RE = r"^[-+]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][-+]?[0-9]+)?$"
_COMMA = re.compile(r"^[-+]?\d+,\d+$")


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
    numeric = cells.numeric_values
    if numeric is not None:
        return numeric[1]
    if cells.arrow_kind in ("number", "integer", "bool", "date", "timestamp"):
        return np.asarray(to_numpy(cells.data.is_null()), dtype=bool) | (_nan_mask(cells))
    if cells.arrow_kind == "text":
        import pyarrow as pa
        import pyarrow.compute as pc

        key = pc.utf8_lower(pc.utf8_trim_whitespace(cells.data))
        hit = pc.is_in(key, value_set=pa.array(sorted(_MISSING)))
        return np.asarray(
            to_numpy(pc.fill_null(pc.or_kleene(hit, pc.is_null(cells.data)), True)),
            dtype=bool,
        )
    return cells.map_values(_is_missing, bool)


def _nan_mask(cells: Cells) -> np.ndarray:
    if cells.arrow_kind != "number":
        return np.zeros(len(cells), dtype=bool)
    import pyarrow.compute as pc

    return np.asarray(to_numpy(pc.fill_null(pc.is_nan(cells.data), False)), dtype=bool)


def numbers(cells: Cells, file: str, column: str, decimal: str = ".") -> NDArray[np.float64]:
    """The cells as numbers; the first cell that is not one is a NOT-A-NUMBER error."""
    kind = cells.arrow_kind
    numeric = cells.numeric_values
    if numeric is not None:
        return np.array(numeric[0], dtype=np.float64)  # a fresh array (the cells' are a view)
    if kind in ("number", "integer", "bool"):
        import pyarrow as pa
        import pyarrow.compute as pc

        # to_numpy already returns a fresh array: no second copy
        return np.asarray(to_numpy(pc.cast(cells.data, pa.float64())), dtype=np.float64)
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
        to_numpy(pc.fill_null(pc.match_substring_regex(t, _NUMBER_RE), False)),
        dtype=bool,
    )
    out = np.full(len(cells), np.nan)
    if fast.any():
        mask = pa.array(fast)
        out[fast] = to_numpy(pc.cast(pc.filter(t, mask), pa.float64()))
    if not fast.all():
        slow = ~fast
        # as Python values, so that numbers() takes its per-value path (an Arrow text
        # column would come straight back here)
        values = np.empty(int(slow.sum()), dtype=object)
        values[:] = pc.filter(t, pa.array(slow)).to_pylist()
        out[slow] = numbers(Cells(values, cells.rows[slow]), file, column, ".")
    return out


def parse_event_codes(text: str | None) -> dict[str, list[str]] | None:
    """``--event-codes event=2,censored=1`` (the spec's ``event_codes``) as a mapping.

    Pairs are comma-separated; a key may repeat or list alternatives with ``|``
    (``event=Dead|died,censored=Alive``). Both ``event`` and ``censored`` are needed.
    """
    from survstudy.data.columns import norm_text

    if text is None:
        return None
    codes: dict[str, list[str]] = {"event": [], "censored": []}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in codes or not value.strip():
            if key == "competing":
                raise DataError(
                    "--event-codes: a competing event is not a censoring; analyse it as a "
                    "competing risk",
                    rule="EVENT-CODES",
                    hint="survstudy cif FILE --cause ... --competing ... --censored ...",
                )
            raise DataError(
                f"--event-codes: {part!r} is not event=VALUE or censored=VALUE",
                rule="EVENT-CODES",
                hint="e.g. --event-codes event=2,censored=1 (R's lung coding) or "
                "--event-codes event=Dead,censored=Alive",
            )
        codes[key].extend(v.strip() for v in value.split("|") if v.strip())
    if not codes["event"] or not codes["censored"]:
        raise DataError(
            "--event-codes needs both event=... and censored=...",
            rule="EVENT-CODES",
            hint="e.g. --event-codes event=2,censored=1",
        )
    both = {norm_text(v) for v in codes["event"]} & {norm_text(v) for v in codes["censored"]}
    if both:
        raise DataError(
            f"--event-codes: {sorted(x for x in both if x)} listed as event and as censored",
            rule="EVENT-CODES",
        )
    return codes


def events(
    cells: Cells, file: str, column: str, codes: dict[str, list[str]] | None = None
) -> NDArray[np.bool_]:
    """The cells as event indicators: 0/1 and true/false, or the values ``codes`` maps
    (compared as the spec's ``event_codes``: ``2`` = ``2.0``, case and spaces ignored).
    Any other value is an EVENT-CODE error listing every such value and its rows."""
    from survstudy.data.columns import norm_text, shown
    from survstudy.data.quality import format_rows

    d = cells.distinct
    mapping: dict[str | None, bool]
    if codes is None:
        mapping = {"1": True, "true": True, "0": False, "false": False}
    else:
        mapping = {norm_text(v): True for v in codes["event"]}
        mapping.update({norm_text(v): False for v in codes["censored"]})
    per_value: list[bool] = []
    unknown: list[tuple[str, int]] = []
    for v, r in zip(d.values, d.first_rows, strict=True):
        key = norm_text(v)
        if key in mapping:
            per_value.append(mapping[key])
        else:
            per_value.append(False)
            unknown.append((shown(v), r))
    if unknown:
        parts = [
            f"'{v}' ({format_rows(d.expand([r]))})" for v, r in sorted(unknown, key=lambda u: u[0])
        ]
        first = min(r for _, r in unknown)
        if codes is None:
            raise DataError(
                "the event column must be 0/1 or true/false; found " + "; ".join(parts),
                file=file,
                row=first,
                column=column,
                rule="EVENT-CODE",
                hint="map the values with --event-codes, e.g. --event-codes event=2,censored=1 "
                "(R's status coding)",
            )
        raise DataError(
            "values not covered by --event-codes: " + "; ".join(parts),
            file=file,
            row=first,
            column=column,
            rule="EVENT-CODE",
            hint="add them to --event-codes event=... or censored=...",
        )
    return d.take(per_value, bool)


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
    event: str | None,
    *,
    others: Sequence[str | None] = (),
    sheet: str | int | None = None,
    event_codes: dict[str, list[str]] | None = None,
) -> Columns:
    """Read ``path`` and return the time, event and ``others`` columns.

    ``others`` are kept as cells (``cols.numbers(c)``, ``cols.factor(c)``,
    ``cols.others[c]``); ``None`` entries are ignored, so optional options can be
    passed as they are. ``event=None`` reads no 0/1 event column (``Columns.event`` is
    then all False): a status column with other codes (competing risks) is read among
    ``others``. Unknown columns raise :class:`DataError` listing the available columns.
    """
    from survstudy._process import is_own
    from survstudy.data import readers

    p = Path(path)
    low = p.name.lower()
    if is_own() and (
        low.endswith((".parquet", ".pq"))
        or p.is_dir()
        or (
            low.endswith((".csv", ".tsv", ".txt"))
            and p.is_file()
            and p.stat().st_size >= readers.ARROW_CSV_MIN_BYTES
        )
    ):
        # files that pyarrow reads (small CSVs go through the csv module): these formats
        # never need pandas, whose import pyarrow would trigger (~0.3 s)
        readers.arrow_without_pandas()
    read_raw = readers.read_raw
    used = used_columns(time, event, others)
    # the quick commands report no provenance: the file is not hashed
    raw = read_raw(path, sheet=sheet, columns=used, checksum=False)
    return columns_from_raw(raw, time, event, others=others, event_codes=event_codes)


def used_columns(time: str, event: str | None, others: Sequence[str | None] = ()) -> list[str]:
    """The columns a quick command reads, in order (time, event, ``others``), each once."""
    extra = [c for c in others if c]
    return list(dict.fromkeys([time, *([event] if event else []), *extra]))


def check_known(raw: Any, used: Sequence[str]) -> None:
    """The first of ``used`` that ``raw`` lacks is a COLUMN-UNKNOWN error listing the columns."""
    for c in used:
        if c not in raw.columns:
            raise DataError(
                f"column '{c}' not found; columns are: {', '.join(raw.columns)}",
                file=raw.file,
                column=c,
                rule="COLUMN-UNKNOWN",
            )


@dataclass(frozen=True)
class MissingCells:
    """Where the missing values of the used columns are: the first one (its spreadsheet row
    and, of the columns missing in that row, the first in ``used`` order) and how many rows
    have at least one (the rows :func:`columns_from_raw` drops)."""

    row: int
    column: str
    n_rows: int
    n_read: int


def first_missing(raw: Any, used: Sequence[str]) -> MissingCells | None:
    """The missing cells of ``used`` in ``raw`` (missing as :func:`columns_from_raw` drops
    them: empty, NA, NaN, ``.``, null), ``None`` when there is none. Unknown columns are the
    COLUMN-UNKNOWN error first."""
    check_known(raw, used)
    masks = [(c, _missing_mask(raw.cells(c))) for c in dict.fromkeys(used)]
    miss = np.zeros(raw.n, dtype=bool)
    for _, m in masks:
        miss |= m
    if not miss.any():
        return None
    i = int(np.flatnonzero(miss)[0])
    column = next(c for c, m in masks if m[i])
    return MissingCells(
        row=int(raw.row_numbers[i]), column=column, n_rows=int(miss.sum()), n_read=raw.n
    )


def columns_from_raw(
    raw: Any,
    time: str,
    event: str | None,
    *,
    others: Sequence[str | None] = (),
    event_codes: dict[str, list[str]] | None = None,
) -> Columns:
    """:func:`load_columns` on cells already read: a :class:`~survstudy.data.readers.RawTable`
    from :func:`~survstudy.data.readers.read_raw` (a file) or
    :func:`~survstudy.data.readers.read_frame` (an in-memory table, the Python API)."""
    extra = [c for c in others if c]
    used = used_columns(time, event, others)
    check_known(raw, used)
    miss = np.zeros(raw.n, dtype=bool)
    for c in used:
        miss |= _missing_mask(raw.cells(c))
    complete = not miss.any()
    keep = ~miss
    rows = raw.row_numbers if complete else raw.row_numbers[keep]  # no copy when complete

    def kept(c: str) -> Cells:
        cells = raw.cells(c)
        if complete:
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
    e = (
        np.zeros(rows.size, dtype=bool)
        if event is None
        else events(kept(event), raw.file, event, event_codes)
    )
    return Columns(
        file=raw.file,
        time=t,
        event=e,
        cells={c: kept(c) for c in extra},
        rows=rows,
        n_read=raw.n,
        n_dropped=0 if complete else int(miss.sum()),
        decimal=raw.decimal,
    )


@dataclass(frozen=True)
class CoxDesign:
    """The design matrix of a Cox model from typed columns: ``x`` (n, p), the term names
    (``column`` or ``column[level]``), the column each term comes from (``assign``), and
    for each categorical column its levels and reference level."""

    x: NDArray[np.float64]
    names: list[str]
    assign: list[str]
    levels: dict[str, tuple[Any, ...]]
    references: dict[str, Any]


def cox_design(
    cols: Columns,
    covariates: Sequence[str],
    categorical: Sequence[str] = (),
    reference: dict[str, Any] | None = None,
) -> CoxDesign:
    """``survstudy cox``'s design: numbers as numbers (a cell that is not one is a
    NOT-A-NUMBER error naming its row), ``categorical`` columns dummy-coded by
    :func:`survstudy.stats.cox.dummy_code` against their first level or ``reference``.
    A categorical column with one level among the analysed rows is refused."""
    from survstudy.errors import AnalysisError
    from survstudy.stats.cox import dummy_code

    refs = reference or {}
    blocks: list[Any] = []
    names: list[str] = []
    assign: list[str] = []
    levels: dict[str, tuple[Any, ...]] = {}
    references: dict[str, Any] = {}
    for c in covariates:
        if c in categorical:
            values = cols.others[c]
            m, nm, lv, ref = dummy_code(
                np.array(values, dtype=object), reference=refs.get(c), name=c
            )
            if not nm:
                raise AnalysisError(
                    f"covariate {c} has a single level among the analysed patients (zero variance)"
                )
            blocks.append(m)
            names += nm
            assign += [c] * len(nm)
            levels[c] = tuple(lv)
            references[c] = ref
        elif (view := cols.cells[c].numeric_values) is not None:
            # a numeric column (no missing cells are left): straight from its buffer into x
            blocks.append(view[0][:, None])
            names.append(c)
            assign.append(c)
        else:
            try:
                nums = cols.numbers(c)
            except DataError as exc:
                if exc.rule != "NOT-A-NUMBER":
                    raise
                raise DataError(
                    f"{exc.value!r} is not a number",
                    file=exc.file,
                    row=exc.row,
                    column=c,
                    rule="NOT-A-NUMBER",
                ) from None
            blocks.append(nums[:, None])
            names.append(c)
            assign.append(c)
    # column by column (Fortran order): the fit gathers each column into sorted order
    # directly, and no row-major copy of the columns is written
    x = np.empty((sum(b.shape[1] for b in blocks), len(blocks[0]) if blocks else 0)).T
    j = 0
    for b in blocks:
        x[:, j : j + b.shape[1]] = b
        j += b.shape[1]
    return CoxDesign(x, names, assign, levels, references)

"""Columns of raw cells, typed a whole column at a time.

A :class:`Cells` holds one column as the reader gives it: an Arrow array (CSV read
as text, Parquet as stored) or a NumPy object array of Python values (XLSX, SPSS,
Stata). The typing rules of :mod:`survstudy.data.columns` (missing codes, numbers,
dates, categories, event codes) are rules about one *value*; this module applies
them to a column without a Python loop over its rows:

* numbers stored as numbers are typed with NumPy (missing codes compared by value);
* numbers written as text are matched and converted by Arrow (``match_substring_regex``
  and ``cast``, which parses exactly as Python's ``float``), and only the cells that
  are not numbers (missing codes, mistakes: few) go through the per-value rule;
* everything else is typed per *distinct* value: the column is dictionary-encoded
  (Arrow's hash encoding, codes in order of first appearance), the per-value rule runs
  once per distinct value with the spreadsheet row of its first appearance, and the
  result is taken back to the rows. A finding about a value then concerns every row
  holding it (:meth:`Distinct.expand`), so messages and row lists are those of a
  cell-by-cell pass, in which the first row with a value is its first appearance.

Object arrays (spreadsheets, small by nature) are dictionary-encoded by a dict over the
cells, keyed by type and value so that ``1``, ``1.0`` and ``True`` stay apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from survstudy.data.arrow import integer_indices, to_numpy

__all__ = ["Cells", "Distinct", "ExpandingIssues", "first_appearances"]


@dataclass(frozen=True)
class Distinct:
    """The distinct cells of a column, in order of first appearance.

    ``values[k]`` is a Python value (``None`` for empty cells); ``inverse[i]`` the
    index into ``values`` of row ``i``; ``first_rows[k]`` the spreadsheet row where
    ``values[k]`` first appears.
    """

    values: list[Any]
    inverse: np.ndarray
    first_rows: list[int]
    rows: np.ndarray

    def take(self, per_value: Sequence[Any], dtype: Any = object) -> np.ndarray:
        """Per-row array from one result per distinct value."""
        arr = np.empty(len(per_value), dtype=dtype)
        arr[:] = per_value if dtype is not object else list(per_value)
        return arr[self.inverse]

    def expand(self, first_rows: Iterable[int]) -> list[int]:
        """Every spreadsheet row holding one of the values first seen on ``first_rows``."""
        index = {r: k for k, r in enumerate(self.first_rows)}
        ks = [index[int(r)] for r in first_rows if int(r) in index]
        if not ks:
            return []
        hit = np.zeros(len(self.values), dtype=bool)
        hit[ks] = True
        return self.rows[hit[self.inverse]].tolist()


class ExpandingIssues:
    """An issue collector that lists, for each first-appearance row, every row of its value."""

    def __init__(self, issues: Any, distinct: Distinct) -> None:
        self.issues = issues
        self.distinct = distinct

    def add(self, code: str, message: str, *, rows: Iterable[int] = (), **kw: Any) -> None:
        self.issues.add(code, message, rows=self.distinct.expand(rows), **kw)

    def check(
        self,
        code: str,
        variant: str = "",
        params: dict[str, Any] | None = None,
        *,
        rows: Iterable[int] = (),
        **kw: Any,
    ) -> None:
        self.issues.check(code, variant, params, rows=self.distinct.expand(rows), **kw)


class Cells:
    """One column of raw cells (see the module docstring)."""

    def __init__(self, values: Any, rows: np.ndarray) -> None:
        self.data = values
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def is_arrow(self) -> bool:
        return not isinstance(self.data, np.ndarray)

    @cached_property
    def arrow_kind(self) -> str:
        """number | integer | bool | date | timestamp | text | null | other (Arrow); object."""
        if not self.is_arrow:
            return "object"
        import pyarrow as pa

        t = self.data.type
        if pa.types.is_floating(t) or pa.types.is_decimal(t):
            return "number"
        if pa.types.is_integer(t):
            return "integer"
        if pa.types.is_boolean(t):
            return "bool"
        if pa.types.is_date(t):
            return "date"
        if pa.types.is_timestamp(t):
            return "timestamp"
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return "text"
        if pa.types.is_null(t):
            return "null"
        return "other"

    def to_list(self) -> list[Any]:
        """The cells as Python values (``None`` for empty), as a cell-by-cell reader gives them."""
        if not self.is_arrow:
            return list(self.data)
        out: list[Any] = self.data.to_pylist()
        if self.arrow_kind == "number":
            return [None if v is None or v != v else v for v in out]
        return out

    @cached_property
    def numeric_values(self) -> tuple[np.ndarray, np.ndarray] | None:
        """An Arrow integer or floating column as (NumPy values, missing mask), read from its
        buffers without Arrow compute (whose import a quick command need not pay); None for
        other columns. Missing: empty cells, and NaN in a floating column. The values of a
        column without empty cells are a read-only view of its Arrow buffer (no copy)."""
        if not self.is_arrow or self.arrow_kind not in ("integer", "number"):
            return None
        import pyarrow as pa

        if pa.types.is_decimal(self.data.type):
            return None
        arr = self.data.combine_chunks() if isinstance(self.data, pa.ChunkedArray) else self.data
        # floats with NaN for empty cells; integers as stored
        values = to_numpy(arr, copy=False)
        if values.dtype.kind == "f":
            return values, np.isnan(values)
        return values, np.zeros(values.size, dtype=bool)

    @cached_property
    def distinct(self) -> Distinct:
        n = len(self.rows)
        small = self._small_integer_distinct()
        if small is not None:
            return small
        if self.is_arrow:
            enc = self.data.dictionary_encode()
            values = enc.dictionary.to_pylist()
            # the indices with empty cells pointing after the dictionary (NumPy, not
            # ``fill_null``: its Python scalar makes pyarrow import pandas, ~0.3 s)
            inverse = integer_indices(enc.indices, len(values))
            if enc.indices.null_count:
                values.append(None)
            if self.arrow_kind == "number":
                values = [None if v is not None and v != v else v for v in values]
        else:
            seen: dict[tuple[type, Any], int] = {}
            values = []
            inverse = np.empty(n, dtype=np.int64)
            for i, v in enumerate(self.data):
                key = (type(v), v if not (isinstance(v, float) and v != v) else "nan")
                k = seen.get(key)
                if k is None:
                    k = seen[key] = len(values)
                    values.append(v)
                inverse[i] = k
        k = len(values)
        first = first_appearances(inverse, k, n)
        first_rows = [int(self.rows[i]) for i in first] if n else []
        return Distinct(values, inverse, first_rows, self.rows)

    def _small_integer_distinct(self) -> Distinct | None:
        """:attr:`distinct` with NumPy for a numeric Arrow column of whole numbers in a small
        range (codes, groups, 0/1): the same values, order of first appearance and first rows
        as Arrow's dictionary encoding, by counting instead of hashing."""
        got = self.numeric_values
        if got is None:
            return None
        values, missing = got
        n = values.size
        if values.dtype.kind == "f":
            # NaN and empty cells are two dictionary entries to Arrow: leave those columns to it
            if n == 0 or missing.any():
                return None
            lo, hi = values.min(), values.max()
            if not (np.isfinite(lo) and np.isfinite(hi)) or np.any(values != np.floor(values)):
                return None
            if np.signbit(values[values == 0]).any():  # -0.0 is its own entry to Arrow
                return None
            values = values.astype(np.int64)
            scalar: Callable[[Any], Any] = float
        else:
            scalar = int
            if missing.all():
                return None
        whole = values[~missing] if missing.any() else values
        lo, hi = int(whole.min()), int(whole.max())
        span = hi - lo
        if span > 1 << 16:
            return None
        if missing.any():
            offset = np.where(missing, span + 1, values - lo).astype(np.int64)
        elif lo == 0 and values.dtype == np.int64:
            offset = values  # only read below
        else:
            offset = (values - lo).astype(np.int64)
        first = first_appearances(offset, span + 2, n)
        present = np.flatnonzero(first < n)
        # order of first appearance; the empty cells' slot (last) goes last, as Arrow's
        order = present[np.argsort(first[present], kind="stable")]
        if missing.any():
            order = np.concatenate([order[order != span + 1], [span + 1]])
        code = np.empty(span + 2, dtype=np.int64)
        code[order] = np.arange(order.size)
        inverse = code[offset]
        out_values: list[Any] = [None if k == span + 1 else scalar(lo + k) for k in order.tolist()]
        first_rows = [int(self.rows[first[k]]) for k in order.tolist()]
        return Distinct(out_values, inverse, first_rows, self.rows)

    def map_values(self, rule: Callable[[Any], Any], dtype: Any = object) -> np.ndarray:
        """``rule`` applied to every cell, computed once per distinct value."""
        d = self.distinct
        return d.take([rule(v) for v in d.values], dtype)


#: at most this many distinct values: first appearances by one scan per value
_FEW_VALUES = 16


def first_appearances(offset: np.ndarray, size: int, n: int) -> np.ndarray:
    """For each value ``0 .. size − 1`` of ``offset`` (n non-negative integers), the index
    of its first appearance, ``n`` for a value that does not appear. A column of codes has
    a handful of values: one count, then one scan per value present (``argmax`` of the
    first match), instead of ``minimum.at`` over every row with a row-number array."""
    first = np.full(size, n, dtype=np.int64)
    present = np.flatnonzero(np.bincount(offset, minlength=size))
    if present.size <= _FEW_VALUES:
        for k in present.tolist():
            first[k] = int(np.argmax(offset == k))
    else:
        np.minimum.at(first, offset, np.arange(n, dtype=np.int64))
    return first

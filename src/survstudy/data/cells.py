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

from survstudy.data.arrow import to_numpy

__all__ = ["Cells", "Distinct", "ExpandingIssues"]


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
    def distinct(self) -> Distinct:
        n = len(self.rows)
        if self.is_arrow:
            enc = self.data.dictionary_encode()
            values = enc.dictionary.to_pylist()
            idx = enc.indices
            null = np.asarray(to_numpy(idx.is_null()), dtype=bool)
            inverse = np.asarray(to_numpy(idx.fill_null(len(values))), dtype=np.int64)
            if null.any():
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
        first = np.full(k, n, dtype=np.int64)
        np.minimum.at(first, inverse, np.arange(n, dtype=np.int64))
        first_rows = [int(self.rows[i]) for i in first] if n else []
        return Distinct(values, inverse, first_rows, self.rows)

    def map_values(self, rule: Callable[[Any], Any], dtype: Any = object) -> np.ndarray:
        """``rule`` applied to every cell, computed once per distinct value."""
        d = self.distinct
        return d.take([rule(v) for v in d.values], dtype)

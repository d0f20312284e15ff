"""The typing rules of :mod:`survstudy.data.columns`, applied a whole column at a time.

Each function takes a :class:`~survstudy.data.cells.Cells` column and returns NumPy
arrays over its rows, adding to the issue collector exactly the findings (codes,
messages, rows) that the cell-by-cell rule gives; see :mod:`survstudy.data.cells`
for how (typed columns with NumPy/Arrow, the rest once per distinct value).
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

import numpy as np

from survstudy.data.arrow import to_numpy
from survstudy.data.cells import Cells, ExpandingIssues, first_appearances
from survstudy.data.columns import (
    is_missing,
    norm_text,
    parse_categories,
    parse_dates,
    parse_events,
    parse_numbers,
    sublevels,
)
from survstudy.data.expressions import EPOCH
from survstudy.data.quality import IssueCollector

__all__ = [
    "category_codes",
    "column_categories",
    "column_dates",
    "column_events",
    "column_keys",
    "column_missing",
    "column_numbers",
    "column_sublevels",
    "duplicate_ids",
]

_NUMBER_RE = r"^[-+]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][-+]?[0-9]+)?$"
_COMMA_RE = r"^[-+]?[0-9]+(,[0-9]+)?$"
_NUMBER = re.compile(_NUMBER_RE)


def _numeric_codes(codes: frozenset[str]) -> list[float]:
    return [float(c) for c in codes if _NUMBER.match(c)]


def _as_float(cells: Cells) -> np.ndarray:
    """A number/integer/bool Arrow column as float64 (NaN for empty)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pc.cast(cells.data, pa.float64())
    return np.asarray(to_numpy(arr), dtype=float)  # to_numpy's own copy (writable)


def column_missing(cells: Cells, codes: frozenset[str]) -> np.ndarray:
    """Empty, NaN or a missing-value code (:func:`~survstudy.data.columns.is_missing`)."""
    if cells.arrow_kind in ("number", "integer"):
        x = _as_float(cells)
        miss = np.isnan(x)
        nums = _numeric_codes(codes)
        if nums:
            miss |= np.isin(x, nums)
        return miss
    return cells.map_values(lambda v: is_missing(v, codes), bool)


def column_keys(cells: Cells) -> np.ndarray:
    """:func:`~survstudy.data.columns.norm_text` of every cell (object array)."""
    return cells.map_values(norm_text)


def column_numbers(
    cells: Cells,
    *,
    column: str,
    codes: frozenset[str],
    decimal: str,
    issues: IssueCollector,
) -> np.ndarray:
    """Numbers (NaN = missing) as :func:`~survstudy.data.columns.parse_numbers` reads them."""
    kind = cells.arrow_kind
    if kind in ("number", "integer"):
        x = _as_float(cells)
        # column_missing's test on these same values (NaN is not finite)
        bad = ~np.isfinite(x)
        nums = _numeric_codes(codes)
        if nums:
            bad |= np.isin(x, nums)
        x[bad] = np.nan
        return x
    if kind == "text":
        return _text_numbers(cells, column=column, codes=codes, decimal=decimal, issues=issues)
    d = cells.distinct
    vals = parse_numbers(
        d.values,
        d.first_rows,
        column=column,
        codes=codes,
        decimal=decimal,
        issues=ExpandingIssues(issues, d),  # type: ignore[arg-type]
    )
    return d.take([np.nan if v is None else v for v in vals], float)


def _text_numbers(
    cells: Cells, *, column: str, codes: frozenset[str], decimal: str, issues: IssueCollector
) -> np.ndarray:
    """Numbers written as text: Arrow matches and converts the cells that are numbers; the
    others (missing codes, text: few) go through the per-value rule."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = pc.utf8_trim_whitespace(cells.data)
    fast = pc.fill_null(pc.match_substring_regex(t, _NUMBER_RE), False)
    if decimal == "," and not any("," in c for c in codes):
        comma = pc.fill_null(pc.match_substring_regex(t, _COMMA_RE), False)
        t = pc.if_else(comma, pc.replace_substring(t, ",", "."), t)
        fast = pc.or_(fast, comma)
    fast_np = np.asarray(to_numpy(fast), dtype=bool)
    out = np.full(len(cells), np.nan)
    if fast_np.any():
        x = np.array(to_numpy(pc.cast(pc.filter(t, fast), pa.float64())), dtype=float)
        nums = _numeric_codes(codes)
        if nums:
            x[np.isin(x, nums)] = np.nan
        out[fast_np] = x
    if not fast_np.all():
        slow = ~fast_np
        rest = Cells(pc.filter(cells.data, pa.array(slow)), cells.rows[slow])
        d = rest.distinct
        vals = parse_numbers(
            d.values,
            d.first_rows,
            column=column,
            codes=codes,
            decimal=decimal,
            issues=ExpandingIssues(issues, d),  # type: ignore[arg-type]
        )
        out[slow] = d.take([np.nan if v is None else v for v in vals], float)
    return out


def column_dates(
    cells: Cells,
    *,
    column: str,
    codes: frozenset[str],
    issues: IssueCollector,
    date_format: str | None,
    century_pivot: int | None,
    excel_system: int | None,
    source_kind: str,
) -> np.ndarray:
    """Days since 1970-01-01 (NaN = missing) as :func:`~survstudy.data.columns.parse_dates`."""
    kind = cells.arrow_kind
    if kind == "date" and not any(_looks_like_date(c) for c in codes):
        import pyarrow as pa
        import pyarrow.compute as pc

        days = pc.cast(pc.cast(cells.data, pa.date32()), pa.int32())
        return np.array(to_numpy(pc.cast(days, pa.float64())), dtype=float)
    d = cells.distinct
    dates = parse_dates(
        d.values,
        d.first_rows,
        column=column,
        codes=codes,
        issues=ExpandingIssues(issues, d),  # type: ignore[arg-type]
        date_format=date_format,
        century_pivot=century_pivot,
        excel_system=excel_system,
        source_kind=source_kind,
        expand=d.expand,
    )
    return d.take([np.nan if x is None else float((x - EPOCH).days) for x in dates], float)


def _looks_like_date(code: str) -> bool:
    try:
        _dt.date.fromisoformat(code)
    except ValueError:
        return False
    return True


def column_categories(
    cells: Cells,
    *,
    column: str,
    codes: frozenset[str],
    level_map: dict[str, list[Any]],
    issues: IssueCollector,
) -> tuple[np.ndarray, list[str]]:
    """Level names per row (object array, ``None`` = missing) and the level order, as
    :func:`~survstudy.data.columns.parse_categories`."""
    d = cells.distinct
    levels, order = parse_categories(
        d.values,
        d.first_rows,
        column=column,
        codes=codes,
        level_map=level_map,
        issues=ExpandingIssues(issues, d),  # type: ignore[arg-type]
        expand=d.expand,
    )
    return d.take(levels), order


def category_codes(
    cells: Cells, levels: np.ndarray, order: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """The codes (positions in ``order``, -1 missing; ``int8`` for up to 127 levels) of the
    level names ``levels`` that :func:`column_categories` gave for ``cells``, and where
    ``levels`` is ``None``, computed once per distinct cell."""
    d = cells.distinct
    index = {lev: i for i, lev in enumerate(order)}
    # a row holding each distinct value (all rows of a value have its level): its first
    some_row = first_appearances(d.inverse, len(d.values), len(d.inverse))
    value_levels = levels[some_row].tolist()
    per_value = [index.get(lv, -1) if lv is not None else -1 for lv in value_levels]
    dtype = np.int8 if len(order) <= 127 else np.int64
    return d.take(per_value, dtype), d.take([lv is None for lv in value_levels], bool)


def column_sublevels(
    cells: Cells, codes: frozenset[str], level_map: dict[str, list[Any]]
) -> tuple[np.ndarray, dict[str, tuple[str, ...]]]:
    """:func:`~survstudy.data.columns.sublevels` per row."""
    d = cells.distinct
    detail, groups = sublevels(d.values, codes, level_map)
    return d.take(detail), groups


def column_events(
    cells: Cells,
    *,
    column: str,
    codes: frozenset[str],
    event: Any,
    censored: Any,
    competing: Any,
    issues: IssueCollector,
) -> np.ndarray:
    """Status 0/1/2 (NaN = missing) as :func:`~survstudy.data.columns.parse_events`."""
    d = cells.distinct
    status = parse_events(
        d.values,
        d.first_rows,
        column=column,
        codes=codes,
        event=event,
        censored=censored,
        competing=competing,
        issues=ExpandingIssues(issues, d),  # type: ignore[arg-type]
        expand=d.expand,
    )
    return d.take([np.nan if v is None else float(v) for v in status], float)


def duplicate_ids(cells: Cells) -> tuple[list[list[int]], list[int]]:
    """(rows of every id that appears more than once, rows without an id), ids compared as
    :func:`~survstudy.data.columns.norm_text` (1 == 1.0 == '1'; 'A7 ' == 'a7')."""
    rows = cells.rows
    if cells.arrow_kind in ("number", "integer"):
        x = _as_float(cells)
        if len(x) > 1 and bool((x[1:] > x[:-1]).all()):
            return [], []  # increasing ids (a registry's numbering): none twice, none empty
        empty = np.isnan(x)
        group = np.full(len(x), -1, dtype=np.int64)
        if (~empty).any():
            _, inv = np.unique(x[~empty], return_inverse=True)
            group[~empty] = inv
    else:
        d = cells.distinct
        keys = [norm_text(v) for v in d.values]
        empty = d.take([k is None or k == "" for k in keys], bool)
        index: dict[str, int] = {}
        per_value = [-1 if k is None or k == "" else index.setdefault(k, len(index)) for k in keys]
        group = d.take(per_value, np.int64)
    counts = np.bincount(group[group >= 0]) if (group >= 0).any() else np.zeros(0, dtype=int)
    dup_groups = np.flatnonzero(counts > 1)
    dups: list[list[int]] = []
    if len(dup_groups):
        hit = np.isin(group, dup_groups)
        g, r = group[hit], rows[hit]
        order = np.lexsort((r, g))
        g, r = g[order], r[order]
        cuts = np.flatnonzero(np.diff(g)) + 1
        dups = [part.tolist() for part in np.split(r, cuts)]
    return sorted(dups), rows[empty].tolist()

"""Numeric Arrow columns are typed from their buffers, exactly as Arrow's compute gives them.

Kind of truth: equivalence with Arrow (``dictionary_encode``, ``is_null``/``is_nan``,
``cast``), the reference implementation the NumPy paths replace so that a quick command
does not import ``pyarrow.compute``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from survstudy.data.cells import Cells
from survstudy.data.quick import _missing_mask, numbers

RNG = np.random.default_rng(20261207)

COLUMNS = {
    "small ints": pa.array(RNG.integers(-3, 5, 2000)),
    "ints with empty cells": pa.array([3, None, 1, 3, None, 7]),
    "0/1 as int8": pa.array(RNG.integers(0, 2, 500).astype(np.int8)),
    "whole floats": pa.array([2.0, 1.0, 2.0, 5.0]),
    "floats": pa.array([1.5, 2.0, 1.5]),
    "wide ints": pa.array(RNG.integers(0, 10**9, 300)),
    "signed zeros": pa.array([0.0, -0.0, 1.0, 0.0]),
    "floats with NaN and empty": pa.array([1.0, float("nan"), None, 1.0, float("nan")]),
    "uint16": pa.array(np.array([7, 3, 7, 65535], dtype=np.uint16)),
    "only empty": pa.array([None, None], type=pa.int64()),
    "chunked": pa.chunked_array([[4, 2], [2, 9, 4]]),
}


def _arrow_distinct(data: Any) -> tuple[list[Any], np.ndarray, list[int]]:
    """Values (NaN and empty as None), codes per row and first rows, from Arrow."""
    arr = data.combine_chunks() if isinstance(data, pa.ChunkedArray) else data
    enc = arr.dictionary_encode()
    values = enc.dictionary.to_pylist()
    codes = enc.indices.fill_null(len(values)).to_numpy(zero_copy_only=False)
    if enc.indices.null_count:
        values.append(None)
    values = [None if v is not None and v != v else v for v in values]
    first = [int(np.flatnonzero(codes == k)[0]) + 2 for k in range(len(values))]
    return values, codes, first


@pytest.mark.parametrize("name", list(COLUMNS))
def test_distinct_values_as_arrow_encodes_them(name: str) -> None:
    data = COLUMNS[name]
    cells = Cells(data, np.arange(len(data)) + 2)  # spreadsheet rows from 2
    values, codes, first = _arrow_distinct(data)
    d = cells.distinct
    assert d.values == values
    assert [type(v) for v in d.values] == [type(v) for v in values]
    np.testing.assert_array_equal(d.inverse, codes)
    assert d.first_rows == first


@pytest.mark.parametrize("name", list(COLUMNS))
def test_missing_and_numbers_as_arrow_gives_them(name: str) -> None:
    data = COLUMNS[name]
    cells = Cells(data, np.arange(len(data)) + 2)
    arr = data.combine_chunks() if isinstance(data, pa.ChunkedArray) else data
    nan = pc.is_nan(arr) if pa.types.is_floating(arr.type) else pc.is_null(arr)
    want_missing = pc.or_(pc.is_null(arr), pc.fill_null(nan, False)).to_numpy(zero_copy_only=False)
    np.testing.assert_array_equal(_missing_mask(cells), want_missing)
    want = np.array(pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
    np.testing.assert_array_equal(numbers(cells, "f.parquet", "x"), want)


def test_a_numeric_parquet_quick_command_does_not_import_arrow_compute(tmp_path: Path) -> None:
    """Property: ``survstudy cif`` on a numeric Parquet file never loads ``pyarrow.compute``."""
    import pyarrow.parquet as pq

    pq.write_table(
        pa.table(
            {
                "time": [5.0, 8.0, 12.0, 3.0, 9.0, 15.0],
                "status": [1, 0, 2, 1, 2, 0],
                "arm": [1, 2, 1, 2, 1, 2],
            }
        ),
        tmp_path / "q.parquet",
    )
    code = (
        "import sys\n"
        "from survstudy.cli.main import main\n"
        "try:\n"
        "    main(['cif', 'q.parquet', '--time', 'time', '--event', 'status', '--cause', '1',\n"
        "          '--competing', '2', '--by', 'arm', '--json'])\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "print('pyarrow.compute' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "False"


@pytest.mark.parametrize("name", ["floats", "small ints", "chunked"])
def test_numbers_are_a_fresh_writable_array(name: str) -> None:
    """Property: the cells read numeric columns as a view of the Arrow buffer (no copy), but
    ``numbers`` hands out a writable array of its own, so a caller that changes it changes
    neither the cells nor the next call's result (Arrow's cast as the reference)."""
    cells = Cells(COLUMNS[name], np.arange(2, len(COLUMNS[name]) + 2))
    a = numbers(cells, "f.parquet", "x")
    expected = np.asarray(pc.cast(COLUMNS[name], pa.float64()).to_numpy(zero_copy_only=False))
    a[:] = -1.0
    np.testing.assert_array_equal(numbers(cells, "f.parquet", "x"), expected)


@pytest.mark.parametrize("values", [2, 5, 16, 17, 40])
def test_first_rows_are_the_first_appearances(values: int) -> None:
    """First appearance of each value, by a scan per value (few values) or ``minimum.at``
    (many): both the smallest row index holding the value, ``n`` when absent."""
    from survstudy.data.cells import first_appearances

    rng = np.random.default_rng(values)
    n = 3000
    offset = rng.integers(0, values, n) * 2  # odd values never appear
    size = 2 * values + 1
    got = first_appearances(offset, size, n)
    want = [int(np.flatnonzero(offset == k)[0]) if np.any(offset == k) else n for k in range(size)]
    assert got.tolist() == want


@pytest.mark.parametrize(
    "values",
    [
        [1, 2, 3, 10],  # increasing: the shortcut
        [1, 2, 2, 3],
        [3, 1, 2, 1],
        [1.0, None, 3.0],
        [1.0, float("nan"), 3.0, 1.0],
        [5],
    ],
)
def test_duplicate_ids_shortcut_for_increasing_ids(values: list[Any]) -> None:
    """Identity: increasing ids (no id twice, none empty) give what the general path gives."""
    from survstudy.data import columnar

    cells = Cells(pa.array(values), np.arange(2, len(values) + 2))
    got = columnar.duplicate_ids(cells)
    x = np.array([np.nan if v is None else float(v) for v in values])
    empty = np.isnan(x)
    ids = x[~empty]
    want_dups = sorted(
        [int(r) for r in cells.rows[~empty][ids == v]]
        for v in np.unique(ids)
        if (ids == v).sum() > 1
    )
    assert got == (want_dups, cells.rows[empty].tolist())


def test_text_categories_coded_with_missing_last() -> None:
    """Hand-derived: a text column's distinct values in order of first appearance ('b', 'a',
    'c'), empty cells coded 3 (after them); first rows 1, 3, 5, and 2 for the empty cell."""
    cells = Cells(pa.array(["b", None, "a", "b", "c", None]), np.arange(1, 7))
    d = cells.distinct
    assert d.values == ["b", "a", "c", None]
    assert d.inverse.tolist() == [0, 3, 1, 0, 2, 3]
    assert d.first_rows == [1, 3, 5, 2]

"""Reading a study's Parquet folder in memory: what is imported, and that it changes nothing.

Kind of truth: property (import trace) and identity with the general path. A folder of one
Parquet file (as ``survstudy synth-registry`` writes) is read as that file, through pyarrow's
reader class, without ``pyarrow.parquet`` (its import of ``pyarrow.fs`` and ssl); the
categories of a text column are coded without ``pyarrow.compute.fill_null``, whose Python
scalar made pyarrow import pandas (~0.4 s, more than reading 10^6 rows). The cells read
must equal those of the general path (``pyarrow.parquet`` over every file of the folder).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from survstudy.data.cells import Cells
from survstudy.data.readers import _read_parquet_files, read_raw

TABLE = pa.table(
    {
        "time": pa.array([5.0, 8.0, None, 3.0, 9.0, 15.0]),
        "event": pa.array([1, 0, 1, 1, None, 1], type=pa.int64()),
        "grp": pa.array(["b", None, "a", "b", "c", None]),
    }
)


def test_a_folder_of_one_file_reads_the_same_cells(tmp_path: Path) -> None:
    (tmp_path / "reg").mkdir()
    pq.write_table(TABLE, tmp_path / "reg" / "part-00000.parquet")
    raw = read_raw(tmp_path / "reg", columns=["grp", "time"])
    names, wanted, table = _read_parquet_files(tmp_path / "reg", "reg", ["grp", "time"])
    assert raw.columns == names == ("time", "event", "grp")
    assert list(raw.data) == wanted == ["time", "grp"]
    for n in wanted:
        assert raw.data[n].equals(table.column(n).combine_chunks())
    assert raw.row_numbers.tolist() == [1, 2, 3, 4, 5, 6]


def test_text_categories_coded_with_missing_last(tmp_path: Path) -> None:
    """Hand-derived: distinct values in order of first appearance ('b', 'a', 'c'), the missing
    cell coded 3 (after them); their first rows 1, 3, 5, and 2 for the missing cell."""
    rows = pa.array([1, 2, 3, 4, 5, 6]).to_numpy()
    cells = Cells(TABLE.column("grp").combine_chunks(), rows=rows)
    d = cells.distinct
    assert d.values == ["b", "a", "c", None]
    assert d.inverse.tolist() == [0, 3, 1, 0, 2, 3]
    assert d.first_rows == [1, 3, 5, 2]


def test_no_pandas_and_no_pyarrow_parquet_in_a_study_read(tmp_path: Path) -> None:
    (tmp_path / "reg").mkdir()
    pq.write_table(TABLE, tmp_path / "reg" / "part-00000.parquet")
    code = textwrap.dedent(
        f"""
        import sys
        from survstudy.data.readers import read_raw
        from survstudy.data.cells import Cells
        raw = read_raw({str(tmp_path / "reg")!r}, columns=["grp"])
        Cells(raw.data["grp"], rows=raw.row_numbers).distinct
        print("pandas" in sys.modules, "pyarrow.parquet" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]

"""A folder of Parquet files (a partitioned data set) read as one table.

Kinds of truth: hand construction — the rows of two small files in file-name
order, case numbers 1..n, and the data set's hash computed here with hashlib
from its definition (the lines ``name:sha256`` of each file in name order).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from survstudy.data.readers import read_raw
from survstudy.errors import DataError


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_folder_rows_in_file_name_order(tmp_path: Path) -> None:
    folder = tmp_path / "registry"
    (folder / "b").mkdir(parents=True)
    pq.write_table(pa.table({"t": [5, 6], "e": [1, 0]}), folder / "b" / "part-1.parquet")
    pq.write_table(pa.table({"t": [1, 2, 3], "e": [0, 1, 1]}), folder / "a.parquet")
    (folder / "_registry.json").write_text("{}")  # not a Parquet file: ignored
    raw = read_raw(folder)
    assert raw.columns == ("t", "e")
    # "a.parquet" sorts before "b/part-1.parquet"
    assert [tuple(int(v) for v in r) for r in raw.records] == [
        (1, 0),
        (2, 1),
        (3, 1),
        (5, 1),
        (6, 0),
    ]
    assert raw.rows == (1, 2, 3, 4, 5)
    lines = f"a.parquet:{_sha(folder / 'a.parquet')}\npart-1.parquet:{_sha(folder / 'b' / 'part-1.parquet')}\n"
    assert raw.sha256 == hashlib.sha256(lines.encode()).hexdigest()


def test_one_file_folder_hash_is_the_file_hash(tmp_path: Path) -> None:
    folder = tmp_path / "one"
    folder.mkdir()
    pq.write_table(pa.table({"t": [1.5]}), folder / "part-0.parquet")
    assert read_raw(folder).sha256 == _sha(folder / "part-0.parquet")


def test_folder_without_parquet_files(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError) as info:
        read_raw(tmp_path / "empty")
    assert "no Parquet files" in info.value.message

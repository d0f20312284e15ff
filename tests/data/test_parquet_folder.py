"""A folder of Parquet files (a partitioned data set) read as one table.

Kinds of truth: hand construction — the rows of two small files in file-name
order, case numbers 1..n, and the data set's hash computed here with hashlib
from its definition (the lines ``name:sha256`` of each file in name order).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from survstudy.data.readers import read_raw
from survstudy.errors import DataError


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _last_line(code: str, cwd: Path) -> str:
    """The last line ``python -c code`` prints in ``cwd`` (a fresh interpreter: its modules)."""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=True
    )
    return out.stdout.strip().splitlines()[-1]


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


def test_one_file_reads_as_parquetfile_reads_it(tmp_path: Path) -> None:
    """One flat file: the columns asked for, in the file's order, the same Arrow arrays as
    ``pq.ParquetFile(path).read(columns=…)`` (dictionary columns decoded, a pandas index
    column left out), and the rows numbered 1..n."""
    p = tmp_path / "d.parquet"
    table = pa.table(
        {
            "t": [5.0, None, 2.5, 7.0],
            "grp": pa.array(["a", "b", None, "a"]).dictionary_encode(),
            "e": pa.array([1, 0, 2, None], type=pa.int8()),
            "__index_level_0__": [10, 11, 12, 13],
        }
    )
    pq.write_table(table, p, row_group_size=2)  # two row groups: chunked columns
    raw = read_raw(p, columns=["e", "t", "grp"])
    assert raw.columns == ("t", "grp", "e")
    assert list(raw.data) == ["t", "grp", "e"]
    want = pq.ParquetFile(p).read(columns=["t", "grp", "e"])
    for c in ("t", "e"):
        assert raw.data[c].equals(want.column(c).combine_chunks())
    assert raw.data["grp"].to_pylist() == ["a", "b", None, "a"]
    assert raw.data["grp"].type == pa.string()
    assert raw.rows == (1, 2, 3, 4)


def test_nested_file_goes_through_pyarrow_parquet(tmp_path: Path) -> None:
    """A nested schema is left to ``pyarrow.parquet`` (its rules for struct columns)."""
    from survstudy.data.readers import _read_parquet_file

    p = tmp_path / "n.parquet"
    pq.write_table(pa.table({"t": [1.0, 2.0], "s": [{"x": 1}, {"x": 2}]}), p)
    assert _read_parquet_file(str(p), None) is None
    raw = read_raw(p)
    assert raw.columns == ("t", "s")
    assert raw.data["t"].to_pylist() == [1.0, 2.0]


def test_damaged_file_is_unreadable(tmp_path: Path) -> None:
    p = tmp_path / "bad.parquet"
    p.write_bytes(b"PAR1 not really a parquet file PAR1")
    with pytest.raises(DataError, match="cannot read the file as Parquet") as err:
        read_raw(p)
    assert err.value.rule == "FILE-UNREADABLE"


def test_one_file_read_does_not_import_pyarrow_parquet(tmp_path: Path) -> None:
    """Property: reading one flat Parquet file loads neither ``pyarrow.parquet`` nor
    ``pyarrow.fs`` (their import was ~30 ms of a quick command)."""
    pq.write_table(pa.table({"t": [1.0, 2.0], "e": [1, 0]}), tmp_path / "q.parquet")
    code = (
        "import sys\n"
        "from survstudy.data.readers import read_raw\n"
        "raw = read_raw('q.parquet', columns=['t'], checksum=False)\n"
        "assert raw.data['t'].to_pylist() == [1.0, 2.0]\n"
        "print('pyarrow.parquet' in sys.modules, 'pyarrow.fs' in sys.modules)\n"
    )
    assert _last_line(code, tmp_path) == "False False"


def test_one_file_threads_or_not_reads_the_same(tmp_path: Path, monkeypatch) -> None:
    """The decoding thread choice (by file size) does not change the values."""
    from survstudy.data import readers

    p = tmp_path / "d.parquet"
    pq.write_table(
        pa.table({"t": [float(i % 97) for i in range(5000)], "e": [i % 3 for i in range(5000)]}),
        p,
        row_group_size=1000,
    )
    one = read_raw(p, columns=["t", "e"], checksum=False)
    monkeypatch.setattr(readers, "_PARQUET_THREADS_ROWS", 0)
    pooled = read_raw(p, columns=["t", "e"], checksum=False)
    want = pq.ParquetFile(p).read(columns=["t", "e"])
    for c in ("t", "e"):
        assert one.data[c].equals(pooled.data[c])
        assert one.data[c].equals(want.column(c).combine_chunks())


def test_one_file_and_its_folder_hash_alike(tmp_path: Path) -> None:
    """Hand construction: the hash (computed beside the read) is the file's own, for the
    file and for a folder holding only it; the cells are the same."""
    folder = tmp_path / "one"
    folder.mkdir()
    f = folder / "part-0.parquet"
    pq.write_table(pa.table({"t": [1.0, 2.0], "g": pa.array(["a", "b"]).dictionary_encode()}), f)
    by_file, by_folder = read_raw(f), read_raw(folder)
    assert by_file.sha256 == by_folder.sha256 == _sha(f)
    assert by_folder.data["g"].to_pylist() == ["a", "b"]
    assert by_file.data["t"].to_pylist() == by_folder.data["t"].to_pylist() == [1.0, 2.0]


def test_a_hashing_failure_comes_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hash ran before the read: its failure is the one raised, even beside a bad file."""
    from survstudy.data import readers

    def fail(files: list[str]) -> str:
        raise OSError("cannot hash")

    monkeypatch.setattr(readers, "sha256_of_files", fail)
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(OSError, match="cannot hash"):
        read_raw(bad)


def test_folder_read_and_text_codes_import_neither_pandas_nor_pyarrow_parquet(
    tmp_path: Path,
) -> None:
    """Property: a study's folder of one file read and a text column coded load neither
    pandas (pyarrow imports it when a Python value becomes an Arrow scalar, as
    ``Array.fill_null`` did: ~0.3-0.45 s) nor ``pyarrow.parquet``."""
    (tmp_path / "reg").mkdir()
    pq.write_table(
        pa.table({"t": [5.0, 8.0, None], "g": ["b", None, "a"]}), tmp_path / "reg" / "p.parquet"
    )
    code = (
        "import sys\n"
        "from survstudy.data.readers import read_raw\n"
        "from survstudy.data.cells import Cells\n"
        "raw = read_raw('reg', columns=['g'])\n"
        "assert Cells(raw.data['g'], rows=raw.row_numbers).distinct.inverse.tolist() == [0, 2, 1]\n"
        "print('pandas' in sys.modules, 'pyarrow.parquet' in sys.modules)\n"
    )
    assert _last_line(code, tmp_path) == "False False"

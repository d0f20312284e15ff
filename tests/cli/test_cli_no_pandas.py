"""The quick commands on CSV and Parquet do not import pandas in their own process.

Kind of truth: property (import trace). pyarrow imports pandas the first time it converts
a Python value; a ``survstudy km``/``cox`` process reading CSV or Parquet tells pyarrow
that pandas is absent (:func:`survstudy.data.readers.arrow_without_pandas`), since the
import alone costs more than the command's work on a small file. Called inside another
program (``main([...])``), the CLI changes nothing process-wide.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from survstudy.cli import main as cli_main

CSV = "time,event,age,grp\n5,1,50,a\n8,0,61,b\n12,1,70,a\n3,1,40,b\n9,0,66,a\n15,1,33,b\n"


def _imports(args: list[str], cwd: Path) -> str:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "survstudy", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stderr


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_quick_commands_do_not_import_pandas(tmp_path: Path, fmt: str) -> None:
    """Property: no pandas module is loaded (a refused attempt is listed with its few µs)."""
    (tmp_path / "q.csv").write_text(CSV)
    name = "q.csv"
    if fmt == "parquet":
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        pq.write_table(pacsv.read_csv(tmp_path / "q.csv"), tmp_path / "q.parquet")
        name = "q.parquet"
    for args in (
        ["km", name, "--time", "time", "--event", "event", "--json"],
        [
            "cox",
            name,
            "--time",
            "time",
            "--event",
            "event",
            "--covariates",
            "age,grp",
            "--categorical",
            "grp",
            "--json",
        ],
    ):
        trace = _imports(args, tmp_path)
        loaded = [
            ln for ln in trace.splitlines() if ln.rstrip().endswith(("pandas.core", "pandas._libs"))
        ]
        assert loaded == [], args


def test_inside_another_program_nothing_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Identity: after main([...]) in this process, pyarrow still converts to pandas."""
    (tmp_path / "q.csv").write_text(CSV)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        cli_main.main(["km", "q.csv", "--time", "time", "--event", "event", "--json"])
    import pyarrow as pa

    assert pa.table({"a": [1, 2]}).to_pandas()["a"].tolist() == [1, 2]

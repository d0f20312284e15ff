"""The synthetic registry generator (survstudy.data.synth) and ``survstudy synth-registry``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from survstudy.cli import main as cli_main
from survstudy.data.synth import BLOCK_ROWS, RegistryDesign, write_registry
from survstudy.errors import DataError
from survstudy.stats.cox import cox_fit


def _read(path: Path) -> pa.Table:
    files = sorted(path.glob("part-*.parquet"))
    return pa.concat_tables([pq.read_table(f) for f in files])


def _same(a: pa.Table, b: pa.Table) -> bool:
    return a.equals(b)


def test_same_seed_same_rows_other_seed_other_rows(tmp_path: Path) -> None:
    """Identity: the registry is a function of (n, seed, design); another seed differs."""
    write_registry(tmp_path / "a", 3000, seed=11, chunk=1000)
    write_registry(tmp_path / "b", 3000, seed=11, chunk=1000)
    write_registry(tmp_path / "c", 3000, seed=12, chunk=1000)
    a, b, c = (_read(tmp_path / k) for k in "abc")
    assert _same(a, b)
    assert not np.array_equal(a["time"].to_numpy(), c["time"].to_numpy())


def test_chunked_output_equals_one_shot_and_prefix(tmp_path: Path) -> None:
    """Identity: files are cuts of one stream (chunk 7 across a block boundary vs one file),
    and the first m rows of a registry of size n are the registry of size m."""
    n = BLOCK_ROWS + 300
    one = write_registry(tmp_path / "one", n, seed=5, chunk=n)
    assert one.files == ("part-00000.parquet",)
    write_registry(tmp_path / "cut", n, seed=5, chunk=BLOCK_ROWS // 3 + 7)
    assert _same(_read(tmp_path / "one"), _read(tmp_path / "cut"))
    write_registry(tmp_path / "small", 1000, seed=5, chunk=7)
    assert len(list((tmp_path / "small").glob("part-*.parquet"))) == 143  # ceil(1000 / 7)
    assert _same(_read(tmp_path / "small"), _read(tmp_path / "one").slice(0, 1000))


def test_column_types_and_values(tmp_path: Path) -> None:
    """Contract: column names, Arrow types and value ranges documented in the module."""
    write_registry(tmp_path, 5000, seed=1, chunk=5000, design=RegistryDesign(p=4, groups=2))
    t = _read(tmp_path)
    assert t.column_names == [
        "patient_id",
        "time",
        "event",
        "group",
        "region",
        "x1",
        "x2",
        "x3",
        "x4",
    ]
    types = {f.name: f.type for f in t.schema}
    assert types["patient_id"] == pa.int64()
    assert types["time"] == pa.int32()
    assert types["event"] == pa.int8()
    assert types["group"] == pa.dictionary(pa.int8(), pa.string())
    assert types["region"] == pa.dictionary(pa.int8(), pa.string())
    assert types["x1"] == pa.float64()
    assert types["x3"] == pa.int8()  # every third covariate is binary
    assert t["patient_id"].to_numpy().tolist() == list(range(1, 5001))
    assert t["time"].to_numpy().min() >= 1
    assert set(np.unique(t["event"].to_numpy())) == {0, 1}
    assert set(t["x3"].to_numpy().tolist()) == {0, 1}
    assert set(t["group"].to_pylist()) == {"A", "B"}
    assert set(t["region"].to_pylist()) == {"north", "east", "south", "west"}
    # whole days with ties, as registries record them
    assert len(np.unique(t["time"].to_numpy())) < 5000 // 2


def test_metadata_records_the_documented_truth(tmp_path: Path) -> None:
    """Hand-written: the true log-HRs in _registry.json are the documented constants."""
    s = write_registry(tmp_path, 2000, seed=9, chunk=800)
    meta = json.loads(Path(s.metadata_path).read_text(encoding="utf-8"))
    assert Path(s.metadata_path).name == "_registry.json"
    assert meta["true_log_hr"] == {
        "group=B": -0.3,
        "group=C": 0.2,
        "x1": 0.5,
        "x2": -0.4,
        "x3": 0.3,
        "x4": -0.2,
        "x5": 0.1,
        "x6": 0.0,
        "x7": 0.25,
        "x8": -0.15,
        "x9": 0.05,
        "x10": -0.3,
    }
    assert meta["seed"] == 9
    assert meta["n"] == 2000
    assert [f["rows"] for f in meta["files"]] == [800, 800, 400]
    assert meta["events"] == int(_read(tmp_path)["event"].to_numpy().sum())
    # pyarrow reads the directory as a data set (the JSON is skipped by its leading "_")
    assert pq.read_table(tmp_path).num_rows == 2000


def test_cox_recovers_true_log_hazard_ratios(tmp_path: Path) -> None:
    """Property: at n = 20 000 the stratified Efron fit of the true model lies within
    4 standard errors of every true log-HR (seeded, so deterministic; for 12 coefficients
    the chance of a false alarm is below 1e-3)."""
    write_registry(tmp_path, 20_000, seed=2026, chunk=20_000)
    meta = json.loads((tmp_path / "_registry.json").read_text(encoding="utf-8"))
    t = _read(tmp_path)
    group = np.asarray(t["group"].to_pylist())
    x = np.column_stack(
        [(group == lvl).astype(float) for lvl in ("B", "C")]
        + [t[f"x{j}"].to_numpy().astype(float) for j in range(1, 11)]
    )
    fit = cox_fit(
        x,
        t["time"].to_numpy(),
        t["event"].to_numpy(),
        strata=np.asarray(t["region"].to_pylist()),
        ties="efron",
        concordance=False,
    )
    truth = np.array(list(meta["true_log_hr"].values()))
    z = (fit.coef - truth) / fit.se
    assert np.all(np.abs(z) < 4.0), z
    # and the effects are really there: the largest is far from zero
    assert abs(fit.coef[2] / fit.se[2]) > 20


def test_memory_is_bounded_by_one_row_group(tmp_path: Path) -> None:
    """Inspection of the code path: with chunk 1000 the stream holds at most one file's
    rows plus one generation block, whatever n; 2 * BLOCK_ROWS + 50 rows give 132 files."""
    n = 2 * BLOCK_ROWS + 50
    s = write_registry(tmp_path, n, seed=3, chunk=1000)
    assert len(s.files) == 132
    assert len(list(tmp_path.glob("part-*.parquet"))) == 132
    assert s.rows_per_file == (1000,) * 131 + (n - 131_000,)
    assert s.max_rows_in_memory <= 1000 + BLOCK_ROWS
    # a larger registry with a larger file size still holds one row group (row_group rows)
    s2 = write_registry(tmp_path / "rg", n, seed=3, chunk=n, row_group=1000)
    assert s2.max_rows_in_memory <= 1000 + BLOCK_ROWS
    meta = pq.ParquetFile(tmp_path / "rg" / s2.files[0]).metadata
    assert meta.num_row_groups == -(-n // 1000)


def test_bad_sizes_and_existing_output(tmp_path: Path) -> None:
    """Hand-written: user errors are DataErrors with a plain message."""
    with pytest.raises(DataError, match="positive"):
        write_registry(tmp_path / "z", 0)
    with pytest.raises(DataError, match="groups"):
        RegistryDesign(groups=5)
    write_registry(tmp_path / "d", 10, chunk=10)
    with pytest.raises(DataError, match="already holds a registry"):
        write_registry(tmp_path / "d", 10, chunk=10)
    s = write_registry(tmp_path / "d", 20, chunk=5, overwrite=True)
    assert len(list((tmp_path / "d").glob("part-*.parquet"))) == 4 == len(s.files)


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    cli_main._state["debug"] = False
    with pytest.raises(SystemExit) as info:
        cli_main.main(args)
    out = capsys.readouterr()
    code = info.value.code if isinstance(info.value.code, int) else 0
    return code, out.out, out.err


def test_cli_writes_registry_and_reports_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Contract: `survstudy synth-registry --n N --out DIR --seed S --chunk C --p P` (underscores
    in numbers accepted), same rows as the library call; an existing registry is exit 2."""
    out = tmp_path / "reg"
    code, stdout, _ = _run(
        ["synth-registry", "--n", "2_500", "--out", str(out), "--seed", "4", "--chunk", "1_000",
         "--p", "3", "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0
    summary = json.loads(stdout)
    assert summary["n"] == 2500
    assert summary["rows_per_file"] == [1000, 1000, 500]
    write_registry(tmp_path / "lib", 2500, seed=4, chunk=2500, design=RegistryDesign(p=3))
    assert _same(_read(out), _read(tmp_path / "lib"))
    code, _, err = _run(["synth-registry", "--n", "10", "--out", str(out)], capsys)
    assert code == 2
    assert err.startswith("error:")
    assert "already holds a registry" in err

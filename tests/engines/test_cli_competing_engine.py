"""``survstudy cif --engine duckdb`` (and Spark, slow): the same JSON as the in-memory path.

Kind of truth: naive oracle — the default (memory) path of the same command, itself checked
against R (tests/cli/test_cli_competing.py); every key equal, floats to 1e-9 relative, on
the fixtures' data (decimal times with ties, a numeric three-level group, text groups,
strata) and a Parquet file with missing values and codes written as words.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from survstudy.cli import main as cli_main

pytest.importorskip("duckdb", reason="the duckdb extra is not installed")

DATA = Path(__file__).resolve().parents[1] / "reference" / "data"


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> Any:
    cli_main._state["debug"] = False
    with pytest.raises(SystemExit) as info:
        cli_main.main(args)
    out = capsys.readouterr()
    assert info.value.code in (0, None), out.err
    return json.loads(out.out)


CASES = [
    ("cr_bmt.csv", ["--by", "platelet", "--strata", "tcell", "--at", "0.5,1,5,20"]),
    ("cr_pbc.csv", ["--by", "edema", "--strata", "trt", "--at", "365,1826,5000"]),
    ("cr_colon.csv", ["--by", "rx", "--strata", "sex", "--at", "365,1826"]),
    ("cr_mgus2.csv", ["--by", "sex", "--at", "12,60,120,240"]),
    ("cr_ties.csv", ["--at", "0,2,5,12,13", "--conf-type", "log"]),
]


@pytest.mark.parametrize(("name", "extra"), CASES)
def test_cif_duckdb_equals_memory(
    name: str,
    extra: list[str],
    capsys: pytest.CaptureFixture[str],
    results_differences: Callable[[Any, Any], list[str]],
) -> None:
    """Naive oracle: memory path; everything equal, floats to 1e-9 relative."""
    base = ["cif", str(DATA / name), "--time", "time", "--event", "status", "--cause", "1",
            "--competing", "2", "--censored", "0", *extra, "--json"]  # fmt: skip
    mem = _run(base, capsys)
    duck = _run([*base, "--engine", "duckdb"], capsys)
    assert results_differences(mem, duck) == []
    assert mem["gray"] is None or mem["gray"]["statistic"] is not None


def _parquet_with_missing(tmp_path: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(4)
    n = 400
    time = np.round(rng.exponential(300, n), 1)
    status = rng.choice(["relapse", "death", "alive"], n, p=[0.4, 0.25, 0.35]).astype(object)
    group = rng.choice(["A", "B", "C"], n).astype(object)
    site = rng.integers(1, 4, n).astype(float)
    status[rng.choice(n, 7, replace=False)] = None
    group[rng.choice(n, 5, replace=False)] = None
    site[rng.choice(n, 6, replace=False)] = np.nan
    tmask = np.zeros(n, dtype=bool)
    tmask[rng.choice(n, 4, replace=False)] = True
    f = tmp_path / "cr.parquet"
    pq.write_table(
        pa.table(
            {
                "t": pa.array(time, mask=tmask),
                "outcome": pa.array(status.tolist(), type=pa.string()),
                "arm": pa.array(group.tolist(), type=pa.string()),
                "site": pa.array(site),
            }
        ),
        f,
    )
    return f


def test_cif_duckdb_parquet_missing_values_and_word_codes(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    results_differences: Callable[[Any, Any], list[str]],
) -> None:
    """Naive oracle: memory path on a Parquet file with missing times, codes, groups and strata."""
    f = _parquet_with_missing(tmp_path)
    base = ["cif", str(f), "--time", "t", "--event", "outcome", "--cause", "relapse",
            "--competing", "death", "--censored", "alive", "--by", "arm", "--strata", "site",
            "--at", "100,300,900", "--json"]  # fmt: skip
    mem = _run(base, capsys)
    duck = _run([*base, "--engine", "duckdb"], capsys)
    assert results_differences(mem, duck) == []
    assert mem["n_read"] == 400
    assert mem["n_dropped"] > 0


def test_status_records_as_frequency_weights_equal_rows() -> None:
    """Identity: the CIF and Gray's test from DuckDB's records (counts as frequency weights)
    equal those from the expanded rows."""
    from survstudy.engines import Source, get_engine
    from survstudy.engines.competing import status_records
    from survstudy.stats.competing import cumulative_incidence_by, gray_tests

    rng = np.random.default_rng(2)
    n = 500
    cols = {
        "t": np.ceil(rng.exponential(30, n)),
        "s": rng.integers(0, 3, n),
        "g": rng.integers(0, 3, n),
    }
    eng = get_engine("duckdb")
    try:
        rec = status_records(eng, Source.from_arrays(cols), time="t", status="s", group="g")
    finally:
        eng.close()
    assert rec.n.sum() == n
    st = np.asarray(rec.status_levels)[rec.status]
    a = dict(cumulative_incidence_by(rec.time, st, rec.group, [0, 1, 2], weights=rec.n))
    b = dict(cumulative_incidence_by(cols["t"], cols["s"], cols["g"], [0, 1, 2]))
    for k in range(3):
        np.testing.assert_allclose(a[k].cif, b[k].cif, rtol=1e-13)
        np.testing.assert_allclose(a[k].variance, b[k].variance, rtol=1e-11)
    ga = gray_tests(rec.time, st, rec.group, weights=rec.n)
    gb = gray_tests(cols["t"], cols["s"], cols["g"])
    for c in (1, 2):
        np.testing.assert_allclose(ga[c].statistic, gb[c].statistic, rtol=1e-11)


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("java") is None and not os.environ.get("JAVA_HOME"),
    reason="no Java runtime: Spark cannot start",
)
def test_cif_spark_equals_memory(
    capsys: pytest.CaptureFixture[str],
    results_differences: Callable[[Any, Any], list[str]],
) -> None:
    """Naive oracle: memory path, through a local Spark session (slow: Spark's start-up)."""
    pytest.importorskip("pyspark")
    base = ["cif", str(DATA / "cr_pbc.csv"), "--time", "time", "--event", "status",
            "--cause", "2", "--competing", "1", "--censored", "0", "--by", "edema",
            "--strata", "trt", "--at", "365,1826,5000", "--json"]  # fmt: skip
    mem = _run(base, capsys)
    spark = _run([*base, "--engine", "spark"], capsys)
    assert results_differences(mem, spark) == []

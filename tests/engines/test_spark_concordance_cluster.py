"""Concordance and ``cluster`` through the Spark engine (local mode).

Kinds of truth: naive oracle — the in-memory engine on the same rows (itself checked
against ``cox_fit`` and R in test_concordance_engine.py / test_cluster_engine.py):
coefficients, robust variance matrix, C and its SE to 1e-9 relative, counts exactly;
property — above the cell limit there is no concordance and a warning (Spark's
``xxhash64`` estimate). Slow (Spark start-up); ``make test`` runs it. Skipped only when
PySpark or a Java runtime is missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from survstudy.engines import analyses, get_engine
from survstudy.engines.base import Source, Term

pytest.importorskip("pyspark", reason="the spark extra is not installed (pip install '.[spark]')")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):  # pragma: no cover
    pytest.skip(
        "no Java runtime found (java on PATH or JAVA_HOME): Spark cannot start; "
        "`make java` installs openjdk-17-jre-headless on Debian",
        allow_module_level=True,
    )

pytestmark = pytest.mark.slow
RTOL = 1e-9


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """A Spark engine (local[2], 1 GB driver, 2 shuffle partitions, loopback only); an
    active session of the test run is reused."""
    eng = get_engine("spark", master="local[2]", driver_memory="1g", shuffle_partitions=2)
    yield eng
    eng.close()


def _data(seed: int = 3, n_clusters: int = 60) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    cid = np.repeat(np.arange(n_clusters), rng.integers(1, 5, n_clusters))
    n = cid.size
    age = rng.integers(40, 80, n).astype(float)
    binary = rng.integers(0, 2, n).astype(float)
    t = np.ceil(rng.exponential(25 * np.exp(-0.02 * (age - 60) - 0.4 * binary)))
    c = np.ceil(rng.uniform(5, 70, n))
    return {
        "time": np.minimum(t, c),
        "event": (t <= c).astype(float),
        "age": age,
        "binary": binary,
        "stratum": rng.integers(0, 2, n).astype(float),
        "w": rng.integers(1, 4, n).astype(float),
        "cid": np.array([f"p{k:03d}" for k in cid], dtype=object),
    }


def _parquet(cols: dict[str, np.ndarray], path: Path) -> Source:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {
        k: pa.array(v) if v.dtype.kind == "f" else pa.array([str(x) for x in v.tolist()])
        for k, v in cols.items()
    }
    pq.write_table(pa.table(arrays), path)
    return Source.from_path(str(path))


def test_spark_concordance_and_cluster_equal_memory(spark: Any, tmp_path: Path) -> None:
    """Naive oracle: memory engine. Strata, integer case weights, text cluster labels,
    Efron: coefficients, the clustered robust variance and the concordance (grouped
    jackknife) from Spark; then a tiny cell limit gives the warning instead."""
    cols = _data()
    kw: dict[str, Any] = {
        "time": "time",
        "event": "event",
        "terms": [Term("age"), Term("binary")],
        "strata": "stratum",
        "weight": "w",
        "cluster": "cid",
    }
    src = _parquet(cols, tmp_path / "d.parquet")
    res = analyses.cox(spark, src, **kw)
    mem = get_engine("memory")
    ref = analyses.cox(mem, Source.from_arrays(cols), **kw)
    np.testing.assert_allclose(res.coef, ref.coef, rtol=RTOL)
    np.testing.assert_allclose(res.robust_var, ref.robust_var, rtol=RTOL)
    c, rc = res.concordance, ref.concordance
    assert c.c == pytest.approx(rc.c, rel=RTOL)
    assert c.se == pytest.approx(rc.se, rel=RTOL)
    assert (c.concordant, c.discordant, c.tied_x, c.tied_y, c.tied_xy) == (
        rc.concordant,
        rc.discordant,
        rc.tied_x,
        rc.tied_y,
        rc.tied_xy,
    )
    cells = spark.concordance_cells(src, limit=10, **kw)
    assert not cells.complete
    assert cells.n_cells > 10

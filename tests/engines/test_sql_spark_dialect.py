"""The SQL generator's Spark dialect, run on a local Spark session.

Kind of truth: naive oracle — the same queries rendered for DuckDB (whose
results are checked against the in-memory statistics and R elsewhere) must give
the same sums when rendered for Spark SQL and run by Spark. Skipped without
PySpark or Java; slow (Spark's start-up).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from survstudy.engines import get_engine, sql
from survstudy.engines.base import Source, Term
from survstudy.engines.cells import cox_sums_from_cells, risk_counts_from_cells
from survstudy.stats import sufficient

pytest.importorskip("duckdb", reason="the duckdb extra is not installed")
pytest.importorskip("pyspark", reason="the spark extra is not installed")
if shutil.which("java") is None:  # pragma: no cover - CI installs Java (make java)
    pytest.skip("no Java runtime for Spark", allow_module_level=True)

VET = Path(__file__).resolve().parents[1] / "reference" / "data" / "veteran.csv"


@pytest.mark.slow
def test_spark_dialect_gives_the_duckdb_sums(tmp_path: Path) -> None:
    """Naive oracle: risk table, Cox sums, robust cross-products and Table 1 via Spark SQL."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    from pyspark.sql import SparkSession

    pq.write_table(pacsv.read_csv(VET), tmp_path / "vet.parquet")
    spark = (
        SparkSession.builder.master("local[1]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    try:
        df = spark.read.parquet(str(tmp_path / "vet.parquet"))
        df.createOrReplaceTempView("vet")
        d = sql.dialect("spark")
        kinds = {"time": "integer", "status": "integer", "celltype": "text", "karno": "integer"}
        kinds["trt"] = "integer"

        def col(n: str) -> sql.Column:
            return sql.Column(n, kinds[n])

        def run(q: str) -> dict[str, Any]:
            rows = spark.sql(q).collect()
            return {k: [r[k] for r in rows] for k in rows[0].asDict()}

        eng = get_engine("duckdb")
        src = Source.from_path(str(tmp_path / "vet.parquet"))
        spec = sql.Spec(
            relation="vet",
            time=col("time"),
            event=col("status"),
            group=col("celltype"),
            strata=col("trt"),
        )
        r = run(sql.risk_table_sql(spec, d))
        rc = risk_counts_from_cells(
            stratum=r["s_"],
            group=r["g_"],
            time=r["t_"],
            event=r["e_"],
            weight_sum=r["w"],
            rows=r["n"],
            has_strata=True,
            has_group=True,
            n_read=137,
        )
        rd = eng.risk_table(src, time="time", event="status", group="celltype", strata="trt")
        assert rc.group_levels == rd.group_levels
        np.testing.assert_array_equal(rc.time, rd.time)
        np.testing.assert_array_equal(rc.n_exit, rd.n_exit)
        terms = [Term("karno"), Term("celltype", "adeno")]
        spec2 = sql.Spec(
            relation="vet",
            time=col("time"),
            event=col("status"),
            strata=col("trt"),
            terms=((col("karno"), None), (col("celltype"), "adeno")),
        )
        beta, center = np.array([-0.03, 0.5]), np.array([58.0, 0.2])
        s1 = cox_sums_from_cells(run(sql.cox_sums_sql(spec2, d, beta, center)), 2, has_strata=True)
        kw: dict[str, Any] = {"time": "time", "event": "status", "terms": terms, "strata": "trt"}
        s2 = eng.cox_sums(src, beta=beta, center=center, **kw)
        for a in ("e0", "e1", "e2", "d0", "d1", "d2", "d_x", "d_eta", "n_event"):
            np.testing.assert_allclose(getattr(s1, a), getattr(s2, a), rtol=1e-12)
        table = sufficient.robust_join_table(s2, "efron")
        import pyarrow as pa

        spark.createDataFrame(pa.table(table).to_pandas()).createOrReplaceTempView("jt")
        rr = run(sql.robust_sql(spec2, d, beta, center, "jt"))
        cross = eng.cox_robust(src, beta=beta, center=center, table=table, **kw)
        assert rr["n"][0] == 137
        np.testing.assert_allclose(
            [rr["rr0_0"][0], rr["rr0_1"][0], rr["rr1_1"][0]],
            [cross[0, 0], cross[0, 1], cross[1, 1]],
            rtol=1e-12,
        )
        nums = run(sql.numeric_summary_sql("vet", col("karno"), d, col("trt")))
        t1 = eng.table1_stats(src, numeric=["karno"], group="trt")
        byg = {s.group: s for s in t1.numeric if s.group is not None}
        for i, g in enumerate(nums["g_"]):
            assert nums["median"][i] == byg[g].median
            assert nums["q1"][i] == pytest.approx(byg[g].q1, rel=1e-15)
            assert nums["sd"][i] == pytest.approx(byg[g].sd, rel=1e-12)
    finally:
        spark.stop()

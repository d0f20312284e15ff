"""A four-patient series through the DuckDB engine, computed by hand; SQL rendering.

Data (time, event, x): (1, 1, 1), (2, 1, 0), (2, 0, 1), (3, 1, 0), plus a row
with a missing x (dropped and counted).

Hand calculation:
* Kaplan–Meier: at risk 4, 3, 1 at times 1, 2, 3 with one death each, so
  S = 3/4, 3/4 · 2/3 = 1/2, 0. Greenwood Var(log S) at t = 2:
  1/(4·3) + 1/(3·2) = 1/4.
* Cox at β = 0 (no tied deaths, so Efron = Breslow): risk sets {1,2,3,4},
  {2,3,4}, {4}: ℓ(0) = −log 4 − log 3 − log 1 = −log 12; the score is
  (1 − 2/4) + (0 − 1/3) + (0 − 0) = 1/6; the information is
  (1/2)(1/2) + (1/3)(2/3) + 0 = 17/36; score test U²/I = 1/17.
* Log-rank (x as the group): with one death per time it equals the Cox score
  test, 1/17; observed in x = 1: 1, expected 2/4 + 1/3 = 5/6.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from survstudy.engines import analyses, get_engine, sql
from survstudy.engines.base import Source, Term, level_value, order_levels
from survstudy.errors import AnalysisError, DataError

pytest.importorskip("duckdb", reason="the duckdb extra is not installed")

CSV = "time,event,x\n1,1,1\n2,1,0\n2,0,1\n3,1,0\n4,0,NA\n"


@pytest.fixture
def src(tmp_path: Path) -> Source:
    p = tmp_path / "tiny.csv"
    p.write_text(CSV)
    return Source.from_path(str(p))


def test_km_by_hand(src: Source) -> None:
    """Hand calculation (module docstring)."""
    eng = get_engine("duckdb", threads=1, memory_limit="256MB")
    fits, rc = analyses.kaplan_meier(eng, src, time="time", event="event", group="x")
    assert rc.n_read == 5
    assert rc.n_dropped == 1
    eng2 = get_engine("duckdb")
    pooled, rc2 = analyses.kaplan_meier(eng2, src, time="time", event="event")
    km = pooled[0][1]
    assert rc2.n_dropped == 0  # x is not used: the fifth row counts (censored at 4)
    np.testing.assert_allclose(km.time, [1, 2, 3, 4])
    np.testing.assert_allclose(km.n_risk, [5, 4, 2, 1])
    # with the fifth row: S = 4/5, 4/5 · 3/4 = 3/5, 3/5 · 1/2 = 3/10
    np.testing.assert_allclose(km.survival, [4 / 5, 3 / 5, 3 / 10, 3 / 10], rtol=1e-15)
    x0 = dict(fits)[0]
    x1 = dict(fits)[1]
    np.testing.assert_allclose(x0.survival, [1 / 2, 0.0], rtol=1e-15)  # times 2, 3
    np.testing.assert_allclose(x1.survival, [1 / 2, 1 / 2], rtol=1e-15)  # times 1, 2


def test_cox_and_logrank_by_hand(src: Source) -> None:
    """Hand calculation: ℓ(0) = −log 12, score test 1/17 (module docstring)."""
    eng = get_engine("duckdb")
    for ties in ("efron", "breslow"):
        res = analyses.cox(eng, src, time="time", event="event", terms=[Term("x")], ties=ties)
        assert res.n == 4
        assert res.n_dropped == 1
        assert res.loglik_null == pytest.approx(-math.log(12), rel=1e-14)
        assert res.tests["score"].statistic == pytest.approx(1 / 17, rel=1e-12)
    lr, _ = analyses.logrank(eng, src, time="time", event="event", group="x")
    assert lr.statistic == pytest.approx(1 / 17, rel=1e-12)
    assert lr.observed[1] == 1.0
    assert lr.expected[1] == pytest.approx(5 / 6, rel=1e-14)


def test_cox_sums_at_zero_by_hand(src: Source) -> None:
    """Hand calculation: per-time sums at β = 0, centre 0 (x over exits and deaths)."""
    eng = get_engine("duckdb")
    s = eng.cox_sums(
        src, time="time", event="event", terms=[Term("x")], beta=np.zeros(1), center=np.zeros(1)
    )
    np.testing.assert_allclose(s.time, [1, 2, 3])
    np.testing.assert_allclose(s.e0, [1, 2, 1])  # rows leaving at each time
    np.testing.assert_allclose(s.e1[:, 0], [1, 1, 0])  # their x
    np.testing.assert_allclose(s.d0, [1, 1, 1])
    np.testing.assert_allclose(s.d1[:, 0], [1, 0, 0])
    np.testing.assert_allclose(s.n_event, [1, 1, 1])


def test_bad_values_are_data_errors(tmp_path: Path) -> None:
    """Property: negative times and event codes other than 0/1 are refused by column."""
    p = tmp_path / "bad.csv"
    p.write_text("time,event\n1,1\n-2,0\n")
    eng = get_engine("duckdb")
    with pytest.raises(DataError, match="time"):
        eng.risk_table(Source.from_path(str(p)), time="time", event="event")
    p.write_text("time,event\n1,1\n2,2\n")
    with pytest.raises(DataError, match="event"):
        eng.risk_table(Source.from_path(str(p)), time="time", event="event")
    with pytest.raises(DataError, match="not found"):
        eng.risk_table(Source.from_path(str(p)), time="nope", event="event")
    with pytest.raises(DataError, match="file not found"):
        eng.risk_table(Source.from_path(str(tmp_path / "none.csv")), time="t", event="e")
    with pytest.raises(AnalysisError, match="engine must be one of"):
        get_engine("oracle")
    with pytest.raises(AnalysisError, match="unknown duckdb engine option"):
        get_engine("duckdb", memory="1GB")
    with pytest.raises(AnalysisError, match="settings rejected"):
        get_engine("duckdb", memory_limit="lots")


def test_where_filter_and_glob(tmp_path: Path) -> None:
    """Hand calculation: two CSV parts read by a glob; ``where`` keeps x = 1 only."""
    (tmp_path / "a.csv").write_text("time,event,x\n1,1,1\n2,1,0\n")
    (tmp_path / "b.csv").write_text("time,event,x\n2,0,1\n3,1,0\n")
    eng = get_engine("duckdb")
    src = Source.from_path(str(tmp_path / "*.csv"))
    rc = eng.risk_table(src, time="time", event="event", where="x = 1")
    assert rc.n_read == 2
    np.testing.assert_allclose(rc.time, [1, 2])
    np.testing.assert_allclose(rc.n_event, [1, 0])
    np.testing.assert_allclose(rc.n_exit, [1, 1])


def test_sql_rendering_per_dialect() -> None:
    """Identity: identifiers quoted per dialect; literals in exact %.17e form."""
    spec = sql.Spec(
        relation="t",
        time=sql.Column("follow up", "integer"),
        event=sql.Column("dead", "boolean"),
        terms=((sql.Column("age", "float"), None),),
    )
    duck = sql.cox_sums_sql(spec, sql.dialect("duckdb"), np.array([0.1]), np.array([60.0]))
    spark = sql.cox_sums_sql(spec, sql.dialect("spark"), np.array([0.1]), np.array([60.0]))
    assert '"follow up"' in duck
    assert "`follow up`" in spark
    assert "1.00000000000000006e-01" in duck
    assert float("1.00000000000000006e-01") == 0.1
    with pytest.raises(ValueError, match="dialect"):
        sql.dialect("oracle")


def test_levels_order_and_values() -> None:
    """Property: numbers first, numerically (2.0 -> 2), then text — the CLI's order."""
    levels, codes = order_levels([10, "b", 2.0, "a", True, "10"])
    assert levels == (1, 2, 10, "a", "b")
    assert codes.tolist() == [2, 4, 1, 3, 0, 2]
    assert level_value(" 3.5 ") == 3.5


def test_read_errors_never_show_cell_values(tmp_path: Path) -> None:
    """Property (privacy): a text cell after DuckDB's type sniffing sample stops the read
    with a DataError that names the file, never the cell's value."""
    rows = ["time,event,x"] + [f"{i % 100 + 1},{i % 2},{i % 7}" for i in range(30000)]
    p = tmp_path / "late.csv"
    p.write_text("\n".join([*rows, "5,1,Smith"]) + "\n")
    eng = get_engine("duckdb")
    with pytest.raises(DataError) as info:
        analyses.cox(eng, Source.from_path(str(p)), time="time", event="event", terms=[Term("x")])
    assert "Smith" not in str(info.value)
    assert "late.csv" in str(info.value)


def test_nan_in_parquet_is_missing_through_duckdb(tmp_path: Path) -> None:
    """Hand-made data: a NaN time in a Parquet file is a missing value (dropped and
    counted) through DuckDB as in memory. DuckDB 2.0 folds isnan(col) to false from the
    file's column statistics, which leave NaN out (survstudy.engines.sql.Dialect.isnan)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from survstudy.engines.analyses import kaplan_meier as km_engine

    path = tmp_path / "nan.parquet"
    t = [1.0, 2.0, float("nan"), 4.0, 5.0, 6.0]
    pq.write_table(pa.table({"time": t, "event": [1.0, 0, 1, 1, 0, 1]}), path)
    eng = get_engine("duckdb")
    try:
        fits, counts = km_engine(eng, Source.from_path(str(path)), time="time", event="event")
    finally:
        eng.close()
    assert (counts.n_read, counts.n_dropped) == (6, 1)
    assert fits[0][1].n == 5
    assert fits[0][1].events == 3

"""Issue 17's endpoint constructs through Spark SQL: the same derived table as in memory.

Kind of truth: naive oracle (the in-memory executor, itself checked by hand in
tests/data/test_endpoint_composite.py). A composite endpoint whose components are a data
column pair and a derived-variable pair, with event_codes (2 = competing) and a horizon, and
a single endpoint from derived variables (a binary event with its default levels), run by
the Spark executor (local mode) and compared column by column. Slow (one Spark session).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from survstudy.data import build_cohort
from survstudy.spec import load_spec

pytest.importorskip("pyspark", reason="the spark extra is not installed (pip install '.[spark]')")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):  # pragma: no cover
    pytest.skip("no Java runtime found: Spark cannot start", allow_module_level=True)

pytestmark = pytest.mark.slow

CSV = """pid,rtime,recur,dtime,death
1,100,1,300,1
2,200,0,200,0
3,150,0,400,1
4,500,1,90,0
5,120,0,80,0
6,700,1,800,1
7,30,0,30,2
8,,0,50,1
"""


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from survstudy.engines import get_engine

    eng = get_engine("spark", master="local[1]", driver_memory="1g", shuffle_partitions=1)
    yield eng
    eng.close()


def test_composite_and_derived_endpoints_in_spark(spark: Any, tmp_path: Path) -> None:
    """Naive oracle both ways: every column, the endpoints' metadata and the report's codes
    and rows are the same from Spark SQL as in memory."""
    import pyarrow.parquet as pq

    from survstudy.data.derive_sql import derive_cohort
    from survstudy.data.registry import derive_from_cohort

    doc = {
        "data": {"path": "d.csv", "id": "pid"},
        "units": "days",
        "variables": {
            "pid": {"type": "identifier"},
            "dtime": {"type": "continuous"},
            "death": {"type": "continuous"},
            "dweeks": {"type": "continuous", "derive": "dtime / 7"},
            "died": {"type": "binary", "derive": "death == 1"},
        },
        "endpoints": {
            "RFS": {
                "time": ["rtime", "dtime"],
                "event": ["recur", "death"],
                "time_unit": "days",
                "horizon": 600,
                "event_codes": {"event": [1], "censored": [0], "competing": [2]},
            },
            "OS": {"time": "dweeks", "event": "died", "time_unit": "weeks"},
        },
    }
    (tmp_path / "d.csv").write_text(CSV)
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    spec = load_spec(tmp_path / "study.yaml")
    a = derive_from_cohort(build_cohort(spec, strict=False), tmp_path / "mem")
    b = derive_cohort(spec, spark, tmp_path / "sql", strict=False)
    ta, tb = (pq.read_table(x.path).sort_by("row") for x in (a, b))
    assert ta.column_names == tb.column_names
    for c in ta.column_names:
        assert ta[c].to_pylist() == tb[c].to_pylist(), c
    assert ta["RFS_status"].to_pylist() == [1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 2.0, None]
    assert a.endpoints == b.endpoints
    got = [(i.code, tuple(i.context.get("rows", ()))) for i in b.report.issues]
    assert got == [(i.code, tuple(i.context.get("rows", ()))) for i in a.report.issues]
    assert ("ENDPOINT-COMPONENT-MISSING", (9,)) in got
    assert ("ENDPOINT-COMPONENTS-DISAGREE", (4, 5)) in got

"""``survstudy run --engine spark`` (local mode) on a competing-risks endpoint: the same
cumulative incidence, Gray's test and follow-up as in memory.

Kind of truth: naive oracle — the in-memory runner on the same spec (itself checked against
cmprsk in tests/pipeline/test_pipeline_competing.py). The MGUS example reduced to the survival
summary and the figures by sex (Spark jobs are ≈ 1 s each in local mode). Slow; ``make test``
runs it. Skipped only when PySpark or Java is missing.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from survstudy.study import run_spec

pytest.importorskip("pyspark", reason="the spark extra is not installed (pip install '.[spark]')")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):  # pragma: no cover
    pytest.skip("no Java runtime found: Spark cannot start", allow_module_level=True)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

SPEC = """
title: MGUS, reduced
data: {{path: {data}}}
units: months
variables:
  sex:
    type: categorical
    label: Sex
    levels: {{Female: [F], Male: [M]}}
endpoints:
  PCM:
    label: Progression to plasma-cell malignancy
    time: time
    time_unit: months
    event: status
    event_codes: {{event: [1], censored: [0], competing: [2]}}
    competing_label: death
analyses:
  survival: {{endpoints: [PCM], landmarks: [12, 60, 120, 240]}}
  km:
    - {{endpoint: PCM, by: sex, breaks: 60}}
"""


def _same(a: Any, b: Any, path: str = "") -> None:
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for x, y in zip(a, b, strict=True):
            _same(x, y, path)
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (path, a, b)
    else:
        assert a == b, (path, a, b)


def test_spark_competing_equals_memory(tmp_path: Path) -> None:
    """Identity to 1e-9: endpoints (cumulative incidence, follow-up) and the CIF figure with
    Gray's test, from Spark's per-time counts by status."""
    spec = tmp_path / "study.yaml"
    spec.write_text(SPEC.format(data=ROOT / "examples" / "mgus2" / "mgus2.csv"), encoding="utf-8")
    mem = run_spec(spec).results.to_dict()
    spark = run_spec(spec, engine="spark").results.to_dict()
    assert mem["endpoints"]["PCM"]["competing"] is True
    assert mem["km"][0]["gray"] is not None
    for key in ("endpoints", "km"):
        _same(mem[key], spark[key], key)

"""``survstudy run --engine spark`` (local mode): the same results as in memory.

Kind of truth: naive oracle — the in-memory runner on the same spec (itself
checked against R elsewhere). The whole engine path runs: the cohort derived by
Spark SQL from the CSV (:func:`survstudy.data.derive_sql.derive_cohort`),
written by the executors, and every analysis read back through Spark. A reduced
GBSG spec keeps the number of Spark jobs (≈ 1 s each in local mode) small.
Slow; ``make test`` runs it. Skipped only when PySpark or Java is missing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from survstudy.data import build_cohort
from survstudy.pipeline import run_study
from survstudy.spec import load_spec

pytest.importorskip("pyspark", reason="the spark extra is not installed (pip install '.[spark]')")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):  # pragma: no cover
    pytest.skip(
        "no Java runtime found (java on PATH or JAVA_HOME): Spark cannot start; "
        "`make java` installs openjdk-17-jre-headless on Debian",
        allow_module_level=True,
    )

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

SPEC = """
title: GBSG, reduced
data:
  path: {data}
  id: pid
units: months
variables:
  pid: {{type: identifier}}
  age: {{type: continuous, label: Age, unit: years}}
  grade:
    type: categorical
    label: Tumour grade
    levels: {{"1": [1], "2": [2], "3": [3]}}
  hormon:
    type: categorical
    label: Hormonal therapy
    levels: {{"No": [0], "Yes": [1]}}
population:
  - include: age >= 30
endpoints:
  RFS:
    label: Recurrence-free survival
    time: rfstime
    time_unit: days
    event: status
analyses:
  table1:
    variables: [age, grade]
    by: hormon
  survival:
    endpoints: [RFS]
    landmarks: [36]
  univariable:
    endpoints: [RFS]
    factors: [grade]
  multivariable:
    - name: Model
      endpoint: RFS
      covariates: [age, hormon]
  km:
    - endpoint: RFS
      by: hormon
"""


def test_run_spark_same_results(
    tmp_path: Path, results_differences: Any, without_memory_only: Any
) -> None:
    """Naive oracle: every number of the results to 1e-9 relative, the flow exactly."""
    from survstudy.data import open_cohort

    spec_path = tmp_path / "study.yaml"
    spec_path.write_text(SPEC.format(data=ROOT / "examples" / "gbsg" / "gbsg.csv"))
    spec = load_spec(spec_path)
    memory = run_study(spec, build_cohort(spec)).to_dict()
    options = {"master": "local[2]", "driver_memory": "1g", "shuffle_partitions": 2}
    with open_cohort(spec, "spark", options=options) as opened:
        engine = run_study(spec, opened.cohort, data_engine=opened.engine).to_dict()
    assert memory["flow"][1]["n_excluded"] > 0  # the population step did something
    assert engine["multivariable"][0]["concordance"] is not None
    assert results_differences(without_memory_only(memory), without_memory_only(engine)) == []

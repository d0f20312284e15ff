"""Table 1 from a derived table through an engine (pipeline.table1_engine) against the in-memory one.

Kind of truth: naive oracle — the in-memory Table 1 (``table1_memory.table1_from_memory``; its numbers are checked
against R and by hand in tests/stats/test_descriptive_*.py and tests/pipeline/) on the same
cohort, which never passes through SQL. Each case builds the cohort in memory, writes its
derived table with ``derive_from_cohort`` and compares every field of the two Table1Result
objects: floats to 1e-9 relative (means and SDs are summed in another order), everything
else exactly. Cases: the bclm example (12 patients: multiselect, sublevels, applicable_when,
endpoint times; without and with ``by``), GBSG (686 patients, by a 2- and a 3-level factor),
a generated cohort with heavy ties, missing values, a missing ``by`` value and 4 groups
(Kruskal–Wallis), and mean-sd (Welch t, ANOVA); both methods profiles (type-7 and SPSS
type-6 quartiles). One Spark local-mode case (slow).
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from survstudy.data import build_cohort
from survstudy.data.registry import derive_from_cohort
from survstudy.engines import get_engine
from survstudy.engines.base import Source
from survstudy.pipeline.profiles import get_profile
from survstudy.pipeline.table1_engine import table1_from_engine
from survstudy.pipeline.table1_memory import table1_from_memory
from survstudy.spec import StudySpec, load_spec

pytest.importorskip("duckdb", reason="the duckdb extra is not installed")

ROOT = Path(__file__).resolve().parents[2]
BCLM = ROOT / "examples" / "bclm" / "study.yaml"
GBSG = ROOT / "examples" / "gbsg" / "study.yaml"
RTOL = 1e-9


@pytest.fixture(scope="module")
def duck() -> Any:
    eng = get_engine("duckdb", threads=1)
    yield eng
    eng.close()


def _with_table1(spec: StudySpec, **update: Any) -> StudySpec:
    t1 = spec.analyses.table1
    assert t1 is not None
    analyses = spec.analyses.model_copy(update={"table1": t1.model_copy(update=update)})
    return spec.model_copy(update={"analyses": analyses})


def _same(a: Any, b: Any, path: str = "table1") -> None:
    """Field by field: floats to RTOL (NaN == NaN), everything else exactly."""
    if hasattr(a, "__dataclass_fields__"):
        assert type(a) is type(b), path
        for f in fields(a):
            _same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, tuple):
        assert isinstance(b, tuple), path
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and not isinstance(a, bool):
        assert isinstance(b, float), path
        if math.isnan(a):
            assert math.isnan(b), path
        else:
            assert b == pytest.approx(a, rel=RTOL, abs=0), path
    else:
        assert a == b, path


def _compare(spec: StudySpec, eng: Any, tmp: Path) -> list[Any]:
    cohort = build_cohort(spec)
    derived = derive_from_cohort(cohort, tmp / "derived", rows_per_file=300)
    out = []
    for name in ("standard", "spss"):
        prof = get_profile(name)
        want = table1_from_memory(spec, cohort, prof)
        got = table1_from_engine(spec, derived, eng, Source.from_path(derived.path), prof)
        _same(want, got)
        out.append(got)
    return out


def test_bclm_without_by(duck: Any, tmp_path: Path) -> None:
    """Naive oracle: the seed-shaped study's Table 1 (multiselect, sublevels, applicable_when,
    endpoint times, Missing rows off), both quartile definitions."""
    std, spss = _compare(load_spec(BCLM), duck, tmp_path)
    assert any(r.sublevels for r in std.rows)
    assert any(r.kind == "option" for r in std.rows)
    assert std.rows != spss.rows  # the quartiles differ between the profiles


def test_bclm_by_group_with_missing_rows(duck: Any, tmp_path: Path) -> None:
    """Naive oracle: bclm by ER status with Missing rows: exact and asymptotic Mann–Whitney,
    Fisher, untestable rows."""
    spec = _with_table1(load_spec(BCLM), by="er_status", missing=True)
    (std, _spss) = _compare(spec, duck, tmp_path)
    tests = set(std.tests)
    assert "Mann–Whitney U test (exact)" in tests
    assert any(t.startswith("Fisher") for t in tests)


@pytest.mark.parametrize("by", ["grade", "hormon"])
@pytest.mark.parametrize("continuous", ["median-iqr", "mean-sd"])
def test_gbsg_by(duck: Any, tmp_path: Path, by: str, continuous: str) -> None:
    """Naive oracle: GBSG (686 patients) by grade (Kruskal–Wallis / ANOVA) and by hormonal
    therapy (Mann–Whitney / Welch), chi-square for the categories."""
    spec = _with_table1(load_spec(GBSG), by=by, continuous=continuous)
    (std, _spss) = _compare(spec, duck, tmp_path)
    want = {
        ("grade", "median-iqr"): "Kruskal–Wallis",
        ("grade", "mean-sd"): "One-way ANOVA",
        ("hormon", "median-iqr"): "Mann–Whitney",
        ("hormon", "mean-sd"): "Welch",
    }[(by, continuous)]
    assert any(t.startswith(want) for t in std.tests)


def _generated(tmp: Path, n: int = 400, seed: int = 11) -> Path:
    """A cohort with heavy ties, missing values everywhere, a 4-level arm with missing arms,
    a variable applicable to one arm only, a multiselect and an endpoint."""
    rng = np.random.default_rng(seed)

    def maybe(values: list[str], p: float) -> list[str]:
        return ["" if rng.random() < p else v for v in values]

    arms = rng.choice(["a", "b", "c", "d"], size=n, p=[0.4, 0.3, 0.2, 0.1]).tolist()
    score = [str(v) for v in rng.integers(0, 8, size=n)]  # 8 distinct values: heavy ties
    dose = [f"{v:.4f}" for v in rng.gamma(2.0, 3.0, size=n)]
    stage = rng.choice(["I", "II", "III", "IV"], size=n).tolist()
    flag = rng.choice(["yes", "no"], size=n, p=[0.2, 0.8]).tolist()
    extra = [d if a == "b" else "" for d, a in zip(dose, arms, strict=True)]
    opt1 = rng.choice(["yes", "no"], size=n).tolist()
    opt2 = rng.choice(["yes", "no"], size=n, p=[0.1, 0.9]).tolist()
    time = [str(v) for v in rng.integers(1, 2000, size=n)]
    event = [str(v) for v in rng.integers(0, 2, size=n)]
    cols = {
        "pid": [str(i) for i in range(n)],
        "arm": maybe(arms, 0.05),
        "score": maybe(score, 0.1),
        "dose": maybe(dose, 0.05),
        "stage": maybe(stage, 0.1),
        "flag": maybe(flag, 0.05),
        "extra": maybe(extra, 0.1),
        "opt1": maybe(opt1, 0.05),
        "opt2": opt2,
        "time": time,
        "event": maybe(event, 0.03),
    }
    csv = tmp / "gen.csv"
    lines = [",".join(cols)] + [",".join(v[i] for v in cols.values()) for i in range(n)]
    csv.write_text("\n".join(lines) + "\n")
    yaml = tmp / "gen.yaml"
    yaml.write_text(
        f"""title: generated
data: {{path: {csv.name}, id: pid}}
units: months
variables:
  pid: {{type: identifier}}
  arm:
    type: categorical
    label: Arm
    levels: {{A: [a], B: [b], C: [c], D: [d]}}
  score: {{type: continuous, label: Score}}
  dose: {{type: continuous, label: Dose, unit: mg}}
  stage:
    type: categorical
    label: Stage
    levels: {{"I/II": [I, II], "III": [III], "IV": [IV]}}
  flag:
    type: binary
    label: Flag
    levels: {{"Yes": [yes], "No": [no]}}
  extra:
    type: continuous
    label: Extra dose
    applicable_when: arm == "B"
  treat:
    type: multiselect
    label: Treatment
    options: {{One: opt1, Two: opt2}}
endpoints:
  OS:
    label: Overall survival
    time: time
    time_unit: days
    event: event
analyses:
  table1:
    variables: [score, dose, stage, flag, extra, treat, OS]
    continuous: median-iqr
"""
    )
    return yaml


@pytest.mark.parametrize("by", [None, "arm", "stage"])
def test_generated_ties_missing_four_groups(duck: Any, tmp_path: Path, by: str | None) -> None:
    """Naive oracle: heavy ties (8 distinct scores), missing values, missing arms (counted
    overall only), 4 arms -> Kruskal–Wallis, a variable applicable to one arm."""
    spec = _with_table1(load_spec(_generated(tmp_path)), by=by)
    (std, _spss) = _compare(spec, duck, tmp_path)
    if by == "arm":
        assert std.tests[0].startswith("Kruskal–Wallis")
        assert sum(c for _lev, c in std.by_levels) < std.n  # some arms are missing


def test_generated_mean_sd(duck: Any, tmp_path: Path) -> None:
    """Naive oracle: mean-sd Table 1 by a 4-level arm (one-way ANOVA) and by a binary (Welch)."""
    spec = load_spec(_generated(tmp_path))
    for by in ("arm", "flag"):
        _compare(_with_table1(spec, by=by, continuous="mean-sd"), duck, tmp_path / by)


def test_small_groups_exact_mann_whitney(duck: Any, tmp_path: Path) -> None:
    """Naive oracle: 30 patients, continuous without ties in two arms under 50 -> the exact
    Mann–Whitney test on the fetched values; the tied score -> the normal approximation."""
    spec = _with_table1(load_spec(_generated(tmp_path, n=30, seed=3)), by="flag")
    (std, _spss) = _compare(spec, duck, tmp_path)
    assert "Mann–Whitney U test (exact)" in std.tests


def test_memory_engine_is_refused(tmp_path: Path) -> None:
    """Hand check: the memory engine has no SQL; the error says which engines work."""
    from survstudy.errors import AnalysisError

    spec = load_spec(BCLM)
    derived = derive_from_cohort(build_cohort(spec), tmp_path / "d")
    with pytest.raises(AnalysisError, match="duckdb or spark"):
        table1_from_engine(
            spec,
            derived,
            get_engine("memory"),
            Source.from_path(derived.path),
            get_profile("standard"),
        )


@pytest.mark.slow
def test_spark_local_matches_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Naive oracle: the generated cohort by arm (Kruskal–Wallis, ties, applicable_when,
    multiselect, endpoint time; both rank-sum queries; the histogram search of the order
    statistics) through Spark local mode, both profiles (~1-2 min)."""
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):  # pragma: no cover
        pytest.skip("no Java runtime found: Spark cannot start (`make java` installs one)")
    eng = get_engine("spark", master="local[2]", driver_memory="1g", shuffle_partitions=2)
    gen = _with_table1(load_spec(_generated(tmp_path)), by="arm")
    _compare(gen, eng, tmp_path / "gen")
    # the histogram search of the order statistics (a tiny fetch limit forces it)
    from survstudy.pipeline import table1_sql

    monkeypatch.setattr(table1_sql, "_FETCH", 5)
    _compare(_with_table1(gen, variables=["dose"]), eng, tmp_path / "hist")


@pytest.mark.parametrize(("buckets", "fetch", "rounds"), [(3, 5, 6), (2, 1, 40), (2, 1, 0)])
def test_order_statistic_search_paths(
    duck: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    buckets: int,
    fetch: int,
    rounds: int,
) -> None:
    """Naive oracle: the exact selection of order statistics takes several histogram rounds
    (tiny buckets and fetch limit), resolves ties without fetching, and falls back to the
    running-count query when out of rounds; the quartiles stay exactly those in memory."""
    from survstudy.pipeline import table1_sql

    monkeypatch.setattr(table1_sql, "_BUCKETS", buckets)
    monkeypatch.setattr(table1_sql, "_FETCH", fetch)
    monkeypatch.setattr(table1_sql, "_ROUNDS", rounds)
    spec = _with_table1(
        load_spec(_generated(tmp_path, n=150)), by="arm", variables=["score", "dose", "OS"]
    )
    _compare(spec, duck, tmp_path)


@pytest.mark.parametrize("share", [0.0, 2.0])
def test_rank_sum_paths(
    duck: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, share: float
) -> None:
    """Naive oracle: the rank sums from ranked rows (share 0) and from the distinct-value
    table (share 2) give the in-memory Kruskal–Wallis and Mann–Whitney p values."""
    from survstudy.pipeline import table1_engine as te

    monkeypatch.setattr(te, "_DISTINCT_SHARE", share)
    gen = load_spec(_generated(tmp_path, n=200))
    for by in ("arm", "flag"):
        spec = _with_table1(gen, by=by, variables=["score", "dose", "extra", "OS"])
        _compare(spec, duck, tmp_path / by)

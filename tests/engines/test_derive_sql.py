"""The registry cohort derived in SQL (DuckDB, Spark) against the in-memory builder.

Kind of truth: naive oracle. For every case, ``derive_from_cohort(build_cohort(spec))``
(the in-memory builder, itself checked by hand calculations in tests/data) and
``derive_cohort(spec, engine)`` (the SQL derivation) must write the same derived
table (sorted by row: floats to 1e-12, codes exactly), the same inclusion flow,
variable and endpoint metadata, and the same data-quality issues (codes, severity,
columns and first rows). The SQL side never sees the builder's results.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from survstudy.data import build_cohort
from survstudy.data.derive_sql import MAX_ROWS, derive_cohort
from survstudy.data.registry import derive_from_cohort
from survstudy.engines import get_engine
from survstudy.errors import DataError, SpecError
from survstudy.spec import load_spec

pytest.importorskip("duckdb", reason="the duckdb extra is not installed")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def duck() -> Iterator[Any]:
    eng = get_engine("duckdb", threads=2)
    yield eng
    eng.close()


def _read(path: str) -> Any:
    import pyarrow.parquet as pq

    return pq.read_table(path).sort_by("row")


def _issues(report: Any) -> list[tuple[str, str, str | None, tuple[int, ...]]]:
    return [
        (i.code, i.severity, i.column, tuple(i.context.get("rows", ()))[:MAX_ROWS])
        for i in report.issues
    ]


def assert_parity(spec: Any, engine: Any, tmp: Path, *, strict: bool = True) -> Any:
    """The SQL derivation equals the in-memory one (table, flow, metadata, issues)."""
    cohort = build_cohort(spec, strict=strict)
    a = derive_from_cohort(cohort, tmp / "mem")
    b = derive_cohort(spec, engine, tmp / "sql", strict=strict)
    ta, tb = _read(a.path), _read(b.path)
    assert sorted(ta.column_names) == sorted(tb.column_names)
    assert ta.num_rows == tb.num_rows == a.n == b.n
    for c in ta.column_names:
        x, y = ta[c], tb[c]
        if c == "row" or x.type.id != y.type.id or str(x.type) in ("int32", "int64", "bool"):
            assert x.type == y.type or (str(x.type), str(y.type)) == ("int64", "int64"), c
            assert x.to_pylist() == y.to_pylist(), c
        else:
            xa = np.asarray(x.to_numpy(zero_copy_only=False), dtype=float)
            ya = np.asarray(y.to_numpy(zero_copy_only=False), dtype=float)
            np.testing.assert_allclose(ya, xa, rtol=0, atol=1e-12, equal_nan=True, err_msg=c)
    assert a.flow == b.flow
    assert a.variables.keys() == b.variables.keys()
    for k in a.variables:
        assert a.variables[k].to_dict() == b.variables[k].to_dict(), k
    assert a.endpoints == b.endpoints
    assert _issues(a.report) == _issues(b.report)
    assert (a.input_file, a.input_sha256) == (b.input_file, b.input_sha256)
    assert (a.unit, a.days_per_unit, a.spec) == (b.unit, b.days_per_unit, b.spec)
    return b


def _spec(tmp: Path, doc: dict[str, Any], name: str = "study.yaml") -> Any:
    path = tmp / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return load_spec(path)


# --------------------------------------------------------------------------- examples


def test_gbsg_csv(duck: Any, tmp_path: Path) -> None:
    """Naive oracle: GBSG 2 (CSV, columns endpoint, coded levels) as the builder derives it."""
    b = assert_parity(load_spec(ROOT / "examples/gbsg/study.yaml"), duck, tmp_path)
    assert b.n == 686  # hand count: the trial's 686 patients (SOURCE.md)


def test_bclm_csv(duck: Any, tmp_path: Path) -> None:
    """Naive oracle: the seed study's synthetic data (dates, derived variables, multiselect,
    grouped levels with detail codes, applicable_when, two population steps, cut-off)."""
    b = assert_parity(load_spec(ROOT / "examples/bclm/study.yaml"), duck, tmp_path)
    assert b.n == 12  # the seed paper's 12 patients
    assert [f.n_after for f in b.flow][-1] == 12


# --------------------------------------------------------------------------- registry


def _registry(tmp: Path, n: int = 10_000) -> Path:
    """The synthetic registry plus dates, missing values and a text column (one file)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from survstudy.data.synth import write_registry

    write_registry(tmp / "reg", n, seed=7)
    t = pq.read_table(tmp / "reg")
    rng = np.random.default_rng(3)
    x1 = t["x1"].to_numpy().copy()
    x1_mask = rng.random(n) < 0.05
    start = np.datetime64("2005-01-01") + rng.integers(0, 3650, n).astype("timedelta64[D]")
    time = t["time"].to_numpy().astype("timedelta64[D]")
    event = t["event"].to_numpy() == 1
    end = start + time
    start_mask = rng.random(n) < 0.01
    stage = np.array(["I", "II", "iii ", "IV", "", "NA", "99"], dtype=object)[rng.integers(0, 7, n)]
    cols = {name: t[name] for name in t.column_names}
    cols["x1"] = pa.array(x1, mask=x1_mask)
    cols["start_date"] = pa.array(start, type=pa.date32(), mask=start_mask)
    cols["event_date"] = pa.array(end, type=pa.date32(), mask=~event)
    cols["followup_date"] = pa.array(end, type=pa.date32())
    cols["stage"] = pa.array(stage.tolist(), type=pa.string())
    cols["smoker"] = pa.array((rng.random(n) < 0.3).tolist(), type=pa.bool_())
    out = tmp / "registry.parquet"
    pq.write_table(pa.table(cols), out, row_group_size=4096)
    return out


def _registry_spec(tmp: Path, data: str) -> dict[str, Any]:
    return {
        "title": "synthetic registry",
        "data": {"path": data, "id": "patient_id", "missing": [99], "cutoff": "2018-06-30"},
        "units": "months",
        "variables": {
            "patient_id": {"type": "identifier"},
            "group": {"type": "categorical", "label": "Treatment group"},
            "region": {"type": "categorical", "levels": ["north", "east", "south", "west"]},
            "x1": {"type": "continuous", "range": [-10, 10]},
            "x2": {"type": "categorical", "cuts": [-1, 0, 1]},
            "x3": {"type": "binary"},
            "x4": {"type": "continuous", "applicable_when": 'group == "B"'},
            "x5": {"type": "continuous"},
            "x7": {"type": "continuous"},
            "stage": {
                "type": "categorical",
                "levels": {"I/II": ["I", "II"], "III/IV": ["III", "IV"]},
            },
            "stage_found": {"type": "categorical", "column": "stage"},
            "smoker": {"type": "binary"},
            "score": {"type": "continuous", "derive": "x1 * 2 + x5 / x7"},
            "high": {"type": "binary", "derive": 'score > 1 or x3 == "Yes"'},
            "start_date": {"type": "date"},
            "event_date": {"type": "date"},
            "followup_date": {"type": "date"},
            "age_days": {
                "type": "continuous",
                "derive": 'days_between(date("2000-01-01"), start_date)',
            },
        },
        "endpoints": {
            "OS": {
                "start": "start_date",
                "events": "event_date",
                "censor": "followup_date",
                "horizon": 60,
            },
            "RFS": {"time": "time", "time_unit": "days", "event": "event"},
        },
        "population": [
            {"include": "x1 > -2"},
            {"exclude": 'region == "west" and x4 > 1.5'},
        ],
    }


def test_registry_parquet(duck: Any, tmp_path: Path) -> None:
    """Naive oracle: the synthetic registry with a population step on a column with missing
    values, a cut variable, applicable_when, derived variables, grouped levels, missing codes,
    a boolean column, endpoints from dates (cut-off, horizon) and from columns."""
    data = _registry(tmp_path)
    doc = _registry_spec(tmp_path, str(data))
    spec = _spec(tmp_path, doc)
    b = assert_parity(spec, duck, tmp_path)
    assert b.flow[1].n_unknown > 0  # the missing x1 values: unknown, so excluded
    assert b.variables["x4"].denominator < b.n
    codes = {i.code for i in b.report.issues}
    assert {"POPULATION-MISSING", "MISSING", "ENDPOINT-NOT-DERIVED"} <= codes


def test_registry_rows_in_first_endpoint_time_order(duck: Any, tmp_path: Path) -> None:
    """Property: DuckDB writes the derived table in the order of the first endpoint's time
    (missing times last; each file in order — a thread writes its own file from the
    ordered rows) — the same rows as in memory (naive oracle, compared by row number in
    :func:`assert_parity`), only their order differs."""
    import pyarrow.parquet as pq

    data = _registry(tmp_path)
    spec = _spec(tmp_path, _registry_spec(tmp_path, str(data)))
    b = assert_parity(spec, duck, tmp_path)
    first = next(iter(b.endpoints.values())).time_column
    missing = 0
    for f in sorted(Path(b.path).glob("*.parquet")):
        t = np.asarray(pq.read_table(f).column(first).to_numpy(zero_copy_only=False), float)
        known = ~np.isnan(t)
        missing += int((~known).sum())
        # every missing time after every known one, the known ones non-decreasing
        assert np.all(known[: int(known.sum())])
        assert np.all(np.diff(t[known]) >= 0)
    assert missing > 0  # the registry has rows whose endpoint is not derived


def test_registry_multifile_rows(duck: Any, tmp_path: Path) -> None:
    """Identity: the same rows split over three Parquet files give the same derived table
    (row numbers count on across files, in file-name order)."""
    import pyarrow.parquet as pq

    data = _registry(tmp_path, 5_000)
    t = pq.read_table(data)
    parts = tmp_path / "parts"
    parts.mkdir()
    for i, (a, b) in enumerate([(0, 1000), (1000, 3500), (3500, 5000)]):
        pq.write_table(t.slice(a, b - a), parts / f"part-{i:05d}.parquet")
    one = derive_cohort(
        _spec(tmp_path, _registry_spec(tmp_path, str(data)), "a.yaml"), duck, tmp_path / "one"
    )
    many = derive_cohort(
        _spec(tmp_path, _registry_spec(tmp_path, str(parts)), "b.yaml"), duck, tmp_path / "many"
    )
    assert _read(one.path).equals(_read(many.path))
    assert one.flow == many.flow


# --------------------------------------------------------------------------- quality issues


BAD_CSV = """pid,age,sex,grade,t,e,start,death,fu
1,50,m,1,10,1,2020-01-01,,2020-03-01
2,61,f,2,0,0,2020-01-05,,2020-01-05
2,70,f,9,5,2,2020-02-01,2019-12-01,2020-04-01
,40,x,3,-3,1,2020-03-01,,2020-02-01
5,250,m,,7,,2020-04-01,2020-05-01,2020-06-01
6,abc,f,1,8,1,,,2020-06-01
7,33,F,2,4,0,2020-05-01,2020-04-01,2021-01-01
"""


def _bad_spec(tmp: Path, **extra: Any) -> Any:
    (tmp / "bad.csv").write_text(BAD_CSV)
    doc: dict[str, Any] = {
        "data": {"path": "bad.csv", "id": "pid", "cutoff": "2020-12-31"},
        "variables": {
            "pid": {"type": "identifier"},
            "age": {"type": "continuous", "range": [0, 120]},
            "sex": {"type": "categorical", "levels": {"Male": ["m"], "Female": ["f"]}},
            "grade": {"type": "categorical", "levels": [1, 2, 3]},
            "start": {"type": "date"},
            "death": {"type": "date", "death": True},
            "fu": {"type": "date"},
        },
        "endpoints": {
            "TTE": {"time": "t", "event": "e", "time_unit": "days"},
            "OS": {"start": "start", "events": "death", "censor": "fu"},
        },
    }
    for k, v in extra.items():
        doc[k] = v
    return _spec(tmp, doc)


def test_quality_issues(duck: Any, tmp_path: Path) -> None:
    """Naive oracle: a small table with one of each problem gives the builder's issues
    (ID-DUPLICATE, ID-MISSING, MIXED-TYPES, RANGE, CATEGORY-UNKNOWN, EVENT-CODE,
    DURATION-NONPOSITIVE, DURATION-ZERO, DEATH-BEFORE-SURGERY, FOLLOWUP-BEFORE-START,
    FOLLOWUP-AFTER-DEATH, DATE-FUTURE, ENDPOINT-NOT-DERIVED, MISSING), and strict
    derivation raises the builder's first error."""
    spec = _bad_spec(tmp_path)
    b = assert_parity(spec, duck, tmp_path, strict=False)
    codes = [i.code for i in b.report.issues]
    for code in (
        "ID-DUPLICATE",
        "ID-MISSING",
        "MIXED-TYPES",
        "RANGE",
        "CATEGORY-UNKNOWN",
        "EVENT-CODE",
        "DURATION-NONPOSITIVE",
        "DURATION-ZERO",
        "DEATH-BEFORE-SURGERY",
        "FOLLOWUP-BEFORE-START",
        "MISSING",
    ):
        assert code in codes, code
    with pytest.raises(DataError) as mem:
        build_cohort(spec)
    with pytest.raises(DataError) as sql:
        derive_cohort(spec, duck, tmp_path / "strict")
    assert sql.value.rule == mem.value.rule == "ID-DUPLICATE"


def test_population_issues(duck: Any, tmp_path: Path) -> None:
    """Naive oracle: POPULATION-MISSING for an include on a missing value (excluded) and an
    exclude on a missing value (kept); then NO-PATIENTS when nobody is left."""
    spec = _bad_spec(
        tmp_path,
        population=[{"include": "age >= 18"}, {"exclude": 'sex == "Female" and grade == 3'}],
    )
    b = assert_parity(spec, duck, tmp_path, strict=False)
    assert b.flow[1].n_unknown == 1  # hand count: row 7 (age 'abc')
    sub = tmp_path / "none"
    sub.mkdir()
    spec2 = _bad_spec(sub, population=[{"include": "age > 500"}])
    b2 = assert_parity(spec2, duck, sub, strict=False)
    assert b2.n == 0
    assert "NO-PATIENTS" in [i.code for i in b2.report.issues]


def test_many_rows_listed_with_total(duck: Any, tmp_path: Path) -> None:
    """Hand count: 45 rows outside the range list their first 20 rows and say 45 in all."""
    lines = ["id,v,t,e"] + [f"{i},{200 if i % 2 else 50},5,1" for i in range(1, 91)]
    (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    spec = _spec(
        tmp_path,
        {
            "data": {"path": "r.csv", "id": "id"},
            "variables": {
                "id": {"type": "identifier"},
                "v": {"type": "continuous", "range": [0, 100]},
            },
            "endpoints": {"E": {"time": "t", "event": "e"}},
        },
    )
    with pytest.raises(DataError) as err:
        derive_cohort(spec, duck, tmp_path / "x")
    assert err.value.rule == "RANGE"
    b = derive_cohort(spec, duck, tmp_path / "y", strict=False)
    (issue,) = b.report.issues
    assert list(issue.context["rows"]) == [2 * k + 2 for k in range(20)]  # odd ids: rows 2, 4, …
    assert "45 rows in all" in issue.message


def test_unsupported_features(duck: Any, tmp_path: Path) -> None:
    """Identity: what the SQL does not translate says so and names the memory engine."""
    (tmp_path / "d.csv").write_text("id,dx,t,e\n1,03 Apr 2015,5,1\n2,13/04/15,6,0\n")
    spec = _spec(
        tmp_path,
        {
            "data": {"path": "d.csv", "id": "id", "date_format": "DMY"},
            "variables": {"id": {"type": "identifier"}, "dx": {"type": "date"}},
            "endpoints": {"E": {"time": "t", "event": "e"}},
        },
    )
    with pytest.raises(SpecError) as err:
        derive_cohort(spec, duck, tmp_path / "o")
    assert err.value.code == "SPEC-ENGINE-UNSUPPORTED"
    assert "--engine memory" in str(err.value)
    (tmp_path / "blank.csv").write_text("id,t,e\n1,5,1\n\n2,6,0\n")
    (tmp_path / "glob1.csv").write_text("id,t,e\n1,5,1\n")
    for data in (
        {"path": "blank.csv"},
        {"path": "glob*.csv"},
        {"path": "glob1.csv", "header_row": 1},
    ):
        spec = _spec(
            tmp_path, {"data": data, "endpoints": {"E": {"time": "t", "event": "e"}}}, "u.yaml"
        )
        with pytest.raises(SpecError) as err:
            derive_cohort(spec, duck, tmp_path / "u")
        assert err.value.code == "SPEC-ENGINE-UNSUPPORTED", data
    xlsx = dict(yaml.safe_load((ROOT / "examples/bclm/study.yaml").read_text()))
    shutil.copy(ROOT / "examples/bclm/bclm_raw.xlsx", tmp_path / "bclm_raw.xlsx")
    xlsx["data"] = {**xlsx["data"], "path": "bclm_raw.xlsx"}
    with pytest.raises(SpecError) as err:
        derive_cohort(_spec(tmp_path, xlsx, "x.yaml"), duck, tmp_path / "p")
    assert err.value.code == "SPEC-ENGINE-UNSUPPORTED"


def test_expression_type_error(duck: Any, tmp_path: Path) -> None:
    """Identity: a derived expression of the wrong kind is the builder's SPEC-EXPRESSION error."""
    (tmp_path / "d.csv").write_text("id,a,t,e\n1,3,5,1\n2,4,6,0\n")
    spec = _spec(
        tmp_path,
        {
            "data": {"path": "d.csv"},
            "variables": {
                "a": {"type": "continuous"},
                "b": {"type": "continuous", "derive": "a > 3"},
            },
            "endpoints": {"E": {"time": "t", "event": "e"}},
        },
    )
    with pytest.raises(SpecError) as mem:
        build_cohort(spec)
    with pytest.raises(SpecError) as sql:
        derive_cohort(spec, duck, tmp_path / "o")
    assert sql.value.code == mem.value.code == "SPEC-EXPRESSION"
    assert str(sql.value) == str(mem.value)


def test_dates_written_as_text_in_csv(duck: Any, tmp_path: Path) -> None:
    """Naive oracle: ISO dates in a CSV read as text (with missing codes and a date after the
    cut-off) derive the same endpoint; the numbers of days are hand-checkable (row 2: 59)."""
    (tmp_path / "d.csv").write_text(
        "id,s,ev,fu\n1,2020-01-01,2020-02-29,2020-05-01\n2,2020-01-10,NA,2020-03-01\n"
        "3,.,2020-01-01,2020-02-01\n4,2020-01-01,2022-01-01,2022-02-01\n"
    )
    spec = _spec(
        tmp_path,
        {
            "data": {"path": "d.csv", "id": "id", "cutoff": "2021-01-01"},
            "variables": {
                "id": {"type": "identifier"},
                "s": {"type": "date"},
                "ev": {"type": "date"},
                "fu": {"type": "date"},
            },
            "endpoints": {"E": {"start": "s", "events": "ev", "censor": "fu"}},
        },
    )
    b = assert_parity(spec, duck, tmp_path)
    t = _read(b.path)
    assert t["E_time"].to_pylist()[:2] == [59.0, 51.0]  # Jan 1 -> Feb 29 2020; Jan 10 -> Mar 1
    assert t["E_status"].to_pylist()[3] == 0.0  # event after the cut-off: censored
    assert dt.date(2021, 1, 1) - dt.date(2020, 1, 1) == dt.timedelta(
        days=int(t["E_time"][3].as_py())
    )


# --------------------------------------------------------------------------- Spark


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):  # pragma: no cover
        pytest.skip("no Java runtime found: Spark cannot start")
    eng = get_engine("spark", master="local[2]", driver_memory="1g", shuffle_partitions=2)
    yield eng
    eng.close()


@pytest.mark.slow
def test_spark_bclm_and_gbsg(spark: Any, tmp_path: Path) -> None:
    """Naive oracle: the Spark SQL rendering gives the builder's cohorts for both examples."""
    assert_parity(load_spec(ROOT / "examples/bclm/study.yaml"), spark, tmp_path / "a")
    assert_parity(load_spec(ROOT / "examples/gbsg/study.yaml"), spark, tmp_path / "b")


@pytest.mark.slow
def test_spark_registry(spark: Any, tmp_path: Path) -> None:
    """Naive oracle: the synthetic registry (Parquet, dates, missing values) on Spark."""
    data = _registry(tmp_path, 5_000)
    spec = _spec(tmp_path, _registry_spec(tmp_path, str(data)))
    assert_parity(spec, spark, tmp_path)


COMPETING_CSV = """id,s,rel,dth,other,fu,grade,x,y,flag
1,2010-01-01,2011-01-01,,,2012-01-01,1,1.5,,yes
2,2010-01-01,,2010-06-01,,2012-01-01,2,-2,3,no
3,2010-01-01,2010-06-01,,2010-06-01,2012-01-01,3,,4,Y
4,2010-01-01,,,2010-03-01,2012-01-01,1,0,0,n
5,2010-01-01,,,,2030-01-01,2,7,1,
6,2010-01-01,2029-01-01,,,2030-01-01,,8,2,yes
7,2010-01-01,,,,,3,9,,no
8,2010-01-01,2010-01-01,,,2010-01-01,1,1,1,yes
"""


def test_dates_competing_composite_and_expressions(duck: Any, tmp_path: Path) -> None:
    """Naive oracle: a composite endpoint (earliest of two dates) with a competing event
    (same day counts as the event), censoring at the latest follow-up, the cut-off and the
    horizon; derived variables using min/max/abs/floor, 'in' lists, 'not', 'is missing',
    a category compared with a number and a date literal, levels found in the data."""
    (tmp_path / "c.csv").write_text(COMPETING_CSV)
    spec = _spec(
        tmp_path,
        {
            "data": {"path": "c.csv", "id": "id", "cutoff": "2020-12-31"},
            "units": "years",
            "variables": {
                "id": {"type": "identifier"},
                "s": {"type": "date"},
                "rel": {"type": "date"},
                "dth": {"type": "date"},
                "other": {"type": "date"},
                "fu": {"type": "date"},
                "grade": {"type": "categorical"},
                "x": {"type": "continuous"},
                "y": {"type": "continuous"},
                "flag": {"type": "binary"},
                "m": {"type": "continuous", "derive": "max(x, y) - min(x, y) + abs(x) / 2"},
                "f": {
                    "type": "continuous",
                    "derive": "floor(years_between(s, fu)) + weeks_between(s, s + 14)",
                },
                "g12": {"type": "binary", "derive": "grade in [1, 2] and not (x is missing)"},
                "g3": {"type": "categorical", "derive": "grade == 3 or missing(y)"},
                "late": {
                    "type": "binary",
                    "derive": 'fu > date("2015-01-01") or fu >= "2030-01-01"',
                },
                "ycat": {
                    "type": "categorical",
                    "derive": "y",
                    "levels": {"low": [0, 1], "high": [2, 3, 4]},
                },
                "xcut": {"type": "categorical", "derive": "x * 1", "cuts": [0, 2]},
            },
            "endpoints": {
                "EFS": {
                    "start": "s",
                    "events": ["rel", "dth"],
                    "censor": "fu",
                    "competing": "other",
                    "horizon": 5,
                },
                "OS": {"start": "s", "events": "dth", "censor": ["fu", "rel"]},
            },
            "population": [{"exclude": 'flag == "No" and x < 0'}],
        },
    )
    b = assert_parity(spec, duck, tmp_path, strict=False)
    t = _read(b.path)
    # hand: row 4 (id 3) relapse and competing event on the same day -> the event
    assert t["EFS_status"].to_pylist()[1] == 1.0
    # hand: row 5 (id 4) competing event first -> status 2 at 59 days
    assert (t["EFS_status"].to_pylist()[2], t["EFS_time"].to_pylist()[2]) == (2.0, 59.0)


@pytest.mark.slow
def test_spark_multifile_rows(spark: Any, duck: Any, tmp_path: Path) -> None:
    """Identity: Spark numbers the rows of three Parquet files (packed into its partitions
    by size) as DuckDB numbers the single file holding the same rows."""
    import pyarrow.parquet as pq

    data = _registry(tmp_path, 5_000)
    t = pq.read_table(data)
    parts = tmp_path / "parts"
    parts.mkdir()
    for i, (a, b) in enumerate([(0, 1000), (1000, 3500), (3500, 5000)]):
        pq.write_table(t.slice(a, b - a), parts / f"part-{i:05d}.parquet")
    one = derive_cohort(
        _spec(tmp_path, _registry_spec(tmp_path, str(data)), "a.yaml"), duck, tmp_path / "one"
    )
    many = derive_cohort(
        _spec(tmp_path, _registry_spec(tmp_path, str(parts)), "b.yaml"), spark, tmp_path / "many"
    )
    x, y = _read(one.path), _read(many.path)
    assert x.column_names == y.column_names or sorted(x.column_names) == sorted(y.column_names)
    assert x["row"].to_pylist() == y["row"].to_pylist()
    assert x["x1"].to_pylist() == y.select(x.column_names)["x1"].to_pylist()
    assert one.flow == many.flow


def test_csv_missing_codes_are_the_builders(duck: Any, tmp_path: Path) -> None:
    """Naive oracle: 'NA' as an identifier is an id (twice: a duplicate), and a multiselect
    'NA' is missing, not 'not selected', as the builder reads them."""
    (tmp_path / "m.csv").write_text("id,rt,ct,t,e\nNA,yes,NA,5,1\nNA,,no,6,0\n3,n,yes,7,1\n")
    spec = _spec(
        tmp_path,
        {
            "data": {"path": "m.csv", "id": "id"},
            "variables": {
                "id": {"type": "identifier"},
                "tx": {"type": "multiselect", "options": {"RT": "rt", "CT": "ct"}},
            },
            "endpoints": {"E": {"time": "t", "event": "e"}},
        },
    )
    b = assert_parity(spec, duck, tmp_path, strict=False)
    assert [i.code for i in b.report.issues] == ["ID-DUPLICATE"]
    assert b.variables["tx"].n_missing == 1  # hand: row 2's CT


def test_many_duplicate_ids(duck: Any, tmp_path: Path) -> None:
    """Hand count: 30 ids on two rows each and one id on 25 rows: the first 20 ids are listed
    (in order of their first row), each with at most 20 rows, and the totals are said."""
    ids = [i // 2 for i in range(60)] + [999] * 25
    lines = ["id,t,e"] + [f"{i},5,1" for i in ids]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    spec = _spec(
        tmp_path,
        {"data": {"path": "d.csv", "id": "id"}, "endpoints": {"E": {"time": "t", "event": "e"}}},
    )
    b = derive_cohort(spec, duck, tmp_path / "o", strict=False)
    dups = [i for i in b.report.issues if i.code == "ID-DUPLICATE"]
    assert len(dups) == 20
    assert list(dups[0].context["rows"]) == [2, 3]  # id 0 on spreadsheet rows 2 and 3
    assert "11 more ids" in dups[-1].message  # 31 duplicated ids in all
    assert b.n == 85  # duplicates are reported, not dropped


@pytest.mark.parametrize(
    ("cells", "date_format"),
    [
        (["03/04/2015", "13/04/2015", "2015-04-05 10:30", "", "31/02/2015"], "DMY"),
        (["03/04/2015", "04/13/2015", "2015-4-5", "NA", "2015-02-30"], "MDY"),
        (["03/04/2015", "13/04/2015", "2015-04-05"], None),  # 03/04 ambiguous (row 3 is d/m)
        (["13/04/2015", "25/12/2015", "05/05/2015"], None),  # only day first reads them all
        (["03/04/2015", "04/04/2015", "2015.04.05"], None),  # 03/04: ambiguous
        (["13/04/2015", "04/13/2015"], None),  # both orders in one column
        (["03/04/2015", "2015-04-05"], "YMD"),  # a/b/year cannot be year first
    ],
)
def test_dates_written_day_month(
    duck: Any, tmp_path: Path, cells: list[str], date_format: str | None
) -> None:
    """Naive oracle: dates written a/b/YYYY are read as the builder reads them (by
    date_format, or by the column's only possible order), with its DATE-AMBIGUOUS,
    DATE-INCONSISTENT and DATE-UNPARSEABLE errors."""
    lines = ["id,dx,fu"] + [f"{i + 1},{c},2016-01-01" for i, c in enumerate(cells)]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    data: dict[str, Any] = {"path": "d.csv", "id": "id"}
    if date_format:
        data["date_format"] = date_format
    spec = _spec(
        tmp_path,
        {
            "data": data,
            "variables": {
                "id": {"type": "identifier"},
                "dx": {"type": "date"},
                "fu": {"type": "date"},
            },
            "endpoints": {"E": {"start": "dx", "events": "fu"}},
        },
    )
    assert_parity(spec, duck, tmp_path, strict=False)


def test_names_differing_only_by_case_are_refused(duck: Any, tmp_path: Path) -> None:
    """Identity (found on issue 17's rotterdam spec): a variable 'os_event' and the endpoint
    column 'OS_event' would be one column to the SQL engine (DuckDB renamed the second and
    read the variable back as the event); the SQL executor refuses, naming both, and the
    memory executor keeps them apart."""
    (tmp_path / "d.csv").write_text("id,t,e,x\n1,10,1,5\n2,20,0,6\n3,30,1,7\n")
    doc = {
        "data": {"path": "d.csv", "id": "id"},
        "variables": {
            "id": {"type": "identifier"},
            "x": {"type": "continuous"},
            "os_event": {"type": "continuous", "derive": "x * 100"},
        },
        "endpoints": {"OS": {"time": "t", "event": "e", "time_unit": "days"}},
    }
    spec = _spec(tmp_path, doc)
    with pytest.raises(SpecError) as err:
        derive_cohort(spec, duck, tmp_path / "sql")
    assert err.value.code == "SPEC-ENGINE-UNSUPPORTED"
    assert "('os_event', 'OS_event'" in str(err.value)
    cohort = build_cohort(spec)
    assert cohort.columns["OS_event"].tolist() == [1.0, 0.0, 1.0]
    assert cohort.columns["os_event"].tolist() == [500.0, 600.0, 700.0]

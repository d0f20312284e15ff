"""The cohort plan's two executors, node by node and check by check.

Kind of truth: naive oracle, both ways. For each case below (a few rows of CSV and a spec
that makes one data-quality check fire), the plan (:func:`survstudy.data.compile_plan`)
runs in memory (:class:`~survstudy.data.run_memory.MemoryRun`) and in DuckDB
(:class:`~survstudy.data.derive_sql.SqlRun`), and

* every column the plan's steps define (typed cells, presence flags, derived variables,
  population steps, applicable masks, every intermediate column of the endpoint rules) is
  equal on every row of the file, included or not: numbers and dates exactly (both
  executors do the same IEEE operations), categories and conditions exactly;
* the data-quality reports are equal line for line (code, severity, file, rows, column,
  message, hint), since with at most two rows per value the SQL executor's shorter
  listings read as the in-memory ones.

The cases cover every check of the catalogue that the plan declares (the reader's own
codes, raised before the plan runs, and the date writings the SQL executor refuses are
listed apart, with the refusal checked) and every kind of step.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from survstudy.data import build_cohort, compile_plan
from survstudy.data import steps as step_kinds
from survstudy.data.derive_sql import SqlRun, derive_cohort
from survstudy.data.plan import CohortPlan
from survstudy.data.quality import CHECKS, format_issue
from survstudy.data.readers import read_raw
from survstudy.data.run_memory import MemoryRun
from survstudy.engines import get_engine
from survstudy.errors import DataError, SpecError
from survstudy.spec import load_spec

pytest.importorskip("duckdb", reason="the duckdb extra is not installed")

CSV = """id,age,sex,grade,t,e,start,death,fu,prog,x
1,50,m,1,10,1,2020-01-01,,2020-03-01,,4
2,61,f,2,0,0,2020-01-05,,2020-01-05,,0
3,70,f,3,5,0,2020-02-01,2020-12-01,2020-04-01,2020-03-01,2.5
4,40,m,2,7,1,2020-03-01,,2020-06-01,2020-05-01,
5,66,f,1,8,1,2020-04-01,2020-05-01,2020-05-01,,9
6,33,m,3,4,0,2020-05-01,,2021-01-01,,1
"""

BASE: dict[str, Any] = {
    "data": {"path": "d.csv", "id": "id", "cutoff": "2020-12-31"},
    "variables": {
        "id": {"type": "identifier"},
        "age": {"type": "continuous", "range": [0, 120]},
        "sex": {"type": "categorical", "levels": {"Male": ["m"], "Female": ["f"]}},
        "grade": {"type": "categorical", "levels": [1, 2, 3]},
        "x": {"type": "continuous"},
        "start": {"type": "date"},
        "death": {"type": "date", "death": True},
        "fu": {"type": "date"},
        "prog": {"type": "date"},
    },
    "endpoints": {
        "TTE": {"time": "t", "event": "e", "time_unit": "days"},
        "OS": {"start": "start", "events": "death", "censor": "fu"},
        "PFS": {"start": "start", "events": ["prog", "death"], "censor": "fu", "horizon": 6},
    },
}


def _edit(csv: str, row: int, column: str, value: str) -> str:
    """``csv`` with the cell of data row ``row`` (1 = first) in ``column`` replaced."""
    lines = csv.splitlines()
    header = lines[0].split(",")
    cells = lines[row].split(",")
    cells[header.index(column)] = value
    lines[row] = ",".join(cells)
    return "\n".join(lines) + "\n"


def _case(
    csv: str = CSV, spec: dict[str, Any] | None = None, **changes: Any
) -> tuple[str, dict[str, Any]]:
    doc = yaml.safe_load(yaml.safe_dump(BASE))
    for k, v in (spec or {}).items():
        if isinstance(v, dict) and isinstance(doc.get(k), dict):
            doc[k].update(v)
        else:
            doc[k] = v
    for k, v in changes.items():
        doc[k] = v
    return csv, doc


COMPOSITE: dict[str, Any] = {
    "variables": {
        "t": {"type": "continuous"},
        "e": {"type": "continuous"},
        "e2": {"type": "continuous", "derive": "1 - e"},
        "td": {"type": "continuous", "derive": "t * 2"},
        "ed": {"type": "binary", "derive": "e == 1"},
    },
    "endpoints": {
        "CMP": {"time": ["t", "x"], "event": ["e", "e2"], "time_unit": "days", "horizon": 0.25},
        "TTD": {"time": "td", "event": "ed", "time_unit": "days"},
    },
}

#: check code -> a case where the plan declares it and it fires
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "NO-ROWS": (CSV.splitlines()[0] + "\n", _case()[1]),
    "ID-DUPLICATE": _case(_edit(CSV, 2, "id", "1")),
    "ID-MISSING": _case(_edit(CSV, 2, "id", "")),
    "DATE-UNPARSEABLE": _case(_edit(CSV, 3, "fu", "2020-13-45")),
    "DATE-AMBIGUOUS": _case(_edit(_edit(CSV, 3, "fu", "03/04/2020"), 4, "fu", "13/06/2020")),
    "DATE-INCONSISTENT": _case(_edit(_edit(CSV, 3, "fu", "04/13/2020"), 4, "fu", "13/06/2020")),
    "DATE-FUTURE": _case(_edit(_edit(CSV, 1, "start", "2021-02-01"), 2, "prog", "2022-01-01")),
    "MIXED-TYPES": _case(_edit(_edit(CSV, 2, "age", "abc"), 3, "x", "n/k")),
    "RANGE": _case(_edit(_edit(CSV, 2, "age", "250"), 3, "age", "-1")),
    "CATEGORY-UNKNOWN": _case(_edit(_edit(CSV, 2, "sex", "x"), 3, "grade", "9")),
    "REFERENCE-UNKNOWN": _case(
        spec={"variables": {"grade": {"type": "categorical", "reference": "9"}}}
    ),
    "STATUS-DATE-CONFLICT": _case(
        spec={"endpoints": {"ST": {"start": "start", "end": "fu", "status": "e"}}}
    ),
    "MANY-LEVELS": _case(spec={"variables": {"age": {"type": "categorical"}}}),
    "CATEGORY-CASE": _case(
        _edit(CSV, 2, "sex", "M"), spec={"variables": {"sex": {"type": "categorical"}}}
    ),
    "EVENT-CODE": _case(_edit(CSV, 3, "e", "2")),
    "EXPRESSION-DOMAIN": _case(
        spec={
            "variables": {
                "lx": {"type": "continuous", "derive": "log(x)"},
                "rx": {"type": "continuous", "derive": "sqrt(x - 3)"},
            }
        }
    ),
    "MISSING": _case(
        _edit(CSV, 2, "grade", "NA"),
        spec={"variables": {"half": {"type": "continuous", "derive": "x / 2"}}},
    ),
    "NOT-APPLICABLE-VALUE": _case(
        spec={"variables": {"grade": {"type": "categorical", "applicable_when": "age > 45"}}}
    ),
    "POPULATION-MISSING": _case(
        _edit(CSV, 2, "x", ""), population=[{"include": "x >= 1"}, {"exclude": "x > 8"}]
    ),
    "NO-PATIENTS": _case(population=[{"include": "age > 500"}]),
    "EVENT-BEFORE-START": _case(_edit(CSV, 2, "prog", "2019-01-01")),
    "FOLLOWUP-BEFORE-START": _case(_edit(CSV, 2, "fu", "2019-01-01")),
    # progression (after the start in rows 3 and 4) as a group of OS: immortal time; the
    # time-dependent twin is not flagged, its exposure days per endpoint are plan columns
    "IMMORTAL-TIME": _case(
        spec={
            "variables": {
                "progressed": {"type": "binary", "derive": "prog is not missing"},
                "prog_td": {"type": "binary", "time_dependent": {"from": "prog"}},
            },
            "analyses": {"km": [{"endpoint": "OS", "by": "progressed"}]},
        }
    ),
    "DEATH-BEFORE-SURGERY": _case(_edit(CSV, 3, "death", "2019-01-01")),
    "PROGRESSION-AFTER-DEATH": _case(_edit(CSV, 5, "prog", "2020-06-01")),
    "FOLLOWUP-AFTER-DEATH": _case(_edit(CSV, 5, "fu", "2020-06-01")),
    "FOLLOWUP-BEFORE-EVENT": _case(_edit(CSV, 4, "fu", "2020-04-01")),
    "FOLLOWUP-MISSING": _case(_edit(CSV, 1, "fu", "")),
    "DURATION-NONPOSITIVE": _case(_edit(CSV, 4, "t", "-3")),
    "DURATION-ZERO": _case(),
    "ENDPOINT-NOT-DERIVED": _case(_edit(_edit(CSV, 6, "start", ""), 4, "e", "")),
    # issue 17: a composite of (t, e) and (x, e2), e2 a derived variable; row 4 has no x,
    # row 1 is censored in (x, e2) at 4 days before its event in (t, e) at 10 days
    "ENDPOINT-COMPONENT-MISSING": _case(spec=COMPOSITE),
    "ENDPOINT-COMPONENTS-DISAGREE": _case(spec=COMPOSITE),
    "EVENT-AFTER-CUTOFF": _case(
        _edit(CSV, 6, "prog", "2020-12-20"),
        data={
            "path": "d.csv",
            "id": "id",
            "cutoff": "2020-12-15",
        },
    ),
}

#: codes the reader raises before the plan runs (tests/data, tests/bad_inputs)
READER_CODES = {
    "FILE-NOT-FOUND",
    "FILE-FORMAT",
    "FILE-UNREADABLE",
    "FILE-EMPTY",
    "FILE-ENCODING",
    "FILE-ENCODING-GUESSED",
    "FILE-TOO-LARGE",
    "XLSX-TOO-LARGE",
    "XLSX-UNSAFE",
    "SHEET-NOT-FOUND",
    "CSV-RAGGED",
    "COLUMN-DUPLICATE",
    "COLUMN-MISSING",
}
#: checks of joined tables (data.tables), which the SQL executor refuses as a whole
#: (SPEC-ENGINE-UNSUPPORTED naming data.tables.NAME): tests/data/test_data_tables.py
JOINED_CODES = {"TABLE-ID-DUPLICATE", "TABLE-ID-UNKNOWN", "TABLE-NO-MATCH"}
#: date writings the SQL executor refuses (SPEC-ENGINE-UNSUPPORTED): test_refused
REFUSED = {
    "DATE-TWO-DIGIT-YEAR": _edit(CSV, 2, "fu", "03/04/20"),
    "DATE-EXCEL-SERIAL": _edit(CSV, 2, "fu", "43900"),
}


@pytest.fixture(scope="module")
def duck() -> Iterator[Any]:
    eng = get_engine("duckdb", threads=1)
    yield eng
    eng.close()


def _spec(tmp: Path, csv: str, doc: dict[str, Any]) -> Any:
    (tmp / "d.csv").write_text(csv)
    (tmp / "study.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return load_spec(tmp / "study.yaml")


def _memory_columns(plan: CohortPlan) -> dict[str, Any]:
    run = MemoryRun(plan, read_raw(plan.spec.data_path, columns=list(plan.columns)))
    for step in plan.steps:
        step.numpy(run)
    return {k: (v.kind, v.data) for k, v in run.values.items()}


def _sql_columns(plan: CohortPlan, engine: Any) -> dict[str, Any]:
    run = SqlRun(plan, engine)
    run.open_source()
    for step in plan.steps:
        step.sql(run)
    names = list(run.env)
    items = ", ".join(f"{run.env[n].sql} AS c{i}" for i, n in enumerate(names))
    r = run.run(
        f"{run.with_sql()} SELECT {run.col('row')} AS r, {items} FROM {run.last} ORDER BY r"
    )
    return {n: (run.env[n].kind, [_py(v) for v in r[f"c{i}"]]) for i, n in enumerate(names)}


def _py(v: Any) -> Any:
    """A query result cell as a Python value (``None`` for NULL)."""
    if v is None or v is np.ma.masked:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and np.isnan(v):
        return None
    return v


def _as_floats(values: Any) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def assert_columns_equal(spec: Any, engine: Any) -> set[str]:
    """Every plan column is equal in both executors; returns the step kinds run."""
    plan = compile_plan(spec)
    mem = _memory_columns(plan)
    sql = _sql_columns(plan, engine)
    # SQL keeps a grouped level's detail as codes only (the derived table's column)
    assert set(mem) - set(sql) <= {k for k in mem if k.startswith("#detail:")}
    assert set(sql) <= set(mem)
    for k, (kind, values) in sql.items():
        mkind, mvalues = mem[k]
        assert kind == mkind, k
        if kind == "text":
            assert [None if v is None else str(v) for v in values] == list(mvalues), k
        else:
            got, want = _as_floats(values), np.asarray(mvalues, dtype=float)
            np.testing.assert_array_equal(got, want, err_msg=k)
    return {type(s).__name__ for s in plan.steps}


def _lines(report: Any) -> list[str]:
    return [format_issue(i) for i in report.issues]


@pytest.mark.parametrize("code", sorted(CASES))
def test_check_and_columns_both_ways(duck: Any, tmp_path: Path, code: str) -> None:
    """Naive oracle both ways: the case's plan columns and report are the same in memory
    and in DuckDB, and the check fires."""
    csv, doc = CASES[code]
    spec = _spec(tmp_path, csv, doc)
    assert_columns_equal(spec, duck)
    mem = build_cohort(spec, strict=False)
    sql = derive_cohort(spec, duck, tmp_path / "sql", strict=False)
    assert code in {i.code for i in mem.report.issues}
    assert _lines(sql.report) == _lines(mem.report)
    assert sql.flow == mem.flow


def test_every_check_and_step_kind_is_covered(duck: Any, tmp_path: Path) -> None:
    """Identity: the cases cover the catalogue (but the reader's codes and the refused date
    writings) and every kind of step the plan has."""
    assert set(CHECKS) == set(CASES) | READER_CODES | set(REFUSED) | JOINED_CODES
    seen: set[str] = set()
    for i, code in enumerate(sorted(CASES)):
        sub = tmp_path / str(i)
        sub.mkdir()
        csv, doc = CASES[code]
        seen |= {type(s).__name__ for s in compile_plan(_spec(sub, csv, doc)).steps}
    multi = dict(BASE["variables"])
    multi["tx"] = {"type": "multiselect", "options": {"RT": "sex", "CT": "grade"}}
    multi["agec"] = {"type": "categorical", "column": "age", "cuts": [45, 65]}
    multi["xc"] = {"type": "categorical", "derive": "x * 1", "cuts": [2]}
    sub = tmp_path / "kinds"
    sub.mkdir()
    spec = _spec(sub, CSV, _case(spec={"variables": multi})[1])
    seen |= assert_columns_equal(spec, duck)
    kinds = {
        name
        for name, obj in vars(step_kinds).items()
        if isinstance(obj, type) and hasattr(obj, "numpy") and hasattr(obj, "sql")
    } - {"Step", "JoinTable"}  # JoinTable: memory only (tests/data/test_data_tables.py)
    assert kinds <= seen, kinds - seen


@pytest.mark.parametrize("code", sorted(REFUSED))
def test_refused(duck: Any, tmp_path: Path, code: str) -> None:
    """Identity: the memory executor reports the check; the SQL executor refuses the date
    writing it does not translate, naming the memory engine."""
    spec = _spec(tmp_path, REFUSED[code], _case()[1])
    assert code in {i.code for i in build_cohort(spec, strict=False).report.issues}
    with pytest.raises(SpecError) as err:
        derive_cohort(spec, duck, tmp_path / "sql", strict=False)
    assert err.value.code == "SPEC-ENGINE-UNSUPPORTED"


def test_column_missing_both_ways(duck: Any, tmp_path: Path) -> None:
    """Identity: a spec column that is not in the file is the same COLUMN-MISSING error."""
    csv, doc = _case(spec={"variables": {"weight": {"type": "continuous"}}})
    spec = _spec(tmp_path, csv, doc)
    with pytest.raises(DataError) as mem:
        build_cohort(spec)
    with pytest.raises(DataError) as sql:
        derive_cohort(spec, duck, tmp_path / "sql")
    assert str(sql.value) == str(mem.value)
    assert mem.value.rule == "COLUMN-MISSING"


def test_merged_case_both_ways(duck: Any, tmp_path: Path) -> None:
    """Issue 15 item 12: a cell written in another case than its listed level ('M' for the
    level Male's value 'm') is counted as that level, with one CATEGORY-CASE 'merged'
    warning, the same in memory and in DuckDB."""
    csv, doc = _case(_edit(_edit(CSV, 2, "sex", "M"), 3, "sex", " F "))
    spec = _spec(tmp_path, csv, doc)
    mem = build_cohort(spec, strict=False)
    sql = derive_cohort(spec, duck, tmp_path / "sql", strict=False)
    lines = [ln for ln in _lines(mem.report) if "CATEGORY-CASE" in ln]
    assert lines == [
        "warning: [CATEGORY-CASE] d.csv, column 'sex': values written in another upper/lower "
        "case were counted as the level they match: 'M' as 'Male'; 'F' as 'Female'; correct "
        "the cells if they mean something else"
    ]
    assert _lines(sql.report) == _lines(mem.report)

"""Issue 17 item 4: several tables per study (``data.tables``), joined on the patient id.

Kind of truth: hand calculation. Each expected value below is worked out from the small
tables written in the test (the patient's matched row, or the summary of its rows), and
each check's rows are the rows of the file it concerns (the joined table's own rows for
its ids, the main table's rows for patients without a match).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from survstudy.data import build_cohort
from survstudy.errors import DataError, SpecError
from survstudy.spec import load_spec

BASE = """pid,age,surgery
1,50,2020-01-01
2,61,2020-02-01
3,70,2020-03-01
4,45,2020-04-01
"""
# one row per patient, in another order; id 9 is not in the main table; patient 4 has none
OUTCOME = """pid,death_date,grade,rtime,recur
2,,2,300,0
1,2021-01-01,1,200,1
3,,3,150,0
9,,1,10,1
"""
# several rows per patient; id 7 is unknown; patient 4 has none
VISITS = """pid,visit_date,relapse,score
1,2020-06-01,0,3
1,2020-09-01,1,
2,2020-05-01,0,5
2,2021-03-01,0,2
2,2020-12-01,0,4
3,2020-07-01,,1
7,2020-07-01,0,1
"""

VARIABLES: dict[str, Any] = {
    "pid": {"type": "identifier"},
    "age": {"type": "continuous"},
    "surgery": {"type": "date"},
    "death_date": {"type": "date", "from_table": "outcome"},
    "grade": {"type": "categorical", "from_table": "outcome", "levels": [1, 2, 3]},
    "rtime": {"type": "continuous", "from_table": "outcome"},
    "recur": {"type": "continuous", "from_table": "outcome"},
    "last_visit": {
        "type": "date",
        "from_table": "visits",
        "column": "visit_date",
        "summary": "max",
    },
    "first_visit": {
        "type": "date",
        "from_table": "visits",
        "column": "visit_date",
        "summary": "min",
    },
    "first_score": {
        "type": "continuous",
        "from_table": "visits",
        "column": "score",
        "summary": "first",
    },
    "last_score": {
        "type": "continuous",
        "from_table": "visits",
        "column": "score",
        "summary": "last",
    },
    "min_score": {
        "type": "continuous",
        "from_table": "visits",
        "column": "score",
        "summary": "min",
    },
    "n_visits": {
        "type": "continuous",
        "from_table": "visits",
        "column": "visit_date",
        "summary": "count",
    },
    "relapsed": {
        "type": "binary",
        "from_table": "visits",
        "column": "relapse",
        "summary": "any",
        "levels": {"Yes": [1], "No": [0]},
    },
    "fu_days": {"type": "continuous", "derive": "days_between(surgery, last_visit)"},
}


def _doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "data": {
            "path": "base.csv",
            "id": "pid",
            "tables": {
                "outcome": {"path": "outcome.csv"},
                "visits": {"path": "visits.csv", "rows": "many"},
            },
        },
        "units": "days",
        "variables": dict(VARIABLES),
        "endpoints": {
            "OS": {"start": "surgery", "events": "death_date", "censor": "last_visit"},
            "RFS": {"time": "rtime", "event": "recur", "time_unit": "days"},
        },
    }
    doc.update(changes)
    return doc


def _spec(tmp: Path, doc: dict[str, Any], **files: str) -> Any:
    tables = {"base": BASE, "outcome": OUTCOME, "visits": VISITS, **files}
    for stem, text in tables.items():
        (tmp / f"{stem}.csv").write_text(text)
    (tmp / "study.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return load_spec(tmp / "study.yaml")


def _issues(cohort: Any) -> list[tuple[str, str | None, tuple[int, ...]]]:
    return [(i.code, i.file, tuple(i.context.get("rows", ()))) for i in cohort.report.issues]


def test_one_and_many_rows_per_patient_by_hand(tmp_path: Path) -> None:
    """Hand calculation: each patient's matched outcome row and the summaries of its visits
    (first/last in file order among present values, min, count, any)."""
    c = build_cohort(_spec(tmp_path, _doc()), strict=False)
    assert list(c.columns["grade"].values) == ["1", "2", "3", None]
    np.testing.assert_array_equal(c.columns["rtime"], [200.0, 300.0, 150.0, np.nan])
    np.testing.assert_array_equal(c.columns["first_score"], [3.0, 5.0, 1.0, np.nan])
    np.testing.assert_array_equal(c.columns["last_score"], [3.0, 4.0, 1.0, np.nan])
    np.testing.assert_array_equal(c.columns["min_score"], [3.0, 2.0, 1.0, np.nan])
    assert c.columns["n_visits"].tolist() == [2.0, 3.0, 1.0, 0.0]
    assert list(c.columns["relapsed"].values) == ["Yes", "No", None, None]
    # last visit - surgery: 2020-09-01 - 2020-01-01 = 244; 2021-03-01 - 2020-02-01 = 394;
    # 2020-07-01 - 2020-03-01 = 122
    np.testing.assert_array_equal(c.columns["fu_days"], [244.0, 394.0, 122.0, np.nan])
    # OS: death 2021-01-01 (366 days); censored at the last visit (394, 122); no end date
    np.testing.assert_array_equal(c.columns["OS_time"], [366.0, 394.0, 122.0, np.nan])
    np.testing.assert_array_equal(c.columns["OS_status"], [1.0, 0.0, 0.0, np.nan])
    # RFS from the joined table's columns (item 1: a variable, not a main-table column)
    np.testing.assert_array_equal(c.columns["RFS_time"], [200.0, 300.0, 150.0, np.nan])
    np.testing.assert_array_equal(c.columns["RFS_event"], [1.0, 0.0, 0.0, np.nan])


def test_checks_name_each_files_rows(tmp_path: Path) -> None:
    """Hand case: unknown ids are listed with the joined file's rows, patients without a row
    with the main file's rows; the flow has a line per joined table."""
    c = build_cohort(_spec(tmp_path, _doc()), strict=False)
    got = _issues(c)
    assert ("TABLE-ID-UNKNOWN", "outcome.csv", (5,)) in got
    assert ("TABLE-ID-UNKNOWN", "visits.csv", (8,)) in got
    assert ("TABLE-NO-MATCH", "base.csv", (5,)) in got
    assert sum(code == "TABLE-NO-MATCH" for code, _f, _r in got) == 2
    (line,) = [i for i in c.report.issues if i.code == "TABLE-NO-MATCH" and "visits" in i.message]
    assert line.severity == "warning"
    assert "1 patient(s) have no row in the table 'visits' (visits.csv)" in line.message
    flow = [f.description for f in c.flow]
    assert flow[1] == "Joined: table 'outcome' (outcome.csv); 1 patient(s) without a row"
    assert flow[2] == "Joined: table 'visits' (visits.csv); 1 patient(s) without a row"
    assert [f.n_after for f in c.flow] == [4, 4, 4]
    # identifiers never reach the messages
    assert not any("9" in i.message or "7" in i.message for i in c.report.issues)


def test_duplicated_id_in_a_one_row_table_is_an_error(tmp_path: Path) -> None:
    """Hand case: patient 1 twice in the outcome table: an error with both rows of that
    file."""
    outcome = OUTCOME + "1,,2,100,0\n"
    spec = _spec(tmp_path, _doc(), outcome=outcome)
    c = build_cohort(spec, strict=False)
    (dup,) = [i for i in c.report.issues if i.code == "TABLE-ID-DUPLICATE"]
    assert (dup.severity, dup.file, dup.context["rows"]) == ("error", "outcome.csv", (3, 6))
    with pytest.raises(DataError, match="TABLE-ID-DUPLICATE"):
        build_cohort(spec)


def test_typing_errors_name_the_joined_file(tmp_path: Path) -> None:
    """Hand case: a bad date in the visits table is reported on its own file and row."""
    visits = VISITS.replace("2,2021-03-01,0,2", "2,2021-13-45,0,2")
    c = build_cohort(_spec(tmp_path, _doc(), visits=visits), strict=False)
    (bad,) = [i for i in c.report.issues if i.code == "DATE-UNPARSEABLE"]
    assert (bad.file, bad.column, bad.context["rows"]) == ("visits.csv", "visit_date", (5,))


def test_two_sheets_of_one_workbook(tmp_path: Path) -> None:
    """Hand case: a hospital workbook with a baseline sheet and a follow-up sheet."""
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "baseline"
    for row in [["pid", "age"], [1, 50], [2, 61], [3, 70]]:
        ws.append(row)
    fu = wb.create_sheet("followup")
    for row in [["pid", "months", "dead"], [3, 12, 1], [1, 30, 0]]:
        fu.append(row)
    wb.save(tmp_path / "hospital.xlsx")
    doc = {
        "data": {
            "path": "hospital.xlsx",
            "sheet": "baseline",
            "id": "pid",
            "tables": {"fu": {"path": "hospital.xlsx", "sheet": "followup"}},
        },
        "variables": {
            "pid": {"type": "identifier"},
            "age": {"type": "continuous"},
            "months": {"type": "continuous", "from_table": "fu"},
            "dead": {"type": "continuous", "from_table": "fu"},
        },
        "endpoints": {"OS": {"time": "months", "event": "dead", "time_unit": "months"}},
    }
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(doc))
    c = build_cohort(load_spec(tmp_path / "study.yaml"), strict=False)
    np.testing.assert_array_equal(c.columns["months"], [30.0, np.nan, 12.0])
    np.testing.assert_array_equal(c.columns["OS_event"], [0.0, np.nan, 1.0])
    assert [(i.code, i.context["rows"]) for i in c.report.issues if i.code.startswith("TABLE")] == [
        ("TABLE-NO-MATCH", (3,))
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"grade": {"type": "categorical", "from_table": "outcomes"}},
            "'outcomes' is not a declared table",
        ),
        (
            {"last_visit": {"type": "date", "from_table": "visits", "column": "visit_date"}},
            "several rows per patient: give 'summary'",
        ),
        (
            {"rtime": {"type": "continuous", "from_table": "outcome", "summary": "max"}},
            "one row per patient: 'summary' is for tables with rows: many",
        ),
        (
            {"n_visits": {"type": "date", "from_table": "visits", "summary": "count"}},
            "summary 'count' makes a continuous variable, not date",
        ),
        ({"age": {"type": "continuous", "summary": "max"}}, "give 'from_table' too"),
        (
            {"fu_days": {"type": "continuous", "from_table": "visits", "derive": "age"}},
            "'from_table' is for a variable read from a column",
        ),
    ],
)
def test_bad_table_specs(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    """Bad input: each spec error names the problem."""
    doc = _doc()
    doc["variables"] = {**VARIABLES, **change}
    with pytest.raises(SpecError, match=message):
        _spec(tmp_path, doc)


def test_tables_need_the_id(tmp_path: Path) -> None:
    """Bad input: joined tables without data.id."""
    doc = _doc()
    del doc["data"]["id"]
    doc["variables"] = {k: v for k, v in VARIABLES.items() if k != "pid"}
    with pytest.raises(SpecError, match=r"give data\.id"):
        _spec(tmp_path, doc)


def test_sql_executor_refuses_naming_the_key(tmp_path: Path) -> None:
    """Identity: DuckDB refuses data.tables with SPEC-ENGINE-UNSUPPORTED naming the table's
    key and the memory engine."""
    pytest.importorskip("duckdb", reason="the duckdb extra is not installed")
    from survstudy.data.derive_sql import derive_cohort
    from survstudy.engines import get_engine

    spec = _spec(tmp_path, _doc())
    eng = get_engine("duckdb", threads=1)
    try:
        with pytest.raises(SpecError) as err:
            derive_cohort(spec, eng, tmp_path / "sql", strict=False)
    finally:
        eng.close()
    assert err.value.code == "SPEC-ENGINE-UNSUPPORTED"
    assert "data.tables.outcome" in str(err.value)
    assert "--engine memory" in str(err.value)


def test_input_hash_covers_every_table(tmp_path: Path) -> None:
    """Hand calculation: with joined tables the input SHA-256 is that of the lines
    'file:sha256' of the main file then each table in the spec's order, so changing a
    joined file changes it."""
    import hashlib

    c = build_cohort(_spec(tmp_path, _doc()), strict=False)
    lines = "".join(
        f"{f}:{hashlib.sha256((tmp_path / f).read_bytes()).hexdigest()}\n"
        for f in ("base.csv", "outcome.csv", "visits.csv")
    )
    assert c.input_sha256 == hashlib.sha256(lines.encode()).hexdigest()

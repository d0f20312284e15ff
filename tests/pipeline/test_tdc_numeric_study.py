"""Issue 19, item 2 in the study run: a continuous value measured repeatedly in a joined table
(``time_dependent: {date: COLUMN}``) enters the Cox models as R's ``tmerge(..., tdc(day,
value))`` + ``coxph(Surv(tstart, tstop, death) ~ ...)``.

Kind of truth: R reference (``tests/reference/tdc_numeric.R`` -> ``tdc_numeric.json``, survival
3.5-3 on ``survival::pbcseq``; the script writes the two spreadsheets the study below reads,
with dates whose differences are R's day counts, checked there with ``stopifnot``). Some
patients have no day-0 visit (value missing before their first: R drops those intervals), some
a visit before the start, some one on the day of the last follow-up. Tolerances: coxph stops at
a relative log-likelihood change of 1e-9, so estimates agree to ~1e-8; we use 1e-6.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from survstudy.data import build_cohort
from survstudy.errors import SpecError
from survstudy.pipeline import run_study
from survstudy.spec import load_spec

REF = Path(__file__).resolve().parents[1] / "reference"
R = json.loads((REF / "tdc_numeric.json").read_text(encoding="utf-8"))

SPEC: dict[str, Any] = {
    "data": {
        "path": "pbc.csv",
        "id": "id",
        "tables": {"labs": {"path": "labs.csv", "rows": "many"}},
    },
    "units": "days",
    "variables": {
        "id": {"type": "identifier"},
        "enrol_date": {"type": "date"},
        "last_fu": {"type": "date"},
        "death_date": {"type": "date", "death": True},
        "age": {"type": "continuous"},
        "bili": {
            "type": "continuous",
            "label": "Bilirubin",
            "from_table": "labs",
            "time_dependent": {"date": "lab_date"},
        },
        "albumin": {
            "type": "continuous",
            "from_table": "labs",
            "time_dependent": {"date": "lab_date"},
        },
    },
    "endpoints": {"OS": {"start": "enrol_date", "events": "death_date", "censor": "last_fu"}},
    "analyses": {
        "table1": {"variables": ["age", "bili"], "continuous": "median-iqr"},
        "univariable": {"endpoints": ["OS"], "factors": ["bili"]},
        "multivariable": [
            {"name": "labs", "endpoint": "OS", "covariates": ["age", "bili", "albumin"]}
        ],
    },
}


def _write(tmp: Path, doc: dict[str, Any] = SPEC) -> Path:
    shutil.copy(REF / "data" / "pbcseq_study.csv", tmp / "pbc.csv")
    shutil.copy(REF / "data" / "pbcseq_study_labs.csv", tmp / "labs.csv")
    path = tmp / "study.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Any:
    spec = load_spec(_write(tmp_path_factory.mktemp("pbc")))
    return run_study(spec, build_cohort(spec))


@pytest.fixture(scope="module")
def results(study: Any) -> dict[str, Any]:
    return dict(study.to_dict())


def test_univariable_cox_on_the_measurements(results: dict[str, Any]) -> None:
    """R: coxph(Surv(tstart, tstop, death) ~ bili) on tmerge's split (na.omit)."""
    f = R["fits"]["univariable"]
    (row,) = [r for r in results["univariable"]["OS"] if r["variable"] == "bili" and "coef" in r]
    assert row["coef"] == pytest.approx(f["coef"], rel=1e-6)
    assert row["se"] == pytest.approx(f["se"], rel=1e-6)
    assert results["univariable_summary"]["OS"]["time_dependent"] == ["bili"]


def test_multivariable_cox_on_the_measurements(results: dict[str, Any]) -> None:
    """R: coxph(Surv(tstart, tstop, death) ~ age + bili + albumin)."""
    f = R["fits"]["multivariable"]
    (model,) = results["multivariable"]
    got = {r["variable"]: r for r in model["rows"] if "coef" in r}
    for i, v in enumerate(("age", "bili", "albumin")):
        assert got[v]["coef"] == pytest.approx(f["coef"][i], rel=1e-6), v
        assert got[v]["se"] == pytest.approx(f["se"][i], rel=1e-6), v
    assert model["time_dependent"] == ["bili", "albumin"]
    assert model["events"] == f["events"]


def test_measured_value_needs_a_table_with_many_rows(tmp_path: Path) -> None:
    doc = yaml.safe_load(yaml.safe_dump(SPEC))
    doc["data"]["tables"]["labs"]["rows"] = "one"
    with pytest.raises(SpecError, match="rows: many"):
        load_spec(_write(tmp_path, doc))


def test_measured_value_is_continuous_from_a_table(tmp_path: Path) -> None:
    doc = yaml.safe_load(yaml.safe_dump(SPEC))
    del doc["variables"]["bili"]["from_table"]
    with pytest.raises(SpecError, match="from_table"):
        load_spec(_write(tmp_path, doc))
    doc = yaml.safe_load(yaml.safe_dump(SPEC))
    doc["variables"]["bili"]["time_dependent"] = {"date": "lab_date", "from": "enrol_date"}
    with pytest.raises(SpecError, match="not both"):
        load_spec(_write(tmp_path, doc))


def test_methods_and_table1_say_how(results: dict[str, Any]) -> None:
    """Hand-written expectation: the methods paragraph explains the split at the measurement
    dates; Table 1 shows the last measurement (the default summary), checked against the
    lab sheet read in plain Python (last row of each patient in file order)."""
    import csv

    (line,) = [s for s in results["methods"]["sentences"] if "measured repeatedly" in s]
    assert "bilirubin, albumin" in line
    assert "split at the measurement dates" in line
    assert "last measurement" in line
    with (REF / "data" / "pbcseq_study_labs.csv").open(newline="") as fh:
        last = {r["id"]: float(r["bili"]) for r in csv.DictReader(fh)}
    vals = sorted(last.values())
    median = (vals[155] + vals[156]) / 2  # 312 patients
    row = next(r for r in results["table1"] if r["variable"] == "bili")
    assert row["n"] == len(last)
    assert row["median"] == pytest.approx(median, rel=1e-12)
    assert row["max"] == max(vals)


def test_table1_footnote_says_which_measurement(study: Any) -> None:
    from survstudy.tables.study import table1_table

    model = table1_table(study)
    assert model is not None
    (note,) = [f for f in model.footnotes if f.startswith("Measured during follow-up")]
    assert "Bilirubin: the last measurement" in note


def test_engines_refuse_a_measured_value(tmp_path: Path) -> None:
    """Property: with a data engine, SPEC-ENGINE-UNSUPPORTED before any work."""
    pytest.importorskip("duckdb")
    from survstudy.data.registry import derive_from_cohort
    from survstudy.engines import get_engine

    doc = yaml.safe_load(yaml.safe_dump(SPEC))
    doc["analyses"] = {"univariable": {"endpoints": ["OS"], "factors": ["bili"]}}
    spec = load_spec(_write(tmp_path, doc))
    eng = get_engine("duckdb", threads=1)
    try:
        derived = derive_from_cohort(build_cohort(spec), tmp_path / "cohort")
        with pytest.raises(SpecError) as info:
            run_study(spec, derived, data_engine=eng)
        assert info.value.code == "SPEC-ENGINE-UNSUPPORTED"
        assert info.value.message.startswith("time_dependent")
    finally:
        eng.close()


def test_a_bad_measurement_date_names_file_row_and_column(tmp_path: Path) -> None:
    """Hand-made defect: the second lab row of the sheet (spreadsheet row 3) has month 17."""
    path = _write(tmp_path)
    labs = (tmp_path / "labs.csv").read_text(encoding="utf-8").splitlines()
    assert labs[2].startswith("PBC001,1990-07-15,")
    labs[2] = labs[2].replace("1990-07-15", "1990-17-15")
    (tmp_path / "labs.csv").write_text("\n".join(labs) + "\n", encoding="utf-8")
    cohort = build_cohort(load_spec(path), strict=False)
    (issue,) = [i for i in cohort.report.issues if i.code == "DATE-UNPARSEABLE"]
    assert (issue.file, issue.row, issue.column) == ("labs.csv", 3, "lab_date")

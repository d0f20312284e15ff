"""build_cohort on a small seed-like spreadsheet: endpoints, flow, levels, denominators."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survstudy.data import build_cohort, load_cohort
from survstudy.errors import DataError
from survstudy.spec import load_spec

CSV = """\
pid;bc_surgery;lm_date;liver_surgery;progression;last_fu;death;grade;ki67;resection;ehm;rt;ht
P01;12/03/2008;15/06/2011;20/08/2011;;10/01/2020;;1;10,5;anatomical;no;1;1
P02;05/05/2010;01/07/2014;15/09/2014;03/04/2016;01/02/2017;01/02/2017;3;40;non-anatomical;no;1;0
P03;;01/02/2012;20/03/2012;;15/05/2019;;2;20;;no;yes;1
P04;01/01/2005;01/01/2009;01/03/2009;;01/01/2015;;3;80;anatomical;no;1;1
P05;01/01/2012;01/03/2016;01/05/2016;;01/01/2020;;3;30;anatomical;yes;1;0
"""

SPEC = """\
title: test
data:
  path: data.csv
  id: pid
  date_format: DMY
  cutoff: 2021-06-30
units: months
variables:
  pid: {type: identifier}
  bc_surgery: {type: date, label: Breast surgery}
  lm_date: {type: date, label: Liver metastasis detection}
  liver_surgery: {type: date}
  progression: {type: date}
  last_fu: {type: date}
  death: {type: date, label: Death}
  grade:
    type: categorical
    label: Histological grade
    levels: {I/II: [1, 2], III: [3]}
  ki67: {type: continuous, label: Ki-67 (%), range: [0, 100]}
  resection:
    type: categorical
    levels: {Anatomical: anatomical, Non-anatomical: non-anatomical}
    applicable_when: grade == "III"
  ehm: {type: binary}
  other:
    type: multiselect
    label: Other treatment
    options: {Radiotherapy: rt, Hormonotherapy: ht}
  lm_within_3y:
    type: binary
    derive: months_between(bc_surgery, lm_date) < 36
    levels: {"Within 3 years": [true], "After 3 years": [false]}
endpoints:
  DFS: {start: bc_surgery, events: lm_date}
  PFS: {start: liver_surgery, events: [progression, death], censor: last_fu}
  OS: {start: liver_surgery, events: death, censor: last_fu}
population:
  - include: liver_surgery >= date("2011-01-01") and liver_surgery <= date("2020-11-30")
    reason: Liver surgery outside January 2011 – November 2020
  - exclude: ehm == "Yes"
    reason: Extrahepatic metastasis at operation
"""


def days(a: str, b: str) -> float:
    return float((dt.date.fromisoformat(b) - dt.date.fromisoformat(a)).days)


@pytest.fixture
def study(tmp_path: Path) -> Path:
    (tmp_path / "data.csv").write_text(CSV, encoding="utf-8")
    (tmp_path / "study.yaml").write_text(SPEC, encoding="utf-8")
    return tmp_path / "study.yaml"


def test_flow_counts(study: Path) -> None:
    """Hand count: P04 operated 2009 (outside window), P05 has extrahepatic disease."""
    cohort = load_cohort(study)
    steps = [(s.n_before, s.n_excluded, s.n_after) for s in cohort.flow]
    assert steps == [(5, 0, 5), (5, 1, 4), (4, 1, 3)]
    assert cohort.flow[1].reason == "Liver surgery outside January 2011 – November 2020"
    # spreadsheet rows (header = row 1); the cohort is in its canonical order, not file order
    assert sorted(cohort.frame.index) == [2, 3, 4]


def test_endpoints_from_dates_in_whole_days(study: Path) -> None:
    """Hand calculation with datetime.date differences, DD/MM/YYYY read as the spec says."""
    f = load_cohort(study).frame
    assert f["PFS_time"].tolist() == [
        days("2011-08-20", "2020-01-10"),
        days("2014-09-15", "2016-04-03"),
        days("2012-03-20", "2019-05-15"),
    ]
    assert f["PFS_event"].tolist() == [0.0, 1.0, 0.0]
    assert f["OS_time"].tolist()[1] == days("2014-09-15", "2017-02-01")
    assert f["OS_event"].tolist() == [0.0, 1.0, 0.0]
    # P03 has no breast-surgery date (de novo): DFS not derivable
    assert f["DFS_time"].tolist()[:2] == [
        days("2008-03-12", "2011-06-15"),
        days("2010-05-05", "2014-07-01"),
    ]
    assert np.isnan(f["DFS_time"].iloc[2])
    assert np.isnan(f["DFS_event"].iloc[2])


def test_time_in_units_uses_30_4375_day_months(study: Path) -> None:
    """Identity: months = days / 30.4375."""
    cohort = load_cohort(study)
    assert cohort.days_per_unit == 30.4375
    got = cohort.time_in_units("OS").tolist()
    assert got[1] == pytest.approx(days("2014-09-15", "2017-02-01") / 30.4375, rel=1e-15)


def test_categories_levels_reference_and_denominator(study: Path) -> None:
    """Hand check: grade 1,2 -> I/II; resection applies only to grade III (1 of 3)."""
    cohort = load_cohort(study)
    grade = cohort.frame["grade"]
    assert isinstance(grade.dtype, pd.CategoricalDtype)
    assert list(grade.cat.categories) == ["I/II", "III"]
    assert grade.tolist() == ["I/II", "III", "I/II"]
    info = cohort.variables["grade"]
    assert (info.levels, info.reference) == (("I/II", "III"), "I/II")
    res = cohort.variables["resection"]
    assert res.denominator == 1
    assert cohort.frame["resection"].tolist()[1] == "Non-anatomical"
    assert pd.isna(cohort.frame["resection"].iloc[0])  # not applicable -> missing
    assert cohort.frame["ki67"].tolist() == [10.5, 40.0, 20.0]  # decimal comma


def test_derived_binary_and_multiselect(study: Path) -> None:
    """Hand calculation: P01 3.26 years, P02 4.16 years -> both after 3 years; P03 missing."""
    cohort = load_cohort(study)
    lm = cohort.frame["lm_within_3y"]
    assert lm.tolist()[:2] == ["After 3 years", "After 3 years"]
    assert pd.isna(lm.iloc[2])
    assert cohort.variables["lm_within_3y"].reference == "After 3 years"
    other = cohort.variables["other"]
    assert [label for label, _ in other.options] == ["Radiotherapy", "Hormonotherapy"]
    cols = [c for _, c in other.options]
    assert cohort.frame[cols[0]].tolist() == [1.0, 1.0, 1.0]  # 'yes' counts as selected
    assert cohort.frame[cols[1]].tolist() == [1.0, 0.0, 1.0]


def test_identifiers_and_dates_are_not_in_the_frame(study: Path) -> None:
    """Privacy: no identifier or date column, no id value anywhere in the frame."""
    frame = load_cohort(study).frame
    for col in ("pid", "bc_surgery", "death", "last_fu"):
        assert col not in frame.columns
    assert "P01" not in frame.to_csv()


def test_input_hash_and_spec_path(study: Path) -> None:
    """Identity: hashlib on the file's bytes."""
    import hashlib

    spec = load_spec(study)
    cohort = build_cohort(spec)
    assert (
        cohort.input_sha256 == hashlib.sha256((study.parent / "data.csv").read_bytes()).hexdigest()
    )
    assert spec.data_path == study.parent.resolve() / "data.csv"


def test_strict_raises_first_error(tmp_path: Path) -> None:
    """An event before the start date is an error; strict mode raises it."""
    (tmp_path / "data.csv").write_text(
        "id,start,death,fu\n1,2020-01-10,2020-01-01,2020-02-01\n2,2020-01-01,,2020-06-01\n"
    )
    (tmp_path / "s.yaml").write_text(
        "data: {path: data.csv, id: id}\nvariables:\n  id: {type: identifier}\n"
        "  start: {type: date}\n  death: {type: date}\n  fu: {type: date}\n"
        "endpoints:\n  OS: {start: start, events: death, censor: fu}\n"
    )
    with pytest.raises(DataError) as info:
        load_cohort(tmp_path / "s.yaml")
    assert info.value.row == 2
    cohort = load_cohort(tmp_path / "s.yaml", strict=False)
    codes = {i.code for i in cohort.report.errors}
    assert codes == {"DEATH-BEFORE-SURGERY", "FOLLOWUP-AFTER-DEATH"}
    assert info.value.code in codes


def test_grouped_levels_keep_their_original_values(study: Path) -> None:
    """Hand check: grade 1 and 2 are grouped as I/II; the detail column keeps 1 and 2."""
    cohort = load_cohort(study)
    info = cohort.variables["grade"]
    assert info.sublevels == {"I/II": ("1", "2"), "III": ("3",)}
    assert info.detail_column == "grade__detail"
    assert cohort.frame["grade__detail"].tolist() == ["1", "3", "2"]


def test_value_under_two_levels_is_a_spec_error(tmp_path: Path) -> None:
    from survstudy.errors import SpecError
    from survstudy.spec import load_spec_text

    with pytest.raises(SpecError, match="listed under two levels"):
        load_spec_text(
            "data: {path: d.csv}\nvariables:\n  g: {type: categorical, levels: {a: [1, 2], b: [2]}}\n"
        )

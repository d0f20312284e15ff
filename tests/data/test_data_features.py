"""Spec features through build_cohort, checked by hand: time columns, codes, cuts, horizon, formats."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from survstudy.data import load_cohort


def write(tmp_path: Path, spec: str, name: str = "d.csv", data: str | None = None) -> Path:
    if data is not None:
        (tmp_path / name).write_text(data)
    (tmp_path / "s.yaml").write_text(spec)
    return tmp_path / "s.yaml"


def test_time_column_in_months_with_event_codes(tmp_path: Path) -> None:
    """Hand calculation: 12 months = 365.25 days; Dead -> 1, Alive -> 0, Other -> competing."""
    s = write(
        tmp_path,
        "data: {path: d.csv}\nunits: months\nendpoints:\n  OS:\n    time: t\n    event: st\n"
        "    event_codes: {event: [Dead], censored: [Alive], competing: [Other death]}\n",
        data="t,st\n12,Dead\n6.5,alive\n3,Other death\n",
    )
    c = load_cohort(s)
    assert c.frame["OS_time"].tolist() == [12 * 30.4375, 6.5 * 30.4375, 3 * 30.4375]
    assert c.frame["OS_event"].tolist() == [1.0, 0.0, 0.0]
    assert c.frame["OS_status"].tolist() == [1.0, 0.0, 2.0]
    assert c.time_in_units("OS").tolist() == [12.0, 6.5, 3.0]


def test_true_false_event_column_without_mapping(tmp_path: Path) -> None:
    s = write(
        tmp_path,
        "data: {path: d.csv}\nunits: days\nendpoints:\n  OS: {time: t, event: st}\n",
        data="t,st\n10,TRUE\n20,false\n30,1\n",
    )
    assert load_cohort(s).frame["OS_event"].tolist() == [1.0, 0.0, 1.0]


def test_missing_codes_cuts_and_range(tmp_path: Path) -> None:
    """999 and 'unknown' mean missing; cuts [20] give <20 / ≥20 (20 itself is ≥20)."""
    s = write(
        tmp_path,
        "data: {path: d.csv, missing: [999, unknown]}\nvariables:\n"
        "  ki: {type: continuous, range: [0, 100]}\n"
        "  ki_group: {type: categorical, column: ki, cuts: [20]}\n"
        "  side: {type: categorical}\n",
        data="ki,side\n10,left\n20,unknown\n999,Right\n35,left\n",
    )
    c = load_cohort(s)
    assert c.frame["ki"].tolist()[:2] == [10.0, 20.0]
    assert np.isnan(c.frame["ki"].iloc[2])
    assert c.frame["ki_group"].tolist()[:2] == ["<20", "≥20"]
    assert list(c.frame["ki_group"].cat.categories) == ["<20", "≥20"]
    assert c.variables["side"].levels == ("left", "Right")
    assert c.variables["side"].n_missing == 1
    assert [i.code for i in c.report.warnings] == ["MISSING", "MISSING", "MISSING"]


def test_composite_competing_and_horizon(tmp_path: Path) -> None:
    """Hand calculation on literal rows (days since surgery)."""
    s = write(
        tmp_path,
        "data: {path: d.csv}\nunits: days\nvariables:\n"
        "  op: {type: date}\n  rec: {type: date}\n  dth: {type: date, label: Death}\n"
        "  other: {type: date}\n  fu: {type: date}\n"
        "endpoints:\n"
        "  RFS: {start: op, events: [rec, dth], censor: fu}\n"
        "  REC: {start: op, events: rec, competing: dth, censor: fu}\n"
        "  OS100: {start: op, events: dth, censor: fu, horizon: 100}\n",
        data=(
            "op,rec,dth,other,fu\n"
            "2020-01-01,2020-02-01,2020-03-01,,2020-03-01\n"  # rec day 31, death day 60
            "2020-01-01,,2020-01-21,,2020-01-21\n"  # death day 20
            "2020-01-01,,,,2020-12-31\n"  # censored day 365
        ),
    )
    f = load_cohort(s).frame
    assert f["RFS_time"].tolist() == [31.0, 20.0, 365.0]
    assert f["RFS_event"].tolist() == [1.0, 1.0, 0.0]
    assert f["REC_status"].tolist() == [1.0, 2.0, 0.0]
    assert f["REC_event"].tolist() == [1.0, 0.0, 0.0]
    assert f["OS100_time"].tolist() == [60.0, 20.0, 100.0]
    assert f["OS100_event"].tolist() == [1.0, 1.0, 0.0]


def test_xlsx_dates_and_sheet_through_the_spec(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Patients"
    ws.append(["Patient", "Op date", "Death", "Last seen", "Grade"])
    ws.append(["X1", dt.datetime(2015, 1, 1), None, dt.datetime(2016, 1, 1), "II"])
    ws.append(["X2", dt.datetime(2015, 6, 1), dt.datetime(2015, 7, 1), None, "III"])
    wb.save(tmp_path / "d.xlsx")
    s = write(
        tmp_path,
        "data: {path: d.xlsx, sheet: Patients, id: Patient}\nunits: days\nvariables:\n"
        "  op: {type: date, column: Op date}\n  death: {type: date, column: Death}\n"
        "  fu: {type: date, column: Last seen}\n"
        "  grade: {type: categorical, column: Grade, levels: {I/II: [I, II], III: [III]}}\n"
        "endpoints:\n  OS: {start: op, events: death, censor: fu}\n",
    )
    c = load_cohort(s)
    assert c.frame["OS_time"].tolist() == [365.0, 30.0]
    assert c.frame["OS_event"].tolist() == [0.0, 1.0]
    assert c.frame["grade"].tolist() == ["I/II", "III"]
    assert list(c.frame.index) == [2, 3]


def test_sav_labels_through_the_spec(tmp_path: Path) -> None:
    import pyreadstat

    frame = pd.DataFrame({"grade": [1.0, 2.0, 9.0, 1.0]})
    pyreadstat.write_sav(
        frame,
        str(tmp_path / "d.sav"),
        variable_value_labels={"grade": {1.0: "Low", 2.0: "High", 9.0: "Unknown"}},
        missing_ranges={"grade": [9.0]},
    )
    s = write(
        tmp_path,
        "data: {path: d.sav}\nvariables:\n  grade: {type: categorical, levels: [Low, High]}\n",
    )
    c = load_cohort(s)
    assert c.frame["grade"].tolist()[:2] == ["Low", "High"]
    assert pd.isna(c.frame["grade"].iloc[2])
    assert c.variables["grade"].n_missing == 1


def test_undeclared_id_column_is_still_private(tmp_path: Path) -> None:
    s = write(
        tmp_path,
        "data: {path: d.csv, id: mrn}\nvariables:\n  age: {type: continuous}\n",
        data="mrn,age\nQ-123,40\nQ-123,50\n",
    )
    c = load_cohort(s, strict=False)
    (issue,) = c.report.errors
    assert issue.code == "ID-DUPLICATE"
    assert "Q-123" not in repr(c.report.to_records())


def test_strict_error_names_all_rows(tmp_path: Path) -> None:
    from survstudy.errors import DataError

    s = write(
        tmp_path,
        "data: {path: d.csv}\nvariables:\n  g: {type: categorical, levels: [a, b]}\n",
        data="g\na\nc\nc\n",
    )
    with pytest.raises(DataError) as info:
        load_cohort(s)
    assert str(info.value).startswith(
        "[CATEGORY-UNKNOWN] d.csv, column 'g': rows 3, 4: value(s) not among the categories: "
        "'c' (rows 3, 4)"
    )


def test_the_data_layer_never_reads_the_clock() -> None:
    """The cut-off comes from the spec: no call to today()/now()/time() in spec or data code."""
    import re

    root = Path(__file__).resolve().parents[2] / "src" / "survstudy"
    pattern = re.compile(r"\b(today|now|utcnow)\(\)|time\.time\(\)")
    hits = [
        f"{p.name}:{i}"
        for sub in ("spec", "data")
        for p in sorted((root / sub).glob("*.py"))
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert hits == []


def test_multiselect_blank_cells_mean_not_selected(tmp_path: Path) -> None:
    """Hand check: checkbox columns with 'x' marks; blank = not selected unless told otherwise."""
    data = "rt,ht\nx,\n,x\nx,unknown\n"
    spec = (
        "data: {path: d.csv, missing: [unknown]}\nvariables:\n"
        "  tx: {type: multiselect, options: {RT: rt, HT: ht}, selected: [x]}\n"
        "  tx2: {type: multiselect, options: {RT: rt, HT: ht}, selected: [x], blank_is_no: false}\n"
    )
    c = load_cohort(write(tmp_path, spec, data=data))
    cols = dict(c.variables["tx"].options)
    assert c.frame[cols["RT"]].tolist() == [1.0, 0.0, 1.0]
    ht = c.frame[cols["HT"]].tolist()
    assert ht[:2] == [0.0, 1.0]
    assert np.isnan(ht[2])  # 'unknown' is a missing code, not a blank
    cols2 = dict(c.variables["tx2"].options)
    assert np.isnan(c.frame[cols2["RT"]].iloc[1])

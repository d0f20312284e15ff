"""A seed-shaped study (synthetic, 7 rows): every Table I construct, counted by hand from the CSV."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from survstudy.data import load_cohort

SPEC = Path(__file__).parent / "fixtures" / "seedlike.yaml"


def days(a: str, b: str) -> float:
    return float((dt.date.fromisoformat(b) - dt.date.fromisoformat(a)).days)


def test_flow() -> None:
    """S04 operated 2009 (outside the window); S05 had extrahepatic disease: 5 of 7 included."""
    cohort = load_cohort(SPEC)
    assert [(s.n_before, s.n_excluded, s.n_after) for s in cohort.flow] == [
        (7, 0, 7),
        (7, 1, 6),
        (6, 1, 5),
    ]
    assert list(cohort.frame.index) == [2, 3, 4, 7, 8]


def test_table1_constructs() -> None:
    cohort = load_cohort(SPEC)
    f = cohort.frame
    # grouped levels with their original values (S01 I, S02 III, S03 II, S06 II, S07 I)
    assert f["pt_stage"].value_counts(sort=False).to_dict() == {"I/II": 4, "III": 1}
    assert f["pt_stage__detail"].value_counts(sort=False).to_dict() == {"I": 2, "II": 2, "III": 1}
    # applicable only to resected patients (S06 had RFA): denominator 4
    res = cohort.variables["resection_type"]
    assert res.denominator == 4
    assert f["resection_type"].value_counts(sort=False).to_dict() == {
        "Anatomical": 1,
        "Non-anatomical": 3,
    }
    # multi-select rows, each counted among all 5
    opts = dict(cohort.variables["other_treatment"].options)
    assert f[opts["Adjuvant chemotherapy"]].sum() == 3
    assert f[opts["Radiotherapy"]].sum() == 5
    assert f[opts["Hormonotherapy"]].sum() == 4
    # derived binaries
    assert f["progression"].tolist() == ["No", "Yes", "No", "Yes", "No"]
    # S01 39 months, S02 49.9, S03 no BC date, S06 21.9, S07 49.8
    assert f["lm_within_3y"].tolist()[:2] == ["After 3 years", "After 3 years"]
    assert f["lm_within_3y"].tolist()[3:] == ["Within 3 years", "After 3 years"]
    assert cohort.variables["lm_within_3y"].reference == "After 3 years"


def test_endpoints() -> None:
    """Hand calculation; S07's follow-up (2021-01-15) is after the cut-off (2020-12-31)."""
    cohort = load_cohort(SPEC)
    f = cohort.frame
    assert f["PFS_time"].tolist() == [
        days("2011-08-20", "2020-01-10"),
        days("2014-09-15", "2016-04-03"),
        days("2012-03-20", "2019-05-15"),
        days("2015-01-20", "2016-06-01"),
        days("2016-03-01", "2020-12-31"),
    ]
    assert f["PFS_event"].tolist() == [0, 1, 0, 1, 0]
    assert f["OS_event"].tolist() == [0, 1, 0, 0, 0]
    assert cohort.endpoints["DFS"].n == 4  # S03 is de novo
    assert cohort.endpoints["DFS"].events == 4
    assert cohort.endpoints["PFS"].events == 2
    # IMMORTAL-TIME (issue 19): the univariable factor lm_within_3y of DFS is derived from
    # lm_date, DFS's own event date, which is after DFS's start for the 4 patients with one
    assert [i.code for i in cohort.report.issues] == [
        "ENDPOINT-NOT-DERIVED",
        "MISSING",
        "IMMORTAL-TIME",
    ]
    assert "for 4 patient(s)" in cohort.report.issues[2].message


def test_metadata_is_json_ready() -> None:
    import json

    cohort = load_cohort(SPEC)
    info = cohort.variables["resection_type"].to_dict()
    assert info["denominator"] == 4
    assert info["levels"] == ["Anatomical", "Non-anatomical"]
    ep = cohort.endpoints["OS"].to_dict()
    assert (ep["n"], ep["events"], ep["time_column"]) == (5, 1, "OS_time")
    json.dumps([v.to_dict() for v in cohort.variables.values()])
    json.dumps([s.to_dict() for s in cohort.flow])
    json.dumps(cohort.report.to_records())


def test_property_row_order_does_not_change_the_cohort(tmp_path: Path) -> None:
    """Property: shuffled rows give the same levels, flow counts and per-patient values."""
    import random
    import shutil

    src = SPEC.parent
    lines = (src / "seedlike.csv").read_text().splitlines()
    header, body = lines[0], lines[1:]
    base = load_cohort(SPEC)

    def canon(cohort):  # type: ignore[no-untyped-def]
        f = cohort.frame.reset_index(drop=True)
        cats = {c: list(f[c].cat.categories) for c in f.columns if f[c].dtype == "category"}
        rows = sorted(f.astype(str).apply(tuple, axis=1).tolist())
        return cats, rows, [(s.n_before, s.n_after) for s in cohort.flow]

    rng = random.Random(20240501)
    for _ in range(5):
        shuffled = body[:]
        rng.shuffle(shuffled)
        d = tmp_path / f"run{rng.random()}"
        d.mkdir()
        shutil.copy(SPEC, d / "seedlike.yaml")
        (d / "seedlike.csv").write_text("\n".join([header, *shuffled]) + "\n")
        assert canon(load_cohort(d / "seedlike.yaml")) == canon(base)


def test_cohort_pickles() -> None:
    """Identity: a pickled cohort gives the same frame (results travel between processes)."""
    import pickle

    cohort = load_cohort(SPEC)
    back = pickle.loads(pickle.dumps(cohort))
    assert back.frame.equals(cohort.frame)
    assert back.variables["pt_stage"].levels == ("I/II", "III")

"""Issue 15 item 4: the layout "last contact date + Alive/Dead status" as an endpoint
(``start`` + ``end`` + ``status`` + ``event_codes``), on tests/bad_inputs/cases/
ok_last_contact_status.

Kind of truth: hand computation with ``datetime`` on the sheet read by the csv module
(days from surgery to last contact; event where the status is Dead).
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pytest

from survstudy.data import load_cohort

CASE = Path(__file__).resolve().parents[1] / "bad_inputs" / "cases" / "ok_last_contact_status"


def _hand() -> tuple[list[float], list[int]]:
    def day(text: str) -> dt.date:
        return dt.datetime.strptime(text, "%d/%m/%Y").date()

    with open(CASE / "data.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    times = [float((day(r["last_contact"]) - day(r["surgery_date"])).days) for r in rows]
    return times, [int(r["vital_status"] == "Dead") for r in rows]


def test_time_and_event_from_end_date_and_status() -> None:
    cohort = load_cohort(CASE / "study.yaml")
    times, events = _hand()
    np.testing.assert_array_equal(cohort.columns["OS_time"], times)
    np.testing.assert_array_equal(cohort.columns["OS_event"], events)
    assert cohort.endpoints["OS"].events == sum(events)


def test_events_after_the_cutoff_are_censored_there(tmp_path: Path) -> None:
    """Hand rule: an end after the cut-off 2009-01-01 becomes a censoring at the cut-off."""
    for p in CASE.iterdir():
        shutil.copy(p, tmp_path / p.name)
    spec = (tmp_path / "study.yaml").read_text("utf-8")
    spec = spec.replace("date_format: DMY}", "date_format: DMY, cutoff: 2009-01-01}")
    (tmp_path / "study.yaml").write_text(spec, "utf-8")
    cohort = load_cohort(tmp_path / "study.yaml", strict=False)
    times, events = _hand()
    with open(CASE / "data.csv", newline="", encoding="utf-8") as fh:
        starts = [
            dt.datetime.strptime(r["surgery_date"], "%d/%m/%Y").date() for r in csv.DictReader(fh)
        ]
    cut = dt.date(2009, 1, 1)
    want_t, want_e = [], []
    for t, e, s in zip(times, events, starts, strict=True):
        limit = float((cut - s).days)
        want_t.append(min(t, limit))
        want_e.append(e if t <= limit else 0)
    np.testing.assert_array_equal(cohort.columns["OS_time"], want_t)
    np.testing.assert_array_equal(cohort.columns["OS_event"], want_e)
    codes = [i.code for i in cohort.report.issues]
    assert "EVENT-AFTER-CUTOFF" in codes


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        (
            "{start: surgery_date, end: last_contact}",
            "an endpoint from a status needs 'start' and 'end' (dates) and 'status'",
        ),
        (
            "{start: surgery_date, end: last_contact, status: vital_status, events: death_date}",
            "one form only",
        ),
    ],
)
def test_incomplete_or_mixed_status_forms_are_refused(endpoint: str, message: str) -> None:
    from survstudy.errors import SpecError
    from survstudy.spec import load_spec_text

    text = (
        "data: {path: d.csv}\nvariables:\n  surgery_date: {type: date}\n"
        "  last_contact: {type: date}\n  death_date: {type: date}\n"
        f"endpoints:\n  OS: {endpoint}\n"
    )
    with pytest.raises(SpecError) as err:
        load_spec_text(text)
    assert message in str(err.value)

"""The app shows the IMMORTAL-TIME warning next to the factor (issue 19, item 5).

The app builds its spec from the columns the user maps, so a group can reach the guard only
as a group made from a date column: the mapping step offers, for a date column, "group: with
a date vs without (fixed at the start)" (``derive: DATE is not missing``, the naive design the
guard flags) or "group: time-dependent (from the date on)" (``time_dependent: {from: DATE}``,
the remedy). The analyses form lists these groups with the other factors and shows the
warning of ``survstudy validate`` next to the affected one before it is chosen.

Kind of truth: R reference — the Stanford heart transplant spreadsheet written by
``tests/reference/timedep_study.R`` (``data/jasa_dates.csv``) and its fixture
``timedep_study.json``: the number of patients transplanted after the day of acceptance
(R: ``sum(txtime > 0)``), the naive ``coxph(Surv(futime, status) ~ transplant)`` and the
split-data ``coxph(Surv(tstart, tstop, death) ~ trt)``; also counted in plain Python below.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import Flow, texts

REF = Path(__file__).resolve().parents[1] / "reference"
JASA = REF / "data" / "jasa_dates.csv"
R = json.loads((REF / "timedep_study.json").read_text(encoding="utf-8"))


def _after_start() -> int:
    """Hand count: patients whose transplant date is after their acceptance date."""
    with JASA.open(newline="") as f:
        rows = list(csv.DictReader(f))
    return sum(
        1
        for r in rows
        if r["tx_date"]
        and dt.date.fromisoformat(r["tx_date"]) > dt.date.fromisoformat(r["accept_date"])
    )


def _to_analyses(flow: Flow, group: str) -> None:
    r = flow.upload("jasa.csv", JASA.read_bytes())
    assert r.status_code == 200
    changes = {
        "id:type": "identifier",
        "surgery:type": "binary",
        "tx_date:group": group,
        **{f"{d}:type": "date" for d in ("accept_date", "tx_date", "last_fu", "death_date")},
    }
    r = flow.save_columns(changes)
    assert r.url.path == "/endpoints", texts(r.text, "err")
    r = flow.endpoint_from_dates(
        "OS", "Overall survival", "accept_date", ["death_date"], ["last_fu"]
    )
    assert not texts(r.text, "err"), texts(r.text, "err")


def _row(rows: list[dict[str, Any]], variable: str) -> dict[str, Any]:
    return next(r for r in rows if r["variable"] == variable and r["level"] == "Yes")


def test_warning_next_to_a_group_made_from_a_later_date(flow: Flow) -> None:
    _to_analyses(flow, "fixed")
    page = flow.client.get("/analyses").text
    assert 'name="factors" value="with_tx_date"' in page
    (line,) = texts(page, "warn immortal-time")
    assert 'id="immortal-with_tx_date"' in page
    n = _after_start()
    assert n == R["naive"]["n_after_start"]  # R: sum(!is.na(txtime) & txtime > 0)
    assert line.startswith("warning: [IMMORTAL-TIME]")
    for part in ("'with_tx_date'", "'tx_date'", "OS", f"for {n} patient(s)"):
        assert part in line, part
    assert "time_dependent" in line  # the two remedies
    assert "landmark" in line
    (how,) = texts(page, "note immortal-remedy")
    assert "time-dependent (from the date on)" in how
    # the marker sits next to the flagged factor only
    assert page.count("(immortal time: see below)") == 1
    # running it anyway gives R's naive (biased) fit and the same warning in the results
    r = flow.run(survival=["OS"], landmarks="365", factors=["with_tx_date"])
    assert r.url.path.startswith("/results/"), texts(r.text, "err")
    run = r.url.path.rsplit("/", 1)[1]
    res = json.loads(flow.client.get(f"/runs/{run}/download/results.json").text)
    row = _row(res["univariable"]["OS"], "with_tx_date")
    assert row["coef"] == pytest.approx(R["naive"]["coef"], rel=1e-5)  # coxph converges ~1e-6
    assert any("[IMMORTAL-TIME]" in q and "'with_tx_date'" in q for q in res["data_quality"])
    spec = yaml.safe_load(flow.client.get(f"/runs/{run}/download/study.yaml").text)
    assert spec["variables"]["with_tx_date"]["derive"] == "tx_date is not missing"


def test_time_dependent_group_has_no_warning_and_is_split(flow: Flow) -> None:
    _to_analyses(flow, "time-dependent")
    page = flow.client.get("/analyses").text
    assert 'name="factors" value="with_tx_date"' in page
    assert texts(page, "warn immortal-time") == []
    assert "(immortal time" not in page
    r = flow.run(survival=["OS"], landmarks="365", factors=["with_tx_date"])
    assert r.url.path.startswith("/results/"), texts(r.text, "err")
    run = r.url.path.rsplit("/", 1)[1]
    res = json.loads(flow.client.get(f"/runs/{run}/download/results.json").text)
    uni = R["time_dependent"]["univariable"]
    row = _row(res["univariable"]["OS"], "with_tx_date")
    assert row["coef"] == pytest.approx(uni["coef"], rel=1e-5)  # coxph converges ~1e-6
    assert row["se"] == pytest.approx(uni["se"], rel=1e-5)
    assert res["univariable_summary"]["OS"]["time_dependent"] == ["with_tx_date"]
    assert not any("[IMMORTAL-TIME]" in q for q in res["data_quality"])
    spec = yaml.safe_load(flow.client.get(f"/runs/{run}/download/study.yaml").text)
    assert spec["variables"]["with_tx_date"]["time_dependent"] == {"from": "tx_date"}

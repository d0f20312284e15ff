"""Issue 15 item 12: "the methods paragraph mixes column names with labels". The methods
name variables and endpoints by their ``label:`` only; an unlabelled variable by its name
as words (``last_fu_date`` -> "last follow-up date",
``surgery_dt`` -> "surgery date", ``pfs_any`` opening a sentence -> "Pfs any"), never by the raw column name.

Kind of truth: the expected sentences are written by hand below from the spec's names.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

from survstudy.data import build_cohort
from survstudy.pipeline import run_study
from survstudy.report import build_bundle
from survstudy.spec import load_spec

SPEC = """\
title: Unlabelled dates
data: {path: data.csv, id: patient_id, date_format: DMY}
variables:
  patient_id: {type: identifier}
  surgery_dt: {type: date}
  last_fu_date: {type: date}
  DateOfDeath: {type: date}
  progression_date: {type: date}
  vital_status: {type: categorical, levels: [Alive, Dead]}
  tumour_size_mm: {type: continuous}
  ecog: {type: categorical, label: ECOG performance status}
endpoints:
  OS:
    start: surgery_dt
    end: last_fu_date
    status: vital_status
    event_codes: {event: [Dead], censored: [Alive]}
  pfs_any:
    start: surgery_dt
    events: [progression_date, DateOfDeath]
    censor: [last_fu_date]
analyses:
  table1: {variables: [tumour_size_mm, ecog]}
  survival: {endpoints: [OS, pfs_any], landmarks: [12]}
  univariable:
    endpoints: [OS, pfs_any]
    factors:
      - {variable: tumour_size_mm, transform: log}
      - ecog
"""
RAW = ["patient_id", "surgery_dt", "last_fu_date", "DateOfDeath", "progression_date"]
RAW += ["vital_status", "tumour_size_mm"]


def _write(tmp_path: Path) -> Path:
    with open(tmp_path / "data.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow([*RAW, "ecog"])
        for i in range(40):
            surgery = dt.date(2010, 1, 13) + dt.timedelta(days=11 * i)
            last = surgery + dt.timedelta(days=60 + 37 * i)
            dead = i % 3 == 0
            prog = surgery + dt.timedelta(days=30 + 17 * i) if i % 4 == 1 else None
            w.writerow(
                [
                    f"P{i:03d}",
                    surgery.strftime("%d/%m/%Y"),
                    last.strftime("%d/%m/%Y"),
                    last.strftime("%d/%m/%Y") if dead else "",
                    prog.strftime("%d/%m/%Y") if prog else "",
                    "Dead" if dead else "Alive",
                    10 + (i * 7) % 45,
                    str(i % 3),
                ]
            )
    (tmp_path / "study.yaml").write_text(SPEC, encoding="utf-8")
    return tmp_path / "study.yaml"


def test_methods_use_labels_or_words_never_column_names(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path))
    res = run_study(spec, build_cohort(spec))
    paragraph = build_bundle(res).methods
    for name in RAW:
        # as a word: "vital_status" may not appear, "pfs_any" may not either
        assert not re.search(rf"\b{re.escape(name)}\b", paragraph), (name, paragraph)
    assert "pfs_any" not in paragraph
    # the hand-written readable forms
    assert (
        "OS: from surgery date to last follow-up date, an event where the status at last "
        "follow-up date is Dead, censored otherwise." in paragraph
    )
    assert (
        "Pfs any: from surgery date to the first of progression date or date of death; "
        "censored at last follow-up date." in paragraph
    )
    assert "Tumour size mm entered the models as natural logarithms." in paragraph
    # the per-endpoint definitions written to results.json say the same
    for ep in res.endpoints.values():
        assert "surgery_dt" not in ep.definition
        assert "last_fu_date" not in ep.definition


def test_labels_win_over_names(tmp_path: Path) -> None:
    """A variable with a ``label:`` is named by it, as written (no rewording)."""
    text = SPEC.replace(
        "  last_fu_date: {type: date}", "  last_fu_date: {type: date, label: Last seen (clinic)}"
    )
    _write(tmp_path)
    (tmp_path / "study.yaml").write_text(text, encoding="utf-8")
    spec = load_spec(tmp_path / "study.yaml")
    res = run_study(spec, build_cohort(spec))
    paragraph = build_bundle(res).methods
    assert "from surgery date to Last seen (clinic), an event where" in paragraph
    assert "last follow-up date" not in paragraph

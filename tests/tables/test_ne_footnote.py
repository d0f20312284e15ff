"""Issue 15 item 12: "NE" is explained wherever a table prints it (kind of truth: identity
with the table's own cells)."""

from __future__ import annotations

import re
from pathlib import Path

from survstudy.data import load_cohort
from survstudy.pipeline import run_study
from survstudy.tables.study import NE_FOOTNOTE, study_tables

ROOT = Path(__file__).resolve().parents[2]


def test_every_table_printing_ne_explains_it() -> None:
    cohort = load_cohort(ROOT / "examples" / "bclm" / "study.yaml")
    tables = study_tables(run_study(cohort.spec, cohort))
    with_ne = 0
    for t in tables:
        shows = any(re.search(r"\bNE\b", c) for r in t.rows for c in r.cells.values())
        if shows:
            with_ne += 1
            assert sum("NE, not estimable" in f for f in t.footnotes) == 1, t.key
    # the seed study's OS table has a hazard ratio that does not exist (no death in a group)
    assert with_ne >= 1
    assert NE_FOOTNOTE.startswith("NE, not estimable")

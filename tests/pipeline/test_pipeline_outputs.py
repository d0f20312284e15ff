"""The GBSG report folder: every table in the HTML and the DOCX, risk tables in the SVGs,
byte-identical re-runs.

Kinds of truth: R reference (numbers at risk under the KM axis from tests/reference/gbsg.json),
identity (a second run with the same SOURCE_DATE_EPOCH gives the same bytes), property (each
table model's cells appear in the HTML and as a Word table).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "examples" / "gbsg" / "study.yaml"
R = json.loads((ROOT / "tests" / "reference" / "gbsg.json").read_text())

pytestmark = pytest.mark.slow


def _run(out: Path) -> None:
    env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000", PYTHONHASHSEED="0")
    res = subprocess.run(
        [sys.executable, "-m", "survstudy", "run", str(SPEC), "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert res.returncode == 0, res.stderr


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("gbsg") / "out"
    _run(d)
    return d


class _Tables(HTMLParser):
    """Collects the text of every <table> (one list of cell texts per table)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[str]] = []
        self.depth = 0
        self.cell: list[str] | None = None
        self.sup = 0  # note marks (<sup>) are not part of the cell's text

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "table":
            self.depth += 1
            self.tables.append([])
        elif tag in ("td", "th") and self.depth:
            self.cell = []
        elif tag == "sup":
            self.sup += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.depth -= 1
        elif tag in ("td", "th") and self.cell is not None:
            self.tables[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "sup":
            self.sup -= 1

    def handle_data(self, data: str) -> None:
        if self.cell is not None and not self.sup:
            self.cell.append(data)


def _models() -> list[Any]:
    from survstudy.data import build_cohort
    from survstudy.pipeline import run_study
    from survstudy.spec import load_spec
    from survstudy.tables.study import study_tables

    spec = load_spec(SPEC)
    return study_tables(run_study(spec, build_cohort(spec)))


def test_html_parses_and_holds_every_table(out: Path) -> None:
    """Property: each table model's non-empty cells appear in one HTML table, in order."""
    parser = _Tables()
    parser.feed((out / "report.html").read_text(encoding="utf-8"))
    cells = [c for t in parser.tables for c in t]
    for model in _models():
        for row in model.rows:
            for text in row.cells.values():
                if text:
                    assert " ".join(text.split()) in cells, (model.id, text)


def test_docx_has_every_table_as_a_word_table(out: Path) -> None:
    """Property: python-docx reads back one Word table per table model, with its cells."""
    import docx

    def text(cell: Any) -> str:
        # superscript runs are note marks, not part of the printed value
        runs = [r.text for p in cell.paragraphs for r in p.runs if not r.font.superscript]
        return " ".join("".join(runs).split())

    doc = docx.Document(str(out / "report.docx"))
    word_cells = [{text(c) for row in t.rows for c in row.cells} for t in doc.tables]
    for model in _models():
        wanted = {" ".join(v.split()) for r in model.rows for v in r.cells.values() if v}
        assert any(wanted <= cells for cells in word_cells), model.id


def test_km_svg_text_layer_has_the_numbers_at_risk(out: Path) -> None:
    """R reference: survfit(...~hormon) n.risk at 12, 36 and 60 months appear as SVG text."""
    svg = (out / "figures" / "km_RFS_by_hormon.svg").read_text(encoding="utf-8")
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg) or re.findall(r"<!-- (.*?) -->", svg)
    for n in R["km_hormon"]["at_n_risk"]:
        assert str(int(n)) in texts, n


def test_results_json_matches_r_and_carries_table1_text(out: Path) -> None:
    """R reference + identity: results.json numbers and Table 1 texts as printed."""
    data = json.loads((out / "results.json").read_text())
    assert data["endpoints"]["RFS"]["median"] == pytest.approx(R["km_overall"]["median"], rel=1e-9)
    texts = {(r["variable"], r["level"]): r["text"] for r in data["table1"]}
    assert texts[("hormon", "Yes")] == "246 (35.9)"
    assert texts[("age", None)] == "53 (46–61)"


def test_rerun_is_byte_identical(out: Path, tmp_path: Path) -> None:
    """Identity: the same input, spec and SOURCE_DATE_EPOCH give the same bytes in every file."""
    again = tmp_path / "again"
    _run(again)
    first = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    second = {p.relative_to(again): p.read_bytes() for p in again.rglob("*") if p.is_file()}
    assert sorted(first) == sorted(second)
    differ = [str(k) for k in first if first[k] != second[k]]
    assert differ == []

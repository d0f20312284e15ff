"""Report renderers on a hand-built bundle (tests/report/sample_bundle.py).

Kinds of truth: the expected cell texts, file names and escapes are written by
hand in the tests; determinism is an identity (two independent runs, bytes
equal); the leak check is a property (no planted string in any file).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from leak import assert_no_leak  # noqa: E402
from sample_bundle import EVIL, make_bundle, tables  # noqa: E402

from survstudy.errors import DataError, SurvstudyError  # noqa: E402
from survstudy.report import (  # noqa: E402
    FigureSpec,
    QualityNote,
    ReportBundle,
    methods_paragraph,
    write_report,
)
from survstudy.report.safe import canonical_json, neutralise, slug  # noqa: E402


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rep") / "out"
    write_report(make_bundle(), out)
    return out


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._in_cell = False
        self._buf = ""
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("td", "th"):
            self._in_cell, self._buf = True, ""
        if tag == "sup" and self._in_cell:
            self.cells.append(self._buf)
            self._in_cell = False

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._in_cell:
            self.cells.append(self._buf)
            self._in_cell = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_cell:
            self._buf += data


def _all_cells() -> list[str]:
    out = []
    for t in tables():
        out += [c.header for c in t.columns if c.header]
        out += [v for r in t.rows for v in r.cells.values() if v]
    return out


def test_written_files(report: Path) -> None:
    """Hand-listed layout of the report folder."""
    names = sorted(p.relative_to(report).as_posix() for p in report.rglob("*") if p.is_file())
    assert names == [
        "figures/km_pfs.pdf",
        "figures/km_pfs.png",
        "figures/km_pfs.svg",
        "report.docx",
        "report.html",
        "results.json",
        "tables.xlsx",
        "tables/survival_summary.csv",
        "tables/table1.csv",
        "tables/univariable_dfs.csv",
    ]


def test_html_parses_and_has_every_cell(report: Path) -> None:
    """Every cell text of every table is a cell of the HTML (hand-written cells)."""
    text = (report / "report.html").read_text("utf-8")
    p = _Collect()
    p.feed(text)
    p.close()
    cells = set(p.cells)
    missing = [c for c in _all_cells() if c not in cells]
    assert not missing
    assert "SYNTHETIC DATA — not real patients" in "".join(p.text)


def test_html_escapes_labels_and_loads_nothing(report: Path) -> None:
    """The <script> label is text; no script element, no http(s) load; CSP present."""
    text = (report / "report.html").read_text("utf-8")
    assert EVIL not in text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in text
    p = _Collect()
    p.feed(text)
    assert not [t for t, _ in p.tags if t in ("script", "link", "iframe", "object", "embed")]
    for _, attrs in p.tags:
        for k in ("src", "href"):
            v = attrs.get(k)
            assert v is None or v.startswith("data:"), v
    assert "http://" not in text.replace("=HYPERLINK(&#34;http://x&#34;)", "")
    assert "https://" not in text
    csp = [a for t, a in p.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert len(csp) == 1
    policy = csp[0]["content"] or ""
    assert "default-src 'none'" in policy
    assert "img-src data:" in policy
    assert '<img src="data:image/svg+xml;base64,' in text


def test_html_warning_markers_next_to_numbers(report: Path) -> None:
    """Warnings render as lettered superscripts (never digits beside numbers, issue 22
    item 8) in the cell they concern and as notes lettered a, b, c."""
    text = (report / "report.html").read_text("utf-8")
    assert '69 (31–89)<sup class="w">a</sup>' in text
    assert 'III<sup class="w">c</sup>' in text
    assert (
        '<ol class="warn" type="a"><li value="1">Fewer than 10 patients remained at risk.</li>'
        in text
    )
    assert "General caution about small samples." in text
    assert 'disease-free survival<sup class="w">b</sup></caption>' in text
    assert not re.search(r'<sup class="w">\d', text)


def test_docx_warning_markers_are_letters(report: Path) -> None:
    """In the Word report a warning mark is a superscript letter: the cell "69 (31–89)" with
    the first note reads "69 (31–89)a", never "69 (31–89)1" (issue 22 item 8)."""
    import docx

    doc = docx.Document(str(report / "report.docx"))
    sups = [
        r.text
        for t in doc.tables
        for row in t.rows
        for c in row.cells
        for p in c.paragraphs
        for r in p.runs
        if r.font.superscript
    ]
    assert sups
    assert all(s.isalpha() for s in sups)
    got = {c.text for t in doc.tables for row in t.rows for c in row.cells}
    assert "69 (31–89)a" in got
    assert "69 (31–89)1" not in got


def test_mark_label_letters() -> None:
    """1 -> a, 26 -> z, 27 -> aa, 28 -> ab (spreadsheet-column lettering, by hand)."""
    from survstudy.report._tables import mark_label

    assert [mark_label(n) for n in (1, 2, 26, 27, 28, 52, 53)] == [
        "a",
        "b",
        "z",
        "aa",
        "ab",
        "az",
        "ba",
    ]


def test_docx_has_tables(report: Path) -> None:
    """python-docx reads back every cell text, and the document is three-rule (no verticals)."""
    import docx

    doc = docx.Document(str(report / "report.docx"))
    got = {c.text for t in doc.tables for row in t.rows for c in row.cells}
    # A cell with a warning mark carries the mark's letter after its text.
    got |= {g[:-1] for g in got}
    assert not [c for c in _all_cells() if c not in got]
    assert len(doc.tables) == 3
    assert doc.core_properties.author == "survstudy"
    xml = zipfile.ZipFile(report / "report.docx").read("word/document.xml").decode()
    xml = "".join(xml.split("<w:tbl>")[1:])  # the tables only (the banner has a frame)
    assert 'w:left w:val="single"' not in xml
    assert 'w:insideV w:val="single"' not in xml
    assert len(doc.inline_shapes) == 1


def test_csv_and_xlsx_neutralise_formulas(report: Path) -> None:
    """Hand-chosen dangerous cells get a leading apostrophe; a printed negative number does not."""
    import openpyxl

    raw = (report / "tables" / "table1.csv").read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(raw)))
    assert rows[0] == ["variable", "category", "statistic"]
    assert rows[4] == [f"Site {EVIL}", '\'=HYPERLINK("http://x")', "'+1"]
    assert rows[5] == ["'@SUM(A1)", "'-cmd", "-0.5"]
    wb = openpyxl.load_workbook(report / "tables.xlsx")
    assert wb.sheetnames == ["table1", "survival_summary", "univariable_dfs"]
    ws = wb["table1"]
    assert ws["A1"].value == "Table 1. Characteristics of the patients"
    assert ws["A2"].value == "SYNTHETIC DATA — not real patients"
    assert [ws.cell(3, j).value for j in (1, 2, 3)] == [
        "Variable (n = 12)",
        "Category",
        "Statistics",
    ]
    values = [c.value for row in wb["table1"].iter_rows() for c in row]
    assert '\'=HYPERLINK("http://x")' in values
    assert "'@SUM(A1)" in values
    assert "'-cmd" in values
    assert "'+1" in values
    formulas = [c for row in wb["table1"].iter_rows() for c in row if c.data_type == "f"]
    assert not formulas


def test_neutralise_keeps_numbers() -> None:
    """Hand cases: numeric values are untouched, NaN becomes empty."""
    assert neutralise(-0.5) == -0.5
    assert neutralise(3) == 3
    assert neutralise(float("nan")) is None
    assert neutralise("-0.5") == "-0.5"
    assert neutralise("+1") == "'+1"
    assert neutralise("\tx") == "'\tx"
    assert neutralise("\rx") == "'\rx"
    assert neutralise("a=b") == "a=b"


def test_xlsx_numbers_stay_numbers(tmp_path: Path) -> None:
    """A record holding a float is a numeric cell (hand case)."""
    import openpyxl

    class T:
        key = "nums"
        title = ""
        columns = ()
        rows = ()

        def to_records(self) -> list[dict[str, object]]:
            return [{"x": -0.5, "y": "=1+1"}]

    write_report(ReportBundle(title="t", tables=[T()]), tmp_path / "o", formats=("xlsx", "csv"))
    ws = openpyxl.load_workbook(tmp_path / "o" / "tables.xlsx")["nums"]
    assert ws["A2"].value == -0.5
    assert ws["A2"].data_type == "n"
    assert ws["B2"].value == "'=1+1"
    assert ws["B2"].data_type == "s"
    assert (tmp_path / "o" / "tables" / "nums.csv").read_bytes().decode("utf-8-sig") == (
        "x,y\r\n-0.5,'=1+1\r\n"
    )


def test_results_json_canonical(report: Path) -> None:
    """Sorted keys, NaN -> null, tuples -> lists, newline at end (hand-written expectation)."""
    raw = (report / "results.json").read_bytes()
    assert raw.endswith(b"}\n")
    assert json.loads(raw) == {"hr": 9.87, "levels": ["II", "III"], "median": None, "n": 12}
    assert raw == canonical_json(json.loads(raw))
    assert list(json.loads(raw)) == sorted(json.loads(raw))


def _hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_byte_identical_in_process(tmp_path: Path) -> None:
    """Identity: the same bundle written twice gives the same bytes in every file."""
    write_report(make_bundle(), tmp_path / "a")
    write_report(make_bundle(), tmp_path / "b")
    assert _hashes(tmp_path / "a") == _hashes(tmp_path / "b")


@pytest.mark.slow
def test_byte_identical_across_environments(tmp_path: Path) -> None:
    """Identity: two runs in fresh processes with other TZ/LANG/hash seed give the same bytes."""
    script = HERE / "sample_bundle.py"
    envs = [
        {"TZ": "UTC", "LANG": "C.UTF-8", "PYTHONHASHSEED": "1"},
        {"TZ": "Pacific/Kiritimati", "LANG": "de_DE.UTF-8", "LC_ALL": "", "PYTHONHASHSEED": "987"},
    ]
    outs = []
    for i, extra in enumerate(envs):
        env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
        env.update(extra)
        out = tmp_path / f"run{i}"
        subprocess.run([sys.executable, str(script), str(out)], check=True, env=env, timeout=120)
        outs.append(_hashes(out))
    assert outs[0] == outs[1]
    assert len(outs[0]) == 10


def test_source_date_epoch_sets_document_dates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SOURCE_DATE_EPOCH=1700000000 is 2023-11-14T22:13:20Z (hand conversion)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    write_report(make_bundle(with_figure=False), tmp_path / "o", formats=("docx", "xlsx"))
    for name in ("report.docx", "tables.xlsx"):
        with zipfile.ZipFile(tmp_path / "o" / name) as z:
            core = z.read("docProps/core.xml").decode()
            assert "2023-11-14T22:13:20Z" in core
            assert {i.date_time for i in z.infolist()} == {(2023, 11, 14, 22, 13, 20)}


def test_refuses_to_overwrite_an_input(tmp_path: Path) -> None:
    """An input sitting where an output goes is never touched."""
    out = tmp_path / "o"
    out.mkdir()
    data = out / "results.json"
    data.write_text("precious")
    with pytest.raises(DataError, match="refusing to overwrite the input file"):
        write_report(make_bundle(with_figure=False), out, inputs=[data])
    assert data.read_text() == "precious"
    assert sorted(p.name for p in out.iterdir()) == ["results.json"]
    with pytest.raises(DataError):
        write_report(make_bundle(with_figure=False), out, inputs=[out])


def test_labels_become_safe_file_names(tmp_path: Path) -> None:
    """'../../etc/passwd' and '.hidden' as table/figure ids stay inside out_dir."""

    class T:
        def __init__(self, key: str) -> None:
            self.key = key
            self.title = key
            self.columns = ()
            self.rows = ()

        def to_records(self) -> list[dict[str, object]]:
            return [{"a": "1"}]

    fig_png = tmp_path / "f.png"
    fig_png.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    bundle = ReportBundle(
        title="t",
        tables=[T("../../etc/passwd"), T(".hidden"), T("../../etc/passwd")],
        figures=[FigureSpec("../../x/..", "c", files={"png": fig_png})],
    )
    out = tmp_path / "deep" / "o"
    written = write_report(bundle, out, formats=("csv",))
    names = sorted(p.relative_to(out).as_posix() for p in written)
    assert names == [
        "figures/x.png",
        "tables/etc_passwd.csv",
        "tables/etc_passwd_2.csv",
        "tables/hidden.csv",
    ]
    assert all(out.resolve() in p.resolve().parents for p in written)
    assert slug("../../etc/passwd") == "etc_passwd"
    assert slug("Überleben nach 3 Jahren") == "Uberleben_nach_3_Jahren"
    assert slug("...") == "item"
    assert len(slug("x" * 500)) == 64


def test_unknown_format_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SurvstudyError, match="unknown report format"):
        write_report(make_bundle(with_figure=False), tmp_path / "o", formats=("pdf",))


def test_quality_notes_show_row_and_column_only(tmp_path: Path) -> None:
    """Planted-identifier scaffold: notes carry row/column; planted values appear nowhere."""
    planted = ["Jane Q. Planted", "ID-PLANT-0042", "1971-03-14", "14.03.1971"]
    bundle = make_bundle()
    bundle = ReportBundle(
        **{
            **bundle.__dict__,
            "quality": [
                QualityNote(
                    "DATE-ORDER", "error", "death before surgery", row=3, column="death_date"
                ),
                QualityNote(
                    "ID-DUPLICATE", "error", "duplicate identifier", row=5, column="patient_id"
                ),
            ],
        }
    )
    write_report(bundle, tmp_path / "o")
    html = (tmp_path / "o" / "report.html").read_text("utf-8")
    assert "death_date" in html
    assert "patient_id" in html
    assert_no_leak(tmp_path / "o", planted)


def test_leak_helper_finds_strings_inside_containers(tmp_path: Path) -> None:
    """The leak helper itself: it must see text inside DOCX/XLSX zips and escaped HTML."""
    bundle = make_bundle(with_figure=False, title="Jane Q. Planted & co")
    write_report(bundle, tmp_path / "o", formats=("docx",))
    with pytest.raises(AssertionError, match=r"report\.docx!word/document\.xml"):
        assert_no_leak(tmp_path / "o", ["Jane Q. Planted"])
    write_report(ReportBundle(title="t", tables=[tables()[0]]), tmp_path / "y", formats=("xlsx",))
    with pytest.raises(AssertionError, match=r"tables\.xlsx!xl/"):
        assert_no_leak(tmp_path / "y", ["46 (29-57)"])
    write_report(ReportBundle(title="Tom & <Jerry>"), tmp_path / "z", formats=("html",))
    with pytest.raises(AssertionError):
        assert_no_leak(tmp_path / "z", ["Tom & <Jerry>"])


def test_methods_paragraph_words_the_facts() -> None:
    """Hand-written expected sentence from plain facts."""
    text = methods_paragraph(
        {
            "ci": "log-log",
            "tests": ["log-rank", "Breslow"],
            "cox": True,
            "ties": "Efron",
            "alpha": 0.05,
            "software": {"survstudy": "0.1.0", "R survival": "3.5-3"},
        }
    )
    assert text.startswith(
        "Survival was estimated with the Kaplan–Meier method, with 95% confidence intervals "
        "on the log-log scale (Greenwood variance)."
    )
    assert "compared with the log-rank and Breslow tests." in text
    assert "(Efron method for tied event times)." in text
    assert "p < 0.05 was considered statistically significant" in text
    assert text.endswith("Analyses were performed with survstudy 0.1.0 and R survival 3.5-3.")


_VOID = {"meta", "img", "br", "hr", "link", "input", "col", "area", "base", "wbr", "source"}


class _Nesting(HTMLParser):
    """Checks that every non-void element is closed, in order (html.parser does not)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def test_html_is_well_nested(report: Path, tmp_path: Path) -> None:
    """Property: the HTML of the sample and of an empty bundle is well nested."""
    write_report(ReportBundle(title="Empty"), tmp_path / "e", formats=("html",))
    for path in (report / "report.html", tmp_path / "e" / "report.html"):
        p = _Nesting()
        p.feed(path.read_text("utf-8"))
        p.close()
        assert not p.errors
        assert p.stack == []

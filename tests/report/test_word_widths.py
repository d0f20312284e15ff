"""Word column widths of a wide table (report.word._widths).

Kind of truth: property (the widths fill the text width and no number column is
narrower than its longest cell), hand calculation (the 1.65 mm-per-character rule).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from survstudy.report.word import _header_pieces, _layout, _widths


def test_wide_table_keeps_numbers_unwrapped() -> None:
    """Property: 8 columns (the bclm OS univariable table) fit 170 mm, numbers whole."""
    cols = [
        ("variable", "Variable"),
        ("hr", "HR (95% CI)"),
        ("p", "p"),
        ("firth_hr", "Firth HR (95% CI)"),
        ("firth_p", "Firth p"),
        ("logrank", "Log Rank (Mantel-Cox) p"),
        ("breslow", "Breslow (Generalized Wilcoxon) p"),
        ("detectable", "Detectable HR"),
    ]
    body = [
        (
            "summary",
            ["Tumour size-breast (per mm)", "0.997 (0.937–1.061)", "0.919", "", "", "", "", ""],
        ),
        ("level", ["III", "NE", "0.176", "2.92 (0.24–403.87)", "0.442", "", "", "31"]),
        ("label", ["Histological grade", "", "", "", "", "0.281", "0.285", ""]),
    ]
    w, size, landscape = _layout(cols, body)
    # hand calculation: whole header words need 36.35 + 13.25 + 34.7 + 14.75 + 20.6 + 28.4
    # + 24.5 = 172.55 mm at 9 pt (+ 30 mm label > 170 mm portrait; 8 and 8.5 pt neither),
    # so the table goes on a landscape page (257 mm) at 9 pt
    assert landscape
    assert size == 9.0
    assert sum(w) == pytest.approx(257.0)
    assert w[0] >= 30.0
    # hand calculation: 19 characters × 1.65 mm + 5 mm padding = 36.35 mm
    assert w[1] >= 19 * 1.65 + 5.0 - 1e-9
    assert w[3] >= 18 * 1.65 + 5.0 - 1e-9
    for j in (2, 4, 5, 6):
        assert w[j] >= 5 * 1.65 + 5.0 - 1e-9
    # header words never break: "(Generalized" 12 × 1.95 + 5 = 28.4 mm, "Detectable"
    # 10 × 1.95 + 5 = 24.5 mm, "(Mantel-" (a hyphen may end a line) 8 × 1.95 + 5 = 20.6 mm
    assert w[6] >= 12 * 1.95 + 5.0 - 1e-9
    assert w[7] >= 10 * 1.95 + 5.0 - 1e-9
    assert w[5] >= 8 * 1.95 + 5.0 - 1e-9


def test_header_pieces_split_at_spaces_and_hyphens_only() -> None:
    """Hand calculation: the places a header may wrap."""
    assert _header_pieces("Log Rank (Mantel-Cox) p") == ["Log", "Rank", "(Mantel-", "Cox)", "p"]
    assert _header_pieces("Breslow (Generalized Wilcoxon) p") == [
        "Breslow",
        "(Generalized",
        "Wilcoxon)",
        "p",
    ]


def test_medium_table_shrinks_font_before_turning_the_page() -> None:
    """Hand calculation: whole header words need 36.35 + 13.25 + 28.4 + 24.5 + 26.45
    = 128.95 mm at 9 pt; + 30 mm label = 158.95 <= 170 mm: portrait at 9 pt, label the rest."""
    cols = [
        ("variable", "Variable"),
        ("hr", "HR (95% CI)"),
        ("p", "p"),
        ("breslow", "Breslow (Generalized Wilcoxon) p"),
        ("detectable", "Detectable HR"),
        ("perm", "Exact permutation p"),
    ]
    body = [("summary", ["Age", "0.997 (0.937–1.061)", "0.919", "0.1", "31", "0.5"])]
    w, size, landscape = _layout(cols, body)
    assert not landscape
    assert size == 9.0
    assert w[5] == pytest.approx(11 * 1.95 + 5.0)
    assert sum(w) == pytest.approx(170.0)


def test_narrow_table_unchanged() -> None:
    """Hand calculation: a 3-column table keeps header-word widths; label takes the rest."""
    cols = [("variable", "Variable"), ("hr", "HR (95% CI)"), ("p", "p")]
    body = [("summary", ["Age", "1.00 (0.92–1.08)", "0.995"])]
    w = _widths(cols, body)
    assert w[1] == pytest.approx(16 * 1.65 + 5.0)
    assert w[2] == pytest.approx(max(5 * 1.65, 1 * 1.95, 6.6) + 5.0)
    assert w[0] == pytest.approx(170.0 - w[1] - w[2])


def test_bclm_docx_wide_tables_landscape_header_words_whole(tmp_path: Path) -> None:
    """Property (the rendered document): the wide bclm univariable tables sit on landscape
    pages, the narrower tables on portrait pages, and every header cell of every table is at
    least as wide as its longest header piece at the table's font size (no "Breslo-w")."""
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.shared import Mm

    from survstudy.data import build_cohort
    from survstudy.pipeline import run_study
    from survstudy.report import build_bundle, write_report
    from survstudy.spec import load_spec

    spec = load_spec(Path(__file__).resolve().parents[2] / "examples" / "bclm" / "study.yaml")
    write_report(build_bundle(run_study(spec, build_cohort(spec))), tmp_path, formats=("docx",))
    d = docx.Document(str(tmp_path / "report.docx"))
    body = d.element.body
    orient_of_table: list[bool] = []
    # a section's properties close it: tables before a sectPr belong to that section
    pending = 0
    for el in body.iterchildren():
        if el.tag.endswith("}tbl"):
            pending += 1
        sect = el.find(".//" + el.tag.split("}")[0] + "}sectPr") if el.tag.endswith("}p") else None
        if el.tag.endswith("}sectPr") or sect is not None:
            s = el if el.tag.endswith("}sectPr") else sect
            pg = s.find(s.tag.split("}")[0] + "}pgSz")
            land = pg is not None and int(pg.get(pg.tag.split("}")[0] + "}w")) > int(
                pg.get(pg.tag.split("}")[0] + "}h")
            )
            orient_of_table += [land] * pending
            pending = 0
    assert len(orient_of_table) == len(d.tables)
    for table, land in zip(d.tables, orient_of_table, strict=True):
        header = [c.text for c in table.rows[0].cells]
        if header[:2] == ["Variable", "HR (95% CI)"]:
            # OS (Firth columns, 10 in all) and, since the PH-test column (issue 22), DFS/PFS
            # (8) need a landscape page; 7 columns fitted a portrait page at 8 pt
            assert land == (len(header) >= 8), header
        size = table.rows[0].cells[0].paragraphs[0].runs[0].font.size.pt
        for cell in table.rows[0].cells[1:]:
            pieces = _header_pieces(cell.text)
            need = max([len(x) for x in pieces] + [0]) * 1.95 * size / 9 + 5.0
            # widths are stored in twips: allow their rounding (0.05 mm)
            assert cell.width >= Mm(need) - Mm(0.05), (cell.text, cell.width, need)
    assert d.sections[-1].orientation == WD_ORIENT.PORTRAIT

"""report.docx: real Word tables in a plain journal style (three rules, no vertical lines).

python-docx builds the document; the saved package is then rewritten by
:func:`survstudy.report.safe.normalise_zip` (fixed zip timestamps and core
properties) so the bytes do not depend on the clock.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from survstudy.report import _tables as T
from survstudy.report.bundle import ReportBundle
from survstudy.report.safe import fixed_datetime, normalise_zip
from survstudy.tables import format as fmt

__all__ = ["render_docx"]

_FONT = "Times New Roman"


def _plain_font(style: Any) -> None:
    """Times New Roman for every script: drop the theme-font attributes that override it."""
    from docx.oxml.ns import qn

    style.font.name = _FONT
    rfonts = style.element.get_or_add_rPr().find(qn("w:rFonts"))
    if rfonts is None:
        return
    for attr in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        rfonts.attrib.pop(qn(f"w:{attr}"), None)
    for attr in ("ascii", "hAnsi", "cs"):
        rfonts.set(qn(f"w:{attr}"), _FONT)


def _box(paragraph: Any) -> None:
    """A red frame around a paragraph (the synthetic-data banner)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    ppr = paragraph._p.get_or_add_pPr()
    bdr = OxmlElement("w:pBdr")
    for edge in ("top", "left", "bottom", "right"):
        b = OxmlElement(f"w:{edge}")
        b.set(qn("w:val"), "single")
        b.set(qn("w:sz"), "12")
        b.set(qn("w:space"), "4")
        b.set(qn("w:color"), "B00000")
        bdr.append(b)
    ppr.append(bdr)


def _header_row(row: Any) -> None:
    """Repeat the header row on every page and never split a row across pages."""
    from docx.oxml import OxmlElement

    trpr = row._tr.get_or_add_trPr()
    for tag in ("w:cantSplit", "w:tblHeader"):
        trpr.append(OxmlElement(tag))


def _border(el: Any, edges: dict[str, int]) -> None:
    """Set single-line borders (size in eighths of a point) on a tblPr/tcPr element."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tag = "w:tblBorders" if el.tag.endswith("tblPr") else "w:tcBorders"
    borders = el.find(qn(tag))
    if borders is None:
        borders = OxmlElement(tag)
        el.append(borders)
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        if tag == "w:tcBorders" and edge.startswith("inside"):
            continue
        b = OxmlElement(f"w:{edge}")
        size = edges.get(edge, 0)
        b.set(qn("w:val"), "single" if size else "nil")
        if size:
            b.set(qn("w:sz"), str(size))
            b.set(qn("w:space"), "0")
            b.set(qn("w:color"), "000000")
        old = borders.find(qn(f"w:{edge}"))
        if old is not None:
            borders.remove(old)
        borders.append(b)


def _cell_text(
    cell: Any,
    text: str,
    *,
    bold: bool = False,
    italic: bool = False,
    marks: list[int] | None = None,
    fmarks: list[str] | None = None,
    size: float = 9.0,
    indent: int = 0,
    align: str = "left",
) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt

    p = cell.paragraphs[0]
    p.paragraph_format.space_before = Pt(1)
    p.paragraph_format.space_after = Pt(1)
    if indent:
        p.paragraph_format.left_indent = Mm(4 * indent)
    if align == "right":
        p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    elif align == "center":
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = p.add_run(text)
    run.bold = bold
    run.italic = italic
    run.font.size = Pt(size)
    for m in fmarks or []:
        sup = p.add_run(m)
        sup.font.superscript = True
        sup.font.size = Pt(size)
    for n in marks or []:
        sup = p.add_run(T.mark_label(n))
        sup.font.superscript = True
        sup.font.size = Pt(size)


#: text width (mm) of an A4 page with 20 mm margins, by orientation
_TEXT_WIDTH = {False: 170.0, True: 257.0}
#: font sizes (pt) tried for a table, portrait first, then landscape
_SIZES = (9.0, 8.5, 8.0)
_LANDSCAPE_SIZES = (9.0, 8.5, 8.0, 7.5, 7.0)
_LABEL_MIN = 30.0  # mm; the label column wraps at spaces


def _header_pieces(header: str) -> list[str]:
    """The pieces a header may wrap between: at spaces and after a hyphen, en dash or
    slash ("(Mantel-Cox)" -> "(Mantel-", "Cox)"), never inside a word."""
    return [piece for word in header.split() for piece in re.findall(r"[^-–/]+[-–/]?|[-–/]", word)]


def _needs(
    cols: list[tuple[str, str]], body: list[tuple[str, list[str]]], size: float
) -> tuple[list[float], list[float]]:
    """Per number column at ``size`` pt: (width keeping header pieces whole, width of the
    longest cell). About 1.65 mm per character at 9 pt for cells, 1.95 mm for bold header
    characters, scaled with the font size; 5 mm of cell padding."""
    k = size / 9.0
    need, floor = [], []
    for j in range(1, len(cols)):
        cell = max([len(c[j]) for _, c in body] + [0]) * 1.65 * k
        head = max([len(x) for x in _header_pieces(cols[j][1])] + [0]) * 1.95 * k
        need.append(min(max(cell, head, 6.6 * k) + 5.0, 60.0))
        floor.append(min(max(cell, 6.6 * k) + 5.0, 60.0))
    return need, floor


def _layout(
    cols: list[tuple[str, str]], body: list[tuple[str, list[str]]]
) -> tuple[list[float], float, bool]:
    """Column widths (mm), font size (pt) and orientation (``True``: landscape) of a table.

    Numbers never wrap and header words never break mid-word ("Breslo-w"): the table
    takes the first of portrait at 9, 8.5 or 8 pt, then a landscape page at 9 down to
    7 pt, where every number column is as wide as its longest cell and its longest header
    piece and the label column keeps at least 30 mm (it takes the rest). Only a table too
    wide even for that falls back to landscape at 7 pt with header words allowed to break
    (the numbers still whole when they fit at all).
    """
    ncol = max(len(cols), 1)
    if ncol == 1:
        return [_TEXT_WIDTH[False]], 9.0, False
    for landscape, sizes in ((False, _SIZES), (True, _LANDSCAPE_SIZES)):
        total = _TEXT_WIDTH[landscape]
        for size in sizes:
            need, _floor = _needs(cols, body, size)
            if total - sum(need) >= _LABEL_MIN:
                return [total - sum(need), *need], size, landscape
    total, size = _TEXT_WIDTH[True], 7.0
    need, floor = _needs(cols, body, size)
    label = max(_LABEL_MIN, min(45.0, total - sum(floor)))
    room = total - label - sum(floor)
    excess = [n - f for n, f in zip(need, floor, strict=True)]
    if room >= 0 and sum(excess) > 0:
        keep = min(1.0, room / sum(excess))
        need = [f + e * keep for f, e in zip(floor, excess, strict=True)]
        return [total - sum(need), *need], size, True
    scale = (total - label) / sum(floor)
    return [label, *(f * scale for f in floor)], size, True


def _widths(cols: list[tuple[str, str]], body: list[tuple[str, list[str]]]) -> list[float]:
    """Column widths (mm) of :func:`_layout` (portrait: they add up to 170 mm)."""
    return _layout(cols, body)[0]


def _is_landscape(t: Any) -> bool:
    return _layout(T.columns(t), T.rows(t))[2]


def _orient(doc: Any, landscape: bool) -> None:
    """Start a new page section in the given orientation unless the last one has it."""
    from docx.enum.section import WD_ORIENT, WD_SECTION
    from docx.shared import Mm

    sec = doc.sections[-1]
    if (sec.orientation == WD_ORIENT.LANDSCAPE) == landscape:
        return
    new = doc.add_section(WD_SECTION.NEW_PAGE)
    new.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    new.page_width, new.page_height = (Mm(297), Mm(210)) if landscape else (Mm(210), Mm(297))


def _add_table(doc: Any, t: Any, marks: Any, notes: dict[str, list[tuple[int, str]]]) -> None:
    from docx.shared import Mm, Pt

    k = T.key(t)
    cols = T.columns(t)
    body = T.rows(t)
    al = T.aligns(t)
    info = T.row_info(t)
    ind = T.indents(t)
    widths, size, landscape = _layout(cols, body)
    _orient(doc, landscape)
    cap = doc.add_paragraph()
    cap.paragraph_format.keep_with_next = True
    cap.paragraph_format.space_before = Pt(12)
    r = cap.add_run(T.title(t))
    r.bold = True
    r.font.size = Pt(10)
    for n in marks.get((k, None, None), []):
        sup = cap.add_run(T.mark_label(n))
        sup.font.superscript = True
        sup.font.size = Pt(10)
    table = doc.add_table(rows=1 + len(body), cols=max(len(cols), 1))
    table.autofit = False
    for j, w in enumerate(widths):
        table.columns[j].width = Mm(w)
        for cell in table.columns[j].cells:
            cell.width = Mm(w)
    _header_row(table.rows[0])
    tbl_pr = table._tbl.tblPr
    _border(tbl_pr, {})  # rules are drawn on the cells: top, under the header, bottom
    for j, (_, label) in enumerate(cols):
        cell = table.rows[0].cells[j]
        _cell_text(cell, label, bold=True, size=size, align=al[j] if j < len(al) else "left")
        _border(cell._tc.get_or_add_tcPr(), {"top": 12, "bottom": 6})
    for i, (kind, cells) in enumerate(body):
        row = table.rows[i + 1]
        for j, text in enumerate(cells):
            _cell_text(
                row.cells[j],
                text,
                bold=(kind == "label" and j == 0),
                italic=(kind == "missing"),
                indent=ind[i] if j == 0 else 0,
                marks=T.cell_marks(marks, k, i, j, cols[j][0]),
                fmarks=info[i][1] if j == 0 else [],
                size=size,
                align=al[j] if j < len(al) else "left",
            )
            if i == len(body) - 1:
                _border(row.cells[j]._tc.get_or_add_tcPr(), {"bottom": 12})
    if len(body) <= 35:
        # A short table stays on one page with its title: every row keeps with the next.
        for row in table.rows[:-1]:
            for cell in row.cells:
                for par in cell.paragraphs:
                    par.paragraph_format.keep_with_next = True
    for f in T.footnotes(t):
        p = doc.add_paragraph()
        p.paragraph_format.space_after = Pt(0)
        run = p.add_run(f)
        run.font.size = Pt(8)
    for n, m in notes.get(k, []):
        p = doc.add_paragraph()
        p.paragraph_format.space_after = Pt(0)
        s = p.add_run(T.mark_label(n))
        s.font.superscript = True
        s.font.size = Pt(8)
        run = p.add_run(" " + m)
        run.font.size = Pt(8)


def render_docx(bundle: ReportBundle, figure_files: list[dict[str, Path]]) -> bytes:
    """The Word document as deterministic bytes."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt, RGBColor

    doc = docx.Document()
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.left_margin = sec.right_margin = Mm(20)
    sec.top_margin = sec.bottom_margin = Mm(20)
    normal = doc.styles["Normal"]
    normal.font.name = _FONT
    normal.font.size = Pt(10.5)
    for name in ("Title", "Heading 1", "Heading 2"):
        st = doc.styles[name]
        _plain_font(st)
        st.font.color.rgb = RGBColor(0, 0, 0)
    doc.styles["Heading 1"].font.size = Pt(13)
    doc.styles["Title"].font.size = Pt(17)
    _plain_font(normal)

    when = fixed_datetime().replace(tzinfo=None)
    cp = doc.core_properties
    cp.author = "survstudy"
    cp.last_modified_by = "survstudy"
    cp.created = when
    cp.modified = when
    cp.last_printed = when
    cp.revision = 1
    cp.title = bundle.title[:255]
    cp.comments = ""

    h = doc.add_paragraph()
    h.paragraph_format.space_after = Pt(6)
    hr = h.add_run(bundle.title)
    hr.bold = True
    hr.font.size = Pt(17)
    if bundle.subtitle:
        doc.add_paragraph(bundle.subtitle)
    if bundle.banner:
        p = doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _box(p)
        r = p.add_run(bundle.banner)
        r.bold = True
        r.font.size = Pt(12)
        r.font.color.rgb = RGBColor(0xB0, 0, 0)

    if bundle.flow:
        doc.add_heading("Inclusion flow", level=1)
        for i, s in enumerate(bundle.flow):
            if i and s.excluded:
                p = doc.add_paragraph()
                p.paragraph_format.left_indent = Mm(8)
                run = p.add_run(
                    f"→ excluded (n = {fmt.count(s.excluded)})"
                    + (f": {s.reason}" if s.reason else "")
                )
                run.italic = True
            p = doc.add_paragraph()
            run = p.add_run(f"{s.description}: n = {fmt.count(s.n)}")
            run.bold = True

    if bundle.quality:
        doc.add_heading("Data-quality notes", level=1)
        for q in bundle.quality:
            where = ", ".join(
                x for x in (f"row {q.row}" if q.row is not None else "", q.column or "") if x
            )
            doc.add_paragraph(
                f"{q.severity} {q.code}" + (f" ({where})" if where else "") + f": {q.message}",
                style="List Bullet",
            )

    tables = list(bundle.tables)
    marks, notes, general = T.warning_marks(tables, list(bundle.warnings))
    own_tables = {k for part in bundle.sections for k in part.tables}
    own_figs = {f for part in bundle.sections for f in part.figures}
    front = [t for t in tables if T.key(t).startswith(("table1", "surv"))]
    back = [t for t in tables if t not in front and T.key(t) not in own_tables]
    if front:
        _orient(doc, _is_landscape(front[0]))  # the heading goes on the table's page
        doc.add_heading("Tables", level=1)
    for t in front:
        _add_table(doc, t, marks, notes)
    _orient(doc, False)  # figures on portrait pages

    def add_figure(i: int, f: Any, files: dict[str, Path]) -> None:
        if "png" in files:
            # Native size (PNG dpi), shrunk to the 170 mm text width if wider.
            pic = doc.add_picture(str(files["png"]))
            if pic.width > Mm(170):
                pic.height = int(pic.height * Mm(170) / pic.width)
                pic.width = Mm(170)
            doc.paragraphs[-1].paragraph_format.keep_with_next = True
            doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        p = doc.add_paragraph()
        r = p.add_run(f"Figure {i + 1}. ")
        r.bold = True
        p.add_run(f.caption).font.size = Pt(9.5)

    numbered = list(enumerate(zip(bundle.figures, figure_files, strict=True)))
    general_figs = [(i, f, files) for i, (f, files) in numbered if f.id not in own_figs]
    if general_figs:
        doc.add_heading("Figures", level=1)
        for i, f, files in general_figs:
            add_figure(i, f, files)
    if back:
        _orient(doc, _is_landscape(back[0]))
        doc.add_heading("Regression analyses", level=1)
    for t in back:
        _add_table(doc, t, marks, notes)
    _orient(doc, False)
    # sections of their own (a treatment comparison): its tables, figures and methods
    by_key = {T.key(t): t for t in tables}
    by_id = {f.id: (i, f, files) for i, (f, files) in numbered}
    for part in bundle.sections:
        sec_tables = [by_key[k] for k in part.tables if k in by_key]
        if sec_tables:
            _orient(doc, any(_is_landscape(t) for t in sec_tables))
        doc.add_heading(part.title, level=1)
        for t in sec_tables:
            _add_table(doc, t, marks, notes)
        _orient(doc, False)
        for fid in part.figures:
            if fid in by_id:
                add_figure(*by_id[fid])
        if part.paragraphs and part.heading:
            doc.add_heading(part.heading, level=2)
        for para in part.paragraphs:
            doc.add_paragraph(str(para))
    if general:
        doc.add_heading("Warnings", level=1)
        for m in general:
            doc.add_paragraph(m, style="List Bullet")
    if bundle.methods:
        doc.add_heading("Statistical analysis", level=1)
        doc.add_paragraph(bundle.methods)
        if bundle.references:
            doc.add_heading("References", level=2)
            for i, ref in enumerate(bundle.references, 1):
                doc.add_paragraph(f"{i}. {ref}")
    prov = bundle.provenance
    doc.add_heading("Provenance", level=1)
    lines = [
        f"Input SHA-256: {prov.input_sha256 or '—'}",
        f"Spec SHA-256: {prov.spec_sha256 or '—'}",
    ]
    if prov.command:
        lines.append(f"Command: {prov.command}")
    lines += [
        f"{k}: {v}" for k, v in sorted((str(a), str(b)) for a, b in dict(prov.versions).items())
    ]
    if prov.date:
        lines.append(f"Date: {prov.date}")
    for line in lines:
        p = doc.add_paragraph()
        p.paragraph_format.space_after = Pt(0)
        p.add_run(line).font.size = Pt(8)

    buf = io.BytesIO()
    doc.save(buf)
    return normalise_zip(buf.getvalue())

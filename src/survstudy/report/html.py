"""report.html: one self-contained, print-friendly file.

jinja2 with autoescaping renders every label as text; figures are inlined as
``data:`` URIs (SVG preferred, else PNG); nothing is loaded from the network
and a Content-Security-Policy meta tag allows only the page's own stylesheet
(by its SHA-256 hash) and ``data:`` images.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from survstudy.report import _tables as T
from survstudy.report.bundle import ReportBundle
from survstudy.tables import format as fmt

__all__ = ["CSS", "render_html"]

CSS = """
@page { size: A4; margin: 18mm 16mm; }
html { font-family: "Times New Roman", Times, "Liberation Serif", "DejaVu Serif", serif;
  font-size: 11pt; line-height: 1.4; color: #000; background: #fff; }
body { max-width: 180mm; margin: 0 auto; padding: 12mm 6mm; }
h1 { font-size: 17pt; line-height: 1.25; margin: 0 0 2mm 0; }
h2 { font-size: 13pt; margin: 9mm 0 3mm 0; border-bottom: 0.5pt solid #000; padding-bottom: 1mm; }
h3 { font-size: 11pt; margin: 6mm 0 2mm 0; }
p.subtitle { font-size: 12pt; margin: 0 0 4mm 0; color: #222; }
.banner { border: 2pt solid #b00; color: #b00; font-family: Arial, Helvetica, "Liberation Sans",
  sans-serif; font-weight: bold; font-size: 12pt; letter-spacing: 0.03em; text-align: center;
  padding: 2mm 3mm; margin: 3mm 0 5mm 0; }
table.t { border-collapse: collapse; margin: 2mm 0 1mm 0; font-size: 10pt; width: 100%;
  page-break-inside: auto; }
table.t caption { caption-side: top; text-align: left; font-weight: bold; padding-bottom: 1.5mm; }
table.t thead th { border-top: 1.2pt solid #000; border-bottom: 0.6pt solid #000; font-weight: bold;
  text-align: left; padding: 1mm 2.5mm; vertical-align: bottom; }
table.t tbody td { padding: 0.6mm 2.5mm; vertical-align: top; }
table.t tbody tr:last-child td { border-bottom: 1.2pt solid #000; }
table.t td.nw { white-space: nowrap; }
table.t .ar { text-align: right; }
table.t .ac { text-align: center; }
table.t tr.label td.c0 { font-weight: bold; padding-top: 1.6mm; }
table.t td.i1 { padding-left: 6mm; }
table.t td.i2 { padding-left: 10mm; }
table.t td.i3 { padding-left: 14mm; }
sup.m { font-size: 7.5pt; padding-left: 0.4mm; }
p.caption { font-size: 9pt; margin: 1mm 0; }
table.t tr.missing td { font-style: italic; }
table.t tr { page-break-inside: avoid; }
sup.w { font-size: 7.5pt; color: #8a2a00; font-weight: bold; padding-left: 0.5mm; }
.foot { font-size: 8.5pt; margin: 0 0 1mm 0; }
ol.warn { font-size: 8.5pt; margin: 0.5mm 0 5mm 0; padding-left: 5mm; color: #5a1c00; }
.tablewrap { margin-bottom: 6mm; }
figure { margin: 4mm 0 7mm 0; page-break-inside: avoid; }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { font-size: 9.5pt; margin-top: 2mm; }
.flow { display: grid; grid-template-columns: 62mm 12mm 62mm; margin: 3mm 0 4mm 6mm; }
.box { border: 0.8pt solid #000; padding: 1.5mm 2.5mm; font-size: 9.5pt; background: #fff; }
.box b { display: block; font-size: 10pt; }
.side { border: 0.8pt solid #555; padding: 1.5mm 2.5mm; font-size: 9pt; color: #222;
  align-self: center; }
.down { height: 7mm; position: relative; }
.down::before { content: ""; position: absolute; left: 31mm; top: 0; bottom: 1.5mm;
  border-left: 0.8pt solid #000; }
.down::after { content: ""; position: absolute; left: calc(31mm - 1.4mm); bottom: 0;
  border-left: 1.4mm solid transparent; border-right: 1.4mm solid transparent;
  border-top: 1.8mm solid #000; }
.right { position: relative; }
.right::before { content: ""; position: absolute; left: -31mm; right: 1.6mm; top: 50%;
  border-top: 0.8pt solid #000; }
.right::after { content: ""; position: absolute; right: 0; top: calc(50% - 1.3mm);
  border-top: 1.3mm solid transparent; border-bottom: 1.3mm solid transparent;
  border-left: 1.8mm solid #000; }
.quality, .general { font-size: 9.5pt; }
.quality td, .quality th { padding: 0.6mm 2.5mm; text-align: left; vertical-align: top; }
.sev-error { color: #b00; font-weight: bold; }
.sev-warning { color: #8a2a00; }
.methods { text-align: justify; }
.prov { font-size: 8.5pt; font-family: "DejaVu Sans Mono", "Liberation Mono", Consolas, monospace;
  border-top: 0.5pt solid #000; padding-top: 2mm; margin-top: 10mm; word-break: break-all; }
.prov dt { font-weight: bold; float: left; clear: left; width: 34mm; }
.prov dd { margin: 0 0 0.6mm 36mm; }
@media print { body { padding: 0; max-width: none; } h2 { page-break-after: avoid; }
  .tablewrap { page-break-inside: avoid; } }
""".strip()

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="survstudy">
<title>{{ b.title }}</title>
<style>{{ css }}</style>
</head>
<body>
<header>
<h1>{{ b.title }}</h1>
{% if b.subtitle %}<p class="subtitle">{{ b.subtitle }}</p>{% endif %}
{% if b.banner %}<div class="banner" role="note">{{ b.banner }}</div>{% endif %}
</header>
{% if b.flow %}
<section id="flow">
<h2>Inclusion flow</h2>
<div class="flow">
{% for s in b.flow %}
{% if not loop.first %}
<div class="down"></div><div class="{{ 'right' if s.excluded else '' }}"></div>
{% if s.excluded %}<div class="side">Excluded (n = {{ s.excluded|count }}){% if s.reason %}: {{ s.reason }}{% endif %}</div>{% else %}<div></div>{% endif %}
{% endif %}
<div class="box"><b>{{ s.description }}</b>n = {{ s.n|count }}</div><div></div><div></div>
{% endfor %}
</div>
</section>
{% endif %}
{% if b.quality %}
<section id="quality">
<h2>Data-quality notes</h2>
<table class="quality">
<thead><tr><th>Severity</th><th>Code</th><th>Row</th><th>Column</th><th>Note</th></tr></thead>
<tbody>
{% for q in b.quality %}<tr><td class="sev-{{ q.severity|lower }}">{{ q.severity }}</td><td>{{ q.code }}</td><td>{{ '' if q.row is none else q.row }}</td><td>{{ q.column or '' }}</td><td>{{ q.message }}</td></tr>
{% endfor %}</tbody>
</table>
</section>
{% endif %}
{% for part in parts %}
{% if part.kind == 'table' %}{% set t = part.t %}
<section class="tablewrap" id="t-{{ t.key }}">
<table class="t">
<caption>{{ t.title }}{% for n in t.marks %}<sup class="w">{{ n }}</sup>{% endfor %}</caption>
<thead><tr>{% for c in t.columns %}<th class="{{ c.cls }}">{{ c.text }}</th>{% endfor %}</tr></thead>
<tbody>
{% for r in t.rows %}<tr class="{{ r.kind }}">{% for c in r.cells %}<td class="{{ c.cls }}">{{ c.text }}{% for m in c.fmarks %}<sup class="m">{{ m }}</sup>{% endfor %}{% for n in c.marks %}<sup class="w">{{ n }}</sup>{% endfor %}</td>{% endfor %}</tr>
{% endfor %}</tbody>
</table>
{% if t.caption %}<p class="caption">{{ t.caption }}</p>{% endif %}
{% for f in t.footnotes %}<p class="foot">{{ f }}</p>
{% endfor %}
{% if t.warnings %}<ol class="warn" type="a">{% for n, m in t.warnings %}<li value="{{ n }}">{{ m }}</li>{% endfor %}</ol>{% endif %}
</section>
{% elif part.kind == 'heading' %}
<h2>{{ part.text }}</h2>
{% elif part.kind == 'subheading' %}
<h3>{{ part.text }}</h3>
{% elif part.kind == 'paragraph' %}
<p class="methods">{{ part.text }}</p>
{% elif part.kind == 'figure' %}
<figure id="f-{{ part.id }}">
{% if part.src %}<img src="{{ part.src }}" alt="{{ part.caption }}">{% endif %}
<figcaption><b>Figure {{ part.number }}.</b> {{ part.caption }}</figcaption>
</figure>
{% endif %}
{% endfor %}
{% if general %}
<section id="warnings">
<h2>Warnings</h2>
<ul class="general">{% for m in general %}<li>{{ m }}</li>{% endfor %}</ul>
</section>
{% endif %}
{% if b.methods %}
<section id="methods">
<h2>Statistical analysis</h2>
<p class="methods">{{ b.methods }}</p>
{% if b.references %}<h3>References</h3>
<ol class="refs">{% for r in b.references %}<li>{{ r }}</li>{% endfor %}</ol>{% endif %}
</section>
{% endif %}
<section id="provenance">
<dl class="prov">
<dt>Input SHA-256</dt><dd>{{ p.input_sha256 or '—' }}</dd>
<dt>Spec SHA-256</dt><dd>{{ p.spec_sha256 or '—' }}</dd>
{% if p.command %}<dt>Command</dt><dd>{{ p.command }}</dd>{% endif %}
{% for k, v in versions %}<dt>{{ k }}</dt><dd>{{ v }}</dd>
{% endfor %}
{% if p.date %}<dt>Date</dt><dd>{{ p.date }}</dd>{% endif %}
</dl>
</section>
</body>
</html>
"""


def _data_uri(files: dict[str, Path]) -> str:
    if "svg" in files:
        data, mime = files["svg"].read_bytes(), "image/svg+xml"
    elif "png" in files:
        data, mime = files["png"].read_bytes(), "image/png"
    else:
        return ""
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def _section_of(key: str) -> str:
    if key.startswith("table1"):
        return "Patient characteristics"
    if key.startswith("surv"):
        return "Survival"
    if key.startswith("univariable"):
        return "Univariable analysis"
    if key.startswith("multivariable"):
        return "Multivariable analysis"
    return "Supplementary tables"


def render_html(bundle: ReportBundle, figure_files: list[dict[str, Path]]) -> bytes:
    """The report as UTF-8 bytes; ``figure_files[i]`` holds the written files of figure i."""
    import jinja2

    tables = list(bundle.tables)
    marks, notes, general = T.warning_marks(tables, list(bundle.warnings))
    table_parts: list[dict[str, Any]] = []
    for t in tables:
        k = T.key(t)
        cols = T.columns(t)
        al = T.aligns(t)
        acls = [{"right": "ar", "center": "ac"}.get(a, "") for a in al]
        info = T.row_info(t)
        ind = T.indents(t)
        rows = []
        for i, (kind, cells) in enumerate(T.rows(t)):
            rows.append(
                {
                    "kind": kind,
                    "cells": [
                        {
                            "text": text,
                            "marks": [
                                T.mark_label(n) for n in T.cell_marks(marks, k, i, j, cols[j][0])
                            ],
                            "fmarks": info[i][1] if j == 0 else [],
                            "cls": " ".join(
                                x
                                for x in (
                                    "c0" if j == 0 else "num",
                                    # short numbers never wrap; long texts may
                                    "nw" if j and len(text) <= 24 else "",
                                    f"i{min(ind[i], 3)}" if j == 0 and ind[i] else "",
                                    acls[j],
                                )
                                if x
                            ),
                        }
                        for j, text in enumerate(cells)
                    ],
                }
            )
        table_parts.append(
            {
                "kind": "table",
                "t": {
                    "key": k,
                    "title": T.title(t),
                    "columns": [
                        {"text": label, "cls": ("num " + acls[j]).strip() if j else acls[j]}
                        for j, (_, label) in enumerate(cols)
                    ],
                    "caption": str(getattr(t, "caption", "") or ""),
                    "rows": rows,
                    "footnotes": T.footnotes(t),
                    "warnings": notes.get(k, []),
                    # Warnings about the whole table are marked on its title.
                    "marks": [T.mark_label(n) for n in marks.get((k, None, None), [])],
                },
                "section": _section_of(k),
            }
        )
    fig_parts = [
        {
            "kind": "figure",
            "id": f.id,
            "caption": f.caption,
            "number": i + 1,
            "src": _data_uri(files),
        }
        for i, (f, files) in enumerate(zip(bundle.figures, figure_files, strict=True))
    ]
    # Journal order: characteristics, survival, figures, then regression tables; then
    # the sections of their own (a treatment comparison: its tables, figures, methods).
    own_tables = {k for sec in bundle.sections for k in sec.tables}
    own_figs = {f for sec in bundle.sections for f in sec.figures}
    by_key = {tp["t"]["key"]: tp for tp in table_parts}
    by_id = {fp["id"]: fp for fp in fig_parts}
    parts: list[dict[str, Any]] = []
    seen: set[str] = set()

    def add_tables(pred: Any) -> None:
        for tp in table_parts:
            if tp["t"]["key"] in own_tables:
                continue
            if pred(tp["section"]):
                if tp["section"] not in seen:
                    parts.append({"kind": "heading", "text": tp["section"]})
                    seen.add(tp["section"])
                parts.append(tp)

    add_tables(lambda s: s in ("Patient characteristics", "Survival"))
    general_figs = [fp for fp in fig_parts if fp["id"] not in own_figs]
    if general_figs:
        parts.append({"kind": "heading", "text": "Figures"})
        parts.extend(general_figs)
    add_tables(lambda s: s not in ("Patient characteristics", "Survival"))
    for sec in bundle.sections:
        parts.append({"kind": "heading", "text": sec.title})
        parts.extend(by_key[k] for k in sec.tables if k in by_key)
        parts.extend(by_id[f] for f in sec.figures if f in by_id)
        if sec.paragraphs and sec.heading:
            parts.append({"kind": "subheading", "text": sec.heading})
        parts.extend({"kind": "paragraph", "text": str(x)} for x in sec.paragraphs)

    css_hash = base64.b64encode(hashlib.sha256(CSS.encode("utf-8")).digest()).decode("ascii")
    csp = (
        "default-src 'none'; img-src data:; "
        f"style-src 'sha256-{css_hash}'; base-uri 'none'; form-action 'none'"
    )
    env = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    env.filters["count"] = fmt.count
    tmpl = env.from_string(_TEMPLATE)
    prov = bundle.provenance
    html = tmpl.render(
        b=bundle,
        css=_markup(CSS),
        csp=csp,
        parts=parts,
        general=general,
        p=prov,
        versions=sorted((str(k), str(v)) for k, v in dict(prov.versions).items()),
    )
    return html.encode("utf-8")


def _markup(text: str) -> Any:
    from markupsafe import Markup

    return Markup(text)

"""How the API's results show themselves: text for ``summary()``, HTML for notebooks.

Both render a :class:`survstudy.tables.model.TableModel` (cells already formatted by
:mod:`survstudy.tables.format`); nothing here computes or rounds a number.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

__all__ = ["median_text", "render_html", "render_text"]


def median_text(estimate: float | None, lower: float | None, upper: float | None) -> str:
    """ "310 (285–363)"; "not reached"; a limit not reached prints "NE"."""
    from survstudy.tables import format as fmt

    if estimate is None:
        return fmt.not_reached()

    def b(x: float | None) -> str:
        return fmt.NOT_ESTIMABLE if x is None else fmt.shortest(x, 2)

    return f"{fmt.shortest(estimate, 2)} ({fmt.range_text(b(lower), b(upper))})"


def render_text(title: str, tables: Sequence[Any], lines: Sequence[str] = ()) -> str:
    """A title, free lines (notes, tests) and tables as aligned plain text."""
    out = [title, *lines]
    for t in tables:
        out.append("")
        out.append(t.to_text().rstrip("\n"))
    return "\n".join(out) + "\n"


def render_html(title: str, tables: Sequence[Any], lines: Sequence[str] = ()) -> str:
    """The same content as :func:`render_text`, as an HTML fragment for Jupyter."""
    parts = [f'<div class="survstudy-result"><p><strong>{html.escape(title)}</strong></p>']
    for line in lines:
        parts.append(f"<p>{html.escape(line)}</p>")
    for t in tables:
        parts.append(_table(t))
    parts.append("</div>")
    return "".join(parts)


def _table(t: Any) -> str:
    cols = list(t.columns)
    head = "".join(f'<th style="text-align:{c.align}">{html.escape(c.header)}</th>' for c in cols)
    body = []
    for r in t.rows:
        cells = []
        for j, c in enumerate(cols):
            text = html.escape(r.text(c.key))
            pad = f"padding-left:{1.2 * r.indent:.1f}em;" if j == 0 and r.indent else ""
            weight = "font-weight:bold;" if r.kind == "label" and j == 0 else ""
            cells.append(f'<td style="text-align:{c.align};{pad}{weight}">{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    caption = f"<caption>{html.escape(t.title)}</caption>" if t.title else ""
    notes = "".join(f"<p><small>{html.escape(n.message)}</small></p>" for n in t.notes) + "".join(
        f"<p><small>{html.escape(f)}</small></p>" for f in t.footnotes
    )
    return (
        f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>"
        f"</table>{notes}"
    )

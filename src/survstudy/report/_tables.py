"""Uniform read access to table models (key, title, columns, rows, footnotes)."""

from __future__ import annotations

from typing import Any

from survstudy.report.bundle import ReportWarning


def key(table: Any) -> str:
    return str(getattr(table, "key", None) or getattr(table, "id", None) or "table")


def title(table: Any) -> str:
    return str(getattr(table, "title", "") or "")


def columns(table: Any) -> list[tuple[str, str]]:
    """(key, label) of every column."""
    out = []
    for c in getattr(table, "columns", ()):
        k = str(getattr(c, "key", c))
        head = getattr(c, "header", None)
        if head is None:
            head = getattr(c, "label", k)
        out.append((k, str(head or "")))
    return out


def aligns(table: Any) -> list[str]:
    """``left``/``right``/``center`` of every column (left when the model does not say)."""
    return [str(getattr(c, "align", "left") or "left") for c in getattr(table, "columns", ())]


def row_info(table: Any) -> list[tuple[int, list[str]]]:
    """(indent level, footnote markers) of every row."""
    return [
        (
            int(getattr(r, "indent", 0) or 0),
            [str(m) for m in getattr(r, "footnote_markers", ()) or ()],
        )
        for r in getattr(table, "rows", ())
    ]


def model_notes(tables: list[Any]) -> list[ReportWarning]:
    """The table models' own row notes (``TableModel.notes``) as report warnings."""
    out = []
    for t in tables:
        for n in getattr(t, "notes", ()) or ():
            out.append(
                ReportWarning(
                    message=str(n.message),
                    table=key(t),
                    row=int(n.row),
                    column=getattr(n, "column", None),
                )
            )
    return out


def rows(table: Any) -> list[tuple[str, list[str]]]:
    """(kind, cell texts in column order) of every row."""
    cols = [k for k, _ in columns(table)]
    out = []
    for r in getattr(table, "rows", ()):
        cells = getattr(r, "cells", {}) or {}
        out.append(
            (
                str(getattr(r, "kind", "level")),
                ["" if cells.get(k) is None else str(cells.get(k)) for k in cols],
            )
        )
    return out


def footnotes(table: Any) -> list[str]:
    return [str(f) for f in (getattr(table, "footnotes", ()) or ())]


def records(table: Any) -> list[dict[str, Any]]:
    """``table.to_records()`` when the model has it, else one dict per row keyed by label."""
    to_records = getattr(table, "to_records", None)
    if callable(to_records):
        return [dict(r) for r in to_records()]
    cols = columns(table)
    heads = [label or k for k, label in cols]
    return [dict(zip(heads, cells, strict=True)) for _, cells in rows(table)]


def mark_label(n: int) -> str:
    """The footnote marker of warning ``n`` (1 -> "a", 26 -> "z", 27 -> "aa"): letters,
    never digits, so a marker cannot be read as a digit of the number it follows."""
    out = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        out = chr(ord("a") + r) + out
    return out


def warning_marks(
    tables: list[Any], warnings: list[ReportWarning]
) -> tuple[
    dict[tuple[str, int | None, str | None], list[int]], dict[str, list[tuple[int, str]]], list[str]
]:
    """Number the warnings attached to tables (1, 2, … in report order; shown as the
    letters of :func:`mark_label`).

    Returns ``marks`` ((table, row, column) -> numbers), ``notes`` (table -> list
    of (number, message)) and the messages of warnings attached to no table.
    """
    warnings = model_notes(tables) + list(warnings)
    known = {key(t) for t in tables}
    order = {key(t): i for i, t in enumerate(tables)}
    attached = [w for w in warnings if w.table in known]
    attached.sort(key=lambda w: (order[str(w.table)], -1 if w.row is None else w.row))
    marks: dict[tuple[str, int | None, str | None], list[int]] = {}
    notes: dict[str, list[tuple[int, str]]] = {}
    numbers: dict[str, int] = {}
    for w in attached:
        t = str(w.table)
        msg = w.message
        if msg not in numbers:
            numbers[msg] = len(numbers) + 1
            notes.setdefault(t, []).append((numbers[msg], msg))
        elif all(n != numbers[msg] for n, _ in notes.get(t, [])):
            notes.setdefault(t, []).append((numbers[msg], msg))
        lst = marks.setdefault((t, w.row, w.column), [])
        if numbers[msg] not in lst:
            lst.append(numbers[msg])
    general = [w.message for w in warnings if w.table not in known]
    return marks, notes, general


def cell_marks(
    marks: dict[tuple[str, int | None, str | None], list[int]],
    table_key: str,
    row: int,
    col_index: int,
    col_key: str,
) -> list[int]:
    """Warning numbers shown in one cell; a row-level warning goes in the first column."""
    out = list(marks.get((table_key, row, col_key), []))
    if col_index == 0:
        out += [n for n in marks.get((table_key, row, None), []) if n not in out]
    return out


def indents(table: Any) -> list[int]:
    """Indent level of every row: the model's ``indent``; when the model gives none, a
    level/reference/missing row under a ``label`` row is indented once."""
    info = [i for i, _ in row_info(table)]
    if any(info):
        return info
    kinds = [k for k, _ in rows(table)]
    if "label" not in kinds:
        return [0] * len(kinds)
    return [1 if k in ("level", "reference", "missing") else 0 for k in kinds]


def view(table: Any) -> dict[str, Any]:
    """A table model as plain data for a web page: ``key``, ``title``, ``columns`` (labels),
    ``rows`` (``{"kind", "cells", "indent"}``) and ``footnotes``."""
    return {
        "key": key(table),
        "title": title(table),
        "columns": [label for _, label in columns(table)],
        "rows": [
            {"kind": kind, "cells": cells, "indent": ind}
            for (kind, cells), ind in zip(rows(table), indents(table), strict=True)
        ],
        "footnotes": footnotes(table),
    }

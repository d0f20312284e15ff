"""Guess a first study spec from a data file (``survstudy init``).

The guesses are deliberately conservative and every one is marked for review:
dates are recognised from date cells or date-like text; id-like columns
(unique values, names such as ``id``, ``mrn``, ``patient``) and names become
identifiers; free text (many distinct values, long strings, several words or
punctuation) becomes ``type: text`` (checked, never analysed or shown); numeric
columns with few distinct values and short text columns become categorical (two
values: binary); other numeric columns are continuous.
Only category labels are copied into the spec, never identifiers or dates.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from survstudy.data.columns import norm_text
from survstudy.data.readers import RawTable
from survstudy.spec import DEFAULT_MISSING

__all__ = [
    "ColumnGuess",
    "date_order_hint",
    "guess_columns",
    "relative_data_path",
    "render_spec",
]

_ID_NAME = re.compile(
    r"(^id$|_id$|^id_|\bid\b|^pid$|mrn|patient|subject|record|^case|^no$|^nr$|number$|name|surname"
    r"|initials|phone|address|email)",
    re.IGNORECASE,
)
_DATE_TEXT = re.compile(
    r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.](\d{2}|\d{4}))([ T]\d{1,2}:\d{2}.*)?$"
)
_DATE_NAME = re.compile(r"(date|death|died|dod|progress|follow|last_?seen|relapse)", re.I)
_ABY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})")
_NUMBER = re.compile(r"^[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?$")
MAX_LEVELS = 8


@dataclass(frozen=True)
class ColumnGuess:
    column: str
    name: str  # a valid variable name
    type: str
    levels: tuple[str, ...] = ()
    note: str = ""


def _var_name(column: str, taken: set[str]) -> str:
    name = re.sub(r"[^0-9A-Za-z_]+", "_", column.strip()).strip("_").lower() or "column"
    if name[0].isdigit():
        name = f"v_{name}"
    base, i = name, 2
    while name in taken:
        name = f"{base}_{i}"
        i += 1
    taken.add(name)
    return name


def guess_columns(raw: RawTable, missing: Sequence[str] = ()) -> list[ColumnGuess]:
    """One guess per column of ``raw`` (see the module docstring)."""
    codes = frozenset({*DEFAULT_MISSING, *(m.casefold() for m in missing)})
    taken: set[str] = set()
    out = []
    for j, column in enumerate(raw.columns):
        cells = [rec[j] for rec in raw.records]
        present = [c for c in cells if norm_text(c) is not None and norm_text(c) not in codes]
        name = _var_name(column, taken)
        out.append(_guess(column, name, present))
    return out


def _guess(column: str, name: str, present: list[Any]) -> ColumnGuess:
    if not present:
        if _DATE_NAME.search(column):
            return ColumnGuess(column, name, "date", note="empty column: check")
        return ColumnGuess(column, name, "categorical", note="empty column: check or delete")
    texts = [str(c).strip() for c in present]
    n = len(present)
    typed_dates = sum(1 for c in present if isinstance(c, _dt.date))
    text_dates = sum(1 for t in texts if _DATE_TEXT.match(t))
    if typed_dates > 0 or text_dates >= 0.5 * n:
        # never list a date as a category: a column with any date is a date column
        return ColumnGuess(column, name, "date")
    distinct = sorted(set(texts), key=lambda s: (s.casefold(), s))
    unique = len(distinct) == n
    if _ID_NAME.search(column) and (unique or not all(_NUMBER.match(t) for t in texts)):
        return ColumnGuess(column, name, "identifier", note="identifier: never shown")
    numeric = all(
        isinstance(c, int | float) or _NUMBER.match(t) for c, t in zip(present, texts, strict=True)
    )
    if numeric:
        keys = sorted(
            {norm_text(c) or "" for c in present}, key=lambda s: float(s.replace(",", "."))
        )
        if len(keys) <= 2 and set(keys) <= {"0", "1"}:
            return ColumnGuess(column, name, "binary", levels=("Yes", "No"), note="1 = Yes, 0 = No")
        if len(keys) <= 5 and n >= len(keys) + 2:
            return ColumnGuess(
                column, name, "categorical", levels=tuple(keys), note="few numeric codes: check"
            )
        return ColumnGuess(column, name, "continuous")
    if _free_text(distinct, n):
        return ColumnGuess(
            column, name, "text", note="free text: never analysed or shown in any output"
        )
    if unique and n >= 5 and any(ch.isdigit() for t in texts for ch in t):
        return ColumnGuess(column, name, "identifier", note="unique codes: treated as identifier")
    if text_dates:
        return ColumnGuess(column, name, "date", note="some values are not dates: check")
    if len(distinct) <= MAX_LEVELS:
        kind = "binary" if len(distinct) == 2 else "categorical"
        return ColumnGuess(column, name, kind, levels=tuple(distinct))
    if unique:
        return ColumnGuess(column, name, "identifier", note="unique text: treated as identifier")
    # no levels listed: the spec validates as written (the levels are found in the data)
    return ColumnGuess(
        column,
        name,
        "categorical",
        note=f"{len(distinct)} distinct values: group them into levels, or type: text",
    )


_PROSE = re.compile(r"[,;:!?()]|\s-\s|/\s")


def _free_text(distinct: list[str], n: int) -> bool:
    """Free text: at least 3 distinct values, of which at least half are prose (4 words or
    more, 25 characters or more, or sentence punctuation), or more distinct values than
    a category list holds with one value in two distinct."""
    k = len(distinct)
    if k < 3:
        return False
    prose = sum(1 for t in distinct if len(t) >= 25 or len(t.split()) >= 4 or _PROSE.search(t))
    return 2 * prose >= k or (MAX_LEVELS < k < n and 2 * k > n)


def _q(text: str) -> str:
    """A YAML-safe scalar (JSON strings are valid YAML)."""
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9_ ./()%-]*", text) and text.casefold() not in (
        "true",
        "false",
        "null",
        "yes",
        "no",
        "on",
        "off",
    ):
        return text
    return json.dumps(text, ensure_ascii=False)


def date_order_hint(raw: RawTable, guesses: list[ColumnGuess]) -> str | None:
    """'DMY' or 'MDY' when the a/b/year dates show it, '?' when they cannot, None if none."""
    first_over_12 = second_over_12 = any_aby = False
    for g in guesses:
        if g.type != "date":
            continue
        j = raw.columns.index(g.column)
        for rec in raw.records:
            cell = rec[j]
            if not isinstance(cell, str):
                continue
            m = _ABY.match(cell.strip())
            if m:
                any_aby = True
                first_over_12 |= int(m.group(1)) > 12
                second_over_12 |= int(m.group(2)) > 12
    if not any_aby:
        return None
    if first_over_12 and not second_over_12:
        return "DMY"
    if second_over_12 and not first_over_12:
        return "MDY"
    return "?"


def render_spec(raw: RawTable, data_path: str, guesses: list[ColumnGuess]) -> str:
    """A commented ``study.yaml`` for the user to edit."""
    lines = [
        "# Study spec written by `survstudy init` from the data file's columns.",
        "# Every guess below needs a human check: types, levels, labels, then add",
        "# endpoints, the population criteria and the analyses (see the README,",
        "# 'Study spec and data'). Check it with: survstudy validate <this file>",
        "title: My study",
        "data:",
        f"  path: {_q(data_path)}",
    ]
    ids = [g for g in guesses if g.type == "identifier"]
    if ids:
        lines.append(f"  id: {_q(ids[0].column)}")
    order = date_order_hint(raw, guesses)
    if order in ("DMY", "MDY"):
        lines.append(f"  date_format: {order}   # guessed from dates whose day is over 12: check")
    elif order == "?":
        lines.append(
            "  date_format: DMY   # CHECK: dates like 03/04/2015 are ambiguous (DMY or MDY)"
        )
    lines += [
        "  # missing: [999, unknown]   # extra codes meaning 'missing'",
        "  # cutoff: 2024-12-31        # data cut-off date",
        "units: months",
        "variables:",
    ]
    for g in guesses:
        lines.append(f"  {g.name}:")
        if g.column != g.name:
            lines.append(f"    column: {_q(g.column)}")
        lines.append(f"    type: {g.type}" + (f"   # {g.note}" if g.note else ""))
        if g.type not in ("identifier",):
            lines.append(f"    label: {_q(g.column)}")
        if g.type == "binary" and g.note == "1 = Yes, 0 = No":
            continue
        if g.levels:
            lines.append("    levels: [" + ", ".join(_q(x) for x in g.levels) + "]")
    dates = [g.name for g in guesses if g.type == "date"]
    lines += [
        "endpoints: {}",
        "# endpoints:",
        "#   OS:",
        "#     label: Overall survival",
        f"#     start: {dates[0] if dates else 'surgery_date'}",
        f"#     events: [{dates[-1] if dates else 'death_date'}]",
        "#     censor: [last_followup_date]",
        "population: []",
        "# population:",
        '#   - include: surgery_date >= date("2011-01-01")',
        "#     reason: Operated before 2011",
        "# analyses:",
        "#   table1: {variables: [...]}",
        "#   survival: {endpoints: [OS], landmarks: [24, 36]}",
        "#   univariable: {endpoints: [OS], factors: [...]}",
    ]
    return "\n".join(lines) + "\n"


def relative_data_path(data: Path, out: Path) -> str:
    """``data`` relative to the folder of ``out`` (as the spec resolves it)."""
    import os

    return Path(os.path.relpath(data.resolve(), out.resolve().parent)).as_posix()

"""Guess a first study spec from a data file (``survstudy init``).

The guesses are deliberately conservative and every one is marked for review:
dates are recognised from date cells or date-like text; id-like columns
(unique values, names such as ``id``, ``mrn``, ``patient``) and names become
identifiers; numeric columns with few distinct values and short text columns
become categorical (two values: binary); other numeric columns are continuous.
Only category labels are copied into the spec, never identifiers or dates.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from survstudy.data.columns import norm_text
from survstudy.data.readers import RawTable
from survstudy.spec import DEFAULT_MISSING

__all__ = [
    "ColumnGuess",
    "JoinedTable",
    "date_order_hint",
    "guess_columns",
    "joined_table",
    "relative_data_path",
    "render_spec",
    "time_status_pairs",
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
    if unique and n >= 5 and any(ch.isdigit() for t in texts for ch in t):
        return ColumnGuess(column, name, "identifier", note="unique codes: treated as identifier")
    if text_dates:
        return ColumnGuess(column, name, "date", note="some values are not dates: check")
    if len(distinct) <= MAX_LEVELS:
        kind = "binary" if len(distinct) == 2 else "categorical"
        return ColumnGuess(column, name, kind, levels=tuple(distinct))
    if unique:
        return ColumnGuess(column, name, "identifier", note="unique text: treated as identifier")
    return ColumnGuess(
        column,
        name,
        "categorical",
        levels=tuple(distinct[:MAX_LEVELS]),
        note=f"{len(distinct)} distinct values: group them into levels",
    )


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


_TIME_WORDS = ("time", "days", "day", "months", "month", "mo", "years", "year", "yrs", "dur", "t")
_STATUS_WORDS = ("status", "event", "cens", "censor", "ind", "flag", "e", "s")


def _strip_words(name: str, words: Sequence[str]) -> str:
    """``name`` without one leading or trailing word of ``words`` (``_`` separated or glued)."""
    n = name.lower()
    for w in sorted(words, key=len, reverse=True):
        for cand in (f"_{w}", w) if len(w) > 1 else (f"_{w}",):
            if n.endswith(cand) and len(n) > len(cand):
                return n[: -len(cand)].strip("_")
        for cand in (f"{w}_to_", f"{w}_") if len(w) > 1 else (f"{w}_",):
            if n.startswith(cand) and len(n) > len(cand):
                return n[len(cand) :].strip("_")
    return ""


def time_status_pairs(guesses: Sequence[ColumnGuess]) -> list[tuple[ColumnGuess, ColumnGuess]]:
    """Pairs (time column, 0/1 status column) that look like one endpoint's time and event:
    a continuous column named with a time word (``rtime``, ``os_months``, ``time_to_death``)
    and a 0/1 column with the same stem (``os_status``) or starting with it (``rtime`` →
    ``recur``, ``dtime`` → ``death``). Each column is used once, in the file's order."""
    times = [g for g in guesses if g.type == "continuous"]
    flags = [g for g in guesses if g.type == "binary" and g.note == "1 = Yes, 0 = No"]
    used: set[str] = set()
    out = []
    for t in times:
        stem = _strip_words(t.name, _TIME_WORDS)
        if not stem:
            continue
        for f in flags:
            if f.column in used:
                continue
            fstem = _strip_words(f.name, _STATUS_WORDS) or f.name
            if fstem == stem or (len(stem) <= 2 and f.name.startswith(stem)):
                used.add(f.column)
                out.append((t, f))
                break
    return out


def _unit_guess(column: str) -> str:
    c = column.lower()
    for word, unit in (("day", "days"), ("month", "months"), ("year", "years"), ("week", "weeks")):
        if word in c:
            return unit
    return "days   # CHECK the unit of the time columns"


@dataclass(frozen=True)
class JoinedTable:
    """A further file for ``survstudy init``: its name in ``data.tables``, its path as the
    spec writes it, its columns' guesses, whether it has several rows per patient, and its
    id column (``None``: none of its columns is the main table's id)."""

    name: str
    path: str
    guesses: tuple[ColumnGuess, ...]
    many: bool
    id_column: str | None


def joined_table(
    raw: RawTable, name: str, path: str, id_column: str | None, taken: set[str]
) -> JoinedTable:
    """Guess a further file's columns (variable names not yet ``taken``) and whether its
    id repeats (rows: many)."""
    guesses = []
    many = False
    for g in guess_columns(raw):
        if id_column is not None and g.column == id_column:
            j = raw.columns.index(g.column)
            keys = [norm_text(rec[j]) for rec in raw.records]
            present = [k for k in keys if k]
            many = len(set(present)) < len(present)
            continue
        guesses.append(ColumnGuess(g.column, _var_name(g.name, taken), g.type, g.levels, g.note))
    has_id = id_column is not None and id_column in raw.columns
    return JoinedTable(name, path, tuple(guesses), many, id_column if has_id else None)


_SUMMARY = {"date": "max", "binary": "any", "continuous": "last", "categorical": "last"}


def render_spec(
    raw: RawTable,
    data_path: str,
    guesses: list[ColumnGuess],
    tables: Sequence[JoinedTable] = (),
) -> str:
    """A commented ``study.yaml`` for the user to edit (``tables``: further files, proposed
    as joins on the id; pairs of time/status columns are proposed as endpoints, several
    pairs as a composite endpoint)."""
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
    joinable = [t for t in tables if t.id_column is not None]
    if joinable:
        lines.append("  tables:                   # further files, joined on the id: CHECK")
        for t in joinable:
            rows = ", rows: many" if t.many else ""
            note = "   # several rows per patient" if t.many else ""
            lines.append(f"    {t.name}: {{path: {_q(t.path)}{rows}}}{note}")
    for t in tables:
        if t.id_column is None:
            lines.append(f"  # {_q(t.path)}: no column named like the id, so not joined")
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
    for t in joinable:
        for g in t.guesses:
            if g.type == "identifier":
                continue
            lines.append(f"  {g.name}:")
            if g.column != g.name:
                lines.append(f"    column: {_q(g.column)}")
            lines.append(f"    type: {g.type}" + (f"   # {g.note}" if g.note else ""))
            lines.append(f"    label: {_q(g.column)}")
            lines.append(f"    from_table: {t.name}")
            if t.many:
                lines.append(
                    f"    summary: {_SUMMARY[g.type]}   # CHECK: first, last, min, max, count or any"
                )
            if g.levels and not (g.type == "binary" and g.note == "1 = Yes, 0 = No"):
                lines.append("    levels: [" + ", ".join(_q(x) for x in g.levels) + "]")
    dates = [g.name for g in guesses if g.type == "date"]
    # a pair's columns: the main table's by column name, a joined table's by variable name
    pairs = time_status_pairs(guesses)
    for t in joinable:
        if not t.many:
            pairs += [
                (replace(a, column=a.name), replace(b, column=b.name))
                for a, b in time_status_pairs(t.guesses)
            ]
    if pairs:
        lines.append(
            "endpoints:                  # from pairs of time and 0/1 status columns: CHECK"
        )
        names: set[str] = set()
        for tg, fg in pairs:
            ep = _endpoint_name(tg.name, fg.name)
            base, i = ep, 2
            while ep in names:
                ep, i = f"{base}_{i}", i + 1
            names.add(ep)
            lines += [
                f"  {ep}:",
                f"    time: {_q(tg.column)}",
                f"    event: {_q(fg.column)}",
                f"    time_unit: {_unit_guess(tg.column)}",
            ]
        if len(pairs) > 1:
            lines += [
                "  FIRST_EVENT:              # the earliest of these events (composite endpoint)",
                "    time: [" + ", ".join(_q(tg.column) for tg, _f in pairs) + "]",
                "    event: [" + ", ".join(_q(fg.column) for _t, fg in pairs) + "]",
                f"    time_unit: {_unit_guess(pairs[0][0].column)}",
            ]
    else:
        lines.append("endpoints: {}")
    lines += [
        "# endpoints:",
        "#   OS:",
        "#     label: Overall survival",
        "#     definition: from surgery to death from any cause; patients alive censored at",
        "#       their last follow-up",
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


def _endpoint_name(time_name: str, status_name: str) -> str:
    """The time column's stem (``os_months`` → OS), or the status column's name when the
    stem is one letter (``rtime``/``recur`` → RECUR)."""
    stem = _strip_words(time_name, _TIME_WORDS)
    if len(stem) <= 1:
        stem = status_name
    name = re.sub(r"[^0-9A-Za-z_]+", "_", stem).upper() or "ENDPOINT"
    return name if not name[0].isdigit() else f"E_{name}"


def relative_data_path(data: Path, out: Path) -> str:
    """``data`` relative to the folder of ``out`` (as the spec resolves it)."""
    import os

    return Path(os.path.relpath(data.resolve(), out.resolve().parent)).as_posix()

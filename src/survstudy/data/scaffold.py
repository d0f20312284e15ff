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
    label: str = ""  # the file's own variable label (SPSS/Stata), else the column name


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
    row_numbers = [int(r) for r in raw.row_numbers]
    for j, column in enumerate(raw.columns):
        cells = [rec[j] for rec in raw.records]
        keep = [i for i, c in enumerate(cells) if norm_text(c) not in (None, *codes)]
        present = [cells[i] for i in keep]
        name = _var_name(column, taken)
        g = _guess(column, name, present)
        if g.type != "continuous":
            mostly = _numeric_except(present, [row_numbers[i] for i in keep])
            if mostly is not None and not _ID_NAME.search(column):
                g = ColumnGuess(column, name, "continuous", note=mostly)
        order = raw.label_order.get(column)
        if order and g.type in ("categorical", "binary") and g.levels:
            # SPSS/Stata value labels: in the order of their codes, those present
            found = set(g.levels)
            g = replace(g, levels=tuple(x for x in order if x in found))
        label = raw.column_labels.get(column)
        if label:
            g = replace(g, label=label)
        out.append(g)
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
        if len(distinct) <= 0.5 * n:  # a long table (rows per visit): not the patient sheet
            return ColumnGuess(
                column, name, "identifier", note="identifier: never shown; ids repeat"
            )
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
    # one level per spelling up to case ('Dead', 'dead', 'DEAD' are one level; the data
    # layer counts the others as it, with a CATEGORY-CASE note): the most frequent spelling
    spellings: dict[str, list[str]] = {}
    for t in texts:
        spellings.setdefault(t.casefold(), []).append(t)
    levels = sorted((_usual(g) for g in spellings.values()), key=lambda s: (s.casefold(), s))
    merged = sorted({t for g in spellings.values() for t in g} - set(levels))
    if len(levels) <= MAX_LEVELS:
        kind = "binary" if len(levels) == 2 else "categorical"
        note = f"also written {', '.join(merged)}" if merged else ""
        return ColumnGuess(column, name, kind, levels=tuple(levels), note=note)
    if unique:
        return ColumnGuess(column, name, "identifier", note="unique text: treated as identifier")
    # no levels listed: the spec validates as written (the levels are found in the data)
    return ColumnGuess(
        column,
        name,
        "categorical",
        note=f"{len(distinct)} distinct values: group them into levels, or type: text",
    )


def _usual(spellings: list[str]) -> str:
    """The most frequent of a value's spellings (ties: 'Dead' before 'DEAD' and 'dead')."""

    def key(x: str) -> tuple[int, bool]:
        return spellings.count(x), x.istitle()

    return max(sorted(set(spellings)), key=key)


def _is_number(cell: Any) -> bool:
    return (isinstance(cell, int | float) and not isinstance(cell, bool)) or bool(
        _NUMBER.match(str(cell).strip())
    )


def _numeric_except(present: list[Any], rows: list[int]) -> str | None:
    """'numeric except row 31 ('56 years')' when all but one or two cells (at most one in
    20) are numbers with more than 5 distinct values: one stray cell must not make a
    number a category with a level per value."""
    bad = [(r, c) for c, r in zip(present, rows, strict=True) if not _is_number(c)]
    numbers = len(present) - len(bad)
    if not bad or len(bad) > max(1, min(2, len(present) // 20)) or numbers < 3:
        return None
    distinct = {str(c).strip() for c in present if _is_number(c)}
    if len(distinct) < min(5, numbers):
        return None
    where = ", ".join(f"row {r} ({json.dumps(str(c).strip(), ensure_ascii=False)})" for r, c in bad)
    return f"numeric except {where}: correct the cell, or add the code to data.missing"


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
    if ids and ids[0].note.endswith("ids repeat"):
        # several rows per patient: a spec on this file alone would stop at ID-DUPLICATE
        lines += [
            f"  # id: {_q(ids[0].column)}   # CHECK: the same id is on several rows: this looks",
            "  # like one row per visit or measurement; give this file to init after the",
            "  # patient sheet (survstudy init patients.csv THIS_FILE) to join it per patient",
        ]
    elif ids:
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
    roles = endpoint_roles(guesses)
    for g in guesses:
        lines.append(f"  {g.name}:")
        if g.column != g.name:
            lines.append(f"    column: {_q(g.column)}")
        lines.append(f"    type: {g.type}" + (f"   # {g.note}" if g.note else ""))
        if g.type not in ("identifier",):
            lines.append(f"    label: {_q(g.label or g.column)}")
        if g.name == roles.get("death"):
            lines.append("    death: true   # the date of death: nothing may come after it")
        if g.type == "binary" and g.note == "1 = Yes, 0 = No":
            lines.append("    # reference: No (hazard ratios are Yes versus No)")
            continue
        if g.levels:
            lines.append("    levels: [" + ", ".join(_q(x) for x in g.levels) + "]")
            lines.append(f"    # reference: {_reference_note(g)}")
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
    lines += [*_endpoint_template(guesses, roles), "population: []"]
    lines += [
        "# population:",
        '#   - include: surgery_date >= date("2011-01-01")',
        "#     reason: Operated before 2011",
        "# analyses:",
        "#   table1: {variables: [...]}",
        "#   survival: {endpoints: [OS], landmarks: [24, 36]}",
        "#   univariable: {endpoints: [OS], factors: [...]}",
    ]
    return "\n".join(lines) + "\n"


_START = re.compile(r"(surg|operat|diagn|dx|random|enrol|entry|baseline|treat|start|admi)", re.I)
_BIRTH = re.compile(r"(birth|dob|born)", re.I)
_DEATH = re.compile(r"(death|died|dod|deceased)", re.I)
_LAST = re.compile(r"(follow|last|contact|f_?u\b|censor|seen|alive)", re.I)
_PROG = re.compile(r"(progress|recur|relapse|pfs|dfs)", re.I)
_EVENT_WORD = re.compile(r"^(dead|death|died|deceased|event|yes|y|1|true)$", re.I)
_TIME = re.compile(r"(^time$|^t$|time|months|days|years|futime|duration)", re.I)
_STATUS = re.compile(r"(status|event|dead|death|died|vital|fustat|censor)", re.I)


def endpoint_roles(guesses: Sequence[ColumnGuess]) -> dict[str, str]:
    """The variables an endpoint template uses: time zero (surgery/diagnosis, never a
    date of birth), death, progression and last follow-up dates; a time column and a
    status column."""
    dates = [g for g in guesses if g.type == "date" and not _BIRTH.search(g.column)]
    roles: dict[str, str] = {}
    for role, rx in (("death", _DEATH), ("progression", _PROG), ("last", _LAST)):
        hit = next((g for g in dates if rx.search(g.column)), None)
        if hit is not None:
            roles[role] = hit.name
    used = set(roles.values())
    start = next((g for g in dates if _START.search(g.column) and g.name not in used), None)
    if start is None:
        start = next((g for g in dates if g.name not in used), None)
    if start is not None:
        roles["start"] = start.name
    status = next(
        (
            g
            for g in guesses
            if g.type in ("binary", "categorical") and _STATUS.search(g.column) and g.levels
        ),
        None,
    )
    if status is not None:
        roles["status"] = status.name
    time = next((g for g in guesses if g.type == "continuous" and _TIME.search(g.column)), None)
    if time is not None:
        roles["time"] = time.name
    return roles


def _status_codes(g: ColumnGuess) -> str | None:
    """``event_codes`` for a status column written as words (Alive/Dead), else None."""
    if g.note == "1 = Yes, 0 = No":
        return None
    dead = [x for x in g.levels if _EVENT_WORD.search(x)]
    alive = [x for x in g.levels if x not in dead]
    if not dead or not alive:
        return None
    return (
        "{event: ["
        + ", ".join(_q(x) for x in dead)
        + "], censored: ["
        + ", ".join(_q(x) for x in alive)
        + "]}"
    )


def _endpoint_template(guesses: Sequence[ColumnGuess], roles: dict[str, str]) -> list[str]:
    """A commented endpoint from the columns found (dates first, then time + status)."""
    by_name = {g.name: g for g in guesses}
    start, death, last = roles.get("start"), roles.get("death"), roles.get("last")
    status = by_name.get(roles.get("status", ""))
    out = ["# endpoints:   (from the columns found: check, then remove the '# ')"]
    if start and death:
        out += [
            "#   OS:",
            "#     label: Overall survival",
            "#     definition: from surgery to death from any cause; patients alive censored at",
            "#       their last follow-up",
            f"#     start: {start}",
            f"#     events: [{death}]",
            f"#     censor: [{last or 'last_followup_date'}]",
        ]
        if roles.get("progression"):
            out += [
                "#   PFS:",
                "#     label: Progression-free survival",
                f"#     start: {start}",
                f"#     events: [{roles['progression']}, {death}]",
                f"#     censor: [{last or 'last_followup_date'}]",
            ]
        return out
    if start and last and status is not None:
        out += [
            "#   OS:   # last contact date + vital status",
            "#     label: Overall survival",
            "#     definition: from surgery to death from any cause; patients alive censored at",
            "#       their last contact",
            f"#     start: {start}",
            f"#     end: {last}",
            f"#     status: {status.column}",
        ]
        codes = _status_codes(status)
        if codes:
            out.append(f"#     event_codes: {codes}")
        return out
    if roles.get("time") and status is not None:
        out += [
            "#   OS:",
            "#     label: Overall survival",
            f"#     time: {by_name[roles['time']].column}",
            "#     time_unit: days   # CHECK: days, weeks, months or years",
            f"#     event: {status.column}",
        ]
        codes = _status_codes(status)
        if codes:
            out.append(f"#     event_codes: {codes}")
        return out
    return [
        *out,
        "#   OS:",
        "#     label: Overall survival",
        "#     definition: from surgery to death from any cause; patients alive censored at",
        "#       their last follow-up",
        f"#     start: {start or 'surgery_date'}",
        f"#     events: [{death or 'death_date'}]",
        f"#     censor: [{last or 'last_followup_date'}]",
    ]


def _reference_note(g: ColumnGuess) -> str:
    """Which level hazard ratios compare against, by the spec's default rule."""
    from survstudy.spec.model import binary_reference

    if g.type == "binary" and len(g.levels) == 2:
        ref = binary_reference({x: [x] for x in g.levels})
        return f"{ref} (hazard ratios compare the other level with it; set reference: to change)"
    return f"{g.levels[0]} (the first level; hazard ratios compare the others with it)"


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

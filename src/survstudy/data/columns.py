"""Turning raw cells into typed columns: numbers, dates, categories, event indicators.

Each parser takes the raw cells of one column with their spreadsheet rows and an
:class:`~survstudy.data.quality.IssueCollector`, and returns plain Python lists
(``None`` for missing) so that the rules stay readable and testable.

Dates: ISO ``YYYY-MM-DD`` (or ``/``, ``.``) is always accepted, whatever ``date_format`` says; ``a/b/YYYY`` is
accepted when every value of the column reads the same way as day/month and as
month/day, or when the spec gives ``date_format``; two-digit years need
``century_pivot``; Excel serial numbers are converted with the workbook's 1900 or
1904 date system (XLSX) or ``data.excel_date_system`` (CSV).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from survstudy.data.quality import IssueCollector, format_rows

__all__ = [
    "allowed_levels",
    "ambiguity_evidence",
    "case_groups_text",
    "is_missing",
    "listed_texts",
    "norm_text",
    "parse_categories",
    "parse_dates",
    "parse_events",
    "parse_numbers",
    "sublevels",
]

_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$")
_NUMBER_COMMA = re.compile(r"^[-+]?\d+(,\d+)?$")
_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_ABY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})$")
_TIME_PART = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_D_MON_Y = re.compile(r"^(\d{1,2})[ \-.]([A-Za-z]{3,9})\.?[ \-.,]*(\d{2}|\d{4})$")
_MON_D_Y = re.compile(r"^([A-Za-z]{3,9})\.? (\d{1,2}),? (\d{4})$")
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}
_EXCEL_1900 = _dt.date(1899, 12, 30)  # serial 1 = 1900-01-01 once Excel's 1900 leap bug is skipped
_EXCEL_1904 = _dt.date(1904, 1, 1)


def norm_text(value: Any) -> str | None:
    """Canonical text of a cell for matching codes: 1 == 1.0 == '1'; 'Yes ' == 'yes'."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, _dt.datetime):
        return value.date().isoformat() if value.time() == _dt.time() else value.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    text = str(value).strip().casefold()
    if _NUMBER.match(text):
        try:
            number = float(text)
        except ValueError:  # pragma: no cover - the regex admits only floats
            return text
        if math.isfinite(number):
            return str(int(number)) if number.is_integer() else repr(number)
    return text


_DATE_LIKE = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{1,2}[ -][A-Za-z]{3,9}[ -]\d{2,4}"
)


def shown(value: Any) -> str:
    """A cell as text for a message; anything that looks like a date is hidden (privacy)."""
    if isinstance(value, _dt.date):
        return "<a date>"
    text = str(value).strip()
    return "<a date>" if _DATE_LIKE.search(text) else text


def listed_texts(values: Iterable[Any]) -> str:
    """MIXED-TYPES: the first five distinct values (dates hidden), quoted, sorted."""
    distinct = sorted({shown(v) for v in values})
    return ", ".join(repr(v) for v in distinct[:5]) + (" …" if len(distinct) > 5 else "")


def allowed_levels(level_map: dict[str, list[Any]]) -> str:
    """CATEGORY-UNKNOWN's hint: the levels and the values each stands for."""
    return ", ".join(
        f"{lv} = {', '.join(str(x) for x in vs)}" if vs else lv for lv, vs in level_map.items()
    )


def case_groups_text(clashes: Iterable[Sequence[str]]) -> str:
    """CATEGORY-CASE: the groups of categories that differ only by case."""
    return "; ".join(" / ".join(repr(shown(x)) for x in g) for g in clashes)


def merged_case_text(texts: Iterable[Any], level_map: dict[str, list[Any]]) -> str | None:
    """CATEGORY-CASE 'merged': a value the data write in several cases ('Dead', 'dead',
    'DEAD'), counted as one level; the spellings the spec does not list are named, e.g.
    "'DEAD', 'dead' as 'Dead'". A value written one way throughout is no news; None."""
    exact: set[str] = set()
    lookup: dict[str, str] = {}
    for level, values in level_map.items():
        for v in [level, *values]:
            key = norm_text(v)
            if key is not None:
                exact.add(str(v).strip() if not isinstance(v, bool) else key)
                lookup.setdefault(key, level)
    seen: dict[str, set[str]] = {}
    for cell in texts:
        if not isinstance(cell, str):
            continue
        text = cell.strip()
        key = norm_text(cell)
        if not text or key is None or _NUMBER.match(key) or key not in lookup:
            continue
        seen.setdefault(key, set()).add(text)
    merged: dict[str, set[str]] = {}
    for key, spellings in seen.items():
        if len(spellings) > 1 and spellings - exact:
            merged.setdefault(lookup[key], set()).update(spellings - exact)
    if not merged:
        return None
    return "; ".join(
        f"{', '.join(repr(shown(x)) for x in sorted(vs))} as {shown(level)!r}"
        for level, vs in merged.items()
    )


def ambiguity_evidence(first_dmy: int | None, first_mdy: int | None) -> tuple[str, int | None]:
    """DATE-AMBIGUOUS's wording: the row that can only be read one way, when only one way
    is possible somewhere in the column."""
    if first_dmy is not None and first_mdy is None:
        return "dmy", first_dmy
    if first_mdy is not None and first_dmy is None:
        return "mdy", first_mdy
    return "", None


def is_missing(value: Any, codes: frozenset[str]) -> bool:
    """Empty, NaN, or one of the missing-value codes (compared as :func:`norm_text`)."""
    text = norm_text(value)
    return text is None or text in codes


def _rows_values(pairs: Iterable[tuple[int, Any]]) -> tuple[list[int], list[Any]]:
    rows: list[int] = []
    values: list[Any] = []
    for r, v in pairs:
        rows.append(r)
        values.append(v)
    return rows, values


def parse_numbers(
    cells: Sequence[Any],
    rows: Sequence[int],
    *,
    column: str,
    codes: frozenset[str],
    decimal: str,
    issues: IssueCollector,
    sensitive: bool = False,
) -> list[float | None]:
    """Numbers; text that is not a number is a MIXED-TYPES error listing rows and values."""
    out: list[float | None] = []
    bad: list[tuple[int, Any]] = []
    for r, cell in zip(rows, cells, strict=True):
        if is_missing(cell, codes):
            out.append(None)
            continue
        if isinstance(cell, bool):
            out.append(float(cell))
            continue
        if isinstance(cell, int | float):
            value = float(cell)
            out.append(value if math.isfinite(value) else None)
            continue
        text = str(cell).strip()
        if decimal == "," and _NUMBER_COMMA.match(text):
            text = text.replace(",", ".")
        if _NUMBER.match(text):
            out.append(float(text))
        else:
            out.append(None)
            bad.append((r, cell))
    if bad:
        bad_rows, bad_values = _rows_values(bad)
        issues.check(
            "MIXED-TYPES",
            "hidden" if sensitive else "",
            {"values": listed_texts(bad_values)},
            rows=bad_rows,
            column=column,
            sensitive=True,
        )
    return out


def _excel_serial(serial: float, system: int) -> _dt.date | None:
    if not (1 <= serial < 2958466):
        return None
    base = _EXCEL_1904 if system == 1904 else _EXCEL_1900
    if system == 1900 and serial < 61:
        # Excel counts the non-existent 1900-02-29 as serial 60
        base = _dt.date(1899, 12, 31)
    return base + _dt.timedelta(days=int(serial))


def _make_date(y: int, m: int, d: int) -> _dt.date | None:
    try:
        return _dt.date(y, m, d)
    except ValueError:
        return None


def _year(text: str, pivot: int | None) -> int | None:
    if len(text) == 4:
        return int(text)
    if pivot is None:
        return None
    yy = int(text)
    return 2000 + yy if yy < pivot else 1900 + yy


def parse_dates(
    cells: Sequence[Any],
    rows: Sequence[int],
    *,
    column: str,
    codes: frozenset[str],
    issues: IssueCollector,
    date_format: str | None,
    century_pivot: int | None,
    excel_system: int | None,
    source_kind: str,
    expand: Callable[[list[int]], list[int]] | None = None,
) -> list[_dt.date | None]:
    """Dates, checked as described in the module docstring; values are never shown (privacy)."""
    fmt = (date_format or "").strip()
    order = fmt.upper() if fmt.upper() in ("DMY", "MDY", "YMD") else None
    pattern = fmt if "%" in fmt else None
    out: list[_dt.date | None] = [None] * len(cells)
    unparseable: list[int] = []
    impossible: list[int] = []  # a recognised writing that is no calendar date (31/02/2009)
    two_digit: list[int] = []
    serial_rows: list[int] = []
    serial_unknown: list[int] = []
    pending: list[tuple[int, int, int, int, str]] = []  # (index, row, a, b, year text)
    for i, (r, cell) in enumerate(zip(rows, cells, strict=True)):
        if is_missing(cell, codes):
            continue
        if isinstance(cell, _dt.datetime):
            out[i] = cell.date()
            continue
        if isinstance(cell, _dt.date):
            out[i] = cell
            continue
        if isinstance(cell, bool):
            unparseable.append(r)
            continue
        if isinstance(cell, int | float) or (
            isinstance(cell, str) and re.fullmatch(r"\d{1,7}(\.\d+)?", cell.strip())
        ):
            serial = float(cell)
            system = excel_system
            if system is None:
                serial_unknown.append(r)
                continue
            value = _excel_serial(serial, system)
            if value is None:
                unparseable.append(r)
            else:
                out[i] = value
                serial_rows.append(r)
            continue
        text = _TIME_PART.sub("", str(cell).strip())
        m = _ISO.match(text)
        if pattern is not None and not m:
            try:
                out[i] = _dt.datetime.strptime(text, pattern).date()
            except ValueError:
                unparseable.append(r)
            continue
        if m:
            value = _make_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            if value is None:
                impossible.append(r)
            out[i] = value
            continue
        m = _ABY.match(text)
        if m:
            if len(m.group(3)) == 2 and century_pivot is None:
                two_digit.append(r)
                continue
            pending.append((i, r, int(m.group(1)), int(m.group(2)), m.group(3)))
            continue
        m = _D_MON_Y.match(text) or _MON_D_Y.match(text)
        if m:
            if m.re is _D_MON_Y:
                d, mon, y = m.group(1), m.group(2), m.group(3)
            else:
                mon, d, y = m.group(1), m.group(2), m.group(3)
            month = _MONTHS.get(mon.casefold())
            year = _year(y, century_pivot)
            if len(y) == 2 and century_pivot is None:
                two_digit.append(r)
                continue
            value = (
                _make_date(year, month, int(d)) if month is not None and year is not None else None
            )
            if value is None:
                impossible.append(r)
            out[i] = value
            continue
        unparseable.append(r)

    if pending:
        _resolve_day_month(
            pending, out, order, century_pivot, column, issues, unparseable, impossible
        )

    if impossible:
        issues.check(
            "DATE-UNPARSEABLE",
            "impossible",
            rows=sorted(impossible),
            column=column,
            sensitive=True,
        )

    if unparseable:
        issues.check(
            "DATE-UNPARSEABLE",
            "" if pattern is None else "pattern",
            {"pattern": pattern},
            rows=unparseable,
            column=column,
            sensitive=True,
        )
    if two_digit:
        issues.check("DATE-TWO-DIGIT-YEAR", rows=two_digit, column=column, sensitive=True)
    if serial_unknown:
        where = "a CSV file" if source_kind == "csv" else f"a {source_kind} file"
        issues.check(
            "DATE-EXCEL-SERIAL",
            "unknown",
            {"where": where},
            rows=serial_unknown,
            column=column,
            sensitive=True,
        )
    if serial_rows:
        n_serial = len(expand(serial_rows) if expand else serial_rows)
        issues.check(
            "DATE-EXCEL-SERIAL",
            "converted",
            {"n": n_serial, "system": excel_system},
            rows=serial_rows,
            column=column,
            sensitive=True,
        )
    return out


def _resolve_day_month(
    pending: list[tuple[int, int, int, int, str]],
    out: list[_dt.date | None],
    order: str | None,
    pivot: int | None,
    column: str,
    issues: IssueCollector,
    unparseable: list[int],
    impossible: list[int],
) -> None:
    """Dates written a/b/year: day-month or month-day, never guessed value by value (a
    date that exists in neither reading, such as 31/02/2009, is ``impossible``)."""
    readings = []
    for i, r, a, b, ytext in pending:
        year = _year(ytext, pivot)
        assert year is not None  # two-digit years without a pivot were set aside
        dmy = _make_date(year, b, a)
        mdy = _make_date(year, a, b)
        readings.append((i, r, dmy, mdy))
    if order in ("DMY", "MDY"):
        for i, r, dmy, mdy in readings:
            value = dmy if order == "DMY" else mdy
            if value is None:
                impossible.append(r)
            out[i] = value
        return
    if order == "YMD":
        unparseable.extend(r for _, r, _, _ in readings)
        return
    ambiguous = [r for _, r, dmy, mdy in readings if dmy and mdy and dmy != mdy]
    only_dmy = [r for _, r, dmy, mdy in readings if dmy and not mdy]
    only_mdy = [r for _, r, dmy, mdy in readings if mdy and not dmy]
    if ambiguous:
        variant, row = ambiguity_evidence(
            only_dmy[0] if only_dmy else None, only_mdy[0] if only_mdy else None
        )
        issues.check(
            "DATE-AMBIGUOUS",
            variant,
            {"row": row},
            rows=ambiguous,
            column=column,
            sensitive=True,
        )
        return
    if only_dmy and only_mdy:
        issues.check(
            "DATE-INCONSISTENT",
            params={"dmy_row": only_dmy[0], "mdy_row": only_mdy[0]},
            rows=[*only_dmy, *only_mdy],
            column=column,
            sensitive=True,
        )
        return
    for i, r, dmy, mdy in readings:
        value = dmy or mdy
        if value is None:
            impossible.append(r)
        out[i] = value


def parse_categories(
    cells: Sequence[Any],
    rows: Sequence[int],
    *,
    column: str,
    codes: frozenset[str],
    level_map: dict[str, list[Any]],
    issues: IssueCollector,
    sensitive: bool = False,
    expand: Callable[[list[int]], list[int]] | None = None,
) -> tuple[list[str | None], list[str]]:
    """Map cells to level names; return (values, level order).

    With ``level_map`` (level -> data values), a cell matches a level by its name or
    one of its values (as :func:`norm_text`); anything else is CATEGORY-UNKNOWN.
    Without it, the levels are the distinct values, numbers in numeric order first,
    then text in alphabetical order, so that the order never depends on row order.
    """
    out: list[str | None] = []
    if level_map:
        lookup: dict[str, str] = {}
        for level, values in level_map.items():
            for v in [level, *values]:
                key = norm_text(v)
                if key is not None:
                    lookup.setdefault(key, level)
        unknown: dict[str, list[int]] = {}
        for r, cell in zip(rows, cells, strict=True):
            if is_missing(cell, codes):
                out.append(None)
                continue
            key = norm_text(cell)
            assert key is not None
            if key in lookup:
                out.append(lookup[key])
            else:
                out.append(None)
                unknown.setdefault(shown(cell), []).append(r)
        merged = None if sensitive else merged_case_text(cells, level_map)
        if merged is not None:
            issues.check("CATEGORY-CASE", "merged", {"merged": merged}, column=column)
        if unknown:
            parts = [
                f"'{v}' ({format_rows(expand(rs) if expand else rs)})"
                for v, rs in sorted(unknown.items())
            ]
            issues.check(
                "CATEGORY-UNKNOWN",
                "hidden" if sensitive else "",
                {"values": "; ".join(parts), "allowed": allowed_levels(level_map)},
                rows=[r for rs in unknown.values() for r in rs],
                column=column,
                sensitive=True,
            )
        return out, list(level_map)
    numbers: set[float] = set()
    texts: dict[str, str] = {}
    for cell in cells:
        if is_missing(cell, codes):
            out.append(None)
            continue
        key = norm_text(cell)
        assert key is not None
        if _NUMBER.match(key):
            numbers.add(float(key))
            out.append(key)
        else:
            label = str(cell).strip()
            texts.setdefault(label, label)
            out.append(label)
    case_groups: dict[str, list[str]] = {}
    for label in texts:
        case_groups.setdefault(label.casefold(), []).append(label)
    clashes = [sorted(g) for g in case_groups.values() if len(g) > 1]
    if clashes and not sensitive:
        issues.check("CATEGORY-CASE", params={"groups": case_groups_text(clashes)}, column=column)
    order = [norm_text(n) or "" for n in sorted(numbers)]
    order += sorted(texts, key=lambda s: (s.casefold(), s))
    return out, order


def sublevels(
    cells: Sequence[Any], codes: frozenset[str], level_map: dict[str, list[Any]]
) -> tuple[list[str | None], dict[str, tuple[str, ...]]]:
    """The data value (as written in the spec) behind each grouped level, e.g. 'I' in 'I/II'.

    Returns the per-cell value text (``None`` when missing or unknown) and, per level,
    its values in spec order, so that a table can show "I (n=3)/II (n=4)".
    """
    lookup: dict[str, str] = {}
    groups: dict[str, tuple[str, ...]] = {}
    for level, values in level_map.items():
        texts = []
        for v in values:
            key = norm_text(v)
            if key is None:
                continue
            text = "true" if v is True else "false" if v is False else str(v)
            if isinstance(v, float) and v.is_integer():
                text = str(int(v))
            lookup.setdefault(key, text)
            texts.append(text)
        groups[level] = tuple(texts)
    out: list[str | None] = []
    for cell in cells:
        key = None if is_missing(cell, codes) else norm_text(cell)
        out.append(lookup.get(key) if key is not None else None)
    return out, groups


def parse_events(
    cells: Sequence[Any],
    rows: Sequence[int],
    *,
    column: str,
    codes: frozenset[str],
    event: Sequence[Any] | None,
    censored: Sequence[Any] | None,
    competing: Sequence[Any] = (),
    issues: IssueCollector,
    expand: Callable[[list[int]], list[int]] | None = None,
) -> list[int | None]:
    """Event indicator as 1 (event), 0 (censored), 2 (competing) or None (missing).

    Without a mapping only 0/1 and true/false are accepted; anything else is an
    EVENT-CODE error listing the distinct values and their rows (never guessed).
    """
    if event is None or censored is None:
        mapping = {"1": 1, "true": 1, "0": 0, "false": 0}
    else:
        mapping = {}
        for value, status in (
            *((v, 1) for v in event),
            *((v, 0) for v in censored),
            *((v, 2) for v in competing),
        ):
            key = norm_text(value)
            if key is not None:
                mapping[key] = status
    out: list[int | None] = []
    unknown: dict[str, list[int]] = {}
    for r, cell in zip(rows, cells, strict=True):
        key = norm_text(cell)
        if key is not None and key in mapping:
            out.append(mapping[key])
            continue
        if is_missing(cell, codes):
            out.append(None)
            continue
        out.append(None)
        unknown.setdefault(shown(cell), []).append(r)
    if unknown:
        parts = [
            f"'{v}' ({format_rows(expand(rs) if expand else rs)})"
            for v, rs in sorted(unknown.items())
        ]
        issues.check(
            "EVENT-CODE",
            "" if event is None else "mapped",
            {"values": "; ".join(parts)},
            rows=[r for rs in unknown.values() for r in rs],
            column=column,
            sensitive=True,
        )
    return out


def listed_numbers(values: list[float]) -> str:
    """The first five distinct numbers of a RANGE finding, as the spec writes numbers."""
    return ", ".join(norm_text(float(v)) or "" for v in sorted(values)[:5])

"""Inclusion criteria as the app's user writes them: a condition from the picker
(variable, operator, value), and errors in the user's words with the fix.

The spec's own parser and checks decide what is valid (the app never accepts a condition
the CLI would refuse); this module only builds the text from the picker and rewords the
refusal for someone who never saw the study.yaml: no YAML line or key, dates written as the
user typed them turned into ``date("YYYY-MM-DD")``, a column label turned into its
variable name.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from typing import Any

from survstudy.app.state import ColumnChoice, Session

__all__ = ["OPERATORS", "picker_expression", "reworded_error"]

#: operators offered by the picker: form value -> expression text
OPERATORS: dict[str, str] = {
    "==": "==",
    "!=": "!=",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
    "missing": "is missing",
    "present": "is not missing",
}

_TYPED_DATE = re.compile(r"(?<![\w\"'])(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?![\w\"'])")
_BARE_ISO = re.compile(r"(?<![\w\"'])(\d{4})-(\d{2})-(\d{2})(?![\w\"'])")


def _as_iso(day_first: bool, a: int, b: int, y: int) -> str | None:
    d, m = (a, b) if day_first else (b, a)
    try:
        return _dt.date(y, m, d).isoformat()
    except ValueError:
        return None


def typed_date(text: str, date_format: str) -> str | None:
    """``01/02/2006`` as ISO by the session's date order (DMY unless MDY is chosen, or a
    part over 12 says so); None when it is not a date."""
    m = _TYPED_DATE.fullmatch(text.strip())
    if m is None:
        m2 = _BARE_ISO.fullmatch(text.strip())
        if m2 is None:
            return None
        try:
            return _dt.date(int(m2[1]), int(m2[2]), int(m2[3])).isoformat()
        except ValueError:
            return None
    a, b, y = int(m[1]), int(m[2]), int(m[3])
    day_first = date_format != "MDY"
    if a > 12 >= b:
        day_first = True
    elif b > 12 >= a:
        day_first = False
    return _as_iso(day_first, a, b, y)


def picker_expression(s: Session, variable: str, op: str, value: str) -> str | None:
    """The condition the picker describes, or None when the picker was not used."""
    col = next((c for c in s.visible() if c.name == variable), None)
    if col is None or op not in OPERATORS:
        return None
    if op in ("missing", "present"):
        return f"{col.name} {OPERATORS[op]}"
    value = value.strip()
    if not value:
        return None
    return f"{col.name} {OPERATORS[op]} {_literal(col, value, s.date_format)}"


def _literal(col: ColumnChoice, value: str, date_format: str) -> str:
    if col.type == "date":
        iso = typed_date(value, date_format)
        return f'date("{iso}")' if iso else json.dumps(value)
    if col.type == "continuous" and re.fullmatch(r"-?\d+([.,]\d+)?", value):
        return value.replace(",", ".")
    return json.dumps(value, ensure_ascii=False)


def reworded_error(s: Session, expression: str, error: Any) -> str:
    """The refusal of ``expression`` in the app user's words, with the fix."""
    fixes: list[str] = []
    for m in _TYPED_DATE.finditer(expression):
        iso = typed_date(m.group(0), s.date_format)
        if iso is not None:
            fixes.append(f'write the date {m.group(0)} as date("{iso}")')
    for m in _BARE_ISO.finditer(expression):
        fixes.append(f'write the date {m.group(0)} as date("{m.group(0)}")')
    for c in s.visible():
        label = (c.label or "").strip()
        if label and label != c.name and label in expression:
            fixes.append(f"use the variable name {c.name} (not its label '{label}')")
    if fixes:
        return "The condition cannot be used: " + "; ".join(fixes) + "."
    message = str(getattr(error, "message", None) or error)
    suggestion = getattr(error, "suggestion", None)
    if suggestion:
        message += f" (did you mean {suggestion}?)"
    return "The condition cannot be used: " + message

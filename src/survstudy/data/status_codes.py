"""The codes of a competing-risks event column, as ``survstudy cif``, ``survstudy cox
--cause/--competing`` and the Python API (``survstudy.cumulative_incidence``,
``survstudy.fine_gray``) read them.

``--cause``, ``--competing`` and ``--censored`` (the API's ``cause=``, ``competing=``,
``censored=``) list the values of the event column: the event of interest, a competing
event, a censoring. Values are
compared as the column reader normalises them (numbers as numbers, so ``1`` matches
``1``, ``1.0`` and ``"1"``; text stripped). A row whose value is in none of the three
lists is an error naming the row; a value in two lists is an error.

Codes after mapping: 0 = censored, 1 = the event, 2 = a competing event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from survstudy.errors import AnalysisError, DataError

__all__ = [
    "EventCodes",
    "event_codes",
    "event_codes_from_values",
    "status_from_cells",
    "status_from_values",
]


def _level(v: Any) -> Any:
    from survstudy.data.quick import level_value

    return level_value(v)


@dataclass(frozen=True)
class EventCodes:
    """The three lists of values, normalised (module docstring)."""

    cause: tuple[Any, ...]
    competing: tuple[Any, ...]
    censored: tuple[Any, ...]

    def lookup(self) -> dict[Any, int]:
        out: dict[Any, int] = {}
        for code, values in ((1, self.cause), (2, self.competing), (0, self.censored)):
            for v in values:
                out[v] = code
        return out

    def describe(self) -> str:
        def show(vals: tuple[Any, ...]) -> str:
            return ", ".join(str(v) for v in vals)

        return (
            f"--cause {show(self.cause)}, --competing {show(self.competing)}, "
            f"--censored {show(self.censored)}"
        )

    def to_dict(self) -> dict[str, list[Any]]:
        return {
            "cause": list(self.cause),
            "competing": list(self.competing),
            "censored": list(self.censored),
        }


def _split(text: str | None) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()] if text else []


def event_codes(cause: str | None, competing: str | None, censored: str | None) -> EventCodes:
    """Parse the three options (comma-separated text); :class:`AnalysisError` for an empty
    list or a value in two."""
    return event_codes_from_values(_split(cause), _split(competing), _split(censored))


def event_codes_from_values(
    cause: Sequence[Any], competing: Sequence[Any], censored: Sequence[Any]
) -> EventCodes:
    """The three lists of values (the Python API's arguments; :func:`event_codes` for the
    options' text), normalised as the column reader does; :class:`AnalysisError` for an
    empty list or a value in two (named by the command's options, as the command says it)."""
    lists: dict[str, list[Any]] = {}
    for name, given in (("--cause", cause), ("--competing", competing), ("--censored", censored)):
        vals = [_level(v) for v in given]
        if not vals:
            raise AnalysisError(f"{name} needs at least one value of the event column")
        lists[name] = list(dict.fromkeys(vals))
    seen: dict[Any, str] = {}
    for name, vals in lists.items():
        for v in vals:
            if v in seen:
                raise AnalysisError(f"the value {v!r} is given with both {seen[v]} and {name}")
            seen[v] = name
    return EventCodes(
        cause=tuple(lists["--cause"]),
        competing=tuple(lists["--competing"]),
        censored=tuple(lists["--censored"]),
    )


def status_from_values(
    values: Sequence[Any],
    rows: Sequence[int] | NDArray[np.integer[Any]],
    codes: EventCodes,
    *,
    file: str,
    column: str,
) -> NDArray[np.int8]:
    """0/1/2 per row from the event column's (normalised) values; :class:`DataError`
    naming the first row whose value is in none of the lists."""
    table = codes.lookup()
    out = np.fromiter((table.get(v, -1) for v in values), dtype=np.int8, count=len(values))
    bad = np.flatnonzero(out < 0)
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"the event value is none of the codes given ({codes.describe()})",
            file=file,
            row=int(rows[i]),
            column=column,
            value=values[i],
            rule="EVENT-CODE",
        )
    return out


def status_from_cells(cells: Any, codes: EventCodes, *, file: str, column: str) -> NDArray[np.int8]:
    """:func:`status_from_values` on a column of cells, decided once per distinct value
    (a status column holds a handful of codes however many rows it has)."""
    from survstudy.data.quick import level_value

    d = cells.distinct
    table = codes.lookup()
    values = [level_value(v) for v in d.values]
    per = np.fromiter((table.get(v, -1) for v in values), dtype=np.int8, count=len(values))
    bad = np.flatnonzero(per < 0)
    if bad.size:
        k = min((int(j) for j in bad), key=lambda j: d.first_rows[j])
        raise DataError(
            f"the event value is none of the codes given ({codes.describe()})",
            file=file,
            row=int(d.first_rows[k]),
            column=column,
            value=values[k],
            rule="EVENT-CODE",
        )
    return per[d.inverse]

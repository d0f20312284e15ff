"""From a user's table to the typed columns of the quick commands.

The table goes through :func:`survstudy.data.readers.read_frame` (cells as Python
values, records numbered 1, 2, …) and then through the very code that types the
columns of ``survstudy km/logrank/cox``
(:func:`survstudy.cli._columns.columns_from_raw`): the same rows are dropped for
missing values, and a wrong column name or a bad event value raises the same
:class:`~survstudy.errors.DataError` the command prints, naming the table
``DataFrame`` where the command names the file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from survstudy.errors import AnalysisError, DataError

__all__ = ["TABLE_NAME", "check_column_names", "read_columns"]

#: how messages name an in-memory table (where the commands name the file)
TABLE_NAME = "DataFrame"


def check_column_names(**columns: Any) -> None:
    """Column arguments must be names (strings): ``time="futime"``, not a Series."""
    for arg, value in columns.items():
        values = value if isinstance(value, list | tuple) else [value]
        for v in values:
            if v is not None and not isinstance(v, str):
                raise TypeError(f"{arg} must be a column name (a string), not {type(v).__name__}")


def read_columns(
    data: Any,
    time: str,
    event: str,
    *,
    others: Sequence[str | None] = (),
    event_codes: Mapping[str, Sequence[Any]] | None = None,
) -> Any:
    """The time, event and ``others`` columns of ``data`` as the quick commands type them.

    ``event_codes`` (``{"event": [...], "censored": [...]}``) maps other event values to
    1/0 first, as an endpoint's ``event_codes`` in a study spec; a value it does not
    cover is an ``EVENT-CODE`` error naming its rows.
    """
    from survstudy.cli._columns import columns_from_raw
    from survstudy.data.readers import read_frame

    raw = read_frame(data, name=TABLE_NAME)
    if event_codes is not None:
        raw = _map_events(raw, event, event_codes)
    return columns_from_raw(raw, time, event, others=others)


def _map_events(raw: Any, event: str, codes: Mapping[str, Sequence[Any]]) -> Any:
    """``raw`` with the event column's values replaced by 1 (event) / 0 (censored)."""
    from dataclasses import replace

    from survstudy.data.columns import norm_text, shown
    from survstudy.data.quality import format_rows

    unknown_keys = set(codes) - {"event", "censored"}
    if "competing" in unknown_keys:
        raise AnalysisError(
            "event_codes: competing events need a competing-risks analysis; "
            "map them to 'censored' or analyse them separately"
        )
    if unknown_keys or not {"event", "censored"} <= set(codes):
        raise AnalysisError(
            "event_codes must be a mapping with the keys 'event' and 'censored', "
            'e.g. {"event": ["Dead"], "censored": ["Alive"]}'
        )
    mapping: dict[str, int] = {}
    for status, name in ((1, "event"), (0, "censored")):
        values = codes[name]
        for v in [values] if isinstance(values, str) else list(values):
            code = norm_text(v)
            if code is not None:
                mapping[code] = status
    if event not in raw.columns:
        return raw  # the typing step reports the unknown column as the command does
    import numpy as np

    cells = raw.column(event)
    unknown: dict[str, list[int]] = {}
    mapped = np.empty(len(cells), dtype=object)
    for i, (cell, row) in enumerate(zip(cells, raw.rows, strict=True)):
        key = norm_text(cell)
        if key is None:
            mapped[i] = None
        elif key in mapping:
            mapped[i] = mapping[key]
        else:
            unknown.setdefault(shown(cell), []).append(row)
            mapped[i] = cell
    if unknown:
        parts = [f"'{v}' ({format_rows(rs)})" for v, rs in sorted(unknown.items())]
        raise DataError(
            "values not covered by event_codes: " + "; ".join(parts),
            file=raw.file,
            column=event,
            rule="EVENT-CODE",
            hint="add them to event_codes['event'] or event_codes['censored']",
        )
    return replace(raw, data={**raw.data, event: mapped})

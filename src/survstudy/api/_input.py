"""From a user's table to the typed columns of the quick commands.

The table goes through :func:`survstudy.data.readers.read_frame` (cells as Python
values, records numbered 1, 2, …) and then through the very code that types the
columns of ``survstudy km/logrank/cox``
(:func:`survstudy.data.quick.columns_from_raw`): with ``missing="drop"`` the same rows
are dropped for missing values (with ``missing="error"``, the default, the first missing
value is a MISSING-VALUE error), and a wrong column name or a bad event value raises the same
:class:`~survstudy.errors.DataError` the command prints, naming the table
``DataFrame`` where the command names the file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from survstudy.errors import AnalysisError, DataError

__all__ = [
    "MISSING",
    "TABLE_NAME",
    "check_column_names",
    "check_id",
    "check_missing",
    "interval_starts",
    "missing_value_error",
    "read_columns",
]

#: how messages name an in-memory table (where the commands name the file)
TABLE_NAME = "DataFrame"

#: the choices of the calls' ``missing=``: refuse missing values (default) or leave their
#: rows out as the commands do
MISSING = ("error", "drop")


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
    event: str | None,
    *,
    others: Sequence[str | None] = (),
    event_codes: Mapping[str, Sequence[Any]] | None = None,
    missing: str = "error",
    command: str = "survstudy km",
) -> Any:
    """The time, event and ``others`` columns of ``data`` as the quick commands type them
    (``event=None``: no 0/1 event column; a competing-risks status column is one of
    ``others``, coded by :mod:`survstudy.data.status_codes`).

    ``event_codes`` (``{"event": [...], "censored": [...]}``) maps other event values to
    1/0, as the commands' ``--event-codes`` and a spec's ``event_codes`` do; a value it
    does not cover is the commands' ``EVENT-CODE`` error naming its rows.

    ``missing="error"``: a missing value in one of the columns (time, event, then
    ``others`` in their order) is a MISSING-VALUE :class:`~survstudy.errors.DataError`
    naming the first one's row and column, the number of rows with one, and ``command``
    (which drops them); ``"drop"``: those rows are left out and counted, as ``command`` does.
    """
    from survstudy.data.quick import columns_from_raw, first_missing, used_columns
    from survstudy.data.readers import read_frame

    codes = None if event_codes is None else _event_codes(event_codes)
    raw = read_frame(data, name=TABLE_NAME)
    if missing == "error":
        found = first_missing(raw, used_columns(time, event, others))
        if found is not None:
            raise missing_value_error(found, raw.file, command)
    return columns_from_raw(raw, time, event, others=others, event_codes=codes)


def check_missing(missing: Any) -> None:
    """``missing`` is ``"error"`` or ``"drop"``."""
    if missing not in MISSING:
        raise AnalysisError(f"missing must be 'error' or 'drop', not {missing!r}")


def missing_value_error(found: Any, file: str, command: str) -> DataError:
    """The MISSING-VALUE error of ``missing="error"``: the first missing cell's row and
    column (never a value), how many rows have one, and the way out."""
    n = found.n_rows
    rows = "1 row" if n == 1 else f"{n} rows"
    has = "has" if n == 1 else "have"
    return DataError(
        f"missing value; {rows} of {found.n_read} {has} a missing value in the columns used",
        file=file,
        row=found.row,
        column=found.column,
        rule="MISSING-VALUE",
        hint=f'missing="drop" leaves them out, as {command} does',
    )


def _event_codes(codes: Mapping[str, Sequence[Any]]) -> dict[str, list[str]]:
    """``{"event": [...], "censored": [...]}`` checked, values as text (matched as the
    spec's event codes: ``2`` = ``2.0`` = ``"2"``, case and spaces ignored)."""
    from survstudy.data.columns import norm_text

    if not isinstance(codes, Mapping):
        raise TypeError("event_codes must be a mapping, e.g. {'event': [2], 'censored': [1]}")
    keys = set(codes)
    if "competing" in keys:
        raise AnalysisError(
            "event_codes: a competing event is not a censoring; analyse it as a competing risk"
        )
    if keys != {"event", "censored"}:
        raise AnalysisError(
            "event_codes must have the keys 'event' and 'censored', "
            'e.g. {"event": ["Dead"], "censored": ["Alive"]}'
        )
    out: dict[str, list[str]] = {}
    for key in ("event", "censored"):
        values = codes[key]
        items = [values] if isinstance(values, str | int | float | bool) else list(values)
        out[key] = [str(v) for v in items]
        if not out[key]:
            raise AnalysisError(f"event_codes[{key!r}] lists no value")
    both = {norm_text(v) for v in out["event"]} & {norm_text(v) for v in out["censored"]}
    if both:
        raise AnalysisError(
            f"event_codes: {sorted(x for x in both if x)} listed as event and as censored"
        )
    return out


def interval_starts(
    cols: Any, time: str, event: str, start: str | None, patient: str | None
) -> Any:
    """The entry times of ``(start, stop]`` rows, checked as the commands' ``--start``/``--id``
    check them (start < stop; with ``patient``: overlapping or duplicated intervals, an event
    not on a patient's last row, gaps); ``None`` without ``start``."""
    if start is None:
        return None
    from survstudy.data.intervals import check_interval_columns, start_values

    t0 = start_values(cols.numbers(start), cols.file, start, cols.rows)
    check_interval_columns(
        file=cols.file,
        rows=cols.rows,
        start=t0,
        stop=cols.time,
        event=cols.event,
        start_col=start,
        stop_col=time,
        event_col=event,
        patient=None if patient is None else cols.others[patient],
    )
    return t0


def check_id(start: str | None, patient: str | None) -> None:
    """``id`` belongs to interval data."""
    if patient is not None and start is None:
        raise AnalysisError("id applies to interval data: give the entry-time column with start=")

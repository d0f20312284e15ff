"""``survstudy km FILE --time COL --event COL [--by COL] …``: Kaplan–Meier tables.

JSON (``--json``): {"conf_type", "conf_level", "groups": [{"group", "n", "events",
"median", "median_lower", "median_upper", "table": [...], "at": [...]}]}; floats
unrounded, ``null`` for "not reached" and for undefined limits (as R's NA).

``--start ENTRY`` (delayed entry / interval rows, R's ``survfit(Surv(start, stop,
event) ~ ...)``) adds ``"delayed_entry": true`` and, in each ``at`` record,
``n_at_risk``: the exact number of rows at risk at that time (``start < t ≤ stop``);
``n_risk`` stays R's ``summary(fit, times=)`` value (at the next observed time).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from survstudy.cli._decl import Argument, Option, command, echo
from survstudy.cli._engine import EngineOpt, EngineOption, SparkMaster, with_spark_master
from survstudy.cli._options import EventCodesOption
from survstudy.errors import AnalysisError

# --at with a unit: days per unit (month and year as elsewhere in survstudy)
_AT_UNITS = {"d": 1.0, "w": 7.0, "m": 30.4375, "y": 365.25}
_TIME_UNITS = {"days": 1.0, "weeks": 7.0, "months": 30.4375, "years": 365.25}


def _parse_at(at: str | None, time_unit: str | None = None) -> tuple[list[float], list[str]]:
    """Times in the time column's unit, and their labels as written.

    ``12,24,36`` are in the column's unit; ``2y,5y`` (also ``d``, ``w``, ``m``) are
    converted with ``--time-unit`` (the unit of the time column), which they require.
    """
    if not at:
        return [], []
    out: list[float] = []
    labels: list[str] = []
    for part in at.split(","):
        part = part.strip()
        if not part:
            continue
        unit = part[-1].lower() if part[-1:].isalpha() else None
        number = part[:-1] if unit else part
        try:
            value = float(number)
        except ValueError:
            raise AnalysisError(
                f"--at must be comma-separated times such as 12,24,36 or 2y,5y; not {part!r}"
            ) from None
        if unit is not None:
            if unit not in _AT_UNITS:
                raise AnalysisError(
                    f"--at {part!r}: the unit must be d, w, m or y (days, weeks, months, years)"
                )
            if time_unit is None:
                raise AnalysisError(
                    f"--at {part!r} needs --time-unit, the unit of the time column "
                    "(days, weeks, months or years)"
                )
            value = value * _AT_UNITS[unit] / _TIME_UNITS[time_unit]
        out.append(value)
        labels.append(part)
    return out, labels


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None:
        return "NA"
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


@command
def km(
    file: Annotated[str, Argument(help="Data file (CSV, XLSX, Parquet, SAV, DTA).")],
    time: Annotated[str, Option("--time", help="Follow-up time column.")],
    event: Annotated[
        str, Option("--event", help="Event column (0/1 or true/false; else --event-codes).")
    ],
    by: Annotated[str | None, Option("--by", help="Group column (one curve per level).")] = None,
    at: Annotated[
        str | None, Option("--at", help="Times for survival estimates, e.g. 12,24,36.")
    ] = None,
    conf_type: Annotated[
        str, Option("--conf-type", help="log-log (default), log or plain.")
    ] = "log-log",
    conf_level: Annotated[float, Option("--conf-level", help="Confidence level.")] = 0.95,
    time_unit: Annotated[
        str | None,
        Option(
            "--time-unit",
            help="Unit of the time column (days, weeks, months, years): lets --at take "
            "2y,5y and labels the output.",
        ),
    ] = None,
    table: Annotated[
        bool, Option("--table", help="Also print the whole product-limit table.")
    ] = False,
    reverse: Annotated[
        bool, Option("--reverse", help="Reverse Kaplan–Meier (median follow-up).")
    ] = False,
    start: Annotated[
        str | None,
        Option(
            "--start",
            help="Entry-time column: delayed entry (left truncation) or interval rows "
            "(START, TIME], as survfit(Surv(start, stop, event) ~ ...); with --by a group "
            "that changes over a patient's rows gives Simon–Makuch curves.",
        ),
    ] = None,
    patient_id: Annotated[
        str | None,
        Option("--id", help="Patient column for --start data: checks each patient's intervals."),
    ] = None,
    event_codes: EventCodesOption = None,
    as_json: Annotated[bool, Option("--json", help="Print one JSON object.")] = False,
    engine: EngineOption = "memory",
    engine_opt: EngineOpt = None,
    spark_master: SparkMaster = None,
) -> None:
    """Kaplan–Meier estimate: table, median with CI and survival at chosen times."""
    engine_opt = with_spark_master(engine_opt, spark_master)
    from survstudy.data.quick import load_columns, parse_event_codes
    from survstudy.stats.km import CONF_TYPES, kaplan_meier, kaplan_meier_by

    if conf_type not in CONF_TYPES:
        raise AnalysisError(f"--conf-type must be one of {', '.join(CONF_TYPES)}")
    if time_unit is not None and time_unit not in _TIME_UNITS:
        raise AnalysisError(f"--time-unit must be one of {', '.join(_TIME_UNITS)}")
    times, at_labels = _parse_at(at, time_unit)
    from survstudy.cli._engine import resolve_engine

    engine = resolve_engine(engine, file)
    if engine == "memory":
        from survstudy._process import keep_freed_memory

        keep_freed_memory()  # in its own process: freed arrays reused, fewer page faults
    kw: dict[str, Any] = {"conf_type": conf_type, "conf_level": conf_level, "reverse": reverse}
    if patient_id is not None and start is None:
        raise AnalysisError(
            "--id applies to interval data: give the entry-time column with --start"
        )
    exact_risk: list[Any] = []
    if engine != "memory":
        from survstudy.cli._engine import not_available, open_engine, source_for

        if event_codes is not None:
            raise not_available("--event-codes", engine)
        from survstudy.engines.analyses import kaplan_meier as km_engine

        if start is not None:
            raise not_available("--start", engine)
        eng = open_engine(engine, engine_opt)
        try:
            fits, counts = km_engine(
                eng, source_for(file, engine), time=time, event=event, group=by, **kw
            )
        finally:
            eng.close()
        n_read, n_dropped = counts.n_read, counts.n_dropped
    else:
        cols = load_columns(
            file,
            time,
            event,
            others=(by, start, patient_id),
            event_codes=parse_event_codes(event_codes),
        )
        n_read, n_dropped = cols.n_read, cols.n_dropped
        if start is not None:
            from survstudy.data.intervals import check_interval_columns, start_values

            kw["start"] = start_values(cols.numbers(start), cols.file, start, cols.rows)
            check_interval_columns(
                file=cols.file,
                rows=cols.rows,
                start=kw["start"],
                stop=cols.time,
                event=cols.event,
                start_col=start,
                stop_col=time,
                event_col=event,
                patient=None if patient_id is None else cols.others[patient_id],
            )
        if by is None:
            fits = [(None, kaplan_meier(cols.time, cols.event, **kw))]
        else:
            codes, levels = cols.factor(by)
            fits = kaplan_meier_by(cols.time, cols.event, codes, levels, **kw)
        if start is not None and times:
            # the exact number of rows at risk at each chosen time (start < t <= stop)
            from survstudy.stats.riskset import number_at_risk

            if by is None:
                exact_risk = [number_at_risk(times, cols.time, start=kw["start"])]
            else:
                nr = number_at_risk(
                    times, cols.time, start=kw["start"], group=codes, n_groups=len(levels)
                )
                exact_risk = [nr[:, levels.index(level)] for level, _ in fits]
    groups = []
    for k, (level, res) in enumerate(fits):
        med = res.median()
        at_records = res.survival_at(times).to_records() if times else []
        if exact_risk:
            for rec, nr_t in zip(at_records, exact_risk[k], strict=True):
                rec["n_at_risk"] = float(nr_t)
        groups.append(
            {
                "group": level,
                "n": res.n,
                "events": res.events,
                "median": med.estimate,
                "median_lower": med.lower,
                "median_upper": med.upper,
                "table": res.to_records(),
                "at": at_records,
                "warnings": [w.to_dict() for w in res.warnings],
            }
        )
    payload = {
        "conf_type": conf_type,
        "conf_level": conf_level,
        "reverse": reverse,
        "time_unit": time_unit,
        "n_read": n_read,
        "n_dropped": n_dropped,
        "groups": groups,
    }
    if start is not None:
        payload["delayed_entry"] = True
    if as_json:
        echo(json.dumps(payload, ensure_ascii=False, allow_nan=False))
        return
    echo("\n".join(_text(payload, by, at_labels, time_unit, table)))


def _pc(x: Any) -> str:
    return "NA" if x is None else f"{100 * x:.1f}%"


def _text(
    payload: dict[str, Any], by: str | None, labels: list[str], unit: str | None, table: bool
) -> list[str]:
    """A compact summary per group (n, events, median, survival at --at); --table adds
    the whole product-limit table."""
    conf_level, conf_type = payload["conf_level"], payload["conf_type"]
    pct = f"{conf_level * 100:g}%"
    what = "Reverse Kaplan–Meier (median follow-up)" if payload["reverse"] else "Kaplan–Meier"
    if payload.get("delayed_entry"):
        what += " with delayed entry (start, stop]"
    u = f" {unit}" if unit else ""
    lines = [
        f"{what}, {conf_type} {pct} CI; {payload['n_read']} rows, {payload['n_dropped']} dropped"
    ]
    for g in payload["groups"]:
        head = f"{by} = {g['group']}: " if by is not None else ""
        lines.append("")
        median = (
            "not reached"
            if g["median"] is None
            else f"{_fmt(g['median'])}{u} ({pct} CI {_fmt(g['median_lower'])} to "
            f"{_fmt(g['median_upper'])})"
        )
        lines.append(f"{head}n = {_fmt(g['n'])}, events = {_fmt(g['events'])}, median = {median}")
        last = g["table"][-1]["time"] if g["table"] else None
        for label, r in zip(labels, g["at"], strict=True):
            when = label if label[-1:].isalpha() else f"{label}{u}"
            if r["beyond_follow_up"]:
                lines.append(
                    f"  survival at {when}: not estimable (beyond the last follow-up, "
                    f"{_fmt(last)}{u})"
                )
            else:
                risk = r.get("n_at_risk", r["n_risk"])  # exact count with --start
                lines.append(
                    f"  survival at {when}: {_pc(r['survival'])} ({pct} CI {_pc(r['lower'])} "
                    f"to {_pc(r['upper'])}), {_fmt(risk)} at risk"
                )
        if table:
            lines.append(
                f"{'time':>10} {'n.risk':>7} {'n.event':>7} {'n.cens':>6} "
                f"{'survival':>9} {'std.err':>8} {'lower':>8} {'upper':>8}"
            )
            for r in g["table"]:
                lines.append(
                    f"{_fmt(r['time']):>10} {_fmt(r['n_risk']):>7} {_fmt(r['n_event']):>7} "
                    f"{_fmt(r['n_censor']):>6} {_fmt(r['survival']):>9} "
                    f"{_fmt(r['std_err']):>8} {_fmt(r['lower']):>8} {_fmt(r['upper']):>8}"
                )
    if not table:
        lines.append("")
        lines.append("(--table prints the whole product-limit table; --json everything)")
    return lines

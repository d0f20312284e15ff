"""``survstudy cif FILE --time T --event E --cause 1 --competing 2 --censored 0 …``:
cumulative incidence with competing risks and Gray's test.

The event column holds codes: ``--cause`` values mark the event of interest,
``--competing`` values a competing event, ``--censored`` values a censoring (each a
comma-separated list; any other value is an error naming the row). Rows with a missing
value in a used column are dropped and counted.

JSON (``--json``): ``{"groups": [{"group", "n", "events", "competing_events", "censored",
"at": [{"time", "cif", "se", "lower", "upper", "n_risk", "beyond_follow_up"}],
"competing_at": [same]}], "gray": {"statistic", "df", "p_value", "stratified", "rho"} | null,
"gray_competing": same | null, "warnings": [{"code", "message", "context"}], "conf_type",
"conf_level", "codes", "n_read", "n_dropped"}``; floats unrounded, ``null`` where undefined
(after the last follow-up of a group, or a limit the transform cannot give).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from survstudy.cli._decl import Argument, Option, command, echo
from survstudy.cli._engine import EngineOpt, EngineOption, SparkMaster, with_spark_master
from survstudy.errors import AnalysisError, DataError


@command
def cif(
    file: Annotated[str, Argument(help="Data file (CSV, XLSX, Parquet, SAV, DTA).")],
    time: Annotated[str, Option("--time", help="Follow-up time column.")],
    event: Annotated[str, Option("--event", help="Event column holding the codes below.")],
    cause: Annotated[
        str, Option("--cause", help="Value(s) of the event column for the event, e.g. 1.")
    ],
    competing: Annotated[
        str,
        Option("--competing", help="Value(s) for a competing event, e.g. 2 or 2,3."),
    ],
    censored: Annotated[
        str, Option("--censored", help="Value(s) for a censoring (default 0).")
    ] = "0",
    by: Annotated[
        str | None, Option("--by", help="Group column (one curve per level, Gray's test).")
    ] = None,
    strata: Annotated[
        str | None, Option("--strata", help="Stratify Gray's test by this column.")
    ] = None,
    at: Annotated[
        str | None, Option("--at", help="Times for the estimates, e.g. 12,36,60.")
    ] = None,
    conf_type: Annotated[
        str, Option("--conf-type", help="log-log (default), log or plain.")
    ] = "log-log",
    conf_level: Annotated[float, Option("--conf-level", help="Confidence level.")] = 0.95,
    as_json: Annotated[bool, Option("--json", help="Print one JSON object.")] = False,
    engine: EngineOption = "memory",
    engine_opt: EngineOpt = None,
    spark_master: SparkMaster = None,
) -> None:
    """Cumulative incidence (Aalen–Johansen, cmprsk's variance) with competing risks, and
    Gray's test across the --by groups."""
    from survstudy._process import no_cycle_collection, single_threaded_blas, small_pages_for_numpy

    single_threaded_blas()  # before NumPy loads: its only matrices here are G x G
    small_pages_for_numpy()  # huge pages for its arrays sometimes cost ~1 s in the kernel
    no_cycle_collection()  # a short run on arrays: nothing cyclic to collect
    engine_opt = with_spark_master(engine_opt, spark_master)
    from survstudy.cli._competing import parse_times
    from survstudy.data.status_codes import event_codes
    from survstudy.stats.competing import CONF_TYPES

    if conf_type not in CONF_TYPES:
        raise AnalysisError(f"--conf-type must be one of {', '.join(CONF_TYPES)}")
    if not 0 < conf_level < 1:
        raise AnalysisError("--conf-level must be between 0 and 1")
    codes = event_codes(cause, competing, censored)
    times = parse_times(at)
    if strata is not None and by is None:
        raise AnalysisError("--strata stratifies Gray's test across groups: give --by as well")
    from survstudy.cli._engine import resolve_engine

    engine = resolve_engine(engine, file)
    if engine == "memory":
        from survstudy._process import keep_freed_memory

        keep_freed_memory()  # in its own process: freed arrays reused, fewer page faults
    if engine == "memory":
        data = _from_memory(file, time, event, by, strata, codes)
    else:
        data = _from_engine(file, time, event, by, strata, codes, engine, engine_opt)
    payload = _analyse(data, by, times, conf_type, conf_level, with_table=not as_json)
    payload["codes"] = codes.to_dict()
    if as_json:
        echo(json.dumps(payload, ensure_ascii=False, allow_nan=False))
    else:
        echo(_text(payload, by, strata))
    from survstudy._process import end_now

    end_now()  # in its own process: no teardown of NumPy and pyarrow (~20 ms)


def _from_memory(
    file: str, time: str, event: str, by: str | None, strata: str | None, codes: Any
) -> dict[str, Any]:
    import numpy as np

    from survstudy.data.quick import load_columns
    from survstudy.data.status_codes import status_from_cells

    cols = load_columns(file, time, None, others=(event, by, strata))
    status = status_from_cells(cols.cells[event], codes, file=cols.file, column=event)
    if by is None:
        g = np.zeros(cols.time.size, dtype=np.intp)
        levels: list[Any] = [None]
    else:
        g, levels = cols.factor(by)
    st = None if strata is None else cols.factor(strata)[0]
    return {
        "time": cols.time,
        "status": status,
        "group": g,
        "levels": levels,
        "strata": st,
        "weights": None,
        "n_read": cols.n_read,
        "n_dropped": cols.n_dropped,
    }


def _from_engine(
    file: str,
    time: str,
    event: str,
    by: str | None,
    strata: str | None,
    codes: Any,
    engine: str,
    engine_opt: list[str] | None,
) -> dict[str, Any]:
    import numpy as np

    from survstudy.cli._engine import open_engine, source_for
    from survstudy.engines.competing import status_records

    eng = open_engine(engine, engine_opt)
    try:
        rec = status_records(
            eng, source_for(file, engine), time=time, status=event, group=by, strata=strata
        )
    finally:
        eng.close()
    table = codes.lookup()
    mapped = []
    for v in rec.status_levels:
        if v not in table:
            n_bad = int(rec.n[rec.status == rec.status_levels.index(v)].sum())
            raise DataError(
                f"the event value is none of the codes given ({codes.describe()}); "
                f"{n_bad} row{'s' if n_bad != 1 else ''} (engine {engine} does not give row numbers)",
                file=file,
                column=event,
                value=v,
                rule="EVENT-CODE",
            )
        mapped.append(table[v])
    status = np.asarray(mapped, dtype=np.int8)[rec.status] if mapped else rec.status
    return {
        "time": rec.time,
        "status": status,
        "group": rec.group,
        "levels": list(rec.group_levels) if by is not None else [None],
        "strata": None if strata is None else rec.stratum,
        "weights": rec.n,
        "n_read": rec.n_read,
        "n_dropped": rec.n_dropped,
    }


def _analyse(
    data: dict[str, Any],
    by: str | None,
    times: list[float],
    conf_type: str,
    conf_level: float,
    *,
    with_table: bool = False,
) -> dict[str, Any]:
    """The analysis (:func:`survstudy.stats.competing.cif_analysis`, shared with the Python
    API's ``cumulative_incidence``) as the command's JSON object."""
    from survstudy.stats.competing import cif_analysis

    res = cif_analysis(
        data["time"],
        data["status"],
        data["group"],
        data["levels"],
        by=by,
        at=times,
        conf_type=conf_type,
        conf_level=conf_level,
        strata=data["strata"],
        weights=data["weights"],
        n_read=data["n_read"],
        n_dropped=data["n_dropped"],
    )
    return res.to_dict(with_table=with_table)


def _fmt(x: Any, digits: int = 4) -> str:
    if x is None:
        return "NA"
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def _p(v: float | None) -> str:
    if v is None:
        return "NA"
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def _text(payload: dict[str, Any], by: str | None, strata: str | None) -> str:
    pct = f"{payload['conf_level'] * 100:g}%"
    codes = payload["codes"]

    def show(vals: list[Any]) -> str:
        return ", ".join(str(v) for v in vals)

    lines = [
        f"Cumulative incidence (Aalen–Johansen), {payload['conf_type']} {pct} CI; "
        f"event = {show(codes['cause'])}, competing = {show(codes['competing'])}, "
        f"censored = {show(codes['censored'])}; {payload['n_read']} rows, "
        f"{payload['n_dropped']} dropped"
    ]
    for g in payload["groups"]:
        head = f"{by} = {g['group']}: " if by is not None else ""
        lines.append("")
        lines.append(
            f"{head}n = {_fmt(g['n'])}, events = {_fmt(g['events'])}, competing events = "
            f"{_fmt(g['competing_events'])}, censored = {_fmt(g['censored'])}"
        )
        if not g["at"]:
            lines.append(
                f"{'time':>10} {'n.risk':>7} {'n.event':>7} {'n.comp':>6}  "
                f"{'event CIF (' + pct + ' CI)':<28} {'competing CIF (' + pct + ' CI)':<28}"
            )
            for e, c in g.get("table", []):
                ev = f"{_fmt(e['cif'])} ({_fmt(e['lower'])} to {_fmt(e['upper'])})"
                co = f"{_fmt(c['cif'])} ({_fmt(c['lower'])} to {_fmt(c['upper'])})"
                lines.append(
                    f"{_fmt(e['time']):>10} {_fmt(e['n_risk']):>7} {_fmt(e['n_event']):>7} "
                    f"{_fmt(c['n_event']):>6}  {ev:<28} {co:<28}"
                )
        else:
            lines.append(
                f"{'time':>10} {'n.risk':>7}  {'event CIF (' + pct + ' CI)':<28} "
                f"{'competing CIF (' + pct + ' CI)':<28}"
            )
            for e, c in zip(g["at"], g["competing_at"], strict=True):
                ev = f"{_fmt(e['cif'])} ({_fmt(e['lower'])} to {_fmt(e['upper'])})"
                co = f"{_fmt(c['cif'])} ({_fmt(c['lower'])} to {_fmt(c['upper'])})"
                lines.append(f"{_fmt(e['time']):>10} {_fmt(e['n_risk']):>7}  {ev:<28} {co:<28}")
    if payload["gray"] is not None or payload["gray_competing"] is not None:
        lines.append("")
    for key, what in (("gray", "the event"), ("gray_competing", "the competing event")):
        gt = payload[key]
        if gt is not None:
            lines.append(
                f"Gray's test for {what}{' (stratified by ' + strata + ')' if strata else ''}: "
                f"chisq = {_fmt(gt['statistic'])} on {gt['df']} df, p = {_p(gt['p_value'])}"
            )
    for w in payload["warnings"]:
        lines.append(f"warning [{w['code']}]: {w['message']}")
    return "\n".join(lines)

"""``survstudy logrank FILE --time COL --event COL --by COL …``: weighted log-rank tests.

JSON (``--json``): {"test", "statistic", "df", "p_value", "groups": [{"group", "n",
"observed", "expected"}]} plus "weights", "rho", "gamma", "variance", "warnings".

``--start ENTRY``: interval rows ``(start, stop]`` (a row is at risk at t when
``start < t ≤ stop``); with a group that changes over a patient's rows this is the
Mantel–Byar test; ``n`` per group then counts rows; the JSON adds
``"intervals": true``.
"""

from __future__ import annotations

import json
from typing import Annotated

from survstudy.cli._decl import Argument, Option, command, echo
from survstudy.cli._engine import EngineOpt, EngineOption, SparkMaster, with_spark_master
from survstudy.cli._options import EventCodesOption
from survstudy.errors import AnalysisError


@command
def logrank(
    file: Annotated[str, Argument(help="Data file (CSV, XLSX, Parquet, SAV, DTA).")],
    time: Annotated[str, Option("--time", help="Follow-up time column.")],
    event: Annotated[
        str, Option("--event", help="Event column (0/1 or true/false; else --event-codes).")
    ],
    by: Annotated[str, Option("--by", help="Group column.")],
    strata: Annotated[str | None, Option("--strata", help="Stratification column.")] = None,
    weights: Annotated[
        str,
        Option(
            "--weights",
            help="logrank, gehan-breslow, tarone-ware, peto-peto or fleming-harrington.",
        ),
    ] = "logrank",
    rho: Annotated[float, Option("--rho", help="Fleming-Harrington rho.")] = 0.0,
    gamma: Annotated[float, Option("--gamma", help="Fleming-Harrington gamma.")] = 0.0,
    permutation: Annotated[
        str | None,
        Option(
            "--permutation",
            help="Also give a permutation p-value: exact, monte-carlo or auto "
            "(exact/Monte-Carlo when a group expects < 5 events); any number of groups, "
            "labels permuted within --strata.",
        ),
    ] = None,
    seed: Annotated[int, Option("--seed", help="Seed for the Monte-Carlo p.")] = 20261126,
    start: Annotated[
        str | None,
        Option(
            "--start",
            help="Entry-time column: interval rows (START, TIME]; a group that changes over "
            "a patient's rows gives the Mantel–Byar test.",
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
    """Compare survival between groups with a (weighted) log-rank test."""
    engine_opt = with_spark_master(engine_opt, spark_master)
    from survstudy.data.quick import load_columns, parse_event_codes
    from survstudy.stats.logrank import WEIGHTS, logrank_test

    if weights not in WEIGHTS:
        raise AnalysisError(f"--weights must be one of {', '.join(WEIGHTS)}")
    if weights != "fleming-harrington" and (rho != 0 or gamma != 0):
        raise AnalysisError("--rho and --gamma need --weights fleming-harrington")
    if patient_id is not None and start is None:
        raise AnalysisError(
            "--id applies to interval data: give the entry-time column with --start"
        )
    if start is not None and permutation is not None:
        raise AnalysisError(
            "--permutation is not available with --start: permuting group labels of "
            "interval rows is not a valid test when patients change groups"
        )
    from survstudy.cli._engine import resolve_engine

    engine = resolve_engine(engine, file)
    if engine == "memory":
        from survstudy._process import keep_freed_memory

        keep_freed_memory()  # in its own process: freed arrays reused, fewer page faults
    if engine != "memory":
        from survstudy.cli._engine import not_available, open_engine, source_for
        from survstudy.engines.analyses import logrank as logrank_engine

        if permutation is not None:
            raise not_available("--permutation", engine)
        if start is not None:
            raise not_available("--start", engine)
        if event_codes is not None:
            raise not_available("--event-codes", engine)
        eng = open_engine(engine, engine_opt)
        try:
            res, counts = logrank_engine(
                eng,
                source_for(file, engine),
                time=time,
                event=event,
                group=by,
                strata=strata,
                weights=weights,
                rho=rho,
                gamma=gamma,
            )
        finally:
            eng.close()
        payload = res.to_dict(list(counts.group_levels))
        n_read, n_dropped = counts.n_read, counts.n_dropped
    else:
        cols = load_columns(
            file,
            time,
            event,
            others=(by, strata, start, patient_id),
            event_codes=parse_event_codes(event_codes),
        )
        n_read, n_dropped = cols.n_read, cols.n_dropped
        codes, levels = cols.factor(by)
        st = None if strata is None else cols.factor(strata)[0]
        t0 = None
        if start is not None:
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
                patient=None if patient_id is None else cols.others[patient_id],
            )
        res = logrank_test(
            cols.time,
            cols.event,
            codes,
            weights=weights,
            rho=rho,
            gamma=gamma,
            strata=st,
            start=t0,
        )
        present = [levels[int(c)] for c in res.group_codes]
        payload = res.to_dict(present)
    perm = None
    if permutation is not None:
        from survstudy.stats.exact import logrank_small_sample

        if permutation not in ("auto", "exact", "monte-carlo"):
            raise AnalysisError("--permutation must be auto, exact or monte-carlo")
        if weights != "logrank":
            raise AnalysisError("--permutation uses log-rank scores; drop --weights")
        perm = logrank_small_sample(
            cols.time, cols.event, codes, strata=st, method=permutation, seed=seed
        )
        payload["permutation"] = perm.to_dict()
    payload["n_read"] = n_read
    payload["n_dropped"] = n_dropped
    if start is not None:
        payload["intervals"] = True
    if as_json:
        echo(json.dumps(payload, ensure_ascii=False, allow_nan=False))
        return
    test_name = res.test + (" on (start, stop] intervals (Mantel–Byar)" if start else "")
    lines = [f"{test_name}; {n_read} rows, {n_dropped} dropped", ""]
    lines.append(f"{by:>12} {'N':>6} {'Observed':>10} {'Expected':>10}")
    for g in payload["groups"]:
        lines.append(
            f"{g['group']!s:>12} {g['n']:>6g} {g['observed']:>10.4g} {g['expected']:>10.4g}"
        )
    lines.append("")
    lines.append(f"Chisq = {res.statistic:.4g} on {res.df} df, p = {res.p_value:.4g}")
    if perm is not None:
        extra = ""
        if perm.p_lower is not None:
            extra = (
                f" (95% CI {perm.p_lower:.4g} to {perm.p_upper:.4g}, {perm.n_resamples} resamples)"
            )
        lines.append(f"Permutation test ({perm.method}): p = {perm.p_value:.4g}{extra}")
    for w in res.warnings:
        lines.append(f"note: {w.message}")
    echo("\n".join(lines))

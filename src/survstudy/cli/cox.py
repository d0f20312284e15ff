"""``survstudy cox FILE --time COL --event COL --covariates A,B,C``: a Cox model from a data file.

Reads CSV/XLSX/Parquet (and SPSS/Stata) cells as they are, drops rows with a
missing value in any used column (the count is reported), dummy-codes the
``--categorical`` columns against the first level (or ``--reference B=LEVEL``)
and fits with :func:`survstudy.stats.cox.cox_fit`. ``--json`` prints exactly one
JSON object; otherwise a readable table.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from survstudy.cli._decl import Argument, Option, command, echo
from survstudy.cli._engine import EngineOpt, EngineOption, SparkMaster, with_spark_master
from survstudy.cli._options import EventCodesOption
from survstudy.errors import DataError


def _number(v: Any, file: str, column: str, row: int) -> float:
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(str(v).strip())
    except ValueError:
        raise DataError(
            f"{str(v)!r} is not a number",
            file=file,
            row=row,
            column=column,
            rule="NOT-A-NUMBER",
        ) from None


def _as_text(values: list[Any]) -> Any:
    import numpy as np

    return np.array([str(v) for v in values])


def _split(s: str | None) -> list[str]:
    return [c.strip() for c in s.split(",") if c.strip()] if s else []


@command
def cox(
    file: Annotated[str, Argument(help="Data file (CSV, XLSX, Parquet, SAV, DTA).")],
    time: Annotated[str, Option("--time", help="Follow-up time column.")],
    event: Annotated[
        str, Option("--event", help="Event column (0/1 or true/false; else --event-codes).")
    ],
    covariates: Annotated[str, Option("--covariates", help="Comma-separated covariate columns.")],
    categorical: Annotated[
        str | None,
        Option("--categorical", help="Covariates to dummy-code (comma-separated)."),
    ] = None,
    reference: Annotated[
        list[str] | None,
        Option("--reference", help="Reference level, COL=LEVEL (repeatable)."),
    ] = None,
    strata: Annotated[str | None, Option("--strata", help="Stratification column.")] = None,
    start: Annotated[
        str | None,
        Option(
            "--start",
            help="Entry-time column: each row is an interval (START, TIME] — time-dependent "
            "covariates or delayed entry, as coxph(Surv(start, stop, event) ~ ...).",
        ),
    ] = None,
    patient_id: Annotated[
        str | None,
        Option(
            "--id",
            help="Patient column for --start data: checks each patient's intervals "
            "(overlaps, duplicates, an event not on the last interval, gaps) and is the "
            "cluster of --robust.",
        ),
    ] = None,
    ties: Annotated[str, Option("--ties", help="efron (default) or breslow.")] = "efron",
    robust: Annotated[bool, Option("--robust", help="Robust (sandwich) standard errors.")] = False,
    cluster: Annotated[
        str | None, Option("--cluster", help="Cluster column for robust standard errors.")
    ] = None,
    ph_test: Annotated[
        bool, Option("--ph-test", help="Test proportional hazards (cox.zph, km).")
    ] = False,
    firth: Annotated[
        bool,
        Option(
            "--firth",
            help="Firth-penalised fit (Heinze & Schemper 2001, as R coxphf): finite estimates "
            "under monotone likelihood; profile penalised-likelihood CIs and penalised "
            "likelihood-ratio p-values.",
        ),
    ] = False,
    ci: Annotated[
        str | None,
        Option(
            "--ci",
            help="Confidence limits: wald or profile (profile likelihood). "
            "Default: wald, or profile with --firth.",
        ),
    ] = None,
    cause: Annotated[
        str | None,
        Option(
            "--cause",
            help="Competing risks: value(s) of the event column for the event of interest "
            "(with --competing; the event column then holds codes, not 0/1).",
        ),
    ] = None,
    competing: Annotated[
        str | None,
        Option("--competing", help="Value(s) of the event column for a competing event."),
    ] = None,
    censored: Annotated[
        str,
        Option("--censored", help="Value(s) of the event column for a censoring."),
    ] = "0",
    fine_gray: Annotated[
        bool,
        Option(
            "--fine-gray",
            help="With --cause/--competing: Fine–Gray subdistribution hazards (as cmprsk::crr) "
            "instead of the cause-specific Cox model.",
        ),
    ] = False,
    event_codes: EventCodesOption = None,
    as_json: Annotated[bool, Option("--json", help="Print one JSON object.")] = False,
    engine: EngineOption = "memory",
    engine_opt: EngineOpt = None,
    spark_master: SparkMaster = None,
) -> None:
    """Fit a Cox proportional-hazards model and print the hazard ratios."""
    engine_opt = with_spark_master(engine_opt, spark_master)
    import numpy as np

    from survstudy.data.quick import cox_design, load_columns, parse_event_codes
    from survstudy.errors import AnalysisError
    from survstudy.stats.cox import cox_fit

    if ties not in ("efron", "breslow"):
        raise AnalysisError(f"--ties must be efron or breslow, not {ties!r}")
    if ci is not None and ci not in ("wald", "profile"):
        raise AnalysisError(f"--ci must be wald or profile, not {ci!r}")
    if firth and (robust or cluster is not None):
        raise AnalysisError("--firth has no robust variance: leave out --robust/--cluster")
    if ci == "profile" and (robust or cluster is not None):
        raise AnalysisError(
            "--ci profile uses the model-based likelihood: leave out --robust/--cluster"
        )
    if patient_id is not None and start is None:
        raise AnalysisError(
            "--id applies to interval data: give the entry-time column with --start"
        )
    if start is not None and firth:
        raise AnalysisError("--firth is not available with --start (interval data)")
    if start is not None and fine_gray:
        raise AnalysisError("--fine-gray is not available with --start (interval data)")
    if start is not None and ci == "profile":
        raise AnalysisError("--ci profile is not available with --start (interval data)")
    if start is not None and robust and cluster is None and patient_id is None:
        raise AnalysisError(
            "--robust with --start needs --id (or --cluster): the rows of one patient "
            "are not independent"
        )
    covs = _split(covariates)
    if not covs:
        raise AnalysisError("--covariates needs at least one column")
    cats = _split(categorical)
    for c in cats:
        if c not in covs:
            raise AnalysisError(f"--categorical {c} is not one of the --covariates")
    refs: dict[str, str] = {}
    for item in reference or []:
        for part in _split(item):
            if "=" not in part:
                raise AnalysisError(f"--reference must look like COL=LEVEL, not {part!r}")
            k, v = part.split("=", 1)
            if k.strip() not in cats:
                raise AnalysisError(f"--reference {k.strip()}: not a --categorical covariate")
            refs[k.strip()] = v.strip()

    competing_risks = cause is not None or competing is not None or fine_gray
    if competing_risks:
        _check_competing_options(
            cause, competing, fine_gray, strata, robust, cluster, ph_test, firth, ci
        )
    from survstudy.cli._engine import resolve_engine

    engine = resolve_engine(engine, file)
    if engine == "memory":
        from survstudy._process import keep_freed_memory

        keep_freed_memory()
    if engine != "memory" and competing_risks:
        from survstudy.cli._engine import not_available

        raise not_available("--fine-gray" if fine_gray else "--cause/--competing", engine)
    if engine != "memory":
        _cox_engine(
            file,
            time,
            event,
            covs,
            cats,
            refs,
            strata,
            ties,
            engine,
            engine_opt,
            as_json,
            ph_test,
            robust,
            cluster,
            unavailable=[
                opt
                for opt, on in (
                    ("--firth", firth),
                    ("--ci profile", ci == "profile"),
                    ("--start", start is not None),
                    ("--event-codes", event_codes is not None),
                )
                if on
            ],
        )
        return
    status = None
    if competing_risks:
        from survstudy.data.status_codes import event_codes as cr_codes
        from survstudy.data.status_codes import status_from_cells

        if event_codes is not None:
            raise AnalysisError(
                "--event-codes is for an event/censored column; with competing events "
                "give --cause, --competing and --censored instead"
            )
        codes = cr_codes(cause, competing, censored)
        data = load_columns(
            file, time, None, others=[event, *covs, strata, cluster, start, patient_id]
        )
        status = status_from_cells(data.cells[event], codes, file=data.file, column=event)
        e = status == 1
    else:
        data = load_columns(
            file,
            time,
            event,
            others=[*covs, strata, cluster, start, patient_id],
            event_codes=parse_event_codes(event_codes),
        )
        e = data.event
    t = data.time
    n_dropped = data.n_dropped
    design = cox_design(data, covs, cats, refs)
    x, names, assign = design.x, design.names, design.assign
    st = None if strata is None else _as_text(data.others[strata])
    cl = None if cluster is None else _as_text(data.others[cluster])
    t0 = None
    if start is not None:
        from survstudy.data.intervals import check_interval_columns, start_values

        t0 = start_values(data.numbers(start), data.file, start, data.rows)
        ids = None if patient_id is None else data.others[patient_id]
        check_interval_columns(
            file=data.file,
            rows=data.rows,
            start=t0,
            stop=t,
            event=e,
            start_col=start,
            stop_col=time,
            event_col=event,
            patient=ids,
        )
        if robust and cl is None and ids is not None:
            cl = np.asarray(ids)  # R: robust with id= clusters on the patient
    if fine_gray:
        from survstudy.stats.finegray import fine_gray_fit

        assert status is not None
        fg = fine_gray_fit(
            x, t, status, cause=1, term_names=names, assign=assign, n_dropped=n_dropped
        )
        out = fg.to_dict()
        out["cause"] = list(codes.cause)
        out["codes"] = codes.to_dict()
        if as_json:
            echo(json.dumps(out, allow_nan=False))
            return
        echo(_table(out))
        return
    if firth:
        from survstudy.stats.firth import cox_fit_firth

        res = cox_fit_firth(
            x,
            t,
            e,
            strata=st,
            ties=ties,
            term_names=names,
            assign=assign,
            ph_test=ph_test,
            n_dropped=n_dropped,
            profile=ci != "wald",
        )
    elif ci == "profile":
        from survstudy.stats.firth import cox_fit_ci

        res = cox_fit_ci(
            x,
            t,
            e,
            ci="profile",
            strata=st,
            ties=ties,
            term_names=names,
            assign=assign,
            ph_test=ph_test,
            n_dropped=n_dropped,
        )
    else:
        res = cox_fit(
            x,
            t,
            e,
            strata=st,
            ties=ties,
            cluster=cl,
            robust=robust or cluster is not None,
            term_names=names,
            assign=assign,
            ph_test=ph_test,
            n_dropped=n_dropped,
            start=t0,
        )
    out = res.to_dict()
    if status is not None:
        # the cause-specific Cox model: competing events were censored at their time
        out["model"] = "cause-specific"
        out["competing_events"] = int((status == 2).sum())
        out["cause"] = list(codes.cause)
        out["codes"] = codes.to_dict()
    if as_json:
        echo(json.dumps(out, allow_nan=False))
        return
    echo(_table(out, intervals=t0 is not None))


def _check_competing_options(
    cause: str | None,
    competing: str | None,
    fine_gray: bool,
    strata: str | None,
    robust: bool,
    cluster: str | None,
    ph_test: bool,
    firth: bool,
    ci: str | None,
) -> None:
    """--cause/--competing go together; Fine–Gray takes none of the Cox-only options."""
    from survstudy.errors import AnalysisError

    if cause is None or competing is None:
        raise AnalysisError(
            "competing risks need both --cause and --competing (values of the event column)"
        )
    if not fine_gray:
        return
    for flag, on in (
        ("--strata", strata is not None),
        ("--robust", robust),
        ("--cluster", cluster is not None),
        ("--ph-test", ph_test),
        ("--firth", firth),
        ("--ci profile", ci == "profile"),
    ):
        if on:
            raise AnalysisError(
                f"{flag} is not available with --fine-gray (cmprsk::crr's model: its standard "
                "errors are already robust, it has no strata, and Firth's correction is not "
                "defined for it)"
            )


def _cox_engine(
    file: str,
    time: str,
    event: str,
    covs: list[str],
    cats: list[str],
    refs: dict[str, str],
    strata: str | None,
    ties: str,
    engine: str,
    engine_opt: list[str] | None,
    as_json: bool,
    ph_test: bool,
    robust: bool,
    cluster: str | None,
    unavailable: list[str],
) -> None:
    """The Cox fit through a data engine (Wald/robust inference, concordance)."""
    from survstudy.cli._engine import not_available, open_engine, source_for
    from survstudy.engines import analyses

    if unavailable:
        raise not_available(unavailable[0], engine)
    eng = open_engine(engine, engine_opt)
    try:
        src = source_for(file, engine)
        terms, assign = analyses.cox_terms(
            eng,
            src,
            time=time,
            event=event,
            covariates=covs,
            categorical=cats,
            reference=dict(refs),
            strata=strata,
            cluster=cluster,
        )
        res = analyses.cox(
            eng,
            src,
            time=time,
            event=event,
            terms=terms,
            strata=strata,
            ties=ties,
            assign=assign,
            ph_test=ph_test,
            robust=robust,
            cluster=cluster,
        )
    finally:
        eng.close()
    out = res.to_dict()
    if as_json:
        echo(json.dumps(out, allow_nan=False))
        return
    echo(_table(out))


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return f"{v:.{digits - 1}e}"
        return f"{v:.{digits}f}"
    return str(v)


def _p(v: float | None) -> str:
    if v is None:
        return "—"
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def _table(out: dict[str, Any], intervals: bool = False) -> str:
    firth = out.get("method") == "firth"
    profile = out.get("ci_method") == "profile"
    model = out.get("model")
    fg = model == "fine-gray"
    title = "Firth-penalised Cox" if firth else "Cox proportional hazards"
    if model == "cause-specific":
        title = "Cause-specific " + ("Firth-penalised Cox" if firth else "Cox proportional hazards")
    if fg:
        title = "Fine–Gray subdistribution hazards (as cmprsk::crr)"
    if intervals:
        title += ", (start, stop] intervals"
    lines = [
        f"{title} ({out['ties']} ties): n = {out['n']}{' intervals' if intervals else ''}, "
        f"events = {out['events']}"
        + (
            f", competing events = {out['competing_events']}"
            if out.get("competing_events") is not None
            else ""
        )
        + (f", {out['n_dropped']} rows dropped (missing values)" if out["n_dropped"] else ""),
        f"iterations {out['iterations']}, "
        + ("converged" if out["converged"] else "DID NOT CONVERGE")
        + f"; {'penalised ' if firth else 'pseudo ' if fg else ''}log-likelihood "
        + f"{out['loglik']:.4f} "
        + f"(null {out['loglik_null']:.4f})",
    ]
    if firth or profile:
        lines.append(
            (
                "95% CI: profile " + ("penalised " if firth else "") + "likelihood; "
                if profile
                else ""
            )
            + ("p: penalised likelihood-ratio test" if firth and profile else "p: Wald")
        )
    lines.append("")
    robust = any(t["robust_se"] is not None for t in out["terms"])
    head = (
        ["term", "coef", "se"]
        + (["robust se"] if robust else [])
        + ["sHR" if fg else "HR", "95% CI", "z", "p"]
    )
    body = []
    for t in out["terms"]:
        if not t["estimable"]:
            # a profile interval is still informative on its finite side
            bound = ""
            if profile and t["lower"] is not None and t["upper"] is None:
                bound = f"> {_fmt(t['lower'])}"
            elif profile and t["upper"] is not None and t["lower"] is None:
                bound = f"< {_fmt(t['upper'])}"
            body.append(
                [t["term"], "—", "—"]
                + (["—"] if robust else [])
                + [
                    "not estimable",
                    bound,
                    "",
                    f"LR p {_p(t['lr_p_value'])}" if t["lr_p_value"] is not None else "",
                ]
            )
            continue
        body.append(
            [t["term"], _fmt(t["coef"]), _fmt(t["se"])]
            + ([_fmt(t["robust_se"])] if robust else [])
            + [
                _fmt(t["hr"]),
                f"{_fmt(t['lower'])} – {_fmt(t['upper'])}",
                _fmt(t["z"], 2),
                _p(t["p_value"]),
            ]
        )
    widths = [max(len(str(r[i])) for r in [head, *body]) for i in range(len(head))]
    for r in [head, *body]:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    lines.append("")
    for key, label in (
        ("likelihood_ratio", "Pseudo likelihood ratio" if fg else "Likelihood ratio"),
        ("wald", "Wald"),
        ("score", "Score"),
    ):
        tt = out["tests"][key]
        if tt["statistic"] is None and fg:
            continue
        lines.append(
            f"{label} test: {_fmt(tt['statistic'], 2)} on {tt['df']} df, p = {_p(tt['p_value'])}"
        )
    if fg:
        lines.append(
            "sHR: subdistribution hazard ratio — it describes the cumulative incidence of the "
            "event, not the event rate among patients still event-free; SEs are cmprsk's "
            "sandwich"
        )
    c = out["concordance"]
    if c is not None:
        lines.append(f"Concordance: {_fmt(c['c'])} (se {_fmt(c['se'])})")
    ph = out["ph_test"]
    if ph is not None:
        lines.append("")
        lines.append("Proportional hazards (cox.zph, KM transform): chisq, df, p")
        for pt in ph["terms"]:
            lines.append(f"  {pt['term']}: {_fmt(pt['chisq'])}, {pt['df']}, {_p(pt['p_value'])}")
        g = ph["global"]
        lines.append(f"  GLOBAL: {_fmt(g['chisq'])}, {g['df']}, {_p(g['p_value'])}")
    for w in out["warnings"]:
        lines.append(f"warning [{w['code']}]: {w['message']}")
    return "\n".join(lines)

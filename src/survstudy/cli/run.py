"""``survstudy run study.yaml``: every analysis of the spec, written as a report folder.

Outputs go to ``--out DIR`` (default: ``out/`` next to the spec): report.html,
report.docx, tables/*.csv, tables.xlsx, results.json and figures/*. A progress
display on stderr (only on a terminal, only when the run takes more than a
moment) is silenced by ``--quiet``. Identifiers and dates never reach any
output or message.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

from survstudy.cli._decl import Argument, Option, command, echo
from survstudy.cli._engine import EngineOpt, EngineOption, SparkMaster, with_spark_master
from survstudy.study import ALL_FORMATS, check_out_dir, default_out_dir


def _parse_formats(text: str) -> tuple[str, ...]:
    from survstudy.errors import SurvstudyError

    items = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in items if f not in ALL_FORMATS]
    if bad or not items:
        raise SurvstudyError(
            f"unknown output format {', '.join(repr(b) for b in bad) or '(none)'}; "
            f"choose from {','.join(ALL_FORMATS)}",
            code="CLI-FORMATS",
        )
    return tuple(dict.fromkeys(items))


class _Progress:
    """A rich progress bar on stderr, shown only on a terminal and only when the run
    takes longer than ``delay`` seconds (a timer thread brings it up, so a long step
    such as writing the report shows it too)."""

    def __init__(self, quiet: bool, delay: float = 0.5) -> None:
        import threading

        self.quiet = quiet
        self.bar: Any = None
        self.task: Any = None
        self.state: tuple[str, int, int] = ("starting", 0, 1)
        self.lock = threading.Lock()
        self.closed = False
        self.timer: Any = None
        if not quiet and sys.stderr.isatty():
            self.timer = threading.Timer(delay, self._show)
            self.timer.daemon = True
            self.timer.start()

    def _show(self) -> None:
        with self.lock:
            if self.closed or self.bar is not None:
                return
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            what, i, n = self.state
            self.bar = Progress(
                TextColumn("[bold]survstudy run[/bold]"),
                BarColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(what, total=n, completed=i)

    def __call__(self, what: str, i: int, n: int) -> None:
        with self.lock:
            self.state = (what, i, n)
            if self.bar is not None:
                self.bar.update(self.task, completed=i, total=n, description=what)

    def close(self) -> None:
        with self.lock:
            self.closed = True
            if self.timer is not None:
                self.timer.cancel()
            if self.bar is not None:
                self.bar.stop()
                self.bar = None


@command
def run(
    spec: Annotated[Path, Argument(help="The study spec (YAML).")],
    out: Annotated[
        Path | None,
        Option("--out", help="Output folder (default: out/ next to the spec)."),
    ] = None,
    profile: Annotated[
        str | None,
        Option(
            "--profile",
            help="Methods profile: standard (R conventions) or spss (SPSS 25 conventions); "
            "default: the spec's analyses.methods.",
        ),
    ] = None,
    quiet: Annotated[bool, Option("--quiet", help="No progress display or summary.")] = False,
    formats: Annotated[
        str,
        Option("--formats", help="Comma-separated outputs: html,docx,csv,xlsx,json."),
    ] = ",".join(ALL_FORMATS),
    tiff: Annotated[bool, Option("--tiff", help="Also write TIFF figures.")] = False,
    engine: EngineOption = "memory",
    engine_opt: EngineOpt = None,
    spark_master: SparkMaster = None,
    jobs: Annotated[
        int | None,
        Option(
            "--jobs",
            help="Processes to compute in (default: 2 on Linux with two or more CPUs; "
            "1 runs everything in this process). The results are the same either way.",
        ),
    ] = None,
) -> None:
    """Run every analysis of a study spec and write the report folder."""
    engine_opt = with_spark_master(engine_opt, spark_master)
    from survstudy.cli._engine import engine_options
    from survstudy.data.access import sql_readable
    from survstudy.errors import SurvstudyError
    from survstudy.spec import load_spec
    from survstudy.study import run_spec

    if profile is not None and profile not in ("standard", "spss"):
        raise SurvstudyError(
            f"unknown profile '{profile}'; use standard or spss", code="CLI-PROFILE"
        )
    fmts = _parse_formats(formats)
    progress = _Progress(quiet)
    try:
        progress("reading the data", 0, 7)
        study = load_spec(spec)
        out_dir = out if out is not None else default_out_dir(spec)
        check_out_dir(out_dir, [spec, study.data_path])
        if sql_readable(study):
            from survstudy.cli._engine import resolve_engine

            engine = resolve_engine(engine, str(study.data_path), expansion=50)
        options = engine_options(engine, engine_opt)
        done = run_spec(
            study,
            profile=profile,
            engine=engine,
            engine_options=options,
            out=out_dir,
            formats=fmts,
            tiff=tiff,
            inputs=[spec, study.data_path],
            progress=progress,
            jobs=jobs,
        )
        written = done.written
    finally:
        progress.close()
    if not quiet:
        for line in headline(done.results):
            echo(line)
        html = next((p for p in written if p.name == "report.html"), None)
        where = html if html is not None else out_dir
        echo(f"wrote {len(written)} files to {out_dir} ({where.name})")
    from survstudy._process import end_now

    # in its own process: no interpreter teardown (freeing the cohort's objects and every
    # module took ~0.5 s after a 10^6-row study)
    end_now()


def headline(results: Any) -> list[str]:
    """The run's numbers a reader looks for first: patients included, and per endpoint
    of the survival analysis its patients, events and median with its 95% CI."""
    from survstudy.tables import format as fmt

    lines = [f"{fmt.count(results.n)} patients included"]
    unit = results.time_unit
    for ep in results.endpoints.values():
        m = ep.median
        if m.reached:
            lo = fmt.number(m.lower, 1) if m.lower == m.lower else fmt.not_estimable()
            hi = fmt.number(m.upper, 1) if m.upper == m.upper else fmt.not_reached()
            med = f"median {fmt.number(m.estimate, 1)} {unit} (95% CI {lo} to {hi})"
        else:
            med = f"median {fmt.not_reached()}"
        lines.append(
            f"{ep.label}: {fmt.count(ep.n)} patients, {fmt.count(ep.events)} events, {med}"
        )
    return lines

"""``survstudy run study.yaml``: every analysis of the spec, written as a report folder.

Outputs go to ``--out DIR`` (default: ``out/`` next to the spec): report.html,
report.docx, tables/*.csv, tables.xlsx, results.json and figures/*. A progress
display on stderr (only on a terminal, only when the run takes more than a
moment) is silenced by ``--quiet``. Identifiers and dates never reach any
output or message.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from survstudy.cli.main import app

ALL_FORMATS = ("html", "docx", "csv", "xlsx", "json")


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


def default_out_dir(spec_path: Path) -> Path:
    """``out/`` in the spec's folder."""
    return spec_path.resolve().parent / "out"


def check_out_dir(out: Path, inputs: list[Path]) -> None:
    """Refuse an output folder that is an input file or that holds an input file.

    Every output name is fixed (report.html, results.json, …) or derived from a
    sanitised label, so the only way to overwrite an input is for the input to sit
    in the output folder; that is refused outright.
    """
    from survstudy.errors import SurvstudyError

    out_r = out.resolve()
    for p in inputs:
        p_r = p.resolve()
        if p_r == out_r:
            raise SurvstudyError(
                f"the output folder '{out}' is an input file; choose another --out",
                code="OUT-IS-INPUT",
            )
        if out_r == p_r.parent or out_r in p_r.parents:
            raise SurvstudyError(
                f"the output folder '{out}' holds an input file ('{p.name}'); survstudy never "
                "writes next to its inputs there. Choose another --out",
                code="OUT-HOLDS-INPUT",
            )
    if out_r.exists() and not out_r.is_dir():
        raise SurvstudyError(
            f"the output path '{out}' exists and is not a folder", code="OUT-NOT-DIR"
        )


class _Progress:
    """A rich progress bar on stderr, shown only on a terminal after a short delay."""

    def __init__(self, quiet: bool, delay: float = 0.4) -> None:
        self.quiet = quiet
        self.delay = delay
        self.start = time.monotonic()
        self.bar: Any = None
        self.task: Any = None
        self.tty = sys.stderr.isatty()

    def __call__(self, what: str, i: int, n: int) -> None:
        if self.quiet or not self.tty:
            return
        if self.bar is None:
            if time.monotonic() - self.start < self.delay:
                return
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("[bold]survstudy run[/bold]"),
                BarColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task(what, total=n)
        self.bar.update(self.task, completed=max(i - 1, 0), total=n, description=what)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


@app.command()
def run(
    spec: Annotated[Path, typer.Argument(help="The study spec (YAML).")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output folder (default: out/ next to the spec)."),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            help="Methods profile: standard (R conventions) or spss (SPSS 25 conventions); "
            "default: the spec's analyses.methods.",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress display or summary.")] = False,
    formats: Annotated[
        str,
        typer.Option("--formats", help="Comma-separated outputs: html,docx,csv,xlsx,json."),
    ] = ",".join(ALL_FORMATS),
    tiff: Annotated[bool, typer.Option("--tiff", help="Also write TIFF figures.")] = False,
) -> None:
    """Run every analysis of a study spec and write the report folder."""
    from survstudy.data import build_cohort
    from survstudy.errors import SurvstudyError
    from survstudy.pipeline import run_study
    from survstudy.spec import load_spec

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
        cohort = build_cohort(study)
        results = run_study(
            study,
            cohort,
            profile=profile,
            progress=lambda what, i, n: progress(what, i + 1, n + 2),
        )
        progress("writing the report", 6, 7)
        written = write_outputs(results, out_dir, fmts, tiff=tiff, inputs=[spec, study.data_path])
    finally:
        progress.close()
    if not quiet:
        html = next((p for p in written if p.name == "report.html"), None)
        where = html if html is not None else out_dir
        typer.echo(f"wrote {len(written)} files to {out_dir} ({where.name})")


def write_outputs(
    results: Any, out_dir: Path, formats: tuple[str, ...], *, tiff: bool, inputs: list[Path]
) -> list[Path]:
    """Tables, figures and documents for ``results`` in ``out_dir``; returns the files."""
    import importlib

    report = importlib.import_module("survstudy.report")
    bundle = make_bundle(results, figures=any(f in formats for f in ("html", "docx")))
    written = report.write_report(bundle, out_dir, formats=formats, inputs=inputs, tiff=tiff)
    return list(written)


# --------------------------------------------------------------------------- figures


def forest_rows(rows: Any) -> list[Any]:
    """Forest-plot rows from univariable/multivariable table rows (CoxRow)."""
    import math

    from survstudy.plots import ForestRow
    from survstudy.tables import format as fmt
    from survstudy.tables.study import row_label

    scaled = {r.variable for r in rows if r.kind == "continuous" and r.per not in (None, 1)}
    out = []
    for r in rows:
        if r.kind == "continuous" and r.variable in scaled and r.per in (None, 1):
            continue
        if r.kind == "header":
            p = r.overall_p if math.isfinite(r.overall_p) else float("nan")
            out.append(
                ForestRow(
                    label=r.label,
                    is_header=True,
                    p_text=fmt.p_value(p) if math.isfinite(p) else "",
                )
            )
            continue
        if r.kind == "continuous":
            label, indent = row_label(r), 0
        else:
            label, indent = str(r.level), 1
        out.append(
            ForestRow(
                label=label,
                hr=r.hr,
                lower=r.lower,
                upper=r.upper,
                p_text=fmt.p_value(r.p_value) if math.isfinite(r.p_value) else "",
                is_reference=r.reference,
                not_estimable=not r.estimable,
                indent=indent,
            )
        )
    return out


def make_figures(results: Any) -> list[tuple[str, str, Any]]:
    """(file stem, caption, figure) for every figure of the report, in order."""
    from survstudy.plots import plot_forest, plot_km_curves

    figs: list[tuple[str, str, Any]] = []
    unit = results.time_unit
    for k in results.km:
        plot = plot_km_curves(k)
        what = k.endpoint_label + (f" by {k.by_label.lower()}" if k.by_label else "")
        caption = f"Kaplan–Meier estimate of {what[:1].lower() + what[1:]}"
        if k.tests and len(k.groups) > 1:
            caption += f"; {k.tests[0].label} test"
        caption += f". Time in {unit}; number at risk under the x-axis."
        figs.append((k.key, caption, plot.figure))
    for ep, uni in results.univariable.items():
        rows = forest_rows(uni.rows)
        if any(not getattr(r, "is_header", False) for r in rows):
            fplot = plot_forest(rows, title=None)
            figs.append(
                (
                    f"forest_univariable_{ep}",
                    f"Univariable hazard ratios (95% CI) for {uni.endpoint_label.lower()}.",
                    fplot.figure,
                )
            )
    for i, m in enumerate(results.multivariable, start=1):
        fplot = plot_forest(forest_rows(m.rows), title=None)
        figs.append(
            (
                f"forest_multivariable_{i}",
                f"Adjusted hazard ratios (95% CI): {m.name} ({m.endpoint_label.lower()}).",
                fplot.figure,
            )
        )
    return figs


# --------------------------------------------------------------------------- the report bundle

_SECTION_TABLE = {"survival": "survival", "table1": "table1"}


def _methods_facts(results: Any) -> dict[str, Any]:
    """Facts for :func:`survstudy.report.bundle.methods_paragraph` (words, no numbers)."""
    prof = results.profile
    m = results.methods
    spss = prof.name == "spss"
    facts: dict[str, Any] = {
        "survival": "Kaplan–Meier",
        "ci": prof.conf_type,
        "conf_level": prof.conf_level,
        "variance": "Greenwood",
        "median": (
            "taking the first time at which the estimate was at or below 0.5, with the "
            "95% CI computed as median ± 1.96 × SE (SE by Collett's density estimate, as SPSS "
            "reports it)"
            if spss
            else "the time at which the curve crosses 0.5 (the midpoint of a segment lying "
            "exactly at 0.5), with the confidence interval read off the confidence band "
            "(Brookmeyer–Crowley)"
        ),
        "followup": "reverse Kaplan–Meier",
        "alpha": 0.05,
        "software": [m.get("software", "survstudy")],
    }
    if results.km or results.univariable:
        facts["tests"] = [lab for _w, lab in prof.tests]
    if results.univariable or results.multivariable:
        facts["cox"] = True
        facts["ties"] = "Breslow" if prof.ties == "breslow" else "Efron"
    if results.multivariable:
        facts["ph_test"] = (
            "the Grambsch–Therneau test on scaled Schoenfeld residuals (Kaplan–Meier time "
            "transform)"
        )
    if results.table1 is not None and results.table1.tests:
        facts["table1_tests"] = list(results.table1.tests)
    if results.univariable:
        n_tests = sum(u.n_tests for u in results.univariable.values())
        facts["multiplicity"] = (
            f"{n_tests} univariable Cox model{'s were' if n_tests != 1 else ' was'} fitted; "
            "p-values are not adjusted for multiple testing"
        )
    extra = [str(d) for d in m.get("endpoints", {}).values() if d]
    unit = results.time_unit
    extra.append(
        f"Times are reported in {unit}"
        + (f" ({results.days_per_unit:g} days per {unit[:-1]})" if unit in ("months",) else "")
    )
    if results.multivariable:
        extra.append(
            "Multivariable models used complete cases; events per variable are reported with "
            "each model"
        )
    facts["extra"] = extra
    return facts


def _report_warnings(results: Any) -> list[Any]:
    from survstudy.report.bundle import ReportWarning

    out = []
    for w in results.warnings:
        table = _SECTION_TABLE.get(w.section)
        if w.section == "univariable" and w.endpoint:
            table = f"univariable_{w.endpoint}"
        out.append(ReportWarning(message=w.message, code=w.code, table=table))
    return out


def make_bundle(results: Any, *, command: str = "survstudy run", figures: bool = True) -> Any:
    """The :class:`~survstudy.report.bundle.ReportBundle` of a study run."""
    from survstudy.report.bundle import (
        SYNTHETIC_BANNER,
        FigureSpec,
        FlowStep,
        Provenance,
        QualityNote,
        ReportBundle,
        methods_paragraph,
    )
    from survstudy.tables.study import results_document, study_tables

    tables = study_tables(results)
    flow = [
        FlowStep(
            description=str(s.get("description") or ""),
            n=int(s["n_after"]),
            excluded=int(s.get("n_excluded") or 0),
            reason=str(s.get("reason") or ""),
        )
        for s in results.flow
    ]
    quality = [
        QualityNote(
            code=str(q["code"]),
            severity=str(q["severity"]),
            message=str(q["message"]),
            row=q.get("row"),
            column=q.get("column"),
        )
        for q in results.quality_issues
    ]
    figs = (
        [FigureSpec(id=stem, caption=cap, figure=fig) for stem, cap, fig in make_figures(results)]
        if figures
        else []
    )
    prov = results.provenance
    subtitle = f"{results.n} patients; methods profile: {results.profile.name}"
    return ReportBundle(
        title=results.title,
        subtitle=subtitle,
        banner=SYNTHETIC_BANNER if results.synthetic else "",
        flow=flow,
        quality=quality,
        tables=tables,
        figures=figs,
        methods=methods_paragraph(_methods_facts(results)),
        warnings=_report_warnings(results),
        provenance=Provenance(
            input_sha256=prov.input_sha256,
            spec_sha256=prov.spec_sha256,
            versions=dict(prov.versions),
            command=command,
            date=prov.generated,
        ),
        results=results_document(results, tables),
    )

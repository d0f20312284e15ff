"""``survstudy demo [bclm|gbsg] [--out DIR]``: run an example study shipped in the package.

The example's spec and data are read from the installed package (no repository path,
no network), copied to ``DIR`` (default ``./survstudy-demo-<name>``) so that the user
can edit and re-run them, and the study is run with the report written to ``DIR/out``.
A short summary (patients, events, landmark survival, group tests) is printed with
the path of ``report.html``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from survstudy.cli.main import app


def copy_example(name: str, dest: Path) -> Path:
    """Copy the packaged example ``name`` to ``dest``; returns the copied spec."""
    from importlib.resources import files

    from survstudy.errors import SurvstudyError
    from survstudy.examples import EXAMPLES

    if name not in EXAMPLES:
        raise SurvstudyError(
            f"unknown example '{name}'; choose from {', '.join(EXAMPLES)}", code="CLI-DEMO"
        )
    if dest.exists() and not dest.is_dir():
        raise SurvstudyError(
            f"the output path '{dest}' exists and is not a folder", code="OUT-NOT-DIR"
        )
    dest.mkdir(parents=True, exist_ok=True)
    src = files("survstudy.examples").joinpath(name)
    for fname in EXAMPLES[name]:
        (dest / fname).write_bytes(src.joinpath(fname).read_bytes())
    return dest / "study.yaml"


def summary_lines(results: Any) -> list[str]:
    """The demo's summary: n, events, landmark rates with CIs, group tests."""
    from survstudy.tables import format as fmt

    unit = results.time_unit
    lines = []
    if results.synthetic:
        lines.append("SYNTHETIC DATA - not real patients.")
    lines.append(f"{results.title}")
    flow = results.flow
    if flow:
        lines.append(f"Patients: {flow[0].get('n_before')} in the file, {results.n} included")
    else:
        lines.append(f"Patients: {results.n}")
    for ep in results.endpoints.values():
        rates = "; ".join(
            f"{fmt.shortest(a.time)}-{unit[:-1] if unit.endswith('s') else unit} "
            + fmt.percent_ci(a.survival, a.lower, a.upper, decimals=1, style="text")
            for a in ep.at
        )
        text = f"{ep.label}: {ep.events} events in {ep.n} patients"
        lines.append(text + (f"; {rates}" if rates else ""))
    for km in results.km:
        for t in km.tests[:1]:
            perm = km.permutation
            if perm is not None and km.few_events:
                # fewer than 10 events: the permutation p is the comparison's p
                lines.append(
                    f"{km.endpoint_label} by {km.by_label}: {perm.label[:1].upper()}"
                    f"{perm.label[1:]} = {fmt.p_value(perm.p_value)} (fewer than 10 events; "
                    f"chi-square {t.label} p = {fmt.p_value(t.p_value)})"
                )
                continue
            lines.append(
                f"{km.endpoint_label} by {km.by_label}: {t.label} p = {fmt.p_value(t.p_value)}"
            )
        comp = getattr(km, "comparison", None)
        if comp is not None:
            # the absolute effects beside the test (STROBE 16c): the last landmark, the RMST
            parts = []
            last = next((a for a in reversed(comp.at) if math.isfinite(a.difference)), None)
            if last is not None:
                parts.append(
                    f"{fmt.shortest(last.time)}-{unit[:-1] if unit.endswith('s') else unit} "
                    "survival difference "
                    + fmt.estimate_ci(100 * last.difference, 100 * last.lower, 100 * last.upper)
                    + " percentage points"
                )
            rm = comp.rmst
            if rm is not None and rm.estimable:
                parts.append(
                    f"restricted mean survival difference to {fmt.shortest(rm.tau)} {unit} "
                    + fmt.estimate_ci(rm.difference, rm.lower, rm.upper)
                    + f" {unit}"
                )
            if parts:
                lines.append(
                    f"  {comp.group} minus {comp.reference}: " + "; ".join(parts) + " (95% CI)"
                )
    return lines


@app.command()
def demo(
    name: Annotated[str, typer.Argument(help="Example: bclm (seed study, synthetic) or gbsg.")] = (
        "bclm"
    ),
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder for the example and its report (default: ./survstudy-demo-<name>).",
        ),
    ] = None,
) -> None:
    """Run an example study shipped with survstudy and print a short summary."""
    from survstudy.spec import load_spec
    from survstudy.study import check_out_dir, run_spec

    dest = out if out is not None else Path(f"survstudy-demo-{name}")
    spec_path = copy_example(name, dest)
    study = load_spec(spec_path)
    out_dir = dest / "out"
    check_out_dir(out_dir, [spec_path, study.data_path])
    run = run_spec(study, out=out_dir, inputs=[spec_path, study.data_path])
    results, written = run.results, run.written
    for line in summary_lines(results):
        typer.echo(line)
    html = next((p for p in written if p.name == "report.html"), out_dir / "report.html")
    typer.echo(f"Study spec and data: {dest}")
    typer.echo(f"Report: {html}")
    from survstudy._process import end_now

    end_now()  # in its own process: no interpreter teardown

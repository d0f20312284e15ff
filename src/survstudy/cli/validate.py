"""``survstudy validate spec.yaml``: check the spec and the data, print the data-quality report.

Exit status 0 when there are no errors (warnings are listed), 2 when there are.
Nothing is written; identifiers and dates never appear in the output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from survstudy.cli.main import EXIT_USER_ERROR, app


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.1f}"


@app.command()
def validate(
    spec: Annotated[Path, typer.Argument(help="The study spec (YAML).")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON instead of text.")
    ] = False,
) -> None:
    """Check a study spec and its data file; print the data-quality report (exit 0 or 2)."""
    from survstudy.data import open_cohort
    from survstudy.spec import load_spec

    study = load_spec(spec)
    cohort = open_cohort(study, strict=False).cohort
    report = cohort.report
    if as_json:
        payload = {
            "spec": str(spec),
            "data": cohort.input_file,
            "input_sha256": cohort.input_sha256,
            "spec_sha256": study.sha256,
            "rows": cohort.flow[0].n_before,
            "included": cohort.n,
            "flow": [s.to_dict() for s in cohort.flow],
            "endpoints": {
                n: {"n": e.n, "events": e.events, "definition": e.definition}
                for n, e in cohort.endpoints.items()
            },
            "errors": len(report.errors),
            "warnings": len(report.warnings),
            "issues": report.to_records(),
        }
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        lines = [
            f"{spec}: {cohort.input_file} (sha256 {cohort.input_sha256[:12]}…), "
            f"{cohort.flow[0].n_before} rows, {cohort.n} included"
        ]
        if len(cohort.flow) > 1:
            lines.append("inclusion flow:")
            for step in cohort.flow[1:]:
                reason = step.reason or step.description
                unknown = f", {step.n_unknown} not evaluable" if step.n_unknown else ""
                lines.append(
                    f"  {step.n_before} -> {step.n_after}: {step.n_excluded} excluded "
                    f"({reason}){unknown}"
                )
        for name, ep in cohort.endpoints.items():
            lines.append(
                f"endpoint {name}: {ep.n} patient{'s' if ep.n != 1 else ''}, "
                f"{ep.events} event{'s' if ep.events != 1 else ''}"
                + (f" (not derived for {cohort.n - ep.n})" if ep.n < cohort.n else "")
            )
        lines.extend(report.lines())
        lines.append(f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)")
        typer.echo("\n".join(lines))
    if report.has_errors:
        raise typer.Exit(EXIT_USER_ERROR)

"""``survstudy schema``: print (or write) the JSON Schema of ``study.yaml`` for editors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from survstudy.cli.main import app


def schema_text() -> str:
    """The schema as the text committed in ``docs/study-schema.json`` (sorted keys, LF)."""
    from survstudy.spec import study_schema

    return json.dumps(study_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@app.command()
def schema(
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the schema to this file instead.")
    ] = None,
) -> None:
    """Print the JSON Schema of the study spec (for YAML editors: '# yaml-language-server: $schema=…')."""
    text = schema_text()
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {out}")

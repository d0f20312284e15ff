"""``survstudy init DATA [--out study.yaml]``: write a commented first spec with guessed types."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from survstudy.cli.main import app
from survstudy.errors import SpecError


@app.command()
def init(
    data: Annotated[
        list[Path],
        typer.Argument(
            help="The data file (CSV, XLSX, SAV, DTA, Parquet); further files (one per form, "
            "one row per visit) are proposed as tables joined on the id (data.tables)."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Where to write the spec.")] = Path(
        "study.yaml"
    ),
    sheet: Annotated[
        str | None, typer.Option("--sheet", help="Excel sheet (name or 0-based number).")
    ] = None,
    header_row: Annotated[
        int | None,
        typer.Option("--header-row", min=1, help="Row holding the column names (default: first)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing spec.")] = False,
) -> None:
    """Read a data file and write a commented study spec with guessed types, for you to edit."""
    from survstudy.data.readers import read_raw
    from survstudy.data.scaffold import (
        JoinedTable,
        guess_columns,
        joined_table,
        relative_data_path,
        render_spec,
    )

    if out.exists() and not force:
        raise SpecError(
            "the spec file already exists", file=str(out), code="SPEC-EXISTS", hint="use --force"
        )
    if any(out.resolve() == d.resolve() for d in data):
        raise SpecError("refusing to overwrite the data file", file=str(out), code="SPEC-EXISTS")
    main, *others = data
    sheet_arg: str | int | None = int(sheet) if sheet is not None and sheet.isdigit() else sheet
    raw = read_raw(main, sheet=sheet_arg, header_row=header_row)
    guesses = guess_columns(raw)
    ids = [g.column for g in guesses if g.type == "identifier"]
    taken = {g.name for g in guesses}
    tables: list[JoinedTable] = []
    for other in others:
        name = re.sub(r"[^0-9A-Za-z_]+", "_", other.stem).strip("_").lower() or "table"
        if name[0].isdigit():
            name = f"t_{name}"
        while name in {t.name for t in tables}:
            name += "_2"
        tables.append(
            joined_table(
                read_raw(other),
                name,
                relative_data_path(other, out),
                ids[0] if ids else None,
                taken,
            )
        )
    text = render_spec(raw, relative_data_path(main, out), guesses, tables)
    if sheet is not None:
        path_line = next(ln for ln in text.splitlines() if ln.startswith("  path: "))
        sheet_text = str(sheet_arg) if isinstance(sheet_arg, int) else f'"{sheet_arg}"'
        text = text.replace(path_line, f"{path_line}\n  sheet: {sheet_text}", 1)
    if header_row is not None:
        path_line = next(ln for ln in text.splitlines() if ln.startswith("  path: "))
        text = text.replace(path_line, f"{path_line}\n  header_row: {header_row}", 1)
    out.write_text(text, encoding="utf-8")
    counts: dict[str, int] = {}
    for g in guesses:
        counts[g.type] = counts.get(g.type, 0) + 1
    summary = ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))
    typer.echo(
        f"wrote {out}: {len(guesses)} columns ({summary}); edit it, then run "
        f"'survstudy validate {out}'"
    )

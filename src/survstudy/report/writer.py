"""``write_report``: a :class:`ReportBundle` as a report folder.

Layout of ``out_dir``::

    report.html          one self-contained file (figures inline)
    report.docx          Word tables in journal style, figures embedded
    tables/<key>.csv     one per table (from ``TableModel.to_records()``)
    tables.xlsx          one sheet per table
    results.json         canonical JSON, every number unrounded
    figures/<id>.{png,svg,pdf[,tiff]}

Every path is checked to lie inside ``out_dir`` after resolution, and no input
file is ever overwritten. Same bundle -> same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from survstudy.errors import SurvstudyError
from survstudy.report import _tables as T
from survstudy.report.bundle import FigureSpec, ReportBundle
from survstudy.report.safe import canonical_json, inside, refuse_inputs, slug

__all__ = ["FORMATS", "write_report"]

FORMATS = ("html", "docx", "csv", "xlsx", "json")
_FIG_FORMATS = ("png", "svg", "pdf", "tiff", "tif", "eps")


def _unique(names: Iterable[str], max_len: int) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for n in names:
        base = n[:max_len]
        cand, i = base, 2
        while cand.lower() in seen:
            suffix = f"_{i}"
            cand = base[: max_len - len(suffix)] + suffix
            i += 1
        seen.add(cand.lower())
        out.append(cand)
    return out


def _figure_object(spec: FigureSpec) -> Any:
    fig = spec.figure
    if fig is None and spec.draw is not None:
        fig = spec.draw()
    return fig


def _save(f: FigureSpec, stem: str, paths: dict[str, Path], out: Path) -> list[Path]:
    """Write one figure's files (copied, or drawn and saved); the paths written."""
    if not paths:
        return []
    written: list[Path] = []
    if f.files:
        src = {slug(k).lower(): Path(v) for k, v in f.files.items()}
        for k, dest in paths.items():
            if src[k].resolve() != dest:
                dest.write_bytes(src[k].read_bytes())
            written.append(dest)
        return written
    fig = _figure_object(f)
    if fig is None:
        raise SurvstudyError(
            f"figure '{stem}' has neither files nor a figure", code="REPORT-FIGURE"
        )
    from survstudy.plots import save_figure

    base = [k for k in paths if k != "tiff"]
    got = save_figure(fig, inside(out, "figures", stem), formats=base, tiff="tiff" in paths)
    return [Path(p).resolve() for p in got]


def write_report(
    bundle: ReportBundle,
    out_dir: str | os.PathLike[str],
    *,
    formats: Sequence[str] = FORMATS,
    inputs: Iterable[str | os.PathLike[str]] = (),
    figure_formats: Sequence[str] = ("png", "svg", "pdf"),
    tiff: bool = False,
    jobs: int | None = None,
) -> dict[Path, str]:
    """Write the report folder; return {written path: kind} in writing order.

    ``kind`` is ``"html"``, ``"docx"``, ``"csv"``, ``"xlsx"``, ``"json"`` or
    ``"figure"``. ``jobs``: processes to draw the figures in
    (:func:`survstudy._parallel.jobs_for`; the files are the same). Raises :class:`~survstudy.errors.SurvstudyError` for an unknown
    format and :class:`~survstudy.errors.DataError` when a file would leave
    ``out_dir`` or overwrite one of ``inputs``.
    """
    fmts = tuple(dict.fromkeys(str(f).lower() for f in formats))
    bad = [f for f in fmts if f not in FORMATS]
    if bad:
        raise SurvstudyError(
            f"unknown report format {', '.join(repr(b) for b in bad)}; choose from {', '.join(FORMATS)}",
            code="REPORT-FORMAT",
        )
    input_list = [Path(p) for p in inputs]
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise SurvstudyError(
            f"the output path '{out.name}' exists and is not a folder", code="OUT-NOT-DIR"
        )
    refuse_inputs([out], input_list)

    tables = list(bundle.tables)
    table_names = _unique([slug(T.key(t), default="table") for t in tables], 64)
    sheet_names = _unique([slug(T.key(t), default="table") for t in tables], 31)
    fig_stems = _unique([slug(f.id, default="figure") for f in bundle.figures], 64)
    fig_fmts = tuple(dict.fromkeys([*figure_formats, *(["tiff"] if tiff or bundle.tiff else [])]))

    # Plan every path first: nothing is written if any target is unsafe.
    plan: dict[str, Path] = {}
    if "html" in fmts:
        plan["html"] = inside(out, "report.html")
    if "docx" in fmts:
        plan["docx"] = inside(out, "report.docx")
    if "xlsx" in fmts:
        plan["xlsx"] = inside(out, "tables.xlsx")
    if "json" in fmts:
        plan["json"] = inside(out, "results.json")
    csv_paths = [inside(out, "tables", f"{n}.csv") for n in table_names] if "csv" in fmts else []
    fig_paths: list[dict[str, Path]] = []
    for f, stem in zip(bundle.figures, fig_stems, strict=True):
        if f.files:
            kinds = [slug(k).lower() for k in f.files if slug(k).lower() in _FIG_FORMATS]
        else:
            kinds = list(fig_fmts)
        fig_paths.append({k: inside(out, "figures", f"{stem}.{k}") for k in kinds})
    all_targets = [*plan.values(), *csv_paths, *(p for d in fig_paths for p in d.values())]
    refuse_inputs(all_targets, input_list)

    written: dict[Path, str] = {}
    out.mkdir(parents=True, exist_ok=True)

    # Figures first: the documents embed them. Each is drawn and saved on its own, so
    # with two jobs a forked child shares them (heaviest first; files identical).
    def save(i: int) -> list[Path]:
        return _save(bundle.figures[i], fig_stems[i], fig_paths[i], out)

    if any(fig_paths):
        (out / "figures").mkdir(exist_ok=True)
    order = sorted(range(len(fig_paths)), key=lambda i: -bundle.figures[i].cost)
    from survstudy._parallel import jobs_for, share

    njobs = jobs_for(jobs)
    if (
        njobs > 1
        and sum(1 for f, p in zip(bundle.figures, fig_paths, strict=True) if p and not f.files) > 1
    ):
        from survstudy.plots import preload

        preload()  # matplotlib imported and the font loaded once, before the child is forked
    saved = share([partial(save, i) for i in range(len(fig_paths))], order=order, jobs=njobs)
    for paths, got in zip(fig_paths, saved, strict=True):
        for p in got:
            written[p] = "figure"
        for k in list(paths):
            if not paths[k].exists():
                del paths[k]

    if "html" in plan:
        from survstudy.report.html import render_html

        plan["html"].write_bytes(render_html(bundle, fig_paths))
        written[plan["html"]] = "html"
    if "docx" in plan:
        from survstudy.report.word import render_docx

        plan["docx"].write_bytes(render_docx(bundle, fig_paths))
        written[plan["docx"]] = "docx"
    if csv_paths:
        from survstudy.report.sheets import render_csv

        (out / "tables").mkdir(exist_ok=True)
        for t, p in zip(tables, csv_paths, strict=True):
            p.write_bytes(render_csv(t))
            written[p] = "csv"
    if "xlsx" in plan:
        from survstudy.report.sheets import render_xlsx

        plan["xlsx"].write_bytes(
            render_xlsx(list(zip(sheet_names, tables, strict=True)), banner=bundle.banner)
        )
        written[plan["xlsx"]] = "xlsx"
    if "json" in plan:
        plan["json"].write_bytes(canonical_json(bundle.results))
        written[plan["json"]] = "json"
    return written

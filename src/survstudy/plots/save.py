"""Deterministic figure files: PNG, SVG, PDF (and TIFF on request).

Same figure, same versions -> byte-identical files: no creation dates or tool
versions in the metadata, a fixed SVG hash salt, text kept as text in SVG
(``svg.fonttype = none``, so the number-at-risk values are searchable) and
TrueType fonts embedded in PDF. When ``SOURCE_DATE_EPOCH`` is set, the PDF
carries that date (reproducible-builds convention); otherwise no date at all.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from survstudy.plots._style import style_context

__all__ = ["FORMATS", "preload", "save_figure"]

FORMATS = ("png", "svg", "pdf", "tiff")
_CREATOR = "survstudy"
_PRELOADED: list[bool] = []


def _source_date() -> _dt.datetime | None:
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return None
    try:
        return _dt.datetime.fromtimestamp(int(raw), tz=_dt.UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _metadata(fmt: str) -> dict[str, Any] | None:
    when = _source_date()
    if fmt == "png":
        return {"Software": _CREATOR}
    if fmt == "svg":
        return {"Date": when.strftime("%Y-%m-%d") if when else None, "Creator": _CREATOR}
    if fmt == "pdf":
        return {
            "Creator": _CREATOR,
            "Producer": _CREATOR,
            "CreationDate": when,
            "ModDate": when,
        }
    return None


def save_figure(
    fig: Any,
    path_stem: str | os.PathLike[str],
    formats: Sequence[str] = ("png", "svg", "pdf"),
    dpi: int = 300,
    tiff: bool = False,
) -> list[Path]:
    """Write ``fig`` as ``path_stem.<fmt>`` for each format; return the paths written.

    ``fig`` is a :class:`matplotlib.figure.Figure` or a :class:`~survstudy.plots.km.KMPlot`
    / :class:`~survstudy.plots.forest.ForestPlot` (its ``figure``). PNG and TIFF are
    written at ``dpi`` (300 by default, the usual journal minimum for halftones).
    """
    figure = getattr(fig, "figure", fig)
    if figure is None:
        raise ValueError("save_figure needs a Figure (the plot was drawn on a caller's axes)")
    figure = getattr(figure, "get_figure", lambda: figure)() or figure
    fmts = [f.lower().lstrip(".") for f in formats]
    if tiff and "tiff" not in fmts:
        fmts.append("tiff")
    unknown = [f for f in fmts if f not in FORMATS]
    if unknown:
        raise ValueError(f"unsupported figure format(s): {', '.join(unknown)}")
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with style_context():
        for fmt in dict.fromkeys(fmts):
            path = stem.with_name(f"{stem.name}.{fmt}")
            kwargs: dict[str, Any] = {"format": fmt, "dpi": dpi}
            if fmt == "tiff":
                # LZW keeps TIFFs small; PIL writes no timestamp.
                kwargs["pil_kwargs"] = {"compression": "tiff_lzw"}
            else:
                kwargs["metadata"] = _metadata(fmt)
            figure.savefig(path, **kwargs)
            written.append(path)
    return written


def preload() -> None:
    """Import what drawing and saving a figure imports, and load the figures' font.

    matplotlib with its Agg, SVG and PDF backends and fontTools' subsetter (used when a
    PDF embeds its font) take ~0.5 s to import, and the first text drawn loads the font.
    A process that forks others to draw figures calls this first, so that each child
    inherits them instead of doing it again; it writes no file and changes no figure.
    Done once per process.
    """
    if _PRELOADED:
        return
    import importlib

    importlib.import_module("fontTools.subset")  # the PDF backend's, to embed a font
    from matplotlib.backends import backend_pdf, backend_svg  # noqa: F401
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with style_context():
        fig = Figure(figsize=(1.0, 1.0))
        fig.text(0.5, 0.5, "0")
        FigureCanvasAgg(fig).draw()  # type: ignore[no-untyped-call]
    _PRELOADED.append(True)

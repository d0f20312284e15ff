"""Report renderers: HTML (jinja2), Word (python-docx), CSV/XLSX and results.json.

Belongs here: laying table models and figures out in a file format, the
methods paragraph and provenance block, safe output (escaping, neutralised
spreadsheet formulas, sanitised file names, never writing outside the output
folder).

Must not be here: statistics or number formatting rules (use ``tables``).
Imports: ``tables``, ``plots``, result types.

Public API: :class:`ReportBundle` (and its parts), :func:`methods_paragraph`,
:func:`write_report`, :func:`build_bundle` (StudyResults -> ReportBundle),
:func:`table_view` (a table model as plain data, for the app's results page).
"""

from __future__ import annotations

from typing import Any

from survstudy.report._tables import view as table_view
from survstudy.report.bundle import (
    SYNTHETIC_BANNER,
    FigureSpec,
    FlowStep,
    Provenance,
    QualityNote,
    ReportBundle,
    ReportSection,
    ReportWarning,
    methods_paragraph,
    source_date,
)
from survstudy.report.writer import FORMATS, write_report

__all__ = [
    "FORMATS",
    "SYNTHETIC_BANNER",
    "FigureSpec",
    "FlowStep",
    "Provenance",
    "QualityNote",
    "ReportBundle",
    "ReportSection",
    "ReportWarning",
    "build_bundle",
    "methods_paragraph",
    "source_date",
    "table_view",
    "write_report",
]


def build_bundle(results: Any, *, tiff: bool = False) -> ReportBundle:
    """A :class:`ReportBundle` from :class:`~survstudy.pipeline.StudyResults` (lazy import)."""
    from survstudy.report.build import build_bundle as _build

    return _build(results, tiff=tiff)

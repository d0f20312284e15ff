"""The landmark table: one block per ``analyses.landmark`` entry (issue 19).

Per landmark: the patients analysed and excluded, and per group (status at the
landmark) n, events, the median from the landmark, the hazard ratio with its
confidence interval and the log-rank p. Numbers come from
:class:`~survstudy.pipeline.results.LandmarkResult`; nothing is computed here.
"""

from __future__ import annotations

import math

from survstudy.pipeline.results import LandmarkResult, StudyResults
from survstudy.tables import format as fmt
from survstudy.tables.model import Column, Note, Row, TableModel

__all__ = ["landmark_table"]


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def landmark_table(results: StudyResults, number: int) -> TableModel | None:
    """``Table {number}. Landmark analyses`` (``None`` without landmarks)."""
    if not results.landmark:
        return None
    unit = results.time_unit
    pct = f"{round(results.profile.conf_level * 100)}%"
    columns = [
        Column("group", "Landmark / group"),
        Column("n", "n", "right"),
        Column("events", "Events", "right"),
        Column("median", f"Median from the landmark, {unit} (95% CI)", "right"),
        Column("hr", f"HR ({pct} CI)", "right"),
        Column("p", "p (log-rank)", "right"),
    ]
    rows: list[Row] = []
    notes: list[Note] = []
    for lm in results.landmark:
        rows.append(_header(lm, unit))
        hr = {r.level: r for r in lm.cox if r.level is not None}
        for g in lm.km.groups:
            r = hr.get(g.level) if g.level is not None else None
            cells = {
                "group": str(g.level),
                "n": fmt.count(g.n),
                "events": fmt.count(g.events),
                "median": fmt.estimate_ci(
                    g.median.estimate, g.median.lower, g.median.upper, digits=1
                )
                if g.median.reached
                else fmt.not_reached(),
            }
            if r is not None:
                cells["hr"] = (
                    fmt.reference()
                    if r.reference
                    else fmt.hr_ci_text(r.hr, r.lower, r.upper)
                    if r.estimable and math.isfinite(r.hr)
                    else fmt.not_estimable()
                )
            rows.append(Row(kind="level", cells=cells, indent=1, variable=lm.by, level=g.level))
        notes.extend(Note(len(rows) - 1, w, "group") for w in lm.warnings)
    foot = [
        "Patients still under follow-up at the landmark, grouped by their status at the "
        "landmark (a time-dependent variable: exposed on or before it) and followed from it; "
        f"patients with an event or censored before the landmark are excluded. Cox models "
        f"with {'Efron' if results.profile.ties == 'efron' else 'Breslow'} ties.",
    ]
    return TableModel(
        key="landmark",
        title=f"Table {number}. Landmark analyses",
        columns=columns,
        rows=rows,
        footnotes=foot,
        notes=notes,
    )


def _header(lm: LandmarkResult, unit: str) -> Row:
    text = (
        f"{lm.endpoint_label} by {lm.by_label}, landmark at {_num(lm.at)} {unit} "
        f"({fmt.count(lm.excluded)} excluded before it"
        + (f", {fmt.count(lm.missing)} with unknown group" if lm.missing else "")
        + ")"
    )
    cells = {"group": text, "n": fmt.count(lm.n), "events": fmt.count(lm.events)}
    if lm.logrank is not None and math.isfinite(lm.logrank.p_value):
        cells["p"] = fmt.p_value(lm.logrank.p_value)
    return Row(kind="label", cells=cells, variable=lm.by)

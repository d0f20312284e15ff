"""The table model: a table is data (columns, typed rows, footnotes) before it is HTML or Word.

A :class:`TableModel` holds only strings already formatted by
:mod:`survstudy.tables.format`; renderers (HTML, DOCX, CSV, XLSX, text) render
it generically. Row kinds follow gtsummary: ``label`` (a variable's heading
line), ``level`` (a category), ``reference`` (a reference category),
``missing`` (a missing-values line), ``summary`` (a continuous summary) and
``note``.

:func:`table1_model` builds Table 1 either from the pipeline's
``Table1Result`` or from a list of :class:`Table1Variable` (descriptive results
from :mod:`survstudy.stats.descriptive` with their labels). With
``FormatStyle.seed()`` and the seed's labels it prints the seed paper's Table I
row for row ("46 (29-57)", "I (n=3)/II (n=4)" -> "7 (58.3)", "Liver resection
type (n=11), n (%)").
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from survstudy.tables import format as fmt
from survstudy.tables.format import FormatStyle

__all__ = [
    "Column",
    "Note",
    "Row",
    "Table1Options",
    "Table1Variable",
    "TableModel",
    "grouped_level_text",
    "table1_model",
    "table1_texts",
]

ROW_KINDS = ("label", "level", "reference", "missing", "summary", "note")


@dataclass(frozen=True)
class Column:
    """A column: ``key`` addresses cells, ``header`` is printed, ``align`` left|right|center."""

    key: str
    header: str
    align: str = "left"


@dataclass(frozen=True)
class Row:
    """A table row. ``cells`` maps column key -> printed text (absent key = empty cell)."""

    kind: str
    cells: Mapping[str, str]
    indent: int = 0
    variable: str | None = None
    level: str | None = None
    footnote_markers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ROW_KINDS:
            raise ValueError(f"row kind must be one of {ROW_KINDS}, got {self.kind!r}")
        object.__setattr__(self, "cells", dict(self.cells))
        object.__setattr__(self, "footnote_markers", tuple(self.footnote_markers))

    def text(self, key: str) -> str:
        """The cell text of column ``key`` ("" when empty)."""
        return self.cells.get(key, "")


@dataclass(frozen=True)
class Note:
    """A note or warning attached to a row (and optionally one cell of it)."""

    row: int
    message: str
    column: str | None = None


@dataclass(frozen=True)
class TableModel:
    """A table: id/key, title, columns, rows, footnotes, notes attached to rows, caption.

    ``id`` and ``key`` are the same identifier (both accepted; the one given fills the other).
    """

    id: str = ""
    title: str = ""
    columns: Sequence[Column] = ()
    rows: Sequence[Row] = ()
    footnotes: Sequence[str] = ()
    notes: Sequence[Note] = ()
    caption: str = ""
    key: str = ""

    def __post_init__(self) -> None:
        ident = self.id or self.key
        object.__setattr__(self, "id", ident)
        object.__setattr__(self, "key", ident)
        object.__setattr__(self, "columns", tuple(self.columns))
        object.__setattr__(self, "rows", tuple(self.rows))
        object.__setattr__(self, "footnotes", tuple(self.footnotes))
        notes = tuple(n if isinstance(n, Note) else Note(*n) for n in self.notes)
        object.__setattr__(self, "notes", notes)

    def to_records(self, *, headers: bool = False) -> list[dict[str, str]]:
        """One dict per row (column key -> text; column header with ``headers=True``), for CSV."""
        out = []
        for r in self.rows:
            out.append({(c.header if headers else c.key): r.text(c.key) for c in self.columns})
        return out

    def to_dict(self) -> dict[str, Any]:
        """The whole model as JSON-ready data (a snapshot for tests and results)."""
        return {
            "id": self.id,
            "title": self.title,
            "caption": self.caption,
            "columns": [{"key": c.key, "header": c.header, "align": c.align} for c in self.columns],
            "rows": [
                {
                    "kind": r.kind,
                    "cells": dict(r.cells),
                    "indent": r.indent,
                    "variable": r.variable,
                    "level": r.level,
                    "footnote_markers": list(r.footnote_markers),
                }
                for r in self.rows
            ],
            "footnotes": list(self.footnotes),
            "notes": [{"row": n.row, "column": n.column, "message": n.message} for n in self.notes],
        }

    def to_text(self) -> str:
        """A plain-text rendering for the terminal (monospace, aligned columns)."""
        grid = [[c.header for c in self.columns]]
        for r in self.rows:
            line = []
            for j, c in enumerate(self.columns):
                t = r.text(c.key)
                if j == 0 and r.indent:
                    t = "  " * r.indent + t
                if j == len(self.columns) - 1 and r.footnote_markers:
                    t = f"{t} {''.join(r.footnote_markers)}".strip()
                line.append(t)
            grid.append(line)
        widths = [max(len(row[j]) for row in grid) for j in range(len(self.columns))]

        def render(cells: list[str]) -> str:
            parts = []
            for j, (t, c) in enumerate(zip(cells, self.columns, strict=True)):
                w = widths[j]
                parts.append(t.rjust(w) if c.align == "right" else t.ljust(w))
            return "  ".join(parts).rstrip()

        out = []
        if self.title:
            out.append(self.title)
        out.append(render(grid[0]))
        out.append("  ".join("-" * w for w in widths))
        out.extend(render(g) for g in grid[1:])
        for n in self.notes:
            where = f"row {n.row + 1}" + (f", {n.column}" if n.column else "")
            out.append(f"Note ({where}): {n.message}")
        out.extend(self.footnotes)
        if self.caption:
            out.append(self.caption)
        return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- Table 1


@dataclass(frozen=True)
class Table1Options:
    """How Table 1 prints.

    ``categorical_suffix``/``continuous_suffix`` are appended to labels (None ->
    automatic: ", n (%)" and ", median (range)" etc.; "" -> labels printed as
    given, as the seed needs). A per-variable denominator different from the
    table's n is inserted as " (n=11)" before an ", n (%)" ending of the label.
    """

    style: FormatStyle = field(default_factory=FormatStyle)
    continuous: str = "median-range"  # median-range | median-iqr | mean-sd
    categorical_suffix: str | None = None
    continuous_suffix: str | None = None
    all_text: str = "All"
    missing_text: str = "Missing"
    show_missing: bool = True
    annotate_sublevels: bool = True
    variable_header: str = "Variable (n = {n})"
    category_header: str = "Category"
    statistic_header: str = "Statistics"
    p_header: str = "p"
    footnotes: tuple[str, ...] = ()

    @classmethod
    def seed(cls) -> Table1Options:
        """The seed paper's Table I layout: labels as given, "#: Median (range)." footnote."""
        return cls(
            style=FormatStyle.seed(),
            categorical_suffix="",
            continuous_suffix="",
            variable_header="Variables (n = {n})",
            footnotes=("#: Median (range).",),
        )


@dataclass(frozen=True)
class Table1Variable:
    """One Table 1 variable from :mod:`survstudy.stats.descriptive` results.

    ``result`` is a ContinuousSummary, CategoricalSummary or MultiSelectSummary;
    ``level_labels`` maps a level to its printed category; ``sublabels`` maps a
    level to a category text that replaces it (e.g. "I (n=3)/II (n=4)");
    ``by`` holds the same summary per group of a stratified Table 1 and ``test``
    the group comparison (with ``.test`` and ``.p_value``); ``show_levels``
    restricts the printed levels (the seed prints only "Yes" for progression).
    """

    variable: str
    label: str
    result: Any
    level_labels: Mapping[str, str] = field(default_factory=dict)
    sublabels: Mapping[str, str] = field(default_factory=dict)
    by: tuple[Any, ...] = ()
    test: Any = None
    show_denominator: bool | None = None
    show_levels: tuple[str, ...] | None = None


def grouped_level_text(parts: Sequence[tuple[str, int]], sep: str = "/") -> str:
    """The category text of a grouped level with its parts' counts: "I (n=3)/II (n=4)"."""
    return sep.join(f"{v} {fmt.denominator_note(c)}" for v, c in parts)


_NPCT = re.compile(r"(,?\s*n\s*\(%\))\s*$")


def _label_with_denominator(label: str, denom: int) -> str:
    note = fmt.denominator_note(denom)
    m = _NPCT.search(label)
    if m:
        return f"{label[: m.start()]} {note}{label[m.start() :]}"
    return f"{label} {note}"


def _continuous_text(obj: Any, opt: Table1Options) -> str:
    st = opt.style
    if getattr(obj, "n", 1) == 0:
        return fmt.MISSING
    if opt.continuous == "mean-sd":
        return fmt.mean_sd(obj.mean, obj.sd, st.mean_sd_decimals)
    if opt.continuous == "median-iqr":
        return fmt.median_iqr(
            obj.median, obj.q1, obj.q3, sep=st.range_sep, max_decimals=st.continuous_max_decimals
        )
    return fmt.median_range(
        obj.median, obj.min, obj.max, sep=st.range_sep, max_decimals=st.continuous_max_decimals
    )


def _count_text(n: int | None, percent: float | None, opt: Table1Options) -> str:
    st = opt.style
    return fmt.count_percent(
        n, percent, st.percent_decimals, drop_trailing_zeros=st.drop_trailing_zeros
    )


def _suffix(kind: str, opt: Table1Options) -> str:
    if kind == "continuous":
        if opt.continuous_suffix is not None:
            return opt.continuous_suffix
        return {
            "median-range": ", median (range)",
            "median-iqr": ", median (IQR)",
            "mean-sd": ", mean (SD)",
        }[opt.continuous]
    return ", n (%)" if opt.categorical_suffix is None else opt.categorical_suffix


@dataclass
class _Line:
    """A normalised Table 1 line before it becomes a Row."""

    variable: str
    label: str
    kind: str  # continuous | level | option | missing
    category: str
    text: str
    groups: list[str]
    p_text: str = ""
    denominator: int | None = None
    smd_text: str = ""


def _pipeline_lines(t1: Any, opt: Table1Options) -> list[_Line]:
    lines = []
    for r in t1.rows:
        if r.kind == "continuous":
            cat, text = opt.all_text, _continuous_text(r, opt)
            groups = [_continuous_text(g, opt) for g in r.groups]
        elif r.kind == "missing":
            cat, text = opt.missing_text, fmt.count(r.n or 0)
            groups = [fmt.count(g.n or 0) for g in r.groups]
        else:
            cat = str(r.level)
            subs = tuple(getattr(r, "sublevels", ()) or ())
            show = getattr(r, "show_sublevels", None)
            if (opt.annotate_sublevels if show is None else show) and len(subs) > 1:
                cat = grouped_level_text(subs)
            text = _count_text(r.n, r.percent, opt)
            groups = [_count_text(g.n, g.percent, opt) for g in r.groups]
        p = getattr(r, "p_value", None)
        denom = getattr(r, "denominator", None)
        forced = getattr(r, "show_denominator", None)
        if forced is False:
            denom = None
        elif forced is True and denom is not None:
            denom = -abs(denom)  # negative = forced (see table1_model)
        lines.append(
            _Line(
                variable=r.variable,
                label=r.label,
                kind=r.kind,
                category=cat,
                text=text,
                groups=groups,
                p_text=fmt.p_value(p) if p is not None else "",
                denominator=denom,
                smd_text=_smd_text(getattr(r, "smd", None)),
            )
        )
    return lines


def _smd_text(x: float | None) -> str:
    """A standardised difference to 2 decimals ("0.12", "−0.30"); empty when absent."""
    if x is None or not math.isfinite(x):
        return ""
    return fmt.number(x, digits=2)


def _summary_kind(res: Any) -> str:
    name = type(res).__name__
    if "Continuous" in name:
        return "continuous"
    if "MultiSelect" in name:
        return "option"
    return "level"


def _variable_lines(items: Sequence[Table1Variable], opt: Table1Options) -> list[_Line]:
    lines: list[_Line] = []
    for v in items:
        res = v.result
        kind = _summary_kind(res)
        p_text = fmt.p_value(v.test.p_value) if v.test is not None else ""
        if kind == "continuous":
            lines.append(
                _Line(
                    v.variable,
                    v.label,
                    "continuous",
                    opt.all_text,
                    _continuous_text(res, opt),
                    [_continuous_text(g, opt) for g in v.by],
                    p_text,
                    None,
                )
            )
            n_missing = int(res.n_missing)
            miss_groups = [fmt.count(int(g.n_missing)) for g in v.by]
        else:
            first_line = True
            for i, lev in enumerate(res.levels):
                if v.show_levels is not None and lev not in v.show_levels:
                    continue
                cat = v.sublabels.get(lev) or v.level_labels.get(lev, lev)
                lines.append(
                    _Line(
                        v.variable,
                        v.label,
                        kind,
                        cat,
                        _count_text(int(res.counts[i]), float(res.percents[i]), opt),
                        [_count_text(int(g.counts[i]), float(g.percents[i]), opt) for g in v.by],
                        p_text if first_line else "",
                        int(res.denominator),
                    )
                )
                first_line = False
            n_missing = int(res.n_missing)
            miss_groups = [fmt.count(int(g.n_missing)) for g in v.by]
        if v.show_denominator is False:
            for ln in lines:
                if ln.variable == v.variable:
                    ln.denominator = None
        elif v.show_denominator is True and lines and lines[-1].denominator is not None:
            for ln in lines:
                if ln.variable == v.variable:
                    ln.denominator = -abs(ln.denominator or 0)  # negative = forced
        if opt.show_missing and n_missing > 0:
            lines.append(
                _Line(
                    v.variable,
                    v.label,
                    "missing",
                    opt.missing_text,
                    fmt.count(n_missing),
                    miss_groups,
                )
            )
    return lines


def table1_model(
    data: Any,
    *,
    title: str = "Table 1. Characteristics of the patients",
    options: Table1Options | None = None,
    n: int | None = None,
    by_levels: Sequence[tuple[str, int]] = (),
    by_label: str | None = None,
    tests: Sequence[str] = (),
    id: str = "table1",
) -> TableModel:
    """Table 1 as a :class:`TableModel` with columns variable, category, statistic[, groups, p].

    ``data`` is the pipeline's ``Table1Result`` (duck-typed: ``.n``, ``.rows``,
    ``.continuous``, ``.by_levels``, ``.tests``) or a sequence of
    :class:`Table1Variable` (then ``n`` is the table's number of patients). The
    variable label is printed on the first line of each variable only; a
    variable whose denominator differs from ``n`` gets " (n=…)" in its label.
    """
    opt = options or Table1Options()
    if hasattr(data, "rows") and hasattr(data, "continuous"):
        if options is None or data.continuous != opt.continuous:
            opt = _replace(opt, continuous=data.continuous)
        n_total = int(data.n)
        by_levels = tuple(getattr(data, "by_levels", ()) or by_levels)
        by_label = getattr(data, "by_label", None) or by_label
        tests = tuple(getattr(data, "tests", ()) or tests)
        show_tests = bool(getattr(data, "show_tests", True))
        if not show_tests:
            tests = ()  # analyses.table1.tests: false (the default): no p column
        lines = _pipeline_lines(data, opt)
    else:
        items = list(data)
        if n is None:
            raise ValueError("n (the number of patients) is required with a list of variables")
        n_total = int(n)
        lines = _variable_lines(items, opt)
        show_tests = True

    columns = [
        Column("variable", opt.variable_header.format(n=fmt.count(n_total))),
        Column("category", opt.category_header),
    ]
    stat_header = opt.statistic_header
    if by_levels:
        stat_header = f"Overall (n = {fmt.count(n_total)})"
    columns.append(Column("statistic", stat_header))
    gkeys = [f"group_{i}" for i in range(len(by_levels))]
    for k, (lev, gn) in zip(gkeys, by_levels, strict=True):
        columns.append(Column(k, f"{lev} (n = {fmt.count(gn)})"))
    has_p = show_tests and (any(ln.p_text for ln in lines) or bool(by_levels))
    if has_p:
        columns.append(Column("p", opt.p_header, align="right"))
    has_smd = any(ln.smd_text for ln in lines)
    if has_smd:
        columns.append(Column("smd", "SMD", align="right"))

    rows: list[Row] = []
    seen: set[str] = set()
    for ln in lines:
        first = ln.variable not in seen
        seen.add(ln.variable)
        label = ""
        if first:
            kind_for_suffix = "continuous" if ln.kind == "continuous" else "level"
            label = ln.label
            d = ln.denominator
            if d is not None and (d < 0 or d != n_total):
                label = _label_with_denominator(label, abs(d))
            suffix = _suffix(kind_for_suffix, opt)
            # A label that already says ", n (%)" keeps a single suffix.
            if suffix and not label.rstrip().endswith(suffix.strip(" ,")):
                label += suffix
        cells = {"variable": label, "category": ln.category, "statistic": ln.text}
        for k, g in zip(gkeys, ln.groups, strict=False):
            cells[k] = g
        if has_p:
            cells["p"] = ln.p_text
        if has_smd:
            cells["smd"] = ln.smd_text
        row_kind = {"continuous": "summary", "missing": "missing"}.get(ln.kind, "level")
        rows.append(
            Row(
                kind=row_kind,
                cells=cells,
                variable=ln.variable,
                level=None if ln.kind in ("continuous", "missing") else ln.category,
            )
        )

    footnotes = list(opt.footnotes)
    if tests:
        footnotes.append("p-values: " + "; ".join(tests) + ".")
    if has_smd:
        footnotes.append(
            f"SMD, standardised mean difference ({by_levels[1][0]} minus {by_levels[0][0]}): "
            "for a continuous variable the difference of the means over the pooled standard "
            "deviation; for a categorical one Yang and Dalton's multi-level difference (always "
            "positive); |SMD| > 0.1 is a commonly used mark of imbalance."
        )
    return TableModel(id=id, title=title, columns=columns, rows=rows, footnotes=footnotes)


def table1_texts(data: Any, options: Table1Options | None = None) -> list[str]:
    """The printed statistic of each row of a pipeline ``Table1Result`` (one per ``data.rows``).

    The same text :func:`table1_model` prints, for ``results.json``'s ``table1[].text``.
    """
    opt = options or Table1Options()
    if options is None or data.continuous != opt.continuous:
        opt = _replace(opt, continuous=data.continuous)
    return [ln.text for ln in _pipeline_lines(data, opt)]


def _replace(opt: Table1Options, **kw: Any) -> Table1Options:
    from dataclasses import replace

    return replace(opt, **kw)

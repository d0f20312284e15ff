"""Table 1, built once from summaries — for the in-memory cohort and a data engine alike.

A :class:`Table1Summaries` source gives, per listed variable, either the counts a
categorical, binary or multi-select variable needs (:class:`Counts`: rows per count
key, overall and per ``by`` group) or a continuous variable's (or endpoint time's)
descriptive statistics and group test (:class:`ContinuousSummary`). Two sources
exist: :class:`~survstudy.pipeline.table1_memory.MemoryTable1` (the cohort's arrays)
and :class:`~survstudy.pipeline.table1_engine.EngineTable1` (SQL over a registry
cohort's derived table); the rows, percentages, categorical tests and the spec's
presentation options are applied here, in one place (:func:`table1_result`).

Count keys: ``L:<level>`` (known, applicable rows at a level), ``D:<value>``
(known rows whose detail column — the original value of a grouped level — is
``value``), ``A`` (rows the variable applies to); for a multi-select option whose
0/1 column is ``col``: ``K:col`` (known), ``S:col`` (selected), ``M:col``
(applicable but missing). Groups are the ``by`` codes 0, 1, …; ``None`` holds the
rows with a missing ``by`` value (they count in the overall column only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from survstudy.data import Cohort
from survstudy.data.registry import DerivedCohort
from survstudy.errors import SpecError
from survstudy.pipeline import engine
from survstudy.pipeline.results import MethodsProfile, Table1Result, Table1Row
from survstudy.spec import StudySpec

__all__ = [
    "MEASURED_SUMMARY",
    "ContinuousSummary",
    "Counts",
    "Table1Summaries",
    "by_error",
    "quantile_rule",
    "table1_result",
]


#: What Table 1 shows of a value measured during follow-up, by its ``summary``.
MEASURED_SUMMARY = {
    "first": "the first measurement",
    "last": "the last measurement",
    "min": "the lowest measurement",
    "max": "the highest measurement",
    "count": "the number of measurements",
}


@dataclass(frozen=True)
class Counts:
    """A categorical/multi-select variable's counts: ``cells[key][group]`` (see the module
    docstring) and, for a categorical variable, its levels in table order."""

    levels: tuple[str, ...] = ()
    cells: dict[str, dict[int | None, int]] = field(default_factory=dict)

    def total(self, key: str) -> int:
        """Rows with ``key`` over all groups (the missing ``by`` value included)."""
        return int(sum(self.cells.get(key, {}).values()))

    def group(self, key: str, g: int) -> int:
        return int(self.cells.get(key, {}).get(g, 0))


@dataclass(frozen=True)
class ContinuousSummary:
    """A continuous variable's (or endpoint time's) descriptive statistics.

    ``overall`` and each of ``groups`` (one per ``by`` level) are dicts with the keys of
    :func:`survstudy.pipeline.engine.describe_continuous` (n, median, min, max, q1, q3,
    mean, sd); ``test`` is the group comparison (footnote, p) or ``None`` without
    ``by``. ``rows``: patients in the table; ``known``: with a known, applicable value;
    ``applicable``: to whom the variable applies.
    """

    overall: dict[str, Any]
    groups: tuple[dict[str, Any], ...]
    test: tuple[str, float] | None
    rows: int
    known: int
    applicable: int


class Table1Summaries(Protocol):
    """What Table 1 asks of its patients (see the module docstring)."""

    @property
    def by_levels(self) -> tuple[str, ...]:
        """The ``by`` variable's levels (``()`` without ``by``)."""
        ...

    @property
    def by_label(self) -> str | None: ...

    def by_counts(self) -> tuple[tuple[str, int], ...]:
        """(level, patients) per ``by`` level (``()`` without ``by``)."""
        ...

    def counts(self, name: str) -> Counts: ...

    def continuous(self, name: str) -> ContinuousSummary: ...


def quantile_rule(prof: MethodsProfile) -> str:
    """Quartile definition: R's type 7, or SPSS's weighted average (type 6)."""
    return "spss" if prof.name == "spss" else "r7"


def _with_smd(rows: list[Table1Row]) -> list[Table1Row]:
    """Each variable's standardised difference (second group minus first) on its first
    row: a continuous row from the groups' means and SDs, a categorical variable from its
    levels' proportions among the patients with a value, a multi-select option as a
    binary variable on its own row."""
    from survstudy.stats.descriptive import smd_categorical, smd_continuous

    out = list(rows)
    first_level: dict[str, int] = {}
    for i, r in enumerate(out):
        if len(r.groups) != 2:
            continue
        g0, g1 = r.groups
        if r.kind == "continuous" and None not in (g0.mean, g0.sd, g1.mean, g1.sd):
            out[i] = replace(
                r,
                smd=smd_continuous(float(g1.mean), float(g1.sd), float(g0.mean), float(g0.sd)),  # type: ignore[arg-type]
            )
        elif r.kind == "option":
            p = [(g.n or 0) / g.denominator if g.denominator else math.nan for g in (g1, g0)]
            out[i] = replace(r, smd=smd_categorical([1 - p[0], p[0]], [1 - p[1], p[1]]))
        elif r.kind == "level":
            first_level.setdefault(r.variable, i)
    for var, i in first_level.items():
        levels = [r for r in out if r.variable == var and r.kind == "level"]
        props = [
            [(r.groups[g].n or 0) / (r.groups[g].denominator or 1) for r in levels] for g in (1, 0)
        ]
        # levels not printed (show_levels) count as one more level
        rest = [1.0 - sum(p) for p in props]
        if max(rest) > 1e-12:
            props = [[q, *p] for q, p in zip(rest, props, strict=True)]
        out[i] = replace(out[i], smd=smd_categorical(props[0], props[1]))
    return out


def table1_result(
    spec: StudySpec, cohort: Cohort | DerivedCohort, src: Table1Summaries
) -> Table1Result:
    """Table 1 of the spec's ``analyses.table1`` from ``src``'s summaries, in the spec's order,
    with its labels, ``show_levels``, ``sublevel_counts`` and ``value_labels`` applied."""
    t1 = spec.analyses.table1
    assert t1 is not None
    rows: list[Table1Row] = []
    tests: list[str] = []
    for name in t1.variables:
        if name == t1.by:
            continue  # the grouping variable is the columns, not a row
        new = _presentation(spec, name, _rows(spec, cohort, src, name))
        for r in new:
            if r.test and r.test not in tests:
                tests.append(r.test)
        rows.extend(new)
    if t1.smd and len(src.by_levels) == 2:
        rows = _with_smd(rows)
    return Table1Result(
        n=cohort.n,
        rows=tuple(rows),
        continuous=t1.continuous,
        by=t1.by,
        by_label=src.by_label,
        by_levels=src.by_counts(),
        tests=tuple(tests),
        style=t1.style,
        show_tests=t1.tests,
        endpoint_times=tuple(
            n
            for n in t1.variables
            if n != t1.by and n in cohort.endpoints and n not in cohort.variables
        ),
        time_dependent=tuple(
            (spec.label_of(v), spec.label_of(td.from_).lower())
            for v in t1.variables
            if v in spec.variables
            and (td := spec.variables[v].time_dependent) is not None
            and td.from_ is not None
        ),
        measured=tuple(
            (spec.label_of(v), MEASURED_SUMMARY.get(spec.variables[v].summary or "last", ""))
            for v in t1.variables
            if v in spec.variables
            and (td := spec.variables[v].time_dependent) is not None
            and td.date is not None
        ),
    )


# --------------------------------------------------------------------------- errors


def _error(spec: StudySpec, message: str, *key: str) -> SpecError:
    return SpecError(
        message,
        file=spec.path.name if spec.path else None,
        line=spec.line_of(*key),
        key=".".join(key),
    )


def by_error(spec: StudySpec) -> SpecError:
    """``by`` names no categorical or binary variable."""
    t1 = spec.analyses.table1
    assert t1 is not None
    return _error(
        spec,
        f"Table 1 'by: {t1.by}' must be a categorical or binary variable",
        "analyses",
        "table1",
        "by",
    )


def _unknown_error(spec: StudySpec, name: str, known: set[str]) -> SpecError:
    return _error(
        spec,
        f"Table 1 lists '{name}', which is neither a variable nor an endpoint "
        f"(known: {', '.join(sorted(known))})",
        "analyses",
        "table1",
        "variables",
    )


def _type_error(spec: StudySpec, name: str, type_: str) -> SpecError:
    return _error(
        spec,
        f"Table 1 cannot summarise '{name}' ({type_} variables never appear in outputs)",
        "analyses",
        "table1",
        "variables",
    )


# --------------------------------------------------------------------------- rows


def _percent(n: Any, denom: int) -> float:
    return 100.0 * n / denom if denom else float("nan")


def _rows(
    spec: StudySpec, cohort: Cohort | DerivedCohort, src: Table1Summaries, name: str
) -> list[Table1Row]:
    t1 = spec.analyses.table1
    assert t1 is not None
    grouped = bool(src.by_levels)
    if name in cohort.endpoints and name not in cohort.variables:
        ep = cohort.endpoints[name]
        s = src.continuous(name)
        row = _cont_row(name, f"{ep.label} time", s.overall, cohort.unit, s.rows - s.known)
        # no rank test on follow-up times: censored and event times mixed compare nothing
        # (the survival analysis compares the groups)
        return [_with_groups(src, row, s, with_test=False)] if grouped else [row]
    info = cohort.variables.get(name)
    if info is None:
        raise _unknown_error(spec, name, {*cohort.variables, *cohort.endpoints})
    if info.type == "continuous":
        s = src.continuous(name)
        row = _cont_row(name, info.label, s.overall, info.unit, info.n_missing)
        row = replace(row, denominator=s.applicable)
        out = [_with_groups(src, row, s) if grouped else row]
        if t1.missing and info.n_missing:
            out.append(_missing_row(name, info.label, info.n_missing, s.applicable))
        return out
    if info.type == "multiselect":
        counts = src.counts(name)
        return [
            _option_row(src, counts, name, info.label, opt_label, col)
            for opt_label, col in info.options
        ]
    if not info.is_categorical:
        raise _type_error(spec, name, info.type)
    return _categorical_rows(src, src.counts(name), name, info, t1.missing)


def _cont_row(
    variable: str, label: str, d: dict[str, Any], unit: str | None, n_missing: int
) -> Table1Row:
    """A continuous row from :func:`engine.describe_continuous`'s dict (or the same keys)."""
    if unit and f"({unit})" not in label:
        label = f"{label} ({unit})"
    return Table1Row(
        variable=variable,
        label=label,
        kind="continuous",
        n=d["n"],
        denominator=d["n"],
        median=d["median"],
        min=d["min"],
        max=d["max"],
        q1=d["q1"],
        q3=d["q3"],
        mean=d["mean"],
        sd=d["sd"],
        n_missing=n_missing,
        unit=unit,
    )


def _with_groups(
    src: Table1Summaries, row: Table1Row, s: ContinuousSummary, *, with_test: bool = True
) -> Table1Row:
    grows = [
        replace(_cont_row(row.variable, row.label, d, row.unit, 0), group=lev)
        for lev, d in zip(src.by_levels, s.groups, strict=True)
    ]
    if not with_test:
        return replace(row, groups=tuple(grows))
    assert s.test is not None
    test, p = s.test
    return replace(row, groups=tuple(grows), test=test, p_value=p)


def _missing_row(name: str, label: str, n_missing: int, applicable: int) -> Table1Row:
    """The "Missing" row of a Table 1 variable, over the patients it applies to."""
    return Table1Row(
        variable=name,
        label=label,
        kind="missing",
        level="Missing",
        n=n_missing,
        denominator=applicable,
    )


def _option_row(
    src: Table1Summaries, c: Counts, name: str, label: str, opt_label: str, col: str
) -> Table1Row:
    groups = range(len(src.by_levels))
    known = {g: c.group(f"K:{col}", g) for g in groups}
    sel = {g: c.group(f"S:{col}", g) for g in groups}
    denom = c.total(f"K:{col}")
    n_sel = c.total(f"S:{col}")
    row = Table1Row(
        variable=name,
        label=label,
        kind="option",
        level=opt_label,
        n=n_sel,
        denominator=denom,
        percent=_percent(n_sel, denom),
        n_missing=c.total(f"M:{col}"),
    )
    if not src.by_levels:
        return row
    grows = [
        replace(row, n=sel[i], denominator=known[i], percent=_percent(sel[i], known[i]), group=lev)
        for i, lev in enumerate(src.by_levels)
    ]
    table = np.array([[sel[i], known[i] - sel[i]] for i in groups])
    test, p = engine.categorical_test(table)
    return replace(row, groups=tuple(grows), test=test, p_value=p)


def _categorical_rows(
    src: Table1Summaries, c: Counts, name: str, info: Any, show_missing: bool
) -> list[Table1Row]:
    levels = c.levels
    n_groups = len(src.by_levels)
    per_level = [c.total(f"L:{lev}") for lev in levels]
    per_cell = np.array(
        [[c.group(f"L:{lev}", g) for g in range(n_groups)] for lev in levels], dtype=np.int64
    ).reshape(len(levels), n_groups)
    per_group = per_cell.sum(axis=0)
    denom = int(sum(per_level))
    detail: dict[str, list[tuple[str, int]]] = {}
    if info.detail_column and info.sublevels:
        for lev, subs in info.sublevels.items():
            if len(subs) > 1:
                detail[lev] = [(s, c.total(f"D:{s}")) for s in subs]
    out = []
    for i, lev in enumerate(levels):
        n = per_level[i]
        row = Table1Row(
            variable=name,
            label=info.label,
            kind="level",
            level=lev,
            n=n,
            denominator=denom,
            percent=_percent(n, denom),
            n_missing=info.n_missing,
            sublevels=tuple(detail.get(lev, ())),
        )
        if n_groups:
            grows = []
            for j, glev in enumerate(src.by_levels):
                gd, gn = int(per_group[j]), int(per_cell[i, j])
                grows.append(
                    replace(
                        row,
                        n=gn,
                        denominator=gd,
                        percent=_percent(gn, gd),
                        group=glev,
                        sublevels=(),
                    )
                )
            row = replace(row, groups=tuple(grows))
        out.append(row)
    if n_groups and out:
        test, p = engine.categorical_test(per_cell.T)
        out[0] = replace(out[0], test=test, p_value=p)
    if show_missing and info.n_missing:
        out.append(_missing_row(name, info.label, info.n_missing, c.total("A")))
    return out


def _presentation(spec: StudySpec, name: str, rows: list[Table1Row]) -> list[Table1Row]:
    """Apply analyses.table1's labels, show_levels, sublevel_counts and value_labels."""
    t1 = spec.analyses.table1
    assert t1 is not None
    var = spec.variables.get(name)
    value_labels = (var.value_labels or {}) if var is not None else {}
    shown = t1.show_levels.get(name)
    out = []
    for r in rows:
        if shown is not None and r.kind in ("level", "option") and r.level not in shown:
            continue
        if name in t1.labels:
            r = replace(r, label=t1.labels[name])
        if r.sublevels and value_labels:
            subs = tuple((value_labels.get(v, v), c) for v, c in r.sublevels)
            r = replace(r, sublevels=subs)
        if t1.sublevel_counts is not None:
            r = replace(r, show_sublevels=name in t1.sublevel_counts)
        if name in t1.show_denominator:
            r = replace(r, show_denominator=t1.show_denominator[name])
        out.append(r)
    return out

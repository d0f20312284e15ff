"""``run_study(spec, cohort) -> StudyResults``: the spec's analyses, computed.

Each step picks its rows through a :class:`~survstudy.pipeline.rows.Rows` object
(the in-memory cohort's arrays, or a registry cohort's table read by a data
engine) and calls :mod:`survstudy.stats` through the thin wrappers in
:mod:`survstudy.pipeline.engine`; nothing is estimated here. Both methods profiles are computed (they are cheap), the chosen one fills
the tables and the other feeds the reconciliation table.
"""

from __future__ import annotations

import math
import os
import platform
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from survstudy.data import CategoricalColumn, Cohort
from survstudy.data.cohort import VariableInfo
from survstudy.errors import AnalysisError, SpecError
from survstudy.pipeline import engine
from survstudy.pipeline.design import FactorDesign
from survstudy.pipeline.profiles import get_profile
from survstudy.pipeline.registry import DerivedCohort
from survstudy.pipeline.results import (
    CoxRow,
    CurveGroup,
    EndpointSummary,
    FirthEstimate,
    FollowUp,
    GroupTest,
    KMCurves,
    Landmark,
    Median,
    MethodsProfile,
    ModelResult,
    PermutationTest,
    Precision,
    ProfileDifference,
    Provenance,
    StudyResults,
    StudyWarning,
    Table1Result,
    Table1Row,
    UnivariableResult,
)
from survstudy.pipeline.rows import EngineRows, MemoryRows, Rows, Selection
from survstudy.spec import StudySpec

__all__ = ["Progress", "run_study"]

Progress = Callable[[str, int, int], None]
"""Progress callback: (what is being computed, step number, number of steps)."""

#: Below this many patients at risk a landmark rate gets a warning (or below 10% of n).
FEW_AT_RISK = 10
#: Below this many events per model parameter a multivariable model gets a warning.
MIN_EPV = 10


def _noop(_what: str, _i: int, _n: int) -> None:
    return None


class _Warnings:
    def __init__(self) -> None:
        self.items: list[StudyWarning] = []

    def add(self, code: str, message: str, section: str, **where: Any) -> str:
        w = StudyWarning(code=code, message=message, section=section, **where)
        if w not in self.items:
            self.items.append(w)
        return message


def run_study(
    spec: StudySpec,
    cohort: Cohort | DerivedCohort,
    *,
    profile: str | None = None,
    progress: Progress | None = None,
    data_engine: Any = None,
) -> StudyResults:
    """Compute every analysis the spec's ``analyses`` section asks for.

    ``cohort`` is an in-memory :class:`~survstudy.data.Cohort`, or a registry
    cohort (:class:`~survstudy.pipeline.registry.DerivedCohort`) whose rows
    ``data_engine`` (a DuckDB or Spark engine from
    :func:`survstudy.engines.base.get_engine`) reads where they are.
    ``profile`` overrides ``analyses.methods`` (``standard`` or ``spss``).
    ``progress`` is called before each step. Statistical warnings are collected
    on the result (and on the rows they concern); user-fixable problems raise
    :class:`~survstudy.errors.SpecError` or :class:`~survstudy.errors.AnalysisError`.
    """
    a = spec.analyses
    name = profile or a.methods
    prof = get_profile(name, conf_type=a.conf_type, conf_level=a.conf_level)
    other = get_profile(
        "spss" if name == "standard" else "standard",
        conf_type=a.conf_type,
        conf_level=a.conf_level,
    )
    report = progress or _noop
    warn = _Warnings()
    rows: Rows
    if isinstance(cohort, DerivedCohort):
        if data_engine is None:
            raise AnalysisError("a registry cohort needs a data engine (duckdb or spark)")
        _check_engine_options(spec, str(data_engine.name))
        rows = EngineRows(cohort, data_engine)
    else:
        # every sum in one order, whatever the order of the rows in the file (issue 16)
        cohort = cohort.in_canonical_order()
        rows = MemoryRows(cohort)
    steps = ["Table 1", "survival summaries", "univariable models", "multivariable models", "KM"]
    total = len(steps)

    report("Table 1", 1, total)
    table1 = None
    if a.table1 and isinstance(cohort, DerivedCohort):
        from survstudy.pipeline.table1_engine import table1_from_engine

        assert isinstance(rows, EngineRows)
        table1 = table1_from_engine(spec, cohort, rows.eng, rows.source, warn, prof)
    elif a.table1:
        assert isinstance(cohort, Cohort)
        table1 = _table1(spec, cohort, warn, prof)

    report("survival summaries", 2, total)
    endpoints: dict[str, EndpointSummary] = {}
    recon: list[ProfileDifference] = []
    if a.survival:
        for ep in a.survival.endpoints:
            _check_endpoint(spec, cohort, ep, ("analyses", "survival", "endpoints"))
            summary, other_median = _survival(
                cohort, rows, ep, a.survival.landmarks, prof, other, warn
            )
            summary = replace(summary, precision=_endpoint_precision(spec, cohort, rows, ep))
            endpoints[ep] = summary
            recon.append(_median_difference(cohort, ep, summary.median, other_median, prof))

    report("univariable models", 3, total)
    univariable: dict[str, UnivariableResult] = {}
    if a.univariable:
        for ep in a.univariable.endpoints:
            _check_endpoint(spec, cohort, ep, ("analyses", "univariable", "endpoints"))
            uni, diffs = _univariable(spec, cohort, rows, ep, prof, other, warn)
            univariable[ep] = uni
            recon.extend(diffs)

    report("multivariable models", 4, total)
    models: list[ModelResult] = []
    for m in a.multivariable:
        _check_endpoint(spec, cohort, m.endpoint, ("analyses", "multivariable"))
        model, diffs = _multivariable(cohort, rows, m, prof, other, warn)
        models.append(model)
        recon.extend(diffs)

    report("Kaplan–Meier curves", 5, total)
    km = tuple(_km_figure(spec, cohort, rows, k, prof, warn) for k in a.km)

    versions = engine.versions()
    prov = Provenance(
        input_file=cohort.input_file,
        input_sha256=cohort.input_sha256,
        spec_file=spec.path.name if spec.path else None,
        spec_sha256=spec.sha256,
        versions=versions,
        generated=_source_date(),
    )
    return StudyResults(
        title=spec.title or (spec.path.stem if spec.path else "Survival study"),
        description=spec.description,
        synthetic=spec.synthetic,
        time_unit=cohort.unit,
        days_per_unit=cohort.days_per_unit,
        profile=prof,
        n=cohort.n,
        flow=tuple(s.to_dict() for s in cohort.flow),
        quality=tuple(cohort.report.lines()),
        table1=table1,
        endpoints=endpoints,
        univariable=univariable,
        multivariable=tuple(models),
        km=km,
        reconciliation=tuple(recon),
        warnings=tuple(warn.items),
        provenance=prov,
        methods=_methods(spec, cohort, prof, versions),
        quality_issues=tuple(
            {
                "code": r["code"],
                "severity": r["severity"],
                "message": r["text"],
                "row": r["row"],
                "column": r["column"],
            }
            for r in cohort.report.to_records()
        ),
    )


# --------------------------------------------------------------------------- helpers


def _check_engine_options(spec: StudySpec, engine_name: str) -> None:
    """Refuse, before any work, the options whose methods need the rows in memory.

    Firth-penalised fits, profile-likelihood intervals and permutation tests are
    small-sample methods computed on the patients' rows; with a data engine the
    runner has per-time sums only. Their ``auto`` settings stay allowed: where one
    would apply, the result carries a warning saying it was not computed.
    """
    a = spec.analyses
    asks: list[tuple[str, tuple[str | int, ...]]] = []
    if a.univariable:
        if a.univariable.firth == "always":
            asks.append(("firth: always", ("analyses", "univariable", "firth")))
        if a.univariable.ci == "profile":
            asks.append(("ci: profile", ("analyses", "univariable", "ci")))
        if a.univariable.logrank and a.univariable.permutation in ("exact", "monte-carlo"):
            asks.append(
                (
                    f"permutation: {a.univariable.permutation}",
                    ("analyses", "univariable", "permutation"),
                )
            )
    for i, m in enumerate(a.multivariable):
        if m.firth == "always":
            asks.append(("firth: always", ("analyses", "multivariable", i, "firth")))
        if m.ci == "profile":
            asks.append(("ci: profile", ("analyses", "multivariable", i, "ci")))
    for i, k in enumerate(a.km):
        if k.by and k.permutation in ("exact", "monte-carlo"):
            asks.append((f"permutation: {k.permutation}", ("analyses", "km", i, "permutation")))
    if asks:
        what, key = asks[0]
        raise SpecError(
            f"{what} needs the patients' rows in memory and is not available with engine "
            f"{engine_name}; use --engine memory, or remove the option",
            file=spec.path.name if spec.path else None,
            line=spec.line_of(*key),
            key=".".join(str(k) for k in key),
            code="SPEC-ENGINE-UNSUPPORTED",
        )


def _source_date() -> str | None:
    """The date from SOURCE_DATE_EPOCH (for reproducible builds), else None (never the clock)."""
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    if not raw:
        return None
    import datetime as dt

    try:
        return dt.datetime.fromtimestamp(int(raw), tz=dt.UTC).date().isoformat()
    except (ValueError, OverflowError, OSError):
        return None


def _check_endpoint(
    spec: StudySpec, cohort: Cohort | DerivedCohort, name: str, key: tuple[str, ...]
) -> None:
    if name not in cohort.endpoints:
        known = ", ".join(sorted(cohort.endpoints)) or "none"
        raise SpecError(
            f"'{name}' is not an endpoint of the study (endpoints: {known})",
            file=spec.path.name if spec.path else None,
            line=spec.line_of(*key),
            key=".".join(key),
        )


def _fmt_num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _exp(x: float) -> float:
    """exp that gives inf (not an OverflowError) for a term running off to infinity."""
    return math.exp(x) if x < 709.0 else float("inf")


def _unit_word(unit: str, value: float = 2.0) -> str:
    return unit[:-1] if value == 1 and unit.endswith("s") else unit


# --------------------------------------------------------------------------- precision


def _event_noun(spec: StudySpec, ep: str, events: int) -> str:
    """The endpoint's plural noun for its events ("progressions"), singular for one event."""
    e = spec.endpoints.get(ep)
    noun = (e.event_noun if e is not None and e.event_noun else None) or "events"
    if events == 1 and noun.endswith("s") and not noun.endswith("ses"):
        return noun[:-1]
    return noun


def _about(hr: float) -> str:
    """A detectable HR in words: one decimal below 10, whole numbers to 100, then 2 digits."""
    if hr < 10:
        # a registry detects HRs barely above 1: "1.003", never "1.0" (which reads "no effect")
        for digits in (1, 2):
            if hr == 1 or f"{hr:.{digits}f}".rstrip("0") != "1.":
                return f"{hr:.{digits}f}"
        return f"{hr:.3f}"
    if hr < 100:
        return str(round(hr))
    return str(int(float(f"{hr:.2g}")))


def _precision_message(
    noun: str, events: int, hr: float, power: float, between: str | None = None
) -> str:
    pw = f"{_fmt_num(round(power * 100, 1))}%"
    tail = "; a non-significant result here does not show the absence of an effect."
    if events == 0 or not math.isfinite(hr):
        return f"With no {noun}, no hazard ratio could have been detected" + tail
    only = "only " if hr >= 2 else ""
    # the report's count style (survstudy.tables.format.count): "9999", "7,623,599"
    n_events = f"{events:,}" if events >= 10_000 else str(events)
    what = f" between the groups of {between}" if between else ""
    return (
        f"With {n_events} {noun}, {only}a hazard ratio{what} of about {_about(hr)} or more could "
        f"have been detected with {pw} power" + tail
    )


def _endpoint_precision(
    spec: StudySpec, cohort: Cohort | DerivedCohort, rows: Rows, ep: str
) -> Precision | None:
    """Schoenfeld's detectable HR at the endpoint's observed events: two equal groups, or
    the observed groups of ``analyses.precision.factor`` (patients with a known value)."""
    pr = spec.analyses.precision
    if pr is None:
        return None
    share, between = 0.5, None
    sel = rows.select(ep, [])
    if pr.factor:
        design = rows.design(pr.factor)
        if not design.categorical or len(design.levels) != 2:
            raise SpecError(
                f"analyses.precision.factor '{pr.factor}' must be a variable with two groups",
                file=spec.path.name if spec.path else None,
                line=spec.line_of("analyses", "precision", "factor"),
                key="analyses.precision.factor",
            )
        sel = rows.select(ep, [design])
        share = sel.share() if sel.n else 0.0
        between = design.label
    events = sel.events
    d = engine.detectable_hr(events, share, alpha=pr.alpha, power=pr.power)
    noun = _event_noun(spec, ep, events)
    return Precision(
        events=events,
        proportion=share,
        alpha=pr.alpha,
        power=pr.power,
        hr=float(d.hr),
        message=_precision_message(noun, events, float(d.hr), pr.power, between),
    )


# --------------------------------------------------------------------------- Table 1


def _table1(spec: StudySpec, cohort: Cohort, warn: _Warnings, prof: MethodsProfile) -> Table1Result:
    t1 = spec.analyses.table1
    assert t1 is not None
    by_codes: np.ndarray | None = None
    by_levels: tuple[str, ...] = ()
    by_label = None
    if t1.by is not None:
        info = cohort.variables.get(t1.by)
        if info is None or not info.is_categorical:
            raise _table1_by_error(spec)
        col = cohort.columns[t1.by]
        assert isinstance(col, CategoricalColumn)
        by_levels = tuple(col.categories)
        by_codes = np.asarray(col.codes, dtype=int)
        by_label = info.label

    def rows_of(name: str) -> list[Table1Row]:
        return _table1_rows(
            spec, cohort, name, t1.continuous, by_codes, by_levels, t1.missing, _quantiles(prof)
        )

    by_counts = (
        tuple((lev, int((by_codes == i).sum())) for i, lev in enumerate(by_levels))
        if by_codes is not None
        else ()
    )
    return _table1_assemble(spec, cohort.n, rows_of, by_label, by_counts)


def _table1_assemble(
    spec: StudySpec,
    n: int,
    rows_of: Callable[[str], list[Table1Row]],
    by_label: str | None,
    by_levels: tuple[tuple[str, int], ...],
) -> Table1Result:
    """Table 1 from each listed variable's rows (``rows_of``), in the spec's order.

    Shared by the in-memory Table 1 and the engine's (pipeline.table1_engine)."""
    t1 = spec.analyses.table1
    assert t1 is not None
    rows: list[Table1Row] = []
    tests: list[str] = []
    for name in t1.variables:
        if name == t1.by:
            continue  # the grouping variable is the columns, not a row
        new = _table1_presentation(spec, name, rows_of(name))
        for r in new:
            if r.test and r.test not in tests:
                tests.append(r.test)
        rows.extend(new)
    return Table1Result(
        n=n,
        rows=tuple(rows),
        continuous=t1.continuous,
        by=t1.by,
        by_label=by_label,
        by_levels=by_levels,
        tests=tuple(tests),
        style=t1.style,
    )


def _table1_by_error(spec: StudySpec) -> SpecError:
    t1 = spec.analyses.table1
    assert t1 is not None
    return SpecError(
        f"Table 1 'by: {t1.by}' must be a categorical or binary variable",
        file=spec.path.name if spec.path else None,
        line=spec.line_of("analyses", "table1", "by"),
        key="analyses.table1.by",
    )


def _table1_unknown_error(spec: StudySpec, name: str, known: set[str]) -> SpecError:
    return SpecError(
        f"Table 1 lists '{name}', which is neither a variable nor an endpoint "
        f"(known: {', '.join(sorted(known))})",
        file=spec.path.name if spec.path else None,
        line=spec.line_of("analyses", "table1", "variables"),
        key="analyses.table1.variables",
    )


def _table1_type_error(spec: StudySpec, name: str, type_: str) -> SpecError:
    return SpecError(
        f"Table 1 cannot summarise '{name}' ({type_} variables never appear in outputs)",
        file=spec.path.name if spec.path else None,
        line=spec.line_of("analyses", "table1", "variables"),
        key="analyses.table1.variables",
    )


def _table1_presentation(spec: StudySpec, name: str, rows: list[Table1Row]) -> list[Table1Row]:
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


def _quantiles(prof: MethodsProfile) -> str:
    """Quartile definition: R's type 7, or SPSS's weighted average (type 6)."""
    return "spss" if prof.name == "spss" else "r7"


def _cont_row(
    variable: str,
    label: str,
    values: np.ndarray,
    unit: str | None,
    n_missing: int,
    q: str = "r7",
) -> Table1Row:
    return _cont_row_from(variable, label, engine.describe_continuous(values, q), unit, n_missing)


def _cont_row_from(
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


def _table1_rows(
    spec: StudySpec,
    cohort: Cohort,
    name: str,
    continuous: str,
    by_codes: np.ndarray | None,
    by_levels: tuple[str, ...],
    show_missing: bool,
    q: str = "r7",
) -> list[Table1Row]:
    groups = (
        [(lev, by_codes == i) for i, lev in enumerate(by_levels)] if by_codes is not None else []
    )
    if name in cohort.endpoints and name not in cohort.variables:
        ep = cohort.endpoints[name]
        t, _e, ok = cohort.survival_data(name)
        values = np.where(ok, t / cohort.days_per_unit, np.nan)
        label = f"{ep.label} time"
        row = _cont_row(name, label, values[ok], cohort.unit, int((~ok).sum()), q)
        if groups:
            row = _with_groups_continuous(row, values, ok, groups, continuous, q)
        return [row]
    info = cohort.variables.get(name)
    if info is None:
        raise _table1_unknown_error(spec, name, {*cohort.variables, *cohort.endpoints})
    app = np.asarray(info.applicable, dtype=bool)
    if info.type == "continuous":
        values = np.asarray(cohort.columns[name], dtype=float)
        known_mask = app & ~np.isnan(values)
        row = _cont_row(name, info.label, values[known_mask], info.unit, info.n_missing, q)
        row = replace(row, denominator=int(app.sum()))
        out = [row]
        if groups:
            out = [_with_groups_continuous(row, values, known_mask, groups, continuous, q)]
        if show_missing and info.n_missing:
            out.append(_missing_row(name, info, app))
        return out
    if info.type == "multiselect":
        out = []
        for opt_label, col in info.options:
            v = np.asarray(cohort.columns[col], dtype=float)
            known_mask = app & ~np.isnan(v)
            sel = known_mask & (v == 1)
            denom = int(known_mask.sum())
            row = Table1Row(
                variable=name,
                label=info.label,
                kind="option",
                level=opt_label,
                n=int(sel.sum()),
                denominator=denom,
                percent=100.0 * sel.sum() / denom if denom else float("nan"),
                n_missing=int((app & np.isnan(v)).sum()),
            )
            if groups:
                grows = []
                for lev, gmask in groups:
                    gd = int((known_mask & gmask).sum())
                    gn = int((sel & gmask).sum())
                    grows.append(
                        replace(
                            row,
                            n=gn,
                            denominator=gd,
                            percent=100.0 * gn / gd if gd else float("nan"),
                            group=lev,
                        )
                    )
                table = np.array(
                    [
                        [int((sel & g).sum()), int((known_mask & ~sel & g).sum())]
                        for _lev, g in groups
                    ]
                )
                test, p = engine.categorical_test(table)
                row = replace(row, groups=tuple(grows), test=test, p_value=p)
            out.append(row)
        return out
    if not info.is_categorical:
        raise _table1_type_error(spec, name, info.type)
    cat = cohort.columns[name]
    assert isinstance(cat, CategoricalColumn)
    levels = list(cat.categories)
    known_mask = app & (cat.codes >= 0)
    denom = int(known_mask.sum())
    detail: dict[str, list[tuple[str, int]]] = {}
    if info.detail_column and info.sublevels:
        dcol = cohort.columns[info.detail_column]
        assert isinstance(dcol, CategoricalColumn)
        dcount = np.bincount(
            dcol.codes[known_mask & (dcol.codes >= 0)], minlength=len(dcol.categories)
        )
        dindex = {c: i for i, c in enumerate(dcol.categories)}
        for lev, subs in info.sublevels.items():
            if len(subs) > 1:
                detail[lev] = [(s, int(dcount[dindex[s]]) if s in dindex else 0) for s in subs]
    out = []
    counts_by_group: list[list[int]] = []
    for k, lev in enumerate(levels):
        is_lev = known_mask & (cat.codes == k)
        n = int(is_lev.sum())
        row = Table1Row(
            variable=name,
            label=info.label,
            kind="level",
            level=lev,
            n=n,
            denominator=denom,
            percent=100.0 * n / denom if denom else float("nan"),
            n_missing=info.n_missing,
            sublevels=tuple(detail.get(lev, ())),
        )
        if groups:
            grows = []
            counts = []
            for glev, gmask in groups:
                gd = int((known_mask & gmask).sum())
                gn = int((is_lev & gmask).sum())
                counts.append(gn)
                grows.append(
                    replace(
                        row,
                        n=gn,
                        denominator=gd,
                        percent=100.0 * gn / gd if gd else float("nan"),
                        group=glev,
                        sublevels=(),
                    )
                )
            counts_by_group.append(counts)
            row = replace(row, groups=tuple(grows))
        out.append(row)
    if groups and out:
        test, p = engine.categorical_test(np.array(counts_by_group).T)
        out[0] = replace(out[0], test=test, p_value=p)
    if show_missing and info.n_missing:
        out.append(_missing_row(name, info, app))
    return out


def _missing_row(name: str, info: VariableInfo, applicable: np.ndarray) -> Table1Row:
    """The "Missing" row of a Table 1 variable, over the patients it applies to."""
    return Table1Row(
        variable=name,
        label=info.label,
        kind="missing",
        level="Missing",
        n=info.n_missing,
        denominator=int(applicable.sum()),
    )


def _with_groups_continuous(
    row: Table1Row,
    values: np.ndarray,
    known: np.ndarray,
    groups: list[tuple[str, np.ndarray]],
    continuous: str,
    q: str = "r7",
) -> Table1Row:
    grows = []
    samples = []
    for lev, gmask in groups:
        v = values[known & gmask]
        samples.append(v)
        g = _cont_row(row.variable, row.label, v, row.unit, 0, q)
        grows.append(replace(g, group=lev))
    test, p = engine.continuous_test(samples, continuous)
    return replace(row, groups=tuple(grows), test=test, p_value=p)


# --------------------------------------------------------------------------- survival


def _median(km: engine.KM, rule: str, days_per_unit: float, conf_level: float) -> Median:
    if rule == "spss":
        est, se, lo, hi = engine.spss_median(km, conf_level)
        return Median(
            est / days_per_unit, lo / days_per_unit, hi / days_per_unit, "spss", se / days_per_unit
        )
    est, lo, hi = engine.r_median(km)
    return Median(est / days_per_unit, lo / days_per_unit, hi / days_per_unit, "r")


def _survival(
    cohort: Cohort | DerivedCohort,
    rows: Rows,
    ep: str,
    landmarks: list[float],
    prof: MethodsProfile,
    other: MethodsProfile,
    warn: _Warnings,
) -> tuple[EndpointSummary, Median]:
    surv = rows.survival(ep, conf_type=prof.conf_type, conf_level=prof.conf_level)
    km = surv.km
    info = cohort.endpoints[ep]
    dpu = cohort.days_per_unit
    unit = cohort.unit
    notes: list[str] = []
    for w in getattr(km, "warnings", ()):
        warn.add(w.code, f"{info.label}: {w.message}", "survival", endpoint=ep)
    med = _median(km, prof.median_rule, dpu, prof.conf_level)
    med_other = _median(km, other.median_rule, dpu, other.conf_level)
    if not med.reached:
        notes.append(
            warn.add(
                "MEDIAN-NOT-REACHED",
                f"{info.label}: the median was not reached (more than half of the patients "
                "were event-free at the last follow-up)",
                "survival",
                endpoint=ep,
            )
        )
    at: list[Landmark] = []
    n = surv.n
    limit = max(FEW_AT_RISK, 0.1 * n)
    for lm in landmarks:
        s, se, lo, hi, n_risk = engine.survival_at(km, lm * dpu)
        codes: list[str] = []
        msgs: list[str] = []
        beyond = lm * dpu > surv.max_time
        if n_risk < limit and not beyond:
            codes.append("FEW-AT-RISK")
            msg = warn.add(
                "FEW-AT-RISK",
                f"{info.label} at {_fmt_num(lm)} {_unit_word(unit, lm)}: only {n_risk} "
                f"patient{'s' if n_risk != 1 else ''} still at risk, so this rate is imprecise.",
                "survival",
                endpoint=ep,
                time=lm,
            )
            msgs.append(msg)
        if beyond:
            codes.append("BEYOND-FOLLOW-UP")
            msg = warn.add(
                "BEYOND-FOLLOW-UP",
                f"{info.label} at {_fmt_num(lm)} {_unit_word(unit, lm)}: beyond the longest "
                "follow-up; the rate is not estimable",
                "survival",
                endpoint=ep,
                time=lm,
            )
            msgs.append(msg)
            s = lo = hi = se = float("nan")
        at.append(Landmark(lm, s, lo, hi, se, n_risk, tuple(codes), tuple(msgs)))
    # Median follow-up: reverse Kaplan–Meier (censorings as events), by the profile's rule.
    fmed = _median(surv.reverse, prof.median_rule, dpu, prof.conf_level)
    followup = FollowUp(
        fmed.estimate, fmed.lower, fmed.upper, surv.min_time / dpu, surv.max_time / dpu
    )
    summary = EndpointSummary(
        name=ep,
        label=info.label,
        definition=info.definition,
        n=n,
        events=surv.events,
        median=med,
        followup=followup,
        at=tuple(at),
        median_other=med_other,
        warnings=tuple(notes),
    )
    return summary, med_other


def _median_difference(
    cohort: Cohort | DerivedCohort, ep: str, med: Median, other: Median, prof: MethodsProfile
) -> ProfileDifference:
    std, sps = (med, other) if prof.name == "standard" else (other, med)
    return ProfileDifference(
        section="survival",
        analysis="Survival summary",
        item=cohort.endpoints[ep].label,
        quantity=f"Median, {cohort.unit} (95% CI)",
        kind="time",
        standard=std.estimate,
        standard_lower=std.lower,
        standard_upper=std.upper,
        spss=sps.estimate,
        spss_lower=sps.lower,
        spss_upper=sps.upper,
        standard_method="median rule and CI",
        spss_method="median rule and CI",
    )


# --------------------------------------------------------------------------- Cox


def _cox_rows(
    design: FactorDesign,
    fit: engine.CoxFit | None,
    offset: int,
    conf_level: float,
    *,
    n: int | None,
    events: int | None,
    note: str | None = None,
) -> list[CoxRow]:
    """Rows for one factor from a fitted model whose terms start at column ``offset``."""
    z = engine.z_value(conf_level)
    rows: list[CoxRow] = []
    if design.kind == "continuous":
        pers = [1.0] + ([design.per] if design.per and design.per != 1 else [])
        for k in pers:
            if fit is None:
                rows.append(
                    CoxRow(
                        design.variable,
                        design.label,
                        "continuous",
                        per=k,
                        unit=design.unit,
                        term=design.variable,
                        n=n,
                        events=events,
                        estimable=False,
                        warnings=(note,) if note else (),
                    )
                )
                continue
            j = offset
            b, se = fit.coef[j], fit.se[j]
            if fit.ci_method == "profile":
                # profile limits are limits for β: exp(k·β_lower) = lower^k
                with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                    lo, hi = float(fit.lower[j]) ** k, float(fit.upper[j]) ** k
            else:
                lo, hi = _exp(k * (b - z * se)), _exp(k * (b + z * se))
            rows.append(
                CoxRow(
                    variable=design.variable,
                    label=design.label,
                    kind="continuous",
                    per=k,
                    unit=design.unit,
                    term=design.variable,
                    coef=b,
                    se=se,
                    hr=_exp(k * b),
                    lower=lo,
                    upper=hi,
                    ci_method=fit.ci_method,
                    p_value=fit.p[j],
                    ph_p=fit.ph_p.get(design.variable, float("nan")),
                    n=n,
                    events=events,
                    estimable=fit.estimable[j],
                    warnings=tuple(fit.notes[j]) + ((note,) if note else ()),
                )
            )
        return rows
    rows.append(
        CoxRow(
            design.variable,
            design.label,
            "header",
            n=n,
            events=events,
            ph_p=fit.ph_p.get(design.variable, float("nan")) if fit else float("nan"),
            warnings=(note,) if note else (),
        )
    )
    term_index = {lev: offset + i for i, lev in enumerate(design.term_levels)}
    for lev in design.levels:
        if lev == design.reference:
            rows.append(
                CoxRow(
                    design.variable, design.label, "reference", level=lev, reference=True, hr=1.0
                )
            )
            continue
        if lev in design.empty_levels or fit is None or lev not in term_index:
            msg = "no patients in this group" if lev in design.empty_levels else None
            rows.append(
                CoxRow(
                    design.variable,
                    design.label,
                    "level",
                    level=lev,
                    estimable=False,
                    warnings=(msg,) if msg else (),
                )
            )
            continue
        j = term_index[lev]
        b, se = fit.coef[j], fit.se[j]
        rows.append(
            CoxRow(
                variable=design.variable,
                label=design.label,
                kind="level",
                level=lev,
                term=design.terms[j - offset],
                coef=b,
                se=se,
                hr=fit.hr[j],
                lower=fit.lower[j],
                upper=fit.upper[j],
                p_value=fit.p[j],
                estimable=fit.estimable[j],
                warnings=tuple(fit.notes[j]),
                ci_method=fit.ci_method,
            )
        )
    return rows


def _firth_rows(
    rows: list[CoxRow],
    design: FactorDesign,
    ffit: engine.CoxFit,
    offset: int,
    reason: str,
) -> list[CoxRow]:
    """Attach a factor's Firth estimates (terms from column ``offset``) to its rows.

    A continuous row per k units gets exp(k·β) and the profile limits to the k-th power
    (they are limits for β, so exp(k·β_lower) = lower^k).
    """
    term_index = {t: offset + i for i, t in enumerate(design.terms)}
    out = []
    for r in rows:
        j = term_index.get(r.term) if r.term is not None else None
        if j is None or r.reference:
            out.append(r)
            continue
        k = float(r.per) if r.kind == "continuous" and r.per else 1.0
        b, se = float(ffit.coef[j]), float(ffit.se[j])
        lo, hi = float(ffit.lower[j]), float(ffit.upper[j])
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            est = FirthEstimate(
                coef=b,
                se=se,
                hr=_exp(k * b),
                lower=lo**k if k != 1 else lo,
                upper=hi**k if k != 1 else hi,
                p_value=float(ffit.p[j]),
                reason=reason,
                ci_method=ffit.ci_method,
            )
        out.append(replace(r, firth=est))
    return out


def _firth_fit(
    option: str,
    fit: engine.CoxFit,
    sel: Selection,
    prof: MethodsProfile,
    *,
    term_names: tuple[str, ...],
) -> tuple[engine.CoxFit | None, str | None, str | None]:
    """The Firth fit the spec's ``firth`` option asks for: (fit, reason, problem).

    ``auto`` fits it when an ordinary term is not estimable (monotone likelihood or
    no valid variance); ``always`` for every model. ``problem`` says why a Firth fit
    that was wanted is missing.
    """
    if option == "never" or fit.method != "ordinary":
        return None, None, None
    if option == "auto" and all(fit.estimable):
        return None, None, None
    reason = "always" if option == "always" else "monotone"
    try:
        ffit = sel.firth(ties=prof.ties, conf_level=prof.conf_level, term_names=term_names)
    except AnalysisError as exc:
        return None, reason, f"the Firth-penalised model could not be fitted: {exc.message}"
    if ffit is None:
        return None, reason, "the Firth-penalised fit is not available in this version"
    return ffit, reason, None


def _univariable(
    spec: StudySpec,
    cohort: Cohort | DerivedCohort,
    rows: Rows,
    ep: str,
    prof: MethodsProfile,
    other: MethodsProfile,
    warn: _Warnings,
) -> tuple[UnivariableResult, list[ProfileDifference]]:
    u = spec.analyses.univariable
    assert u is not None
    pr = spec.analyses.precision
    label = cohort.endpoints[ep].label
    table: list[CoxRow] = []
    diffs: list[ProfileDifference] = []
    n_tests = 0
    tested: list[tuple[list[int], float]] = []  # (row indices showing a factor's p, the p)
    for factor in u.factors:
        design = rows.design(factor.variable, per=factor.per, label=factor.label)
        sel = rows.select(ep, [design], group=design if design.categorical else None)
        n, events = sel.n, sel.events
        fit: engine.CoxFit | None = None
        fit_other: engine.CoxFit | None = None
        note: str | None = None
        if not design.terms:
            note = "only one group has patients; no comparison possible"
        elif events == 0:
            note = "no events among these patients; no model possible"
        else:
            try:
                fit = sel.cox(
                    ties=prof.ties,
                    conf_level=prof.conf_level,
                    term_names=design.terms,
                    ph_test=True,
                    assign=(design.variable,) * len(design.terms),
                    ci=u.ci,
                )
                # same CI method, so that the reconciliation shows the ties' effect only
                fit_other = sel.cox(
                    ties=other.ties,
                    conf_level=other.conf_level,
                    term_names=design.terms,
                    ci=u.ci,
                )
            except AnalysisError as exc:
                note = str(exc)
        if note:
            warn.add(
                "MODEL-NOT-FITTED",
                f"{label}, {design.label}: {note}",
                "univariable",
                endpoint=ep,
                variable=design.variable,
            )
        new = _cox_rows(design, fit, 0, prof.conf_level, n=n, events=events, note=note)
        if fit is not None:
            n_tests += 1
            for w in fit.warnings:
                warn.items.append(
                    StudyWarning.from_stat(
                        w, section="univariable", endpoint=ep, variable=design.variable
                    )
                )
            if design.categorical and len(design.terms) > 1:
                # R's summary reports the likelihood-ratio test; SPSS's COXREG the Wald test.
                overall = fit.wald_p if prof.name == "spss" else fit.lr_p
                new[0] = replace(new[0], overall_p=overall)
            new = _univariable_notes(new, design, fit, sel, pr, warn, ep, label)
            ffit, reason, problem = _firth_fit(u.firth, fit, sel, prof, term_names=design.terms)
            if ffit is not None and reason is not None:
                new = _firth_rows(new, design, ffit, 0, reason)
            elif problem:
                i = next((k for k, r in enumerate(new) if r.term is not None), 0)
                new[i] = replace(new[i], warnings=(*new[i].warnings, problem))
                warn.add(
                    "FIRTH-NOT-FITTED",
                    f"{label}, {design.label}: {problem}",
                    "univariable",
                    endpoint=ep,
                    variable=design.variable,
                )
        if design.categorical and u.logrank and design.codes is not None and design.terms:
            lr = gb = float("nan")
            several = bool(events) and sel.n_groups() > 1
            if several:
                lr = sel.logrank("logrank").p_value
                gb = sel.logrank("gehan-breslow").p_value
            perm = (
                _permutation(
                    u.permutation,
                    u.seed,
                    u.resamples,
                    sel,
                    warn,
                    f"{label}, {design.label}",
                    "univariable",
                    endpoint=ep,
                    variable=design.variable,
                )
                if several
                else None
            )
            new[0] = replace(
                new[0],
                logrank_p=lr,
                breslow_p=gb if prof.name == "spss" else float("nan"),
                permutation=perm,
            )
        if fit is not None and fit_other is not None:
            diffs.extend(
                _hr_differences(
                    "univariable", f"Univariable, {label}", design, 0, fit, fit_other, prof
                )
            )
        if fit is not None:
            base = len(table)
            if design.categorical and len(design.terms) > 1:
                tested.append(([base], new[0].overall_p))
            else:
                idx = [base + k for k, r in enumerate(new) if r.term is not None]
                if idx:
                    tested.append((idx, new[idx[0] - base].p_value))
        table.extend(new)
    if u.adjust != "none" and tested:
        adjusted = engine.adjust_p([p for _i, p in tested], u.adjust)
        for (idx, _p), q in zip(tested, adjusted, strict=True):
            for i in idx:
                table[i] = replace(table[i], adjusted_p=q)
    return (
        UnivariableResult(
            endpoint=ep,
            endpoint_label=label,
            rows=tuple(table),
            ties=prof.ties,
            n_tests=n_tests,
            adjust=u.adjust,
            firth=u.firth,
            ci=u.ci,
            permutation=u.permutation if u.logrank else "never",
            precision=_endpoint_precision(spec, cohort, rows, ep),
            power=pr.power if pr else 0.8,
            alpha=pr.alpha if pr else 0.05,
        ),
        diffs,
    )


def _univariable_notes(
    rows: list[CoxRow],
    design: FactorDesign,
    fit: engine.CoxFit,
    sel: Selection,
    pr: Any,
    warn: _Warnings,
    ep: str,
    label: str,
) -> list[CoxRow]:
    """A factor's PH-test note and, for a binary factor, its detectable HR (Schoenfeld)."""
    out = list(rows)
    ph = fit.ph_p.get(design.variable, float("nan"))
    # the row that shows the factor's p: the level row of a binary factor, else the first
    where = next((k for k, r in enumerate(out) if r.term is not None), 0)
    if len(design.terms) > 1:
        where = 0
    if not all(fit.estimable):
        # a PH test of a fit that ran off to infinity means nothing
        out = [replace(r, ph_p=float("nan")) for r in out]
    elif math.isfinite(ph):
        out = [replace(r, ph_p=ph) if r.kind in ("header", "continuous") else r for r in out]
        if ph < 0.05:
            msg = "the hazard ratio may change over follow-up (PH test p < 0.05)"
            # every row of a continuous factor (the table prints only the per-k one)
            targets = (
                [k for k, r in enumerate(out) if r.kind == "continuous"]
                if design.kind == "continuous"
                else [where]
            )
            for k in targets:
                out[k] = replace(out[k], warnings=(*out[k].warnings, msg))
            warn.add(
                "PH-VIOLATION",
                f"{label}, {design.label}: {msg}",
                "univariable",
                endpoint=ep,
                variable=design.variable,
            )
    if pr is not None and design.categorical and len(design.terms) == 1:
        d = engine.detectable_hr(sel.events, sel.share(), alpha=pr.alpha, power=pr.power)
        out[where] = replace(out[where], detectable_hr=float(d.hr))
    return out


def _hr_differences(
    section: str,
    analysis: str,
    design: FactorDesign,
    offset: int,
    fit: engine.CoxFit,
    fit_other: engine.CoxFit,
    prof: MethodsProfile,
) -> list[ProfileDifference]:
    """HR and p of each term under Efron (standard) and Breslow (spss) ties.

    A continuous factor with ``per: k`` is compared per k units, as the tables print it.
    """
    out = []
    std, sps = (fit, fit_other) if prof.name == "standard" else (fit_other, fit)
    z = engine.z_value(prof.conf_level)
    k = float(design.per) if design.kind == "continuous" and design.per else 1.0
    label = design.label if k == 1 else f"{design.label} (per {_fmt_num(k)} {design.unit or ''})"
    label = label.replace(" )", ")")
    for i in range(len(design.terms)):
        j = offset + i
        lev = design.term_levels[i]
        item = f"{label}: {lev}" if lev is not None else label

        def hr(f: engine.CoxFit, j: int = j) -> tuple[float, float, float]:
            if k == 1:
                return float(f.hr[j]), float(f.lower[j]), float(f.upper[j])
            b, se = float(f.coef[j]), float(f.se[j])
            return _exp(k * b), _exp(k * (b - z * se)), _exp(k * (b + z * se))

        (a, alo, ahi), (b_, blo, bhi) = hr(std), hr(sps)
        common: dict[str, Any] = {
            "section": section,
            "analysis": analysis,
            "item": item,
            "standard_method": "Efron ties",
            "spss_method": "Breslow ties",
        }
        out.append(
            ProfileDifference(
                quantity="HR (95% CI)",
                kind="hr",
                standard=a,
                standard_lower=alo,
                standard_upper=ahi,
                spss=b_,
                spss_lower=blo,
                spss_upper=bhi,
                **common,
            )
        )
        out.append(
            ProfileDifference(quantity="p", kind="p", standard=std.p[j], spss=sps.p[j], **common)
        )
    return out


def _multivariable(
    cohort: Cohort | DerivedCohort,
    rows: Rows,
    m: Any,
    prof: MethodsProfile,
    other: MethodsProfile,
    warn: _Warnings,
) -> tuple[ModelResult, list[ProfileDifference]]:
    label = cohort.endpoints[m.endpoint].label
    designs = [rows.design(f.variable, per=f.per, label=f.label) for f in m.covariates]
    strata = []
    for s in m.strata:
        sd = rows.design(s)
        if sd.codes is None:
            raise SpecError(
                f"model '{m.name}': stratum '{s}' must be categorical",
                key="analyses.multivariable",
            )
        strata.append(sd)
    sel = rows.select(m.endpoint, designs, strata=strata)
    n, events = sel.n, sel.events
    n_dropped = rows.n_known(m.endpoint) - n
    p = sum(len(d.terms) for d in designs)
    terms = tuple(t for d in designs for t in d.terms)
    assign = tuple(d.variable for d in designs for _t in d.terms)
    notes: list[str] = []
    epv = events / p if p else float("nan")
    try:
        fit = sel.cox(
            ties=prof.ties,
            conf_level=prof.conf_level,
            ph_test=True,
            concordance=True,
            term_names=terms,
            assign=assign,
            ci=m.ci,
        )
        fit_other = sel.cox(
            ties=other.ties,
            conf_level=other.conf_level,
            term_names=terms,
            ci=m.ci,
        )
    except AnalysisError as exc:
        # The rest of the report is still worth having: the model becomes a
        # "not estimable" table with the reason, the run goes on.
        model = _model_not_fitted(m, label, designs, n, events, n_dropped, p, epv, exc, warn)
        return replace(model, ties=prof.ties), []
    for w in fit.warnings:
        warn.items.append(
            StudyWarning.from_stat(w, section="multivariable", endpoint=m.endpoint, model=m.name)
        )
    if p and epv < MIN_EPV:
        notes.append(
            warn.add(
                "LOW-EPV",
                f"{m.name}: {events} events for {p} model parameters ({epv:.1f} events per "
                f"variable, fewer than {MIN_EPV}); the estimates may be unstable and "
                "overfitted",
                "multivariable",
                endpoint=m.endpoint,
                model=m.name,
            )
        )
    if not all(fit.estimable):
        # the PH test of a fit with a term running off to infinity means nothing
        fit = replace(
            fit, ph_p={}, ph_global_chisq=float("nan"), ph_global_df=0, ph_global_p=float("nan")
        )
    if math.isfinite(fit.ph_global_p) and fit.ph_global_p < 0.05:
        notes.append(
            warn.add(
                "PH-VIOLATION",
                f"{m.name}: the global proportional-hazards test is significant (p < 0.05): "
                "some hazard ratios may change over follow-up",
                "multivariable",
                endpoint=m.endpoint,
                model=m.name,
            )
        )
    if n_dropped:
        notes.append(
            warn.add(
                "ROWS-DROPPED",
                f"{m.name}: {n_dropped} patient{'s' if n_dropped != 1 else ''} with a missing "
                "covariate left out (complete-case analysis)",
                "multivariable",
                endpoint=m.endpoint,
                model=m.name,
            )
        )
    ffit, freason, fproblem = _firth_fit(m.firth, fit, sel, prof, term_names=terms)
    if fproblem:
        notes.append(
            warn.add(
                "FIRTH-NOT-FITTED",
                f"{m.name}: {fproblem}",
                "multivariable",
                endpoint=m.endpoint,
                model=m.name,
            )
        )
    table: list[CoxRow] = []
    diffs: list[ProfileDifference] = []
    offset = 0
    for d in designs:
        new = _cox_rows(d, fit, offset, prof.conf_level, n=None, events=None)
        if ffit is not None and freason is not None:
            new = _firth_rows(new, d, ffit, offset, freason)
        for i, r in enumerate(new):
            if r.kind in ("header", "continuous") and math.isfinite(r.ph_p) and r.ph_p < 0.05:
                new[i] = replace(
                    r,
                    warnings=(
                        *r.warnings,
                        "the hazard ratio may change over follow-up (PH test p < 0.05)",
                    ),
                )
        table.extend(new)
        diffs.extend(_hr_differences("multivariable", m.name, d, offset, fit, fit_other, prof))
        offset += len(d.terms)
    model = ModelResult(
        name=m.name,
        endpoint=m.endpoint,
        endpoint_label=label,
        ties=prof.ties,
        rows=tuple(table),
        n=n,
        events=events,
        n_dropped=n_dropped,
        n_parameters=p,
        events_per_variable=epv,
        concordance=fit.concordance,
        concordance_se=fit.concordance_se,
        lr_statistic=fit.lr_statistic,
        lr_df=fit.lr_df,
        lr_p=fit.lr_p,
        ph_global_chisq=fit.ph_global_chisq,
        ph_global_df=fit.ph_global_df,
        ph_global_p=fit.ph_global_p,
        strata=tuple(m.strata),
        warnings=tuple(notes),
        firth=freason if ffit is not None else None,
        firth_lr_statistic=ffit.lr_statistic if ffit is not None else float("nan"),
        firth_lr_df=ffit.lr_df if ffit is not None else 0,
        firth_lr_p=ffit.lr_p if ffit is not None else float("nan"),
        ci=m.ci,
    )
    return model, diffs


def _model_not_fitted(
    m: Any,
    label: str,
    designs: list[FactorDesign],
    n: int,
    events: int,
    n_dropped: int,
    p: int,
    epv: float,
    exc: AnalysisError,
    warn: _Warnings,
) -> ModelResult:
    """A multivariable model that cannot be fitted: its rows "not estimable", the reason noted."""
    reason = exc.message
    msg = warn.add(
        "MODEL-NOT-FITTED",
        f"{m.name} ({label}, {n} patients, {events} events) could not be fitted: {reason}",
        "multivariable",
        endpoint=m.endpoint,
        model=m.name,
    )
    notes = [msg]
    if p and events and epv < MIN_EPV:
        notes.append(
            warn.add(
                "LOW-EPV",
                f"{m.name}: {events} events for {p} model parameters ({epv:.1f} events per "
                f"variable, fewer than {MIN_EPV}); the estimates may be unstable and "
                "overfitted",
                "multivariable",
                endpoint=m.endpoint,
                model=m.name,
            )
        )
    rows: list[CoxRow] = []
    for d in designs:
        rows.extend(_cox_rows(d, None, 0, 0.95, n=None, events=None))
    nan = float("nan")
    return ModelResult(
        name=m.name,
        endpoint=m.endpoint,
        endpoint_label=label,
        ties="efron",
        rows=tuple(rows),
        n=n,
        events=events,
        n_dropped=n_dropped,
        n_parameters=p,
        events_per_variable=epv,
        concordance=nan,
        concordance_se=nan,
        lr_statistic=nan,
        lr_df=0,
        lr_p=nan,
        ph_global_chisq=nan,
        ph_global_df=0,
        ph_global_p=nan,
        strata=tuple(m.strata),
        warnings=tuple(notes),
        estimable=False,
        reason=reason,
    )


# --------------------------------------------------------------------------- permutation


def _permutation(
    option: str,
    seed: int,
    n_resamples: int,
    sel: Selection,
    warn: _Warnings,
    what: str,
    section: str,
    **where: Any,
) -> PermutationTest | None:
    """The permutation log-rank p of one comparison, as the spec's option asks.

    ``auto`` runs it only when a group expects fewer than 5 events
    (:func:`survstudy.stats.exact.logrank_small_sample`); a failure is a warning, the
    chi-square p stays.
    """
    try:
        res = sel.permutation(option, seed, n_resamples)
    except AnalysisError as exc:
        warn.add(
            "PERMUTATION-NOT-COMPUTED",
            f"{what}: the permutation log-rank p could not be computed: {exc.message}",
            section,
            **where,
        )
        return None
    if res is None:
        return None
    mc = res.method == "monte-carlo"
    return PermutationTest(
        method=str(res.method),
        statistic=float(res.statistic),
        p_value=float(res.p_value),
        option=option,
        reason=str(res.reason),
        p_lower=float(res.p_lower) if mc and res.p_lower is not None else float("nan"),
        p_upper=float(res.p_upper) if mc and res.p_upper is not None else float("nan"),
        n_resamples=int(res.n_resamples) if mc and res.n_resamples is not None else None,
        seed=int(res.seed) if mc and res.seed is not None else None,
    )


# --------------------------------------------------------------------------- KM figures


def nice_step(max_time: float, unit: str) -> float:
    """A tick spacing giving at most 8 intervals on [0, max_time], in the unit's habits."""
    steps = {
        "days": (1, 2, 5, 7, 14, 30, 60, 90, 180, 365, 730, 1825, 3650),
        "weeks": (1, 2, 4, 8, 13, 26, 52, 104, 260, 520),
        "months": (1, 2, 3, 6, 12, 24, 36, 48, 60, 120, 240),
        "years": (0.5, 1, 2, 5, 10, 20, 50),
    }[unit]
    for s in steps:
        if max_time / s <= 8:
            return float(s)
    return float(steps[-1] * math.ceil(max_time / (8 * steps[-1])))


def _km_figure(
    spec: StudySpec,
    cohort: Cohort | DerivedCohort,
    rows: Rows,
    k: Any,
    prof: MethodsProfile,
    warn: _Warnings,
) -> KMCurves:
    _check_endpoint(spec, cohort, k.endpoint, ("analyses", "km"))
    dpu = cohort.days_per_unit
    ep_label = cohort.endpoints[k.endpoint].label
    longest = rows.max_time(k.endpoint)
    t_max = longest / dpu if longest is not None else 1.0
    max_time = float(k.max_time) if k.max_time else t_max
    step = float(k.breaks) if k.breaks else nice_step(max_time, cohort.unit)
    ticks = tuple(float(x) for x in np.arange(0.0, max_time + 1e-9 * max(step, 1.0), step))
    by_label = None
    d: FactorDesign | None = None
    if k.by:
        d = rows.design(k.by)
        if d.codes is None:
            raise SpecError(
                f"KM figure 'by: {k.by}' must be a categorical or binary variable",
                key="analyses.km",
            )
        by_label = d.label
    curves = []
    for lev, km, n_group, events_group in rows.km_groups(
        k.endpoint, d, conf_type=prof.conf_type, conf_level=prof.conf_level
    ):
        curve = engine.step_curve(km)
        n_risk = engine.n_risk_at(km, [tick * dpu for tick in ticks])
        med = _median(km, prof.median_rule, dpu, prof.conf_level)
        curves.append(
            CurveGroup(
                level=lev,
                n=n_group,
                events=events_group,
                time=tuple(float(x) / dpu for x in curve["time"]),
                survival=tuple(float(x) for x in curve["survival"]),
                lower=tuple(float(x) for x in curve["lower"]),
                upper=tuple(float(x) for x in curve["upper"]),
                censor_time=tuple(float(x) / dpu for x in curve["censor_time"]),
                censor_survival=tuple(float(x) for x in curve["censor_survival"]),
                n_risk_at=n_risk,
                median=med,
            )
        )
    tests: list[GroupTest] = []
    perm: PermutationTest | None = None
    if d is not None and len(curves) > 1:
        sel = rows.select(k.endpoint, [], group=d)
        if sel.events > 0:
            for weights, label in prof.tests:
                g = sel.logrank(weights)
                tests.append(replace(g, label=label))
            if sel.n_groups() > 1:
                perm = _permutation(
                    k.permutation,
                    k.seed,
                    k.resamples,
                    sel,
                    warn,
                    f"{ep_label} by {by_label}",
                    "km",
                    endpoint=k.endpoint,
                    variable=k.by,
                )
    key = f"km_{k.endpoint}" + (f"_by_{k.by}" if k.by else "")
    return KMCurves(
        key=key,
        endpoint=k.endpoint,
        endpoint_label=ep_label,
        by=k.by,
        by_label=by_label,
        groups=tuple(curves),
        ticks=ticks,
        max_time=max_time,
        time_unit=cohort.unit,
        ci=bool(k.ci),
        risk_table=bool(k.risk_table),
        title=k.title,
        tests=tuple(tests),
        permutation=perm,
    )


# --------------------------------------------------------------------------- methods


def _methods(
    spec: StudySpec,
    cohort: Cohort | DerivedCohort,
    prof: MethodsProfile,
    versions: dict[str, str],
) -> dict[str, Any]:
    """Facts for the Statistical analysis paragraph (the report words them).

    ``sentences`` are complete sentences on what the spec asked for (endpoint
    definitions, Table 1 summaries, HR scaling, multiplicity) for the report to
    append to its paragraph.
    """
    a = spec.analyses
    sentences: list[str] = []
    used = set()
    if a.survival:
        used |= set(a.survival.endpoints)
    if a.univariable:
        used |= set(a.univariable.endpoints)
    used |= {m.endpoint for m in a.multivariable} | {k.endpoint for k in a.km}
    for name, ep in cohort.endpoints.items():
        if name in used and ep.definition:
            sentences.append(ep.definition)
    if a.table1:
        summary = {
            "median-range": "medians (ranges)",
            "median-iqr": "medians (interquartile ranges)",
            "mean-sd": "means (standard deviations)",
        }[a.table1.continuous]
        sentences.append(
            f"Categorical variables are given as counts (percentages) of the patients to "
            f"whom each variable applies, continuous variables as {summary}"
            + (
                "; quartiles as SPSS computes them (weighted average)"
                if prof.name == "spss" and a.table1.continuous == "median-iqr"
                else ""
            )
            + "."
        )
    scaled = [
        f for f in [*(a.univariable.factors if a.univariable else [])] if f.per and f.per != 1
    ]
    if scaled:
        sentences.append(
            "Hazard ratios of continuous factors are per unit unless stated (for example "
            f"per {_fmt_num(float(scaled[0].per or 1))} {spec.variables[scaled[0].variable].unit or 'units'}"
            " for "
            f"{spec.label_of(scaled[0].variable).lower()}), computed as exp(k·β)."
        )
    if a.multivariable:
        sentences.append(
            "Multivariable models were fitted to complete cases; the number of events per "
            "model parameter, Harrell's concordance and the global proportional-hazards test "
            "are reported with each model."
        )
    firth = {a.univariable.firth} if a.univariable else set()
    firth |= {m.firth for m in a.multivariable}
    if "always" in firth:
        sentences.append(
            "Firth-penalised Cox models (Heinze and Schemper 2001) were fitted as well, with "
            "confidence intervals and p-values from the profile penalised likelihood."
        )
    elif "auto" in firth and (a.univariable or a.multivariable):
        sentences.append(
            "Where a hazard ratio could not be estimated because the partial likelihood "
            "increased without bound (monotone likelihood, e.g. no events in one group), the "
            "Firth-penalised estimate (Heinze and Schemper 2001) is reported, with its "
            "confidence interval and p-value from the profile penalised likelihood."
        )
    cis = {a.univariable.ci} if a.univariable else set()
    cis |= {m.ci for m in a.multivariable}
    if cis:
        pct = f"{_fmt_num(round(prof.conf_level * 100, 1))}%"
        if cis == {"profile"}:
            sentences.append(
                f"The {pct} confidence intervals of the Cox hazard ratios were computed from "
                "the profile likelihood (Venzon and Moolgavkar 1988), which behaves better "
                "than the Wald interval with few events; p-values are from Wald tests."
            )
        elif cis == {"wald"}:
            sentences.append(
                f"The {pct} confidence intervals of the Cox hazard ratios are Wald intervals, "
                f"exp(β ± {_fmt_num(round(engine.z_value(prof.conf_level), 2))} × SE)."
            )
        else:
            where = [
                *(
                    ["the univariable analyses"]
                    if a.univariable and a.univariable.ci == "profile"
                    else []
                ),
                *(f"the model {m.name}" for m in a.multivariable if m.ci == "profile"),
            ]
            sentences.append(
                f"The {pct} confidence intervals of the Cox hazard ratios were computed from "
                f"the profile likelihood (Venzon and Moolgavkar 1988) for {', '.join(where)} "
                "and are Wald intervals elsewhere; p-values are from Wald tests."
            )
    perm_options = {
        *([a.univariable.permutation] if a.univariable and a.univariable.logrank else []),
        *(k.permutation for k in a.km if k.by),
    } - {"never"}
    if perm_options:
        when = (
            "where a group expected fewer than 5 events"
            if perm_options == {"auto"}
            else "where a group expected fewer than 5 events, or where the analysis asked for it"
            if "auto" in perm_options
            else "for every comparison"
        )
        sentences.append(
            f"{when[:1].upper()}{when[1:]}, the log-rank p from the chi-square approximation is "
            "accompanied by the exact permutation p (all assignments of the group labels "
            "enumerated, conditional on the observed times; Heimann and Neuhaus 1998) or, when "
            "enumeration is too large, a Monte-Carlo permutation p from seeded random "
            "permutations with its 95% Clopper–Pearson interval."
        )
    if a.precision is not None and (a.survival or a.univariable):
        sentences.append(
            "For each endpoint, the smallest hazard ratio detectable with "
            f"{_fmt_num(round(a.precision.power * 100, 1))}% power at a two-sided "
            f"significance level of {_fmt_num(a.precision.alpha)} was computed from the "
            "observed number of events by Schoenfeld's formula (two equal groups; for "
            "two-group factors, their observed group sizes)."
        )
    adjust = a.univariable.adjust if a.univariable else "none"
    adjusted = {
        "none": "without adjustment for multiple testing",
        "holm": "univariable p-values were also adjusted for the number of factors tested "
        "by Holm's method",
        "bh": "univariable p-values were also adjusted for the number of factors tested "
        "by the Benjamini–Hochberg method (false discovery rate)",
    }[adjust]
    sentences.append(
        f"Durations were computed in days and are reported in {cohort.unit}"
        + (f" (1 month = {cohort.days_per_unit:g} days)" if cohort.unit == "months" else "")
        + f"; two-sided p < 0.05 was considered statistically significant, {adjusted}."
    )
    return {
        "sentences": sentences,
        "profile": prof.name,
        "software": f"survstudy {versions.get('survstudy', '')} (Python "
        f"{versions.get('python', '')}, NumPy {versions.get('numpy', '')}, SciPy "
        f"{versions.get('scipy', '')})",
        "km_ci": f"{prof.conf_type} pointwise confidence intervals (Greenwood variance)",
        "conf_level": prof.conf_level,
        "median_rule": prof.median_rule,
        "ties": prof.ties,
        "tests": ["log-rank"]
        if prof.name == "standard"
        else ["log-rank (Mantel–Cox)", "Breslow (generalized Wilcoxon)"],
        "followup": "reverse Kaplan–Meier",
        "cox_ci": sorted(cis),
        "permutation": sorted(perm_options),
        "continuous_summary": a.table1.continuous if a.table1 else None,
        "time_unit": cohort.unit,
        "days_per_unit": cohort.days_per_unit,
        "endpoints": {n: e.definition for n, e in cohort.endpoints.items()},
        "platform": platform.python_implementation(),
    }

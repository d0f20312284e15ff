"""``run_study(spec, cohort) -> StudyResults``: the spec's analyses, computed.

This module only orchestrates. It makes the run's
:class:`~survstudy.pipeline.context.StudyContext` (spec, cohort, the
:class:`~survstudy.pipeline.rows.Rows` giving each analysis its patients — in
memory, or read by a data engine — both methods profiles and the warnings
collector), calls each analysis module in turn and assembles
:class:`~survstudy.pipeline.results.StudyResults`. Nothing is estimated here.
Both methods profiles are computed (they are cheap): the chosen one fills the
tables, the other feeds the reconciliation table.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from survstudy._parallel import Beside, jobs_for
from survstudy.data import Cohort
from survstudy.data.plan import analysis_uses
from survstudy.data.registry import DerivedCohort
from survstudy.errors import AnalysisError, SpecError
from survstudy.pipeline import engine
from survstudy.pipeline.context import Progress, StudyContext, Warnings
from survstudy.pipeline.km_figures import km_figures
from survstudy.pipeline.landmark import landmarks
from survstudy.pipeline.methods import methods_facts
from survstudy.pipeline.multivariable import multivariable_models
from survstudy.pipeline.profiles import get_profile
from survstudy.pipeline.results import (
    LandmarkResult,
    ProfileDifference,
    Provenance,
    StudyResults,
    TreatmentEffect,
)
from survstudy.pipeline.rows import MemoryRows, Rows
from survstudy.pipeline.rows_engine import EngineRows
from survstudy.pipeline.survival import endpoint_warnings, survival_summaries
from survstudy.pipeline.table1 import table1_result
from survstudy.pipeline.treatment_effect import treatment_effect_analyses
from survstudy.pipeline.univariable import univariable_tables
from survstudy.spec import StudySpec

__all__ = ["Progress", "run_study"]


def _noop(_what: str, _i: int, _n: int) -> None:
    return None


def run_study(
    spec: StudySpec,
    cohort: Cohort | DerivedCohort,
    *,
    profile: str | None = None,
    progress: Progress | None = None,
    data_engine: Any = None,
    jobs: int | None = None,
) -> StudyResults:
    """Compute every analysis the spec's ``analyses`` section asks for.

    ``cohort`` is an in-memory :class:`~survstudy.data.Cohort`, or a registry
    cohort (:class:`~survstudy.pipeline.registry.DerivedCohort`) whose rows
    ``data_engine`` (a DuckDB or Spark engine from
    :func:`survstudy.engines.get_engine`) reads where they are.
    ``profile`` overrides ``analyses.methods`` (``standard`` or ``spss``).
    ``progress`` is called before each step. Statistical warnings are collected
    on the result (and on the rows they concern); user-fixable problems raise
    :class:`~survstudy.errors.SpecError` or :class:`~survstudy.errors.AnalysisError`.
    ``jobs``: processes to compute in (:func:`survstudy._parallel.jobs_for`: by default 2
    in the command line's own process on a machine with two CPUs, else 1); the results
    are the same whatever the number.
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
    jobs = jobs_for(jobs)
    ctx = StudyContext(spec, cohort, rows, prof, other, Warnings(), jobs=jobs)
    total = 5 + bool(a.treatment_effect) + bool(a.landmark)

    # Table 1 and the univariable tables share only their inputs with the survival
    # summaries and the multivariable models: with two jobs they are computed in a second
    # process meanwhile (rows in memory only: a data engine's connection does not cross a
    # fork). Either way the warnings the univariable tables add are recorded and added
    # again in the order of a run one after the other: theirs after the survival
    # summaries', before the multivariable models'. On an error, the error a run one
    # after the other meets first is raised.
    def side_work() -> tuple[Any, dict[str, Any], list[ProfileDifference], Any]:
        t1 = table1_result(spec, cohort, rows.table1(spec, prof)) if a.table1 else None
        uctx = replace(ctx, warn=Warnings())
        with uctx.warn.recording() as log:
            uni, udiffs = univariable_tables(uctx)
        return t1, uni, udiffs, log

    side = Beside(
        side_work,
        run=ctx.in_memory and bool(a.multivariable) and jobs > 1,
    )

    report("Table 1", 1, total)
    report("survival summaries", 2, total)
    recon: list[ProfileDifference] = []
    try:
        endpoint_warnings(ctx)
        endpoints, sdiffs = survival_summaries(ctx)
    except BaseException as exc:
        side.cancel()
        if a.table1 and isinstance(exc, Exception):
            table1_result(spec, cohort, rows.table1(spec, prof))  # Table 1's error first
        raise
    recon.extend(sdiffs)

    report("univariable models", 3, total)
    if not side.forked:
        table1, univariable, udiffs, ulog = side.result()
        ctx.warn.replay(ulog)
    before = list(ctx.warn.items)

    report("multivariable models", 4, total)
    with ctx.warn.recording() as mlog:
        try:
            models, mdiffs = multivariable_models(ctx)
        except BaseException as exc:
            if not isinstance(exc, Exception):
                side.cancel()  # interrupted: nothing more is computed
            elif side.forked:
                side.result()  # Table 1's or the univariable tables' error first
            raise
    if side.forked:
        table1, univariable, udiffs, ulog = side.result()
        ctx.warn.items[:] = before
        ctx.warn.replay(ulog)
        ctx.warn.replay(mlog)
    recon.extend(udiffs)
    recon.extend(mdiffs)

    report("Kaplan–Meier curves", 5, total)
    km = km_figures(ctx)

    treatment: tuple[TreatmentEffect, ...] = ()
    if a.treatment_effect:
        report("treatment comparisons (propensity scores)", 6, total)
        treatment = treatment_effect_analyses(ctx)
    landmark_results: tuple[LandmarkResult, ...] = ()
    if a.landmark:
        report("landmark analyses", total, total)
        landmark_results = landmarks(ctx)

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
        landmark=landmark_results,
        reconciliation=tuple(recon),
        warnings=tuple(ctx.warn.items),
        treatment_effect=treatment,
        provenance=prov,
        methods=methods_facts(
            spec,
            cohort,
            prof,
            versions,
            models,
            tuple(univariable.values()),
            applied_methods={
                "firth": any(r.firth is not None for u in univariable.values() for r in u.rows)
                or any(m.firth is not None for m in models),
                "permutation": any(
                    r.permutation is not None for u in univariable.values() for r in u.rows
                )
                or any(k.permutation is not None for k in km),
            },
        ),
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
    small-sample methods computed on the patients' rows (and so are a propensity-score
    treatment comparison and the covariate transforms: log, restricted cubic spline); with
    a data engine the runner has per-time sums only. So are Fine–Gray models
    (``model: fine-gray``, and the subdistribution HRs of a univariable analysis of an
    endpoint with competing events); the cumulative incidence and Gray's test come from
    per-time counts by status. Their ``auto`` settings stay allowed: where one
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
    if a.univariable:
        for j, f in enumerate(a.univariable.factors):
            if f.transform is not None:
                asks.append(
                    (f"transform: {f.transform}", ("analyses", "univariable", "factors", j))
                )
    for i, m in enumerate(a.multivariable):
        for j, f in enumerate(m.covariates):
            if f.transform is not None:
                asks.append(
                    (
                        f"transform: {f.transform}",
                        ("analyses", "multivariable", i, "covariates", j),
                    )
                )
        if m.firth == "always":
            asks.append(("firth: always", ("analyses", "multivariable", i, "firth")))
        if m.ci == "profile":
            asks.append(("ci: profile", ("analyses", "multivariable", i, "ci")))
    for i, k in enumerate(a.km):
        if k.by and k.permutation in ("exact", "monte-carlo"):
            asks.append((f"permutation: {k.permutation}", ("analyses", "km", i, "permutation")))
    # Fine–Gray fits need the rows (the cumulative incidence and Gray's test come from
    # per-time counts by status; cause-specific Cox models from the Cox sums)
    if a.univariable:
        for ep in a.univariable.endpoints:
            e = spec.endpoints.get(ep)
            if e is not None and (
                e.competing or (e.event_codes is not None and e.event_codes.competing)
            ):
                asks.append(
                    (
                        f"the subdistribution HR (Fine–Gray) of the univariable analysis of "
                        f"'{ep}', an endpoint with competing events,",
                        ("analyses", "univariable", "endpoints"),
                    )
                )
    for i, m in enumerate(a.multivariable):
        if m.model == "fine-gray":
            asks.append(("model: fine-gray", ("analyses", "multivariable", i, "model")))
    # split follow-up and landmarks are computed on the patients' rows (issue 19)
    if a.landmark:
        asks.append(("landmark", ("analyses", "landmark")))
    for vname, _ep in analysis_uses(spec):
        var = spec.variables.get(vname)
        if var is not None and var.time_dependent is not None:
            asks.append(("time_dependent", ("variables", vname, "time_dependent")))
    if a.treatment_effect:
        # propensity model, weights or matches and robust variances need every patient's row
        asks.append(("treatment_effect", ("analyses", "treatment_effect")))
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

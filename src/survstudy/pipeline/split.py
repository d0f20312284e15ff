"""Exposures that start after time zero: time-dependent variables and landmark analyses.

A binary variable declared ``time_dependent: {from: DATE}`` is 0 before the date and 1
from it. For an endpoint that starts at a date, the cohort holds the days from the
start to the exposure (:func:`survstudy.data.plan.exposure_column`); this module turns
them into

* split follow-up for Cox models and log-rank tests (:func:`select`): each patient's
  ``(0, T]`` is cut at the exposure as R's ``tmerge(..., tdc(t_exposure))`` does, so
  the model is ``coxph(Surv(start, stop, event) ~ ...)`` (Therneau & Grambsch 2000,
  sec. 3.7) and the two-group log-rank on the split rows is the Mantel–Byar test
  (Mantel & Byar 1974);
* Simon–Makuch curves for a KM figure by the variable (:func:`exposure` with
  :meth:`~survstudy.pipeline.rows.Rows.km_groups_split`; Simon & Makuch 1984);
* the status at a landmark (:mod:`.landmark`).

The statistics are :mod:`survstudy.stats` (``tdc_split``, ``kaplan_meier(start=)``,
``logrank_test(start=)``, ``cox_fit(start=)``); data engines are refused before the
run (:func:`survstudy.pipeline.run._check_engine_options`).
"""

from __future__ import annotations

from survstudy.data.plan import exposure_column
from survstudy.pipeline.context import StudyContext
from survstudy.pipeline.design import FactorDesign
from survstudy.pipeline.rows import Exposure, Selection
from survstudy.pipeline.selection import Measured
from survstudy.spec.model import DEFAULT_TRUE, VariableSpec

__all__ = ["MANTEL_BYAR", "exposed_level", "exposure", "select", "time_dependent_note"]

#: The group test of a time-dependent group: log-rank weights on the split rows.
MANTEL_BYAR: tuple[tuple[str, str], ...] = (("logrank", "Mantel–Byar"),)


def exposed_level(var: VariableSpec) -> str:
    """The level of a time-dependent binary that means exposed: the one its ``true``
    values map to (``Yes`` by default), else the level that is not the reference."""
    truthy = {str(v).casefold() for v in DEFAULT_TRUE} | {"true"}
    for level, values in var.level_map().items():
        if any(str(v).casefold() in truthy for v in values):
            return level
    names = var.level_names()
    ref = var.reference_level()
    return next((n for n in names if n != ref), names[0])


def exposure(ctx: StudyContext, ep: str, variable: str | None) -> Exposure | None:
    """The exposure times of time-dependent ``variable`` for endpoint ``ep`` (``None``:
    not a time-dependent variable)."""
    if variable is None:
        return None
    var = ctx.spec.variables.get(variable)
    if var is None or var.time_dependent is None or var.time_dependent.from_ is None:
        return None
    days = ctx.rows.exposure_days(exposure_column(variable, ep))
    return Exposure(days=days, level=exposed_level(var))


def select(
    ctx: StudyContext,
    ep: str,
    designs: list[FactorDesign],
    *,
    strata: list[FactorDesign] | None = None,
    group: FactorDesign | None = None,
) -> tuple[Selection, tuple[str, ...]]:
    """The rows of one analysis, on split follow-up when a factor (or the group) is
    time-dependent: (selection, the time-dependent variables' names)."""
    for sd in strata or []:
        sv = ctx.spec.variables.get(sd.variable)
        if sv is not None and sv.time_dependent is not None:
            raise ctx.spec_error(
                f"'{sd.variable}' is time-dependent and cannot be a stratum; use it as a covariate",
                "analyses",
                "multivariable",
            )
    used = [d.variable for d in designs] + ([group.variable] if group is not None else [])
    exposures = {}
    measured: dict[str, Measured] = {}
    for v in dict.fromkeys(used):
        x = exposure(ctx, ep, v)
        if x is not None:
            exposures[v] = x
        var = ctx.spec.variables.get(v)
        if var is not None and var.time_dependent is not None and var.time_dependent.date:
            m = ctx.rows.measured(v, ep)
            if m is None:  # the checks require a start date; a cohort without the table
                raise ctx.spec_error(
                    f"'{v}' is time-dependent: endpoint '{ep}' needs a start date",
                    "variables",
                    v,
                    "time_dependent",
                )
            measured[v] = m
    for d in designs:
        if d.variable in measured and d.transform is not None:
            raise ctx.spec_error(
                f"'{d.variable}' is a time-dependent measured value: transform: "
                f"{d.transform} is not available for it (derive the transformed value in "
                "the table of measurements instead)",
                "analyses",
                code="SPEC-TRANSFORM-TIME-DEPENDENT",
            )
    if not exposures and not measured:
        return ctx.rows.select(ep, designs, strata=strata, group=group), ()
    sel = ctx.rows.select_split(
        ep, designs, exposures, strata=strata, group=group, measured=measured
    )
    return sel, tuple(v for v in dict.fromkeys(used) if v in exposures or v in measured)


def time_dependent_note(ctx: StudyContext, variable: str) -> str:
    """The note next to a time-dependent factor's hazard ratio."""
    var = ctx.spec.variables[variable]
    assert var.time_dependent is not None
    if var.time_dependent.from_ is None:
        return (
            "time-dependent: each measurement holds from its date until the next (follow-up "
            "split at the measurement dates)"
        )
    date = ctx.spec.label_of(var.time_dependent.from_).lower()
    return f"time-dependent: {exposed_level(var)} from {date} on (follow-up split at the date)"

"""Table models of a study run: survival summary, univariable, multivariable, reconciliation.

Builders take :class:`~survstudy.pipeline.StudyResults` and return table models;
every number is printed through :mod:`survstudy.tables.format` (the one
formatting module), nothing is computed here. Table 1 comes from
:func:`survstudy.tables.model.table1_model`.

Warnings are shown next to the number they concern: in a "Note" column of the
regression tables, and as lettered footnotes in the survival summary (whose
columns are endpoints).
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from decimal import Decimal
from typing import Any

from survstudy.pipeline.results import (
    CIFPoint,
    CoxRow,
    EndpointSummary,
    KMCurves,
    Median,
    ModelResult,
    PermutationTest,
    PhSensitivity,
    ProfileDifference,
    StudyResults,
    UnivariableResult,
)
from survstudy.tables import format as fmt
from survstudy.tables.landmark import landmark_table
from survstudy.tables.model import Column, Note, Row, Table1Options, TableModel, table1_model
from survstudy.tables.treatment import treatment_tables

__all__ = [
    "hr_text",
    "km_group_table",
    "multivariable_key",
    "multivariable_table",
    "reconciliation_table",
    "results_document",
    "row_label",
    "sensitivity_table",
    "study_tables",
    "survival_table",
    "table1_table",
    "univariable_table",
]


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _unit(unit: str, value: float) -> str:
    """'months' -> '12-month'; used for landmark labels."""
    singular = unit[:-1] if unit.endswith("s") else unit
    return f"{_num(value)}-{singular}"


def _median_text(m: Median) -> str:
    if not m.reached:
        return fmt.not_reached()
    return fmt.estimate_ci(m.estimate, m.lower, m.upper, digits=1)


# --------------------------------------------------------------------------- Table 1


def table1_table(results: StudyResults) -> TableModel | None:
    """Table 1 of the analysed population (the tables package's builder)."""
    if results.table1 is None:
        return None
    options = Table1Options.seed() if results.table1.style == "seed" else None
    model = table1_model(
        results.table1, title="Table 1. Characteristics of the patients", options=options
    )
    eps = set(results.table1.endpoint_times)
    if eps:
        # naive summaries of censored times mix event and censoring times (issue 22 item 7)
        rows = [
            replace(r, footnote_markers=(*r.footnote_markers, "†"))
            if r.variable in eps and r.cells.get("variable")
            else r
            for r in model.rows
        ]
        note = (
            "† Observed times of censored and uncensored patients; not survival estimates "
            "(see the Kaplan–Meier estimates)."
        )
        model = replace(model, rows=rows, footnotes=(*model.footnotes, note))
    td = results.table1.time_dependent
    notes = list(model.footnotes)
    if td:
        what = "; ".join(f"{label} (from the {date})" for label, date in td)
        notes.append(
            f"Time-dependent: {what}: the status at the end of follow-up; the analyses use the "
            "status at each time (follow-up split at the date)."
        )
    measured = results.table1.measured
    if measured:
        what = "; ".join(f"{label}: {shown}" for label, shown in measured)
        notes.append(
            f"Measured during follow-up: {what}; the analyses use the value at each time "
            "(follow-up split at the measurement dates)."
        )
    return replace(model, footnotes=tuple(notes)) if notes != list(model.footnotes) else model


# --------------------------------------------------------------------------- survival


def survival_table(results: StudyResults, number: int = 2) -> TableModel | None:
    """Survival summary (``Table {number}``): one column per endpoint, one row per statistic.

    Warnings (median not reached, few patients at risk at a landmark) are notes on
    the cell they concern.
    """
    if not results.endpoints:
        return None
    eps: list[EndpointSummary] = list(results.endpoints.values())
    unit = results.time_unit
    spss = results.profile.median_rule == "spss"
    # whole percentages for small series (as the seed reports them), one decimal from n = 100
    pct_digits = 1 if min(ep.n for ep in eps) >= 100 else 0
    columns = [Column("statistic", "")] + [Column(ep.name, ep.label) for ep in eps]
    rows: list[Row] = []
    notes: list[Note] = []

    def row(label: str, cells: dict[str, str]) -> int:
        rows.append(Row(kind="summary", cells={"statistic": label, **cells}))
        return len(rows) - 1

    row("Patients, n", {ep.name: fmt.count(ep.n) for ep in eps})
    i = row(
        "Events, n (%)",
        {ep.name: fmt.count_percent(ep.events, 100.0 * ep.events / ep.n) for ep in eps},
    )
    # Schoenfeld's precision note sits on the number of events it is computed from.
    notes.extend(Note(i, ep.precision.message, ep.name) for ep in eps if ep.precision)
    row("Censored, n", {ep.name: fmt.count(ep.n - ep.events) for ep in eps})
    if any(ep.cif is not None for ep in eps):
        row(
            "Competing events, n (%)",
            {
                ep.name: fmt.count_percent(
                    ep.cif.competing_events, 100.0 * ep.cif.competing_events / ep.n
                )
                if ep.cif is not None
                else fmt.missing()
                for ep in eps
            },
        )
    i = row(
        f"Median, {unit} (95% CI)",
        {ep.name: fmt.missing() if ep.competing else _median_text(ep.median) for ep in eps},
    )
    for ep in eps:
        if ep.competing:
            continue  # (no Kaplan–Meier median with competing events; see the footnote)
        if not ep.median.reached:
            notes.append(
                Note(
                    i,
                    f"{ep.label}: median not reached (more than half of the patients were "
                    "event-free at the last follow-up).",
                    ep.name,
                )
            )
        elif spss and not math.isfinite(ep.median.se):
            notes.append(
                Note(
                    i,
                    f"{ep.label}: SPSS's standard error of the median cannot be estimated "
                    "(the curve does not fall below 45%).",
                    ep.name,
                )
            )
    if spss:
        row(
            "Standard error of the median",
            {
                ep.name: fmt.number(ep.median.se, digits=2)
                if math.isfinite(ep.median.se) and not ep.competing
                else fmt.missing()
                for ep in eps
            },
        )
    times = sorted({a.time for ep in eps for a in ep.at})
    for t in times:
        cells, risk = {}, {}
        found = []
        for ep in eps:
            a = next((x for x in ep.at if x.time == t), None)
            if a is None:
                continue
            if ep.competing:
                cells[ep.name] = fmt.missing()  # cumulative incidence instead, rows below
                risk[ep.name] = fmt.count(a.n_risk)
                continue
            if math.isfinite(a.survival):
                # a registry's interval can be narrower than the printed precision:
                # "70.12 (70.09–70.15)", not "70.1 (70.1–70.1)" (percent = 100 x proportion)
                lo, hi = (
                    Decimal(repr(float(v))) * 100 if math.isfinite(v) else v
                    for v in (a.lower, a.upper)
                )
                # (small series keep whole percentages as the seed prints them)
                d = fmt.decimals_apart(lo, hi, pct_digits, 2 if pct_digits else 0)
                cells[ep.name] = fmt.percent_ci(a.survival, a.lower, a.upper, decimals=d)
            else:
                cells[ep.name] = fmt.not_estimable()
            risk[ep.name] = fmt.count(a.n_risk)
            found.append((ep.name, a))
        if any(not ep.competing for ep in eps):
            i = row(f"{_unit(unit, t)} survival, % (95% CI)", cells)
            for name, a in found:
                notes.extend(Note(i, m, name) for m in a.messages)
        for cause, what in (("event", "cumulative incidence"), ("competing", "competing event")):
            cif_cells: dict[str, str] = {}
            cif_found = []
            for ep in eps:
                pt = ep.cif.point(t, cause) if ep.cif is not None else None
                if pt is None:
                    continue
                cif_cells[ep.name] = _cif_text(pt, pct_digits)
                cif_found.append((ep.name, pt))
            if cif_cells:
                label = (
                    f"{_unit(unit, t)} cumulative incidence, % (95% CI)"
                    if cause == "event"
                    else f"{_unit(unit, t)} cumulative incidence of the {what}, % (95% CI)"
                )
                i = row(label, cif_cells)
                for name, pt in cif_found:
                    notes.extend(Note(i, m, name) for m in pt.messages)
        row(f"At risk at {_num(t)} {unit}, n", risk)
    row(
        f"Median follow-up, {unit} (95% CI)",
        {
            ep.name: _median_text(
                Median(ep.followup.median, ep.followup.lower, ep.followup.upper, "r")
            )
            for ep in eps
        },
    )
    if any(math.isfinite(ep.person_years) for ep in eps):
        # STROBE 14c: the total amount of follow-up
        row(
            "Total follow-up, person-years",
            {
                ep.name: fmt.number(ep.person_years, digits=0 if ep.person_years >= 100 else 1)
                if math.isfinite(ep.person_years)
                else fmt.missing()
                for ep in eps
            },
        )
    prof = results.profile
    foot = [
        "Kaplan–Meier estimates with "
        f"{prof.conf_type} {round(prof.conf_level * 100)}% confidence intervals (Greenwood "
        "variance); median follow-up by the reverse Kaplan–Meier method."
        if any(not ep.competing for ep in eps)
        else "Median follow-up by the reverse Kaplan–Meier method (censorings as its events).",
    ]
    competing = [ep for ep in eps if ep.cif is not None]
    for ep in competing:
        assert ep.cif is not None
        foot.append(
            f"{ep.label}: {ep.cif.competing_label} is a competing event "
            f"({fmt.count(ep.cif.competing_events)} patients). Cumulative incidence of the event "
            f"and of the competing event (Aalen–Johansen) with {ep.cif.conf_type} "
            f"{round(ep.cif.conf_level * 100)}% confidence intervals (Gray's variance, as "
            "cmprsk::cuminc), not 1 − Kaplan–Meier, which overstates the incidence when "
            "patients can have the competing event first; no median is given. At risk: "
            "patients still event-free and under observation."
        )
    if spss:
        foot.append(
            "Median and its 95% CI as SPSS 25 reports them: the first time with S(t) ≤ 0.5, "
            "CI = median ± 1.96 × SE (SE by Collett's density estimate)."
        )
    return TableModel(
        key="survival",
        title=f"Table {number}. Survival",
        columns=columns,
        rows=rows,
        footnotes=foot,
        notes=notes,
    )


def _cif_text(pt: CIFPoint, pct_digits: int) -> str:
    """A cumulative incidence with its CI as a percentage (as the survival rates print)."""
    if not math.isfinite(pt.cif):
        return fmt.not_estimable()
    lo, hi = (
        Decimal(repr(float(v))) * 100 if math.isfinite(v) else v for v in (pt.lower, pt.upper)
    )
    d = fmt.decimals_apart(lo, hi, pct_digits, 2 if pct_digits else 0)
    return fmt.percent_ci(pt.cif, pt.lower, pt.upper, decimals=d)


def _pct_cell(survival: float, lower: float, upper: float, digits: int) -> str:
    if not math.isfinite(survival):
        return fmt.not_estimable()
    return fmt.percent_ci(survival, lower, upper, decimals=digits)


def km_group_table(results: StudyResults, k: KMCurves, number: int) -> TableModel | None:
    """Survival by group (``Table {number}``) for a Kaplan–Meier figure with ``by:``: per
    group n, events, censored, median (CI), landmark rates (CI), and for two groups the
    difference at each landmark and the RMST difference (STROBE 16c, REMARK 15)."""
    if k.by is None or len(k.groups) < 2 or k.cif:
        # (a cumulative-incidence figure: its groups have no Kaplan–Meier rates to tabulate)
        return None
    unit = results.time_unit
    pct = f"{_num(round(results.profile.conf_level * 100, 1))}%"
    groups = list(k.groups)
    # the levels name the columns (the CSV header), unless one clashes with another column
    cols = [str(g.level) for g in groups]
    if {"statistic", "difference", "p"} & set(cols) or len(set(cols)) < len(cols):
        cols = [f"group_{i + 1}" for i in range(len(groups))]
    comp = k.comparison
    columns = [Column("statistic", "")] + [
        Column(c, str(g.level)) for c, g in zip(cols, groups, strict=True)
    ]
    if comp is not None:
        columns.append(Column("difference", f"Difference ({pct} CI)"))
    columns.append(Column("p", "p"))
    pct_digits = 1 if min(g.n for g in groups) >= 100 else 0
    rows: list[Row] = []
    notes: list[Note] = []

    def row(label: str, cells: dict[str, str]) -> int:
        rows.append(Row(kind="summary", cells={"statistic": label, **cells}))
        return len(rows) - 1

    def each(f: Any) -> dict[str, str]:
        return {c: f(g) for c, g in zip(cols, groups, strict=True)}

    row("Patients, n", each(lambda g: fmt.count(g.n)))
    row("Events, n (%)", each(lambda g: fmt.count_percent(g.events, 100.0 * g.events / g.n)))
    row("Censored, n", each(lambda g: fmt.count(g.censored)))
    row(f"Median, {unit} ({pct} CI)", each(lambda g: _median_text(g.median)))
    times = [a.time for a in groups[0].at]
    for i, t in enumerate(times):
        cells = each(
            lambda g, i=i: _pct_cell(g.at[i].survival, g.at[i].lower, g.at[i].upper, pct_digits)
        )
        if comp is not None and i < len(comp.at):
            d = comp.at[i]
            cells["difference"] = (
                fmt.estimate_ci(100 * d.difference, 100 * d.lower, 100 * d.upper, pct_digits)
                if math.isfinite(d.difference)
                else fmt.not_estimable()
            )
        j = row(f"{_unit(unit, t)} survival, % ({pct} CI)", cells)
        if comp is not None and i < len(comp.at) and comp.at[i].note:
            notes.append(Note(j, comp.at[i].note, "difference"))
        row(f"At risk at {_num(t)} {unit}, n", each(lambda g, i=i: fmt.count(g.at[i].n_risk)))
    rm = comp.rmst if comp is not None else None
    if comp is not None and rm is not None:
        by_level = {comp.reference: "reference", comp.group: "group"}
        cells = {}
        for c, g in zip(cols, groups, strict=True):
            side = by_level.get(str(g.level))
            est = getattr(rm, f"{side}_rmst") if side else float("nan")
            if side and math.isfinite(est):
                lo, hi = getattr(rm, f"{side}_lower"), getattr(rm, f"{side}_upper")
                cells[c] = fmt.estimate_ci(est, lo, hi, digits=1)
            else:
                cells[c] = fmt.not_estimable()
        if rm.estimable:
            cells["difference"] = fmt.estimate_ci(rm.difference, rm.lower, rm.upper, digits=1)
            cells["p"] = _p(rm.p_value)
        else:
            cells["difference"] = fmt.not_estimable()
        j = row(f"Restricted mean survival to {_num(rm.tau)} {unit}, {unit} ({pct} CI)", cells)
        if rm.note:
            notes.append(Note(j, rm.note, "difference"))
    if k.tests:
        t0 = next((t for t in k.tests if t.weights == "logrank"), k.tests[0])
        perm = k.permutation
        target = "p"
        if perm is not None and k.few_events:
            # few events: the permutation p is the p of the comparison, the chi-square p beside
            row(
                f"{perm.label[:1].upper()}{perm.label[1:]} (log-rank)",
                {target: _permutation_text(perm)},
            )
            row(f"{t0.label} p (chi-square, for comparison)", {target: _p(t0.p_value)})
        else:
            row(f"{t0.label} p", {target: _p(t0.p_value)})
            if perm is not None:
                row(
                    f"{perm.label[:1].upper()}{perm.label[1:]} (log-rank)",
                    {target: _permutation_text(perm)},
                )
    prof = results.profile
    foot = [
        f"Kaplan–Meier estimates by {_lower_first(k.by_label or k.by)} with {prof.conf_type} "
        f"{pct} confidence intervals (Greenwood variance)."
    ]
    if comp is not None:
        foot.append(
            f"Difference: {comp.group} minus {comp.reference}. Survival differences in "
            "percentage points with Greenwood variances of the two independent groups and a "
            f"Wald {pct} CI; restricted mean survival time (area under the Kaplan–Meier curve "
            f"up to the stated time, in {unit}) with Klein and Moeschberger's variance, Wald CI "
            "and p."
        )
    if k.few_events:
        foot.append(
            "Fewer than 10 events: "
            + (
                "the permutation p is the p of this comparison (the chi-square p is "
                "unreliable with so few events) and "
                if k.permutation is not None
                else "the chi-square p is unreliable with so few events and "
            )
            + "the results are exploratory."
        )
    return TableModel(
        key=k.key.replace("km_", "survival_", 1),
        title=f"Table {number}. {k.endpoint_label} by {_lower_first(k.by_label or k.by)}",
        columns=columns,
        rows=rows,
        footnotes=foot,
        notes=notes,
    )


# --------------------------------------------------------------------------- Cox tables


def row_label(r: CoxRow) -> str:
    if r.kind == "spline":
        return f"{r.label} (restricted cubic spline)"
    if r.kind == "continuous":
        k = 1.0 if r.per is None else float(r.per)
        if r.unit is None:
            return r.label if k == 1 else f"{r.label} (per {_num(k)})"
        if k == 1:
            return f"{r.label} (per {r.unit[:-1] if r.unit.endswith('s') else r.unit})"
        return f"{r.label} (per {_num(k)} {r.unit})"
    if r.kind in ("reference", "level"):
        return str(r.level)
    return r.label


def hr_text(hr: float, lower: float, upper: float) -> str:
    """HR (95% CI) with 2 decimals, or 3 when a value would print as "1.00".

    The rule lives in :func:`survstudy.tables.format.hr_ci_text`, shared with the forest plots.
    """
    return fmt.hr_ci_text(hr, lower, upper)


SPLINE_HR = "see figure (HR curve)"


def _hr_text(r: CoxRow) -> str:
    if r.kind == "spline" and r.estimable:
        return SPLINE_HR
    if r.reference:
        return fmt.reference()
    if not r.estimable or not math.isfinite(r.hr):
        return fmt.not_estimable()
    return hr_text(r.hr, r.lower, r.upper)


def _p(x: float) -> str:
    return fmt.p_value(x) if math.isfinite(x) else ""


def _cox_rows(rows: tuple[CoxRow, ...], extra: list[str]) -> tuple[list[Row], list[Note]]:
    """Table rows and the notes (plain-language warnings) attached to their HR cells."""
    out: list[Row] = []
    notes: list[Note] = []
    # A continuous factor with ``per: k`` is printed per k units only (the per-unit
    # estimate stays in results.json).
    scaled = {r.variable for r in rows if r.kind == "continuous" and r.per not in (None, 1)}
    for r in rows:
        if r.kind == "continuous" and r.variable in scaled and r.per in (None, 1):
            continue
        kind = {"header": "label", "continuous": "summary", "reference": "reference"}.get(
            r.kind, "level"
        )
        cells = {
            "variable": row_label(r),
            "hr": "" if r.kind == "header" else _hr_text(r),
            # a term that is not estimable carries the likelihood-ratio p (see its note)
            "p": "" if r.kind in ("header", "reference") else _p(r.p_value),
        }
        for w in r.warnings:
            if w:
                text = w[:1].upper() + w[1:]
                # a PH-test warning concerns the PH p; the others the hazard ratio
                column = "ph" if "ph" in extra and "PH test" in text else "hr"
                if "nonlinear" in extra and "non-linearity" in text:
                    column = "nonlinear"
                notes.append(Note(len(out), text.rstrip(".") + ".", column))
        if r.kind in ("header", "spline") and math.isfinite(r.overall_p):
            cells["p"] = _p(r.overall_p)
        if "nonlinear" in extra:
            cells["nonlinear"] = _p(r.nonlinearity_p)
        if "logrank" in extra:
            cells["logrank"] = _p(r.logrank_p) if r.kind == "header" else ""
        if "breslow" in extra:
            cells["breslow"] = _p(r.breslow_p) if r.kind == "header" else ""
        if "permutation" in extra:
            cells["permutation"] = _permutation_text(r.permutation) if r.kind == "header" else ""
        if "ph" in extra:
            cells["ph"] = _p(r.ph_p) if r.kind in ("header", "continuous", "spline") else ""
        if "n_events" in extra:
            first = r.kind in ("header", "continuous", "spline")
            cells["n"] = fmt.count(r.n) if first and r.n is not None else ""
            cells["events"] = fmt.count(r.events) if first and r.events is not None else ""
        if "shr" in extra:
            if r.kind == "header":
                cells["shr"] = cells["shr_p"] = ""
            elif r.kind == "reference":
                cells["shr"], cells["shr_p"] = fmt.reference(), ""
            else:
                cells["shr"] = (
                    hr_text(r.shr, r.shr_lower, r.shr_upper)
                    if math.isfinite(r.shr)
                    else fmt.not_estimable()
                )
                cells["shr_p"] = _p(r.shr_p_value)
        if "adjusted" in extra:
            cells["adjusted"] = "" if r.kind == "reference" else _p(r.adjusted_p)
        if "firth" in extra:
            f = r.firth
            if r.kind == "reference" and any(
                x.firth is not None for x in rows if x.variable == r.variable
            ):
                cells["firth_hr"] = fmt.reference()
            elif f is not None:
                cells["firth_hr"] = (
                    hr_text(f.hr, f.lower, f.upper) if math.isfinite(f.hr) else fmt.not_estimable()
                )
                cells["firth_p"] = _p(f.p_value)
        out.append(
            Row(
                kind=kind,
                cells=cells,
                indent=1 if r.kind in ("reference", "level") else 0,
                variable=r.variable,
                level=r.level,
            )
        )
    return out, notes


def _firth_footnote(rows: tuple[CoxRow, ...], conf_level: float) -> str | None:
    reasons = {r.firth.reason for r in rows if r.firth is not None}
    if not reasons:
        return None
    pct = f"{_num(round(conf_level * 100, 1))}%"
    where = (
        "for every factor"
        if reasons == {"always"}
        else "where the ordinary estimate does not exist (monotone likelihood: the hazard "
        "ratio runs off to infinity)"
    )
    return (
        f"Firth: Firth-penalised Cox estimate (Heinze and Schemper 2001), shown {where}; "
        f"{pct} CI and p from the profile penalised likelihood (penalised likelihood-ratio test)."
    )


def _firth_columns(rows: tuple[CoxRow, ...], pct: str) -> list[Column]:
    if not any(r.firth is not None for r in rows):
        return []
    return [
        Column("firth_hr", f"Firth HR ({pct} CI)"),
        Column("firth_p", "Firth p"),
    ]


def _ci_sentence(ci: str, pct: str) -> str:
    """The footnote sentence naming the CI method of the ordinary Cox hazard ratios."""
    if ci == "profile":
        return (
            f"{pct} CIs of the hazard ratios from the profile likelihood (Venzon and "
            "Moolgavkar 1988); an infinite limit means the likelihood never falls far enough "
            "on that side."
        )
    return f"{pct} CIs of the hazard ratios are Wald intervals (log HR ± z × SE)."


def _permutation_text(t: PermutationTest | None) -> str:
    """An exact p as a p-value; a Monte-Carlo p with its Clopper–Pearson interval."""
    if t is None or not math.isfinite(t.p_value):
        return ""
    if t.method == "exact":
        return _p(t.p_value)
    ci = (
        f" ({_p(t.p_lower)}–{_p(t.p_upper)})"
        if math.isfinite(t.p_lower) and math.isfinite(t.p_upper)
        else ""
    )
    return f"{_p(t.p_value)}{ci} MC"


def _permutation_column(rows: tuple[CoxRow, ...]) -> Column | None:
    tests = [r.permutation for r in rows if r.permutation is not None]
    if not tests:
        return None
    exact = all(t.method == "exact" for t in tests)
    return Column("permutation", "Exact permutation p" if exact else "Permutation p")


def _permutation_footnote(tests: list[PermutationTest]) -> str | None:
    if not tests:
        return None
    methods = {t.method for t in tests}
    options = {t.option for t in tests}
    when = (
        "where a group expects fewer than 5 events"
        if options == {"auto"}
        else "as the analysis asks"
    )
    parts = [
        f"Exact permutation p: the log-rank test by permutation of the group labels, shown "
        f"{when} (the chi-square p is unreliable there)"
    ]
    if "exact" in methods:
        parts.append("exact p from all assignments of the labels")
    if "monte-carlo" in methods:
        mc = next(t for t in tests if t.method == "monte-carlo")
        parts.append(
            f"MC, Monte-Carlo p from {fmt.count(mc.n_resamples)} random permutations (seed {mc.seed}) "
            "with its 95% Clopper–Pearson interval"
        )
    return "; ".join(parts) + "."


def univariable_table(results: StudyResults, endpoint: str, number: int = 3) -> TableModel:
    """Univariable Cox models (and group tests) for one endpoint."""
    uni: UnivariableResult = results.univariable[endpoint]
    prof = results.profile
    labels = dict(prof.tests)
    extra = ["logrank"] + (["breslow"] if "gehan-breslow" in labels else [])
    columns = [
        Column("variable", "Variable"),
        # each factor's model: its patients and events (issue 22 item 8; they differ
        # between factors when values are missing)
        Column("n", "n"),
        Column("events", "Events"),
        Column("hr", "HR (95% CI)"),
        Column("p", "p"),
        Column("logrank", f"{labels.get('logrank', 'Log-rank')} p"),
    ]
    extra.append("n_events")
    perm_col = _permutation_column(uni.rows)
    if perm_col is not None:
        # beside the chi-square log-rank p it corrects; before it when it is the primary p
        extra.append("permutation")
        if uni.few_events:
            columns.insert(5, perm_col)
        else:
            columns.append(perm_col)
    if "breslow" in extra:
        columns.append(Column("breslow", f"{labels['gehan-breslow']} p"))
    adjust_name = {"holm": "Holm", "bh": "Benjamini–Hochberg"}.get(uni.adjust)
    if adjust_name:
        extra.append("adjusted")
        columns.insert(
            5, Column("adjusted", f"{'BH' if uni.adjust == 'bh' else 'Holm'}-adjusted p")
        )
    firth_cols = _firth_columns(uni.rows, f"{_num(round(prof.conf_level * 100, 1))}%")
    if firth_cols:
        # beside the ordinary estimate (and its p) that it replaces
        extra.append("firth")
        at = 6 if adjust_name else 5
        columns[at:at] = firth_cols
    subdistribution = any(r.subdistribution for r in uni.rows)
    if subdistribution:
        # the Fine–Gray estimate beside the cause-specific one (competing events)
        extra.append("shr")
        columns[3] = Column("hr", "Cause-specific HR (95% CI)")
        columns[5:5] = [Column("shr", "Subdistribution HR (95% CI)"), Column("shr_p", "p")]
    # The rows' detectable_hr (results.json) is not printed: a "could have detected with
    # 80% power" column reads as post-hoc power; the table's precision note says the same as
    # the study's precision (issue 22 item 5).
    if any(math.isfinite(r.ph_p) for r in uni.rows):
        # the proportional-hazards assumption of each univariable model (issue 22)
        extra.append("ph")
        columns.append(Column("ph", "PH test p"))
    if any(math.isfinite(r.nonlinearity_p) for r in uni.rows):
        extra.append("nonlinear")
        columns.append(Column("nonlinear", "Non-linearity p"))
    ties = "Efron" if uni.ties == "efron" else "Breslow"
    foot = [
        "HR, hazard ratio; CI, confidence interval; n and Events, the patients (with a value "
        "of the factor) and events of each factor's model. "
        f"Univariable Cox regression ({ties} method "
        "for ties); p from the Wald test. For a factor with more than two categories the p on "
        "its first line is the overall "
        + ("Wald" if prof.name == "spss" else "likelihood-ratio")
        + " test. Group tests compare the Kaplan–Meier curves of the categories. "
        + _ci_sentence(uni.ci, f"{_num(round(prof.conf_level * 100, 1))}%"),
        f"{uni.n_tests} factor{'s' if uni.n_tests != 1 else ''} tested"
        + (
            f"; p-values adjusted for {uni.n_tests} tests by the {adjust_name} method in the "
            "adjusted-p column"
            + (" (false discovery rate)" if uni.adjust == "bh" else "")
            + "; unadjusted p-values in the p column."
            if adjust_name
            else "; p-values are not adjusted for multiple testing."
        ),
    ]
    if subdistribution:
        foot.append(
            "Competing events: the cause-specific HR (Cox model, competing events censored) "
            "compares the event rate among patients still event-free; the subdistribution HR "
            "(Fine–Gray model, as cmprsk::crr; robust SE, Wald CI and p) compares the "
            "cumulative incidence of the event. Group tests compare Kaplan–Meier curves with "
            "competing events censored."
        )
    firth_note = _firth_footnote(uni.rows, prof.conf_level)
    if firth_note:
        foot.append(firth_note)
    perm_note = _permutation_footnote([r.permutation for r in uni.rows if r.permutation])
    if perm_note:
        foot.append(perm_note)
    if uni.few_events:
        foot.append(
            "Fewer than 10 events: hazard ratios with profile-likelihood CIs, the exact "
            "permutation p is the p of each group comparison (the chi-square log-rank p "
            "beside it), and every estimate is exploratory."
        )
    if "ph" in extra:
        foot.append(
            "PH test p: test of proportional hazards of each model (Grambsch–Therneau score "
            "test of scaled Schoenfeld residuals, Kaplan–Meier time scale, as R's cox.zph); "
            "p < 0.05 means the hazard ratio may change over follow-up."
        )
    if "nonlinear" in extra:
        foot.append(NONLINEAR_FOOTNOTE)
    if any(r.kind == "spline" for r in uni.rows):
        foot.append(SPLINE_FOOTNOTE)
    if uni.precision is not None:
        foot.append(uni.precision.message)
    rows, notes = _cox_rows(uni.rows, extra)
    return TableModel(
        key=f"univariable_{endpoint}",
        title=f"Table {number}. Univariable analysis of {_lower_first(uni.endpoint_label)}",
        columns=columns,
        rows=rows,
        footnotes=foot,
        notes=notes,
    )


#: the univariable table's columns of group tests (Kaplan–Meier curves of the categories)
GROUP_TEST_COLUMNS = ("logrank", "breslow", "permutation")


def split_group_tests(
    results: StudyResults, table: TableModel, endpoint: str
) -> tuple[TableModel, TableModel | None]:
    """One p per comparison in the main table (issue 22 item 8): the Cox p stays, the group
    tests of the categorical factors (log-rank, Breslow, permutation) go to a
    supplementary table. Below 10 events nothing moves: the permutation p is then the
    primary p with the chi-square p beside it (item 5)."""
    uni = results.univariable[endpoint]
    moved = [c for c in table.columns if c.key in GROUP_TEST_COLUMNS]
    if uni.few_events or not moved:
        return table, None
    keys = {c.key for c in moved}
    main_cols = [c for c in table.columns if c.key not in keys]
    rows = [
        replace(r, cells={k: v for k, v in r.cells.items() if k not in keys}) for r in table.rows
    ]
    perm_foot = [f for f in table.footnotes if "permutation p" in f.lower()]
    foot = [
        f.replace(
            "Group tests compare the Kaplan–Meier curves of the categories. ",
            "One p per factor: the group tests of the categorical factors (comparing their "
            "Kaplan–Meier curves) are in a supplementary table. ",
        )
        for f in table.footnotes
        if f not in perm_foot
    ]
    # a note on a moved cell stays on its row
    notes = [replace(n, column=None) if n.column in keys else n for n in table.notes]
    main = replace(table, columns=main_cols, rows=rows, footnotes=foot, notes=notes)
    trows = [
        replace(
            r,
            cells={
                "variable": r.cells.get("variable", ""),
                **{k: r.cells.get(k, "") for k in keys},
            },
            footnote_markers=(),
        )
        for r in table.rows
        if r.kind == "label" and any(r.cells.get(k) for k in keys)
    ]
    if not trows:
        return main, None
    supp = TableModel(
        key=f"supplementary_tests_{endpoint}",
        title="Supplementary table. Group tests of the categorical factors: "
        f"{_lower_first(uni.endpoint_label)}",
        columns=[Column("variable", "Variable"), *moved],
        rows=trows,
        footnotes=[
            "Tests comparing the Kaplan–Meier curves of the factor's categories (chi-square "
            "approximation unless stated); the univariable table gives the Cox model's p for "
            "the same comparison.",
            *perm_foot,
        ],
    )
    return main, supp


def multivariable_table(results: StudyResults, model: ModelResult, number: int = 4) -> TableModel:
    """A multivariable Cox model with its fit summary in the footnotes."""
    if model.model == "fine-gray":
        return _fine_gray_table(results, model, number)
    columns = [
        Column("variable", "Variable"),
        Column("hr", "Adjusted HR (95% CI)"),
        Column("p", "p"),
        Column("ph", "PH test p"),
    ]
    ties = "Efron" if model.ties == "efron" else "Breslow"
    pct = f"{_num(round(results.profile.conf_level * 100, 1))}%"
    extra = ["ph"]
    if any(math.isfinite(r.nonlinearity_p) for r in model.rows):
        extra.append("nonlinear")
        columns.append(Column("nonlinear", "Non-linearity p"))
    firth_cols = _firth_columns(model.rows, pct)
    if firth_cols:
        extra.append("firth")
        columns[3:3] = firth_cols
    if not model.estimable:
        foot = [
            f"Multivariable Cox regression ({ties} method for ties): {fmt.count(model.n)} "
            f"patients, {fmt.count(model.events)} events, {model.n_parameters} parameters. NE, not estimable: "
            "the model could not be fitted (the reason follows); the other analyses of this "
            "report are not affected."
        ]
        foot.extend(w.rstrip(".") + "." for w in model.warnings)
        rows, notes = _cox_rows(model.rows, extra)
        return TableModel(
            key=multivariable_key(model.name),
            title=f"Table {number}. Multivariable analysis: {model.name} "
            f"({_lower_first(model.endpoint_label)})",
            columns=columns,
            rows=rows,
            footnotes=foot,
            notes=notes,
        )
    kind = "cause-specific Cox regression" if model.competing else "Cox regression"
    foot = [
        f"Multivariable {kind} ({ties} method for ties): {fmt.count(model.n)} "
        f"patients, {fmt.count(model.events)} events, {model.n_parameters} parameters "
        f"({fmt.number(model.events_per_variable, digits=1)} events per variable)"
        + (
            f"; {fmt.count(model.n_dropped)} with a missing covariate excluded"
            if model.n_dropped
            else ""
        )
        + ".",
        f"Apparent concordance (Harrell's C, not validated) {fmt.number(model.concordance, digits=3)}"
        + (
            f" (SE {fmt.number(model.concordance_se, digits=3)})"
            if math.isfinite(model.concordance_se)
            else ""
        )
        + f"; likelihood-ratio test {_p_sentence(model.lr_p)}; global proportional-hazards "
        f"test (Grambsch–Therneau) {_p_sentence(model.ph_global_p)}.",
        f"p from the Wald test; {_ci_sentence(model.ci, pct)}",
    ]
    if model.firth is not None:
        note = _firth_footnote(model.rows, results.profile.conf_level)
        if note:
            foot.append(
                note.replace("for every factor", "for every term")
                + f" Penalised likelihood-ratio test of the model {_p_sentence(model.firth_lr_p)}."
            )
    if "nonlinear" in extra:
        foot.append(NONLINEAR_FOOTNOTE)
    if any(r.kind == "spline" for r in model.rows):
        foot.append(SPLINE_FOOTNOTE)
    foot.extend(w.rstrip(".") + "." for w in model.warnings)
    rows, notes = _cox_rows(model.rows, extra)
    return TableModel(
        key=multivariable_key(model.name),
        title=f"Table {number}. Multivariable analysis: {model.name} "
        f"({_lower_first(model.endpoint_label)})",
        columns=columns,
        rows=rows,
        footnotes=foot,
        notes=notes,
    )


#: the one-line reading of a subdistribution HR under every Fine–Gray table
FINE_GRAY_NOTE = (
    "A subdistribution HR describes the cumulative incidence of the event (how many patients "
    "have it, with the competing event taking some first), not the event rate among patients "
    "still event-free; for that, see the cause-specific HR."
)


def _fine_gray_table(results: StudyResults, model: ModelResult, number: int) -> TableModel:
    """A ``model: fine-gray`` table: subdistribution HRs, the reading note, crr's tests."""
    columns = [
        Column("variable", "Variable"),
        Column("hr", "Adjusted subdistribution HR (95% CI)"),
        Column("p", "p"),
    ]
    pct = f"{_num(round(results.profile.conf_level * 100, 1))}%"
    head = (
        f"Multivariable Fine–Gray regression (subdistribution hazards, as cmprsk::crr): "
        f"{fmt.count(model.n)} patients, {fmt.count(model.events)} events, "
        f"{model.n_parameters} parameters"
    )
    if not model.estimable:
        foot = [
            head + ". NE, not estimable: the model could not be fitted (the reason follows); "
            "the other analyses of this report are not affected.",
        ]
    else:
        foot = [
            head
            + f" ({fmt.number(model.events_per_variable, digits=1)} events per variable)"
            + (
                f"; {fmt.count(model.n_dropped)} with a missing covariate excluded"
                if model.n_dropped
                else ""
            )
            + ".",
            f"Pseudo-likelihood-ratio test {_p_sentence(model.lr_p)}. p from the Wald test "
            f"with the robust (sandwich) SE; Wald {pct} CIs. Firth's correction is not defined "
            "for this model: a term whose estimate runs off to infinity is not estimable.",
        ]
    foot.append(FINE_GRAY_NOTE)
    foot.extend(w.rstrip(".") + "." for w in model.warnings)
    rows, notes = _cox_rows(model.rows, [])
    return TableModel(
        key=multivariable_key(model.name),
        title=f"Table {number}. Multivariable analysis: {model.name} "
        f"({_lower_first(model.endpoint_label)})",
        columns=columns,
        rows=rows,
        footnotes=foot,
        notes=notes,
    )


NONLINEAR_FOOTNOTE = (
    "Non-linearity p: likelihood-ratio test of a restricted cubic spline with 4 knots at "
    "Harrell's quantiles against the linear term, in the same model (Harrell 2015; as "
    "rms::rcs with anova in R); p < 0.05 means one hazard ratio per unit misrepresents the "
    "covariate's effect."
)
SPLINE_FOOTNOTE = (
    "Restricted cubic spline: the covariate enters as a restricted cubic spline with 4 "
    "knots at Harrell's quantiles; its p is the overall likelihood-ratio test (3 df), and "
    "its hazard ratio against a reference value is drawn as a curve with pointwise CIs in "
    "the figures."
)


def _join(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + f" and {items[-1]}"


def sensitivity_sentence(model: ModelResult, sens: PhSensitivity) -> str:
    """The results sentence of a PH sensitivity model (worded from the pipeline's facts)."""
    labels = {r.variable: r.label for r in model.rows}
    offending = [_lower_first(labels.get(v, v)) for v in sens.offending]
    strata = [_lower_first(x) for x in sens.strata_labels]
    text = (
        f"The global proportional-hazards test of the multivariable model ({model.name}) gave "
        f"{_p_sentence(model.ph_global_p)}"
        + (f" ({_join(offending)} with a PH test p < 0.05)" if offending else "")
        + (
            f"; in a sensitivity model stratified on {_join(strata)}, "
            if sens.kind == "stratified"
            else "; in a sensitivity model in which "
            f"{_join([_lower_first(x) for x in sens.split_labels])} had one hazard ratio up "
            f"to the median follow-up ({fmt.number(sens.cut, digits=1)} {sens.time_unit}) and "
            "one after it, "
        )
    )
    if math.isfinite(sens.largest_change):
        pct = (sens.largest_change - 1.0) * 100.0
        text += (
            "the adjusted hazard ratios of the other covariates changed by at most "
            f"{fmt.number(pct, digits=0 if pct >= 10 else 1)}% "
            f"({_lower_first(sens.largest_change_label)})"
        )
    else:
        text += "no hazard ratio could be compared"
    text += f", and its global proportional-hazards test gave {_p_sentence(sens.ph_global_p)}."
    if sens.not_stratified:
        rest = [_lower_first(labels.get(v, v)) for v in sens.not_stratified]
        text += (
            f" The effect of {_join(rest)} (continuous, not stratified) may change over "
            "follow-up: see the scaled Schoenfeld residual plots."
        )
    for v in sens.split:
        first, second = (r for r in sens.rows if r.variable == v and r.kind == "period")
        text += (
            f" The hazard ratio of {_lower_first(row_label(_as_continuous(first)))} was "
            f"{_hr_text(first)} up to {fmt.number(sens.cut, digits=1)} {sens.time_unit} and "
            f"{_hr_text(second)} after."
        )
    return text


def _as_continuous(r: CoxRow) -> CoxRow:
    """A ``period`` row labelled as its covariate's continuous row ("Age (per 10 years)")."""
    return replace(r, kind="continuous")


def sensitivity_table(
    results: StudyResults, model: ModelResult, sens: PhSensitivity, number: int
) -> TableModel:
    """The main model's and the sensitivity model's hazard ratios side by side."""
    pct = f"{_num(round(results.profile.conf_level * 100, 1))}%"
    what = "Stratified model" if sens.kind == "stratified" else "Time-split model"
    columns = [
        Column("variable", "Variable"),
        Column("hr", f"{model.name}: adjusted HR ({pct} CI)"),
        Column("p", "p"),
        Column("s_hr", f"{what}: adjusted HR ({pct} CI)"),
        Column("s_p", "p"),
        Column("s_ph", "PH test p"),
    ]

    def key(r: CoxRow) -> tuple[str, str, str | None, float | None]:
        return (r.variable, r.kind, r.level, r.per)

    other = {key(r): r for r in sens.rows}
    scaled = {r.variable for r in model.rows if r.kind == "continuous" and r.per not in (None, 1)}
    rows: list[Row] = []
    for r in model.rows:
        if r.kind == "continuous" and r.variable in scaled and r.per in (None, 1):
            continue
        o = other.get(key(r))
        cells = {
            "variable": row_label(r),
            "hr": "" if r.kind == "header" else _hr_text(r),
            "p": "" if r.kind in ("header", "reference") else _p(r.p_value),
        }
        if r.kind in ("header", "spline") and math.isfinite(r.overall_p):
            cells["p"] = _p(r.overall_p)
        periods = [x for x in sens.rows if x.variable == r.variable and x.kind == "period"]
        if r.variable in sens.strata:
            if r.kind in ("header", "continuous", "spline"):
                cells["s_hr"] = "stratified"
        elif periods:
            cells["s_hr"] = "by period of follow-up:"
            cells["s_ph"] = _p(periods[0].ph_p)
        elif o is not None and o.kind == "spline":
            cells["s_hr"] = "restricted cubic spline (curve not drawn)"
            cells["s_ph"] = _p(o.ph_p)
        elif o is not None:
            cells["s_hr"] = "" if o.kind == "header" else _hr_text(o)
            cells["s_p"] = "" if o.kind in ("header", "reference") else _p(o.p_value)
            cells["s_ph"] = _p(o.ph_p) if o.kind in ("header", "continuous", "spline") else ""
        kind = {"header": "label", "continuous": "summary", "reference": "reference"}.get(
            r.kind, "level"
        )
        rows.append(
            Row(
                kind=kind,
                cells=cells,
                indent=1 if r.kind in ("reference", "level") else 0,
                variable=r.variable,
                level=r.level,
            )
        )
        if r.kind == "continuous":
            for o in periods:
                rows.append(
                    Row(
                        kind="level",
                        cells={
                            "variable": str(o.level),
                            "s_hr": _hr_text(o),
                            "s_p": _p(o.p_value),
                        },
                        indent=1,
                        variable=o.variable,
                        level=o.level,
                    )
                )
    ties = "Efron" if model.ties == "efron" else "Breslow"
    how = (
        "Stratified model: the covariates whose proportional-hazards test gave p < 0.05 in "
        "the main model and are categorical "
        f"({_join([_lower_first(x) for x in sens.strata_labels])}) define strata (one baseline "
        "hazard per combination of their levels) instead of hazard ratios."
        if sens.kind == "stratified"
        else "Time-split model: no covariate whose proportional-hazards test gave p < 0.05 is "
        "categorical, so follow-up was split at the median follow-up (reverse Kaplan–Meier, "
        f"{fmt.number(sens.cut, digits=1)} {sens.time_unit}) and each of them "
        f"({_join([_lower_first(x) for x in sens.split_labels])}) has one hazard ratio per "
        "period (counting-process data, as R's survSplit)."
    )
    foot = [
        sensitivity_sentence(model, sens),
        f"Multivariable Cox regression ({ties} method for ties), {fmt.count(sens.n)} patients, "
        f"{fmt.count(sens.events)} events. {how} p from the Wald test; {pct} CIs are Wald "
        "intervals. PH test p: Grambsch–Therneau test in the sensitivity model.",
    ]
    return TableModel(
        key=multivariable_key(model.name) + "_sensitivity",
        title=f"Table {number}. Sensitivity analysis for non-proportional hazards: "
        f"{model.name} ({_lower_first(model.endpoint_label)})",
        columns=columns,
        rows=rows,
        footnotes=foot,
    )


def _lower_first(text: str) -> str:
    """'Overall survival' -> 'overall survival'; acronyms such as 'PFS' stay as they are."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _p_sentence(p: float) -> str:
    if not math.isfinite(p):
        return "not available"
    text = fmt.p_value(p)
    return f"p {text[0]} {text[1:]}" if text[0] in "<>" else f"p = {text}"


def multivariable_key(name: str) -> str:
    """The table key of the multivariable model called ``name`` (``multivariable_<slug>``)."""
    out = "".join(c if c.isalnum() else "_" for c in name).strip("_")
    return f"multivariable_{out or 'model'}"


# --------------------------------------------------------------------------- reconciliation


def _diff_text(d: ProfileDifference, side: str) -> str:
    v = getattr(d, side)
    lo, hi = getattr(d, f"{side}_lower"), getattr(d, f"{side}_upper")
    if d.kind == "time":
        return _median_text(Median(v, lo, hi, "r"))
    if d.kind == "hr":
        if not math.isfinite(v):
            return fmt.not_estimable()
        return hr_text(v, lo, hi)
    return _p(v)


def reconciliation_table(results: StudyResults) -> TableModel | None:
    """Where the ``standard`` and ``spss`` profiles give different printed numbers."""
    if not results.reconciliation:
        return None
    rows = []
    same = 0
    for d in results.reconciliation:
        a, b = _diff_text(d, "standard"), _diff_text(d, "spss")
        if a == b:
            same += 1
            continue
        rows.append(
            Row(
                kind="summary",
                cells={
                    "analysis": d.analysis,
                    "item": d.item,
                    "quantity": d.quantity,
                    "standard": a,
                    "spss": b,
                    "why": "Ties (Efron vs Breslow)"
                    if d.kind in ("hr", "p")
                    else "Median rule and its CI",
                },
            )
        )
    foot = [
        "Standard profile (as R's survival package with conf.type = 'log-log'; R's default "
        "is 'log'): Efron's method for tied event times; the median where the curve crosses "
        "0.5 (midpoint of a flat segment at 0.5) with the CI read off the log-log confidence "
        "band. SPSS 25 profile: Breslow's method for ties; the median as the "
        "first time with S(t) ≤ 0.5 and its CI as median ± 1.96 × SE (Collett's SE). Both "
        "columns are computed by survstudy under the two profiles; neither is a run of R or "
        "SPSS.",
        (
            f"{same} other quantit{'ies' if same != 1 else 'y'} print identically under both "
            "profiles."
        )
        if rows
        else f"All {same} quantities compared print identically under both profiles.",
    ]
    if not rows:
        rows.append(
            Row(
                kind="summary",
                cells={"analysis": "All analyses", "standard": "identical", "spss": "identical"},
            )
        )
    return TableModel(
        key="reconciliation",
        title=(
            "Supplementary table. Where the standard profile and SPSS 25 conventions give "
            "different results"
        ),
        columns=[
            Column("analysis", "Analysis"),
            Column("item", "Item"),
            Column("quantity", "Quantity"),
            Column("standard", "Standard profile (as R survival, log-log CI)"),
            Column("spss", "SPSS 25"),
            Column("why", "Source of the difference"),
        ],
        rows=rows,
        footnotes=foot,
    )


# --------------------------------------------------------------------------- all tables


def study_tables(results: StudyResults) -> list[TableModel]:
    """Every table of the report, in order."""
    out: list[TableModel] = []
    t1 = table1_table(results)
    if t1 is not None:
        out.append(t1)
    # numbered in order of appearance: without Table 1 the survival summary is Table 1
    s = survival_table(results, number=len(out) + 1)
    if s is not None:
        out.append(s)
    n = len(out) + 1
    for k in results.km:
        g = km_group_table(results, k, number=n)
        if g is not None:
            out.append(g)
            n += 1
    supplementary: list[TableModel] = []
    for ep in results.univariable:
        main, tests = split_group_tests(results, univariable_table(results, ep, number=n), ep)
        out.append(main)
        if tests is not None:
            supplementary.append(tests)
        n += 1
    for m in results.multivariable:
        out.append(multivariable_table(results, m, number=n))
        n += 1
        for sens in m.sensitivity:
            out.append(sensitivity_table(results, m, sens, number=n))
            n += 1
    lt = landmark_table(results, number=n)
    if lt is not None:
        out.append(lt)
        n += 1
    out.extend(treatment_tables(results, n))
    out.extend(supplementary)
    r = reconciliation_table(results)
    if r is not None:
        out.append(r)
    return [_explain_ne(t) for t in out]


_NE = re.compile(rf"(?<![A-Za-z]){re.escape(fmt.NOT_ESTIMABLE)}(?![A-Za-z])")
NE_FOOTNOTE = (
    f"{fmt.NOT_ESTIMABLE}, not estimable: the data do not allow this estimate (for example a "
    "time beyond the last follow-up, a confidence limit the curve does not reach, or a model "
    "that could not be fitted)."
)


def _explain_ne(t: TableModel) -> TableModel:
    """A table that prints NE says once what it means (unless a footnote already does)."""
    shows = any(_NE.search(text) for row in t.rows for text in row.cells.values())
    said = any(f"{fmt.NOT_ESTIMABLE}, not estimable" in f for f in t.footnotes)
    if not shows or said:
        return t
    return replace(t, footnotes=(*t.footnotes, NE_FOOTNOTE))


def results_document(
    results: StudyResults, tables: list[TableModel] | None = None
) -> dict[str, Any]:
    """The body of results.json: ``results.to_dict()`` plus each Table 1 row's printed ``text``.

    ``text`` is the statistic cell of the Table 1 model, so it is exactly what the
    report prints ("46 (29–57)", "7 (58.3)").
    """
    doc = results.to_dict()
    t1 = next((t for t in tables or [] if t.id == "table1"), None)
    if t1 is None:
        t1 = table1_table(results)
    if t1 is not None:
        for rec, row in zip(doc["table1"], t1.rows, strict=True):
            rec["text"] = row.text("statistic")
    return doc

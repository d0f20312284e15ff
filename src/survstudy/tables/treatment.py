"""Table models of a propensity-score comparison (issue 20).

Per ``analyses.treatment_effect`` entry three tables: the balance table (means or
proportions per group and SMD before and after adjustment, variance ratios), the
hazard ratios (crude, multivariable-adjusted and propensity-score weighted or matched
side by side, so a reader sees what the adjustment did) and the adjusted survival at
the landmarks with the difference. Every number is printed through
:mod:`survstudy.tables.format`; nothing is computed here.
"""

from __future__ import annotations

import math
from typing import Any

from survstudy.tables import format as fmt
from survstudy.tables.model import Column, Note, Row, TableModel

__all__ = [
    "balance_key",
    "effect_key",
    "landmark_key",
    "treatment_tables",
]


def balance_key(i: int) -> str:
    return f"treatment_balance_{i}"


def effect_key(i: int) -> str:
    return f"treatment_effect_{i}"


def landmark_key(i: int) -> str:
    return f"treatment_landmarks_{i}"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _opt(x: float | None, digits: int = 2) -> str:
    return "" if x is None or not math.isfinite(float(x)) else fmt.number(x, digits)


def _lower_first(text: str) -> str:
    """'Time to recurrence' -> 'time to recurrence'; 'RFS' stays."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _mean(x: float, binary: bool) -> str:
    """A binary column's mean as a percentage, a continuous one's as the mean."""
    if not math.isfinite(x):
        return fmt.missing()
    return f"{fmt.percent(100 * x, 1)}%" if binary else fmt.number(x, 1)


def _adjusted_word(r: Any) -> str:
    return "matching" if r.method == "matching" else "weighting"


def balance_table(te: Any, i: int, number: int) -> TableModel:
    r = te.result
    after = "matched" if r.method == "matching" else "weighted"
    columns = [
        Column("variable", "Variable"),
        Column("t0", f"{te.treated_level}, before", "right"),
        Column("c0", f"{te.control_level}, before", "right"),
        Column("smd0", "SMD before", "right"),
        Column("t1", f"{te.treated_level}, {after}", "right"),
        Column("c1", f"{te.control_level}, {after}", "right"),
        Column("smd1", f"SMD {after}", "right"),
        Column("vr", "Variance ratio before / after", "right"),
    ]
    rows: list[Row] = []
    notes: list[Note] = []
    seen: set[str] = set()
    for b in r.balance:
        label = str(te.labels.get(b.variable, b.variable))
        if b.level is not None and b.variable not in seen:
            rows.append(Row("label", {"variable": label}, variable=b.variable))
        seen.add(b.variable)
        cells = {
            "variable": label if b.level is None else str(b.level),
            "t0": _mean(b.mean_treated_before, b.binary),
            "c0": _mean(b.mean_control_before, b.binary),
            "smd0": fmt.number(b.smd_before, 3),
            "t1": _mean(b.mean_treated_after, b.binary),
            "c1": _mean(b.mean_control_after, b.binary),
            "smd1": fmt.number(b.smd_after, 3),
            "vr": ""
            if b.variance_ratio_before is None
            else f"{_opt(b.variance_ratio_before)} / {_opt(b.variance_ratio_after)}",
        }
        if b.imbalanced:
            notes.append(
                Note(
                    len(rows),
                    f"|SMD| > 0.1 after {_adjusted_word(r)}: {label}"
                    + (f" = {b.level}" if b.level is not None else "")
                    + " is not balanced.",
                    "smd1",
                )
            )
        rows.append(
            Row(
                "summary" if b.level is None else "level",
                cells,
                indent=0 if b.level is None else 1,
                variable=b.variable,
                level=b.level,
            )
        )
    denom = (
        "the treated group's standard deviation"
        if r.estimand == "ATT"
        else "the pooled standard deviation sqrt((s₁² + s₀²)/2)"
    )
    foot = [
        f"Means (continuous variables) or percentages (levels) per group, before adjustment "
        f"(all {fmt.count(r.flow['n_complete'])} complete cases) and after {_adjusted_word(r)}"
        f" ({'weighted means' if r.method == 'weighting' else 'matching weights'}). "
        f"SMD, standardised mean difference (treated − control) / {denom} of the unadjusted "
        "sample (s² = p(1−p) for a level); variance ratio treated / control (weighted), "
        "continuous variables only.",
        f"Effective sample size (Kish) after {_adjusted_word(r)}: "
        f"{fmt.number(r.ess_treated, 1)} treated ({fmt.count(r.n_treated)} patients), "
        f"{fmt.number(r.ess_control, 1)} control ({fmt.count(r.n_control)} patients).",
    ]
    return TableModel(
        key=balance_key(i),
        title=f"Table {number}. Balance of the confounders: {te.name}",
        columns=columns,
        rows=rows,
        footnotes=foot,
        notes=notes,
    )


def _hr(h: Any) -> str:
    if h is None or not getattr(h, "estimable", True) or not math.isfinite(h.hr):
        return fmt.not_estimable()
    return fmt.hr_ci_text(h.hr, h.lower, h.upper)


def _p(p: float | None) -> str:
    return "" if p is None or not math.isfinite(p) else fmt.p_value(p)


def effect_table(te: Any, i: int, number: int) -> TableModel:
    r = te.result
    pct = f"{_num(round(r.conf_level * 100, 1))}%"
    columns = [
        Column("analysis", "Analysis"),
        Column("patients", "Patients (treated / control)", "right"),
        Column("events", "Events", "right"),
        Column("hr", f"HR ({pct} CI)", "right"),
        Column("p", "p", "right"),
    ]
    n1 = int(r.treated.sum())
    n0 = int(r.treated.size - n1)
    rows = [
        Row(
            "summary",
            {
                "analysis": "Crude (Cox, treatment only)",
                "patients": f"{fmt.count(n1)} / {fmt.count(n0)}",
                "events": fmt.count(r.crude.events),
                "hr": _hr(r.crude),
                "p": _p(r.crude.p_value),
            },
        )
    ]
    if r.adjusted is not None:
        rows.append(
            Row(
                "summary",
                {
                    "analysis": "Multivariable-adjusted (Cox with the confounders)",
                    "patients": f"{fmt.count(n1)} / {fmt.count(n0)}",
                    "events": fmt.count(r.adjusted.events),
                    "hr": _hr(r.adjusted),
                    "p": _p(r.adjusted.p_value),
                },
            )
        )
    label = (
        f"Propensity-score matched 1:{r.matching.ratio} (ATT)"
        if r.method == "matching"
        else f"Propensity-score weighted ({r.estimand})"
    )
    rows.append(
        Row(
            "summary",
            {
                "analysis": label,
                "patients": f"{fmt.count(r.n_treated)} / {fmt.count(r.n_control)}",
                "events": fmt.count(int(r.curves[0].events + r.curves[1].events)),
                "hr": fmt.hr_ci_text(r.hr, r.lower, r.upper)
                if math.isfinite(r.hr)
                else fmt.not_estimable(),
                "p": _p(r.p_value),
            },
        )
    )
    var = (
        "robust SE clustered on the matched sets"
        if r.method == "matching"
        else "robust (sandwich) SE"
    )
    flow = r.flow
    lost = (
        f"{fmt.count(flow['n_unmatched_treated'])} treated and "
        f"{fmt.count(flow['n_unmatched_control'])} control patients not matched"
        if r.method == "matching"
        else f"{fmt.count(flow['n_trimmed'])} left out by trimming"
        if flow.get("n_trimmed")
        else "none left out"
    )
    foot = [
        f"HR of {te.treated_level} vs {te.control_level} ({te.treatment_label}) for "
        f"{_lower_first(te.endpoint_label)}; Wald {pct} CI and p. Propensity-score row: {var}.",
        f"{fmt.count(te.n_known)} patients with a known endpoint; "
        f"{fmt.count(flow['n_dropped'])} with a missing treatment or confounder left out "
        f"(complete cases: {fmt.count(flow['n_complete'])}); {lost}.",
        # imbalance notes stand on their rows of the balance table
        *(n.rstrip(".") + "." for n in te.notes if "standardised mean difference" not in n),
    ]
    return TableModel(
        key=effect_key(i),
        title=f"Table {number}. Treatment effect: {te.name}",
        columns=columns,
        rows=rows,
        footnotes=foot,
    )


def landmark_table(te: Any, i: int, number: int, time_unit: str) -> TableModel | None:
    r = te.result
    if not r.at:
        return None
    pct = f"{_num(round(r.conf_level * 100, 1))}%"
    adj = "matched" if r.method == "matching" else "weighted"
    columns = [
        Column("time", f"Time ({time_unit})"),
        Column("treated", f"{te.treated_level}, % ({pct} CI)", "right"),
        Column("control", f"{te.control_level}, % ({pct} CI)", "right"),
        Column("difference", f"Difference, % points ({pct} CI)", "right"),
        Column("risk", "At risk (treated / control)", "right"),
    ]
    rows: list[Row] = []
    notes: list[Note] = []
    for a in r.at:
        if a.beyond_follow_up:
            notes.append(Note(len(rows), "Beyond the follow-up of a group.", "time"))
        rows.append(
            Row(
                "summary",
                {
                    "time": _num(a.time),
                    "treated": fmt.percent_ci(a.treated, a.treated_lower, a.treated_upper),
                    "control": fmt.percent_ci(a.control, a.control_lower, a.control_upper),
                    "difference": fmt.estimate_ci(
                        100 * a.difference,
                        100 * a.difference_lower,
                        100 * a.difference_upper,
                        digits=1,
                    ),
                    "risk": f"{fmt.count(int(a.n_risk_treated))} / "
                    f"{fmt.count(int(a.n_risk_control))}",
                },
            )
        )
    return TableModel(
        key=landmark_key(i),
        title=f"Table {number}. Adjusted survival ({adj} Kaplan–Meier): {te.name}",
        columns=columns,
        rows=rows,
        footnotes=[
            f"{adj.capitalize()} Kaplan–Meier estimates with robust (infinitesimal-jackknife) "
            f"{pct} CI ({r.conf_type} transformation); difference treated − control with a "
            "Wald CI, the groups' variances added. At risk: unweighted patients."
        ],
        notes=notes,
    )


def not_estimable_table(te: Any, i: int, number: int) -> TableModel:
    return TableModel(
        key=effect_key(i),
        title=f"Table {number}. Treatment effect: {te.name}",
        columns=[Column("analysis", "Analysis"), Column("hr", "HR", "right")],
        rows=[
            Row(
                "summary",
                {"analysis": "Propensity-score analysis", "hr": fmt.not_estimable()},
            )
        ],
        footnotes=[f"NE, not estimable: {te.reason}".rstrip(".") + "."],
    )


def treatment_tables(results: Any, number: int) -> list[TableModel]:
    """The tables of every comparison, numbered from ``number``."""
    out: list[TableModel] = []
    for i, te in enumerate(getattr(results, "treatment_effect", ()) or (), start=1):
        if te.result is None:
            out.append(not_estimable_table(te, i, number))
            number += 1
            continue
        out.append(balance_table(te, i, number))
        out.append(effect_table(te, i, number + 1))
        number += 2
        lm = landmark_table(te, i, number, results.time_unit)
        if lm is not None:
            out.append(lm)
            number += 1
    return out

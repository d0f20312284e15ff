"""``build_bundle``: StudyResults -> ReportBundle (tables, figures, methods, warnings).

Tables come from :mod:`survstudy.tables.study`, figures from :mod:`survstudy.plots`
(drawn lazily, one at a time, when the writer saves them); the methods paragraph
is worded here from the pipeline's plain ``methods`` facts.
"""

from __future__ import annotations

import math
from typing import Any

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
    references_of,
)

__all__ = ["build_bundle", "figure_specs"]


def _flow(results: Any) -> list[FlowStep]:
    """CONSORT-style boxes: the rows read, then after each exclusion the patients remaining.

    A step's ``reason`` (plain words) labels the side box; the spec expression in
    its ``description`` is not shown. Steps that exclude nobody add no box.
    """
    flow = list(results.flow)
    if not flow:
        return [FlowStep("Patients analysed", int(results.n))]
    first = flow[0]
    if int(first.get("n_excluded", 0)):
        steps = [FlowStep("Patients in the data file", int(first.get("n_before", 0)))]
        rest = flow
    else:
        steps = [
            FlowStep(
                str(first.get("description", "") or "Patients in the data file"),
                int(first.get("n_after", 0)),
            )
        ]
        rest = flow[1:]
    rest = [d for d in rest if int(d.get("n_excluded", 0))]
    for i, d in enumerate(rest):
        last = i == len(rest) - 1
        steps.append(
            FlowStep(
                "Included in the analysis" if last else "Remaining",
                int(d.get("n_after", 0)),
                int(d.get("n_excluded", 0)),
                str(d.get("reason", "") or d.get("description", "") or ""),
            )
        )
    return steps


def _plain_message(q: dict[str, Any]) -> str:
    """The note without a leading "warning: [CODE] " (severity and code have their own columns)."""
    msg = str(q.get("message", ""))
    prefix = f"{q.get('severity', '')}: [{q.get('code', '')}] "
    return msg[len(prefix) :] if msg.startswith(prefix) else msg


def _quality(results: Any) -> list[QualityNote]:
    out = []
    for q in getattr(results, "quality_issues", ()) or ():
        row = q.get("row")
        out.append(
            QualityNote(
                code=str(q.get("code", "")),
                severity=str(q.get("severity", "note")),
                message=_plain_message(q),
                row=int(row) if row is not None else None,
                column=q.get("column"),
            )
        )
    if not out:
        out = [QualityNote(code="", severity="note", message=str(m)) for m in results.quality]
    return out


def _km_extras(k: Any, level: float) -> str:
    """The caption's sentences on the CI band and on where the curves stop (issue 22 item 8)."""
    out = ""
    if getattr(k, "ci", False):
        out += f" Shaded: pointwise {level * 100:g}% confidence band."
    n = int(getattr(k, "min_at_risk", 0) or 0)
    cut = [g for g in k.groups if getattr(g, "curtail_time", None) is not None]
    if n and cut:
        which = "Each curve stops" if len(k.groups) > 1 else "The curve stops"
        out += f" {which} after the last time at which at least {n} patients were at risk."
        small = [g for g in k.groups if g.n < n]
        if small:
            out += f" Groups of fewer than {n} patients are drawn whole."
    return out


def _count(n: int) -> str:
    from survstudy.tables import format as fmt

    return fmt.count(n)


def _n_events_caption(rows: Any) -> str:
    """The patients and events of the univariable models (issue 22 item 8): one phrase when
    every factor's model has the same, else each factor's."""
    from survstudy.tables import format as fmt

    firsts = [r for r in rows if r.kind in ("header", "continuous", "spline") and r.n is not None]
    by = {r.variable: (r.label, r.n, r.events) for r in firsts}
    counts = {(n, e) for _, n, e in by.values()}
    if not counts:
        return ""
    if len(counts) == 1:
        n, e = next(iter(counts))
        return f" Each model: {fmt.count(n)} patients, {fmt.count(e)} events."
    each = (f"{label} {fmt.count(n)}, {fmt.count(e)}" for label, n, e in by.values())
    return " Patients and events of each model: " + "; ".join(each) + "."


def _forest_rows(rows: Any) -> list[Any]:
    from survstudy.plots import ForestRow
    from survstudy.tables import format as fmt
    from survstudy.tables.study import row_label

    scaled = {r.variable for r in rows if r.kind == "continuous" and r.per not in (None, 1)}
    out = []
    for r in rows:
        if r.kind == "continuous" and r.variable in scaled and r.per in (None, 1):
            continue
        if r.kind == "header":
            p = r.overall_p
            out.append(
                ForestRow(
                    label=r.label, is_header=True, p_text=fmt.p_value(p) if math.isfinite(p) else ""
                )
            )
            continue
        if r.kind == "spline":
            from survstudy.tables.study import SPLINE_HR

            p = r.overall_p
            out.append(
                ForestRow(
                    label=row_label(r),
                    hr_text=SPLINE_HR,
                    p_text=fmt.p_value(p) if math.isfinite(p) else "",
                )
            )
            continue
        cont = r.kind == "continuous"
        f = r.firth
        if not r.estimable and f is not None and math.isfinite(f.hr):
            # the ordinary estimate does not exist: plot the Firth estimate, marked
            out.append(
                ForestRow(
                    label=(row_label(r) if cont else str(r.level)) + " (Firth)",
                    hr=f.hr,
                    lower=f.lower,
                    upper=f.upper,
                    p_text=fmt.p_value(f.p_value) if math.isfinite(f.p_value) else "",
                    indent=0 if cont else 1,
                )
            )
            continue
        out.append(
            ForestRow(
                label=row_label(r) if cont else str(r.level),
                hr=r.hr,
                lower=r.lower,
                upper=r.upper,
                p_text=fmt.p_value(r.p_value) if math.isfinite(r.p_value) else "",
                is_reference=r.reference,
                not_estimable=not r.estimable,
                indent=0 if cont else 1,
            )
        )
    return out


def _firth_caption(rows: Any) -> str:
    if any(not r.estimable and r.firth is not None for r in rows):
        return (
            " Rows marked (Firth): the ordinary estimate does not exist (monotone likelihood); "
            "Firth-penalised estimate with profile penalised-likelihood CI and p."
        )
    return ""


def _lower_first(text: str) -> str:
    """'Overall survival' -> 'overall survival'; 'PFS' and 'Ki-67' stay as they are."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _drawer(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """A callable that draws the figure when the writer needs it."""

    def draw() -> Any:
        return fn(*args, **kwargs).figure

    return draw


def figure_specs(results: Any) -> list[FigureSpec]:
    """KM curves per endpoint/factor, then forest plots; each drawn when written."""
    from survstudy.plots import plot_forest, plot_hr_curve, plot_km_curves, plot_ph_residuals
    from survstudy.tables.format import count

    figs: list[FigureSpec] = []
    unit = results.time_unit
    for k in results.km:
        what = _lower_first(k.endpoint_label) + (
            f" by {_lower_first(k.by_label)}" if k.by_label else ""
        )
        if getattr(k, "kind", "km") == "cif":
            figs.append(
                FigureSpec(
                    k.key,
                    _cif_caption(k, what, unit),
                    draw=_drawer(plot_km_curves, k),
                    cost=2 * _km_cost(k),
                )
            )
            continue
        caption = f"Kaplan–Meier estimate of {what}"
        if k.tests and len(k.groups) > 1:
            label = str(k.tests[0].label)
            if label.lower().startswith("log-rank"):
                label = "log-rank"  # a common noun mid-sentence; named tests keep their capital
            caption += f"; {label} test"
            perm = getattr(k, "permutation", None)
            if perm is not None and getattr(k, "few_events", False):
                caption = caption.removesuffix(f"; {label} test") + (
                    "; fewer than 10 events: the "
                    + ("exact" if perm.method == "exact" else "Monte-Carlo")
                    + f" permutation p of the log-rank test is the p of the comparison, the "
                    f"chi-square {label} p beside it"
                )
            elif perm is not None:
                caption += (
                    " with the exact permutation p"
                    if perm.method == "exact"
                    else " with the Monte-Carlo permutation p "
                    f"({count(perm.n_resamples)} seeded permutations)"
                ) + (" (a group expects fewer than 5 events)" if perm.option == "auto" else "")
        caption += f". Time in {unit}; number at risk under the x-axis." + _km_extras(
            k, results.profile.conf_level
        )
        figs.append(FigureSpec(k.key, caption, draw=_drawer(plot_km_curves, k), cost=_km_cost(k)))
    for lm in getattr(results, "landmark", ()):
        k = lm.km
        caption = (
            f"Kaplan–Meier estimate of {_lower_first(lm.endpoint_label)} from the landmark at "
            f"{lm.at:g} {unit}, by {_lower_first(lm.by_label)} at the landmark "
            f"({count(lm.n)} patients; {count(lm.excluded)} with an event or censored before "
            "it excluded)"
            + ("; log-rank test" if lm.logrank is not None else "")
            + f". Time in {unit} from the landmark; number at risk under the x-axis."
        )
        figs.append(FigureSpec(k.key, caption, draw=_drawer(plot_km_curves, k)))
    for ep, uni in results.univariable.items():
        rows = _forest_rows(uni.rows)
        if any(not getattr(r, "is_header", False) for r in rows):
            figs.append(
                FigureSpec(
                    f"forest_univariable_{ep}",
                    f"Univariable {_hr_kind(uni.rows)} (95% CI) for "
                    f"{_lower_first(uni.endpoint_label)}."
                    + _n_events_caption(uni.rows)
                    + _firth_caption(uni.rows),
                    draw=_drawer(plot_forest, rows, title=None),
                )
            )
    for i, m in enumerate(results.multivariable, start=1):
        if not getattr(m, "estimable", True):
            continue  # a model that could not be fitted has no estimates to plot
        rows = _forest_rows(m.rows)
        figs.append(
            FigureSpec(
                f"forest_multivariable_{i}",
                f"Adjusted {_model_hr_kind(m)} (95% CI): {m.name} "
                f"({_lower_first(m.endpoint_label)}); {_count(m.n)} patients, "
                f"{_count(m.events)} events." + _firth_caption(m.rows),
                draw=_drawer(plot_forest, rows, title=None),
            )
        )
    curves = [(ep, None, c) for ep, uni in results.univariable.items() for c in uni.splines]
    curves += [(m.endpoint, m.name, c) for m in results.multivariable for c in m.splines]
    for i, (ep, name, c) in enumerate(curves, start=1):
        endpoint = (
            results.univariable[ep].endpoint_label
            if name is None
            else next(m.endpoint_label for m in results.multivariable if m.name == name)
        )
        unit = f" {c.unit}" if c.unit else ""
        figs.append(
            FigureSpec(
                f"hr_curve_{i}",
                f"Hazard ratio of {_lower_first(endpoint)} by {_lower_first(c.label)}, "
                + ("univariable" if name is None else f"adjusted ({name})")
                + f", against the reference value {c.reference:g}{unit} (dot): restricted cubic "
                f"spline with {len(c.knots)} knots at Harrell's quantiles (ticks on the x-axis), "
                f"pointwise {round(c.conf_level * 100, 1):g}% CI (shaded). Overall and "
                "non-linearity p from likelihood-ratio tests (spline against no term and "
                "against a linear term).",
                draw=_drawer(plot_hr_curve, c),
            )
        )
    for i, m in enumerate(results.multivariable, start=1):
        plots = getattr(m, "ph_plots", ())
        if plots:
            figs.append(
                FigureSpec(
                    f"ph_residuals_multivariable_{i}",
                    f"Scaled Schoenfeld residuals: {m.name} "
                    f"({_lower_first(m.endpoint_label)}). Points, scaled Schoenfeld residuals of "
                    "each covariate against time on the Kaplan–Meier scale; solid line, "
                    "natural-spline smooth (4 df) estimating the coefficient β(t); dashed, "
                    "±2 SE; dotted, the model's constant coefficient (for a factor with "
                    "several levels, β(t)/β̂ and 1). A smooth that leaves the dotted line "
                    "shows a hazard ratio changing over follow-up (as R's plot(cox.zph(fit)), "
                    "Grambsch and Therneau 1994)." + _thinned_caption(plots),
                    draw=_drawer(plot_ph_residuals, plots),
                    cost=1.0 + len(plots),
                )
            )
    figs.extend(_treatment_figures(results))
    return figs


def _km_cost(k: Any) -> float:
    """A KM figure's drawing work, for the writer's order: its curves and the risk table
    (a forest plot counts one, the β(t) figure one and one per panel: at 10^6 rows its six
    panels of residuals took 1.8 s, a KM figure of three groups 1.5 s, a forest plot 0.5 s)."""
    return 2.0 + len(k.groups)


def _thinned_caption(panels: Any) -> str:
    """The caption's note when a β(t) panel draws fewer residuals than it has."""
    from survstudy.plots import MAX_PH_POINTS
    from survstudy.tables.format import count

    most = max((0 if p.y is None else len(p.y) for p in panels), default=0)
    if most <= MAX_PH_POINTS:
        return ""
    return (
        f" With up to {count(most)} residuals per covariate, at most {count(MAX_PH_POINTS)} of those "
        "within the plotted range are drawn, evenly spaced in time order (the smooth and the "
        "test use them all)."
    )


def _cif_caption(k: Any, what: str, unit: str) -> str:
    """The caption of a cumulative-incidence figure (an endpoint with competing events)."""
    caption = (
        f"Cumulative incidence of {what} (solid lines) and of {k.competing_label} as a "
        "competing event (dashed lines), Aalen–Johansen estimates"
    )
    if k.gray is not None:
        caption += "; Gray's test of the event across the groups"
    return (
        caption + f". Time in {unit}; under the x-axis the number of patients still event-free "
        "and under observation."
    )


def _hr_kind(rows: Any) -> str:
    """``hazard ratios``, or ``cause-specific hazard ratios`` on a competing-risks endpoint."""
    sub = any(getattr(r, "subdistribution", False) for r in rows)
    return "cause-specific hazard ratios" if sub else "hazard ratios"


def _model_hr_kind(m: Any) -> str:
    if getattr(m, "model", "cox") == "fine-gray":
        return "subdistribution hazard ratios"
    return "cause-specific hazard ratios" if getattr(m, "competing", False) else "hazard ratios"


def _treatment_figures(results: Any) -> list[FigureSpec]:
    """Per treatment comparison: adjusted curves, Love plot, propensity-score overlap."""
    from survstudy.plots.propensity import plot_adjusted_km, plot_love, plot_overlap

    figs: list[FigureSpec] = []
    unit = results.time_unit
    for i, te in enumerate(getattr(results, "treatment_effect", ()) or (), start=1):
        r = te.result
        if r is None:
            continue
        adj = "matched" if r.method == "matching" else "weighted"
        how = (
            f"1:{r.matching.ratio} nearest-neighbour matching on the logit of the propensity score"
            if r.method == "matching" and r.matching is not None
            else f"{r.estimand} weights"
            + (
                " (stabilised)"
                if r.estimand == "ATE" and r.weighting is not None and r.weighting.stabilised
                else ""
            )
        )
        figs.append(
            FigureSpec(
                f"treatment_{i}_km",
                f"{te.name}: {adj} Kaplan–Meier estimate of {_lower_first(te.endpoint_label)} "
                f"by {_lower_first(te.treatment_label)} ({how}), with robust "
                f"{_pct(r.conf_level)} confidence bands; the hazard ratio is from the {adj} "
                f"Cox model. Time in {unit}. The numbers at risk under the x-axis are "
                "unweighted patients"
                + (" of the matched sample." if r.method == "matching" else ", not weights."),
                draw=_drawer(plot_adjusted_km, te, unit),
            )
        )
        figs.append(
            FigureSpec(
                f"treatment_{i}_love",
                f"{te.name}: Love plot — absolute standardised mean difference of each "
                f"confounder before and after {'matching' if r.method == 'matching' else 'weighting'}; "
                "dashed line at 0.1.",
                draw=_drawer(plot_love, te),
            )
        )
        figs.append(
            FigureSpec(
                f"treatment_{i}_overlap",
                f"{te.name}: propensity scores of the {_n(int(r.treated.sum()))} treated "
                f"({te.treated_level}, above the axis) and {_n(int((~r.treated).sum()))} control "
                f"({te.control_level}, below) patients with complete data, in bins of 0.05.",
                draw=_drawer(plot_overlap, te),
            )
        )
    return figs


def _pct(level: float) -> str:
    return f"{float(level) * 100:g}%"


def _n(k: int) -> str:
    from survstudy.tables.format import count

    return count(k)


def _treatment_sections(results: Any) -> list[ReportSection]:
    from survstudy.tables.treatment import balance_key, effect_key, landmark_key

    out: list[ReportSection] = []
    for i, te in enumerate(getattr(results, "treatment_effect", ()) or (), start=1):
        figs: tuple[str, ...] = ()
        tables: tuple[str, ...] = (effect_key(i),)
        if te.result is not None:
            figs = (f"treatment_{i}_km", f"treatment_{i}_love", f"treatment_{i}_overlap")
            tables = (balance_key(i), effect_key(i), landmark_key(i))
        out.append(
            ReportSection(
                title=f"Treatment comparison: {te.name}",
                tables=tables,
                figures=figs,
                paragraphs=(" ".join(te.methods),) if te.methods else (),
                heading="Methods of this comparison",
            )
        )
    return out


def pipeline_methods(methods: dict[str, Any]) -> dict[str, Any]:
    """The pipeline's methods facts in :func:`methods_paragraph`'s vocabulary."""
    m = dict(methods)
    out: dict[str, Any] = {"survival": "Kaplan–Meier"}
    cite = {"survival": "Kaplan and Meier 1958"}
    if m.get("km_ci"):
        out["ci_text"] = str(m["km_ci"]).replace(
            "(Greenwood variance)", "(Greenwood variance; Greenwood 1926)"
        )
    out["conf_level"] = m.get("conf_level", 0.95)
    rule = m.get("median_rule")
    if rule == "r":
        out["median"] = (
            "the first time at which the survival curve fell to 0.5 or below (the midpoint of "
            "the flat segment where the curve equals 0.5 exactly, as in R's survival package), "
            f"with its confidence interval read off the {m.get('conf_type', 'log-log')} "
            "confidence band of the curve (Brookmeyer and Crowley 1982)"
        )
    elif rule == "spss":
        out["median"] = (
            "the first time at which the survival curve fell to 0.5 or below, with a 95% "
            "confidence interval of median ± 1.96 × SE, as SPSS 25 reports it"
        )
    if m.get("followup"):
        out["followup"] = m["followup"]
        cite["followup"] = "Schemper and Smith 1996"
    # only the methods used (issue 22 item 6); older results without the flags use both
    if m.get("tests") and m.get("logrank_used", True):
        out["tests"] = list(m["tests"])
        cite["tests"] = "; ".join(
            "Mantel 1966" if t.lower().startswith("log-rank") else "Breslow 1970"
            for t in m["tests"]
        )
    ties = m.get("ties")
    if ties and m.get("cox_used", True):
        out["cox"] = (
            "Hazard ratios with 95% confidence intervals were estimated by Cox "
            "proportional-hazards regression (Cox 1972)"
        ).replace("95%", f"{float(out['conf_level']) * 100:g}%")
        out["ties"] = "Efron" if ties == "efron" else "Breslow"
        cite["ties"] = "Efron 1977" if ties == "efron" else "Breslow 1974"
        out["ph_test"] = (
            "the Grambsch–Therneau score test of scaled Schoenfeld residuals on the "
            "Kaplan–Meier time scale, as R's cox.zph (Grambsch and Therneau 1994)"
        )
    if m.get("software"):
        soft = str(m["software"])
        if m.get("verified_against"):
            soft += (
                f"; the numbers were verified against {m['verified_against']} in the test "
                "suite (Therneau 2023)"
            )
        out["software"] = [soft]
    # The pipeline's own complete sentences (endpoint definitions, summaries, HR scaling,
    # models, units, alpha) follow the estimator facts.
    extra = [str(x) for x in m.get("sentences", []) or []]
    out["cite"] = cite
    # the profile's name ("standard") is jargon: its conventions are the sentences above
    if extra:
        out["extra"] = extra
    return out


def _warnings(results: Any, tables: list[Any]) -> list[ReportWarning]:
    from survstudy.report import _tables as T
    from survstudy.tables.study import multivariable_key

    keys = {T.key(t): t for t in tables}
    shown = {
        k: " ".join([*(c for _, cells in T.rows(t) for c in cells), *T.footnotes(t)])
        for k, t in keys.items()
    }
    # Tables with their own row notes or a Note column show their warnings themselves.
    owns = {
        k
        for k, t in keys.items()
        if getattr(t, "notes", ()) or any(c == "note" for c, _ in T.columns(t))
    }
    out: list[ReportWarning] = []
    seen: set[tuple[str | None, str]] = set()
    for w in results.warnings:
        table: str | None = None
        if w.section == "survival" and "survival" in keys:
            table = "survival"
        elif w.section == "univariable" and f"univariable_{w.endpoint}" in keys:
            table = f"univariable_{w.endpoint}"
        elif w.section == "multivariable":
            own = multivariable_key(w.model) if w.model else None
            table = (
                own
                if own in keys
                else next((k for k in keys if k.startswith("multivariable")), None)
            )
        elif w.section == "table1" and "table1" in keys:
            table = "table1"
        elif w.section == "treatment_effect":
            # the comparison's tables print its warnings (balance rows, footnotes)
            continue
        if table is not None and (table in owns or w.message in shown.get(table, "")):
            continue  # the table model prints it next to its number
        if (table, w.message) in seen:
            continue
        seen.add((table, w.message))
        out.append(ReportWarning(message=w.message, code=w.code, table=table))
    return out


def build_bundle(results: Any, *, tiff: bool = False) -> ReportBundle:
    """The report bundle of a :class:`~survstudy.pipeline.StudyResults`.

    ``tiff=True`` makes :func:`write_report` also write TIFF figures.
    """
    from survstudy.tables.study import results_document, study_tables

    tables = study_tables(results)
    prov = results.provenance
    return ReportBundle(
        title=results.title,
        subtitle=results.description or "",
        banner=SYNTHETIC_BANNER if results.synthetic else "",
        flow=_flow(results),
        quality=_quality(results),
        tables=tables,
        figures=figure_specs(results),
        methods=(methods := methods_paragraph(pipeline_methods(results.methods))),
        references=references_of(methods),
        warnings=_warnings(results, tables),
        provenance=Provenance(
            input_sha256=prov.input_sha256,
            spec_sha256=prov.spec_sha256,
            versions=dict(prov.versions),
            command="survstudy run",
            date=prov.generated,
        ),
        results=results_document(results, tables),
        tiff=tiff,
        sections=_treatment_sections(results),
    )

"""Cox regression from a DataFrame: the front end of ``survstudy cox``.

:func:`cox` types the columns with the command's code (:mod:`survstudy.api._input`),
codes the design as the command does (numbers as numbers; ``categorical`` columns
dummy-coded by :func:`survstudy.stats.cox.dummy_code` against their first level or
``reference``) and fits with the same function of :mod:`survstudy.stats`
(:func:`~survstudy.stats.cox.cox_fit`, or :func:`~survstudy.stats.firth.cox_fit_firth`,
:func:`~survstudy.stats.firth.cox_fit_ci`). :meth:`CoxFit.to_dict` is the command's
``--json`` object. Nothing here computes a statistic.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from survstudy.api._input import (
    check_column_names,
    check_id,
    check_missing,
    interval_starts,
    read_columns,
)
from survstudy.errors import AnalysisError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from survstudy.stats.cox import CoxResult

__all__ = ["CoxFit", "cox"]


def _nan(x: Any) -> float:
    return float("nan") if x is None else float(x)


@dataclass(frozen=True)
class CoxFit:
    """A fitted Cox proportional-hazards model.

    ``result`` is the :class:`~survstudy.stats.cox.CoxResult` (``coef``, ``se``, ``var``,
    ``terms``, ``tests``, ``concordance``, ``ph``, ``baseline``; a Firth fit when
    ``result.method == "firth"``). ``covariates`` are the columns in model order,
    ``references`` the reference level of each categorical one; terms are named
    ``column`` or ``column[level]``.
    """

    time: str
    event: str
    covariates: tuple[str, ...]
    references: Mapping[str, Any]
    strata: str | None
    cluster: str | None
    result: CoxResult
    n_read: int
    levels: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    start: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The object ``survstudy cox --json`` prints (same keys, unrounded, ``None`` for NA)."""
        return self.result.to_dict()

    def to_frame(self) -> pd.DataFrame:
        """One row per term: ``term, variable, coef, std_error, robust_std_error, hr, conf_low,
        conf_high, statistic, p_value, estimable, lr_p_value`` (hazard-ratio limits at
        ``result.conf_level``; Wald, or profile likelihood with ``ci="profile"``/``firth``)."""
        import pandas as pd

        res = self.result
        assign = res.assign or res.term_names
        rows = []
        for t, var in zip(res.terms, assign, strict=True):
            rows.append(
                {
                    "term": t.term,
                    "variable": var,
                    "coef": _nan(t.coef),
                    "std_error": _nan(t.se),
                    "robust_std_error": _nan(t.robust_se),
                    "hr": _nan(t.hr),
                    "conf_low": _nan(t.lower),
                    "conf_high": _nan(t.upper),
                    "statistic": _nan(t.z),
                    "p_value": _nan(t.p_value),
                    "estimable": bool(t.estimable),
                    "lr_p_value": _nan(t.lr_p_value),
                }
            )
        return pd.DataFrame(rows)

    def glance(self) -> pd.DataFrame:
        """One row for the model: ``n, events, n_dropped, iterations, converged, loglik,
        loglik_null, test, statistic, df, p_value`` (the likelihood-ratio test),
        ``concordance, concordance_std_error, ties, method, ci_method``."""
        import pandas as pd

        res = self.result
        lr = res.tests["likelihood_ratio"]
        conc = res.concordance
        return pd.DataFrame(
            [
                {
                    "n": res.n,
                    "events": res.events,
                    "n_dropped": res.n_dropped,
                    "iterations": res.iterations,
                    "converged": res.converged,
                    "loglik": float(res.loglik),
                    "loglik_null": float(res.loglik_null),
                    "test": "likelihood ratio",
                    "statistic": _nan(lr.statistic),
                    "df": lr.df,
                    "p_value": _nan(lr.p_value),
                    "concordance": float("nan") if conc is None else _nan(conc.c),
                    "concordance_std_error": float("nan") if conc is None else _nan(conc.se),
                    "ties": res.ties,
                    "method": res.method,
                    "ci_method": res.ci_method,
                }
            ]
        )

    def _model(self) -> Any:
        from survstudy.tables import format as fmt
        from survstudy.tables.model import Column, Row, TableModel

        res = self.result
        pct = f"{res.conf_level * 100:g}%"
        robust = any(t.robust_se is not None for t in res.terms)
        cols = [Column("term", "Term"), Column("coef", "coef", "right")]
        cols.append(Column("se", "SE", "right"))
        if robust:
            cols.append(Column("robust_se", "Robust SE", "right"))
        cols += [Column("hr", f"HR ({pct} CI)", "right"), Column("p", "p", "right")]
        rows = []
        for t in res.terms:
            if not t.estimable:
                p = "" if t.lr_p_value is None else f"LR {fmt.p_value(t.lr_p_value)}"
                cells = {"term": t.term, "hr": fmt.not_estimable(), "p": p}
            else:
                cells = {
                    "term": t.term,
                    "coef": fmt.number(t.coef, 3),
                    "se": fmt.number(t.se, 3),
                    "hr": fmt.hr_ci_text(t.hr, _nan(t.lower), _nan(t.upper)),
                    "p": fmt.p_value(t.p_value),
                }
                if t.robust_se is not None:
                    cells["robust_se"] = fmt.number(t.robust_se, 3)
            rows.append(Row("level", cells))
        return TableModel(id="cox", columns=cols, rows=rows)

    def _lines(self) -> tuple[str, list[str]]:
        from survstudy.tables import format as fmt

        res = self.result
        kind = "Firth-penalised Cox model" if res.method == "firth" else "Cox model"
        strata = f", stratified by {self.strata}" if self.strata else ""
        if self.start is not None:
            kind += ", (start, stop] intervals"
        title = f"{kind} ({res.ties} ties){strata}: time {self.time}, event {self.event}"
        lines = [
            f"n = {res.n}, events = {res.events}, {res.n_dropped} rows dropped (missing values)"
        ]
        if not res.converged:
            lines.append("the fit did not converge")
        if res.ci_method == "profile":
            lines.append("confidence limits: profile likelihood")
        for key, label in (
            ("likelihood_ratio", "Likelihood ratio"),
            ("wald", "Wald"),
            ("score", "Score"),
        ):
            tt = res.tests.get(key)
            if tt is not None and tt.p_value is not None:
                lines.append(
                    f"{label} test: {fmt.number(tt.statistic, 2)} on {tt.df} df, "
                    f"p {fmt.p_value(tt.p_value)}"
                )
        if res.concordance is not None and res.concordance.c is not None:
            c = res.concordance
            lines.append(f"Concordance: {fmt.number(c.c, 3)} (SE {fmt.number(c.se, 3)})")
        if res.ph is not None:
            g = res.ph.to_dict()["global"]
            lines.append(
                f"Proportional hazards (cox.zph, global): chi-square "
                f"{fmt.number(g['chisq'], 2)} on {g['df']} df, p {fmt.p_value(g['p_value'])}"
            )
        lines += [f"warning [{w.code}]: {w.message}" for w in res.warnings]
        return title, lines

    def summary(self, file: TextIO | None = None) -> None:
        """Print the hazard ratios with their CIs and p-values, and the model tests."""
        print(str(self), end="", file=file or sys.stdout)

    def __str__(self) -> str:
        from survstudy.api._display import render_text

        title, lines = self._lines()
        return render_text(title, [self._model()], lines)

    def _repr_html_(self) -> str:
        from survstudy.api._display import render_html

        title, lines = self._lines()
        return render_html(title, [self._model()], lines)

    def plot(self, ax: Axes | None = None, **options: Any) -> Axes:
        """A forest plot of the hazard ratios (categorical covariates with their reference
        level), drawn by :func:`survstudy.plots.plot_forest` on ``ax`` (a new pyplot figure
        when ``None``); ``options`` go to it (``title=…``, ``xlim=(0.1, 10)``). Returns the Axes.
        """
        from survstudy.api._plotting import forest_axes

        return forest_axes(self, ax, options)


def cox(
    data: Any,
    time: str,
    event: str,
    covariates: Sequence[str],
    categorical: Sequence[str] | None = None,
    reference: Mapping[str, Any] | None = None,
    strata: str | None = None,
    ties: str = "efron",
    robust: bool = False,
    cluster: str | None = None,
    firth: bool = False,
    *,
    ph_test: bool = False,
    ci: str | None = None,
    start: str | None = None,
    id: str | None = None,
    event_codes: Mapping[str, Sequence[Any]] | None = None,
    missing: str = "error",
) -> CoxFit:
    """Fit a Cox proportional-hazards model, as ``survstudy cox`` and R's ``coxph``.

    Maximises the partial likelihood (Efron's or Breslow's handling of ties) by
    Newton–Raphson with step halving and R's stopping rule (relative change in the
    log-likelihood ≤ 1e-9, at most 20 iterations); variance: the inverse information,
    or with ``robust``/``cluster`` the sandwich D'D of the dfbeta residuals (summed within
    clusters; Lin & Wei 1989). Cox (1972); Therneau & Grambsch (2000); R ``coxph``
    (survival 3.5). See :mod:`survstudy.stats.cox`.

    ``covariates``: column names, in model order; ``categorical``: those to dummy-code
    (levels sorted: numbers numerically, then text), against the first level or
    ``reference={"column": level}``; ``strata``: a column whose levels get their own
    baseline hazard; ``cluster``: robust standard errors summed within its levels.
    ``firth=True``: Firth's penalised likelihood (Heinze & Schemper 2001, R ``coxphf``),
    finite under monotone likelihood, with profile penalised-likelihood limits and
    likelihood-ratio p. ``ci="profile"``: profile-likelihood limits for the ordinary fit.
    ``ph_test=True``: the ``cox.zph`` test (KM transform). ``start``: the entry-time column
    of ``(start, time]`` rows — time-dependent covariates or delayed entry, as
    ``coxph(Surv(start, stop, event) ~ …)``; ``id``: their patient column (intervals
    checked; ``robust=True`` then clusters on the patient). The event column and
    ``missing`` as :func:`kaplan_meier` (the columns: time, event, ``start``, ``strata``,
    the covariates, ``cluster``, ``id``; ``missing="drop"`` leaves the rows with a missing
    value out, ``n_dropped``, as ``survstudy cox`` does).

    Raises :class:`~survstudy.errors.DataError` for the data (the command's messages) and
    :class:`~survstudy.errors.AnalysisError` when the model cannot be fitted (no events, a
    constant covariate, collinear columns).
    """
    import numpy as np

    from survstudy.data.quick import cox_design
    from survstudy.stats.cox import cox_fit

    covs = [covariates] if isinstance(covariates, str) else list(covariates)
    cats = [categorical] if isinstance(categorical, str) else list(categorical or [])
    refs = dict(reference or {})
    check_column_names(
        time=time,
        event=event,
        covariates=covs,
        categorical=cats,
        strata=strata,
        cluster=cluster,
        start=start,
        id=id,
    )
    check_missing(missing)
    if ties not in ("efron", "breslow"):
        raise AnalysisError(f"ties must be efron or breslow, not {ties!r}")
    if ci is not None and ci not in ("wald", "profile"):
        raise AnalysisError(f"ci must be wald or profile, not {ci!r}")
    if firth and (robust or cluster is not None):
        raise AnalysisError("firth has no robust variance: leave out robust/cluster")
    if ci == "profile" and (robust or cluster is not None):
        raise AnalysisError(
            "ci='profile' uses the model-based likelihood: leave out robust/cluster"
        )
    check_id(start, id)
    if start is not None and firth:
        raise AnalysisError("firth is not available with start (interval data)")
    if start is not None and ci == "profile":
        raise AnalysisError("ci='profile' is not available with start (interval data)")
    if start is not None and robust and cluster is None and id is None:
        raise AnalysisError(
            "robust with start needs id (or cluster): the rows of one patient are not independent"
        )
    if not covs:
        raise AnalysisError("covariates needs at least one column")
    for c in cats:
        if c not in covs:
            raise AnalysisError(f"categorical {c} is not one of the covariates")
    for c in refs:
        if c not in cats:
            raise AnalysisError(f"reference {c}: not a categorical covariate")
    cols = read_columns(
        data,
        time,
        event,
        others=[start, strata, *covs, cluster, id],
        event_codes=event_codes,
        missing=missing,
        command="survstudy cox",
    )
    design = cox_design(cols, covs, cats, refs)
    x, names, assign = design.x, design.names, design.assign
    st = None if strata is None else np.array([str(v) for v in cols.others[strata]])
    cl = None if cluster is None else np.array([str(v) for v in cols.others[cluster]])
    t0 = interval_starts(cols, time, event, start, id)
    if t0 is not None and robust and cl is None and id is not None:
        cl = np.asarray(cols.others[id])  # R: robust with id= clusters on the patient
    common: dict[str, Any] = {
        "strata": st,
        "ties": ties,
        "term_names": names,
        "assign": assign,
        "ph_test": ph_test,
        "n_dropped": cols.n_dropped,
    }
    if firth:
        from survstudy.stats.firth import cox_fit_firth

        res = cox_fit_firth(x, cols.time, cols.event, profile=ci != "wald", **common)
    elif ci == "profile":
        from survstudy.stats.firth import cox_fit_ci

        res = cox_fit_ci(x, cols.time, cols.event, ci="profile", **common)
    else:
        res = cox_fit(
            x,
            cols.time,
            cols.event,
            cluster=cl,
            robust=robust or cluster is not None,
            start=t0,
            **common,
        )
    return CoxFit(
        time=time,
        event=event,
        covariates=tuple(covs),
        references=design.references,
        strata=strata,
        cluster=cluster,
        result=res,
        n_read=cols.n_read,
        levels=design.levels,
        start=start,
    )

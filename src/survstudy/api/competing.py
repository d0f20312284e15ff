"""Competing risks from a DataFrame: the front ends of ``survstudy cif`` and
``survstudy cox --cause/--competing --fine-gray``.

:func:`cumulative_incidence` and :func:`fine_gray` read the event column's codes as the
commands do (:mod:`survstudy.data.status_codes`: ``cause``, ``competing`` and
``censored`` values mapped to 1, 2 and 0; any other value is the commands' ``EVENT-CODE``
error naming its row), type the other columns with the commands' own code
(:mod:`survstudy.api._input`) and call the same functions of :mod:`survstudy.stats`
(:func:`~survstudy.stats.competing.cif_analysis`,
:func:`~survstudy.stats.finegray.fine_gray_fit`). ``to_dict()`` is the command's
``--json`` object, key for key. Nothing here computes a statistic.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from survstudy.api._input import check_column_names, check_missing, read_columns
from survstudy.errors import AnalysisError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from survstudy.data.status_codes import EventCodes
    from survstudy.stats.competing import CIFAnalysis, CumulativeIncidence, GrayTestResult
    from survstudy.stats.finegray import FineGrayResult

__all__ = ["CumulativeIncidenceFit", "FineGrayFit", "cumulative_incidence", "fine_gray"]

#: the causes of the analyses (:mod:`survstudy.data.status_codes`) and their names in frames
_CAUSES = ((1, "event"), (2, "competing"))


def _nan(x: Any) -> float:
    return float("nan") if x is None else float(x)


def _values(x: Any) -> list[Any]:
    """One value or a sequence of values of the event column."""
    if isinstance(x, str | bytes) or not isinstance(x, Sequence | set | frozenset):
        return [x]
    return list(x)


def _codes(cause: Any, competing: Any, censored: Any) -> EventCodes:
    from survstudy.data.status_codes import event_codes_from_values

    if cause is None or competing is None:
        raise AnalysisError(
            "competing risks need both cause= and competing= (values of the event column)"
        )
    return event_codes_from_values(_values(cause), _values(competing), _values(censored))


def _status(cols: Any, event: str, codes: EventCodes) -> Any:
    from survstudy.data.status_codes import status_from_cells

    return status_from_cells(cols.cells[event], codes, file=cols.file, column=event)


def _show(values: Sequence[Any]) -> str:
    return ", ".join(str(v) for v in values)


def _codes_line(codes: EventCodes) -> str:
    return (
        f"event = {_show(codes.cause)}, competing = {_show(codes.competing)}, "
        f"censored = {_show(codes.censored)}"
    )


def _p_text(p: float | None) -> str:
    from survstudy.tables import format as fmt

    if p is None:
        return "not computed"
    text = fmt.p_value(p)
    return text if text.startswith(("<", ">")) else f"= {text}"


# --------------------------------------------------------------------------- cumulative incidence


@dataclass(frozen=True)
class CumulativeIncidenceFit:
    """Cumulative incidence of the event and of the competing event, one pair of curves per
    level of ``by`` (one without it), with Gray's tests across the levels.

    ``analysis`` is the :class:`~survstudy.stats.competing.CIFAnalysis` (``curves``: each
    level, ``None`` without ``by``, with its
    :class:`~survstudy.stats.competing.CumulativeIncidence` of codes 1 = the event and
    2 = the competing event; ``gray``, ``gray_competing``: the
    :class:`~survstudy.stats.competing.GrayTestResult` or ``None``; ``warnings``).
    ``codes``: the values of the event column read as each. Times are in the unit of the
    time column (``time_unit`` when given).
    """

    time: str
    event: str
    by: str | None
    strata: str | None
    analysis: CIFAnalysis
    codes: EventCodes
    time_unit: str | None = None

    @property
    def curves(self) -> tuple[tuple[Any, CumulativeIncidence], ...]:
        """``(level, CumulativeIncidence)`` per group (level ``None`` without ``by``)."""
        return self.analysis.curves

    @property
    def gray(self) -> GrayTestResult | None:
        """Gray's test of the event across the groups (``None`` without ``by``)."""
        return self.analysis.gray

    @property
    def gray_competing(self) -> GrayTestResult | None:
        """Gray's test of the competing event across the groups."""
        return self.analysis.gray_competing

    @property
    def n_read(self) -> int:
        """Rows given."""
        return self.analysis.n_read

    @property
    def n_dropped(self) -> int:
        """Rows left out for a missing value in a used column."""
        return self.analysis.n_dropped

    def to_dict(self) -> dict[str, Any]:
        """The object ``survstudy cif --json`` prints (same keys, unrounded, ``None`` for NA)."""
        payload = self.analysis.to_dict()
        payload["codes"] = self.codes.to_dict()
        return payload

    def _rows(self, records: Any) -> list[dict[str, Any]]:
        rows = []
        for level, res in self.curves:
            for code, name in _CAUSES:
                for r in records(res, code):
                    row: dict[str, Any] = {} if self.by is None else {"group": level}
                    row["cause"] = name
                    row.update(r)
                    rows.append(row)
        return rows

    def to_frame(self) -> pd.DataFrame:
        """One row per curve time, per group and cause (``event``, ``competing``): ``[group,]
        cause, time, n_risk, n_event, cif, std_error, conf_low, conf_high`` (see
        :data:`survstudy.api.glossary.GLOSSARY`)."""
        import pandas as pd

        def records(res: Any, code: int) -> list[dict[str, Any]]:
            return [
                {
                    "time": r["time"],
                    "n_risk": r["n_risk"],
                    "n_event": r["n_event"],
                    "cif": r["cif"],
                    "std_error": _nan(r["se"]),
                    "conf_low": _nan(r["lower"]),
                    "conf_high": _nan(r["upper"]),
                }
                for r in res.to_records(code)
            ]

        cols = ["cause", "time", "n_risk", "n_event", "cif", "std_error", "conf_low", "conf_high"]
        cols = (["group"] if self.by is not None else []) + cols
        return pd.DataFrame(self._rows(records), columns=cols)

    def cif_at(self, times: Sequence[float]) -> pd.DataFrame:
        """The cumulative incidences at each of ``times`` (``cmprsk::timepoints``; past the
        last follow-up of a group NaN): ``[group,] cause, time, n_risk, cif, std_error,
        conf_low, conf_high``."""
        import pandas as pd

        at = [float(t) for t in times]

        def records(res: Any, code: int) -> list[dict[str, Any]]:
            return [
                {
                    "time": r["time"],
                    "n_risk": r["n_risk"],
                    "cif": _nan(r["cif"]),
                    "std_error": _nan(r["se"]),
                    "conf_low": _nan(r["lower"]),
                    "conf_high": _nan(r["upper"]),
                }
                for r in res.at(at, code).to_records()
            ]

        return pd.DataFrame(self._rows(records))

    def glance(self) -> pd.DataFrame:
        """One row per group: ``[group,] n, events, competing_events, censored``."""
        import pandas as pd

        rows = []
        for g in self.analysis.to_dict()["groups"]:
            row = {} if self.by is None else {"group": g["group"]}
            row.update(
                n=float(g["n"]),
                events=float(g["events"]),
                competing_events=float(g["competing_events"]),
                censored=float(g["censored"]),
            )
            rows.append(row)
        return pd.DataFrame(rows)

    def tests(self) -> pd.DataFrame:
        """Gray's tests, one row per cause tested: ``cause, test, statistic, df, p_value``
        (empty without ``by``)."""
        import pandas as pd

        rows = [
            {
                "cause": name,
                "test": "Gray" + (" (stratified)" if g.stratified else ""),
                "statistic": float(g.statistic),
                "df": int(g.df),
                "p_value": float(g.p_value),
            }
            for name, g in (("event", self.gray), ("competing", self.gray_competing))
            if g is not None
        ]
        return pd.DataFrame(rows, columns=["cause", "test", "statistic", "df", "p_value"])

    def _models(self) -> list[Any]:
        from survstudy.tables import format as fmt
        from survstudy.tables.model import Column, Row, TableModel

        groups = [Column("group", self.by or "", "left")] if self.by is not None else []
        counts = [
            *groups,
            Column("n", "n", "right"),
            Column("events", "Events", "right"),
            Column("competing", "Competing events", "right"),
            Column("censored", "Censored", "right"),
        ]
        rows = []
        for g in self.analysis.to_dict()["groups"]:
            cells = {
                "n": fmt.count(round(g["n"])),
                "events": fmt.count(round(g["events"])),
                "competing": fmt.count(round(g["competing_events"])),
                "censored": fmt.count(round(g["censored"])),
            }
            if self.by is not None:
                cells["group"] = str(g["group"])
            rows.append(Row("level", cells))
        models = [TableModel(id="cif", columns=counts, rows=rows)]
        if self.analysis.at:
            pct = f"{self.analysis.conf_level * 100:g}%"
            cols = [
                *groups,
                Column("time", "Time", "right"),
                Column("n_risk", "At risk", "right"),
                Column("event", f"Event, % ({pct} CI)", "right"),
                Column("competing", f"Competing event, % ({pct} CI)", "right"),
            ]
            at_rows = []
            for g in self.analysis.to_dict()["groups"]:
                for e, c in zip(g["at"], g["competing_at"], strict=True):
                    cells = {
                        "time": fmt.shortest(e["time"], 2),
                        "n_risk": fmt.count(round(e["n_risk"])),
                        "event": fmt.percent_ci(e["cif"], e["lower"], e["upper"], 1),
                        "competing": fmt.percent_ci(c["cif"], c["lower"], c["upper"], 1),
                    }
                    if self.by is not None:
                        cells["group"] = str(g["group"])
                    at_rows.append(Row("level", cells))
            models.append(TableModel(id="cif_at", columns=cols, rows=at_rows))
        return models

    def _lines(self) -> tuple[str, list[str]]:
        from survstudy.tables import format as fmt

        a = self.analysis
        by = f" by {self.by}" if self.by is not None else ""
        unit = f" ({self.time_unit})" if self.time_unit else ""
        title = (
            f"Cumulative incidence (Aalen–Johansen){by}: time {self.time}{unit}, "
            f"event {self.event} ({_codes_line(self.codes)})"
        )
        lines = [
            f"{a.n_read} rows, {a.n_dropped} dropped (missing values); "
            f"{a.conf_type} {a.conf_level * 100:g}% confidence limits"
        ]
        strata = f", stratified by {self.strata}" if self.strata else ""
        for what, g in (("the event", a.gray), ("the competing event", a.gray_competing)):
            if g is not None:
                lines.append(
                    f"Gray's test for {what}{strata}: chi-square "
                    f"{fmt.number(float(g.statistic), 2)} on {g.df} df, "
                    f"p {_p_text(float(g.p_value))}"
                )
        lines += [f"warning [{w.code}]: {w.message}" for w in a.warnings]
        return title, lines

    def summary(self, file: TextIO | None = None) -> None:
        """Print the patients, events, competing events and censorings per group, the
        cumulative incidences at the ``at`` times, and Gray's tests."""
        print(str(self), end="", file=file or sys.stdout)

    def __str__(self) -> str:
        from survstudy.api._display import render_text

        title, lines = self._lines()
        return render_text(title, self._models(), lines)

    def _repr_html_(self) -> str:
        from survstudy.api._display import render_html

        title, lines = self._lines()
        return render_html(title, self._models(), lines)

    def plot(self, ax: Axes | None = None, cause: str = "event", **options: Any) -> Axes:
        """The cumulative-incidence curves of the event (``cause="competing"``: of the
        competing event), rising from 0, with the number at risk under them.

        Drawn by :func:`survstudy.plots.plot_cif` on ``ax`` (a new pyplot figure when
        ``None``); ``options`` go to it (``conf_band=True``, ``gray_p=fit.gray.p_value``,
        ``ticks=[0, 12, 24]``, ``title=…``). Returns the Axes.
        """
        from survstudy.api._plotting import cif_axes

        codes = dict((name, code) for code, name in _CAUSES)
        if cause not in codes:
            raise AnalysisError("cause must be 'event' or 'competing'")
        return cif_axes(self, ax, codes[cause], options)


def cumulative_incidence(
    data: Any,
    time: str,
    event: str,
    by: str | None = None,
    conf_type: str = "log-log",
    conf_level: float = 0.95,
    *,
    cause: Any,
    competing: Any,
    censored: Any = 0,
    strata: str | None = None,
    at: Sequence[float] | None = None,
    time_unit: str | None = None,
    missing: str = "error",
) -> CumulativeIncidenceFit:
    """Cumulative incidence with competing risks and Gray's test, as ``survstudy cif`` and
    R's ``cmprsk::cuminc``.

    Estimator (Aalen–Johansen): F_c(t) = Σ_{t_j ≤ t} S(t_{j−1}) d_cj / n_j, S the
    event-free (all causes) Kaplan–Meier estimate; variance: cmprsk's delta-method
    estimate; pointwise ``conf_type`` limits (``log-log`` default, ``log``, ``plain``) as R's
    ``survfit_confint``. Gray's test (Gray 1988, cmprsk ``crstm``) of equal cumulative
    incidence across the levels of ``by``, stratified by ``strata``. See
    :mod:`survstudy.stats.competing`.

    ``event``: the column holding the codes; ``cause``, ``competing``, ``censored``: the
    value (or list of values) of that column for the event of interest, a competing event
    and a censoring (``--cause``, ``--competing``, ``--censored``; numbers match as numbers,
    ``1`` = ``1.0`` = ``"1"``). A row with any other value is an error naming the row.
    ``at``: times for the estimates in ``to_dict()`` (``--at``) and the summary;
    ``time_unit``: the unit of the time column, for the figure's axis. ``missing`` as
    :func:`~survstudy.api.kaplan_meier` (the columns: time, event, ``by``, ``strata``;
    ``missing="drop"`` leaves the rows with a missing value out and counts them,
    ``n_dropped``, as ``survstudy cif`` does). ``data`` as :func:`~survstudy.api.kaplan_meier`.

    Raises :class:`~survstudy.errors.DataError` (unknown column, a value not among the codes,
    negative time: the command's message) or :class:`~survstudy.errors.AnalysisError`.
    """
    from survstudy.stats.competing import CONF_TYPES, cif_analysis

    check_column_names(time=time, event=event, by=by, strata=strata)
    check_missing(missing)
    if conf_type not in CONF_TYPES:
        raise AnalysisError(f"conf_type must be one of {', '.join(CONF_TYPES)}")
    if not 0 < conf_level < 1:
        raise AnalysisError("conf_level must be between 0 and 1")
    units = ("days", "weeks", "months", "years")
    if time_unit is not None and time_unit not in units:
        raise AnalysisError(f"time_unit must be one of {', '.join(units)}")
    codes = _codes(cause, competing, censored)
    if strata is not None and by is None:
        raise AnalysisError("strata stratifies Gray's test across groups: give by as well")
    times = [float(t) for t in at] if at is not None else []
    cols = read_columns(
        data, time, None, others=(event, by, strata), missing=missing, command="survstudy cif"
    )
    status = _status(cols, event, codes)
    import numpy as np

    if by is None:
        g = np.zeros(cols.time.size, dtype=np.intp)
        levels: list[Any] = [None]
    else:
        g, levels = cols.factor(by)
    analysis = cif_analysis(
        cols.time,
        status,
        g,
        levels,
        by=by,
        at=times,
        conf_type=conf_type,
        conf_level=conf_level,
        strata=None if strata is None else cols.factor(strata)[0],
        n_read=cols.n_read,
        n_dropped=cols.n_dropped,
    )
    return CumulativeIncidenceFit(
        time=time,
        event=event,
        by=by,
        strata=strata,
        analysis=analysis,
        codes=codes,
        time_unit=time_unit,
    )


# --------------------------------------------------------------------------- Fine–Gray


@dataclass(frozen=True)
class FineGrayFit:
    """A fitted Fine–Gray model of the subdistribution hazard of the event.

    ``result`` is the :class:`~survstudy.stats.finegray.FineGrayResult` (``coef``, ``se``
    and ``var``: the sandwich variance of cmprsk::crr, ``naive_var``, ``terms``, ``tests``:
    the pseudo likelihood-ratio and Wald tests, ``baseline_time``/``baseline_jump``).
    ``covariates``, ``references`` and term names as :class:`~survstudy.api.CoxFit`;
    ``codes``: the values of the event column read as each.
    """

    time: str
    event: str
    covariates: tuple[str, ...]
    references: Mapping[str, Any]
    result: FineGrayResult
    codes: EventCodes
    n_read: int
    levels: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The object ``survstudy cox --cause … --competing … --fine-gray --json`` prints."""
        out = self.result.to_dict()
        out["cause"] = list(self.codes.cause)
        out["codes"] = self.codes.to_dict()
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per term: ``term, variable, coef, std_error, naive_std_error, hr, conf_low,
        conf_high, statistic, p_value, estimable`` (``hr``: the subdistribution hazard ratio;
        ``std_error`` the sandwich, ``naive_std_error`` the model-based one)."""
        import pandas as pd

        res = self.result
        assign = res.assign or res.term_names
        rows = []
        for j, (t, var) in enumerate(zip(res.terms, assign, strict=True)):
            rows.append(
                {
                    "term": t.term,
                    "variable": var,
                    "coef": _nan(t.coef),
                    "std_error": _nan(t.se),
                    "naive_std_error": max(float(res.naive_var[j, j]), 0.0) ** 0.5,
                    "hr": _nan(t.hr),
                    "conf_low": _nan(t.lower),
                    "conf_high": _nan(t.upper),
                    "statistic": _nan(t.z),
                    "p_value": _nan(t.p_value),
                    "estimable": bool(t.estimable),
                }
            )
        return pd.DataFrame(rows)

    def glance(self) -> pd.DataFrame:
        """One row for the model: ``n, events, competing_events, censored, n_dropped,
        iterations, converged, loglik, loglik_null, test, statistic, df, p_value`` (the
        pseudo likelihood-ratio test of summary.crr)."""
        import pandas as pd

        res = self.result
        lr = res.tests["likelihood_ratio"]
        return pd.DataFrame(
            [
                {
                    "n": res.n,
                    "events": res.events,
                    "competing_events": res.competing_events,
                    "censored": res.censored,
                    "n_dropped": res.n_dropped,
                    "iterations": res.iterations,
                    "converged": res.converged,
                    "loglik": float(res.loglik),
                    "loglik_null": float(res.loglik_null),
                    "test": "pseudo likelihood ratio",
                    "statistic": _nan(lr.statistic),
                    "df": lr.df,
                    "p_value": _nan(lr.p_value),
                }
            ]
        )

    def _model(self) -> Any:
        from survstudy.tables import format as fmt
        from survstudy.tables.model import Column, Row, TableModel

        res = self.result
        pct = f"{res.conf_level * 100:g}%"
        cols = [
            Column("term", "Term"),
            Column("coef", "coef", "right"),
            Column("se", "SE", "right"),
            Column("hr", f"sHR ({pct} CI)", "right"),
            Column("p", "p", "right"),
        ]
        rows = []
        for t in res.terms:
            if not t.estimable:
                cells = {"term": t.term, "hr": fmt.not_estimable()}
            else:
                cells = {
                    "term": t.term,
                    "coef": fmt.number(t.coef, 3),
                    "se": fmt.number(t.se, 3),
                    "hr": fmt.hr_ci_text(t.hr, _nan(t.lower), _nan(t.upper)),
                    "p": fmt.p_value(t.p_value),
                }
            rows.append(Row("level", cells))
        return TableModel(id="fine_gray", columns=cols, rows=rows)

    def _lines(self) -> tuple[str, list[str]]:
        from survstudy.tables import format as fmt

        res = self.result
        title = (
            f"Fine–Gray subdistribution hazards (as cmprsk::crr): time {self.time}, "
            f"event {self.event} ({_codes_line(self.codes)})"
        )
        lines = [
            f"n = {res.n}, events = {res.events}, competing events = {res.competing_events}, "
            f"{res.n_dropped} rows dropped (missing values); standard errors: sandwich"
        ]
        if not res.converged:
            lines.append("the fit did not converge")
        for key, label in (("likelihood_ratio", "Pseudo likelihood ratio"), ("wald", "Wald")):
            tt = res.tests.get(key)
            if tt is not None and tt.p_value is not None:
                lines.append(
                    f"{label} test: {fmt.number(tt.statistic, 2)} on {tt.df} df, "
                    f"p {_p_text(tt.p_value)}"
                )
        lines += [f"warning [{w.code}]: {w.message}" for w in res.warnings]
        return title, lines

    def summary(self, file: TextIO | None = None) -> None:
        """Print the subdistribution hazard ratios with their CIs and p-values, and the tests."""
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
        """A forest plot of the subdistribution hazard ratios (as :meth:`CoxFit.plot
        <survstudy.api.CoxFit.plot>`), drawn by :func:`survstudy.plots.plot_forest`. Returns
        the Axes."""
        from survstudy.api._plotting import forest_axes

        pct = f"{self.result.conf_level * 100:g}%"
        opts: dict[str, Any] = {
            "xlabel": f"Subdistribution hazard ratio ({pct} CI)",
            "hr_header": f"sHR ({pct} CI)",
        }
        opts.update(options)
        return forest_axes(self, ax, opts)


def fine_gray(
    data: Any,
    time: str,
    event: str,
    covariates: Sequence[str],
    categorical: Sequence[str] | None = None,
    reference: Mapping[str, Any] | None = None,
    *,
    cause: Any,
    competing: Any,
    censored: Any = 0,
    missing: str = "error",
) -> FineGrayFit:
    """Fit the Fine–Gray model of the subdistribution hazard, as ``survstudy cox --cause …
    --competing … --fine-gray`` and R's ``cmprsk::crr``.

    Model (Fine & Gray 1999): λ₁(t | x) = λ₁₀(t) exp(xᵀβ) for the subdistribution hazard of
    the event; patients with a competing event stay at risk with inverse-probability-of-
    censoring weights; Breslow handling of ties; the sandwich variance of crr (Fine & Gray
    1999, sec. 3); Wald limits and p. See :mod:`survstudy.stats.finegray`.

    ``event``, ``cause``, ``competing``, ``censored``: as :func:`cumulative_incidence`.
    ``covariates``, ``categorical``, ``reference``: as :func:`~survstudy.api.cox` (numbers
    as numbers; categorical columns dummy-coded against their first level or the one named).
    ``missing`` as :func:`~survstudy.api.kaplan_meier` (the columns: time, event, the
    covariates; ``missing="drop"`` leaves the rows with a missing value out, ``n_dropped``,
    as ``survstudy cox --fine-gray`` does).

    Raises :class:`~survstudy.errors.DataError` for the data (the command's messages) and
    :class:`~survstudy.errors.AnalysisError` when the model cannot be fitted (no events of the
    cause, a constant covariate, collinear columns).
    """
    from survstudy.data.quick import cox_design
    from survstudy.stats.finegray import fine_gray_fit

    covs = [covariates] if isinstance(covariates, str) else list(covariates)
    cats = [categorical] if isinstance(categorical, str) else list(categorical or [])
    refs = dict(reference or {})
    check_column_names(time=time, event=event, covariates=covs, categorical=cats)
    check_missing(missing)
    if not covs:
        raise AnalysisError("covariates needs at least one column")
    for c in cats:
        if c not in covs:
            raise AnalysisError(f"categorical {c} is not one of the covariates")
    for c in refs:
        if c not in cats:
            raise AnalysisError(f"reference {c}: not a categorical covariate")
    codes = _codes(cause, competing, censored)
    cols = read_columns(
        data,
        time,
        None,
        others=[event, *covs],
        missing=missing,
        command="survstudy cox --fine-gray",
    )
    status = _status(cols, event, codes)
    design = cox_design(cols, covs, cats, refs)
    res = fine_gray_fit(
        design.x,
        cols.time,
        status,
        cause=1,
        term_names=design.names,
        assign=design.assign,
        n_dropped=cols.n_dropped,
    )
    return FineGrayFit(
        time=time,
        event=event,
        covariates=tuple(covs),
        references=design.references,
        result=res,
        codes=codes,
        n_read=cols.n_read,
        levels=design.levels,
    )

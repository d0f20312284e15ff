"""Kaplan–Meier curves and log-rank tests from a DataFrame: the front ends of ``survstudy km``
and ``survstudy logrank``.

:func:`kaplan_meier` and :func:`logrank` type the columns with the commands' own code
(:mod:`survstudy.api._input`), call the same estimators of :mod:`survstudy.stats`
(:func:`~survstudy.stats.km.kaplan_meier`, :func:`~survstudy.stats.logrank.logrank_test`)
and return thin, frozen wrappers whose ``to_dict()`` is the command's ``--json``
object, key for key. Nothing here computes a statistic.
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

    from survstudy.stats.exact import PermutationLogRankResult
    from survstudy.stats.km import KaplanMeierResult
    from survstudy.stats.logrank import LogRankResult

__all__ = ["KaplanMeierFit", "LogRankTest", "kaplan_meier", "logrank"]


def _nan(x: Any) -> float:
    return float("nan") if x is None else float(x)


def _label(level: Any) -> str:
    return "All" if level is None else str(level)


# --------------------------------------------------------------------------- Kaplan–Meier


@dataclass(frozen=True)
class KaplanMeierFit:
    """Kaplan–Meier curves, one per level of ``by`` (one curve without it).

    ``curves`` pairs each level (``None`` without ``by``) with its
    :class:`~survstudy.stats.km.KaplanMeierResult` (the product-limit table, Greenwood
    standard errors, pointwise limits; ``.survival_at(t)``, ``.quantile(p)``,
    ``.rmst(tau)``). Times are in the unit of the time column (``time_unit`` when
    given: days, weeks, months or years). ``n_read`` rows were
    given, ``n_dropped`` of them left out for a missing time, event or group. With
    ``start`` (delayed entry or ``(start, stop]`` rows), ``n_at_risk`` holds per curve the
    exact number of rows at risk (start < t ≤ stop) at each of ``at``.
    """

    time: str
    event: str
    by: str | None
    curves: tuple[tuple[Any, KaplanMeierResult], ...]
    conf_type: str
    conf_level: float
    reverse: bool
    at: tuple[float, ...]
    n_read: int
    n_dropped: int
    time_unit: str | None = None
    start: str | None = None
    n_at_risk: tuple[tuple[float, ...], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The object ``survstudy km --json`` prints (same keys, unrounded, ``None`` for NA)."""
        groups = []
        for k, (level, res) in enumerate(self.curves):
            med = res.median()
            at_records = res.survival_at(list(self.at)).to_records() if self.at else []
            if self.n_at_risk:
                for rec, nr in zip(at_records, self.n_at_risk[k], strict=True):
                    rec["n_at_risk"] = nr
            groups.append(
                {
                    "group": level,
                    "n": res.n,
                    "events": res.events,
                    "median": med.estimate,
                    "median_lower": med.lower,
                    "median_upper": med.upper,
                    "table": res.to_records(),
                    "at": at_records,
                    "warnings": [w.to_dict() for w in res.warnings],
                }
            )
        payload = {
            "conf_type": self.conf_type,
            "conf_level": self.conf_level,
            "reverse": self.reverse,
            "time_unit": self.time_unit,
            "n_read": self.n_read,
            "n_dropped": self.n_dropped,
            "groups": groups,
        }
        if self.start is not None:
            payload["delayed_entry"] = True
        return payload

    def to_frame(self) -> pd.DataFrame:
        """One row per curve time (per group): ``[group,] time, n_risk, n_event, n_censor,
        survival, std_error, conf_low, conf_high`` (see :data:`survstudy.api.glossary.GLOSSARY`)."""
        import pandas as pd

        rows = []
        for level, res in self.curves:
            for r in res.to_records():
                row = {} if self.by is None else {"group": level}
                row.update(
                    time=r["time"],
                    n_risk=r["n_risk"],
                    n_event=r["n_event"],
                    n_censor=r["n_censor"],
                    survival=r["survival"],
                    std_error=_nan(r["std_err"]),
                    conf_low=_nan(r["lower"]),
                    conf_high=_nan(r["upper"]),
                )
                rows.append(row)
        cols = ["time", "n_risk", "n_event", "n_censor", "survival", "std_error", "conf_low"]
        cols = (["group"] if self.by is not None else []) + [*cols, "conf_high"]
        return pd.DataFrame(rows, columns=cols)

    def glance(self) -> pd.DataFrame:
        """One row per curve: ``[group,] n, events, median, median_conf_low, median_conf_high,
        conf_level`` (NaN: the median or a limit is not reached)."""
        import pandas as pd

        rows = []
        for level, res in self.curves:
            med = res.median()
            row = {} if self.by is None else {"group": level}
            row.update(
                n=float(res.n),
                events=float(res.events),
                median=_nan(med.estimate),
                median_conf_low=_nan(med.lower),
                median_conf_high=_nan(med.upper),
                conf_level=self.conf_level,
            )
            rows.append(row)
        return pd.DataFrame(rows)

    def survival_at(self, times: Sequence[float]) -> pd.DataFrame:
        """S(t) with its limits and the number at risk at each of ``times`` (R's
        ``summary(fit, times = …)``; past the last observed time no estimate, NaN, with 0
        at risk): ``[group,] time, n_risk, survival, std_error, conf_low, conf_high``."""
        import pandas as pd

        rows = []
        for level, res in self.curves:
            for r in res.survival_at(list(times)).to_records():
                row = {} if self.by is None else {"group": level}
                row.update(
                    time=r["time"],
                    n_risk=r["n_risk"],
                    survival=_nan(r["survival"]),
                    std_error=_nan(r["std_err"]),
                    conf_low=_nan(r["lower"]),
                    conf_high=_nan(r["upper"]),
                )
                rows.append(row)
        return pd.DataFrame(rows)

    def _model(self) -> Any:
        from survstudy.api._display import median_text
        from survstudy.tables import format as fmt
        from survstudy.tables.model import Column, Row, TableModel

        pct = f"{self.conf_level * 100:g}%"
        cols = [Column("group", self.by or "", "left")] if self.by is not None else []
        cols += [
            Column("n", "n", "right"),
            Column("events", "Events", "right"),
            Column("median", f"Median ({pct} CI)", "right"),
        ]
        rows = []
        for level, res in self.curves:
            med = res.median()
            median = median_text(med.estimate, med.lower, med.upper)
            cells = {
                "n": fmt.count(round(res.n)),
                "events": fmt.count(round(res.events)),
                "median": median,
            }
            if self.by is not None:
                cells["group"] = _label(level)
            rows.append(Row("level", cells))
        return TableModel(id="km", columns=cols, rows=rows)

    def _lines(self) -> tuple[str, list[str]]:
        what = "Reverse Kaplan–Meier (median follow-up)" if self.reverse else "Kaplan–Meier"
        if self.start is not None:
            what += " with delayed entry (start, stop]"
        by = f" by {self.by}" if self.by is not None else ""
        unit = f" ({self.time_unit})" if self.time_unit else ""
        title = f"{what}{by}: time {self.time}{unit}, event {self.event}"
        lines = [
            f"{self.n_read} rows, {self.n_dropped} dropped (missing values); "
            f"{self.conf_type} {self.conf_level * 100:g}% confidence limits"
        ]
        for level, res in self.curves:
            for w in res.warnings:
                lines.append(f"note ({_label(level)}): {w.message}" if self.by else w.message)
        return title, lines

    def summary(self, file: TextIO | None = None) -> None:
        """Print the curves' n, events and median with its CI (``file``: default stdout)."""
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
        """The curves with censoring marks and the number-at-risk table under them.

        Drawn by :func:`survstudy.plots.plot_km` on ``ax`` (a new pyplot figure when
        ``None``, so that it shows in a notebook); ``options`` go to it (``conf_band=True``,
        ``logrank_p=test.p_value``, ``ticks=[0, 12, 24]``, ``title=…``, ``xlabel=…``).
        Returns the Axes.
        """
        from survstudy.api._plotting import km_axes

        return km_axes(self, ax, options)


def kaplan_meier(
    data: Any,
    time: str,
    event: str,
    by: str | None = None,
    conf_type: str = "log-log",
    conf_level: float = 0.95,
    start: str | None = None,
    *,
    at: Sequence[float] | None = None,
    reverse: bool = False,
    time_unit: str | None = None,
    id: str | None = None,
    event_codes: Mapping[str, Sequence[Any]] | None = None,
    missing: str = "error",
) -> KaplanMeierFit:
    """Kaplan–Meier estimate of survival, as ``survstudy km`` and R's ``survfit``.

    Estimator: S(t) = ∏_{t_j ≤ t} (1 − d_j / n_j) over the distinct times; Greenwood
    variance Var(log S) = Σ d_j / (n_j (n_j − d_j)); pointwise ``conf_type`` limits
    (``log-log`` default, ``log``, ``plain``); the median and its limits by R's rule
    (Kaplan & Meier 1958; R ``survfit``/``quantile.survfit``, survival 3.5). See
    :mod:`survstudy.stats.km`.

    ``data``: a pandas DataFrame (or polars, a pyarrow Table, anything with
    ``__arrow_c_stream__``/``__dataframe__``); ``time``, ``event``, ``by``: column names.
    The event column holds 0/1 or true/false (or other values mapped by
    ``event_codes={"event": [...], "censored": [...]}``). ``missing``: a missing value
    (empty, NA, NaN, None, ``pd.NA``, ``.``) in a column the call uses (time, event,
    ``start``, ``by``, ``id``) raises :class:`~survstudy.errors.DataError` (MISSING-VALUE)
    naming its row (1, 2, … in table order) and column and counting the rows with one
    (``"error"``, the default); ``missing="drop"`` leaves those rows out and counts them
    (``n_dropped``), as ``survstudy km`` does. ``at``: times for
    :meth:`KaplanMeierFit.survival_at` in ``to_dict()`` (``--at``); ``reverse``: the reverse
    Kaplan–Meier estimate of follow-up (``--reverse``); ``time_unit``: the unit of the time
    column, ``days``, ``weeks``, ``months`` or ``years`` (``--time-unit``: labels the
    output and the figure's axis). ``start``: the entry-time column — delayed entry (left
    truncation) or interval rows ``(start, time]`` (R's ``survfit(Surv(start, stop, event)
    ~ …)``; a ``by`` group that changes over a patient's rows gives Simon–Makuch curves);
    ``id``: the patient column of such rows, whose intervals are then checked (``--start``,
    ``--id``).

    Raises :class:`~survstudy.errors.DataError` (unknown column, bad event value, negative
    time: the command's message; a missing value) or :class:`~survstudy.errors.AnalysisError`.
    """
    from survstudy.stats.km import CONF_TYPES, kaplan_meier_by
    from survstudy.stats.km import kaplan_meier as km_fit

    check_column_names(time=time, event=event, by=by, start=start, id=id)
    check_id(start, id)
    check_missing(missing)
    if conf_type not in CONF_TYPES:
        raise AnalysisError(f"conf_type must be one of {', '.join(CONF_TYPES)}")
    units = ("days", "weeks", "months", "years")
    if time_unit is not None and time_unit not in units:
        raise AnalysisError(f"time_unit must be one of {', '.join(units)}")
    times = [float(t) for t in at] if at is not None else []
    cols = read_columns(
        data,
        time,
        event,
        others=(start, by, id),
        event_codes=event_codes,
        missing=missing,
        command="survstudy km",
    )
    kw: dict[str, Any] = {"conf_type": conf_type, "conf_level": conf_level, "reverse": reverse}
    t0 = interval_starts(cols, time, event, start, id)
    if t0 is not None:
        kw["start"] = t0
    if by is None:
        curves: list[tuple[Any, KaplanMeierResult]] = [(None, km_fit(cols.time, cols.event, **kw))]
    else:
        codes, levels = cols.factor(by)
        curves = kaplan_meier_by(cols.time, cols.event, codes, levels, **kw)
    exact: list[tuple[float, ...]] = []
    if t0 is not None and times:
        # the exact number of rows at risk at each chosen time (start < t <= stop)
        from survstudy.stats.riskset import number_at_risk

        if by is None:
            exact = [tuple(float(v) for v in number_at_risk(times, cols.time, start=t0))]
        else:
            nr = number_at_risk(times, cols.time, start=t0, group=codes, n_groups=len(levels))
            exact = [tuple(float(v) for v in nr[:, levels.index(level)]) for level, _ in curves]
    return KaplanMeierFit(
        time=time,
        event=event,
        by=by,
        curves=tuple(curves),
        conf_type=conf_type,
        conf_level=conf_level,
        reverse=reverse,
        at=tuple(times),
        n_read=cols.n_read,
        n_dropped=cols.n_dropped,
        time_unit=time_unit,
        start=start,
        n_at_risk=tuple(exact),
    )


# --------------------------------------------------------------------------- log-rank


@dataclass(frozen=True)
class LogRankTest:
    """A (weighted) k-sample log-rank test of ``by``, optionally within ``strata``.

    ``result`` is the :class:`~survstudy.stats.logrank.LogRankResult` (observed,
    expected, variance matrix per group in ``levels`` order); ``permutation`` the
    permutation test when asked for.
    """

    time: str
    event: str
    by: str
    strata: str | None
    result: LogRankResult
    levels: tuple[Any, ...]
    n_read: int
    n_dropped: int
    permutation: PermutationLogRankResult | None = field(default=None)
    start: str | None = None

    @property
    def statistic(self) -> float:
        """The chi-square statistic."""
        return float(self.result.statistic)

    @property
    def df(self) -> int:
        """Its degrees of freedom (groups − 1)."""
        return int(self.result.df)

    @property
    def p_value(self) -> float:
        """The chi-square p-value."""
        return float(self.result.p_value)

    def to_dict(self) -> dict[str, Any]:
        """The object ``survstudy logrank --json`` prints (same keys, unrounded)."""
        payload = self.result.to_dict(list(self.levels))
        if self.permutation is not None:
            payload["permutation"] = self.permutation.to_dict()
        payload["n_read"] = self.n_read
        payload["n_dropped"] = self.n_dropped
        if self.start is not None:
            payload["intervals"] = True
        return payload

    def to_frame(self) -> pd.DataFrame:
        """One row per group: ``group, n, observed, expected``."""
        import pandas as pd

        r = self.result
        return pd.DataFrame(
            {
                "group": list(self.levels),
                "n": [float(v) for v in r.n],
                "observed": [float(v) for v in r.observed],
                "expected": [float(v) for v in r.expected],
            }
        )

    def glance(self) -> pd.DataFrame:
        """One row: ``test, statistic, df, p_value`` (and the permutation p when computed)."""
        import pandas as pd

        row: dict[str, Any] = {
            "test": self.result.test,
            "statistic": self.statistic,
            "df": self.df,
            "p_value": self.p_value,
        }
        if self.permutation is not None:
            row["permutation_p_value"] = float(self.permutation.p_value)
        return pd.DataFrame([row])

    def _model(self) -> Any:
        from survstudy.tables import format as fmt
        from survstudy.tables.model import Column, Row, TableModel

        r = self.result
        cols = [
            Column("group", self.by, "left"),
            Column("n", "N", "right"),
            Column("observed", "Observed", "right"),
            Column("expected", "Expected", "right"),
        ]
        rows = [
            Row(
                "level",
                {
                    "group": str(level),
                    "n": fmt.count(round(float(r.n[i]))),
                    "observed": fmt.shortest(float(r.observed[i]), 2),
                    "expected": fmt.number(float(r.expected[i]), 2),
                },
            )
            for i, level in enumerate(self.levels)
        ]
        return TableModel(id="logrank", columns=cols, rows=rows)

    def _lines(self) -> tuple[str, list[str]]:
        from survstudy.tables import format as fmt

        strata = f", stratified by {self.strata}" if self.strata else ""
        test = self.result.test
        if self.start is not None:
            test += " on (start, stop] intervals (Mantel–Byar)"
        title = f"{test}: {self.time}, event {self.event}, by {self.by}{strata}"
        lines = [
            f"{self.n_read} rows, {self.n_dropped} dropped (missing values)",
            f"Chi-square {fmt.number(self.statistic, 2)} on {self.df} df, "
            f"p {_p_text(self.p_value)}",
        ]
        perm = self.permutation
        if perm is not None:
            lines.append(f"Permutation test ({perm.method}): p {_p_text(float(perm.p_value))}")
        lines += [f"note: {w.message}" for w in self.result.warnings]
        return title, lines

    def summary(self, file: TextIO | None = None) -> None:
        """Print observed and expected events per group and the test."""
        print(str(self), end="", file=file or sys.stdout)

    def __str__(self) -> str:
        from survstudy.api._display import render_text

        title, lines = self._lines()
        return render_text(title, [self._model()], lines)

    def _repr_html_(self) -> str:
        from survstudy.api._display import render_html

        title, lines = self._lines()
        return render_html(title, [self._model()], lines)


def _p_text(p: float) -> str:
    from survstudy.tables import format as fmt

    text = fmt.p_value(p)
    return text if text.startswith(("<", ">")) else f"= {text}"


def logrank(
    data: Any,
    time: str,
    event: str,
    by: str,
    strata: str | None = None,
    weights: str = "logrank",
    *,
    rho: float = 0.0,
    gamma: float = 0.0,
    permutation: str | None = None,
    seed: int = 20261126,
    start: str | None = None,
    id: str | None = None,
    event_codes: Mapping[str, Sequence[Any]] | None = None,
    missing: str = "error",
) -> LogRankTest:
    """The log-rank test of ``by`` (k groups), as ``survstudy logrank`` and R's ``survdiff``.

    Statistic: U = Σ_j w_j (d_gj − n_gj d_j / n_j) per group, its hypergeometric variance
    V, chi-square U' V⁻ U on k − 1 df (Mantel 1966; Peto & Peto 1972), summed over
    ``strata``. ``weights``: ``logrank`` (w = 1), ``gehan-breslow`` (n at risk),
    ``tarone-ware`` (√n), ``peto-peto`` (pooled S(t−), R ``rho = 1``) or
    ``fleming-harrington`` (S(t−)^``rho`` (1 − S(t−))^``gamma``). See
    :mod:`survstudy.stats.logrank`.

    ``permutation``: ``exact``, ``monte-carlo`` or ``auto`` adds the permutation p of
    :func:`survstudy.stats.exact.logrank_small_sample` (``--permutation``; ``seed`` for
    Monte-Carlo). ``start``/``id``: ``(start, time]`` rows (``--start``, ``--id``), for a
    group that changes over a patient's follow-up: the Mantel–Byar test (R: the score test
    of ``coxph(Surv(start, stop, event) ~ group, ties = "exact")``). Columns, events and
    ``missing`` as :func:`kaplan_meier` (the columns: time, event, ``start``, ``by``,
    ``strata``, ``id``; ``missing="drop"`` as ``survstudy logrank``).
    """
    from survstudy.stats.logrank import WEIGHTS, logrank_test

    check_column_names(time=time, event=event, by=by, strata=strata, start=start, id=id)
    check_id(start, id)
    check_missing(missing)
    if start is not None and permutation is not None:
        raise AnalysisError(
            "permutation is not available with start: permuting group labels of interval "
            "rows is not a valid test when patients change groups"
        )
    if weights not in WEIGHTS:
        raise AnalysisError(f"weights must be one of {', '.join(WEIGHTS)}")
    if weights != "fleming-harrington" and (rho != 0 or gamma != 0):
        raise AnalysisError("rho and gamma need weights='fleming-harrington'")
    if permutation is not None and permutation not in ("auto", "exact", "monte-carlo"):
        raise AnalysisError("permutation must be auto, exact or monte-carlo")
    if permutation is not None and weights != "logrank":
        raise AnalysisError("the permutation test uses log-rank scores: leave weights='logrank'")
    cols = read_columns(
        data,
        time,
        event,
        others=(start, by, strata, id),
        event_codes=event_codes,
        missing=missing,
        command="survstudy logrank",
    )
    codes, levels = cols.factor(by)
    st = None if strata is None else cols.factor(strata)[0]
    t0 = interval_starts(cols, time, event, start, id)
    res = logrank_test(
        cols.time, cols.event, codes, weights=weights, rho=rho, gamma=gamma, strata=st, start=t0
    )
    perm = None
    if permutation is not None:
        from survstudy.stats.exact import logrank_small_sample

        perm = logrank_small_sample(
            cols.time, cols.event, codes, strata=st, method=permutation, seed=seed
        )
    return LogRankTest(
        time=time,
        event=event,
        by=by,
        strata=strata,
        result=res,
        levels=tuple(levels[int(c)] for c in res.group_codes),
        n_read=cols.n_read,
        n_dropped=cols.n_dropped,
        permutation=perm,
        start=start,
    )

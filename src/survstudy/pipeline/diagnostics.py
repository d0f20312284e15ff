"""Thin wrappers over :mod:`survstudy.stats` for the model checks of issue 22: the
proportional-hazards follow-up (β(t) plots, stratified sensitivity model) and the spline
test of non-linearity. No estimator lives here (as in :mod:`.engine`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from survstudy import _process
from survstudy.pipeline.engine import CoxFit, collect_cox

__all__ = ["PhFollowUp", "RowFits", "cox_layout", "nonlinearity", "ph_follow_up"]


def _stats(name: str) -> Any:
    import importlib

    return importlib.import_module(f"survstudy.stats.{name}")


@dataclass(frozen=True)
class PhFollowUp:
    """A model whose PH test failed, followed up (:func:`ph_follow_up`).

    ``plot`` is the β(t) data of every term (:class:`survstudy.stats.coxzph.BetaTimePlot`,
    times in the display unit); ``offending`` the terms with PH p < ``alpha``. ``kind`` is the
    sensitivity refit: ``stratified`` (the offending categorical terms ``strata`` become
    strata), ``split`` (none is categorical: each offending continuous term in ``split`` gets
    one coefficient per period of follow-up, cut at ``cut``, the median follow-up in the display
    unit), or ``None`` (no refit: ``reason``). ``fit`` holds the refit's numbers, its columns in
    the model's order with a stratified term's columns left out and a split term's column
    replaced by its two periods; ``ph`` its PH test (:class:`~survstudy.stats.coxzph.PhTestResult`).
    """

    plot: Any
    offending: tuple[str, ...]
    kind: str | None = None
    strata: tuple[str, ...] = ()
    split: tuple[str, ...] = ()
    cut: float = float("nan")
    fit: CoxFit | None = None
    ph: Any = None
    reason: str = ""


def ph_follow_up(
    x: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    *,
    strata: np.ndarray | None,
    ties: str,
    conf_level: float,
    term_names: tuple[str, ...],
    assign: tuple[str, ...],
    categorical: tuple[str, ...],
    days_per_unit: float = 1.0,
    alpha: float = 0.05,
    fits: RowFits | None = None,
) -> PhFollowUp:
    """The β(t) plots (R's ``plot(cox.zph(fit))``) and the sensitivity refit: stratified on
    the offending categorical terms (:func:`survstudy.stats.sensitivity.stratified_sensitivity`),
    or, when none is categorical, the offending continuous terms split at the median follow-up
    (reverse Kaplan–Meier of these rows; :func:`survstudy.stats.sensitivity.split_follow_up`,
    R's ``survSplit`` then ``coxph(Surv(tstart, stop, event) ~ … + x:strata(tgroup))``).

    Times are divided by ``days_per_unit`` first: a Cox fit and the ``km`` transform do not
    change with the time scale, and the plot's time ticks come out in the display unit.
    ``fits``: these rows' :class:`RowFits`; the model's fit kept there (:meth:`RowFits.take`)
    is the fit on the divided times when that is the same fit
    (:func:`survstudy.stats.coxzph.same_in_unit`), and is not made again.
    """
    cox, zph, sens = _stats("cox"), _stats("coxzph"), _stats("sensitivity")
    t = np.asarray(time, dtype=float) / days_per_unit
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        base = None if fits is None else fits.take(ties, x)
        if base is not None and not (
            base.term_names == tuple(term_names)
            and base.assign == tuple(assign)
            and base.conf_level == conf_level
            and zph.same_in_unit(base, days_per_unit)
        ):
            base = None
        if fits is not None:
            fits.release()
        unit = days_per_unit
        if base is None:
            base, unit = (
                cox.cox_fit(
                    x,
                    t,
                    event,
                    strata=strata,
                    ties=ties,
                    conf_level=conf_level,
                    term_names=term_names,
                    assign=assign,
                    concordance=False,
                ),
                1.0,
            )
        ph = zph.cox_zph(base, assign)
        res = zph.scaled_schoenfeld(base, assign, time_unit=unit)
        # the fit's sorted copy of the data is needed neither by the smooths of the plot nor
        # by the refits (peak memory)
        del base
        # the kept fit's freed arrays back to the system before the plot's smooths and the
        # refit allocate their own (own process only; the pages would stay resident beside)
        _process.release_freed_memory()
        plot = zph.beta_time_plot(None, test=ph, residuals=res)
        del res
        _process.release_freed_memory()  # and the smooths' before the refit's
        offending = ph.offending(alpha)
        model = sens.stratified_sensitivity(
            x,
            t,
            event,
            assign=assign,
            categorical=categorical,
            term_names=term_names,
            ph=ph,
            alpha=alpha,
            strata=strata,
            ties=ties,
            conf_level=conf_level,
            concordance=False,  # not reported (collect_cox below)
        )
        if model is not None:
            return PhFollowUp(
                plot=plot,
                offending=offending,
                kind="stratified",
                strata=tuple(model.strata),
                fit=collect_cox(model.fit, ph_test=True, concordance=False),
                ph=model.ph,
            )
        split = tuple(v for v in offending if v not in categorical)
        if not split:
            return PhFollowUp(plot=plot, offending=offending, reason="no offending term")
        km = _stats("km").kaplan_meier(t, 1.0 - np.asarray(event, dtype=float))
        cut = km.median().estimate
        if cut is None or not np.isfinite(cut):
            return PhFollowUp(
                plot=plot,
                offending=offending,
                reason="the median follow-up is not reached (too few patients censored)",
            )
        pieces = sens.split_follow_up(t, event, [float(cut)])
        cols: list[np.ndarray] = []
        names: list[str] = []
        labels: list[str] = []
        for j, lab in enumerate(assign):
            if lab in split:
                cols.append(sens.by_period(x[:, j], pieces))
                names += [f"{term_names[j]}:period{k + 1}" for k in range(pieces.n_periods)]
                labels += [lab] * pieces.n_periods
            else:
                cols.append(x[pieces.row, j][:, None])
                names.append(term_names[j])
                labels.append(lab)
        refit = cox.cox_fit(
            np.hstack(cols),
            pieces.stop,
            pieces.event,
            start=pieces.start,
            strata=None if strata is None else np.asarray(strata)[pieces.row],
            ties=ties,
            conf_level=conf_level,
            term_names=names,
            assign=labels,
            concordance=False,
            ph_test=True,
        )
        return PhFollowUp(
            plot=plot,
            offending=offending,
            kind="split",
            split=split,
            cut=float(cut),
            fit=collect_cox(refit, ph_test=True, concordance=False),
            ph=refit.ph_test(),
        )


class RowFits:
    """What the Cox fits on one set of rows share: their risk-set layouts
    (:func:`cox_layout`), one per tie rule, made on first use (the model, the other profile's
    fit and the spline tests share the sort by time and the tie groups; the second tie rule's
    layout is made from the first's, and a design fitted with both is sorted once); the last
    one-column model fitted (:meth:`remember`), which is the linear model of that column's
    spline test (:meth:`linear`); and the result of a model's first fit (:meth:`keep`), which
    its fit with the other tie rule shares, and the PH follow-up reuses (:meth:`take`)."""

    def __init__(
        self,
        t: np.ndarray,
        e: np.ndarray,
        strata: np.ndarray | None,
        start: np.ndarray | None,
    ) -> None:
        self.t, self.e, self.strata, self.start = t, e, strata, start
        self._by_ties: dict[str, Any] = {}
        self._fitted: dict[str, tuple[np.ndarray, float]] = {}
        self._kept: tuple[str, np.ndarray, Any] | None = None

    def get(self, ties: str) -> Any:
        lay = self._by_ties.get(ties)
        if lay is None:
            like = next(iter(self._by_ties.values()), None)
            lay = cox_layout(
                self.t, self.e, ties=ties, strata=self.strata, start=self.start, like=like
            )
            self._by_ties[ties] = lay
        return lay

    def release(self) -> None:
        """Drop the layouts (made again if a later fit needs them) and the kept fit: the
        proportional-hazards follow-up fits on other strata, and its fits set the peak memory."""
        self._by_ties.clear()
        self._fitted.clear()
        self._kept = None

    def only(self, ties: str) -> Any:
        """The layout of ``ties``, the others and the kept fit dropped (a spline test after the
        model's two fits: they would only add to the memory of the spline fits)."""
        others = [k for k in self._by_ties if k != ties]
        freed = bool(others) or self._kept is not None
        for other in others:
            del self._by_ties[other]
        self._kept = None
        if freed:
            # their pages back to the system (own process only): in the process forked for
            # the spline tests they are the parent's, counted again until given back
            _process.release_freed_memory()
        return self.get(ties)

    def keep(self, ties: str, x: np.ndarray, result: Any) -> None:
        """Keep the :class:`survstudy.stats.cox.CoxResult` of an ordinary fit of design ``x``
        with ``ties`` on these rows (the one kept before is dropped): while it lives, a fit
        of ``x`` with the other tie rule shares its sorted design
        (:func:`survstudy.stats.cox.cox_layout`'s ``like``)."""
        self._kept = (ties, x, result) if result.method == "ordinary" else None

    def drop(self) -> None:
        """Drop the kept fit (before the next model's fits: not two at once in memory)."""
        self._kept = None

    def take(self, ties: str, x: np.ndarray) -> Any:
        """The kept result when it is of design ``x`` with ``ties`` (``None`` otherwise); it
        is no longer kept here."""
        got, self._kept = self._kept, None
        return got[2] if got is not None and got[0] == ties and got[1] is x else None

    def remember(self, ties: str, x: np.ndarray, fit: CoxFit) -> None:
        """An ordinary (Wald) fit of design ``x`` on these rows with ``ties``: kept when ``x``
        has one column, the rows are not split and the fit has no warning (a warning names
        the fit's term)."""
        one = self.start is None and x.ndim == 2 and x.shape[1] == 1
        if one and fit.method == "ordinary" and not fit.warnings:
            self._fitted[ties] = (x, fit.loglik)
        else:
            self._fitted.pop(ties, None)

    def linear(self, ties: str, x: np.ndarray) -> tuple[float, tuple[Any, ...]] | None:
        """The log-likelihood and warnings of the remembered fit when it is of this very
        one-column design ``x`` (for :func:`nonlinearity`'s ``linear``), else ``None``."""
        got = self._fitted.get(ties)
        if got is None or got[0] is not x or x.ndim != 2 or x.shape[1] != 1:
            return None
        return got[1], ()

    def same_rows(self, t: np.ndarray, e: np.ndarray, strata: np.ndarray | None) -> bool:
        """Whether these are the same rows (equal times, events and strata; no start)."""

        def eq(a: np.ndarray | None, b: np.ndarray | None) -> bool:
            if a is None or b is None:
                return a is None and b is None
            return a is b or (a.shape == b.shape and bool(np.array_equal(a, b)))

        return self.start is None and eq(self.t, t) and eq(self.e, e) and eq(self.strata, strata)


def cox_layout(
    time: np.ndarray,
    event: np.ndarray,
    *,
    ties: str,
    strata: np.ndarray | None = None,
    start: np.ndarray | None = None,
    like: Any = None,
) -> Any:
    """The risk-set layout of these rows (:func:`survstudy.stats.cox.cox_layout`, ``like``:
    their layout for the other tie rule), shared by the Cox fits on them (``layout=`` of
    :func:`.engine.cox` and :func:`nonlinearity`)."""
    return _stats("cox").cox_layout(time, event, strata=strata, ties=ties, start=start, like=like)


def nonlinearity(
    x: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    *,
    covariates: np.ndarray,
    strata: np.ndarray | None,
    ties: str,
    conf_level: float,
    name: str,
    reference: float | None = None,
    layout: Any = None,
    linear: tuple[float, tuple[Any, ...]] | None = None,
    overall: bool = True,
) -> Any:
    """The restricted-cubic-spline (4 knots) test of non-linearity of ``x`` beside the model's
    other columns (:func:`survstudy.stats.functional_form.nonlinearity_test`; ``layout``: the
    risk-set layout of these rows and ties, :func:`cox_layout`; ``linear``: the log-likelihood
    and warnings of the linear model when already fitted, :meth:`RowFits.linear`; ``overall``:
    whether the overall test of the spline is wanted)."""
    ff = _stats("functional_form")
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return ff.nonlinearity_test(
            x,
            time,
            event,
            covariates=covariates,
            strata=strata,
            ties=ties,
            conf_level=conf_level,
            name=name,
            reference=reference,
            layout=layout,
            linear=linear,
            overall=overall,
        )

"""Thin wrappers over :mod:`survstudy.stats` for the model checks of issue 22: the
proportional-hazards follow-up (β(t) plots, stratified sensitivity model) and the spline
test of non-linearity. No estimator lives here (as in :mod:`.engine`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from survstudy.pipeline.engine import CoxFit, collect_cox

__all__ = ["PhFollowUp", "nonlinearity", "ph_follow_up"]


def _stats(name: str) -> Any:
    import importlib

    return importlib.import_module(f"survstudy.stats.{name}")


@dataclass(frozen=True)
class PhFollowUp:
    """A model whose PH test failed, followed up (:func:`ph_follow_up`).

    ``plot`` is the β(t) data of every term (:class:`survstudy.stats.coxzph.BetaTimePlot`,
    times in the display unit); ``sensitivity`` the stratified refit
    (:class:`survstudy.stats.sensitivity.SensitivityModel`, ``None`` when no offending term is
    categorical) and ``fit`` its numbers for the tables.
    """

    plot: Any
    offending: tuple[str, ...]
    sensitivity: Any = None
    fit: CoxFit | None = None


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
) -> PhFollowUp:
    """The β(t) plots (R's ``plot(cox.zph(fit))``) and the sensitivity model stratified on
    the offending categorical terms (:func:`survstudy.stats.sensitivity.stratified_sensitivity`).

    Times are divided by ``days_per_unit`` first: a Cox fit and the ``km`` transform do not
    change with the time scale, and the plot's time ticks come out in the display unit.
    """
    cox, zph, sens = _stats("cox"), _stats("coxzph"), _stats("sensitivity")
    t = np.asarray(time, dtype=float) / days_per_unit
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        base = cox.cox_fit(
            x,
            t,
            event,
            strata=strata,
            ties=ties,
            conf_level=conf_level,
            term_names=term_names,
            assign=assign,
            concordance=False,
        )
        ph = zph.cox_zph(base, assign)
        plot = zph.beta_time_plot(base, assign, test=ph)
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
        )
        fit = None if model is None else collect_cox(model.fit, ph_test=True, concordance=False)
    return PhFollowUp(plot=plot, offending=ph.offending(alpha), sensitivity=model, fit=fit)


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
) -> Any:
    """The restricted-cubic-spline (4 knots) test of non-linearity of ``x`` beside the model's
    other columns (:func:`survstudy.stats.functional_form.nonlinearity_test`)."""
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
        )

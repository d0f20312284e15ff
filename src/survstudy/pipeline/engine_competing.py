"""Thin wrappers over :mod:`survstudy.stats.competing` for the study run's competing-risks
analyses (:mod:`.competing`, :mod:`.km_figures`): status 1 is the event, 2 the competing
event, 0 censored — and over :mod:`survstudy.stats.finegray` (:func:`fine_gray`, collected as
a Cox fit's numbers)."""

from __future__ import annotations

import importlib
from dataclasses import replace
from typing import Any

import numpy as np

from survstudy.pipeline import engine

__all__ = ["cumulative_incidence_by", "fine_gray", "gray_test", "reverse_km"]


def _competing() -> Any:
    """:mod:`survstudy.stats.competing`, imported on first use (keeps ``run`` imports light)."""
    return importlib.import_module("survstudy.stats.competing")


def cumulative_incidence_by(
    time: np.ndarray,
    status: np.ndarray,
    codes: np.ndarray,
    levels: tuple[str | None, ...],
    *,
    conf_type: str,
    conf_level: float,
    weights: np.ndarray | None = None,
) -> list[tuple[Any, Any]]:
    """Aalen–Johansen cumulative incidence of status 1 and 2 per group (codes into
        ``levels``; :func:`survstudy.stats.competing.cumulative_incidence_by`, ``cmprsk::cuminc``
        with its variance), both causes always present. ``weights``: frequency weights (an engine's
    per-time records, each standing for that many patients)."""
    return list(
        _competing().cumulative_incidence_by(
            time,
            np.asarray(status, dtype=np.int64),
            codes,
            levels,
            causes=(1, 2),
            conf_type=conf_type,
            conf_level=conf_level,
            weights=weights,
        )
    )


def gray_test(
    time: np.ndarray,
    status: np.ndarray,
    codes: np.ndarray,
    cause: int = 1,
    weights: np.ndarray | None = None,
) -> Any:
    """Gray's test of equal cumulative incidence of ``cause`` across the groups ``codes``
    (:func:`survstudy.stats.competing.gray_test`, ``cmprsk::cuminc(...)$Tests``;
    ``weights``: frequency weights)."""
    return _competing().gray_test(
        time, np.asarray(status, dtype=np.int64), codes, cause=cause, weights=weights
    )


def reverse_km(
    time: np.ndarray,
    status: np.ndarray,
    weights: np.ndarray | None,
    *,
    conf_type: str,
    conf_level: float,
) -> Any:
    """The reverse Kaplan–Meier of the follow-up on a competing-risks endpoint: only a
    censoring (status 0) ends follow-up; ``weights``: frequency weights."""
    km = importlib.import_module("survstudy.stats.km")
    ended = (np.asarray(status) == 0).astype(float)
    return km.kaplan_meier(time, ended, weights=weights, conf_type=conf_type, conf_level=conf_level)


def fine_gray(
    x: np.ndarray,
    time: np.ndarray,
    status: np.ndarray,
    *,
    conf_level: float,
    term_names: tuple[str, ...] | None = None,
    assign: tuple[str, ...] | None = None,
) -> engine.CoxFit:
    """Fit the Fine–Gray model of status 1 (:func:`survstudy.stats.finegray.fine_gray_fit`,
    ``cmprsk::crr``; status 2 competing, 0 censored) and collect its numbers as a Cox fit's:
    ``hr`` is the subdistribution HR, ``lr_*`` crr's pseudo-likelihood-ratio test; no PH
    test and no concordance."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        res = importlib.import_module("survstudy.stats.finegray").fine_gray_fit(
            x,
            time,
            np.asarray(status, dtype=np.int64),
            cause=1,
            term_names=term_names,
            conf_level=conf_level,
            assign=assign,
        )
    fit = engine.collect_cox(res, ph_test=False, concordance=False)
    # (no likelihood-ratio p for a Fine–Gray term, and no Firth fallback)
    why = "not estimable: the subdistribution HR runs off to infinity (monotone pseudo-likelihood)"
    notes = tuple(n if ok else (why,) for n, ok in zip(fit.notes, fit.estimable, strict=True))
    return replace(fit, notes=notes)

"""Kaplan–Meier, log-rank and Cox through an engine: engine passes + the driver in stats.

Each function runs the engine's aggregations (:mod:`.base`) and hands the sums
to :mod:`survstudy.stats.sufficient`, which computes the same numbers as the
in-memory functions of :mod:`survstudy.stats`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from survstudy.engines.base import CONCORDANCE_CELL_LIMIT, Engine, Source, Term
from survstudy.errors import AnalysisError
from survstudy.stats import sufficient

__all__ = ["cox", "cox_terms", "kaplan_meier", "logrank"]


def kaplan_meier(
    engine: Engine,
    source: Source,
    *,
    time: str,
    event: str,
    group: str | None = None,
    weight: str | None = None,
    where: str | None = None,
    **kwargs: Any,
) -> tuple[list[tuple[Any, Any]], sufficient.RiskCounts]:
    """Kaplan–Meier per group level (``[(None, km)]`` without ``group``) and the counts
    (for ``n_read``/``n_dropped``). ``kwargs``: ``conf_type``, ``conf_level``, ``reverse``."""
    rc = engine.risk_table(source, time=time, event=event, group=group, weight=weight, where=where)
    if rc.n_rows == 0:
        raise AnalysisError("no observations for the Kaplan–Meier estimate")
    return sufficient.kaplan_meier_from_counts(rc, **kwargs), rc


def logrank(
    engine: Engine,
    source: Source,
    *,
    time: str,
    event: str,
    group: str,
    strata: str | None = None,
    where: str | None = None,
    weights: str = "logrank",
    rho: float = 0.0,
    gamma: float = 0.0,
) -> tuple[Any, sufficient.RiskCounts]:
    """The weighted log-rank test (:func:`survstudy.stats.logrank.logrank_test`) and the counts."""
    rc = engine.risk_table(source, time=time, event=event, group=group, strata=strata, where=where)
    res = sufficient.logrank_from_counts(rc, weights=weights, rho=rho, gamma=gamma)
    return res, rc


def cox_terms(
    engine: Engine,
    source: Source,
    *,
    time: str,
    event: str,
    covariates: Sequence[str],
    categorical: Sequence[str] = (),
    reference: dict[str, Any] | None = None,
    strata: str | None = None,
    weight: str | None = None,
    where: str | None = None,
    cluster: str | None = None,
) -> tuple[list[Term], list[str]]:
    """The design's terms: numeric covariates as they are, categorical ones dummy-coded
    against ``reference[col]`` (default: the first level) over the rows used (``cluster``:
    a column that must be present too); and each term's covariate (``assign``). Levels come
    from :meth:`Engine.levels`."""
    used = [time, event, *covariates, *(c for c in (strata, weight, cluster) if c)]
    refs = reference or {}
    terms: list[Term] = []
    assign: list[str] = []
    for c in covariates:
        if c not in categorical:
            terms.append(Term(c))
            assign.append(c)
            continue
        levels = engine.levels(source, c, required=used, where=where)
        if not levels:
            raise AnalysisError(f"{c} has no non-missing values")
        ref = refs.get(c, levels[0])
        if ref not in levels:
            match = [lv for lv in levels if str(lv) == str(ref)]
            if not match:
                raise AnalysisError(f"reference level {ref!r} is not a level of {c}")
            ref = match[0]
        others = [lv for lv in levels if lv != ref]
        if not others:
            raise AnalysisError(
                f"covariate {c} has a single level among the analysed patients (zero variance)"
            )
        for lv in others:
            terms.append(Term(c, lv))
            assign.append(c)
    return terms, assign


def cox(
    engine: Engine,
    source: Source,
    *,
    time: str,
    event: str,
    terms: Sequence[Term],
    strata: str | None = None,
    weight: str | None = None,
    where: str | None = None,
    ties: str = "efron",
    conf_level: float = 0.95,
    assign: Sequence[str] | None = None,
    control: Any = None,
    ph_test: bool = False,
    robust: bool = False,
    cluster: str | None = None,
    concordance: bool = True,
    concordance_limit: int = CONCORDANCE_CELL_LIMIT,
) -> Any:
    """A Cox fit (:class:`survstudy.stats.cox.CoxResult`), the numbers of
    :func:`survstudy.stats.cox.cox_fit` on the used rows.

    Passes: two moment passes (centre, then spread), then one :meth:`Engine.cox_sums` pass
    per Newton evaluation (the last one also gives the baseline hazard and, with
    ``ph_test``, R's ``cox.zph``).

    ``robust`` or ``cluster`` (a column; rows where it is missing are not used, in every
    pass): the robust (sandwich) variance ``V (Σ r rᵀ) V`` (Lin & Wei 1989), one more pass
    (the score residuals' cross-products from the rows joined to per-time values built
    from the fit's sums at β̂, with ``cluster`` summed within each cluster first — R's
    ``cluster(id)``). As ``cox_fit``, a cluster implies the robust variance.

    ``concordance`` (default): Harrell's C with its infinitesimal-jackknife SE in
    ``.concordance`` (a :class:`survstudy.stats.concordance.Concordance`, R's
    ``concordance(fit)``; grouped jackknife with ``cluster``; case-weighted pairs with
    ``weight``), from one more pass that groups the rows by (stratum, time, event,
    covariates[, cluster]) (:meth:`concordance_cells`). A model with more than
    ``concordance_limit`` such cells (continuous covariates on very many rows) gets
    ``.concordance = None`` and a ``CONCORDANCE-NOT-COMPUTED`` warning in ``.warnings``.
    """
    kw: dict[str, Any] = {
        "time": time,
        "event": event,
        "terms": list(terms),
        "strata": strata,
        "weight": weight,
        "where": where,
    }
    if cluster is not None:  # only then, so engines without the keyword still fit
        kw["cluster"] = cluster
    first = engine.cox_moments(source, **kw)
    if first.n == 0:
        raise AnalysisError("no observations for the Cox model")
    moments = engine.cox_moments(source, center=first.mean, **kw)

    def sums_at(beta: NDArray[np.float64], center: NDArray[np.float64]) -> Any:
        return engine.cox_sums(source, beta=beta, center=center, **kw)

    kept: dict[str, Any] = {}
    res = sufficient.cox_fit_from_sums(
        sums_at,
        moments,
        term_names=[t.label for t in terms],
        ties=ties,
        conf_level=conf_level,
        assign=assign,
        control=control,
        ph_test=ph_test,
        keep=kept,
    )
    if robust or cluster is not None:
        robust_pass = getattr(engine, "cox_robust", None)
        if robust_pass is None:
            raise AnalysisError(f"the robust variance is not available with engine {engine.name}")
        center = moments.mean
        # the fit's last pass was at β̂ = coef about the same centre: no pass needed here
        final = kept.get("final_sums")
        if final is None:  # pragma: no cover - cox_fit_from_sums always keeps them
            final = engine.cox_sums(source, beta=res.coef, center=center, **kw)
        table = sufficient.robust_join_table(final, ties)
        cross = robust_pass(source, beta=res.coef, center=center, table=table, **kw)
        res = sufficient.with_robust(res, cross)
    if concordance:
        res = _with_concordance(engine, source, res, moments, kw, concordance_limit)
    return res


def cox_fits(
    engine: Engine,
    source: Source,
    *,
    time: str,
    event: str,
    terms: Sequence[Term],
    fits: Sequence[Mapping[str, Any]],
    strata: str | None = None,
    weight: str | None = None,
    where: str | None = None,
    assign: Sequence[str] | None = None,
    control: Any = None,
    concordance_limit: int = CONCORDANCE_CELL_LIMIT,
) -> list[Any]:
    """Several fits of one Cox model on the same rows — typically under Efron and under
    Breslow ties — at the cost of about one: the two moment passes are shared and every
    Newton evaluation of all fits is one pass (:meth:`cox_sums_many`, when the engine has
    it; otherwise one :meth:`Engine.cox_sums` pass per β).

    Each entry of ``fits`` holds that fit's options: ``ties`` (default ``"efron"``),
    ``conf_level`` (0.95), ``ph_test`` (False), ``concordance`` (False) and ``assign``
    (``True``: the ``assign`` labels given here; default none). Each result is the
    :class:`survstudy.stats.cox.CoxResult` that :func:`cox` gives with those options
    (the same sums, the same arithmetic). No robust variance or clusters here.
    """
    kw: dict[str, Any] = {
        "time": time,
        "event": event,
        "terms": list(terms),
        "strata": strata,
        "weight": weight,
        "where": where,
    }
    first = engine.cox_moments(source, **kw)
    if first.n == 0:
        raise AnalysisError("no observations for the Cox model")
    moments = engine.cox_moments(source, center=first.mean, **kw)
    many = getattr(engine, "cox_sums_many", None)

    def sums_many(betas: Sequence[NDArray[np.float64]], center: NDArray[np.float64]) -> Any:
        if many is not None:
            return many(source, betas=betas, center=center, **kw)
        return [engine.cox_sums(source, beta=b, center=center, **kw) for b in betas]

    def sums_at(beta: NDArray[np.float64], center: NDArray[np.float64]) -> Any:
        return engine.cox_sums(source, beta=beta, center=center, **kw)

    options = [
        {
            "ties": f.get("ties", "efron"),
            "conf_level": f.get("conf_level", 0.95),
            "ph_test": bool(f.get("ph_test", False)),
            "assign": assign if f.get("assign") else None,
            "control": control,
        }
        for f in fits
    ]
    results = sufficient.cox_fits_from_sums(
        sums_many,
        moments,
        term_names=[t.label for t in terms],
        fits=options,
        sums_at=sums_at,
    )
    return [
        _with_concordance(engine, source, res, moments, kw, concordance_limit)
        if f.get("concordance", False)
        else res
        for res, f in zip(results, fits, strict=True)
    ]


def _with_concordance(
    engine: Engine,
    source: Source,
    res: Any,
    moments: Any,
    kw: dict[str, Any],
    limit: int,
) -> Any:
    """``res`` with ``.concordance`` from the engine's grouped rows, or with a warning saying
    why there is none (never a silent ``None``)."""
    import dataclasses

    cells_pass = getattr(engine, "concordance_cells", None)
    if cells_pass is None:
        warn = sufficient.concordance_skipped(
            0, limit, reason=f"it is not available with engine {engine.name}"
        )
        return dataclasses.replace(res, warnings=(*res.warnings, warn))
    cells = cells_pass(source, limit=limit, n_rows=int(moments.n), **kw)
    if not cells.complete:
        warn = sufficient.concordance_skipped(cells.n_cells, limit)
        return dataclasses.replace(res, warnings=(*res.warnings, warn))
    conc = sufficient.concordance_from_cells(cells, res.coef, moments.mean)
    return dataclasses.replace(res, concordance=conc)

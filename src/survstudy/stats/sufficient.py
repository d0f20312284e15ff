"""Kaplan–Meier, log-rank and Cox regression from per-distinct-time sufficient statistics.

A data engine (in-memory NumPy, DuckDB, Spark: :mod:`survstudy.engines`) reduces
the rows to one record per (stratum, group, distinct time); everything else is
computed here, on the driver, with the formulas of :mod:`.km`, :mod:`.logrank`
and :mod:`.cox` — so every engine gives the numbers of the in-memory functions.

Containers (produced by engines, consumed here; arrays are float64 unless said):

* :class:`RiskCounts` — per (stratum, group, time): ``n_event`` (weighted
  events) and ``n_exit`` (weighted events + censorings). The number at risk is
  the reverse cumulative sum of ``n_exit`` within (stratum, group).
* :class:`CoxMoments` — the first passes of a Cox fit: weighted means (the
  centre), mean absolute deviations and the centred cross-product matrix about a
  given centre (scaling and the collinearity check of :func:`.cox.cox_fit`).
* :class:`CoxSums` — per (stratum, distinct time) at one β, with centred
  covariates ``x_c = x − center`` and ``η = x_c·β``: over all rows leaving at the
  time, ``e0 = Σ w e^η``, ``e1 = Σ w x_c e^η``, ``e2 = Σ w x_c x_cᵀ e^η``; the
  same over the event rows (``d0, d1, d2``); ``d_x = Σ_events w x_c`` and
  ``d_eta = Σ_events w η``; the number and weight of events.

Ties in time: engines group by the exact stored value; the driver merges
neighbouring times closer than R's ``aeqSurv`` tolerance exactly as
:func:`.riskset.distinct_times` does (on the same set of distinct values, so the
merged times are the in-memory ones).

References: as :mod:`.km`, :mod:`.logrank`, :mod:`.cox` (Therneau & Grambsch
2000, ch. 3; Kalbfleisch & Prentice 2002).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from survstudy.stats._common import row_dot

__all__ = [
    "ConcordanceCells",
    "CoxMoments",
    "CoxSums",
    "RiskCounts",
    "collapse_sorted",
    "concordance_from_cells",
    "concordance_skipped",
]

F = NDArray[np.float64]
I = NDArray[np.intp]  # noqa: E741


@dataclass(frozen=True)
class RiskCounts:
    """Events and exits per (stratum, group, distinct time), sorted by those three keys.

    ``strata_levels``/``group_levels`` are the distinct non-missing values in
    level order (numbers numerically, then text; see
    :func:`survstudy.engines.base.level_sort_key`); ``()`` when the analysis has
    no strata / no groups, in which case every ``stratum``/``group`` code is 0.
    ``n_event`` is the (weighted) number of events at the time, ``n_exit`` the
    (weighted) number of rows whose follow-up ends there (events + censored).
    ``n_rows`` counts the rows used; ``n_read`` the rows read (after ``where``);
    ``n_dropped = n_read − n_rows`` (a missing value in a used column).
    """

    stratum: I
    group: I
    time: F
    n_event: F
    n_exit: F
    strata_levels: tuple[Any, ...] = ()
    group_levels: tuple[Any, ...] = ()
    n_rows: int = 0
    n_read: int = 0
    n_dropped: int = 0


@dataclass(frozen=True)
class CoxMoments:
    """Column summaries of the Cox design over the rows used (see module docstring).

    ``mean`` is the case-weighted mean of each covariate; ``abs_dev`` the
    unweighted sum ``Σ |x − center|`` (the driver divides by ``n``) and ``cross`` the unweighted
    ``Σ (x − center)(x − center)ᵀ`` (both ``None`` when no centre was given);
    ``binary[j]`` is True when column j takes only the values 0 and 1, and
    ``events_at_one[j]`` counts the event rows with ``x_j = 1``.
    """

    n: int
    n_events: int
    weight_sum: float
    mean: F
    abs_dev: F | None
    cross: F | None
    binary: NDArray[np.bool_]
    events_at_one: F
    n_read: int = 0
    n_dropped: int = 0


@dataclass(frozen=True)
class CoxSums:
    """Per (stratum, distinct time), ascending time within stratum, at one β (module docstring).

    Shapes with ``g`` records and ``p`` covariates: ``stratum, time, n_event,
    w_event, e0, d0, d_eta`` (g,); ``e1, d1, d_x`` (g, p); ``e2, d2`` (g, p, p).
    ``n_event`` is the unweighted number of event rows (Efron's ``d``),
    ``w_event`` their total case weight; ``w_exit`` (optional, for the PH test's
    Kaplan–Meier transform) the total case weight of all rows leaving at the time.
    """

    stratum: I
    time: F
    n_event: F
    w_event: F
    e0: F
    e1: F
    e2: F
    d0: F
    d1: F
    d2: F
    d_x: F
    d_eta: F
    strata_levels: tuple[Any, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    w_exit: F | None = None


@dataclass(frozen=True)
class ConcordanceCells:
    """The used rows grouped by (stratum, exact time, event, every term's value[, cluster]).

    One record per distinct combination (any order): ``stratum`` codes (level
    order, all 0 without strata), ``time``, ``event`` (0/1), ``x`` (m, p) the
    terms' values (not centred), ``n_rows`` the rows, ``weight`` their Σ w and
    ``weight_sq`` their Σ w² (both the row count without case weights);
    ``cluster`` codes (or ``None``). Harrell's C of a Cox fit and its jackknife SE
    follow on the driver (:func:`concordance_from_cells`), equal to those of the
    rows because the rows of a record share time, event and linear predictor.

    ``complete`` is False when there were more than ``limit`` records: the arrays
    are then empty and ``n_cells`` is the (estimated) number of records.
    """

    stratum: I
    time: F
    event: F
    x: F
    n_rows: F
    weight: F
    weight_sq: F
    cluster: I | None = None
    strata_levels: tuple[Any, ...] = ()
    n_cells: int = 0
    limit: int = 0
    complete: bool = True


# --------------------------------------------------------------------------- near ties


def _merge_times(time: F) -> tuple[F, I]:
    """Merged time of each record (R's ``aeqSurv`` rule over ``time``'s distinct values)."""
    from survstudy.stats.riskset import distinct_times

    if time.size == 0:
        return time, np.zeros(0, dtype=np.intp)
    uniq, inv = distinct_times(time)
    return uniq[inv], inv


def collapse_sorted(
    keys: list[NDArray[Any]], *cols: NDArray[Any]
) -> tuple[list[NDArray[Any]], list[NDArray[Any]]]:
    """Sort records by ``keys`` (first key most significant) and sum ``cols`` over equal keys
    (also used by :mod:`survstudy.engines.cells` to build the containers from cells)."""
    n = keys[0].shape[0]
    if n == 0:
        return keys, list(cols)
    order = np.lexsort(tuple(reversed(keys)))
    ks = [k[order] for k in keys]
    new = np.zeros(n, dtype=bool)
    new[0] = True
    for k in ks:
        new[1:] |= k[1:] != k[:-1]
    starts = np.flatnonzero(new)
    return [k[starts] for k in ks], [np.add.reduceat(c[order], starts, axis=0) for c in cols]


# --------------------------------------------------------------------------- Kaplan–Meier


def kaplan_meier_from_counts(counts: RiskCounts, **kwargs: Any) -> list[tuple[Any, Any]]:
    """One Kaplan–Meier result per group level (``[(None, km)]`` without groups).

    Each (group, time) record becomes two frequency-weighted rows (the events,
    the censorings) passed to :func:`.km.kaplan_meier` with those weights: the
    product-limit estimate, Greenwood variance and quantiles depend on the data
    only through the weighted counts per time, so the result equals the
    in-memory one. ``kwargs`` go to :func:`.km.kaplan_meier` (``conf_type``,
    ``conf_level``, ``reverse``). Strata are ignored (counts are pooled).
    """
    from survstudy.stats.km import kaplan_meier

    out: list[tuple[Any, Any]] = []
    levels: tuple[Any, ...] = counts.group_levels or (None,)
    for code, level in enumerate(levels):
        m = counts.group == code
        if not np.any(m):
            continue
        t = np.concatenate((counts.time[m], counts.time[m]))
        e = np.concatenate((np.ones(int(m.sum())), np.zeros(int(m.sum()))))
        w = np.concatenate((counts.n_event[m], counts.n_exit[m] - counts.n_event[m]))
        keep = w > 0
        out.append((level, kaplan_meier(t[keep], e[keep], weights=w[keep], **kwargs)))
    return out


# --------------------------------------------------------------------------- log-rank


def logrank_from_counts(
    counts: RiskCounts, *, weights: str = "logrank", rho: float = 0.0, gamma: float = 0.0
) -> Any:
    """The weighted k-sample log-rank test of :func:`.logrank.logrank_test` from counts.

    Same formulas (module docstring of :mod:`.logrank`): per stratum, the
    numbers at risk per group are the reverse cumulative sums of the exits over
    the stratum's (near-tie merged) times; U and V are summed over strata.
    """
    from survstudy.errors import AnalysisError
    from survstudy.stats.logrank import check_weights, logrank_result, score_from_counts

    check_weights(weights, rho, gamma)
    k = len(counts.group_levels) if counts.group_levels else 1
    if k < 2:
        raise AnalysisError("the log-rank test needs at least two groups")
    if not np.any(counts.n_event > 0):
        raise AnalysisError("no events: the log-rank test cannot be computed")
    obs = np.zeros(k)
    exp_ = np.zeros(k)
    var = np.zeros((k, k))
    n_all = np.zeros(k)
    n_strata = max(len(counts.strata_levels), 1)
    for st in range(n_strata):
        sm = counts.stratum == st
        if not np.any(sm):
            continue
        uniq_t, inv = _merge_times(counts.time[sm])
        nt = uniq_t.size if inv.size == 0 else int(inv.max()) + 1
        cell = inv * k + counts.group[sm]
        exits = np.bincount(cell, weights=counts.n_exit[sm], minlength=nt * k).reshape(nt, k)
        dv = np.bincount(cell, weights=counts.n_event[sm], minlength=nt * k).reshape(nt, k)
        if not np.any(dv > 0):
            n_all += exits.sum(axis=0)
            continue
        nr = np.cumsum(exits[::-1], axis=0)[::-1]
        n_all += nr[0]
        o1, e1, v1 = score_from_counts(nr, dv, weights, rho, gamma)
        obs += o1
        exp_ += e1
        var += v1
    return logrank_result(
        obs,
        exp_,
        var,
        n_all,
        weights=weights,
        rho=rho,
        gamma=gamma,
        stratified=bool(counts.strata_levels),
        group_codes=np.arange(k, dtype=np.intp),
        groups=tuple(counts.group_levels),
    )


# --------------------------------------------------------------------------- Cox


@dataclass(frozen=True)
class _Grouped:
    """Cox sums on the fit's scale, near ties merged, ascending time within stratum."""

    stratum: I
    time: F
    gstart: I
    n_event: F
    w_event: F
    e0: F
    e1: F
    e2: F
    d0: F
    d1: F
    d2: F
    d_x: F
    d_eta: F


def _group(sums: CoxSums, scale: F) -> _Grouped:
    """Rescale to the fit's design (``x_c / scale``) and merge near-tied times (as ``prepare``)."""
    from survstudy.stats.riskset import distinct_times

    uniq, tinv = (
        distinct_times(sums.time) if sums.time.size else (np.zeros(0), np.zeros(0, np.intp))
    )
    ss = np.outer(scale, scale)
    (sk, tk), cols = collapse_sorted(
        [sums.stratum.astype(np.intp), tinv.astype(np.intp)],
        sums.n_event,
        sums.w_event,
        sums.e0,
        sums.e1 / scale,
        sums.e2 / ss,
        sums.d0,
        sums.d1 / scale,
        sums.d2 / ss,
        sums.d_x / scale,
        sums.d_eta,
    )
    ng = sk.size
    newst = np.ones(ng, dtype=bool)
    newst[1:] = sk[1:] != sk[:-1]
    firsts = np.flatnonzero(newst)
    gstart = firsts[np.cumsum(newst) - 1].astype(np.intp)
    n_event, w_event, e0, e1, e2, d0, d1, d2, d_x, d_eta = cols
    return _Grouped(
        stratum=sk.astype(np.intp),
        time=uniq[tk].astype(np.float64),
        gstart=gstart,
        n_event=n_event,
        w_event=w_event,
        e0=e0,
        e1=e1,
        e2=e2,
        d0=d0,
        d1=d1,
        d2=d2,
        d_x=d_x,
        d_eta=d_eta,
    )


_EFRON_CHUNK = 1 << 20  # expanded tie rows per block: bounds the driver's memory


def _tie_scalars(gr: _Grouped, r0: F, ties: str) -> tuple[F, F, F, F, F, F]:
    """Per group: ``Σ_k m log den_k``, ``c1 = Σ m/den``, ``c2 = Σ m f/den`` and
    ``q_j = Σ m f^j/den²`` (j = 0, 1, 2); see :mod:`._cox_objective` for ``den, f, m``."""
    ng = r0.size
    lm, c1, c2, q0, q1, q2 = (np.zeros(ng) for _ in range(6))
    gwith = np.flatnonzero(gr.n_event > 0)
    if ties == "breslow":
        m = gr.w_event[gwith]
        den = r0[gwith]
        lm[gwith] = m * np.log(den)
        c1[gwith] = m / den
        q0[gwith] = m / den**2
        return lm, c1, c2, q0, q1, q2
    d_all = gr.n_event[gwith].astype(np.intp)
    cum = np.cumsum(d_all)
    start = 0
    while start < gwith.size:
        # groups [start, stop) with at most _EFRON_CHUNK deaths (at least one group)
        base = cum[start - 1] if start else 0
        stop = max(int(np.searchsorted(cum, base + _EFRON_CHUNK, side="right")), start + 1)
        gi = gwith[start:stop]
        d = d_all[start:stop]
        # one entry per tied death k = 0..d-1 of each group, groups contiguous: the sums
        # per group are segment sums (reduceat), with as few full-length temporaries as
        # possible (at 10^8 rows this loop handles every death of every Efron evaluation)
        first = np.cumsum(d) - d
        f = np.arange(int(first[-1] + d[-1]), dtype=np.float64)
        f -= np.repeat(first.astype(np.float64), d)
        f /= np.repeat(d.astype(np.float64), d)  # k/d
        m = np.repeat(gr.w_event[gi] / d, d)
        den = f * np.repeat(gr.d0[gi], d)
        np.subtract(np.repeat(r0[gi], d), den, out=den)
        mden = m / den
        mden2 = mden / den
        np.log(den, out=den)
        den *= m
        lm[gi] = np.add.reduceat(den, first)
        c1[gi] = np.add.reduceat(mden, first)
        mden *= f
        c2[gi] = np.add.reduceat(mden, first)
        q0[gi] = np.add.reduceat(mden2, first)
        mden2 *= f
        q1[gi] = np.add.reduceat(mden2, first)
        mden2 *= f
        q2[gi] = np.add.reduceat(mden2, first)
        start = stop
    return lm, c1, c2, q0, q1, q2


def _objective(gr: _Grouped, ties: str) -> tuple[float, F, F]:
    """ℓ, U and I on the fit's scale from grouped sums (formulas: :mod:`._cox_objective`).

    ``Σ_g c1_g R2_g`` is evaluated as ``Σ_h E2_h C_h`` with ``C`` the cumulative sum of
    ``c1`` over earlier times (the risk set of time g holds the exits at h >= g).
    """
    from survstudy.stats._cox_objective import cumsum_within, revcumsum_within

    r0 = revcumsum_within(gr.e0, gr.gstart)
    r1 = revcumsum_within(gr.e1, gr.gstart)
    lm, c1, c2, q0, q1, q2 = _tie_scalars(gr, r0, ties)
    loglik = float(gr.d_eta.sum() - lm.sum())
    score = gr.d_x.sum(axis=0) - (c1[:, None] * r1 - c2[:, None] * gr.d1).sum(axis=0)
    big_c = cumsum_within(c1, gr.gstart)
    info = np.einsum("g,gjk->jk", big_c, gr.e2) - np.einsum("g,gjk->jk", c2, gr.d2)
    info -= (r1 * q0[:, None]).T @ r1
    cross = (r1 * q1[:, None]).T @ gr.d1
    info += cross + cross.T
    info -= (gr.d1 * q2[:, None]).T @ gr.d1
    return loglik, score, info


@dataclass
class _Obj:
    loglik: float
    score: F
    information: F


def cox_fit_from_sums(
    sums_at: Any,
    moments: CoxMoments,
    *,
    term_names: Any,
    ties: str = "efron",
    control: Any = None,
    conf_level: float = 0.95,
    n_dropped: int | None = None,
    assign: Any = None,
    ph_test: bool = False,
    keep: dict[str, Any] | None = None,
) -> Any:
    """A Cox fit (:class:`.cox.CoxResult`) from per-time sums, as :func:`.cox.cox_fit` computes it.

    ``sums_at(beta, center)`` returns the :class:`CoxSums` at ``beta`` (original
    covariate scale) about ``center`` — one pass of an engine. ``moments`` must
    hold ``abs_dev`` and ``cross`` about ``moments.mean`` (the fit's centre).
    Centring at the weighted mean and scaling by the mean absolute deviation,
    the design checks (no events, constant or collinear columns), Newton–Raphson
    with R's stopping and step-halving rules, model-based variance, Wald CIs,
    LR/Wald/score tests, the monotone-likelihood flag with its LR p (a refit
    without the term) and the Breslow/Efron baseline hazard are those of
    :func:`.cox.cox_fit` (Therneau & Grambsch 2000, ch. 3). ``ph_test=True``
    adds R's ``cox.zph`` (km transform) from the same sums. Not available here:
    robust variance and concordance (they need the rows). ``keep``: a dict that receives
    ``"final_sums"``, the :class:`CoxSums` at the fitted β (``coef``) about ``center``
    (an engine's robust variance starts from them instead of another pass).
    """
    kw = {"ties": ties, "control": control, "conf_level": conf_level, "assign": assign}
    kw |= {"n_dropped": n_dropped, "ph_test": ph_test, "keep": keep}
    fits = cox_fits_from_sums(
        lambda betas, center: [sums_at(b, center) for b in betas],
        moments,
        term_names=term_names,
        fits=[kw],
        sums_at=sums_at,
    )
    return fits[0]


def cox_fits_from_sums(
    sums_many: Any,
    moments: CoxMoments,
    *,
    term_names: Any,
    fits: Sequence[Mapping[str, Any]],
    sums_at: Any = None,
) -> list[Any]:
    """Several Cox fits of the same model on the same rows, their sums evaluated together.

    Each entry of ``fits`` holds the keywords of :func:`cox_fit_from_sums` for one fit
    (``ties``, ``conf_level``, ``assign``, ``ph_test``, ``control``, ``n_dropped``,
    ``keep``) — typically the Efron and the Breslow fit of a model. The fits share
    ``moments`` (centre and scale) and run their Newton iterations in lockstep:
    ``sums_many(betas, center)`` returns the :class:`CoxSums` at each β of ``betas``
    (one engine pass for all of them); a fit that has converged drops out. Every
    fit's numbers are those of :func:`cox_fit_from_sums` on its own (the same
    arithmetic on the same sums). ``sums_at(beta, center)`` serves the rare single
    evaluations (refits without a monotone term); default: ``sums_many`` with one β.
    """
    center = np.asarray(moments.mean, dtype=np.float64)
    one = sums_at or (lambda beta, c: sums_many([beta], c)[0])
    gens = [_cox_fit_steps(one, moments, term_names=term_names, **f) for f in fits]
    out: list[Any] = [None] * len(gens)
    pending: dict[int, F] = {}
    for i, g in enumerate(gens):
        try:
            pending[i] = next(g)
        except StopIteration as stop:  # pragma: no cover - every fit evaluates at β = 0
            out[i] = stop.value
    while pending:
        order = sorted(pending)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            got = sums_many([pending[i] for i in order], center)
        for i, sums in zip(order, got, strict=True):
            try:
                pending[i] = gens[i].send(sums)
            except StopIteration as stop:
                del pending[i]
                out[i] = stop.value
    return out


def _cox_fit_steps(
    sums_at: Any,
    moments: CoxMoments,
    *,
    term_names: Any,
    ties: str = "efron",
    control: Any = None,
    conf_level: float = 0.95,
    n_dropped: int | None = None,
    assign: Any = None,
    ph_test: bool = False,
    keep: dict[str, Any] | None = None,
) -> Generator[F, CoxSums, Any]:
    """:func:`cox_fit_from_sums` as a generator: it yields each β (original scale) whose
    sums the main Newton iteration and the final pass need, is sent the
    :class:`CoxSums` at it (about ``moments.mean``), and returns the
    :class:`.cox.CoxResult`. The rare refits without a term (monotone likelihood) call
    ``sums_at`` themselves."""
    from survstudy.errors import AnalysisError
    from survstudy.stats._cox_fitting import (
        NewtonFit,
        check_collinear,
        generalised_inverse,
        newton_steps,
        solve_psd,
        summarise_fit,
    )
    from survstudy.stats._cox_fitting import newton as _newton
    from survstudy.stats.cox import BaselineHazard, CoxControl, CoxResult

    if ties not in ("efron", "breslow"):
        raise ValueError("ties must be 'efron' or 'breslow'")
    control = control or CoxControl()
    names = tuple(term_names)
    p = len(names)
    n = int(moments.n)
    if moments.abs_dev is None or moments.cross is None:
        raise ValueError("moments must be computed about their mean (center=mean)")
    center = np.asarray(moments.mean, dtype=np.float64)
    raw_scale = moments.abs_dev / n if n else np.zeros(p)
    scale = np.where(raw_scale == 0, 1.0, raw_scale)
    if moments.n_events == 0:
        raise AnalysisError("there are no events: a Cox model cannot be fitted")
    for j in range(p):
        if raw_scale[j] == 0:
            raise AnalysisError(
                f"covariate {names[j]} has the same value for every analysed patient (zero variance)"
            )
    if p > 1:
        check_collinear(moments.cross / np.outer(scale, scale) / n, names)

    last: dict[str, Any] = {}

    def full_beta(beta_s: F, keep: I | None = None) -> F:
        full = np.zeros(p)
        if keep is None:
            full[:] = beta_s
        else:
            full[keep] = beta_s
        return full

    def objective(full: F, sums: CoxSums, keep: I | None = None) -> tuple[_Obj, bool]:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            gr = _group(sums, scale)
            ll, u, info = _objective(gr, ties)
        last.update(full=full, sums=sums, gr=gr)
        if keep is not None:
            u = u[keep]
            info = info[np.ix_(keep, keep)]
        o = _Obj(ll, u, info)
        finite = (
            bool(np.isfinite(ll))
            and bool(np.all(np.isfinite(u)))
            and bool(np.all(np.isfinite(info)))
        )
        return o, finite

    def evaluate(beta_s: F, keep: I | None = None) -> tuple[_Obj, bool]:
        full = full_beta(beta_s, keep)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            sums = sums_at(full / scale, center)
        return objective(full, sums, keep)

    def newton(init: F, keep: I | None = None) -> NewtonFit:
        return _newton(
            lambda b: evaluate(b, keep),
            init,
            control.iter_max,
            control.eps,
            solve_psd,
            generalised_inverse,
        )

    # the main iteration: each evaluation's sums come from the caller (see the docstring)
    steps = newton_steps(np.zeros(p), control.iter_max, control.eps, solve_psd, generalised_inverse)
    beta_req = next(steps)
    while True:
        full = full_beta(beta_req)
        sums = yield full / scale
        try:
            beta_req = steps.send(objective(full, sums))
        except StopIteration as stop:
            fit: NewtonFit = stop.value
            break
    beta_s: F = fit.beta
    fobj: _Obj = fit.obj
    first: _Obj = fit.first
    loglik0 = first.loglik

    # the baseline needs the sums at the final beta (the last evaluation may be a trial point)
    if "full" in last and np.array_equal(last["full"], beta_s):
        final_sums, final_gr = last["sums"], last["gr"]  # converged at the last evaluation
    else:
        final_sums = yield beta_s / scale
        final_gr = _group(final_sums, scale)
    if keep is not None:
        keep["final_sums"] = final_sums

    def refit_loglik(keep: list[int]) -> float:
        kept = np.array(keep, dtype=np.intp)
        return float(newton(np.zeros(kept.size), kept).obj.loglik)

    summ = summarise_fit(
        beta_s=beta_s,
        var_s=fit.var,
        score=fobj.score,
        loglik=fobj.loglik,
        loglik0=loglik0,
        score0=first.score,
        info0=first.information,
        scale=scale,
        converged=fit.converged,
        control=control,
        conf_level=conf_level,
        names=names,
        level_no_events=[
            bool(moments.binary[j] and moments.events_at_one[j] == 0) for j in range(p)
        ],
        refit_loglik=refit_loglik,
    )
    coef = summ.coef
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        r0 = _revcum(final_gr)
        _, c1, *_rest = _tie_scalars(final_gr, r0, ties)
        inc = c1 * np.exp(-float(center @ coef))
    cumhaz = np.zeros(inc.size)
    for a, b in zip(*_bounds(final_gr.gstart), strict=True):
        cumhaz[a:b] = np.cumsum(inc[a:b])
    baseline = BaselineHazard(time=final_gr.time, cumhaz=cumhaz, stratum=final_gr.stratum)
    ph = None
    if ph_test and p:
        labels = list(assign) if assign is not None else list(names)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            ph = _ph_test_from_sums(final_sums, final_gr, ties, labels)
    return CoxResult(
        ties=ties,
        n=n,
        events=int(moments.n_events),
        n_dropped=int(moments.n_dropped if n_dropped is None else n_dropped),
        iterations=int(fit.iterations),
        converged=bool(fit.converged),
        loglik_null=float(loglik0),
        loglik=float(fobj.loglik),
        coef=coef,
        se=summ.se,
        var=summ.var,
        z=summ.z,
        p_value=summ.p_value,
        robust_se=None,
        robust_var=None,
        term_names=names,
        terms=summ.terms,
        tests=summ.tests,
        conf_level=conf_level,
        baseline=baseline,
        warnings=tuple(summ.warnings),
        assign=None if assign is None else tuple(assign),
        ph=ph,
    )


def _revcum(gr: _Grouped) -> F:
    from survstudy.stats._cox_objective import revcumsum_within

    return revcumsum_within(gr.e0, gr.gstart)


def _bounds(gstart: I) -> tuple[I, I]:
    ng = gstart.size
    firsts = np.flatnonzero(np.concatenate(([True], gstart[1:] != gstart[:-1])))
    return firsts, np.concatenate((firsts[1:], [ng])).astype(np.intp)


def _ph_test_from_sums(sums: CoxSums, gr: _Grouped, ties: str, labels: list[str]) -> Any:
    """R's ``cox.zph(fit, transform="km")`` from the per-time sums at the fitted β.

    As :func:`.coxzph.cox_zph` (Grambsch & Therneau 1994; survival 3.x score
    test): ``g(t) = 1 − Ŝ(t−)`` of all subjects (strata pooled, exact times),
    centred by its mean over the events; per tie group the score
    ``U_t = Σ_D w x − Σ_k m a_k`` and information ``I_t`` of the fitted model
    (both functions of the per-time sums), ``U_γ = Σ g_t U_t`` and the blocks
    ``Σ I_t``, ``Σ g_t I_t``, ``Σ g_t² I_t``.
    """
    from survstudy.errors import AnalysisError
    from survstudy.stats._cox_objective import revcumsum_within
    from survstudy.stats._dist import chi2_sf
    from survstudy.stats.coxzph import PhTerm, PhTestResult

    if sums.w_exit is None:
        raise AnalysisError("the PH test needs the exits per time (CoxSums.w_exit)")
    uniq, inv = np.unique(sums.time, return_inverse=True)
    exits = np.bincount(inv, weights=sums.w_exit, minlength=uniq.size)
    deaths = np.bincount(inv, weights=sums.w_event, minlength=uniq.size)
    risk = np.cumsum(exits[::-1])[::-1]
    surv = np.concatenate(([1.0], np.cumprod(1.0 - deaths / risk)))

    def gfun(t: F) -> F:
        return np.asarray(1.0 - surv[np.searchsorted(uniq, t, side="left")], dtype=np.float64)

    center = float(sums.n_event @ gfun(sums.time) / sums.n_event.sum())
    gt = gfun(gr.time) - center
    p = gr.e1.shape[1]
    ng = gr.e0.size
    r0 = revcumsum_within(gr.e0, gr.gstart)
    r1 = revcumsum_within(gr.e1, gr.gstart)
    r2 = revcumsum_within(gr.e2.reshape(ng, p * p), gr.gstart).reshape(ng, p, p)
    _, c1, c2, q0, q1, q2 = _tie_scalars(gr, r0, ties)
    u_g = gr.d_x - (c1[:, None] * r1 - c2[:, None] * gr.d1)
    cross = q1[:, None, None] * r1[:, :, None] * gr.d1[:, None, :]
    i_g = (
        c1[:, None, None] * r2
        - c2[:, None, None] * gr.d2
        - q0[:, None, None] * r1[:, :, None] * r1[:, None, :]
        + cross
        + cross.transpose(0, 2, 1)
        - q2[:, None, None] * gr.d1[:, :, None] * gr.d1[:, None, :]
    )
    u_gam = (gt[:, None] * u_g).sum(axis=0)
    i_bb = i_g.sum(axis=0)
    i_bg = (gt[:, None, None] * i_g).sum(axis=0)
    i_gg = ((gt**2)[:, None, None] * i_g).sum(axis=0)
    full = np.block([[i_bb, i_bg], [i_bg.T, i_gg]])
    u_full = np.concatenate((np.zeros(p), u_gam))
    terms: list[Any] = []
    for lab in dict.fromkeys(labels):
        cols = [j for j in range(p) if labels[j] == lab]
        jj = list(range(p)) + [p + j for j in cols]
        tu = u_full[jj]
        stat = float(tu @ np.linalg.solve(full[np.ix_(jj, jj)], tu))
        terms.append(PhTerm(lab, stat, len(cols), chi2_sf(stat, len(cols))))
    gstat = float(u_full @ np.linalg.solve(full, u_full))
    return PhTestResult(tuple(terms), gstat, p, chi2_sf(gstat, p))


# --------------------------------------------------------------------------- robust variance


def robust_join_table(sums: CoxSums, ties: str) -> dict[str, Any]:
    """Per engine cell (raw stratum value ``s_``, exact time ``t_``): what a row needs for its
    score residual (Lin & Wei 1989; as :func:`._cox_objective.score_residuals`).

    ``sums`` are taken at the fitted β in the centred original coordinates. A row j
    (time in tie group g, centred covariates ``x``, risk ``r = e^η``) has the residual
    ``δ w (x − ā_g) − w r (x H − HA)`` with ``H = Σ_{t_h ≤ t_g} Σ_k h_hk`` and
    ``HA = Σ_{t_h ≤ t_g} Σ_k h_hk a_hk`` (``h = m/den``); under Efron a death takes
    its own time's increments with weight ``1 − f_k``: ``H − dH``, ``HA − dHA``.
    Columns: ``s_, t_, abar{j}, h, ha{j}, dh, dha{j}``.
    """
    from survstudy.stats._cox_objective import cumsum_within, revcumsum_within
    from survstudy.stats.riskset import distinct_times

    p = sums.e1.shape[1]
    gr = _group(sums, np.ones(p))
    ng = gr.e0.size
    r0 = _revcum(gr)
    r1 = revcumsum_within(gr.e1, gr.gstart)
    h1 = np.zeros(ng)
    ha1 = np.zeros((ng, p))
    h2 = np.zeros(ng)
    ha2 = np.zeros((ng, p))
    abar = np.zeros((ng, p))
    gwith = np.flatnonzero(gr.n_event > 0)
    d = gr.n_event[gwith].astype(np.intp)
    if ties == "breslow":
        m = gr.w_event[gwith]
        a = r1[gwith] / r0[gwith, None]
        h1[gwith] = m / r0[gwith]
        ha1[gwith] = h1[gwith, None] * a
        h2[gwith] = h1[gwith]  # no own-time correction
        ha2[gwith] = ha1[gwith]
        ok = r0 > 0
        abar[ok] = r1[ok] / r0[ok, None]
    else:
        rep = np.repeat(np.arange(gwith.size), d)
        kk = np.arange(rep.size) - np.repeat(np.cumsum(d) - d, d)
        f = kk / np.repeat(d, d).astype(np.float64)
        gi = gwith[rep]
        den = r0[gi] - f * gr.d0[gi]
        a = (r1[gi] - f[:, None] * gr.d1[gi]) / den[:, None]
        h = np.repeat(gr.w_event[gwith] / d, d) / den
        h1[gwith] = np.bincount(rep, weights=h, minlength=gwith.size)
        h2[gwith] = np.bincount(rep, weights=h * (1 - f), minlength=gwith.size)
        for j in range(p):
            ha1[gwith, j] = np.bincount(rep, weights=h * a[:, j], minlength=gwith.size)
            ha2[gwith, j] = np.bincount(rep, weights=h * (1 - f) * a[:, j], minlength=gwith.size)
            abar[gwith, j] = np.bincount(rep, weights=a[:, j], minlength=gwith.size) / d
    hc = cumsum_within(h1, gr.gstart)
    hac = cumsum_within(ha1, gr.gstart)
    # each engine cell -> its merged tie group (gr is sorted by stratum, merged time)
    ct = np.asarray(sums.extra["cell_time"], dtype=np.float64)
    cs = np.asarray(sums.extra["cell_stratum"], dtype=np.int64)
    uniq, tinv = distinct_times(sums.time)
    merged_of_exact = dict(zip(sums.time.tolist(), tinv.tolist(), strict=True))
    width = max(int(uniq.size), 1)
    gk = gr.stratum.astype(np.int64) * width + np.searchsorted(uniq, gr.time)
    ck = cs * width + np.array([merged_of_exact[t] for t in ct.tolist()], dtype=np.int64)
    gidx = np.searchsorted(gk, ck)
    raw = sums.extra["cell_stratum_raw"]
    seen: set[tuple[Any, float]] = set()
    keep: list[int] = []
    for i, (sv, tv) in enumerate(zip(raw, ct.tolist(), strict=True)):
        key = (sv.item() if hasattr(sv, "item") else sv, tv)
        if key not in seen:
            seen.add(key)
            keep.append(i)
    ki = np.asarray(keep, dtype=np.intp)
    g = gidx[ki]
    out: dict[str, Any] = {
        "s_": [raw[i] for i in keep],
        "t_": ct[ki],
        "h": hc[g],
        "dh": (h1 - h2)[g],
    }
    for j in range(p):
        out[f"abar{j}"] = abar[g, j]
        out[f"ha{j}"] = hac[g, j]
        out[f"dha{j}"] = (ha1 - ha2)[g, j]
    return out


def with_robust(res: Any, cross: F) -> Any:
    """``res`` with the robust (sandwich) variance ``V (Σ r rᵀ) V`` (Lin & Wei 1989).

    ``cross`` is ``Σ r rᵀ`` of the score residuals in the original covariate
    scale (an engine's second pass). As :func:`.cox.cox_fit` with ``robust=True``:
    z, Wald p and CI use the robust SE; the Wald test uses the robust variance.
    """
    import dataclasses

    from survstudy.stats._cox_fitting import TestResult, chisq_sf, solve_psd
    from survstudy.stats._dist import norm_ppf, norm_sf2

    var = np.asarray(res.var, dtype=np.float64)
    rvar = var @ cross @ var
    rse = np.sqrt(np.diag(rvar))
    coef = np.asarray(res.coef, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = coef / rse
    pvals = np.array([norm_sf2(float(v)) for v in z])
    zq = norm_ppf(0.5 + res.conf_level / 2.0)
    with np.errstate(over="ignore"):
        lower = np.exp(coef - zq * rse)
        upper = np.exp(coef + zq * rse)
    terms = tuple(
        dataclasses.replace(
            t,
            z=float(z[j]),
            p_value=None if t.p_value is None else float(pvals[j]),
            robust_se=float(rse[j]),
            lower=float(lower[j]),
            upper=float(upper[j]),
        )
        for j, t in enumerate(res.terms)
    )
    p = coef.size
    tests = dict(res.tests)
    if p:
        wald = float(coef @ solve_psd(rvar, coef))
        tests["wald"] = TestResult(wald, p, chisq_sf(wald, p))
    return dataclasses.replace(
        res, robust_se=rse, robust_var=rvar, z=z, p_value=pvals, terms=terms, tests=tests
    )


# --------------------------------------------------------------------------- concordance


def concordance_from_cells(cells: ConcordanceCells, coef: F, center: F) -> Any:
    """Harrell's C of a Cox fit with its infinitesimal-jackknife SE (R's ``concordance(fit)``),
    from grouped rows: :func:`.concordance.concordance` on the records with the linear
    predictor ``η = Σ_j (x_j − center_j) β_j`` and frequency weights (``weights`` = Σ w,
    ``weights_sq`` = Σ w²), which gives C, the counts and the SE of the rows themselves
    (Therneau & Atkinson, *Concordance*, survival vignette; see :mod:`.concordance`).

    ``η`` is :func:`._common.row_dot` (a fixed summation order), so records with the
    same covariates get bit-identical predictors and stay tied, as the rows do in
    :func:`.cox.cox_fit`.
    """
    from survstudy.stats.concordance import concordance

    if not cells.complete:
        raise ValueError("the cells are incomplete (more than the limit)")
    beta = np.asarray(coef, dtype=np.float64)
    c0 = np.asarray(center, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        lp = row_dot(cells.x - c0, beta)
    return concordance(
        lp,
        cells.time,
        cells.event,
        cells.stratum if cells.strata_levels else None,
        cluster=cells.cluster,
        weights=cells.weight,
        weights_sq=cells.weight_sq,
    )


def concordance_skipped(n_cells: int, limit: int, reason: str | None = None) -> Any:
    """The :class:`StatWarning` (code ``CONCORDANCE-NOT-COMPUTED``) for a fit without C."""
    from survstudy.stats._common import StatWarning

    if reason is None:
        about = f" (about {n_cells:,})" if n_cells > limit + 1 else ""
        reason = (
            f"the concordance needs at most {limit:,} distinct (stratum, time, event, covariate"
            f" values) cells; this model has more than {limit:,}{about}. Fit it with --engine"
            " memory on a sample to get the concordance"
        )
    return StatWarning(
        "CONCORDANCE-NOT-COMPUTED",
        f"Concordance (Harrell's C) not computed: {reason}.",
        {"cells": int(n_cells), "limit": int(limit)},
    )

"""Cox proportional-hazards regression, matching R's ``coxph`` (survival 3.5).

:func:`cox_fit` takes plain matrices (it never sees a column name): a design
``X`` (n, p), times, 0/1 events, optional integer strata, case weights and
cluster codes. The partial likelihood lives in :mod:`._cox_objective`
(importable on its own); this module holds the optimiser and the inference.

Estimation: Newton–Raphson with step halving and R's stopping rule
(``coxph.control``: stop when ``|1 − ℓ_old/ℓ_new| ≤ eps`` after a step that was
not halved; ``iter.max`` iterations at most). Covariates are centred (about a
pivot, then the mean) and scaled by their mean absolute deviation inside the
fit, and results are transformed back, so a shift of +1e12 or a change of
unit does not change the answer beyond the input's own rounding.

Inference: model-based variance ``I(β̂)⁻¹``; Wald CI ``exp(β ± z·se)``;
likelihood-ratio ``2(ℓ(β̂) − ℓ(0))``, Wald ``β̂ᵀ I β̂`` and score ``U(0)ᵀ I(0)⁻¹ U(0)``
tests on p df. Robust variance (Lin & Wei 1989): ``D ᵀ D`` with ``D`` the dfbeta
residuals (score residuals times ``I⁻¹``), summed within clusters first — as
``coxph(robust=TRUE)`` / ``cluster()``.

Reference: Therneau & Grambsch (2000) *Modeling Survival Data*, ch. 3;
R survival package, ``coxph.fit`` / ``coxfit6.c``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from survstudy.errors import AnalysisError
from survstudy.stats import _cox_objective as obj
from survstudy.stats._common import StatWarning, as_event, as_time, clean_float, codes, row_dot
from survstudy.stats._cox_fitting import (
    CoxTerm,
    TestResult,
    check_collinear,
    newton,
    summarise_fit,
)
from survstudy.stats._cox_fitting import generalised_inverse as _inverse
from survstudy.stats._cox_fitting import solve_psd as _solve_psd

__all__ = [
    "BaselineHazard",
    "CoxControl",
    "CoxResult",
    "CoxTerm",
    "TestResult",
    "cox_fit",
    "cox_layout",
    "dummy_code",
]

F = NDArray[Any]  # float64 arrays (Any: numpy stubs type bincount results as int)


@dataclass(frozen=True)
class CoxControl:
    """Numerical settings, as R's ``coxph.control`` (same defaults)."""

    eps: float = 1e-9
    iter_max: int = 20
    toler_chol: float = float(np.finfo(float).eps ** 0.75)
    toler_inf: float = float(math.sqrt(1e-9))


@dataclass(frozen=True)
class BaselineHazard:
    """Breslow cumulative baseline hazard at covariates = 0 (original scale), per stratum.

    Equals R's ``basehaz(fit, centered=FALSE)`` for Breslow ties; for Efron
    ties the increment at a time with d deaths is ``Σ_k m/den_k`` (R's
    ``survfit.coxph`` default, the Efron-adjusted estimator), evaluated at x = 0.
    ``survival = exp(−cumhaz)``.
    """

    time: F
    cumhaz: F
    stratum: NDArray[np.intp]

    @property
    def survival(self) -> F:
        return np.exp(-self.cumhaz)

    def to_records(self) -> list[dict[str, Any]]:
        return [
            {
                "time": float(t),
                "cumhaz": float(h),
                "survival": float(math.exp(-h)),
                "stratum": int(s),
            }
            for t, h, s in zip(self.time, self.cumhaz, self.stratum, strict=True)
        ]


@dataclass(frozen=True)
class CoxResult:
    """The result of :func:`cox_fit` (arrays per column of X, original scale)."""

    ties: str
    n: int
    events: int
    n_dropped: int
    iterations: int
    converged: bool
    loglik_null: float
    loglik: float
    coef: F
    se: F
    var: F
    z: F
    p_value: F
    robust_se: F | None
    robust_var: F | None
    term_names: tuple[str, ...]
    terms: tuple[CoxTerm, ...]
    tests: dict[str, TestResult]
    conf_level: float
    baseline: BaselineHazard
    concordance: Any = None
    ph: Any = None
    assign: tuple[str, ...] | None = None
    warnings: tuple[StatWarning, ...] = ()
    #: the sorted design and risk-set sums of an in-memory fit, kept for the post-fit
    #: diagnostics (PH test, concordance); ``None`` for a fit from per-time sums
    fit_state: Any = field(default=None, repr=False, compare=False)
    method: str = "ordinary"  # "firth": Firth-penalised fit (survstudy.stats.firth)
    ci_method: str = "wald"  # "profile": profile-likelihood limits

    def to_dict(self) -> dict[str, Any]:
        return {
            "ties": self.ties,
            "n": self.n,
            "events": self.events,
            "n_dropped": self.n_dropped,
            "iterations": self.iterations,
            "converged": self.converged,
            "loglik_null": clean_float(self.loglik_null),
            "loglik": clean_float(self.loglik),
            "conf_level": self.conf_level,
            "terms": [t.to_dict() for t in self.terms],
            "tests": {k: v.to_dict() for k, v in self.tests.items()},
            "concordance": None if self.concordance is None else self.concordance.to_dict(),
            "ph_test": None if self.ph is None else self.ph.to_dict(),
            "warnings": [{"code": w.code, "message": w.message} for w in self.warnings],
            "method": self.method,
            "ci_method": self.ci_method,
        }

    def to_records(self) -> list[dict[str, Any]]:
        return [t.to_dict() for t in self.terms]

    def ph_test(self) -> Any:
        """The proportional-hazards test (R's ``cox.zph(fit, transform="km")``)."""
        if self.ph is not None:
            return self.ph
        from survstudy.stats.coxzph import cox_zph

        return cox_zph(self)

    def linear_predictor(self, x: ArrayLike) -> F:
        """``x·β`` on the original scale (no centring)."""
        return row_dot(x, self.coef)


# --------------------------------------------------------------------------- design


def dummy_code(
    values: ArrayLike,
    levels: Sequence[Any] | None = None,
    reference: Any = None,
    name: str = "x",
) -> tuple[F, list[str], list[Any], Any]:
    """Dummy (treatment) coding of a categorical variable against a reference level.

    Levels default to the sorted distinct non-missing values (numbers
    numerically, text as text); the reference defaults to the first level.
    Returns ``(matrix (n, k-1), term names "name[level]", levels, reference)``.
    Missing values (None/NaN) give a row of NaN (the caller drops it).
    """
    arr = np.asarray(values, dtype=object)

    def missing(v: Any) -> bool:
        return v is None or (isinstance(v, float) and math.isnan(v))

    present = [v for v in arr.tolist() if not missing(v)]
    if levels is None:
        uniq = list(dict.fromkeys(present))
        if all(isinstance(v, (int, float, np.integer, np.floating)) for v in uniq):
            levels = sorted(uniq, key=float)
        else:
            levels = sorted(uniq, key=str)
    levels = list(levels)
    if not levels:
        raise AnalysisError(f"{name} has no non-missing values")
    if reference is None:
        reference = levels[0]
    if reference not in levels:
        # numbers given as text (from the command line) match numerically
        match = [lv for lv in levels if str(lv) == str(reference)]
        if not match:
            raise AnalysisError(f"reference level {reference!r} is not a level of {name}")
        reference = match[0]
    others = [lv for lv in levels if lv != reference]
    n = arr.size
    mat = np.zeros((n, len(others)))
    miss = np.array([missing(v) for v in arr.tolist()], dtype=bool)
    for j, lv in enumerate(others):
        mat[:, j] = np.array([v == lv for v in arr.tolist()], dtype=float)
    mat[miss] = np.nan
    return mat, [f"{name}[{lv}]" for lv in others], levels, reference


# --------------------------------------------------------------------------- fit


@dataclass
class _Fit:
    beta: F
    loglik: float
    score: F
    info: F
    var: F
    iterations: int
    converged: bool
    loglik0: float
    score0: F
    info0: F
    sums: Any = None  # group sums at beta (reused by the baseline hazard)


def _evaluate_quiet(data: obj.CoxData, beta: F) -> tuple[obj.Objective, bool]:
    """ℓ, U, I at a trial beta, and whether all three are finite.

    A trial step can overflow ``exp(x·β)``; the non-finite result is an answer
    here (the step is then shortened), not something to warn the user about.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        o = obj.evaluate(data, beta)
    assert o.information is not None
    finite = (
        math.isfinite(o.loglik)
        and bool(np.all(np.isfinite(o.score)))
        and bool(np.all(np.isfinite(o.information)))
    )
    return o, finite


def _newton(data: obj.CoxData, init: F, control: CoxControl) -> _Fit:
    """Newton–Raphson with step halving, as R's ``coxfit6`` (survival 3.5) behaves:
    :func:`._cox_fitting.newton` (shared with the fit from per-time sums) on the
    in-memory objective."""
    nf = newton(
        lambda b: _evaluate_quiet(data, b),
        init,
        control.iter_max,
        control.eps,
        _solve_psd,
        _inverse,
    )
    at, first = nf.obj, nf.first
    assert at.information is not None
    assert first.information is not None
    return _Fit(
        beta=nf.beta,
        loglik=at.loglik,
        score=at.score,
        info=at.information,
        var=nf.var,
        iterations=nf.iterations,
        converged=nf.converged,
        loglik0=first.loglik,
        score0=first.score,
        info0=first.information,
        sums=at.sums,
    )


def _check_design(
    x: F,
    event: NDArray[np.bool_],
    names: Sequence[str],
    control: CoxControl,
    raw_scale: F,
    gram: F | None = None,
) -> None:
    """No events, constant columns, collinear columns (on the centred, scaled design).

    Collinearity: a Cholesky-type sweep of the Gram matrix ``XᵀX/n`` (O(n p²) once);
    column j is dependent when its residual variance after the earlier kept
    columns is below 1e-10 of its own (R's ``toler.chol`` idea on a correlation scale).
    """
    if not event.any():
        raise AnalysisError("there are no events: a Cox model cannot be fitted")
    n, p = x.shape
    for j in range(p):
        # x is centred and scaled by its mean absolute deviation, which is exactly 0
        # (left unscaled) when every value equals the pivot, i.e. the column is constant
        if not np.any(x[:, j]) if n <= 100_000 else raw_scale[j] == 0:
            raise AnalysisError(
                f"covariate {names[j]} has the same value for every analysed patient (zero variance)"
            )
    if p > 1:
        check_collinear((x.T @ x if gram is None else gram) / n, names)


def _level_no_events(xm: F, e: NDArray[np.bool_]) -> list[bool]:
    """Per column of the design: 0/1 values only, and no event among the rows with 1
    (``LEVEL-NO-EVENTS``). On big data only the columns whose first and last values are 0
    or 1 are checked, all in one pass over blocks of rows (one column of a row-major design
    read on its own touches every cache line of the design)."""
    n, p = xm.shape
    cand = [
        j for j in range(p) if n <= 100_000 or (xm[0, j] in (0.0, 1.0) and xm[-1, j] in (0.0, 1.0))
    ]
    binary = np.ones(len(cand), dtype=bool)
    hit = np.zeros(len(cand), dtype=bool)
    if cand:
        step = 1 << 15
        for a in range(0, n, step):
            xc = xm[a : a + step, cand]
            one = xc == 1
            binary &= (one | (xc == 0)).all(axis=0)
            hit |= (one & e[a : a + step, None]).any(axis=0)
    out = [False] * p
    for i, j in enumerate(cand):
        out[j] = bool(binary[i] and not hit[i])
    return out


def _rows(
    t: F, event: ArrayLike, strata: ArrayLike | None, weights: ArrayLike | None, start: Any
) -> tuple[NDArray[np.bool_], F | None, NDArray[np.intp] | None, F | None]:
    """The checked events, weights, strata codes and entry times of :func:`cox_fit`'s rows."""
    n = t.size
    e = as_event(event, n)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)
    if w is not None and (w.shape != (n,) or np.any(~np.isfinite(w)) or np.any(w <= 0)):
        raise AnalysisError("case weights must be positive and finite")
    scodes = None
    if strata is not None:
        _, scodes = codes(strata)
    t0 = None
    if start is not None:
        from survstudy.stats._common import as_start

        t0 = as_start(start, t)
    return e, w, scodes, t0


def cox_layout(
    time: ArrayLike,
    event: ArrayLike,
    *,
    strata: ArrayLike | None = None,
    ties: str = "efron",
    weights: ArrayLike | None = None,
    start: ArrayLike | None = None,
    like: obj.Layout | None = None,
) -> obj.Layout:
    """The risk-set layout of these rows for :func:`cox_fit` (``layout=``): the rows sorted by
    stratum and time, their tie groups and the tie rows of ``ties`` — what every fit on the
    same rows shares, whatever its design (arguments as :func:`cox_fit`'s). ``like``: the
    layout of these rows for the other tie rule, whose sort is then not made again (and the
    two fits of one design share its sorted copy; :func:`._cox_objective.prepare`)."""
    if ties not in ("efron", "breslow"):
        raise ValueError("ties must be 'efron' or 'breslow'")
    t = as_time(time)
    e, w, scodes, t0 = _rows(t, event, strata, weights, start)
    return obj.risk_set_layout(t, e, strata=scodes, weights=w, ties=ties, start=t0, like=like)


def cox_fit(
    x: ArrayLike,
    time: ArrayLike,
    event: ArrayLike,
    *,
    strata: ArrayLike | None = None,
    ties: str = "efron",
    weights: ArrayLike | None = None,
    cluster: ArrayLike | None = None,
    robust: bool = False,
    control: CoxControl | None = None,
    term_names: Sequence[str] | None = None,
    ph_test: bool = False,
    concordance: bool = True,
    conf_level: float = 0.95,
    init: ArrayLike | None = None,
    n_dropped: int = 0,
    assign: Sequence[str] | None = None,
    start: ArrayLike | None = None,
    layout: obj.Layout | None = None,
) -> CoxResult:
    """Fit a Cox proportional-hazards model (Efron or Breslow ties, optional strata).

    ``layout`` (keyword): :func:`cox_layout` of these rows (time, event, strata, weights,
    start) and ``ties``, made once for several fits on the same rows: the sort by time and
    the tie groups are then not built again (only the design is gathered per fit); the
    numbers are those of a fit without it. A layout of other rows is a ``ValueError``
    (checked by value, ~1 ms per 10^6 rows).

    ``start`` (keyword): counting-process data, one row per interval ``(start, time]``
    — R's ``coxph(Surv(start, stop, event) ~ ...)`` (Andersen & Gill 1982): a row
    is in the risk set of an event time t when ``start < t ≤ time``; every
    option (ties, strata, weights, robust/cluster, concordance, the PH test) applies.
    Each start must be below its stop time (else :class:`AnalysisError`); pass the
    patient identifier as ``cluster`` for R's ``cluster(id)`` variance. ``None``:
    right-censored data.

    ``x`` is (n, p) numeric without missing values (drop rows first and pass
    their count as ``n_dropped``); ``strata``/``cluster`` are codes of any
    hashable type. Raises :class:`AnalysisError` for no events, a constant
    covariate or collinear columns. A coefficient running to infinity
    (R's test ``|U·V| > eps`` and ``> toler_inf·|β|`` at the end) is flagged
    ``MONOTONE-LIKELIHOOD``, its Wald p set to ``None`` and an LR p given.
    ``assign`` names the term of each column (the dummies of one factor share
    a term) for the per-term PH test. ``concordance`` (Harrell's C and its
    jackknife SE, O(n log n)) is computed for any n unless ``concordance=False``.
    """
    control = control or CoxControl()
    t = as_time(time)
    n = t.size
    xm = np.asarray(x, dtype=np.float64)
    if xm.ndim == 1:
        xm = xm[:, None]
    if xm.shape[0] != n:
        raise ValueError("x must have one row per observation")
    p = xm.shape[1]
    names = tuple(term_names) if term_names is not None else tuple(f"x{j + 1}" for j in range(p))
    if len(names) != p:
        raise ValueError("term_names must have one name per column of x")
    if not np.isfinite(xm.sum()) and not np.all(np.isfinite(xm)):
        raise AnalysisError("covariates have missing values; drop those rows first")
    e, w, scodes, t0 = _rows(t, event, strata, weights, start)
    if layout is None:
        layout = obj.risk_set_layout(t, e, strata=scodes, weights=w, ties=ties, start=t0)
    elif not layout.matches(t, e, strata=scodes, weights=w, ties=ties, start=t0):
        raise ValueError("layout: not the risk-set layout of these rows and ties (cox_layout)")

    # Sorted once; centred about a pivot (exact for integers even after a +1e12 shift),
    # then the mean, and scaled, in the same blocked passes (see obj.prepare).
    data = obj.prepare(xm, t, e, standardise=True, layout=layout)
    assert data.center is not None
    assert data.scale is not None
    assert data.raw_scale is not None
    center, scale, raw_scale = data.center, data.scale, data.raw_scale
    _check_design(data.x, e, names, control, raw_scale, gram=data.gram)
    b0 = np.zeros(p) if init is None else np.asarray(init, dtype=np.float64) * scale
    fit = _newton(data, b0, control)

    level_no_events = _level_no_events(xm, e)
    # Null log-likelihood at beta = 0 (R reports it at init when given).
    loglik0 = (
        fit.loglik0 if init is None else obj.evaluate(data, np.zeros(p), information=False).loglik
    )

    robust_var = None
    if robust or cluster is not None:
        resid = obj.score_residuals(data, fit.beta)
        dfb = resid @ fit.var  # sorted order, scaled
        if cluster is not None:
            _, cc = np.unique(np.asarray(cluster)[data.order], return_inverse=True)
            sums = np.zeros((int(cc.max()) + 1, p))
            np.add.at(sums, cc, dfb)
            dfb = sums
        rv = dfb.T @ dfb
        robust_var = rv / np.outer(scale, scale)

    def refit_loglik(keep: list[int]) -> float:
        sub = obj.prepare(xm[:, keep], t, e, standardise=True, layout=layout)
        return _newton(sub, np.zeros(len(keep)), control).loglik

    summ = summarise_fit(
        beta_s=fit.beta,
        var_s=fit.var,
        score=fit.score,
        loglik=fit.loglik,
        loglik0=loglik0,
        score0=fit.score0,
        info0=fit.info0,
        scale=scale,
        converged=fit.converged,
        control=control,
        conf_level=conf_level,
        names=names,
        level_no_events=level_no_events,
        refit_loglik=refit_loglik,
        robust_var=robust_var,
        counting=t0 is not None,
    )

    baseline = _baseline(data, fit.beta, center, scale, fit.sums)
    state = _State(
        data=data,
        beta_scaled=fit.beta,
        var_scaled=fit.var,
        scale=scale,
        center=center,
        time=t,
        event=e,
        strata=scodes,
        weights=w,
        start=t0,
    )
    res = CoxResult(
        ties=ties,
        n=n,
        events=int(e.sum()),
        n_dropped=int(n_dropped),
        iterations=fit.iterations,
        converged=fit.converged,
        loglik_null=float(loglik0),
        loglik=float(fit.loglik),
        coef=summ.coef,
        se=summ.se,
        var=summ.var,
        z=summ.z,
        p_value=summ.p_value,
        robust_se=summ.robust_se,
        robust_var=robust_var,
        term_names=names,
        terms=summ.terms,
        tests=summ.tests,
        conf_level=conf_level,
        baseline=baseline,
        warnings=tuple(summ.warnings),
        assign=None if assign is None else tuple(assign),
        fit_state=state,
    )
    extra: dict[str, Any] = {}
    if concordance:
        try:
            from survstudy.stats.concordance import concordance_from_fit
        except ImportError:  # pragma: no cover - module optional during development
            pass
        else:
            extra["concordance"] = concordance_from_fit(res, cluster=cluster)
    if ph_test:
        from survstudy.stats.coxzph import cox_zph

        try:
            extra["ph"] = cox_zph(res)
        except np.linalg.LinAlgError:
            # the test's information matrix is singular (e.g. one event, or a coefficient
            # running off to infinity): R's cox.zph stops with "system is exactly singular"
            extra["warnings"] = (
                *res.warnings,
                StatWarning(
                    "PH-TEST-NOT-COMPUTED",
                    "the proportional-hazards test cannot be computed: its information matrix "
                    "is singular (too few events, or a hazard ratio running off to infinity)",
                    {},
                ),
            )
    if extra:
        import dataclasses

        res = dataclasses.replace(res, **extra)
    return res


@dataclass(frozen=True)
class _State:
    """What derived quantities (concordance, cox.zph) need from the fit."""

    data: obj.CoxData
    beta_scaled: F
    var_scaled: F
    scale: F
    center: F
    time: F
    event: NDArray[np.bool_]
    strata: NDArray[np.intp] | None
    weights: F | None
    start: F | None = None  # counting-process data: the rows' entry times


def _baseline(
    data: obj.CoxData, beta_s: F, center: F, scale: F, sums: obj.GroupSums | None = None
) -> BaselineHazard:
    """Breslow/Efron cumulative hazard at x = 0 on the original scale."""
    gs = sums if sums is not None else obj.group_sums(data, data.x @ beta_s)
    r0 = obj.risk_sums(data, gs)[0]
    g = data.erow_group
    den = r0[g] - data.erow_f * gs.d0[g]
    inc: F = np.bincount(g, weights=data.erow_mult / den, minlength=data.n_groups)
    # r in the fit is exp((x - center)/scale · β_s); at x = 0 the risk is exp(-center·β).
    # (far from the data, e.g. after a +1e12 shift, this over/underflows: inf/0 is the honest answer)
    with np.errstate(over="ignore", invalid="ignore"):
        inc = inc * np.exp(-float(center @ (beta_s / scale)))
    # groups are in descending time within stratum; accumulate in ascending time.
    out_t: list[F] = []
    out_h: list[F] = []
    out_s: list[NDArray[np.intp]] = []
    firsts = np.flatnonzero(np.concatenate(([True], data.gstart[1:] != data.gstart[:-1])))
    ends = np.concatenate((firsts[1:], [data.n_groups]))
    for a, b in zip(firsts, ends, strict=True):
        tt = data.gtime[a:b][::-1]
        hh = np.cumsum(inc[a:b][::-1])
        out_t.append(tt)
        out_h.append(hh)
        out_s.append(np.full(tt.size, int(data.gstratum[a]), dtype=np.intp))
    return BaselineHazard(
        time=np.concatenate(out_t), cumhaz=np.concatenate(out_h), stratum=np.concatenate(out_s)
    )

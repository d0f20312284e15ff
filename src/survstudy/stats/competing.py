"""Competing risks: cumulative incidence, Gray's test and the cause-specific Cox model.

Status codes: ``0`` = censored, every positive integer a cause of failure (R cmprsk's
``cencode = 0``). Times are grouped into distinct times with R's ``aeqSurv`` tolerance
(:func:`.riskset.distinct_times`; exact for whole days).

**Cumulative incidence** (Aalen–Johansen; Kalbfleisch & Prentice 2002, sec. 8.2.2). At the
distinct times t_j with n_j at risk, d_cj failures of cause c and D_j = Σ_c d_cj failures
of any cause, S(t) = Π_{t_j ≤ t} (1 − D_j/n_j) is the event-free (all causes) Kaplan–Meier
estimate and

    F_c(t) = Σ_{t_j ≤ t} S(t_{j−1}) d_cj / n_j.

It equals ``cmprsk::cuminc`` and the state probabilities of
``survival::survfit(Surv(time, factor(status)))``.

**Variance** — cmprsk's ``cinc`` (Gray's delta-method estimate; Marubini & Valsecchi 1995,
sec. 10.2), evaluated at the failure times of cause c and carried forward between them
(what ``cmprsk::timepoints`` returns):

    Var F_c(t) = Σ_{t_j ≤ t} { k1_j [1 − a_j (F_c(t) − F_c(t_j))]² + k2_j a_j² (F_c(t) − F_c(t_j))² },

with a_j = 1/S(t_j) (0 where S(t_j) = 0), k1_j = S(t_{j−1})² τ(d_cj) d_cj / n_j² for the
failures of cause c, k2_j the same with the failures of the other causes, and the tie
factor τ(d) = 1 − (d − 1)/(n_j − 1) for d > 1 (1 otherwise). It is computed, as cmprsk
does, from three running sums (expanding the squares in F_c(t)), so the whole curve costs
O(number of times).

**Pointwise intervals** on F = F_c(t) with se = √Var (R's ``survfit_confint`` with
``logse = FALSE``; z = Φ⁻¹(1 − (1 − level)/2)):

- ``log-log`` (default): on log(−log F) (Choudhury 2002): F^exp(∓ z se / (F log F));
  undefined where F = 0 or F = 1;
- ``log``: F exp(∓ z se / F), upper limit at most 1; undefined where F = 0;
- ``plain``: F ∓ z se, clipped to [0, 1].

Undefined values are NaN here and ``None`` in ``to_dict`` (R reports NA). Values at chosen
times are those of the last distinct time at or before each time (``timepoints``); after
the last follow-up time of the group they are undefined (NaN), as ``timepoints`` says NA.

**Gray's test** (Gray 1988, Ann. Statist. 16:1141–1154; cmprsk ``crstm``) of equal
cumulative incidence of one cause across G groups. Within a stratum, at each time with
failures, group k has n_k at risk, its own event-free KM S_k(t−) and cumulative incidence
F_k(t−); with h_k = n_k/S_k(t−) and R_k = h_k (1 − F_k(t−)), the score is

    s_k = Σ_t w(t) [d_1k − d_1· R_k / Σ_r R_r],    w(t) = (1 − F(t−))^ρ,

F the pooled cumulative incidence Σ d_1·/Σ_r h_r. Its variance is Gray's
(1988, sec. 2) estimate as coded in ``crstm``; written here as a sum of outer products of
each time's influence vectors (no cancelling running sums), see :func:`gray_from_counts`.
Scores and variances are added over strata; the statistic s' V⁻¹ s over the first G − 1
groups is chi-square on G − 1 degrees of freedom.

**Cause-specific Cox**: the Cox model of :func:`.cox.cox_fit` with the competing events
censored (Putter, Fiocco & Geskus 2007, Stat. Med. 26:2389).

**The analysis of ``survstudy cif``** (and ``survstudy.cumulative_incidence``):
:func:`cif_analysis` — the curves of the event (code 1) and the competing event (code 2)
per group, their values at chosen times, Gray's test of each across the groups, and the
warnings; :meth:`CIFAnalysis.to_dict` is the command's JSON object.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from survstudy.errors import AnalysisError
from survstudy.stats._common import StatWarning, as_time, clean_float, codes
from survstudy.stats._dist import chi2_sf, norm_ppf
from survstudy.stats.riskset import TIE_TOLERANCE, distinct_times

__all__ = [
    "CONF_TYPES",
    "FEW_AT_RISK",
    "FEW_EVENTS",
    "CIFAnalysis",
    "CIFAt",
    "CauseSpecificCox",
    "CompetingCounts",
    "CumulativeIncidence",
    "GrayTestResult",
    "cause_specific_cox",
    "cif_analysis",
    "cif_confint",
    "cif_from_counts",
    "competing_counts",
    "cumulative_incidence",
    "cumulative_incidence_by",
    "gray_from_counts",
    "gray_result",
    "gray_test",
    "gray_tests",
    "status_codes",
]

F = NDArray[Any]  # float64 arrays (Any: numpy stubs type bincount results as int)

CONF_TYPES = ("log-log", "log", "plain")
#: a cause with fewer failures than this in a group gets a ``FEW-EVENTS`` warning
FEW_EVENTS = 10
#: fewer at risk than max(FEW_AT_RISK, 10 % of n) at a chosen time: ``FEW-AT-RISK``
FEW_AT_RISK = 10


# --------------------------------------------------------------------------- status codes


def status_codes(
    status: ArrayLike, causes: Sequence[int] | None = None, n: int | None = None
) -> tuple[NDArray[np.intp], tuple[int, ...]]:
    """Each observation's column in ``(censored, *causes)`` and the causes.

    ``status`` holds whole numbers >= 0: 0 = censored, any other value a cause.
    ``causes`` fixes which causes (and their order; default: the distinct positive
    values, ascending); a positive value not among them is an error.
    """
    s = np.asarray(status)
    if s.ndim != 1 or (n is not None and s.shape != (n,)):
        raise ValueError("status must be one-dimensional with one value per observation")
    if s.dtype.kind == "b":
        s = s.astype(np.int64)
    if s.dtype.kind == "f":
        if not np.all(np.isfinite(s)) or not np.array_equal(s, np.floor(s)):
            raise AnalysisError("status must be whole numbers: 0 = censored, 1, 2, … = causes")
        s = s.astype(np.int64)
    if s.dtype.kind not in "iu":
        raise AnalysisError("status must be whole numbers: 0 = censored, 1, 2, … = causes")
    if s.size and int(s.min()) < 0:
        raise AnalysisError("status must be >= 0 (0 = censored, 1, 2, … = causes)")
    top = int(s.max()) if s.size else 0
    if causes is None:
        present = np.bincount(s, minlength=top + 1) > 0 if top <= 4 * s.size + 1024 else None
        if present is not None:
            causes = [int(c) for c in np.flatnonzero(present) if c > 0]
        else:
            causes = [int(c) for c in np.unique(s) if c > 0]
    cs = tuple(int(c) for c in causes)
    if len(set(cs)) != len(cs) or any(c <= 0 for c in cs):
        raise ValueError("causes must be distinct positive codes")
    size = max(top, max(cs, default=0)) + 1
    if size <= 4 * s.size + 1024:
        lut = np.full(size, -1, dtype=np.intp)
        lut[0] = 0
        lut[list(cs)] = np.arange(1, len(cs) + 1)
        idx = lut[s]
    else:
        known = np.array([0, *cs])
        order = np.argsort(known)
        pos = np.searchsorted(known[order], s)
        pos = np.minimum(pos, known.size - 1)
        idx = np.where(known[order][pos] == s, order[pos], -1).astype(np.intp)
    if np.any(idx < 0):
        bad = sorted({int(v) for v in s[idx < 0][:20]})
        raise AnalysisError(f"status values {bad} are neither 0 (censored) nor one of the causes")
    return idx.astype(np.intp, copy=False), cs


def _status_columns(
    status: ArrayLike, causes: tuple[int, ...], n: int
) -> tuple[NDArray[Any], tuple[int, ...]]:
    """:func:`status_codes` for fixed ``causes`` 1 .. K: integer status codes already in
    0 .. K are their own columns, returned as they are (no per-row lookup, any integer
    type but uint64, which does not add to indices in place); anything else goes through
    ``status_codes`` (its checks and messages)."""
    s = np.asarray(status)
    if (
        s.ndim == 1
        and s.shape == (n,)
        and (s.dtype.kind == "i" or (s.dtype.kind == "u" and s.dtype.itemsize < 8))
        and s.size
        and causes == tuple(range(1, len(causes) + 1))
        and int(s.min()) >= 0
        and int(s.max()) <= len(causes)
    ):
        return s, causes
    return status_codes(s, causes, n)


# --------------------------------------------------------------------------- counts


@dataclass(frozen=True)
class CompetingCounts:
    """Counts per distinct time (ascending) and group: the shape an engine can sum.

    ``n_risk`` (T, G): under observation and event-free just before the time;
    ``n_event`` (T, G, K): failures of each cause (``causes`` order); ``n_censor`` (T, G).
    """

    time: F
    n_risk: F
    n_event: F
    n_censor: F
    causes: tuple[int, ...]


def _frequency(weights: ArrayLike | None, n: int) -> F | None:
    """Frequency weights: each record stands for that many patients (engines' cell counts)."""
    if weights is None:
        return None
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or not np.all(np.isfinite(w)) or (w.size and w.min() < 0):
        raise ValueError("weights must be finite, >= 0 and one per record")
    return w


def _cells(
    t: F,
    col: NDArray[np.intp],
    k1: int,
    g: NDArray[np.intp] | None,
    ng: int,
    w: F | None = None,
) -> tuple[F, F]:
    """Distinct times and the counts (T, ng, k1) of each (time, group, status column) cell."""
    uniq, inv = distinct_times(t)
    nt = uniq.size
    cell = inv * (ng * k1)
    if g is not None:
        cell += g * k1
    cell += col
    cnt = np.bincount(cell, weights=w, minlength=nt * ng * k1).reshape(nt, ng, k1)
    return uniq, cnt.astype(np.float64)


def competing_counts(
    time: ArrayLike,
    status: ArrayLike,
    group: ArrayLike | None = None,
    n_groups: int | None = None,
    causes: Sequence[int] | None = None,
    weights: ArrayLike | None = None,
) -> CompetingCounts:
    """Counts per distinct time and group from subject-level data (one sort-free pass:
    :func:`.riskset.distinct_times` and one ``bincount`` over (time, group, status) cells).

    ``group`` holds codes ``0 .. n_groups − 1`` (default: one group); ``weights`` are
    frequency weights (a record standing for that many patients).
    """
    t = as_time(time)
    col, cs = status_codes(status, causes, t.size)
    w = _frequency(weights, t.size)
    if group is None:
        g = None
        ng = 1
    else:
        g = np.asarray(group, dtype=np.intp)
        if g.shape != t.shape:
            raise ValueError("group must have one code per observation")
        ng = (int(g.max()) + 1 if g.size else 1) if n_groups is None else int(n_groups)
    uniq, cnt = _cells(t, col, len(cs) + 1, g, ng, w)
    exits = cnt.sum(axis=2)
    n_risk = np.cumsum(exits[::-1], axis=0)[::-1]
    return CompetingCounts(
        time=uniq,
        n_risk=np.ascontiguousarray(n_risk),
        n_event=np.ascontiguousarray(cnt[:, :, 1:]),
        n_censor=np.ascontiguousarray(cnt[:, :, 0]),
        causes=cs,
    )


# --------------------------------------------------------------------------- CIF


def cif_confint(cif: ArrayLike, se: ArrayLike, conf_type: str, conf_level: float) -> tuple[F, F]:
    """Pointwise limits of a cumulative incidence ``cif`` with standard error ``se``
    (module docstring; R ``survfit_confint(cif, se, logse = FALSE, …)``)."""
    p = np.asarray(cif, dtype=np.float64)
    s = np.asarray(se, dtype=np.float64)
    z = norm_ppf(1.0 - (1.0 - conf_level) / 2.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rel = np.where(s == 0, 0.0, s / p)  # SE of log F
        if conf_type == "plain":
            half = z * rel * p
            lo = np.fmax(p - half, 0.0)
            hi = np.fmin(p + half, 1.0)
            bad = np.isnan(half) | np.isnan(p)
            lo = np.where(bad, np.nan, lo)
            hi = np.where(bad, np.nan, hi)
        elif conf_type == "log":
            xx = np.where(p == 0, np.nan, p)
            lo = np.exp(np.log(xx) - z * rel)
            hi = np.fmin(np.exp(np.log(xx) + z * rel), 1.0)
            hi = np.where(np.isnan(xx), np.nan, hi)
        elif conf_type == "log-log":
            xx = np.where((p == 0) | (p == 1), np.nan, p)
            w = z * rel / np.log(xx)
            ll = np.log(-np.log(xx))
            lo = np.exp(-np.exp(ll - w))
            hi = np.exp(-np.exp(ll + w))
        else:
            raise AnalysisError(
                f"conf_type must be one of {', '.join(CONF_TYPES)}, not {conf_type!r}"
            )
    return lo.astype(np.float64), hi.astype(np.float64)


@dataclass(frozen=True)
class CIFAt:
    """Cumulative incidence of one cause at chosen times (``cmprsk::timepoints``), with the
    number at risk (event-free and under observation just before the time)."""

    cause: int
    time: F
    n_risk: F
    cif: F
    std_err: F
    lower: F
    upper: F
    beyond: NDArray[np.bool_]

    def to_records(self) -> list[dict[str, Any]]:
        """``{"time", "cif", "se", "lower", "upper", "n_risk", "beyond_follow_up"}`` per time."""
        return [
            {
                "time": float(self.time[i]),
                "cif": clean_float(self.cif[i]),
                "se": clean_float(self.std_err[i]),
                "lower": clean_float(self.lower[i]),
                "upper": clean_float(self.upper[i]),
                "n_risk": float(self.n_risk[i]),
                "beyond_follow_up": bool(self.beyond[i]),
            }
            for i in range(self.time.size)
        ]


@dataclass(frozen=True)
class CumulativeIncidence:
    """Aalen–Johansen cumulative incidence of every cause in one group, at every distinct
    time (module docstring). Arrays over causes have shape (T, K) in ``causes`` order."""

    time: F
    n_risk: F
    n_event: F
    n_censor: F
    causes: tuple[int, ...]
    cif: F
    variance: F
    std_err: F
    lower: F
    upper: F
    survival: F
    conf_type: str
    conf_level: float
    n: float
    warnings: tuple[StatWarning, ...] = ()

    def _col(self, cause: int) -> int:
        if cause not in self.causes:
            raise AnalysisError(f"cause {cause} is not one of {list(self.causes)}")
        return self.causes.index(cause)

    def events(self, cause: int) -> float:
        """Number of failures of ``cause``."""
        return float(self.n_event[:, self._col(cause)].sum())

    def at(self, times: ArrayLike, cause: int) -> CIFAt:
        """CIF, SE, CI and number at risk at each of ``times`` (the last estimate at or
        before the time; NaN after the last follow-up time, as ``timepoints`` gives NA)."""
        c = self._col(cause)
        t = np.atleast_1d(np.asarray(times, dtype=np.float64))
        if self.time.size == 0:
            nan = np.full(t.size, np.nan)
            return CIFAt(cause, t, np.zeros(t.size), nan, nan, nan, nan, np.ones(t.size, bool))
        tol = TIE_TOLERANCE * max(abs(float(self.time[-1])), 1.0)
        i = np.searchsorted(self.time, t + tol, side="right") - 1
        has = i >= 0
        ii = np.where(has, i, 0)
        f = np.where(has, self.cif[ii, c], 0.0)
        v = np.where(has, self.variance[ii, c], 0.0)
        beyond = t > float(self.time[-1]) + tol
        f = np.where(beyond, np.nan, f)
        se = np.sqrt(np.where(beyond, np.nan, v))
        lo, hi = cif_confint(f, se, self.conf_type, self.conf_level)
        j = np.searchsorted(self.time, t - tol, side="left")
        risk_ext = np.concatenate((self.n_risk, [0.0]))
        return CIFAt(
            cause=cause,
            time=t,
            n_risk=risk_ext[j],
            cif=f,
            std_err=se,
            lower=lo,
            upper=hi,
            beyond=beyond,
        )

    def few_at_risk(self, at: CIFAt, label: Any = None) -> list[StatWarning]:
        """``FEW-AT-RISK`` for each chosen time (within follow-up) with fewer than
        max(10, 10 % of n) patients at risk."""
        limit = max(FEW_AT_RISK, 0.1 * self.n)
        out = []
        for k in range(at.time.size):
            if at.n_risk[k] < limit and not at.beyond[k]:
                nr = int(at.n_risk[k])
                who = "" if label is None else f"{label}: "
                out.append(
                    StatWarning(
                        "FEW-AT-RISK",
                        f"{who}only {nr} patient{'s' if nr != 1 else ''} still at risk at "
                        f"{float(at.time[k]):g}, so the cumulative incidence there is imprecise",
                        {"time": float(at.time[k]), "n_risk": float(at.n_risk[k]), "group": label},
                    )
                )
        return out

    def to_records(self, cause: int) -> list[dict[str, Any]]:
        """The curve of ``cause`` at every distinct time (JSON-ready)."""
        c = self._col(cause)
        return [
            {
                "time": float(self.time[i]),
                "n_risk": float(self.n_risk[i]),
                "n_event": float(self.n_event[i, c]),
                "cif": float(self.cif[i, c]),
                "se": clean_float(self.std_err[i, c]),
                "lower": clean_float(self.lower[i, c]),
                "upper": clean_float(self.upper[i, c]),
            }
            for i in range(self.time.size)
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "conf_type": self.conf_type,
            "conf_level": self.conf_level,
            "n": float(self.n),
            "causes": [
                {"cause": c, "events": self.events(c), "table": self.to_records(c)}
                for c in self.causes
            ],
            "warnings": [w.to_dict() for w in self.warnings],
        }


def _tie_factor(d: F, n: F) -> F:
    """cmprsk's correction for d tied failures among n at risk: 1 − (d − 1)/(n − 1) for d > 1."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d > 1, 1.0 - (d - 1.0) / (n - 1.0), 1.0)


def cif_from_counts(
    time: ArrayLike,
    n_risk: ArrayLike,
    n_event: ArrayLike,
    n_censor: ArrayLike,
    *,
    causes: Sequence[int],
    conf_type: str = "log-log",
    conf_level: float = 0.95,
    label: Any = None,
    cause_names: Mapping[int, str] | None = None,
) -> CumulativeIncidence:
    """Cumulative incidence of each cause in one group from its counts per distinct time.

    ``time`` (T,) ascending, ``n_risk`` (T,), ``n_event`` (T, K) failures per cause,
    ``n_censor`` (T,). Formulas: module docstring. ``label`` names the group and
    ``cause_names`` the causes in warnings (default "cause k").
    """
    if conf_type not in CONF_TYPES:
        raise AnalysisError(f"conf_type must be one of {', '.join(CONF_TYPES)}, not {conf_type!r}")
    if not 0 < conf_level < 1:
        raise AnalysisError("conf_level must be between 0 and 1")
    t = np.asarray(time, dtype=np.float64)
    r = np.asarray(n_risk, dtype=np.float64)
    d = np.asarray(n_event, dtype=np.float64).reshape(t.size, len(causes))
    cen = np.asarray(n_censor, dtype=np.float64)
    if t.size == 0:
        raise AnalysisError("no observations for the cumulative incidence")
    dall = d.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(np.where(r > 0, 1.0 - dall / r, 1.0))
        s_prev = np.concatenate(([1.0], surv[:-1]))
        jump = np.where(r[:, None] > 0, s_prev[:, None] * d / r[:, None], 0.0)
        cif = np.cumsum(jump, axis=0)
        a = np.where(surv > 0, 1.0 / surv, 0.0)
    k = len(causes)
    var = np.zeros((t.size, k))
    idx = np.arange(t.size)
    for c in range(k):
        d1 = d[:, c]
        d2 = dall - d1
        fc = cif[:, c]
        with np.errstate(divide="ignore", invalid="ignore"):
            base = s_prev**2 / r**2
            k1 = np.where(d1 > 0, base * _tie_factor(d1, r) * d1, 0.0)
            k2 = np.where((d2 > 0) & (surv > 0), base * _tie_factor(d2, r) * d2, 0.0)
        af = a * fc
        v1 = np.cumsum(k1 * (1.0 + af) ** 2 + k2 * af**2)
        v2 = np.cumsum(k1 * a * (1.0 + af) + k2 * a * af)
        v3 = np.cumsum(a**2 * (k1 + k2))
        at_fail = v1 + fc**2 * v3 - 2.0 * fc * v2
        # cmprsk records the variance at the failure times of this cause only
        last = np.maximum.accumulate(np.where(d1 > 0, idx, -1))
        var[:, c] = np.where(last >= 0, np.maximum(at_fail[np.maximum(last, 0)], 0.0), 0.0)
    se = np.sqrt(var)
    lo, hi = cif_confint(cif, se, conf_type, conf_level)
    n = float(r[0]) if r.size else 0.0
    warns: list[StatWarning] = []
    who = "" if label is None else f"{label}: "
    for c, cause in enumerate(causes):
        ev = float(d[:, c].sum())
        if ev < FEW_EVENTS:
            what = (cause_names or {}).get(cause, f"cause {cause}")
            warns.append(
                StatWarning(
                    "FEW-EVENTS",
                    f"{who}only {ev:g} failure{'s' if ev != 1 else ''} of {what}; its "
                    "cumulative incidence is imprecise",
                    {"cause": cause, "events": ev, "group": label},
                )
            )
    return CumulativeIncidence(
        time=t,
        n_risk=r,
        n_event=d,
        n_censor=cen,
        causes=tuple(int(c) for c in causes),
        cif=cif,
        variance=var,
        std_err=se,
        lower=lo,
        upper=hi,
        survival=surv,
        conf_type=conf_type,
        conf_level=float(conf_level),
        n=n,
        warnings=tuple(warns),
    )


def cumulative_incidence(
    time: ArrayLike,
    status: ArrayLike,
    *,
    causes: Sequence[int] | None = None,
    conf_type: str = "log-log",
    conf_level: float = 0.95,
    label: Any = None,
    weights: ArrayLike | None = None,
    cause_names: Mapping[int, str] | None = None,
) -> CumulativeIncidence:
    """Cumulative incidence of each cause (``status``: 0 = censored, k = cause k;
    ``weights``: frequency weights)."""
    cc = competing_counts(time, status, causes=causes, weights=weights)
    return cif_from_counts(
        cc.time,
        cc.n_risk[:, 0],
        cc.n_event[:, 0, :],
        cc.n_censor[:, 0],
        causes=cc.causes,
        conf_type=conf_type,
        conf_level=conf_level,
        label=label,
        cause_names=cause_names,
    )


def cumulative_incidence_by(
    time: ArrayLike,
    status: ArrayLike,
    group_codes: ArrayLike,
    levels: Sequence[Any],
    *,
    causes: Sequence[int] | None = None,
    conf_type: str = "log-log",
    conf_level: float = 0.95,
    weights: ArrayLike | None = None,
    cause_names: Mapping[int, str] | None = None,
) -> list[tuple[Any, CumulativeIncidence]]:
    """One result per level (codes 0 .. len(levels) − 1), in level order; the causes are
    those of the whole sample (a group without failures of a cause has a flat zero curve,
    as cmprsk). Levels without observations are skipped. ``weights``: frequency weights
    (the same numbers as the records expanded into patients)."""
    t = as_time(time)
    col, cs = status_codes(status, causes, t.size)
    w = _frequency(weights, t.size)
    g = np.asarray(group_codes, dtype=np.intp)
    if g.shape != t.shape:
        raise ValueError("group_codes must have one code per observation")
    fits, _ = _cif_by(t, col, cs, g, levels, w, conf_type, conf_level, cause_names)
    return fits


def _cif_by(
    t: F,
    col: NDArray[Any],
    cs: tuple[int, ...],
    g: NDArray[np.intp],
    levels: Sequence[Any],
    w: F | None,
    conf_type: str,
    conf_level: float,
    cause_names: Mapping[int, str] | None,
) -> tuple[list[tuple[Any, CumulativeIncidence]], tuple[F, NDArray[Any]] | None]:
    """:func:`cumulative_incidence_by` on checked inputs, and the distinct times with the
    (time, group, status column) cell counts when one count over all groups was made
    (``None`` when each group was counted on its own times), for :func:`_gray_from_cells`."""
    k1 = len(cs) + 1
    ng = max(len(levels), 1)
    uniq, inv = distinct_times(t)
    out: list[tuple[Any, CumulativeIncidence]] = []
    cells: tuple[F, NDArray[Any]] | None = None
    if uniq.size * ng * k1 <= max(4 * t.size, 1 << 16):
        # few distinct times (whole days): one count over (time, group, status) cells,
        # cell = (time index · ng + group) · k1 + status column, built in place
        cell = inv
        cell *= ng
        cell += g
        cell *= k1
        cell += col
        cnt = np.bincount(cell, weights=w, minlength=uniq.size * ng * k1)
        cnt = cnt.reshape(uniq.size, ng, k1)
        cells = (uniq, cnt)
        per_group = []
        for code in range(len(levels)):
            c = cnt[:, code, :]
            exits = c.sum(axis=1)
            keep = exits > 0
            per_group.append((uniq[keep], c[keep].astype(np.float64), exits[keep]))
    else:
        # many distinct times: each group on its own times (the union could be ~n per group)
        per_group = []
        for code in range(len(levels)):
            m = g == code
            tm, cm = t[m], col[m]
            if tm.size == 0:
                per_group.append((tm, np.zeros((0, k1)), tm))
                continue
            um, cnt1 = _cells(tm, cm, k1, None, 1, None if w is None else w[m])
            exits1 = cnt1[:, 0, :].sum(axis=1)
            keep = exits1 > 0  # a zero-weight record is no patient
            per_group.append((um[keep], cnt1[keep, 0, :], exits1[keep]))
    for (tt, c, exits), level in zip(per_group, levels, strict=True):
        if tt.size == 0:
            continue
        out.append(
            (
                level,
                cif_from_counts(
                    tt,
                    np.cumsum(exits[::-1])[::-1].astype(np.float64),
                    c[:, 1:],
                    c[:, 0],
                    causes=cs,
                    conf_type=conf_type,
                    conf_level=conf_level,
                    label=level,
                    cause_names=cause_names,
                ),
            )
        )
    return out, cells


# --------------------------------------------------------------------------- Gray's test


@dataclass(frozen=True)
class GrayTestResult:
    """Gray's k-sample test of equal cumulative incidence of ``cause``.

    ``score`` and ``variance`` are over the first G − 1 groups (``groups`` order);
    ``statistic`` is NaN (``p_value`` NaN) when the variance is singular — cmprsk then
    reports −1 and p = 1.
    """

    cause: int
    statistic: float
    df: int
    p_value: float
    score: F
    variance: F
    rho: float
    groups: tuple[Any, ...]
    stratified: bool
    warnings: tuple[StatWarning, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "statistic": clean_float(self.statistic),
            "df": int(self.df),
            "p_value": clean_float(self.p_value),
            "cause": self.cause,
            "rho": self.rho,
            "stratified": self.stratified,
            "groups": list(self.groups),
            "warnings": [w.to_dict() for w in self.warnings],
        }


def _rev_excl(x: F) -> F:
    """Σ over the rows after each row (reverse cumulative sum, exclusive), along axis 0."""
    out = np.zeros_like(x)
    if x.shape[0] > 1:
        out[:-1] = np.cumsum(x[:0:-1], axis=0)[::-1]
    return out


def gray_from_counts(
    n_risk: ArrayLike, n_cause: ArrayLike, n_other: ArrayLike, *, rho: float = 0.0
) -> tuple[F, F]:
    """Gray's score (first G − 1 groups) and its variance for one stratum.

    Inputs (T, G), ascending time: at risk just before the time, failures of the cause of
    interest and failures of any other cause, per group. Rows without failures are
    skipped (censorings enter through ``n_risk`` only). The shape of
    :func:`.logrank.score_from_counts`, so engines can feed it with per-time sums.

    Variance (cmprsk ``crst``, rearranged): with a_t = w (diag(h) − h hᵀ/Σh) and
    C_t = Σ_{u ≤ t} a_u d_1·(u)/(Σh(u) (1 − F(u−))) accumulated over time, every group k
    contributes at each time with failures of the cause an influence vector
    g = a_t[:, k] + q (C_end − C_t)[:, k], q = 1 − (1 − F(t))/S_k(t), with weight
    τ S_k(t−) d_1·/(Σh n_k); and at each of its failures of another cause
    g = q' (C_end − C_t)[:, k], q' = (1 − F(t))/S_k(t), weight τ' S_k(t−)² d_2k/n_k².
    V = Σ weight · g gᵀ — cmprsk adds the same terms through running sums.
    """
    nr = np.asarray(n_risk, dtype=np.float64)
    d1 = np.asarray(n_cause, dtype=np.float64)
    d2 = np.asarray(n_other, dtype=np.float64)
    if nr.ndim != 2 or d1.shape != nr.shape or d2.shape != nr.shape:
        raise ValueError("n_risk, n_cause and n_other must be (times, groups) arrays")
    ng = nr.shape[1]
    ev = (d1.sum(axis=1) + d2.sum(axis=1)) > 0
    nr, d1, d2 = nr[ev], d1[ev], d2[ev]
    if nr.shape[0] == 0 or ng < 2:
        return np.zeros(max(ng - 1, 0)), np.zeros((max(ng - 1, 0), max(ng - 1, 0)))
    pos = nr > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        skm = np.cumprod(np.where(pos, 1.0 - (d1 + d2) / nr, 1.0), axis=0)
        skmm = np.vstack((np.ones((1, ng)), skm[:-1]))
        f1 = np.cumsum(np.where(pos, skmm * d1 / nr, 0.0), axis=0)
        f1m = np.vstack((np.zeros((1, ng)), f1[:-1]))
        h = np.where(pos, nr / skmm, 0.0)
    tr = h.sum(axis=1)
    tq = (h * (1.0 - f1m)).sum(axis=1)
    nd1 = d1.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.cumsum(nd1 / tr)
    fm = np.concatenate(([0.0], f[:-1]))
    one_fm = 1.0 - fm
    fb = np.ones_like(fm) if rho == 0 else np.where(one_fm > 0, one_fm, 0.0) ** rho
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(pos & (tq[:, None] > 0), h * (1.0 - f1m) / tq[:, None], 0.0)
        score = (fb[:, None] * (np.where(pos, d1, 0.0) - nd1[:, None] * share)).sum(axis=0)
        kappa = np.where((nd1 > 0) & (one_fm > 0), fb * nd1 / (tr * one_fm), 0.0)
    m = ng - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(kappa > 0, kappa / tr, 0.0)
        fbh = np.where(tr > 0, fb / tr, 0.0)
        one_f = 1.0 - f
        tau1_num = nd1 - 1.0
    hm = h[:, :m]
    r1 = _rev_excl(kappa[:, None] * hm)  # Σ_{u > t} κ h_i, i < G − 1
    uh = u[:, None] * hm
    var = np.zeros((m, m))
    for k in range(ng):
        hk = h[:, k]
        # (C_end − C_t)[i, k] = δ_ik Σ_{u>t} κ h_i − Σ_{u>t} κ h_i h_k / Σh, rows i < G − 1
        dk = _rev_excl(uh * hk[:, None])
        np.negative(dk, out=dk)
        if k < m:
            dk[:, k] += r1[:, k]
        sk, skm_k, nk = skm[:, k], skmm[:, k], nr[:, k]
        # failures of the cause of interest (any group), group k at risk
        rows = np.flatnonzero((nd1 > 0) & pos[:, k])
        if rows.size:
            with np.errstate(divide="ignore", invalid="ignore"):
                skr = sk[rows]
                q1 = np.where(skr > 0, 1.0 - one_f[rows] / skr, 1.0)
                nd = nd1[rows]
                tau1 = np.where(nd > 1, 1.0 - tau1_num[rows] / (tr[rows] * skm_k[rows] - 1.0), 1.0)
                w1 = tau1 * skm_k[rows] * nd / (tr[rows] * nk[rows])
            hkr = hk[rows]
            g1 = hm[rows] * (-(fbh[rows] * hkr))[:, None]
            if k < m:
                g1[:, k] += fb[rows] * hkr
            g1 += q1[:, None] * dk[rows]
            var += (g1 * w1[:, None]).T @ g1
        # failures of the other causes in group k
        d2k = d2[:, k]
        rows = np.flatnonzero((sk > 0) & (d2k > 0))
        if rows.size:
            skr = sk[rows]
            g2 = (one_f[rows] / skr)[:, None] * dk[rows]
            dr, nr_k = d2k[rows], nk[rows]
            w2 = _tie_factor(dr, nr_k) * skm_k[rows] ** 2 * dr / nr_k**2
            var += (g2 * w2[:, None]).T @ g2
    return score[:m], var


def _qr_rank(v: F, tol: float = 1e-7) -> int:
    """Rank as R's ``qr(v)$rank`` judges it (Householder QR, a column is dependent when its
    remaining norm falls below ``tol`` times its original norm)."""
    if v.size == 0:
        return 0
    norms = np.linalg.norm(v, axis=0)
    r = np.linalg.qr(v, mode="r")
    diag = np.abs(np.diag(r))
    return int(np.sum(diag > tol * np.where(norms > 0, norms, 1.0)))


def gray_result(
    score: F,
    variance: F,
    *,
    cause: int,
    rho: float,
    groups: Sequence[Any],
    stratified: bool,
) -> GrayTestResult:
    """The chi-square test from summed scores and variances (G − 1 df, as cmprsk)."""
    m = score.size
    warns: list[StatWarning] = []
    stat = float("nan")
    if m >= 1 and _qr_rank(variance) == m:
        stat = float(score @ np.linalg.solve(variance, score))
    else:
        warns.append(
            StatWarning(
                "NO-INFORMATION",
                f"Gray's test for cause {cause} cannot be computed: its variance is singular "
                "(the groups were never at risk together at a failure time)",
                {"cause": cause},
            )
        )
    p = chi2_sf(stat, m) if m >= 1 and math.isfinite(stat) else float("nan")
    return GrayTestResult(
        cause=int(cause),
        statistic=stat,
        df=m,
        p_value=p,
        score=score,
        variance=variance,
        rho=float(rho),
        groups=tuple(groups),
        stratified=stratified,
        warnings=tuple(warns),
    )


def gray_tests(
    time: ArrayLike,
    status: ArrayLike,
    group: ArrayLike,
    *,
    causes: Sequence[int] | None = None,
    strata: ArrayLike | None = None,
    rho: float = 0.0,
    weights: ArrayLike | None = None,
) -> dict[int, GrayTestResult]:
    """Gray's test of equal cumulative incidence across the groups (the sorted distinct
    values of ``group``) for each of ``causes`` (default: every cause), optionally
    stratified — ``cmprsk::cuminc(…, strata =, rho =)$Tests``. One counting pass per stratum
    (:func:`competing_counts`' cells) serves every cause; each test is
    :func:`gray_from_counts` summed over strata. ``weights``: frequency weights."""
    if rho < 0:
        raise AnalysisError("rho must be >= 0")
    t = as_time(time)
    col, cs = status_codes(status, None, t.size)
    w = _frequency(weights, t.size)
    tested = cs if causes is None else tuple(int(c) for c in causes)
    for c in tested:
        if c not in cs:
            raise AnalysisError(f"there are no failures of cause {c}")
    graw = np.asarray(group)
    if graw.shape != t.shape:
        raise ValueError("group must have one value per observation")
    levels, g = codes(graw)
    ng = levels.size
    if ng < 2:
        raise AnalysisError("Gray's test needs at least two groups")
    if strata is None:
        s = None
        n_strata = 1
    else:
        sraw = np.asarray(strata)
        if sraw.shape != t.shape:
            raise ValueError("strata must have one value per observation")
        s = codes(sraw)[1]
        n_strata = int(s.max()) + 1 if s.size else 1
    k1 = len(cs) + 1
    score = {c: np.zeros(ng - 1) for c in tested}
    var = {c: np.zeros((ng - 1, ng - 1)) for c in tested}
    for st in range(n_strata):
        if s is None:
            tm, gm, cm, wm = t, g, col, w
        else:
            msk = s == st
            tm, gm, cm = t[msk], g[msk], col[msk]
            wm = None if w is None else w[msk]
        if tm.size == 0:
            continue
        _, cnt = _cells(tm, cm, k1, gm, ng, wm)
        n_risk = np.cumsum(cnt.sum(axis=2)[::-1], axis=0)[::-1]
        failed = cnt[:, :, 1:].sum(axis=2)
        for c in tested:
            d1 = cnt[:, :, cs.index(c) + 1]
            sc, v = gray_from_counts(n_risk, d1, failed - d1, rho=rho)
            score[c] += sc
            var[c] += v
    return {
        c: gray_result(
            score[c],
            var[c],
            cause=c,
            rho=rho,
            groups=tuple(levels.tolist()),
            stratified=strata is not None,
        )
        for c in tested
    }


def _gray_from_cells(
    cells: tuple[F, NDArray[Any]],
    g: NDArray[np.intp],
    w: F | None,
    cs: tuple[int, ...],
    tested: Sequence[int],
) -> dict[int, GrayTestResult]:
    """:func:`gray_tests` (unstratified, ρ = 0) from the cell counts of :func:`_cif_by`
    (``cs``: the causes of its status columns, a superset of those in the data): the
    groups are the codes with a record, as ``gray_tests`` finds them, and a cause column
    without failures adds zeros to the failure sums — the same numbers as counting again."""
    _, cnt = cells
    ng = cnt.shape[1]
    seen = cnt.sum(axis=(0, 2)) > 0 if w is None else np.bincount(g, minlength=ng) > 0
    groups = np.flatnonzero(seen)
    if groups.size < 2:
        raise AnalysisError("Gray's test needs at least two groups")
    sub = (cnt if groups.size == ng else cnt[:, groups, :]).astype(np.float64)
    n_risk = np.cumsum(sub.sum(axis=2)[::-1], axis=0)[::-1]
    failed = sub[:, :, 1:].sum(axis=2)
    out = {}
    for c in tested:
        if c not in cs:
            raise AnalysisError(f"there are no failures of cause {c}")
        d1 = sub[:, :, cs.index(c) + 1]
        sc, v = gray_from_counts(n_risk, d1, failed - d1, rho=0.0)
        out[c] = gray_result(
            sc, v, cause=c, rho=0.0, groups=tuple(groups.tolist()), stratified=False
        )
    return out


def gray_test(
    time: ArrayLike,
    status: ArrayLike,
    group: ArrayLike,
    *,
    cause: int = 1,
    strata: ArrayLike | None = None,
    rho: float = 0.0,
    weights: ArrayLike | None = None,
) -> GrayTestResult:
    """Gray's test for one cause (:func:`gray_tests`)."""
    return gray_tests(
        time, status, group, causes=(cause,), strata=strata, rho=rho, weights=weights
    )[cause]


# --------------------------------------------------------------------------- cause-specific Cox


@dataclass(frozen=True)
class CauseSpecificCox:
    """A Cox fit of one cause with the competing events censored (``fit``), labelled."""

    fit: Any  # survstudy.stats.cox.CoxResult
    cause: int
    competing_events: int

    model = "cause-specific"

    @property
    def terms(self) -> tuple[Any, ...]:
        return tuple(self.fit.terms)

    def to_records(self) -> list[dict[str, Any]]:
        return list(self.fit.to_records())

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.fit.to_dict())
        out["model"] = self.model
        out["cause"] = self.cause
        out["competing_events"] = self.competing_events
        return out


def cause_specific_cox(
    x: ArrayLike, time: ArrayLike, status: ArrayLike, *, cause: int = 1, **kwargs: Any
) -> CauseSpecificCox:
    """Cause-specific Cox model: :func:`.cox.cox_fit` on ``event = (status == cause)``,
    failures of other causes censored at their time (``kwargs`` go to ``cox_fit``)."""
    from survstudy.stats.cox import cox_fit

    t = as_time(time)
    col, cs = status_codes(status, None, t.size)
    if cause not in cs:
        raise AnalysisError(f"there are no failures of cause {cause}: the model cannot be fitted")
    ci = cs.index(cause) + 1
    event = col == ci
    competing = int(np.sum((col > 0) & ~event))
    fit = cox_fit(x, t, event, **kwargs)
    return CauseSpecificCox(fit=fit, cause=int(cause), competing_events=competing)


# --------------------------------------------------------------------------- survstudy cif

#: status codes of :func:`cif_analysis`: the event of interest and the competing event
EVENT, COMPETING = 1, 2
_CAUSE_NAMES = {EVENT: "the event", COMPETING: "the competing event"}


def _gray_dict(g: GrayTestResult | None) -> dict[str, Any] | None:
    if g is None:
        return None
    d = g.to_dict()
    return {
        "statistic": d["statistic"],
        "df": g.df,
        "p_value": d["p_value"],
        "stratified": g.stratified,
        "rho": g.rho,
    }


def _warning_dict(w: StatWarning) -> dict[str, Any]:
    d: dict[str, Any] = w.to_dict()
    # context values must be JSON (group levels are numbers or text already)
    d["context"] = {
        k: v for k, v in d["context"].items() if v is None or isinstance(v, (str, int, float))
    }
    return d


@dataclass(frozen=True)
class CIFAnalysis:
    """What ``survstudy cif`` computes: per group (``curves``: level, ``None`` without
    groups, and its :class:`CumulativeIncidence` of causes 1 and 2), the values at the
    chosen times ``at``, Gray's test of the event (``gray``) and of the competing event
    (``gray_competing``) across the groups (``None`` without groups or events), and the
    warnings of all of them. ``n_read``/``n_dropped``: the rows given and left out."""

    curves: tuple[tuple[Any, CumulativeIncidence], ...]
    at: tuple[float, ...]
    gray: GrayTestResult | None
    gray_competing: GrayTestResult | None
    warnings: tuple[StatWarning, ...]
    conf_type: str
    conf_level: float
    n_read: int
    n_dropped: int

    def to_dict(self, *, with_table: bool = False) -> dict[str, Any]:
        """The JSON object of ``survstudy cif --json`` (without its ``codes``, which the
        caller knows). ``with_table``: each group also gets ``table``, the (event,
        competing event) rows of the curves at each time with a failure (the text output)."""
        groups = []
        for level, res in self.curves:
            entry: dict[str, Any] = {
                "group": level,
                "n": res.n,
                "events": res.events(EVENT),
                "competing_events": res.events(COMPETING),
                "censored": float(res.n_censor.sum()),
                "at": res.at(list(self.at), EVENT).to_records(),
                "competing_at": res.at(list(self.at), COMPETING).to_records(),
            }
            if with_table:
                ev, co = res.to_records(EVENT), res.to_records(COMPETING)
                entry["table"] = [
                    (a, b) for a, b in zip(ev, co, strict=True) if a["n_event"] or b["n_event"]
                ]
            groups.append(entry)
        return {
            "conf_type": self.conf_type,
            "conf_level": self.conf_level,
            "n_read": self.n_read,
            "n_dropped": self.n_dropped,
            "groups": groups,
            "gray": _gray_dict(self.gray),
            "gray_competing": _gray_dict(self.gray_competing),
            "warnings": [_warning_dict(w) for w in self.warnings],
        }


def cif_analysis(
    time: ArrayLike,
    status: ArrayLike,
    group: ArrayLike,
    levels: Sequence[Any],
    *,
    by: str | None,
    at: Sequence[float] = (),
    conf_type: str = "log-log",
    conf_level: float = 0.95,
    strata: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    n_read: int | None = None,
    n_dropped: int = 0,
) -> CIFAnalysis:
    """The cumulative incidence of the event (status 1) and the competing event (2) per
    group (codes 0 .. len(levels) − 1; ``levels`` ``[None]`` and ``by`` ``None`` for one
    curve), with Gray's test of each across the groups (stratified by ``strata``) when
    ``by`` names a grouping with at least two levels present. Warnings: each curve's, few
    at risk at a chosen time, a cause without failures (no Gray's test for it), a
    grouping with one level. ``weights``: frequency weights (an engine's records)."""
    t = as_time(time)
    if t.size == 0:
        raise AnalysisError("no rows left to analyse (every row has a missing value)")
    # one count of the (time, group, status) cells serves the curves and Gray's tests
    col, cs = _status_columns(status, (EVENT, COMPETING), t.size)
    w = _frequency(weights, t.size)
    g = np.asarray(group, dtype=np.intp)
    if g.shape != t.shape:
        raise ValueError("group_codes must have one code per observation")
    fits, cells = _cif_by(t, col, cs, g, levels, w, conf_type, conf_level, _CAUSE_NAMES)
    times = [float(x) for x in at]
    warns: list[StatWarning] = []
    for level, res in fits:
        warns += res.warnings
        warns += res.few_at_risk(res.at(times, EVENT), level)
    gray: dict[int, GrayTestResult] = {}
    if by is not None and len(fits) >= 2:
        present = [c for c in (EVENT, COMPETING) if any(r.events(c) > 0 for _, r in fits)]
        for c in (EVENT, COMPETING):
            if c not in present:
                warns.append(
                    StatWarning(
                        "NO-EVENTS",
                        f"Gray's test for {_CAUSE_NAMES[c]} cannot be computed: there are none",
                        {"cause": c},
                    )
                )
        if present:
            if cells is not None and strata is None:
                tests = _gray_from_cells(cells, g, w, cs, present)
            else:
                tests = gray_tests(t, status, group, causes=present, strata=strata, weights=weights)
            for c, res_g in tests.items():
                warns += res_g.warnings
                gray[c] = res_g
    elif by is not None:
        warns.append(
            StatWarning(
                "ONE-GROUP",
                f"{by} has a single level among the analysed rows: no Gray's test",
                {"group": by},
            )
        )
    return CIFAnalysis(
        curves=tuple(fits),
        at=tuple(times),
        gray=gray.get(EVENT),
        gray_competing=gray.get(COMPETING),
        warnings=tuple(warns),
        conf_type=conf_type,
        conf_level=conf_level,
        n_read=int(t.size) if n_read is None else n_read,
        n_dropped=n_dropped,
    )

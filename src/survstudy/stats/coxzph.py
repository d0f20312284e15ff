"""Test of proportional hazards, as R's ``cox.zph(fit, transform="km")`` (survival >= 3.0).

The test is a score test, at the fitted β and γ = 0, for adding the
time-varying covariates ``x·g(t)`` to the model, where
``g(t) = 1 − Ŝ(t−)`` (the left-continuous Kaplan–Meier of all subjects,
ignoring strata), centred by its mean over the events. Because ``g`` is the
same for everyone at risk at an event time, the per-time score ``U_t`` and
information ``I_t`` of the fitted model give everything:
``U_γ = Σ g_t U_t``, ``I_ββ = Σ I_t``, ``I_βγ = Σ g_t I_t``, ``I_γγ = Σ g_t² I_t``.
For a term with columns J the statistic is ``uᵀ A⁻¹ u`` with ``u = (0, U_γ[J])``
and ``A`` the information of (β, γ_J); the global test uses all γ.

Reference: Grambsch & Therneau (1994), Biometrika 81:515; Therneau,
survival package 3.0 NEWS / ``cox.zph`` documentation (the exact score test
replaced the earlier approximation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from survstudy.stats import _cox_objective as obj
from survstudy.stats._common import clean_float
from survstudy.stats._dist import chi2_sf as chisq_sf

__all__ = ["PhTerm", "PhTestResult", "cox_zph"]


@dataclass(frozen=True)
class PhTerm:
    term: str
    chisq: float
    df: int
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "chisq": clean_float(self.chisq),
            "df": self.df,
            "p_value": clean_float(self.p_value),
        }


@dataclass(frozen=True)
class PhTestResult:
    """Per-term and global score tests of proportional hazards."""

    terms: tuple[PhTerm, ...]
    global_chisq: float
    global_df: int
    global_p: float
    transform: str = "km"

    def to_dict(self) -> dict[str, Any]:
        return {
            "transform": self.transform,
            "terms": [t.to_dict() for t in self.terms],
            "global": {
                "chisq": clean_float(self.global_chisq),
                "df": self.global_df,
                "p_value": clean_float(self.global_p),
            },
        }


def _km_left(time: NDArray[Any], event: NDArray[Any], weight: NDArray[Any]) -> Any:
    """Return a function t -> 1 − Ŝ(t−) (Kaplan–Meier of all subjects)."""
    uniq, inv = np.unique(time, return_inverse=True)
    exits = np.bincount(inv, weights=weight, minlength=uniq.size)
    deaths = np.bincount(inv, weights=weight * event, minlength=uniq.size)
    risk = np.cumsum(exits[::-1])[::-1]
    surv = np.cumprod(1.0 - deaths / risk)

    def g(t: NDArray[Any]) -> NDArray[Any]:
        idx = np.searchsorted(uniq, t, side="left")  # number of times strictly < t
        s_left = np.concatenate(([1.0], surv))[idx]
        return 1.0 - s_left

    return g


def _weighted_grams(
    d: obj.CoxData, wr: NDArray[Any], coefs: Sequence[tuple[NDArray[Any], NDArray[Any]]]
) -> list[NDArray[Any]]:
    """``Xᵀ diag(v) X`` per ``(c1, c2)`` of per-group coefficients, with
    ``v_i = w_i r_i (C_{g(i)} − δ_i c2_{g(i)})``, ``C`` the reverse cumulative sum of ``c1``
    within strata; blocks of rows keep the n×p temporaries small."""
    x = d.x
    n, p = x.shape
    vs = []
    for c1, c2 in coefs:
        big_c = obj.revcumsum_within(c1, d.gstart)
        v = big_c[d.group] - d.event * c2[d.group]
        vs.append(v * wr)
    out = [np.zeros((p, p)) for _ in coefs]
    step = 1 << 16
    for a in range(0, n, step):
        xb = x[a : a + step]
        for acc, v in zip(out, vs, strict=True):
            acc += (xb * v[a : a + step, None]).T @ xb
    return out


def cox_zph(fit: Any, assign: Sequence[str] | None = None) -> PhTestResult:
    """PH test of a :class:`~survstudy.stats.cox.CoxResult` (transform "km").

    ``assign`` names the term of each column (default: each column its own
    term, or the fit's ``assign``); columns of one term are tested jointly.
    """
    st = fit._state
    d: obj.CoxData = st.data
    beta = st.beta_scaled
    p = beta.size
    labels = list(assign if assign is not None else (fit.assign or fit.term_names))
    x = d.x
    gs = obj.group_sums(d, x @ beta)
    r0 = obj.cumsum_within(gs.e0, d.gstart)
    r1 = obj.cumsum_within(gs.e1, d.gstart)
    ng = d.n_groups
    # the tie rows' sums per group (one row per death under Efron: den = R0 − f D0):
    # c1 = Σ m/den, c2 = Σ m f/den, q_j = Σ m f^j/den²
    g = d.erow_group
    f = d.erow_f
    m = d.erow_mult
    den = r0[g] - f * gs.d0[g]
    h = m / den
    c1, c2 = (np.bincount(g, weights=w, minlength=ng) for w in (h, h * f))
    h2 = h / den
    q0, q1, q2 = (np.bincount(g, weights=w, minlength=ng) for w in (h2, h2 * f, h2 * f * f))
    # per event time: the score U_t = Σ_D w x − m Σ_k a_k, a_k = (R1 − f_k D1)/den_k
    wdx = np.add.reduceat(x * (d.weight * d.event)[:, None], d.starts, axis=0)
    u_g = wdx - c1[:, None] * r1 + c2[:, None] * gs.d1

    kmw = np.ones_like(st.time) if st.weights is None else st.weights
    gfun = _km_left(st.time, st.event.astype(np.float64), kmw)
    center = float(np.mean(gfun(st.time[st.event])))
    gt = gfun(d.gtime) - center

    # Σ_t w_t I_t for the time weights w = 1, g, g² without a p×p matrix per time:
    # Σ_t w_t m Σ_k (R2 − f_k D2)/den_k = Xᵀ diag(v) X with v_i = w r_i (C_w − δ_i w c2),
    # C_w the sum of w c1 over the times at which subject i is at risk (as the fit's
    # information in _cox_objective.evaluate); the a aᵀ part from the per-time sums
    weights = (np.ones(ng), gt, gt * gt)
    grams = _weighted_grams(d, gs.wr, [(w * c1, w * c2) for w in weights])
    r1d1 = [
        (r1 * (w * q0)[:, None]).T @ r1
        - (r1 * (w * q1)[:, None]).T @ gs.d1
        - (gs.d1 * (w * q1)[:, None]).T @ r1
        + (gs.d1 * (w * q2)[:, None]).T @ gs.d1
        for w in weights
    ]
    i_bb, i_bg, i_gg = (gram - aa for gram, aa in zip(grams, r1d1, strict=True))
    u_gam = (gt[:, None] * u_g).sum(axis=0)

    full = np.block([[i_bb, i_bg], [i_bg.T, i_gg]])
    u_full = np.concatenate((np.zeros(p), u_gam))

    order: list[str] = list(dict.fromkeys(labels))
    terms: list[PhTerm] = []
    for lab in order:
        cols = [j for j in range(p) if labels[j] == lab]
        jj = list(range(p)) + [p + j for j in cols]
        tu = u_full[jj]
        stat = float(tu @ np.linalg.solve(full[np.ix_(jj, jj)], tu))
        terms.append(PhTerm(lab, stat, len(cols), chisq_sf(stat, len(cols))))
    gstat = float(u_full @ np.linalg.solve(full, u_full))
    return PhTestResult(tuple(terms), gstat, p, chisq_sf(gstat, p))

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

Counting-process rows ``(start, stop]``: the risk-set sums run over the rows at
risk (``start < t ≤ stop``) and ``g`` uses the Kaplan–Meier with delayed entry,
as R's ``cox.zph`` on a ``Surv(start, stop, event)`` fit.

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


def _km_left(
    time: NDArray[Any], event: NDArray[Any], weight: NDArray[Any], start: NDArray[Any] | None = None
) -> Any:
    """Return a function t -> 1 − Ŝ(t−) (Kaplan–Meier of all subjects; with delayed
    entry for counting-process rows, as R's ``survfitKM`` on ``Surv(start, stop, event)``)."""
    uniq: NDArray[Any]
    risk: NDArray[Any]
    deaths: NDArray[Any]
    if start is None:
        uniq, inv = np.unique(time, return_inverse=True)
        exits = np.bincount(inv, weights=weight, minlength=uniq.size)
        deaths = np.bincount(inv, weights=weight * event, minlength=uniq.size)
        risk = np.cumsum(exits[::-1])[::-1]
    else:
        from survstudy.stats.riskset import risk_table

        rt = risk_table(time, event, weights=weight, start=start)
        uniq, risk, deaths = rt.time, rt.n_risk, rt.n_event
    surv = np.cumprod(1.0 - deaths / risk)

    def g(t: NDArray[Any]) -> NDArray[Any]:
        idx = np.searchsorted(uniq, t, side="left")  # number of times strictly < t
        s_left = np.concatenate(([1.0], surv))[idx]
        return 1.0 - s_left

    return g


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
    eta = x @ beta
    gs = obj.group_sums(d, eta)
    r0, r1 = obj.risk_sums(d, gs)
    ng = d.n_groups
    # per-group E2 and D2 (p x p), then risk-set R2
    xx = x[:, :, None] * x[:, None, :]
    e2 = np.add.reduceat(xx * gs.wr[:, None, None], d.starts, axis=0)
    if d.entry is not None:  # counting-process rows leave the sums at their entry group
        wxx = (xx * gs.wr[:, None, None]).reshape(-1, p * p)
        for jk in range(p * p):
            e2.reshape(ng, p * p)[:, jk] -= np.bincount(
                d.entry, weights=wxx[:, jk], minlength=ng + 1
            )[:ng]
    r2 = obj.cumsum_within(e2.reshape(ng, p * p), d.gstart).reshape(ng, p, p)
    d2 = np.add.reduceat(xx * (gs.wr * d.event)[:, None, None], d.starts, axis=0)
    g = d.erow_group
    f = d.erow_f
    m = d.erow_mult
    den = r0[g] - f * gs.d0[g]
    a = (r1[g] - f[:, None] * gs.d1[g]) / den[:, None]
    row_r2 = (r2[g] - f[:, None, None] * d2[g]) / den[:, None, None] - a[:, :, None] * a[:, None, :]
    info_rows = m[:, None, None] * row_r2
    wdx = np.add.reduceat(x * (d.weight * d.event)[:, None], d.starts, axis=0)
    u_g = wdx.copy()
    np.add.at(u_g, g, -(m[:, None] * a))
    i_g = np.zeros((ng, p, p))
    np.add.at(i_g, g, info_rows)

    kmw = np.ones_like(st.time) if st.weights is None else st.weights
    gfun = _km_left(st.time, st.event.astype(np.float64), kmw, getattr(st, "start", None))
    center = float(np.mean(gfun(st.time[st.event])))
    gt = gfun(d.gtime) - center

    u_gam = (gt[:, None] * u_g).sum(axis=0)
    i_bb = i_g.sum(axis=0)
    i_bg = (gt[:, None, None] * i_g).sum(axis=0)
    i_gg = ((gt**2)[:, None, None] * i_g).sum(axis=0)
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

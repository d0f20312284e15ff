"""Absolute effects of two groups: survival differences at landmarks and the RMST difference.

Direction: every difference is ``group − reference`` (the reference is the first level,
as for the hazard ratio), so a positive difference means better survival in ``group``.

Survival difference at a landmark ``t`` (Klein & Moeschberger 2003, sec. 7.8; the
comparison STROBE 16c and REMARK 15 ask for): ``Ŝ_g(t) − Ŝ_r(t)`` from the two
Kaplan–Meier curves, with the groups independent so that
``Var = Var_g + Var_r``, each the Greenwood variance of ``Ŝ(t)`` itself,
``Ŝ(t)² Σ_{t_j ≤ t} d_j / (n_j (n_j − d_j))``. The CI is Wald on the plain scale,
``difference ± z·sqrt(Var)``, truncated to the possible range [−1, 1] (a limit beyond it,
which small groups give, is set to −1 or 1 and a ``DIFFERENCE-CI-TRUNCATED`` warning says
so: a difference of two survival probabilities cannot exceed 100 percentage points).

Restricted mean survival time (RMST) difference at ``τ`` (Royston & Parmar 2013, BMC Med
Res Methodol 13:152; Uno et al. 2014, J Clin Oncol 32:2380): ``RMST_g(τ) − RMST_r(τ)``,
each the area under its Kaplan–Meier curve up to ``τ`` with Klein & Moeschberger's variance
``Σ_{t_j ≤ τ} A_j² d_j / (n_j (n_j − d_j))``, ``A_j`` the area from ``t_j`` to ``τ``
(R's ``print(survfit(...), rmean = τ)``, and survRM2's ``rmst2`` unadjusted analysis);
``SE = sqrt(SE_g² + SE_r²)``, Wald CI and two-sided p. The RMST is refused — ``None``
values and an ``RMST-TAU-BEYOND-FOLLOW-UP`` warning, never a number — when ``τ`` is
beyond either group's last follow-up time (the curve is unknown there; survRM2 refuses
the same ``τ``). A landmark beyond either group's last follow-up gets ``None`` and a
``LANDMARK-BEYOND-FOLLOW-UP`` warning for the same reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from survstudy.stats._common import StatWarning, clean_float
from survstudy.stats._dist import norm_ppf
from survstudy.stats.km import KaplanMeierResult, rmst_difference
from survstudy.stats.riskset import TIE_TOLERANCE

__all__ = ["RMSTComparison", "SurvivalDifference", "TwoGroupComparison", "compare_two_groups"]

F = NDArray[np.float64]


@dataclass(frozen=True)
class SurvivalDifference:
    """``S_group(t) − S_reference(t)`` at each landmark with its SE and plain Wald CI.

    Where a landmark is beyond either group's last follow-up (``estimable`` False) the
    difference, SE and limits are NaN (``None`` in JSON).
    """

    time: F
    reference_survival: F
    group_survival: F
    difference: F
    std_err: F
    lower: F
    upper: F
    estimable: NDArray[np.bool_]
    conf_level: float

    def to_records(self) -> list[dict[str, Any]]:
        return [
            {
                "time": float(self.time[i]),
                "difference": clean_float(self.difference[i]),
                "lower": clean_float(self.lower[i]),
                "upper": clean_float(self.upper[i]),
                "std_err": clean_float(self.std_err[i]),
                "reference_survival": clean_float(self.reference_survival[i]),
                "group_survival": clean_float(self.group_survival[i]),
            }
            for i in range(self.time.size)
        ]


@dataclass(frozen=True)
class RMSTComparison:
    """RMST of each group up to ``tau`` and their difference (group − reference).

    All estimates are ``None`` when ``tau`` was refused (see ``warnings``).
    """

    tau: float
    difference: float | None
    std_err: float | None
    lower: float | None
    upper: float | None
    z: float | None
    p_value: float | None
    reference_rmst: float | None
    reference_std_err: float | None
    group_rmst: float | None
    group_std_err: float | None
    conf_level: float
    warnings: tuple[StatWarning, ...] = ()

    @property
    def estimable(self) -> bool:
        return self.difference is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "tau": self.tau,
            "difference": clean_float(self.difference),
            "lower": clean_float(self.lower),
            "upper": clean_float(self.upper),
            "p_value": clean_float(self.p_value),
            "std_err": clean_float(self.std_err),
            "z": clean_float(self.z),
            "reference": {
                "estimate": clean_float(self.reference_rmst),
                "std_err": clean_float(self.reference_std_err),
            },
            "group": {
                "estimate": clean_float(self.group_rmst),
                "std_err": clean_float(self.group_std_err),
            },
            "conf_level": self.conf_level,
            "warnings": [w.to_dict() for w in self.warnings],
        }


@dataclass(frozen=True)
class TwoGroupComparison:
    """Absolute effects of ``group`` against ``reference``: ``{at: [...], rmst: {...}}``."""

    at: SurvivalDifference
    rmst: RMSTComparison | None
    conf_level: float
    warnings: tuple[StatWarning, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.to_records(),
            "rmst": None if self.rmst is None else self.rmst.to_dict(),
            "direction": "group minus reference",
            "conf_level": self.conf_level,
            "warnings": [w.to_dict() for w in self.warnings],
        }


def _last_time(km: KaplanMeierResult) -> float:
    return float(km.time[-1]) if km.time.size else 0.0


def _tolerance(*kms: KaplanMeierResult) -> float:
    scale = max([1.0] + [abs(_last_time(k)) for k in kms])
    return TIE_TOLERANCE * scale


def _refused_rmst(tau: float, conf_level: float, warning: StatWarning) -> RMSTComparison:
    return RMSTComparison(
        tau=tau,
        difference=None,
        std_err=None,
        lower=None,
        upper=None,
        z=None,
        p_value=None,
        reference_rmst=None,
        reference_std_err=None,
        group_rmst=None,
        group_std_err=None,
        conf_level=conf_level,
        warnings=(warning,),
    )


def _rmst(
    reference: KaplanMeierResult, group: KaplanMeierResult, tau: float, conf_level: float
) -> RMSTComparison:
    last_r, last_g = _last_time(reference), _last_time(group)
    if not (math.isfinite(tau) and tau > 0):
        raise ValueError("tau must be a positive number")
    if tau > min(last_r, last_g) + _tolerance(reference, group):
        return _refused_rmst(
            tau,
            conf_level,
            StatWarning(
                "RMST-TAU-BEYOND-FOLLOW-UP",
                "the restricted mean survival time is not estimated: its horizon is beyond the "
                "last follow-up of "
                + ("both groups" if tau > max(last_r, last_g) else "one group")
                + ", where the survival curve is unknown; choose a horizon within the shorter "
                "follow-up",
                {"tau": tau, "reference_last_time": last_r, "group_last_time": last_g},
            ),
        )
    d = rmst_difference(group, reference, tau, conf_level=conf_level)
    rg, rr = group.rmst(tau), reference.rmst(tau)
    return RMSTComparison(
        tau=float(tau),
        difference=d.difference,
        std_err=d.std_err,
        lower=d.lower,
        upper=d.upper,
        z=d.z,
        p_value=d.p_value,
        reference_rmst=rr.estimate,
        reference_std_err=rr.std_err,
        group_rmst=rg.estimate,
        group_std_err=rg.std_err,
        conf_level=conf_level,
    )


def compare_two_groups(
    reference: KaplanMeierResult,
    group: KaplanMeierResult,
    times: ArrayLike,
    *,
    tau: float | None = None,
    rmst: bool = True,
    conf_level: float = 0.95,
) -> TwoGroupComparison:
    """Survival differences at ``times`` and the RMST difference at ``tau`` (module docstring).

    ``tau`` defaults to the last of ``times``; ``rmst=False`` (or no ``times`` and no
    ``tau``) leaves the RMST out (``None``). The two curves must use the same time unit.
    """
    if not 0 < conf_level < 1:
        raise ValueError("conf_level must be between 0 and 1")
    t = np.atleast_1d(np.asarray(times, dtype=np.float64))
    z = norm_ppf(1.0 - (1.0 - conf_level) / 2.0)
    ar, ag = reference.survival_at(t), group.survival_at(t)
    tol = _tolerance(reference, group)
    ok = (t <= _last_time(reference) + tol) & (t <= _last_time(group) + tol)
    diff = ag.survival - ar.survival
    with np.errstate(invalid="ignore"):
        se = np.sqrt(ag.std_err**2 + ar.std_err**2)
    nan = np.full(t.size, np.nan)
    diff_out = np.where(ok, diff, nan)
    se_out = np.where(ok, se, nan)
    lo, hi = diff_out - z * se_out, diff_out + z * se_out
    at = SurvivalDifference(
        time=t,
        reference_survival=np.where(ok, ar.survival, nan),
        group_survival=np.where(ok, ag.survival, nan),
        difference=diff_out,
        std_err=se_out,
        lower=np.maximum(lo, -1.0),
        upper=np.minimum(hi, 1.0),
        estimable=ok,
        conf_level=conf_level,
    )
    warns = [
        StatWarning(
            "LANDMARK-BEYOND-FOLLOW-UP",
            "no survival difference at this time: it is beyond the last follow-up of a group",
            {
                "time": float(t[i]),
                "reference_last_time": _last_time(reference),
                "group_last_time": _last_time(group),
            },
        )
        for i in np.flatnonzero(~ok)
    ]
    warns += [
        StatWarning(
            "DIFFERENCE-CI-TRUNCATED",
            "the Wald confidence interval of the survival difference reaches beyond the "
            "possible range; its limit is shown at "
            + ("−100" if lo[i] < -1.0 else "100")
            + " percentage points (few patients: read the difference with care)",
            {"time": float(t[i])},
        )
        for i in np.flatnonzero(ok & ((lo < -1.0) | (hi > 1.0)))
    ]
    horizon = tau if tau is not None else (float(t.max()) if t.size else None)
    rm = _rmst(reference, group, float(horizon), conf_level) if rmst and horizon else None
    if rm is not None:
        warns.extend(rm.warnings)
    return TwoGroupComparison(at=at, rmst=rm, conf_level=conf_level, warnings=tuple(warns))

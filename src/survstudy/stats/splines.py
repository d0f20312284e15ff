"""Restricted cubic splines (Harrell's ``rcs``): knot placement and basis, as ``rms``/``Hmisc``.

Basis (Stone & Koo 1985; Harrell 2015, *Regression Modeling Strategies*, 2nd ed., sec. 2.4.5).
With knots ``t_1 < … < t_K`` the restricted (natural) cubic spline is cubic between knots,
twice continuously differentiable and linear below ``t_1`` and above ``t_K``. Its columns are
``x`` and, for ``j = 1 … K − 2``,

    h_j(x) = (x − t_j)₊³ − (x − t_{K−1})₊³ (t_K − t_j)/(t_K − t_{K−1})
                        + (x − t_K)₊³ (t_{K−1} − t_j)/(t_K − t_{K−1}),

divided by ``(t_K − t_1)²`` (``norm = 2``, the default of ``Hmisc::rcspline.eval`` and of
``rms::rcs``, which makes the columns have the units of ``x``). Together with a constant the
``K`` functions span every natural cubic spline with these knots — the same space as R's
``splines::ns(x, knots = t_2…t_{K−1}, Boundary.knots = c(t_1, t_K), intercept = TRUE)``.

Knot placement (``Hmisc::rcspline.eval`` 4.8 with ``knots = NULL``, the route of ``rcs(x, k)``):

- default quantiles of ``x``: ``.05, .35, .65, .95`` for 4 knots (``outer`` = .05 for 4–6
  knots, .10 for 3, .025 for 7 or more; equally spaced between ``outer`` and ``1 − outer``),
  R's type-7 quantiles;
- fewer than ``nk + 3`` distinct values: the knots are the distinct values except the
  smallest and the largest (warning ``RCS-FEW-VALUES``);
- a heavily tied end (``fractied`` = 5 %): when no interior value holds 5 % of the
  observations but the smallest (largest) does, the first (last) knot is the second smallest
  (second largest) distinct value and the other knots are placed on the values beyond it;
- fewer than 3 distinct quantiles (or fewer than the number asked for, when that is below 3):
  twice as many equally spaced quantiles are tried (warning ``RCS-ALTERNATE-KNOTS``);
- fewer than 100 observations: the outer knots are the 5th smallest and 5th largest value;
- duplicated knots are dropped; fewer than 3 distinct knots is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from survstudy.errors import AnalysisError
from survstudy.stats._common import StatWarning

__all__ = ["RcsKnots", "quantile_type7", "rcs_basis", "rcs_knots", "rcs_names", "sorted_unique"]

F = NDArray[np.float64]


@dataclass(frozen=True)
class RcsKnots:
    """Knot locations chosen for a variable, with the warnings of the placement rules."""

    knots: F
    requested: int
    warnings: tuple[StatWarning, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "knots": [float(k) for k in self.knots],
            "requested": self.requested,
            "warnings": [w.to_dict() for w in self.warnings],
        }


def _seq(lo: float, hi: float, n: int) -> F:
    """R's ``seq(lo, hi, length = n)``."""
    if n == 1:
        return np.array([lo])
    by = (hi - lo) / (n - 1)
    out: F = lo + np.arange(n, dtype=np.float64) * by
    out[-1] = hi
    return out


def quantile_type7(sorted_x: F, probs: F) -> F:
    """R's type-7 quantile, with its arithmetic: ``(1 − h)·x[lo] + h·x[hi]``."""
    n = sorted_x.size
    index = (n - 1) * probs
    lo = np.floor(index).astype(np.intp)
    hi = np.ceil(index).astype(np.intp)
    q = sorted_x[lo].copy()
    h = index - lo
    mix = (index > lo) & (sorted_x[hi] != q)
    q[mix] = (1 - h[mix]) * q[mix] + h[mix] * sorted_x[hi[mix]]
    return q


def sorted_unique(xs: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """``np.unique(xs, return_counts=True)`` of values already sorted, without NaN (no
    second sort)."""
    if xs.size == 0:
        return xs.copy(), np.zeros(0, dtype=np.intp)
    first = np.empty(xs.size, dtype=bool)
    first[0] = True
    np.not_equal(xs[1:], xs[:-1], out=first[1:])
    at = np.flatnonzero(first)
    return xs[at], np.diff(at, append=xs.size)


def rcs_knots(
    x: ArrayLike, nk: int = 4, *, fractied: float = 0.05, presorted: bool = False
) -> RcsKnots:
    """Knots for a restricted cubic spline with ``nk`` knots (rules in the module docstring).

    Missing values (NaN) are ignored. Raises :class:`AnalysisError` with fewer than 6
    observations or when fewer than 3 distinct knots can be placed. ``presorted``: ``x`` is
    already sorted ascending, without NaN (not sorted again).
    """
    if nk < 3:
        raise ValueError("nk must be >= 3")
    xa = np.asarray(x, dtype=np.float64)
    xx = xa if presorted else np.sort(xa[~np.isnan(xa)])
    n = xx.size
    if n < 6:
        raise AnalysisError("a spline needs at least 6 observations with a value")
    xu, counts = sorted_unique(xx)
    nxu = xu.size
    warns: list[StatWarning] = []
    if nxu - 2 <= nk:
        knots = xu[1:-1]
        warns.append(
            StatWarning(
                "RCS-FEW-VALUES",
                f"only {nxu} distinct values: the spline's knots are the {nxu - 2} values "
                "between the smallest and the largest",
                {"requested": nk, "distinct_values": int(nxu)},
            )
        )
    else:
        outer = 0.025 if nk > 6 else (0.05 if nk > 3 else 0.1)
        nke = nk
        first: list[float] = []
        last: list[float] = []
        override_first = override_last = False
        if 0 < fractied < 1:
            f = counts / n
            if f[1:-1].max() < fractied:
                if f[0] >= fractied:
                    first = [float(xu[1])]
                    xx = xx[xx > first[0]]
                    nke -= 1
                    override_first = True
                if f[-1] >= fractied:
                    last = [float(xu[-2])]
                    xx = xx[xx < last[0]]
                    nke -= 1
                    override_last = True
        if nke == 1:
            knots = np.array([float(np.median(xx))])
        elif nxu <= nke:
            knots = xu.copy()
        else:
            p = _seq(0.5, 1 - outer, 2) if nke == 2 else _seq(outer, 1 - outer, nke)
            knots = quantile_type7(xx, p)
            if np.unique(knots).size < min(nke, 3):
                knots = quantile_type7(xx, _seq(outer, 1 - outer, 2 * nke))
                if first and np.unique(knots).size < 3:
                    mid = (first[0] + last[0]) / 2 if last else float(np.median(xx))
                    hi = last[0] if last else float(quantile_type7(xx, np.array([1 - outer]))[0])
                    knots = np.sort(np.array([first[0], mid, hi]))
                nu = np.unique(knots).size
                if nu < 3:
                    raise AnalysisError(
                        "fewer than 3 distinct knots can be placed: the variable has too few "
                        "distinct values for a spline"
                    )
                warns.append(
                    StatWarning(
                        "RCS-ALTERNATE-KNOTS",
                        f"the default quantiles gave fewer than {nke} distinct knots; "
                        f"{nu} knots were placed at other quantiles",
                        {"requested": nk, "knots": int(nu)},
                    )
                )
            if xx.size < 100:
                if xx.size < 5:
                    raise AnalysisError("too few observations between the tied ends for a spline")
                knots = knots.copy()
                if not override_first:
                    knots[0] = xx[4]
                if not override_last:
                    knots[nke - 1] = xx[xx.size - 5]
        knots = np.concatenate((first, knots, last))
    knots = np.unique(knots)
    if knots.size < 3:
        raise AnalysisError(
            "fewer than 3 distinct knots can be placed: the variable has too few distinct "
            "values for a spline"
        )
    return RcsKnots(knots=knots.astype(np.float64), requested=nk, warnings=tuple(warns))


def rcs_basis(x: ArrayLike, knots: ArrayLike, *, inclx: bool = True) -> F:
    """The restricted cubic spline columns at ``x`` (``rcspline.eval(x, knots, inclx, norm = 2)``).

    Returns an (n, K − 1) array ``[x, h_1, …, h_{K−2}]`` (``inclx=False``: without ``x``).
    """
    xv = np.asarray(x, dtype=np.float64).ravel()
    t = np.asarray(knots, dtype=np.float64)
    k = t.size
    if k < 3 or np.any(np.diff(t) <= 0):
        raise ValueError("knots must be at least 3 strictly increasing values")
    kd = (t[-1] - t[0]) ** (2.0 / 3.0)
    tj = t[: k - 2]

    def cube(u: F) -> F:
        # max(u / kd, 0)³ in place on the fresh (contiguous) array u
        u /= kd
        np.maximum(u, 0.0, out=u)
        u **= 3
        return u

    xc = xv[:, None]
    # h = cube(x − t_j) + ((t_{K−1} − t_j) cube(x − t_K) − (t_K − t_j) cube(x − t_{K−1}))
    #     / (t_K − t_{K−1}), with three n × (K − 2) arrays (the same operations, in place)
    h = cube(xc - tj)
    tail = (t[k - 2] - tj) * cube(xc - t[k - 1])
    tail -= (t[k - 1] - tj) * cube(xc - t[k - 2])
    tail /= t[k - 1] - t[k - 2]
    h += tail
    del tail
    return np.column_stack((xv, h)) if inclx else h


def rcs_names(name: str, n_knots: int) -> tuple[str, ...]:
    """Column names as ``rms::rcs`` gives them: ``x``, ``x'``, ``x''``, …"""
    return (name, *tuple(name + "'" * j for j in range(1, n_knots - 1)))

"""The Cox partial likelihood as a function of beta: log-likelihood, score, information.

Kept apart from the optimiser so that other fitters (Firth's penalised Cox,
profile likelihoods, SQL back ends) can reuse it.

Layout. :func:`prepare` sorts the data once — by stratum ascending, then time
descending — and finds the *tie groups* (same stratum, same time up to R's
``aeqSurv`` tolerance). In that order the risk set of a tie group is "this
group and every earlier group of the same stratum", so all risk-set sums are
cumulative sums over per-group sums.

Per-iteration work (:func:`evaluate`) is two steps:

1. :func:`group_sums` — per tie group, the sums of ``w·r``, ``w·r·x`` over
   all subjects leaving at that time (``r = exp(x·beta)``) and over the deaths
   only. This is the only step that touches all n rows besides the final
   ``Xᵀ D X`` and is the separable step a database back end would compute.
2. The cumulative sums and the tie handling on the (few) groups.

Ties (weighted, as R's ``coxph``; Therneau & Grambsch 2000, sec. 3.3): with d
deaths of total weight ``W_d`` at a time, risk-set sums ``R0, R1, R2`` and death
sums ``D0, D1, D2``,

* Breslow: ``ℓ += Σ_D w·η − W_d log R0``; ``U += Σ_D w·x − W_d R1/R0``;
  ``I += W_d (R2/R0 − a aᵀ)``, ``a = R1/R0``.
* Efron: with ``m = W_d/d`` and ``f_k = k/d`` for ``k = 0..d−1``,
  ``den_k = R0 − f_k D0``, ``a_k = (R1 − f_k D1)/den_k``:
  ``ℓ += Σ_D w·η − m Σ_k log den_k``; ``U += Σ_D w·x − m Σ_k a_k``;
  ``I += m Σ_k [(R2 − f_k D2)/den_k − a_k a_kᵀ]``.

The ``R2``/``D2`` parts are never formed per group: ``Σ_g c_g R2_g`` equals
``Xᵀ diag(w·r·C) X`` with ``C`` the reverse cumulative sum of ``c``, so the
information costs one weighted ``Xᵀ D X`` (O(n p²)) per call. The Efron terms
are expanded to one row per death (total rows = number of deaths), fully
vectorised.

Counting-process data (``prepare(..., start=...)``, R's ``coxph(Surv(start, stop,
event) ~ ...)``; Andersen & Gill 1982; Therneau & Grambsch 2000, sec. 3.7). A row
is in the risk set of an event time t when ``start < t ≤ stop``. Sorted as above by
stop time, a row joins the running sums at its stop time's group and leaves them
at its *entry group*: the first group of its stratum (in descending time) whose
time is ≤ start. The per-group sums :class:`GroupSums` then hold the net change
``E − N`` (rows leaving at the time minus rows whose entry group it is), so the
risk-set sums are still cumulative sums over groups and every formula above is
unchanged, except that a row's weight in ``Xᵀ diag(v) X`` (and in the score,
then summed row by row) runs over its own groups only:
``v_i = w_i r_i (Σ_{h ∈ [g, entry)} c1_h − δ_i c2_g)``, the interval sum taken from
whichever end subtracts less (:func:`interval_sums`). Start and stop times
share one tie grid (R's ``aeqSurv`` on both columns). A running sum that adds and
removes rows can lose digits when the rows already removed outweigh those still
at risk by many orders of magnitude; :func:`risk_sums` then recomputes that risk
set directly and restarts the cumulative sum there (R's ``agfit4`` rebuilds its
totals in the same situation).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from survstudy.stats.riskset import distinct_times

__all__ = [
    "CoxData",
    "GroupSums",
    "Layout",
    "Objective",
    "evaluate",
    "group_sums",
    "prepare",
    "risk_set_layout",
    "risk_sums",
]

F = NDArray[Any]  # float64 arrays (Any: numpy stubs type bincount results as int)
I = NDArray[Any]  # intp arrays  # noqa: E741


@dataclass(frozen=True)
class CoxData:
    """Data sorted for the partial likelihood (see module docstring).

    ``x`` is the sorted design (n, p) as given (the caller centres/scales), or
    centred and scaled here with ``prepare(..., standardise=True)``. It is a
    column-major view of ``xt`` (p, n): every per-iteration pass runs along
    contiguous rows of ``xt`` in cache-sized column blocks. ``order`` maps
    sorted position -> original row. ``group`` is the tie-group of each sorted
    row, ``starts`` the first sorted row of each group, ``gstratum`` the
    stratum of each group, ``gstart`` the index of the first group of that
    stratum. Per-group constants: ``dcount`` (number of deaths), ``dweight``
    (their total weight). ``erow_group``/``erow_f`` describe the expanded tie
    rows: Efron has one per death (``f = k/d``), Breslow one per group with
    deaths (``f = 0``); ``erow_mult`` is their multiplier ``m``.
    """

    x: F
    event: F
    weight: F
    order: I
    group: I
    starts: I
    gstratum: I
    gstart: I
    gtime: F
    dcount: F
    dweight: F
    erow_group: I
    erow_f: F
    erow_mult: F
    ties: str
    sub_ptr: I = None  # type: ignore[assignment]
    sub_of: I = None  # type: ignore[assignment]
    work: F = None  # type: ignore[assignment]  # unused (kept for compatibility)
    wdeath: F = None  # type: ignore[assignment]  # w·δ per sorted row
    xt: F = None  # type: ignore[assignment]  # (p, n) C-contiguous; x is xt.T
    wdx: F = None  # type: ignore[assignment]  # Σ w δ x (constant in β)
    wdx_g: F = None  # type: ignore[assignment]  # the same per tie group (n_groups, p)
    blocks: tuple[tuple[int, int, I, I], ...] = ()  # (a, b, local sub starts, sub ids)
    erow_starts: I = None  # type: ignore[assignment]  # first expanded row of each event group
    erow_gid: I = None  # type: ignore[assignment]  # the event groups (erow_group[erow_starts])
    center: F | None = None  # standardise=True: x_sorted = (x - center) / scale
    scale: F | None = None
    raw_scale: F | None = None  # mean absolute deviation (0 for a constant column)
    gram: F | None = None  # standardise=True: Σ x xᵀ of the standardised design
    erow_count: I = None  # type: ignore[assignment]  # expanded rows per event group
    erow_gmult: F = None  # type: ignore[assignment]  # their common multiplier m
    erow_chunks: tuple[tuple[int, int, int, int, I], ...] = ()  # (g0, g1, row0, row1, local starts)
    # counting-process data: per sorted row, its entry group (the first group of its
    # stratum with time <= start), or n_groups when no group of the stratum is that early
    entry: I | None = None
    row0: I | None = None  # counting-process data: first sorted row of each group's stratum
    layout: Layout | None = None  # the design-free part, shared with other fits on these rows

    @property
    def n_groups(self) -> int:
        return int(self.starts.size)


# Columns per block in the blocked passes: p x 8192 doubles (640 kB at p = 10) stay in L2
# (n = 10^6, p = 10: 4096-8192 fastest, 16384 4% slower per fit, 32768 10% slower per evaluation).
_BLOCK = 8192
# Below this many rows the objective runs row-wise on a row-major copy (speed is moot
# there; the arithmetic, down to rounding, is that of the earlier implementation, which
# the step-size rules of the monotone-likelihood and Firth/profile fits were tuned on).
_SMALL_N = 20_000
# With more tie groups than this fraction of the rows (continuous times: one row per group)
# the per-group arrays are as large as the data and the row-wise path is faster
# (n = 10^6 continuous times, p = 10: 2.7 s row-wise vs ~4-8 s blocked).
_ROWS_GROUP_FRACTION = 0.25
# Expanded tie rows per chunk in the tie sums (whole groups; 32768 doubles = 256 kB).
_ECHUNK = 32768
# Tie groups by counting keys (False: by comparing sorted neighbours; tests use both).
_COUNTING = True
# Rows per block when gathering the design into sorted, transposed order.
_GATHER = 2048


@dataclass(frozen=True)
class Layout:
    """The part of :func:`prepare` that does not depend on the design: the sort by stratum
    and descending time, the tie groups, the expanded tie rows of ``ties`` and the
    cache-sized blocks (:func:`risk_set_layout`). Fits of different designs on the same rows
    (time, event, strata, weights, start) with the same ties share one
    (``prepare(x, ..., layout=...)``): only the gather of the design changes per fit.
    The inputs are kept (``time`` … ``start``, as given) so that a caller can check that a
    layout belongs to its rows (:meth:`matches`). Field meanings as in :class:`CoxData`
    (``ev``: the sorted events, ``w``: the sorted weights, ``gwith``: the event groups)."""

    time: F
    event: NDArray[np.bool_] | F
    strata: I | None
    weights: F | None
    start: F | None
    ties: str
    order: I
    group: I
    starts: I
    sub_ptr: I
    sub_of: I
    ev: F
    dcount: F
    gstratum: I
    gstart: I
    gtime: F
    w: F
    dweight: F
    erow_group: I
    erow_f: F
    erow_mult: F
    erow_starts: I
    gwith: I
    wdeath: F
    entry: I | None
    row0: I | None
    blocks: tuple[tuple[int, int, I, I], ...]
    erow_count: I
    erow_gmult: F
    echunks: tuple[tuple[int, int, int, int, I], ...]
    # what derived quantities of these rows keep for the next fit on them (e.g. the PH
    # test's transformed times, stats.coxzph)
    cache: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def matches(
        self,
        time: F,
        event: NDArray[np.bool_] | F,
        *,
        strata: I | None = None,
        weights: F | None = None,
        ties: str = "efron",
        start: F | None = None,
    ) -> bool:
        """Whether this layout is that of these rows and ties (equal values; the same
        arrays are recognised without a comparison)."""

        def same(a: Any, b: Any) -> bool:
            if a is None or b is None:
                return a is None and b is None
            return a is b or (np.shape(a) == np.shape(b) and bool(np.array_equal(a, b)))

        return (
            ties == self.ties
            and same(time, self.time)
            and same(event, self.event)
            and same(strata, self.strata)
            and same(weights, self.weights)
            and same(start, self.start)
        )


def risk_set_layout(
    time: F,
    event: NDArray[np.bool_] | F,
    *,
    strata: I | None = None,
    weights: F | None = None,
    ties: str = "efron",
    start: F | None = None,
    like: Layout | None = None,
) -> Layout:
    """Sort once and build the tie groups (the design-free part of :func:`prepare`);
    arguments as there. ``like``: a layout of these same rows (e.g. for the other tie
    rule): its sort, tie groups and blocks are taken as they are (the same arrays, so
    :func:`prepare` can share a sorted design between the two, and its ``cache``), only
    the tie rows of ``ties`` are built; a layout of other rows is ignored."""
    if ties not in ("efron", "breslow"):
        raise ValueError("ties must be 'efron' or 'breslow'")
    if like is not None and like.matches(
        time, event, strata=strata, weights=weights, ties=like.ties, start=start
    ):
        if like.ties == ties:
            return like
        rows = _tie_rows(like.gwith, like.dcount, like.dweight, ties)
        return replace(like, ties=ties, **rows, cache=like.cache)
    n = time.size
    sinv = None
    if start is None:
        _, tinv = distinct_times(time)
        k = int(tinv.max()) + 1 if n else 1
    else:
        # one tie grid for start and stop times (R's aeqSurv on both columns)
        _, both = distinct_times(
            np.concatenate((np.asarray(time, float), np.asarray(start, float)))
        )
        tinv, sinv = both[:n], both[n:]
        k = int(both.max()) + 1 if n else 1
    s = None if strata is None else np.asarray(strata, dtype=np.intp)
    evb = np.asarray(event, dtype=bool)
    # deaths first within a tie group, so a group's deaths are one contiguous block
    key = k - 1 - tinv.astype(np.int64)
    if s is not None:
        key += s.astype(np.int64) * k
    key *= 2
    key += ~evb
    kmax = int(key.max()) if n else 0
    # small key ranges (whole days) sort by radix sort on 16 bits: ~10x faster than int64
    skind = np.uint16 if kmax < 1 << 16 else (np.uint32 if kmax < 1 << 32 else np.int64)
    order = np.argsort(key.astype(skind), kind="stable").astype(np.intp)
    if _COUNTING and n and kmax < max(4 * n, 1 << 16):
        # Counting: the sub-block sizes are a bincount of the key (key 2g: deaths of
        # group g, 2g + 1: its censorings), and every per-row array of the sorted data
        # is a repeat over them — no gather of the keys or events into sorted order.
        sc = np.bincount(key, minlength=2 * (kmax // 2 + 1)).reshape(-1, 2)
        sc = sc[(sc[:, 0] + sc[:, 1]) > 0]
        ng = sc.shape[0]
        sizes = sc.ravel()
        sub_ptr = np.zeros(2 * ng + 1, dtype=np.intp)
        np.cumsum(sizes, out=sub_ptr[1:])
        starts = sub_ptr[0:-1:2].copy()
        group = np.repeat(np.arange(ng, dtype=np.intp), sc[:, 0] + sc[:, 1])
        sub_of = np.repeat(np.arange(2 * ng, dtype=np.intp), sizes)
        ev = np.repeat(np.tile(np.array([1.0, 0.0]), ng), sizes)
        dcount = sc[:, 0].astype(np.float64)
    else:
        skey = key[order] // 2
        newg = np.empty(n, dtype=bool)
        newg[:1] = True
        np.not_equal(skey[1:], skey[:-1], out=newg[1:])
        starts = np.flatnonzero(newg).astype(np.intp)
        group = (np.cumsum(newg) - 1).astype(np.intp)
        ev = np.asarray(event, dtype=np.float64)[order]
        ng = starts.size
        dcount = np.bincount(group, weights=ev, minlength=ng).astype(np.float64)
        sub_ptr = np.concatenate(
            (np.stack((starts, starts + dcount.astype(np.intp)), axis=1).ravel(), [n])
        ).astype(np.intp)
        sub_of = (2 * group + (ev == 0)).astype(np.intp)
    gstratum = np.zeros(ng, dtype=np.intp) if s is None else s[order[starts]]
    newst = np.empty(starts.size, dtype=bool)
    newst[:1] = True
    np.not_equal(gstratum[1:], gstratum[:-1], out=newst[1:])
    st_first = np.flatnonzero(newst)
    gstart = st_first[np.cumsum(newst) - 1].astype(np.intp)
    if weights is None:
        # unit weights: a read-only view of one 1.0 (the products with it are the same; no
        # n-sized array held by every layout)
        w = np.broadcast_to(np.float64(1.0), (n,))
        dweight = dcount.copy()
    else:
        w = np.asarray(weights, dtype=np.float64)[order]
        dweight = np.bincount(group, weights=ev * w, minlength=ng).astype(np.float64)
    gwith = np.flatnonzero(dcount > 0).astype(np.intp)
    wdeath = ev if weights is None else w * ev
    entry = row0 = None
    if sinv is not None:
        entry, row0 = _entry_groups(key[order[starts]] // 2, s, sinv, k, gstratum, order, starts)

    # blocks of ~_BLOCK rows that start at a sub-block boundary, so each sub-block
    # sum is one reduceat inside one block
    nz = np.flatnonzero(sub_ptr[1:] > sub_ptr[:-1]).astype(np.intp)
    nz_start = sub_ptr[nz]
    blocks = [
        (a, b, (nz_start[i0:i1] - a).astype(np.intp), nz[i0:i1])
        for i0, i1, a, b in _cuts(nz_start, n, _BLOCK)
    ]
    return Layout(
        time=time,
        event=event,
        strata=strata,
        weights=weights,
        start=start,
        ties=ties,
        order=order,
        group=group,
        starts=starts,
        sub_ptr=sub_ptr,
        sub_of=sub_of,
        ev=ev,
        dcount=dcount,
        gstratum=gstratum,
        gstart=gstart,
        gtime=np.asarray(time, dtype=np.float64)[order[starts]],
        w=w,
        dweight=dweight,
        gwith=gwith,
        wdeath=wdeath,
        entry=entry,
        row0=row0,
        blocks=tuple(blocks),
        **_tie_rows(gwith, dcount, dweight, ties),
    )


def _cuts(starts: I, total: int, size: int) -> list[tuple[int, int, int, int]]:
    """Runs of ``starts`` (ascending unit starts among ``total`` rows) of about ``size``
    rows each: ``(i0, i1, a, b)`` for the units ``i0:i1``, which cover rows ``a:b``."""
    cuts = np.unique(np.searchsorted(starts, np.arange(0, total, size)))
    cuts = cuts[cuts < starts.size]
    out = []
    for i, i0 in enumerate(cuts):
        i1 = int(cuts[i + 1]) if i + 1 < cuts.size else starts.size
        b = int(starts[i1]) if i1 < starts.size else total
        out.append((int(i0), i1, int(starts[i0]), b))
    return out


def _tie_fields(lay: Layout) -> dict[str, Any]:
    """The fields of :class:`CoxData` that depend on the tie rule, from its layout."""
    return {
        "ties": lay.ties,
        "erow_group": lay.erow_group,
        "erow_f": lay.erow_f,
        "erow_mult": lay.erow_mult,
        "erow_starts": lay.erow_starts,
        "erow_gid": lay.gwith,
        "erow_count": lay.erow_count,
        "erow_gmult": lay.erow_gmult,
        "erow_chunks": lay.echunks,
    }


def _tie_rows(gwith: I, dcount: F, dweight: F, ties: str) -> dict[str, Any]:
    """The expanded tie rows of ``ties`` (:class:`Layout`'s ``erow_*`` fields) and their
    chunks for :func:`_tie_sums`, from the event groups ``gwith`` and the groups' deaths."""
    if ties == "breslow":
        erow_group = gwith
        erow_f = np.zeros(gwith.size)
        erow_mult = dweight[gwith]
        erow_starts = np.arange(gwith.size, dtype=np.intp)
    else:
        d = dcount[gwith].astype(np.intp)
        erow_group = np.repeat(gwith, d)
        first = np.cumsum(d) - d
        kk = np.arange(erow_group.size) - np.repeat(first, d)
        erow_f = kk / np.repeat(d, d).astype(np.float64)
        erow_mult = np.repeat(dweight[gwith] / d, d)
        erow_starts = first.astype(np.intp)

    # chunks of whole event groups, ~_ECHUNK expanded rows each, for _tie_sums
    nrow = erow_group.size
    erow_count = np.diff(erow_starts, append=nrow).astype(np.intp)
    echunks = [
        (i0, i1, r_a, r_b, (erow_starts[i0:i1] - r_a).astype(np.intp))
        for i0, i1, r_a, r_b in _cuts(erow_starts, nrow, _ECHUNK)
    ]
    return {
        "erow_group": erow_group,
        "erow_f": erow_f,
        "erow_mult": erow_mult,
        "erow_starts": erow_starts,
        "erow_count": erow_count,
        "erow_gmult": erow_mult[erow_starts] if nrow else np.zeros(0),
        "echunks": tuple(echunks),
    }


def prepare(
    x: F,
    time: F,
    event: NDArray[np.bool_] | F,
    *,
    strata: I | None = None,
    weights: F | None = None,
    ties: str = "efron",
    standardise: bool = False,
    start: F | None = None,
    layout: Layout | None = None,
) -> CoxData:
    """Sort once and build the tie groups; ``strata`` holds integer codes.

    ``start`` (counting-process data): the rows' entry times, each below its
    ``time`` (the caller checks); the row is at risk on ``(start, time]``.

    With ``standardise=True`` the sorted copy is centred about a pivot (the
    first row, exact for integers even after a +1e12 shift), then about the
    (weighted) mean, and divided by the mean absolute deviation (1 for a
    constant column) — the scaling :func:`cox.cox_fit` uses — in the same
    blocked passes as the sort; ``center``, ``scale``, ``raw_scale`` and the
    Gram matrix ``gram`` of the result are filled.

    ``layout``: :func:`risk_set_layout` of these rows and ties, computed before (the
    caller checks that it belongs to them, :meth:`Layout.matches`); the arguments
    ``time`` … ``start`` are then taken from it. The layout remembers the last design
    prepared on it (weakly: while the data made live) in its ``cache``, which a layout of
    the other tie rule made ``like`` it shares: the same array ``x`` (not changed in between)
    prepared again on the same sort gets the same sorted design, not a new copy of it (the
    Efron and Breslow fits of one model).
    """
    lay = (
        layout
        if layout is not None
        else risk_set_layout(time, event, strata=strata, weights=weights, ties=ties, start=start)
    )
    asked = standardise  # (the small-data path below standardises first, then sorts)
    if layout is not None:
        got = _shared_design(lay, x, asked)
        if got is not None:
            return got
    weights = lay.weights
    order, w, wdeath, sub_ptr = lay.order, lay.w, lay.wdeath, lay.sub_ptr
    blocks = lay.blocks
    n = order.size
    ng = lay.starts.size

    # the sorted design, transposed (p, n), built block by block in cache
    xin = np.asarray(x, dtype=np.float64)
    if xin.ndim == 1:
        xin = xin[:, None]
    p = xin.shape[1]
    xt = np.empty((p, n))
    center = scale = raw_scale = gram = None
    small = n < _SMALL_N
    if standardise and small:
        # small data: centre and scale in the original row order, then sort (the
        # arithmetic of the small-data path is kept operation for operation)
        piv = xin[0].copy() if n else np.zeros(p)
        xs = xin - piv
        mean0 = (xs.sum(axis=0) if weights is None else np.asarray(weights) @ xs) / (
            n if weights is None else float(np.sum(weights))
        )
        xs -= mean0
        raw_scale = np.abs(xs).mean(axis=0) if n else np.zeros(p)
        scale = np.where(raw_scale == 0, 1.0, raw_scale)
        xs /= scale
        center = piv + mean0
        gram = xs.T @ xs
        xin = xs
        standardise = False
    # Pass 1: gather the rows in sorted order, transposed (minus the pivot).
    # (np.take into a small row-major buffer, then an in-cache transpose: ~2x faster
    # than fancy indexing straight into the strided destination)
    pivot = xin[0].copy() if (standardise and n) else None
    acc = np.zeros(p)
    if xin.flags.f_contiguous and not xin.flags.c_contiguous:
        # a design held column by column (the quick commands build it so): each
        # column gathered straight into its sorted row of xt, no row-major copy
        for j in range(p):
            np.take(xin[:, j], order, out=xt[j], mode="clip")
        if pivot is not None:
            xt -= pivot[:, None]
            for a in range(0, n, _GATHER):  # the row-major path's blocked sums, exactly
                c = xt[:, a : a + _GATHER]
                acc += c.sum(axis=1) if weights is None else c @ w[a : a + _GATHER]
    else:
        xin = np.ascontiguousarray(xin)
        rows = np.empty((min(n, _GATHER), p))
        for a in range(0, n, _GATHER):
            b = min(a + _GATHER, n)
            # order is a permutation: mode="clip" skips the bounds check, and with out= the
            # default mode="raise" would also write through a temporary buffer (30% slower)
            buf = np.take(xin, order[a:b], axis=0, out=rows[: b - a], mode="clip")
            c = xt[:, a:b]
            c[...] = buf.T
            if pivot is not None:
                c -= pivot[:, None]
                acc += c.sum(axis=1) if weights is None else c @ w[a:b]
    # Pass 2: centre (standardise) and accumulate what does not need the scale: the mean
    # absolute deviation, the Gram matrix and the deaths' sums of x per tie group.
    mean = acc / (n if weights is None else w.sum()) if pivot is not None else None
    absdev = np.zeros(p)
    gram_u = np.zeros((p, p))
    wdx_g = np.zeros((ng, p))
    for a, b, loc, ids in blocks:
        c = xt[:, a:b]
        if mean is not None:
            c -= mean[:, None]
            absdev += np.abs(c).sum(axis=1)
            gram_u += c @ c.T
        even = (ids % 2) == 0  # death sub-blocks
        if np.any(even):
            wsum = np.add.reduceat(c * wdeath[a:b], loc, axis=1).T
            wdx_g[ids[even] // 2] = wsum[even]
    if pivot is not None and mean is not None:
        raw_scale = absdev / n if n else np.zeros(p)
        scale = np.where(raw_scale == 0, 1.0, raw_scale)
        center = pivot + mean
        # Pass 3: scale; the sums above are rescaled instead of recomputed
        for a, b, _, _ in blocks:
            xt[:, a:b] /= scale[:, None]
        gram = gram_u / np.outer(scale, scale)
        wdx_g /= scale
    wdx = wdx_g.sum(axis=0)

    data = CoxData(
        **_tie_fields(lay),
        # small data keep a row-major copy for the row-wise small-data path
        x=np.ascontiguousarray(xt.T) if small else xt.T,
        event=lay.ev,
        weight=w,
        order=order,
        group=lay.group,
        starts=lay.starts,
        gstratum=lay.gstratum,
        gstart=lay.gstart,
        gtime=lay.gtime,
        dcount=lay.dcount,
        dweight=lay.dweight,
        sub_ptr=sub_ptr,
        sub_of=lay.sub_of,
        wdeath=wdeath,
        xt=xt,
        wdx=wdx,
        wdx_g=wdx_g,
        blocks=blocks,
        center=center,
        scale=scale,
        raw_scale=raw_scale,
        gram=gram,
        entry=lay.entry,
        row0=lay.row0,
        layout=lay,
    )
    if layout is not None:
        lay.cache["design"] = _LastDesign(x, data, asked)
    return data


class _LastDesign:
    """The last design :func:`prepare` made on a layout's sort, held weakly (the design and
    its data); a pickled copy holds none (results are sent between processes)."""

    __slots__ = ("data", "standardise", "x")

    def __init__(self, x: Any = None, data: CoxData | None = None, standardise: bool = False):
        self.x = None if x is None else weakref.ref(x)
        self.data = None if data is None else weakref.ref(data)
        self.standardise = standardise

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (_LastDesign, ())


def _shared_design(lay: Layout, x: F, standardise: bool) -> CoxData | None:
    """The data :func:`prepare` made last on ``lay``'s sort (:meth:`Layout.cache`) when it
    was of this same array ``x`` (and ``standardise``) and is still alive, with the tie rows
    of ``lay``: its sorted design depends on the sort only, not on the tie rule."""
    got = lay.cache.get("design")
    if got is None or got.x is None or got.data is None:
        return None
    old = got.data()
    if old is None or got.x() is not x or got.standardise != standardise:
        return None
    if old.order is not lay.order:
        return None
    return replace(old, **_tie_fields(lay), layout=lay)


def _entry_groups(
    gkey: NDArray[np.int64],
    s: I | None,
    sinv: I,
    k: int,
    gstratum: I,
    order: I,
    starts: I,
) -> tuple[I, I]:
    """Entry group of each sorted row and the first sorted row of each group's stratum.

    ``gkey`` is the groups' sort key ``stratum·k + (k − 1 − time index)`` (ascending);
    a row with start index ``si`` is not at risk at groups of its stratum with time
    index ≤ ``si``, the first of which is ``searchsorted(gkey, stratum·k + k − 1 − si)``.
    A result outside the row's stratum (no group that early) becomes ``n_groups``.
    """
    ng = gkey.size
    ekey = (k - 1 - sinv.astype(np.int64)) + (0 if s is None else s.astype(np.int64) * k)
    eg = np.searchsorted(gkey, ekey[order], side="left").astype(np.intp)
    row_st = np.zeros(order.size, dtype=np.intp) if s is None else s[order]
    inside = eg < ng
    inside[inside] = gstratum[eg[inside]] == row_st[inside]
    eg[~inside] = ng
    # first sorted row of each stratum, per group (groups and rows are stratum-contiguous)
    newst = np.ones(ng, dtype=bool)
    newst[1:] = gstratum[1:] != gstratum[:-1]
    first_group = np.flatnonzero(newst)
    row0 = starts[first_group][np.cumsum(newst) - 1].astype(np.intp)
    return eg, row0


def _stratum_bounds(gstart: I) -> tuple[I, I]:
    """First and one-past-last group index of each stratum (groups are stratum-contiguous)."""
    ng = gstart.shape[0]
    firsts = np.flatnonzero(np.concatenate(([True], gstart[1:] != gstart[:-1])))
    return firsts, np.concatenate((firsts[1:], [ng])).astype(np.intp)


def _segmented_cumsum(v: F, gstart: I, reverse: bool) -> F:
    """Cumulative sum within each stratum, forward or from the stratum's end.

    Each stratum is summed on its own, never as a difference of global running sums
    (``total − running``): that difference cancels catastrophically when some terms
    are many orders of magnitude below others — as in the earliest risk sets when a
    coefficient runs off to infinity (it gave a score with a relative error of 1e-5
    at β = 14 in a 4-patient series, and a Newton path that left R's).
    """
    ng = v.shape[0]
    if ng == 0:
        return np.empty_like(v, dtype=np.float64)
    if gstart[-1] == 0:  # one stratum
        return np.cumsum(v[::-1], axis=0)[::-1] if reverse else np.cumsum(v, axis=0)
    firsts: I = np.flatnonzero(np.concatenate(([True], gstart[1:] != gstart[:-1])))
    lengths: I = np.diff(np.concatenate((firsts, [ng]))).astype(np.intp)
    k, width = firsts.size, int(lengths.max())
    if k * width <= 4 * ng:
        # many small strata: one padded (strata × longest) block, summed along rows
        pos: I = np.arange(ng) - np.repeat(firsts, lengths)
        if reverse:
            pos = np.repeat(lengths, lengths) - 1 - pos
        row = np.repeat(np.arange(k), lengths)
        block = np.zeros((k, width, *v.shape[1:]))
        block[row, pos] = v
        np.cumsum(block, axis=1, out=block)
        return np.asarray(block[row, pos])
    out = np.empty_like(v, dtype=np.float64)
    for a, b in zip(firsts, firsts + lengths, strict=True):
        if reverse:
            np.cumsum(v[a:b][::-1], axis=0, out=out[a:b][::-1])
        else:
            np.cumsum(v[a:b], axis=0, out=out[a:b])
    return out


def cumsum_within(v: F, gstart: I) -> F:
    """Cumulative sum along axis 0 restarting at each stratum (groups are stratum-contiguous)."""
    return _segmented_cumsum(v, gstart, reverse=False)


def revcumsum_within(v: F, gstart: I) -> F:
    """Sum over this and later groups of the same stratum."""
    return _segmented_cumsum(v, gstart, reverse=True)


@dataclass(frozen=True)
class GroupSums:
    """Per tie group: ``E0 = Σ w r``, ``E1 = Σ w r x`` over all leaving; ``D0, D1`` over deaths.

    Counting-process data: ``e0``/``e1`` are net of the rows whose entry group this
    is (``E − N``), so that their cumulative sums are the risk-set sums; ``n0`` holds
    the entries' ``Σ w r`` (for the cancellation check of :func:`risk_sums`).
    """

    e0: F
    e1: F
    d0: F
    d1: F
    wr: F
    n0: F | None = None


def _entry_sums(data: CoxData, wr: F) -> tuple[F, F]:
    """Per group, ``Σ w r`` and ``Σ w r x`` over the rows whose entry group it is."""
    assert data.entry is not None
    ng = data.n_groups
    xt = data.xt
    n0 = np.bincount(data.entry, weights=wr, minlength=ng + 1)[:ng]
    n1 = np.empty((ng, xt.shape[0]))
    for j in range(xt.shape[0]):  # one pass per column (p passes, no n x p temporary)
        n1[:, j] = np.bincount(data.entry, weights=wr * xt[j], minlength=ng + 1)[:ng]
    return n0, n1


def _net(data: CoxData, gs: GroupSums) -> GroupSums:
    """Counting-process data: subtract the entries from the per-group sums."""
    if data.entry is None:
        return gs
    n0, n1 = _entry_sums(data, gs.wr)
    return GroupSums(e0=gs.e0 - n0, e1=gs.e1 - n1, d0=gs.d0, d1=gs.d1, wr=gs.wr, n0=n0)


# Counting-process data: a risk set is recomputed directly when the rows already removed
# from the running sum outweigh it by more than this factor (rounding of the running sum
# is then up to ~1e-11 of the risk set; R's agfit4 rebuilds when a sum drops below 1e-9).
_CANCEL = 1e5
# At most this many direct recomputations per evaluation (each costs one pass over a stratum).
_MAX_RESTARTS = 256


def risk_sums(data: CoxData, gs: GroupSums) -> tuple[F, F]:
    """Risk-set sums ``R0 = Σ w r`` and ``R1 = Σ w r x`` at every tie group.

    Cumulative sums of the per-group sums within strata. Counting-process data:
    the running sum adds rows at their stop time and removes them at their start
    time; where the removed weight exceeds ``_CANCEL`` times the risk set at an event
    time, that risk set is summed directly over its rows and the cumulative sum
    restarts from the exact value (see the module docstring).
    """
    r0 = cumsum_within(gs.e0, data.gstart)
    r1 = cumsum_within(gs.e1, data.gstart)
    if data.entry is None or gs.n0 is None:
        return r0, r1
    gone = cumsum_within(gs.n0, data.gstart)
    events = data.dcount > 0
    firsts, ends = _stratum_bounds(data.gstart)
    assert data.row0 is not None
    restarts = 0
    while restarts < _MAX_RESTARTS:
        bad = np.flatnonzero(events & (gone > _CANCEL * np.abs(r0)))
        if bad.size == 0:
            break
        g = int(bad[0])
        restarts += 1
        a = int(data.row0[g])
        b = int(data.starts[g + 1]) if g + 1 < data.n_groups else data.x.shape[0]
        at = data.entry[a:b] > g
        wr = gs.wr[a:b][at]
        r0[g] = wr.sum()
        r1[g] = data.xt[:, a:b][:, at] @ wr
        gone[g] = 0.0
        e = int(ends[np.searchsorted(firsts, g, side="right") - 1])
        if g + 1 < e:
            r0[g + 1 : e] = r0[g] + np.cumsum(gs.e0[g + 1 : e])
            r1[g + 1 : e] = r1[g] + np.cumsum(gs.e1[g + 1 : e], axis=0)
            gone[g + 1 : e] = np.cumsum(gs.n0[g + 1 : e])
    return r0, r1


def _block_sums(data: CoxData, beta: F | None, eta: F | None) -> tuple[GroupSums, F]:
    """η (if not given), ``w·r`` and the per-sub-block sums of ``w·r`` and ``w·r·x``.

    One blocked pass over ``xt``: each block of columns is read from memory once
    (for ``η = βᵀx`` and the weighted sums) and the ``p × block`` product stays
    in cache; the sub-block sums are ``reduceat`` over the block's sub-blocks.
    β = 0 costs no ``exp`` (r = 1).
    """
    xt = data.xt
    p, n = xt.shape
    ng = data.n_groups
    sub0 = np.zeros(2 * ng)
    sub1 = np.zeros((2 * ng, p))
    zero = eta is None and beta is not None and not np.any(beta)
    if eta is None:
        eta = np.zeros(n) if zero else np.empty(n)
    wr = data.weight.copy() if zero else np.empty(n)
    buf = np.empty((p, min(n, 2 * _BLOCK) if data.blocks else 0))
    for a, b, loc, ids in data.blocks:
        xc = xt[:, a:b]
        if not zero:
            if beta is not None:
                np.dot(beta, xc, out=eta[a:b])
            np.exp(eta[a:b], out=wr[a:b])
            wr[a:b] *= data.weight[a:b]
        wc = wr[a:b]
        m = b - a
        tmp = np.multiply(xc, wc, out=buf[:, :m]) if m <= buf.shape[1] else xc * wc
        sub0[ids] = np.add.reduceat(wc, loc)
        sub1[ids] = np.add.reduceat(tmp, loc, axis=1).T
    d0 = sub0[0::2]
    d1 = sub1[0::2]
    return GroupSums(e0=d0 + sub0[1::2], e1=d1 + sub1[1::2], d0=d0, d1=d1, wr=wr), eta


def _row_path(data: CoxData) -> bool:
    """Row-wise objective: small data (as prepared) or nearly one tie group per row."""
    n = data.x.shape[0]
    small = data.x.flags.c_contiguous and n < _SMALL_N
    return small or data.n_groups > _ROWS_GROUP_FRACTION * n


def group_sums(data: CoxData, eta: F) -> GroupSums:
    """The per-distinct-time aggregation (the separable step), at a given ``η = Xβ``.

    Blocked over cache-sized column blocks of the transposed design; O(n·p)
    without an n×p temporary.
    """
    if _row_path(data):
        return _net(data, _group_sums_rows(data, eta))
    return _net(data, _block_sums(data, None, np.ascontiguousarray(eta, dtype=np.float64))[0])


def _group_sums_rows(data: CoxData, eta: F) -> GroupSums:
    """Row-wise group sums (small data)."""
    r = np.exp(eta)
    wr = data.weight * r
    ng = data.n_groups
    sub = np.bincount(data.sub_of, weights=wr, minlength=2 * ng)
    d0 = sub[0::2]
    e0 = d0 + sub[1::2]
    n, p = data.x.shape
    if n >= _SMALL_N and data.xt is not None:
        # large data with nearly one group per row: sub-block sums as one sparse
        # block-indicator product per column of the design (rows of xt are contiguous)
        from scipy.sparse import csr_matrix

        ind = csr_matrix((wr, np.arange(n), data.sub_ptr), shape=(2 * ng, n))
        m1 = np.empty((2 * ng, p), order="F")
        for j in range(p):
            m1[:, j] = ind @ data.xt[j]
        d1c = m1[0::2]
        return GroupSums(e0=e0, e1=d1c + m1[1::2], d0=d0, d1=d1c, wr=wr)
    e1 = np.add.reduceat(data.x * wr[:, None], data.starts, axis=0) if ng else np.zeros((0, p))
    d1 = np.stack(
        [
            np.bincount(data.sub_of, weights=wr * data.x[:, j], minlength=2 * ng)[0::2]
            for j in range(p)
        ],
        axis=1,
    ).reshape(ng, p)
    return GroupSums(e0=e0, e1=e1, d0=d0, d1=d1, wr=wr)


def _evaluate_rows(data: CoxData, beta: F, information: bool) -> Objective:
    """:func:`evaluate` row by row on the row-major copy (small data)."""
    eta = data.x @ beta
    gs = _net(data, _group_sums_rows(data, eta))
    r1 = None
    if data.entry is None:
        r0 = cumsum_within(gs.e0, data.gstart)
    else:
        r0, r1 = risk_sums(data, gs)
    g = data.erow_group
    f = data.erow_f
    m = data.erow_mult
    ng = data.n_groups
    den = r0[g] - f * gs.d0[g]
    wd = data.wdeath
    loglik = float(wd @ eta - m @ np.log(den))
    mden = m / den
    c1 = np.bincount(g, weights=mden, minlength=ng)
    big_c = revcumsum_within(c1, data.gstart)
    vsub = np.repeat(big_c, 2)
    if data.ties == "efron":
        c2 = np.bincount(g, weights=mden * f, minlength=ng)
        vsub[0::2] -= c2
    if data.entry is None:
        v = gs.wr * vsub[data.sub_of]
    else:
        v = _entry_row_weights(data, gs.wr, c1, c2 if data.ties == "efron" else None)
    score = (wd - v) @ data.x
    info: F | None = None
    if information:
        if r1 is None:
            r1 = cumsum_within(gs.e1, data.gstart)
        sv = np.sqrt(np.maximum(v, 0.0))
        xs = data.x * sv[:, None]
        info = xs.T @ xs
        mden2 = mden / den
        q0 = np.bincount(g, weights=mden2, minlength=ng)
        info -= (r1 * q0[:, None]).T @ r1
        if data.ties == "efron":
            q1 = np.bincount(g, weights=mden2 * f, minlength=ng)
            q2 = np.bincount(g, weights=mden2 * f * f, minlength=ng)
            cross = (r1 * q1[:, None]).T @ gs.d1
            info += cross + cross.T
            info -= (gs.d1 * q2[:, None]).T @ gs.d1
    return Objective(loglik=loglik, score=score, information=info, sums=gs)


def interval_sums(data: CoxData, vals: F, big: F | None = None, sub: F | None = None) -> F:
    """Per sorted row, ``Σ vals_h`` over the groups of its own interval (counting-process data).

    The groups from the row's stop-time group ``g`` up to (not including) its entry group
    ``k`` (all later groups of the stratum when it has none). Either as ``Rev[g] − Rev[k]``
    (``Rev``: sums over this and earlier times) or as ``Fwd[k−1] − Fwd[g] + vals[g]``
    (``Fwd``: sums over this and later times), whichever subtracts the smaller total,
    so that a hazard that is large before the row's entry (or after its exit) does not
    swamp the small hazard inside the interval (e.g. late intervals of rows with huge
    risk scores). ``big`` (per group, ≥ 0) measures the totals when ``vals`` is signed
    or a matrix; default ``vals``. ``sub`` (per group, 1-d ``vals`` only) is subtracted
    for the deaths of the group (Efron's ``c2``).

    Four gathers per row: two by the stop-time group (per sub-block of deaths and
    censorings), two by the entry group from arrays padded for "no entry group".
    """
    assert data.entry is not None
    ng = data.n_groups
    k = data.entry
    rev = revcumsum_within(vals, data.gstart)
    fwd = cumsum_within(vals, data.gstart)
    matrix = vals.ndim > 1
    tail = np.zeros((1, *vals.shape[1:]))
    # rev form: rev[g] - rev_pad[k]; fwd form: fwd_pad[k] + (vals[g] - fwd[g]), with
    # fwd_pad[k] = fwd[k - 1] (k >= 1 always: the entry group follows the stop group)
    rev_pad = np.concatenate((rev, tail))
    fwd_pad = np.concatenate((tail, fwd))
    if big is None:
        mrev, mfwd_pad = rev, fwd_pad
    else:
        mrev = revcumsum_within(big, data.gstart)
        mfwd_pad = np.concatenate(([0.0], cumsum_within(big, data.gstart)))
    mfwd_pad = mfwd_pad.copy()
    mfwd_pad[ng] = np.inf  # no entry group: always the rev form
    if matrix:
        grp = data.group
        use_fwd = mfwd_pad[k] < mrev[grp]
        return np.where(use_fwd[:, None], fwd_pad[k] + (vals - fwd)[grp], rev[grp] - rev_pad[k])
    # per sub-block (2g: deaths, 2g + 1: censorings), so Efron's c2 costs no extra pass
    a_sub = np.repeat(rev, 2)
    b_sub = np.repeat(vals - fwd, 2)
    m_sub = np.repeat(mrev, 2)
    if sub is not None:
        a_sub[0::2] -= sub
        b_sub[0::2] -= sub
    so = data.sub_of
    use_fwd = mfwd_pad[k] < m_sub[so]
    return np.where(use_fwd, fwd_pad[k] + b_sub[so], a_sub[so] - rev_pad[k])


def _entry_row_weights(data: CoxData, wr: F, c1: F, c2: F | None) -> F:
    """``v_i = w_i r_i (Σ_{groups of its interval} c1 − δ_i c2_g)`` (counting-process data)."""
    inside = interval_sums(data, c1, sub=c2)
    inside *= wr
    return inside


def _per_event_group(data: CoxData, rows: F) -> F:
    """Sum the expanded tie rows of each event group into an array over all groups."""
    out = np.zeros(data.n_groups)
    if data.erow_starts.size:
        out[data.erow_gid] = np.add.reduceat(rows, data.erow_starts)
    return out


def _tie_sums(
    data: CoxData, r0: F, d0: F, information: bool, efron: bool
) -> tuple[float, F, F | None, F | None, F | None, F | None]:
    """Per-group sums over the expanded tie rows (one row per death under Efron).

    Returns ``Σ m log den`` and, per group, ``c1 = Σ m/den``, ``c2 = Σ m f/den`` and
    (``information``) ``q_j = Σ m f^j/den²``. ``m`` is constant within a group, so the
    rows are summed without it and multiplied once per group; the rows are processed
    in chunks of whole groups that fit in L2 (3x faster than whole-array passes over
    the ~n expanded rows at n = 10^6).
    """
    ng = data.n_groups
    gid = data.erow_gid
    k = gid.size
    nsum = (5 if efron else 3) if information else (2 if efron else 1)
    sums = np.empty((nsum, k))
    lsum = np.empty(k)
    big_a = r0[gid]
    big_b = d0[gid]
    f_all = data.erow_f
    for i0, i1, a, b, loc in data.erow_chunks:
        reps = data.erow_count[i0:i1]
        den = np.repeat(big_b[i0:i1], reps)
        fa = f_all[a:b]
        den *= fa
        np.subtract(np.repeat(big_a[i0:i1], reps), den, out=den)
        lsum[i0:i1] = np.add.reduceat(np.log(den), loc)
        inv = np.reciprocal(den, out=den)
        sums[0, i0:i1] = np.add.reduceat(inv, loc)
        j = 1
        if efron:
            sums[j, i0:i1] = np.add.reduceat(inv * fa, loc)
            j += 1
        if information:
            inv *= inv
            sums[j, i0:i1] = np.add.reduceat(inv, loc)
            if efron:
                inv *= fa
                sums[j + 1, i0:i1] = np.add.reduceat(inv, loc)
                inv *= fa
                sums[j + 2, i0:i1] = np.add.reduceat(inv, loc)
    mg = data.erow_gmult
    out = np.zeros((nsum, ng))
    out[:, gid] = sums * mg
    logsum = float(mg @ lsum)
    c1 = out[0]
    c2 = out[1] if efron else None
    q0 = q1 = q2 = None
    if information:
        j = 2 if efron else 1
        q0 = out[j]
        if efron:
            q1, q2 = out[j + 1], out[j + 2]
    return logsum, c1, c2, q0, q1, q2


@dataclass(frozen=True)
class Objective:
    """Log partial likelihood, score vector and information matrix at one beta.

    ``sums`` (added) holds the group sums at this beta, for reuse (baseline hazard).
    """

    loglik: float
    score: F
    information: F | None
    sums: GroupSums | None = None


def evaluate(data: CoxData, beta: F, *, information: bool = True) -> Objective:
    """ℓ(β), U(β) = ∂ℓ/∂β and I(β) = −∂²ℓ/∂β∂βᵀ for Efron or Breslow ties.

    Formulas in the module docstring (Therneau & Grambsch 2000, ch. 3; R's
    ``coxfit6``). ``data.x`` is used as given, so ``beta`` is on its scale.

    With ``c1_g = Σ_k m/den_k``, ``c2_g = Σ_k m f_k/den_k``, ``C`` the reverse
    cumulative sum of ``c1`` and ``v_i = w_i r_i (C_g − δ_i c2_g)`` (≥ 0):
    ``U = Σ w δ x − Σ_g (C_g E1_g − c2_g D1_g)`` (from the group sums; no pass over
    the rows) and
    ``I = Xᵀ diag(v) X − Σ_g [q0 R1R1ᵀ − q1 (R1D1ᵀ + D1R1ᵀ) + q2 D1D1ᵀ]``
    with ``q_j = Σ_k m f_k^j / den_k²`` — so the n-sized work is one blocked
    pass for ``η`` and the group sums and, for the information, one blocked
    weighted ``Xᵀ diag(v) X`` (a rank-``block`` update per cache-sized block).
    """
    beta = np.asarray(beta, dtype=np.float64)
    if _row_path(data):
        return _evaluate_rows(data, beta, information)
    gs, eta = _block_sums(data, beta, None)
    r1 = None
    if data.entry is None:
        r0 = cumsum_within(gs.e0, data.gstart)
    else:
        gs = _net(data, gs)
        r0, r1 = risk_sums(data, gs)
    efron = data.ties == "efron"
    logsum, c1, c2, q0, q1, q2 = _tie_sums(data, r0, gs.d0, information, efron)
    # Σ w δ η row by row (as coxfit6): with a coefficient running off to infinity the
    # profile fits stop on ℓ changes of 1e-14, so ℓ's rounding must not depend on p
    loglik = float(data.wdeath @ eta - logsum)
    big_c = revcumsum_within(c1, data.gstart)
    v_rows = None
    if data.entry is None:
        # per group first (the deaths' own x minus their expected share), then over groups:
        # differences of two whole-data totals would lose digits when β is large
        ug = data.wdx_g - big_c[:, None] * gs.e1
        if c2 is not None:
            ug += c2[:, None] * gs.d1
        score = ug.sum(axis=0)
    else:
        # counting-process rows: per row (entries and exits of huge risk scores would
        # cancel in per-group sums), one pass over the contiguous rows of xt
        v_rows = _entry_row_weights(data, gs.wr, c1, c2)
        score = data.xt @ (data.wdeath - v_rows)
    info: F | None = None
    if information:
        # block 2g (deaths) gets C_g − c2_g, block 2g + 1 (censored) gets C_g
        vsub = np.repeat(big_c, 2)
        if c2 is not None:
            vsub[0::2] -= c2
        xt = data.xt
        p = xt.shape[0]
        info = np.zeros((p, p))
        buf = np.empty((p, min(xt.shape[1], 2 * _BLOCK) if data.blocks else 0))
        for a, b, _, _ in data.blocks:
            if v_rows is not None:
                sv = v_rows[a:b].copy()
            else:
                sv = vsub[data.sub_of[a:b]]
                sv *= gs.wr[a:b]
            np.maximum(sv, 0.0, out=sv)
            np.sqrt(sv, out=sv)
            mm = b - a
            xs = (
                np.multiply(xt[:, a:b], sv, out=buf[:, :mm])
                if mm <= buf.shape[1]
                else xt[:, a:b] * sv
            )
            info += xs @ xs.T
        if r1 is None:
            r1 = cumsum_within(gs.e1, data.gstart)
        assert q0 is not None
        info -= (r1 * q0[:, None]).T @ r1
        if q1 is not None and q2 is not None:
            cross = (r1 * q1[:, None]).T @ gs.d1
            info += cross + cross.T
            info -= (gs.d1 * q2[:, None]).T @ gs.d1
    return Objective(loglik=loglik, score=score, information=info, sums=gs)


def score_residuals(data: CoxData, beta: F) -> F:
    """Per-subject (weighted) score residuals in sorted order; they sum to U(β).

    Subject j: ``δ_j w_j (x_j − ā_j) − w_j r_j Σ_{t_g ≤ t_j} Σ_k h_gk (x_j − a_gk)``
    with ``h_gk = m/den_k``; under Efron a death shares its own time's
    increments with weight ``1 − f_k`` (and ``ā`` is the mean of ``a_k``).
    These give R's ``residuals(fit, type="score")`` (times the case weight).
    """
    eta = data.x @ beta
    gs = group_sums(data, eta)
    r0, r1 = risk_sums(data, gs)
    g = data.erow_group
    f = data.erow_f
    m = data.erow_mult
    ng = data.n_groups
    p = data.x.shape[1]
    den = r0[g] - f * gs.d0[g]
    a = (r1[g] - f[:, None] * gs.d1[g]) / den[:, None]
    h = m / den
    h1 = np.bincount(g, weights=h, minlength=ng)
    ha1 = np.stack([np.bincount(g, weights=h * a[:, j], minlength=ng) for j in range(p)], axis=1)
    # cumulative over groups with time <= t: this and later groups (time descending)
    hc = revcumsum_within(h1, data.gstart)
    hac = revcumsum_within(ha1.reshape(ng, p), data.gstart)
    grp = data.group
    x = data.x
    big_h: F = hc[grp]
    big_ha: F = hac[grp]
    if data.entry is not None:  # only the increments inside the row's own interval
        big_h = interval_sums(data, h1)
        big_ha = interval_sums(data, ha1.reshape(ng, p), big=h1)
    ev = data.event
    if data.ties == "efron":
        h2 = np.bincount(g, weights=h * (1 - f), minlength=ng)
        ha2 = np.stack(
            [np.bincount(g, weights=h * (1 - f) * a[:, j], minlength=ng) for j in range(p)], axis=1
        )
        cnt = np.bincount(g, minlength=ng).astype(np.float64)
        cnt[cnt == 0] = 1.0
        abar: F = (
            np.stack([np.bincount(g, weights=a[:, j], minlength=ng) for j in range(p)], axis=1)
            / cnt[:, None]
        )
        big_h = big_h - ev * (h1 - h2)[grp]
        big_ha = big_ha - ev[:, None] * (ha1 - ha2)[grp]
    else:
        abar = np.zeros((ng, p))
        nz = r0 > 0
        abar[nz] = r1[nz] / r0[nz, None]
    wd = (data.weight * ev)[:, None]
    return wd * (x - abar[grp]) - gs.wr[:, None] * (x * big_h[:, None] - big_ha)

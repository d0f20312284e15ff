"""Harrell's concordance of a Cox fit, with an infinitesimal-jackknife standard error.

Estimator. A pair (i, j) in the same stratum is comparable when the shorter
time is an event (a censoring tied with an event counts as the longer time; two
events at the same time are a tie in y and are not counted). It is concordant
when the earlier failure has the larger risk score; ties in the score count one
half. With case weights a pair counts ``w_i·w_j`` (R's ``timewt = "n"``)::

    C = (concordant + tied_x / 2) / (concordant + discordant + tied_x)

Standard error: the infinitesimal jackknife, as R's ``concordance()``
(survival >= 3.0) reports it: ``var = Σ_k (w_k ∂C/∂w_k)²`` with
``w_k ∂C/∂w_k = w_k (N_k − C·D_k) / D`` where ``N_k`` is the weighted
concordance score (concordant + tied/2) of the pairs that involve subject k,
``D_k`` the weighted number of comparable pairs that involve k and ``D`` the
total; with clusters the influences are summed within each cluster first.

Grouped records (``weights_sq``). A data engine hands over one record per
distinct (stratum, time, event, covariates[, cluster]) with the rows' weight
sum ``W = Σ w_i`` and ``W2 = Σ w_i²``. C and the concordant/discordant/tied_x
counts are bilinear in the weights, so ``W`` gives the rows' values. Two things
are not: (1) pairs *inside* a record (tied in time and score) — counted in
``tied_y``/``tied_xy`` as ``(W² − W2)/2``, so the within-record pairs need
``W2``; (2) the IJ variance: every row i of a record has the same
``N_i − C·D_i = a`` (its partners are outside the record), so the rows
contribute ``Σ (w_i a)² = W2·a²``, whereas a single record of case weight
``W`` contributes ``W²·a²`` — R's case weights are *not* replication. With
``weights_sq`` the variance is ``Σ_records W2·a²`` and equals the rows'.
With ``cluster`` a record must lie within one cluster (engines group by it);
its influence ``W·a`` is then summed in the cluster as for rows.
Reference: Therneau & Atkinson, "Concordance", vignette of the R survival
package; Harrell, Lee & Mark (1996), Stat Med 15:361-387.

Algorithm, O(n log K) time and O(n + K) memory (K = distinct values of the
key with fewer of them, scores or times): every quantity above is a sum over
a quadrant ``{j: a_j < a_k, b_j < b_k}`` of two integer codes (time order and
score rank), or a one-dimensional sum. The quadrant sums for all k at once are
computed by a most-significant-bit-first radix partition (:func:`_dominance`):
at bit level ℓ the subjects are stably ordered by the bits of ``b`` above ℓ
and by ``a``; within such a block, a subject whose bit ℓ is 1 dominates every
earlier subject whose bit ℓ is 0 — a running sum. Each level is a handful of
vectorised passes over cache-sized chunks of the sequence; the pairs in
different chunks are counted at once in a (chunk × code) table of
two-dimensional running sums when the codes are few (whole-day times), else
large blocks are first split on their top bit. With whole-number weights (unit
weights; the ±1 of the entry records of interval data) a subject's code,
weights and position travel in one 64-bit word and both sums in another, so a
level moves two arrays. Nothing is quadratic, so concordance is computed for
any n. The sort orders are shared: one argsort of the scores, radix sorts for
the time codes, and a stable sort of nearly sorted (score, time) keys. Pairs
tied in the score are summed once (they are both the sweep's correction and
``tied_x``). At n = 10^6 rows with whole-day times this takes about 0.3 s
(right-censored, 10^6 rows) and 0.8 s ((start, stop] data: 10^6 rows plus
0.66·10^6 entry records) on a 2-core machine, against 2-7 s for R's
``concordance()`` (benchmarks/RESULTS-concordance.md, RESULTS-timedep.md). The
pairwise definition is kept as a test oracle (tests/stats/test_concordance.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from survstudy.stats._common import clean_float, codes, row_dot
from survstudy.stats.riskset import TIE_TOLERANCE, distinct_times

__all__ = ["Concordance", "concordance", "concordance_from_fit"]

F = NDArray[np.float64]
Ints = NDArray[np.int64]
Codes = NDArray[np.signedinteger[Any]]  # integer codes of any width


@dataclass(frozen=True)
class Concordance:
    """Harrell's C with its infinitesimal-jackknife standard error and (weighted) pair counts.

    The counts are R's ``concordance()$count``: concordant, discordant, tied in
    the score only (``tied_x``), tied in time only (``tied_y``), tied in both
    (``tied_xy``).
    """

    c: float
    se: float
    concordant: float
    discordant: float
    tied_x: float
    tied_y: float
    tied_xy: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "c": clean_float(self.c),
            "se": clean_float(self.se),
            "concordant": self.concordant,
            "discordant": self.discordant,
            "tied_x": self.tied_x,
            "tied_y": self.tied_y,
            "tied_xy": self.tied_xy,
        }


def _dense(v: NDArray[Any], order: Ints | None = None) -> tuple[Ints, int, Ints]:
    """Dense ranks 0..K-1 of ``v`` (equal values share a rank), K, and an order sorting ``v``."""
    if order is None:
        order = np.argsort(v)
    if v.size == 0:
        return np.zeros(0, dtype=np.int64), 0, order
    sv = v[order]
    new = np.empty(v.size, dtype=np.int64)
    new[0] = 0
    new[1:] = sv[1:] != sv[:-1]
    np.cumsum(new, out=new)
    out = np.empty(v.size, dtype=np.int64)
    out[order] = new
    return out, int(new[-1]) + 1, order


def _lex(first: Codes, inner: Ints) -> Ints:
    """An order sorting by ``first``, ties kept in the order ``inner`` (a stable sort of ``inner``)."""
    n = inner.size
    k = first[inner]
    top = int(k.max()) if n else 0
    if top < 2**16:  # NumPy's radix sort for 16-bit keys
        return inner[np.argsort(k.astype(np.uint16), kind="stable")]
    if top < 2**62 // max(n, 1):  # unique keys: any sort is stable
        return inner[np.argsort(k * np.int64(n) + np.arange(n))]
    return inner[np.argsort(k, kind="stable")]  # pragma: no cover - astronomically many codes


def _runs(v: NDArray[Any]) -> tuple[NDArray[np.bool_], Ints, Ints]:
    """For sorted ``v``: run-start flags, the run number of each position, and run starts."""
    new = np.ones(v.size, dtype=np.bool_)
    np.not_equal(v[1:], v[:-1], out=new[1:])
    rid = np.cumsum(new, dtype=np.int64)
    rid -= 1
    return new, rid, np.flatnonzero(new)


def _tie_sums(sa: Ints, sb: Ints, wfs: F, wrs: F) -> tuple[F, F]:
    """``Σ_j wf_j [a_j = a_k][b_j < b_k]`` and ``Σ_j wr_j [a_j = a_k][b_j > b_k]`` for every k.

    All arguments are in an order sorting by ``a`` and then ``b``; so are the results.
    """
    n = sa.size
    new_a, rid_a, st_a = _runs(sa)
    new_ab = new_a.copy()
    new_ab[1:] |= sb[1:] != sb[:-1]
    rid_ab = np.cumsum(new_ab, dtype=np.int64)
    rid_ab -= 1
    st_ab = np.flatnonzero(new_ab)
    cf = np.concatenate(([0.0], np.cumsum(wfs)))
    cr = np.concatenate(([0.0], np.cumsum(wrs)))
    end_a = np.append(st_a[1:], n)
    end_ab = np.append(st_ab[1:], n)
    lo = cf[st_ab][rid_ab] - cf[st_a][rid_a]
    hi = cr[end_a][rid_a] - cr[end_ab][rid_ab]
    return lo, hi


def _moved(v: NDArray[Any], pos: NDArray[Any]) -> NDArray[Any]:
    """``v`` rearranged so that element i lands at ``pos[i]``."""
    out = np.empty_like(v)
    out[pos] = v
    return out


# Below this size a block is swept level by level with all its sub-blocks at
# once (it stays in the CPU cache); above it, the top bit splits it in two.
_SMALL = 1 << 15


def _sweep(b: NDArray[Any], wf: NDArray[Any], wr: NDArray[Any], levels: int) -> tuple[F, F]:
    """``Σ_{j<k} wf_j [b_j < b_k]`` and ``Σ_{j>k} wr_j [b_j > b_k]`` for every position k.

    ``b`` are codes < 2^levels in sequence order. A large block is split on its
    top bit: a 1-subject gains the 0-subjects before it, a 0-subject the
    1-subjects after it (running sums); each half keeps its order and is
    swept on the remaining bits.
    """
    n = b.size
    if n < 2 or levels == 0:
        return np.zeros(n), np.zeros(n)
    if n <= _SMALL:
        return _sweep_levels(b, wf, wr, levels)
    n_chunks = -(-n // _SMALL)
    if n_chunks << levels <= _TABLE:
        return _sweep_chunks(b, wf, wr, levels)
    lev = levels - 1
    one = (b >> lev).astype(np.bool_)  # codes < 2^levels: the shifted value is the top bit
    zero = ~one
    acc_f = np.cumsum(wf * zero, dtype=np.float64)
    acc_f *= one
    acc_r = np.cumsum(wr * one, dtype=np.float64)
    np.subtract(acc_r[-1], acc_r, out=acc_r)
    acc_r *= zero
    for half, base in ((np.flatnonzero(zero), 0), (np.flatnonzero(one), 1 << lev)):
        f, r = _sweep(b[half] - base, wf[half], wr[half], lev)
        acc_f[half] += f
        acc_r[half] += r
    return acc_f, acc_r


# Largest (chunk × code) table of :func:`_sweep_chunks` (cells).
_TABLE = 1 << 22


def _sweep_chunks(b: NDArray[Any], wf: NDArray[Any], wr: NDArray[Any], levels: int) -> tuple[F, F]:
    """:func:`_sweep` for few codes: cache-sized chunks of the sequence, swept one by one.

    The pairs in different chunks are counted in code space: with ``H[c, b]`` the
    weight of code b in chunk c, a subject of chunk c and code b gains
    ``Σ_{c'<c, b'<b} H_f[c', b']`` forward and ``Σ_{c'>c, b'>b} H_r[c', b']``
    backward (two-dimensional running sums over a table of chunks × codes).
    """
    n = b.size
    size = 1 << levels
    n_chunks = -(-n // _SMALL)
    cells = n_chunks * size
    kdt = np.dtype(np.int32) if cells < 2**31 else np.dtype(np.int64)
    base: NDArray[np.signedinteger[Any]] = np.arange(n_chunks, dtype=kdt)
    base *= size
    key: NDArray[np.signedinteger[Any]] = np.repeat(base, _SMALL)[:n]
    key += b.astype(kdt, copy=False)
    hf = _hist(key, wf, cells).reshape(n_chunks, size)
    hr = _hist(key, wr, cells).reshape(n_chunks, size)
    packed = wf.dtype == np.int8
    if packed:  # every chunk's level tables at once, from the same histograms
        hc = np.bincount(key, minlength=cells).reshape(n_chunks, size)
        offsets, cont_f, cont_r = _code_tables_batch(hc, hf, hr, levels)
        del hc
    # forward: earlier chunks (exclusive running sum down), smaller codes (across);
    # each table is dropped once its sums are gathered (the tables are n-sized)
    cf = np.cumsum(hf, axis=0)
    cf -= hf
    np.cumsum(cf, axis=1, out=hf)
    hf -= cf
    del cf
    acc_f = hf.ravel()[key]
    del hf
    # backward: later chunks, larger codes
    cr = np.cumsum(hr[::-1], axis=0)[::-1]
    cr -= hr
    del hr
    tot = np.cumsum(cr[:, ::-1], axis=1)[:, ::-1]
    tot -= cr
    del cr
    acc_r = tot.ravel()[key]
    del tot, key
    for i, lo in enumerate(range(0, n, _SMALL)):
        sl = slice(lo, lo + _SMALL)
        if packed:
            tab = ([o[i] for o in offsets], cont_f[i], cont_r[i])
            f, r = _sweep_levels_packed(b[sl], wf[sl], wr[sl], levels, tab)
        else:
            f, r = _sweep_levels(b[sl], wf[sl], wr[sl], levels)
        acc_f[sl] += f
        acc_r[sl] += r
    return acc_f, acc_r


def _hist(key: NDArray[Any], weights: NDArray[Any], size: int) -> F:
    """``np.bincount`` with weights (float64), ``size`` bins."""
    return np.bincount(key, weights=weights, minlength=size).astype(np.float64, copy=False)


def _code_tables(
    cur_b: NDArray[np.int32], wf: NDArray[Any], wr: NDArray[Any], levels: int
) -> tuple[list[NDArray[np.int32]], F, F]:
    """Per level, in code space: group starts after the split, and the cross-group running sums."""
    size = 1 << levels
    hc = np.bincount(cur_b, minlength=size)[None, :]
    hf = _hist(cur_b, wf, size)[None, :]
    hr = _hist(cur_b, wr, size)[None, :]
    offsets, cont_f, cont_r = _code_tables_batch(hc, hf, hr, levels)
    return [o[0] for o in offsets], cont_f[0], cont_r[0]


def _code_tables_batch(
    hc: NDArray[Any], hf: F, hr: F, levels: int
) -> tuple[list[NDArray[np.int32]], F, F]:
    """:func:`_code_tables` of several blocks at once from their (block × code) histograms
    of counts, forward and backward weights."""
    nblk = hc.shape[0]
    cont_f = np.zeros(hc.shape)
    cont_r = np.zeros(hc.shape)
    offsets: list[NDArray[np.int32]] = []
    for lev in range(levels):
        cnt = hc.reshape(nblk, -1, 1 << lev).sum(axis=2)
        start = np.cumsum(cnt, axis=1) - cnt
        c0, c1 = cnt[:, 0::2], cnt[:, 1::2]
        start[:, 0::2] -= np.cumsum(c0, axis=1) - c0
        start[:, 1::2] -= np.cumsum(c1, axis=1) - c1
        offsets.append(start.astype(np.int32))
        half_f = hf.reshape(nblk, -1, 2, 1 << lev)[:, :, 0, :].sum(axis=2)
        cont_f.reshape(nblk, -1, 2, 1 << lev)[:, :, 1, :] += (np.cumsum(half_f, axis=1) - half_f)[
            :, :, None
        ]
        half_r = hr.reshape(nblk, -1, 2, 1 << lev)[:, :, 1, :].sum(axis=2)
        cont_r.reshape(nblk, -1, 2, 1 << lev)[:, :, 0, :] += (
            half_r.sum(axis=1, keepdims=True) - np.cumsum(half_r, axis=1)
        )[:, :, None]
    return offsets, cont_f, cont_r


def _sweep_levels_packed(
    b: NDArray[Any],
    wf: NDArray[np.int8],
    wr: NDArray[np.int8],
    levels: int,
    tables: tuple[list[NDArray[np.int32]], F, F] | None = None,
) -> tuple[F, F]:
    """:func:`_sweep_levels` for ``int8`` weights with every subject's state in two words.

    The stable split at each level moves every per-subject array; here those are two
    64-bit words — the code (bits 32 and up), the two weights (bytes 2 and 3) and the
    original position (bits 0-15) in one, the forward and backward sums (two ``int32``
    halves) in the other — so a level costs two scatters instead of six. ``tables``:
    this block's :func:`_code_tables`, computed by the caller.
    """
    n = b.size
    size = 1 << levels
    if tables is None and size > 2 * n + 64:  # sparse codes: renumber densely (order kept)
        uniq, b = np.unique(b, return_inverse=True)
        levels = max(1, (uniq.size - 1).bit_length())
    cur_b = b.astype(np.int32)
    offsets, cont_f, cont_r = _code_tables(cur_b, wf, wr, levels) if tables is None else tables
    attr = cur_b.astype(np.int64) << 32
    attr |= np.arange(n, dtype=np.int64)
    attr |= wf.view(np.uint8).astype(np.int64) << 16
    attr |= wr.view(np.uint8).astype(np.int64) << 24
    acc = np.zeros(n, dtype=np.int64)
    pos_idx = np.arange(n, dtype=np.int64)
    code = np.empty(n, dtype=np.int64)
    one = np.empty(n, dtype=np.bool_)
    zero = np.empty(n, dtype=np.bool_)
    tmp = np.empty(n, dtype=np.int32)
    c0 = np.empty(n, dtype=np.int64)
    for lev in range(levels - 1, -1, -1):
        np.right_shift(attr, 32 + lev, out=code)
        np.not_equal(code & 1, 0, out=one)
        np.logical_not(one, out=zero)
        a8 = attr.view(np.int8)
        a32 = acc.view(np.int32)
        # forward: a 1-subject gains the 0-subjects before it
        np.multiply(a8[2::8], zero, out=tmp)
        np.cumsum(tmp, out=tmp)
        tmp *= one
        a32[0::2] += tmp
        # backward: a 0-subject gains the 1-subjects after it
        np.multiply(a8[3::8], one, out=tmp)
        np.cumsum(tmp, out=tmp)
        np.subtract(tmp[-1], tmp, out=tmp)
        tmp *= zero
        a32[1::2] += tmp
        if lev == 0:
            break
        # stable split: a 0 goes to (zeros before it), a 1 to (ones before it), plus its group start
        np.cumsum(zero, out=c0)
        c0 -= zero
        pos = pos_idx - c0
        pos -= c0
        pos *= one
        pos += c0
        pos += offsets[lev][code]
        attr = _moved(attr, pos)
        acc = _moved(acc, pos)
    src = (attr & 0xFFFF).astype(np.intp)
    fin = (attr >> 32).astype(np.intp)
    a32 = acc.view(np.int32)
    out_f = np.empty(n)
    out_r = np.empty(n)
    out_f[src] = a32[0::2] - cont_f[fin]
    out_r[src] = a32[1::2] - cont_r[fin]
    return out_f, out_r


def _sweep_levels(b: NDArray[Any], wf: NDArray[Any], wr: NDArray[Any], levels: int) -> tuple[F, F]:
    """:func:`_sweep` for a block that fits in cache: every level over all sub-blocks at once.

    At level ℓ the block is ordered by (bits above ℓ, sequence). Running sums
    are taken over the whole block, so a subject also picks up the weight of
    earlier (forward) or later (backward) sub-blocks; that part depends only on
    its code and is computed in code space (``cont_f``, ``cont_r``) and removed.
    After each level a stable split moves every sub-block's 0-half before its
    1-half (``offsets``: where each code group starts).

    Integer weights (``int8``, as the ±1 weights of interval data) are summed in
    ``int32`` — exact, and half the memory traffic of ``float64``.
    """
    n = b.size
    if wf.dtype == np.int8 and n <= 1 << 16:
        return _sweep_levels_packed(b, wf, wr, levels)
    size = 1 << levels
    if size > 2 * n + 64:  # sparse codes: renumber densely (order kept)
        uniq, b = np.unique(b, return_inverse=True)
        levels = max(1, (uniq.size - 1).bit_length())
        size = 1 << levels
    cur_b = b.astype(np.int32)
    offsets, cont_f, cont_r = _code_tables(cur_b, wf, wr, levels)
    adt = np.dtype(np.float64) if wf.dtype == np.float64 else np.dtype(np.int32)
    cur_wf = wf.copy()
    cur_wr = wr.copy()
    acc_f = np.zeros(n, dtype=adt)
    acc_r = np.zeros(n, dtype=adt)
    src = np.arange(n, dtype=np.int32)
    pos_idx = np.arange(n, dtype=np.int32)
    one = np.empty(n, dtype=np.bool_)
    zero = np.empty(n, dtype=np.bool_)
    tmp = np.empty(n, dtype=adt)
    c0 = np.empty(n, dtype=np.int32)
    for lev in range(levels - 1, -1, -1):
        np.not_equal(cur_b & (1 << lev), 0, out=one)
        np.logical_not(one, out=zero)
        # forward: a 1-subject gains the 0-subjects before it
        np.multiply(cur_wf, zero, out=tmp)
        np.cumsum(tmp, dtype=adt, out=tmp)
        tmp *= one
        acc_f += tmp
        # backward: a 0-subject gains the 1-subjects after it
        np.multiply(cur_wr, one, out=tmp)
        np.cumsum(tmp, dtype=adt, out=tmp)
        np.subtract(tmp[-1], tmp, out=tmp)
        tmp *= zero
        acc_r += tmp
        if lev == 0:
            break
        # stable split: a 0 goes to (zeros before it), a 1 to (ones before it), plus its group start
        np.cumsum(zero, dtype=np.int32, out=c0)
        c0 -= zero
        pos = pos_idx - c0
        pos -= c0
        pos *= one
        pos += c0
        pos += offsets[lev][cur_b >> lev]
        cur_b = _moved(cur_b, pos)
        cur_wf = _moved(cur_wf, pos)
        cur_wr = _moved(cur_wr, pos)
        acc_f = _moved(acc_f, pos)
        acc_r = _moved(acc_r, pos)
        src = _moved(src, pos)
    out_f = np.empty(n)
    out_r = np.empty(n)
    out_f[src] = acc_f - cont_f[cur_b]
    out_r[src] = acc_r - cont_r[cur_b]
    return out_f, out_r


def _small_integers(w: F) -> bool:
    """Whole numbers in [-127, 127]: ``int8`` weights, whose sums within a block of at most
    2^16 subjects (the only sums kept in ``int32``) stay below 2^23."""
    return bool(np.all(np.abs(w) <= 127.0) and np.array_equal(w, np.round(w)))


def _dominance(
    b: NDArray[np.signedinteger[Any]],
    nb: int,
    wf: F,
    wr: F,
    order: Ints,
    sa: Ints | None,
    a_ties: tuple[F, F] | None = None,
) -> tuple[F, F]:
    """Quadrant sums ``Σ_j wf_j [a_j < a_k][b_j < b_k]`` and ``Σ_j wr_j [a_j > a_k][b_j > b_k]``.

    ``b`` holds codes 0..nb-1 (any integer type); ``order`` sorts the subjects by a second code
    ``a`` and then by ``b``; ``sa`` is ``a`` in that order (``None`` when no two
    subjects share an ``a``). O(n log nb).

    :func:`_sweep` counts pairs in the strict sequence ``order``; pairs tied in
    ``a`` (which the sequence puts in ``b`` order) are then removed with
    :func:`_tie_sums` — or with ``a_ties``, those sums already computed by the caller
    (in the sequence order).
    """
    n = b.size
    if n == 0:
        return np.zeros(0), np.zeros(0)
    sb = b[order]
    wfs = wf[order]
    wrs = wr[order]
    levels = max(1, (nb - 1).bit_length())
    if a_ties is None and sa is not None:
        a_ties = _tie_sums(sa, sb, wfs, wrs)
    if _small_integers(wfs) and _small_integers(wrs):
        # unit weights, whole-number case weights, the ±1 of interval data (entry
        # records): exact int32 sums over int8 weights (:func:`_sweep_levels_packed`)
        wfs, wrs = wfs.astype(np.int8), wrs.astype(np.int8)
    acc_f, acc_r = _sweep(sb, wfs, wrs, levels)
    del sb, wfs, wrs
    if a_ties is not None:
        acc_f -= a_ties[0]
        acc_r -= a_ties[1]
    fwd = np.empty(n)
    fwd[order] = acc_f
    del acc_f
    bwd = np.empty(n)
    bwd[order] = acc_r
    return fwd, bwd


def concordance(
    score: NDArray[Any],
    time: NDArray[Any],
    event: NDArray[Any],
    strata: NDArray[Any] | None = None,
    *,
    cluster: NDArray[Any] | None = None,
    weights: NDArray[Any] | None = None,
    weights_sq: NDArray[Any] | None = None,
    start: NDArray[Any] | None = None,
) -> Concordance:
    """Concordance of a risk score (larger = earlier failure) with survival times.

    ``start``: counting-process rows ``(start, time]`` (R's ``concordance()`` on
    ``Surv(start, stop, event)``): an event at t is compared with the rows at risk at
    t (``start < t ≤ stop``). Computed as the right-censored sums over the rows plus
    one *entry record* per row — at its start time, weight ``−w``, not an event —
    which removes the row from every comparison at or before its start; the two
    records of a row share its cluster, so the jackknife influence is the row's.

    Pairs are formed only within a stratum. ``weights`` are case weights (a
    pair counts ``w_i·w_j``); ``cluster`` groups subjects for the jackknife.
    Gives R's ``concordance(coxph(...))``: C and ``sqrt(var)``.

    ``weights_sq``: for records that each stand for several rows identical in
    stratum, time, event and score (and cluster), ``weights`` is the rows'
    ``Σ w`` and ``weights_sq`` their ``Σ w²``; C, every count and the SE are then
    those of the rows (module docstring). Default ``weights²`` (one row per record).
    """
    if start is not None:
        if weights_sq is not None:
            raise ValueError("start and weights_sq cannot be combined")
        return _interval_concordance(score, time, event, start, strata, cluster, weights)
    s = np.asarray(score, dtype=np.float64)
    t = np.asarray(time, dtype=np.float64)
    e = np.asarray(event).astype(bool)
    n = s.size
    # unit weights as a read-only view of one 1.0 (no n-sized array held through the sweep)
    w = (
        np.broadcast_to(np.float64(1.0), (n,))
        if weights is None
        else np.asarray(weights, dtype=np.float64)
    )
    if t.shape != (n,) or e.shape != (n,) or w.shape != (n,):
        raise ValueError("score, time, event and weights must be 1-d arrays of one length")
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(t)) and np.all(np.isfinite(w))):
        raise ValueError("score, time and weights must be finite (drop missing rows first)")
    # one row per record: w² is formed where it is needed (no n-sized copy)
    w2 = None if weights_sq is None else np.asarray(weights_sq, dtype=np.float64)
    if w2 is not None and w2.shape != (n,):
        raise ValueError("weights_sq must have one value per record")
    if n == 0:
        return Concordance(math.nan, math.nan, 0.0, 0.0, 0.0, 0.0, 0.0)
    res, parts = _concordance_parts(s, t, e, strata, w, w2, weights_sq is not None)
    if parts is None:
        return res
    a, total = parts
    if cluster is None and weights_sq is not None:
        # grouped records: each of a record's rows has influence w_i·a (see module docstring)
        a /= total
        assert w2 is not None
        return _with_se(res, math.sqrt(float(w2 @ (a * a))))
    infl: F = w * a
    if cluster is not None:
        # grouped jackknife: influence summed within each cluster (R, cluster())
        infl = np.bincount(codes(np.asarray(cluster).ravel())[1], weights=infl).astype(np.float64)
    return _with_se(res, math.sqrt(float(infl @ infl)) / total)


def _with_se(res: Concordance, se: float) -> Concordance:
    return Concordance(
        res.c, se, res.concordant, res.discordant, res.tied_x, res.tied_y, res.tied_xy
    )


def _interval_concordance(
    score: NDArray[Any],
    time: NDArray[Any],
    event: NDArray[Any],
    start: NDArray[Any],
    strata: NDArray[Any] | None,
    cluster: NDArray[Any] | None,
    weights: NDArray[Any] | None,
) -> Concordance:
    """:func:`concordance` of ``(start, time]`` rows: the rows plus their entry records."""
    s0 = np.asarray(score, dtype=np.float64)
    n0 = s0.size
    t1 = np.asarray(time, dtype=np.float64)
    t0 = np.asarray(start, dtype=np.float64)
    e0 = np.asarray(event).astype(bool)
    w0 = np.ones(n0) if weights is None else np.asarray(weights, dtype=np.float64)
    if t1.shape != (n0,) or t0.shape != (n0,) or e0.shape != (n0,) or w0.shape != (n0,):
        raise ValueError("score, time, start, event and weights must be 1-d arrays of one length")
    if not (
        np.all(np.isfinite(s0))
        and np.all(np.isfinite(t1))
        and np.all(np.isfinite(t0))
        and np.all(np.isfinite(w0))
    ):
        raise ValueError("score, time and weights must be finite (drop missing rows first)")
    if n0 == 0:
        return Concordance(math.nan, math.nan, 0.0, 0.0, 0.0, 0.0, 0.0)
    # an entry record before the first event time removes the row from no comparison
    # (e.g. every patient's first interval from 0): left out
    if e0.any():
        scale = max(float(np.max(np.abs(t1))), 1.0)
        keep = t0 >= float(t1[e0].min()) - TIE_TOLERANCE * scale
    else:
        keep = np.zeros(n0, dtype=bool)
    ke = np.flatnonzero(keep)
    m = ke.size
    s = np.concatenate((s0, s0[ke]))
    w = np.concatenate((w0, -w0[ke]))
    # the records' score order from the rows': each entry record right after its row
    o = np.argsort(s0)
    rep = keep[o].astype(np.intp) + 1
    s_order = np.repeat(o, rep)
    entry_of = np.empty(n0, dtype=np.intp)
    entry_of[ke] = np.arange(n0, n0 + m)
    kept_pos = np.cumsum(rep)[keep[o]] - 1  # the second copy of a kept row
    s_order[kept_pos] = entry_of[s_order[kept_pos]]
    del o, rep, entry_of, kept_pos
    res, parts = _concordance_parts(
        s,
        np.concatenate((t1, t0[ke])),
        np.concatenate((e0, np.zeros(m, dtype=bool))),
        None if strata is None else np.concatenate((strata, np.asarray(strata)[ke])),
        w,
        None,
        False,
        s_order,
    )
    if parts is None:
        return res
    a, total = parts
    infl = w * a
    # a row and its entry record are one subject of the jackknife
    row_infl = infl[:n0]
    row_infl[ke] += infl[n0:]
    if cluster is not None:
        row_infl = np.bincount(codes(np.asarray(cluster).ravel())[1], weights=row_infl).astype(
            np.float64
        )
    return _with_se(res, math.sqrt(float(row_infl @ row_infl)) / total)


def _concordance_parts(
    s: F,
    t: F,
    e: NDArray[np.bool_],
    strata: NDArray[Any] | None,
    w: F,
    w2: F | None,
    grouped: bool,
    s_order: Ints | None = None,
) -> tuple[Concordance, tuple[F, float] | None]:
    """C and the counts (SE left NaN), and each record's ``N_k − C·D_k`` with the total ``D``.

    ``w2``: Σ w² per record (``None``: ``w²``, one row per record). ``s_order``: an
    order sorting ``s`` (else computed). ``None`` parts: no comparable pair.
    """
    n = s.size
    we = w * e
    g: Codes | None = None
    ng = 1
    if strata is not None:
        g64, ng, _ = _dense(np.asarray(strata))
        # int32 codes (half the memory held through the sweep) below 2^31 strata
        g = None if ng == 1 else (g64.astype(np.int32) if ng < 2**31 else g64)
        del g64
    # distinct times as everywhere in survstudy: whole days by counting, other
    # times sorted with R's aeqSurv tolerance (near-equal times are one time)
    uniq_t, t_inv = distinct_times(t)
    del t
    nt = int(uniq_t.size)
    tied_y_all = _time_tied_events(g, t_inv, nt, w, e, w2)
    # r: score within stratum; q: within stratum, later times first and a
    # censoring before an event at the same time, so that for an event k the
    # subjects with q < q_k are exactly those still at risk after it.
    if s_order is None:
        s_order = np.argsort(s)
    if g is not None:
        s_order = _lex(g, s_order)
    # dense rank of (stratum, score) along s_order
    ss = s[s_order]
    del s
    new = np.ones(n, dtype=np.bool_)
    np.not_equal(ss[1:], ss[:-1], out=new[1:])
    del ss
    if g is not None:
        sg = g[s_order]
        new[1:] |= sg[1:] != sg[:-1]
        del sg
    rr = np.cumsum(new, dtype=np.int64)
    del new
    rr -= 1
    r = np.empty(n, dtype=np.int64)
    r[s_order] = rr
    nr = int(rr[-1]) + 1
    nq = 2 * nt * ng
    # int32 when every code fits (half the memory held through the sweep)
    q = np.subtract(nt - 1, t_inv, dtype=np.int32 if nq < 2**31 else np.int64)
    del t_inv
    q *= 2
    q += e
    if g is not None:
        q += g * np.int64(2 * nt)
    # by r, then q (with no tied scores that is the score order itself)
    if nr == n:
        order_rq = s_order
    elif nr < 2**62 // max(nq, 1):
        # along s_order the key (r, q) is sorted up to runs of tied scores: a
        # stable sort of nearly sorted integers is close to linear
        key = rr * np.int64(nq)
        key += q[s_order]
        order_rq = s_order[np.argsort(key, kind="stable")]
        del key
    else:  # pragma: no cover - astronomically many codes
        order_rq = _lex(r, _lex(q, s_order))
    del rr
    # pairs tied in the score (same r implies same stratum): the tied partner's weight
    # with a smaller q (``lo``) and the tied event weight with a larger q (``hi``)
    ties: tuple[F, F] | None = None
    tied_xy = 0.0
    if nr < n:
        sr, sq = r[order_rq], q[order_rq]
        sw = w[order_rq]
        ties = _tie_sums(sr, sq, sw, we[order_rq])
        # events tied in score, stratum and time: runs of equal (r, q) with q odd (an event)
        new_rq = np.ones(n, dtype=np.bool_)
        new_rq[1:] = (sr[1:] != sr[:-1]) | (sq[1:] != sq[:-1])
        st = np.flatnonzero(new_rq)
        del new_rq, sr
        ev_run = (sq[st] & 1).astype(np.bool_)
        del sq
        s1 = np.add.reduceat(sw, st)[ev_run]
        s2 = np.add.reduceat(sw * sw if w2 is None else w2[order_rq], st)[ev_run]
        tied_xy = float(((s1 * s1 - s2) / 2).sum())
        del sw
    elif grouped and w2 is not None:
        # no two records share a score: only the rows inside an event record are tied in both
        tied_xy = float(((w * w - w2)[e]).sum() / 2)
    # quadrant sums; the bit partition runs over the code with fewer values
    if nr <= nq:
        order_qr = _lex(q, s_order)  # by q, then r
        fwd, bwd = _dominance(r, nr, w, we, order_qr, q[order_qr])
        del order_qr, r
    else:
        del r  # not needed below: the sweep runs over q
        # q < nq: dense codes by counting, no sort (int32: half the memory of the sweep's key)
        present = np.bincount(q, minlength=nq) > 0
        rank = np.cumsum(present) - 1
        q_dense = (rank.astype(np.int32) if n < 2**31 else rank)[q]
        del rank
        # ties in r (the sequence's key) are the score ties above
        fwd, bwd = _dominance(q_dense, int(present.sum()), w, we, order_rq, None, ties)
        del q_dense
    tie_f: F | float = 0.0
    tie_r: F | float = 0.0
    if ties is not None:
        tie_f = np.empty(n)
        tie_r = np.empty(n)
        tie_f[order_rq] = ties[0]
        tie_r[order_rq] = ties[1]
        ties = None
    del order_rq
    # one-dimensional sums over q: weight at risk after k, event weight before k
    hw = _hist(q, w, nq)
    hwe = _hist(q, we, nq)
    at_risk: F = (np.cumsum(hw) - hw)[q]
    later_events: F = (hwe.sum() - np.cumsum(hwe))[q]
    del q
    if g is not None:  # both codes put lower strata first: remove the other strata's subjects
        w_g = np.bincount(g, weights=w, minlength=ng)
        we_g = np.bincount(g, weights=we, minlength=ng)
        lower = (np.cumsum(w_g) - w_g)[g]
        higher = (we_g.sum() - np.cumsum(we_g))[g]
        fwd -= lower
        bwd -= higher
        at_risk -= lower
        later_events -= higher
    conc = float(we @ fwd)
    tied_x = float(we @ tie_f) if isinstance(tie_f, np.ndarray) else 0.0
    disc = float(we @ at_risk) - conc - tied_x
    tied_y = tied_y_all - tied_xy
    total = conc + disc + tied_x
    if total == 0:
        return Concordance(math.nan, math.nan, conc, disc, tied_x, tied_y, tied_xy), None
    c = (conc + 0.5 * tied_x) / total
    # N_k − C·D_k with N_k = e·(fwd + tie_f/2) + bwd + tie_r/2 and D_k = e·at_risk + later_events
    if isinstance(tie_f, np.ndarray) and isinstance(tie_r, np.ndarray):
        tie_f *= 0.5
        fwd += tie_f
        tie_r *= 0.5
        bwd += tie_r
    del tie_f, tie_r
    at_risk *= c
    fwd -= at_risk
    fwd *= e
    later_events *= c
    bwd -= later_events
    bwd += fwd
    return Concordance(c, math.nan, conc, disc, tied_x, tied_y, tied_xy), (bwd, total)


def _time_tied_events(
    g: Codes | None, t_rank: NDArray[Any], nt: int, w: F, e: NDArray[np.bool_], w2: F | None
) -> float:
    """Weighted pairs of events at the same time in the same stratum (``w2``: Σ w² per
    record; ``None``: ``w²``)."""
    key = t_rank[e] if g is None else (g * np.int64(nt) + t_rank)[e]
    we = w[e]
    s1 = np.bincount(key, weights=we)
    s2 = np.bincount(key, weights=we * we if w2 is None else w2[e])
    return float(((s1 * s1 - s2) / 2).sum())


def concordance_from_fit(fit: Any, cluster: Any = None) -> Concordance | None:
    """Concordance of a :class:`CoxResult`'s linear predictor (within strata), as R's ``concordance(fit)``."""
    st = fit.fit_state
    if st is None:
        return None
    d = st.data
    lp = np.empty(d.x.shape[0])
    # identical covariate rows must give identical predictors (ties are counted apart)
    lp[d.order] = row_dot(d.x, st.beta_scaled)
    cl = None if cluster is None else np.asarray(cluster)
    return concordance(
        lp,
        st.time,
        st.event,
        st.strata,
        cluster=cl,
        weights=st.weights,
        start=getattr(st, "start", None),
    )

"""Helpers shared by the engine implementations (memory, DuckDB, Spark).

The interface (:mod:`.base`) only declares; what the implementations have in
common lives here: turning the cells an aggregation query returns into the
:mod:`survstudy.stats.sufficient` containers, the value checks and their error
messages, and reading in-memory text columns as a file reader would (missing
codes, numbers written as text).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from survstudy.engines.base import (
    MISSING_TEXT,
    ConcordanceCells,
    CoxMoments,
    CoxSums,
    RiskCounts,
    order_levels,
)
from survstudy.errors import DataError
from survstudy.stats.sufficient import collapse_sorted as _collapse

__all__ = [
    "column_kinds",
    "concordance_cells_from_records",
    "cox_moments_from_records",
    "cox_sums_from_cells",
    "cox_sums_from_records",
    "missing_mask",
    "raise_for_checks",
    "risk_counts_from_cells",
    "robust_from_cells",
    "to_float",
    "too_many_cells",
]

F = NDArray[np.float64]
_MISSING = {m.lower() for m in MISSING_TEXT}


def missing_mask(a: NDArray[Any]) -> NDArray[np.bool_]:
    """Missing values of a column: NaN, ``None`` or one of the text codes (:data:`MISSING_TEXT`)."""
    if a.dtype.kind == "f":
        return np.isnan(a)
    if a.dtype.kind in "iub":
        return np.zeros(a.shape[0], dtype=bool)
    out = np.zeros(a.shape[0], dtype=bool)
    for i, v in enumerate(a.tolist()):
        out[i] = (
            v is None
            or (isinstance(v, float) and math.isnan(v))
            or (isinstance(v, str) and v.strip().lower() in _MISSING)
        )
    return out


def to_float(a: NDArray[Any]) -> tuple[F, int]:
    """Numbers as float64 and the count of values that are not numbers."""
    if a.dtype.kind in "fiub":
        return a.astype(np.float64), 0
    out = np.empty(a.shape[0])
    bad = 0
    for i, v in enumerate(a.tolist()):
        try:
            out[i] = float(v.strip() if isinstance(v, str) else v)
        except (TypeError, ValueError):
            out[i] = np.nan
            bad += 1
    return out, bad


def column_kinds(
    types: Mapping[str, str],
    names: Sequence[str],
    file: str | None,
    kind: Callable[[str], str],
) -> dict[str, str]:
    """``{name: kind(type)}`` for ``names`` from an engine's ``{column: type}`` schema;
    :class:`DataError` (``COLUMN-UNKNOWN``) naming the first column not there."""
    for n in names:
        if n not in types:
            raise DataError(
                f"column '{n}' not found; columns are: {', '.join(types)}",
                file=file,
                column=n,
                rule="COLUMN-UNKNOWN",
            )
    return {n: kind(types[n]) for n in names}


def raise_for_checks(
    *,
    bad_time: int,
    bad_event: int,
    bad_weight: int = 0,
    bad_term: int = 0,
    time: str,
    event: str,
    weight: str | None = None,
    file: str | None = None,
) -> None:
    """Turn the counts of :func:`survstudy.engines.sql.checks_sql` into a :class:`DataError`."""
    if bad_time:
        raise DataError(
            f"follow-up time must be a number >= 0 ({bad_time} rows are not)",
            file=file,
            column=time,
            rule="TIME-NEGATIVE",
        )
    if bad_event:
        raise DataError(
            f"event must be 0/1 or true/false ({bad_event} rows are not)",
            file=file,
            column=event,
            rule="EVENT-CODE",
        )
    if bad_weight:
        raise DataError(
            f"case weights must be positive and finite ({bad_weight} rows are not)",
            file=file,
            column=weight,
            rule="WEIGHT",
        )
    if bad_term:
        raise DataError(
            f"a covariate has values that are not numbers ({bad_term} rows)",
            file=file,
            rule="NOT-A-NUMBER",
        )


def _codes_or_zero(values: Any, present: bool) -> tuple[tuple[Any, ...], NDArray[np.intp]]:
    if not present:
        return (), np.zeros(len(values), dtype=np.intp)
    return order_levels(list(values))


def risk_counts_from_cells(
    *,
    stratum: Sequence[Any],
    group: Sequence[Any],
    time: ArrayLike,
    event: ArrayLike,
    weight_sum: ArrayLike,
    rows: ArrayLike,
    has_strata: bool,
    has_group: bool,
    n_read: int,
) -> RiskCounts:
    """A :class:`RiskCounts` from the cells of :func:`survstudy.engines.sql.risk_table_sql`
    (one per stratum value, group value, time, event 0/1; in any order)."""
    t = np.asarray(time, dtype=np.float64)
    e = np.asarray(event, dtype=np.float64)
    w = np.asarray(weight_sum, dtype=np.float64)
    n = np.asarray(rows, dtype=np.float64)
    slev, scode = _codes_or_zero(stratum, has_strata)
    glev, gcode = _codes_or_zero(group, has_group)
    (sk, gk, tk), (ev, ex) = _collapse([scode, gcode, t], w * (e == 1), w)
    n_rows = int(n.sum())
    return RiskCounts(
        stratum=sk.astype(np.intp),
        group=gk.astype(np.intp),
        time=tk.astype(np.float64),
        n_event=ev.astype(np.float64),
        n_exit=ex.astype(np.float64),
        strata_levels=slev,
        group_levels=glev,
        n_rows=n_rows,
        n_read=int(n_read),
        n_dropped=int(n_read) - n_rows,
    )


def robust_from_cells(cells: Mapping[str, Any], p: int) -> NDArray[np.float64]:
    """The symmetric p x p matrix Σ r rᵀ from the one-row ``rr{j}_{k}`` (j <= k) cells of
    :func:`survstudy.engines.sql.robust_sql`."""
    out = np.zeros((p, p))
    for j in range(p):
        for k in range(j, p):
            out[j, k] = out[k, j] = float(cells[f"rr{j}_{k}"][0])
    return out


def cox_sums_from_cells(cells: Mapping[str, Any], p: int, *, has_strata: bool) -> CoxSums:
    """A :class:`CoxSums` from the result columns of :func:`survstudy.engines.sql.cox_sums_sql`
    (``cells[name]`` is the column ``name``; one cell per stratum value, time, event 0/1)."""
    t = np.asarray(cells["t_"], dtype=np.float64)
    e = np.asarray(cells["e_"], dtype=np.float64) == 1
    m = t.size
    slev, scode = _codes_or_zero(list(cells["s_"]) if has_strata else [0] * m, has_strata)

    def col(name: str) -> NDArray[np.float64]:
        return np.asarray(cells[name], dtype=np.float64).reshape(m)

    r1 = np.stack([col(f"r1_{j}") for j in range(p)], axis=1) if p else np.zeros((m, 0))
    sx = np.stack([col(f"sx{j}") for j in range(p)], axis=1) if p else np.zeros((m, 0))
    r2 = np.zeros((m, p, p))
    for j in range(p):
        for k in range(j, p):
            v = col(f"r2_{j}_{k}")
            r2[:, j, k] = v
            r2[:, k, j] = v
    ef = e.astype(np.float64)
    (sk, tk), sums = _collapse(
        [scode, t],
        col("n") * ef,
        col("w") * ef,
        col("r0"),
        r1,
        r2,
        col("r0") * ef,
        r1 * ef[:, None],
        r2 * ef[:, None, None],
        sx * ef[:, None],
        col("seta") * ef,
        col("w"),
    )
    n_event, w_event, e0, e1, e2, d0, d1, d2, d_x, d_eta, w_exit = sums
    return CoxSums(
        stratum=sk.astype(np.intp),
        time=tk.astype(np.float64),
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
        strata_levels=slev,
        w_exit=w_exit,
        # the cells as the engine keyed them (raw stratum value, exact time): the robust
        # variance joins per-time values back to the rows on these keys
        extra={
            "cell_stratum_raw": list(cells["s_"]) if has_strata else [0] * m,
            "cell_stratum": scode,
            "cell_time": t,
        },
    )


def _record_x(records: Mapping[str, Any], p: int) -> NDArray[np.float64]:
    m = np.asarray(records["t_"]).size
    if not p:
        return np.zeros((m, 0))
    return np.stack([np.asarray(records[f"x{j}_"], dtype=np.float64) for j in range(p)], axis=1)


def cox_moments_from_records(
    records: Mapping[str, Any], p: int, *, center: F | None, n_read: int
) -> CoxMoments:
    """The :class:`CoxMoments` of :func:`survstudy.engines.sql.moments_sql` from the
    records of :func:`survstudy.engines.sql.concordance_cells_sql` (the used rows grouped by
    stratum, time, event and every term's value; ``n`` rows and ``w`` = Σ w each): a
    record's rows share their covariate values, so each row sum is the record's value
    times its row count (``n``) or weight (``w``)."""
    x = _record_x(records, p)
    n = np.asarray(records["n"], dtype=np.float64)
    w = np.asarray(records["w"], dtype=np.float64)
    e = np.asarray(records["e_"], dtype=np.float64)
    n_used = round(float(n.sum()))
    w_sum = float(w.sum())
    abs_dev = cross = None
    if center is not None:
        xc = x - np.asarray(center, dtype=np.float64)
        abs_dev = n @ np.abs(xc)
        cross = (xc * n[:, None]).T @ xc
    return CoxMoments(
        n=n_used,
        n_events=round(float(n @ e)),
        weight_sum=w_sum,
        mean=(w @ x) / w_sum if w_sum else np.zeros(p),
        abs_dev=abs_dev,
        cross=cross,
        binary=np.all((x == 0) | (x == 1), axis=0).astype(bool).reshape(p),
        events_at_one=(n * e) @ (x == 1).astype(np.float64),
        n_read=n_read,
        n_dropped=n_read - n_used,
    )


def cox_sums_from_records(
    records: Mapping[str, Any], p: int, *, beta: F, center: F, has_strata: bool
) -> CoxSums:
    """The :class:`CoxSums` at ``beta`` about ``center`` (those of
    :func:`survstudy.engines.sql.cox_sums_sql`) from the records of
    :func:`survstudy.engines.sql.concordance_cells_sql`: a record's rows share time, event
    and linear predictor, so every per-time sum is the sum over records of the record's
    Σ w times the row's term (as the in-memory engine sums rows)."""
    xc = _record_x(records, p) - np.asarray(center, dtype=np.float64)
    w = np.asarray(records["w"], dtype=np.float64)
    keys = {"s_": records["s_"], "t_": records["t_"], "e_": records["e_"]}
    n = np.asarray(records["n"], dtype=np.float64)
    return cox_sums_from_cells(row_terms(xc, w, beta, keys, n), p, has_strata=has_strata)


def row_terms(xc: F, w: F, beta: ArrayLike, keys: Mapping[str, Any], n: F) -> dict[str, Any]:
    """Each row's (or record's) terms of the per-time Cox sums at ``beta``, in the columns
    :func:`cox_sums_from_cells` reads: ``keys`` (``s_``, ``t_``, ``e_``), ``n``, ``w``,
    ``r0`` = w·exp(η), ``seta`` = w·η, ``r1_j`` = r0·x_j, ``sx{j}`` = w·x_j and
    ``r2_j_k`` = r0·x_j·x_k, with ``xc`` the centred design."""
    p = xc.shape[1]
    eta = xc @ np.asarray(beta, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        wr = w * np.exp(eta)
        cells: dict[str, Any] = {**keys, "n": n, "w": w, "r0": wr, "seta": w * eta}
        for j in range(p):
            cells[f"r1_{j}"] = wr * xc[:, j]
            cells[f"sx{j}"] = w * xc[:, j]
            for k in range(j, p):
                cells[f"r2_{j}_{k}"] = wr * xc[:, j] * xc[:, k]
    return cells


def concordance_cells_from_records(
    cells: Mapping[str, Any],
    p: int,
    *,
    has_strata: bool,
    has_cluster: bool,
    limit: int,
) -> ConcordanceCells:
    """A :class:`ConcordanceCells` from the result columns of
    :func:`survstudy.engines.sql.concordance_cells_sql` (``complete=False`` when there are
    more than ``limit`` records)."""
    t = np.asarray(cells["t_"], dtype=np.float64)
    m = t.size
    if m > limit:
        return too_many_cells(m, limit)
    slev, scode = _codes_or_zero(list(cells["s_"]) if has_strata else [0] * m, has_strata)
    ccode = order_levels(list(cells["c_"]))[1] if has_cluster else None
    x = (
        np.stack([np.asarray(cells[f"x{j}_"], dtype=np.float64) for j in range(p)], axis=1)
        if p
        else np.zeros((m, 0))
    )
    return ConcordanceCells(
        stratum=scode.astype(np.intp),
        time=t,
        event=np.asarray(cells["e_"], dtype=np.float64),
        x=x.reshape(m, p),
        n_rows=np.asarray(cells["n"], dtype=np.float64),
        weight=np.asarray(cells["w"], dtype=np.float64),
        weight_sq=np.asarray(cells["w2"], dtype=np.float64),
        cluster=None if ccode is None else ccode.astype(np.intp),
        strata_levels=slev,
        n_cells=m,
        limit=int(limit),
    )


def too_many_cells(n_cells: int, limit: int) -> ConcordanceCells:
    """The :class:`ConcordanceCells` of a model with more than ``limit`` records (none kept)."""
    z = np.zeros(0)
    return ConcordanceCells(
        stratum=np.zeros(0, dtype=np.intp),
        time=z,
        event=z,
        x=np.zeros((0, 0)),
        n_rows=z,
        weight=z,
        weight_sq=z,
        n_cells=int(n_cells),
        limit=int(limit),
        complete=False,
    )

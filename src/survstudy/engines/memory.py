"""The in-memory NumPy engine: the engine interface over columns already in memory.

Same contract as every engine (:mod:`.base`); used for parity tests and as the
reference path. Rows are reduced with NumPy and handed to the same cell helpers
as the SQL engines, so levels, sorting and near-tie merging are shared.
``where`` (SQL) is not supported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from survstudy.engines.base import (
    CONCORDANCE_CELL_LIMIT,
    CategoryCount,
    ConcordanceCells,
    CoxMoments,
    CoxSums,
    NumericSummary,
    RiskCounts,
    Source,
    Table1Stats,
    Term,
    level_value,
    order_levels,
)
from survstudy.engines.cells import (
    concordance_cells_from_records,
    cox_sums_from_cells,
    missing_mask,
    raise_for_checks,
    risk_counts_from_cells,
    row_terms,
    to_float,
    too_many_cells,
)
from survstudy.errors import AnalysisError, DataError

__all__ = ["MemoryEngine"]

F = NDArray[np.float64]


def _to_event(a: NDArray[Any]) -> tuple[F, int]:
    if a.dtype.kind == "b":
        return a.astype(np.float64), 0
    if a.dtype.kind in "fiu":
        f = a.astype(np.float64)
        return f, int(np.count_nonzero((f != 0) & (f != 1)))
    codes = {"1": 1.0, "1.0": 1.0, "true": 1.0, "0": 0.0, "0.0": 0.0, "false": 0.0}
    out = np.empty(a.shape[0])
    bad = 0
    for i, v in enumerate(a.tolist()):
        if isinstance(v, (bool, int, float)) and v in (0, 1):
            out[i] = float(v)
            continue
        c = codes.get(str(v).strip().lower())
        if c is None:
            bad += 1
            c = np.nan
        out[i] = c
    return out, bad


def _raw_levels(a: NDArray[Any]) -> list[Any]:
    return [level_value(v) for v in a.tolist()]


class MemoryEngine:
    """NumPy engine over :meth:`Source.from_arrays` columns."""

    name = "memory"

    def _rows(
        self,
        source: Source,
        *,
        time: str,
        event: str,
        group: str | None,
        strata: str | None,
        weight: str | None,
        terms: Sequence[Term],
        where: str | None,
        cluster: str | None = None,
    ) -> dict[str, Any]:
        if where is not None:
            raise AnalysisError("a 'where' filter is not available with engine memory")
        if source.columns is None:
            raise AnalysisError("engine memory needs in-memory columns (Source.from_arrays)")
        cols = source.columns
        used = [
            time,
            event,
            *(c for c in (group, strata, weight, cluster) if c),
            *(t.column for t in terms),
        ]
        for c in used:
            if c not in cols:
                raise DataError(
                    f"column '{c}' not found; columns are: {', '.join(cols)}",
                    column=c,
                    rule="COLUMN-UNKNOWN",
                )
        n_read = int(next(iter(cols.values())).shape[0]) if cols else 0
        miss = np.zeros(n_read, dtype=bool)
        for c in dict.fromkeys(used):
            miss |= missing_mask(np.asarray(cols[c]))
        keep = ~miss
        t, bad_t = to_float(np.asarray(cols[time])[keep])
        bad_t += int(np.count_nonzero(~np.isfinite(t) | (t < 0)))
        e, bad_e = _to_event(np.asarray(cols[event])[keep])
        bad_w = 0
        w = np.ones(t.size)
        if weight is not None:
            w, bad_w = to_float(np.asarray(cols[weight])[keep])
            bad_w += int(np.count_nonzero(~np.isfinite(w) | (w <= 0)))
        xs: list[F] = []
        bad_x = 0
        for term in terms:
            a = np.asarray(cols[term.column])[keep]
            if term.level is None:
                x, b = to_float(a)
                bad_x += b
            else:
                lv = level_value(term.level)
                x = np.array([v == lv for v in _raw_levels(a)], dtype=np.float64)
            xs.append(x)
        raise_for_checks(
            bad_time=bad_t,
            bad_event=bad_e,
            bad_weight=bad_w,
            bad_term=bad_x,
            time=time,
            event=event,
            weight=weight,
        )
        x_all = np.stack(xs, axis=1) if xs else np.zeros((t.size, 0))
        return {
            "t": t,
            "e": e,
            "w": w,
            "x": x_all,
            "s": None if strata is None else np.asarray(cols[strata])[keep],
            "g": None if group is None else np.asarray(cols[group])[keep],
            "c": None if cluster is None else np.asarray(cols[cluster])[keep],
            "n_read": n_read,
        }

    def risk_table(
        self,
        source: Source,
        *,
        time: str,
        event: str,
        group: str | None = None,
        strata: str | None = None,
        weight: str | None = None,
        where: str | None = None,
    ) -> RiskCounts:
        r = self._rows(
            source,
            time=time,
            event=event,
            group=group,
            strata=strata,
            weight=weight,
            terms=(),
            where=where,
        )
        n = r["t"].size
        return risk_counts_from_cells(
            stratum=[0] * n if r["s"] is None else r["s"].tolist(),
            group=[0] * n if r["g"] is None else r["g"].tolist(),
            time=r["t"],
            event=r["e"],
            weight_sum=r["w"],
            rows=np.ones(n),
            has_strata=strata is not None,
            has_group=group is not None,
            n_read=r["n_read"],
        )

    def levels(
        self,
        source: Source,
        column: str,
        *,
        required: Sequence[str] = (),
        where: str | None = None,
    ) -> tuple[Any, ...]:
        if where is not None:
            raise AnalysisError("a 'where' filter is not available with engine memory")
        if source.columns is None:
            raise AnalysisError("engine memory needs in-memory columns (Source.from_arrays)")
        cols = source.columns
        for c in [column, *required]:
            if c not in cols:
                raise DataError(f"column '{c}' not found", column=c, rule="COLUMN-UNKNOWN")
        miss = np.zeros(np.asarray(cols[column]).shape[0], dtype=bool)
        for c in dict.fromkeys([column, *required]):
            miss |= missing_mask(np.asarray(cols[c]))
        return order_levels(np.asarray(cols[column])[~miss].tolist())[0]

    def cox_moments(
        self,
        source: Source,
        *,
        time: str,
        event: str,
        terms: Sequence[Term],
        strata: str | None = None,
        weight: str | None = None,
        where: str | None = None,
        center: F | None = None,
        cluster: str | None = None,
    ) -> CoxMoments:
        r = self._rows(
            source,
            time=time,
            event=event,
            group=None,
            strata=strata,
            weight=weight,
            terms=terms,
            where=where,
            cluster=cluster,
        )
        x, e, w = r["x"], r["e"], r["w"]
        n = x.shape[0]
        abs_dev = cross = None
        if center is not None:
            xc = x - center
            abs_dev = np.abs(xc).sum(axis=0)
            cross = xc.T @ xc
        binary = np.all((x == 0) | (x == 1), axis=0)
        return CoxMoments(
            n=n,
            n_events=int(e.sum()),
            weight_sum=float(w.sum()),
            mean=(w @ x) / w.sum() if n else np.zeros(x.shape[1]),
            abs_dev=abs_dev,
            cross=cross,
            binary=np.asarray(binary, dtype=bool),
            events_at_one=((x == 1) & (e[:, None] == 1)).sum(axis=0).astype(np.float64),
            n_read=r["n_read"],
            n_dropped=r["n_read"] - n,
        )

    def _centred(
        self,
        source: Source,
        *,
        time: str,
        event: str,
        terms: Sequence[Term],
        center: F,
        strata: str | None,
        weight: str | None,
        where: str | None,
        cluster: str | None = None,
    ) -> tuple[dict[str, Any], F]:
        """The used rows (as :meth:`_rows`, no group) and their design matrix minus ``center``."""
        r = self._rows(
            source,
            time=time,
            event=event,
            group=None,
            strata=strata,
            weight=weight,
            terms=terms,
            where=where,
            cluster=cluster,
        )
        return r, r["x"] - np.asarray(center, dtype=np.float64)

    def cox_sums(
        self,
        source: Source,
        *,
        time: str,
        event: str,
        terms: Sequence[Term],
        beta: F,
        center: F,
        strata: str | None = None,
        weight: str | None = None,
        where: str | None = None,
        cluster: str | None = None,
    ) -> CoxSums:
        r, xc = self._centred(
            source,
            time=time,
            event=event,
            terms=terms,
            center=center,
            strata=strata,
            weight=weight,
            where=where,
            cluster=cluster,
        )
        n, p = xc.shape
        keys = {"s_": [0] * n if r["s"] is None else r["s"].tolist(), "t_": r["t"], "e_": r["e"]}
        cells = row_terms(xc, r["w"], beta, keys, np.ones(n))
        return cox_sums_from_cells(cells, p, has_strata=strata is not None)

    def cox_robust(
        self,
        source: Source,
        *,
        time: str,
        event: str,
        terms: Sequence[Term],
        beta: F,
        center: F,
        table: Mapping[str, Any],
        strata: str | None = None,
        weight: str | None = None,
        where: str | None = None,
        cluster: str | None = None,
    ) -> F:
        """Σ r rᵀ of the score residuals (as :func:`survstudy.engines.sql.robust_sql`); with
        ``cluster`` the residuals are summed within each cluster value first."""
        r, xc = self._centred(
            source,
            time=time,
            event=event,
            terms=terms,
            center=center,
            strata=strata,
            weight=weight,
            where=where,
            cluster=cluster,
        )
        n, p = xc.shape
        keys = [0] * n if r["s"] is None else r["s"].tolist()
        index = {
            (sv, float(tv)): i
            for i, (sv, tv) in enumerate(zip(table["s_"], table["t_"], strict=True))
        }
        ix = np.array([index[(k, float(t))] for k, t in zip(keys, r["t"], strict=True)])
        abar = np.stack([np.asarray(table[f"abar{j}"])[ix] for j in range(p)], axis=1)
        ha = np.stack([np.asarray(table[f"ha{j}"])[ix] for j in range(p)], axis=1)
        dha = np.stack([np.asarray(table[f"dha{j}"])[ix] for j in range(p)], axis=1)
        e, w = r["e"], r["w"]
        h = np.asarray(table["h"])[ix] - e * np.asarray(table["dh"])[ix]
        wr = w * np.exp(xc @ np.asarray(beta, dtype=np.float64))
        res = (e * w)[:, None] * (xc - abar) - wr[:, None] * (
            xc * h[:, None] - (ha - e[:, None] * dha)
        )
        if r["c"] is not None:
            codes = order_levels(r["c"].tolist())[1]
            summed = np.zeros((int(codes.max()) + 1 if codes.size else 0, p))
            np.add.at(summed, codes, res)
            res = summed
        return np.asarray(res.T @ res)

    def concordance_cells(
        self,
        source: Source,
        *,
        time: str,
        event: str,
        terms: Sequence[Term],
        strata: str | None = None,
        weight: str | None = None,
        where: str | None = None,
        cluster: str | None = None,
        limit: int = CONCORDANCE_CELL_LIMIT,
        n_rows: int | None = None,
    ) -> ConcordanceCells:
        """The used rows grouped by (stratum, time, event, terms[, cluster]) with n, Σ w, Σ w²
        (as :func:`survstudy.engines.sql.concordance_cells_sql`); ``n_rows`` is not needed here."""
        r = self._rows(
            source,
            time=time,
            event=event,
            group=None,
            strata=strata,
            weight=weight,
            terms=terms,
            where=where,
            cluster=cluster,
        )
        n, p = r["x"].shape
        scode = order_levels(r["s"].tolist())[1] if r["s"] is not None else np.zeros(n, np.intp)
        ccode = order_levels(r["c"].tolist())[1] if r["c"] is not None else np.zeros(n, np.intp)
        keys = np.column_stack([scode, r["t"], r["e"], r["x"], ccode]).astype(np.float64)
        if n == 0:
            uniq, inv = keys[:0], np.zeros(0, dtype=np.intp)
        else:
            uniq, inv = np.unique(keys, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        m = uniq.shape[0]
        if m > limit:
            return too_many_cells(m, limit)
        w = r["w"]
        cells: dict[str, Any] = {
            "s_": (
                [0] * m if r["s"] is None else [r["s"][i] for i in self._first_of(inv, m).tolist()]
            ),
            "t_": uniq[:, 1],
            "e_": uniq[:, 2],
            "c_": uniq[:, 3 + p],
            "n": np.bincount(inv, minlength=m).astype(np.float64),
            "w": np.bincount(inv, weights=w, minlength=m),
            "w2": np.bincount(inv, weights=w * w, minlength=m),
        }
        for j in range(p):
            cells[f"x{j}_"] = uniq[:, 3 + j]
        return concordance_cells_from_records(
            cells, p, has_strata=strata is not None, has_cluster=cluster is not None, limit=limit
        )

    @staticmethod
    def _first_of(inv: NDArray[np.intp], m: int) -> NDArray[np.intp]:
        """For each of ``m`` groups, the first row in it."""
        first = np.full(m, inv.size, dtype=np.intp)
        np.minimum.at(first, inv, np.arange(inv.size, dtype=np.intp))
        return first

    def table1_stats(
        self,
        source: Source,
        *,
        numeric: Sequence[str] = (),
        categorical: Sequence[str] = (),
        group: str | None = None,
        where: str | None = None,
    ) -> Table1Stats:
        """As the DuckDB engine's: overall and per group level (missing group: left out of
        the per-group rows); quartiles by :func:`survstudy.stats.descriptive.quantile` (r7)."""
        from survstudy.stats.descriptive import describe

        if where is not None:
            raise AnalysisError("a 'where' filter is not available with engine memory")
        if source.columns is None:
            raise AnalysisError("engine memory needs in-memory columns (Source.from_arrays)")
        cols = source.columns
        for c in [*numeric, *categorical, *([group] if group else [])]:
            if c not in cols:
                raise DataError(f"column '{c}' not found", column=c, rule="COLUMN-UNKNOWN")
        n = int(next(iter(cols.values())).shape[0]) if cols else 0
        blocks: list[tuple[Any, NDArray[np.bool_]]] = [(None, np.ones(n, dtype=bool))]
        if group is not None:
            ga = np.asarray(cols[group])
            ok = ~missing_mask(ga)
            levels, codes = order_levels(ga[ok].tolist())
            full = np.full(n, -1, dtype=np.intp)
            full[ok] = codes
            blocks += [(lv, full == i) for i, lv in enumerate(levels)]
        nums: list[NumericSummary] = []
        for c in numeric:
            a = np.asarray(cols[c])
            miss = missing_mask(a)
            x, bad = to_float(np.where(miss, np.nan, a) if a.dtype.kind == "O" else a)
            if bad:
                raise DataError("not a number", column=c, rule="NOT-A-NUMBER")
            for g, m in blocks:
                v = x[m & ~miss]
                nan = float("nan")
                d = describe(v) if v.size else None
                nums.append(
                    NumericSummary(
                        column=c,
                        group=g,
                        n=int(v.size),
                        n_missing=int((m & miss).sum()),
                        mean=nan if d is None else float(d.mean),
                        sd=nan if d is None or v.size < 2 else float(d.sd),
                        min=nan if d is None else float(d.min),
                        q1=nan if d is None else float(d.q1),
                        median=nan if d is None else float(d.median),
                        q3=nan if d is None else float(d.q3),
                        max=nan if d is None else float(d.max),
                    )
                )
        counts: list[CategoryCount] = []
        for c in categorical:
            a = np.asarray(cols[c])
            miss = missing_mask(a)
            for g, m in blocks:
                vals = a[m & ~miss].tolist()
                levels, codes = order_levels(vals) if vals else ((), np.zeros(0, dtype=np.intp))
                tally = np.bincount(codes, minlength=len(levels))
                counts += [
                    CategoryCount(column=c, group=g, level=lv, n=int(k))
                    for lv, k in zip(levels, tally, strict=True)
                ]
                nm = int((m & miss).sum())
                if nm:
                    counts.append(CategoryCount(column=c, group=g, level=None, n=nm))
        return Table1Stats(numeric=tuple(nums), counts=tuple(counts))

    def close(self) -> None:
        return None

"""Table 1's summaries from the in-memory cohort's arrays (see :mod:`.table1`).

Counts are vectorised (one ``bincount`` per count key over the ``by`` codes);
continuous variables are described on their known values
(:func:`survstudy.stats.descriptive.describe`: R's type-7 or SPSS's type-6
quartiles) and compared between groups on the values themselves
(:func:`survstudy.stats.descriptive.continuous_test`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from survstudy.data import CategoricalColumn, Cohort
from survstudy.pipeline import engine
from survstudy.pipeline.results import MethodsProfile, Table1Result
from survstudy.pipeline.table1 import (
    ContinuousSummary,
    Counts,
    by_error,
    quantile_rule,
    table1_result,
)
from survstudy.spec import StudySpec

__all__ = ["MemoryTable1", "table1_from_memory"]


def _codes(col: CategoricalColumn) -> np.ndarray:
    """Each patient's level index in ``col.categories`` (-1: missing)."""
    return np.asarray(col.codes, dtype=np.int64)


class MemoryTable1:
    """:class:`~survstudy.pipeline.table1.Table1Summaries` of an in-memory cohort."""

    def __init__(self, spec: StudySpec, cohort: Cohort, prof: MethodsProfile) -> None:
        t1 = spec.analyses.table1
        assert t1 is not None
        self.cohort = cohort
        self.q = quantile_rule(prof)
        self.summary = t1.continuous
        self.by_levels: tuple[str, ...] = ()
        self.by_label: str | None = None
        self._by: np.ndarray | None = None
        if t1.by is not None:
            info = cohort.variables.get(t1.by)
            if info is None or not info.is_categorical:
                raise by_error(spec)
            col = cohort.columns[t1.by]
            assert isinstance(col, CategoricalColumn)
            self.by_levels = tuple(col.categories)
            self._by = _codes(col)
            self.by_label = info.label

    def by_counts(self) -> tuple[tuple[str, int], ...]:
        if self._by is None:
            return ()
        return tuple((lev, int((self._by == i).sum())) for i, lev in enumerate(self.by_levels))

    def _per_group(self, mask: np.ndarray) -> dict[int | None, int]:
        """Rows of ``mask`` per ``by`` code (``None``: the missing ``by`` value)."""
        if self._by is None:
            return {None: int(mask.sum())}
        k = len(self.by_levels)
        c = np.bincount(self._by[mask] + 1, minlength=k + 1)
        return {None: int(c[0]), **{g: int(c[g + 1]) for g in range(k)}}

    def counts(self, name: str) -> Counts:
        cohort = self.cohort
        info = cohort.variables[name]
        app = np.asarray(info.applicable, dtype=bool)
        cells: dict[str, dict[int | None, int]] = {}
        if info.type == "multiselect":
            for _label, col in info.options:
                v = np.asarray(cohort.columns[col], dtype=float)
                known = app & ~np.isnan(v)
                cells[f"K:{col}"] = self._per_group(known)
                cells[f"S:{col}"] = self._per_group(known & (v == 1))
                cells[f"M:{col}"] = self._per_group(app & np.isnan(v))
            return Counts(cells=cells)
        cat = cohort.columns[name]
        assert isinstance(cat, CategoricalColumn)
        codes = _codes(cat)
        known = app & (codes >= 0)
        for i, lev in enumerate(cat.categories):
            cells[f"L:{lev}"] = self._per_group(known & (codes == i))
        if info.detail_column and info.sublevels:
            dcol = cohort.columns[info.detail_column]
            assert isinstance(dcol, CategoricalColumn)
            dcodes = _codes(dcol)
            for i, value in enumerate(dcol.categories):
                cells[f"D:{value}"] = self._per_group(known & (dcodes == i))
        cells["A"] = self._per_group(app)
        return Counts(levels=tuple(cat.categories), cells=cells)

    def continuous(self, name: str) -> ContinuousSummary:
        cohort = self.cohort
        if name in cohort.endpoints and name not in cohort.variables:
            t, _e, ok = cohort.survival_data(name)
            values = np.where(ok, t / cohort.days_per_unit, np.nan)
            known = ok
            applicable = cohort.n
        else:
            info = cohort.variables[name]
            app = np.asarray(info.applicable, dtype=bool)
            values = np.asarray(cohort.columns[name], dtype=float)
            known = app & ~np.isnan(values)
            applicable = int(app.sum())
        overall = engine.describe_continuous(values[known], self.q)
        groups: list[dict[str, Any]] = []
        test = None
        if self._by is not None:
            samples = [values[known & (self._by == i)] for i in range(len(self.by_levels))]
            groups = [engine.describe_continuous(v, self.q) for v in samples]
            test = engine.continuous_test(samples, self.summary)
        return ContinuousSummary(
            overall=overall,
            groups=tuple(groups),
            test=test,
            rows=cohort.n,
            known=int(known.sum()),
            applicable=applicable,
        )


def table1_from_memory(spec: StudySpec, cohort: Cohort, prof: MethodsProfile) -> Table1Result:
    """Table 1 of an in-memory cohort (:func:`~survstudy.pipeline.table1.table1_result`)."""
    return table1_result(spec, cohort, MemoryTable1(spec, cohort, prof))

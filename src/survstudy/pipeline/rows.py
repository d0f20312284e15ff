"""Where the runner's rows come from: the in-memory cohort, or a data engine.

The analysis modules of :mod:`survstudy.pipeline` decide *what* to analyse; a
:class:`Rows` object says *on which rows* and hands each analysis to the right
statistics:

* :class:`MemoryRows` — the :class:`~survstudy.data.Cohort`'s arrays, through
  the wrappers of :mod:`survstudy.pipeline.engine` (today's path);
* :class:`~survstudy.pipeline.rows_engine.EngineRows` — a
  :class:`~survstudy.pipeline.registry.DerivedCohort`'s Parquet table read by an
  engine (DuckDB, Spark): the same numbers from the engine's per-time sums
  (:mod:`survstudy.engines.analyses`), so that ``survstudy run --engine duckdb``
  never holds the cohort in memory.

A :class:`Selection` is the rows of one analysis: those with a known endpoint
and known values of the factors (and strata) it uses, i.e. complete cases.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from survstudy.data import Cohort
from survstudy.errors import AnalysisError
from survstudy.pipeline import diagnostics, engine, engine_competing, intervals
from survstudy.pipeline.design import FactorDesign, factor_design
from survstudy.pipeline.results import GroupTest, MethodsProfile
from survstudy.pipeline.selection import CoxPair, Exposure, Measured, Rows, Selection, Survival
from survstudy.pipeline.table1 import Table1Summaries
from survstudy.pipeline.table1_memory import MemoryTable1
from survstudy.spec import StudySpec

__all__ = ["CoxPair", "Exposure", "MemoryRows", "Rows", "Selection", "Survival"]


# --------------------------------------------------------------------------- memory


def _level_indicator(d: FactorDesign, exposed: np.ndarray, level: str) -> np.ndarray:
    """A binary design's column on split rows: 1 where the row's level is the term's."""
    assert len(d.term_levels) <= 1
    if not d.term_levels:
        return np.zeros((exposed.size, 0))
    on = exposed if d.term_levels[0] == level else 1.0 - exposed
    return on.reshape(-1, 1)


@dataclass(frozen=True, eq=False)
class _MemorySelection:
    t: np.ndarray
    e: np.ndarray
    x: np.ndarray
    codes: np.ndarray | None
    strata: np.ndarray | None
    n: int
    events: int
    start: np.ndarray | None = None  # split follow-up: the rows' (start, t] intervals
    status: np.ndarray | None = None  # 0 censored, 1 event, 2 competing event
    # the Cox fits' shared risk-set layouts (of these rows; made here when not given)
    layouts: diagnostics.RowFits | None = None

    def __post_init__(self) -> None:
        if self.layouts is None:
            lay = diagnostics.RowFits(self.t, self.e, self.strata, self.start)
            object.__setattr__(self, "layouts", lay)

    def _layout(self, ties: str) -> Any:
        assert self.layouts is not None
        return self.layouts.get(ties)

    def cox(
        self,
        *,
        ties: str,
        conf_level: float,
        term_names: tuple[str, ...],
        assign: tuple[str, ...] | None = None,
        ph_test: bool = False,
        concordance: bool = False,
        ci: str = "wald",
        keep: bool = False,
    ) -> engine.CoxFit:
        lay = self.layouts
        fit = engine.cox(
            self.x,
            self.t,
            self.e,
            ties=ties,
            conf_level=conf_level,
            strata=self.strata,
            ph_test=ph_test,
            concordance=concordance,
            term_names=term_names,
            assign=assign,
            ci=ci,
            start=self.start,
            layout=self._layout(ties) if ci != "profile" else None,
            keep=(lambda res: lay.keep(ties, self.x, res)) if keep and lay is not None else None,
        )
        if ci != "profile" and self.layouts is not None:
            self.layouts.remember(ties, self.x, fit)
        return fit

    def cox_pair(
        self,
        first: dict[str, Any],
        second: dict[str, Any],
        *,
        term_names: tuple[str, ...],
        ci: str = "wald",
    ) -> CoxPair:
        fit: engine.CoxFit | None = None
        lay = self.layouts
        if lay is not None:
            lay.drop()
        try:
            # the first fit is kept: the second shares its sorted design, and the model's
            # PH follow-up (PH test p < 0.05) reuses it; else it is dropped after the pair
            fit = self.cox(term_names=term_names, ci=ci, keep=True, **first)
            other = self.cox(term_names=term_names, ci=ci, **second)
        except AnalysisError as exc:
            if lay is not None:
                lay.drop()
            return CoxPair(fit, None, exc)
        if lay is not None and not fit.ph_global_p < 0.05:
            lay.drop()
        return CoxPair(fit, other)

    def share(self) -> float:
        return float(np.mean(self.x[:, 0])) if self.x.size else float("nan")

    def n_groups(self) -> int:
        return 0 if self.codes is None else int(np.unique(self.codes).size)

    def logrank(self, weights: str) -> GroupTest:
        assert self.codes is not None
        return engine.logrank(self.t, self.e, self.codes, weights, start=self.start)

    def permutation(self, option: str, seed: int, n_resamples: int) -> Any:
        assert self.codes is not None
        if self.start is not None:
            return None  # patients move between groups: no permutation of labels
        return engine.logrank_permutation(
            self.t, self.e, self.codes, option=option, seed=seed, n_resamples=n_resamples
        )

    def firth(
        self, *, ties: str, conf_level: float, term_names: tuple[str, ...]
    ) -> engine.CoxFit | None:
        if self.start is not None:
            return None  # the Firth fit of split follow-up is not implemented
        return engine.cox_firth(
            self.x,
            self.t,
            self.e,
            ties=ties,
            conf_level=conf_level,
            strata=self.strata,
            term_names=term_names,
        )

    def fine_gray(
        self, *, conf_level: float, term_names: tuple[str, ...], assign: tuple[str, ...]
    ) -> engine.CoxFit:
        if self.strata is not None:
            raise AnalysisError("a stratified Fine–Gray model is not available")
        if self.start is not None:
            raise AnalysisError("a Fine–Gray model of split follow-up is not available")
        status = self.e if self.status is None else self.status
        return engine_competing.fine_gray(
            self.x,
            self.t,
            status,
            conf_level=conf_level,
            term_names=term_names,
            assign=assign,
        )

    def ph_follow_up(
        self,
        *,
        ties: str,
        conf_level: float,
        term_names: tuple[str, ...],
        assign: tuple[str, ...],
        categorical: tuple[str, ...],
        days_per_unit: float,
    ) -> diagnostics.PhFollowUp:
        return diagnostics.ph_follow_up(
            self.x,
            self.t,
            self.e,
            strata=self.strata,
            ties=ties,
            conf_level=conf_level,
            term_names=term_names,
            assign=assign,
            categorical=categorical,
            days_per_unit=days_per_unit,
            fits=self.layouts,
        )

    def column(self, j: int) -> np.ndarray:
        return np.asarray(self.x[:, j], dtype=float)

    def nonlinearity(
        self,
        column: int,
        width: int,
        *,
        ties: str,
        conf_level: float,
        name: str,
        reference: float | None = None,
        overall: bool = True,
    ) -> Any:
        idx = np.arange(self.x.shape[1])
        keep = (idx < column) | (idx >= column + width)
        return diagnostics.nonlinearity(
            self.x[:, column],
            self.t,
            self.e,
            covariates=self.x[:, keep],
            strata=self.strata,
            ties=ties,
            conf_level=conf_level,
            name=name,
            reference=reference,
            layout=self.layouts.only(ties) if self.layouts else None,
            # a one-column model is the test's linear model: its fit is not made again
            linear=self.layouts.linear(ties, self.x) if self.layouts and width == 1 else None,
            overall=overall,
        )


class MemoryRows:
    """The in-memory cohort's arrays."""

    def __init__(self, cohort: Cohort) -> None:
        self.cohort = cohort
        # the last selection's risk-set layouts: the next selection of the same rows (the
        # univariable factors of a cohort without missing values) shares them
        self._layouts: diagnostics.RowFits | None = None

    def design(
        self, variable: str, *, per: float | None = None, label: str | None = None
    ) -> FactorDesign:
        return factor_design(self.cohort, variable, per=per, label=label)

    def survival(self, ep: str, *, conf_type: str, conf_level: float) -> Survival:
        t, e, ok = self.cohort.survival_data(ep)
        status = self._status(ep)[ok]
        t, e = t[ok], e[ok]
        km = engine.kaplan_meier(t, e, conf_type=conf_type, conf_level=conf_level)
        # reverse KM: only a censoring ends follow-up (an event or a competing event does not)
        ended = (status == 0).astype(float)
        rev = engine.kaplan_meier(t, ended, conf_type=conf_type, conf_level=conf_level)
        return Survival(km, rev, int(t.size), int(e.sum()), float(t.min()), float(t.max()))

    def _status(self, ep: str) -> np.ndarray:
        """The endpoint's status (0 censored, 1 event, 2 competing event; NaN unknown)."""
        info = self.cohort.endpoints[ep]
        col = self.cohort.columns.get(info.status_column)
        if col is None:  # no status column: the event indicator is the status
            return np.asarray(self.cohort.survival_data(ep)[1], dtype=float)
        return np.asarray(col, dtype=float)

    def cif_groups(
        self, ep: str, by: FactorDesign | None, *, conf_type: str, conf_level: float
    ) -> list[tuple[str | None, Any, int]]:
        t_all, _e, ok = self.cohort.survival_data(ep)
        status = self._status(ep)
        ok = ok & ~np.isnan(status)
        if by is None:
            codes = np.zeros(int(ok.sum()), dtype=np.int64)
            levels: tuple[str | None, ...] = (None,)
            t, s = t_all[ok], status[ok]
        else:
            assert by.codes is not None
            ok = ok & (by.codes >= 0)
            codes = np.asarray(by.codes[ok], dtype=np.int64)
            levels = tuple(by.levels)
            t, s = t_all[ok], status[ok]
        fits = engine_competing.cumulative_incidence_by(
            t, s, codes, levels, conf_type=conf_type, conf_level=conf_level
        )
        sizes = np.bincount(codes, minlength=len(levels))
        return [(lev, cif, int(sizes[levels.index(lev)])) for lev, cif in fits]

    def gray(self, ep: str, by: FactorDesign, cause: int) -> Any:
        t_all, _e, ok = self.cohort.survival_data(ep)
        status = self._status(ep)
        assert by.codes is not None
        ok = ok & ~np.isnan(status) & (by.codes >= 0)
        return engine_competing.gray_test(t_all[ok], status[ok], by.codes[ok], cause=cause)

    def n_known(self, ep: str) -> int:
        return int(self.cohort.survival_data(ep)[2].sum())

    def max_time(self, ep: str) -> float | None:
        t, _e, ok = self.cohort.survival_data(ep)
        return float(np.max(t[ok])) if ok.any() else None

    def select(
        self,
        ep: str,
        designs: list[FactorDesign],
        *,
        strata: list[FactorDesign] | None = None,
        group: FactorDesign | None = None,
    ) -> Selection:
        t_all, e_all, ok = self.cohort.survival_data(ep)
        mask = ok.copy()
        for d in designs:
            mask &= ~d.missing
        strata_codes: np.ndarray | None = None
        if strata:
            # one code per combination, numbered as the sorted distinct rows of the codes
            # (np.unique over rows, first factor first), by mixed radix: O(n), not a row sort
            combined = np.zeros(mask.size, dtype=np.int64)
            for sd in strata:
                assert sd.codes is not None
                mask &= sd.codes >= 0
                combined = combined * (len(sd.levels) + 1) + (sd.codes + 1)
            _, inverse = np.unique(combined, return_inverse=True)
            strata_codes = np.asarray(inverse).reshape(-1)[mask]
        if group is not None:
            assert group.codes is not None
            mask &= group.codes >= 0
        cols = [d.columns for d in designs]
        x = np.hstack(cols) if cols else np.zeros((int(mask.sum()), 0))
        if cols and not mask.all():  # complete cases (no second copy when every row is one)
            x = x[mask]
        e = e_all[mask]
        t = t_all[mask]
        status: np.ndarray | None = None  # without a status column the status is e
        if self.cohort.columns.get(self.cohort.endpoints[ep].status_column) is not None:
            status = self._status(ep)[mask]
            status = np.where(np.isnan(status), e, status)
        if self._layouts is None or not self._layouts.same_rows(t, e, strata_codes):
            self._layouts = diagnostics.RowFits(t, e, strata_codes, None)
        return _MemorySelection(
            status=status,
            t=t,
            e=e,
            x=x,
            codes=None if group is None or group.codes is None else group.codes[mask],
            strata=strata_codes,
            n=int(mask.sum()),
            events=int(e.sum()),
            layouts=self._layouts,
        )

    def survival_arrays(self, ep: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.cohort.survival_data(ep)

    def exposure_days(self, column: str) -> np.ndarray:
        return np.asarray(self.cohort.columns[column], dtype=float)

    def measured(self, variable: str, ep: str) -> Measured | None:
        per = self.cohort.measurements.get(variable)
        if per is None or ep not in per:
            return None
        patient, days, value = per[ep]
        return Measured(patient=patient, days=days, value=value)

    def select_split(
        self,
        ep: str,
        designs: list[FactorDesign],
        exposures: Mapping[str, Exposure],
        *,
        strata: list[FactorDesign] | None = None,
        group: FactorDesign | None = None,
        measured: Mapping[str, Measured] | None = None,
    ) -> Selection:
        # complete cases as select(); a patient without follow-up (time 0) has no interval
        base = self.select(ep, designs, strata=strata, group=group)
        assert isinstance(base, _MemorySelection)
        t_all, e_all, ok = self.cohort.survival_data(ep)
        mask = ok.copy()
        for d in designs:
            mask &= ~d.missing
        for sd in strata or []:
            assert sd.codes is not None
            mask &= sd.codes >= 0
        if group is not None:
            assert group.codes is not None
            mask &= group.codes >= 0
        pos = mask & (t_all > 0)
        keep = pos[mask]  # among base's rows
        names = [
            v
            for v in exposures
            if any(d.variable == v for d in [*designs, *((group and [group]) or [])])
        ]
        measured = {
            v: m for v, m in (measured or {}).items() if any(d.variable == v for d in designs)
        }
        # the kept patients' measurements, by position among them
        among = np.full(pos.size, -1, dtype=np.intp)
        among[pos] = np.arange(int(pos.sum()))
        series = []
        for m in measured.values():
            p = among[m.patient]
            series.append((p[p >= 0], m.days[p >= 0], m.value[p >= 0]))
        pat, start, stop, event, flags = intervals.split_follow_up(
            t_all[pos],
            e_all[pos],
            [exposures[v].days[pos] for v in names],
            cuts=[(p, d) for p, d, _x in series],
        )
        flag = dict(zip(names, flags, strict=True))
        value = {
            v: intervals.carried_value(pat, start, p, d, x)
            for v, (p, d, x) in zip(measured, series, strict=True)
        }
        cols = []
        for d in designs:
            if d.variable in flag:
                col = _level_indicator(d, flag[d.variable], exposures[d.variable].level)
            elif d.variable in value:
                col = value[d.variable].reshape(-1, 1)
            else:
                col = d.columns[pos][pat]
            cols.append(col)
        x = np.hstack(cols) if cols else np.zeros((pat.size, 0))
        # before a patient's first measurement the value is missing: coxph leaves those
        # intervals out (na.omit)
        rows_ok = ~np.isnan(x).any(axis=1) if measured else np.ones(pat.size, dtype=bool)
        codes = None
        if group is not None and base.codes is not None:
            codes = base.codes[keep][pat]
            if group.variable in flag:
                exposed = group.levels.index(exposures[group.variable].level)
                other = next(i for i in range(len(group.levels)) if i != exposed)
                codes = np.where(flag[group.variable] == 1, exposed, other)
        r = rows_ok
        return _MemorySelection(
            t=stop[r],
            e=event[r],
            x=x[r],
            codes=None if codes is None else codes[r],
            strata=None if base.strata is None else base.strata[keep][pat][r],
            n=int(np.unique(pat[r]).size),
            events=int(event[r].sum()),
            start=start[r],
        )

    def km_groups_split(
        self,
        ep: str,
        by: FactorDesign,
        exposure: Exposure,
        times: list[float],
        *,
        conf_type: str,
        conf_level: float,
    ) -> list[tuple[str | None, Any, int, int, tuple[int, ...]]]:
        t_all, e_all, ok = self.cohort.survival_data(ep)
        pos = ok & (t_all > 0)
        pat, start, stop, event, (flag,) = intervals.split_follow_up(
            t_all[pos], e_all[pos], [exposure.days[pos]]
        )
        out: list[tuple[str | None, Any, int, int, tuple[int, ...]]] = []
        at = np.asarray(times, dtype=float)
        for lev in by.levels:
            m = flag == 1 if lev == exposure.level else flag == 0
            if not m.any():
                continue
            km = engine.kaplan_meier(
                stop[m], event[m], conf_type=conf_type, conf_level=conf_level, start=start[m]
            )
            risk = intervals.number_at_risk(at, stop[m], start[m])
            out.append((lev, km, int(np.unique(pat[m]).size), int(event[m].sum()), risk))
        return out

    def km_groups(
        self, ep: str, by: FactorDesign | None, *, conf_type: str, conf_level: float
    ) -> list[tuple[str | None, Any, int, int]]:
        t_all, e_all, ok = self.cohort.survival_data(ep)
        groups: list[tuple[str | None, np.ndarray]] = [(None, ok)]
        if by is not None:
            assert by.codes is not None
            groups = [(lev, ok & (by.codes == i)) for i, lev in enumerate(by.levels)]
            groups = [(lev, g) for lev, g in groups if g.any()]
        out = []
        for lev, g in groups:
            t, e = t_all[g], e_all[g]
            km = engine.kaplan_meier(t, e, conf_type=conf_type, conf_level=conf_level)
            out.append((lev, km, int(t.size), int(e.sum())))
        return out

    def table1(self, spec: StudySpec, prof: MethodsProfile) -> Table1Summaries:
        return MemoryTable1(spec, self.cohort, prof)

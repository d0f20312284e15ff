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

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from survstudy.data import Cohort
from survstudy.errors import AnalysisError
from survstudy.pipeline import diagnostics, engine
from survstudy.pipeline.design import FactorDesign, factor_design
from survstudy.pipeline.results import GroupTest, MethodsProfile
from survstudy.pipeline.table1 import Table1Summaries
from survstudy.pipeline.table1_memory import MemoryTable1
from survstudy.spec import StudySpec

__all__ = ["CoxPair", "MemoryRows", "Rows", "Selection", "Survival"]


@dataclass(frozen=True)
class Survival:
    """One endpoint over every patient with a derived endpoint: its Kaplan–Meier
    estimate, the reverse Kaplan–Meier (censorings as events; median follow-up),
    the number of patients and events, and the shortest and longest time (days)."""

    km: Any
    reverse: Any
    n: int
    events: int
    min_time: float
    max_time: float


@dataclass(frozen=True)
class CoxPair:
    """One model under two settings (the chosen profile's tie rule and the other's).

    ``error`` is the first fit that failed: ``fit`` and/or ``other`` are then ``None``
    (a failed first fit leaves both ``None``).
    """

    fit: engine.CoxFit | None
    other: engine.CoxFit | None
    error: AnalysisError | None = None


class Selection(Protocol):
    """The complete cases of one analysis (see the module docstring)."""

    @property
    def n(self) -> int: ...

    @property
    def events(self) -> int: ...

    def cox_pair(
        self,
        first: dict[str, Any],
        second: dict[str, Any],
        *,
        term_names: tuple[str, ...],
        ci: str = "wald",
    ) -> CoxPair:
        """The model fitted twice (:func:`survstudy.pipeline.engine.cox` on the rows): with
        ``first``'s keywords (``ties``, ``conf_level``, ``ph_test``, ``concordance``,
        ``assign``), then with ``second``'s (an engine evaluates both in the same
        passes). Failures are reported, not raised."""
        ...

    def share(self) -> float:
        """The proportion of rows with 1 in the first design column (a two-group factor)."""
        ...

    def n_groups(self) -> int:
        """How many levels of the grouping factor have rows here."""
        ...

    def logrank(self, weights: str) -> GroupTest: ...

    def permutation(self, option: str, seed: int, n_resamples: int) -> Any:
        """:func:`engine.logrank_permutation` on these rows (``None``: not asked for)."""
        ...

    def firth(
        self, *, ties: str, conf_level: float, term_names: tuple[str, ...]
    ) -> engine.CoxFit | None: ...

    def column(self, j: int) -> np.ndarray:
        """The values of design column ``j`` on these rows; an :class:`AnalysisError` where
        the rows are not in memory."""
        ...

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
        """:func:`diagnostics.ph_follow_up` on these rows (β(t) plots, stratified sensitivity
        model); an :class:`AnalysisError` where the rows are not in memory."""
        ...

    def nonlinearity(
        self,
        column: int,
        width: int,
        *,
        ties: str,
        conf_level: float,
        name: str,
        reference: float | None = None,
    ) -> Any:
        """:func:`diagnostics.nonlinearity` of design column ``column`` beside the design's other
        columns, leaving out columns ``column … column + width − 1`` (a spline's own); an
        :class:`AnalysisError` where the rows are not in memory."""
        ...


class Rows(Protocol):
    """What the runner asks of its rows."""

    def design(
        self, variable: str, *, per: float | None = None, label: str | None = None
    ) -> FactorDesign: ...

    def survival(self, ep: str, *, conf_type: str, conf_level: float) -> Survival: ...

    def select(
        self,
        ep: str,
        designs: list[FactorDesign],
        *,
        strata: list[FactorDesign] | None = None,
        group: FactorDesign | None = None,
    ) -> Selection:
        """Rows with ``ep`` known and every design (and stratum) known; ``group`` is the
        categorical factor whose levels the log-rank tests compare."""
        ...

    def n_known(self, ep: str) -> int:
        """Patients with a derived endpoint ``ep``."""
        ...

    def max_time(self, ep: str) -> float | None:
        """The longest time (days) among patients with a derived endpoint (``None``: none)."""
        ...

    def km_groups(
        self, ep: str, by: FactorDesign | None, *, conf_type: str, conf_level: float
    ) -> list[tuple[str | None, Any, int, int]]:
        """(level, Kaplan–Meier, n, events) per level of ``by`` that has patients with a
        known endpoint (one ``(None, …)`` without ``by``)."""
        ...

    def table1(self, spec: StudySpec, prof: MethodsProfile) -> Table1Summaries:
        """The summaries Table 1 is built from (:mod:`survstudy.pipeline.table1`)."""
        ...


# --------------------------------------------------------------------------- memory


@dataclass(frozen=True, eq=False)
class _MemorySelection:
    t: np.ndarray
    e: np.ndarray
    x: np.ndarray
    codes: np.ndarray | None
    strata: np.ndarray | None
    n: int
    events: int

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
    ) -> engine.CoxFit:
        return engine.cox(
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
        )

    def cox_pair(
        self,
        first: dict[str, Any],
        second: dict[str, Any],
        *,
        term_names: tuple[str, ...],
        ci: str = "wald",
    ) -> CoxPair:
        fit: engine.CoxFit | None = None
        try:
            fit = self.cox(term_names=term_names, ci=ci, **first)
            other = self.cox(term_names=term_names, ci=ci, **second)
        except AnalysisError as exc:
            return CoxPair(fit, None, exc)
        return CoxPair(fit, other)

    def share(self) -> float:
        return float(np.mean(self.x[:, 0])) if self.x.size else float("nan")

    def n_groups(self) -> int:
        return 0 if self.codes is None else int(np.unique(self.codes).size)

    def logrank(self, weights: str) -> GroupTest:
        assert self.codes is not None
        return engine.logrank(self.t, self.e, self.codes, weights)

    def permutation(self, option: str, seed: int, n_resamples: int) -> Any:
        assert self.codes is not None
        return engine.logrank_permutation(
            self.t, self.e, self.codes, option=option, seed=seed, n_resamples=n_resamples
        )

    def firth(
        self, *, ties: str, conf_level: float, term_names: tuple[str, ...]
    ) -> engine.CoxFit | None:
        return engine.cox_firth(
            self.x,
            self.t,
            self.e,
            ties=ties,
            conf_level=conf_level,
            strata=self.strata,
            term_names=term_names,
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
        )


class MemoryRows:
    """The in-memory cohort's arrays."""

    def __init__(self, cohort: Cohort) -> None:
        self.cohort = cohort

    def design(
        self, variable: str, *, per: float | None = None, label: str | None = None
    ) -> FactorDesign:
        return factor_design(self.cohort, variable, per=per, label=label)

    def survival(self, ep: str, *, conf_type: str, conf_level: float) -> Survival:
        t, e, ok = self.cohort.survival_data(ep)
        t, e = t[ok], e[ok]
        km = engine.kaplan_meier(t, e, conf_type=conf_type, conf_level=conf_level)
        rev = engine.kaplan_meier(t, 1.0 - e, conf_type=conf_type, conf_level=conf_level)
        return Survival(km, rev, int(t.size), int(e.sum()), float(t.min()), float(t.max()))

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
        x = np.hstack(cols)[mask] if cols else np.zeros((int(mask.sum()), 0))
        e = e_all[mask]
        return _MemorySelection(
            t=t_all[mask],
            e=e,
            x=x,
            codes=None if group is None or group.codes is None else group.codes[mask],
            strata=strata_codes,
            n=int(mask.sum()),
            events=int(e.sum()),
        )

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

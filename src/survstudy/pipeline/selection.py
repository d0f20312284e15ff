"""The interfaces of :mod:`survstudy.pipeline.rows`: what an analysis may ask of its rows.

:class:`Rows` (the patients of the study: :class:`~survstudy.pipeline.rows.MemoryRows` or
:class:`~survstudy.pipeline.rows_engine.EngineRows`) and :class:`Selection` (the complete
cases of one analysis), with the small result types they hand back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from survstudy.errors import AnalysisError
from survstudy.pipeline import diagnostics, engine
from survstudy.pipeline.design import FactorDesign
from survstudy.pipeline.results import GroupTest, MethodsProfile
from survstudy.pipeline.table1 import Table1Summaries
from survstudy.spec import StudySpec

__all__ = ["CoxPair", "Exposure", "Measured", "Rows", "Selection", "Survival"]


@dataclass(frozen=True)
class Exposure:
    """A time-dependent binary for one endpoint: per patient the days from the endpoint's
    start to the exposure (NaN: never), and the level that means exposed."""

    days: np.ndarray
    level: str


@dataclass(frozen=True)
class Measured:
    """A time-dependent value measured repeatedly, for one endpoint: per measurement the
    patient's position, the days from the endpoint's start and the value."""

    patient: np.ndarray
    days: np.ndarray
    value: np.ndarray


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

    def fine_gray(
        self, *, conf_level: float, term_names: tuple[str, ...], assign: tuple[str, ...]
    ) -> engine.CoxFit:
        """The Fine–Gray model of the event (competing events: status 2) on these rows
        (:func:`survstudy.pipeline.engine_competing.fine_gray`); raises
        :class:`~survstudy.errors.AnalysisError` when it cannot be fitted."""
        ...

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
        overall: bool = True,
    ) -> Any:
        """:func:`diagnostics.nonlinearity` of design column ``column`` beside the design's other
        columns, leaving out columns ``column … column + width − 1`` (a spline's own; ``overall``:
        whether its overall test is wanted); an :class:`AnalysisError` where the rows are not in
        memory."""
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

    def cif_groups(
        self, ep: str, by: FactorDesign | None, *, conf_type: str, conf_level: float
    ) -> list[tuple[str | None, Any, int]]:
        """(level, cumulative incidence of status 1 and 2 —
        :class:`survstudy.stats.competing.CumulativeIncidence` —, n) per level of ``by``
        with patients with a known endpoint (one ``(None, …)`` without ``by``)."""
        ...

    def gray(self, ep: str, by: FactorDesign, cause: int) -> Any:
        """Gray's test of equal cumulative incidence of ``cause`` across the levels of ``by``
        (:class:`survstudy.stats.competing.GrayTestResult`)."""
        ...

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
        """:meth:`select` with the time-dependent factors of ``exposures`` taking their
        value per interval of the follow-up split at their exposure times, and those of
        ``measured`` their last measurement at or before each interval's start (intervals
        before a patient's first measurement are left out)."""
        ...

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
        """Simon–Makuch curves: :meth:`km_groups` by a time-dependent ``by`` on the split
        follow-up (patients move between curves; n counts the patients of each curve),
        each with the exact number at risk at ``times`` (days; rows with
        ``start < t <= stop``; at 0 the rows that start there)."""
        ...

    def survival_arrays(self, ep: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(time in days, event 0/1, known) per patient (landmark analyses)."""
        ...

    def exposure_days(self, column: str) -> np.ndarray:
        """A time-dependent variable's exposure times (days from the endpoint's start)."""
        ...

    def measured(self, variable: str, ep: str) -> Measured | None:
        """A value measured repeatedly (``time_dependent: {date: ...}``) for endpoint ``ep``
        (``None``: not such a variable)."""
        ...

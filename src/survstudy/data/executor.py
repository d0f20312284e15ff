"""What a cohort-plan step may use of the executor that runs it.

The steps (:mod:`survstudy.data.steps`) are written against these two interfaces, not
against the executors themselves: :class:`survstudy.data.run_memory.MemoryRun` satisfies
:class:`MemoryExecutor` and :class:`survstudy.data.derive_sql.SqlRun` satisfies
:class:`SqlExecutor` (mypy checks it where each executor hands itself to a step). The
executors import the steps; the steps import only this module, so there is no import
circle, not even one for type checking.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from survstudy.data.cells import Cells
from survstudy.data.expressions import Cell, PlanNode, SqlValue, Value
from survstudy.data.quality import IssueCollector
from survstudy.data.readers import RawTable
from survstudy.errors import SpecError
from survstudy.spec import StudySpec

__all__ = ["MemoryExecutor", "SqlExecutor"]

Key = tuple[str | int, ...]


class MemoryExecutor(Protocol):
    """The columnar executor's state and primitives (NumPy arrays over the file's rows)."""

    spec: StudySpec
    raw: RawTable
    issues: IssueCollector
    n: int
    rows: np.ndarray
    values: dict[str, Value]
    levels: dict[str, list[str]]
    multi: dict[str, list[tuple[str, str]]]
    codes: dict[str, np.ndarray]
    included: np.ndarray
    flow_counts: list[tuple[int, int, int]]
    counts: dict[str, int]
    file: str
    joins: list[tuple[str, str, int]]
    join_hashes: list[tuple[str, str]]
    #: time-dependent values measured in a joined table: variable -> (main-table row of
    #: each measurement, its date as days, its value)
    measurements: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]

    def spec_fail(self, message: str, key: Key) -> SpecError: ...

    def cells(self, column: str, key: Key) -> Cells: ...

    def joined_run(self, table: str, columns: Sequence[str]) -> MemoryExecutor: ...

    def eval_text(self, text: str, key: Key) -> Value: ...

    def eval_node(self, node: PlanNode, text: str = "") -> Value: ...

    def levels_of(self, name: str) -> list[str]: ...


class SqlExecutor(Protocol):
    """The SQL executor's state and primitives (SQL text over one relation, run by an
    engine). A declared check is returned as an opaque handle."""

    env: dict[str, SqlValue]
    levels: dict[str, list[str]]
    multi: dict[str, list[tuple[str, str]]]
    meta: list[tuple[str, str]]
    keeps: list[str]
    steps: list[tuple[str, str]]
    population_checks: list[Any]
    inc: str
    id_cell: Cell | None

    def unsupported(self, feature: str) -> SpecError: ...

    def spec_fail(self, message: str, key: Key) -> SpecError: ...

    def days(self, expr: str) -> str: ...

    def add(self, expr: str, name: str) -> str: ...

    def flush(self) -> None: ...

    def count_where(self, cond: str) -> int: ...

    def define(self, name: str, kind: str, sql: str) -> str: ...

    def define_codes(self, name: str, code: str) -> None: ...

    def value_sql(self, name: str) -> str: ...

    def eval_text(self, text: str, key: Key) -> SqlValue: ...

    def eval_node(self, node: PlanNode, text: str = "") -> SqlValue: ...

    def cell(self, column: str, key: Key) -> Cell: ...

    def match(self, c: Cell, keys: Sequence[str]) -> str: ...

    def missing(self, c: Cell, codes: frozenset[str]) -> str: ...

    def number(self, c: Cell, codes: frozenset[str]) -> tuple[str, str | None]: ...

    def check(
        self,
        code: str,
        cond: str,
        *,
        variant: str = "",
        scope: str = "all",
        column: str | None = None,
        params: dict[str, Any] | None = None,
        counts: dict[str, str] | None = None,
        sensitive: bool = False,
        file: str | None = None,
        values: str | None = None,
        values_mode: str = "",
        no_rows: bool = False,
    ) -> Any: ...

    def grouped_check(
        self, code: str, variant: str, cond: str, c: Cell, *, column: str, params: dict[str, Any]
    ) -> None: ...

    def mixed_types(self, c: Cell, bad: str) -> None: ...

    def category_unknown(self, c: Cell, unknown: str, level_map: dict[str, list[Any]]) -> None: ...

    def text_date(self, date_format: str | None, c: Cell, codes: frozenset[str]) -> str: ...

    def categorize(
        self, name: str, c: Cell, codes: frozenset[str], level_map: dict[str, list[Any]]
    ) -> tuple[str, str | None]: ...

    def detail_codes(
        self, name: str, c: Cell, codes: frozenset[str], level_map: dict[str, list[Any]]
    ) -> None: ...

"""The engine interface: a table in, per-distinct-time sufficient statistics out.

An *engine* reduces a table (files read in place, or in-memory columns) to the
sums that Kaplan–Meier, the log-rank family and Cox regression need; the
statistics themselves are computed on the driver by
:mod:`survstudy.stats.sufficient`, identically for every engine. Engines:
``memory`` (NumPy, :mod:`.memory`), ``duckdb`` (:mod:`.duckdb`), ``spark``
(:mod:`.spark`). Get one with :func:`survstudy.engines.get_engine`.

This module only declares: the :class:`Engine` protocol, the types every engine
takes and returns, and the conventions they share (missing text codes, level
values and order). The implementations import it, never the reverse; the
helpers they share (cells to containers, value checks) are in :mod:`.cells`.

Contract common to every method
-------------------------------
* ``source`` is a :class:`Source`; column arguments are column names.
* A row is *read* when ``where`` (a SQL boolean expression in the subset common
  to DuckDB and Spark SQL, e.g. ``"age >= 18 AND stage <> 'IV'"``; ``None`` =
  every row) holds. The memory engine does not evaluate SQL: it raises
  :class:`~survstudy.errors.AnalysisError` when ``where`` is given.
* A read row is *used* when none of the used columns (time, event, group,
  strata, weight, every term's column) is missing: SQL NULL, float NaN, or in a
  CSV one of the text codes ``"" NA na nan n/a N/A .``. The others are dropped
  and counted: ``n_dropped = n_read − n_used``.
* ``time`` must be a number >= 0 and ``event`` 0/1 or true/false on every used
  row, ``weight`` (case weights) > 0 and finite; otherwise
  :class:`~survstudy.errors.DataError` (naming the column, never a row's values).
* Grouping/stratum values are *levels*: numbers that are whole become ``int``
  (2.0 -> 2), booleans ``int``, text is stripped (:func:`level_value`); levels are
  ordered by :func:`level_sort_key` (numbers numerically, then text), the order
  of the CLI's ``factor_codes``. Codes in results index those tuples.
* Times are grouped by their exact value; the driver merges near-ties.
* Results are the containers of :mod:`survstudy.stats.sufficient`, with NumPy
  arrays sorted as documented there.

Optional methods (callers check with ``getattr``; an engine without them says
"not available with engine NAME"):

* ``cox_robust(source, *, time, event, terms, beta, center, table, strata=None,
  weight=None, where=None, cluster=None) -> ndarray (p, p)`` — Σ over rows of the
  score residuals' cross-products, joining the rows on ``(s_, t_)`` to ``table``
  (columns of :func:`survstudy.stats.sufficient.robust_join_table`; SQL:
  :func:`survstudy.engines.sql.robust_sql`); with ``cluster`` (a column) the
  residuals are summed within each cluster value first. Every engine has it.
* ``concordance_cells(source, *, time, event, terms, strata=None, weight=None,
  where=None, cluster=None, limit=5_000_000, n_rows=None) -> ConcordanceCells`` —
  the used rows grouped by (stratum, time, event, every term's value[, cluster])
  with their count, Σ w and Σ w² (SQL:
  :func:`survstudy.engines.sql.concordance_cells_sql`); more than ``limit``
  records: ``complete=False`` and no records (an estimate of their number first,
  :func:`~survstudy.engines.sql.cells_estimate_sql`, unless ``n_rows <= limit``).
  Every engine has it.

The Cox passes (``cox_moments``, ``cox_sums``, ``cox_robust``,
``concordance_cells``) accept ``cluster=None``: a cluster column is then a used
column (rows where it is missing are dropped from every pass, as in memory).
* ``table1_stats(source, *, numeric=(), categorical=(), group=None, where=None)
  -> Table1Stats`` — overall and per group level (SQL:
  :func:`~survstudy.engines.sql.numeric_summary_sql`,
  :func:`~survstudy.engines.sql.category_counts_sql`). The memory and DuckDB engines
  have it.
"""

from __future__ import annotations

import glob
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from survstudy.errors import DataError
from survstudy.stats.sufficient import ConcordanceCells, CoxMoments, CoxSums, RiskCounts

__all__ = [
    "CONCORDANCE_CELL_LIMIT",
    "ENGINES",
    "MISSING_TEXT",
    "CategoryCount",
    "ConcordanceCells",
    "CoxMoments",
    "CoxSums",
    "Engine",
    "NumericSummary",
    "RiskCounts",
    "Source",
    "Table1Stats",
    "Term",
    "level_sort_key",
    "level_value",
    "order_levels",
]

ENGINES = ("memory", "duckdb", "spark")

#: default most records for :meth:`concordance_cells` (a few hundred MB on the driver at p = 12)
CONCORDANCE_CELL_LIMIT = 5_000_000

#: text codes read as missing in CSV files (as the in-memory readers do)
MISSING_TEXT = ("", "NA", "na", "nan", "NaN", "n/a", "N/A", ".")


@dataclass(frozen=True)
class Source:
    """Where the rows are: data files read in place, or in-memory columns.

    ``paths``: file paths or glob patterns (``data/*.parquet``, a partitioned
    directory's ``**/*.parquet``); ``format`` is ``"parquet"``, ``"csv"`` or
    ``"auto"`` (from the first path's extension: ``.parquet``/``.pq`` -> parquet,
    ``.csv``/``.txt``/``.tsv`` -> csv, a directory -> parquet files below it).
    ``columns``: an in-memory table, column name -> 1-d array (all the same
    length; float NaN or ``None`` in an object array = missing).
    Exactly one of ``paths`` and ``columns`` is given.
    """

    paths: tuple[str, ...] = ()
    format: str = "auto"
    columns: Mapping[str, NDArray[Any]] | None = field(default=None, compare=False)

    @classmethod
    def from_path(cls, path: str | Sequence[str], format: str = "auto") -> Source:
        paths = (path,) if isinstance(path, str) else tuple(path)
        if not paths:
            raise DataError("no data file given")
        return cls(paths=paths, format=format)

    @classmethod
    def from_arrays(cls, columns: Mapping[str, ArrayLike]) -> Source:
        cols = {k: np.asarray(v) for k, v in columns.items()}
        sizes = {v.shape[0] for v in cols.values()}
        if len(sizes) > 1:
            raise DataError("in-memory columns must all have the same length")
        return cls(columns=cols)

    @property
    def in_memory(self) -> bool:
        return self.columns is not None

    def file_format(self) -> str:
        """``"parquet"`` or ``"csv"``: ``format`` or guessed from the first path."""
        if self.format in ("parquet", "csv"):
            return self.format
        if self.format != "auto":
            raise DataError(f"format must be parquet, csv or auto, not {self.format!r}")
        p = self.paths[0].lower()
        if p.endswith((".csv", ".txt", ".tsv", ".csv.gz")):
            return "csv"
        return "parquet"

    def expanded_paths(self) -> list[str]:
        """The files the paths and globs name (a directory: every Parquet file below it;
        a URL such as ``hdfs://…`` or ``s3://…`` is passed on as it is).

        Raises :class:`DataError` when nothing matches.
        """
        import os

        out: list[str] = []
        for p in self.paths:
            if "://" in p:  # hdfs://, s3://, file://: the engine resolves it
                out.append(p)
            elif os.path.isdir(p):
                out += sorted(glob.glob(os.path.join(p, "**", "*.parquet"), recursive=True))
            elif any(ch in p for ch in "*?["):
                out += sorted(glob.glob(p, recursive=True))
            elif os.path.exists(p):
                out.append(p)
            else:
                raise DataError("file not found", file=p)
        if not out:
            raise DataError("no data files match", file=", ".join(self.paths))
        return out


@dataclass(frozen=True)
class Term:
    """One column of the Cox design.

    ``level is None``: the numeric column ``column`` as it is. Otherwise the
    indicator ``1 if column == level else 0`` (dummy coding; ``level`` is a value
    from :meth:`Engine.levels`, compared after :func:`level_value`). ``name`` is
    the term's label in results (default ``column`` or ``column[level]``).
    """

    column: str
    level: Any = None
    name: str = ""

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        return self.column if self.level is None else f"{self.column}[{self.level}]"


def level_value(v: Any) -> Any:
    """A level: whole numbers as ``int`` (2.0 -> 2), other numbers as ``float``, text stripped
    (numbers written as text become numbers, as the CLI's reader does)."""
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return int(f) if f.is_integer() else f
    s = str(v).strip()
    try:
        f = float(s)
    except ValueError:
        return s
    if not math.isfinite(f):
        return s
    return int(f) if f.is_integer() else f


def level_sort_key(v: Any) -> tuple[bool, float, str]:
    """Numbers first, numerically; then text, alphabetically (the CLI's ``factor_codes`` order)."""
    if isinstance(v, str):
        return (True, 0.0, v)
    return (False, float(v), str(v))


def order_levels(values: Sequence[Any]) -> tuple[tuple[Any, ...], NDArray[np.intp]]:
    """Distinct levels in level order and, for each input value, its code.

    ``values`` are raw values from an engine (already non-missing); they are
    passed through :func:`level_value` first. Engines use this so that every
    engine codes levels identically.
    """
    arr = np.asarray(values)
    if arr.ndim == 1 and arr.dtype.kind in "iufb":
        # many cells, few distinct values: normalise the distinct values only
        raw, inv = np.unique(arr, return_inverse=True)
        lv_raw = [level_value(v) for v in raw.tolist()]
        uniq = sorted(set(lv_raw), key=level_sort_key)
        pos = {u: i for i, u in enumerate(uniq)}
        remap = np.array([pos[v] for v in lv_raw], dtype=np.intp)
        return tuple(uniq), remap[inv.reshape(-1)]
    cache: dict[Any, Any] = {}
    lv = []
    for v in values:
        key = (type(v), v)
        if key not in cache:
            cache[key] = level_value(v)
        lv.append(cache[key])
    uniq = sorted(set(lv), key=level_sort_key)
    pos = {u: i for i, u in enumerate(uniq)}
    return tuple(uniq), np.array([pos[v] for v in lv], dtype=np.intp)


@dataclass(frozen=True)
class NumericSummary:
    """One numeric column in one group (``group is None``: all rows read).

    ``n`` non-missing values, ``n_missing`` missing ones; mean, sample SD
    (n − 1), min, max and the exact quartiles by linear interpolation between
    order statistics (R's type 7; DuckDB ``quantile_cont``, Spark ``percentile``).
    """

    column: str
    group: Any
    n: int
    n_missing: int
    mean: float
    sd: float
    min: float
    q1: float
    median: float
    q3: float
    max: float


@dataclass(frozen=True)
class CategoryCount:
    """Rows with ``column == level`` in ``group`` (``level is None``: missing;
    ``group is None``: all rows read)."""

    column: str
    group: Any
    level: Any
    n: int


@dataclass(frozen=True)
class Table1Stats:
    """Descriptive statistics for a Table 1, overall and per group level (level order)."""

    numeric: tuple[NumericSummary, ...]
    counts: tuple[CategoryCount, ...]


@runtime_checkable
class Engine(Protocol):
    """What every engine implements (contract in the module docstring)."""

    name: str

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
        """Per (stratum, group, distinct time): weighted events and exits, sorted by the keys.

        One record per combination that occurs in the data (no zero rows).
        With ``group``/``strata`` ``None`` the codes are all 0 and the level
        tuples empty. Kaplan–Meier (per group) and the log-rank family (groups
        within strata) follow on the driver.
        """
        ...

    def levels(
        self,
        source: Source,
        column: str,
        *,
        required: Sequence[str] = (),
        where: str | None = None,
    ) -> tuple[Any, ...]:
        """Distinct non-missing values of ``column`` in level order, over the read rows
        where ``column`` and every column in ``required`` are non-missing."""
        ...

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
        center: NDArray[np.float64] | None = None,
        cluster: str | None = None,
    ) -> CoxMoments:
        """One pass over the used rows: n, events, weighted means of the terms, 0/1 checks;
        with ``center`` also ``Σ|x − center|`` (a sum, unweighted) and
        ``Σ (x − center)(x − center)ᵀ`` (unweighted). ``cluster``: a column that must be
        non-missing for a row to be used."""
        ...

    def cox_sums(
        self,
        source: Source,
        *,
        time: str,
        event: str,
        terms: Sequence[Term],
        beta: NDArray[np.float64],
        center: NDArray[np.float64],
        strata: str | None = None,
        weight: str | None = None,
        where: str | None = None,
        cluster: str | None = None,
    ) -> CoxSums:
        """Per (stratum, distinct time) at ``beta`` (original covariate scale), with
        ``x_c = x − center`` and ``η = x_c·β``: e0, e1, e2 over all rows, d0, d1, d2,
        d_x, d_eta over event rows, event count and weight (see CoxSums). ``cluster`` as in
        :meth:`cox_moments`."""
        ...

    def close(self) -> None:
        """Release connections/sessions (idempotent)."""
        ...

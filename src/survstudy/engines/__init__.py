"""Data engines: per-distinct-time sufficient statistics from in-memory columns, DuckDB or Spark.

:mod:`.base` declares the interface (the :class:`~survstudy.engines.base.Engine`
protocol and its types); :mod:`.memory`, :mod:`.duckdb` and :mod:`.spark` implement
it; :mod:`.analyses` runs Kaplan–Meier, log-rank and Cox regression through any of
them. Get an engine with :func:`get_engine`.
"""

from __future__ import annotations

from typing import Any

from survstudy.engines.base import ENGINES, Engine, Source, Term
from survstudy.errors import AnalysisError

__all__ = ["ENGINES", "Engine", "Source", "Term", "get_engine"]


def get_engine(name: str, **options: Any) -> Engine:
    """An engine by name: ``memory``, ``duckdb`` (options ``memory_limit="4GB"``,
    ``threads=2``) or ``spark`` (option ``master="local[2]"`` or a cluster URL)."""
    if name == "memory":
        from survstudy.engines.memory import MemoryEngine

        return MemoryEngine()
    if name == "duckdb":
        from survstudy.engines.duckdb import DuckDBEngine

        unknown = sorted(set(options) - {"memory_limit", "threads", "temp_directory"})
        if unknown:
            raise AnalysisError(
                f"unknown duckdb engine option {unknown[0]!r}; "
                "use memory_limit, threads or temp_directory"
            )
        return DuckDBEngine(**options)
    if name == "spark":
        try:
            from survstudy.engines.spark import SparkEngine  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:
            raise AnalysisError(f"the spark engine is not available: {exc}") from None
        engine: Engine = SparkEngine(**options)
        return engine
    raise AnalysisError(f"engine must be one of {', '.join(ENGINES)}, not {name!r}")

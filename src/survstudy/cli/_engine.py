"""``--engine memory|duckdb|spark`` for the quick commands and ``run``.

``memory`` (the default) is the ordinary path: the file is read into memory.
``duckdb`` reads Parquet/CSV files (paths or globs) in place; ``spark`` runs the
same SQL on a Spark session. ``--engine-opt KEY=VALUE`` (repeatable) passes
engine settings: ``memory_limit=4GB``, ``threads=2``, ``temp_directory=DIR``
(DuckDB); ``master=local[2]`` or a cluster URL (Spark).
"""

from __future__ import annotations

from typing import Annotated, Any

from survstudy.cli._decl import Option, echo
from survstudy.errors import AnalysisError, DataError

__all__ = [
    "EngineOpt",
    "EngineOption",
    "SparkMaster",
    "engine_options",
    "open_engine",
    "source_for",
    "with_spark_master",
]

EngineOption = Annotated[
    str,
    Option(
        "--engine",
        help="memory (default: read the file into memory), duckdb (Parquet/CSV read in "
        "place, for files larger than memory) or spark.",
    ),
]
EngineOpt = Annotated[
    list[str] | None,
    Option(
        "--engine-opt",
        help="Engine setting KEY=VALUE (repeatable): memory_limit=4GB, threads=2 (duckdb); "
        "master=local[2] (spark).",
    ),
]

SparkMaster = Annotated[
    str | None,
    Option(
        "--spark-master",
        help="Spark master URL for --engine spark: local[2] (default), spark://host:7077, yarn, "
        "k8s://… (same as --engine-opt master=URL).",
    ),
]

_INT_OPTS = {"threads"}


def with_spark_master(opts: list[str] | None, master: str | None) -> list[str] | None:
    """``--spark-master URL`` as the engine setting ``master=URL`` (it wins over --engine-opt)."""
    if master is None:
        return opts
    return [*(opts or []), f"master={master}"]


def parse_opts(items: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise AnalysisError(f"--engine-opt must look like KEY=VALUE, not {item!r}")
        k, v = (s.strip() for s in item.split("=", 1))
        if k in _INT_OPTS:
            try:
                out[k] = int(v)
            except ValueError:
                raise AnalysisError(f"--engine-opt {k} must be a whole number") from None
        else:
            out[k] = v
    return out


def engine_options(name: str, opts: list[str] | None) -> dict[str, Any]:
    """Checked engine name, parsed ``--engine-opt`` settings (AnalysisError when wrong)."""
    from survstudy.engines.base import ENGINES

    if name not in ENGINES:
        raise AnalysisError(f"--engine must be one of {', '.join(ENGINES)}, not {name!r}")
    return parse_opts(opts)


def open_engine(name: str, opts: list[str] | None) -> Any:
    """The engine called ``name`` (AnalysisError for an unknown name)."""
    from survstudy.engines import get_engine
    from survstudy.engines.base import ENGINES

    if name not in ENGINES:
        raise AnalysisError(f"--engine must be one of {', '.join(ENGINES)}, not {name!r}")
    return get_engine(name, **parse_opts(opts))


def source_for(file: str, engine: str) -> Any:
    """A :class:`survstudy.engines.base.Source` for a Parquet/CSV path or glob."""
    from survstudy.engines.base import Source

    low = file.lower()
    if low.endswith((".xlsx", ".xls", ".sav", ".dta", ".zsav")):
        raise DataError(
            f"engine {engine} reads Parquet or CSV files; convert the file or use --engine memory",
            file=file,
        )
    return Source.from_path(file)


def not_available(what: str, engine: str) -> AnalysisError:
    return AnalysisError(f"{what} is not available with engine {engine}; use --engine memory")


def _available_memory() -> int | None:
    """Free memory in bytes (Linux ``MemAvailable``), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def resolve_engine(name: str, file: str, *, expansion: int = 4) -> str:
    """``memory`` becomes ``duckdb`` for Parquet/CSV data whose size times ``expansion``
    exceeds the free memory, with a note on stderr; any other choice is kept.

    ``expansion``: how many times the file size reading takes in memory — 4 for the quick
    commands' columns; ``survstudy run`` builds a typed cohort from every cell (measured
    peak ≈ 36x a zstd Parquet registry, 1.7 GB for 10^6 rows of 48 MB), so it passes 50.
    """
    if name != "memory":
        return name
    import glob
    import os

    low = file.lower()
    if not (
        low.endswith((".parquet", ".pq", ".csv", ".txt", ".tsv"))
        or os.path.isdir(file)
        or any(ch in file for ch in "*?[")
    ):
        return name
    if os.path.isdir(file):
        files = glob.glob(os.path.join(file, "**", "*.parquet"), recursive=True)
    else:
        files = glob.glob(file, recursive=True)
    try:
        size = sum(os.path.getsize(f) for f in files)
    except OSError:
        return name
    avail = _available_memory()
    if avail is None or size * expansion <= avail:
        return name
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return name
    echo(
        f"note: the data ({size / 2**30:.1f} GiB) are too large to read into the free "
        "memory; using --engine duckdb",
        err=True,
    )
    return "duckdb"

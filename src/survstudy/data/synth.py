"""A synthetic patient registry with known true hazard ratios, written as Parquet in chunks.

For testing and benchmarking the engines at registry scale (10^6 … 10^8 rows):
the data are generated block by block and streamed to Parquet files, so memory
is bounded by one row group, never by ``n``.

The model (all parameters are written to ``_registry.json`` next to the files)::

    T  = (E / (lambda_s * exp(eta)))^(1/k),  E ~ Exp(1)     Weibull PH, shape k,
    eta = gamma_group + sum_j beta_j x_j                    stratum-specific scale lambda_s
    C  = min(admin, dropout),  admin ~ U(a0, a1) days, dropout ~ Exp(rate)
    time = ceil(min(T, C)) days (>= 1),  event = [T <= C]

so a Cox model stratified by ``region`` with the group dummies and x1..xp has
true log-hazard ratios gamma (vs the first group) and beta. Rounding to whole
days creates ties (as registries record dates), which Efron's approximation
handles; at the scales here the rounding bias is far below the standard error.

Reproducibility: rows are produced in fixed blocks of :data:`BLOCK_ROWS`, block
``b`` drawn from ``SeedSequence(seed, spawn_key=(b,))``. The rows therefore do
not depend on the chunk size (files are cuts of the same stream) and the first
m rows of a registry of size n are the registry of size m.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from survstudy.errors import DataError

__all__ = [
    "BLOCK_ROWS",
    "RegistryDesign",
    "SynthSummary",
    "iter_blocks",
    "write_registry",
]

BLOCK_ROWS = 65_536
_ROW_GROUP = 1 << 20
FORMAT_VERSION = 1
# A leading underscore: pyarrow, DuckDB globs of *.parquet and Spark all skip it when reading
# the directory as a data set.
METADATA_NAME = "_registry.json"

# Log-hazard ratios of x1, x2, … (cycled when p > 10); one is exactly zero so a
# null effect is part of every check.
_BETA_CYCLE = (0.5, -0.4, 0.3, -0.2, 0.1, 0.0, 0.25, -0.15, 0.05, -0.3)
_GROUP_LEVELS = ("A", "B", "C", "D")
_GROUP_LOGHR = (0.0, -0.3, 0.2, 0.4)  # vs "A"
_REGIONS = ("north", "east", "south", "west")
_REGION_PROB = (0.4, 0.25, 0.2, 0.15)
_REGION_MEDIAN_DAYS = (900.0, 700.0, 1100.0, 600.0)  # baseline median (eta = 0)


@dataclass(frozen=True)
class RegistryDesign:
    """The true model of the synthetic registry (defaults as documented in the module)."""

    p: int = 10
    groups: int = 3
    weibull_shape: float = 1.2
    binary_prob: float = 0.4
    admin_min_days: float = 3 * 365.0
    admin_max_days: float = 8 * 365.0
    dropout_per_year: float = 0.03

    def __post_init__(self) -> None:
        if self.p < 0:
            raise DataError(f"p must be >= 0, not {self.p}")
        if not 2 <= self.groups <= len(_GROUP_LEVELS):
            raise DataError(f"groups must be between 2 and {len(_GROUP_LEVELS)}, not {self.groups}")

    @property
    def covariates(self) -> tuple[str, ...]:
        return tuple(f"x{j}" for j in range(1, self.p + 1))

    @property
    def binary(self) -> tuple[bool, ...]:
        """Every third covariate is binary (Bernoulli(binary_prob)); the others N(0, 1)."""
        return tuple(j % 3 == 0 for j in range(1, self.p + 1))

    @property
    def beta(self) -> tuple[float, ...]:
        return tuple(_BETA_CYCLE[j % len(_BETA_CYCLE)] for j in range(self.p))

    @property
    def group_levels(self) -> tuple[str, ...]:
        return _GROUP_LEVELS[: self.groups]

    @property
    def group_loghr(self) -> tuple[float, ...]:
        return _GROUP_LOGHR[: self.groups]

    @property
    def region_lambda(self) -> tuple[float, ...]:
        """Weibull scale per stratum: S0(t) = exp(-lambda t^k), median m -> lambda = ln2 / m^k."""
        return tuple(math.log(2.0) / m**self.weibull_shape for m in _REGION_MEDIAN_DAYS)

    def metadata(self) -> dict[str, Any]:
        return {
            "model": (
                "Weibull proportional hazards stratified by region: h(t) = lambda_region * k * "
                "t^(k-1) * exp(gamma_group + sum_j beta_j x_j); censoring min(U(admin_min, "
                "admin_max), Exp(dropout)); time = ceil(min(T, C)) days, event = T <= C"
            ),
            "true_log_hr": {
                **{
                    f"group={lvl}": g
                    for lvl, g in zip(self.group_levels[1:], self.group_loghr[1:], strict=True)
                },
                **dict(zip(self.covariates, self.beta, strict=True)),
            },
            "reference_group": self.group_levels[0],
            "covariates": [
                {
                    "name": name,
                    "kind": "binary" if b else "numeric",
                    "distribution": f"Bernoulli({self.binary_prob})" if b else "Normal(0, 1)",
                    "true_log_hr": beta,
                }
                for name, b, beta in zip(self.covariates, self.binary, self.beta, strict=True)
            ],
            "group": {
                "levels": list(self.group_levels),
                "probabilities": [1.0 / self.groups] * self.groups,
                "true_log_hr_vs_reference": list(self.group_loghr),
            },
            "stratum": {
                "column": "region",
                "levels": list(_REGIONS),
                "probabilities": list(_REGION_PROB),
                "baseline_median_days": list(_REGION_MEDIAN_DAYS),
                "weibull_lambda": list(self.region_lambda),
            },
            "weibull_shape": self.weibull_shape,
            "censoring": {
                "admin_uniform_days": [self.admin_min_days, self.admin_max_days],
                "dropout_rate_per_year": self.dropout_per_year,
            },
            "cox_model_for_truth": (
                "time, event ~ group + " + " + ".join(self.covariates) + ", strata(region)"
                if self.p
                else "time, event ~ group, strata(region)"
            ),
        }


def _block(design: RegistryDesign, seed: int, b: int) -> dict[str, np.ndarray]:
    """Rows [b*BLOCK_ROWS, (b+1)*BLOCK_ROWS) of the registry: column name -> array.

    The draws happen in a fixed order on a fixed-length block, so a row's
    values depend only on (seed, its index, design).
    """
    m = BLOCK_ROWS
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(b,)))
    region = rng.choice(len(_REGIONS), size=m, p=np.asarray(_REGION_PROB)).astype(np.int8)
    group = rng.integers(0, design.groups, size=m, dtype=np.int8)
    eta = np.asarray(design.group_loghr)[group]
    cols: dict[str, np.ndarray] = {}
    for name, binary, beta in zip(design.covariates, design.binary, design.beta, strict=True):
        if binary:
            x: np.ndarray = (rng.random(m) < design.binary_prob).astype(np.int8)
        else:
            x = rng.standard_normal(m)
        cols[name] = x
        eta = eta + beta * x
    lam = np.asarray(design.region_lambda)[region]
    t_event = (rng.standard_exponential(m) / (lam * np.exp(eta))) ** (1.0 / design.weibull_shape)
    admin = rng.uniform(design.admin_min_days, design.admin_max_days, size=m)
    dropout = rng.standard_exponential(m) * (365.25 / design.dropout_per_year)
    censor = np.minimum(admin, dropout)
    event = t_event <= censor
    days = np.maximum(np.ceil(np.minimum(t_event, censor)), 1.0).astype(np.int32)
    out: dict[str, np.ndarray] = {
        "patient_id": np.arange(b * m + 1, (b + 1) * m + 1, dtype=np.int64),
        "time": days,
        "event": event.astype(np.int8),
        "group": group,
        "region": region,
    }
    out.update(cols)
    return out


def iter_blocks(
    n: int, seed: int, design: RegistryDesign | None = None
) -> Iterator[dict[str, np.ndarray]]:
    """Yield the first ``n`` rows as consecutive blocks (codes for group and region)."""
    design = design or RegistryDesign()
    for b in range(-(-n // BLOCK_ROWS)):
        blk = _block(design, seed, b)
        keep = min(BLOCK_ROWS, n - b * BLOCK_ROWS)
        yield {k: v[:keep] for k, v in blk.items()} if keep < BLOCK_ROWS else blk


@dataclass(frozen=True)
class SynthSummary:
    """What :func:`write_registry` wrote."""

    out: str
    n: int
    events: int
    files: tuple[str, ...]
    rows_per_file: tuple[int, ...]
    metadata_path: str
    max_rows_in_memory: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "out": self.out,
            "n": self.n,
            "events": self.events,
            "files": list(self.files),
            "rows_per_file": list(self.rows_per_file),
            "metadata": self.metadata_path,
        }


def _arrow_table(cols: dict[str, np.ndarray], design: RegistryDesign) -> Any:
    import pyarrow as pa

    group_dict = pa.array(design.group_levels, pa.string())
    region_dict = pa.array(_REGIONS, pa.string())
    arrays = {
        "patient_id": pa.array(cols["patient_id"]),
        "time": pa.array(cols["time"]),
        "event": pa.array(cols["event"]),
        "group": pa.DictionaryArray.from_arrays(pa.array(cols["group"]), group_dict),
        "region": pa.DictionaryArray.from_arrays(pa.array(cols["region"]), region_dict),
    }
    for name in design.covariates:
        arrays[name] = pa.array(cols[name])
    return pa.table(arrays)


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if len(parts) == 1:
        return parts[0]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def write_registry(
    out: str | Path,
    n: int,
    *,
    seed: int = 1,
    chunk: int = 5_000_000,
    design: RegistryDesign | None = None,
    overwrite: bool = False,
    row_group: int = _ROW_GROUP,
) -> SynthSummary:
    """Write a synthetic registry of ``n`` rows to ``out/part-NNNNN.parquet``, ``chunk`` rows each.

    Rows are streamed: at most one row group (``min(chunk, row_group)`` rows,
    plus one generation block) is held in memory at any time. ``_registry.json``
    in ``out`` records the true model, the seed, the files and the realised
    event count. Raises :class:`DataError` for invalid sizes or when ``out``
    already holds a registry and ``overwrite`` is false.
    """
    import pyarrow.parquet as pq

    design = design or RegistryDesign()
    if n < 1:
        raise DataError(f"--n must be a positive number of rows, not {n}")
    if chunk < 1:
        raise DataError(f"--chunk must be a positive number of rows, not {chunk}")
    outdir = Path(out)
    if outdir.exists() and not outdir.is_dir():
        raise DataError(f"{outdir} exists and is not a directory")
    existing = sorted(outdir.glob("part-*.parquet")) if outdir.is_dir() else []
    if existing and not overwrite:
        raise DataError(
            f"{outdir} already holds a registry ({len(existing)} Parquet files)",
            hint="choose another --out or pass --overwrite",
        )
    outdir.mkdir(parents=True, exist_ok=True)
    for old in existing:
        old.unlink()
    (outdir / METADATA_NAME).unlink(missing_ok=True)

    n_files = -(-n // chunk)
    width = max(5, len(str(n_files - 1)))
    group_rows = max(1, min(chunk, row_group))
    files: list[str] = []
    rows_per_file: list[int] = []
    events = 0
    max_held = 0

    blocks = iter_blocks(n, seed, design)
    pending: list[dict[str, np.ndarray]] = []
    pending_rows = 0

    def take(k: int) -> dict[str, np.ndarray]:
        """Remove and return the next ``k`` rows of the stream (k <= what is available)."""
        nonlocal pending_rows
        got: list[dict[str, np.ndarray]] = []
        need = k
        while need:
            head = pending[0]
            size = len(head["time"])
            if size <= need:
                got.append(pending.pop(0))
                need -= size
            else:
                got.append({c: v[:need] for c, v in head.items()})
                pending[0] = {c: v[need:] for c, v in head.items()}
                need = 0
        pending_rows -= k
        return _concat(got)

    for f in range(n_files):
        file_rows = min(chunk, n - f * chunk)
        path = outdir / f"part-{f:0{width}d}.parquet"
        writer = None
        written = 0
        try:
            while written < file_rows:
                want = min(group_rows, file_rows - written)
                while pending_rows < want:
                    blk = next(blocks)
                    pending.append(blk)
                    pending_rows += len(blk["time"])
                max_held = max(max_held, pending_rows)
                cols = take(want)
                events += int(cols["event"].sum())
                table = _arrow_table(cols, design)
                if writer is None:
                    writer = pq.ParquetWriter(path, table.schema, compression="zstd")
                writer.write_table(table, row_group_size=want)
                written += want
        finally:
            if writer is not None:
                writer.close()
        files.append(path.name)
        rows_per_file.append(file_rows)

    meta = {
        "generator": "survstudy synth-registry",
        "format_version": FORMAT_VERSION,
        "seed": seed,
        "n": n,
        "events": events,
        "block_rows": BLOCK_ROWS,
        "chunk_rows": chunk,
        "files": [
            {"name": name, "rows": rows} for name, rows in zip(files, rows_per_file, strict=True)
        ],
        "columns": {
            "patient_id": "int64, synthetic 1..n",
            "time": "int32, follow-up in whole days (>= 1)",
            "event": "int8, 1 = event, 0 = censored",
            "group": f"dictionary string, levels {list(design.group_levels)}",
            "region": f"dictionary string, levels {list(_REGIONS)} (stratum)",
            **{
                name: "int8 0/1" if b else "float64"
                for name, b in zip(design.covariates, design.binary, strict=True)
            },
        },
        **design.metadata(),
    }
    meta_path = outdir / METADATA_NAME
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return SynthSummary(
        out=str(outdir),
        n=n,
        events=events,
        files=tuple(files),
        rows_per_file=tuple(rows_per_file),
        metadata_path=str(meta_path),
        max_rows_in_memory=max_held,
    )

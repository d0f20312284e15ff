"""The in-memory executor of the cohort plan: from a spec and its data file to a :class:`Cohort`.

The file is read columnar (only the plan's columns, :func:`survstudy.data.readers.read_raw`)
and hashed; then every step of the plan (:mod:`survstudy.data.plan`) runs on whole
columns over all rows, in order, each finding going to the data-quality report as it is
found; the included rows make the cohort (one row per included patient, in spreadsheet
order, :attr:`Cohort.rows` naming each one's spreadsheet row).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from survstudy.data.cells import Cells
from survstudy.data.cohort import CategoricalColumn, Cohort, missing_column_error
from survstudy.data.expressions import (
    ExpressionTypeError,
    PlanNode,
    Value,
    evaluate,
    evaluate_node,
)
from survstudy.data.plan import CohortPlan, compile_plan
from survstudy.data.quality import IssueCollector
from survstudy.data.readers import RawTable, read_raw
from survstudy.errors import SpecError
from survstudy.spec import StudySpec, load_spec, parse_expression

__all__ = ["MemoryRun", "build_cohort", "load_cohort"]


class MemoryRun:
    """Runs a plan's steps over the columns of a :class:`RawTable` (the primitives the
    steps' ``numpy`` renderings use)."""

    def __init__(self, plan: CohortPlan, raw: RawTable) -> None:
        self.plan = plan
        self.spec = plan.spec
        self.raw = raw
        self.file = self.spec.data.path
        self.issues = IssueCollector(self.file)
        self.n = raw.n
        self.rows = np.asarray(raw.row_numbers, dtype=int)
        self.values: dict[str, Value] = {}
        self.levels: dict[str, list[str]] = {}
        self.multi: dict[str, list[tuple[str, str]]] = {}
        # category codes into self.levels[name] where the typing step computed them
        self.codes: dict[str, np.ndarray] = {}
        self.included = np.ones(self.n, dtype=bool)
        self.flow_counts: list[tuple[int, int, int]] = []
        self.counts: dict[str, int] = {}
        # joined tables (data.tables): (name, file, patients without a row)
        self.joins: list[tuple[str, str, int]] = []
        self.join_hashes: list[tuple[str, str]] = []  # (file, SHA-256) of each joined table
        self.measurements: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    # ------------------------------------------------------------------ primitives
    def spec_fail(self, message: str, key: tuple[str | int, ...]) -> SpecError:
        return SpecError(
            message,
            file=str(self.spec.path.name) if self.spec.path else None,
            line=self.spec.line_of(*key),
            key=".".join(str(k) for k in key),
            code="SPEC-EXPRESSION",
        )

    def cells(self, column: str, key: tuple[str | int, ...]) -> Cells:
        if column not in self.raw.columns:
            raise missing_column_error(self.spec, self.file, column, self.raw.columns, key)
        return self.raw.cells(column)

    def joined_run(self, table: str, columns: Sequence[str]) -> MemoryRun:
        """A run over the rows of the joined table ``data.tables[table]`` (its own file
        name in messages), for its variables' typing steps."""
        t = self.spec.data.tables[table]
        p = Path(t.path).expanduser()
        raw = read_raw(
            p if p.is_absolute() else self.spec.base_dir / p,
            fmt=t.format,
            sheet=t.sheet,
            encoding=t.encoding,
            separator=t.separator,
            decimal=t.decimal,
            display_name=t.path,
            header_row=t.header_row,
            columns=list(columns),
        )
        sub = MemoryRun(self.plan, raw)
        sub.file = t.path
        sub.issues = IssueCollector(t.path)
        return sub

    def eval_text(self, text: str, key: tuple[str | int, ...]) -> Value:
        """A spec expression over the variables (a type error names the spec's line)."""
        expr = parse_expression(text)
        env = {n: self.values[n] for n in expr.names if n in self.values}
        units = self.spec.units
        try:
            return evaluate(
                expr,
                env,
                self.n,
                days_per_month=units.days_per_month,
                days_per_year=units.days_per_year,
            )
        except ExpressionTypeError as exc:
            raise self.spec_fail(str(exc), key) from None

    def eval_node(self, node: PlanNode, text: str = "") -> Value:
        """A plan rule's tree over every column computed so far."""
        units = self.spec.units
        return evaluate_node(
            node,
            self.values,
            self.n,
            text=text,
            days_per_month=units.days_per_month,
            days_per_year=units.days_per_year,
        )

    def levels_of(self, name: str) -> list[str]:
        return self.plan.levels_of(self.levels, name)

    # ------------------------------------------------------------------ the run
    def run(self) -> Cohort:
        for step in self.plan.steps:
            step.numpy(self)
        return self.cohort(release=True)

    def input_sha256(self) -> str:
        """The data file's SHA-256; with joined tables, of the lines ``file:sha256`` of the
        main file then each joined table in the spec's order."""
        if not self.join_hashes:
            return self.raw.sha256
        return _combined_sha256([(self.file, self.raw.sha256), *self.join_hashes])

    def cohort(self, *, release: bool = False) -> Cohort:
        """The included rows as a :class:`Cohort`. ``release``: the run is over, each
        computed column is dropped once the cohort has taken its rows (peak memory)."""
        plan, spec = self.plan, self.spec
        mask = self.included
        # every row included (no population criteria): the columns need no selection
        every = bool(mask.all())
        later = _later_uses(plan.outputs)
        # read below: the applicable masks and the start dates of the measurements
        kept = {n for n in self.values if n.startswith("#applicable:")}
        kept |= {ep.start for ep in spec.endpoints.values() if ep.start is not None}
        data: dict[str, Any] = {}
        for i, out in enumerate(plan.outputs):
            source = self.values[out.source].data
            v = source if every else source[mask]
            app = (
                self.values[out.applicable].data[mask] == 1
                if out.applicable is not None
                else np.ones(len(v), dtype=bool)
            )
            if out.kind == "number":
                # a copy: the cohort's columns never share memory with the run's
                if app.all():
                    data[out.column] = (
                        np.array(v, dtype=float) if every else np.asarray(v, dtype=float)
                    )
                else:
                    data[out.column] = np.asarray(np.where(app, v, np.nan), dtype=float)
            elif out.kind == "codes":
                assert out.variable is not None
                levels = tuple(self.levels_of(out.variable))
                known = self.codes.get(out.source)
                if known is not None and list(levels) == self.levels.get(out.source):
                    # (the run's codes may be int8; the cohort's are int64)
                    codes = (known if every else known[mask]).astype(np.int64)
                    if not app.all():
                        codes[~app] = -1
                    data[out.column] = CategoricalColumn(codes, levels)
                else:
                    data[out.column] = CategoricalColumn.from_values(_where_none(app, v), levels)
            else:
                assert out.variable is not None
                order = plan.detail_order(out.variable)
                data[out.column] = CategoricalColumn.from_values(_where_none(app, v), order)
            del source, v, app
            if release and out.source not in later[i] and out.source not in kept:
                self.values.pop(out.source)
                self.codes.pop(out.source, None)
        applicable = {
            name: self.values[f"#applicable:{name}"].data[mask] == 1
            for name, var in spec.variables.items()
            if var.type not in ("identifier", "date", "text")
        }
        return Cohort(
            spec=spec,
            rows=self.rows[mask],
            columns=data,
            variables=plan.variable_infos(self.levels, self.counts, self.multi, applicable),
            endpoints=plan.endpoint_infos(self.counts),
            flow=plan.flow(self.n, self.flow_counts, self.joins),
            report=self.issues.report(),
            input_file=self.file,
            input_sha256=self.input_sha256(),
            unit=spec.units.time,
            days_per_unit=spec.units.days_per_unit,
            measurements=self.measured_by_endpoint(),
        )

    def measured_by_endpoint(
        self,
    ) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]]:
        """Time-dependent measured values per endpoint that starts at a date: (position of
        the included patient, days from the patient's start to the measurement, value);
        measurements of excluded patients or without a start date are left out."""
        mask = self.included
        position = np.cumsum(mask) - 1
        out: dict[str, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
        for var, (g, date, value) in self.measurements.items():
            per: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
            for ep_name, ep in self.spec.endpoints.items():
                if ep.start is None:
                    continue
                start = np.asarray(self.values[ep.start].data, dtype=float)[g]
                ok = mask[g] & ~np.isnan(start)
                per[ep_name] = (position[g[ok]], date[ok] - start[ok], value[ok])
            out[var] = per
        return out


def _later_uses(outputs: Sequence[Any]) -> list[set[str]]:
    """Per output, the columns that the outputs after it read."""
    uses: list[set[str]] = []
    seen: set[str] = set()
    for out in reversed(outputs):
        uses.append(set(seen))
        seen.add(out.source)
        if out.applicable is not None:
            seen.add(out.applicable)
    return uses[::-1]


def _combined_sha256(files: list[tuple[str, str]]) -> str:
    """SHA-256 of the lines ``file:sha256`` (a study read from several tables)."""
    import hashlib

    digest = hashlib.sha256()
    for name, sha in files:
        digest.update(f"{name}:{sha}\n".encode())
    return digest.hexdigest()


def _where_none(keep: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` where ``keep``, ``None`` elsewhere (an object array)."""
    out = np.asarray(values, dtype=object).copy()
    out[~keep] = None
    return out


def _read(
    plan: CohortPlan,
    data_file: str | os.PathLike[str] | None = None,
    data_format: str | None = None,
) -> RawTable:
    spec = plan.spec
    d = spec.data
    return read_raw(
        spec.data_path if data_file is None else Path(data_file),
        fmt=d.format if data_format is None else data_format,
        sheet=d.sheet,
        encoding=d.encoding,
        separator=d.separator,
        decimal=d.decimal,
        display_name=d.path,
        header_row=d.header_row,
        columns=list(plan.columns),
    )


def build_cohort(
    spec: StudySpec,
    *,
    strict: bool = True,
    data_file: str | os.PathLike[str] | None = None,
    data_format: str | None = None,
    raw: RawTable | None = None,
) -> Cohort:
    """Read, validate and derive the analysis cohort for ``spec`` (in memory).

    With ``strict`` (the default) any error in the data-quality report raises a
    :class:`~survstudy.errors.DataError` (the first error, with the count of the
    others). With ``strict=False`` the cohort is returned anyway, with the errors
    in ``cohort.report`` (what ``survstudy validate`` prints); cells that failed a
    check are missing in it. ``data_file``/``data_format`` read other bytes than
    ``spec.data.path`` (the web app's stored upload); messages name the spec's file.
    ``raw``: cells already read (an in-memory table from
    :func:`~survstudy.data.readers.read_frame`, the Python API) instead of any file.
    """
    plan = compile_plan(spec)
    if raw is None:
        raw = _read(plan, data_file, data_format)
    cohort = MemoryRun(plan, raw).run()
    if strict:
        cohort.report.raise_if_errors()
    return cohort


def load_cohort(spec_path: str | Path, *, strict: bool = True) -> Cohort:
    """:func:`load_spec` then :func:`build_cohort`."""
    return build_cohort(load_spec(spec_path), strict=strict)

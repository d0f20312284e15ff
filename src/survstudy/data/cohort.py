"""From a spec and its data file to the analysis-ready :class:`Cohort`.

Steps (each finding goes to the data-quality report):

1. read the file (read-only) and hash it;
2. check the identifier column (duplicates) and that every declared column exists;
3. type every declared column (numbers, dates, categories) over all rows;
4. compute derived variables in dependency order;
5. apply the population criteria in order -> the inclusion flow;
6. on the included patients: "applicable only when" masks, endpoint derivation
   with its consistency checks, range and missing-value checks;
7. assemble the tidy frame: one row per included patient, indexed by spreadsheet row.

Endpoint derivation from dates (see README, "Study spec and data"): time zero is
``start``; the event time is the earliest of the ``events`` dates; patients
without an event are censored at the latest ``censor`` date; a ``competing`` date
before the event ends follow-up (censored here, status 2); an event on the same
day as a competing event counts as the event; anything after the data cut-off is
censored at the cut-off; anything after ``horizon`` is censored at the horizon.
Durations are whole days (float64); events are 0.0/1.0 (NaN where the endpoint
cannot be derived, e.g. no start date).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from survstudy.data.arrow import to_numpy
from survstudy.data.cells import Cells
from survstudy.data.columnar import (
    column_categories,
    column_dates,
    column_events,
    column_missing,
    column_numbers,
    column_sublevels,
    duplicate_ids,
)
from survstudy.data.columns import norm_text
from survstudy.data.endpoints import censor_at_horizon, derive_time_to_event, nanmin
from survstudy.data.expressions import (
    ExpressionTypeError,
    Value,
    date_to_days,
    evaluate,
)
from survstudy.data.quality import IssueCollector, QualityReport, format_rows
from survstudy.data.readers import RawTable, read_raw
from survstudy.errors import DataError, SpecError
from survstudy.spec import (
    DEFAULT_MISSING,
    StudySpec,
    derivation_order,
    endpoint_columns,
    load_spec,
    parse_expression,
)
from survstudy.spec.model import DEFAULT_FALSE, DEFAULT_TRUE, VariableSpec

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CategoricalColumn",
    "Cohort",
    "EndpointInfo",
    "FlowStep",
    "VariableInfo",
    "build_cohort",
    "load_cohort",
    "spec_columns",
]


@dataclass(frozen=True, eq=False)
class VariableInfo:
    """What the runner needs to know about one variable of the cohort.

    ``column`` is the cohort frame's column (``None`` for multiselect, whose rows
    are ``options``: pairs of (row label, frame column holding 1.0/0.0/NaN)).
    ``applicable`` is a boolean mask over the frame's rows; ``denominator`` is its
    count (the seed's "Liver resection type (n=11)"); ``n_missing`` counts missing
    values among applicable patients. For a level that groups several data values
    (``I/II: [I, II]``), ``sublevels`` lists them per level and ``detail_column``
    names a frame column holding each patient's original value, so that a table
    can print "I (n=3)/II (n=4)".
    """

    name: str
    label: str
    type: str
    column: str | None
    levels: tuple[str, ...] = ()
    reference: str | None = None
    unit: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    applicable: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    applicable_when: str | None = None
    denominator: int = 0
    n_missing: int = 0
    derived: str | None = None
    detail_column: str | None = None
    sublevels: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def is_categorical(self) -> bool:
        return self.type in ("categorical", "binary")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready metadata (the applicable mask is summarised by ``denominator``)."""
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "column": self.column,
            "levels": list(self.levels),
            "reference": self.reference,
            "unit": self.unit,
            "options": [list(o) for o in self.options],
            "applicable_when": self.applicable_when,
            "denominator": self.denominator,
            "n_missing": self.n_missing,
            "derived": self.derived,
            "sublevels": {k: list(v) for k, v in self.sublevels.items()},
        }


@dataclass(frozen=True)
class EndpointInfo:
    """A derived endpoint: frame columns for time (days), event (0/1) and status (0/1/2…)."""

    name: str
    label: str
    time_column: str
    event_column: str
    status_column: str
    source: str  # "dates" or "columns"
    n: int  # patients for whom it could be derived
    events: int
    horizon_days: float | None = None
    competing: tuple[str, ...] = ()
    unit: str = "days"
    definition: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "time_column": self.time_column,
            "event_column": self.event_column,
            "status_column": self.status_column,
            "source": self.source,
            "n": self.n,
            "events": self.events,
            "horizon_days": self.horizon_days,
            "competing": list(self.competing),
            "unit": self.unit,
            "definition": self.definition,
        }


@dataclass(frozen=True)
class FlowStep:
    """One box of the inclusion flow (CONSORT-style)."""

    description: str
    n_before: int
    n_excluded: int
    n_after: int
    reason: str | None = None
    n_unknown: int = 0  # criterion could not be evaluated (missing values)

    def to_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "n_before": self.n_before,
            "n_excluded": self.n_excluded,
            "n_after": self.n_after,
            "reason": self.reason,
            "n_unknown": self.n_unknown,
        }


@dataclass(frozen=True, eq=False)
class CategoricalColumn:
    """A category column: ``codes`` into the ordered ``categories`` (-1 = missing).

    ``values`` gives the level names per row (``None`` = missing), built on first use.
    """

    codes: np.ndarray
    categories: tuple[str, ...]

    @classmethod
    def from_values(cls, values: Any, categories: tuple[str, ...]) -> CategoricalColumn:
        """From level names per row (``None`` = missing; a name not among ``categories``
        is missing too)."""
        import pyarrow as pa

        arr = np.asarray(values, dtype=object)
        codes = np.full(len(arr), -1, dtype=np.int64)
        if len(arr) and categories:
            enc = pa.array(arr, type=pa.string()).dictionary_encode()
            index = {c: k for k, c in enumerate(categories)}
            lookup = np.array(
                [index.get(v, -1) for v in enc.dictionary.to_pylist()] + [-1], dtype=np.int64
            )
            idx = to_numpy(enc.indices.fill_null(len(enc.dictionary)))
            codes = lookup[np.asarray(idx, dtype=np.int64)]
        return cls(codes, tuple(categories))

    @cached_property
    def values(self) -> tuple[str | None, ...]:
        table = [*self.categories, None]
        return tuple(table[c] for c in self.codes.tolist())

    def missing(self) -> np.ndarray:
        return np.asarray(self.codes < 0)

    def take(self, index: Any) -> CategoricalColumn:
        """The rows ``index`` (an integer or boolean index)."""
        return CategoricalColumn(self.codes[index], self.categories)


@dataclass(frozen=True, eq=False)
class Cohort:
    """One row per included patient, with the metadata, the flow and the data-quality report.

    ``frame`` (built on first use, so that ``survstudy validate`` never pays for
    pandas) is indexed by spreadsheet row number (``row``) and holds: continuous
    variables as float64, categorical/binary as ordered pandas Categoricals (level
    order from the spec), multiselect options as float 1/0, and per endpoint
    ``{name}_time`` (days, float64), ``{name}_event`` (0.0/1.0) and ``{name}_status``
    (0 censored, 1 event, 2 competing). Identifiers and dates are never in it.
    ``columns`` holds the same data as numpy arrays / :class:`CategoricalColumn`.
    """

    spec: StudySpec
    rows: np.ndarray
    columns: dict[str, np.ndarray | CategoricalColumn]
    variables: dict[str, VariableInfo]
    endpoints: dict[str, EndpointInfo]
    flow: tuple[FlowStep, ...]
    report: QualityReport
    input_file: str
    input_sha256: str
    unit: str
    days_per_unit: float

    @property
    def n(self) -> int:
        return len(self.rows)

    @cached_property
    def frame(self) -> pd.DataFrame:
        import pandas as pd

        data: dict[str, Any] = {}
        for name, col in self.columns.items():
            if isinstance(col, CategoricalColumn):
                data[name] = pd.Categorical.from_codes(
                    col.codes, categories=pd.Index(list(col.categories)), ordered=True
                )
            else:
                data[name] = col
        return pd.DataFrame(data, index=pd.Index(self.rows, name="row"))

    def time_in_units(self, endpoint: str) -> pd.Series:
        """The endpoint's durations in the spec's display unit (days / days_per_unit)."""
        info = self.endpoints[endpoint]
        return self.frame[info.time_column] / self.days_per_unit

    def to_units(self, days: Any) -> Any:
        """Convert days (a number or array) to the display unit."""
        out = np.asarray(days, dtype=float) / self.days_per_unit
        return float(out) if out.ndim == 0 else out

    def to_days(self, value: Any) -> Any:
        """Convert a time in the display unit (e.g. a 24-month landmark) to days."""
        out = np.asarray(value, dtype=float) * self.days_per_unit
        return float(out) if out.ndim == 0 else out

    def survival_data(self, endpoint: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(time in days, event 0/1, mask of patients with a derived endpoint) as numpy arrays."""
        info = self.endpoints[endpoint]
        t = np.asarray(self.columns[info.time_column], dtype=float)
        e = np.asarray(self.columns[info.event_column], dtype=float)
        ok = ~(np.isnan(t) | np.isnan(e))
        return t, e, ok


# --------------------------------------------------------------------------- building


class _Builder:
    def __init__(self, spec: StudySpec, raw: RawTable) -> None:
        self.spec = spec
        self.raw = raw
        self.file = spec.data.path
        self.issues = IssueCollector(self.file)
        self.n = raw.n
        self.rows = np.asarray(raw.row_numbers, dtype=int)
        self.values: dict[str, Value] = {}  # typed columns over all rows
        self.sensitive: set[str] = set()
        base = {norm_text(c) for c in spec.data.missing}
        self.codes = frozenset({*DEFAULT_MISSING, *(c for c in base if c is not None)})
        self.level_order: dict[str, list[str]] = {}
        self.multi: dict[str, list[tuple[str, str, np.ndarray]]] = {}
        self.details: dict[str, tuple[np.ndarray, dict[str, tuple[str, ...]]]] = {}
        self.invalid: dict[str, np.ndarray] = {}
        self.reported: set[tuple[Any, ...]] = set()
        for note in raw.notes:
            self.issues.add("FILE-ENCODING-GUESSED", note)

    # ----- helpers
    def spec_fail(self, message: str, key: tuple[str | int, ...]) -> SpecError:
        return SpecError(
            message,
            file=str(self.spec.path.name) if self.spec.path else None,
            line=self.spec.line_of(*key),
            key=".".join(str(k) for k in key),
            code="SPEC-EXPRESSION",
        )

    def column_cells(self, column: str, key: tuple[str | int, ...]) -> Cells:
        if column not in self.raw.columns:
            raise missing_column_error(self.spec, self.file, column, self.raw.columns, key)
        return self.raw.cells(column)

    def codes_for(self, var: VariableSpec) -> frozenset[str]:
        extra = {norm_text(c) for c in var.missing}
        return self.codes | frozenset(c for c in extra if c is not None)

    # ----- steps
    def pair_issue(
        self, code: str, message: str, rows: np.ndarray, column: str, start: str
    ) -> None:
        """An error about two dates of the same rows, reported once however many endpoints."""
        if len(rows) == 0:
            return
        key = (code, column, start, tuple(int(r) for r in rows))
        if key in self.reported:
            return
        self.reported.add(key)
        self.issues.add(
            code,
            message,
            rows=rows.tolist(),
            column=column,
            sensitive=True,
            hint="check both dates",
        )

    def invalid_at(self, name: str, mask: np.ndarray) -> np.ndarray:
        """Included rows whose cell for ``name`` failed a check (already an error)."""
        if name not in self.invalid:
            return np.zeros(int(mask.sum()), dtype=bool)
        return self.invalid[name][mask]

    def check_ids(self) -> None:
        id_col = self.spec.data.id
        if id_col is None:
            return
        cells = self.column_cells(id_col, ("data", "id"))
        self.sensitive.add(id_col)
        dups, missing_rows = duplicate_ids(cells)
        for rs in dups:
            self.issues.add(
                "ID-DUPLICATE",
                f"the same patient id appears on {format_rows(rs)}",
                rows=rs,
                column=id_col,
                sensitive=True,
                hint="keep one row per patient",
            )
        if missing_rows:
            self.issues.add(
                "ID-MISSING",
                "the patient id is empty",
                rows=missing_rows,
                hint="give every row its patient id",
                column=id_col,
                sensitive=True,
            )

    def read_variables(self) -> None:
        spec = self.spec
        for name, var in spec.variables.items():
            if var.derive is not None:
                continue
            key = ("variables", name)
            if var.type == "multiselect":
                self.read_multiselect(name, var)
                continue
            column = var.column or name
            cells = self.column_cells(column, key)
            codes = self.codes_for(var)
            if var.type in ("identifier", "date"):
                self.sensitive.add(column)
            if var.type == "identifier":
                continue
            present = ~column_missing(cells, codes)
            self.read_column(name, var, column, cells, codes)
            value = self.values[name]
            missing = _missing_of(value)
            # cells that hold something but failed a check: already reported as errors
            self.invalid[name] = present & missing

    def read_column(
        self, name: str, var: VariableSpec, column: str, cells: Cells, codes: frozenset[str]
    ) -> None:
        spec = self.spec
        if var.type == "date":
            days = column_dates(
                cells,
                column=column,
                codes=codes,
                issues=self.issues,
                date_format=var.date_format or spec.data.date_format,
                century_pivot=spec.data.century_pivot,
                excel_system=self.raw.date_system or spec.data.excel_date_system,
                source_kind=self.raw.kind,
            )
            self.values[name] = Value("date", days)
            return
        if var.type == "continuous" or var.cuts is not None:
            arr = column_numbers(
                cells,
                column=column,
                codes=codes,
                decimal=spec.data.decimal or self.raw.decimal,
                issues=self.issues,
            )
            self.check_range(name, var, column, arr)
            if var.cuts is not None:
                self.values[name] = self.cut(var, arr)
            else:
                self.values[name] = Value("number", arr)
            return
        levels, order = column_categories(
            cells,
            column=column,
            codes=codes,
            level_map=var.level_map(),
            issues=self.issues,
        )
        self.level_order[name] = order
        self.values[name] = Value("text", levels)
        level_map = var.level_map()
        if any(len(v) > 1 for v in level_map.values()):
            detail, groups = column_sublevels(cells, codes, level_map)
            self.details[name] = (detail, groups)

    def check_range(self, name: str, var: VariableSpec, column: str, arr: np.ndarray) -> None:
        if var.range is None:
            return
        lo, hi = var.range
        bad = (arr < lo) | (arr > hi)
        if bad.any():
            vals = sorted({float(x) for x in arr[bad]})
            shown = ", ".join(norm_text(v) or "" for v in vals[:5])
            self.issues.add(
                "RANGE",
                f"value(s) outside the plausible range [{norm_text(lo)}, {norm_text(hi)}]: {shown}",
                rows=self.rows[bad].tolist(),
                column=column,
                hint="correct the cells, or widen 'range' in the spec if they are right",
            )

    def cut(self, var: VariableSpec, arr: np.ndarray) -> Value:
        cuts = np.asarray(var.cuts, dtype=float)
        names = var.cut_names()
        idx = np.searchsorted(cuts, arr, side="right")
        table = np.empty(len(names) + 1, dtype=object)
        table[: len(names)] = list(names)
        table[len(names)] = None
        return Value("text", table[np.where(np.isnan(arr), len(names), idx)])

    def read_multiselect(self, name: str, var: VariableSpec) -> None:
        assert var.options is not None
        selected = var.selected if var.selected is not None else list(DEFAULT_TRUE)
        level_map = {"1": list(selected), "0": list(DEFAULT_FALSE)}
        out = []
        for j, (label, column) in enumerate(var.options.items()):
            cells = self.column_cells(column, ("variables", name, "options", label))
            vals, _ = column_categories(
                cells,
                column=column,
                codes=self.codes_for(var),
                level_map=level_map,
                issues=self.issues,
            )
            arr = _level_numbers(vals)
            if var.blank_is_no:
                blank = cells.map_values(lambda c: c is None or str(c).strip() == "", bool)
                arr = np.where(blank, 0.0, arr)
            out.append((label, f"{name}__{j + 1}", arr))
        self.multi[name] = out

    def derive(self) -> None:
        spec = self.spec
        for name in derivation_order(spec):
            var = spec.variables[name]
            key = ("variables", name, "derive")
            result = self.eval(str(var.derive), key)
            if var.type == "continuous":
                if result.kind != "number":
                    raise self.spec_fail(
                        f"'{name}' is continuous but its expression gives a {result.kind}", key
                    )
                self.check_range(name, var, name, result.data)
                self.values[name] = result
            elif var.type == "date":
                if result.kind != "date":
                    raise self.spec_fail(
                        f"'{name}' is a date but its expression gives a {result.kind}", key
                    )
                self.values[name] = result
            else:
                if var.cuts is not None and result.kind == "number":
                    self.values[name] = self.cut(var, result.data)
                    continue
                if result.kind == "date":
                    raise self.spec_fail(
                        f"'{name}' is {var.type} but its expression gives a date", key
                    )
                levels, order = column_categories(
                    Cells(_value_cells(result), self.rows),
                    column=name,
                    codes=frozenset(),
                    level_map=var.level_map(),
                    issues=self.issues,
                )
                self.level_order[name] = order
                self.values[name] = Value("text", levels)

    def eval(self, text: str, key: tuple[str | int, ...], mask: np.ndarray | None = None) -> Value:
        expr = parse_expression(text)
        env = {n: self.values[n] for n in expr.names if n in self.values}
        if mask is not None:
            env = {n: Value(v.kind, v.data[mask]) for n, v in env.items()}
        n = int(mask.sum()) if mask is not None else self.n
        try:
            return evaluate(
                expr,
                env,
                n,
                days_per_month=self.spec.units.days_per_month,
                days_per_year=self.spec.units.days_per_year,
            )
        except ExpressionTypeError as exc:
            raise self.spec_fail(str(exc), key) from None

    def population(self) -> tuple[np.ndarray, list[FlowStep]]:
        included = np.ones(self.n, dtype=bool)
        flow = [FlowStep("Rows in the data file", self.n, 0, self.n)]
        for i, step in enumerate(self.spec.population):
            which = "include" if step.include is not None else "exclude"
            key: tuple[str | int, ...] = ("population", i, which)
            result = self.eval(step.expression, key)
            if result.kind != "bool":
                raise self.spec_fail(
                    f"a population criterion must be a condition, not a {result.kind}", key
                )
            unknown = np.isnan(result.data) & included
            keep = result.data == 1 if which == "include" else ~(result.data == 1)
            before = int(included.sum())
            new = included & keep
            n_unknown = int(unknown.sum())
            if n_unknown:
                fate = "excluded" if which == "include" else "kept"
                self.issues.add(
                    "POPULATION-MISSING",
                    f"the criterion '{step.expression}' cannot be evaluated (missing values); "
                    f"these rows were {fate}",
                    rows=self.rows[unknown].tolist(),
                    hint="fill in the values the criterion uses",
                )
            reason = step.reason or (
                f"{'Not meeting' if which == 'include' else 'Meeting'}: {step.expression}"
            )
            flow.append(
                FlowStep(
                    description=("Included: " if which == "include" else "Excluded: ")
                    + step.expression,
                    n_before=before,
                    n_excluded=before - int(new.sum()),
                    n_after=int(new.sum()),
                    reason=reason,
                    n_unknown=n_unknown,
                )
            )
            included = new
        if self.spec.population and not included.any():
            self.issues.add(
                "NO-PATIENTS",
                "no patient meets the inclusion criteria",
                hint="check the population criteria and the dates' format",
            )
        return included, flow

    def applicable(self, mask: np.ndarray) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        n = int(mask.sum())
        for name, var in self.spec.variables.items():
            if var.applicable_when is None:
                out[name] = np.ones(n, dtype=bool)
                continue
            key = ("variables", name, "applicable_when")
            result = self.eval(var.applicable_when, key, mask)
            if result.kind != "bool":
                raise self.spec_fail(
                    f"'applicable_when' must be a condition, not a {result.kind}", key
                )
            out[name] = result.data == 1
        return out

    def endpoint_dates(self, mask: np.ndarray) -> dict[str, Any]:
        """Derive every endpoint on the included rows; return frame columns."""
        spec = self.spec
        cols: dict[str, Any] = {}
        rows = self.rows[mask]
        cutoff = date_to_days(spec.data.cutoff) if spec.data.cutoff else np.inf
        death_vars = death_variables(spec)
        for name, ep in spec.endpoints.items():
            t_col, e_col, s_col = endpoint_columns(name)
            label = ep.label or name
            if not ep.from_dates:
                time, status = self.endpoint_columns_form(name, mask)
            else:
                time, status = self.endpoint_dates_form(name, mask, cutoff, death_vars, rows)
            if ep.horizon is not None:
                time, status = censor_at_horizon(
                    time, status, ep.horizon * spec.units.days_per_unit
                )
            zero = time == 0
            if zero.any():
                self.issues.add(
                    "DURATION-ZERO",
                    f"{label}: the duration is zero days",
                    rows=rows[zero].tolist(),
                    hint="the patient contributes no follow-up; check the dates",
                )
            event = np.where(np.isnan(status), np.nan, (status == 1).astype(float))
            cols[t_col] = time
            cols[e_col] = event
            cols[s_col] = status
        return cols

    def endpoint_columns_form(self, name: str, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        spec = self.spec
        ep = spec.endpoints[name]
        assert ep.time is not None
        assert ep.event is not None
        key = ("endpoints", name)
        tcells = self.column_cells(ep.time, (*key, "time"))
        nums = column_numbers(
            tcells,
            column=ep.time,
            codes=self.codes,
            decimal=spec.data.decimal or self.raw.decimal,
            issues=self.issues,
        )
        ecells = self.column_cells(ep.event, (*key, "event"))
        codes = ep.event_codes
        ev = column_events(
            ecells,
            column=ep.event,
            codes=self.codes,
            event=codes.event if codes else None,
            censored=codes.censored if codes else None,
            competing=codes.competing if codes else (),
            issues=self.issues,
        )
        per = spec.units.days_per(ep.time_unit or spec.units.time)
        # explicit dtypes: a file with no data rows gives empty arrays, not object ones
        time = (nums * per)[mask]
        status = ev[mask]
        neg = time < 0
        if neg.any():
            self.issues.add(
                "DURATION-NONPOSITIVE",
                f"{ep.label or name}: the time is negative",
                rows=self.rows[mask][neg].tolist(),
                column=ep.time,
                hint="survival times must be zero or more",
            )
            time = np.where(neg, np.nan, time)
        missing = np.isnan(time) | np.isnan(status)
        t_given = ~column_missing(tcells, self.codes)[mask]
        e_given = ~column_missing(ecells, self.codes)[mask]
        # a cell that is there but failed a check (and a negative time) is already an error
        unreported = missing & ~(t_given & e_given)
        if unreported.any():
            self.issues.add(
                "ENDPOINT-NOT-DERIVED",
                f"{ep.label or name}: time or event missing; these patients are left out of "
                "its analyses",
                rows=self.rows[mask][unreported].tolist(),
                hint="fill in the time and the event to include them",
            )
        if missing.any():
            time = np.where(missing, np.nan, time)
            status = np.where(missing, np.nan, status)
        return time, status

    def endpoint_dates_form(
        self,
        name: str,
        mask: np.ndarray,
        cutoff: float,
        death_vars: list[str],
        rows: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        spec = self.spec
        ep = spec.endpoints[name]
        label = ep.label or name
        assert ep.start is not None
        start = self.values[ep.start].data[mask]
        events = {v: self.values[v].data[mask] for v in ep.events}
        censors = {v: self.values[v].data[mask] for v in ep.censor}
        competing = {v: self.values[v].data[mask] for v in ep.competing}
        n = len(start)
        no_start = np.isnan(start)
        unreported = no_start & ~self.invalid_at(ep.start, mask)
        if unreported.any():
            self.issues.add(
                "ENDPOINT-NOT-DERIVED",
                f"{label}: no '{ep.start}' date, so the endpoint cannot be derived; these "
                "patients are left out of its analyses",
                rows=rows[unreported].tolist(),
                hint="fill in the start date to include them",
            )
        has = ~no_start
        # date-pair checks concern two dates, not one endpoint: reported once per pair
        for var, dates in events.items():
            bad = has & (dates < start)
            if var in death_vars:
                self.pair_issue(
                    "DEATH-BEFORE-SURGERY",
                    f"the date of death ('{var}') is before the start date ('{ep.start}')",
                    rows[bad],
                    var,
                    ep.start,
                )
            else:
                self.pair_issue(
                    "EVENT-BEFORE-START",
                    f"the event date ('{var}') is before the start date ('{ep.start}')",
                    rows[bad],
                    var,
                    ep.start,
                )
        for var, dates in censors.items():
            bad = has & (dates < start)
            self.pair_issue(
                "FOLLOWUP-BEFORE-START",
                f"the last follow-up ('{var}') is before the start date ('{ep.start}')",
                rows[bad],
                var,
                ep.start,
            )
        for dv in death_vars:
            if dv not in ep.events:
                bad = has & (self.values[dv].data[mask] < start)
                self.pair_issue(
                    "DEATH-BEFORE-SURGERY",
                    f"the date of death ('{dv}') is before the start date ('{ep.start}')",
                    rows[bad],
                    dv,
                    ep.start,
                )
        d = derive_time_to_event(
            start,
            list(events.values()),
            list(censors.values()),
            list(competing.values()),
            cutoff=cutoff,
        )
        before_event = has & ~np.isnan(d.event_date) & ~np.isnan(d.followup)
        before_event &= d.followup < np.where(np.isnan(d.event_date), np.inf, d.event_date)
        if before_event.any():
            self.issues.add(
                "FOLLOWUP-BEFORE-EVENT",
                f"{label}: the last follow-up is before the event date; the event is used",
                rows=rows[before_event].tolist(),
                sensitive=True,
                hint="update the last follow-up date",
            )
        no_end = has & np.isnan(d.event_date) & np.isnan(d.followup)
        if competing:
            no_end &= np.isnan(nanmin(list(competing.values()), n))
        for var in (*ep.events, *ep.censor, *ep.competing):
            no_end &= ~self.invalid_at(var, mask)
        if no_end.any():
            what = (
                f"and no last follow-up date ({', '.join(ep.censor)})"
                if ep.censor
                else "and the endpoint has no 'censor' date"
            )
            self.issues.add(
                "FOLLOWUP-MISSING",
                f"{label}: no event date {what}, so the time cannot be derived",
                rows=rows[no_end].tolist(),
                sensitive=True,
                hint="fill in the last follow-up date"
                if ep.censor
                else "add 'censor: <last follow-up date>' to the endpoint",
            )
        if d.after_cutoff.any():
            self.issues.add(
                "EVENT-AFTER-CUTOFF",
                f"{label}: {int(d.after_cutoff.sum())} event(s) after the data cut-off "
                f"({self.spec.data.cutoff}) were censored at the cut-off",
                rows=rows[d.after_cutoff].tolist(),
                hint="move data.cutoff to count them",
            )
        time, status = d.time, d.status
        return time, status

    def death_checks(self, mask: np.ndarray) -> None:
        spec = self.spec
        rows = self.rows[mask]
        death_vars = death_variables(spec)
        event_vars = {v for ep in spec.endpoints.values() for v in ep.events}
        censor_vars = {v for ep in spec.endpoints.values() for v in ep.censor}
        for dv in death_vars:
            death = self.values[dv].data[mask]
            for var in sorted(event_vars - {dv}):
                bad = self.values[var].data[mask] > death
                if bad.any():
                    self.issues.add(
                        "PROGRESSION-AFTER-DEATH",
                        f"the event date ('{var}') is after the date of death ('{dv}')",
                        rows=rows[bad].tolist(),
                        column=var,
                        sensitive=True,
                        hint="check both dates",
                    )
            for var in sorted(censor_vars - {dv}):
                bad = self.values[var].data[mask] > death
                if bad.any():
                    self.issues.add(
                        "FOLLOWUP-AFTER-DEATH",
                        f"the last follow-up ('{var}') is after the date of death ('{dv}')",
                        rows=rows[bad].tolist(),
                        column=var,
                        sensitive=True,
                        hint="check both dates",
                    )

    def future_dates(self, mask: np.ndarray) -> None:
        """Dates after the cut-off: an error for a start date, a warning for other dates.

        Event and follow-up dates of endpoints are censored at the cut-off instead
        (EVENT-AFTER-CUTOFF).
        """
        spec = self.spec
        if spec.data.cutoff is None:
            return
        cutoff = date_to_days(spec.data.cutoff)
        handled = {
            v for ep in spec.endpoints.values() for v in (*ep.events, *ep.censor, *ep.competing)
        }
        starts = {str(ep.start) for ep in spec.endpoints.values() if ep.from_dates}
        rows = self.rows[mask]
        for name, var in spec.variables.items():
            if var.type != "date" or name not in self.values:
                continue
            if name in handled and name not in starts:
                continue
            late = self.values[name].data[mask] > cutoff
            if not late.any():
                continue
            if name in starts:
                self.issues.add(
                    "DATE-FUTURE",
                    f"the start date is after the data cut-off ({spec.data.cutoff})",
                    rows=rows[late].tolist(),
                    column=var.column or name,
                    sensitive=True,
                    severity="error",
                    hint="exclude these patients under population, or move data.cutoff",
                )
            else:
                self.issues.add(
                    "DATE-FUTURE",
                    f"the date is after the data cut-off ({spec.data.cutoff})",
                    rows=rows[late].tolist(),
                    column=var.column or name,
                    sensitive=True,
                    hint="check the date or the cut-off in the spec",
                )

    def build(self) -> Cohort:
        spec = self.spec
        if self.n == 0:
            self.issues.add("NO-ROWS", "the file has no data rows")
        self.check_ids()
        self.read_variables()
        self.derive()
        mask, flow = self.population()
        rows = self.rows[mask]
        app = self.applicable(mask)
        self.future_dates(mask)
        self.death_checks(mask)
        ep_cols = self.endpoint_dates(mask)
        data: dict[str, Any] = {}
        infos: dict[str, VariableInfo] = {}
        for name, var in spec.variables.items():
            if var.type in ("identifier", "date"):
                continue
            applicable = app[name]
            label = var.label or name
            if var.type == "multiselect":
                opts = []
                n_missing = 0
                for opt_label, col, arr in self.multi[name]:
                    values = np.where(applicable, arr[mask], np.nan)
                    data[col] = values
                    opts.append((opt_label, col))
                    n_missing = max(n_missing, int(np.isnan(values[applicable]).sum()))
                infos[name] = VariableInfo(
                    name=name,
                    label=label,
                    type=var.type,
                    column=None,
                    options=tuple(opts),
                    applicable=applicable,
                    applicable_when=var.applicable_when,
                    denominator=int(applicable.sum()),
                    n_missing=n_missing,
                )
                continue
            v = self.values[name]
            sub = v.data[mask]
            detail_column: str | None = None
            subgroups: dict[str, tuple[str, ...]] = {}
            if v.kind == "text":
                given = ~applicable & (sub != None)  # noqa: E711 - elementwise on objects
                if given.any():
                    self.issues.add(
                        "NOT-APPLICABLE-VALUE",
                        f"'{label}' has a value although it does not apply "
                        f"({var.applicable_when}); the value is ignored",
                        rows=rows[given].tolist(),
                        hint="clear the cell, or check the applicable_when condition",
                        column=var.column or name,
                    )
                levels = self.level_order.get(name) or var.level_names()
                data[name] = CategoricalColumn.from_values(
                    np.where(applicable, sub, None), tuple(levels)
                )
                n_missing = int((applicable & (sub == None)).sum())  # noqa: E711
                reference = var.reference_level() or (levels[0] if levels else None)
                if var.type == "binary" and var.reference is None and len(levels) == 2:
                    reference = levels[1]
                if reference is not None and levels and reference not in levels:
                    self.issues.add(
                        "REFERENCE-UNKNOWN",
                        f"the reference '{reference}' is not among the categories found: "
                        + ", ".join(levels),
                        column=var.column or name,
                        hint="set 'reference' to one of them, or list the levels in the spec",
                    )
                if name in self.details:
                    detail, groups = self.details[name]
                    values_order = [t for g in groups.values() for t in g]
                    data[f"{name}__detail"] = CategoricalColumn.from_values(
                        np.where(applicable, detail[mask], None),
                        tuple(dict.fromkeys(values_order)),
                    )
                    detail_column, subgroups = f"{name}__detail", groups
            else:
                values = np.where(applicable, sub, np.nan)
                data[name] = values.astype(float)
                n_missing = int(np.isnan(values[applicable]).sum())
                levels = []
                reference = None
            warn = applicable & _missing_mask_any(data[name]) & ~self.invalid_at(name, mask)
            if warn.any():
                miss_rows = rows[warn].tolist()
                self.issues.add(
                    "MISSING",
                    f"{len(miss_rows)} of {int(applicable.sum())} value(s) missing"
                    + (f" ('{label}', derived)" if var.derive else ""),
                    rows=miss_rows,
                    hint="analyses use the patients with a value",
                    column=var.column or name,
                    file="" if var.derive else None,
                )
            infos[name] = VariableInfo(
                name=name,
                label=label,
                type=var.type,
                column=name,
                levels=tuple(levels),
                reference=reference,
                unit=var.unit,
                applicable=applicable,
                applicable_when=var.applicable_when,
                denominator=int(applicable.sum()),
                n_missing=n_missing,
                derived=var.derive,
                detail_column=detail_column,
                sublevels=subgroups,
            )
        data.update(ep_cols)
        endpoints: dict[str, EndpointInfo] = {}
        for name, ep in spec.endpoints.items():
            t_col, e_col, s_col = endpoint_columns(name)
            ok = ~np.isnan(ep_cols[t_col]) & ~np.isnan(ep_cols[e_col])
            endpoints[name] = EndpointInfo(
                name=name,
                label=ep.label or name,
                time_column=t_col,
                event_column=e_col,
                status_column=s_col,
                source="dates" if ep.from_dates else "columns",
                n=int(ok.sum()),
                events=int(np.nansum(ep_cols[e_col])),
                horizon_days=ep.horizon * spec.units.days_per_unit if ep.horizon else None,
                competing=tuple(ep.competing),
                definition=endpoint_definition(spec, name),
            )
        return Cohort(
            spec=spec,
            rows=rows,
            columns=data,
            variables=infos,
            endpoints=endpoints,
            flow=tuple(flow),
            report=self.issues.report(),
            input_file=self.file,
            input_sha256=self.raw.sha256,
            unit=spec.units.time,
            days_per_unit=spec.units.days_per_unit,
        )


def _missing_of(value: Value) -> np.ndarray:
    if value.kind == "text":
        return np.asarray(value.data == None, dtype=bool)  # noqa: E711 - elementwise
    return np.isnan(value.data)


def _level_numbers(levels: np.ndarray) -> np.ndarray:
    """Level names '1'/'0' (``None`` = missing) as 1.0/0.0/NaN."""
    out = np.full(len(levels), np.nan)
    out[levels == "1"] = 1.0
    out[levels == "0"] = 0.0
    return out


def _value_cells(result: Value) -> np.ndarray:
    """An expression's values as the cells of a derived category: conditions as
    True/False, numbers as floats, text as is; ``None`` = missing."""
    if result.kind == "text":
        return np.asarray(result.data, dtype=object)
    miss = np.isnan(result.data)
    if result.kind == "bool":
        table = np.array([False, True, None], dtype=object)
        return table[np.where(miss, 2, (result.data == 1).astype(np.int64))]
    out = np.empty(len(result.data), dtype=object)
    out[:] = result.data.tolist()
    out[miss] = None
    return out


def _missing_mask_any(col: Any) -> np.ndarray:
    if isinstance(col, CategoricalColumn):
        return col.missing()
    return np.isnan(np.asarray(col, dtype=float))


def is_death_date(name: str, var: VariableSpec) -> bool:
    """The date of death: marked ``death: true``; unmarked, a name or label saying so."""
    if var.death is not None:
        return var.death
    text = f"{name} {var.label or ''}".casefold()
    return "death" in text or "died" in text or name.casefold() == "dod"


def death_variables(spec: StudySpec) -> list[str]:
    """The spec's date variables that hold a date of death (:func:`is_death_date`)."""
    return [n for n, v in spec.variables.items() if v.type == "date" and is_death_date(n, v)]


def missing_column_error(
    spec: StudySpec,
    file: str,
    column: str,
    columns: Sequence[str],
    key: tuple[str | int, ...],
) -> DataError:
    """COLUMN-MISSING: the spec names ``column`` (at ``key``), which is not among ``columns``."""
    from survstudy.spec import closest

    suggestion = closest(column, list(columns))
    line = spec.line_of(*key)
    return DataError(
        f"the spec's column '{column}' is not in the file"
        + (f" (did you mean '{suggestion}'?)" if suggestion else ""),
        file=file,
        column=column,
        rule="COLUMN-MISSING",
        hint=f"spec line {line}: fix the name in the spec, or set "
        "'column:' to the header as written in the file"
        if line
        else "fix the name in the spec",
    )


def endpoint_definition(spec: StudySpec, name: str) -> str:
    """The endpoint's derivation rule in words (for the methods paragraph)."""
    ep = spec.endpoints[name]
    label = ep.label or name
    if not ep.from_dates:
        unit = ep.time_unit or spec.units.time
        return f"{label}: time from the column '{ep.time}' ({unit}), event from '{ep.event}'."
    events = " or ".join(spec.label_of(v) for v in ep.events)
    text = f"{label}: from {spec.label_of(str(ep.start))} to the first of {events}"
    if len(ep.events) == 1:
        text = f"{label}: from {spec.label_of(str(ep.start))} to {events}"
    if ep.censor:
        text += f"; censored at {' / '.join(spec.label_of(v) for v in ep.censor)}"
    if ep.competing:
        text += f"; follow-up ends at {', '.join(spec.label_of(v) for v in ep.competing)}"
    if spec.data.cutoff:
        text += f"; administratively censored at the data cut-off ({spec.data.cutoff})"
    if ep.horizon:
        text += f"; censored at {_num(ep.horizon)} {spec.units.time}"
    return text + "."


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def spec_columns(spec: StudySpec) -> list[str]:
    """The data columns the spec uses (identifier, variables, options, endpoint columns)."""
    out: list[str] = []
    if spec.data.id is not None:
        out.append(spec.data.id)
    for name, var in spec.variables.items():
        if var.derive is not None:
            continue
        if var.type == "multiselect" and var.options is not None:
            out.extend(var.options.values())
        else:
            out.append(var.column or name)
    for ep in spec.endpoints.values():
        out.extend(c for c in (ep.time, ep.event) if c is not None)
    return list(dict.fromkeys(out))


def _read(
    spec: StudySpec,
    data_file: str | os.PathLike[str] | None = None,
    data_format: str | None = None,
) -> RawTable:
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
        columns=spec_columns(spec),
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
    :func:`~survstudy.data.readers.read_frame`) instead of any file.
    """
    if raw is None:
        raw = _read(spec, data_file, data_format)
    cohort = _Builder(spec, raw).build()
    if strict:
        cohort.report.raise_if_errors()
    return cohort


def load_cohort(spec_path: str | Path, *, strict: bool = True) -> Cohort:
    """:func:`load_spec` then :func:`build_cohort`."""
    return build_cohort(load_spec(spec_path), strict=strict)

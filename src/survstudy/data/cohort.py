"""The analysis-ready :class:`Cohort` and its metadata (variables, endpoints, flow).

The cohort is made by running the cohort plan (:mod:`survstudy.data.plan`): in memory
by :func:`survstudy.data.run_memory.build_cohort`, or by SQL in a data engine
(:mod:`survstudy.data.derive_sql`, a :class:`~survstudy.data.registry.DerivedCohort`).
Steps of the plan (each finding goes to the data-quality report):

1. read the file (read-only) and hash it;
2. check the identifier column (duplicates) and that every declared column exists;
3. type every declared column (numbers, dates, categories) over all rows;
4. compute derived variables in dependency order;
5. apply the population criteria in order -> the inclusion flow;
6. "applicable only when" masks, endpoint derivation with its consistency checks,
   range and missing-value checks (findings about the included patients);
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

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from survstudy.data.arrow import to_numpy
from survstudy.data.quality import QualityReport
from survstudy.errors import DataError
from survstudy.spec import StudySpec
from survstudy.spec.model import VariableSpec

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CategoricalColumn",
    "Cohort",
    "EndpointInfo",
    "FlowStep",
    "VariableInfo",
    "death_variables",
    "endpoint_definition",
    "is_death_date",
    "missing_column_error",
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
    #: time-dependent values measured in a joined table (``time_dependent: {date: ...}``):
    #: variable -> endpoint -> (patient position, days from the endpoint's start to the
    #: measurement, value), in the table's row order
    measurements: dict[str, dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]] = field(
        default_factory=dict
    )
    #: the rows are in :meth:`canonical_order` already (made by :meth:`in_canonical_order`)
    canonical: bool = field(default=False, repr=False, compare=False)

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

    def canonical_order(self) -> np.ndarray:
        """The rows' order by their analysis values, not by their place in the file.

        Every row's values (each column in name order: numbers with one bit pattern for
        a missing value and for ±0, category codes; then every variable's applicable
        mask) are hashed to 64 bits and the rows sorted (stably) by that hash; two rows
        with the same hash are checked to hold the same values (else the rows are sorted
        by the values themselves, column after column). Rows that tie are
        interchangeable in every analysis, so the same patients in any file order give
        the same order here, and every sum of the statistics adds the same numbers in
        the same order (issue 16, item 5). One sort of n 64-bit keys, not one per column.
        """
        h = np.full(self.n, np.uint64(0x9E3779B97F4A7C15), dtype=np.uint64)
        scratch = np.empty_like(h)
        hashed = 0
        # one key at a time (each a column-sized array): all of them only on a tie
        for k in self._iter_order_keys():
            h ^= k
            _mix64(h, scratch)
            hashed += 1
        del scratch
        if not hashed:
            return np.arange(self.n)
        # without two equal hashes every sort gives the one order: the faster unstable
        # sort, then the stable one if there are ties (rows that tie keep their file order)
        order = np.argsort(h)
        hs = h[order]
        same = hs[1:] == hs[:-1]
        if same.any():
            order = np.argsort(h, kind="stable")  # (hs and same are those of any sort)
            keys = self._order_keys()
            a, b = order[:-1][same], order[1:][same]
            if any((k[a] != k[b]).any() for k in keys):  # a collision: sort by the values
                return np.lexsort(keys[::-1])
        return order

    def _order_keys(self) -> list[np.ndarray]:
        """The values :meth:`canonical_order` sorts by, as 64-bit patterns."""
        return list(self._iter_order_keys())

    def _iter_order_keys(self) -> Iterator[np.ndarray]:
        """:meth:`_order_keys` one at a time."""
        for name in sorted(self.columns):
            col = self.columns[name]
            if isinstance(col, CategoricalColumn):
                yield np.asarray(col.codes, dtype=np.int64).view(np.uint64)
                continue
            x = np.asarray(col, dtype=np.float64) + 0.0  # -0.0 -> 0.0
            np.copyto(x, np.nan, where=np.isnan(x))  # one NaN pattern
            yield x.view(np.uint64)
        for name in sorted(self.variables):
            app = self.variables[name].applicable
            if len(app) == self.n and not app.all():
                yield np.asarray(app, dtype=np.uint64)

    def in_canonical_order(self) -> Cohort:
        """The same cohort with its rows in :meth:`canonical_order` (spreadsheet rows travel
        with their patients). The pipeline computes on it; ``cohort.frame`` of the cohort
        a user holds stays in spreadsheet order."""
        if self.canonical:
            return self
        order = self.canonical_order()
        if np.array_equal(order, np.arange(self.n)):
            return replace(self, canonical=True)
        columns: dict[str, np.ndarray | CategoricalColumn] = {
            k: v.take(order) if isinstance(v, CategoricalColumn) else np.asarray(v)[order]
            for k, v in self.columns.items()
        }
        variables = {
            k: replace(v, applicable=v.applicable[order]) if len(v.applicable) == self.n else v
            for k, v in self.variables.items()
        }
        inverse = np.empty(self.n, dtype=np.intp)
        inverse[order] = np.arange(self.n)
        measurements = {
            var: {ep: (inverse[p], d, x) for ep, (p, d, x) in per.items()}
            for var, per in self.measurements.items()
        }
        return replace(
            self,
            rows=self.rows[order],
            columns=columns,
            variables=variables,
            measurements=measurements,
            canonical=True,
        )

    def survival_data(self, endpoint: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(time in days, event 0/1, mask of patients with a derived endpoint) as numpy arrays."""
        info = self.endpoints[endpoint]
        t = np.asarray(self.columns[info.time_column], dtype=float)
        e = np.asarray(self.columns[info.event_column], dtype=float)
        ok = ~(np.isnan(t) | np.isnan(e))
        return t, e, ok


def _mix64(x: np.ndarray, scratch: np.ndarray) -> None:
    """splitmix64's finaliser, in place: every input bit affects every output bit (uint64,
    wrapping); ``scratch`` is an array like ``x`` to work in (no temporary per step)."""
    np.right_shift(x, np.uint64(30), out=scratch)
    x ^= scratch
    x *= np.uint64(0xBF58476D1CE4E5B9)
    np.right_shift(x, np.uint64(27), out=scratch)
    x ^= scratch
    x *= np.uint64(0x94D049BB133111EB)
    np.right_shift(x, np.uint64(31), out=scratch)
    x ^= scratch


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
    """The endpoint in words for the methods paragraph: the spec's ``definition:`` text
    (clinical words: origin, events, censoring), else the derivation rule of an endpoint
    from dates; an endpoint from columns without a definition gives its label only (never
    column names; the run warns ``ENDPOINT-NO-DEFINITION``)."""
    ep = spec.endpoints[name]
    label = spec.words_of(name)
    label = label[:1].upper() + label[1:]  # it opens the sentence
    if ep.definition:
        text = " ".join(ep.definition.split()).rstrip(".")
        return f"{label}: {text[:1].lower() + text[1:] if text[1:2].islower() else text}."
    if not ep.from_dates:
        # never column names (issue 22): the structure in words, the definition asked for
        text = (
            f"{label}: a composite endpoint (the earliest of its components' events; without "
            "an event, censored at the latest component time)"
            if ep.composite
            else f"{label}"
        )
        if ep.horizon:
            text += f"; censored at {_num(ep.horizon)} {spec.units.time}"
        return text + (
            "; its time origin, events and censoring were not defined in the study spec."
            if ep.composite or ep.horizon
            else ": its time origin, events and censoring were not defined in the study spec."
        )
    if ep.from_status:
        codes = ep.event_codes
        event = " or ".join(str(v) for v in codes.event) if codes else "1/true"
        end = spec.words_of(str(ep.end))
        return (
            f"{label}: from {spec.words_of(str(ep.start))} to {end}, an event where the "
            f"status at {end} is {event}, censored otherwise"
            + (
                f"; administratively censored at the data cut-off ({spec.data.cutoff})"
                if spec.data.cutoff
                else ""
            )
            + (f"; censored at {_num(ep.horizon)} {spec.units.time}" if ep.horizon else "")
            + "."
        )
    events = " or ".join(spec.words_of(v) for v in ep.events)
    text = f"{label}: from {spec.words_of(str(ep.start))} to the first of {events}"
    if len(ep.events) == 1:
        text = f"{label}: from {spec.words_of(str(ep.start))} to {events}"
    if ep.censor:
        text += f"; censored at {' / '.join(spec.words_of(v) for v in ep.censor)}"
    if ep.competing:
        text += f"; follow-up ends at {', '.join(spec.words_of(v) for v in ep.competing)}"
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
        if var.derive is not None or var.from_table is not None:
            continue
        if var.type == "multiselect" and var.options is not None:
            out.extend(var.options.values())
        else:
            out.append(var.column or name)
    for ep in spec.endpoints.values():
        out.extend(c for c in (*ep.time_parts(), *ep.event_parts()) if not spec.is_derived(c))
        if ep.status is not None:
            out.append(ep.status)
    return list(dict.fromkeys(out))

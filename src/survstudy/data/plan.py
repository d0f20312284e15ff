"""The cohort plan: a study spec compiled once into ordered steps that two executors run.

Design
------
:func:`compile_plan` turns a :class:`~survstudy.spec.StudySpec` into a
:class:`CohortPlan`: the data columns it reads, an ordered list of steps
(:mod:`survstudy.data.steps`) and the columns of the resulting cohort. A step is one
*node kind* holding both of its renderings, the columnar one (NumPy/Arrow, whole
columns, no loop over rows) and the SQL one (DuckDB and Spark SQL):

* cell typing -- identifiers, dates, numbers, categories (levels, grouped levels,
  levels found in the data), cuts, multiselect options, event columns, each with the
  missing-value codes of its column;
* derived variables (the spec's expression tree, :mod:`survstudy.data.expressions`);
* the inclusion flow (population steps) and ``applicable_when`` masks;
* endpoint rules, written here as expression trees over the columns above (internal
  ``Case``/``Null`` nodes plus ``min``/``max``/comparisons: the same node kinds users'
  expressions use, so both executors run them without a line of their own);
* declared checks: a catalogue code (:data:`survstudy.data.quality.CHECKS`, which holds
  every message and hint), a wording variant, a condition tree, a scope (all rows or the
  included ones) and the message's parameters;
* counts over the included rows (denominators, missing values, endpoint sizes).

Two executors run the same plan, step by step, in order:

* :class:`survstudy.data.run_memory.MemoryRun` (``engine="memory"``): the file is read
  columnar (only the plan's columns), every step runs on whole columns;
  findings are issued in plan order; the result is a :class:`~survstudy.data.Cohort`.
* :class:`survstudy.data.derive_sql.SqlRun` (``engine="duckdb"|"spark"``): every step
  adds columns to a chain of CTEs over the file read in place; one aggregate query counts
  every check and every count, a query per finding lists its first rows; the derived
  table is written as Parquet (:class:`~survstudy.data.registry.DerivedCohort`).

Both build the metadata (variables, endpoints, flow) with the plan's own
:meth:`CohortPlan.variable_infos`, :meth:`~CohortPlan.endpoint_infos` and
:meth:`~CohortPlan.flow`, so that the counts are the only thing an executor supplies.
Tests run every node kind both ways on the same data (``tests/engines/
test_expression_parity.py``, ``tests/engines/test_plan_parity.py``) and whole studies
both ways (``tests/engines/test_derive_sql.py``).

Known differences between the executors (the SQL one works on data that do not fit in
memory): its messages list at most :data:`survstudy.data.derive_sql.MAX_ROWS` rows
(and say how many in all), CATEGORY-UNKNOWN and EVENT-CODE give each value's count and
first/last rows, and it refuses (``SPEC-ENGINE-UNSUPPORTED``) what it does not translate
(spreadsheet formats, some date writings; see :mod:`survstudy.data.derive_sql`).

Adding to the plan
------------------
A new rule is one entry here, never one per executor. Examples:

* a **check** on existing columns (say issue 15's STATUS-DATE-CONFLICT): add its code
  and wording to :data:`~survstudy.data.quality.CHECKS`, and a
  ``Check(code, cond, scope="incl", params=...)`` step where the rule belongs, ``cond``
  a tree such as
  ``and_(eq(name("#vital:OS"), num(0)), present(name("death_date")))``;
* an **endpoint form** (issue 15's last contact date + vital status, issue 17's composite
  of time/event columns -- :func:`composite_rule` -- issue 18's competing events): a
  function like :func:`dates_rule` that returns :class:`~survstudy.data.steps.Compute`
  steps (the ``#time:``/``#status:`` columns as trees: ``Case`` picks the first true
  branch; ``min``/``max`` skip missing values; ``coalesce`` takes the first present one)
  and its ``Check`` steps (as :func:`_endpoint_from_dates` adds them), chosen in
  ``_Compiler.endpoints``;
* a **function** in expressions (``if_else``, ``log``, ``round``…): one
  :class:`~survstudy.data.expressions.FunctionKind`; its domain rule (``log``: argument
  ``<= 0``) becomes an EXPRESSION-DOMAIN check of every expression using it (see
  :func:`_domain_checks`);
* a **kind of cell** (issue 15's ``type: text``): a step class in
  :mod:`survstudy.data.steps` with ``numpy`` and ``sql``, compiled in :func:`_read`;
* a **joined table** (issue 17, ``data.tables``) is one
  :class:`~survstudy.data.steps.JoinTable` step: its variables' typing steps run over the
  table's own rows, then their values (one row per patient) or summaries (many rows)
  become columns of the main rows, and ordinary steps use them. The SQL executor refuses
  it (SPEC-ENGINE-UNSUPPORTED naming ``data.tables.NAME``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from survstudy.data.cohort import (
    EndpointInfo,
    FlowStep,
    VariableInfo,
    death_variables,
    endpoint_definition,
    spec_columns,
)
from survstudy.data.columns import norm_text
from survstudy.data.expressions import Case, Null, PlanNode, domain_conditions
from survstudy.data.steps import (
    Applicable,
    Check,
    CheckIds,
    ColumnExists,
    Compute,
    Count,
    Cut,
    Derive,
    Included,
    JoinTable,
    ManyLevels,
    Population,
    ReadColumn,
    ReadEvent,
    ReadMultiselect,
    ReferenceCheck,
    Source,
    Step,
    invalid_name,
    present_name,
    reference_of,
    sublevel_groups,
)
from survstudy.spec import DEFAULT_MISSING, StudySpec, derivation_order, endpoint_columns
from survstudy.spec import parse_expression as _parse
from survstudy.spec.expr import (
    Binary,
    BoolOp,
    Call,
    Compare,
    Const,
    IsMissing,
    Name,
    Not,
)
from survstudy.spec.model import DEFAULT_FALSE, DEFAULT_TRUE, VariableSpec

__all__ = [
    "CohortPlan",
    "Output",
    "analysis_uses",
    "compile_plan",
    "dates_rule",
    "endpoint_names",
    "event_rule",
    "exposure_column",
    "horizon_rule",
    "immortal_time_pairs",
    "measured_date_name",
]


# --------------------------------------------------------------------------- tree helpers


def name(n: str) -> Name:
    return Name(n)


def num(v: float) -> Const:
    return Const(float(v))


def and_(*parts: PlanNode) -> PlanNode:
    return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))  # type: ignore[arg-type]


def or_(*parts: PlanNode) -> PlanNode:
    return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))  # type: ignore[arg-type]


def not_(x: PlanNode) -> PlanNode:
    return Not(x)  # type: ignore[arg-type]


def missing(x: PlanNode) -> PlanNode:
    return IsMissing(x, negate=False)  # type: ignore[arg-type]


def present(x: PlanNode) -> PlanNode:
    return IsMissing(x, negate=True)  # type: ignore[arg-type]


def cmp(op: str, a: PlanNode, b: PlanNode) -> PlanNode:
    return Compare(op, a, b)  # type: ignore[arg-type]


def minus(a: PlanNode, b: PlanNode) -> PlanNode:
    return Binary("-", a, b)  # type: ignore[arg-type]


def times(a: PlanNode, b: PlanNode) -> PlanNode:
    return Binary("*", a, b)  # type: ignore[arg-type]


def case(branches: Sequence[tuple[PlanNode, PlanNode]], default: PlanNode) -> PlanNode:
    return Case(tuple(branches), default)


def date_const(text: str) -> PlanNode:
    return Call("date", (Const(text),))


def least(names: Sequence[str], kind: str) -> PlanNode:
    """The earliest of ``names`` ignoring missing ones (missing when all are)."""
    if not names:
        return Null(kind)
    return Name(names[0]) if len(names) == 1 else Call("min", tuple(Name(n) for n in names))


def greatest(names: Sequence[str], kind: str) -> PlanNode:
    """The latest of ``names`` ignoring missing ones (missing when all are)."""
    if not names:
        return Null(kind)
    return Name(names[0]) if len(names) == 1 else Call("max", tuple(Name(n) for n in names))


def endpoint_names(ep: str) -> tuple[str, str, str]:
    """The plan's internal columns of endpoint ``ep``: time (days), event (0/1), status."""
    return f"#time:{ep}", f"#event:{ep}", f"#status:{ep}"


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Output:
    """A column of the cohort: ``column`` from the plan's ``source`` where ``applicable``
    (``None``: every included row). ``kind``: number (float64 / DOUBLE), codes (category
    codes into the variable's levels), detail (codes into its data values)."""

    column: str
    source: str
    kind: str
    variable: str | None = None
    applicable: str | None = None


@dataclass(frozen=True)
class CohortPlan:
    """The compiled spec (see the module docstring)."""

    spec: StudySpec
    columns: tuple[str, ...]
    steps: tuple[Step, ...]
    outputs: tuple[Output, ...]
    details: Mapping[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)

    def detail_order(self, variable: str) -> tuple[str, ...]:
        """The data values a ``name__detail`` column's codes index: every level's values,
        in the spec's order (:func:`survstudy.data.registry.detail_levels`)."""
        return tuple(dict.fromkeys(v for g in self.details[variable].values() for v in g))

    def levels_of(self, levels: Mapping[str, list[str]], name: str) -> list[str]:
        return list(levels.get(name) or self.spec.variables[name].level_names())

    def variable_infos(
        self,
        levels: Mapping[str, list[str]],
        counts: Mapping[str, int],
        multi: Mapping[str, list[tuple[str, str]]],
        applicable: Mapping[str, np.ndarray] | None = None,
    ) -> dict[str, VariableInfo]:
        """Every analysis variable's metadata from the levels found and the plan's counts
        (``applicable``: the in-memory masks over the included rows)."""
        empty = np.zeros(0, dtype=bool)
        out: dict[str, VariableInfo] = {}
        for vname, var in self.spec.variables.items():
            if var.type in ("identifier", "date", "text"):
                continue
            label = var.label or vname
            app = applicable[vname] if applicable is not None else empty
            if var.type == "multiselect":
                opts = tuple(multi[vname])
                out[vname] = VariableInfo(
                    name=vname,
                    label=label,
                    type=var.type,
                    column=None,
                    options=opts,
                    applicable=app,
                    applicable_when=var.applicable_when,
                    denominator=counts[f"den__{vname}"],
                    n_missing=max([counts[f"nm__{col}"] for _l, col in opts], default=0),
                )
                continue
            lv: list[str] = []
            reference = None
            detail_column = None
            groups: dict[str, tuple[str, ...]] = {}
            if var.type != "continuous":
                lv = self.levels_of(levels, vname)
                reference = reference_of(
                    var.type, var.reference_level(), var.reference is not None, lv
                )
                if vname in self.details:
                    detail_column, groups = f"{vname}__detail", self.details[vname]
            out[vname] = VariableInfo(
                name=vname,
                label=label,
                type=var.type,
                column=vname,
                levels=tuple(lv),
                reference=reference,
                unit=var.unit,
                applicable=app,
                applicable_when=var.applicable_when,
                denominator=counts[f"den__{vname}"],
                n_missing=counts[f"nm__{vname}"],
                derived=var.derive,
                detail_column=detail_column,
                sublevels=groups,
            )
        return out

    def endpoint_infos(self, counts: Mapping[str, int]) -> dict[str, EndpointInfo]:
        spec = self.spec
        out = {}
        for ep_name, ep in spec.endpoints.items():
            t_col, e_col, s_col = endpoint_columns(ep_name)
            out[ep_name] = EndpointInfo(
                name=ep_name,
                label=ep.label or ep_name,
                time_column=t_col,
                event_column=e_col,
                status_column=s_col,
                source="dates" if ep.from_dates else "columns",
                n=counts[f"epn__{ep_name}"],
                events=counts[f"epe__{ep_name}"],
                horizon_days=ep.horizon * spec.units.days_per_unit if ep.horizon else None,
                competing=tuple(ep.competing),
                definition=endpoint_definition(spec, ep_name),
            )
        return out

    def flow(
        self,
        n_all: int,
        steps: Sequence[tuple[int, int, int]],
        joins: Sequence[tuple[str, str, int]] = (),
    ) -> tuple[FlowStep, ...]:
        """The inclusion flow from (rows before, rows after, unknown) per population step;
        ``joins``: (table, file, patients without a row) per joined table, a line each
        (nobody is excluded by a join)."""
        out = [FlowStep("Rows in the data file", n_all, 0, n_all)]
        for table, path, unmatched in joins:
            out.append(
                FlowStep(
                    f"Joined: table '{table}' ({path}); {unmatched} patient(s) without a row",
                    n_all,
                    0,
                    n_all,
                )
            )
        for step, (before, after, unknown) in zip(self.spec.population, steps, strict=True):
            include = step.include is not None
            text = step.expression
            reason = step.reason or f"{'Not meeting' if include else 'Meeting'}: {text}"
            out.append(
                FlowStep(
                    description=("Included: " if include else "Excluded: ") + text,
                    n_before=before,
                    n_excluded=before - after,
                    n_after=after,
                    reason=reason,
                    n_unknown=unknown,
                )
            )
        return tuple(out)


# --------------------------------------------------------------------------- compiling


class _Compiler:
    def __init__(self, spec: StudySpec) -> None:
        self.spec = spec
        base = {norm_text(c) for c in spec.data.missing}
        self.codes = frozenset({*DEFAULT_MISSING, *(c for c in base if c is not None)})
        self.steps: list[Step] = []
        self.outputs: list[Output] = []
        self.details: dict[str, dict[str, tuple[str, ...]]] = {}
        self.read: set[str] = set()  # variables read from a column (they have #invalid:)
        self.pairs: set[tuple[str, str, str]] = set()

    def add(self, *steps: Step) -> None:
        self.steps.extend(steps)

    def codes_for(self, var: VariableSpec) -> frozenset[str]:
        extra = {norm_text(c) for c in var.missing}
        return self.codes | frozenset(c for c in extra if c is not None)

    def invalid(self, var: str) -> PlanNode:
        """True where ``var``'s cell failed a typing check (already an error)."""
        return name(invalid_name(var)) if var in self.read else Const(False)

    # ------------------------------------------------------------------ steps
    def compile(self) -> CohortPlan:
        spec = self.spec
        self.add(Source())
        if spec.data.id is not None:
            self.add(CheckIds(spec.data.id))
        self.read_variables()
        self.derived()
        for i, step in enumerate(spec.population):
            include = step.include is not None
            self.add(Population(i, step.expression, include, step.reason))
            self.domain_checks(
                step.expression, ("population", i, "include" if include else "exclude"), "all"
            )
        self.add(Included(bool(spec.population)))
        for vname, var in spec.variables.items():
            self.add(Applicable(vname, var.applicable_when))
            if var.applicable_when is not None:
                self.domain_checks(
                    var.applicable_when, ("variables", vname, "applicable_when"), "incl"
                )
        self.future_dates()
        self.death_checks()
        self.endpoints()
        self.variable_outputs()
        self.immortal_time()
        self.exposure_times()
        for ep_name in spec.endpoints:
            t, e, s = endpoint_names(ep_name)
            tn, en, sn = endpoint_columns(ep_name)
            self.outputs += [
                Output(tn, t, "number"),
                Output(en, e, "number"),
                Output(sn, s, "number"),
            ]
            self.add(
                Count(f"epn__{ep_name}", and_(present(name(t)), present(name(e)))),
                Count(f"epe__{ep_name}", cmp("==", name(e), num(1))),
            )
        return CohortPlan(
            spec=spec,
            columns=tuple(spec_columns(spec)),
            steps=tuple(self.steps),
            outputs=tuple(self.outputs),
            details=self.details,
        )

    def read_variables(self) -> None:
        spec = self.spec
        joined: dict[str, list[Step]] = {t: [] for t in spec.data.tables}
        for vname, var in spec.variables.items():
            if var.derive is not None:
                continue
            if var.from_table is not None:
                if var.summary == "count":
                    continue  # counts present cells, whatever they hold (JoinTable)
                # typed over the joined table's own rows (its file and rows in messages)
                main, self.steps = self.steps, joined[var.from_table]
                self.read_one(vname, var)
                self.steps = main
                if spec.data.tables[var.from_table].rows == "many":
                    self.read.discard(vname)  # a summary: no cell of its own
                    self.details.pop(vname, None)
                td = var.time_dependent
                if td is not None and td.date is not None:
                    # each measurement's date, typed over the table's rows
                    joined[var.from_table].append(
                        ReadColumn(
                            measured_date_name(vname),
                            td.date,
                            "date",
                            ("variables", vname, "time_dependent", "date"),
                            self.codes,
                            date_format=spec.data.date_format,
                        )
                    )
                continue
            self.read_one(vname, var)
        for tname, table in spec.data.tables.items():
            tvars = [(v, x) for v, x in spec.variables.items() if x.from_table == tname]
            self.add(
                JoinTable(
                    tname,
                    table.id or str(spec.data.id),
                    table.rows == "many",
                    tuple(joined[tname]),
                    tuple((v, x.summary or "", x.column or v, self.codes_for(x)) for v, x in tvars),
                    tuple(
                        dict.fromkeys(
                            [
                                table.id or str(spec.data.id),
                                *(x.column or v for v, x in tvars),
                                *(d for _v, x in tvars if (d := _measured_date(x)) is not None),
                            ]
                        )
                    ),
                    tuple(
                        (v, measured_date_name(v))
                        for v, x in tvars
                        if _measured_date(x) is not None
                    ),
                )
            )
        # cells that hold something but failed a check: already reported as errors
        for vname in self.read:
            self.add(
                Compute(
                    invalid_name(vname),
                    and_(name(present_name(vname)), missing(name(vname))),
                )
            )

    def read_one(self, vname: str, var: VariableSpec) -> None:
        """The typing steps of a variable read from a column."""
        spec = self.spec
        key: tuple[str | int, ...] = ("variables", vname)
        if var.type == "multiselect":
            assert var.options is not None
            selected = var.selected if var.selected is not None else list(DEFAULT_TRUE)
            self.add(
                ReadMultiselect(
                    vname,
                    tuple(var.options.items()),
                    self.codes_for(var),
                    tuple(selected),
                    tuple(DEFAULT_FALSE),
                    var.blank_is_no,
                )
            )
            return
        column = var.column or vname
        if var.type in ("identifier", "text"):
            # checked to exist; its cells are never read into the cohort
            self.add(ColumnExists(column, key))
            return
        self.read.add(vname)
        codes = self.codes_for(var)
        if var.type == "date":
            self.add(
                ReadColumn(
                    vname,
                    column,
                    "date",
                    key,
                    codes,
                    date_format=var.date_format or spec.data.date_format,
                )
            )
        elif var.type == "continuous" or var.cuts is not None:
            store = f"#number:{vname}" if var.cuts is not None else None
            self.add(ReadColumn(vname, column, "number", key, codes, store=store))
            self.range_check(var, store or vname, column)
            if var.cuts is not None:
                self.add(Cut(vname, f"#number:{vname}", tuple(var.cuts), tuple(var.cut_names())))
        else:
            level_map = var.level_map()
            # a binary's default spellings (1/true/yes/y) are one value each: printed
            # as Yes/No, never as "1 (n=180)/true (n=0)/yes (n=0)/y (n=0)"
            default_binary = var.type == "binary" and var.levels is None
            detail = not default_binary and any(len(v) > 1 for v in level_map.values())
            self.add(
                ReadColumn(
                    vname, column, "category", key, codes, level_map=level_map, detail=detail
                )
            )
            if not level_map:
                self.add(ManyLevels(vname, column))
            if detail:
                self.details[vname] = sublevel_groups(level_map, codes)

    def range_check(self, var: VariableSpec, value: str, column: str) -> None:
        if var.range is None:
            return
        lo, hi = var.range
        self.add(
            Check(
                "RANGE",
                or_(cmp("<", name(value), num(lo)), cmp(">", name(value), num(hi))),
                column=column,
                params={"lo": norm_text(lo), "hi": norm_text(hi)},
                values=value,
            )
        )

    def derived(self) -> None:
        spec = self.spec
        for vname in derivation_order(spec):
            var = spec.variables[vname]
            key: tuple[str | int, ...] = ("variables", vname, "derive")
            kind = {"continuous": "number", "date": "date"}.get(var.type, "category")
            self.add(
                Derive(
                    vname,
                    str(var.derive),
                    kind,
                    key,
                    var.type,
                    level_map=var.level_map(),
                    cuts=tuple(var.cuts) if var.cuts is not None else None,
                    cut_names=tuple(var.cut_names()),
                )
            )
            if var.type == "continuous":
                self.range_check(var, vname, vname)
            self.domain_checks(str(var.derive), key, "all")

    def domain_checks(self, text: str, key: tuple[str | int, ...], scope: str) -> None:
        """EXPRESSION-DOMAIN for every function of ``text`` with a domain (log, sqrt)."""
        for dc in domain_conditions(_parse(text)):
            self.add(
                Check(
                    "EXPRESSION-DOMAIN",
                    dc.condition,
                    scope=scope,
                    params={
                        "function": dc.function,
                        "domain": "that is negative"
                        if dc.function == "sqrt"
                        else "that is zero or negative",
                        "expression": text,
                        "where": ".".join(str(k) for k in key),
                    },
                    text=text,
                )
            )

    def future_dates(self) -> None:
        """Dates after the cut-off: an error for a start date, a warning for other dates;
        event and follow-up dates of endpoints are censored at the cut-off instead
        (EVENT-AFTER-CUTOFF)."""
        spec = self.spec
        if spec.data.cutoff is None:
            return
        cutoff = date_const(spec.data.cutoff.isoformat())
        handled = {
            v
            for ep in spec.endpoints.values()
            for v in (*ep.events, *ep.censor, *ep.competing, *([ep.end] if ep.end else []))
        }
        starts = {str(ep.start) for ep in spec.endpoints.values() if ep.from_dates}
        for vname, var in spec.variables.items():
            if var.type != "date":
                continue
            if vname in handled and vname not in starts:
                continue
            self.add(
                Check(
                    "DATE-FUTURE",
                    cmp(">", name(vname), cutoff),
                    variant="start" if vname in starts else "",
                    scope="incl",
                    column=var.column or vname,
                    params={"cutoff": str(spec.data.cutoff)},
                    sensitive=True,
                )
            )

    def death_checks(self) -> None:
        spec = self.spec
        event_vars = {v for ep in spec.endpoints.values() for v in ep.events}
        censor_vars = {
            v for ep in spec.endpoints.values() for v in (*ep.censor, *([ep.end] if ep.end else []))
        }
        for dv in death_variables(spec):
            for code, others in (
                ("PROGRESSION-AFTER-DEATH", event_vars),
                ("FOLLOWUP-AFTER-DEATH", censor_vars),
            ):
                for var in sorted(others - {dv}):
                    self.add(
                        Check(
                            code,
                            cmp(">", name(var), name(dv)),
                            scope="incl",
                            column=var,
                            params={"var": var, "death": dv},
                            sensitive=True,
                        )
                    )

    def immortal_time(self) -> None:
        """IMMORTAL-TIME: a group or covariate of an endpoint derived from a date that is
        after the endpoint's start for some included patients (one check per variable,
        date and endpoint; see :func:`immortal_time_pairs`)."""
        for var, date, ep_name in immortal_time_pairs(self.spec):
            ep = self.spec.endpoints[ep_name]
            assert ep.start is not None
            start = name(ep.start)
            self.add(
                Check(
                    "IMMORTAL-TIME",
                    and_(present(start), present(name(date)), cmp(">", name(date), start)),
                    scope="incl",
                    column=self.spec.variables[date].column or date,
                    params={
                        "var": var,
                        "date": date,
                        "endpoint": ep_name,
                        "start": ep.start,
                    },
                )
            )

    def exposure_times(self) -> None:
        """Per time-dependent variable and endpoint with a start date, the days from the
        start to the exposure date (missing without one): the column
        ``exposure_column(var, ep)`` that the time-dependent analyses split at."""
        spec = self.spec
        for vname, var in spec.variables.items():
            if var.time_dependent is None or var.time_dependent.from_ is None:
                continue  # a measured value: the measurements (JoinTable) place it
            date = name(var.time_dependent.from_)
            for ep_name, ep in spec.endpoints.items():
                if ep.start is None:
                    continue
                start = name(ep.start)
                col = exposure_column(vname, ep_name)
                src = f"#exposure:{vname}:{ep_name}"
                self.add(
                    Compute(
                        src,
                        case(
                            [(and_(present(start), present(date)), minus(date, start))],
                            Null("number"),
                        ),
                    )
                )
                self.outputs.append(Output(col, src, "number"))

    def pair_check(self, code: str, var: str, start: str, cond: PlanNode) -> None:
        """A check about two dates, declared once however many endpoints share them."""
        if (code, var, start) in self.pairs:
            return
        self.pairs.add((code, var, start))
        self.add(
            Check(
                code,
                cond,
                scope="incl",
                column=var,
                params={"var": var, "start": start},
                sensitive=True,
            )
        )

    def endpoints(self) -> None:
        spec = self.spec
        death_vars = death_variables(spec)
        for ep_name, ep in spec.endpoints.items():
            label = ep.label or ep_name
            if ep.from_status:
                self.add(*_endpoint_from_status(self, ep_name, death_vars))
            elif ep.from_dates:
                self.add(*_endpoint_from_dates(self, ep_name, death_vars))
            else:
                self.add(*_endpoint_from_columns(self, ep_name))
            t, _e, _s = endpoint_names(ep_name)
            if ep.horizon is not None:
                self.add(*horizon_rule(ep_name, ep.horizon * spec.units.days_per_unit))
            self.add(
                Check(
                    "DURATION-ZERO",
                    cmp("==", name(t), num(0)),
                    scope="incl",
                    params={"label": label},
                ),
                event_rule(ep_name),
            )

    def variable_outputs(self) -> None:
        spec = self.spec
        for vname, var in spec.variables.items():
            if var.type in ("identifier", "date", "text"):
                continue
            app_name = f"#applicable:{vname}"
            app = name(app_name)
            label = var.label or vname
            if var.type == "multiselect":
                assert var.options is not None
                for j in range(len(var.options)):
                    col = f"{vname}__{j + 1}"
                    self.outputs.append(Output(col, col, "number", vname, app_name))
                    self.add(Count(f"nm__{col}", and_(app, missing(name(col)))))
                self.add(Count(f"den__{vname}", app))
                continue
            value = name(vname)
            column = var.column or vname
            if var.from_table is not None:
                column = f"{var.from_table}.{column}"
            if var.type == "continuous":
                self.outputs.append(Output(vname, vname, "number", vname, app_name))
            else:
                if var.applicable_when is not None:
                    self.add(
                        Check(
                            "NOT-APPLICABLE-VALUE",
                            and_(not_(app), present(value)),
                            scope="incl",
                            column=var.column or vname,
                            params={"label": label, "condition": var.applicable_when},
                        )
                    )
                self.add(
                    ReferenceCheck(
                        vname,
                        var.type,
                        var.reference_level(),
                        var.reference is not None,
                        var.column or vname,
                    )
                )
                self.outputs.append(Output(vname, vname, "codes", vname, app_name))
                if vname in self.details:
                    self.outputs.append(
                        Output(f"{vname}__detail", f"#detail:{vname}", "detail", vname, app_name)
                    )
            self.add(
                Count(f"den__{vname}", app),
                Count(f"nm__{vname}", and_(app, missing(value))),
                Check(
                    "MISSING",
                    and_(app, missing(value), not_(self.invalid(vname))),
                    variant="derived" if var.derive else "",
                    scope="incl",
                    column=column,
                    params={"label": label},
                    counts={"denominator": f"den__{vname}"},
                    file="" if var.derive else None,
                ),
            )


def dates_rule(
    ep: str,
    start: str,
    events: Sequence[str],
    censor: Sequence[str] = (),
    competing: Sequence[str] = (),
    cutoff: str | None = None,
) -> list[Compute]:
    """The endpoint-from-dates rule as plan columns over the date columns named.

    Time zero is ``start``; the event date is the earliest of ``events``; a ``competing``
    date strictly before it ends follow-up (status 2; the same day counts as the event);
    without either, the patient is censored (status 0) at the latest ``censor`` date; an
    end after the data ``cutoff`` (``YYYY-MM-DD``) is censored there (``#late:EP`` marks
    the events this moves). ``#time:EP`` (days) and ``#status:EP`` are missing when the
    start is missing, no end exists or the end is before the start.
    """
    s = name(start)
    has = present(s)
    ev, fu, comp = (name(f"#{k}:{ep}") for k in ("ev", "fu", "comp"))
    is_event = and_(present(ev), or_(missing(comp), cmp("<=", ev, comp)))
    is_comp = and_(present(comp), not_(is_event))
    is_cens = and_(not_(is_event), not_(is_comp), present(fu))
    end, st = name(f"#end:{ep}"), name(f"#st:{ep}")
    rule = [
        Compute(f"#ev:{ep}", least(events, "date")),
        Compute(f"#fu:{ep}", greatest(censor, "date")),
        Compute(f"#comp:{ep}", least(competing, "date")),
        Compute(f"#end:{ep}", case([(is_event, ev), (is_comp, comp), (is_cens, fu)], Null("date"))),
        Compute(
            f"#st:{ep}",
            case([(is_event, num(1)), (is_comp, num(2)), (is_cens, num(0))], Null("number")),
        ),
    ]
    end2: PlanNode = end
    st2: PlanNode = st
    if cutoff is not None:
        late = cmp(">", end, date_const(cutoff))
        rule.append(Compute(f"#late:{ep}", and_(has, cmp("==", st, num(1)), late)))
        end2 = case([(late, date_const(cutoff))], end)
        st2 = case([(late, num(0))], st)
    t, _e, status = endpoint_names(ep)
    t0 = name(f"#t0:{ep}")
    bad = or_(missing(t0), cmp("<", t0, num(0)))
    return [
        *rule,
        Compute(f"#t0:{ep}", case([(has, minus(end2, s))], Null("number"))),
        Compute(t, case([(bad, Null("number"))], t0)),
        Compute(status, case([(bad, Null("number"))], st2)),
    ]


def horizon_rule(ep: str, days: float) -> list[Compute]:
    """Administrative censoring: a time beyond ``days`` becomes a censoring at it."""
    t, _e, s = endpoint_names(ep)
    h = num(days)
    over = cmp(">", name(f"#t1:{ep}"), h)
    return [
        Compute(f"#t1:{ep}", name(t), inline=True),
        Compute(f"#s1:{ep}", name(s), inline=True),
        Compute(t, case([(over, h)], name(f"#t1:{ep}"))),
        Compute(s, case([(over, num(0))], name(f"#s1:{ep}"))),
    ]


def event_rule(ep: str) -> Compute:
    """The event indicator: 1 for status 1, 0 for censored and competing, missing."""
    _t, e, s = endpoint_names(ep)
    st = name(s)
    return Compute(
        e, case([(missing(st), Null("number")), (cmp("==", st, num(1)), num(1))], num(0))
    )


def _endpoint_from_dates(c: _Compiler, ep_name: str, death_vars: list[str]) -> list[Step]:
    """:func:`dates_rule` and its checks: no start date, the date pairs (each declared
    once), follow-up before the event, no end date, events after the cut-off."""
    spec = c.spec
    ep = spec.endpoints[ep_name]
    label = ep.label or ep_name
    assert ep.start is not None
    start = name(ep.start)
    has = present(start)
    c.add(
        Check(
            "ENDPOINT-NOT-DERIVED",
            and_(missing(start), not_(c.invalid(ep.start))),
            variant="dates",
            scope="incl",
            params={"label": label, "start": ep.start},
        )
    )
    # date-pair checks concern two dates, not one endpoint: declared once per pair
    for var in ep.events:
        code = "DEATH-BEFORE-SURGERY" if var in death_vars else "EVENT-BEFORE-START"
        c.pair_check(code, var, ep.start, and_(has, cmp("<", name(var), start)))
    for var in ep.censor:
        c.pair_check("FOLLOWUP-BEFORE-START", var, ep.start, and_(has, cmp("<", name(var), start)))
    for dv in death_vars:
        if dv not in ep.events:
            c.pair_check("DEATH-BEFORE-SURGERY", dv, ep.start, and_(has, cmp("<", name(dv), start)))
    cutoff = spec.data.cutoff.isoformat() if spec.data.cutoff is not None else None
    steps: list[Step] = [*dates_rule(ep_name, ep.start, ep.events, ep.censor, ep.competing, cutoff)]
    ev, fu, comp = (name(f"#{k}:{ep_name}") for k in ("ev", "fu", "comp"))
    steps.append(
        Check(
            "FOLLOWUP-BEFORE-EVENT",
            and_(has, present(ev), present(fu), cmp("<", fu, ev)),
            scope="incl",
            params={"label": label},
            sensitive=True,
        )
    )
    no_end = [has, missing(ev), missing(fu)]
    if ep.competing:
        no_end.append(missing(comp))
    no_end += [not_(c.invalid(v)) for v in (*ep.events, *ep.censor, *ep.competing)]
    steps.append(
        Check(
            "FOLLOWUP-MISSING",
            and_(*no_end),
            variant="" if ep.censor else "no-censor",
            scope="incl",
            params={"label": label, "censor": ", ".join(ep.censor)},
            sensitive=True,
        )
    )
    if cutoff is not None:
        steps.append(
            Check(
                "EVENT-AFTER-CUTOFF",
                name(f"#late:{ep_name}"),
                scope="incl",
                params={"label": label, "cutoff": str(spec.data.cutoff)},
            )
        )
    return steps


def _endpoint_from_status(c: _Compiler, ep_name: str, death_vars: list[str]) -> list[Step]:
    """``start`` + ``end`` + ``status`` (the layout "last contact date + Alive/Dead"): the
    status column (0/1, true/false or ``event_codes``) says what happened at ``end``; the
    end date becomes the event, censoring or competing date of :func:`dates_rule` (so the
    cut-off rule is the same). Checks: the date pair, no start/end/status, the status
    against every date of death (STATUS-DATE-CONFLICT), events after the cut-off."""
    spec = c.spec
    ep = spec.endpoints[ep_name]
    assert ep.start is not None
    assert ep.end is not None
    assert ep.status is not None
    label = ep.label or ep_name
    key: tuple[str | int, ...] = ("endpoints", ep_name)
    codes = ep.event_codes
    scol = f"#statuscol:{ep_name}"
    st, end, start = name(scol), name(ep.end), name(ep.start)
    has = present(start)
    code = "DEATH-BEFORE-SURGERY" if ep.end in death_vars else "FOLLOWUP-BEFORE-START"
    c.pair_check(code, ep.end, ep.start, and_(has, cmp("<", end, start)))
    for dv in death_vars:
        if dv != ep.end:
            c.pair_check("DEATH-BEFORE-SURGERY", dv, ep.start, and_(has, cmp("<", name(dv), start)))
    at = {k: f"#s{k}:{ep_name}" for k in ("ev", "fu", "comp")}
    cutoff = spec.data.cutoff.isoformat() if spec.data.cutoff is not None else None
    steps: list[Step] = [
        ReadEvent(
            scol,
            ep.status,
            (*key, "status"),
            c.codes,
            event=tuple(codes.event) if codes else None,
            censored=tuple(codes.censored) if codes else None,
            competing=tuple(codes.competing) if codes else (),
        ),
        *(
            Compute(at[k], case([(cmp("==", st, num(v)), end)], Null("date")))
            for k, v in (("ev", 1), ("fu", 0), ("comp", 2))
        ),
        *dates_rule(ep_name, ep.start, [at["ev"]], [at["fu"]], [at["comp"]], cutoff),
        Check(
            "ENDPOINT-NOT-DERIVED",
            and_(
                or_(missing(start), missing(end), missing(st)),
                not_(or_(c.invalid(ep.start), c.invalid(ep.end))),
                not_(and_(name(present_name(scol)), missing(st))),
            ),
            variant="status",
            scope="incl",
            params={"label": label, "start": ep.start, "end": ep.end, "status": ep.status},
        ),
    ]
    for dv in death_vars:
        for variant, cond in (
            ("dead", and_(cmp("==", st, num(1)), missing(name(dv)), not_(c.invalid(dv)))),
            ("alive", and_(cmp("==", st, num(0)), present(name(dv)))),
        ):
            steps.append(
                Check(
                    "STATUS-DATE-CONFLICT",
                    cond,
                    variant=variant,
                    scope="incl",
                    column=ep.status,
                    params={"label": label, "status": ep.status, "death": dv},
                )
            )
    if cutoff is not None:
        steps.append(
            Check(
                "EVENT-AFTER-CUTOFF",
                name(f"#late:{ep_name}"),
                scope="incl",
                params={"label": label, "cutoff": str(spec.data.cutoff)},
            )
        )
    return steps


def _endpoint_from_columns(c: _Compiler, ep_name: str) -> list[Step]:
    """Time from a column or a derived variable (in ``time_unit``, as days) and status from
    an event column or derived variable; a negative time is DURATION-NONPOSITIVE; a patient
    without both is left out. Several time/event pairs make a composite
    (:func:`composite_rule`)."""
    spec = c.spec
    ep = spec.endpoints[ep_name]
    label = ep.label or ep_name
    key: tuple[str | int, ...] = ("endpoints", ep_name)
    times_, events = ep.time_parts(), ep.event_parts()
    many = ep.composite
    per = spec.units.days_per(ep.time_unit or spec.units.time)
    steps: list[Step] = []
    cols: list[tuple[str, str]] = []
    for i, (tname, ename) in enumerate(zip(times_, events, strict=True)):
        suffix = f":{i + 1}" if many else ""
        tcol, ecol = f"#timecol:{ep_name}{suffix}", f"#eventcol:{ep_name}{suffix}"
        tkey = (*key, "time", i) if many else (*key, "time")
        ekey = (*key, "event", i) if many else (*key, "event")
        steps += [*_time_source(c, tcol, tname, tkey), _event_source(c, ep_name, ecol, ename, ekey)]
        t0 = name(f"#t0:{ep_name}{suffix}")
        steps += [
            Compute(f"#t0:{ep_name}{suffix}", times(name(tcol), num(per))),
            Check(
                "DURATION-NONPOSITIVE",
                cmp("<", t0, num(0)),
                scope="incl",
                column=tname,
                params={"label": label},
                file="" if spec.is_derived(tname) else None,
            ),
        ]
        cols.append((tcol, ecol))
    t, _e, s = endpoint_names(ep_name)
    if many:
        return [*steps, *composite_rule(c, ep_name, cols)]
    t0 = name(f"#t0:{ep_name}")
    t1 = case([(cmp("<", t0, num(0)), Null("number"))], t0)
    miss = name(f"#miss:{ep_name}")
    ((tcol, ecol),) = cols
    return [
        *steps,
        Compute(f"#miss:{ep_name}", or_(missing(t1), missing(name(ecol)))),
        Check(
            "ENDPOINT-NOT-DERIVED",
            and_(miss, not_(and_(name(present_name(tcol)), name(present_name(ecol))))),
            variant="columns",
            scope="incl",
            params={"label": label},
        ),
        Compute(t, case([(miss, Null("number"))], t1)),
        Compute(s, case([(miss, Null("number"))], name(ecol))),
    ]


def _dates_used(spec: StudySpec, vname: str, seen: set[str] | None = None) -> set[str]:
    """The date variables a derived variable reads, through the derived ones it uses."""
    seen = set() if seen is None else seen
    var = spec.variables.get(vname)
    if var is None or var.derive is None or vname in seen:
        return set()
    seen.add(vname)
    out: set[str] = set()
    for n in _parse(str(var.derive)).names:
        used = spec.variables.get(n)
        if used is None:
            continue
        if used.type == "date" and used.derive is None:
            out.add(n)
        out |= _dates_used(spec, n, seen)
    return out


def measured_date_name(var: str) -> str:
    """The joined table's value holding the dates of time-dependent ``var``'s measurements."""
    return f"#measured-date:{var}"


def _measured_date(var: VariableSpec) -> str | None:
    """The date column of a value measured repeatedly (``time_dependent: {date: COLUMN}``)."""
    return None if var.time_dependent is None else var.time_dependent.date


def exposure_column(var: str, ep: str) -> str:
    """The cohort column of time-dependent ``var``'s exposure time (days) for endpoint ``ep``."""
    return f"{var}__exposure__{ep}"


def analysis_uses(spec: StudySpec) -> list[tuple[str, str]]:
    """(variable, endpoint) pairs where an analysis compares an endpoint by a variable:
    univariable factors, multivariable covariates and strata, KM and landmark groups, the
    treatments and confounders of propensity comparisons."""
    a = spec.analyses
    pairs: list[tuple[str, str]] = []
    if a.univariable is not None:
        for ep in a.univariable.endpoints:
            pairs += [(f.variable, ep) for f in a.univariable.factors]
    for m in a.multivariable:
        pairs += [(f.variable, m.endpoint) for f in m.covariates]
        pairs += [(s, m.endpoint) for s in m.strata]
    pairs += [(k.by, k.endpoint) for k in a.km if k.by is not None]
    pairs += [(lm.by, lm.endpoint) for lm in a.landmark]
    for te in a.treatment_effect:
        pairs.append((te.treatment, te.endpoint))
        pairs += [(f.variable, te.endpoint) for f in te.confounders]
    return list(dict.fromkeys(pairs))


def immortal_time_pairs(spec: StudySpec) -> list[tuple[str, str, str]]:
    """(variable, date, endpoint) triples the IMMORTAL-TIME guard checks: the variable is
    a group or covariate of the endpoint (:func:`analysis_uses`), the endpoint starts at a
    date, and the variable is derived from ``date`` (another date than the start); a
    variable declared ``time_dependent`` is analysed as such and not checked."""
    out: list[tuple[str, str, str]] = []
    for var, ep_name in analysis_uses(spec):
        if var in spec.variables and spec.variables[var].time_dependent is not None:
            continue
        ep = spec.endpoints.get(ep_name)
        if ep is None or ep.start is None:
            continue
        for date in sorted(_dates_used(spec, var) - {ep.start}):
            out.append((var, date, ep_name))
    return out


def _time_source(c: _Compiler, tcol: str, source: str, key: tuple[str | int, ...]) -> list[Step]:
    """A component's time: a data column read as numbers, or a derived variable's value."""
    if not c.spec.is_derived(source):
        return [ReadColumn(tcol, source, "number", key, c.codes)]
    return [
        Compute(tcol, name(source)),
        Compute(present_name(tcol), present(name(source))),
    ]


def _event_source(
    c: _Compiler, ep_name: str, ecol: str, source: str, key: tuple[str | int, ...]
) -> Step:
    """A component's status from an event column, or from a derived variable's values (a
    derived binary variable with its default levels: Yes = event, No = censored)."""
    codes = c.spec.endpoints[ep_name].event_codes
    event = tuple(codes.event) if codes else None
    censored = tuple(codes.censored) if codes else None
    derived = c.spec.is_derived(source)
    if derived and codes is None:
        var = c.spec.variables[source]
        if var.type == "binary" and var.levels is None:
            event, censored = ("Yes",), ("No",)
    return ReadEvent(
        ecol,
        source,
        key,
        frozenset() if derived else c.codes,
        event=event,
        censored=censored,
        competing=tuple(codes.competing) if codes else (),
        variable=derived,
    )


def composite_rule(c: _Compiler, ep: str, cols: Sequence[tuple[str, str]]) -> list[Step]:
    """The composite of several (time, status) pairs (issue 17), as plan columns.

    The event time is the earliest time among the components whose status is 1; a
    competing status (2) strictly before it ends follow-up (status 2, as
    :func:`dates_rule`); without either, the patient is censored (status 0) at the latest
    component time. A component with its time or status missing (or a negative time)
    leaves the endpoint missing and is ENDPOINT-COMPONENT-MISSING (an error); a component
    censored before another one's event (its status after that is unknown) is
    ENDPOINT-COMPONENTS-DISAGREE (a warning; the earliest event still counts).
    """
    spec = c.spec
    label = spec.endpoints[ep].label or ep
    parts = spec.endpoints[ep]
    k = len(cols)
    ti = [name(f"#ti:{ep}:{i + 1}") for i in range(k)]
    st = [name(ecol) for _t, ecol in cols]
    steps: list[Step] = []
    for i in range(k):
        t0 = name(f"#t0:{ep}:{i + 1}")
        steps.append(
            Compute(f"#ti:{ep}:{i + 1}", case([(cmp("<", t0, num(0)), Null("number"))], t0))
        )

    def pick(status: float) -> PlanNode:
        """The earliest time among the components with ``status`` (missing if none)."""
        picked = [
            case([(cmp("==", s_, num(status)), t_)], Null("number"))
            for t_, s_ in zip(ti, st, strict=True)
        ]
        return Call("min", tuple(picked))  # type: ignore[arg-type]

    miss = name(f"#miss:{ep}")
    ev, comp, cens, fu = (name(f"#{w}:{ep}") for w in ("ev", "comp", "cmin", "fu"))
    is_event = and_(present(ev), or_(missing(comp), cmp("<=", ev, comp)))
    is_comp = and_(present(comp), not_(is_event))
    t, _e, s = endpoint_names(ep)
    steps += [
        Compute(
            f"#miss:{ep}",
            or_(*(or_(missing(t_), missing(s_)) for t_, s_ in zip(ti, st, strict=True))),
        ),
        Check(
            "ENDPOINT-COMPONENT-MISSING",
            and_(
                miss,
                or_(
                    *(not_(and_(name(present_name(tc)), name(present_name(ec)))) for tc, ec in cols)
                ),
            ),
            scope="incl",
            params={
                "label": label,
                "components": ", ".join(
                    f"{a}/{b}" for a, b in zip(parts.time_parts(), parts.event_parts(), strict=True)
                ),
            },
        ),
        Compute(f"#ev:{ep}", pick(1)),
        Compute(f"#comp:{ep}", pick(2)),
        Compute(f"#cmin:{ep}", pick(0)),
        Compute(f"#fu:{ep}", Call("max", tuple(ti))),
        Check(
            "ENDPOINT-COMPONENTS-DISAGREE",
            and_(not_(miss), present(ev), present(cens), cmp("<", cens, ev)),
            scope="incl",
            params={"label": label},
        ),
        Compute(
            t,
            case([(miss, Null("number")), (is_event, ev), (is_comp, comp)], fu),
        ),
        Compute(
            s,
            case([(miss, Null("number")), (is_event, num(1)), (is_comp, num(2))], num(0)),
        ),
    ]
    return steps


def compile_plan(spec: StudySpec) -> CohortPlan:
    """The cohort plan of ``spec`` (see the module docstring)."""
    return _Compiler(spec).compile()

"""The node kinds of the cohort plan (:mod:`survstudy.data.plan`), each with both renderings.

A step reads, types, computes or checks something over the rows of the data file. Every
kind is one class holding its columnar evaluation (``numpy(run)``, run by
:class:`survstudy.data.run_memory.MemoryRun`) and its SQL rendering (``sql(run)``, run by
:class:`survstudy.data.derive_sql.SqlRun`) next to each other; the executors only supply
primitives (cells of a column, evaluating or rendering an expression tree, adding a
column, declaring a check). Messages come from the check catalogue
(:data:`survstudy.data.quality.CHECKS`), never from here.

Kinds:

* cell typing: :class:`CheckIds`, :class:`ReadColumn` (date, number, category, cut),
  :class:`ReadMultiselect`, :class:`ReadEvent` (an endpoint's event column);
* :class:`Derive` (a derived variable from its expression);
* :class:`Compute` (an internal column from a plan rule's expression tree: endpoint rules);
* :class:`Population` and :class:`Included` (the inclusion flow), :class:`Applicable`;
* :class:`Check` (a declared check: code, wording, condition tree, scope),
  :class:`ReferenceCheck` (the reference level among the levels found), :class:`Count`
  (a count over the included rows, for metadata and messages).

Internal column names start with ``#`` so that they never meet a variable's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from survstudy.data.columnar import (
    category_codes,
    column_categories,
    column_dates,
    column_events,
    column_missing,
    column_numbers,
    column_sublevels,
    duplicate_ids,
)
from survstudy.data.columns import listed_numbers, norm_text, sublevels
from survstudy.data.expressions import PlanNode, SqlValue, Value, num_lit
from survstudy.data.quality import format_rows

if TYPE_CHECKING:
    from survstudy.data.executor import MemoryExecutor as MemoryRun
    from survstudy.data.executor import SqlExecutor as SqlRun

__all__ = [
    "Applicable",
    "Check",
    "CheckIds",
    "ColumnExists",
    "Compute",
    "Count",
    "Cut",
    "Derive",
    "Included",
    "JoinTable",
    "ManyLevels",
    "Population",
    "ReadColumn",
    "ReadEvent",
    "ReadMultiselect",
    "ReferenceCheck",
    "Source",
    "Step",
    "invalid_name",
    "many_levels",
    "present_name",
]

Key = tuple[str | int, ...]


def present_name(name: str) -> str:
    """The internal column: the cell of ``name`` holds something (not empty, not a code)."""
    return f"#present:{name}"


def invalid_name(name: str) -> str:
    """The internal column: the cell holds something that failed a check (an error)."""
    return f"#invalid:{name}"


class Step(Protocol):
    """One node of the plan: its columnar evaluation and its SQL rendering."""

    def numpy(self, run: MemoryRun) -> None: ...

    def sql(self, run: SqlRun) -> None: ...


# --------------------------------------------------------------------------- source and ids


@dataclass(frozen=True)
class Source:
    """The file's own findings: the reader's notes (encoding guessed) and NO-ROWS. (SQL reads
    only UTF-8 text, and says NO-ROWS from its counts.)"""

    def numpy(self, run: MemoryRun) -> None:
        for note in run.raw.notes:
            run.issues.check("FILE-ENCODING-GUESSED", params={"note": note})
        if run.n == 0:
            run.issues.check("NO-ROWS")

    def sql(self, run: SqlRun) -> None:
        return None


@dataclass(frozen=True)
class CheckIds:
    """ID-DUPLICATE (ids compared as :func:`norm_text`) and ID-MISSING."""

    column: str

    def numpy(self, run: MemoryRun) -> None:
        cells = run.cells(self.column, ("data", "id"))
        dups, missing_rows = duplicate_ids(cells)
        for rs in dups:
            run.issues.check(
                "ID-DUPLICATE",
                params={"rows": format_rows(rs), "more": ""},
                rows=rs,
                column=self.column,
                sensitive=True,
            )
        if missing_rows:
            run.issues.check(
                "ID-MISSING",
                params={"more": ""},
                rows=missing_rows,
                column=self.column,
                sensitive=True,
            )

    def sql(self, run: SqlRun) -> None:
        run.id_cell = run.cell(self.column, ("data", "id"))


@dataclass(frozen=True)
class ColumnExists:
    """An identifier variable's column must be in the file (it is never read further)."""

    column: str
    key: Key

    def numpy(self, run: MemoryRun) -> None:
        run.cells(self.column, self.key)

    def sql(self, run: SqlRun) -> None:
        run.cell(self.column, self.key)


@dataclass(frozen=True)
class JoinTable:
    """``data.tables.NAME`` (issue 17): a further sheet or file joined on the patient id.

    Its variables' typing ``steps`` run over the table's own rows (messages name its file
    and rows); then a table with one row per patient gives each main row its matched row's
    values, and a table with ``many`` rows gives each patient the ``summaries`` of its rows
    (``(variable, summary, type)``: first/last in file order among present values,
    min/max, count of present values, any = the first level on some row). Checks:
    TABLE-ID-DUPLICATE (one row per patient expected), TABLE-ID-UNKNOWN (ids not in the
    main table), TABLE-NO-MATCH (patients without a row; also a line of the flow). Ids
    compare as :func:`norm_text` (as ID-DUPLICATE). The SQL executor refuses it
    (SPEC-ENGINE-UNSUPPORTED naming ``data.tables.NAME``).
    """

    table: str
    id_column: str
    many: bool
    steps: tuple[Any, ...]
    summaries: tuple[tuple[str, str, str, frozenset[str]], ...]  # variable, summary, column, codes
    columns: tuple[str, ...]
    #: time-dependent values (``time_dependent: {date: COLUMN}``): (variable, the value
    #: holding each row's date); their rows go to ``run.measurements`` as they are
    measured: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> Key:
        return ("data", "tables", self.table)

    def numpy(self, run: MemoryRun) -> None:
        sub = run.joined_run(self.table, self.columns)
        main_keys = run.cells(run.spec.data.id or "", ("data", "id")).map_values(_id_key).tolist()
        tab_keys = sub.cells(self.id_column, (*self.key, "id")).map_values(_id_key).tolist()
        first: dict[str, int] = {}
        for i, k in enumerate(main_keys):
            if k is not None:
                first.setdefault(k, i)
        g = np.array([first.get(k, -1) if k is not None else -1 for k in tab_keys], dtype=np.int64)
        path = sub.file
        unknown = (g < 0) & np.array([k is not None for k in tab_keys], dtype=bool)
        if unknown.any():
            sub.issues.check(
                "TABLE-ID-UNKNOWN",
                params={"table": self.table, "n": int(unknown.sum()), "main": run.file},
                rows=sub.rows[unknown].tolist(),
                column=self.id_column,
                sensitive=True,
            )
        if not self.many and (g >= 0).any():
            counts = np.bincount(g[g >= 0], minlength=run.n)
            for grp in np.flatnonzero(counts > 1):
                rs = sub.rows[g == grp].tolist()
                sub.issues.check(
                    "TABLE-ID-DUPLICATE",
                    params={"table": self.table, "rows": format_rows(rs)},
                    rows=rs,
                    column=self.id_column,
                    sensitive=True,
                )
        for step in self.steps:
            step.numpy(sub)
        matched = np.zeros(run.n, dtype=bool)
        matched[g[g >= 0]] = True
        no_match = ~matched & np.array([k is not None for k in main_keys], dtype=bool)
        if no_match.any():
            sub.issues.check(
                "TABLE-NO-MATCH",
                params={"table": self.table, "n": int(no_match.sum()), "path": path},
                rows=run.rows[no_match].tolist(),
                column=run.spec.data.id,
                sensitive=True,
                file=run.file,
            )
        # two variables may type the same column (first and last of a date): one finding
        seen: set[tuple[Any, ...]] = set()
        for issue in sub.issues.issues:
            k = (issue.code, issue.message, issue.file, issue.column, str(issue.context))
            if k not in seen:
                seen.add(k)
                run.issues.issues.append(issue)
        run.joins.append((self.table, path, int(no_match.sum())))
        run.join_hashes.append((path, sub.raw.sha256))
        for var, date_name in self.measured:
            x = np.asarray(sub.values[var].data, dtype=float)
            d = np.asarray(sub.values[date_name].data, dtype=float)
            # a row without a patient, a date or a value places nothing (tmerge's na.rm)
            ok = (g >= 0) & ~np.isnan(d) & ~np.isnan(x)
            run.measurements[var] = (g[ok], d[ok], x[ok])
        if self.many:
            for var, summary, column, codes in self.summaries:
                if summary == "count":
                    cells = sub.cells(column, ("variables", var))
                    ok = (g >= 0) & ~column_missing(cells, codes)
                    run.values[var] = Value(
                        "number", np.bincount(g[ok], minlength=run.n).astype(float)
                    )
                    continue
                run.values[var] = _summarise(sub, var, summary, g, run.n)
                if var in sub.levels:
                    run.levels[var] = sub.levels[var]
            return
        # one row per patient: the first matched row of each patient (a duplicate is an error)
        idx = np.full(run.n, -1, dtype=np.int64)
        hit = np.flatnonzero(g >= 0)[::-1]
        idx[g[hit]] = hit
        for k, v in sub.values.items():
            run.values[k] = _aligned(v, idx, fill_bool=0.0 if k.startswith("#present:") else None)
        run.levels.update(sub.levels)

    def sql(self, run: SqlRun) -> None:
        raise run.unsupported(".".join(str(k) for k in self.key))


def _id_key(cell: Any) -> str | None:
    return norm_text(cell) or None


def _aligned(v: Value, idx: np.ndarray, fill_bool: float | None) -> Value:
    """``v``'s values at the rows ``idx`` (-1: missing; a presence flag: 0)."""
    ok = idx >= 0
    safe = np.where(ok, idx, 0)
    if v.kind == "text":
        data = np.asarray(v.data, dtype=object)
        text = data[safe] if len(data) else np.full(len(idx), None, dtype=object)
        text[~ok] = None
        return Value("text", text)
    data = np.asarray(v.data, dtype=float)
    fill = np.nan if fill_bool is None else fill_bool
    out = np.where(ok, data[safe], fill) if len(data) else np.full(len(idx), fill)
    return Value(v.kind, out)


def _summarise(sub: MemoryRun, var: str, summary: str, g: np.ndarray, n: int) -> Value:
    """A variable of a table with many rows per patient, summarised per patient."""
    v = sub.values[var]
    if v.kind == "text":
        present = np.array([x is not None for x in v.data], dtype=bool)
    else:
        present = ~np.isnan(np.asarray(v.data, dtype=float))
    valid = (g >= 0) & present
    if summary == "any":
        levels = sub.levels_of(var)
        yes = np.array([x == levels[0] for x in v.data], dtype=bool) if levels else present & False
        has = np.bincount(g[valid], minlength=n) > 0
        hit = np.bincount(g[valid & yes], minlength=n) > 0
        out = np.full(n, None, dtype=object)
        out[has] = levels[1] if len(levels) > 1 else None
        out[hit] = levels[0]
        return Value("text", out)
    if summary in ("min", "max"):
        x = np.asarray(v.data, dtype=float)
        res = np.full(n, np.nan)
        (np.fmin if summary == "min" else np.fmax).at(res, g[valid], x[valid])
        return Value(v.kind, res)
    order = np.flatnonzero(valid)
    if summary == "last":
        order = order[::-1]
    groups, pos = np.unique(g[order], return_index=True)
    rows = order[pos]
    if v.kind == "text":
        out_t = np.full(n, None, dtype=object)
        out_t[groups] = np.asarray(v.data, dtype=object)[rows]
        return Value("text", out_t)
    out_f = np.full(n, np.nan)
    out_f[groups] = np.asarray(v.data, dtype=float)[rows]
    return Value(v.kind, out_f)


# --------------------------------------------------------------------------- cell typing


@dataclass(frozen=True)
class ReadColumn:
    """A variable read from a data column: ``kind`` date | number | category, stored as
    ``store`` (default: the variable's name; a number to be cut is stored apart).

    ``#present:name`` marks cells that hold something (not empty, not a missing-value
    code): a present cell whose value is missing failed a typing check (an error already
    reported).
    """

    name: str
    column: str
    kind: str
    key: Key
    codes: frozenset[str]
    date_format: str | None = None
    level_map: Mapping[str, list[Any]] = field(default_factory=dict)
    store: str | None = None
    detail: bool = False  # keep the data values of grouped levels ("I (n=3)/II (n=4)")

    @property
    def target(self) -> str:
        return self.store or self.name

    # ----------------------------------------------------------------- numpy
    def numpy(self, run: MemoryRun) -> None:
        spec = run.spec
        cells = run.cells(self.column, self.key)
        run.values[present_name(self.name)] = Value("bool", ~column_missing(cells, self.codes))
        if self.kind == "date":
            days = column_dates(
                cells,
                column=self.column,
                codes=self.codes,
                issues=run.issues,
                date_format=self.date_format,
                century_pivot=spec.data.century_pivot,
                excel_system=run.raw.date_system or spec.data.excel_date_system,
                source_kind=run.raw.kind,
            )
            run.values[self.target] = Value("date", days)
            return
        if self.kind == "number":
            arr = column_numbers(
                cells,
                column=self.column,
                codes=self.codes,
                decimal=spec.data.decimal or run.raw.decimal,
                issues=run.issues,
            )
            run.values[self.target] = Value("number", arr)
            return
        level_map = dict(self.level_map)
        levels, order = column_categories(
            cells, column=self.column, codes=self.codes, level_map=level_map, issues=run.issues
        )
        run.levels[self.name] = order
        value = run.values[self.name] = Value("text", levels)
        if len(levels):
            run.codes[self.name], missing = category_codes(cells, levels, order)
            value.set_missing_mask(missing)
        if self.detail:
            detail, _groups = column_sublevels(cells, self.codes, level_map)
            run.values[f"#detail:{self.name}"] = Value("text", detail)

    # ----------------------------------------------------------------- sql
    def sql(self, run: SqlRun) -> None:
        c = run.cell(self.column, self.key)
        miss = run.missing(c, self.codes)
        run.env[present_name(self.name)] = SqlValue("bool", f"(NOT {miss})")
        if self.kind == "date":
            if c.kind == "date":
                v = f"(CASE WHEN {c.sql} IS NULL THEN NULL ELSE {run.days(c.sql)} END)"
            elif c.kind in ("text", "null"):
                v = run.text_date(self.date_format, c, self.codes)
            else:
                raise run.unsupported(f"the date column '{c.column}' stored as numbers")
            run.define(self.target, "date", v)
            return
        if self.kind == "number":
            value, bad = run.number(c, self.codes)
            if bad is not None:
                run.mixed_types(c, bad)
            run.define(self.target, "number", value)
            return
        level_map = dict(self.level_map)
        code, unknown = run.categorize(self.name, c, self.codes, level_map)
        run.define_codes(self.name, code)
        if unknown is not None:
            run.category_unknown(c, unknown, level_map)
        if self.detail:
            run.detail_codes(self.name, c, self.codes, level_map)


@dataclass(frozen=True)
class Cut:
    """A number cut into categories ``[a, b)`` named ``names`` (the value ``name`` is
    replaced by its category)."""

    name: str
    source: str
    cuts: tuple[float, ...]
    names: tuple[str, ...]

    def numpy(self, run: MemoryRun) -> None:
        arr = run.values[self.source].data
        idx = np.searchsorted(np.asarray(self.cuts, dtype=float), arr, side="right")
        table = np.empty(len(self.names) + 1, dtype=object)
        table[: len(self.names)] = list(self.names)
        table[len(self.names)] = None
        code = np.where(np.isnan(arr), len(self.names), idx)
        run.levels[self.name] = list(self.names)
        run.values[self.name] = Value("text", table[code])
        run.codes[self.name] = np.where(code == len(self.names), -1, code).astype(np.int64)

    def sql(self, run: SqlRun) -> None:
        x = run.value_sql(self.source)
        whens = " ".join(f"WHEN {x} < {num_lit(c)} THEN {i}" for i, c in enumerate(self.cuts))
        run.levels[self.name] = list(self.names)
        run.define_codes(
            self.name, f"(CASE WHEN {x} IS NULL THEN NULL {whens} ELSE {len(self.cuts)} END)"
        )


@dataclass(frozen=True)
class ReadMultiselect:
    """A multiselect variable: one 1/0 column per option (``selected`` values mean 1, the
    usual 'no' values 0; with ``blank_is_no`` an empty cell is 0)."""

    name: str
    options: tuple[tuple[str, str], ...]  # (row label, data column)
    codes: frozenset[str]
    selected: tuple[Any, ...]
    false_values: tuple[Any, ...]
    blank_is_no: bool

    def column_of(self, j: int) -> str:
        return f"{self.name}__{j + 1}"

    def numpy(self, run: MemoryRun) -> None:
        level_map = {"1": list(self.selected), "0": list(self.false_values)}
        out = []
        for j, (label, column) in enumerate(self.options):
            cells = run.cells(column, ("variables", self.name, "options", label))
            vals, _ = column_categories(
                cells, column=column, codes=self.codes, level_map=level_map, issues=run.issues
            )
            arr = np.full(len(vals), np.nan)
            arr[vals == "1"] = 1.0
            arr[vals == "0"] = 0.0
            if self.blank_is_no:
                blank = cells.map_values(lambda c: c is None or str(c).strip() == "", bool)
                arr = np.where(blank, 0.0, arr)
            run.values[self.column_of(j)] = Value("number", arr)
            out.append((label, self.column_of(j)))
        run.multi[self.name] = out

    def sql(self, run: SqlRun) -> None:
        level_map: dict[str, list[Any]] = {"1": list(self.selected), "0": list(self.false_values)}
        out = []
        for j, (label, column) in enumerate(self.options):
            c = run.cell(column, ("variables", self.name, "options", label))
            code, unknown = run.categorize(self.column_of(j), c, self.codes, level_map)
            value = f"(CASE {code} WHEN 0 THEN 1.0E0 WHEN 1 THEN 0.0E0 END)"
            if self.blank_is_no:
                blank = f"({c.sql} IS NULL)"
                if c.kind in ("text", "null"):
                    blank = f"({c.sql} IS NULL OR trim({c.sql}) = '')"
                value = f"(CASE WHEN {blank} THEN 0.0E0 ELSE {value} END)"
            if unknown is not None:
                run.category_unknown(c, unknown, level_map)
            run.define(self.column_of(j), "number", value)
            out.append((label, self.column_of(j)))
        run.multi[self.name] = out


@dataclass(frozen=True)
class ReadEvent:
    """An endpoint's event column as status 1 (event), 0 (censored), 2 (competing), missing:
    0/1 and true/false, or the endpoint's ``event_codes`` (EVENT-CODE for other values).

    ``variable``: ``column`` names a derived variable (issue 17), whose values (numbers, or
    a category's level names) are mapped as a column's cells would be."""

    name: str
    column: str
    key: Key
    codes: frozenset[str]
    event: tuple[Any, ...] | None
    censored: tuple[Any, ...] | None
    competing: tuple[Any, ...] = ()
    variable: bool = False

    def mapping(self) -> dict[str, int]:
        if self.event is None or self.censored is None:
            return {"1": 1, "true": 1, "0": 0, "false": 0}
        out: dict[str, int] = {}
        for value, status in (
            *((v, 1) for v in self.event),
            *((v, 0) for v in self.censored),
            *((v, 2) for v in self.competing),
        ):
            key = norm_text(value)
            if key is not None:
                out[key] = status
        return out

    def numpy(self, run: MemoryRun) -> None:
        if self.variable:
            from survstudy.data.cells import Cells

            cells = Cells(_value_cells(run.values[self.column]), run.rows)
        else:
            cells = run.cells(self.column, self.key)
        run.values[present_name(self.name)] = Value("bool", ~column_missing(cells, self.codes))
        status = column_events(
            cells,
            column=self.column,
            codes=self.codes,
            event=self.event,
            censored=self.censored,
            competing=self.competing,
            issues=run.issues,
        )
        run.values[self.name] = Value("number", status)

    def sql(self, run: SqlRun) -> None:
        if self.variable:
            from survstudy.data.expressions import Cell

            v = run.env[self.column]
            kind = {"bool": "bool", "number": "num", "text": "text"}[v.kind]
            ec = Cell(f"({v.sql})", kind, self.column)
        else:
            ec = run.cell(self.column, self.key)
        mapping = self.mapping()
        by_status: dict[int, list[str]] = {}
        for k, st in mapping.items():
            by_status.setdefault(st, []).append(k)
        whens = " ".join(
            f"WHEN {run.match(ec, ks)} THEN {float(st):.1f}E0" for st, ks in by_status.items()
        )
        miss = run.missing(ec, self.codes)
        hit = run.match(ec, list(mapping))
        bad = f"(CASE WHEN COALESCE({hit}, FALSE) THEN FALSE WHEN {miss} THEN FALSE ELSE TRUE END)"
        run.grouped_check(
            "EVENT-CODE",
            "" if self.event is None else "mapped",
            bad,
            ec,
            column=self.column,
            params={},
        )
        run.env[present_name(self.name)] = SqlValue("bool", f"(NOT {miss})")
        run.define(self.name, "number", f"(CASE {whens} ELSE NULL END)")


# --------------------------------------------------------------------------- derived


@dataclass(frozen=True)
class Derive:
    """A derived variable: its expression evaluated, of the variable's type (``kind``
    number | date | category; a number with ``cuts`` is cut into categories)."""

    name: str
    text: str
    kind: str
    key: Key
    var_type: str
    level_map: Mapping[str, list[Any]] = field(default_factory=dict)
    cuts: tuple[float, ...] | None = None
    cut_names: tuple[str, ...] = ()

    def check_kind(self, run: MemoryRun | SqlRun, result_kind: str) -> str:
        """How the result becomes the variable: 'value', 'cut' or 'categorize'."""
        if self.kind == "number":
            if result_kind != "number":
                raise run.spec_fail(
                    f"'{self.name}' is continuous but its expression gives a {result_kind}",
                    self.key,
                )
            return "value"
        if self.kind == "date":
            if result_kind != "date":
                raise run.spec_fail(
                    f"'{self.name}' is a date but its expression gives a {result_kind}", self.key
                )
            return "value"
        if self.cuts is not None and result_kind == "number":
            return "cut"
        if result_kind == "date":
            raise run.spec_fail(
                f"'{self.name}' is {self.var_type} but its expression gives a date", self.key
            )
        return "categorize"

    def numpy(self, run: MemoryRun) -> None:
        from survstudy.data.cells import Cells

        result = run.eval_text(self.text, self.key)
        how = self.check_kind(run, result.kind)
        if how == "value":
            run.values[self.name] = result
            return
        if how == "cut":
            assert self.cuts is not None
            run.values[f"#number:{self.name}"] = result
            Cut(self.name, f"#number:{self.name}", self.cuts, self.cut_names).numpy(run)
            return
        levels, order = column_categories(
            Cells(_value_cells(result), run.rows),
            column=self.name,
            codes=frozenset(),
            level_map=dict(self.level_map),
            issues=run.issues,
        )
        run.levels[self.name] = order
        run.values[self.name] = Value("text", levels)

    def sql(self, run: SqlRun) -> None:
        from survstudy.data.expressions import Cell

        result = run.eval_text(self.text, self.key)
        how = self.check_kind(run, result.kind)
        if how == "value":
            run.define(self.name, result.kind, result.sql)
            return
        if how == "cut":
            assert self.cuts is not None
            run.env[f"#number:{self.name}"] = SqlValue("number", f"({result.sql})")
            Cut(self.name, f"#number:{self.name}", self.cuts, self.cut_names).sql(run)
            return
        kind = {"bool": "bool", "number": "num", "text": "text"}[result.kind]
        c = Cell(f"({result.sql})", kind, self.name)
        level_map = dict(self.level_map)
        code, unknown = run.categorize(self.name, c, frozenset(), level_map)
        run.define_codes(self.name, code)
        if unknown is not None:
            run.category_unknown(c, unknown, level_map)


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


@dataclass(frozen=True)
class Compute:
    """An internal column ``name`` from a plan rule's tree (endpoint rules, flags).

    ``inline``: the SQL executor substitutes the expression where it is used instead of
    making a column (small conditions used once or twice)."""

    name: str
    node: PlanNode
    text: str = ""
    inline: bool = False

    def numpy(self, run: MemoryRun) -> None:
        run.values[self.name] = run.eval_node(self.node, self.text)

    def sql(self, run: SqlRun) -> None:
        v = run.eval_node(self.node, self.text)
        if self.inline:
            run.env[self.name] = SqlValue(v.kind, f"({v.sql})")
        else:
            run.define(self.name, v.kind, v.sql)


# --------------------------------------------------------------------------- population


@dataclass(frozen=True)
class Population:
    """Step ``index`` of the inclusion flow: keep where ``include`` is true / drop where
    ``exclude`` is true; an unknown result excludes (include) or keeps (exclude) the patient
    and is POPULATION-MISSING."""

    index: int
    text: str
    include: bool
    reason: str | None

    @property
    def key(self) -> Key:
        return ("population", self.index, "include" if self.include else "exclude")

    def params(self) -> dict[str, Any]:
        return {"expression": self.text, "fate": "excluded" if self.include else "kept"}

    def kind_check(self, run: MemoryRun | SqlRun, kind: str) -> None:
        if kind != "bool":
            raise run.spec_fail(
                f"a population criterion must be a condition, not a {kind}", self.key
            )

    def numpy(self, run: MemoryRun) -> None:
        result = run.eval_text(self.text, self.key)
        self.kind_check(run, result.kind)
        included = run.included
        unknown = np.isnan(result.data) & included
        keep = result.data == 1 if self.include else ~(result.data == 1)
        before = int(included.sum())
        new = included & keep
        n_unknown = int(unknown.sum())
        if n_unknown:
            run.issues.check(
                "POPULATION-MISSING", params=self.params(), rows=run.rows[unknown].tolist()
            )
        run.flow_counts.append((before, int(new.sum()), n_unknown))
        run.included = new

    def sql(self, run: SqlRun) -> None:
        result = run.eval_text(self.text, self.key)
        self.kind_check(run, result.kind)
        p = run.add(result.sql, f"p__{self.index}")
        before = " AND ".join(run.keeps) if run.keeps else "TRUE"
        run.keeps.append(f"({p} IS TRUE)" if self.include else f"({p} IS NOT TRUE)")
        after = " AND ".join(run.keeps)
        run.steps.append((f"({before})", f"({after})"))
        run.population_checks.append(
            run.check("POPULATION-MISSING", f"({before} AND {p} IS NULL)", params=self.params())
        )


@dataclass(frozen=True)
class Included:
    """The inclusion flow is complete: NO-PATIENTS when nobody is left after the criteria."""

    any_criteria: bool

    def numpy(self, run: MemoryRun) -> None:
        if self.any_criteria and not run.included.any():
            run.issues.check("NO-PATIENTS")

    def sql(self, run: SqlRun) -> None:
        run.flush()
        run.inc = run.add(" AND ".join(run.keeps) if run.keeps else "TRUE", "inc")
        run.flush()
        if self.any_criteria:
            run.check("NO-PATIENTS", f"(NOT {run.inc})", no_rows=True)


@dataclass(frozen=True)
class Applicable:
    """``applicable_when``: the internal column ``#applicable:name`` (true where it
    applies; an unknown condition does not apply)."""

    name: str
    text: str | None

    @property
    def key(self) -> Key:
        return ("variables", self.name, "applicable_when")

    def kind_check(self, run: MemoryRun | SqlRun, kind: str) -> None:
        if kind != "bool":
            raise run.spec_fail(f"'applicable_when' must be a condition, not a {kind}", self.key)

    def numpy(self, run: MemoryRun) -> None:
        if self.text is None:
            run.values[f"#applicable:{self.name}"] = Value("bool", np.ones(run.n, dtype=bool))
            return
        result = run.eval_text(self.text, self.key)
        self.kind_check(run, result.kind)
        run.values[f"#applicable:{self.name}"] = Value("bool", result.data == 1)

    def sql(self, run: SqlRun) -> None:
        if self.text is None:
            run.env[f"#applicable:{self.name}"] = SqlValue("bool", "TRUE")
            return
        result = run.eval_text(self.text, self.key)
        self.kind_check(run, result.kind)
        run.define(f"#applicable:{self.name}", "bool", f"COALESCE({result.sql}, FALSE)")


# --------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class Check:
    """A declared check: the catalogue's ``code`` in wording ``variant``, on the rows where
    ``cond`` is true (among the included rows when ``scope`` is 'incl').

    ``params`` fill the wording; ``{n}`` is the number of rows; ``counts`` names
    :class:`Count` results that fill further fields (``{denominator}``); ``values`` lists
    the distinct values of a number column on those rows (RANGE: the first five, sorted).
    """

    code: str
    cond: PlanNode
    variant: str = ""
    scope: str = "all"
    column: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    counts: Mapping[str, str] = field(default_factory=dict)
    values: str | None = None
    sensitive: bool = False
    file: str | None = None
    text: str = ""

    def numpy(self, run: MemoryRun) -> None:
        hit = run.eval_node(self.cond, self.text).data == 1
        if self.scope == "incl":
            hit &= run.included
        if not hit.any():
            return
        params = dict(self.params)
        params["n"] = int(hit.sum())
        for k, count in self.counts.items():
            params[k] = run.counts[count]
        if self.values is not None:
            vals = np.unique(run.values[self.values].data[hit])
            params["values"] = listed_numbers(vals.tolist())
        run.issues.check(
            self.code,
            self.variant,
            params,
            rows=run.rows[hit].tolist(),
            column=self.column,
            sensitive=self.sensitive,
            file=self.file,
        )

    def sql(self, run: SqlRun) -> None:
        cond = run.eval_node(self.cond, self.text)
        run.check(
            self.code,
            f"({cond.sql})",
            variant=self.variant,
            scope=self.scope,
            column=self.column,
            params=dict(self.params),
            counts=dict(self.counts),
            sensitive=self.sensitive,
            file=self.file,
            values=run.value_sql(self.values) if self.values is not None else None,
            values_mode="range" if self.values is not None else "",
        )


def reference_of(
    var_type: str, reference: str | None, given: bool, levels: list[str]
) -> str | None:
    """The reference level: the spec's (``reference``, its own default when not ``given``:
    a binary variable's No level, :func:`survstudy.spec.model.binary_reference`), else the
    first level found; a binary variable of two levels without either: the second."""
    ref = reference or (levels[0] if levels else None)
    if var_type == "binary" and not given and len(levels) == 2 and ref not in levels:
        ref = levels[1]
    return ref


@dataclass(frozen=True)
class ReferenceCheck:
    """REFERENCE-UNKNOWN: the reference level is not among the levels found in the data."""

    name: str
    var_type: str
    reference: str | None
    given: bool
    column: str

    def finding(self, levels: list[str]) -> dict[str, Any] | None:
        ref = reference_of(self.var_type, self.reference, self.given, levels)
        if ref is not None and levels and ref not in levels:
            return {"reference": ref, "levels": ", ".join(levels)}
        return None

    def numpy(self, run: MemoryRun) -> None:
        params = self.finding(run.levels_of(self.name))
        if params is not None:
            run.issues.check("REFERENCE-UNKNOWN", params=params, column=self.column)

    def sql(self, run: SqlRun) -> None:
        params = self.finding(run.levels[self.name])
        if params is not None:
            run.check("REFERENCE-UNKNOWN", "FALSE", params=params, column=self.column, no_rows=True)


def many_levels(levels: int, values: int) -> bool:
    """MANY-LEVELS: more than 5 categories with fewer than 5 values per category on
    average, or more than 20 categories (a free-text or mistyped numeric column)."""
    return levels > 5 and (levels > 20 or values < 5 * levels)


@dataclass(frozen=True)
class ManyLevels:
    """MANY-LEVELS for a category whose levels were found in the data (all rows)."""

    name: str
    column: str

    def numpy(self, run: MemoryRun) -> None:
        k = len(run.levels_of(self.name))
        n = int((run.values[present_name(self.name)].data == 1).sum())
        if many_levels(k, n):
            run.issues.check("MANY-LEVELS", params={"levels": k, "values": n}, column=self.column)

    def sql(self, run: SqlRun) -> None:
        k = len(run.levels[self.name])
        if k <= 5:
            return
        n = run.count_where(run.value_sql(present_name(self.name)))
        if many_levels(k, n):
            run.check(
                "MANY-LEVELS",
                "FALSE",
                params={"levels": k, "values": n},
                column=self.column,
                no_rows=True,
            )


@dataclass(frozen=True)
class Count:
    """The number of included rows where ``cond`` is true (metadata and message fields)."""

    key: str
    cond: PlanNode

    def numpy(self, run: MemoryRun) -> None:
        hit = run.eval_node(self.cond).data == 1
        run.counts[self.key] = int((hit & run.included).sum())

    def sql(self, run: SqlRun) -> None:
        run.meta.append((self.key, f"({run.eval_node(self.cond).sql})"))


def sublevel_groups(
    level_map: Mapping[str, list[Any]], codes: frozenset[str]
) -> dict[str, tuple[str, ...]]:
    """Per level, its data values as written in the spec (for 'I (n=3)/II (n=4)')."""
    return sublevels([], codes, dict(level_map))[1]

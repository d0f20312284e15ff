"""Whole-spec checks: every name used is declared, with the right type, and nothing is circular."""

from __future__ import annotations

from collections.abc import Iterable

from survstudy.errors import SpecError
from survstudy.spec.expr import Expression, parse_expression
from survstudy.spec.model import Factor, StudySpec
from survstudy.spec.suggest import closest

__all__ = ["check_spec", "derivation_order", "endpoint_columns"]

CATEGORY_TYPES = ("categorical", "binary")
FACTOR_TYPES = ("continuous", "categorical", "binary")


def endpoint_columns(name: str) -> tuple[str, str, str]:
    """Cohort column names of an endpoint: time (days), event (0/1), status (0/1/2…)."""
    return f"{name}_time", f"{name}_event", f"{name}_status"


class _Checker:
    def __init__(self, spec: StudySpec, file: str) -> None:
        self.spec = spec
        self.file = file

    def fail(
        self,
        message: str,
        key: tuple[str | int, ...],
        *,
        suggestion: str | None = None,
        hint: str | None = None,
        code: str = "SPEC-INVALID",
    ) -> SpecError:
        return SpecError(
            message,
            file=self.file,
            line=self.spec.line_of(*key),
            key=".".join(str(k) for k in key),
            suggestion=suggestion,
            hint=hint,
            code=code,
        )

    def name(
        self, name: str, key: tuple[str | int, ...], allowed: Iterable[str], what: str
    ) -> None:
        allowed = list(allowed)
        if name not in allowed:
            raise self.fail(
                f"'{name}' is not a declared {what}",
                key,
                suggestion=closest(name, allowed),
                code="SPEC-UNKNOWN-NAME",
            )

    def variable(self, name: str, key: tuple[str | int, ...], types: Iterable[str]) -> None:
        types = tuple(types)
        self.name(name, key, self.spec.variables, "variable")
        vtype = self.spec.variables[name].type
        if vtype not in types:
            raise self.fail(
                f"'{name}' is a {vtype} variable; here it must be {' or '.join(types)}",
                key,
                code="SPEC-WRONG-TYPE",
            )

    def expression(self, text: str, key: tuple[str | int, ...]) -> Expression:
        try:
            expr = parse_expression(text)
        except ValueError as exc:
            raise self.fail(str(exc), key, code="SPEC-EXPRESSION") from None
        usable = [
            n
            for n, v in self.spec.variables.items()
            if v.type not in ("identifier", "multiselect", "text")
        ]
        for used in sorted(expr.names):
            if used not in usable:
                if used in self.spec.variables:
                    raise self.fail(
                        f"'{used}' is a {self.spec.variables[used].type} variable and cannot "
                        f"be used in an expression",
                        key,
                        code="SPEC-EXPRESSION",
                    )
                raise self.fail(
                    f"unknown name '{used}' in the expression '{text}'",
                    key,
                    suggestion=closest(used, usable),
                    code="SPEC-UNKNOWN-NAME",
                )
        return expr

    def run(self) -> None:
        spec = self.spec
        if (
            spec.data.id is not None
            and spec.data.id in spec.variables
            and spec.variables[spec.data.id].type != "identifier"
        ):
            raise self.fail(
                f"the id column '{spec.data.id}' must be declared with type: identifier",
                ("variables", spec.data.id, "type"),
            )
        if spec.data.tables and spec.data.id is None:
            raise self.fail(
                "joined tables (data.tables) are matched on the patient id: give data.id",
                ("data", "tables"),
            )
        for name, var in spec.variables.items():
            if var.from_table is not None:
                self.name(
                    var.from_table, ("variables", name, "from_table"), spec.data.tables, "table"
                )
                many = spec.data.tables[var.from_table].rows == "many"
                if var.time_dependent is not None and var.time_dependent.date and not many:
                    raise self.fail(
                        f"'{name}' is measured repeatedly (time_dependent: {{date: ...}}): the "
                        f"table '{var.from_table}' needs rows: many",
                        ("variables", name, "time_dependent", "date"),
                    )
                if many and var.summary is None:
                    raise self.fail(
                        f"the table '{var.from_table}' has several rows per patient: give "
                        "'summary' (first, last, min, max, count or any)",
                        ("variables", name, "from_table"),
                    )
                if not many and var.summary is not None:
                    raise self.fail(
                        f"the table '{var.from_table}' has one row per patient: 'summary' is for "
                        "tables with rows: many",
                        ("variables", name, "summary"),
                    )
            if var.derive is not None:
                if var.type in ("identifier", "multiselect", "text"):
                    raise self.fail(
                        f"a {var.type} variable cannot be derived", ("variables", name, "derive")
                    )
                expr = self.expression(var.derive, ("variables", name, "derive"))
                if name in expr.names:
                    raise self.fail(
                        f"'{name}' is derived from itself", ("variables", name, "derive")
                    )
            if var.applicable_when is not None:
                self.expression(var.applicable_when, ("variables", name, "applicable_when"))
            if var.time_dependent is not None and var.time_dependent.from_ is not None:
                self.variable(
                    var.time_dependent.from_,
                    ("variables", name, "time_dependent", "from"),
                    ["date"],
                )

        derivation_order(spec, file=self.file)
        self.endpoints()
        for i, step in enumerate(spec.population):
            which = "include" if step.include is not None else "exclude"
            self.expression(step.expression, ("population", i, which))
        self.analyses()

    def endpoints(self) -> None:
        spec = self.spec
        taken = set(spec.variables)
        for name, ep in spec.endpoints.items():
            if name in spec.variables:
                raise self.fail(
                    f"'{name}' is both a variable and an endpoint; rename one", ("endpoints", name)
                )
            for column in endpoint_columns(name):
                if column in taken:
                    raise self.fail(
                        f"the endpoint's column '{column}' clashes with a variable of that name",
                        ("endpoints", name),
                    )
            if not ep.from_dates:
                many = ep.composite
                for field, parts, types in (
                    ("time", ep.time_parts(), ("continuous",)),
                    ("event", ep.event_parts(), FACTOR_TYPES),
                ):
                    for i, part in enumerate(parts):
                        if spec.is_derived(part):
                            key = (
                                ("endpoints", name, field, i)
                                if many
                                else ("endpoints", name, field)
                            )
                            self.variable(part, key, types)
            if ep.from_dates:
                assert ep.start is not None
                self.variable(ep.start, ("endpoints", name, "start"), ["date"])
                dates: list[tuple[str, tuple[str | int, ...]]] = [
                    (ep.start, ("endpoints", name, "start"))
                ]
                if ep.end is not None:
                    self.variable(ep.end, ("endpoints", name, "end"), ["date"])
                    dates.append((ep.end, ("endpoints", name, "end")))
                for field in ("events", "censor", "competing"):
                    for i, var in enumerate(getattr(ep, field)):
                        self.variable(var, ("endpoints", name, field, i), ["date"])
                        dates.append((var, ("endpoints", name, field, i)))
                for var, where in dates:
                    if spec.variables[var].applicable_when is not None:
                        raise self.fail(
                            f"the endpoint '{name}' uses the date '{var}', which has "
                            "applicable_when: an endpoint's dates apply to every patient (a "
                            "date that does not apply would silently censor or drop patients)",
                            where,
                            hint="remove applicable_when from the date, or restrict the "
                            "patients with a population criterion",
                        )

    def factor(self, factor: Factor, key: tuple[str | int, ...]) -> None:
        self.variable(factor.variable, key, FACTOR_TYPES)
        if factor.per is not None and self.spec.variables[factor.variable].type != "continuous":
            raise self.fail(
                f"'per' scales a continuous variable; '{factor.variable}' is "
                f"{self.spec.variables[factor.variable].type}",
                key,
            )

    def analyses(self) -> None:
        spec = self.spec
        an = spec.analyses
        endpoints = list(spec.endpoints)
        if an.table1 is not None:
            shown = [
                n for n, v in spec.variables.items() if v.type not in ("identifier", "date", "text")
            ] + endpoints
            for i, var in enumerate(an.table1.variables):
                key: tuple[str | int, ...] = ("analyses", "table1", "variables", i)
                vtype = spec.variables[var].type if var in spec.variables else None
                if vtype == "text":
                    raise self.fail(
                        f"'{var}' is a text column (free text) and is never analysed or shown; "
                        "make a categorical variable with levels from it if it holds categories",
                        key,
                        code="SPEC-WRONG-TYPE",
                    )
                if vtype in ("identifier", "date"):
                    raise self.fail(
                        f"'{var}' is a {vtype} column and is never shown; "
                        "derive a duration or age from it instead",
                        key,
                        code="SPEC-WRONG-TYPE",
                    )
                self.name(var, key, shown, "variable or endpoint")
            if an.table1.by is not None:
                self.variable(an.table1.by, ("analyses", "table1", "by"), CATEGORY_TYPES)
        if an.survival is not None:
            for i, ep in enumerate(an.survival.endpoints):
                self.name(ep, ("analyses", "survival", "endpoints", i), endpoints, "endpoint")
        if an.univariable is not None:
            for i, ep in enumerate(an.univariable.endpoints):
                self.name(ep, ("analyses", "univariable", "endpoints", i), endpoints, "endpoint")
            for i, f in enumerate(an.univariable.factors):
                self.factor(f, ("analyses", "univariable", "factors", i))
        seen: set[str] = set()
        for i, model in enumerate(an.multivariable):
            key = ("analyses", "multivariable", i)
            if model.name in seen:
                raise self.fail(f"two models are named '{model.name}'", (*key, "name"))
            seen.add(model.name)
            self.name(model.endpoint, (*key, "endpoint"), endpoints, "endpoint")
            for j, f in enumerate(model.covariates):
                self.factor(f, (*key, "covariates", j))
            for j, s in enumerate(model.strata):
                self.variable(s, (*key, "strata", j), CATEGORY_TYPES)
        names: set[str] = set()
        for i, te in enumerate(an.treatment_effect):
            key = ("analyses", "treatment_effect", i)
            if te.name in names:
                raise self.fail(f"two treatment comparisons are named '{te.name}'", (*key, "name"))
            names.add(te.name)
            self.name(te.endpoint, (*key, "endpoint"), endpoints, "endpoint")
            self.variable(te.treatment, (*key, "treatment"), CATEGORY_TYPES)
            tvar = spec.variables[te.treatment]
            levels = tvar.level_names()
            if tvar.type == "categorical" and levels and len(levels) != 2:
                raise self.fail(
                    f"the treatment '{te.treatment}' must have exactly 2 levels (treated and "
                    f"control); it has {len(levels)}: {', '.join(levels)} (merge levels, or "
                    "derive a binary variable)",
                    (*key, "treatment"),
                    code="SPEC-TREATMENT-NOT-BINARY",
                )
            if not te.confounders:
                raise self.fail(
                    "a propensity-score analysis needs at least one confounder",
                    (*key, "confounders"),
                )
            used: set[str] = set()
            for j, f in enumerate(te.confounders):
                self.factor(f, (*key, "confounders", j))
                if f.variable == te.treatment:
                    raise self.fail(
                        f"the treatment '{te.treatment}' cannot also be a confounder",
                        (*key, "confounders", j),
                    )
                if f.variable in used:
                    raise self.fail(
                        f"the confounder '{f.variable}' is listed twice", (*key, "confounders", j)
                    )
                used.add(f.variable)
        for i, fig in enumerate(an.km):
            self.name(fig.endpoint, ("analyses", "km", i, "endpoint"), endpoints, "endpoint")
            if fig.by is not None:
                self.variable(fig.by, ("analyses", "km", i, "by"), CATEGORY_TYPES)
        for i, lm in enumerate(an.landmark):
            key = ("analyses", "landmark", i)
            self.name(lm.endpoint, (*key, "endpoint"), endpoints, "endpoint")
            self.variable(lm.by, (*key, "by"), CATEGORY_TYPES)
        for i, te in enumerate(an.treatment_effect):
            for j, vn in enumerate([te.treatment, *(f.variable for f in te.confounders)]):
                vs = spec.variables.get(vn)
                if vs is not None and vs.time_dependent is not None:
                    key = ("analyses", "treatment_effect", i) + (
                        ("treatment",) if j == 0 else ("confounders", j - 1)
                    )
                    raise self.fail(
                        f"'{vn}' is time-dependent: a propensity comparison needs its value "
                        "at time zero; compare it at a landmark (analyses.landmark) instead",
                        key,
                    )
        for vname, vspec in spec.variables.items():
            if vspec.time_dependent is None:
                continue
            for ep in self.time_dependent_endpoints(vname):
                if spec.endpoints[ep].start is None:
                    raise self.fail(
                        f"'{vname}' is time-dependent, so endpoint '{ep}' needs a start date "
                        "(start/events/censor) to place its date on the follow-up",
                        ("variables", vname, "time_dependent"),
                    )

    def time_dependent_endpoints(self, var: str) -> list[str]:
        """The endpoints analysed by the time-dependent ``var``."""
        an = self.spec.analyses
        eps: list[str] = []
        if an.univariable is not None and any(f.variable == var for f in an.univariable.factors):
            eps += an.univariable.endpoints
        for m in an.multivariable:
            if any(f.variable == var for f in m.covariates) or var in m.strata:
                eps.append(m.endpoint)
        eps += [k.endpoint for k in an.km if k.by == var]
        eps += [lm.endpoint for lm in an.landmark if lm.by == var]
        return [e for e in dict.fromkeys(eps) if e in self.spec.endpoints]


def derivation_order(spec: StudySpec, *, file: str = "<spec>") -> list[str]:
    """Derived variables in an order where each comes after the derived ones it uses."""
    derived = {n: v for n, v in spec.variables.items() if v.derive is not None}
    deps = {
        n: set(parse_expression(str(v.derive)).names) & set(derived) for n, v in derived.items()
    }
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(n: str, chain: list[str]) -> None:
        if state.get(n) == 2:
            return
        if state.get(n) == 1:
            cycle = " -> ".join([*chain[chain.index(n) :], n])
            raise SpecError(
                f"derived variables depend on each other in a circle: {cycle}",
                file=file,
                line=spec.line_of("variables", n, "derive"),
                key=f"variables.{n}.derive",
                code="SPEC-CYCLE",
            )
        state[n] = 1
        for d in sorted(deps[n]):
            visit(d, [*chain, n])
        state[n] = 2
        order.append(n)

    for n in derived:
        visit(n, [])
    return order


def check_spec(spec: StudySpec, *, file: str = "<spec>") -> None:
    """Cross-check a validated spec; raise :class:`SpecError` naming the line and key."""
    _Checker(spec, file).run()

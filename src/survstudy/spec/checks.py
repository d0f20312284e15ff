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
        for name, var in spec.variables.items():
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
                for var, key in dates:
                    if spec.variables[var].applicable_when is not None:
                        raise self.fail(
                            f"the endpoint '{name}' uses the date '{var}', which has "
                            "applicable_when: an endpoint's dates apply to every patient (a "
                            "date that does not apply would silently censor or drop patients)",
                            key,
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
        for i, fig in enumerate(an.km):
            self.name(fig.endpoint, ("analyses", "km", i, "endpoint"), endpoints, "endpoint")
            if fig.by is not None:
                self.variable(fig.by, ("analyses", "km", i, "by"), CATEGORY_TYPES)


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

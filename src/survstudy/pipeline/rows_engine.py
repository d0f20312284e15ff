"""The runner's rows from a data engine: a registry cohort's derived table.

:class:`EngineRows` implements :class:`~survstudy.pipeline.rows.Rows` for a
:class:`~survstudy.pipeline.registry.DerivedCohort` whose Parquet table is read by
an engine (DuckDB, Spark): Kaplan–Meier, log-rank and Cox from the engine's
per-time sums (:mod:`survstudy.engines.analyses`), Table 1 by SQL
(:mod:`survstudy.pipeline.table1_engine`). Only the columns an analysis uses are
read; no value from the data is ever put into SQL text (identifiers only).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from survstudy.data.registry import DerivedCohort
from survstudy.errors import AnalysisError
from survstudy.pipeline import diagnostics, engine, engine_competing
from survstudy.pipeline.design import FactorDesign, factor_design
from survstudy.pipeline.results import GroupTest, MethodsProfile
from survstudy.pipeline.rows import CoxPair, Selection, Survival
from survstudy.pipeline.selection import Measured
from survstudy.pipeline.table1 import Table1Summaries
from survstudy.pipeline.table1_engine import EngineTable1
from survstudy.spec import StudySpec

__all__ = ["NEEDS_ROWS", "EngineRows"]


NEEDS_ROWS = "needs the patients' rows in memory: run with --engine memory to get it"


@dataclass(frozen=True, eq=False)
class _EngineSelection:
    rows: EngineRows
    time: str
    event: str
    terms: tuple[Any, ...]
    strata: str | None
    group: str | None
    first_level: int | None  # code of the first design column's level (two-group share)
    first_column: str | None
    n: int
    events: int
    _counts: dict[str, Any] = field(default_factory=dict)  # risk tables, one pass each

    def cox_pair(
        self,
        first: dict[str, Any],
        second: dict[str, Any],
        *,
        term_names: tuple[str, ...],
        ci: str = "wald",
    ) -> CoxPair:
        """Both fits from shared passes (:func:`engine.cox_engine_fits`): the moments once,
        every Newton evaluation of both tie rules in one scan."""
        if ci != "wald":
            return CoxPair(None, None, AnalysisError(f"profile-likelihood intervals {NEEDS_ROWS}"))
        from survstudy.engines.base import Term

        terms = [
            Term(t.column, t.level, name) for t, name in zip(self.terms, term_names, strict=True)
        ]
        assign = first.get("assign")
        fits = [
            {k: v for k, v in f.items() if k != "assign"} | {"assign": f.get("assign") is not None}
            for f in (first, second)
        ]
        try:
            fit, other = engine.cox_engine_fits(
                self.rows.eng,
                self.rows.source,
                time=self.time,
                event=self.event,
                terms=terms,
                fits=fits,
                strata=self.strata,
                assign=assign,
            )
        except AnalysisError as exc:
            return CoxPair(None, None, exc)
        return CoxPair(fit, other)

    def share(self) -> float:
        if self.first_column is None or not self.n:
            return float("nan")
        n1 = self.rows.count(
            [self.time, self.event, *self._columns()],
            extra=f"{self.rows.ident(self.first_column)} = {int(self.first_level or 0)}",
        )[0]
        return n1 / self.n

    def _columns(self) -> list[str]:
        cols = [t.column for t in self.terms]
        cols += [c for c in (self.strata, self.group) if c]
        return list(dict.fromkeys(cols))

    def n_groups(self) -> int:
        if self.group is None:
            return 0
        return len(self._risk(self.group).group_levels)

    def _risk(self, group: str) -> Any:
        if group not in self._counts:
            self._counts[group] = self.rows.eng.risk_table(
                self.rows.source, time=self.time, event=self.event, group=group, strata=self.strata
            )
        return self._counts[group]

    def logrank(self, weights: str) -> GroupTest:
        assert self.group is not None
        return engine.logrank_from_counts(self._risk(self.group), weights)

    def permutation(self, option: str, seed: int, n_resamples: int) -> Any:
        if option == "never":
            return None
        if option != "auto":
            raise AnalysisError(f"the permutation log-rank test {NEEDS_ROWS}")
        assert self.group is not None
        if engine.logrank_small(self._risk(self.group)):
            raise AnalysisError(f"a group expects fewer than 5 events; the exact test {NEEDS_ROWS}")
        return None

    def firth(
        self, *, ties: str, conf_level: float, term_names: tuple[str, ...]
    ) -> engine.CoxFit | None:
        raise AnalysisError(f"the Firth-penalised fit {NEEDS_ROWS}")

    def fine_gray(
        self, *, conf_level: float, term_names: tuple[str, ...], assign: tuple[str, ...]
    ) -> engine.CoxFit:
        # (the runner refuses competing-risks endpoints with an engine before any work)
        raise AnalysisError(f"the Fine–Gray model {NEEDS_ROWS}")

    def ph_follow_up(self, **_kw: Any) -> diagnostics.PhFollowUp:
        raise AnalysisError(f"the stratified refit {NEEDS_ROWS}")

    def column(self, j: int) -> np.ndarray:
        raise AnalysisError(f"a spline {NEEDS_ROWS}")

    def nonlinearity(self, column: int, width: int, **_kw: Any) -> Any:
        raise AnalysisError(f"the spline test of non-linearity {NEEDS_ROWS}")


class EngineRows:
    """A derived table read by a data engine (``duckdb`` or ``spark``)."""

    def __init__(self, cohort: DerivedCohort, eng: Any) -> None:
        from survstudy.engines.base import Source

        self.cohort = cohort
        self.eng = eng
        self.source = Source.from_path(cohort.path, format="parquet")
        self._levels_cache: dict[str, np.ndarray] = {}

    # ----- SQL helpers (identifiers only; no value from the data is ever put in SQL)
    def ident(self, column: str) -> str:
        return str(self.eng.dialect.ident(column))

    def count(
        self, columns: list[str], *, extra: str | None = None, event: str | None = None
    ) -> tuple[int, int]:
        """(rows, Σ event) where every column in ``columns`` is known (and ``extra`` holds)."""
        relation, label = self.eng.relation(self.source)
        where = self._known(columns)
        if extra:
            where += f" AND {extra}"
        ev = f"sum(CAST({self.ident(event)} AS DOUBLE))" if event else "0"
        r = self.eng.query(
            f"SELECT count(*) AS n, {ev} AS d FROM {relation} WHERE {where}", file=label
        )
        n = int(np.asarray(r["n"])[0])
        d = np.asarray(r["d"], dtype=object)[0]
        return n, round(float(d)) if d is not None else 0

    def _known(self, columns: list[str]) -> str:
        """SQL: every column in ``columns`` is known (not NULL, not NaN)."""
        conds = [
            f"{self.ident(c)} IS NOT NULL AND NOT isnan(CAST({self.ident(c)} AS DOUBLE))"
            for c in dict.fromkeys(columns)
        ]
        return " AND ".join(conds) or "TRUE"

    def _code_counts(self, column: str, n_levels: int) -> np.ndarray:
        if column not in self._levels_cache:
            relation, label = self.eng.relation(self.source)
            c = self.ident(column)
            r = self.eng.query(
                f"SELECT {c} AS v, count(*) AS n FROM {relation} WHERE {c} IS NOT NULL GROUP BY {c}",
                file=label,
            )
            counts = np.zeros(n_levels, dtype=np.int64)
            for v, n in zip(np.asarray(r["v"]).tolist(), np.asarray(r["n"]).tolist(), strict=True):
                counts[int(v)] = int(n)
            self._levels_cache[column] = counts
        return self._levels_cache[column]

    # ----- Rows
    def design(
        self, variable: str, *, per: float | None = None, label: str | None = None
    ) -> FactorDesign:
        info = self.cohort.variables.get(variable)
        if info is None or info.type == "continuous" or not info.is_categorical:
            # the same checks and messages as the in-memory design (a 0-row stand-in)
            return _empty_design(self.cohort, variable, per=per, label=label)
        levels = tuple(info.levels)
        reference = info.reference if info.reference in levels else (levels[0] if levels else None)
        counts = self._code_counts(variable, len(levels))
        empty = tuple(lev for lev, c in zip(levels, counts, strict=True) if c == 0)
        others = [lev for lev in levels if lev != reference and lev not in empty]
        return FactorDesign(
            variable=variable,
            label=label or info.label,
            kind="categorical",
            unit=None,
            per=None,
            columns=np.zeros((0, len(others))),
            terms=tuple(f"{variable}[{lev}]" for lev in others),
            term_levels=tuple(others),
            levels=levels,
            reference=reference,
            empty_levels=empty,
            codes=np.zeros(0, dtype=int),
        )

    def _endpoint(self, ep: str) -> tuple[str, str]:
        info = self.cohort.endpoints[ep]
        return info.time_column, info.event_column

    def survival(self, ep: str, *, conf_type: str, conf_level: float) -> Survival:
        time, event = self._endpoint(ep)
        rc = self.eng.risk_table(self.source, time=time, event=event)
        if rc.n_rows == 0:
            raise AnalysisError("no observations for the Kaplan–Meier estimate")
        km = engine.km_from_counts(rc, conf_type=conf_type, conf_level=conf_level)[0][1]
        if self._competing(ep):
            # only a censoring ends follow-up (not the event, not a competing event)
            t, status, _codes, n = self._status(ep, None)
            rev = engine_competing.reverse_km(
                t, status, n, conf_type=conf_type, conf_level=conf_level
            )
        else:
            rev_counts = replace(rc, n_event=rc.n_exit - rc.n_event)
            rev = engine.km_from_counts(rev_counts, conf_type=conf_type, conf_level=conf_level)[0][
                1
            ]
        return Survival(
            km,
            rev,
            int(rc.n_rows),
            round(float(np.sum(rc.n_event))),
            float(np.min(rc.time)),
            float(np.max(rc.time)),
        )

    def n_known(self, ep: str) -> int:
        time, event = self._endpoint(ep)
        return self.count([time, event])[0]

    def max_time(self, ep: str) -> float | None:
        time, event = self._endpoint(ep)
        relation, label = self.eng.relation(self.source)
        r = self.eng.query(
            f"SELECT max({self.ident(time)}) AS m FROM {relation} "
            f"WHERE {self._known([time, event])}",
            file=label,
        )
        m = np.asarray(r["m"], dtype=object)[0]
        return None if m is None or m != m else float(m)

    def select(
        self,
        ep: str,
        designs: list[FactorDesign],
        *,
        strata: list[FactorDesign] | None = None,
        group: FactorDesign | None = None,
    ) -> Selection:
        from survstudy.engines.base import Term

        time, event = self._endpoint(ep)
        terms: list[Term] = []
        columns: list[str] = []
        first: tuple[str, int] | None = None
        for d in designs:
            columns.append(d.variable)
            if d.kind == "continuous":
                terms.append(Term(d.variable))
                continue
            for lev in d.term_levels:
                assert lev is not None
                code = d.levels.index(lev)
                terms.append(Term(d.variable, code))
                if first is None:
                    first = (d.variable, code)
        if strata and len(strata) > 1:
            raise AnalysisError(
                "a model with more than one stratum variable is not yet available with "
                f"engine {self.eng.name}: stratify by one variable, or use --engine memory"
            )
        stratum = strata[0].variable if strata else None
        gcol = group.variable if group is not None else None
        used = [time, event, *columns, *(c for c in (stratum, gcol) if c)]
        n, events = self.count(used, event=event)
        return _EngineSelection(
            rows=self,
            time=time,
            event=event,
            terms=tuple(terms),
            strata=stratum,
            group=gcol,
            first_level=first[1] if first else None,
            first_column=first[0] if first else None,
            n=n,
            events=events,
        )

    def select_split(self, *_a: Any, **_k: Any) -> Selection:
        raise AnalysisError("time-dependent variables need the patients' rows in memory")

    def km_groups_split(
        self, *_a: Any, **_k: Any
    ) -> list[tuple[str | None, Any, int, int, tuple[int, ...]]]:
        raise AnalysisError("time-dependent variables need the patients' rows in memory")

    def survival_arrays(self, ep: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise AnalysisError("landmark analyses need the patients' rows in memory")

    def exposure_days(self, column: str) -> np.ndarray:
        raise AnalysisError("time-dependent variables need the patients' rows in memory")

    def measured(self, variable: str, ep: str) -> Measured | None:
        raise AnalysisError("time-dependent variables need the patients' rows in memory")

    def km_groups(
        self, ep: str, by: FactorDesign | None, *, conf_type: str, conf_level: float
    ) -> list[tuple[str | None, Any, int, int]]:
        time, event = self._endpoint(ep)
        rc = self.eng.risk_table(
            self.source, time=time, event=event, group=None if by is None else by.variable
        )
        out: list[tuple[str | None, Any, int, int]] = []
        for code, km in engine.km_from_counts(rc, conf_type=conf_type, conf_level=conf_level):
            m = rc.group == rc.group_levels.index(code) if by is not None else slice(None)
            n = round(float(np.sum(rc.n_exit[m])))
            d = round(float(np.sum(rc.n_event[m])))
            level = None if by is None else by.levels[int(code)]
            out.append((level, km, n, d))
        return out

    def table1(self, spec: StudySpec, prof: MethodsProfile) -> Table1Summaries:
        return EngineTable1(spec, self.cohort, self.eng, self.source, prof)

    # ----- competing risks: per-time counts by status (engines.competing), the same
    # numbers as in memory with the records' counts as frequency weights
    def _competing(self, ep: str) -> bool:
        e = self.cohort.spec.endpoints.get(ep)
        return e is not None and bool(
            e.competing or (e.event_codes is not None and e.event_codes.competing)
        )

    def _status(
        self, ep: str, by: FactorDesign | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(time, status 0/1/2, code into ``by.levels`` (0 without ``by``), count) per
        record of the endpoint's rows with a known time, status (and ``by``)."""
        from survstudy.engines.competing import status_records

        info = self.cohort.endpoints[ep]
        recs = status_records(
            self.eng,
            self.source,
            time=info.time_column,
            status=info.status_column,
            group=None if by is None else by.variable,
        )
        status = np.array([round(float(v)) for v in recs.status_levels], dtype=np.int64)
        if by is None:
            codes = np.zeros(recs.time.size, dtype=np.int64)
        else:
            lev = np.array([round(float(v)) for v in recs.group_levels], dtype=np.int64)
            codes = lev[recs.group] if lev.size else np.zeros(0, dtype=np.int64)
        return recs.time, status[recs.status], codes, recs.n

    def cif_groups(
        self, ep: str, by: FactorDesign | None, *, conf_type: str, conf_level: float
    ) -> list[tuple[str | None, Any, int]]:
        t, status, codes, n = self._status(ep, by)
        levels: tuple[str | None, ...] = (None,) if by is None else tuple(by.levels)
        fits = engine_competing.cumulative_incidence_by(
            t, status, codes, levels, conf_type=conf_type, conf_level=conf_level, weights=n
        )
        sizes = np.bincount(codes, weights=n, minlength=len(levels))
        return [(lev, cif, round(float(sizes[levels.index(lev)]))) for lev, cif in fits]

    def gray(self, ep: str, by: FactorDesign, cause: int) -> Any:
        t, status, codes, n = self._status(ep, by)
        return engine_competing.gray_test(t, status, codes, cause=cause, weights=n)


def _empty_design(
    cohort: DerivedCohort, variable: str, *, per: float | None, label: str | None
) -> FactorDesign:
    """A continuous factor's design (or the in-memory design's error for a wrong one),
    with no rows: the engine reads the column itself."""
    info = cohort.variables.get(variable)
    stand_in = _MetaOnly(cohort)
    d = factor_design(stand_in, variable, per=per, label=label)  # type: ignore[arg-type]
    assert info is not None
    assert d.kind == "continuous"
    return replace(d, columns=np.zeros((0, 1)))


class _MetaOnly:
    """A cohort with the derived cohort's metadata and no rows (for :func:`factor_design`)."""

    def __init__(self, cohort: DerivedCohort) -> None:
        self.variables = cohort.variables
        self.columns: dict[str, np.ndarray] = {name: np.zeros(0) for name in cohort.variables}

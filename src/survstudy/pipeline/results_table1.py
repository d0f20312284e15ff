"""Table 1's result types (:mod:`.table1`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from survstudy.pipeline.results_common import json_float as _f

__all__ = ["Table1Result", "Table1Row"]


@dataclass(frozen=True)
class Table1Row:
    """One row of Table 1: a continuous summary, a category, a multi-select option or missing.

    ``kind`` is ``continuous``, ``level``, ``option`` or ``missing``. Counts and
    percents are of ``denominator`` (the patients to whom the variable applies and
    whose value is known). ``groups`` holds the same statistics per level of the
    ``by`` variable (in level order), ``p_value``/``test`` the group comparison.
    """

    variable: str
    label: str
    kind: str
    level: str | None = None
    n: int | None = None
    denominator: int | None = None
    percent: float | None = None
    median: float | None = None
    min: float | None = None
    max: float | None = None
    q1: float | None = None
    q3: float | None = None
    mean: float | None = None
    sd: float | None = None
    n_missing: int = 0
    unit: str | None = None
    sublevels: tuple[tuple[str, int], ...] = ()  # grouped level's data values and counts
    show_sublevels: bool | None = None  # None: the table's default
    show_denominator: bool | None = None  # None: when it differs from the table's n
    groups: tuple[Table1Row, ...] = ()
    group: str | None = None
    p_value: float | None = None
    test: str | None = None
    smd: float | None = None  # analyses.table1.smd: on a variable's first row (two groups)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "variable": self.variable,
            "label": self.label,
            "kind": self.kind,
            "level": self.level,
            "n": self.n,
            "denominator": self.denominator,
            "percent": _f(self.percent),
            "median": _f(self.median),
            "min": _f(self.min),
            "max": _f(self.max),
            "q1": _f(self.q1),
            "q3": _f(self.q3),
            "mean": _f(self.mean),
            "sd": _f(self.sd),
            "n_missing": self.n_missing,
            "unit": self.unit,
            "sublevels": [{"value": v, "n": c} for v, c in self.sublevels],
        }
        if self.group is not None:
            d["group"] = self.group
        if self.groups:
            d["groups"] = [g.to_dict() for g in self.groups]
        if self.test is not None:
            d["test"] = self.test
            d["p_value"] = _f(self.p_value)
        if self.smd is not None:
            d["smd"] = _f(self.smd)
        return d


@dataclass(frozen=True)
class Table1Result:
    """Table 1 of the analysed population (optionally by a grouping variable)."""

    n: int
    rows: tuple[Table1Row, ...]
    continuous: str  # median-range | median-iqr | mean-sd
    by: str | None = None
    by_label: str | None = None
    by_levels: tuple[tuple[str, int], ...] = ()  # (level, n)
    tests: tuple[str, ...] = ()  # names of the tests used, for the footnote
    style: str = "journal"  # journal | seed (analyses.table1.style)
    # time-dependent variables shown (status at the end of follow-up): (label, date)
    time_dependent: tuple[tuple[str, str], ...] = ()
    show_tests: bool = True  # analyses.table1.tests: the p column is printed
    endpoint_times: tuple[str, ...] = ()  # rows summarising an endpoint's observed times
    # values measured during follow-up (time_dependent: {date: ...}) shown by their summary:
    # (label, the summary in words, e.g. "the last measurement")
    measured: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "continuous": self.continuous,
            "style": self.style,
            "by": self.by,
            "by_label": self.by_label,
            "by_levels": [{"level": lev, "n": n} for lev, n in self.by_levels],
            "tests": list(self.tests),
            "show_tests": self.show_tests,
            "endpoint_times": list(self.endpoint_times),
            "rows": [r.to_dict() for r in self.rows],
        }


# --------------------------------------------------------------------------- survival

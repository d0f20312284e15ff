"""Table 1 statistics from the DuckDB engine.

Kinds of truth: hand calculation (five values) and naive oracle
(``survstudy.stats.descriptive.describe``, R type-7 quantiles, and counting in
Python) on R's lung data with missing values, overall and by sex.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from survstudy.engines import get_engine
from survstudy.engines.base import Source
from survstudy.stats.descriptive import describe

pytest.importorskip("duckdb", reason="the duckdb extra is not installed")

LUNG = Path(__file__).resolve().parents[1] / "reference" / "data" / "lung.csv"


def test_table1_by_hand(tmp_path: Path) -> None:
    """Hand calculation: x = 1, 2, 4, 8, NA → n 4, 1 missing, mean 3.75, SD √(28.75/3) (squared deviations 7.5625 + 3.0625 + 0.0625 + 18.0625),
    type-7 quartiles 1.75, 3, 5 (positions 1.75, 2.5, 3.25 of 1, 2, 4, 8)."""
    p = tmp_path / "t.csv"
    p.write_text("x,c\n1,a\n2,b\n4,a\n8,\nNA,a\n")
    t = get_engine("duckdb").table1_stats(
        Source.from_path(str(p)), numeric=["x"], categorical=["c"]
    )
    (s,) = t.numeric
    assert (s.n, s.n_missing) == (4, 1)
    assert s.mean == pytest.approx(3.75, rel=1e-15)
    assert s.sd == pytest.approx(math.sqrt(28.75 / 3), rel=1e-14)
    assert (s.q1, s.median, s.q3, s.min, s.max) == pytest.approx((1.75, 3.0, 5.0, 1.0, 8.0))
    assert [(c.level, c.n) for c in t.counts] == [("a", 3), ("b", 1), (None, 1)]


def test_table1_lung_matches_describe() -> None:
    """Naive oracle: describe() and Python counts, overall and per sex, NA as missing."""
    with LUNG.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    t = get_engine("duckdb").table1_stats(
        Source.from_path(str(LUNG)),
        numeric=["meal.cal", "age"],
        categorical=["ph.ecog"],
        group="sex",
    )
    for s in t.numeric:
        vals = [r[s.column] for r in rows if s.group is None or r["sex"] == str(s.group)]
        x = np.array([float(v) for v in vals if v != "NA"])
        d = describe(x)
        assert (s.n, s.n_missing) == (x.size, len(vals) - x.size)
        np.testing.assert_allclose(
            [s.mean, s.sd, s.min, s.q1, s.median, s.q3, s.max],
            [d.mean, d.sd, d.min, d.q1, d.median, d.q3, d.max],
            rtol=1e-12,
        )
    assert {s.group for s in t.numeric} == {None, 1, 2}
    for c in t.counts:
        want = sum(
            1
            for r in rows
            if (c.group is None or r["sex"] == str(c.group))
            and (r["ph.ecog"] == "NA" if c.level is None else r["ph.ecog"] == str(c.level))
        )
        assert c.n == want
    assert sum(c.n for c in t.counts if c.group is None) == len(rows)


def test_table1_memory_engine_equals_duckdb() -> None:
    """Naive oracle: the memory engine's Table 1 equals DuckDB's on lung (NA as missing)."""
    with LUNG.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    cols = {k: np.array([r[k] for r in rows], dtype=object) for k in rows[0]}
    kw = {"numeric": ["meal.cal", "age"], "categorical": ["ph.ecog"], "group": "sex"}
    mem = get_engine("memory").table1_stats(Source.from_arrays(cols), **kw)
    duck = get_engine("duckdb").table1_stats(Source.from_path(str(LUNG)), **kw)
    assert [c.__dict__ for c in mem.counts] == [c.__dict__ for c in duck.counts]
    assert len(mem.numeric) == len(duck.numeric)
    for a, b in zip(mem.numeric, duck.numeric, strict=True):
        assert (a.column, a.group, a.n, a.n_missing) == (b.column, b.group, b.n, b.n_missing)
        np.testing.assert_allclose(
            [a.mean, a.sd, a.min, a.q1, a.median, a.q3, a.max],
            [b.mean, b.sd, b.min, b.q1, b.median, b.q3, b.max],
            rtol=1e-12,
        )

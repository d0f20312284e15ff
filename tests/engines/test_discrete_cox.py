"""A discrete Cox model (level indicators only) fitted through DuckDB from one grouping pass.

Kinds of truth:
* R reference — ``aml`` (tests/reference/cox.R, survival 3.5-3): the 0/1 column
  ``maintained`` entered as the indicator of its level 1 is R's model; coefficient, SE,
  log-likelihoods, concordance and ``cox.zph`` to 1e-6 relative, as the other engine
  tests;
* naive oracle — :func:`survstudy.stats.cox.cox_fit` on the rows (day-rounded times, so
  many ties; three-level factor, a binary one, strata, case weights), Efron and Breslow,
  to 1e-9 relative; and the same model fitted by the per-evaluation SQL passes (the
  grouping path switched off) to 1e-12 (the two differ only in summation order);
* hand count — the SQL passes: the value checks and one grouping, nothing per Newton
  evaluation, nothing for the concordance; a model with more records than the limit, or
  with a numeric term, takes the usual passes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from survstudy.engines import _sql_engine, analyses, get_engine
from survstudy.engines.base import Source, Term
from survstudy.stats.cox import cox_fit

from .test_parity import _num, _read, _source

pytest.importorskip("duckdb", reason="the duckdb extra is not installed")

REF = Path(__file__).resolve().parents[1] / "reference"
FIX = json.loads((REF / "cox.json").read_text())["fixtures"]


def _counting(eng: Any) -> list[str]:
    """Record every query ``eng`` runs."""
    queries: list[str] = []
    run = eng._run

    def counted(query: str, file: Any) -> Any:
        queries.append(query)
        return run(query, file)

    eng._run = counted
    return queries


def _kinds(queries: list[str]) -> dict[str, int]:
    out = {"sums": 0, "moments": 0, "records": 0, "estimate": 0}
    for q in queries:
        if "exp(" in q:
            out["sums"] += 1
        elif "AS sw0" in q:
            out["moments"] += 1
        elif "approx_count_distinct" in q:
            out["estimate"] += 1
        elif "AS w2" in q:
            out["records"] += 1
    return out


def test_aml_indicator_matches_r_from_one_grouping(tmp_path: Path) -> None:
    """R reference and hand count (module docstring)."""
    f = FIX["aml"]
    d = _read(f["data"])
    status = _num(d[f["event"]])
    cols = {
        "time": _num(d["time"]),
        "maintained": _num(d["maintained"]),
        "ev_": (status == f["event_value"]).astype(float),
    }
    eng = get_engine("duckdb", threads=1)
    queries = _counting(eng)
    try:
        res = analyses.cox(
            eng,
            _source("duckdb", cols, tmp_path),
            time="time",
            event="ev_",
            terms=[Term("maintained", 1.0)],
            ph_test=True,
        )
    finally:
        eng.close()
    assert res.n == f["n"]
    assert res.events == f["events"]
    np.testing.assert_allclose(res.coef, [f["coef"]], rtol=1e-6)
    np.testing.assert_allclose(res.se, [f["se"]], rtol=1e-6)
    np.testing.assert_allclose([res.loglik_null, res.loglik], f["loglik"], rtol=1e-6)
    assert res.concordance is not None
    np.testing.assert_allclose(
        [res.concordance.c, res.concordance.se], [f["concordance"], f["concordance_se"]], rtol=1e-6
    )
    assert res.ph is not None
    np.testing.assert_allclose(res.ph.global_chisq, f["zph_chisq"][-1], rtol=1e-6)
    # the value checks, one grouping (23 rows: no estimate first); no moment, sums or
    # concordance pass
    assert _kinds(queries) == {"sums": 0, "moments": 0, "records": 1, "estimate": 0}


def _generated(tmp_path: Path) -> tuple[Source, dict[str, np.ndarray]]:
    rng = np.random.default_rng(20261207)
    n = 3000
    grp = rng.integers(0, 3, n)
    smk = rng.integers(0, 2, n).astype(float)
    reg = rng.integers(1, 4, n).astype(float)
    wt = rng.choice([0.5, 1.0, 2.0], n)
    rate = np.exp(np.array([0.0, 0.4, -0.3])[grp] + 0.5 * smk) / 300.0
    t = np.ceil(rng.exponential(1.0 / rate))  # whole days: many tied times
    c = np.ceil(rng.uniform(50, 900, n))
    cols = {
        "time": np.minimum(t, c),
        "ev": (t <= c).astype(float),
        "grp": grp.astype(float),
        "smk": smk,
        "reg": reg,
        "wt": wt,
    }
    cols["smk"][:40] = np.nan  # incomplete rows are left out, as in every pass
    return _source("duckdb", cols, tmp_path), cols


TERMS = [Term("grp", 1.0), Term("grp", 2.0), Term("smk", 1.0)]


def _fits(eng: Any, source: Source) -> list[Any]:
    return analyses.cox_fits(
        eng,
        source,
        time="time",
        event="ev",
        terms=TERMS,
        strata="reg",
        weight="wt",
        fits=[{"ties": "efron", "ph_test": True, "concordance": True}, {"ties": "breslow"}],
    )


def test_grouped_fits_equal_the_rows_and_the_sql_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Naive oracle and identity up to summation order (module docstring)."""
    source, cols = _generated(tmp_path)
    eng = get_engine("duckdb", threads=1)
    queries = _counting(eng)
    try:
        fast = _fits(eng, source)
        grouped = _kinds(queries)
        queries.clear()
        monkeypatch.setattr(_sql_engine.SqlEngine, "_discrete_records", lambda *a, **k: None)
        slow = _fits(eng, source)
        passes = _kinds(queries)
    finally:
        eng.close()
    assert grouped == {"sums": 0, "moments": 0, "records": 1, "estimate": 0}
    assert passes["moments"] == 2
    assert passes["sums"] >= 3
    keep = ~np.isnan(cols["smk"])
    x = np.column_stack([cols["grp"] == 1, cols["grp"] == 2, cols["smk"] == 1]).astype(float)[keep]
    for res, other, ties in zip(fast, slow, ("efron", "breslow"), strict=True):
        ref = cox_fit(
            x,
            cols["time"][keep],
            cols["ev"][keep],
            strata=cols["reg"][keep],
            weights=cols["wt"][keep],
            ties=ties,
            concordance=ties == "efron",
        )
        assert res.n == ref.n == int(keep.sum())
        np.testing.assert_allclose(res.coef, ref.coef, rtol=1e-9)
        np.testing.assert_allclose(res.se, ref.se, rtol=1e-9)
        np.testing.assert_allclose(res.loglik, ref.loglik, rtol=1e-9)
        np.testing.assert_allclose(res.coef, other.coef, rtol=1e-12)
        np.testing.assert_allclose(res.var, other.var, rtol=1e-12)
        np.testing.assert_allclose(res.baseline.cumhaz, other.baseline.cumhaz, rtol=1e-12)
    assert fast[0].concordance is not None
    assert slow[0].concordance is not None
    np.testing.assert_allclose(fast[0].concordance.c, ref_c(x, cols, keep), rtol=1e-9)
    np.testing.assert_allclose(fast[0].concordance.se, slow[0].concordance.se, rtol=1e-12)
    assert fast[0].ph is not None
    assert slow[0].ph is not None
    np.testing.assert_allclose(fast[0].ph.global_chisq, slow[0].ph.global_chisq, rtol=1e-12)


def ref_c(x: np.ndarray, cols: dict[str, np.ndarray], keep: np.ndarray) -> float:
    """Harrell's C of the in-memory Efron fit (its own concordance)."""
    ref = cox_fit(
        x,
        cols["time"][keep],
        cols["ev"][keep],
        strata=cols["reg"][keep],
        weights=cols["wt"][keep],
        ties="efron",
        concordance=True,
    )
    assert ref.concordance is not None
    return float(ref.concordance.c)


def test_too_many_records_or_a_numeric_term_take_the_usual_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hand count: above the limit (set to 10 records here) the estimate says so and the
    fit runs its moment and sums passes, with the same numbers (naive oracle)."""
    source, cols = _generated(tmp_path)
    monkeypatch.setattr(_sql_engine, "DISCRETE_RECORD_LIMIT", 10)
    eng = get_engine("duckdb", threads=1)
    queries = _counting(eng)
    try:
        res = analyses.cox(
            eng, source, time="time", event="ev", terms=TERMS, strata="reg", concordance=False
        )
        over = _kinds(queries)
        queries.clear()
        numeric = analyses.cox(
            eng,
            source,
            time="time",
            event="ev",
            terms=[Term("grp", 1.0), Term("smk")],
            concordance=False,
        )
        with_numeric = _kinds(queries)
    finally:
        eng.close()
    assert over["estimate"] == 1
    assert over["records"] == 0
    assert over["moments"] == 2
    assert over["sums"] >= 3
    assert with_numeric["estimate"] == with_numeric["records"] == 0
    assert with_numeric["moments"] == 2
    keep = ~np.isnan(cols["smk"])
    x = np.column_stack([cols["grp"] == 1, cols["grp"] == 2, cols["smk"] == 1]).astype(float)
    ref = cox_fit(x[keep], cols["time"][keep], cols["ev"][keep], strata=cols["reg"][keep])
    np.testing.assert_allclose(res.coef, ref.coef, rtol=1e-9)
    np.testing.assert_allclose(res.se, ref.se, rtol=1e-9)
    ref2 = cox_fit(x[keep][:, [0, 2]], cols["time"][keep], cols["ev"][keep])
    np.testing.assert_allclose(numeric.coef, ref2.coef, rtol=1e-9)


def test_equal_betas_are_one_evaluation(tmp_path: Path) -> None:
    """Hand count and identity: both tie rules start at β = 0; equal β in one request are
    evaluated once (one single-β query), with the sums of that β's own query (exactly,
    one DuckDB thread)."""
    source, _cols = _generated(tmp_path)
    eng = get_engine("duckdb", threads=1)
    queries = _counting(eng)
    kw: dict[str, Any] = {"time": "time", "event": "ev", "terms": [Term("smk")], "strata": "reg"}
    b0, b1, c = np.zeros(1), np.array([0.3]), np.array([0.5])
    try:
        got = eng.cox_sums_many(source, betas=[b0, b1, b0], center=c, **kw)
        many = [q for q in queries if "exp(" in q]
        queries.clear()
        alone = [eng.cox_sums(source, beta=b, center=c, **kw) for b in (b0, b1)]
    finally:
        eng.close()
    assert len(many) == 1
    assert "_b1" in many[0]
    assert "_b2" not in many[0]
    assert got[0] is got[2]
    for g, want in zip(got[:2], alone, strict=True):
        for field in ("time", "n_event", "e0", "e1", "e2", "d0", "d1", "d2", "d_x", "d_eta"):
            np.testing.assert_array_equal(getattr(g, field), getattr(want, field))

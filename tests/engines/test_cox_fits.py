"""Efron and Breslow fits of one model from shared passes (``analyses.cox_fits``).

Kinds of truth:
* R reference — each fit against R's ``coxph`` fixtures (tests/reference/cox.R, survival
  3.5-3) to 1e-6 relative, as the single-fit engine tests;
* identity — each fit equals the fit of ``analyses.cox`` on its own: exactly (the same
  sums, the same arithmetic; DuckDB with one thread, so that the summation order is
  the same in the paired and the single query);
* hand count — the passes over the data: two moment passes instead of four, and one
  sums pass per Newton evaluation of the slower fit instead of one per evaluation of
  each fit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from survstudy.engines import analyses, get_engine
from survstudy.engines.base import Source, Term
from survstudy.stats.cox import CoxControl

from .test_parity import _num, _read, _source

pytest.importorskip("duckdb", reason="the duckdb extra is not installed")

REF = Path(__file__).resolve().parents[1] / "reference"
FIX = json.loads((REF / "cox.json").read_text())["fixtures"]
# fixtures fitted under both tie rules: (Efron case, Breslow case)
PAIRS = [
    ("lung_efron", "lung_breslow"),
    ("ovarian_efron", "ovarian_breslow"),
    ("book_testw1_efron", "book_testw1_breslow"),  # case weights
    ("monotone_tiny4_efron", "monotone_tiny4_breslow"),  # monotone: LR refits
    ("monotone_ties12_efron", "monotone_ties12_breslow"),
]


class Counting:
    """An engine that counts its passes."""

    def __init__(self, eng: Any) -> None:
        self.eng = eng
        self.name = eng.name
        self.calls: dict[str, int] = {}
        if not hasattr(eng, "cox_sums_many"):
            self.__dict__["cox_sums_many"] = None  # the fallback path (memory engine)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.eng, name)
        if name in ("cox_moments", "cox_sums", "cox_sums_many"):

            def counted(*a: Any, **kw: Any) -> Any:
                self.calls[name] = self.calls.get(name, 0) + 1
                return attr(*a, **kw)

            return counted
        return attr


def _case(name: str, tmp_path: Path, engine: str) -> tuple[Source, dict[str, Any]]:
    f = FIX[name]
    d = _read(f["data"])
    covs = f["covariates"] if isinstance(f["covariates"], list) else [f["covariates"]]
    cols: dict[str, np.ndarray] = {c: _num(d[c]) for c in {f["time"], *covs}}
    status = _num(d[f["event"]])
    cols["ev_"] = np.where(np.isnan(status), np.nan, (status == f["event_value"]).astype(float))
    if f.get("weights"):
        cols[f["weights"]] = _num(d[f["weights"]])
    kw = {
        "time": f["time"],
        "event": "ev_",
        "terms": [Term(c) for c in covs],
        "weight": f.get("weights"),
        "control": CoxControl(iter_max=f["iter_max"]),
    }
    return _source(engine, cols, tmp_path), kw


def _engine(engine: str) -> Any:
    return get_engine("duckdb", threads=1) if engine == "duckdb" else get_engine("memory")


@pytest.mark.parametrize("engine", ["memory", "duckdb"])
@pytest.mark.parametrize(("efron", "breslow"), PAIRS)
def test_pair_equals_r_and_the_single_fits(
    engine: str, efron: str, breslow: str, tmp_path: Path
) -> None:
    """R reference and identity: both fits from shared passes, each equal to R's coxph and
    exactly to its own single fit; the passes counted by hand."""
    source, kw = _case(efron, tmp_path, engine)
    eng = Counting(_engine(engine))
    try:
        pair = analyses.cox_fits(
            eng, source, fits=[{"ties": "efron", "ph_test": True}, {"ties": "breslow"}], **kw
        )
        paired = dict(eng.calls)
        singles = []
        evaluations = []
        for ties in ("efron", "breslow"):
            eng.calls.clear()
            singles.append(
                analyses.cox(
                    eng, source, ties=ties, ph_test=ties == "efron", concordance=False, **kw
                )
            )
            evaluations.append(eng.calls["cox_sums"])
    finally:
        eng.eng.close()
    for res, name, single in zip(pair, (efron, breslow), singles, strict=True):
        f = FIX[name]
        assert res.ties == f["ties"]
        assert res.n == f["n"]
        if all(t.estimable for t in res.terms):
            np.testing.assert_allclose(res.coef, f["coef"], rtol=1e-6)
            np.testing.assert_allclose(res.se, f["se"], rtol=1e-6)
        np.testing.assert_allclose([res.loglik_null, res.loglik], f["loglik"], rtol=1e-6)
        assert res.to_dict() == single.to_dict()
        np.testing.assert_array_equal(res.coef, single.coef)
        np.testing.assert_array_equal(res.var, single.var)
        np.testing.assert_array_equal(res.baseline.cumhaz, single.baseline.cumhaz)
    assert pair[0].ph is not None
    assert pair[1].ph is None
    # two moment passes for both fits (each single fit takes two)
    assert paired["cox_moments"] == 2
    # the fits' evaluations share passes: as many shared passes as the slower fit's
    # evaluations at most, and fewer passes in all than the two fits alone (the rare
    # refits without a monotone term are single passes)
    shared = paired.get("cox_sums_many", 0)
    alone = paired.get("cox_sums", 0)
    if engine == "duckdb":
        assert 0 < shared <= max(evaluations)
        assert shared + alone < sum(evaluations)
    else:  # the memory engine has no cox_sums_many: one cox_sums per β, as many as alone
        assert alone == sum(evaluations)


def test_sums_many_equal_sums_at_each_beta(tmp_path: Path) -> None:
    """Identity: the paired query's per-β sums equal the single query's, exactly (one
    DuckDB thread), for two and three β at once, with strata."""
    f = FIX["lung_strata"]
    d = _read(f["data"])
    cols = {c: _num(d[c]) for c in ("time", "age", "sex", "ph.ecog")}
    cols["ev_"] = (_num(d["status"]) == 2).astype(float)
    source = _source("duckdb", cols, tmp_path)
    eng = get_engine("duckdb", threads=1)
    kw: dict[str, Any] = {
        "time": "time",
        "event": "ev_",
        "terms": [Term("age"), Term("sex")],
        "strata": "ph.ecog",
    }
    center = np.array([62.4, 1.4])
    betas = [np.array([0.0, 0.0]), np.array([0.011, -0.49]), np.array([-0.3, 2.0])]
    try:
        for k in (2, 3):
            many = eng.cox_sums_many(source, betas=betas[:k], center=center, **kw)
            for beta, got in zip(betas[:k], many, strict=True):
                want = eng.cox_sums(source, beta=beta, center=center, **kw)
                for field in ("stratum", "time", "n_event", "e0", "e1", "e2", "d0", "d1"):
                    np.testing.assert_array_equal(getattr(got, field), getattr(want, field))
                for field in ("d2", "d_x", "d_eta", "w_exit", "w_event"):
                    np.testing.assert_array_equal(getattr(got, field), getattr(want, field))
    finally:
        eng.close()

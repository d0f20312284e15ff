"""Engine parity: KM, log-rank and Cox through the memory and DuckDB engines.

Kinds of truth:
* R reference — Cox fits through each engine against R's ``coxph`` fixtures
  (tests/reference/cox.R, survival 3.5-3), 1e-6 relative as the in-memory tests;
* naive oracle — the in-memory functions of ``survstudy.stats`` (themselves
  checked against R) on the same rows: every engine must agree to 1e-9 relative,
  on R's data sets and on generated data with ties, near-ties, strata, groups,
  missing values and case weights.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from survstudy.engines import analyses, get_engine
from survstudy.engines.base import Source, Term
from survstudy.stats.cox import CoxControl, cox_fit, dummy_code
from survstudy.stats.km import kaplan_meier
from survstudy.stats.logrank import logrank_test

pytest.importorskip("duckdb", reason="the duckdb extra is not installed")

REF = Path(__file__).resolve().parents[1] / "reference"
FIX = json.loads((REF / "cox.json").read_text())["fixtures"]
RTOL = 1e-9
ENGINES = ("memory", "duckdb")


def _read(name: str) -> dict[str, list[str]]:
    with (REF / "data" / f"{name}.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {k: [r[k] for r in rows] for k in rows[0]}


def _num(v: list[str]) -> np.ndarray:
    return np.array([float(x) if x not in ("NA", "") else np.nan for x in v])


def _source(engine: str, cols: dict[str, np.ndarray], tmp_path: Path) -> Source:
    """In-memory columns for ``memory``; a Parquet file read in place for ``duckdb``."""
    if engine == "memory":
        return Source.from_arrays(cols)
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {}
    for k, v in cols.items():
        a = np.asarray(v)
        if a.dtype.kind == "f":
            arrays[k] = pa.array(a, mask=np.isnan(a))
        elif a.dtype.kind in "OU":
            arrays[k] = pa.array([None if x in ("NA", "", None) else str(x) for x in a.tolist()])
        else:
            arrays[k] = pa.array(a)
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table(arrays), path)
    return Source.from_path(str(path))


def _rel(a: Any, b: Any, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(
        np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=rtol, atol=0
    )


def _same_dict(a: Any, b: Any, path: str = "") -> None:
    """Equal structure, equal strings/ints/None, floats to 1e-9 relative."""
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            _same_dict(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same_dict(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and b is not None:
        assert b == pytest.approx(a, rel=RTOL, abs=1e-300), path
    else:
        assert a == b, path


# --------------------------------------------------------------------------- Cox vs R


_COX_CASES = [
    name for name, f in FIX.items() if not f["robust"] and not f["cluster"] and not f.get("weights")
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", _COX_CASES)
def test_cox_engine_matches_r_and_memory(engine: str, name: str, tmp_path: Path) -> None:
    """R reference (coef, SE, loglik, LR/Wald/score) and naive oracle (cox_fit, 1e-9)."""
    f = FIX[name]
    d = _read(f["data"])
    covs = f["covariates"] if isinstance(f["covariates"], list) else [f["covariates"]]
    factors = f["factors"] or {}
    cols: dict[str, np.ndarray] = {}
    for c in {f["time"], *covs, *([f["strata"]] if f["strata"] else [])}:
        cols[c] = np.array(d[c], dtype=object) if c in factors else _num(d[c])
    status = _num(d[f["event"]])
    cols["ev_"] = np.where(np.isnan(status), np.nan, (status == f["event_value"]).astype(float))
    terms: list[Term] = []
    for c in covs:
        if c in factors:
            terms += [Term(c, lv) for lv in factors[c][1:]]
        else:
            terms.append(Term(c))
    control = CoxControl(iter_max=f["iter_max"])
    eng = get_engine(engine)
    try:
        res = analyses.cox(
            eng,
            _source(engine, cols, tmp_path),
            time=f["time"],
            event="ev_",
            terms=terms,
            strata=f["strata"],
            ties=f["ties"],
            control=control,
            ph_test=bool(f["zph_chisq"]),
            assign=[t.column for t in terms],
        )
    finally:
        eng.close()
    # R
    assert res.n == f["n"]
    assert res.events == f["events"]
    est = [t.estimable for t in res.terms]
    if all(est):
        _rel(res.coef, f["coef"], 1e-6)
        _rel(res.se, f["se"], 1e-6)
    _rel([res.loglik_null, res.loglik], f["loglik"], 1e-6)
    _rel(res.tests["likelihood_ratio"].statistic, f["lr"][0], 1e-6)
    # in memory, same rows
    keep = ~np.isnan(cols["ev_"]) & ~np.isnan(cols[f["time"]])
    for c in covs:
        if c not in factors:
            keep &= ~np.isnan(cols[c])
    if f["strata"]:
        keep &= ~np.isnan(cols[f["strata"]])
    blocks = []
    for c in covs:
        if c in factors:
            blocks.append(dummy_code(cols[c][keep], levels=factors[c], name=c)[0])
        else:
            blocks.append(cols[c][keep][:, None])
    ref = cox_fit(
        np.hstack(blocks),
        cols[f["time"]][keep],
        cols["ev_"][keep],
        strata=None if not f["strata"] else cols[f["strata"]][keep],
        ties=f["ties"],
        control=control,
        concordance=False,
        term_names=[t.label for t in terms],
        assign=[t.column for t in terms],
    )
    assert res.iterations == ref.iterations
    assert res.converged == ref.converged
    assert [w.code for w in res.warnings] == [w.code for w in ref.warnings]
    assert [t.estimable for t in res.terms] == [t.estimable for t in ref.terms]
    _rel([res.loglik_null, res.loglik], [ref.loglik_null, ref.loglik])
    for k in ("likelihood_ratio", "wald", "score"):
        # a Wald statistic of 1e-7 from a diverging coefficient carries rounding only
        np.testing.assert_allclose(
            res.tests[k].statistic, ref.tests[k].statistic, rtol=1e-8, atol=0 if all(est) else 1e-12
        )
    if f["zph_chisq"] and all(est):
        # R's cox.zph: per-term chisq then GLOBAL; and the in-memory cox_zph
        ph = res.ph_test()
        got = [t.chisq for t in ph.terms] + [ph.global_chisq]
        _rel(got, f["zph_chisq"], 1e-6)
        ref_ph = ref.ph_test()
        _rel(got, [t.chisq for t in ref_ph.terms] + [ref_ph.global_chisq], 1e-8)
    if all(est):
        _rel(res.coef, ref.coef)
        _rel(res.se, ref.se)
        _rel(res.baseline.cumhaz, ref.baseline.cumhaz, 1e-8)
        _rel(res.baseline.time, ref.baseline.time)
    else:
        lr_e = [t.lr_p_value for t in res.terms if not t.estimable]
        lr_r = [t.lr_p_value for t in ref.terms if not t.estimable]
        _rel(lr_e, lr_r, 1e-6)


# --------------------------------------------------------------------------- generated data


def _generated(seed: int = 7, n: int = 1500) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    age = rng.normal(60, 10, n)
    binary = rng.integers(0, 2, n).astype(float)
    big = 1e6 + rng.normal(0, 1, n)  # centring matters for exp(x·beta)
    group = rng.integers(1, 4, n)
    stratum = rng.choice(np.array(["north", "south", "west"], dtype=object), n)
    lin = 0.03 * (age - 60) + 0.5 * binary + 0.3 * (group == 2)
    t = np.ceil(rng.exponential(300 * np.exp(-lin)))  # whole days: many ties
    c = np.ceil(rng.uniform(50, 900, n))
    time = np.minimum(t, c)
    event = (t <= c).astype(float)
    age[rng.random(n) < 0.03] = np.nan  # dropped and counted
    return {
        "time": time,
        "months": time / 30.4375,  # near-ties to be merged as R's aeqSurv
        "event": event,
        "age": age,
        "binary": binary,
        "big": big,
        "group": group,
        "stratum": stratum,
        "w": rng.integers(1, 4, n).astype(float),
    }


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("time_col", ["time", "months"])
def test_cox_generated_parity(engine: str, ties: str, time_col: str, tmp_path: Path) -> None:
    """Naive oracle: cox_fit on the complete rows, stratified, with ties; 1e-9 relative."""
    cols = _generated()
    terms = [Term("age"), Term("binary"), Term("big"), Term("group", 2), Term("group", 3)]
    eng = get_engine(engine)
    try:
        res = analyses.cox(
            eng,
            _source(engine, cols, tmp_path),
            time=time_col,
            event="event",
            terms=terms,
            strata="stratum",
            ties=ties,
        )
    finally:
        eng.close()
    keep = ~np.isnan(cols["age"])
    g = cols["group"][keep]
    x = np.column_stack(
        [cols["age"][keep], cols["binary"][keep], cols["big"][keep], g == 2, g == 3]
    ).astype(float)
    ref = cox_fit(
        x,
        cols[time_col][keep],
        cols["event"][keep],
        strata=cols["stratum"][keep],
        ties=ties,
        concordance=False,
    )
    assert res.n == ref.n
    assert res.n_dropped == int((~keep).sum())
    assert res.iterations == ref.iterations
    _rel(res.coef, ref.coef)
    _rel(res.se, ref.se)
    _rel([res.loglik_null, res.loglik], [ref.loglik_null, ref.loglik])
    for k in ("likelihood_ratio", "wald", "score"):
        _rel(res.tests[k].statistic, ref.tests[k].statistic, 1e-8)
        _rel(res.tests[k].p_value, ref.tests[k].p_value, 1e-8)
    _rel(res.baseline.cumhaz, ref.baseline.cumhaz, 1e-8)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_robust_engines(engine: str, ties: str, tmp_path: Path) -> None:
    """R reference (lung_robust: coxph(robust=TRUE), Efron) and naive oracle
    (cox_fit(robust=True), 1e-9) for the robust SE from DuckDB's second pass."""
    f = FIX["lung_robust"]
    d = _read("lung")
    status = _num(d["status"])
    cols = {"time": _num(d["time"]), "ev": status - 1, "age": _num(d["age"]), "sex": _num(d["sex"])}
    eng = get_engine(engine)
    try:
        res = analyses.cox(
            eng,
            _source(engine, cols, tmp_path),
            time="time",
            event="ev",
            terms=[Term("age"), Term("sex")],
            ties=ties,
            robust=True,
        )
    finally:
        eng.close()
    if ties == "efron":
        _rel(res.robust_se, f["robust_se"], 1e-6)
        _rel(res.p_value, f["p_value"], 1e-6)
    ref = cox_fit(
        np.column_stack([cols["age"], cols["sex"]]),
        cols["time"],
        cols["ev"],
        ties=ties,
        robust=True,
        concordance=False,
    )
    _rel(res.robust_se, ref.robust_se)
    _rel(res.tests["wald"].statistic, ref.tests["wald"].statistic)
    _rel([t.lower for t in res.terms], [t.lower for t in ref.terms])


@pytest.mark.parametrize("engine", ENGINES)
def test_cox_robust_generated_near_ties(engine: str, tmp_path: Path) -> None:
    """Naive oracle: robust SE with strata, dummies and near-tied times (merged), 1e-9."""
    cols = _generated(seed=11, n=800)
    eng = get_engine(engine)
    try:
        res = analyses.cox(
            eng,
            _source(engine, cols, tmp_path),
            time="months",
            event="event",
            terms=[Term("age"), Term("binary"), Term("group", 2)],
            strata="stratum",
            robust=True,
        )
    finally:
        eng.close()
    keep = ~np.isnan(cols["age"])
    ref = cox_fit(
        np.column_stack([cols["age"], cols["binary"], cols["group"] == 2])[keep],
        cols["months"][keep],
        cols["event"][keep],
        strata=cols["stratum"][keep],
        robust=True,
        concordance=False,
    )
    _rel(res.robust_se, ref.robust_se)


@pytest.mark.parametrize("engine", ENGINES)
def test_cox_case_weights_parity(engine: str, tmp_path: Path) -> None:
    """Naive oracle: case-weighted cox_fit (weights = integer frequencies)."""
    cols = _generated(seed=3, n=600)
    eng = get_engine(engine)
    try:
        res = analyses.cox(
            eng,
            _source(engine, cols, tmp_path),
            time="time",
            event="event",
            terms=[Term("age"), Term("binary")],
            weight="w",
        )
    finally:
        eng.close()
    keep = ~np.isnan(cols["age"])
    ref = cox_fit(
        np.column_stack([cols["age"][keep], cols["binary"][keep]]),
        cols["time"][keep],
        cols["event"][keep],
        weights=cols["w"][keep],
        concordance=False,
    )
    _rel(res.coef, ref.coef)
    _rel(res.se, ref.se)
    _rel(res.loglik, ref.loglik)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("time_col", ["time", "months"])
def test_km_generated_parity(engine: str, time_col: str, tmp_path: Path) -> None:
    """Naive oracle: kaplan_meier per group (table, median and CI, RMST) to 1e-9."""
    cols = _generated()
    eng = get_engine(engine)
    try:
        fits, rc = analyses.kaplan_meier(
            eng,
            _source(engine, cols, tmp_path),
            time=time_col,
            event="event",
            group="group",
            conf_type="log",
        )
    finally:
        eng.close()
    assert [lv for lv, _ in fits] == [1, 2, 3]
    assert rc.n_dropped == 0
    for lv, km in fits:
        m = cols["group"] == lv
        ref = kaplan_meier(cols[time_col][m], cols["event"][m], conf_type="log")
        _same_dict(km.to_dict(), ref.to_dict())
        _rel(
            km.rmst(200 / (30.4375 if time_col == "months" else 1)).estimate,
            ref.rmst(200 / (30.4375 if time_col == "months" else 1)).estimate,
        )


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("weights", "rho", "gamma"),
    [
        ("logrank", 0, 0),
        ("gehan-breslow", 0, 0),
        ("tarone-ware", 0, 0),
        ("peto-peto", 0, 0),
        ("fleming-harrington", 1, 1),
    ],
)
def test_logrank_generated_parity(
    engine: str, weights: str, rho: float, gamma: float, tmp_path: Path
) -> None:
    """Naive oracle: logrank_test, stratified, every weight family, to 1e-9."""
    cols = _generated()
    eng = get_engine(engine)
    try:
        res, _ = analyses.logrank(
            eng,
            _source(engine, cols, tmp_path),
            time="months",
            event="event",
            group="group",
            strata="stratum",
            weights=weights,
            rho=rho,
            gamma=gamma,
        )
    finally:
        eng.close()
    ref = logrank_test(
        cols["months"],
        cols["event"],
        cols["group"],
        strata=cols["stratum"],
        weights=weights,
        rho=rho,
        gamma=gamma,
    )
    _same_dict(res.to_dict(), ref.to_dict())


@pytest.mark.parametrize("engine", ENGINES)
def test_km_logrank_lung_parity(engine: str, tmp_path: Path) -> None:
    """Naive oracle on R's lung data (NA codes dropped; status 1/2 recoded to 0/1)."""
    d = _read("lung")
    status = _num(d["status"])
    cols = {
        "time": _num(d["time"]),
        "ev": status - 1,
        "sex": _num(d["sex"]),
        "ecog": _num(d["ph.ecog"]),
    }
    eng = get_engine(engine)
    src = _source(engine, cols, tmp_path)
    try:
        fits, _ = analyses.kaplan_meier(eng, src, time="time", event="ev", group="sex")
        lr, rc = analyses.logrank(eng, src, time="time", event="ev", group="sex", strata="ecog")
    finally:
        eng.close()
    for lv, km in fits:
        m = cols["sex"] == lv
        _same_dict(km.to_dict(), kaplan_meier(cols["time"][m], cols["ev"][m]).to_dict())
    keep = ~np.isnan(cols["ecog"])
    ref = logrank_test(
        cols["time"][keep], cols["ev"][keep], cols["sex"][keep], strata=cols["ecog"][keep]
    )
    assert rc.n_dropped == 1
    _same_dict(lr.to_dict(), ref.to_dict())

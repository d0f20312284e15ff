"""``cluster``: the robust (sandwich) Cox variance with score residuals summed per cluster,
through the engines (R's ``coxph(... + cluster(id))``).

Kinds of truth:

* R reference — the kidney ``cluster(id)`` fixture of tests/reference/cox.json
  (survival 3.5-3; tests/reference/cox.R): robust SE, model SE, coefficients, Wald test,
  concordance with its grouped-jackknife SE (1e-6 relative);
* naive oracle — ``cox_fit(..., cluster=...)`` on the same complete rows (itself checked
  against R in tests/stats): the whole robust variance matrix and the concordance to 1e-9
  relative, on generated data with repeated rows per cluster, strata, ties, case weights,
  text cluster labels and missing cluster values;
* identity — one cluster per row gives the plain robust variance (``robust=True``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from survstudy.cli import main as cli_main
from survstudy.engines import analyses, get_engine
from survstudy.engines.base import Source, Term
from survstudy.stats.cox import cox_fit

pytest.importorskip("duckdb", reason="the duckdb extra is not installed")

REF = Path(__file__).resolve().parents[1] / "reference"
FIX = json.loads((REF / "cox.json").read_text())["fixtures"]
ENGINES = ("memory", "duckdb")
RTOL = 1e-9


def _rel(a: Any, b: Any, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(
        np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=rtol, atol=0
    )


def _source(engine: str, cols: dict[str, np.ndarray], tmp_path: Path) -> Source:
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
            arrays[k] = pa.array([None if x is None else str(x) for x in a.tolist()])
        else:
            arrays[k] = pa.array(a)
    pq.write_table(pa.table(arrays), tmp_path / "data.parquet")
    return Source.from_path(str(tmp_path / "data.parquet"))


def _fit(engine: str, src: Source, **kw: Any) -> Any:
    eng = get_engine(engine)
    try:
        return analyses.cox(eng, src, **kw)
    finally:
        eng.close()


def _kidney() -> dict[str, np.ndarray]:
    with (REF / "data" / "kidney.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {
        k: np.array([float(r[k]) for r in rows]) for k in ("id", "time", "status", "age", "sex")
    }


@pytest.mark.parametrize("engine", ENGINES)
def test_kidney_cluster_matches_r_and_cox_fit(engine: str, tmp_path: Path) -> None:
    """R reference (kidney, coxph(Surv(time, status) ~ age + sex + cluster(id)), Efron) and
    naive oracle (cox_fit(cluster=id): robust variance matrix, concordance, 1e-9)."""
    f = FIX["kidney_cluster"]
    cols = _kidney()
    res = _fit(
        engine,
        _source(engine, cols, tmp_path),
        time="time",
        event="status",
        terms=[Term("age"), Term("sex")],
        cluster="id",
    )
    assert res.n == f["n"]
    _rel(res.coef, f["coef"], 1e-6)
    _rel(res.se, f["se"], 1e-6)
    _rel(res.robust_se, f["robust_se"], 1e-6)
    assert res.tests["wald"].statistic == pytest.approx(f["wald"][0], rel=1e-6)
    assert res.concordance.c == pytest.approx(f["concordance"], rel=1e-6)
    assert res.concordance.se == pytest.approx(f["concordance_se"], rel=1e-6)
    ref = cox_fit(
        np.column_stack([cols["age"], cols["sex"]]),
        cols["time"],
        cols["status"],
        cluster=cols["id"],
    )
    _rel(res.robust_var, ref.robust_var)
    _rel([t.p_value for t in res.terms], [t.p_value for t in ref.terms])
    assert res.concordance.c == pytest.approx(ref.concordance.c, rel=RTOL)
    assert res.concordance.se == pytest.approx(ref.concordance.se, rel=RTOL)
    assert res.concordance.concordant == ref.concordance.concordant


def _clustered(seed: int = 5, n_clusters: int = 90) -> dict[str, np.ndarray]:
    """1-5 rows per cluster (text labels), shared frailty, whole-month times (ties), integer
    age (tied predictor), two strata, integer case weights, a few missing cluster labels."""
    rng = np.random.default_rng(seed)
    size = rng.integers(1, 6, n_clusters)
    cid = np.repeat(np.arange(n_clusters), size)
    n = cid.size
    frail = rng.gamma(2.0, 0.5, n_clusters)[cid]
    age = rng.integers(40, 80, n).astype(float)
    binary = rng.integers(0, 2, n).astype(float)
    stratum = rng.integers(0, 2, n).astype(float)
    t = np.ceil(rng.exponential(25 / frail * np.exp(-0.02 * (age - 60) - 0.4 * binary)))
    c = np.ceil(rng.uniform(5, 70, n))
    label = np.array([f"p{k:03d}" for k in cid], dtype=object)
    label[rng.choice(n, 4, replace=False)] = None
    return {
        "time": np.minimum(t, c),
        "event": (t <= c).astype(float),
        "age": age,
        "binary": binary,
        "stratum": stratum,
        "w": rng.integers(1, 4, n).astype(float),
        "cid": label,
    }


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("ties", "strata", "weight"),
    [("efron", None, None), ("breslow", "stratum", None), ("efron", "stratum", "w")],
)
def test_generated_clusters_equal_cox_fit(
    engine: str, ties: str, strata: str | None, weight: str | None, tmp_path: Path
) -> None:
    """Naive oracle: cox_fit(cluster=...) on the rows with a cluster label (the others are
    dropped and counted); robust variance matrix, robust Wald test and the concordance
    (grouped jackknife) to 1e-9, counts exactly."""
    cols = _clustered()
    res = _fit(
        engine,
        _source(engine, cols, tmp_path),
        time="time",
        event="event",
        terms=[Term("age"), Term("binary")],
        strata=strata,
        weight=weight,
        ties=ties,
        cluster="cid",
    )
    keep = np.array([v is not None for v in cols["cid"]])
    ref = cox_fit(
        np.column_stack([cols["age"][keep], cols["binary"][keep]]),
        cols["time"][keep],
        cols["event"][keep],
        strata=None if strata is None else cols[strata][keep],
        weights=None if weight is None else cols[weight][keep],
        ties=ties,
        cluster=cols["cid"][keep].astype(str),
    )
    assert res.n == ref.n
    assert res.n_dropped == int((~keep).sum())
    _rel(res.coef, ref.coef)
    _rel(res.robust_var, ref.robust_var)
    _rel(res.robust_se, ref.robust_se)
    assert res.tests["wald"].statistic == pytest.approx(ref.tests["wald"].statistic, rel=RTOL)
    _rel([t.lower for t in res.terms], [t.lower for t in ref.terms])
    c, rc = res.concordance, ref.concordance
    assert c.c == pytest.approx(rc.c, rel=RTOL)
    assert c.se == pytest.approx(rc.se, rel=RTOL)
    assert (c.concordant, c.discordant, c.tied_x, c.tied_y, c.tied_xy) == (
        rc.concordant,
        rc.discordant,
        rc.tied_x,
        rc.tied_y,
        rc.tied_xy,
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_one_row_per_cluster_is_the_plain_robust_variance(engine: str, tmp_path: Path) -> None:
    """Identity: with a distinct cluster label on every row the clustered sandwich is the
    ordinary robust one (and both equal cox_fit(robust=True))."""
    cols = _kidney()
    cols["row"] = np.arange(cols["time"].size).astype(float)
    src = _source(engine, cols, tmp_path)
    kw: dict[str, Any] = {"time": "time", "event": "status", "terms": [Term("age"), Term("sex")]}
    clustered = _fit(engine, src, cluster="row", **kw)
    robust = _fit(engine, src, robust=True, **kw)
    _rel(clustered.robust_var, robust.robust_var, 1e-12)
    ref = cox_fit(
        np.column_stack([cols["age"], cols["sex"]]), cols["time"], cols["status"], robust=True
    )
    _rel(robust.robust_var, ref.robust_var)


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    cli_main._state["debug"] = False
    with pytest.raises(SystemExit) as info:
        cli_main.main(args)
    out = capsys.readouterr()
    assert info.value.code in (0, None), out.err
    return dict(json.loads(out.out))


def _same(a: Any, b: Any, path: str = "") -> None:
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, (int, float)):
        assert b == pytest.approx(a, rel=RTOL, abs=1e-300), path
    else:
        assert a == b, path


def test_cli_cluster_with_engine_gives_the_memory_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Naive oracle: ``survstudy cox --cluster id --engine duckdb --json`` is the memory
    path's JSON (robust SEs, robust Wald test, concordance), every float to 1e-9."""
    path = str(REF / "data" / "kidney.csv")
    args = ["cox", path, "--time", "time", "--event", "status", "--covariates", "age,sex"]
    args += ["--cluster", "id", "--json"]
    mem = _cli(args, capsys)
    duck = _cli([*args, "--engine", "duckdb", "--engine-opt", "threads=1"], capsys)
    _same(mem, duck)
    assert duck["terms"][0]["robust_se"] == pytest.approx(
        FIX["kidney_cluster"]["robust_se"][0], rel=1e-6
    )
    assert duck["concordance"]["se"] == pytest.approx(
        FIX["kidney_cluster"]["concordance_se"], rel=1e-6
    )


def test_duckdb_where_filter_with_cluster(tmp_path: Path) -> None:
    """Naive oracle: a ``where`` filter applies to every pass (fit, clustered robust
    variance, concordance): cox_fit(cluster=...) on the filtered rows, 1e-9."""
    cols = _clustered(seed=8)
    res = _fit(
        "duckdb",
        _source("duckdb", cols, tmp_path),
        time="time",
        event="event",
        terms=[Term("age"), Term("binary")],
        cluster="cid",
        where="age >= 50",
    )
    keep = np.array([v is not None for v in cols["cid"]]) & (cols["age"] >= 50)
    ref = cox_fit(
        np.column_stack([cols["age"][keep], cols["binary"][keep]]),
        cols["time"][keep],
        cols["event"][keep],
        cluster=cols["cid"][keep].astype(str),
    )
    assert res.n == ref.n
    _rel(res.robust_var, ref.robust_var)
    assert res.concordance.c == pytest.approx(ref.concordance.c, rel=RTOL)
    assert res.concordance.se == pytest.approx(ref.concordance.se, rel=RTOL)

"""Harrell's concordance (C, IJ standard error, R's pair counts) through the engines.

Kinds of truth:

* naive oracle — a pairwise O(n²) concordance written out in this file from the
  definition (Harrell 1996; R's ``concordance()``: comparable pairs, ties, the
  infinitesimal-jackknife influence ``w_k (N_k − C·D_k)/D``), applied to the
  *replicated* rows; and the in-memory ``cox_fit(...).concordance`` on the same rows
  (itself checked against R in tests/stats/test_concordance.py): every engine must
  give C and SE to 1e-9 relative and the counts exactly;
* identity — records grouped with frequency weights (Σ w, Σ w²) give the C, counts and
  SE of the rows they stand for; plain case weights (R's) do not give the rows' SE;
* R reference — ``concordance(coxph(...))`` fixtures in tests/reference/concordance.json
  (survival 3.5-3; tests/reference/concordance.R), 1e-6 relative.
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
from survstudy.stats.concordance import concordance
from survstudy.stats.cox import cox_fit

pytest.importorskip("duckdb", reason="the duckdb extra is not installed")

REF = Path(__file__).resolve().parents[1] / "reference"
CFIX = json.loads((REF / "concordance.json").read_text())["fixtures"]
ENGINES = ("memory", "duckdb")
RTOL = 1e-9


# --------------------------------------------------------------------------- helpers


def _pairwise(
    score: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    strata: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    cluster: np.ndarray | None = None,
) -> dict[str, float]:
    """The definition, pair by pair (i ≠ j, same stratum; w_i·w_j per pair).

    (i, j) is comparable when i fails first: t_i < t_j with e_i = 1, or t_i = t_j with
    e_i = 1, e_j = 0 (a censoring tied with an event counts as later). Concordant when
    s_i > s_j, discordant when s_i < s_j, tied_x when equal. Events tied in time are
    tied_y (different score) or tied_xy (same score). C = (conc + tied_x/2)/(conc +
    disc + tied_x). IJ: N_k, D_k = Σ over the comparable pairs that involve k of
    w_other·score and w_other; influence w_k (N_k − C D_k)/D, summed per cluster.
    """
    n = score.size
    w = np.ones(n) if weights is None else weights.astype(float)
    g = np.zeros(n) if strata is None else strata
    same = g[:, None] == g[None, :]
    np.fill_diagonal(same, False)
    ev = event.astype(bool)
    first = ev[:, None] & (
        (time[:, None] < time[None, :]) | ((time[:, None] == time[None, :]) & ~ev[None, :])
    )
    comp = first & same  # i (row) fails first
    ww = w[:, None] * w[None, :]
    gt = score[:, None] > score[None, :]
    lt = score[:, None] < score[None, :]
    eq = score[:, None] == score[None, :]
    conc = float((ww * (comp & gt)).sum())
    disc = float((ww * (comp & lt)).sum())
    tx = float((ww * (comp & eq)).sum())
    both = ev[:, None] & ev[None, :] & (time[:, None] == time[None, :]) & same
    ty = float((ww * (both & ~eq)).sum()) / 2
    txy = float((ww * (both & eq)).sum()) / 2
    d = conc + disc + tx
    c = (conc + tx / 2) / d
    val = np.where(gt, 1.0, np.where(eq, 0.5, 0.0))  # score of (i first, j later)
    # pairs involving k: k first (rows) or k later (columns)
    n_k = (comp * val * w[None, :]).sum(axis=1) + (comp * val * w[:, None]).sum(axis=0)
    d_k = (comp * w[None, :]).sum(axis=1) + (comp * w[:, None]).sum(axis=0)
    infl = w * (n_k - c * d_k) / d
    if cluster is not None:
        _, cc = np.unique(cluster, return_inverse=True)
        infl = np.bincount(cc, weights=infl)
    return {
        "c": c,
        "se": float(np.sqrt(infl @ infl)),
        "concordant": conc,
        "discordant": disc,
        "tied_x": tx,
        "tied_y": ty,
        "tied_xy": txy,
    }


COUNTS = ("concordant", "discordant", "tied_x", "tied_y", "tied_xy")


def _same_conc(got: Any, want: Any, *, exact_counts: bool = True) -> None:
    """C and SE to 1e-9 relative; counts exactly (or to 1e-12 with non-integer weights)."""
    g = got.to_dict() if hasattr(got, "to_dict") else got
    w = want.to_dict() if hasattr(want, "to_dict") else want
    assert g["c"] == pytest.approx(w["c"], rel=RTOL)
    assert g["se"] == pytest.approx(w["se"], rel=RTOL)
    for k in COUNTS:
        if exact_counts:
            assert g[k] == w[k], k
        else:
            assert g[k] == pytest.approx(w[k], rel=1e-12, abs=1e-12), k


def _parquet(cols: dict[str, np.ndarray], path: Path) -> Source:
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
    pq.write_table(pa.table(arrays), path)
    return Source.from_path(str(path))


def _source(engine: str, cols: dict[str, np.ndarray], tmp_path: Path) -> Source:
    """In-memory columns for ``memory``; a Parquet file read in place otherwise."""
    if engine == "memory":
        return Source.from_arrays(cols)
    return _parquet(cols, tmp_path / "data.parquet")


def _fit(engine: str, src: Source, **kw: Any) -> Any:
    eng = get_engine(engine)
    try:
        return analyses.cox(eng, src, **kw)
    finally:
        eng.close()


def _read_csv(name: str) -> dict[str, list[str]]:
    with (REF / "data" / f"{name}.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {k: [r[k] for r in rows] for k in rows[0]}


# --------------------------------------------------------------------------- identity


def _records(seed: int, distinct_scores: bool = False) -> dict[str, np.ndarray]:
    """Distinct records with ties in time and (unless ``distinct_scores``) in score,
    2 strata, 1-4 rows each."""
    rng = np.random.default_rng(seed)
    m = 70
    return {
        "time": rng.integers(1, 12, m).astype(float),
        "event": (rng.random(m) < 0.6).astype(float),
        "score": rng.permutation(m) * 0.1 if distinct_scores else rng.integers(0, 5, m) * 0.5,
        "strata": rng.integers(0, 2, m),
        "freq": rng.integers(1, 5, m),
        "cluster": np.arange(m) // 3,
    }


@pytest.mark.parametrize(("seed", "distinct"), [(1, False), (2, False), (3, True)])
def test_grouped_records_equal_replicated_rows(seed: int, distinct: bool) -> None:
    """Naive oracle + identity: records with weights = Σ w, weights_sq = Σ w² give the C,
    every count and the IJ SE of the replicated rows (unit and quarter-step case weights;
    records with tied scores, and records whose scores are all distinct)."""
    r = _records(seed, distinct)
    rep = np.repeat(np.arange(r["time"].size), r["freq"])
    rng = np.random.default_rng(seed + 100)
    for row_w in (np.ones(rep.size), rng.integers(1, 9, rep.size) * 0.25):
        rows = {k: r[k][rep] for k in ("time", "event", "score", "strata")}
        oracle = _pairwise(
            rows["score"], rows["time"], rows["event"], rows["strata"], weights=row_w
        )
        # the production function on the rows agrees with the oracle
        _same_conc(
            concordance(rows["score"], rows["time"], rows["event"], rows["strata"], weights=row_w),
            oracle,
            exact_counts=False,
        )
        wsum = np.bincount(rep, weights=row_w)
        wsq = np.bincount(rep, weights=row_w * row_w)
        grouped = concordance(
            r["score"], r["time"], r["event"], r["strata"], weights=wsum, weights_sq=wsq
        )
        _same_conc(grouped, oracle, exact_counts=False)
        # R-style case weights on the records: same C, but not the rows' SE (nor tied_y)
        case = concordance(r["score"], r["time"], r["event"], r["strata"], weights=wsum)
        assert case.c == pytest.approx(oracle["c"], rel=1e-12)
        assert case.se > oracle["se"] * (1 + 1e-6)


def test_grouped_records_with_clusters() -> None:
    """Naive oracle + identity: with clusters (each record inside one cluster) the grouped
    jackknife of the records equals that of the replicated rows."""
    r = _records(7)
    rep = np.repeat(np.arange(r["time"].size), r["freq"])
    oracle = _pairwise(
        r["score"][rep],
        r["time"][rep],
        r["event"][rep],
        r["strata"][rep],
        cluster=r["cluster"][rep],
    )
    f = r["freq"].astype(float)
    grouped = concordance(
        r["score"],
        r["time"],
        r["event"],
        r["strata"],
        cluster=r["cluster"],
        weights=f,
        weights_sq=f,
    )
    _same_conc(grouped, oracle)


def test_hand_example_weights_sq() -> None:
    """Hand calculation: three rows, two identical events at t=1 (score 1) and a censoring
    at t=2 (score 0). Pairs: each event vs the censoring is concordant (2 pairs), the two
    events are tied in time and score (tied_xy = 1). C = 1. As one record of weight 2 with
    Σ w² = 2 the counts are the same: concordant = 2·1, tied_xy = (2² − 2)/2 = 1."""
    ev = np.array([1, 1, 0])
    rows = concordance(np.array([1.0, 1.0, 0.0]), np.array([1.0, 1.0, 2.0]), ev)
    grouped = concordance(
        np.array([1.0, 0.0]),
        np.array([1.0, 2.0]),
        np.array([1, 0]),
        weights=np.array([2.0, 1.0]),
        weights_sq=np.array([2.0, 1.0]),
    )
    for res in (rows, grouped):
        assert (res.c, res.concordant, res.discordant, res.tied_x) == (1.0, 2.0, 0.0, 0.0)
        assert (res.tied_y, res.tied_xy) == (0.0, 1.0)
    assert grouped.se == pytest.approx(rows.se, rel=1e-12)


# --------------------------------------------------------------------------- engines vs cox_fit


def _generated(seed: int = 11, n: int = 500) -> dict[str, np.ndarray]:
    """Ties in time (whole months) and in the predictor (integer age, binary, 3 levels),
    two strata, a few missing values, integer case weights."""
    rng = np.random.default_rng(seed)
    age = rng.integers(40, 80, n).astype(float)
    binary = rng.integers(0, 2, n).astype(float)
    grp = rng.integers(1, 4, n).astype(float)
    stratum = rng.integers(0, 2, n).astype(float)
    lp = 0.03 * (age - 60) + 0.5 * binary + 0.3 * (grp == 3)
    t = np.ceil(rng.exponential(20 * np.exp(-lp)))
    c = np.ceil(rng.uniform(5, 60, n))
    time = np.minimum(t, c)
    event = (t <= c).astype(float)
    age[rng.choice(n, 6, replace=False)] = np.nan
    return {
        "time": time,
        "event": event,
        "age": age,
        "binary": binary,
        "grp": grp,
        "stratum": stratum,
        "w": rng.integers(1, 4, n).astype(float),
        "wq": rng.integers(1, 9, n) * 0.25,
    }


def _design(cols: dict[str, np.ndarray], keep: np.ndarray) -> np.ndarray:
    g = cols["grp"][keep]
    return np.column_stack([cols["age"][keep], cols["binary"][keep], g == 2, g == 3]).astype(float)


_TERMS = [Term("age"), Term("binary"), Term("grp", 2), Term("grp", 3)]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("strata", "weight", "ties"),
    [
        (None, None, "efron"),
        ("stratum", None, "breslow"),
        ("stratum", "w", "efron"),
        (None, "wq", "efron"),
    ],
)
def test_engine_concordance_equals_cox_fit(
    engine: str, strata: str | None, weight: str | None, ties: str, tmp_path: Path
) -> None:
    """Naive oracle: cox_fit(...).concordance on the complete rows; C and SE to 1e-9,
    counts exactly (integer weights) or to 1e-12 (quarter-step weights)."""
    cols = _generated()
    res = _fit(
        engine,
        _source(engine, cols, tmp_path),
        time="time",
        event="event",
        terms=_TERMS,
        strata=strata,
        weight=weight,
        ties=ties,
    )
    keep = ~np.isnan(cols["age"])
    ref = cox_fit(
        _design(cols, keep),
        cols["time"][keep],
        cols["event"][keep],
        strata=None if strata is None else cols[strata][keep],
        weights=None if weight is None else cols[weight][keep],
        ties=ties,
    )
    assert res.concordance is not None
    assert not [w for w in res.warnings if w.code == "CONCORDANCE-NOT-COMPUTED"]
    _same_conc(res.concordance, ref.concordance, exact_counts=weight != "wq")
    # and the pairwise definition on the rows, with the fitted linear predictor summed in a
    # fixed order (a BLAS x @ b may give equal rows predictors one rounding apart, which the
    # pairwise count would take as untied: see survstudy.stats._common.row_dot)
    x = _design(cols, keep)
    lp = sum(x[:, j] * ref.coef[j] for j in range(x.shape[1]))
    oracle = _pairwise(
        lp,
        cols["time"][keep],
        cols["event"][keep],
        None if strata is None else cols[strata][keep],
        weights=None if weight is None else cols[weight][keep],
    )
    _same_conc(res.concordance, oracle, exact_counts=False)


@pytest.mark.parametrize("engine", ENGINES)
def test_engine_concordance_text_strata_and_csv(engine: str, tmp_path: Path) -> None:
    """Naive oracle: veteran (CSV in place for DuckDB), factor celltype, text strata
    (trt as text), cox_fit's concordance on the same rows; R reference veteran_strata."""
    d = _read_csv("veteran")
    cols = {
        "time": np.array(d["time"], dtype=float),
        "status": np.array(d["status"], dtype=float),
        "karno": np.array(d["karno"], dtype=float),
        "celltype": np.array(d["celltype"], dtype=object),
        "trt": np.array(["arm" + v for v in d["trt"]], dtype=object),
    }
    levels = ["squamous", "smallcell", "adeno", "large"]
    terms = [Term("karno")] + [Term("celltype", lv) for lv in levels[1:]]
    if engine == "memory":
        src = Source.from_arrays(cols)
    else:
        path = tmp_path / "vet.csv"
        with path.open("w", newline="") as fh:
            wr = csv.writer(fh)
            wr.writerow(list(cols))
            for i in range(cols["time"].size):
                wr.writerow([cols[k][i] for k in cols])
        src = Source.from_path(str(path))
    res = _fit(engine, src, time="time", event="status", terms=terms, strata="trt")
    x = np.column_stack([cols["karno"]] + [cols["celltype"] == lv for lv in levels[1:]]).astype(
        float
    )
    ref = cox_fit(x, cols["time"], cols["status"], strata=cols["trt"])
    _same_conc(res.concordance, ref.concordance)
    r = CFIX["veteran_strata"]
    assert res.concordance.c == pytest.approx(r["concordance"], rel=1e-6)
    assert res.concordance.se == pytest.approx(r["se"], rel=1e-6)
    assert res.concordance.concordant == r["count"]["concordant"]
    assert res.concordance.tied_x == r["count"]["tied.x"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", ["lung", "lung_weights", "big_ties_strata"])
def test_engine_concordance_matches_r(engine: str, name: str, tmp_path: Path) -> None:
    """R reference: concordance(coxph(...)) — C, SE (1e-6) and counts — through each
    engine on the fixture's own rows (lung; lung with case weights; n = 15000 with
    month-rounded times, a tied predictor and strata)."""
    f = CFIX[name]
    covs = f["covariates"] or CFIX["lung"]["covariates"]
    cols: dict[str, np.ndarray] = {
        "time": np.array(f["time"], dtype=float),
        "status": np.array(f["status"], dtype=float),
    }
    names = []
    for i, v in enumerate(covs.values()):
        cols[f"x{i}"] = np.array(v, dtype=float)
        names.append(f"x{i}")
    if f["strata"] is not None:
        cols["st"] = np.array(f["strata"], dtype=float)
    if f["weights"] is not None:
        cols["wt"] = np.array(f["weights"], dtype=float)
    res = _fit(
        engine,
        _source(engine, cols, tmp_path),
        time="time",
        event="status",
        terms=[Term(c) for c in names],
        strata="st" if f["strata"] is not None else None,
        weight="wt" if f["weights"] is not None else None,
    )
    c = res.concordance
    assert c.c == pytest.approx(f["concordance"], rel=1e-6)
    assert c.se == pytest.approx(f["se"], rel=1e-6)
    cnt = f["count"]
    got = (c.concordant, c.discordant, c.tied_x, c.tied_y, c.tied_xy)
    want = (cnt["concordant"], cnt["discordant"], cnt["tied.x"], cnt["tied.y"], cnt["tied.xy"])
    assert got == pytest.approx(want, rel=1e-12)


# --------------------------------------------------------------------------- the limit


@pytest.mark.parametrize("engine", ENGINES)
def test_too_many_cells_gives_a_warning_not_a_silent_null(engine: str, tmp_path: Path) -> None:
    """Property: above the cell limit there is no concordance and a CONCORDANCE-NOT-COMPUTED
    warning saying why; at a limit equal to the number of cells it is computed."""
    cols = _generated(n=120)
    keep = ~np.isnan(cols["age"])
    x = _design(cols, keep)
    n_cells = np.unique(
        np.column_stack([cols["time"][keep], cols["event"][keep], x]), axis=0
    ).shape[0]
    src = _source(engine, cols, tmp_path)
    res = _fit(engine, src, time="time", event="event", terms=_TERMS, concordance_limit=10)
    assert res.concordance is None
    warn = [w for w in res.warnings if w.code == "CONCORDANCE-NOT-COMPUTED"]
    assert len(warn) == 1
    assert "at most 10 distinct" in warn[0].message
    assert "--engine memory on a sample" in warn[0].message
    assert warn[0].context["limit"] == 10
    assert warn[0].context["cells"] > 10
    assert res.to_dict()["warnings"][-1]["code"] == "CONCORDANCE-NOT-COMPUTED"
    # the coefficients are unaffected
    ref = cox_fit(x, cols["time"][keep], cols["event"][keep])
    np.testing.assert_allclose(res.coef, ref.coef, rtol=RTOL)
    exact = _fit(engine, src, time="time", event="event", terms=_TERMS, concordance_limit=n_cells)
    _same_conc(exact.concordance, ref.concordance)
    off = _fit(engine, src, time="time", event="event", terms=_TERMS, concordance=False)
    assert off.concordance is None
    assert not off.warnings


def test_duckdb_exact_count_beyond_the_estimate(tmp_path: Path) -> None:
    """Property: when the row count says the grouping may run (n_rows <= limit is passed on
    trust), a grouping with more records than ``limit`` is still refused (LIMIT + 1)."""
    cols = _generated(n=120)
    eng = get_engine("duckdb")
    try:
        cells = eng.concordance_cells(
            _parquet(cols, tmp_path / "d.parquet"),
            time="time",
            event="event",
            terms=_TERMS,
            limit=10,
            n_rows=5,
        )
    finally:
        eng.close()
    assert not cells.complete
    assert cells.n_cells == 11
    assert cells.time.size == 0


def test_cells_are_the_distinct_rows(tmp_path: Path) -> None:
    """Hand calculation: 6 rows, (time, event, x) = (1,1,0) ×2, (1,1,1), (2,0,0) ×3 with
    weights 1, 2 | 3 | 1, 1, 2 -> 3 cells: n = 2, 1, 3; Σw = 3, 3, 4; Σw² = 5, 9, 6."""
    cols = {
        "t": np.array([1.0, 1, 1, 2, 2, 2]),
        "e": np.array([1.0, 1, 1, 0, 0, 0]),
        "x": np.array([0.0, 0, 1, 0, 0, 0]),
        "w": np.array([1.0, 2, 3, 1, 1, 2]),
    }
    for engine in ENGINES:
        eng = get_engine(engine)
        try:
            cells = eng.concordance_cells(
                _source(engine, cols, tmp_path), time="t", event="e", terms=[Term("x")], weight="w"
            )
        finally:
            eng.close()
        order = np.lexsort((cells.x[:, 0], cells.time))
        assert cells.time[order].tolist() == [1.0, 1.0, 2.0]
        assert cells.x[order, 0].tolist() == [0.0, 1.0, 0.0]
        assert cells.n_rows[order].tolist() == [2.0, 1.0, 3.0]
        assert cells.weight[order].tolist() == [3.0, 3.0, 4.0]
        assert cells.weight_sq[order].tolist() == [5.0, 9.0, 6.0]

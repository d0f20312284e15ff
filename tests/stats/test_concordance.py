"""Harrell's concordance (survstudy.stats.concordance) against R and against a naive pairwise oracle.

Kinds of truth:
- R reference: tests/reference/concordance.json from tests/reference/concordance.R (survival 3.5-3;
  each fixture records its coxph() call): C, sqrt(var) and the count vector of ``concordance(fit)``.
- naive oracle: a double loop over all pairs written below, straight from the definition, on seeded
  random data with ties in time, in the score and in both, with strata, weights and clusters.
- hand calculation: a 4-patient example worked out in the docstring.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from survstudy.stats.concordance import concordance
from survstudy.stats.cox import cox_fit

REF = Path(__file__).resolve().parents[1] / "reference"
FIX: dict[str, dict[str, Any]] = json.loads((REF / "concordance.json").read_text())["fixtures"]
RTOL = 1e-6


def _opt(f: dict[str, Any], key: str) -> np.ndarray | None:
    return None if f[key] is None else np.asarray(f[key])


@pytest.mark.parametrize("name", sorted(FIX))
def test_matches_r_concordance(name: str) -> None:
    """R reference: concordance(fit)$concordance, sqrt($var) and $count from R's linear predictor."""
    f = FIX[name]
    r = concordance(
        np.asarray(f["lp"]),
        np.asarray(f["time"]),
        np.asarray(f["status"]),
        _opt(f, "strata"),
        weights=_opt(f, "weights"),
        cluster=_opt(f, "cluster"),
    )
    np.testing.assert_allclose([r.c, r.se], [f["concordance"], f["se"]], rtol=RTOL)
    cnt = f["count"]
    np.testing.assert_allclose(
        [r.concordant, r.discordant, r.tied_x, r.tied_y, r.tied_xy],
        [cnt["concordant"], cnt["discordant"], cnt["tied.x"], cnt["tied.y"], cnt["tied.xy"]],
        rtol=1e-12,
    )


@pytest.mark.parametrize("name", ["lung", "big_ties_strata"])
def test_cox_fit_fills_concordance_for_any_n(name: str) -> None:
    """R reference: cox_fit's concordance equals R's concordance(fit), also above the former
    10 000-patient cap (n = 15 000, strata, ties in time and in the predictor)."""
    f = FIX[name]
    x = np.column_stack([np.asarray(v, dtype=float) for v in f["covariates"].values()])
    res = cox_fit(x, f["time"], f["status"], strata=_opt(f, "strata"))
    assert res.concordance is not None
    np.testing.assert_allclose(
        [res.concordance.c, res.concordance.se], [f["concordance"], f["se"]], rtol=RTOL
    )
    d = res.to_dict()["concordance"]
    np.testing.assert_allclose([d["c"], d["se"]], [f["concordance"], f["se"]], rtol=RTOL)


def naive(
    s: np.ndarray,
    t: np.ndarray,
    e: np.ndarray,
    g: np.ndarray,
    w: np.ndarray,
    cl: np.ndarray | None = None,
) -> tuple[float, float, float, float, float, float, float]:
    """Every ordered pair (i, j), i an event: comparable when j outlives i (or is censored at t_i)."""
    n = s.size
    nk = np.zeros(n)
    dk = np.zeros(n)
    conc = disc = tx = ty = txy = 0.0
    for i in range(n):
        for j in range(n):
            if j == i or g[i] != g[j] or not e[i]:
                continue
            ww = w[i] * w[j]
            if t[j] == t[i] and e[j]:
                if i < j:  # each unordered pair once
                    if s[i] == s[j]:
                        txy += ww
                    else:
                        ty += ww
                continue
            if t[j] < t[i]:
                continue
            v = 1.0 if s[i] > s[j] else (0.5 if s[i] == s[j] else 0.0)
            conc += ww * (s[i] > s[j])
            disc += ww * (s[i] < s[j])
            tx += ww * (s[i] == s[j])
            nk[i] += w[j] * v
            nk[j] += w[i] * v
            dk[i] += w[j]
            dk[j] += w[i]
    tot = conc + disc + tx
    if tot == 0:
        return math.nan, math.nan, conc, disc, tx, ty, txy
    c = (conc + tx / 2) / tot
    infl = w * (nk - c * dk) / tot
    if cl is not None:
        infl = np.bincount(np.unique(cl, return_inverse=True)[1], weights=infl)
    return c, math.sqrt(float(infl @ infl)), conc, disc, tx, ty, txy


@pytest.mark.parametrize("seed", range(40))
def test_naive_oracle_random_ties(seed: int) -> None:
    """Naive oracle: seeded random data with few distinct times and scores (ties everywhere),
    strata, case weights (odd seeds) and clusters (every third seed)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 45))
    s = rng.integers(0, int(rng.integers(1, 8)), n).astype(float) * 0.37
    t = rng.integers(1, int(rng.integers(2, 9)), n).astype(float)
    e = rng.random(n) < 0.6
    g = rng.integers(0, int(rng.integers(1, 4)), n)
    w = rng.choice([0.5, 1.0, 2.0, 3.25], n) if seed % 2 else np.ones(n)
    cl = rng.integers(0, 6, n) if seed % 3 == 0 else None
    ref = naive(s, t, e, g, w, cl)
    r = concordance(s, t, e, g, weights=w, cluster=cl)
    got = (r.c, r.se, r.concordant, r.discordant, r.tied_x, r.tied_y, r.tied_xy)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12, equal_nan=True)


def test_naive_oracle_continuous_larger() -> None:
    """Naive oracle: n = 400, continuous scores (no ties), day-like times, many radix levels."""
    rng = np.random.default_rng(7)
    n = 400
    s = rng.normal(size=n)
    t = np.ceil(rng.exponential(50, n))
    e = rng.random(n) < 0.7
    g = np.zeros(n, dtype=int)
    ref = naive(s, t, e, g, np.ones(n))
    r = concordance(s, t, e)
    np.testing.assert_allclose(
        (r.c, r.se, r.concordant, r.discordant, r.tied_x, r.tied_y, r.tied_xy), ref, rtol=1e-10
    )


def test_hand_calculation_four_patients() -> None:
    """Hand calculation. times 1, 2, 2, 3; events 1, 1, 0, 1; scores 3, 1, 2, 1.
    Comparable pairs (earlier event first): (1,2) 3>1 conc, (1,3) 3>2 conc, (1,4) 3>1 conc,
    (2,3) [death and censoring at 2: censoring counts as later] 1<2 disc, (2,4) 1=1 tied.
    C = (3 + 0.5) / 5 = 0.7; no pair of events tied in time."""
    r = concordance(np.array([3.0, 1, 2, 1]), np.array([1.0, 2, 2, 3]), np.array([1, 1, 0, 1]))
    assert (r.concordant, r.discordant, r.tied_x, r.tied_y) == (3, 1, 1, 0)
    assert r.c == pytest.approx(0.7, rel=1e-15)


def test_no_comparable_pair_is_nan() -> None:
    """Hand calculation: all censored, no comparable pair: C and SE undefined (None in JSON)."""
    r = concordance(np.array([1.0, 2.0]), np.array([1.0, 2.0]), np.array([0, 0]))
    assert math.isnan(r.c)
    assert r.to_dict()["c"] is None


def test_cli_cox_json_reports_concordance_above_former_cap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """R reference: ``survstudy cox … --json`` on the n = 15 000 fixture reports R's C and SE."""
    import csv

    import survstudy.cli.cox  # noqa: F401  (registers the command)
    from survstudy.cli import main as cli_main

    f = FIX["big_ties_strata"]
    path = tmp_path / "big.csv"
    with path.open("w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["time", "status", "x1", "x2", "grp"])
        cov = f["covariates"]
        wr.writerows(zip(f["time"], f["status"], cov["x1"], cov["x2"], f["strata"], strict=True))
    args = ["cox", str(path), "--time", "time", "--event", "status", "--covariates", "x1,x2"]
    code = 0
    try:
        cli_main.main([*args, "--strata", "grp", "--json"])
    except SystemExit as exc:
        code = int(exc.code or 0)
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    np.testing.assert_allclose(
        [out["concordance"]["c"], out["concordance"]["se"]], [f["concordance"], f["se"]], rtol=RTOL
    )


@pytest.mark.parametrize("seed", range(6))
def test_naive_oracle_split_path(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Naive oracle: with a tiny block size the large-data path (split on the top bit, then
    sweep the halves) runs on small random data with ties, strata and weights."""
    import survstudy.stats.concordance as mod

    monkeypatch.setattr(mod, "_SMALL", 3 + seed)
    rng = np.random.default_rng(100 + seed)
    n = 120
    s = rng.integers(0, 30, n).astype(float)
    t = rng.integers(1, 60, n).astype(float)
    e = rng.random(n) < 0.7
    g = rng.integers(0, 2, n)
    w = rng.choice([0.5, 1.0, 2.0], n) if seed % 2 else np.ones(n)
    ref = naive(s, t, e, g, w)
    r = concordance(s, t, e, g, weights=w)
    got = (r.c, r.se, r.concordant, r.discordant, r.tied_x, r.tied_y, r.tied_xy)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)


def test_near_equal_times_are_ties() -> None:
    """Identity (R's aeqSurv rule, as coxph/concordance apply it): times that differ only in the
    last digits, as durations computed two ways do, give the same result as exact ties."""
    f = FIX["lung"]
    t = np.asarray(f["time"], dtype=float) / 30.4375
    jitter = t * (1 + 1e-13 * np.random.default_rng(1).choice([-1.0, 0.0, 1.0], t.size))
    a = concordance(np.asarray(f["lp"]), t, np.asarray(f["status"]))
    b = concordance(np.asarray(f["lp"]), jitter, np.asarray(f["status"]))
    assert (b.c, b.se, b.tied_y) == (a.c, a.se, a.tied_y)
    np.testing.assert_allclose([a.c, a.se], [f["concordance"], f["se"]], rtol=RTOL)


def test_rejects_missing_values() -> None:
    """Property: missing values are the caller's to drop; they are not silently ranked."""
    with pytest.raises(ValueError, match="finite"):
        concordance(np.array([1.0, np.nan]), np.array([1.0, 2.0]), np.array([1, 1]))
    with pytest.raises(ValueError, match="one length"):
        concordance(np.array([1.0, 2.0]), np.array([1.0]), np.array([1, 1]))


@pytest.mark.parametrize("seed", range(8))
def test_naive_oracle_integer_weights(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Naive oracle: whole-number case weights take the exact int32 sweep (also through the
    top-bit split with a tiny block size), with ties, strata and clusters."""
    import survstudy.stats.concordance as mod

    if seed % 2:
        monkeypatch.setattr(mod, "_SMALL", 4 + seed)
    rng = np.random.default_rng(300 + seed)
    n = 150
    s = rng.integers(0, 40, n).astype(float)
    t = rng.integers(1, 50, n).astype(float)
    e = rng.random(n) < 0.6
    g = rng.integers(0, 1 + seed % 3, n)
    w = rng.integers(1, 4, n).astype(float)
    cl = rng.integers(0, 30, n) if seed % 4 == 0 else None
    ref = naive(s, t, e, g, w, cl)
    r = concordance(s, t, e, g, weights=w, cluster=cl)
    got = (r.c, r.se, r.concordant, r.discordant, r.tied_x, r.tied_y, r.tied_xy)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_interval_integer_sweep_equals_float_sweep(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Identity: on (start, stop] rows (entry records weigh −w) the exact integer sweep gives
    the float sweep's C, SE and counts."""
    import survstudy.stats.concordance as mod

    rng = np.random.default_rng(500 + seed)
    n = 300
    t0 = rng.integers(0, 30, n).astype(float)
    t1 = t0 + rng.integers(1, 20, n)
    s = rng.integers(0, 25, n) * 0.5
    e = rng.random(n) < 0.4
    g = rng.integers(0, 2, n) if seed % 2 else None
    cl = rng.integers(0, 80, n) if seed >= 2 else None
    a = concordance(s, t1, e, g, start=t0, cluster=cl)
    monkeypatch.setattr(mod, "_small_integers", lambda w: False)
    b = concordance(s, t1, e, g, start=t0, cluster=cl)
    assert (a.concordant, a.discordant, a.tied_x, a.tied_y, a.tied_xy) == (
        b.concordant,
        b.discordant,
        b.tied_x,
        b.tied_y,
        b.tied_xy,
    )
    np.testing.assert_allclose([a.c, a.se], [b.c, b.se], rtol=1e-13)


@pytest.mark.parametrize("seed", range(4))
def test_naive_oracle_top_bit_split(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Naive oracle: with no room for the chunk × code table (many codes, as continuous
    times) large blocks are split on their top bit; tiny blocks force it on small data
    with ties, strata, unit / whole-number / fractional weights."""
    import survstudy.stats.concordance as mod

    monkeypatch.setattr(mod, "_SMALL", 5 + seed)
    monkeypatch.setattr(mod, "_TABLE", 0)
    rng = np.random.default_rng(700 + seed)
    n = 110
    s = rng.integers(0, 30, n).astype(float)
    t = rng.integers(1, 60, n).astype(float)
    e = rng.random(n) < 0.7
    g = rng.integers(0, 2, n)
    w = [np.ones(n), rng.integers(1, 4, n).astype(float), rng.choice([0.5, 1.0, 2.0], n)][seed % 3]
    ref = naive(s, t, e, g, w)
    r = concordance(s, t, e, g, weights=w)
    got = (r.c, r.se, r.concordant, r.discordant, r.tied_x, r.tied_y, r.tied_xy)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)

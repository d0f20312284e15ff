"""``survstudy logrank --permutation exact`` with k groups and with --strata (R reference:
tests/reference/exact_logrank.json, coin)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from survstudy.cli import main as cli_main

REF = json.loads(
    (Path(__file__).resolve().parents[1] / "reference" / "exact_logrank.json").read_text()
)


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    cli_main._state["debug"] = False
    with pytest.raises(SystemExit) as info:
        cli_main.main(args)
    out = capsys.readouterr()
    code = info.value.code if isinstance(info.value.code, int) else 0
    return code, out.out, out.err


def _csv(tmp_path: Path, name: str) -> Path:
    d = REF["data"][name]
    f = tmp_path / f"{name}.csv"
    rows = zip(d["t"], d["e"], d["g"], d["s"], strict=True)
    f.write_text("t,e,g,s\n" + "".join(f"{a},{b},{c},{s}\n" for a, b, c, s in rows), "utf-8")
    return f


def _perm(tmp_path, capsys, name, *extra):
    args = ["logrank", str(_csv(tmp_path, name)), "--time", "t", "--event", "e", "--by", "g"]
    code, out, err = _run([*args, *extra, "--json"], capsys)
    assert code == 0, err
    return json.loads(out)["permutation"]


def test_cli_exact_stratified_two_groups_matches_coin(tmp_path, capsys):
    """R reference: coin's exact within-block p (shift algorithm) for two10 and aml by s."""
    for name in ("two10", "aml"):
        perm = _perm(tmp_path, capsys, name, "--strata", "s", "--permutation", "exact")
        assert perm["method"] == "exact"
        assert perm["n_strata"] == 2
        assert perm["p_value"] == pytest.approx(
            REF["cases"][f"{name}_strat_exact"]["p_value"], rel=1e-6
        )


def test_cli_exact_three_groups(tmp_path, capsys):
    """R reference: chisq = coin's asymptotic chi-square; the exact p is within 4 MC SEs of
    coin's approximate p (B = 200 000); the JSON keeps the two-group keys."""
    perm = _perm(tmp_path, capsys, "three12", "--permutation", "exact")
    case = REF["cases"]["three12_approximate"]
    assert perm["method"] == "exact"
    assert perm["n_assignments"] == 34_650
    assert perm["chisq"] == pytest.approx(REF["cases"]["three12_asymptotic"]["statistic"], rel=1e-6)
    p = perm["p_value"]
    assert abs(p - case["p_value"]) <= 4 * (p * (1 - p) / REF["nresample"]) ** 0.5
    for key in ("statistic", "p_lower", "p_upper", "n_resamples", "seed", "reason"):
        assert key in perm


def test_cli_monte_carlo_stratified_seeded(tmp_path, capsys):
    """Property: the stratified Monte-Carlo p is reproducible for a seed, has its CP interval
    and lies within 4 MC SEs of coin's approximate p."""
    a = _perm(
        tmp_path, capsys, "three12", "--strata", "s", "--permutation", "monte-carlo", "--seed", "5"
    )
    b = _perm(
        tmp_path, capsys, "three12", "--strata", "s", "--permutation", "monte-carlo", "--seed", "5"
    )
    assert a == b
    assert a["method"] == "monte-carlo"
    assert 0 <= a["p_lower"] <= a["p_upper"] <= 1
    p = REF["cases"]["three12_strat_approximate"]["p_value"]
    assert (
        abs(a["p_value"] - p)
        <= 4 * (p * (1 - p) * (1 / a["n_resamples"] + 1 / REF["nresample"])) ** 0.5
    )

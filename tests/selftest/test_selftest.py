"""``survstudy selftest``: certified-value checks shipped inside the package.

Kinds of truth: the certified values themselves are hand calculations and R fixtures
(scripts/make_certified.py, checked here to be exactly what the shipped file holds); the
tests below check that the runner passes on them, and that it fails — exit 1, the check
named — when one certified value is altered.
"""

from __future__ import annotations

import importlib.util
import json
from importlib import resources
from pathlib import Path

import pytest

from survstudy.cli import main as cli_main
from survstudy.selftest import load_certified, run_selftest

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    cli_main._state["debug"] = False
    code = 0
    try:
        cli_main.main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def _shipped() -> str:
    return (resources.files("survstudy.selftest") / "certified.json").read_text(encoding="utf-8")


def test_shipped_file_is_what_the_script_makes() -> None:
    """Identity: the package's certified.json is exactly scripts/make_certified.py's output
    (hand formulas + R fixtures; nothing computed by survstudy, nothing edited by hand)."""
    spec = importlib.util.spec_from_file_location(
        "make_certified", ROOT / "scripts/make_certified.py"
    )
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.build() == _shipped()


def test_checks_cover_the_required_kinds() -> None:
    """The issue's list: T&G hand Cox (Breslow, Efron), KM and log-rank by hand, and R
    references for KM, log-rank, Cox, Firth and profile limits."""
    checks = load_certified()
    ids = {c["id"] for c in checks}
    assert {"cox-hand-breslow", "cox-hand-efron", "km-hand", "logrank-hand"} <= ids
    kinds_r = {c["kind"] for c in checks if not c["source"].startswith("hand")}
    assert {"km", "logrank", "cox", "firth", "profile"} <= kinds_r


def test_selftest_passes_here(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["selftest"], capsys)
    assert code == 0, out
    lines = out.splitlines()
    n = len(load_certified())
    assert sum(line.startswith("pass  ") for line in lines) == n
    assert lines[-1].startswith(f"selftest passed: {n} of {n} checks")
    assert any(line.startswith("machine: ") and "NumPy" in line for line in lines)


def test_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["selftest", "--json"], capsys)
    assert code == 0
    doc = json.loads(out)
    assert doc["passed"] is True
    assert doc["n_failed"] == 0
    assert doc["n_checks"] == len(doc["checks"]) == len(load_certified())
    assert {"python", "numpy", "scipy", "blas", "cpu"} <= set(doc["machine"])
    first = doc["checks"][0]
    assert {"id", "title", "source", "passed", "max_rel_error", "rtol"} <= set(first)


@pytest.mark.parametrize("check_id", ["cox-hand-efron", "km-r-lung", "profile-r-breast"])
def test_an_altered_certified_value_fails(
    check_id: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One value moved by 10x its tolerance: that check fails, the others pass, exit 1."""
    doc = json.loads(_shipped())
    check = next(c for c in doc["checks"] if c["id"] == check_id)
    key, vals = next((k, v) for k, v in check["values"].items() if isinstance(v, list))
    i = next(i for i, v in enumerate(vals) if not isinstance(v, str) and v)
    vals[i] = vals[i] * (1 + 10 * check["rtol"])
    path = tmp_path / "certified.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    code, out, _ = run(["selftest", "--certified", str(path)], capsys)
    assert code == 1
    failed = [line for line in out.splitlines() if line.startswith("FAIL  ")]
    assert len(failed) == 1
    assert check_id in failed[0]
    assert f"{key}[{i}]" in out
    assert "selftest FAILED: 1 of" in out
    report = run_selftest(path)
    assert not report.passed
    assert [c.id for c in report.checks if not c.passed] == [check_id]


def test_unreadable_certified_file_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "none.json"
    path.write_text("{}", encoding="utf-8")
    code, out, _ = run(["selftest", "--certified", str(path)], capsys)
    assert code == 1
    assert "cannot read the certified values" in out

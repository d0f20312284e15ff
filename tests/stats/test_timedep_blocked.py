"""Counting-process data through the other paths of the Cox objective.

As tests/stats/test_cox_blocked.py does for right-censored data: the R fixtures of
tests/reference/timedep.R and the naive oracle run (1) through the blocked large-data
path with blocks of a few rows, (2) with tie groups found by comparing sorted
neighbours instead of counting keys, (3) row-wise on the column-major design.

Kinds of truth: R reference and naive oracle, reused from the tests they name.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from survstudy.stats import _cox_objective as obj

HERE = Path(__file__).resolve().parent


def _load(name: str) -> ModuleType:
    mod_name = f"_timedep_{name}"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, HERE / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = mod
    spec.loader.exec_module(mod)
    return mod


REF = _load("test_timedep_reference")
ORA = _load("test_timedep_oracle")


@pytest.mark.parametrize("width", [3, 64])
@pytest.mark.parametrize("name", REF.REGULAR)
def test_blocked_path_matches_r(name: str, width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """R reference (estimates, tests, baseline hazard, cox.zph), through the blocked path."""
    monkeypatch.setattr(obj, "_SMALL_N", 0)
    monkeypatch.setattr(obj, "_ROWS_GROUP_FRACTION", 2.0)
    monkeypatch.setattr(obj, "_BLOCK", width)
    monkeypatch.setattr(obj, "_ECHUNK", width)
    REF.test_cox_estimates_and_tests_match_r(name)
    REF.test_baseline_hazard_matches_r(name)
    if REF.FIX["cox"][name]["zph_chisq"] is not None:
        REF.test_cox_zph_matches_r(name)


@pytest.mark.parametrize("name", REF.REGULAR)
def test_tie_groups_by_neighbours_match_r(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """R reference, with tie groups from sorted neighbours (wide key ranges)."""
    monkeypatch.setattr(obj, "_COUNTING", False)
    REF.test_cox_estimates_and_tests_match_r(name)
    REF.test_baseline_hazard_matches_r(name)


@pytest.mark.parametrize("name", REF.REGULAR)
def test_row_path_on_column_major_design_matches_r(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R reference, row-wise on the column-major design (large data, continuous times)."""
    monkeypatch.setattr(obj, "_ROWS_GROUP_FRACTION", 0.0)
    REF.test_cox_estimates_and_tests_match_r(name)
    REF.test_baseline_hazard_matches_r(name)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_naive_oracle_blocked(ties: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Naive oracle (loop-based l, U, I on (start, stop] data), through the blocked path."""
    monkeypatch.setattr(obj, "_SMALL_N", 0)
    monkeypatch.setattr(obj, "_ROWS_GROUP_FRACTION", 2.0)
    monkeypatch.setattr(obj, "_BLOCK", 5)
    monkeypatch.setattr(obj, "_ECHUNK", 5)
    for seed in (1, 2):
        ORA.test_objective_matches_naive_oracle(ties, seed)

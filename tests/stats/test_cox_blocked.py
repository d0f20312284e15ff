"""The blocked large-data path of the Cox objective, run on the small reference data.

Below ``_SMALL_N`` rows the objective works row by row; above it, in cache-sized
column blocks of the transposed design (the n = 10^6 path). Here the threshold is
set to 0 and the block width to a few rows, so that the R fixtures, the naive
oracle and the finite-difference checks of the other Cox test files run through
the blocked path with many blocks, tie groups split across block boundaries
being impossible by construction (blocks start at sub-block boundaries); the
Efron tie sums run in chunks of the same few rows.

Kinds of truth: R reference (tests/reference/cox.R fixtures), naive oracle,
finite difference — each reused from the test it names.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from survstudy.stats import _cox_objective as obj

HERE = Path(__file__).resolve().parent


def _load(name: str) -> ModuleType:
    mod_name = f"_blocked_{name}"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, HERE / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = mod
    spec.loader.exec_module(mod)
    return mod


REF = _load("test_cox_reference")
PROP = _load("test_cox_properties")


@pytest.fixture(autouse=True, params=[3, 64])
def blocked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(obj, "_SMALL_N", 0)
    monkeypatch.setattr(obj, "_ROWS_GROUP_FRACTION", 2.0)  # never row-wise by group count
    monkeypatch.setattr(obj, "_BLOCK", request.param)
    monkeypatch.setattr(obj, "_ECHUNK", request.param)


def test_path_is_blocked() -> None:
    """Identity: with the threshold at 0 the design is the column-major view of xt."""
    d = obj.prepare(np.arange(12.0).reshape(6, 2), np.arange(1.0, 7.0), np.ones(6, dtype=bool))
    assert not d.x.flags.c_contiguous
    # six one-row tie groups: one block per _BLOCK rows
    assert len(d.blocks) == -(-6 // obj._BLOCK)


@pytest.mark.parametrize("name", REF.REGULAR)
def test_estimates_and_tests_match_r(name: str) -> None:
    """R reference (as test_cox_reference), through the blocked path."""
    REF.test_estimates_and_tests_match_r(name)


@pytest.mark.parametrize("name", REF.REGULAR)
def test_baseline_hazard_matches_r(name: str) -> None:
    """R reference: basehaz(fit, centered = FALSE), through the blocked path."""
    REF.test_baseline_hazard_matches_r(name)


@pytest.mark.parametrize("name", [k for k in REF.REGULAR if REF.FIX["fixtures"][k]["zph_chisq"]])
def test_cox_zph_matches_r(name: str) -> None:
    """R reference: cox.zph(fit, transform = "km"), through the blocked path."""
    REF.test_cox_zph_matches_r(name)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_loglik_matches_naive_oracle(ties: str) -> None:
    """Naive oracle (loop-based partial likelihood), through the blocked path."""
    PROP.test_loglik_matches_naive_oracle(ties)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_score_and_information_finite_differences(ties: str) -> None:
    """Finite difference with strata and weights, through the blocked path."""
    PROP.test_score_and_information_finite_differences(ties)


def test_score_residuals_sum_to_score() -> None:
    """Identity: score residuals add up to U(β), through the blocked path."""
    PROP.test_score_residuals_sum_to_score()


@pytest.mark.parametrize("shift", [1e12, -3e6])
def test_invariant_to_shifting_a_covariate(shift: float) -> None:
    """Property: shift invariance (centring inside prepare), through the blocked path."""
    PROP.test_invariant_to_shifting_a_covariate(shift)


def test_monotone_likelihood_is_flagged() -> None:
    """R reference: monotone likelihood flagged, through the blocked path."""
    REF.test_monotone_likelihood_is_flagged()


def test_zero_variance_and_collinear_are_errors() -> None:
    """R reference / hand: design checks on the Gram matrix built in prepare."""
    REF.test_zero_variance_covariate_is_an_error()
    REF.test_collinear_covariates_are_an_error()


@pytest.mark.parametrize("name", REF.REGULAR)
def test_tie_groups_by_neighbours_match_r(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """R reference, with the tie groups found by comparing sorted neighbours (the path for
    key ranges too wide to count) instead of counting keys."""
    monkeypatch.setattr(obj, "_COUNTING", False)
    REF.test_estimates_and_tests_match_r(name)
    REF.test_baseline_hazard_matches_r(name)


@pytest.mark.parametrize("name", REF.REGULAR)
def test_row_path_on_column_major_design_matches_r(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R reference, through the row-wise path on the column-major design (the path of
    large data with nearly one tie group per row, e.g. continuous times)."""
    monkeypatch.setattr(obj, "_ROWS_GROUP_FRACTION", 0.0)
    REF.test_estimates_and_tests_match_r(name)
    REF.test_baseline_hazard_matches_r(name)


@pytest.mark.parametrize("weighted", [False, True])
def test_column_major_design_gives_the_same_sorted_design(
    weighted: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Identity: a design held column by column (Fortran order, as the quick commands build
    it) is gathered per column; the sorted, centred and scaled design, its centre, scale
    and Gram matrix are bit for bit those of the same values in row-major order."""
    monkeypatch.setattr(obj, "_GATHER", 5)
    rng = np.random.default_rng(11)
    n = 37
    x = np.column_stack([rng.normal(50, 10, n).round(1), rng.integers(0, 2, n), rng.normal(size=n)])
    t = rng.integers(1, 9, n).astype(float)
    e = rng.random(n) < 0.6
    w = rng.choice([0.5, 1.0, 2.0], n) if weighted else None
    a = obj.prepare(np.ascontiguousarray(x), t, e, weights=w, standardise=True)
    b = obj.prepare(np.asfortranarray(x), t, e, weights=w, standardise=True)
    for name in ("x", "center", "scale", "raw_scale", "gram"):
        np.testing.assert_array_equal(getattr(b, name), getattr(a, name))

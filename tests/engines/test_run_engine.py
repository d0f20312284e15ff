"""``run_study`` on a registry cohort read by an engine: the same results as in memory.

Kind of truth: naive oracle — the in-memory runner on the same cohort (itself
checked against R and the published tables elsewhere). The registry cohort is
written from the in-memory cohort (:func:`derive_from_cohort`), so these tests
check the runner's engine path alone; the SQL derivation has its own tests.
Every number of ``StudyResults.to_dict()`` must agree to 1e-9 relative, every
other value exactly: Table 1, survival summaries, univariable and multivariable
Cox (with concordance and the PH tests), KM curves, log-rank tests, warnings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from survstudy.data import build_cohort
from survstudy.data.registry import derive_from_cohort
from survstudy.errors import SpecError
from survstudy.pipeline import run_study
from survstudy.spec import load_spec

pytest.importorskip("duckdb", reason="the duckdb extra is not installed")

ROOT = Path(__file__).resolve().parents[2]


def _both(spec_path: Path, tmp_path: Path, profile: str) -> tuple[dict[str, Any], dict[str, Any]]:
    from survstudy.engines import get_engine

    spec = load_spec(spec_path)
    cohort = build_cohort(spec)
    memory = run_study(spec, cohort, profile=profile).to_dict()
    derived = derive_from_cohort(cohort, tmp_path / f"cohort-{profile}")
    eng = get_engine("duckdb", threads=1)
    try:
        engine = run_study(spec, derived, profile=profile, data_engine=eng).to_dict()
    finally:
        eng.close()
    return memory, engine


@pytest.mark.parametrize("profile", ["standard", "spss"])
def test_gbsg_same_results(
    tmp_path: Path, profile: str, results_differences: Any, without_memory_only: Any
) -> None:
    """Naive oracle: the GBSG example (686 patients, Table 1, KM, 8 univariable factors,
    a multivariable model with concordance), both methods profiles."""
    memory, engine = _both(ROOT / "examples" / "gbsg" / "study.yaml", tmp_path, profile)
    assert memory["multivariable"][0]["concordance"] is not None  # it is compared, not skipped
    # the memory-only checks are there in memory and said to be missing with the engine
    assert memory["multivariable"][0]["sensitivity"]
    assert engine["multivariable"][0]["sensitivity"] == []
    assert engine["multivariable"][0]["ph_plots"] == []
    assert any(w["code"] == "PH-SENSITIVITY-NOT-FITTED" for w in engine["warnings"])
    assert all(r["nonlinearity_p"] is None for r in engine["univariable"]["RFS"])
    assert results_differences(without_memory_only(memory), without_memory_only(engine)) == []


@pytest.fixture(scope="module")
def registry_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The registry example's spec beside a 6000-row generated registry (a folder)."""
    from survstudy.data.synth import write_registry

    base = tmp_path_factory.mktemp("registry")
    write_registry(base / "registry", 6000, seed=11)
    spec = base / "study.yaml"
    spec.write_text((ROOT / "examples" / "registry" / "study.yaml").read_text())
    return spec


@pytest.mark.parametrize("profile", ["standard", "spss"])
def test_synthetic_registry_same_results(
    registry_spec: Path,
    tmp_path: Path,
    profile: str,
    results_differences: Any,
    without_memory_only: Any,
) -> None:
    """Naive oracle: a generated registry (ties in day-rounded times, 3 groups, a stratified
    multivariable model, Table 1 by group with Kruskal–Wallis and chi-square tests)."""
    memory, engine = _both(registry_spec, tmp_path, profile)
    model = memory["multivariable"][0]
    assert model["strata"] == ["region"]
    assert model["concordance"] is not None
    assert results_differences(without_memory_only(memory), without_memory_only(engine)) == []


def test_small_sample_methods_are_refused_or_flagged(tmp_path: Path) -> None:
    """Property: with an engine, a spec asking for a method that needs the rows (profile
    intervals) is refused before any work, naming the key; ``firth: auto`` and
    ``permutation: auto`` where they would apply become warnings saying why (bclm:
    monotone likelihood and groups expecting < 5 events)."""
    from survstudy.engines import get_engine

    spec = load_spec(ROOT / "examples" / "bclm" / "study.yaml")
    cohort = build_cohort(spec)
    derived = derive_from_cohort(cohort, tmp_path / "cohort")
    eng = get_engine("duckdb", threads=1)
    try:
        res = run_study(spec, derived, data_engine=eng)
        codes = {w.code for w in res.warnings}
        text = " ".join(w.message for w in res.warnings)
        assert {"FIRTH-NOT-FITTED", "PERMUTATION-NOT-COMPUTED"} <= codes
        assert "--engine memory" in text
        profile_spec = tmp_path / "profile.yaml"
        raw = (ROOT / "examples" / "bclm" / "study.yaml").read_text()
        assert "univariable:" in raw
        profile_spec.write_text(
            raw.replace("univariable:", "univariable:\n    ci: profile", 1).replace(
                "path: ", f"path: {ROOT / 'examples' / 'bclm'}/", 1
            )
        )
        spec2 = load_spec(profile_spec)
        with pytest.raises(SpecError) as info:
            run_study(spec2, derived, data_engine=eng)
        assert info.value.code == "SPEC-ENGINE-UNSUPPORTED"
        assert "ci: profile" in info.value.message
    finally:
        eng.close()


def test_covariate_transform_is_refused_with_an_engine(tmp_path: Path) -> None:
    """Property: transform: rcs (spline columns from the patients' values) needs the rows; with
    an engine the spec is refused before any work, naming the covariate's key."""
    from survstudy.engines import get_engine

    raw = (ROOT / "examples" / "gbsg" / "study.yaml").read_text()
    head, tail = raw.split("multivariable:", 1)
    tail = tail.replace("        - nodes\n", "        - {nodes: {transform: rcs}}\n", 1)
    path = tmp_path / "study.yaml"
    path.write_text(
        (head + "multivariable:" + tail).replace(
            "path: gbsg.csv", f"path: {ROOT / 'examples' / 'gbsg' / 'gbsg.csv'}"
        )
    )
    spec = load_spec(path)
    derived = derive_from_cohort(build_cohort(spec), tmp_path / "cohort")
    eng = get_engine("duckdb", threads=1)
    try:
        with pytest.raises(SpecError) as info:
            run_study(spec, derived, data_engine=eng)
    finally:
        eng.close()
    assert info.value.code == "SPEC-ENGINE-UNSUPPORTED"
    assert "transform: rcs" in info.value.message
    assert info.value.key == "analyses.multivariable.0.covariates.5"

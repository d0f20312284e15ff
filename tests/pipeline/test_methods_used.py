"""Issue 15 item 12: the methods paragraph describes the conditional methods (Firth with
``firth: auto``, the permutation log-rank with ``permutation: auto``) only when the run
applied them. Kind of truth: identity with the results' own rows (a row carries a Firth
estimate or a permutation test exactly when the method ran)."""

from __future__ import annotations

from pathlib import Path

import pytest

from survstudy.data import load_cohort
from survstudy.pipeline import run_study

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("example", ["bclm", "gbsg"])
def test_conditional_methods_described_only_when_applied(example: str) -> None:
    cohort = load_cohort(ROOT / "examples" / example / "study.yaml")
    res = run_study(cohort.spec, cohort)
    rows = [r for u in res.univariable.values() for r in u.rows]
    firth = any(r.firth is not None for r in rows) or any(
        m.firth is not None for m in res.multivariable
    )
    perm = any(r.permutation is not None for r in rows) or any(
        k.permutation is not None for k in res.km
    )
    text = " ".join(res.methods["sentences"])
    assert ("Firth-penalised estimate" in text) == firth
    assert ("exact permutation p" in text) == perm
    # the seed study needs both; GBSG (686 patients) neither
    assert (firth, perm) == ((True, True) if example == "bclm" else (False, False))

"""Issue 16, item 5: the order of the rows in the data file does not matter.

Kind of truth: identity. ``run_study`` computes on the cohort in its canonical order (by
its analysis values, :meth:`survstudy.data.Cohort.canonical_order`), so the same patients
in another file order give a byte-identical ``results.json``. Two things legitimately
depend on the file and are set aside explicitly: the data file's hash (it is another
file), and the spreadsheet rows that data-quality findings cite (they follow the patients
in the file), of which only the codes, severities and columns are compared. The cohort a
user holds (``cohort.frame``) stays in spreadsheet order.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from survstudy.data import build_cohort
from survstudy.pipeline import run_study
from survstudy.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]


def _results_text(spec_path: Path) -> str:
    spec = load_spec(spec_path)
    cohort = build_cohort(spec)
    out: dict[str, Any] = run_study(spec, cohort, profile="standard").to_dict()
    # findings cite spreadsheet rows, which move with the patients: keep what they say
    out["data_quality"] = sorted(
        line.split(":")[0] + line.split("]")[0] for line in out["data_quality"]
    )
    out["quality_issues"] = sorted(
        (q["code"], q["severity"], str(q["column"])) for q in out.get("quality_issues", [])
    )
    text = json.dumps(out, sort_keys=True, allow_nan=True)
    assert cohort.input_sha256 in text  # the provenance names the file by its hash
    return text.replace(cohort.input_sha256, "<sha256>")


def _shuffled(src: Path, data: str, folder: Path, seed: int) -> Path:
    folder.mkdir()
    shutil.copy(src / "study.yaml", folder / "study.yaml")
    header, *lines = (src / data).read_text(encoding="utf-8").splitlines(keepends=True)
    shuffled = list(lines)
    random.Random(seed).shuffle(shuffled)
    assert shuffled != lines
    (folder / data).write_text(header + "".join(shuffled), encoding="utf-8")
    return folder / "study.yaml"


@pytest.mark.parametrize(("example", "data"), [("bclm", "bclm_raw.csv"), ("gbsg", "gbsg.csv")])
def test_shuffled_rows_give_identical_results(example: str, data: str, tmp_path: Path) -> None:
    """Identity: the example's rows shuffled (three seeds) give byte-identical results."""
    src = ROOT / "examples" / example
    base = _results_text(src / "study.yaml")
    for seed in (1, 2, 3):
        path = _shuffled(src, data, tmp_path / f"s{seed}", seed)
        assert _results_text(path) == base, seed


def test_the_users_cohort_stays_in_spreadsheet_order(tmp_path: Path) -> None:
    """Identity: build_cohort keeps the file's order; the canonical one is a permutation
    that carries each patient's spreadsheet row, and is the same for a shuffled file."""
    spec = load_spec(ROOT / "examples/gbsg/study.yaml")
    cohort = build_cohort(spec)
    assert (np.diff(cohort.rows) > 0).all()
    canon = cohort.in_canonical_order()
    assert sorted(canon.rows.tolist()) == cohort.rows.tolist()
    path = _shuffled(ROOT / "examples/gbsg", "gbsg.csv", tmp_path / "s", 7)
    other = build_cohort(load_spec(path)).in_canonical_order()
    for name, col in canon.columns.items():
        a = getattr(col, "codes", col)
        b = getattr(other.columns[name], "codes", other.columns[name])
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_the_study_run_reorders_once_and_frees_the_file_order() -> None:
    """Identity: the cohort a study run builds for itself (study_rows, in memory) comes in
    canonical order, the rows of build_cohort(...).in_canonical_order(); ordering it again
    gives the same object (no second sort, no second copy)."""
    from survstudy.study import study_rows

    spec = load_spec(ROOT / "examples/gbsg/study.yaml")
    want = build_cohort(spec).in_canonical_order()
    assert want.canonical
    assert want.in_canonical_order() is want
    with study_rows(spec, "memory", {}) as (cohort, engine):
        assert engine is None
        assert cohort.canonical
        np.testing.assert_array_equal(cohort.rows, want.rows)
        assert cohort.in_canonical_order() is cohort


def test_hash_collisions_fall_back_to_the_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """Identity: if every row hashed alike, the order is the value order (column by column),
    still the same for any file order."""
    from survstudy.data import cohort as cohort_module

    cohort = build_cohort(load_spec(ROOT / "examples/gbsg/study.yaml"))
    monkeypatch.setattr(cohort_module, "_mix64", lambda x, scratch: x.fill(0))
    order = cohort.canonical_order()
    np.testing.assert_array_equal(order, np.lexsort(cohort._order_keys()[::-1]))
    rng = np.random.default_rng(0)
    perm = rng.permutation(cohort.n)
    shuffled = cohort.in_canonical_order()  # the permutation below must land in the same order
    again = type(cohort)(
        **{
            **{f: getattr(cohort, f) for f in cohort.__dataclass_fields__},
            "rows": cohort.rows[perm],
            "columns": {
                k: v.take(perm) if hasattr(v, "take") and hasattr(v, "codes") else v[perm]
                for k, v in cohort.columns.items()
            },
        }
    ).in_canonical_order()
    for name, col in shuffled.columns.items():
        a = getattr(col, "codes", col)
        b = getattr(again.columns[name], "codes", again.columns[name])
        np.testing.assert_array_equal(a, b, err_msg=name)

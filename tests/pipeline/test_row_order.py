"""Issue 16, item 5: the order of the rows in the data file does not matter.

Kind of truth: identity. The cohort is put in one canonical order (by its analysis
columns, :func:`survstudy.data.cohort.canonical_order`) before any sum, so the same
patients in another file order give byte-identical results; only the data file's hash
(a different file) and the spreadsheet rows that data-quality messages cite (they follow
the patients in the file) differ.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from survstudy.data import build_cohort
from survstudy.pipeline import run_study
from survstudy.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]


def _results_text(spec_path: Path) -> str:
    spec = load_spec(spec_path)
    out = run_study(spec, build_cohort(spec), profile="standard").to_dict()
    # messages cite spreadsheet rows, which move with the patients: keep only the codes
    out["data_quality"] = sorted(line.split("]")[0] for line in out["data_quality"])
    text = json.dumps(out, sort_keys=True, allow_nan=True)
    sha = build_cohort(spec).input_sha256
    assert sha in text  # the provenance names the file by its hash: the one allowed change
    return text.replace(sha, "<sha256>")


@pytest.mark.parametrize(("example", "data"), [("bclm", "bclm_raw.csv"), ("gbsg", "gbsg.csv")])
def test_shuffled_rows_give_identical_results(example: str, data: str, tmp_path: Path) -> None:
    """Identity: the example's rows shuffled (three seeds) give byte-identical results."""
    src = ROOT / "examples" / example
    base = _results_text(src / "study.yaml")
    header, *lines = (src / data).read_text(encoding="utf-8").splitlines(keepends=True)
    for seed in (1, 2, 3):
        folder = tmp_path / f"s{seed}"
        folder.mkdir()
        shutil.copy(src / "study.yaml", folder / "study.yaml")
        shuffled = list(lines)
        random.Random(seed).shuffle(shuffled)
        assert shuffled != lines
        (folder / data).write_text(header + "".join(shuffled), encoding="utf-8")
        assert _results_text(folder / "study.yaml") == base, seed

"""The two CSV readers give the same table (kind of truth: identity).

Small CSV files are read by the csv module (no pyarrow import: a 12-row quick command
stays fast), large ones column-wise by pyarrow.csv (``data.readers.ARROW_CSV_MIN_BYTES``).
Every CSV the tests ship — the bad-input cases, the examples, the R reference data —
is read both ways here, and the columns, spreadsheet rows, cells, decimal mark,
separator and any error must be identical.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from survstudy.data import readers
from survstudy.errors import SurvstudyError

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(
    {
        *(ROOT / "tests" / "bad_inputs" / "cases").rglob("*.csv"),
        *(ROOT / "examples").rglob("*.csv"),
        *(ROOT / "tests" / "reference" / "data").glob("*.csv"),
        *(ROOT / "src" / "survstudy" / "examples").rglob("*.csv"),
    }
)


def _read(path: Path, threshold: int, monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setattr(readers, "ARROW_CSV_MIN_BYTES", threshold)
    try:
        raw = readers.read_raw(path)
    except SurvstudyError as exc:
        return ("error", str(exc))
    return (
        raw.columns,
        raw.row_numbers.tolist(),
        raw.decimal,
        raw.separator,
        [tuple(None if v is None else str(v) for v in rec) for rec in raw.records],
    )


def test_files_found() -> None:
    assert len(FILES) > 40


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_both_readers_agree(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    arrow = _read(path, 0, monkeypatch)
    python = _read(path, 1 << 62, monkeypatch)
    assert arrow == python


@pytest.mark.parametrize("example", ["bclm", "gbsg"])
def test_cohort_is_the_same_from_either_reader(
    example: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The typing of Arrow text columns and of object text columns gives the same cohort
    (values, flow, data-quality report) on the shipped examples."""
    from survstudy.data import build_cohort
    from survstudy.spec import load_spec

    spec = load_spec(ROOT / "src" / "survstudy" / "examples" / example / "study.yaml")
    out = []
    for threshold in (0, 1 << 62):
        monkeypatch.setattr(readers, "ARROW_CSV_MIN_BYTES", threshold)
        c = build_cohort(spec, strict=False)
        out.append(
            (
                c.frame.to_csv(),
                [str(s) for s in c.flow],
                [str(i) for i in c.report.issues],
            )
        )
    assert out[0] == out[1]

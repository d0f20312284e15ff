"""Privacy: identifiers, names and dates never appear in validate's output or in error messages.

Kind of truth: property (planted unique strings must be absent from every output).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from survstudy.cli import main as cli_main
from survstudy.data import load_cohort
from survstudy.errors import DataError

NAMES = ["Zebulon Quixote-Marchetti", "Philippa Wrenfield-Okoro", "Anselm Vasquez-Tiberi"]
IDS = ["MRN-98431177", "MRN-98431177", "MRN-55120983"]  # a duplicate on purpose
CSV = (
    "mrn,full_name,birth,surgery,death,last_fu,age\n"
    f"{IDS[0]},{NAMES[0]},1967-04-23,03/04/2015,,2019-11-17,54\n"
    f"{IDS[1]},{NAMES[1]},1971-09-12,2016-02-29,2015-08-14,2018-07-03,61\n"
    f"{IDS[2]},{NAMES[2]},twelfth of May,2014-07-01,2018-10-09,2019-01-22,47\n"
)
PLANTED = [
    *NAMES,
    *IDS,
    "1967-04-23",
    "1971-09-12",
    "twelfth of May",
    "03/04/2015",
    "2015-04-03",
    "2015-03-04",
    "2016-02-29",
    "2015-08-14",
    "2018-10-09",
    "2019-11-17",
    "2018-07-03",
    "2019-01-22",
    "2014-07-01",
]
SPEC = """\
data: {path: data.csv, id: mrn}
variables:
  mrn: {type: identifier}
  full_name: {type: identifier}
  birth: {type: date}
  surgery: {type: date}
  death: {type: date}
  last_fu: {type: date}
  age: {type: continuous}
endpoints:
  OS: {start: surgery, events: death, censor: last_fu}
"""


@pytest.fixture
def study(tmp_path: Path) -> Path:
    (tmp_path / "data.csv").write_text(CSV)
    (tmp_path / "study.yaml").write_text(SPEC)
    return tmp_path / "study.yaml"


def _assert_clean(text: str) -> None:
    leaked = [s for s in PLANTED if s in text]
    assert leaked == []


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_validate_output_holds_no_identifier_or_date(
    study: Path,
    extra: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(cli_main, "_state", {"debug": False})
    with pytest.raises(SystemExit) as info:
        cli_main.main(["validate", str(study), *extra])
    assert info.value.code == 2
    out = capsys.readouterr()
    text = out.out + out.err
    # the planted problems were found ...
    for code in ("ID-DUPLICATE", "DATE-AMBIGUOUS", "DATE-UNPARSEABLE", "DEATH-BEFORE-SURGERY"):
        assert code in text
    # ... and reported by row and column only
    _assert_clean(text)


def test_error_message_and_frame_hold_no_identifier_or_date(study: Path) -> None:
    with pytest.raises(DataError) as info:
        load_cohort(study)
    _assert_clean(str(info.value))
    _assert_clean(repr(info.value.value))
    cohort = load_cohort(study, strict=False)
    _assert_clean(cohort.frame.to_csv())
    _assert_clean(repr(cohort.report.to_records()))


def test_a_date_typed_into_another_column_is_not_shown(tmp_path: Path) -> None:
    """A date in a numeric or category column is reported as '<a date>', never as itself."""
    (tmp_path / "d.csv").write_text("age,grade\n54,1\n1967-04-23,2\n61,23/04/1967\n")
    (tmp_path / "s.yaml").write_text(
        "data: {path: d.csv}\nvariables:\n  age: {type: continuous}\n"
        "  grade: {type: categorical, levels: ['1', '2']}\n"
    )
    cohort = load_cohort(tmp_path / "s.yaml", strict=False)
    text = "\n".join(cohort.report.lines())
    assert "'<a date>'" in text
    assert "1967" not in text

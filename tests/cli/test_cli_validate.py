"""``survstudy validate`` and ``survstudy schema`` end to end (in-process, as the console script)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from survstudy.cli import main as cli_main

CSV = (
    "id,surgery,death,last_fu,grade\n"
    "1,2015-01-10,,2018-05-01,1\n"
    "2,2016-02-11,2017-01-01,2017-01-01,3\n"
    "3,2009-07-01,,2015-06-30,2\n"
)
SPEC = """\
data: {path: data.csv, id: id}
variables:
  id: {type: identifier}
  surgery: {type: date}
  death: {type: date}
  last_fu: {type: date}
  grade: {type: categorical, levels: {I/II: [1, 2], III: [3]}}
endpoints:
  OS: {start: surgery, events: death, censor: last_fu}
population:
  - include: surgery >= date("2011-01-01")
    reason: Operated before 2011
"""


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    cli_main._state["debug"] = False
    with pytest.raises(SystemExit) as info:
        cli_main.main(args)
    out = capsys.readouterr()
    code = info.value.code if isinstance(info.value.code, int) else 0
    return code, out.out, out.err


@pytest.fixture
def study(tmp_path: Path) -> Path:
    (tmp_path / "data.csv").write_text(CSV)
    (tmp_path / "study.yaml").write_text(SPEC)
    return tmp_path / "study.yaml"


def test_validate_text(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Hand count: 3 rows, 1 operated before 2011, 1 death among the 2 included."""
    code, out, err = run(["validate", str(study)], capsys)
    assert code == 0
    assert err == ""
    assert "3 rows, 2 included" in out
    assert "  3 -> 2: 1 excluded (Operated before 2011)" in out
    assert "endpoint OS: 2 patients, 1 event" in out
    assert out.rstrip().endswith("0 error(s), 0 warning(s)")


def test_validate_json(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["validate", str(study), "--json"], capsys)
    assert code == 0
    payload = json.loads(out)
    assert payload["rows"] == 3
    assert payload["included"] == 2
    assert payload["endpoints"]["OS"] == {
        "n": 2,
        "events": 1,
        # issue 15 item 12: the unlabelled column last_fu in words, never the raw name
        "definition": "OS: from surgery to death; censored at last follow-up.",
    }
    assert [s["n_after"] for s in payload["flow"]] == [3, 2]
    assert payload["issues"] == []


def test_validate_exit_2_on_data_error(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (study.parent / "data.csv").write_text(CSV.replace("2,2016-02-11", "1,2016-02-11"))
    code, out, _ = run(["validate", str(study)], capsys)
    assert code == 2
    assert (
        "error: [ID-DUPLICATE] data.csv, rows 2, 3, column 'id': "
        "the same patient id appears on rows 2, 3; keep one row per patient"
    ) in out.splitlines()


def test_validate_exit_2_on_spec_error(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study.write_text(SPEC.replace("endpoints:", "endpoint:"))
    code, out, err = run(["validate", str(study)], capsys)
    assert code == 2
    assert out == ""
    assert err == (
        f"error: [SPEC-UNKNOWN-KEY] {study}:8, key 'endpoint': unknown key "
        "(did you mean 'endpoints'?)\n"
    )


def test_schema_command_matches_committed_file(capsys: pytest.CaptureFixture[str]) -> None:
    """Identity: `survstudy schema` prints docs/study-schema.json byte for byte."""
    committed = Path(__file__).resolve().parents[2] / "docs" / "study-schema.json"
    code, out, _ = run(["schema"], capsys)
    assert code == 0
    assert out == committed.read_text(encoding="utf-8")

"""Every bad input in ``cases/`` gives its exact expected message, the right exit code, no traceback.

Each folder holds a ``study.yaml`` (and usually a data file) and ``expected.txt``: the
first line ``exit: N``, then every ``error:``/``warning:`` line that
``survstudy validate study.yaml`` must print, in order and nothing else. The
expected lines were written by hand from the check catalogue and reviewed one by
one (kind of truth: hand-written specification of the message). Input files must
be byte-for-byte unchanged after the run.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from survstudy.cli import main as cli_main

CASES = Path(__file__).parent / "cases"
NAMES = sorted(p.name for p in CASES.iterdir() if p.is_dir())


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


def _expected(folder: Path) -> tuple[int, list[str]]:
    lines = (folder / "expected.txt").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("exit: ")
    return int(lines[0].removeprefix("exit: ")), [ln for ln in lines[1:] if ln]


def test_there_are_at_least_40_cases() -> None:
    assert len(NAMES) >= 40


@pytest.mark.parametrize("name", NAMES)
def test_bad_input_message(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = CASES / name
    exit_code, expected = _expected(folder)
    before = _hashes(folder)
    monkeypatch.chdir(folder)
    monkeypatch.setattr(cli_main, "_state", {"debug": False})
    with pytest.raises(SystemExit) as info:
        cli_main.main(["validate", "study.yaml"])
    code = info.value.code if isinstance(info.value.code, int) else 0
    out = capsys.readouterr()
    text = out.out + out.err
    got = [ln for ln in text.splitlines() if ln.startswith(("error: ", "warning: "))]
    assert "Traceback" not in text
    assert "internal error" not in text
    assert got == expected
    assert code == exit_code
    assert _hashes(folder) == before


@pytest.mark.parametrize(
    "name", ["data_event_code_unmapped", "spec_typo_top_key", "warn_id_missing"]
)
def test_bad_input_in_a_real_process(name: str) -> None:
    """The same messages and exit codes through the installed entry point (no traceback)."""
    folder = CASES / name
    exit_code, expected = _expected(folder)
    before = _hashes(folder)
    out = subprocess.run(
        [sys.executable, "-m", "survstudy", "validate", "study.yaml"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    text = out.stdout + out.stderr
    assert out.returncode == exit_code
    assert "Traceback" not in text
    assert [ln for ln in text.splitlines() if ln.startswith(("error: ", "warning: "))] == expected
    assert _hashes(folder) == before

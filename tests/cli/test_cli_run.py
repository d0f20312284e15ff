"""``survstudy run``: outputs, options, progress, determinism, refusing to overwrite inputs.

Kinds of truth: hand calculation (a 12-patient study small enough to count by hand),
identity (two runs give the same bytes), property (every table of the results appears in
the HTML and the DOCX).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from survstudy.cli import main as cli_main

# 12 patients: time in months, event, arm (A/B), age. Hand-countable:
# arm A: 6 patients, events at 2, 4, 6 (3 events); arm B: 6 patients, events at 8, 12 (2 events).
DATA = """pid,months,event,arm,age
p01,2,1,A,50
p02,4,1,A,61
p03,5,0,A,45
p04,6,1,A,70
p05,9,0,A,55
p06,14,0,A,66
p07,8,1,B,52
p08,10,0,B,48
p09,12,1,B,59
p10,15,0,B,63
p11,18,0,B,71
p12,20,0,B,44
"""

SPEC = """title: Tiny study
data: {path: tiny.csv, id: pid}
units: months
variables:
  pid: {type: identifier}
  arm: {type: categorical, label: Arm, levels: [A, B]}
  age: {type: continuous, label: Age, unit: years}
endpoints:
  OS: {label: Overall survival, time: months, time_unit: months, event: event}
analyses:
  table1: {variables: [age, arm]}
  survival: {endpoints: [OS], landmarks: [6, 12]}
  univariable: {endpoints: [OS], factors: [arm, {age: {per: 10}}]}
  km:
    - {endpoint: OS, by: arm}
"""


@pytest.fixture
def study(tmp_path: Path) -> Path:
    d = tmp_path / "study"
    d.mkdir()
    (d / "tiny.csv").write_text(DATA)
    (d / "study.yaml").write_text(SPEC)
    return d / "study.yaml"


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """``survstudy run ARGS`` in this process (one import of survstudy for all tests)."""

    def _run(*args: str) -> Result:
        capsys.readouterr()
        try:
            cli_main.main(["run", *args])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return _run


def test_run_writes_json_with_hand_counted_numbers(
    study: Path, tmp_path: Path, run: Callable[..., Result]
) -> None:
    """Hand calculation: 12 patients, 5 events; KM at 6 months = (11/12)(10/11)(8/9) = 20/27."""
    out = tmp_path / "out"
    res = run(str(study), "--out", str(out), "--formats", "json", "--quiet")
    assert res.returncode == 0, res.stderr
    assert res.stdout == ""
    assert res.stderr == ""
    data = json.loads((out / "results.json").read_text())
    ep = data["endpoints"]["OS"]
    assert (ep["n"], ep["events"]) == (12, 5)
    # at risk just before 2: 12; before 4: 11; before 6: 9 (5 censored at 5)
    s6 = (11 / 12) * (10 / 11) * (8 / 9)
    assert ep["at"][0]["time"] == 6
    assert ep["at"][0]["survival"] == pytest.approx(s6, rel=1e-12)
    assert ep["at"][0]["n_risk"] == 9
    assert data["time_unit"] == "months"
    assert (
        data["provenance"]["input_sha256"]
        == hashlib.sha256((study.parent / "tiny.csv").read_bytes()).hexdigest()
    )
    assert data["provenance"]["spec_sha256"] == hashlib.sha256(study.read_bytes()).hexdigest()
    rows = {(r["variable"], r["level"]): r for r in data["table1"]}
    assert rows[("arm", "A")]["text"] == "6 (50.0)"


def test_default_out_dir_is_next_to_the_spec(study: Path, run: Callable[..., Result]) -> None:
    """Property: without --out the report goes to out/ beside the spec."""
    res = run(str(study), "--formats", "json", "--quiet")
    assert res.returncode == 0, res.stderr
    assert (study.parent / "out" / "results.json").is_file()


def test_refuses_an_output_folder_holding_an_input(study: Path, run: Callable[..., Result]) -> None:
    """Property: --out pointing at the data's folder is refused with one error line, exit 2."""
    before = {p.name: p.read_bytes() for p in study.parent.iterdir()}
    res = run(str(study), "--out", str(study.parent))
    assert res.returncode == 2
    assert res.stderr.startswith("error: ")
    assert res.stderr.count("\n") == 1
    assert "Traceback" not in res.stderr
    assert {p.name: p.read_bytes() for p in study.parent.iterdir()} == before


def test_bad_profile_and_formats_are_user_errors(
    study: Path, tmp_path: Path, run: Callable[..., Result]
) -> None:
    """Property: unknown option values give one error line and exit 2."""
    res = run(str(study), "--out", str(tmp_path / "o"), "--profile", "sas")
    assert res.returncode == 2
    assert "profile" in res.stderr
    res = run(str(study), "--out", str(tmp_path / "o"), "--formats", "pdf")
    assert res.returncode == 2
    assert "format" in res.stderr


def test_spss_profile_labels_and_breslow_ties(
    study: Path, tmp_path: Path, run: Callable[..., Result]
) -> None:
    """Property: --profile spss switches ties to Breslow and names SPSS's tests."""
    out = tmp_path / "o"
    res = run(str(study), "--out", str(out), "--formats", "json", "--quiet", "--profile", "spss")
    assert res.returncode == 0, res.stderr
    data = json.loads((out / "results.json").read_text())
    assert data["profile"]["name"] == "spss"
    assert data["profile"]["ties"] == "breslow"
    labels = [t["label"] for t in data["km"][0]["tests"]]
    assert labels == ["Log Rank (Mantel-Cox)", "Breslow (Generalized Wilcoxon)"]
    assert data["endpoints"]["OS"]["median_rule"] == "spss"


def test_in_process_run_reports_missing_spec_as_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Property: a missing spec file is one error line and exit 2 (no traceback)."""
    with pytest.raises(SystemExit) as info:
        cli_main.main(["run", str(tmp_path / "nope.yaml")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "Traceback" not in err


def test_run_in_its_own_process_ends_without_teardown_and_writes_the_same(
    study: Path, tmp_path: Path, run: Callable[..., Result]
) -> None:
    """Property: ``survstudy run`` in its own process ends through ``end_now`` once its report
    is written (no interpreter teardown: ~0.5 s after a 10^6-row study); its printed lines and
    results.json are those of the same run inside this program (where ``end_now`` returns)."""
    import subprocess
    import sys

    code = (
        "import atexit, sys\n"
        "import survstudy._process as p, survstudy.cli.main as m\n"
        "atexit.register(lambda: print('exit handler'))\n"
        "real = p.end_now\n"
        "def end(): print('end_now'); real()\n"
        "p.end_now = end\n"
        f"sys.argv = ['survstudy', 'run', {str(study)!r}, '--out', {str(tmp_path / 'own')!r}, "
        "'--formats', 'json', '--jobs', '1']\n"
        "m.main()\n"
        "print('not reached')\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[-2:] == ["end_now", "exit handler"]
    here = run(str(study), "--out", str(tmp_path / "here"), "--formats", "json", "--jobs", "1")
    assert here.returncode == 0
    assert here.stdout.replace("here", "own").splitlines() == lines[:-2]
    own = (tmp_path / "own" / "results.json").read_bytes()
    assert own == (tmp_path / "here" / "results.json").read_bytes()

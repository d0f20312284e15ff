"""``survstudy.study.run_spec``: the one study run behind ``survstudy run``, ``demo`` and the app.

Kinds of truth: identity (the study run adds nothing to the pipeline's numbers: its
results equal ``run_study`` on the same cohort, and the CLI's results.json is the one it
writes), hand check (the files written, the refusals, the progress steps), and the front
ends are shown to go through it (a recorder in its place).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from survstudy.cli import main as cli_main
from survstudy.errors import SurvstudyError

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


def test_results_are_the_pipelines(study: Path) -> None:
    """Identity: run_spec on a path gives run_study's results on the same cohort, writes
    nothing without ``out``, and an already-built cohort gives the same results."""
    from survstudy.data import build_cohort
    from survstudy.pipeline import run_study
    from survstudy.spec import load_spec
    from survstudy.study import run_spec

    spec = load_spec(study)
    want = run_study(spec, build_cohort(spec)).to_dict()
    run = run_spec(study)
    assert run.results.to_dict() == want
    assert run.written == {}
    assert run.bundle is None
    assert run.out_dir is None
    assert sorted(p.name for p in study.parent.iterdir()) == ["study.yaml", "tiny.csv"]
    again = run_spec(spec, cohort=build_cohort(spec), profile="spss")
    assert again.results.to_dict() == run_study(spec, build_cohort(spec), profile="spss").to_dict()


def test_report_folder_and_progress(study: Path, tmp_path: Path) -> None:
    """Hand check: with ``out`` every format is written (files listed with their kind), the
    progress steps run from reading the data (0/7) to writing the report (6/7), and
    results.json holds the run's numbers."""
    from survstudy.study import run_spec

    steps: list[tuple[str, int, int]] = []
    out = tmp_path / "report"
    run = run_spec(study, out=out, progress=lambda *a: steps.append(a))
    kinds = set(run.written.values())
    assert kinds == {"html", "docx", "csv", "xlsx", "json", "figure"}
    assert all(p.parent in (out, out / "tables", out / "figures") for p in run.written)
    assert steps[0] == ("reading the data", 0, 7)
    assert steps[-1] == ("writing the report", 6, 7)
    assert [i for _w, i, _n in steps] == sorted(i for _w, i, _n in steps)
    body = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert body["n"] == 12
    assert body["endpoints"]["OS"]["events"] == 5  # 3 in arm A + 2 in arm B, by hand


def test_refuses_an_output_folder_holding_an_input(study: Path) -> None:
    """Hand check: the spec's own folder holds its inputs: refused before any work."""
    from survstudy.study import run_spec

    steps: list[Any] = []
    with pytest.raises(SurvstudyError) as exc:
        run_spec(study, out=study.parent, progress=lambda *a: steps.append(a))
    assert exc.value.code == "OUT-HOLDS-INPUT"
    assert steps == []


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """survstudy.study.run_spec replaced by a recorder that still runs the study."""
    import survstudy.study

    real = survstudy.study.run_spec
    calls: list[dict[str, Any]] = []

    def record(spec: Any, **kw: Any) -> Any:
        calls.append(kw)
        return real(spec, **kw)

    monkeypatch.setattr(survstudy.study, "run_spec", record)
    monkeypatch.setattr(cli_main, "_state", {"debug": False})
    return calls


def test_cli_run_goes_through_it(
    study: Path, tmp_path: Path, recorder: list[dict[str, Any]]
) -> None:
    """Identity: ``survstudy run`` is one run_spec call with its options."""
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        cli_main.main(["run", str(study), "--out", str(out), "--quiet", "--formats", "json"])
    assert exc.value.code == 0
    assert len(recorder) == 1
    assert recorder[0]["out"] == out
    assert recorder[0]["formats"] == ("json",)
    assert recorder[0]["engine"] == "memory"


def test_demo_goes_through_it(tmp_path: Path, recorder: list[dict[str, Any]]) -> None:
    """Identity: ``survstudy demo`` is one run_spec call writing DIR/out."""
    with pytest.raises(SystemExit) as exc:
        cli_main.main(["demo", "bclm", "--out", str(tmp_path / "demo")])
    assert exc.value.code == 0
    assert len(recorder) == 1
    assert recorder[0]["out"] == tmp_path / "demo" / "out"

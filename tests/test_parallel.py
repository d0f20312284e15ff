"""``survstudy._parallel`` and the study run on two processes.

Kinds of truth: hand check (which process ran a function, what a failing child gives
back: the parent's own run of the function, as the module promises) and identity (a
study run with two jobs writes the same bytes as with one: results, tables, figures,
documents; the warnings in the order a run one after the other gives).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from survstudy import _parallel
from survstudy._parallel import Beside, jobs_for, share
from survstudy.pipeline.context import Warnings
from survstudy.stats import StatWarning

ROOT = Path(__file__).resolve().parents[1]
needs_fork = pytest.mark.skipif(not _parallel.can_fork(), reason="forks on Linux only")


@needs_fork
def test_beside_runs_in_a_child_and_returns_its_value() -> None:
    me = os.getpid()
    b = Beside(lambda: (os.getpid(), [1.5, "x"]))
    assert b.forked
    pid, value = b.result()
    assert pid != me
    assert value == [1.5, "x"]


def test_beside_without_run_calls_here() -> None:
    b = Beside(os.getpid, run=False)
    assert not b.forked
    assert b.result() == os.getpid()


@needs_fork
def test_a_failing_child_gives_the_parents_own_result_or_error() -> None:
    me = os.getpid()

    def dies() -> str:
        if os.getpid() != me:
            os._exit(3)  # killed, as by the system
        return "here"

    assert Beside(dies).result() == "here"

    def raises() -> None:
        raise ValueError(f"bad value in process {os.getpid() == me}")

    with pytest.raises(ValueError, match="bad value in process True"):
        Beside(raises).result()  # the traceback is the parent's own run

    def unpicklable() -> object:
        return (lambda: 1) if os.getpid() != me else "here"

    assert Beside(unpicklable).result() == "here"


@needs_fork
def test_share_gives_values_in_task_order_from_two_processes() -> None:
    import time

    def task(i: int) -> tuple[int, int]:
        time.sleep(0.05)
        return i * i, os.getpid()

    got = share([lambda i=i: task(i) for i in range(8)], order=[7, 6, 5, 4, 3, 2, 1, 0])
    assert [v for v, _ in got] == [i * i for i in range(8)]
    assert len({pid for _, pid in got}) == 2  # both processes took tasks
    one = share([lambda i=i: task(i) for i in range(3)], jobs=1)
    assert {pid for _, pid in one} == {os.getpid()}


@needs_fork
def test_share_runs_here_what_the_child_did_not_deliver() -> None:
    import time

    me = os.getpid()

    def task(i: int) -> int:
        time.sleep(0.02)
        if os.getpid() != me and i == 1:
            raise RuntimeError("child fails")
        return i + 100

    assert share([lambda i=i: task(i) for i in range(6)]) == [100 + i for i in range(6)]
    with pytest.raises(KeyError):
        share([lambda: 1, lambda: {}["missing"]], jobs=2)


def test_jobs_for() -> None:
    assert jobs_for(1) == 1
    assert jobs_for(0) == 1
    # a program that imports survstudy (this test) computes in one process by default
    assert jobs_for(None) == 1
    if _parallel.can_fork():
        assert jobs_for(2) == 2


def test_replayed_warnings_are_the_one_after_the_other_order() -> None:
    """Hand check: analysis A then B on one collector equals what the study run does with
    two processes: A recorded on an empty collector, B recorded on the one collector, then
    A's log and B's log replayed after the warnings before both (a repeated ``add`` kept
    once, ``add_stat`` always)."""

    def a(w: Warnings) -> None:
        w.add("X", "shared message", "univariable")
        w.add_stat(StatWarning("S", "fit note", {}), "univariable")

    def b(w: Warnings) -> None:
        w.add("X", "shared message", "univariable")  # the same warning as A's: once
        w.add("Y", "own message", "multivariable")
        w.add_stat(StatWarning("S", "fit note", {}), "univariable")  # kept again

    seq = Warnings()
    seq.add("E", "before", "survival")
    a(seq)
    b(seq)

    par = Warnings()
    par.add("E", "before", "survival")
    side = Warnings()
    with side.recording() as alog:
        a(side)
    before = list(par.items)
    with par.recording() as blog:
        b(par)
    par.items[:] = before
    par.replay(alog)
    par.replay(blog)
    assert par.items == seq.items
    assert [w.code for w in seq.items] == ["E", "X", "S", "Y", "S"]


@needs_fork
@pytest.mark.parametrize("example", ["gbsg"])
def test_a_study_run_on_two_processes_writes_the_same_files(example: str, tmp_path: Path) -> None:
    """Identity: every output file of the example (results, tables, documents, figures)
    is byte-identical with one job and with two."""
    from survstudy.study import run_spec

    src = ROOT / "examples" / example
    work = tmp_path / example
    shutil.copytree(src, work, ignore=shutil.ignore_patterns("out"))
    one = run_spec(work / "study.yaml", out=tmp_path / "one", jobs=1)
    two = run_spec(work / "study.yaml", out=tmp_path / "two", jobs=2)
    files = sorted(p.relative_to(tmp_path / "one") for p in one.written)
    assert files == sorted(p.relative_to(tmp_path / "two") for p in two.written)
    assert len(files) > 10
    for rel in files:
        assert (tmp_path / "one" / rel).read_bytes() == (tmp_path / "two" / rel).read_bytes(), rel
    assert one.results.to_dict() == two.results.to_dict()
    assert list(one.written.values()) == list(two.written.values())


@needs_fork
@pytest.mark.parametrize("jobs", [1, 2])
def test_the_first_error_of_a_run_one_after_the_other_is_raised(
    jobs: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Hand check: when the univariable tables and the multivariable models both fail,
    the univariable tables' error is raised (they come first), with one job or two; when
    only the multivariable models fail, theirs."""
    import survstudy.pipeline.run as run_mod
    from survstudy.study import run_spec

    work = tmp_path / "gbsg"
    shutil.copytree(ROOT / "examples" / "gbsg", work, ignore=shutil.ignore_patterns("out"))

    def fails(what: str):  # type: ignore[no-untyped-def]
        def f(ctx):  # type: ignore[no-untyped-def]
            raise ValueError(what)

        return f

    monkeypatch.setattr(run_mod, "multivariable_models", fails("multivariable"))
    with pytest.raises(ValueError, match=r"^multivariable$"):
        run_spec(work / "study.yaml", jobs=jobs)
    monkeypatch.setattr(run_mod, "univariable_tables", fails("univariable"))
    with pytest.raises(ValueError, match=r"^univariable$"):
        run_spec(work / "study.yaml", jobs=jobs)


@needs_fork
def test_an_interrupted_run_computes_nothing_more(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Hand check: Ctrl-C during the multivariable models (KeyboardInterrupt) stops the
    second process and is raised at once; the univariable tables are not computed again
    in this process."""
    import survstudy.pipeline.run as run_mod
    from survstudy.study import run_spec

    work = tmp_path / "gbsg"
    shutil.copytree(ROOT / "examples" / "gbsg", work, ignore=shutil.ignore_patterns("out"))
    me = os.getpid()
    here: list[int] = []
    real = run_mod.univariable_tables

    def uni(ctx):  # type: ignore[no-untyped-def]
        if os.getpid() == me:
            here.append(1)
        return real(ctx)

    def interrupted(ctx):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(run_mod, "univariable_tables", uni)
    monkeypatch.setattr(run_mod, "multivariable_models", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_spec(work / "study.yaml", jobs=2)
    assert here == []


def test_work_left_for_a_wait_runs_while_a_child_computes(tmp_path: Path) -> None:
    """`when_waiting`: the parent runs the pending work when it waits for a child that has not
    finished (here one sleeping 1 s), once, and a forked child never runs it (it would repeat
    the parent's work): the marker file is written by the parent alone, before the child's
    value arrives."""
    if not _parallel.can_fork():
        pytest.skip("forking is Linux-only")
    import time

    marks = tmp_path / "marks"

    def note() -> None:
        with marks.open("a") as fh:
            fh.write(f"{os.getpid()}\n")

    def child() -> int:
        _parallel._while_waiting()  # what a nested wait in the child would do
        time.sleep(1.0)
        return os.getpid()

    _parallel.when_waiting(note)
    side = _parallel.Beside(child)
    assert side.forked
    child_pid = side.result()
    assert child_pid != os.getpid()
    assert marks.read_text().split() == [str(os.getpid())]
    assert _parallel._WAITING == []
    side2 = _parallel.Beside(lambda: 1)
    assert side2.result() == 1
    assert marks.read_text().split() == [str(os.getpid())]  # ran once only

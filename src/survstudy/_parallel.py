"""Work beside the main process: the independent parts of a study run on a second core.

A study run has parts that share their inputs but not their work: the univariable tables
and the multivariable models read the same cohort, and each report figure is drawn and
saved on its own. :class:`Beside` runs a function in a forked child process while the
parent goes on; the child inherits the parent's memory (the cohort is not copied: the
kernel shares its pages until one side writes them) and sends back only its result,
pickled through a pipe.

Forking is used only where it is safe and pays:

* on Linux (``os.fork`` elsewhere is either absent or, on macOS, unsafe with the
  system's frameworks);
* when the caller asks for more than one job (:func:`jobs_for`): the command line's
  own process does by default (``survstudy run --jobs``), a program that imports
  survstudy (tests, a notebook, the web app, whose server has threads) only when it
  passes ``jobs``;
* with at least two CPUs this process may use.

Whatever goes wrong in the child — an exception, a result that does not pickle, a child
killed by the system — :meth:`Beside.result` runs the function again in the parent, so
the caller gets exactly what a run without a second process gives: the same value or
the same exception, with its original traceback.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sys
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from survstudy import _process

__all__ = ["Beside", "can_fork", "jobs_for", "share", "usable_cpus", "when_waiting"]

T = TypeVar("T")

# work this process will need later and may do while it waits for a child (when_waiting)
_WAITING: list[Callable[[], object]] = []


def when_waiting(fn: Callable[[], object]) -> None:
    """Run ``fn`` the next time this process waits for a child's result
    (:meth:`Beside.result` while the child still computes), instead of leaving the core
    idle; the caller does the same work itself later if no wait came (``fn`` must be
    idempotent: a warm-up such as importing the figure backends, whose errors are left
    to the real use). Forked children do not inherit the pending work; work already pending
    is not added twice."""
    if fn not in _WAITING:
        _WAITING.append(fn)


def _while_waiting() -> None:
    if _WAITING:
        # the work adds to this process's memory: the free pages go back first
        _process.release_freed_memory()
    while _WAITING:
        fn = _WAITING.pop(0)
        with contextlib.suppress(Exception):
            fn()


def can_fork() -> bool:
    """Whether this platform forks safely (Linux)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask; ``os.cpu_count`` elsewhere)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def jobs_for(jobs: int | None) -> int:
    """The number of processes a study run uses: ``jobs`` when given (at least 1), else 2
    when this process is the command line's own (:func:`survstudy._process.is_own`) and
    may use two CPUs, else 1; 1 wherever forking is not safe (:func:`can_fork`)."""
    if not can_fork():
        return 1
    if jobs is not None:
        return max(1, int(jobs))
    from survstudy._process import is_own

    return 2 if is_own() and usable_cpus() >= 2 else 1


class Beside(Generic[T]):
    """``fn()`` started in a forked child; :meth:`result` waits for its value.

    With ``run=False`` nothing is forked and :meth:`result` calls ``fn`` in the caller
    (the one-process run; the caller's code stays the same either way). ``fallback``
    (default ``fn``) is what :meth:`result` calls here when the child fails.
    """

    def __init__(
        self, fn: Callable[[], T], *, run: bool = True, fallback: Callable[[], T] | None = None
    ) -> None:
        self._fn = fn
        self._fallback = fn if fallback is None else fallback
        self._pid = 0
        self._fd = -1
        if not run:
            return
        try:
            r, w = os.pipe()
        except OSError:
            return
        # the child inherits (and counts) the parent's resident pages: free ones go first
        _process.release_freed_memory()
        # nothing buffered in the parent's streams may be written twice
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                stream.flush()
        try:
            pid = os.fork()
        except OSError:
            os.close(r)
            os.close(w)
            return
        if pid == 0:  # pragma: no cover - the child leaves through os._exit
            os.close(r)
            code = 1
            try:
                _reset_signals()
                _WAITING.clear()
                data = pickle.dumps(fn(), protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(w, "wb") as fh:
                    fh.write(data)
                code = 0
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(w)
        self._pid, self._fd = pid, r

    @property
    def forked(self) -> bool:
        """Whether ``fn`` runs in a child process."""
        return self._pid > 0

    def result(self) -> T:
        """The child's value; on any failure of the child, ``fn()`` run here."""
        if self._pid <= 0:
            return self._fn()
        pid, fd = self._pid, self._fd
        self._pid, self._fd = 0, -1
        if _WAITING and not _done(pid):
            _while_waiting()
        try:
            with os.fdopen(fd, "rb") as fh:
                data = fh.read()
        finally:
            _, status = os.waitpid(pid, 0)
        if status == 0 and data:
            try:
                return pickle.loads(data)
            except Exception:
                pass
        return self._fallback()

    def cancel(self) -> None:
        """Stop the child (the caller failed and will not ask for its result)."""
        if self._pid <= 0:
            return
        import signal

        pid, fd = self._pid, self._fd
        self._pid, self._fd = 0, -1
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)


def share(
    tasks: Sequence[Callable[[], T]], *, order: Sequence[int] | None = None, jobs: int = 2
) -> list[T]:
    """Each task's value, in task order, the tasks shared between this process and a forked
    child (``jobs`` ≥ 2; 1 runs them here in ``order``). Both take the next task from one
    queue in ``order`` (heaviest first shortens the run), so neither waits while work is
    left. Tasks the child did not deliver (it failed or was killed) are run here."""
    idx = list(range(len(tasks))) if order is None else [int(i) for i in order]
    done: dict[int, T] = {}
    if jobs < 2 or len(idx) < 2 or len(idx) * 4 > 4096 or not can_fork():
        for i in idx:
            done[i] = tasks[i]()
        return [done[i] if i in done else tasks[i]() for i in range(len(tasks))]
    qr, qw = os.pipe()
    # the whole queue is written before the fork, in 4-byte records (one pipe write, below
    # PIPE_BUF: atomic); each 4-byte read then takes exactly one task
    os.write(qw, b"".join(i.to_bytes(4, "little") for i in idx))
    os.close(qw)

    def take() -> int | None:
        b = os.read(qr, 4)
        return int.from_bytes(b, "little") if len(b) == 4 else None

    def child() -> dict[int, T]:
        mine: dict[int, T] = {}
        while (i := take()) is not None:
            mine[i] = tasks[i]()
        return mine

    other: Beside[dict[int, T]] = Beside(child, fallback=dict)
    try:
        if other.forked:
            while (j := take()) is not None:
                done[j] = tasks[j]()
    except BaseException:
        other.cancel()
        raise
    finally:
        os.close(qr)
    if other.forked:
        done.update(other.result())
    return [done[i] if i in done else tasks[i]() for i in range(len(tasks))]


def _done(pid: int) -> bool:
    """Whether child ``pid`` has ended (it is not reaped here)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except (OSError, AttributeError):
        return True


def _reset_signals() -> None:  # pragma: no cover - runs in the child
    """The child does not run the parent's handlers (a server's clean-up on SIGTERM)."""
    import signal

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        with contextlib.suppress(OSError, ValueError):
            signal.signal(sig, signal.SIG_DFL)

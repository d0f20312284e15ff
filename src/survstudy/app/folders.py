"""The app's private data folder: created per run, deleted on every way of stopping.

An upload is patient data, so its folder must not outlive the app. It is deleted

* on Ctrl+C (SIGINT) and on SIGTERM (``kill``, a service manager) and SIGHUP (a closed
  terminal): the signal asks the server to stop, and the folder is removed on the way
  out (uvicorn handles SIGINT/SIGTERM itself and re-raises them once it has stopped;
  the handlers here turn the re-raised signal into a normal exit instead of the
  default immediate termination that skipped the clean-up);
* at interpreter exit, as a second line (``atexit``);
* at the next start, when the process was killed in a way no program can catch (SIGKILL,
  a crash, a power cut): every folder carries an owner file with the process id and its
  start time, and :func:`remove_abandoned` deletes the folders whose owner is gone.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

__all__ = ["PREFIX", "DataFolder", "remove_abandoned"]

PREFIX = "survstudy-app-"
_OWNER = ".survstudy-app-owner"
# folders of older versions carry no owner file: removed only when untouched this long
_ORPHAN_AGE = 24 * 3600.0
_STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def _start_time(pid: int) -> str | None:
    """The process's start time (Linux /proc), to tell a reused process id apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # the command name (field 2) may hold spaces: fields after the last ')' are safe
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def _alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process with that id: leave its folder alone
    if started is None:
        return True
    now = _start_time(pid)
    return now is None or now == started


def remove_abandoned(base: str | os.PathLike[str] | None = None) -> int:
    """Delete the data folders of app processes that no longer run; return how many."""
    root = Path(base if base is not None else tempfile.gettempdir())
    removed = 0
    try:
        candidates = [p for p in root.iterdir() if p.name.startswith(PREFIX) and p.is_dir()]
    except OSError:
        return 0
    uid = os.getuid() if hasattr(os, "getuid") else None
    for folder in candidates:
        try:
            st = folder.stat()
        except OSError:
            continue
        if uid is not None and st.st_uid != uid:
            continue
        owner = folder / _OWNER
        stale = False
        try:
            pid_text, _, started = owner.read_text(encoding="ascii").partition(" ")
            stale = not _alive(int(pid_text), started.strip() or None)
        except FileNotFoundError:
            stale = time.time() - st.st_mtime > _ORPHAN_AGE
        except (OSError, ValueError):
            stale = False
        if stale:
            shutil.rmtree(folder, ignore_errors=True)
            removed += not folder.exists()
    return removed


class DataFolder:
    """A private temporary folder, removed when the block ends, at exit, or on a stop signal."""

    def __init__(self, base: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=PREFIX, dir=base))
        pid = os.getpid()
        (self.path / _OWNER).write_text(f"{pid} {_start_time(pid) or ''}", encoding="ascii")
        self._stop: Callable[[], None] | None = None
        self._previous: dict[int, Any] = {}
        self._running = False
        atexit.register(self.remove)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def on_stop_signal(self, stop: Callable[[], None]) -> None:
        """While the block runs, SIGTERM/SIGHUP call ``stop`` (a graceful shutdown)."""
        self._stop = stop

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self._running and self._stop is not None:
            self._running = False
            self._stop()
            return
        # after the server stopped (uvicorn re-raises the signal it handled) or before it
        # ran: leave through the normal exit path, so the folder is removed
        raise SystemExit(128 + signum)

    def __enter__(self) -> DataFolder:
        for sig in _STOP_SIGNALS:
            with contextlib.suppress(ValueError, OSError):  # not the main thread
                self._previous[sig] = signal.signal(sig, self._handle)
        self._running = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._running = False
        self.remove()
        atexit.unregister(self.remove)
        for sig, prev in self._previous.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, prev)
        sys.stderr.flush()

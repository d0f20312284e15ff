"""The app's data folder rules (survstudy.app.folders), in process: owner file, removal of
folders whose owner is gone, and of owner-less (older) folders only when old."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from survstudy.app.folders import PREFIX, DataFolder, remove_abandoned


def test_owner_file_and_removal_on_exit(tmp_path: Path) -> None:
    with DataFolder(tmp_path) as f:
        owner = (f.path / ".survstudy-app-owner").read_text(encoding="ascii")
        assert owner.split()[0] == str(os.getpid())
        assert remove_abandoned(tmp_path) == 0  # this process still runs
    assert not f.path.exists()


def test_dead_owner_folder_is_removed(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(dead.stdout)
    stale = tmp_path / f"{PREFIX}abc"
    stale.mkdir()
    (stale / ".survstudy-app-owner").write_text(f"{pid} 1", encoding="ascii")
    (stale / "upload-1.csv").write_text("x", encoding="utf-8")
    other = tmp_path / "unrelated"
    other.mkdir()
    assert remove_abandoned(tmp_path) == 1
    assert not stale.exists()
    assert other.exists()


def test_ownerless_folder_removed_only_when_old(tmp_path: Path) -> None:
    young = tmp_path / f"{PREFIX}young"
    old = tmp_path / f"{PREFIX}old"
    young.mkdir()
    old.mkdir()
    past = time.time() - 2 * 24 * 3600
    os.utime(old, (past, past))
    assert remove_abandoned(tmp_path) == 1
    assert young.exists()
    assert not old.exists()

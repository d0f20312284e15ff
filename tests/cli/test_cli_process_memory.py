"""A command in its own process keeps freed large blocks for reuse (glibc ``mallopt``).

Kind of truth: property. Called inside another program (tests, ``main([...])``), the CLI
changes nothing process-wide; in a process of its own on Linux/glibc the allocator
settings are made (``mallopt`` reports success).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from survstudy import _process


def test_not_inside_another_program() -> None:
    """Property: without :func:`claim` (this test process), nothing is changed."""
    assert not _process.is_own()
    assert _process.keep_freed_memory() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_own_process_sets_the_allocator() -> None:
    """Property: a process that claimed itself gets the settings (mallopt returns 1)."""
    code = "from survstudy import _process; _process.claim(); print(_process.keep_freed_memory())"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "True"


def _blas_env(code: str, **env: str) -> str:
    import os

    base = {
        k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**base, **env},
    ).stdout.strip()


def test_run_in_its_own_process_has_one_blas_thread() -> None:
    """Property: ``survstudy run`` as its own process sets one BLAS thread before numpy is
    imported (a missing spec still gets that far); another command does not; a thread
    count the user set is kept; inside another program nothing is changed."""
    code = (
        "import os, sys\n"
        "sys.argv = ['survstudy', {cmd!r}, 'missing.yaml']\n"
        "from survstudy.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(os.environ.get('OPENBLAS_NUM_THREADS'), os.environ.get('MKL_NUM_THREADS'))"
    )
    assert _blas_env(code.format(cmd="run")) == "1 1"
    assert _blas_env(code.format(cmd="validate")) == "None None"
    assert _blas_env(code.format(cmd="run"), OPENBLAS_NUM_THREADS="3") == "3 None"
    assert _process.single_threaded_blas() is False  # this test process is not its own

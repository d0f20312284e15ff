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

"""A command in its own process keeps freed large blocks for reuse (glibc ``mallopt``).

Kind of truth: property. Called inside another program (tests, ``main([...])``), the CLI
changes nothing process-wide; in a process of its own on Linux/glibc the allocator
settings are made (``mallopt`` reports success).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from survstudy import _process

_SETTINGS = (
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMPY_MADVISE_HUGEPAGE",
    "ARROW_DEFAULT_MEMORY_POOL",
)


def _python(code: str, **env: str) -> str:
    """stdout of ``python -c code`` with none of the process settings in its environment
    but ``env``."""
    base = {k: v for k, v in os.environ.items() if k not in _SETTINGS}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**base, **env},
    ).stdout


def test_not_inside_another_program() -> None:
    """Property: without :func:`claim` (this test process), nothing is changed."""
    assert not _process.is_own()
    assert _process.keep_freed_memory() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt")
def test_own_process_sets_the_allocator() -> None:
    """Property: a process that claimed itself gets the settings (mallopt returns 1)."""
    code = "from survstudy import _process; _process.claim(); print(_process.keep_freed_memory())"
    out = _python(code)
    assert out.strip() == "True"


def test_run_in_its_own_process_has_one_blas_thread() -> None:
    """Property: ``survstudy run`` as its own process sets one BLAS thread before numpy is
    imported (a missing spec still gets that far); another command does not; a thread
    count the user set is kept; inside another program nothing is changed."""
    code = (
        "import os, sys\n"
        "sys.argv = ['survstudy', {cmd!r}, 'missing.yaml']\n"
        "from survstudy.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(os.environ.get('OPENBLAS_NUM_THREADS'), os.environ.get('MKL_NUM_THREADS'),"
        " os.environ.get('NUMPY_MADVISE_HUGEPAGE'))"
    )
    assert _python(code.format(cmd="run")).strip() == "1 1 0"
    assert _python(code.format(cmd="demo")).strip() == "1 1 0"
    assert _python(code.format(cmd="validate")).strip() == "None None None"
    assert _python(code.format(cmd="run"), OPENBLAS_NUM_THREADS="3").strip() == "3 None 0"
    assert _process.single_threaded_blas() is False  # this test process is not its own


def test_blas_and_end_now_change_nothing_inside_another_program() -> None:
    """Property: without :func:`claim`, neither the BLAS threads nor the exit are touched
    (``end_now`` returns, so this test goes on)."""
    assert _process.single_threaded_blas() is False
    assert _process.no_cycle_collection() is False
    assert _process.small_pages_for_numpy() is False
    import gc

    assert gc.isenabled()
    _process.end_now()


def test_own_process_blas_setting_before_numpy_only() -> None:
    """Property: OpenBLAS gets one thread only in a claimed process, before NumPy is
    imported, and never against the user's own setting."""
    code = (
        "import os; from survstudy import _process; _process.claim()\n"
        "first = _process.single_threaded_blas()\n"
        "print(first, os.environ.get('OPENBLAS_NUM_THREADS'))\n"
        "import numpy; os.environ.pop('OPENBLAS_NUM_THREADS')\n"
        "print(_process.single_threaded_blas())\n"
    )
    out = _python(code).split("\n")
    assert out[:2] == ["True 1", "False"]
    code2 = (
        "import os; from survstudy import _process; _process.claim()\n"
        "print(_process.single_threaded_blas(), os.environ['OPENBLAS_NUM_THREADS'])\n"
    )
    out2 = _python(code2, OPENBLAS_NUM_THREADS="2")
    assert out2.strip() == "False 2"


def test_own_process_end_now_writes_everything_and_runs_exit_handlers() -> None:
    """Property: ``end_now`` in a claimed process ends it with status 0 after the exit
    handlers ran and the buffered output was written; nothing after it runs."""
    code = (
        "import atexit, sys; from survstudy import _process; _process.claim()\n"
        "atexit.register(lambda: print('handler'))\n"
        "sys.stdout.write('x' * 100000)\n"
        "sys.stdout.write('\\nend\\n')\n"
        "_process.end_now()\n"
        "print('after')\n"
        "raise SystemExit(3)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0
    assert res.stdout == "x" * 100000 + "\nend\nhandler\n"


def test_own_process_cycle_collector_off() -> None:
    """Property: a claimed process gets the cyclic collector switched off."""
    code = (
        "import gc; from survstudy import _process; _process.claim()\n"
        "print(gc.isenabled(), _process.no_cycle_collection(), gc.isenabled())\n"
    )
    out = _python(code)
    assert out.strip() == "True True False"


def test_own_process_fewer_collections() -> None:
    """Property: a claimed process gets the young generation's threshold raised to 50 000;
    inside another program nothing changes (the thresholds stay Python's own)."""
    import gc

    before = gc.get_threshold()
    assert _process.fewer_collections() is False
    assert gc.get_threshold() == before
    code = (
        "import gc; from survstudy import _process; _process.claim()\n"
        "print(gc.get_threshold(), _process.fewer_collections(), gc.get_threshold())\n"
    )
    assert _python(code).strip() == f"{before} True (50000, 20, 100)"


def test_own_process_numpy_small_pages_before_numpy_only() -> None:
    """Property: NumPy's huge-page advice is switched off only in a claimed process,
    before NumPy is imported, never against the user's own setting; NumPy sees it."""
    code = (
        "import os; from survstudy import _process; _process.claim()\n"
        "print(_process.small_pages_for_numpy(), os.environ.get('NUMPY_MADVISE_HUGEPAGE'))\n"
        "import numpy; from numpy._core.multiarray import _get_madvise_hugepage\n"
        "print(_get_madvise_hugepage(), _process.small_pages_for_numpy())\n"
    )
    out = _python(code).split("\n")
    assert out[:2] == ["True 0", "False False"]
    code2 = (
        "import os; from survstudy import _process; _process.claim()\n"
        "print(_process.small_pages_for_numpy(), os.environ['NUMPY_MADVISE_HUGEPAGE'])\n"
    )
    out2 = _python(code2, NUMPY_MADVISE_HUGEPAGE="1")
    assert out2.strip() == "False 1"


def test_own_process_system_arrow_pool_before_pyarrow_only() -> None:
    """Property: pyarrow gets the system allocator only in a claimed process, before
    pyarrow is imported, never against the user's own setting; pyarrow uses it."""
    code = (
        "import os; from survstudy import _process; _process.claim()\n"
        "print(_process.system_arrow_pool(), os.environ.get('ARROW_DEFAULT_MEMORY_POOL'))\n"
        "import pyarrow as pa\n"
        "print(pa.default_memory_pool().backend_name, _process.system_arrow_pool())\n"
    )
    out = _python(code).split("\n")
    assert out[:2] == ["True system", "system False"]
    out2 = _python(code, ARROW_DEFAULT_MEMORY_POOL="mimalloc").split("\n")
    assert out2[:2] == ["False mimalloc", "mimalloc False"]
    assert _process.system_arrow_pool() is False  # this test process is not its own


def test_release_freed_memory_only_in_its_own_process() -> None:
    """Property: inside another program nothing is done; in a process of its own on
    glibc the heap's free pages go back to the system: after 200 MB of small arrays are
    built and freed, the resident memory falls by more than 100 MB."""
    assert _process.release_freed_memory() is False
    if not sys.platform.startswith("linux"):
        return
    code = (
        "from survstudy import _process\n"
        "_process.claim(); _process.keep_freed_memory()\n"
        "def rss():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmRSS'):\n"
        "            return int(line.split()[1]) // 1024\n"
        "import numpy as np\n"
        "keep = []\n"
        "arrs = []\n"
        "for i in range(50):\n"
        "    arrs.append(np.ones(500_000))\n"  # 4 MB each: below the mmap threshold, heap
        "    keep.append(np.ones(10))\n"  # small blocks between them: no free heap top
        "del arrs\n"
        "before = rss()\n"
        "ok = _process.release_freed_memory()\n"
        "print(ok, before - rss())\n"
    )
    ok, fell = _python(code).split()
    assert ok == "True"
    assert int(fell) > 100

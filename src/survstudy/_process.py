"""Whether the CLI runs as its own process (``survstudy ...``) or inside another program.

``main()`` called without arguments is the console script or ``python -m survstudy``:
the process is the command's alone, so process-wide settings that save time (pyarrow
told that pandas is absent, :func:`survstudy.data.readers.arrow_without_pandas`) are
safe. Called with an argument list (tests, other programs), the CLI changes nothing
process-wide.

:func:`keep_freed_memory` (a command on large arrays, in its own process): glibc's
allocator gives each array above a dynamic threshold its own ``mmap`` and returns it to
the system when freed, so every new temporary of a large computation is fresh memory
whose pages the kernel faults in and zeroes one by one — at 10^6 rows that system time
was a quarter of a Cox fit with its concordance. Raising the thresholds keeps freed
blocks in the heap for the next array of the same size.

:func:`release_freed_memory` (a study, ``run`` or ``demo``, in its own process, between its
phases): the freed blocks that :func:`keep_freed_memory` keeps (and glibc's heap in any
case: it returns only its free top) stay in the process's resident memory. After the
10^6-row registry cohort was built, 120-140 MB of its readers' temporaries were free
but resident; a process forked then (the study's second process, the figures' process)
counts them again. ``malloc_trim(0)`` hands the free pages back (~10 ms): it is called
once the cohort is built, before each fork, and before the report is drawn.

:func:`single_threaded_blas` (a command whose linear algebra is on matrices of a few
rows, in its own process, before NumPy is imported): OpenBLAS starts one worker thread
per core when NumPy loads, and the workers spin while the import goes on — on two cores
that doubled the CPU time of ``import numpy`` (~0.1 s) and, on a busy machine, took the
main thread's core. One thread starts none. ``survstudy run`` and ``demo`` also use it: a
study's linear algebra is many small products (a Cox fit's p x p information), where a
second BLAS thread only spins; ``run`` computes independent analyses in two processes
instead (:mod:`survstudy._parallel`), and the sums of one BLAS thread are the same
whatever the number of cores, so a study's numbers do not depend on the machine's.

:func:`small_pages_for_numpy` (a short command on arrays of 10^6 rows, in its own
process, before NumPy is imported): NumPy asks the kernel for transparent huge pages
(``madvise``) for every array above 4 MB. On the reference machine (a shared virtual
machine) getting a huge page sometimes cost a second of system time: of 60 runs of a
10^6-row ``survstudy cif``, 13 spent more than 0.2 s in the kernel with huge pages, 2
without (more page faults, 17k instead of 10k, at the same median time, 0.28-0.35 s).

:func:`system_arrow_pool` (any command, in its own process, before pyarrow is imported):
pyarrow's own allocator (mimalloc) took its memory from the system in a way that on the
reference machine (a shared virtual machine) sometimes cost most of a second of system
time: of 12 runs of a 10^6-row ``survstudy cif``, 6 spent more than 0.3 s in the kernel
with mimalloc (wall 0.25-1.29 s), none with the system allocator (0.27-0.40 s), which
also keeps freed blocks for reuse under :func:`keep_freed_memory`.

:func:`no_cycle_collection` (a short command on arrays, in its own process): the cyclic
garbage collector ran again and again while NumPy and pyarrow were imported (their
modules and types are many small objects) and found nothing to free; arrays and results
are freed by reference counting, which stays on. ~7 ms of a 10^6-row ``survstudy cif``.

:func:`fewer_collections` (a study, ``run`` or ``demo``, in its own process): the cyclic
collector ran ~670 times in a 10^6-row study (0.7 s: the imports' many small objects,
then matplotlib's artists), with its default thresholds (a young collection every 700
new objects). With 50 000 it ran 6 times (0.18 s); the peak memory was the same (a study
makes few reference cycles: the figures, collected as before, only later).

:func:`end_now` (a command that has written its output, in its own process): the
interpreter's teardown after NumPy and pyarrow are loaded (freeing every module, stopping
pyarrow's thread pools) took ~20 ms, which the operating system does at once when the
process ends.
"""

from __future__ import annotations

__all__ = [
    "claim",
    "end_now",
    "fewer_collections",
    "is_own",
    "keep_freed_memory",
    "no_cycle_collection",
    "release_freed_memory",
    "single_threaded_blas",
    "small_pages_for_numpy",
    "system_arrow_pool",
]

_OWN = [False]


def claim() -> None:
    """Mark the process as the command's own."""
    _OWN[0] = True


def is_own() -> bool:
    return _OWN[0]


# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3


def keep_freed_memory() -> bool:
    """In the command's own process on glibc: reuse freed large blocks (see above).

    Arrays up to 32 MB (glibc's ceiling for the mmap threshold) come from the heap, and
    the heap is trimmed only above 512 MB free. Returns whether the settings were made
    (``False`` inside another program, or without glibc).
    """
    if not is_own():
        return False
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, 32 << 20)
    ok &= mallopt(_M_TRIM_THRESHOLD, 512 << 20)
    ok &= mallopt(_M_TOP_PAD, 64 << 20)
    return bool(ok)


_LIBC: list[object] = []


def _libc() -> object | None:
    """glibc (``None`` elsewhere), loaded once."""
    if not _LIBC:
        import ctypes
        import sys

        lib: object | None = None
        if sys.platform.startswith("linux"):
            try:
                lib = ctypes.CDLL("libc.so.6")
                lib.malloc_trim  # noqa: B018 - glibc only (musl has no malloc_trim)
            except (OSError, AttributeError):
                lib = None
        _LIBC.append(lib)
    return _LIBC[0]


def release_freed_memory() -> bool:
    """In the command's own process on glibc: return the heap's free pages to the system
    (``malloc_trim(0)``; see above). Returns whether it was called (``False`` inside
    another program, or without glibc)."""
    if not is_own():
        return False
    lib = _libc()
    if lib is None:
        return False
    lib.malloc_trim(0)  # type: ignore[attr-defined]
    return True


def single_threaded_blas() -> bool:
    """In the command's own process, before numpy is imported: one BLAS thread, unless
    the user set the thread count (``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``).
    Returns whether it is in effect."""
    import os
    import sys

    if not is_own() or "numpy" in sys.modules:
        return False
    keys = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    if any(k in os.environ for k in keys):
        return False
    for k in keys:
        os.environ[k] = "1"
    return True


def end_now() -> None:
    """In the command's own process, once its output is written: run the exit handlers,
    flush stdout and stderr and end the process with status 0, skipping the interpreter's
    teardown (see above). Returns (the caller exits as usual) inside another program, or
    when a stream cannot be flushed (Python then reports it as at any exit)."""
    if not is_own():
        return
    import atexit
    import os
    import sys

    atexit._run_exitfuncs()
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        return
    os._exit(0)


def fewer_collections() -> bool:
    """In the command's own process: the cyclic collector's thresholds raised (see above).
    Returns whether they were."""
    if not is_own():
        return False
    import gc

    gc.set_threshold(50_000, 20, 100)
    return True


def no_cycle_collection() -> bool:
    """In the command's own process: the cyclic garbage collector off (see above).
    Returns whether it was switched off."""
    if not is_own():
        return False
    import gc

    gc.disable()
    return True


def small_pages_for_numpy() -> bool:
    """In the command's own process, before NumPy is imported and unless the user chose:
    no transparent huge pages for NumPy's arrays (``NUMPY_MADVISE_HUGEPAGE=0``; see
    above). Returns whether the setting was made."""
    import os
    import sys

    if not is_own() or "numpy" in sys.modules or "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return False
    os.environ["NUMPY_MADVISE_HUGEPAGE"] = "0"
    return True


def system_arrow_pool() -> bool:
    """In the command's own process, before pyarrow is imported and unless the user chose:
    pyarrow allocates with the system allocator (``ARROW_DEFAULT_MEMORY_POOL=system``; see
    above). Returns whether the setting was made."""
    import os
    import sys

    if not is_own() or "pyarrow" in sys.modules or "ARROW_DEFAULT_MEMORY_POOL" in os.environ:
        return False
    os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"
    return True

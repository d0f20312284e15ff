"""Whether the CLI runs as its own process (``survstudy ...``) or inside another program.

``main()`` called without arguments is the console script or ``python -m survstudy``:
the process is the command's alone, so process-wide settings that save time (pyarrow
told that pandas is absent, :func:`survstudy.data.readers.arrow_without_pandas`) are
safe. Called with an argument list (tests, other programs), the CLI changes nothing
process-wide.
"""

from __future__ import annotations

__all__ = ["claim", "is_own"]

_OWN = [False]


def claim() -> None:
    """Mark the process as the command's own."""
    _OWN[0] = True


def is_own() -> bool:
    return _OWN[0]

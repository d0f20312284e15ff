"""'Did you mean …?': the closest valid word for a misspelt key, column or name.

Its own module so that the loader and the cross-checks (:mod:`.checks`, which the
loader runs) can both use it without importing each other.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest"]


def closest(word: str, options: Iterable[str]) -> str | None:
    """The option most similar to ``word`` (for 'did you mean …?'), or ``None``."""
    opts = [str(o) for o in options]
    match = difflib.get_close_matches(word, opts, n=1, cutoff=0.6)
    if match:
        return match[0]
    lowered = {o.lower(): o for o in opts}
    return lowered.get(word.lower())

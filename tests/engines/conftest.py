"""Shared by the engine tests: comparing two results dictionaries number by number."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

RTOL = 1e-9


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Every difference between two JSON-like values (floats to RTOL)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}.{k}: only one side" for k in set(a) ^ set(b)]
        for k in set(a) & set(b):
            out += differences(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} vs {len(b)} items"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in differences(x, y, f"{path}[{i}]")
        ]
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        if a == b or (math.isnan(a) and math.isnan(float(b))):
            return []
        if abs(a - b) <= RTOL * max(abs(a), abs(b)):
            return []
        return [f"{path}: {a!r} vs {b!r}"]
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]


@pytest.fixture
def results_differences() -> Callable[[Any, Any], list[str]]:
    """:func:`differences` (floats to 1e-9 relative, everything else exactly)."""
    return differences

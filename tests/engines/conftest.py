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


# Issue 22's model checks need the patients' rows (refits on them): an engine run leaves them
# out — the spline test of non-linearity (rows' nonlinearity_p null, no NON-LINEAR notes), the
# β(t) plots and the stratified sensitivity model (a PH-SENSITIVITY-NOT-FITTED warning says
# why), and their methods sentences. Everything else must agree.
MEMORY_ONLY_WARNINGS = ("NON-LINEAR", "NONLINEARITY-NOT-TESTED", "PH-SENSITIVITY-NOT-FITTED")
NONLINEAR_NOTE = "spline test of non-linearity"
MEMORY_ONLY_SENTENCES = ("functional form", "Schoenfeld residuals")


def _without_memory_only(doc: dict[str, Any]) -> dict[str, Any]:
    out = dict(doc)

    def rows(rs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {k: v for k, v in r.items() if k != "nonlinearity_p"}
            | {"warnings": [w for w in r["warnings"] if NONLINEAR_NOTE not in w]}
            for r in rs
        ]

    out["univariable"] = {ep: rows(rs) for ep, rs in doc["univariable"].items()}
    out["multivariable"] = [
        {k: v for k, v in m.items() if k not in ("sensitivity", "ph_plots", "splines")}
        | {
            "rows": rows(m["rows"]),
            "warnings": [w for w in m["warnings"] if "sensitivity model" not in w],
        }
        for m in doc["multivariable"]
    ]
    out["warnings"] = [w for w in doc["warnings"] if w["code"] not in MEMORY_ONLY_WARNINGS]
    out["methods"] = dict(doc["methods"]) | {
        "sentences": [
            x for x in doc["methods"]["sentences"] if not any(m in x for m in MEMORY_ONLY_SENTENCES)
        ]
    }
    return out


@pytest.fixture
def without_memory_only() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """results.json without the checks an engine run leaves out (issue 22: spline test,
    β(t) plots, stratified sensitivity model and their sentences and warnings)."""
    return _without_memory_only

"""Shared loader for the R fixtures of tests/reference/km_logrank.R (R reference)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

REF = Path(__file__).resolve().parents[1] / "reference"


@cache
def fixtures() -> dict[str, Any]:
    with open(REF / "km_logrank.json", encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def arr(x: Any) -> np.ndarray:
    """R vector (scalar when length 1, null for NA) as a float array with NaN."""
    if not isinstance(x, list):
        x = [x]
    return np.array([np.nan if v is None else v for v in x], dtype=float)


def dataset(name: str) -> dict[str, np.ndarray]:
    import pandas as pd

    d = pd.read_csv(REF / "data" / f"{name}.csv")
    if name == "lung":
        d["ev"] = (d["status"] == 2).astype(int)
    return {c: d[c].to_numpy() for c in d.columns}


def close(actual: Any, expected: Any, rtol: float = 1e-6) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float),
        arr(expected) if not isinstance(expected, np.ndarray) else expected,
        rtol=rtol,
        atol=1e-12,
        equal_nan=True,
    )

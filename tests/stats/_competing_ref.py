"""Loader for the R fixtures of tests/reference/competing.R (R reference: cmprsk, survival)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

REF = Path(__file__).resolve().parents[1] / "reference"


@cache
def fixtures() -> dict[str, Any]:
    with open(REF / "competing.json", encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def arr(x: Any) -> np.ndarray:
    """R vector (scalar when length 1, null for NA) as a float array with NaN."""
    if not isinstance(x, list):
        x = [x]
    return np.array([np.nan if v is None else v for v in x], dtype=float)


def matrix(x: Any, p: int) -> np.ndarray:
    """An R p x p matrix (column-major, a scalar when p = 1)."""
    return arr(x).reshape(p, p, order="F")


def dataset(name: str) -> Any:
    import pandas as pd

    d = pd.read_csv(REF / "data" / f"{name}.csv")
    if "bili" in d.columns:
        d["log_bili"] = np.log(d["bili"])
    return d


def cif_data(fx: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, Any, Any, list[Any]]:
    """(time, status, group values or None, strata values or None, sorted levels)."""
    d = dataset(fx["data"])
    keep = d["time"].notna() & d["status"].notna()
    for c in (fx["by"], fx["strata"]):
        if c:
            keep &= d[c].notna()
    d = d[keep]
    g = None if fx["by"] is None else d[fx["by"]].to_numpy()
    s = None if fx["strata"] is None else d[fx["strata"]].to_numpy()
    levels = [1] if g is None else sorted(set(g.tolist()))
    return d["time"].to_numpy(float), d["status"].to_numpy().astype(int), g, s, levels


def crr_design(fx: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """The design of a crr fixture: complete cases, factors dummy-coded with R's level order."""
    from survstudy.stats.cox import dummy_code

    d = dataset(fx["data"])
    d = d.dropna(subset=[*fx["covariates"], "time", "status"])
    factors = fx["factors"] or {}
    blocks: list[np.ndarray] = []
    names: list[str] = []
    for c in fx["covariates"]:
        if c in factors:
            m, nm, _, _ = dummy_code(d[c].to_numpy(object), levels=factors[c], name=c)
            blocks.append(m)
            names += nm
        else:
            blocks.append(d[c].to_numpy(float)[:, None])
            names.append(c)
    return np.hstack(blocks), d["time"].to_numpy(float), d["status"].to_numpy(int), names

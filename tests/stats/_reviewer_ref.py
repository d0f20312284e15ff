"""Loader for tests/reference/reviewer.json (made by tests/reference/reviewer.R) and the
designs of its Cox models, built from the same CSV files R read."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from survstudy.stats.cox import CoxResult, cox_fit

REF = Path(__file__).resolve().parents[1] / "reference"


@cache
def fixtures() -> dict[str, Any]:
    with open(REF / "reviewer.json", encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


@cache
def data(name: str) -> pd.DataFrame:
    d = pd.read_csv(REF / "data" / f"{name}.csv")
    if name == "lung":
        d["ev"] = (d["status"] == 2).astype(int)
    return d


def arr(x: Any) -> np.ndarray:
    """An R vector or matrix from JSON (scalar when length 1, null for NA) as floats with NaN."""
    if not isinstance(x, list):
        x = [x]
    if x and isinstance(x[0], list):
        return np.array([[np.nan if v is None else v for v in row] for row in x], dtype=float)
    return np.array([np.nan if v is None else v for v in x], dtype=float)


def close(actual: Any, expected: Any, rtol: float, atol: float = 0.0) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float),
        expected if isinstance(expected, np.ndarray) else arr(expected),
        rtol=rtol,
        atol=atol,
        equal_nan=True,
    )


def _columns(name: str) -> tuple[dict[str, list[Any]], pd.DataFrame, Any, Any]:
    """Term -> columns of the design of zph fixture ``name`` (R's model matrix), the data,
    the strata codes in R's level order and the case weights."""
    strata: Any = None
    weights: Any = None
    if name.startswith("gbsg"):
        g = data("gbsg")
        cols: dict[str, list[Any]] = {
            "hormon_f": [g.hormon == 1],
            "age10": [g.age / 10],
            "meno_f": [g.meno == 1],
            "size10": [g["size"] / 10],
            "grade_f": [g.grade == 2, g.grade == 3],
            "nodes": [g.nodes],
            "pgr100": [g.pgr / 100],
            "er100": [g.er / 100],
        }
        if name == "gbsg_strat":
            del cols["meno_f"], cols["grade_f"]
            strata = (2 * g.grade + g.meno).to_numpy()  # strata(grade, meno): grade, then meno
        return cols, g, strata, weights
    v = data("veteran")
    cl = v.celltype
    cols = {
        "trt": [v.trt],
        "karno": [v.karno],
        "diagtime": [v.diagtime],
        "age": [v.age],
        "prior": [v.prior],
        "celltype": [cl == "large", cl == "smallcell", cl == "squamous"],
    }
    if name == "veteran_strat_const":
        cols = {"trt": [v.trt], "karno": [v.karno], "age_large": [(cl == "large") * v.age]}
        strata = cl.to_numpy()  # strata(celltype): alphabetical levels
    if name == "veteran_weighted":
        cols = {"trt": [v.trt], "karno": [v.karno], "age": [v.age]}
        weights = 1 + (np.arange(1, len(v) + 1) % 3)
    return cols, v, strata, weights


def design(name: str) -> tuple[np.ndarray, list[str], list[str]]:
    cols = _columns(name)[0]
    x = np.column_stack([np.asarray(c, dtype=float) for cs in cols.values() for c in cs])
    assign = [k for k, cs in cols.items() for _ in cs]
    names = [f"{k}{i}" for k, cs in cols.items() for i in range(len(cs))]
    return x, assign, names


def zph_fit(name: str, **kw: Any) -> CoxResult:
    """The Cox model of zph fixture ``name``, fitted with survstudy."""
    _, d, strata, weights = _columns(name)
    x, assign, names = design(name)
    time, event = ("rfstime", "status") if name.startswith("gbsg") else ("time", "status")
    return cox_fit(
        x,
        d[time].to_numpy(float),
        d[event].to_numpy(),
        strata=strata,
        weights=weights,
        assign=assign,
        term_names=names,
        **kw,
    )

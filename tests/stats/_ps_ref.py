"""Shared loading of the propensity-score fixtures (tests/reference/propensity.R)."""

from __future__ import annotations

import csv
import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from survstudy.stats.cox import dummy_code
from survstudy.stats.propensity import BalanceColumn
from survstudy.stats.treatment import Confounder

REF = Path(__file__).resolve().parents[1] / "reference"
DATASETS = ("gbsg", "rotterdam")


@cache
def fixtures() -> dict[str, Any]:
    return json.loads((REF / "propensity.json").read_text())


@cache
def columns(name: str) -> dict[str, list[str]]:
    fx = fixtures()[name]
    with (REF / "data" / f"{fx['data']}.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {k: [r[k] for r in rows] for k in rows[0]}


def num(name: str, col: str) -> np.ndarray:
    return np.array(columns(name)[col], dtype=float)


def outcome(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(treatment 0/1, time, event) of a data set."""
    fx = fixtures()[name]
    return num(name, fx["treat"]), num(name, fx["time"]), num(name, fx["event"])


def design(name: str) -> tuple[np.ndarray, list[str]]:
    """The propensity design as R's model.matrix builds it (factors in R's level order)."""
    fx = fixtures()[name]
    cols, names = [], []
    for c in fx["confounders"]:
        if c in fx["factors"]:
            m, nm, _, _ = dummy_code(
                np.array(columns(name)[c], dtype=object), levels=fx["factors"][c], name=c
            )
            cols.append(m)
            names += nm
        else:
            cols.append(num(name, c)[:, None])
            names.append(c)
    return np.hstack(cols), names


def confounders(name: str) -> list[Confounder]:
    fx = fixtures()[name]
    out = []
    for c in fx["confounders"]:
        if c in fx["factors"]:
            vals = np.array(columns(name)[c], dtype=object)
            out.append(Confounder.categorical_from(c, vals, levels=fx["factors"][c]))
        else:
            out.append(Confounder.continuous(c, num(name, c)))
    return out


def balance_columns(name: str) -> list[BalanceColumn]:
    return [bc for c in confounders(name) for bc in c.balance_columns()]


def arr(v: Any) -> np.ndarray:
    """A JSON list (null -> NaN) as a float array."""
    return np.array([np.nan if x is None else x for x in np.atleast_1d(v)], dtype=float)

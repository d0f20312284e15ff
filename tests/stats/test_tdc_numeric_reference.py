"""A numeric time-dependent covariate from a long table of measurements against R (issue 19,
item 2): ``tdc_split`` is ``tmerge(base, labs, id = id, x = tdc(day, x))`` and ``cox_fit`` on
its intervals, the rows with a missing value left out, is ``coxph(Surv(tstart, tstop, death)
~ ...)``.

Kind of truth: R reference (``tests/reference/tdc_numeric.R`` -> ``tdc_numeric.json``, survival
3.5-3 on ``survival::pbcseq``, with visits removed or added on purpose: no day-0 visit for some
patients, so the value is missing before their first one; a visit before the start; a visit on
the day of the last follow-up). Intervals and carried-forward values are exact (the same
numbers, copied); coefficients, standard errors and log-likelihoods to 1e-6 relative (R prints
15 significant digits and stops iterating at a relative log-likelihood change of 1e-9).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from survstudy.stats.cox import cox_fit
from survstudy.stats.timedep import SplitData, tdc_split

REF = Path(__file__).resolve().parents[1] / "reference"
R = json.loads((REF / "tdc_numeric.json").read_text(encoding="utf-8"))
RTOL = 1e-6


def _read(name: str) -> dict[str, np.ndarray]:
    with (REF / "data" / f"{name}.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def _split() -> tuple[dict[str, np.ndarray], dict[str, SplitData]]:
    base, labs = _read("pbcseq_base"), _read("pbcseq_labs")
    pos = {int(i): k for k, i in enumerate(base["id"])}
    patient = np.array([pos[int(i)] for i in labs["id"]])
    n = base["id"].size
    out = {
        v: tdc_split(
            np.zeros(n), base["futime"], base["death"], patient, labs["day"], labs[v]
        )  # init NaN: tmerge's default (missing before the first measurement)
        for v in ("bili", "albumin")
    }
    return base, out


def test_split_equals_tmerge() -> None:
    """The intervals and the carried-forward values are tmerge's, row for row."""
    _base, sp = _split()
    bili = sp["bili"]
    assert bili.n == R["n_intervals"]
    np.testing.assert_array_equal(bili.start, R["tstart"])
    np.testing.assert_array_equal(bili.stop, R["tstop"])
    want = np.array([np.nan if v is None else v for v in R["bili"]])
    np.testing.assert_array_equal(bili.value, want)  # NaN compares equal here
    assert int(np.isnan(bili.value).sum()) == R["n_missing_intervals"]
    # the same visits give the same cuts for the second value
    np.testing.assert_array_equal(sp["albumin"].start, bili.start)


@pytest.mark.parametrize("name", ["univariable", "univariable_breslow", "multivariable"])
def test_cox_on_the_split_rows_matches_r(name: str) -> None:
    """coxph drops the intervals with a missing value (na.omit) and fits the rest."""
    f: dict[str, Any] = R["fits"][name]
    base, sp = _split()
    b, a = sp["bili"], sp["albumin"]
    cols = (
        [b.value] if name.startswith("univariable") else [base["age"][b.patient], b.value, a.value]
    )
    x = np.column_stack(cols)
    ok = ~np.isnan(x).any(axis=1)
    assert int((~ok).sum()) == f["n_dropped"]
    fit = cox_fit(x[ok], b.stop[ok], b.event[ok], start=b.start[ok], ties=f["ties"])
    assert int(ok.sum()) == f["n"]
    assert int(b.event[ok].sum()) == f["events"]
    coef = np.atleast_1d(f["coef"])
    se = np.atleast_1d(f["se"])
    np.testing.assert_allclose(fit.coef, coef, rtol=RTOL)
    np.testing.assert_allclose(fit.se, se, rtol=RTOL)
    np.testing.assert_allclose([fit.loglik_null, fit.loglik], f["loglik"], rtol=RTOL)

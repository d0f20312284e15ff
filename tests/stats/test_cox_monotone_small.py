"""Monotone likelihood in a tiny data set: the fit must not run the wrong way.

Hand calculation: times 498 (x=1, death), 566 (x=0, death), 1766 and 3065 (x=0, censored).
At 498 all four are at risk and the x=1 patient dies: ℓ contribution β − log(e^β + 3);
at 566 the three x=0 patients are at risk: −log 3. So ℓ(β) increases to its supremum
−log 3 as β → +∞; ℓ(0) = −log 4 − log 3, and the likelihood-ratio statistic is
2·log 4 (R: coxph gives loglik −1.098612, LR 2.772589, p 0.09589). Before the
generalised-Cholesky fix the Newton iteration flipped sign and ended at β = −11.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from survstudy.stats.cox import cox_fit


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_coefficient_runs_to_plus_infinity_and_is_flagged(ties: str) -> None:
    x = np.array([[0.0], [0.0], [1.0], [0.0]])
    res = cox_fit(x, [3065, 566, 498, 1766], [0, 1, 1, 0], ties=ties)
    assert res.loglik == pytest.approx(-math.log(3), abs=1e-7)
    lr = res.tests["likelihood_ratio"]
    assert lr.statistic == pytest.approx(2 * math.log(4), abs=1e-6)
    assert lr.p_value == pytest.approx(math.erfc(math.sqrt(math.log(4))), rel=1e-5)
    assert res.coef[0] > 10
    term = res.to_dict()["terms"][0]
    assert term["estimable"] is False
    assert term["p_value"] is None
    assert term["lr_p_value"] == pytest.approx(lr.p_value, rel=1e-6)
    assert "MONOTONE-LIKELIHOOD" in [w.code for w in res.warnings]


def test_negative_variance_is_flagged_not_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Property: a variance matrix with a negative diagonal (which the generalised
    inverse should never give) yields a NaN SE without a numpy RuntimeWarning (pytest
    turns warnings into errors), the term is flagged not estimable with no Wald p."""
    import survstudy.stats.cox as cox_mod

    def bad_inverse(a: np.ndarray) -> np.ndarray:
        return -np.eye(a.shape[0])

    monkeypatch.setattr(cox_mod, "_inverse", bad_inverse)
    x = np.array([[1.0], [0.0], [1.0], [0.0], [1.0], [0.0]])
    res = cox_fit(x, [1, 2, 3, 4, 5, 6], [1, 1, 0, 1, 1, 0], concordance=False)
    assert math.isnan(res.se[0])
    term = res.terms[0]
    assert term.estimable is False
    assert term.p_value is None
    assert term.reason is not None
    assert "variance" in term.reason
    assert "VARIANCE-NOT-ESTIMABLE" in [w.code for w in res.warnings]


def test_ph_test_singular_is_a_warning_not_a_crash() -> None:
    """R reference (behaviour): on aml_one (6 patients, one event, `maintained` without
    events) R's cox.zph stops with "system is exactly singular"; survstudy keeps the fit
    and says the PH test cannot be computed."""
    import csv
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "reference" / "data" / "aml_one.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    x = np.array([[float(r["maintained"]), float(r["z"])] for r in rows])
    t = np.array([float(r["time"]) for r in rows])
    e = np.array([float(r["status"]) for r in rows])
    res = cox_fit(x, t, e, ph_test=True)
    assert res.ph is None
    assert "PH-TEST-NOT-COMPUTED" in [w.code for w in res.warnings]
    assert res.to_dict()["ph_test"] is None

"""Cox regression on Therneau & Grambsch's test data 1 (appendix E), solved by hand.

Data (book_test1.csv; the row with a missing status is dropped), sorted by time:
(1, death, x=1), (1, censored, x=1), (6, death, x=1), (6, death, x=0),
(8, censored, x=0), (9, death, x=0). Write r = exp(β).

Breslow: risk sets {all 6: 3r + 3}, {t >= 6: r + 3, two deaths}, {t = 9: 1}:
  ℓ(β) = 2β − log(3r + 3) − 2 log(r + 3)
  U(β) = 2 − r/(r + 1) − 2r/(r + 3),  I(β) = r/(r + 1)² + 6r/(r + 3)²
  U = 0  <=>  r² − 3r − 6 = 0  <=>  β̂ = log(3/2 + √33/2).
  At β = 0: ℓ = −log 6 − 2 log 4, U = 1, I = 5/8, first Newton step 8/5, score test 1.6.
Efron: at t = 6 the second denominator is r + 3 − (r + 1)/2 = (r + 5)/2:
  ℓ(β) = 2β − log(3r + 3) − log(r + 3) − log((r + 5)/2)
  U(β) = 2 − r/(r + 1) − r/(r + 3) − r/(r + 5),  I(β) = r/(r+1)² + 3r/(r+3)² + 5r/(r+5)²
  U = 0  <=>  r³ − 23r − 30 = 0, the largest root r = 2√(23/3)·cos(⅓·arccos((45/23)√(3/23))).
  At β = 0: ℓ = −log 72, U = 13/12, I = 83/144, first step 156/83, score test 169/83.
Kind of truth: hand calculation.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from survstudy.stats import _cox_objective as obj
from survstudy.stats.cox import CoxControl, cox_fit

DATA = Path(__file__).resolve().parents[1] / "reference" / "data" / "book_test1.csv"


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with DATA.open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["status"] not in ("", "NA")]
    t = np.array([float(r["time"]) for r in rows])
    e = np.array([float(r["status"]) for r in rows])
    x = np.array([float(r["x"]) for r in rows])
    return t, e, x


def breslow(b: float) -> tuple[float, float, float]:
    r = math.exp(b)
    ll = 2 * b - math.log(3 * r + 3) - 2 * math.log(r + 3)
    u = 2 - r / (r + 1) - 2 * r / (r + 3)
    i = r / (r + 1) ** 2 + 6 * r / (r + 3) ** 2
    return ll, u, i


def efron(b: float) -> tuple[float, float, float]:
    r = math.exp(b)
    ll = 2 * b - math.log(3 * r + 3) - math.log(r + 3) - math.log((r + 5) / 2)
    u = 2 - r / (r + 1) - r / (r + 3) - r / (r + 5)
    i = r / (r + 1) ** 2 + 3 * r / (r + 3) ** 2 + 5 * r / (r + 5) ** 2
    return ll, u, i


BRESLOW_HAT = math.log(1.5 + math.sqrt(33) / 2)
EFRON_HAT = math.log(2 * math.sqrt(23 / 3) * math.cos(math.acos(45 / 23 * math.sqrt(3 / 23)) / 3))


def test_closed_forms_solve_the_score_equations() -> None:
    """Hand calculation: the closed-form roots make the hand-derived scores zero."""
    assert abs(breslow(BRESLOW_HAT)[1]) < 1e-12
    assert abs(efron(EFRON_HAT)[1]) < 1e-12


@pytest.mark.parametrize(("ties", "formula"), [("breslow", breslow), ("efron", efron)])
@pytest.mark.parametrize("beta", [0.0, 0.5, -1.0, 1.4752849])
def test_objective_at_given_beta(ties: str, formula: object, beta: float) -> None:
    """Hand calculation: ℓ, U and I at several β (data given unsorted, as in the file)."""
    t, e, x = _data()
    d = obj.prepare(x[:, None], t, e, ties=ties)
    o = obj.evaluate(d, np.array([beta]))
    ll, u, i = formula(beta)  # type: ignore[operator]
    assert o.loglik == pytest.approx(ll, rel=1e-13)
    assert o.score[0] == pytest.approx(u, rel=1e-12, abs=1e-14)
    assert o.information is not None
    assert o.information[0, 0] == pytest.approx(i, rel=1e-12)


def test_breslow_estimate() -> None:
    """Hand calculation: β̂ = log(1.5 + √33/2); null loglik −log 6 − 2 log 4; score test 1.6."""
    t, e, x = _data()
    r = cox_fit(x[:, None], t, e, ties="breslow")
    assert r.coef[0] == pytest.approx(BRESLOW_HAT, rel=1e-9)
    assert r.loglik_null == pytest.approx(-math.log(6) - 2 * math.log(4), rel=1e-14)
    assert r.tests["score"].statistic == pytest.approx(1.6, rel=1e-12)
    assert r.se[0] == pytest.approx(1 / math.sqrt(breslow(BRESLOW_HAT)[2]), rel=1e-8)
    assert r.loglik == pytest.approx(breslow(BRESLOW_HAT)[0], rel=1e-12)


def test_efron_estimate() -> None:
    """Hand calculation: β̂ is the log of the root of r³ − 23r − 30; null loglik −log 72."""
    t, e, x = _data()
    r = cox_fit(x[:, None], t, e)
    assert r.coef[0] == pytest.approx(EFRON_HAT, rel=1e-9)
    assert r.loglik_null == pytest.approx(-math.log(72), rel=1e-14)
    assert r.tests["score"].statistic == pytest.approx(169 / 83, rel=1e-12)
    assert r.se[0] == pytest.approx(1 / math.sqrt(efron(EFRON_HAT)[2]), rel=1e-8)


@pytest.mark.parametrize(("ties", "step"), [("breslow", 8 / 5), ("efron", 156 / 83)])
def test_first_newton_step(ties: str, step: float) -> None:
    """Hand calculation: one iteration from β = 0 gives U(0)/I(0)."""
    t, e, x = _data()
    r = cox_fit(x[:, None], t, e, ties=ties, control=CoxControl(iter_max=1))
    assert r.coef[0] == pytest.approx(step, rel=1e-12)
    assert r.iterations == 1
    assert not r.converged
    # a fit that did not converge is flagged, never shown as a normal row
    assert any(w.code == "NOT-CONVERGED" for w in r.warnings)
    assert r.terms[0].p_value is None
    assert not r.terms[0].estimable

"""SPSS's KM percentile (estimate, SE by Collett's density rule, estimate ± z·SE).

Kind of truth: hand calculation (each expected value is worked out in the test from
the KM table written by hand, with Greenwood's formula written out).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from survstudy.stats.spss import spss_percentile

Z95 = 1.959963984540054


def test_freireich_placebo_group_hand_calculation() -> None:
    """Hand calculation: Freireich et al. (1963) placebo group, 21 relapses, no censoring.

    Times 1,1,2,2,3,4,4,5,5,8,8,8,8,11,11,12,12,15,17,22,23 weeks. Ŝ drops to 8/21 at
    t = 8 (the first time at or below 0.5), so the median is 8. û = 5 (Ŝ = 12/21 ≥ 0.55),
    l̂ = 8 (Ŝ = 8/21 ≤ 0.45); f̂ = (12/21 − 8/21) / (8 − 5). Without censoring Greenwood's
    SE is the binomial one, sqrt(Ŝ(1 − Ŝ)/n).
    """
    times = np.array([1, 2, 3, 4, 5, 8, 11, 12, 15, 17, 22, 23], dtype=float)
    deaths = np.array([2, 2, 1, 2, 2, 4, 2, 2, 1, 1, 1, 1], dtype=float)
    surv = 1 - np.cumsum(deaths) / 21
    se = np.sqrt(surv * (1 - surv) / 21)
    res = spss_percentile(times, surv, se, deaths)
    s8 = 8 / 21
    f = (12 / 21 - 8 / 21) / 3
    se_expected = math.sqrt(s8 * (1 - s8) / 21) / f
    assert res.estimate == 8.0
    assert res.u_time == 5.0
    assert res.l_time == 8.0
    assert res.se == pytest.approx(se_expected, rel=1e-12)
    assert res.se == pytest.approx(1.66904, abs=1e-5)
    assert res.lower == pytest.approx(8 - Z95 * se_expected, rel=1e-12)
    assert res.upper == pytest.approx(8 + Z95 * se_expected, rel=1e-12)


def test_flat_segment_at_half_takes_first_time_not_midpoint() -> None:
    """Hand calculation: 10 deaths at 1..10; Ŝ(5) = 0.5 exactly → SPSS median 5 (R: 5.5).

    û = 4 (Ŝ = 0.6), l̂ = 6 (Ŝ = 0.4): f̂ = 0.1; se(Ŝ(5)) = sqrt(0.25/10); SE = 1.5811….
    """
    t = np.arange(1.0, 11.0)
    surv = (10 - t) / 10
    se = np.sqrt(surv * (1 - surv) / 10)
    res = spss_percentile(t, surv, se)
    assert res.estimate == 5.0
    assert res.se == pytest.approx(math.sqrt(0.025) / 0.1, rel=1e-12)


def test_censored_hand_calculation_with_greenwood() -> None:
    """Hand calculation with censoring: times 2, 3+, 4, 5, 6+, 7, 9 (n = 7).

    KM: t=2 → 6/7; t=4 (at risk 5) → 6/7·4/5 = 24/35; t=5 (4 at risk) → 24/35·3/4 = 18/35;
    t=7 (2 at risk) → 18/35·1/2 = 9/35; t=9 (1 at risk) → 0.
    Median: first Ŝ ≤ 0.5 → t = 7. û = max{Ŝ ≥ 0.55} = 4; l̂ = min{Ŝ ≤ 0.45} = 7.
    Greenwood at 7: Ŝ² · (1/(7·6) + 1/(5·4) + 1/(4·3) + 1/(2·1)).
    """
    t = np.array([2, 3, 4, 5, 6, 7, 9], dtype=float)
    d = np.array([1, 0, 1, 1, 0, 1, 1], dtype=float)
    surv = np.array([6 / 7, 6 / 7, 24 / 35, 18 / 35, 18 / 35, 9 / 35, 0.0])
    gw = np.array(
        [
            1 / 42,
            1 / 42,
            1 / 42 + 1 / 20,
            1 / 42 + 1 / 20 + 1 / 12,
            1 / 42 + 1 / 20 + 1 / 12,
            1 / 42 + 1 / 20 + 1 / 12 + 1 / 2,
            np.nan,
        ]
    )
    se = surv * np.sqrt(gw)
    res = spss_percentile(t, surv, se, d)
    assert res.estimate == 7.0
    assert (res.u_time, res.l_time) == (4.0, 7.0)
    f = (24 / 35 - 9 / 35) / (7 - 4)
    expected = (9 / 35) * math.sqrt(1 / 42 + 1 / 20 + 1 / 12 + 1 / 2) / f
    assert res.se == pytest.approx(expected, rel=1e-12)


def test_not_reached_is_a_value_with_a_warning() -> None:
    """Hand calculation: Ŝ never reaches 0.5 → estimate NaN, JSON null, a warning."""
    res = spss_percentile([1.0, 2.0], [0.9, 0.8], [0.05, 0.07])
    assert not res.reached
    assert res.to_dict()["estimate"] is None
    assert res.warnings[0].code == "MEDIAN-NOT-REACHED"


def test_se_undefined_when_curve_stays_above_the_lower_band() -> None:
    """Hand calculation: Ŝ = 0.6 then 0.48 (≤ 0.5 but never ≤ 0.45): median 2, SE undefined."""
    res = spss_percentile([1.0, 2.0], [0.6, 0.48], [0.1, 0.12])
    assert res.estimate == 2.0
    assert math.isnan(res.se)
    assert res.warnings[0].code == "PERCENTILE-SE-UNDEFINED"


def test_first_drop_below_band_uses_time_origin() -> None:
    """Hand calculation: Ŝ falls from 1 to 0.4 at t = 3: û = 0 (Ŝ(0) = 1), l̂ = 3, f̂ = 0.6/3."""
    res = spss_percentile([3.0], [0.4], [0.15])
    assert res.estimate == 3.0
    assert res.u_time == 0.0
    assert res.se == pytest.approx(0.15 / 0.2, rel=1e-12)

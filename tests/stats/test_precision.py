"""The few-events warning and the precision-of-the-study wording (stats.precision).

Kind of truth: hand calculation (Schoenfeld's variance of the log hazard ratio,
1 / (D p (1 - p)), and the normal quantile) and the text contract of issue 22 (no
detectable-HR or power claim; below 10 events no number).
"""

from __future__ import annotations

import math

import pytest

from survstudy.stats.precision import FEW_EVENTS, few_events_warning, study_precision


def test_few_events_warning_below_ten() -> None:
    """Hand calculation of the threshold: 9 events warn, 10 do not; the warning carries the count."""
    assert FEW_EVENTS == 10
    w = few_events_warning(3, endpoint="PFS")
    assert w is not None
    assert w.code == "FEW-EVENTS"
    assert w.context == {"events": 3, "threshold": 10, "endpoint": "PFS"}
    assert "only 3 events" in w.message
    assert few_events_warning(9) is not None
    assert few_events_warning(10) is None
    assert "only 1 event:" in few_events_warning(1).message  # type: ignore[union-attr]


def test_precision_factor_by_hand() -> None:
    """Hand calculation: 299 events, equal groups: exp(1.959964 / sqrt(299 / 4)) = 1.2544;
    40 events with 30 % in one group: exp(1.959964 / sqrt(40 * 0.21)) = 1.9665."""
    p = study_precision(299)
    assert p.factor == pytest.approx(math.exp(1.959963984540054 / math.sqrt(299 * 0.25)), rel=1e-12)
    assert p.factor == pytest.approx(1.2544, abs=5e-5)
    assert "within a factor of about 1.25" in p.message
    assert "HR/1.25 to HR×1.25" in p.message
    q = study_precision(40, 0.3)
    assert q.factor == pytest.approx(math.exp(1.959963984540054 / math.sqrt(40 * 0.21)), rel=1e-12)
    assert "1.97" in q.message


@pytest.mark.parametrize("events", [1, 3, 9, 10, 299])
def test_wording_is_not_a_power_claim(events: int) -> None:
    """Text contract: never "detect" or a power percentage; below 10 events no number at all."""
    p = study_precision(events)
    text = p.message.lower()
    assert "detect" not in text
    assert "80%" not in text
    if events < 10:
        assert p.few_events
        assert p.factor is None
        assert p.message == (
            f"Too few events ({events}) for a comparative analysis; the results are descriptive."
        )
    else:
        assert "not a power calculation" in text
        assert p.to_dict()["factor"] == p.factor


def test_one_group_empty() -> None:
    """Hand calculation: proportion 0 gives D p (1 - p) = 0, no hazard ratio (factor inf)."""
    p = study_precision(50, 0.0)
    assert p.factor == math.inf
    assert "no hazard ratio" in p.message
    assert p.to_dict()["factor"] is None

"""Schoenfeld's detectable hazard ratio (survstudy.stats.power)."""

from __future__ import annotations

import math

import pytest

from survstudy.stats.power import (
    detectable_hr,
    events_required,
    minimum_detectable_hr,
)

# Published normal quantiles (any statistics table): z_0.975 and z_0.80, z_0.90.
Z975 = 1.959963984540054
Z80 = 0.8416212335729143
Z90 = 1.2815515655446004


def test_three_events_equal_groups_hand_calculation() -> None:
    """Hand calculation: D = 3, p = 0.5 -> exp(2.801585 / sqrt(0.75)) = exp(3.234992) = 25.40."""
    x = (Z975 + Z80) / math.sqrt(3 * 0.5 * 0.5)
    assert x == pytest.approx(3.2349924, abs=1e-6)
    assert minimum_detectable_hr(3) == pytest.approx(math.exp(x), rel=1e-12)
    assert minimum_detectable_hr(3) == pytest.approx(25.40, abs=0.01)


def test_unequal_allocation_hand_calculation() -> None:
    """Hand calculation: D = 8, p = 3/11 (3 of 11 in one group) -> exp(2.801585/sqrt(8·3/11·8/11))."""
    p = 3 / 11
    expected = math.exp((Z975 + Z80) / math.sqrt(8 * p * (1 - p)))
    assert minimum_detectable_hr(8, p) == pytest.approx(expected, rel=1e-12)
    assert minimum_detectable_hr(8, p) > minimum_detectable_hr(8, 0.5)


def test_power_and_alpha_are_configurable() -> None:
    """Hand calculation: 90% power, one-sided-equivalent alpha 0.10 (z_0.95 = 1.644854)."""
    z95 = 1.6448536269514722
    expected = math.exp((z95 + Z90) / math.sqrt(20 * 0.25))
    assert minimum_detectable_hr(20, alpha=0.10, power=0.90) == pytest.approx(expected, rel=1e-12)


def test_published_events_for_hr_two() -> None:
    """Published table: HR 2, 80% power, two-sided 5%, equal groups needs 65.3 -> 66 events
    (Schoenfeld 1983; Collett, Modelling Survival Data, ch. 10); 90% power needs 88."""
    assert events_required(2.0) == pytest.approx(4 * (Z975 + Z80) ** 2 / math.log(2) ** 2)
    assert math.ceil(events_required(2.0)) == 66
    assert math.ceil(events_required(2.0, power=0.9)) == 88


@pytest.mark.parametrize("d", [1, 3, 12, 66, 500])
@pytest.mark.parametrize("p", [0.2, 0.5, 0.7])
def test_inverse_identity(d: int, p: float) -> None:
    """Identity: the events required for the detectable HR are the events given."""
    hr = minimum_detectable_hr(d, p)
    assert events_required(hr, p) == pytest.approx(d, rel=1e-10)


def test_nothing_detectable_without_information() -> None:
    """Property: no events or an empty group -> inf (nothing can be detected)."""
    assert math.isinf(minimum_detectable_hr(0))
    assert math.isinf(minimum_detectable_hr(10, 0.0))
    assert math.isinf(minimum_detectable_hr(10, 1.0))
    assert detectable_hr(0).to_dict()["hr"] is None


def test_result_object() -> None:
    """Hand calculation: the result carries its inputs and the hand-computed HR (D = 3, p = 0.5)."""
    d = detectable_hr(3).to_dict()
    hr = d.pop("hr")
    assert d == {"events": 3, "proportion": 0.5, "alpha": 0.05, "power": 0.8}
    assert hr == pytest.approx(math.exp((Z975 + Z80) / math.sqrt(3 * 0.25)), rel=1e-12)


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="events"):
        minimum_detectable_hr(-1)
    with pytest.raises(ValueError, match="power"):
        minimum_detectable_hr(3, power=1.0)
    with pytest.raises(ValueError, match="hr"):
        events_required(1.0)

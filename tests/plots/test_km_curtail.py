"""A KM figure's curve stops at its ``curtail_time`` (issue 22 item 8).

Kind of truth: hand-written step data; the drawn line is read back from matplotlib.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from survstudy.plots import plot_km_curves


def _curves(curtail: float | None) -> SimpleNamespace:
    group = SimpleNamespace(
        level=None,
        n=4,
        events=2,
        time=(0.0, 2.0, 3.0, 5.0),
        survival=(1.0, 0.75, 0.5, 0.5),
        lower=(1.0, 0.5, 0.3, 0.3),
        upper=(1.0, 0.9, 0.8, 0.8),
        censor_time=(3.0, 5.0),
        censor_survival=(0.5, 0.5),
        n_risk_at=(4, 2),
        curtail_time=curtail,
    )
    return SimpleNamespace(
        groups=(group,),
        endpoint_label="OS",
        time_unit="months",
        ci=True,
        risk_table=True,
        title=None,
        by_label=None,
        tests=(),
        ticks=(0.0, 4.0),
        max_time=5.0,
    )


def _step_line(plot: object) -> tuple[np.ndarray, np.ndarray]:
    lines = [ln for ln in plot.ax.get_lines() if ln.get_drawstyle() == "steps-post"]  # type: ignore[attr-defined]
    return np.asarray(lines[0].get_xdata()), np.asarray(lines[0].get_ydata())


def test_curve_stops_at_curtail_time() -> None:
    """Cut at 4: points 0, 2, 3 then the last value held to 4; the mark at 5 is gone."""
    x, y = _step_line(plot_km_curves(_curves(4.0)))
    assert list(x) == [0.0, 2.0, 3.0, 4.0]
    assert list(y) == [1.0, 0.75, 0.5, 0.5]
    whole_x, _ = _step_line(plot_km_curves(_curves(None)))
    assert list(whole_x) == [0.0, 2.0, 3.0, 5.0]

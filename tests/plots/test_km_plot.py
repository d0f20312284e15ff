"""Kaplan–Meier figure: what the SVG text layer says, and where it says it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest

from survstudy.plots import nice_ticks, plot_km, save_figure

SVG = "{http://www.w3.org/2000/svg}"


def _svg(tmp_path: Path, plot: object, name: str = "fig") -> ET.Element:
    (path,) = save_figure(plot, tmp_path / name, formats=("svg",))
    return ET.parse(path).getroot()


def _group(root: ET.Element, gid: str) -> ET.Element:
    found = [g for g in root.iter(f"{SVG}g") if g.get("id") == gid]
    assert len(found) == 1, gid
    return found[0]


def _texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def test_risk_table_values_under_each_tick(tmp_path: Path, fx: ModuleType) -> None:
    """Hand calculation: n at risk = #(time >= tick) for the 12 seed-shaped patients
    (12, 11, 8, 5, 3, 0 at 0, 12, ..., 60 months), printed centred on each x tick."""
    km = fx.km_result(fx.days(fx.PFS_MONTHS), fx.PFS_EVENT)
    plot = plot_km([("All patients", km)], time_scale=fx.DAYS_PER_MONTH, ticks=fx.PFS_TICKS)
    root = _svg(tmp_path, plot)
    assert plot.n_risk == ((12, 11, 8, 5, 3, 0),)
    for j, expected in enumerate([12, 11, 8, 5, 3, 0]):
        cell = _group(root, f"nrisk-0-{j}").find(f"{SVG}text")
        assert cell is not None
        assert cell.text == str(expected)
        tick_mark = _group(root, f"xtick_{j + 1}").find(f".//{SVG}use")
        assert tick_mark is not None
        # Same x transform as the axis: the number sits exactly under its tick.
        assert float(cell.get("x", "nan")) == pytest.approx(
            float(tick_mark.get("x", "nan")), abs=1e-3
        )
        assert "text-anchor: middle" in cell.get("style", "")
    texts = _texts(root)
    assert "Number at risk" in texts
    assert [t for t in texts if t in {"0", "12", "24", "36", "48", "60"}][:6] == [
        "0",
        "12",
        "24",
        "36",
        "48",
        "60",
    ]


def test_legend_counts_and_logrank_text(tmp_path: Path, fx: ModuleType) -> None:
    """Hand calculation: A = patients 1, 3, 5, ... (10E, 18, 26, 32, 45, 55 months: 1 event),
    B = patients 2, 4, 6, ... (14, 22E, 30E, 40, 50, 58: 2 events); p printed as given."""
    t, e = fx.days(fx.PFS_MONTHS), fx.PFS_EVENT
    a = fx.km_result(t[0::2], e[0::2])
    b = fx.km_result(t[1::2], e[1::2])
    plot = plot_km(
        [("Early", a), ("Late", b)],
        time_scale=fx.DAYS_PER_MONTH,
        ticks=fx.PFS_TICKS,
        conf_band=True,
        logrank_p=0.0403,
    )
    texts = _texts(_svg(tmp_path, plot))
    assert "Early (n=6, events=1)" in texts
    assert "Late (n=6, events=2)" in texts
    p_line = [x for x in texts if x.startswith("Log-rank")]
    assert len(p_line) == 1
    assert re.search(r"0\.040?\b", p_line[0])
    # Hand count, #(time >= tick) at 0, 12, ..., 60: A 6, 5, 4, 2, 1, 0; B 6, 6, 4, 3, 2, 0.
    assert plot.n_risk == ((6, 5, 4, 2, 1, 0), (6, 6, 4, 3, 2, 0))


def test_times_converted_for_display_only(tmp_path: Path, fx: ModuleType) -> None:
    """Identity: the same curve in days (time_scale 1) and months gives the same risk
    counts at corresponding ticks (365.25 days = 12 months)."""
    km = fx.km_result(fx.days(fx.PFS_MONTHS), fx.PFS_EVENT)
    months = plot_km([("m", km)], time_scale=fx.DAYS_PER_MONTH, ticks=[0, 12, 24])
    in_days = plot_km([("d", km)], ticks=[0, 365.25, 730.5], unit_label="Days")
    assert months.n_risk == in_days.n_risk == ((12, 11, 8),)


def test_nice_ticks_in_months() -> None:
    """Hand calculation: 58 months -> steps of 12 (5 intervals), ending past the last time."""
    assert nice_ticks(58.0, "Months") == (0.0, 12.0, 24.0, 36.0, 48.0, 60.0)
    assert nice_ticks(130.0, "Months") == (0.0, 24.0, 48.0, 72.0, 96.0, 120.0, 144.0)


def test_no_pyplot_state(fx: ModuleType) -> None:
    """Property: drawing leaves matplotlib's global rcParams and pyplot untouched."""
    import sys

    import matplotlib

    before = dict(matplotlib.rcParams)
    km = fx.km_result(fx.days(fx.PFS_MONTHS), fx.PFS_EVENT)
    plot_km([("All", km)], time_scale=fx.DAYS_PER_MONTH)
    assert dict(matplotlib.rcParams) == before
    assert (
        "matplotlib.pyplot" not in sys.modules or not sys.modules["matplotlib.pyplot"].get_fignums()
    )


def test_drawn_curve_is_the_estimate(fx: ModuleType) -> None:
    """Hand calculation: the step line starts at (0, 1) and drops to 11/12 at 10 months,
    11/12 * 8/9 at 22 months (9 at risk) and 11/12 * 8/9 * 6/7 at 30 months (7 at risk);
    censor marks sit on the curve at the 9 censored times."""
    km = fx.km_result(fx.days(fx.PFS_MONTHS), fx.PFS_EVENT)
    plot = plot_km([("All", km)], time_scale=fx.DAYS_PER_MONTH, ticks=fx.PFS_TICKS)
    step, marks = plot.ax.get_lines()[:2]
    x, y = step.get_xdata(), step.get_ydata()
    assert (x[0], y[0]) == (0.0, 1.0)
    s1, s2, s3 = 11 / 12, 11 / 12 * 8 / 9, 11 / 12 * 8 / 9 * 6 / 7
    for months, expected in ((10, s1), (22, s2), (30, s3)):
        i = list(x).index(pytest.approx(round(months * fx.DAYS_PER_MONTH) / fx.DAYS_PER_MONTH))
        assert y[i] == pytest.approx(expected, abs=1e-12)
    assert len(marks.get_xdata()) == 9
    assert marks.get_ydata()[-1] == pytest.approx(s3, abs=1e-12)


def test_draws_on_a_callers_axes(fx: ModuleType) -> None:
    """Hand calculation (same 12 patients): on a caller's axes the risk counts are the same
    and no figure is created."""
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    km = fx.km_result(fx.days(fx.PFS_MONTHS), fx.PFS_EVENT)
    plot = plot_km([("All", km)], ax=ax, time_scale=fx.DAYS_PER_MONTH, ticks=fx.PFS_TICKS)
    assert plot.figure is None
    assert plot.ax is ax
    assert plot.n_risk == ((12, 11, 8, 5, 3, 0),)
    with pytest.raises(ValueError, match="caller's axes"):
        save_figure(plot, "unused")


def test_cif_figure_rises_from_zero_with_its_risk_table(tmp_path: Path) -> None:
    """Hand calculation (Aalen–Johansen) on six patients, times 1..6, status 1, 2, 0, 1, 2, 0:
    the event's curve is 0, then 1/6 from t = 1 and 1/6 + (4/6)(1/3) = 7/18 from t = 4; at
    risk (event-free, under observation) at ticks 0, 2, 4, 6: 6, 5, 3, 1; censor marks at 3
    and 6 on the curve; Gray's p as text."""
    import numpy as np

    from survstudy.plots import plot_cif
    from survstudy.stats.competing import cumulative_incidence

    res = cumulative_incidence([1, 2, 3, 4, 5, 6], [1, 2, 0, 1, 2, 0], causes=(1, 2))
    plot = plot_cif([("All", res)], cause=1, ticks=[0, 2, 4, 6], gray_p=0.0421)
    assert plot.n_risk == ((6, 5, 3, 1),)
    curve, marks = plot.ax.get_lines()[:2]
    np.testing.assert_allclose(curve.get_xdata(), [0, 1, 2, 3, 4, 5, 6])
    want = [0, 1 / 6, 1 / 6, 1 / 6, 7 / 18, 7 / 18, 7 / 18]
    np.testing.assert_allclose(curve.get_ydata(), want, rtol=1e-14)
    np.testing.assert_allclose(marks.get_xdata(), [3, 6])
    np.testing.assert_allclose(marks.get_ydata(), [1 / 6, 7 / 18], rtol=1e-14)
    assert plot.ax.get_ylabel() == "Cumulative incidence"
    root = _svg(tmp_path, plot)
    assert "Gray's test p = 0.042" in _texts(root)

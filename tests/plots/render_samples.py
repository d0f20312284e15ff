"""Render the sample figures in docs/figures/ for visual review.

Run: .venv/bin/python tests/plots/render_samples.py  (not a test; writes small PNGs)
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

from survstudy.plots import ForestRow, plot_forest, plot_km, save_figure

HERE = Path(__file__).resolve().parent
OUT = HERE.parents[1] / "docs" / "figures"


def _fixtures():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("fx", HERE / "_fixtures.py")
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["fx"] = mod
    spec.loader.exec_module(mod)
    return mod


def main() -> None:
    fx = _fixtures()
    dpm = fx.DAYS_PER_MONTH
    km = fx.km_result(fx.days(fx.PFS_MONTHS), fx.PFS_EVENT)
    p = plot_km(
        [("All patients", km)],
        time_scale=dpm,
        ticks=fx.PFS_TICKS,
        ylabel="Progression-free survival",
        title="Figure 1a. Progression-free survival",
    )
    save_figure(p, OUT / "km_pfs_seed", formats=("png",), dpi=150)

    rng = np.random.default_rng(1)
    t_a, t_b = rng.exponential(30, 40), rng.exponential(60, 45)
    cens = rng.uniform(10, 80, 85)
    t = np.minimum(np.r_[t_a, t_b], cens)
    e = (np.r_[t_a, t_b] <= cens).astype(int)
    p = plot_km(
        [
            ("LM within 3 years", fx.km_result(fx.days(t[:40]), e[:40])),
            ("LM after 3 years", fx.km_result(fx.days(t[40:]), e[40:])),
        ],
        time_scale=dpm,
        conf_band=True,
        logrank_p=0.0403,
        ylabel="Progression-free survival",
        percent_axis=True,
    )
    save_figure(p, OUT / "km_pfs_two_groups", formats=("png",), dpi=150)

    rows = [
        ForestRow("Age at LM diagnosis, per 10 years", 1.12, 0.61, 2.05, "0.71"),
        ForestRow("Tumour grade", is_header=True, p_text="0.048"),
        ForestRow("Grade 1–2", is_reference=True, indent=1),
        ForestRow("Grade 3", 4.85, 1.01, 23.3, "0.048", indent=1),
        ForestRow("Ki-67 ≥ 20%", 3.10, 0.78, 12.4, "0.11"),
        ForestRow("LM within 3 years of BC treatment", 6.21, 1.08, 135.0, "0.040"),
        ForestRow("HER2 positive", 0.45, 0.05, 3.9, "0.47"),
        ForestRow("Multiple liver metastases", not_estimable=True),
    ]
    p2 = plot_forest(rows, title="Progression-free survival: univariable Cox models")
    save_figure(p2, OUT / "forest_pfs", formats=("png",), dpi=150)


def gbsg() -> None:
    """Real data (examples/gbsg): three curves with CI bands, and a years axis."""
    import csv

    from survstudy.stats.km import kaplan_meier
    from survstudy.stats.logrank import logrank_test

    with (HERE.parents[1] / "examples" / "gbsg" / "gbsg.csv").open() as f:
        rows = list(csv.DictReader(f))
    t = np.array([float(r["rfstime"]) for r in rows])
    e = np.array([int(r["status"]) for r in rows])
    g = np.array([int(r["grade"]) for r in rows])
    h = np.array([int(r["hormon"]) for r in rows])
    p = plot_km(
        [(f"Grade {k}", kaplan_meier(t[g == k], e[g == k])) for k in (1, 2, 3)],
        time_scale=30.4375,
        conf_band=True,
        logrank_p=logrank_test(t, e, g - 1).p_value,
        ylabel="Recurrence-free survival",
        title="Recurrence-free survival by tumour grade (GBSG)",
        legend_title="Tumour grade",
    )
    save_figure(p, OUT / "km_gbsg_grade", formats=("png",), dpi=150)
    p = plot_km(
        [
            ("No hormonal therapy", kaplan_meier(t[h == 0], e[h == 0])),
            ("Hormonal therapy", kaplan_meier(t[h == 1], e[h == 1])),
        ],
        time_scale=365.25,
        unit_label="Years",
        logrank_p=logrank_test(t, e, h).p_value,
        ylabel="Recurrence-free survival",
        percent_axis=True,
    )
    save_figure(p, OUT / "km_gbsg_hormon_years", formats=("png",), dpi=150)


if __name__ == "__main__":
    gbsg()
    main()

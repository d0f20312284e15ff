"""The bclm example (SYNTHETIC, 12 patients, 3 progressions): the exact permutation
log-rank p of PFS by liver metastasis within vs after 3 years.

Kinds of truth: brute-force oracle (all C(12, n1) assignments of the group labels, the
log-rank O − E written out per event time), identity (an independent call of
``stats.exact.logrank_small_sample`` on the same arrays), property (where it is shown).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from survstudy.data import build_cohort
from survstudy.pipeline import run_study
from survstudy.pipeline.design import factor_design
from survstudy.spec import load_spec

SPEC = Path(__file__).resolve().parents[2] / "examples" / "bclm" / "study.yaml"


@pytest.fixture(scope="module")
def run() -> Any:
    spec = load_spec(SPEC)
    cohort = build_cohort(spec)
    return cohort, run_study(spec, cohort)


def _o_minus_e(t: np.ndarray, e: np.ndarray, in1: np.ndarray) -> float:
    u = 0.0
    for s in np.unique(t[e == 1]):
        risk = t >= s
        d = float(np.sum((t == s) & (e == 1)))
        u += float(np.sum((t == s) & (e == 1) & in1)) - d * float(np.sum(risk & in1)) / float(
            np.sum(risk)
        )
    return u


def test_pfs_by_lm_within_3y_exact_p(run: Any) -> None:
    """Brute force and identity: the report's exact permutation p for PFS."""
    from survstudy.stats.exact import logrank_small_sample

    cohort, res = run
    t_all, e_all, ok = cohort.survival_data("PFS")
    codes = factor_design(cohort, "lm_within_3y").codes
    keep = ok & (codes >= 0)
    t, e, c = t_all[keep].astype(float), e_all[keep].astype(float), codes[keep]
    assert t.size == 12
    assert int(e.sum()) == 3
    in1 = c == 0
    obs = abs(_o_minus_e(t, e, in1))
    hits = total = 0
    for chosen in itertools.combinations(range(t.size), int(in1.sum())):
        lab = np.zeros(t.size, dtype=bool)
        lab[list(chosen)] = True
        total += 1
        hits += abs(_o_minus_e(t, e, lab)) >= obs - 1e-9
    brute = hits / total
    ref = logrank_small_sample(t, e, c)
    assert ref.method == "exact"
    (km,) = [k for k in res.km if k.key == "km_PFS_by_lm_within_3y"]
    assert km.permutation is not None
    assert km.permutation.method == "exact"
    assert km.permutation.p_value == pytest.approx(brute, abs=1e-12)
    assert km.permutation.p_value == pytest.approx(ref.p_value, abs=1e-12)
    # beside the chi-square p (SPSS profile: "Log Rank (Mantel-Cox)"), which is smaller here
    chi2 = next(x for x in km.tests if x.weights == "logrank")
    assert chi2.p_value < km.permutation.p_value


def test_pfs_figure_and_methods_name_the_exact_p(run: Any) -> None:
    """Property: the KM annotation and caption and the methods paragraph name the exact p."""
    from survstudy.plots import plot_km_curves
    from survstudy.report.build import build_bundle
    from survstudy.tables import format as fmt

    _cohort, res = run
    (km,) = [k for k in res.km if k.key == "km_PFS_by_lm_within_3y"]
    plot = plot_km_curves(km)
    texts = [t.get_text() for ax in plot.figure.axes for t in ax.texts]
    want = f"Exact permutation p = {fmt.p_value(km.permutation.p_value)}"
    assert any(want in t for t in texts), texts
    import matplotlib.pyplot as plt

    plt.close(plot.figure)
    bundle = build_bundle(res)
    (fig,) = [f for f in bundle.figures if f.id == "km_PFS_by_lm_within_3y"]
    assert "exact permutation p" in fig.caption
    assert "exact permutation p" in bundle.methods

"""The chi-square and Kruskal–Wallis p of Table 1 without importing scipy.stats.

Kind of truth: naive oracle, ``scipy.stats.chi2.sf(statistic, df)`` and ``scipy.stats.kruskal``
(the p the code gave before it called ``scipy.special.chdtrc`` directly; the R agreement of
the tests is checked in test_descriptive_reference.py): the same p to the bit, and the
Kruskal–Wallis statistic to 1e-12 relative (scipy sums the squares in another form).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from scipy import stats

from survstudy.stats.descriptive import categorical_test, continuous_test


def test_chi_square_p_is_scipys() -> None:
    table = np.array([[30, 12, 9], [22, 25, 14], [8, 19, 31]])
    r = categorical_test(table)
    assert r.test == "Pearson's chi-square test"
    want = stats.chi2_contingency(table, correction=False)
    assert r.p_value == float(stats.chi2.sf(want.statistic, want.dof))


def test_kruskal_wallis_p_is_scipys() -> None:
    rng = np.random.default_rng(5)
    groups = [
        rng.integers(0, 40, n).astype(float) + shift for n, shift in ((300, 0), (250, 2), (90, 1))
    ]
    r = continuous_test(groups)
    want = stats.kruskal(*groups)
    assert r.test == "Kruskal–Wallis test"
    np.testing.assert_allclose(r.statistic, want.statistic, rtol=1e-12)
    assert r.p_value == float(stats.chi2.sf(r.statistic, 2))


def test_the_tests_do_not_import_scipy_stats() -> None:
    """Property: a chi-square and a Kruskal–Wallis test (Table 1 of a registry) leave
    scipy.stats unimported (its import costs 0.3-0.6 s)."""
    code = (
        "import sys, numpy as np\n"
        "from survstudy.stats.descriptive import categorical_test, continuous_test\n"
        "categorical_test(np.array([[30, 12], [22, 25], [8, 19]]))\n"
        "continuous_test([np.arange(60.0), np.arange(70.0) + 3, np.arange(80.0) % 7])\n"
        "print('scipy.stats' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

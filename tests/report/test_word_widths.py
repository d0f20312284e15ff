"""Word column widths of a wide table (report.word._widths).

Kind of truth: property (the widths fill the text width and no number column is
narrower than its longest cell), hand calculation (the 1.65 mm-per-character rule).
"""

from __future__ import annotations

import pytest

from survstudy.report.word import _widths


def test_wide_table_keeps_numbers_unwrapped() -> None:
    """Property: 8 columns (the bclm OS univariable table) fit 170 mm, numbers whole."""
    cols = [
        ("variable", "Variable"),
        ("hr", "HR (95% CI)"),
        ("p", "p"),
        ("firth_hr", "Firth HR (95% CI)"),
        ("firth_p", "Firth p"),
        ("logrank", "Log Rank (Mantel-Cox) p"),
        ("breslow", "Breslow (Generalized Wilcoxon) p"),
        ("detectable", "Detectable HR"),
    ]
    body = [
        (
            "summary",
            ["Tumour size-breast (per mm)", "0.997 (0.937–1.061)", "0.919", "", "", "", "", ""],
        ),
        ("level", ["III", "NE", "0.176", "2.92 (0.24–403.87)", "0.442", "", "", "31"]),
        ("label", ["Histological grade", "", "", "", "", "0.281", "0.285", ""]),
    ]
    w = _widths(cols, body)
    assert sum(w) == pytest.approx(170.0)
    assert w[0] >= 30.0
    # hand calculation: 19 characters × 1.65 mm + 5 mm padding = 36.35 mm
    assert w[1] >= 19 * 1.65 + 5.0 - 1e-9
    assert w[3] >= 18 * 1.65 + 5.0 - 1e-9
    for j in (2, 4, 5, 6):
        assert w[j] >= 5 * 1.65 + 5.0 - 1e-9


def test_narrow_table_unchanged() -> None:
    """Hand calculation: a 3-column table keeps header-word widths; label takes the rest."""
    cols = [("variable", "Variable"), ("hr", "HR (95% CI)"), ("p", "p")]
    body = [("summary", ["Age", "1.00 (0.92–1.08)", "0.995"])]
    w = _widths(cols, body)
    assert w[1] == pytest.approx(16 * 1.65 + 5.0)
    assert w[2] == pytest.approx(max(5 * 1.65, 1 * 1.95, 6.6) + 5.0)
    assert w[0] == pytest.approx(170.0 - w[1] - w[2])

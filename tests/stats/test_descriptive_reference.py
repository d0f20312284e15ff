"""stats.descriptive against R (tests/reference/descriptive.R -> descriptive.json) and by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from survstudy.errors import AnalysisError
from survstudy.stats import descriptive as d

REF = json.loads((Path(__file__).parents[1] / "reference" / "descriptive.json").read_text())
TOL = 1e-6


def test_fixture_records_r_version() -> None:
    """R reference: the fixture says which R made it."""
    assert REF["meta"]["R_version"].startswith("R version")


@pytest.mark.parametrize("case", REF["quantile"], ids=lambda c: f"{c['name']}-type{c['type']}")
def test_quantiles_match_r(case: dict) -> None:
    """R reference: quantile(x, probs, type = 7 / 6); mean and sd."""
    method = "r7" if case["type"] == 7 else "spss"
    for p, want in zip(case["probs"], case["value"], strict=True):
        assert d.quantile(case["x"], p, method) == pytest.approx(want, abs=TOL)
    s = d.describe(case["x"], method=method)
    assert s.mean == pytest.approx(case["mean"], abs=TOL)
    assert s.sd == pytest.approx(case["sd"], abs=TOL)


@pytest.mark.parametrize("case", REF["chisq"], ids=lambda c: f"{c['name']}-{c['correct']}")
def test_chisq_matches_r(case: dict) -> None:
    """R reference: chisq.test(m, correct = FALSE / TRUE) (Yates only for 2x2, as R)."""
    r = d.categorical_test(case["table"], method="chisq", correct=case["correct"])
    assert r.statistic == pytest.approx(case["statistic"], abs=TOL)
    assert r.df == case["df"]
    assert r.p_value == pytest.approx(case["p_value"], abs=TOL)
    yates = case["correct"] and np.shape(case["table"]) == (2, 2)
    assert ("Yates" in r.test) == yates


@pytest.mark.parametrize("case", REF["fisher"], ids=lambda c: c["name"])
def test_fisher_matches_r(case: dict) -> None:
    """R reference: fisher.test(m) for 2x2 and r x c (exact enumeration)."""
    r = d.categorical_test(case["table"], method="fisher")
    assert r.method == "exact"
    assert r.p_value == pytest.approx(case["p_value"], abs=TOL)


@pytest.mark.parametrize("case", REF["fisher"][2:], ids=lambda c: c["name"])
def test_fisher_monte_carlo_close_to_exact(case: dict) -> None:
    """R reference (approximate): the seeded Monte-Carlo p is within 4 SE of R's exact p."""
    r = d.fisher_exact_rxc(case["table"], max_tables=1, n_simulations=4000, seed=7)
    assert r.method == "monte-carlo"
    assert r.n_simulations == 4000
    p = case["p_value"]
    assert abs(r.p_value - p) < 4 * math.sqrt(p * (1 - p) / 4000) + 1e-3
    again = d.fisher_exact_rxc(case["table"], max_tables=1, n_simulations=4000, seed=7)
    assert again.p_value == r.p_value  # identity: seeded


@pytest.mark.parametrize("case", REF["wilcox"], ids=lambda c: c["name"])
def test_wilcox_matches_r(case: dict) -> None:
    """R reference: wilcox.test exact (no ties) and normal approximation with correction (ties)."""
    r = d.continuous_test([case["x"], case["y"]])
    assert r.test == "Mann–Whitney U test"
    assert r.method == ("exact" if case["name"] == "exact" else "asymptotic")
    assert r.statistic == pytest.approx(case["statistic"], abs=TOL)
    assert r.p_value == pytest.approx(case["p_value"], abs=TOL)


def test_kruskal_matches_r() -> None:
    """R reference: kruskal.test(list(g1, g2, g3))."""
    case = REF["kruskal"][0]
    r = d.continuous_test(case["groups"])
    assert r.test == "Kruskal–Wallis test"
    assert r.statistic == pytest.approx(case["statistic"], abs=TOL)
    assert r.df == case["df"]
    assert r.p_value == pytest.approx(case["p_value"], abs=TOL)


# --------------------------------------------------------------------------- hand calculations


def test_quantile_hand() -> None:
    """Hand calculation: x = 1..4. Type 7 Q1: h = 3*0.25 = 0.75 -> 1.75.
    Type 6 Q1: h = 5*0.25 - 1 = 0.25 -> 1.25; type 6 Q3: h = 2.75 -> 3.75."""
    x = [4, 1, 3, 2]
    assert d.quantile(x, 0.25, "r7") == 1.75
    assert d.quantile(x, 0.25, "spss") == 1.25
    assert d.quantile(x, 0.75, "spss") == 3.75
    assert d.quantile(x, 0.5, "spss") == 2.5
    assert d.quantile(x, 0.01, "spss") == 1.0  # clamped to the minimum


def test_describe_missing_hand() -> None:
    """Hand calculation: NaNs are counted apart; mean of 1, 2, 6 = 3, SD = sqrt(7)."""
    s = d.describe([1.0, float("nan"), 2.0, 6.0])
    assert (s.n, s.n_missing, s.median, s.min, s.max, s.mean) == (3, 1, 2.0, 1.0, 6.0, 3.0)
    assert s.sd == pytest.approx(math.sqrt(7.0))
    assert s.to_dict()["median"] == 2.0
    empty = d.describe([float("nan")])
    assert empty.n == 0
    assert empty.to_dict()["median"] is None


def test_categorical_counts_hand() -> None:
    """Hand calculation: 2 of 3 known = 66.67 %; the missing one is out of the denominator;
    a not-applicable patient is neither counted nor missing."""
    c = d.categorical_counts(["a", "b", None, "a", "x"], ["a", "b"], applies=[1, 1, 1, 1, 0])
    assert c.levels == ("a", "b")
    assert list(c.counts) == [2, 1]
    assert c.denominator == 3
    assert c.n_missing == 1
    assert c.n_not_applicable == 1
    assert c.percents[0] == pytest.approx(200 / 3)
    with pytest.raises(AnalysisError):
        d.categorical_counts(["a", "z"], ["a"])


def test_multiselect_hand() -> None:
    """Hand calculation (seed's 'Surgical type (axilla)'): 12/12 and 1/12 over one denominator."""
    m = d.multiselect_counts({"ALND": [True] * 12, "SLNB": [True] + [False] * 11})
    assert list(m.counts) == [12, 1]
    assert m.denominator == 12
    assert m.percents[0] == 100.0
    assert m.percents[1] == pytest.approx(100 / 12)


def test_fisher_2x2_hand() -> None:
    """Hand calculation: [[3,1],[1,3]], margins 4/4. P(k) = C(4,k)C(4,4-k)/C(8,4):
    1/70, 16/70, 36/70, 16/70, 1/70 -> p = (1+16+16+1)/70."""
    r = d.categorical_test([[3, 1], [1, 3]])
    assert r.test == "Fisher's exact test"
    assert r.p_value == pytest.approx(34 / 70)


def test_rule_fisher_when_expected_below_5() -> None:
    """Hand calculation: expected counts of [[10,10],[10,10]] are 10 -> chi-square, statistic 0;
    [[4,1],[1,4]] has expected 2.5 -> Fisher."""
    r = d.categorical_test([[10, 10], [10, 10]])
    assert r.test == "Pearson's chi-square test"
    assert r.statistic == 0.0
    assert r.p_value == pytest.approx(1.0)
    assert r.min_expected == 10.0
    assert d.categorical_test([[4, 1], [1, 4]]).test == "Fisher's exact test"


def test_rxc_enumeration_hand() -> None:
    """Hand calculation: a 2x3 table with one patient per column is a 3! / (1!2!) = 3 way
    split; [[1,0,0],[0,1,1]] and its two relabellings are equally likely -> p = 1."""
    r = d.fisher_exact_rxc([[1, 0, 0], [0, 1, 1]])
    assert r.p_value == pytest.approx(1.0)


def test_mann_whitney_exact_hand() -> None:
    """Hand calculation: x = (1,2), y = (3,4): U = 0, the most extreme of C(4,2) = 6 splits,
    two-sided p = 2/6."""
    r = d.continuous_test([[1, 2], [3, 4]])
    assert r.statistic == 0.0
    assert r.p_value == pytest.approx(1 / 3)
    assert r.footnote == "Mann–Whitney U test (exact)"


def test_degenerate_tables_are_not_errors() -> None:
    """Hand calculation: one category only (or one group) -> no test, NaN p, a warning."""
    r = d.categorical_test([[3, 0], [4, 0]])
    assert r.test == "not computed"
    assert math.isnan(r.p_value)
    assert r.warnings[0].code == "TEST-NOT-COMPUTABLE"
    r2 = d.continuous_test([[1.0, 2.0], []])
    assert r2.test == "not computed"
    assert r2.to_dict()["p_value"] is None


def test_fisher_rxc_naive_oracle() -> None:
    """Naive oracle: the 2x3 p by brute force over every assignment of column labels
    (all permutations of 8 patients; each table's probability is its share of them)."""
    import itertools
    from collections import Counter

    table = [[3, 1, 0], [0, 2, 2]]
    rows = [0, 0, 0, 0, 1, 1, 1, 1]
    cols = [0, 0, 0, 1, 1, 1, 2, 2]
    counts: Counter = Counter()
    for perm in itertools.permutations(cols):
        t = [[0] * 3 for _ in range(2)]
        for r_, c_ in zip(rows, perm, strict=True):
            t[r_][c_] += 1
        counts[tuple(map(tuple, t))] += 1
    total = sum(counts.values())
    p_obs = counts[tuple(map(tuple, table))] / total
    want = sum(k for k in counts.values() if k / total <= p_obs * (1 + 1e-7)) / total
    assert d.fisher_exact_rxc(table).p_value == pytest.approx(want, abs=1e-12)


def test_parametric_match_r() -> None:
    """R reference: t.test(x, y) (Welch) and oneway.test(var.equal = TRUE)."""
    w = REF["welch"]
    r = d.continuous_test([w["x"], w["y"]], parametric=True)
    assert r.test == "Welch's t-test"
    assert r.statistic == pytest.approx(w["statistic"], abs=TOL)
    assert r.p_value == pytest.approx(w["p_value"], abs=TOL)
    a = REF["anova"]
    r2 = d.continuous_test(a["groups"], parametric=True)
    assert r2.test == "One-way ANOVA"
    assert r2.statistic == pytest.approx(a["statistic"], abs=TOL)
    assert r2.p_value == pytest.approx(a["p_value"], abs=TOL)

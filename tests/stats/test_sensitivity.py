"""Sensitivity models for non-proportional hazards (stats.sensitivity).

Kinds of truth: R reference (tests/reference/reviewer.R: ``coxph(... + strata(grade, meno))`` on
GBSG — the review's sensitivity model, hormonal-therapy HR 0.70 (0.54-0.90), global PH p 0.247 —
and ``survSplit`` of veteran at two cuts), and hand calculations.
Tolerance: 1e-6 relative for the Cox fit (iterative on both sides; observed < 6e-13); the split
is exact (same numbers, compared for equality).
"""

from __future__ import annotations

import numpy as np
import pytest

from survstudy.errors import AnalysisError
from survstudy.stats.sensitivity import by_period, split_follow_up, stratified_sensitivity

from ._reviewer_ref import close, data, design, fixtures

RTOL = 1e-6


def _gbsg_sensitivity(**kw):
    g = data("gbsg")
    x, assign, names = design("gbsg_full")
    return stratified_sensitivity(
        x,
        g.rfstime.to_numpy(float),
        g.status.to_numpy(),
        assign=assign,
        term_names=names,
        categorical={"hormon_f", "meno_f", "grade_f"},
        **kw,
    )


def test_stratified_refit_matches_r() -> None:
    """R reference: the offending terms of the demo model are age, meno, grade, PgR and ER
    (cox.zph p < 0.05); the categorical ones (meno, grade) become strata(grade, meno); the refit's
    coefficients, HR CIs and cox.zph table equal R's."""
    s = _gbsg_sensitivity()
    assert s is not None
    fx = fixtures()["zph"]["gbsg_strat"]
    assert s.offending == ("age10", "meno_f", "grade_f", "pgr100", "er100")
    assert s.strata == ("meno_f", "grade_f")
    assert s.not_stratified == ("age10", "pgr100", "er100")
    close(s.fit.coef, fx["coef"], RTOL)
    close([t.hr for t in s.fit.terms], fx["hr"], RTOL)
    close([t.lower for t in s.fit.terms], fx["lower"], RTOL)
    close([t.upper for t in s.fit.terms], fx["upper"], RTOL)
    close(s.fit.loglik, fx["loglik"][1], 1e-9)
    close([t.chisq for t in s.ph.terms] + [s.ph.global_chisq], fx["chisq"], RTOL)
    hormon = s.fit.terms[0]
    assert [round(v, 2) for v in (hormon.hr, hormon.lower, hormon.upper)] == [0.70, 0.54, 0.90]
    assert round(s.ph.global_p, 3) == 0.247
    d = s.to_dict()
    assert d["kind"] == "stratified"
    assert d["strata"] == ["meno_f", "grade_f"]
    assert len(d["rows"]) == 6
    assert d["ph_test"]["global"]["p_value"] == s.ph.global_p


def test_refit_without_concordance_is_the_same_refit() -> None:
    """R reference (as above) for the refit without its concordance: the same coefficients
    and PH test as R's, the to_dict the same as with the concordance, and no concordance."""
    with_c, without = _gbsg_sensitivity(), _gbsg_sensitivity(concordance=False)
    assert with_c is not None
    assert without is not None
    assert with_c.fit.concordance is not None
    assert without.fit.concordance is None
    fx = fixtures()["zph"]["gbsg_strat"]
    close(without.fit.coef, fx["coef"], RTOL)
    close([t.chisq for t in without.ph.terms] + [without.ph.global_chisq], fx["chisq"], RTOL)
    assert without.to_dict() == with_c.to_dict()


def test_no_offending_categorical_term_gives_none() -> None:
    """Hand-chosen threshold: at alpha = 0.004 only age (PH p 0.0012) offends, and it is
    continuous, so no stratified model is fitted."""
    assert _gbsg_sensitivity(alpha=0.004) is None


def test_all_terms_offending_is_refused() -> None:
    """Hand-made data: stratifying on the only covariate leaves nothing to estimate."""
    from survstudy.stats.coxzph import PhTerm, PhTestResult

    ph = PhTestResult((PhTerm("g", 9.0, 1, 0.001),), 9.0, 1, 0.001)
    x = np.array([0.0, 1, 0, 1, 0, 1])
    with pytest.raises(AnalysisError, match="no hazard ratio is left"):
        stratified_sensitivity(
            x, [1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 1, 1], assign=["g"], categorical={"g"}, ph=ph
        )


def test_split_matches_survsplit() -> None:
    """R reference: survSplit(Surv(time, status) ~ ., veteran, cut = c(80, 200)): the pieces'
    (tstart, time], status and tgroup, rows in (id, tstart) order; times equal to a cut stay in
    the earlier period."""
    fx = fixtures()["split"]
    v = data("veteran")
    s = split_follow_up(v.time.to_numpy(float), v.status.to_numpy(), fx["cuts"])
    assert np.array_equal(s.row + 1, fx["id"])
    assert np.array_equal(s.start, fx["tstart"])
    assert np.array_equal(s.stop, fx["tstop"])
    assert np.array_equal(s.event.astype(int), fx["status"])
    assert np.array_equal(s.period + 1, fx["period"])
    assert (v.time == fx["cuts"][0]).any()  # the fixture does test a time equal to a cut


def test_split_by_hand_with_start_times() -> None:
    """Hand calculation: (0, 5] stays whole; (0, 12] with cuts 5, 10 becomes (0,5], (5,10],
    (10,12] with the event on the last; (6, 8] starts in period 1; by_period puts x in its
    period's column."""
    s = split_follow_up([5.0, 12.0, 8.0], [1, 1, 0], [10.0, 5.0], start=[0.0, 0.0, 6.0])
    assert s.row.tolist() == [0, 1, 1, 1, 2]
    assert s.start.tolist() == [0, 0, 5, 10, 6]
    assert s.stop.tolist() == [5, 5, 10, 12, 8]
    assert s.event.tolist() == [True, False, False, True, False]
    assert s.period.tolist() == [0, 0, 1, 2, 1]
    np.testing.assert_array_equal(
        by_period([2.0, 3.0, 4.0], s),
        [[2, 0, 0], [3, 0, 0], [0, 3, 0], [0, 0, 3], [0, 4, 0]],
    )


def test_stratum_codes_are_those_of_row_wise_unique() -> None:
    """Naive oracle: ``np.unique(columns, axis=0, return_inverse=True)`` (the rows sorted
    lexicographically, compared whole), which the per-column mixed-radix codes replace: the
    same code for every row, on 0/1 dummies with a prior stratum column, on negative and
    non-integer values, with a signed zero and with one column."""
    from survstudy.stats.sensitivity import _codes

    rng = np.random.default_rng(7)
    cases = [
        np.column_stack(
            (rng.integers(0, 4, 5000), rng.random(5000) < 0.3, rng.integers(0, 3, 5000))
        ).astype(float),
        np.column_stack((rng.normal(size=400).round(1), rng.integers(-2, 2, 400) * 0.5)),
        np.array([[0.0, 1.0], [-0.0, 1.0], [1.0, 0.0], [0.0, 0.0]]),
        rng.integers(0, 5, (50, 1)).astype(float),
    ]
    for cols in cases:
        _, want = np.unique(cols, axis=0, return_inverse=True)
        np.testing.assert_array_equal(_codes(cols), np.asarray(want).ravel())


def test_existing_strata_are_crossed_with_the_new_ones() -> None:
    """Identity: refitting the GBSG model already stratified on a variable that is constant
    (one stratum) gives the refit without strata: strata(const, grade, meno) = strata(grade,
    meno). Exercises the coding of the existing strata."""
    g = data("gbsg")
    x, assign, names = design("gbsg_full")
    kw = dict(assign=assign, term_names=names, categorical={"hormon_f", "meno_f", "grade_f"})
    t, e = g.rfstime.to_numpy(float), g.status.to_numpy()
    plain = stratified_sensitivity(x, t, e, **kw)
    crossed = stratified_sensitivity(x, t, e, strata=np.full(t.size, 3), **kw)
    assert plain is not None
    assert crossed is not None
    assert crossed.to_dict() == plain.to_dict()

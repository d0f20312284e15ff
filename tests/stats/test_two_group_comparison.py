"""Absolute effects of two groups (stats.comparison) and the by-group KM summary.

Kinds of truth: R reference (tests/reference/reviewer.R: ``summary(survfit(...), times=)``
per group, the difference and its plain Wald CI with independent Greenwood variances written
out in R; ``print(survfit(...), rmean = tau)`` per group, which the R script also checks
against the Klein & Moeschberger formula written out; survRM2's unadjusted RMST-difference
formula written out, as survRM2 is not installed), and hand calculations.
Tolerance: 1e-9 relative — every quantity is a closed form of the same counts in R and here
(no iteration), so only rounding differs (observed: < 3e-13).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from survstudy.stats.comparison import compare_two_groups
from survstudy.stats.km import kaplan_meier

from ._reviewer_ref import arr, close, data, fixtures

RTOL = 1e-9
Z = NormalDist().inv_cdf(0.975)


def _curves(name: str):
    fx = fixtures()["comparison"][name]
    d = data(name.split("_")[0])
    t = d[fx["time"]].to_numpy(float) / fx["scale"]
    e = d[fx["event"]].to_numpy()
    g = d[fx["by"]].to_numpy()
    ref = kaplan_meier(t[g == fx["reference"]], e[g == fx["reference"]])
    grp = kaplan_meier(t[g == fx["group"]], e[g == fx["group"]])
    return fx, ref, grp


NAMES = sorted(fixtures()["comparison"])


@pytest.mark.parametrize("name", NAMES)
def test_survival_difference_matches_r(name: str) -> None:
    """R reference: S_group(t) - S_reference(t), SE = sqrt(se_g^2 + se_r^2), plain Wald CI."""
    fx, ref, grp = _curves(name)
    c = compare_two_groups(ref, grp, fx["times"], tau=fx["tau"])
    close(c.at.time, fx["at"]["time"], RTOL)
    close(c.at.difference, fx["at"]["difference"], RTOL)
    close(c.at.std_err, fx["at"]["std_err"], RTOL)
    close(c.at.lower, fx["at"]["lower"], RTOL)
    close(c.at.upper, fx["at"]["upper"], RTOL)
    close(c.at.reference_survival, fx["per_group"]["reference"]["survival"], RTOL)
    close(c.at.group_survival, fx["per_group"]["group"]["survival"], RTOL)
    assert c.at.estimable.all()
    assert not c.warnings


@pytest.mark.parametrize("name", NAMES)
def test_rmst_difference_matches_r(name: str) -> None:
    """R reference: per-group rmean and se(rmean) of print(survfit, rmean = tau); the difference,
    its SE, Wald CI and two-sided p by survRM2's formula written out in R."""
    fx, ref, grp = _curves(name)
    r = compare_two_groups(ref, grp, fx["times"], tau=fx["tau"]).rmst
    assert r is not None
    assert r.estimable
    pg = fx["per_group"]
    close(r.reference_rmst, pg["reference"]["rmean"], RTOL)
    close(r.reference_std_err, pg["reference"]["rmean_se"], RTOL)
    close(r.group_rmst, pg["group"]["rmean"], RTOL)
    close(r.group_std_err, pg["group"]["rmean_se"], RTOL)
    for key in ("difference", "std_err", "lower", "upper", "p_value"):
        close(getattr(r, key), fx["rmst"][key], RTOL)


def test_gbsg_review_numbers() -> None:
    """Published (the statistical review, Appendix A, R 4.2.2): 60-month RFS difference
    14.4 points (5.3-23.6) and RMST difference at 60 months 4.9 months (1.8-8.1), at the
    review's printed precision."""
    _fx, ref, grp = _curves("gbsg_hormon")
    c = compare_two_groups(ref, grp, [60], tau=60)
    assert [round(100 * v, 1) for v in (c.at.difference[0], c.at.lower[0], c.at.upper[0])] == [
        14.4,
        5.3,
        23.6,
    ]
    r = c.rmst
    assert r is not None
    assert [round(v, 1) for v in (r.difference, r.lower, r.upper)] == [4.9, 1.8, 8.1]  # type: ignore[arg-type]


def _hand_curves():
    # reference: deaths at 1, 3, 4, censored at 2; group: deaths at 2, 3, censored at 5, 6
    ref = kaplan_meier([1, 2, 3, 4], [1, 0, 1, 1])
    grp = kaplan_meier([2, 3, 5, 6], [1, 1, 0, 0])
    return ref, grp


def test_difference_and_rmst_by_hand() -> None:
    """Hand calculation. Reference S: 0.75 from 1, 0.375 from 3, 0 at 4; group S: 0.75 from 2,
    0.5 from 3. Greenwood Var(S) = S^2 sum d/(n(n-d)); RMST = area up to tau; K&M variance
    sum A_j^2 d_j/(n_j(n_j-d_j)) with A_j the area from t_j to tau."""
    ref, grp = _hand_curves()
    c = compare_two_groups(ref, grp, [2.5, 3.5], tau=3.5)
    var_r = [0.75**2 / 12, 0.375**2 * (1 / 12 + 1 / 2)]
    var_g = [0.75**2 / 12, 0.5**2 * (1 / 12 + 1 / 6)]
    diff = [0.75 - 0.75, 0.5 - 0.375]
    se = [math.sqrt(a + b) for a, b in zip(var_r, var_g, strict=True)]
    np.testing.assert_allclose(c.at.difference, diff, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(c.at.std_err, se, rtol=1e-12)
    np.testing.assert_allclose(c.at.lower, np.subtract(diff, Z * np.array(se)), rtol=1e-12)
    # RMST at 3.5: reference 1*1 + 0.75*2 + 0.375*0.5; group 1*2 + 0.75*1 + 0.5*0.5
    rm_r, rm_g = 1 + 0.75 * 2 + 0.375 * 0.5, 2 + 0.75 + 0.5 * 0.5
    v_r = (0.75 * 2 + 0.375 * 0.5) ** 2 / 12 + (0.375 * 0.5) ** 2 / 2
    v_g = (0.75 + 0.5 * 0.5) ** 2 / 12 + (0.5 * 0.5) ** 2 / 6
    r = c.rmst
    assert r is not None
    assert r.reference_rmst == pytest.approx(rm_r, rel=1e-12)
    assert r.group_rmst == pytest.approx(rm_g, rel=1e-12)
    assert r.difference == pytest.approx(rm_g - rm_r, rel=1e-12)
    assert r.std_err == pytest.approx(math.sqrt(v_r + v_g), rel=1e-12)
    zs = (rm_g - rm_r) / math.sqrt(v_r + v_g)
    assert r.p_value == pytest.approx(2 * NormalDist().cdf(-abs(zs)), rel=1e-12)


def test_tau_beyond_follow_up_is_refused() -> None:
    """Hand calculation: the reference group's last follow-up is 4, so tau = 5 gives no number,
    only None values and an RMST-TAU-BEYOND-FOLLOW-UP warning; a landmark at 5 likewise."""
    ref, grp = _hand_curves()
    c = compare_two_groups(ref, grp, [3.5, 5], tau=5)
    r = c.rmst
    assert r is not None
    assert not r.estimable
    d = r.to_dict()
    for key in ("difference", "lower", "upper", "p_value"):
        assert d[key] is None
    assert [w.code for w in r.warnings] == ["RMST-TAU-BEYOND-FOLLOW-UP"]
    assert r.warnings[0].context["reference_last_time"] == 4.0
    rec = c.to_dict()["at"]
    assert rec[0]["difference"] is not None
    assert rec[1]["difference"] is None
    assert rec[1]["lower"] is None
    assert sorted(w.code for w in c.warnings) == [
        "LANDMARK-BEYOND-FOLLOW-UP",
        "RMST-TAU-BEYOND-FOLLOW-UP",
    ]
    # tau equal to the shorter follow-up is allowed (survRM2's rule: tau <= min of the last times)
    assert compare_two_groups(ref, grp, [4], tau=4).rmst.estimable  # type: ignore[union-attr]


def test_result_shape_for_results_json() -> None:
    """Contract of issue 22: comparison = {at: [{time, difference, lower, upper}],
    rmst: {tau, difference, lower, upper, p_value}} (extra keys allowed); tau defaults to the
    last landmark."""
    ref, grp = _hand_curves()
    d = compare_two_groups(ref, grp, [2.5, 3.5]).to_dict()
    assert {"time", "difference", "lower", "upper"} <= set(d["at"][0])
    assert {"tau", "difference", "lower", "upper", "p_value"} <= set(d["rmst"])
    assert d["rmst"]["tau"] == 3.5


def test_group_summary_matches_r() -> None:
    """R reference (tests/reference/gbsg.R, km_hormon): n, events, median with its CI and the
    landmark rates with CI per group, from KaplanMeierResult.summary()."""
    import json

    from ._reviewer_ref import REF

    gb = json.loads((REF / "gbsg.json").read_text())["km_hormon"]
    _, ref, grp = _curves("gbsg_hormon")
    for i, km in enumerate((ref, grp)):
        s = km.summary([12, 36, 60]).to_dict()
        assert s["n"] == gb["n"][i]
        assert s["events"] == gb["events"][i]
        assert s["censored"] == gb["n"][i] - gb["events"][i]
        got = [np.nan if s[k] is None else s[k] for k in ("median", "median_lower", "median_upper")]
        want = arr([gb["median"][i], gb["median_lower"][i], gb["median_upper"][i]])
        close(got, want, 1e-9)
        close([a["survival"] for a in s["at"]], gb["at_survival"][3 * i : 3 * i + 3], 1e-9)
        close([a["lower"] for a in s["at"]], gb["at_lower"][3 * i : 3 * i + 3], 1e-9)
        close([a["upper"] for a in s["at"]], gb["at_upper"][3 * i : 3 * i + 3], 1e-9)
        assert [a["n_risk"] for a in s["at"]] == gb["at_n_risk"][3 * i : 3 * i + 3]


def test_difference_limits_truncated_to_the_possible_range() -> None:
    """Two patients per group, by hand: reference one event at 1 (S(2) = 0.5),
    group no event before 2 (S(2) = 1, Var = 0). Greenwood: Var_r = 0.5^2 * 1/(2*1) = 0.125;
    difference 1 - 0.5 = 0.5, Wald upper 0.5 + z*sqrt(0.125) = 1.193 > 1: shown as 1 with a
    DIFFERENCE-CI-TRUNCATED warning; the lower limit 0.5 - 0.693 = -0.193 is untouched."""
    ref = kaplan_meier(np.array([1.0, 3.0]), np.array([1, 0]))
    grp = kaplan_meier(np.array([3.0, 4.0]), np.array([0, 0]))
    c = compare_two_groups(ref, grp, [2.0], rmst=False)
    se = math.sqrt(0.5**2 * (1 / (2 * 1)))
    assert c.at.difference[0] == pytest.approx(0.5, rel=1e-12)
    assert c.at.std_err[0] == pytest.approx(se, rel=1e-12)
    assert c.at.lower[0] == pytest.approx(0.5 - Z * se, rel=1e-12)
    assert c.at.upper[0] == 1.0
    assert [w.code for w in c.warnings] == ["DIFFERENCE-CI-TRUNCATED"]

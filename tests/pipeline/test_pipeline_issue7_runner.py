"""Issue 7 in the runner: profile-likelihood Cox CIs, permutation log-rank, table numbering.

A 12-patient synthetic series (time/event columns, no tied times) with a two-group factor
``grp`` (3 events in A, 1 in B: every group expects fewer than 5 events) and a continuous
marker ``x``.

Kinds of truth:
- naive oracle: the Cox partial log-likelihood written out in the test (no ties, so every
  ties method gives the same) and its profile limits found by root finding; the log-rank
  O − E written out per event time and its permutation distribution by brute-force
  enumeration of every assignment of the group labels;
- identity: the runner's number equals an independent call of the stats function
  (``logrank_small_sample``) on the same arrays;
- property: labels, footnotes, the methods paragraph and the table numbers.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy.optimize import brentq, minimize_scalar

from survstudy.data import build_cohort
from survstudy.pipeline import run_study
from survstudy.spec import load_spec
from survstudy.tables.study import study_tables, univariable_table

CHI2_95 = 3.841458820694124  # published chi-square(1) 0.95 quantile

# time (months, all distinct), status, group, marker
ROWS = [
    (2, 1, "A", 3.1),
    (4, 1, "A", 2.2),
    (5, 0, "B", 1.0),
    (7, 1, "B", 2.9),
    (9, 0, "A", 0.5),
    (11, 1, "A", 4.0),
    (13, 0, "B", 1.9),
    (16, 0, "B", 0.7),
    (19, 0, "A", 2.5),
    (23, 0, "B", 1.2),
    (27, 0, "B", 3.3),
    (31, 0, "B", 0.9),
]

SPEC = """\
title: Issue 7 series (synthetic)
synthetic: true
data: {{path: data.csv}}
units: months
variables:
  grp: {{type: categorical, label: Group, levels: [B, A]}}
  x: {{type: continuous, label: Marker}}
endpoints:
  OS: {{label: Overall survival, time: t, event: status}}
analyses:
{table1}  survival: {{endpoints: [OS]}}
  univariable:
    endpoints: [OS]
    factors: [grp, {{x: {{per: 2}}}}]
{uni_extra}
  multivariable:
    - {{name: Both, endpoint: OS, covariates: [grp, x]{model_extra}}}
  km:
    - {{endpoint: OS, by: grp{km_extra}}}
"""


def _run(
    tmp_path: Path,
    *,
    table1: bool = True,
    uni_extra: str = "",
    model_extra: str = "",
    km_extra: str = "",
) -> Any:
    tmp_path.mkdir(parents=True, exist_ok=True)
    lines = ["t,status,grp,x"] + [f"{t},{s},{g},{x}" for t, s, g, x in ROWS]
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = SPEC.format(
        table1="  table1: {variables: [grp, x]}\n" if table1 else "",
        uni_extra=uni_extra,
        model_extra=model_extra,
        km_extra=km_extra,
    )
    (tmp_path / "study.yaml").write_text(text, encoding="utf-8")
    spec = load_spec(tmp_path / "study.yaml")
    return run_study(spec, build_cohort(spec))


def _arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    t = np.array([r[0] for r in ROWS], dtype=float)
    e = np.array([r[1] for r in ROWS], dtype=float)
    g = np.array([1.0 if r[2] == "A" else 0.0 for r in ROWS])
    x = np.array([r[3] for r in ROWS], dtype=float)
    return t, e, g, x


# --------------------------------------------------------------------------- oracles


def naive_loglik(beta: float, x: np.ndarray, t: np.ndarray, e: np.ndarray) -> float:
    """Cox partial log-likelihood, one covariate, distinct times: sum over events of
    beta·x_i − log sum_{t_j >= t_i} exp(beta·x_j)."""
    total = 0.0
    for i in range(t.size):
        if e[i]:
            risk = t >= t[i]
            total += beta * x[i] - math.log(float(np.sum(np.exp(beta * x[risk]))))
    return total


def naive_profile_limits(x: np.ndarray, t: np.ndarray, e: np.ndarray) -> tuple[float, float]:
    """HR limits where 2(l(beta_hat) − l(b)) = chi2_1(0.95), by root finding."""
    opt = minimize_scalar(lambda b: -naive_loglik(b, x, t, e), bounds=(-10, 10), method="bounded")
    bhat, lmax = float(opt.x), -float(opt.fun)

    def f(b: float) -> float:
        return 2 * (lmax - naive_loglik(b, x, t, e)) - CHI2_95

    lo = brentq(f, bhat - 20, bhat, xtol=1e-12)
    hi = brentq(f, bhat, bhat + 20, xtol=1e-12)
    return math.exp(lo), math.exp(hi)


def naive_o_minus_e(t: np.ndarray, e: np.ndarray, in1: np.ndarray) -> float:
    """Log-rank O − E of group 1: sum over distinct event times of d1 − d·n1/n."""
    u = 0.0
    for s in np.unique(t[e == 1]):
        risk = t >= s
        d = float(np.sum((t == s) & (e == 1)))
        d1 = float(np.sum((t == s) & (e == 1) & in1))
        u += d1 - d * float(np.sum(risk & in1)) / float(np.sum(risk))
    return u


def brute_force_permutation_p(t: np.ndarray, e: np.ndarray, in1: np.ndarray) -> float:
    """Two-sided exact permutation p: share of all C(n, n1) label assignments with
    |O − E| at least the observed one."""
    n, n1 = t.size, int(in1.sum())
    obs = abs(naive_o_minus_e(t, e, in1))
    hits = total = 0
    for chosen in itertools.combinations(range(n), n1):
        lab = np.zeros(n, dtype=bool)
        lab[list(chosen)] = True
        total += 1
        hits += abs(naive_o_minus_e(t, e, lab)) >= obs - 1e-9
    return hits / total


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def default(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return _run(tmp_path_factory.mktemp("default"))


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return _run(
        tmp_path_factory.mktemp("profile"),
        uni_extra="    ci: profile",
        model_extra=", ci: profile",
    )


# --------------------------------------------------------------------------- profile CIs


def test_profile_ci_equals_naive_root_finding(profile: Any) -> None:
    """Naive oracle: profile-likelihood limits of the binary factor and of x (per unit and
    per 2 units = limits squared) from the partial likelihood written out here."""
    t, e, g, x = _arrays()
    rows = profile.univariable["OS"].rows
    level = next(r for r in rows if r.term == "grp[A]")
    lo, hi = naive_profile_limits(g, t, e)
    assert level.ci_method == "profile"
    assert level.lower == pytest.approx(lo, rel=1e-5)
    assert level.upper == pytest.approx(hi, rel=1e-5)
    lo_x, hi_x = naive_profile_limits(x, t, e)
    per1 = next(r for r in rows if r.variable == "x" and r.per == 1)
    per2 = next(r for r in rows if r.variable == "x" and r.per == 2)
    assert per1.lower == pytest.approx(lo_x, rel=1e-5)
    assert per1.upper == pytest.approx(hi_x, rel=1e-5)
    assert per2.lower == pytest.approx(lo_x**2, rel=1e-5)
    assert per2.upper == pytest.approx(hi_x**2, rel=1e-5)
    # the profile interval is not the Wald interval (the point: they differ with 4 events)
    z = 1.959963984540054
    assert level.lower != pytest.approx(math.exp(level.coef - z * level.se), rel=1e-3)


def test_profile_ci_reported_everywhere(profile: Any, default: Any) -> None:
    """Property: results.json, the table footnotes and the methods paragraph name the method."""
    d = profile.to_dict()
    assert d["univariable_summary"]["OS"]["ci"] == "profile"
    assert d["multivariable"][0]["ci"] == "profile"
    assert {r["ci_method"] for r in d["univariable"]["OS"] if r["term"]} == {"profile"}
    assert {r["ci_method"] for r in d["multivariable"][0]["rows"] if r["term"]} == {"profile"}
    assert d["methods"]["cox_ci"] == ["profile"]
    tables = {t.id: t for t in study_tables(profile)}
    for key in ("univariable_OS", "multivariable_Both"):
        assert any("profile likelihood" in f for f in tables[key].footnotes), key
    assert any("profile likelihood" in s for s in profile.methods["sentences"])
    # default with 4 events (fewer than 10): profile limits as well (issue 22 item 5), and
    # said so; the Wald default with 10 events or more: tests/pipeline/test_pipeline_issue22.py
    assert default.to_dict()["univariable_summary"]["OS"]["ci"] == "profile"
    assert default.to_dict()["multivariable"][0]["ci"] == "profile"
    rows = [r for r in default.multivariable[0].rows if r.kind in ("level", "continuous")]
    assert rows
    assert all(any(w.startswith("Only 4 events") for w in r.warnings) for r in rows)
    assert ("FEW-EVENTS", "Both") in {(w.code, w.model) for w in default.warnings}
    assert any("profile likelihood" in f for f in univariable_table(default, "OS").footnotes)
    assert any("fewer than 10 events" in s for s in default.methods["sentences"])


def test_multivariable_profile_ci_from_stats(profile: Any) -> None:
    """Identity: the model's limits equal stats.firth.profile_ci on the same design."""
    from survstudy.stats.firth import profile_ci

    t, e, g, x = _arrays()
    lo, hi, _w = profile_ci(np.column_stack([g, x]), t, e, ties="breslow")
    rows = {r.term: r for r in profile.multivariable[0].rows if r.term and r.per in (None, 1)}
    assert rows["grp[A]"].lower == pytest.approx(math.exp(lo[0]), rel=1e-6)
    assert rows["grp[A]"].upper == pytest.approx(math.exp(hi[0]), rel=1e-6)
    assert rows["x"].upper == pytest.approx(math.exp(hi[1]), rel=1e-6)


# --------------------------------------------------------------------------- permutation


def test_auto_permutation_p_equals_brute_force(default: Any) -> None:
    """Brute-force oracle: all C(12, 5) = 792 assignments of the labels; identity with
    an independent call of logrank_small_sample."""
    from survstudy.stats.exact import logrank_small_sample

    t, e, g, _x = _arrays()
    expected = brute_force_permutation_p(t, e, g == 1)
    ref = logrank_small_sample(t, e, g)
    assert ref.method == "exact"
    header = next(r for r in default.univariable["OS"].rows if r.kind == "header")
    assert header.permutation is not None
    assert header.permutation.method == "exact"
    assert header.permutation.label == "exact permutation p"
    assert header.permutation.p_value == pytest.approx(expected, abs=1e-12)
    assert header.permutation.p_value == pytest.approx(ref.p_value, abs=1e-12)
    km = default.km[0]
    assert km.permutation is not None
    assert km.permutation.p_value == pytest.approx(expected, abs=1e-12)


def test_permutation_in_table_methods_and_json(default: Any) -> None:
    """Property: a labelled column beside the log-rank p, a footnote, the methods
    sentence, the figure caption and results.json keys."""
    from survstudy.report.build import figure_specs
    from survstudy.tables import format as fmt

    t = univariable_table(default, "OS")
    keys = [c.key for c in t.columns]
    # 4 events (fewer than 10): the permutation p is the primary p, before the chi-square one
    assert keys.index("permutation") == keys.index("logrank") - 1
    assert next(c for c in t.columns if c.key == "permutation").header == "Exact permutation p"
    header = next(r for r in default.univariable["OS"].rows if r.kind == "header")
    row = next(r for r in t.rows if r.text("variable") == "Group")
    assert row.text("permutation") == fmt.p_value(header.permutation.p_value)
    assert any(f.startswith("Exact permutation p:") for f in t.footnotes)
    assert any("exact permutation p" in s for s in default.methods["sentences"])
    (cap,) = [f.caption for f in figure_specs(default) if f.id.startswith("km_OS_by")]
    assert "exact permutation p" in cap
    d = default.to_dict()
    rec = next(r for r in d["univariable"]["OS"] if r["kind"] == "header")
    assert rec["permutation"]["method"] == "exact"
    assert rec["permutation"]["option"] == "auto"
    assert d["km"][0]["permutation"]["label"] == "exact permutation p"


def test_monte_carlo_option_converges_to_exact(tmp_path: Path) -> None:
    """Brute-force oracle: the seeded Monte-Carlo p (20 000 permutations) lies within four
    binomial standard errors of the exact p (over seeds 0–9 its mean is 0.1437 against the
    exact 0.1427); its 95% Clopper–Pearson interval covers the exact p at this seed (a
    95% interval: seed 7, for one, does not); the same seed gives the same p."""
    t, e, g, _x = _arrays()
    exact = brute_force_permutation_p(t, e, g == 1)
    extra = "    permutation: monte-carlo\n    seed: 1\n    resamples: 20000"
    res = _run(tmp_path / "a", uni_extra=extra)
    header = next(r for r in res.univariable["OS"].rows if r.kind == "header")
    mc = header.permutation
    assert mc.method == "monte-carlo"
    assert mc.n_resamples == 20000
    assert mc.seed == 1
    assert abs(mc.p_value - exact) < 4 * math.sqrt(exact * (1 - exact) / 20000)
    assert mc.p_lower <= exact <= mc.p_upper
    t_model = univariable_table(res, "OS")
    assert next(c for c in t_model.columns if c.key == "permutation").header == "Permutation p"
    again = _run(tmp_path / "b", uni_extra=extra)
    h2 = next(r for r in again.univariable["OS"].rows if r.kind == "header")
    assert h2.permutation.p_value == mc.p_value


def test_permutation_never(tmp_path: Path) -> None:
    """Property: never -> no permutation p, no column, no methods sentence."""
    res = _run(tmp_path, uni_extra="    permutation: never", km_extra=", permutation: never")
    assert all(r.permutation is None for r in res.univariable["OS"].rows)
    assert res.km[0].permutation is None
    assert "permutation" not in [c.key for c in univariable_table(res, "OS").columns]
    assert not any("permutation" in s for s in res.methods["sentences"])


# --------------------------------------------------------------------------- numbering


def test_table_numbers_without_table1(tmp_path: Path) -> None:
    """Property: numbered 1, 2, 3, 4 in order of appearance without Table 1 (was "Table 2"
    twice); the survival-by-group table of the KM figure by grp follows the summary."""
    res = _run(tmp_path, table1=False)
    titles = [t.title for t in study_tables(res) if t.title.startswith("Table")]
    numbers = [int(title.split()[1].rstrip(".")) for title in titles]
    assert numbers == [1, 2, 3, 4]
    assert titles[0] == "Table 1. Survival"
    assert titles[1] == "Table 2. Overall survival by group"


def test_table_numbers_with_table1(default: Any) -> None:
    """Property: with Table 1 the survival summary stays Table 2, then 3, 4, 5."""
    titles = [t.title for t in study_tables(default) if t.title.startswith("Table")]
    assert [int(x.split()[1].rstrip(".")) for x in titles] == [1, 2, 3, 4, 5]

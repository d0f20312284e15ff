"""Counting-process (start, stop] analyses against R (fixtures from tests/reference/timedep.R).

Kind of truth: R reference (survival 3.5-3; each fixture records its R call and the
versions). Data: survival::heart, survival::jasa (split with ``tmerge`` in R and with
:func:`split_at_exposure` here), survival::mgus2 on the age scale (delayed entry).
Agreement required: 1e-6 relative (R's values are printed with 15 significant digits,
the iterations stop at a relative log-likelihood change of 1e-9, so estimates agree
to ~1e-8; 1e-6 leaves room for the rounding of summed risk sets only).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from survstudy.stats.cox import CoxResult, cox_fit
from survstudy.stats.km import kaplan_meier, kaplan_meier_by
from survstudy.stats.logrank import logrank_test
from survstudy.stats.timedep import landmark, simon_makuch, split_at_exposure

REF = Path(__file__).resolve().parents[1] / "reference"
FIX = json.loads((REF / "timedep.json").read_text())
RTOL = 1e-6


def _read(name: str) -> dict[str, np.ndarray]:
    with (REF / "data" / f"{name}.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {
        k: np.array([float(r[k]) if r[k] not in ("", "NA") else np.nan for r in rows])
        for k in rows[0]
    }


def close(a: Any, b: Any, rtol: float = RTOL, atol: float = 0.0) -> None:
    np.testing.assert_allclose(
        np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=rtol, atol=atol
    )


def _vec(v: Any) -> list[float]:
    """jsonlite unboxes length-1 vectors; NA is null."""
    vals = v if isinstance(v, list) else [v]
    return [np.nan if x is None else x for x in vals]


def jasa_split() -> tuple[dict[str, np.ndarray], Any]:
    """Our split of the jasa per-patient columns (as tmerge(..., tdc(txtime)))."""
    d = _read("jasa_tdata")
    sp = split_at_exposure(np.zeros(d["futime"].size), d["futime"], d["fustat"], d["txtime"])
    return d, sp


def fit_fixture(f: dict[str, Any], **kw: Any) -> CoxResult:
    if f["data"] is None:  # the tmerge split of jasa: fitted on our own split
        d, sp = jasa_split()
        p = sp.patient
        x = np.column_stack([d["age"][p], d["year"][p], d["surgery"][p], sp.value])
        return cox_fit(
            x,
            sp.stop,
            sp.event,
            start=sp.start,
            ties=f["ties"],
            cluster=None if f["cluster"] is None else d["subject"][p],
            term_names=f["covariates"],
            **kw,
        )
    d = _read(f["data"])
    covs = f["covariates"] if isinstance(f["covariates"], list) else [f["covariates"]]
    x = np.column_stack([d[c] for c in covs])
    return cox_fit(
        x,
        d[f["stop"]],
        d[f["event"]],
        start=d[f["start"]],
        ties=f["ties"],
        strata=None if f["strata"] is None else d[f["strata"]],
        cluster=None if f["cluster"] is None else d[f["cluster"]],
        weights=None if f["weights"] is None else d[f["weights"]],
        # R turns the robust variance on by itself for non-integer case weights
        robust=f["robust_se"] is not None,
        term_names=covs,
        **kw,
    )


MONOTONE = [k for k in FIX["cox"] if k.startswith("mono_cp")]
REGULAR = [k for k in FIX["cox"] if k not in MONOTONE]


@pytest.mark.parametrize("name", REGULAR)
def test_cox_estimates_and_tests_match_r(name: str) -> None:
    """R reference: coxph(Surv(start, stop, event) ~ ...): coefficients, SEs (model-based
    and robust with cluster(id)), log-likelihoods, Wald and score tests, iterations."""
    f = FIX["cox"][name]
    r = fit_fixture(f)
    assert r.n == f["n"]
    assert r.events == f["events"]
    assert r.iterations == f["iter"]
    assert r.converged
    close(r.coef, _vec(f["coef"]))
    close(r.se, _vec(f["se"]))
    if f["robust_se"] is not None:
        assert r.robust_se is not None
        close(r.robust_se, _vec(f["robust_se"]))
    close([r.loglik_null, r.loglik], f["loglik"])
    close(r.tests["wald"].statistic, f["wald"])
    close(r.tests["score"].statistic, f["score"])
    assert not r.warnings


@pytest.mark.parametrize("name", REGULAR)
def test_concordance_matches_r(name: str) -> None:
    """R reference: concordance(fit) on (start, stop] data: C, sqrt(var) and the counts
    (concordant, discordant, tied.x, tied.y, tied.xy)."""
    f = FIX["cox"][name]
    c = fit_fixture(f).concordance
    assert c is not None
    close([c.c, c.se], [f["concordance"], f["concordance_se"]])
    close(
        [c.concordant, c.discordant, c.tied_x, c.tied_y, c.tied_xy],
        f["concordance_count"],
        atol=1e-9,
    )


@pytest.mark.parametrize("name", [k for k in REGULAR if FIX["cox"][k]["zph_chisq"] is not None])
def test_cox_zph_matches_r(name: str) -> None:
    """R reference: cox.zph(fit, transform = "km") on (start, stop] data (KM with delayed entry)."""
    f = FIX["cox"][name]
    ph = fit_fixture(f, ph_test=True).ph
    close([t.chisq for t in ph.terms] + [ph.global_chisq], f["zph_chisq"])
    close([t.p_value for t in ph.terms] + [ph.global_p], f["zph_p"])


@pytest.mark.parametrize("name", REGULAR)
def test_baseline_hazard_matches_r(name: str) -> None:
    """R reference: basehaz(fit, centered = FALSE) with risk sets start < t <= stop."""
    f = FIX["cox"][name]
    bh = fit_fixture(f).baseline
    close(bh.time, f["basehaz_time"])
    close(bh.cumhaz, f["basehaz_hazard"], atol=1e-12)


@pytest.mark.parametrize("name", MONOTONE)
def test_monotone_counting_process_runs_out_like_r(name: str) -> None:
    """R reference: every death in an exposed interval, so beta runs to +infinity; R's
    agreg.fit does not converge in 20 iterations ("Ran out of iterations") and stops at
    beta = 21.12. The Newton path (step halving included) is R's: same beta after 20
    iterations; the fit is flagged as not converged."""
    f = FIX["cox"][name]
    assert "Ran out of iterations" in f["r_warnings"]
    r = fit_fixture(f)
    assert not r.converged
    assert r.iterations == f["iter"]
    close(r.coef, _vec(f["coef"]), rtol=1e-6)
    close([r.loglik_null, r.loglik], f["loglik"], rtol=0, atol=1e-6)
    assert any(w.code == "NOT-CONVERGED" for w in r.warnings)
    assert r.terms[0].p_value is None


def test_split_equals_tmerge() -> None:
    """R reference: tmerge(..., death = event(futime, fustat), trt = tdc(txtime)) on jasa:
    the same intervals, events and exposure, row by row."""
    s = FIX["split"]
    _, sp = jasa_split()
    assert sp.n == len(s["tstart"])
    np.testing.assert_array_equal(sp.patient + 1, s["subject"])
    np.testing.assert_array_equal(sp.start, s["tstart"])
    np.testing.assert_array_equal(sp.stop, s["tstop"])
    np.testing.assert_array_equal(sp.event.astype(int), s["death"])
    np.testing.assert_array_equal(sp.value, s["trt"])


@pytest.mark.parametrize("conf_type", ["log-log", "log", "plain"])
def test_km_delayed_entry_matches_r(conf_type: str) -> None:
    """R reference: survfit(Surv(entry, exit, death) ~ 1, conf.type = ...) on mgus2 by age:
    n.risk (entry < t <= exit), events, censorings, S, Greenwood SE, limits, the
    quartiles with their CIs, and summary(fit, times = ..., extend = TRUE)."""
    f = FIX["km"][f"mgus2_age_{conf_type}"]
    d = _read("mgus2_age")
    r = kaplan_meier(d["exit"], d["death"], start=d["entry"], conf_type=conf_type)
    assert r.n == f["n"]
    close(r.time, f["time"])
    close(r.n_risk, f["n_risk"])
    close(r.n_event, f["n_event"])
    close(r.n_censor, f["n_censor"])
    close(r.survival, f["surv"], atol=1e-15)
    close(r.std_err, _vec(f["std_err_s"]), atol=1e-15)
    close(r.lower, _vec(f["lower"]), atol=1e-15)
    close(r.upper, _vec(f["upper"]), atol=1e-15)
    q = f["quantiles"]
    for i, p in enumerate(q["probs"]):
        got = r.quantile(p)
        assert [got.estimate, got.lower, got.upper] == [
            q["quantile"][i],
            q["lower"][i],
            q["upper"][i],
        ]
    at = f["at"]
    sa = r.survival_at(at["time"])
    close(sa.n_risk, at["n_risk"])
    # beyond the last observed time R's summary(extend = TRUE) carries the curve forward;
    # survstudy reports "not estimable" (NaN) there, so only the times inside follow-up
    # are compared (here the last, age 110)
    inside = ~sa.beyond
    assert inside[:-1].all()
    assert not inside[-1]
    assert np.isnan(sa.survival[-1])
    close(sa.survival[inside], np.asarray(at["surv"])[inside], atol=1e-15)
    for mine, key in ((sa.std_err, "std_err"), (sa.lower, "lower"), (sa.upper, "upper")):
        close(mine[inside], np.asarray(_vec(at[key]))[inside], atol=1e-15)


def test_km_delayed_entry_by_group_matches_r() -> None:
    """R reference: survfit(Surv(entry, exit, death) ~ male) (one table per group)."""
    f = FIX["km"]["mgus2_age_by_sex"]
    d = _read("mgus2_age")
    fits = kaplan_meier_by(d["exit"], d["death"], d["male"].astype(int), [0, 1], start=d["entry"])
    t = f["table"]
    assert [r.n for _, r in fits] == f["n"]
    for key, attr in (("time", "time"), ("n_risk", "n_risk"), ("surv", "survival")):
        close(np.concatenate([getattr(r, attr) for _, r in fits]), t[key], atol=1e-15)


def test_mantel_byar_equals_exact_score_test() -> None:
    """R reference (identity): the log-rank test on the split data (Mantel–Byar) equals
    the score test of coxph(Surv(tstart, tstop, death) ~ trt, ties = "exact")."""
    f = FIX["mantel_byar"]
    _, sp = jasa_split()
    r = logrank_test(sp.stop, sp.event, sp.value, start=sp.start)
    close([r.statistic, r.p_value], [f["score"], f["p_value"]])
    assert r.df == 1


def test_simon_makuch_matches_r() -> None:
    """R reference: survfit(Surv(tstart, tstop, death) ~ trt) on the tmerge split (patients
    move from the trt = 0 to the trt = 1 curve), summary(times=) n.risk and survival, and
    the exact number at risk per curve, sum(tstart < t & t <= tstop) computed in R."""
    f = FIX["simon_makuch"]
    _, sp = jasa_split()
    sm = simon_makuch(sp.start, sp.stop, sp.event, sp.value, times=f["times"])
    t = f["table"]
    close(np.concatenate([c.time for c in sm.curves]), t["time"])
    close(np.concatenate([c.n_risk for c in sm.curves]), t["n_risk"])
    close(np.concatenate([c.survival for c in sm.curves]), t["surv"], atol=1e-15)
    close(np.concatenate([c.lower for c in sm.curves]), _vec(t["lower"]), atol=1e-15)
    close(sm.n_risk, f["exact_n_risk"])
    meds = [c.median().estimate for c in sm.curves]
    assert meds == f["medians"]
    # R's summary(times=) reports n.risk at the next stop time (not the exact count)
    strata = f["summary_strata"]
    for k, c in enumerate(sm.curves):
        mine = [i for i, s in enumerate(strata) if s == f"trt={k}"]
        ts = np.asarray(f["summary_time"])[mine]
        sa = c.survival_at(ts)
        close(sa.n_risk, np.asarray(f["summary_n_risk"])[mine])
        close(sa.survival, np.asarray(f["summary_surv"])[mine], atol=1e-15)


def test_naive_baseline_comparison_matches_r() -> None:
    """R reference: coxph(Surv(futime, fustat) ~ transplant) — transplant as a fixed
    covariate from acceptance, the immortal-time-biased analysis (HR ~ 0.27, against
    ~ 0.99 for transplant as a time-dependent covariate)."""
    f = FIX["naive"]
    d = _read("jasa_tdata")
    r = cox_fit(d["transplant"][:, None], d["futime"], d["fustat"])
    close(r.coef, _vec(f["coef"]))
    close(r.se, _vec(f["se"]))
    close([r.loglik_null, r.loglik], f["loglik"])
    assert f["hr"] < 0.5 < 0.9 < float(np.exp(FIX["cox"]["jasa_split_efron"]["coef"][3]))


def test_landmark_matches_r() -> None:
    """R reference: landmark at 30 days on jasa — subset(futime > 30), group by transplant
    by day 30, time from the landmark: n, excluded, KM, log-rank, Cox."""
    f = FIX["landmark"]
    d = _read("jasa_tdata")
    lm = landmark(d["futime"], d["fustat"], f["at"], d["txtime"])
    assert (lm.n, lm.excluded) == (f["n"], f["excluded"])
    assert np.bincount(lm.group).tolist() == f["n_per_group"]
    fits = kaplan_meier_by(lm.time, lm.event, lm.group, [0, 1], conf_type="log")
    t = f["km_table"]
    close(np.concatenate([r.time for _, r in fits]), t["time"])
    close(np.concatenate([r.survival for _, r in fits]), t["surv"], atol=1e-15)
    close(np.concatenate([r.upper for _, r in fits]), _vec(t["upper"]), atol=1e-15)
    assert [r.median().estimate for _, r in fits] == _vec(f["km_medians"])
    lr = logrank_test(lm.time, lm.event, lm.group)
    close(lr.statistic, f["logrank_chisq"])
    close(lr.observed, f["logrank_obs"])
    close(lr.expected, f["logrank_exp"])
    cx = cox_fit(lm.group[:, None].astype(float), lm.time, lm.event)
    close(cx.coef, _vec(f["cox_coef"]))
    close(cx.se, _vec(f["cox_se"]))
    close([cx.loglik_null, cx.loglik], f["cox_loglik"])

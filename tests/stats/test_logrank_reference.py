"""Log-rank family against R's survdiff (R reference), statsmodels' survdiff (Gehan–Breslow,
Tarone–Ware: R has no such weights) and R's p.adjust."""

from __future__ import annotations

import numpy as np
import pytest

from survstudy.errors import AnalysisError
from survstudy.stats.logrank import logrank_pairwise, logrank_test, logrank_trend
from survstudy.stats.multiplicity import adjust_pvalues

from ._km_ref import arr, close, dataset, fixtures

LR = sorted(k for k, v in fixtures().items() if v["kind"] == "logrank")


def _data(fx):
    d = dataset(fx["data"])
    cols = [d[fx["time"]], d[fx["event"]], d[fx["by"]]]
    if fx["strata"] is not None:
        cols.append(d[fx["strata"]])
    ok = np.ones(len(cols[0]), dtype=bool)
    for c in cols:
        if c.dtype.kind == "f":
            ok &= ~np.isnan(c)
    cols = [c[ok] for c in cols]
    return cols[0].astype(float), cols[1].astype(int), cols[2], (cols[3] if len(cols) > 3 else None)


def _run(fx, **kw):
    t, e, g, s = _data(fx)
    rho = float(fx["rho"])
    if rho == 0:
        w = dict(weights="logrank")
    elif rho == 1:
        w = dict(weights="peto-peto")
    else:
        w = dict(weights="fleming-harrington", rho=rho)
    return logrank_test(t, e, g, strata=s, **w, **kw)


@pytest.mark.parametrize("name", LR)
def test_logrank_r(name):
    """R reference: survdiff chisq, df, p, n, observed, expected, variance."""
    fx = fixtures()[name]
    r = _run(fx)
    close(r.statistic, fx["statistic"])
    assert r.df == fx["df"]
    close(r.p_value, fx["p_value"])
    close(r.n, fx["n"])
    close(r.observed, fx["observed"])
    close(r.expected, fx["expected"])
    close(r.variance, np.array(fx["variance"], dtype=float).reshape(r.variance.shape))


@pytest.mark.parametrize("name", ["lr_veteran_celltype", "lr_lung_ecog", "lr_allcens"])
def test_trend_from_r_variance(name):
    """Hand calculation on R's O-E and variance: (c'(O-E))^2 / c'Vc with c = 1..k."""
    fx = fixtures()[name]
    t, e, g, _ = _data(fx)
    tr = logrank_trend(t, e, g)
    u = arr(fx["observed"]) - arr(fx["expected"])
    v = np.array(fx["variance"], dtype=float)
    c = np.arange(1, u.size + 1.0)
    assert tr.statistic == pytest.approx((c @ u) ** 2 / (c @ v @ c), rel=1e-6)


@pytest.mark.parametrize(
    ("data", "by"), [("veteran", "celltype"), ("aml", "maintained"), ("lung", "sex")]
)
@pytest.mark.parametrize(("ours", "theirs"), [("gehan-breslow", "gb"), ("tarone-ware", "tw")])
def test_gb_tw_statsmodels(data, by, ours, theirs):
    """Independent implementation: statsmodels survdiff(weight_type='gb'/'tw')."""
    from statsmodels.duration.survfunc import survdiff

    d = dataset(data)
    ev = d["ev"] if data == "lung" else d["status"]
    r = logrank_test(d["time"], ev, d[by], weights=ours)
    stat, p = survdiff(d["time"], ev, d[by], weight_type=theirs)
    assert r.statistic == pytest.approx(stat, rel=1e-8)
    assert r.p_value == pytest.approx(p, rel=1e-6)


def test_fleming_harrington_gamma_lifelines():
    """Independent implementation: lifelines FH(p, q) weights S(t-)^p (1-S(t-))^q, two groups."""
    from lifelines.statistics import logrank_test as ll_logrank

    d = dataset("aml")
    m = d["maintained"] == 1
    for rho, gamma in [(0, 1), (1, 1), (0.5, 2)]:
        r = logrank_test(
            d["time"],
            d["status"],
            d["maintained"],
            weights="fleming-harrington",
            rho=rho,
            gamma=gamma,
        )
        ll = ll_logrank(
            d["time"][m],
            d["time"][~m],
            d["status"][m],
            d["status"][~m],
            weightings="fleming-harrington",
            p=rho,
            q=gamma,
        )
        assert r.statistic == pytest.approx(ll.test_statistic, rel=1e-6)


def test_p_adjust_r():
    """R reference: p.adjust(p, 'holm' / 'BH' / 'bonferroni')."""
    fx = fixtures()["p_adjust"]
    for m in ("holm", "bh", "bonferroni"):
        close(adjust_pvalues(fx["p"], m), fx[m])


def test_pairwise_matches_two_group_tests():
    """Identity: each pairwise p equals the 2-group test on that pair; Holm from p.adjust rule."""
    d = dataset("veteran")
    pw = logrank_pairwise(d["time"], d["status"], d["celltype"], adjust="holm")
    levels = sorted(set(d["celltype"]))
    for (a, b), p in zip(pw.pairs, pw.p_value, strict=True):
        m = (d["celltype"] == levels[a]) | (d["celltype"] == levels[b])
        assert p == pytest.approx(
            logrank_test(d["time"][m], d["status"][m], d["celltype"][m]).p_value
        )
    m = len(pw.pairs)
    order = np.argsort(pw.p_value)
    first = pw.p_adjusted[order[0]]
    assert first == pytest.approx(min(1.0, m * pw.p_value[order[0]]))


def test_no_events_refused():
    """Hand: no events at all -> AnalysisError."""
    with pytest.raises(AnalysisError, match="no events"):
        logrank_test([1, 2, 3, 4], [0, 0, 0, 0], [0, 0, 1, 1])

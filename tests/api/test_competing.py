"""``survstudy.cumulative_incidence`` and ``survstudy.fine_gray``: the commands' JSON, R's numbers.

Kinds of truth: identity with the command line (``survstudy cif --json`` and ``survstudy cox
--cause … --competing … --fine-gray --json`` on the same data file, every float equal to
the last bit) on the data, groups, strata and times of every R fixture of
tests/reference/competing.json (cmprsk 2.2-11 ``cuminc``/``timepoints``/``crr``, survival
``survfit_confint``; script tests/reference/competing.R); R reference for values read
straight from those fixtures; identity with the command's error line; hand calculation
for the frames and the figure.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _api_cli import DATA, REF, as_json, cli_json, run

import survstudy
import survstudy.cli.cif
from survstudy.errors import AnalysisError, DataError

CR = json.loads((REF / "competing.json").read_text(encoding="utf-8"))


def same_rows_as_the_command(cli: dict[str, Any], call: Any) -> None:
    """The parity calls pass ``missing="drop"``, the commands' handling of missing values
    (left out, counted in n_dropped: R's na.omit). Property: where the command dropped rows,
    the default ``missing="error"`` refuses the table instead."""
    if cli["n_dropped"]:
        with pytest.raises(DataError, match=r"^\[MISSING-VALUE\] DataFrame, row \d+, column "):
            call()


def read_csv(path: Path) -> pd.DataFrame:
    """Python's own float parsing, as the command's reader (see test_parity_cli.read_csv)."""
    return pd.read_csv(path, float_precision="round_trip")


# --------------------------------------------------------------------------- cumulative incidence

# the command has no rho (Gray's test with rho = 0, cmprsk's default): the rho = 1 fixture
# is the stats tests' (tests/stats/test_competing_reference.py)
CIF_CASES = sorted(k for k, v in CR.items() if isinstance(v, dict) and v.get("kind") == "cif")
CIF_CASES = [k for k in CIF_CASES if CR[k]["rho"] == 0]


@pytest.mark.parametrize("key", CIF_CASES)
def test_cumulative_incidence_equals_cif_json(key: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Identity with ``survstudy cif --json`` (the R fixture's data, group, strata, times)."""
    fx = CR[key]
    path = DATA / f"{fx['data']}.csv"
    times = fx["times"] if isinstance(fx["times"], list) else [fx["times"]]
    args = ["cif", str(path), "--time", "time", "--event", "status", "--cause", "1"]
    args += ["--competing", "2", "--censored", "0", "--at", ",".join(f"{t:g}" for t in times)]
    if fx["by"]:
        args += ["--by", fx["by"]]
    if fx["strata"]:
        args += ["--strata", fx["strata"]]
    kw: dict[str, Any] = {"by": fx["by"], "strata": fx["strata"], "cause": 1, "competing": 2}
    df = read_csv(path)
    fit = survstudy.cumulative_incidence(
        df, "time", "status", censored=0, at=times, missing="drop", **kw
    )
    cli = cli_json(args, capsys)
    assert as_json(fit.to_dict()) == cli
    same_rows_as_the_command(
        cli, lambda: survstudy.cumulative_incidence(df, "time", "status", **kw)
    )


def test_cumulative_incidence_options_equal_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    """Identity with ``survstudy cif --conf-type plain --conf-level 0.9`` and codes given as
    lists (two values for the competing event: 2 and 3, the latter absent)."""
    path = DATA / "cr_ties.csv"
    args = ["cif", str(path), "--time", "time", "--event", "status", "--cause", "1"]
    args += ["--competing", "2,3", "--by", "g", "--at", "2,5,9", "--conf-type", "plain"]
    args += ["--conf-level", "0.9"]
    fit = survstudy.cumulative_incidence(
        read_csv(path),
        "time",
        "status",
        "g",
        "plain",
        0.9,
        cause=[1],
        competing=(2, 3),
        at=[2, 5, 9],
    )
    assert as_json(fit.to_dict()) == cli_json(args, capsys)


def test_cumulative_incidence_is_r_value() -> None:
    """R reference: cuminc(time, status, group = platelet, strata = tcell) on cr_bmt —
    timepoints() estimates at 1 and 5 years and Gray's stratified statistic, 1e-9 relative
    (the fixture's 15 significant digits; the stats tests use the same bound)."""
    fx = CR["cif_bmt_platelet_strata_tcell"]
    df = pd.read_csv(DATA / "cr_bmt.csv")
    fit = survstudy.cumulative_incidence(
        df, "time", "status", by="platelet", strata="tcell", cause=1, competing=2, at=[1, 5]
    )
    frame = fit.cif_at([1, 5])
    for curve in fx["curves"]:
        name = "event" if curve["cause"] == 1 else "competing"
        got = frame[(frame["group"] == curve["group"]) & (frame["cause"] == name)]
        np.testing.assert_allclose(got["cif"], curve["at_est"], rtol=1e-9)
        np.testing.assert_allclose(got["std_error"] ** 2, curve["at_var"], rtol=1e-9)
    tests = {t["cause"]: t for t in fx["tests"]}
    assert fit.gray is not None
    assert fit.gray_competing is not None
    assert fit.gray.statistic == pytest.approx(tests[1]["statistic"], rel=1e-9)
    assert fit.gray_competing.statistic == pytest.approx(tests[2]["statistic"], rel=1e-9)
    t = fit.tests()
    assert t["cause"].tolist() == ["event", "competing"]
    assert t["p_value"][0] == pytest.approx(tests[1]["p_value"], rel=1e-8)


def test_cif_frames_by_hand() -> None:
    """Hand calculation (Aalen–Johansen) on six patients: times 1..6, status 1, 2, 0, 1, 2, 0.
    At risk 6, 5, 4, 3, 2, 1; S before each time 1, 5/6, 4/6, 4/6, 4/9, 2/9. Event CIF:
    1/6 at t=1, then + (4/6)(1/3) = 2/9 at t=4 -> 1/6 + 2/9 = 7/18. Competing CIF:
    (5/6)(1/5) = 1/6 at t=2, + (4/9)(1/2) = 2/9 at t=5 -> 7/18."""
    df = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6], "s": ["r", "d", "c", "r", "d", "c"]})
    fit = survstudy.cumulative_incidence(df, "t", "s", cause="r", competing="d", censored="c")
    f = fit.to_frame()
    assert list(f.columns) == [
        "cause", "time", "n_risk", "n_event", "cif", "std_error", "conf_low", "conf_high"
    ]  # fmt: skip
    ev = f[f["cause"] == "event"]
    co = f[f["cause"] == "competing"]
    assert ev["n_risk"].tolist() == [6, 5, 4, 3, 2, 1]
    np.testing.assert_allclose(ev["cif"], [1 / 6, 1 / 6, 1 / 6, 7 / 18, 7 / 18, 7 / 18], rtol=1e-14)
    np.testing.assert_allclose(co["cif"], [0, 1 / 6, 1 / 6, 1 / 6, 7 / 18, 7 / 18], atol=1e-15)
    g = fit.glance()
    assert g.iloc[0].tolist() == [6.0, 2.0, 2.0, 2.0]
    assert fit.tests().empty
    assert fit.to_dict()["codes"] == {"cause": ["r"], "competing": ["d"], "censored": ["c"]}


def test_cif_summary_html_and_plot() -> None:
    """Hand-written expectations: the summary names the codes and shows the counts and Gray's
    test; the figure has one rising curve per group, starting at 0, and the number at risk
    of each group under the ticks (hand count on cr_ties: 10 per group at time 0)."""
    import matplotlib

    matplotlib.use("Agg")
    df = pd.read_csv(DATA / "cr_ties.csv")
    fit = survstudy.cumulative_incidence(df, "time", "status", by="g", cause=1, competing=2, at=[5])
    text = str(fit)
    assert "event = 1, competing = 2, censored = 0" in text
    assert "Gray's test for the event: chi-square 0.02 on 1 df" in text
    assert "Competing event, % (95% CI)" in text
    assert "<table>" in fit._repr_html_()
    ax = fit.plot(ticks=[0, 5, 10])
    lines = [
        ln for ln in ax.get_lines() if len(ln.get_xdata()) > 1 and ln.get_linestyle() != "None"
    ]
    assert len(lines) == 2
    for ln in lines:
        y = np.asarray(ln.get_ydata(), dtype=float)
        assert y[0] == 0.0
        assert np.all(np.diff(y) >= 0)
    assert ax.get_ylabel() == "Cumulative incidence of the event"
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("10") >= 2  # both groups: 10 at risk at time 0
    import matplotlib.pyplot as plt

    _, mine = plt.subplots()
    assert fit.plot(ax=mine, cause="competing", risk_table=False) is mine
    assert mine.get_ylabel() == "Cumulative incidence of the competing event"
    with pytest.raises(AnalysisError, match="cause must be 'event' or 'competing'"):
        fit.plot(cause="death")
    plt.close("all")


def test_cif_errors_are_the_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Identity with ``survstudy cif``'s error line on the same table as Parquet: a value of
    the event column in none of the codes is EVENT-CODE naming its row (row 4)."""
    df = pd.DataFrame({"time": [1.0, 2, 3, 4, 5], "status": [1, 2, 0, 3, 1]})
    path = tmp_path / "t.parquet"
    df.to_parquet(path, index=False)
    code, out, err = run(
        ["cif", str(path), "--time", "time", "--event", "status", "--cause", "1",
         "--competing", "2"],
        capsys,
    )  # fmt: skip
    assert code == 2
    assert out == ""
    with pytest.raises(DataError) as info:
        survstudy.cumulative_incidence(df, "time", "status", cause=1, competing=2)
    assert info.value.row == 4
    assert err == f"error: {info.value}\n".replace("DataFrame", str(path), 1)
    with pytest.raises(AnalysisError, match="given with both --cause and --competing"):
        survstudy.cumulative_incidence(df, "time", "status", cause=1, competing=[1, 2])
    with pytest.raises(AnalysisError, match="strata stratifies Gray's test"):
        survstudy.cumulative_incidence(df, "time", "status", cause=1, competing=2, strata="x")
    with pytest.raises(AnalysisError, match="need both cause= and competing="):
        survstudy.cumulative_incidence(df, "time", "status", cause=1, competing=None)


# --------------------------------------------------------------------------- Fine–Gray

CRR_CASES = sorted(k for k, v in CR.items() if isinstance(v, dict) and v.get("kind") == "crr")


def _crr_table(fx: dict[str, Any], tmp_path: Path) -> Path:
    """The fixture's data file; cr_pbc gets R's log(bili) as a column (both routes read it)."""
    path = DATA / f"{fx['data']}.csv"
    if "log_bili" in fx["covariates"]:
        d = read_csv(path)
        d["log_bili"] = np.log(d["bili"])
        path = tmp_path / "pbc.csv"
        d.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("key", CRR_CASES)
def test_fine_gray_equals_cox_fine_gray_json(
    key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Identity with ``survstudy cox --cause C --competing O --fine-gray --json`` (the R
    fixture's data, covariates, factors with R's first level as reference, cause)."""
    fx = CR[key]
    covs = fx["covariates"] if isinstance(fx["covariates"], list) else [fx["covariates"]]
    factors = fx["factors"] or {}
    path = _crr_table(fx, tmp_path)
    cause, other = fx["cause"], 3 - fx["cause"]
    args = ["cox", str(path), "--time", "time", "--event", "status", "--covariates", ",".join(covs)]
    args += ["--cause", str(cause), "--competing", str(other), "--fine-gray"]
    refs = {c: levels[0] for c, levels in factors.items()}
    if factors:
        args += ["--categorical", ",".join(factors)]
        args += [f"--reference={c}={lv}" for c, lv in refs.items()]
    df = read_csv(path)
    kw: dict[str, Any] = {"categorical": list(factors), "reference": refs}
    kw.update(cause=cause, competing=other)
    fit = survstudy.fine_gray(df, "time", "status", covs, **kw, missing="drop")
    cli = cli_json(args, capsys)
    assert as_json(fit.to_dict()) == cli
    same_rows_as_the_command(cli, lambda: survstudy.fine_gray(df, "time", "status", covs, **kw))


def test_fine_gray_is_r_value() -> None:
    """R reference: crr(time, status, cov1 = model.matrix(~age + platelet + tcell)[, -1]) on
    cr_bmt — the polished estimate and sandwich SE, 1e-8 relative (the bound of
    tests/stats/test_finegray.py: crr's own stop sits ~1e-6 from the maximiser, the polished
    one to rounding); the model-based SE is crr's invinf."""
    fx = CR["crr_bmt"]
    df = pd.read_csv(DATA / "cr_bmt.csv")
    fit = survstudy.fine_gray(
        df, "time", "status", ["age", "platelet", "tcell"], cause=1, competing=2
    )
    f = fit.to_frame()
    np.testing.assert_allclose(f["coef"], fx["tight_coef"], rtol=1e-8)
    var = np.asarray(fx["tight_var"], dtype=float).reshape(3, 3, order="F")
    np.testing.assert_allclose(f["std_error"], np.sqrt(np.diag(var)), rtol=1e-8)
    inv = np.asarray(fx["invinf"], dtype=float).reshape(3, 3, order="F")
    np.testing.assert_allclose(f["naive_std_error"], np.sqrt(np.diag(inv)), rtol=1e-5)
    np.testing.assert_allclose(f["hr"], np.exp(f["coef"]), rtol=1e-15)
    g = fit.glance()
    assert (g["events"][0], g["competing_events"][0]) == (161, 87)
    assert g["loglik"][0] == pytest.approx(fx["tight_loglik"], rel=1e-10)


def test_fine_gray_summary_and_forest() -> None:
    """Hand-written expectations: the summary calls the ratios sHR; the forest plot has a
    heading and a reference row for the categorical covariate (sex: F, "1 (reference)"; M)
    and a row for age."""
    import matplotlib

    matplotlib.use("Agg")
    df = pd.read_csv(DATA / "cr_mgus2.csv")
    fit = survstudy.fine_gray(
        df, "time", "status", ["age", "sex"], categorical=["sex"], cause=1, competing=2
    )
    text = str(fit)
    assert "Fine–Gray subdistribution hazards" in text
    assert "sHR (95% CI)" in text
    assert "sHR (95% CI)" in fit._repr_html_()
    assert fit.to_frame()["term"].tolist() == ["age", "sex[M]"]
    ax = fit.plot()
    labels = [t.get_text() for t in ax.texts]
    assert {"age", "sex", "F", "1 (reference)", "M"} <= set(labels)
    assert ax.get_xlabel() == "Subdistribution hazard ratio (95% CI)"
    assert not math.isnan(fit.to_frame()["hr"][0])
    import matplotlib.pyplot as plt

    plt.close("all")

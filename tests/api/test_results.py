"""The API's result objects: tidy frames, summaries, HTML, plots, pickling.

Kinds of truth: hand calculation (a six-patient Kaplan–Meier table and its number at
risk, worked out in the docstrings), identity (every frame holds the numbers of
``to_dict()``, the command's JSON), property (every frame column is in the one glossary;
results survive pickling).
"""

from __future__ import annotations

import math
import pickle
import re
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import pytest
from _api_cli import DATA

import survstudy
from survstudy.api.glossary import GLOSSARY

matplotlib.use("Agg")


def _six() -> pd.DataFrame:
    # times 5, 8+, 12, 20, 31+, 40 (+ = censored)
    return pd.DataFrame(
        {
            "time": [5.0, 8.0, 12.0, 20.0, 31.0, 40.0],
            "status": [1, 0, 1, 1, 0, 1],
            "arm": ["A", "B", "A", "B", "A", "B"],
            "age": [61, 55, 70, 48, 66, 59],
        }
    )


def test_kaplan_meier_frame_by_hand() -> None:
    """Hand calculation: S(5) = 5/6, S(12) = 5/6 · 3/4 = 0.625, S(20) = 0.625 · 2/3,
    S(40) = 0; at risk 6, 5, 4, 3, 2, 1; Greenwood SE at 5: S·sqrt(1/(6·5))."""
    fit = survstudy.kaplan_meier(_six(), "time", "status")
    f = fit.to_frame()
    assert list(f.columns) == [
        "time",
        "n_risk",
        "n_event",
        "n_censor",
        "survival",
        "std_error",
        "conf_low",
        "conf_high",
    ]
    assert f["time"].tolist() == [5, 8, 12, 20, 31, 40]
    assert f["n_risk"].tolist() == [6, 5, 4, 3, 2, 1]
    np.testing.assert_allclose(
        f["survival"], [5 / 6, 5 / 6, 0.625, 0.625 * 2 / 3, 0.625 * 2 / 3, 0.0], rtol=1e-15
    )
    assert f["std_error"][0] == pytest.approx(5 / 6 * math.sqrt(1 / 30), rel=1e-14)
    # S = 0 at the last time: its SE and limits are undefined (NaN, R's NA)
    assert math.isnan(f["std_error"].iloc[-1])
    assert math.isnan(f["conf_low"].iloc[-1])
    g = fit.glance()
    # median: the first time S <= 0.5 (S(20) = 0.4167 < 0.5, S(12) = 0.625): 20
    assert (g["n"][0], g["events"][0], g["median"][0]) == (6, 4, 20)


def test_survival_at_and_number_at_risk_by_hand() -> None:
    """Hand calculation: at t = 10 S = 5/6 with 4 at risk (5 and 8 are gone); at 0, S = 1
    with 6 at risk; past the last observed time (40) nobody is followed: 0 at risk and no
    estimate (NaN, as R's summary(fit, times = 50) gives no row)."""
    fit = survstudy.kaplan_meier(_six(), "time", "status")
    at = fit.survival_at([0, 10, 50])
    assert at["n_risk"].tolist() == [6, 4, 0]
    np.testing.assert_allclose(at["survival"], [1.0, 5 / 6, np.nan], rtol=1e-15)


def test_frames_hold_the_json_numbers() -> None:
    """Identity: to_frame/glance carry exactly the unrounded numbers of to_dict (the
    command's JSON), None as NaN."""
    df = pd.read_csv(DATA / "veteran.csv")
    km = survstudy.kaplan_meier(df, "time", "status", by="celltype")
    d = km.to_dict()
    f = km.to_frame()
    for g in d["groups"]:
        sub = f[f["group"] == g["group"]]
        assert sub["survival"].tolist() == [r["survival"] for r in g["table"]]
        lows = [np.nan if r["lower"] is None else r["lower"] for r in g["table"]]
        np.testing.assert_array_equal(sub["conf_low"].to_numpy(), np.array(lows))
    glance = km.glance()
    assert glance["median"].tolist() == [g["median"] for g in d["groups"]]

    lr = survstudy.logrank(df, "time", "status", "celltype")
    assert lr.to_frame()["expected"].tolist() == [g["expected"] for g in lr.to_dict()["groups"]]
    assert lr.glance()["p_value"][0] == lr.to_dict()["p_value"]

    fit = survstudy.cox(df, "time", "status", ["celltype", "karno"], categorical=["celltype"])
    terms = fit.to_dict()["terms"]
    tf = fit.to_frame()
    assert tf["term"].tolist() == [t["term"] for t in terms]
    assert tf["hr"].tolist() == [t["hr"] for t in terms]
    assert tf["conf_high"].tolist() == [t["upper"] for t in terms]
    assert tf["variable"].tolist() == ["celltype"] * 3 + ["karno"]
    assert fit.glance()["loglik"][0] == fit.to_dict()["loglik"]


def _frames(obj: Any) -> list[pd.DataFrame]:
    out = [obj.to_frame(), obj.glance()]
    if hasattr(obj, "survival_at"):
        out.append(obj.survival_at([100]))
    if hasattr(obj, "cif_at"):
        out += [obj.cif_at([100]), obj.tests()]
    return out


def test_every_frame_column_is_in_the_glossary() -> None:
    """Property: one glossary of column names (survstudy.api.glossary) for every frame."""
    df = pd.read_csv(DATA / "veteran.csv")
    objs = [
        survstudy.kaplan_meier(df, "time", "status"),
        survstudy.kaplan_meier(df, "time", "status", by="trt"),
        survstudy.logrank(df, "time", "status", "trt", permutation="auto"),
        survstudy.cox(df, "time", "status", ["karno", "trt"], robust=True),
    ]
    bmt = pd.read_csv(DATA / "cr_bmt.csv")
    cr = {"cause": 1, "competing": 2}
    objs += [
        survstudy.cumulative_incidence(bmt, "time", "status", **cr),
        survstudy.cumulative_incidence(bmt, "time", "status", by="platelet", **cr),
        survstudy.fine_gray(bmt, "time", "status", ["age", "platelet"], **cr),
    ]
    for obj in objs:
        for frame in _frames(obj):
            unknown = set(frame.columns) - set(GLOSSARY) - {"permutation_p_value"}
            assert unknown == set(), (type(obj).__name__, unknown)


def test_summary_and_html_show_the_formatted_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    """Hand-written expectations: the six-patient median 20 with its log-log limits, the
    counts, and the log-rank table; HTML escapes and wraps the same cells."""
    km = survstudy.kaplan_meier(_six(), "time", "status")
    km.summary()
    text = capsys.readouterr().out
    assert text == str(km)
    assert "6 rows, 0 dropped" in text
    med = km.curves[0][1].median()
    assert med.estimate == 20
    assert re.search(r"^6 +4 +20 \(", text, re.MULTILINE)
    html = km._repr_html_()
    assert html.startswith('<div class="survstudy-result">')
    assert "<table>" in html
    assert "Median (95% CI)" in html

    lr = survstudy.logrank(_six(), "time", "status", "arm")
    assert "Observed" in str(lr)
    assert "Chi-square" in str(lr)
    fit = survstudy.cox(_six(), "time", "status", ["age"])
    assert "HR (95% CI)" in fit._repr_html_()
    assert "n = 6, events = 4" in str(fit)


def test_km_plot_draws_the_number_at_risk() -> None:
    """Hand calculation: at risk at t are those with time >= t: under ticks 0, 10, 20, 30, 40
    that is 6, 4, 3, 2, 1; the figure prints exactly these (the texts with gid nrisk-0-j)."""
    import matplotlib.pyplot as plt

    km = survstudy.kaplan_meier(_six(), "time", "status")
    ax = km.plot(ticks=[0, 10, 20, 30, 40])
    texts = {t.get_gid(): t.get_text() for t in ax.texts if t.get_gid()}
    assert [texts[f"nrisk-0-{j}"] for j in range(5)] == ["6", "4", "3", "2", "1"]
    assert ax.get_xlabel() == "time"
    # a new pyplot figure (so a notebook shows it), and a given Axes is drawn on and returned
    assert ax.figure.number in plt.get_fignums()
    _fig, own = plt.subplots()
    assert km.plot(ax=own) is own
    plt.close("all")


def test_cox_plot_is_a_forest_with_reference_rows() -> None:
    """Hand-written expectation: a categorical covariate shows its heading, its reference
    level "1 (reference)" and one row per other level; a numeric covariate one row."""
    import matplotlib.pyplot as plt

    df = pd.read_csv(DATA / "veteran.csv")
    fit = survstudy.cox(
        df,
        "time",
        "status",
        ["celltype", "karno"],
        categorical=["celltype"],
        reference={"celltype": "squamous"},
    )
    ax = fit.plot()
    texts = [t.get_text() for t in ax.texts]
    for label in ("celltype", "squamous", "1 (reference)", "adeno", "large", "smallcell", "karno"):
        assert label in texts
    plt.close("all")


def test_results_pickle() -> None:
    """Property: results are plain data (ARCHITECTURE: picklable, for a web app or a
    distributed backend): a pickled fit gives the same JSON."""
    df = _six()
    for obj in (
        survstudy.kaplan_meier(df, "time", "status", by="arm"),
        survstudy.logrank(df, "time", "status", "arm"),
        survstudy.cox(df, "time", "status", ["age"]),
    ):
        again = pickle.loads(pickle.dumps(obj))
        assert again.to_dict() == obj.to_dict()


def test_polars_and_arrow_tables_give_the_pandas_result() -> None:
    """Identity: the same table as a pyarrow Table, a RecordBatch, an object with only the
    Arrow stream protocol, an object with only the dataframe interchange protocol
    (``__dataframe__``) and (when installed) a polars DataFrame gives the pandas result;
    the competing-risks calls too."""
    import pyarrow as pa

    df = pd.read_csv(DATA / "aml.csv")
    want = survstudy.logrank(df, "time", "status", "maintained").to_dict()
    table = pa.Table.from_pandas(df, preserve_index=False)

    class Stream:
        def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
            return table.__arrow_c_stream__(requested_schema)

    class Interchange:
        def __dataframe__(self, nan_as_null: bool = False, allow_copy: bool = True) -> Any:
            return df.__dataframe__(nan_as_null=nan_as_null, allow_copy=allow_copy)

    for data in (table, table.to_batches()[0], Stream(), Interchange()):
        assert survstudy.logrank(data, "time", "status", "maintained").to_dict() == want
    pl = pytest.importorskip("polars")
    assert survstudy.logrank(pl.from_pandas(df), "time", "status", "maintained").to_dict() == want
    bmt = pd.read_csv(DATA / "cr_bmt.csv")
    cr: dict[str, Any] = {"cause": 1, "competing": 2}
    for call, args in (
        (survstudy.cumulative_incidence, {"by": "platelet", "at": [1, 5]}),
        (survstudy.fine_gray, {"covariates": ["age", "platelet"]}),
    ):
        want_cr = call(bmt, "time", "status", **args, **cr).to_dict()  # type: ignore[operator]
        got = call(pl.from_pandas(bmt), "time", "status", **args, **cr).to_dict()  # type: ignore[operator]
        assert got == want_cr

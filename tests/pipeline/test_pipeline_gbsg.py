"""The GBSG example through the pipeline, against R's survival package.

Kind of truth: R reference (tests/reference/gbsg.R -> gbsg.json; R 4.2, survival 3.5-3).
Every number is compared to 1e-6 relative (absolute for p-values near 0 and counts exact).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from survstudy.data import build_cohort
from survstudy.pipeline import run_study
from survstudy.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "examples" / "gbsg" / "study.yaml"
R = json.loads((ROOT / "tests" / "reference" / "gbsg.json").read_text())
TOL = 1e-6


def close(a: Any, b: Any, tol: float = TOL) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(float(a), float(b), rel_tol=tol, abs_tol=1e-12)


@pytest.fixture(scope="module")
def standard() -> dict[str, Any]:
    spec = load_spec(SPEC)
    return run_study(spec, build_cohort(spec), profile="standard").to_dict()


@pytest.fixture(scope="module")
def spss() -> dict[str, Any]:
    spec = load_spec(SPEC)
    return run_study(spec, build_cohort(spec), profile="spss").to_dict()


def test_survival_summary_matches_r_survfit(standard: dict[str, Any]) -> None:
    """R reference: survfit(Surv(rfs_months, status) ~ 1, conf.type='log-log'), times in months."""
    ep = standard["endpoints"]["RFS"]
    r = R["km_overall"]
    assert standard["time_unit"] == "months"
    assert ep["n"] == r["n"]
    assert ep["events"] == r["events"]
    assert close(ep["median"], r["median"])
    assert close(ep["median_lower"], r["median_lower"])
    assert close(ep["median_upper"], r["median_upper"])
    assert [a["time"] for a in ep["at"]] == r["at_time"]
    for a, n_risk, s, lo, hi in zip(
        ep["at"], r["at_n_risk"], r["at_survival"], r["at_lower"], r["at_upper"], strict=True
    ):
        assert a["n_risk"] == n_risk
        assert close(a["survival"], s)
        assert close(a["lower"], lo)
        assert close(a["upper"], hi)


def test_followup_is_reverse_km_median(standard: dict[str, Any]) -> None:
    """R reference: survfit(Surv(rfs_months, 1 - status) ~ 1) median and its CI."""
    ep = standard["endpoints"]["RFS"]
    assert close(ep["followup_median"], R["followup"]["median"])
    assert close(ep["followup_lower"], R["followup"]["lower"])
    assert close(ep["followup_upper"], R["followup"]["upper"])


def _rows(res: dict[str, Any], variable: str) -> list[dict[str, Any]]:
    return [r for r in res["univariable"]["RFS"] if r["variable"] == variable]


@pytest.mark.parametrize("variable", ["size", "nodes", "pgr", "er"])
def test_univariable_continuous_matches_r_coxph(standard: dict[str, Any], variable: str) -> None:
    """R reference: coxph(Surv(rfstime, status) ~ x, ties='efron'), per unit."""
    (row,) = [x for x in _rows(standard, variable) if x["per"] == 1]
    r = R["univariable"][variable]
    assert close(row["hr"], r["hr"])
    assert close(row["lower"], r["lower"])
    assert close(row["upper"], r["upper"])
    assert close(row["p_value"], r["p"])
    assert row["n"] == 686
    assert row["events"] == 299


def test_univariable_age_per_unit_and_per_10_years(standard: dict[str, Any]) -> None:
    """R reference + identity: HR per 10 years = exp(10·β), CI = exp(10·(β ± z·SE))."""
    rows = _rows(standard, "age")
    r = R["univariable"]["age"]
    by_per = {row["per"]: row for row in rows}
    assert set(by_per) == {1, 10}
    assert close(by_per[1]["hr"], r["hr"])
    assert close(by_per[1]["lower"], r["lower"])
    assert close(by_per[10]["hr"], math.exp(10 * r["coef"]))
    z = 1.959963984540054
    assert close(by_per[10]["lower"], math.exp(10 * (r["coef"] - z * r["se"])))
    assert close(by_per[10]["upper"], math.exp(10 * (r["coef"] + z * r["se"])))
    assert close(by_per[10]["p_value"], r["p"])


@pytest.mark.parametrize(
    ("variable", "r_name", "levels"),
    [
        ("meno", "meno_f", ["Postmenopausal"]),
        ("grade", "grade_f", ["2", "3"]),
        ("hormon", "hormon_f", ["Yes"]),
    ],
)
def test_univariable_categorical_matches_r_coxph(
    standard: dict[str, Any], variable: str, r_name: str, levels: list[str]
) -> None:
    """R reference: coxph with factor(x) (first level = reference); a '1 (reference)' row."""
    rows = _rows(standard, variable)
    r = R["univariable"][r_name]
    ref = [row for row in rows if row["reference"]]
    assert len(ref) == 1
    assert ref[0]["hr"] == 1.0
    est = [row for row in rows if row["kind"] == "level"]
    assert [row["level"] for row in est] == levels
    hr = r["hr"] if isinstance(r["hr"], list) else [r["hr"]]
    lo = r["lower"] if isinstance(r["lower"], list) else [r["lower"]]
    hi = r["upper"] if isinstance(r["upper"], list) else [r["upper"]]
    p = r["p"] if isinstance(r["p"], list) else [r["p"]]
    for row, h, a, b, pv in zip(est, hr, lo, hi, p, strict=True):
        assert close(row["hr"], h)
        assert close(row["lower"], a)
        assert close(row["upper"], b)
        assert close(row["p_value"], pv)


@pytest.mark.parametrize(
    ("variable", "key"), [("hormon", "logrank_hormon"), ("grade", "logrank_grade")]
)
def test_logrank_p_matches_r_survdiff(standard: dict[str, Any], variable: str, key: str) -> None:
    """R reference: survdiff(Surv(rfstime, status) ~ x), p = pchisq(chisq, k - 1)."""
    header = [row for row in _rows(standard, variable) if row["kind"] == "header"]
    assert close(header[0]["logrank_p"], R[key]["p"])


def _check_model(model: dict[str, Any], r: dict[str, Any]) -> None:
    est = [
        row
        for row in model["rows"]
        if row["kind"] in ("level", "continuous") and row["per"] in (None, 1)
    ]
    assert [row["term"] for row in est] == [
        "hormon[Yes]",
        "age",
        "meno[Postmenopausal]",
        "size",
        "grade[2]",
        "grade[3]",
        "nodes",
        "pgr",
        "er",
    ]
    for row, coef, se, hr, lo, hi, p in zip(
        est, r["coef"], r["se"], r["hr"], r["lower"], r["upper"], r["p"], strict=True
    ):
        assert close(row["coef"], coef)
        assert close(row["se"], se)
        assert close(row["hr"], hr)
        assert close(row["lower"], lo)
        assert close(row["upper"], hi)
        assert close(row["p_value"], p)
    assert model["n"] == r["n"]
    assert model["events"] == r["events"]
    assert close(model["likelihood_ratio"]["statistic"], r["lr"])


def test_multivariable_matches_r_coxph_efron(standard: dict[str, Any]) -> None:
    """R reference: coxph(… ~ hormon_f + age + meno_f + size + grade_f + nodes + pgr + er)."""
    (model,) = standard["multivariable"]
    r = R["multivariable"]
    _check_model(model, r)
    assert model["ties"] == "efron"
    assert close(model["concordance"], r["concordance"])
    assert close(model["ph_test"]["p_value"], r["zph_p"][-1])
    assert model["n_parameters"] == 9
    assert close(model["events_per_variable"], 299 / 9)


def test_spss_profile_uses_breslow_ties(spss: dict[str, Any]) -> None:
    """R reference: the same model with ties='breslow' (SPSS COXREG's method)."""
    (model,) = spss["multivariable"]
    assert model["ties"] == "breslow"
    _check_model(model, R["multivariable_breslow"])


def test_table1_quantiles_and_counts(standard: dict[str, Any]) -> None:
    """R reference: quantile(x, type = 7) and table(x) for Table 1."""
    rows = standard["table1"]
    for var in ("age", "size", "nodes", "pgr", "er"):
        (row,) = [r for r in rows if r["variable"] == var and r["kind"] == "continuous"]
        q = R["table1"][var]
        assert [row["min"], row["q1"], row["median"], row["q3"], row["max"]] == pytest.approx(q)
    for var in ("meno", "grade", "hormon"):
        counts = [r["n"] for r in rows if r["variable"] == var and r["kind"] == "level"]
        assert counts == R["table1"][var]
        assert all(r["denominator"] == 686 for r in rows if r["variable"] == var)


def test_km_by_hormon_groups_and_risk_table(standard: dict[str, Any]) -> None:
    """R reference: survfit(… ~ hormon): n, events, median per group; n.risk at 12/36/60."""
    (fig,) = [k for k in standard["km"] if k["by"] == "hormon"]
    r = R["km_hormon"]
    assert [g["n"] for g in fig["groups"]] == r["n"]
    assert [g["events"] for g in fig["groups"]] == r["events"]
    for g, med in zip(fig["groups"], r["median"], strict=True):
        assert close(g["median"]["estimate"], med)
    ticks = fig["ticks"]
    for gi, g in enumerate(fig["groups"]):
        for t in (12, 36, 60):
            want = [
                n
                for n, tt, s in zip(r["at_n_risk"], r["at_time"], r["at_strata"], strict=True)
                if tt == t and s.endswith(str(gi))
            ]
            assert g["n_risk_at"][ticks.index(t)] == want[0]
    assert close(fig["tests"][0]["p_value"], R["logrank_hormon"]["p"])

"""The app offers the propensity-score comparison (issue 20, item 7): pick the treatment, the
confounders and the method; the run's numbers equal R.

Kind of truth: R reference — GBSG 2 uploaded through the app (examples/gbsg/gbsg.csv, the
fixture's data in the same order), hormonal therapy vs none on age, menopausal status, size,
grade (3 levels), nodes, pgr, er with stabilised ATE weights: the HR equals
``coxph(Surv ~ hormon, weights = w, robust = TRUE)`` in tests/reference/propensity.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from .conftest import Flow, texts

ROOT = Path(__file__).resolve().parents[2]
GBSG = ROOT / "examples" / "gbsg" / "gbsg.csv"
CONFOUNDERS = ["age", "meno", "size", "grade", "nodes", "pgr", "er"]


def test_treatment_comparison_from_the_form(flow: Flow) -> None:
    r = flow.upload("gbsg.csv", GBSG.read_bytes())
    assert r.status_code == 200
    r = flow.save_columns(
        {
            "pid:type": "identifier",
            "grade:type": "categorical",
            "hormon:type": "binary",
            "meno:type": "binary",
        }
    )
    assert r.url.path == "/endpoints", texts(r.text, "err")
    r = flow.client.post(
        "/endpoints",
        data={
            "csrf": flow.csrf,
            "action": "add_endpoint",
            "name": "RFS",
            "label": "Recurrence-free survival",
            "form": "columns",
            "time": "rfstime",
            "time_unit": "days",
            "event": "status",
        },
    )
    page = flow.client.get("/analyses").text
    assert 'name="treatment"' in page
    assert 'name="confounders"' in page
    r = flow.run(
        survival=["RFS"],
        landmarks="12",
        treatment="hormon",
        confounders=CONFOUNDERS,
        te_method="weighting-ATE",
    )
    assert r.url.path.startswith("/results/"), texts(r.text, "err")
    assert "Balance of the confounders" in r.text
    assert "Propensity-score weighted (ATE)" in r.text
    run = r.url.path.rsplit("/", 1)[1]
    spec = yaml.safe_load(flow.client.get(f"/runs/{run}/download/study.yaml").text)
    (te,) = spec["analyses"]["treatment_effect"]
    assert (te["treatment"], te["confounders"], te["method"], te["estimand"]) == (
        "hormon",
        CONFOUNDERS,
        "weighting",
        "ATE",
    )
    res = json.loads(flow.client.get(f"/runs/{run}/download/results.json").text)
    (t,) = res["treatment_effect"]
    cox = json.loads((ROOT / "tests" / "reference" / "propensity.json").read_text())["gbsg"][
        "weighting"
    ]["ATE"]["cox"]
    for k in ("hr", "lower", "upper", "robust_se"):
        assert t[k] == pytest.approx(cox[k], rel=1e-9), k  # R agrees to ~1e-12


def test_confounders_are_required(flow: Flow) -> None:
    flow.upload("gbsg.csv", GBSG.read_bytes())
    flow.save_columns({"pid:type": "identifier", "hormon:type": "binary"})
    flow.client.post(
        "/endpoints",
        data={
            "csrf": flow.csrf,
            "action": "add_endpoint",
            "name": "RFS",
            "label": "RFS",
            "form": "columns",
            "time": "rfstime",
            "time_unit": "days",
            "event": "status",
        },
    )
    r = flow.run(survival=["RFS"], landmarks="12", treatment="hormon")
    assert r.url.path == "/analyses"
    assert any("choose the confounders" in t for t in texts(r.text, "err"))

"""Spec of ``analyses.treatment_effect`` (issue 20): the issue's YAML loads as written; the
validation errors name the key, the line and the problem (hand-written specs and expected
messages)."""

from __future__ import annotations

import pytest

from survstudy.errors import SpecError
from survstudy.spec import load_spec_text

HEAD = """data: {path: d.csv}
variables:
  age: {type: continuous}
  size: {type: categorical, levels: ["<=20", "20-50", ">50"]}
  grade: {type: categorical, levels: ["2", "3"]}
  nodes: {type: continuous}
  chemo: {type: binary}
  arm: {type: categorical, levels: [A, B, C]}
  when: {type: date}
endpoints:
  RFS: {time: rtime, event: recur}
analyses:
  treatment_effect:
"""

# the issue's YAML, verbatim (comments included)
ISSUE = """    - name: Chemotherapy vs none
      endpoint: RFS
      treatment: chemo            # binary variable; its non-reference level is 'treated'
      confounders: [age, size, grade, nodes]
      method: weighting           # weighting | matching
      estimand: ATE               # ATE | ATT | overlap (weighting); matching is ATT
      trim: null                  # e.g. [0.01, 0.99] propensity percentiles
"""


def err(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        load_spec_text(text, file="s.yaml")
    return info.value


def entry(**over: str) -> str:
    keys = {
        "name": "T",
        "endpoint": "RFS",
        "treatment": "chemo",
        "confounders": "[age, size]",
    }
    keys.update(over)
    body = "".join(f"      {k}: {v}\n" for k, v in keys.items() if v != "")
    return HEAD + "    -" + body[5:]


def test_issue_yaml_loads_with_its_defaults() -> None:
    """Hand check: the contract's keys and the documented defaults (stabilised ATE weights,
    caliper 0.2 SD of the logit, 1:1)."""
    te = load_spec_text(HEAD + ISSUE).analyses.treatment_effect[0]
    assert (te.name, te.endpoint, te.treatment) == ("Chemotherapy vs none", "RFS", "chemo")
    assert [f.variable for f in te.confounders] == ["age", "size", "grade", "nodes"]
    assert (te.method, te.estimand, te.trim) == ("weighting", "ATE", None)
    assert (te.stabilise, te.caliper, te.ratio, te.truncate) == (True, 0.2, 1, None)


def test_estimand_defaults_by_method() -> None:
    te = load_spec_text(entry()).analyses.treatment_effect[0]
    assert te.estimand is None
    assert te.effective_estimand == "ATE"
    te = load_spec_text(entry(method="matching")).analyses.treatment_effect[0]
    assert te.effective_estimand == "ATT"
    te = load_spec_text(entry(estimand="overlap", trim="[0.01, 0.99]")).analyses
    assert te.treatment_effect[0].trim == (0.01, 0.99)


def test_matching_is_att_only() -> None:
    e = err(entry(method="matching", estimand="ATE"))
    assert e.key == "analyses.treatment_effect.0"
    assert "matching estimates the effect in the treated (ATT), not ATE" in e.message
    e = err(entry(method="matching", trim="[0.05, 0.95]"))
    assert "'trim' is for method: weighting" in e.message


def test_bad_estimand_and_trim() -> None:
    e = err(entry(estimand="ATC"))
    assert e.key == "analyses.treatment_effect.0.estimand"
    e = err(entry(trim="[0.99, 0.01]"))
    assert "0 <= lower < upper <= 1, got [0.99, 0.01]" in e.message


def test_treatment_not_binary() -> None:
    e = err(entry(treatment="arm"))
    assert (e.code, e.key, e.line) == (
        "SPEC-TREATMENT-NOT-BINARY",
        "analyses.treatment_effect.0.treatment",
        16,  # line 14 is "- name", 15 endpoint, 16 treatment
    )
    assert "exactly 2 levels" in e.message
    assert "A, B, C" in e.message
    e = err(entry(treatment="age"))
    assert e.code == "SPEC-WRONG-TYPE"
    assert "'age' is a continuous variable" in e.message


def test_unknown_confounder_suggests_closest() -> None:
    e = err(entry(confounders="[age, nodse]"))
    assert (e.code, e.key, e.suggestion) == (
        "SPEC-UNKNOWN-NAME",
        "analyses.treatment_effect.0.confounders.1",
        "nodes",
    )
    e = err(entry(confounders="[age, when]"))
    assert e.code == "SPEC-WRONG-TYPE"


def test_treatment_as_confounder_and_unknown_endpoint() -> None:
    e = err(entry(confounders="[age, chemo]"))
    assert "cannot also be a confounder" in e.message
    e = err(entry(endpoint="OS"))
    assert (e.code, e.key) == ("SPEC-UNKNOWN-NAME", "analyses.treatment_effect.0.endpoint")
    e = err(entry(confounders="[]"))
    assert "at least one confounder" in e.message

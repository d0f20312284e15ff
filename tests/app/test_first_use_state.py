"""Issue 15 item 12, the app's study.yaml and a second upload (kind of truth: the text a
user downloads, checked against what it must and must not contain)."""

from __future__ import annotations

from pathlib import Path

import yaml

from survstudy.app.state import (
    AnalysisChoice,
    ColumnChoice,
    EndpointChoice,
    Session,
    spec_text,
)


def _session(tmp_path: Path) -> Session:
    s = Session(id="s", csrf="c", folder=tmp_path)
    s.columns = [
        ColumnChoice(column="age", name="age", type="continuous", label="Age"),
        ColumnChoice(column="sex", name="sex", type="categorical", label="Sex"),
    ]
    s.endpoints = [
        EndpointChoice(name="OS", label="Overall survival", form="columns", time="t", event="e"),
        EndpointChoice(name="PFS", label="PFS", form="columns", time="t2", event="e2"),
    ]
    s.analyses = AnalysisChoice(
        survival=["OS", "PFS"], factors=["age", "sex"], covariates=["age", "sex"]
    )
    s.cutoff = "2020-06-30"
    return s


def test_study_yaml_has_no_anchors(tmp_path: Path) -> None:
    """The endpoints list (survival and univariable) and the covariates (one model per
    endpoint) are written out each time, not as &id001 / *id001."""
    text = spec_text(_session(tmp_path), "data.csv")
    assert "&id" not in text
    assert "*id" not in text
    doc = yaml.safe_load(text)
    assert doc["analyses"]["univariable"]["endpoints"] == ["OS", "PFS"]
    assert [m["covariates"] for m in doc["analyses"]["multivariable"]] == [["age", "sex"]] * 2


def test_a_new_upload_starts_a_new_study(tmp_path: Path) -> None:
    """The previous study's data cut-off (and units, date format, title) do not carry over."""
    s = _session(tmp_path)
    s.units = "years"
    s.date_format = "DMY"
    s.title = "Colon"
    s.reset_for_upload()
    assert (s.cutoff, s.units, s.date_format, s.title) == ("", "months", "", "My study")
    assert "cutoff" not in spec_text(s, "new.csv")

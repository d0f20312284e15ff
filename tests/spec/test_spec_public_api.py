"""The public API of survstudy.spec and survstudy.data is pinned: the runner builds on it."""

from __future__ import annotations

import survstudy.data
import survstudy.spec


def test_spec_exports() -> None:
    assert set(survstudy.spec.__all__) >= {
        "StudySpec",
        "VariableSpec",
        "EndpointSpec",
        "AnalysesSpec",
        "Factor",
        "load_spec",
        "load_spec_text",
        "parse_expression",
        "endpoint_columns",
        "study_schema",
    }


def test_data_exports() -> None:
    assert set(survstudy.data.__all__) >= {
        "Cohort",
        "VariableInfo",
        "EndpointInfo",
        "FlowStep",
        "QualityReport",
        "build_cohort",
        "load_cohort",
        "read_table",
        "read_raw",
    }
    for name in survstudy.data.__all__:
        assert hasattr(survstudy.data, name)
    for name in survstudy.spec.__all__:
        assert hasattr(survstudy.spec, name)

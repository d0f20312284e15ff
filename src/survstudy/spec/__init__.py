"""The study spec: pydantic models of the study YAML, its loader and the safe expression language.

Belongs here: the schema of ``study.yaml`` (data, units, variables, endpoints,
population, analyses), the YAML loader that reports errors by line and key
with the closest valid key, and the small expression parser used for derived
variables and inclusion criteria (never ``eval``).

Must not be here: reading the patient data, statistics, formatting.
Imports: pydantic, yaml, ``survstudy.errors``.

Public API::

    spec = load_spec("study.yaml")       # StudySpec, or SpecError(file, line, key, suggestion)
    spec.data_path                       # data file resolved against the spec's folder
    spec.units.days_per_unit             # 30.4375 for months
    spec.analyses.univariable.factors    # [Factor(variable, per, label), ...]
    study_schema()                       # JSON Schema of study.yaml for editors
"""

from __future__ import annotations

from typing import Any

from survstudy.spec.checks import check_spec, derivation_order, endpoint_columns
from survstudy.spec.expr import Expression, parse_expression
from survstudy.spec.loader import closest, load_spec, load_spec_mapping, load_spec_text
from survstudy.spec.model import (
    DEFAULT_MISSING,
    AnalysesSpec,
    Criterion,
    DataSpec,
    EndpointSpec,
    EventCodes,
    Factor,
    KMFigureSpec,
    LandmarkSpec,
    ModelSpec,
    StudySpec,
    SurvivalSpec,
    Table1Spec,
    TimeDependentSpec,
    TreatmentEffectSpec,
    UnitsSpec,
    UnivariableSpec,
    VariableSpec,
)

__all__ = [
    "DEFAULT_MISSING",
    "AnalysesSpec",
    "Criterion",
    "DataSpec",
    "EndpointSpec",
    "EventCodes",
    "Expression",
    "Factor",
    "KMFigureSpec",
    "LandmarkSpec",
    "ModelSpec",
    "StudySpec",
    "SurvivalSpec",
    "Table1Spec",
    "TimeDependentSpec",
    "TreatmentEffectSpec",
    "UnitsSpec",
    "UnivariableSpec",
    "VariableSpec",
    "check_spec",
    "closest",
    "derivation_order",
    "endpoint_columns",
    "load_spec",
    "load_spec_mapping",
    "load_spec_text",
    "parse_expression",
    "study_schema",
]


def study_schema() -> dict[str, Any]:
    """The JSON Schema of ``study.yaml`` (committed as ``docs/study-schema.json``)."""
    schema = StudySpec.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "survstudy study spec"
    return schema

"""The spec loader: safe YAML, booleans, duplicate keys, line numbers, suggestions, models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from survstudy.errors import SpecError
from survstudy.spec import Factor, load_spec, load_spec_text, study_schema

MINIMAL = "data: {path: d.csv}\n"


def err(text: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        load_spec_text(text, file="s.yaml")
    return info.value


def test_yes_no_on_off_stay_text() -> None:
    """Hand check: YAML 1.1 would turn these into booleans; we keep them as categories."""
    spec = load_spec_text(
        MINIMAL + "variables:\n  smoker: {type: categorical, levels: [no, yes, on, off]}\n"
    )
    assert spec.variables["smoker"].level_names() == ["no", "yes", "on", "off"]


def test_true_false_are_booleans() -> None:
    spec = load_spec_text("synthetic: true\n" + MINIMAL)
    assert spec.synthetic is True


def test_duplicate_key_names_both_lines() -> None:
    e = err("data: {path: a.csv}\nunits: months\ndata: {path: b.csv}\n")
    assert (e.code, e.line, e.key) == ("SPEC-DUPLICATE-KEY", 3, "data")
    assert "first on line 1" in e.message


def test_typo_in_nested_key_suggests_closest() -> None:
    e = err(MINIMAL + "variables:\n  age:\n    type: continuous\n    lable: Age\n")
    assert (e.code, e.line, e.key, e.suggestion) == (
        "SPEC-UNKNOWN-KEY",
        5,
        "variables.age.lable",
        "label",
    )


def test_typo_in_endpoint_key_suggests_closest() -> None:
    e = err(
        MINIMAL + "variables:\n  s: {type: date}\n  d: {type: date}\n"
        "endpoints:\n  OS:\n    start: s\n    evnets: d\n"
    )
    assert e.key == "endpoints.OS.evnets"
    assert e.suggestion == "events"
    assert e.line == 8


def test_python_tags_are_refused() -> None:
    e = err("data: !!python/object/apply:os.system ['true']\n")
    assert e.code == "SPEC-YAML"


def test_unknown_name_in_expression_suggests_variable() -> None:
    e = err(
        MINIMAL + "variables:\n  age_at_diagnosis: {type: continuous}\n"
        "population:\n  - include: age_at_diagnsis > 18\n"
    )
    assert (e.code, e.line, e.suggestion) == (
        "SPEC-UNKNOWN-NAME",
        5,
        "age_at_diagnosis",
    )


def test_spec_path_and_base_dir(tmp_path: Path) -> None:
    """Identity: data.path resolves against the spec's folder; sha256 of the bytes."""
    import hashlib

    (tmp_path / "sub").mkdir()
    p = tmp_path / "sub" / "study.yaml"
    p.write_text("data: {path: ../data/x.csv}\n")
    spec = load_spec(p)
    assert spec.path == p.resolve()
    assert spec.base_dir == p.resolve().parent
    assert spec.data_path == p.resolve().parent / "../data/x.csv"
    assert spec.sha256 == hashlib.sha256(p.read_bytes()).hexdigest()


def test_units_default_month_is_30_4375_days() -> None:
    spec = load_spec_text(MINIMAL + "units: months\n")
    assert spec.units.days_per_unit == 30.4375
    spec = load_spec_text(MINIMAL + "units: {time: years, days_per_year: 365}\n")
    assert spec.units.days_per_unit == 365.0


def test_analyses_section_short_forms() -> None:
    spec = load_spec_text(
        MINIMAL + "variables:\n  ki67: {type: continuous}\n  grade: {type: categorical}\n"
        "  s: {type: date}\n  d: {type: date}\n"
        "endpoints:\n  OS: {start: s, events: d}\n"
        "analyses:\n  methods: spss\n  univariable:\n    endpoints: OS\n"
        "    factors: [grade, {ki67: {per: 10}}, {variable: ki67, per: 5}]\n"
        "  multivariable:\n    - {name: m1, endpoint: OS, covariates: [grade, ki67]}\n"
        "  km:\n    - {endpoint: OS, by: grade}\n"
        "  survival: {endpoints: [OS], landmarks: [24, 36]}\n"
        "  table1: {variables: [grade, ki67, OS], continuous: median-iqr}\n"
    )
    an = spec.analyses
    assert an.methods == "spss"
    assert an.univariable is not None
    assert an.univariable.endpoints == ["OS"]
    assert an.univariable.factors == [
        Factor(variable="grade"),
        Factor(variable="ki67", per=10),
        Factor(variable="ki67", per=5),
    ]
    assert an.survival is not None
    assert an.survival.landmarks == [24.0, 36.0]
    assert an.km[0].by == "grade"
    assert an.table1 is not None
    assert an.table1.continuous == "median-iqr"


def test_binary_default_levels_and_reference() -> None:
    spec = load_spec_text(MINIMAL + "variables:\n  neo: {type: binary}\n")
    var = spec.variables["neo"]
    assert var.level_names() == ["Yes", "No"]
    assert var.reference_level() == "No"


def test_cut_labels() -> None:
    spec = load_spec_text(MINIMAL + "variables:\n  ki: {type: categorical, cuts: [20, 50]}\n")
    assert spec.variables["ki"].cut_names() == ["<20", "20–<50", "≥50"]


def test_schema_is_json_and_names_top_level_keys() -> None:
    schema = study_schema()
    json.dumps(schema)
    assert set(schema["properties"]) >= {
        "data",
        "units",
        "variables",
        "endpoints",
        "population",
        "analyses",
    }


def test_committed_schema_is_up_to_date() -> None:
    """Identity: docs/study-schema.json equals study_schema() (regenerate with survstudy schema)."""
    path = Path(__file__).resolve().parents[2] / "docs" / "study-schema.json"
    committed = json.loads(path.read_text(encoding="utf-8"))
    assert committed == study_schema()


def test_yaml_alias_bomb_is_refused_quickly() -> None:
    """A 'billion laughs' spec expands exponentially; the loader stops with a spec error."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    e = err("\n".join(lines) + "\n")
    assert e.code == "SPEC-YAML"
    assert "too large" in e.message


def test_recursive_yaml_is_refused() -> None:
    e = err("data: &x {path: d.csv, more: *x}\n")
    assert e.code == "SPEC-YAML"


def test_plain_words_for_shape_errors() -> None:
    e = err(MINIMAL + "variables:\n  age: continuous\n")
    assert str(e) == (
        "[SPEC-INVALID] s.yaml:3, key 'variables.age': must be a mapping of keys "
        "(key: value lines, or {key: value}) (got 'continuous') "
        "(write age: {type: continuous})"
    )
    e = err(MINIMAL + "population:\n  include: age > 3\n")
    assert e.message == "must be a list ('- item' lines, or [a, b])"

"""Robustness (property): arbitrary input gives a result or a user error, never a crash."""

from __future__ import annotations

import contextlib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from survstudy.errors import SurvstudyError
from survstudy.spec import load_spec_text, parse_expression

BASE = "data: {path: d.csv}\nvariables:\n  a: {type: continuous}\n  d: {type: date}\n"
yaml_chars = st.text(alphabet=st.sampled_from(list("abdtyp:{}[]-,\n '\"!&*#|>%@`0123456789.")))


@settings(max_examples=300, deadline=None)
@given(yaml_chars)
def test_property_any_yaml_text_is_a_spec_or_a_spec_error(text: str) -> None:
    with contextlib.suppress(SurvstudyError):
        load_spec_text(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ad()[]<>=!+-*/ .,'\"0123456789_andornotis"))))
def test_property_any_expression_text_parses_or_is_refused(text: str) -> None:
    with contextlib.suppress(ValueError):
        parse_expression(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ad()[]<>=!+-*/ .,'\"0123456789_andornotis"))))
def test_property_any_population_step_loads_or_is_a_spec_error(text: str) -> None:
    spec = BASE + "population:\n  - include: " + repr(text).replace("\\\\", "\\") + "\n"
    with contextlib.suppress(SurvstudyError):
        load_spec_text(spec)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=300))
def test_property_any_csv_bytes_read_or_data_error(tmp_path: Path, data: bytes) -> None:
    from survstudy.data.readers import read_raw

    p = tmp_path / "d.csv"
    p.write_bytes(data)
    with contextlib.suppress(SurvstudyError):
        read_raw(p)

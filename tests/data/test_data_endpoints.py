"""Endpoint derivation rules: hand-written rows (admiral style) and property tests.

The rules are the cohort plan's own (:func:`survstudy.data.plan.dates_rule`,
:func:`~survstudy.data.plan.horizon_rule`, :func:`~survstudy.data.plan.event_rule`),
evaluated here on arrays of day numbers as the in-memory executor evaluates them (the SQL
executor renders the same trees; tests/engines/test_plan_parity.py runs both).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survstudy.data.expressions import EPOCH, Value, evaluate_node
from survstudy.data.plan import dates_rule, endpoint_names, event_rule, horizon_rule

nan = np.nan


@dataclass
class Derived:
    time: np.ndarray
    status: np.ndarray
    event: np.ndarray
    after_cutoff: np.ndarray


def _run(steps: list, env: dict[str, Value], n: int) -> None:
    for step in steps:
        env[step.name] = evaluate_node(step.node, env, n)


def derive_time_to_event(
    start: np.ndarray,
    events: list[np.ndarray],
    censor: list[np.ndarray] = (),  # type: ignore[assignment]
    competing: list[np.ndarray] = (),  # type: ignore[assignment]
    *,
    cutoff: float | None = None,
    horizon: float | None = None,
) -> Derived:
    """The plan's rule on day numbers (``cutoff``: a day number)."""
    n = len(start)
    env = {"start": Value("date", np.asarray(start, dtype=float))}
    names: dict[str, list[str]] = {}
    for group, arrays in (("e", events), ("c", censor), ("k", competing)):
        names[group] = [f"{group}{i}" for i in range(len(arrays))]
        for nm, a in zip(names[group], arrays, strict=True):
            env[nm] = Value("date", np.asarray(a, dtype=float))
    cut = None if cutoff is None else (EPOCH + dt.timedelta(days=int(cutoff))).isoformat()
    steps = dates_rule("E", "start", names["e"], names["c"], names["k"], cut)
    if horizon is not None:
        steps += horizon_rule("E", horizon)
    _run([*steps, event_rule("E")], env, n)
    t, e, s = endpoint_names("E")
    late = env["#late:E"].data == 1 if cut is not None else np.zeros(n, dtype=bool)
    return Derived(env[t].data, env[s].data, env[e].data, late)


def censor_at_horizon(
    time: np.ndarray, status: np.ndarray, horizon: float
) -> tuple[np.ndarray, np.ndarray]:
    t, _e, s = endpoint_names("E")
    env = {t: Value("number", time), s: Value("number", status)}
    _run(horizon_rule("E", horizon), env, len(time))
    return env[t].data, env[s].data


def test_rules_on_literal_rows() -> None:
    """Hand-written expected table: one row per rule (event wins ties with competing)."""
    start = np.array([0, 0, 0, 0, 0, nan, 0, 0])
    prog = np.array([100, nan, 50, nan, 30, 10, nan, 40])
    death = np.array([80, 200, nan, nan, nan, 20, nan, nan])
    fu = np.array([300, 250, 60, 90, nan, 30, nan, 500])
    other = np.array([nan, nan, nan, nan, 30, nan, nan, 20])  # competing
    d = derive_time_to_event(start, [prog, death], [fu], [other], cutoff=400)
    #                        comp. ev  death  prog  cens  tie   nostart nothing  competing first
    assert d.time.tolist()[:5] == [80, 200, 50, 90, 30]
    assert d.status.tolist()[:5] == [1, 1, 1, 0, 1]
    assert np.isnan(d.time[5])  # no start date
    assert np.isnan(d.time[6])  # no event, no follow-up
    assert (d.time[7], d.status[7]) == (20, 2)
    assert d.event.tolist()[7] == 0.0


def test_cutoff_censors_late_events() -> None:
    """Hand calculation: an event on day 500 with cut-off day 365 -> censored at 365."""
    d = derive_time_to_event(
        np.array([0.0, 100.0]), [np.array([500.0, 200.0])], [np.array([600.0, 300.0])], cutoff=365
    )
    assert d.time.tolist() == [365.0, 100.0]
    assert d.status.tolist() == [0.0, 1.0]
    assert d.after_cutoff.tolist() == [True, False]


def test_horizon() -> None:
    """Hand calculation: horizon 84 months = 2556.75 days."""
    t, s = censor_at_horizon(np.array([2000.0, 3000.0]), np.array([1.0, 1.0]), 84 * 30.4375)
    assert t.tolist() == [2000.0, 2556.75]
    assert s.tolist() == [1.0, 0.0]


# valid data (the checks reject event dates before the start): offsets from the start date
offset = st.one_of(st.none(), st.integers(min_value=0, max_value=5000))
patient = st.tuples(
    st.integers(min_value=0, max_value=20000), offset, offset, offset, offset
)  # start, event1, event2, censor, competing


def _arrays(rows: list[tuple[int, int | None, int | None, int | None, int | None]]):
    cols = list(zip(*rows, strict=True))
    start = np.array([float(v) for v in cols[0]])
    rest = [np.array([nan if v is None else float(v) for v in c]) + start for c in cols[1:]]
    return [start, *rest]


@settings(max_examples=60, deadline=None)
@given(st.lists(patient, min_size=1, max_size=30))
def test_property_durations_are_non_negative(rows) -> None:
    """Property: every derived time is >= 0 (or missing when it cannot be derived)."""
    start, e1, e2, fu, comp = _arrays(rows)
    d = derive_time_to_event(start, [e1, e2], [fu], [comp])
    ok = ~np.isnan(d.time)
    assert (d.time[ok] >= 0).all()
    assert np.isnan(d.status[~ok]).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(patient, min_size=1, max_size=30))
def test_property_composite_time_is_the_minimum(rows) -> None:
    """Property: the composite event time is the minimum of the component event times."""
    start, e1, e2, fu, _ = _arrays(rows)
    comp = derive_time_to_event(start, [e1, e2], [fu])
    a = derive_time_to_event(start, [e1], [fu])
    b = derive_time_to_event(start, [e2], [fu])
    for i in range(len(start)):
        if comp.status[i] == 1:
            times = [x.time[i] for x in (a, b) if x.status[i] == 1]
            assert comp.time[i] == min(times)
        if a.status[i] == 1 or b.status[i] == 1:
            assert comp.status[i] == 1


@settings(max_examples=60, deadline=None)
@given(
    st.lists(patient, min_size=1, max_size=30),
    st.floats(min_value=1, max_value=20000, allow_nan=False),
)
def test_property_horizon_never_increases_events(rows, horizon) -> None:
    """Property: censoring at a horizon never adds events and never lengthens a time."""
    start, e1, e2, fu, comp = _arrays(rows)
    free = derive_time_to_event(start, [e1, e2], [fu], [comp])
    cut = derive_time_to_event(start, [e1, e2], [fu], [comp], horizon=horizon)
    assert np.nansum(cut.event) <= np.nansum(free.event)
    ok = ~np.isnan(free.time)
    assert (cut.time[ok] <= free.time[ok]).all()
    assert (cut.time[ok] <= horizon).all()
    assert (cut.event[ok] <= free.event[ok]).all()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(patient, min_size=1, max_size=30),
    st.integers(min_value=0, max_value=20000),
)
def test_property_cutoff_never_increases_events(rows, cutoff) -> None:
    """Property: a data cut-off never adds events; no end is after the cut-off."""
    start, e1, e2, fu, comp = _arrays(rows)
    free = derive_time_to_event(start, [e1, e2], [fu], [comp])
    cut = derive_time_to_event(start, [e1, e2], [fu], [comp], cutoff=float(cutoff))
    assert np.nansum(cut.event) <= np.nansum(free.event)
    ok = ~np.isnan(cut.time)
    assert (start[ok] + cut.time[ok] <= cutoff).all()


@pytest.mark.parametrize(
    ("start", "event", "expected"),
    [(10.0, 10.0, 0.0), (10.0, 11.0, 1.0)],
)
def test_same_day_event_is_zero_days(start: float, event: float, expected: float) -> None:
    """Hand calculation: an event on the start day has time 0."""
    d = derive_time_to_event(np.array([start]), [np.array([event])])
    assert d.time.tolist() == [expected]

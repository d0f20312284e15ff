"""The app offers the competing event (issue 18): a competing event date for an endpoint from
dates, a competing event code for an endpoint from an event column; the run shows the cumulative
incidence and its figure.

Kinds of truth: the spec the form makes is checked against the spec written out by hand (the
keys of the study-spec contract, ``competing:`` and ``event_codes.competing``); the numbers are
a hand computation (six patients, Aalen–Johansen by hand in the test) and the R reference of the
mgus2 example (tests/reference/mgus2_example.R -> mgus2_example.json: ``cmprsk::cuminc`` +
``timepoints``, and ``cuminc(group = sex)`` for Gray's test).
"""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path

import pytest
import yaml

from survstudy.app.state import ColumnChoice, EndpointChoice, Session, spec_dict, spec_text
from survstudy.spec import load_spec_text

from .conftest import Flow, texts

ROOT = Path(__file__).resolve().parents[2]
MGUS2 = ROOT / "examples" / "mgus2" / "mgus2.csv"
R = json.loads((ROOT / "tests" / "reference" / "mgus2_example.json").read_text())


def _session(tmp_path: Path) -> Session:
    s = Session(id="x", csrf="y", folder=tmp_path)
    s.columns = [
        ColumnChoice("surgery", "surgery", "date", "surgery"),
        ColumnChoice("progression", "progression", "date", "progression"),
        ColumnChoice("death", "death", "date", "death"),
        ColumnChoice("last_seen", "last_seen", "date", "last_seen"),
        ColumnChoice("months", "months", "continuous", "months"),
        ColumnChoice("status", "status", "categorical", "status", values_hint="0, 1, 2"),
    ]
    return s


def test_the_form_writes_competing_dates_and_codes_into_the_spec(tmp_path: Path) -> None:
    """The contract's keys: ``competing: [death]`` on an endpoint from dates,
    ``event_codes: {event: [1], censored: [0], competing: [2]}`` on one from an event column
    (an event column left at the 0/1 convention gets 1/0 named beside the competing code), and
    ``competing_label`` only with a competing event; the ordinary loader accepts the text."""
    s = _session(tmp_path)
    s.endpoints = [
        EndpointChoice(
            name="TTP",
            label="Time to progression",
            start="surgery",
            events=["progression"],
            censor=["last_seen"],
            competing=["death"],
            competing_label="death without progression",
        ),
        EndpointChoice(
            name="PCM",
            label="Progression",
            form="columns",
            time="months",
            event="status",
            competing_values="2",
        ),
        EndpointChoice(
            name="PCM2",
            label="Progression (codes typed)",
            form="columns",
            time="months",
            event="status",
            event_values="1",
            censored_values="0",
            competing_values="2",
            competing_label="death",
        ),
        EndpointChoice(
            name="OS",
            label="Overall survival",
            start="surgery",
            events=["death"],
            censor=["last_seen"],
            competing_label="ignored without a competing event",
        ),
    ]
    eps = spec_dict(s, "data.csv", analyses=False)["endpoints"]
    assert eps["TTP"] == {
        "label": "Time to progression",
        "start": "surgery",
        "events": ["progression"],
        "censor": ["last_seen"],
        "competing": ["death"],
        "competing_label": "death without progression",
    }
    assert eps["PCM"] == {
        "label": "Progression",
        "time": "months",
        "time_unit": "months",
        "event": "status",
        "event_codes": {"event": [1], "censored": [0], "competing": [2]},
    }
    assert eps["PCM2"]["event_codes"] == {"event": [1], "censored": [0], "competing": [2]}
    assert eps["PCM2"]["competing_label"] == "death"
    assert eps["OS"] == {
        "label": "Overall survival",
        "start": "surgery",
        "events": ["death"],
        "censor": ["last_seen"],
    }
    spec = load_spec_text(spec_text(s, "data.csv", analyses=False), file="study.yaml")
    assert spec.endpoints["TTP"].competing == ["death"]
    assert spec.endpoints["PCM"].event_codes is not None
    assert spec.endpoints["PCM"].event_codes.competing == [2]


# six patients operated on 2020-01-01 (days to the first of progression / death / last seen):
# P1 progression 100; P2 death 200; P3 last seen 800; P4 progression 400; P5 death 500;
# P6 progression 600 (death 700 later: the progression counts).
SHEET = (
    "id,surgery,progression,death,last_seen\n"
    "P1,2020-01-01,2020-04-10,,2020-06-01\n"
    "P2,2020-01-01,,2020-07-19,2020-07-19\n"
    "P3,2020-01-01,,,2022-03-11\n"
    "P4,2020-01-01,2021-02-04,,2021-03-01\n"
    "P5,2020-01-01,,2021-05-15,2021-05-15\n"
    "P6,2020-01-01,2021-08-23,2021-12-01,2021-12-01\n"
)


def _cif_cells(page: str, row_id: str) -> dict[str, float]:
    m = re.search(rf'<tr id="{row_id}">(.*?)</tr>', page, re.S)
    assert m is not None, row_id
    return {t: float(v) for t, v in re.findall(r'data-time="([^"]+)">([\d.]+) %', m.group(1))}


def test_competing_event_date_in_the_endpoint_step_and_the_results(flow: Flow) -> None:
    """Hand computation (Aalen–Johansen; S is the all-cause event-free proportion): day 100
    progression, 6 at risk: CIF 1/6, S 5/6; day 200 death, 5 at risk: competing 5/6 * 1/5 = 1/6,
    S 4/6; day 400 progression, 4 at risk: + 4/6 * 1/4 = 1/6, S 1/2; day 500 death, 3 at risk:
    competing + 1/2 * 1/3 = 1/6, S 1/3; day 600 progression, 2 at risk: + 1/3 * 1/2 = 1/6, S 1/6;
    day 800 censored. At 12 months (365.25 days): 1/6 and 1/6 with 4 at risk; at 24 months
    (730.5 days): 1/2 and 1/3 with 1 at risk. Counts: 3 progressions, 2 competing deaths,
    1 censored."""
    r = flow.upload("ttp.csv", SHEET.encode())
    assert r.status_code == 200
    r = flow.save_columns({"id:type": "identifier"})
    assert r.url.path == "/endpoints", texts(r.text, "err")
    page = r.text
    assert 'name="competing"' in page
    assert 'id="co-death"' in page
    r = flow.client.post(
        "/endpoints",
        data={
            "csrf": flow.csrf,
            "action": "add_endpoint",
            "name": "TTP",
            "label": "Time to progression",
            "form": "dates",
            "start": "surgery",
            "events": ["progression"],
            "censor": ["last_seen"],
            "competing": ["death"],
            "competing_label": "death without progression",
        },
    )
    assert not texts(r.text, "err"), texts(r.text, "err")
    m = re.search(r'<tr id="ep-TTP">(.*?)</tr>', r.text, re.S)
    assert m is not None
    assert re.findall(r'class="count[^"]*">(\d+)<', m.group(1)) == ["6", "3", "1"]
    assert "2 competing events" in m.group(1)
    r = flow.run(survival=["TTP"], landmarks="12, 24")
    assert r.url.path.startswith("/results/"), texts(r.text, "err")
    page = r.text
    # the page prints one decimal of a percent: within 0.05 of the exact fraction
    got = _cif_cells(page, "cif-TTP")
    assert got["12"] == pytest.approx(100 / 6, abs=0.05)
    assert got["24"] == pytest.approx(100 / 2, abs=0.05)
    comp = _cif_cells(page, "cif-TTP-competing")
    assert comp["12"] == pytest.approx(100 / 6, abs=0.05)
    assert comp["24"] == pytest.approx(100 / 3, abs=0.05)
    assert re.findall(r"(\d+) at risk", page) == ["4", "1"]
    assert "competing event: death without progression" in page
    assert 'id="surv-TTP"' not in page  # no 1 - Kaplan-Meier row for it
    run = r.url.path.rsplit("/", 1)[1]
    spec = yaml.safe_load(flow.client.get(f"/runs/{run}/download/study.yaml").text)
    assert spec["endpoints"]["TTP"]["competing"] == ["death"]
    captions = [html.unescape(c) for c in re.findall(r"<figcaption[^>]*>([^<]*)<", page)]
    assert any(c.startswith("Cumulative incidence of") for c in captions), captions


def test_competing_event_code_refused_when_not_a_value_or_already_used(flow: Flow) -> None:
    flow.upload("mgus2.csv", MGUS2.read_bytes())
    flow.save_columns()
    base = {
        "csrf": flow.csrf,
        "action": "add_endpoint",
        "name": "PCM",
        "label": "Progression",
        "form": "columns",
        "time": "time",
        "time_unit": "months",
        "event": "status",
    }
    r = flow.client.post("/endpoints", data={**base, "competing_value": "7"})
    assert any("not a value of the event column 'status'" in t for t in texts(r.text, "err"))
    r = flow.client.post("/endpoints", data={**base, "competing_value": "1"})
    assert any("already means the event or censored" in t for t in texts(r.text, "err"))
    assert 'id="ep-PCM"' not in r.text


def test_mgus2_with_a_competing_event_code_shows_the_cif_figure_and_equals_cmprsk(
    flow: Flow,
) -> None:
    """R reference (mgus2_example.json): cumulative incidence of progression and of death at
    12, 60, 120, 240 months from cmprsk::cuminc; the page prints one decimal of a percent
    (within 0.05 of R's value), results.json holds them to R's precision (1e-8 relative, as
    tests/pipeline/test_pipeline_competing.py); Gray's test by sex from cuminc(group = sex)."""
    r = flow.upload("mgus2.csv", MGUS2.read_bytes())
    assert r.status_code == 200
    r = flow.save_columns()
    assert r.url.path == "/endpoints", texts(r.text, "err")
    assert '<option value="2">status = 2</option>' in r.text
    r = flow.client.post(
        "/endpoints",
        data={
            "csrf": flow.csrf,
            "action": "add_endpoint",
            "name": "PCM",
            "label": "Progression to plasma-cell malignancy",
            "form": "columns",
            "time": "time",
            "time_unit": "months",
            "event": "status",
            "competing_value": "2",
            "competing_label": "death",
        },
    )
    assert not texts(r.text, "err"), texts(r.text, "err")
    ref = R["cif"]
    m = re.search(r'<tr id="ep-PCM">(.*?)</tr>', r.text, re.S)
    assert m is not None
    censored = ref["n"] - ref["events"] - ref["competing_events"]
    assert re.findall(r'class="count[^"]*">(\d+)<', m.group(1)) == [
        str(ref["n"]),
        str(ref["events"]),
        str(censored),
    ]
    assert f"{ref['competing_events']} competing events" in m.group(1)
    r = flow.run(table1=["age"], survival=["PCM"], landmarks="12, 60, 120, 240", km_by="sex")
    assert r.url.path.startswith("/results/"), texts(r.text, "err")
    page = r.text
    got = _cif_cells(page, "cif-PCM")
    comp = _cif_cells(page, "cif-PCM-competing")
    for k, t in enumerate(ref["times"]):
        assert got[f"{t:g}"] == pytest.approx(100 * ref["event"]["est"][k], abs=0.05)
        assert comp[f"{t:g}"] == pytest.approx(100 * ref["competing"]["est"][k], abs=0.05)
    captions = [html.unescape(c) for c in re.findall(r"<figcaption[^>]*>([^<]*)<", page)]
    assert any(
        "Cumulative incidence of" in c and "death as a competing event" in c for c in captions
    )
    assert any("Gray's test" in c for c in captions)
    run = r.url.path.rsplit("/", 1)[1]
    figs = re.findall(rf'src="(/runs/{run}/figure/\d+\.png)" alt="Cumulative incidence', page)
    assert len(figs) == 2  # overall and by sex
    assert flow.client.get(figs[1]).content.startswith(b"\x89PNG")
    spec = yaml.safe_load(flow.client.get(f"/runs/{run}/download/study.yaml").text)
    assert spec["endpoints"]["PCM"]["event_codes"] == {
        "event": [1],
        "censored": [0],
        "competing": [2],
    }
    res = json.loads(flow.client.get(f"/runs/{run}/download/results.json").text)
    ep = res["endpoints"]["PCM"]
    assert ep["competing"] is True
    assert ep["cif"]["competing_events"] == ref["competing_events"]
    for a in ep["cif"]["at"]:
        k = ref["times"].index(a["time"])
        want = ref["event" if a["cause"] == "event" else "competing"]["est"][k]
        assert math.isclose(a["cif"], want, rel_tol=1e-8)
    (gray,) = [k["gray"] for k in res["km"] if k.get("gray")]
    assert math.isclose(gray["statistic"], R["by_sex"]["gray"]["statistic"], rel_tol=1e-8)
    assert math.isclose(gray["p_value"], R["by_sex"]["gray"]["p_value"], rel_tol=1e-8)

"""Issue 15's walkthrough in the app on a hospital-style sheet (a free-text column, a 0/1
column, DD/MM/YYYY dates, Alive/Dead status, names), keeping every default: the report has
no free text and prints the 0/1 column as Yes/No with No as the reference.

Kinds of truth: the sheet read with the csv module (the free-text values, the count of
obstruct = 1), R reference (tests/reference/first_use.R: coxph of Yes versus No).
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from html import unescape as html_unescape
from pathlib import Path

import pytest

from .conftest import Flow, texts

ROOT = Path(__file__).resolve().parents[2]
SHEET = ROOT / "tests" / "bad_inputs" / "cases" / "ok_free_text_column" / "data.csv"
REF = json.loads((ROOT / "tests" / "reference" / "first_use.json").read_text("utf-8"))


def _rows() -> list[dict[str, str]]:
    with open(SHEET, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _checked(page: str, name: str) -> list[str]:
    return re.findall(rf'<input type="checkbox" name="{name}" value="([^"]+)"\s*checked>', page)


def test_defaults_give_a_report_without_free_text(flow: Flow) -> None:
    r = flow.upload("colon.csv", SHEET.read_bytes())
    assert r.status_code == 200
    columns = r.text
    # the guesses: free text is its own type, the 0/1 column binary with No the reference
    assert re.search(r'id="type_comments">.*?value="text" selected', columns, re.S)
    assert re.search(r'id="type_obstruct">.*?value="binary" selected', columns, re.S)
    assert 'id="ref_obstruct">reference: No<' in columns
    r = flow.save_columns()
    assert r.url.path == "/endpoints", texts(r.text, "err")
    r = flow.endpoint_from_dates(
        "OS", "Overall survival", "surgery_date", ["death_date"], ["last_contact"]
    )
    page = flow.client.get("/analyses").text
    table1 = _checked(page, "table1")
    assert "comments" not in page  # never offered, let alone pre-ticked
    assert "obstruct" in table1
    r = flow.run(table1=table1, survival=["OS"], factors=["obstruct"], landmarks="12")
    assert r.url.path.startswith("/results/"), texts(r.text, "err")
    run = r.url.path.rsplit("/", 1)[1]
    comments = [row["comments"] for row in _rows() if row["comments"]]
    bodies = [r.text]
    for name in ("report.html", "results.json", "study.yaml"):
        bodies.append(flow.client.get(f"/runs/{run}/download/{name}").text)
    for name in ("report.docx", "tables.xlsx"):
        content = flow.client.get(f"/runs/{run}/download/{name}").content
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            bodies += [z.read(n).decode("utf-8", "replace") for n in z.namelist()]
    for body in bodies:
        for c in comments:
            assert c not in body
    res = json.loads(bodies[2])
    ones = sum(row["obstruct"] == "1" for row in _rows())
    t1 = [
        (x["level"], x["n"], x["sublevels"]) for x in res["table1"] if x["variable"] == "obstruct"
    ]
    assert t1 == [("Yes", ones, []), ("No", 12 - ones, [])]
    uni = [x for x in res["univariable"]["OS"] if x["variable"] == "obstruct"]
    assert [x["level"] for x in uni if x["kind"] == "reference"] == ["No"]
    (yes,) = [x for x in uni if x["kind"] == "level"]
    assert yes["level"] == "Yes"
    # coxph's default convergence: the HR agrees to ~1e-6 relative
    assert yes["hr"] == pytest.approx(REF["obstruct"]["hr_yes_vs_no"], rel=1e-6)


def test_the_same_date_as_event_and_censoring_is_refused(flow: Flow) -> None:
    """Issue 15 item 6: 'Last follow-up' ticked as event and censoring gave 12 events, 0
    censored; now the endpoint is refused next to the form and not added."""
    flow.upload("colon.csv", SHEET.read_bytes())
    r = flow.save_columns()
    assert r.url.path == "/endpoints", texts(r.text, "err")
    r = flow.endpoint_from_dates(
        "OS", "Overall survival", "surgery_date", ["death_date", "last_contact"], ["last_contact"]
    )
    assert "ticked as an event and as the censoring date" in r.text
    assert 'id="ep-OS"' not in r.text


def _to_endpoints(flow: Flow) -> None:
    flow.upload("colon.csv", SHEET.read_bytes())
    r = flow.save_columns({"age:label": "Age"}, date_format="DMY")
    assert r.url.path == "/endpoints", texts(r.text, "err")
    flow.endpoint_from_dates(
        "OS", "Overall survival", "surgery_date", ["death_date"], ["last_contact"]
    )


@pytest.mark.parametrize(
    ("typed", "fix"),
    [
        ("surgery_date >= 01/07/2006", 'write the date 01/07/2006 as date("2006-07-01")'),
        ("surgery_date >= 2006-07-01", 'write the date 2006-07-01 as date("2006-07-01")'),
        ("Age >= 60", "use the variable name age (not its label 'Age')"),
    ],
)
def test_criterion_errors_in_the_users_words(flow: Flow, typed: str, fix: str) -> None:
    """Issue 15 item 9: no tokenizer message and no study.yaml line; the fix; the typed
    text stays in the form."""
    _to_endpoints(flow)
    r = flow.criterion("include", typed, "my reason")
    (err,) = texts(r.text, "err")
    assert err.startswith("The condition cannot be used: ")
    assert fix in err
    assert "study.yaml" not in err
    assert "population.0" not in err
    m = re.search(r'id="crit-expression".*?\svalue="([^"]*)"', r.text)
    assert m is not None
    assert html_unescape(m.group(1)) == typed
    assert 'value="my reason"' in r.text


def test_criterion_picker(flow: Flow) -> None:
    """The picker (variable, operator, value) writes the condition; the flow counts the
    patients operated from July 2006 on, counted here from the sheet (csv module)."""
    import datetime as dt

    _to_endpoints(flow)
    r = flow.client.post(
        "/endpoints",
        data={
            "csrf": flow.csrf,
            "action": "add_criterion",
            "kind": "include",
            "expression": "",
            "pick_variable": "surgery_date",
            "pick_op": ">=",
            "pick_value": "01/07/2006",
            "reason": "Operated before July 2006",
        },
    )
    assert texts(r.text, "err") == []
    keep = sum(
        dt.datetime.strptime(row["surgery_date"], "%d/%m/%Y").date() >= dt.date(2006, 7, 1)
        for row in _rows()
    )
    assert re.findall(r'class="count">(\d+) remain', r.text) == ["12", str(keep)]
    spec = flow.client.get("/endpoints").text
    assert "Operated before July 2006" in spec


def test_endpoint_from_last_contact_and_vital_status(flow: Flow) -> None:
    """Issue 15 item 4 in the app: start + last contact + Alive/Dead. Counted from the sheet
    (csv module): events = patients with status Dead; the status agrees with the death
    dates here, so no STATUS-DATE-CONFLICT."""
    flow.upload("colon.csv", SHEET.read_bytes())
    r = flow.save_columns(date_format="DMY")
    assert r.url.path == "/endpoints", texts(r.text, "err")
    r = flow.client.post(
        "/endpoints",
        data={
            "csrf": flow.csrf,
            "action": "add_endpoint",
            "name": "OS",
            "label": "Overall survival",
            "form": "status",
            "start": "surgery_date",
            "end": "last_contact",
            "status": "vital_status",
            "event_values": "Dead",
            "censored_values": "Alive",
        },
    )
    assert texts(r.text, "err") == []
    m = re.search(r'<tr id="ep-OS">(.*?)</tr>', r.text, re.S)
    assert m is not None
    n, ev, ce = re.findall(r'class="count[^"]*">(\d+)<', m.group(1))
    dead = sum(row["vital_status"] == "Dead" for row in _rows())
    assert (int(n), int(ev), int(ce)) == (12, dead, 12 - dead)
    r = flow.run(survival=["OS"], landmarks="12")
    assert r.url.path.startswith("/results/"), texts(r.text, "err")
    run = r.url.path.rsplit("/", 1)[1]
    spec = flow.client.get(f"/runs/{run}/download/study.yaml").text
    assert "end: last_contact" in spec
    assert "status: vital_status" in spec


def test_reference_level_chosen_in_the_app(flow: Flow) -> None:
    """Issue 15 item 8: the column page names each category's reference and lets the user
    set it; the spec carries it and the Cox table compares against it."""
    flow.upload("colon.csv", SHEET.read_bytes())
    page = flow.client.get("/columns").text
    # rx's levels as found (alphabetical): the first is the default reference
    assert 'id="ref_rx">reference: Lev+5FU<' in page
    i = flow.column_index(page, "rx")
    form = flow.column_form(page)
    form.update({f"levels_{i}": "Observation, Levamisole, Lev+5FU", f"reference_{i}": "Levamisole"})
    form["next"] = "0"
    page = flow.client.post("/columns", data=form).text
    assert 'id="ref_rx">reference: Levamisole<' in page
    r = flow.save_columns()
    assert r.url.path == "/endpoints", texts(r.text, "err")
    flow.endpoint_from_dates(
        "OS", "Overall survival", "surgery_date", ["death_date"], ["last_contact"]
    )
    r = flow.run(survival=["OS"], factors=["rx"], landmarks="12")
    assert r.url.path.startswith("/results/"), texts(r.text, "err")
    run = r.url.path.rsplit("/", 1)[1]
    res = json.loads(flow.client.get(f"/runs/{run}/download/results.json").text)
    rows = [x for x in res["univariable"]["OS"] if x["variable"] == "rx"]
    assert [x["level"] for x in rows if x["kind"] == "reference"] == ["Levamisole"]
    assert "reference: Levamisole" in flow.client.get(f"/runs/{run}/download/study.yaml").text


def test_one_stray_cell_is_said_at_upload(flow: Flow) -> None:
    """Issue 15 item 12: one '56 years' among the ages: the column page says 'numeric
    except row N' and keeps the column continuous (row: header = row 1)."""
    lines = SHEET.read_text("utf-8").splitlines()
    cells = lines[3].split(",")
    age = lines[0].split(",").index("age")
    cells[age] = "56 years"
    lines[3] = ",".join(cells)
    flow.upload("colon.csv", ("\n".join(lines) + "\n").encode())
    page = flow.client.get("/columns").text
    assert re.search(r'id="type_age">.*?value="continuous" selected', page, re.S)
    assert 'numeric except row 4 ("56 years")' in html_unescape(page)

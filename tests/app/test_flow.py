"""The app's flow through its routes: counts, messages, the bclm seed study, downloads."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import BCLM_RAW, Flow, bclm_to_endpoints, texts

# Published (Sen et al. 2024): 2-/3-year PFS 82 % / 69 %, OS 92 % / 82 %.
PUBLISHED = {("PFS", "24"): 82, ("PFS", "36"): 69, ("OS", "24"): 92, ("OS", "36"): 82}


def _counts(page: str) -> dict[str, tuple[int, int, int]]:
    out = {}
    for name in ("PFS", "OS"):
        m = re.search(rf'<tr id="ep-{name}">(.*?)</tr>', page, re.S)
        assert m is not None, name
        n, ev, ce = re.findall(r'class="count[^"]*">(\d+)<', m.group(1))
        out[name] = (int(n), int(ev), int(ce))
    return out


def test_endpoint_counts_and_flow_of_the_seed_study(flow: Flow) -> None:
    """Published table: 12 patients included of 15 rows (2 operated outside Jan 2011 - Nov
    2020, 1 with extrahepatic disease), 3 progressions and 3 deaths; censored = 12 - 3."""
    bclm_to_endpoints(flow)
    page = flow.client.get("/endpoints").text
    assert _counts(page) == {"PFS": (12, 3, 9), "OS": (12, 3, 9)}
    remain = re.findall(r'class="count">(\d+) remain', page)
    assert remain == ["15", "13", "12"]


def test_identifiers_are_not_shown_after_the_mapping_step(flow: Flow) -> None:
    """patient_id and record_status are identifiers (guessed): the mapping step lists them,
    no later page names them or shows their values."""
    bclm_to_endpoints(flow)
    columns = flow.client.get("/columns").text
    assert "patient_id" in columns
    for path in ("/endpoints", "/analyses"):
        page = flow.client.get(path).text
        assert "patient_id" not in page
        assert "record_status" not in page
        assert "BCLM-0" not in page


def test_data_error_next_to_its_column_in_the_clis_words(flow: Flow, tmp_path: Path) -> None:
    """Identity with the CLI: the line `survstudy validate` prints for the same spec and data
    (pt_stage levels 1, 2 while the data hold 3) appears in the row of pt_stage."""
    flow.upload("bclm_raw.csv", BCLM_RAW.read_bytes())
    r = flow.save_columns({"pt_stage:levels": "1, 2"})
    assert r.url.path == "/columns"  # not saved: the data have an error
    page = r.text
    m = re.search(r'id="type_pt_stage">.*?</tr>(.*?)<tr>\s*<td><b>', page, re.S)
    assert m is not None
    near = [html.unescape(t) for t in re.findall(r'class="err">([^<]*)<', m.group(1))]
    assert near
    shutil.copy(BCLM_RAW, tmp_path / "bclm_raw.csv")
    (tmp_path / "study.yaml").write_text(
        "data: {path: bclm_raw.csv}\nvariables:\n"
        "  pt_stage: {type: categorical, levels: [1, 2], label: pt_stage}\n",
        encoding="utf-8",
    )
    out = subprocess.run(
        [sys.executable, "-m", "survstudy", "validate", str(tmp_path / "study.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    cli = [ln for ln in out.stdout.splitlines() if ln.startswith("error:")]
    assert cli
    assert cli[0] in near


def test_endpoint_from_time_and_event_columns(flow: Flow) -> None:
    """Hand count: 6 patients, events 1,0,1,1,0,0 -> 3 events, 3 censored."""
    data = b"id,months,dead,arm\nP1,5,1,a\nP2,8,0,a\nP3,12,1,b\nP4,3,1,b\nP5,20,0,a\nP6,7,0,b\n"
    flow.upload("trial.csv", data)
    flow.save_columns({"id:type": "identifier"})
    r = flow.client.post(
        "/endpoints",
        data={
            "csrf": flow.csrf,
            "action": "add_endpoint",
            "name": "OS",
            "label": "Overall survival",
            "form": "columns",
            "time": "months",
            "time_unit": "months",
            "event": "dead",
        },
    )
    m = re.search(r'<tr id="ep-OS">(.*?)</tr>', r.text, re.S)
    assert m is not None
    assert re.findall(r'class="count[^"]*">(\d+)<', m.group(1)) == ["6", "3", "3"]


def test_bad_endpoint_is_refused_next_to_the_form(flow: Flow) -> None:
    flow.upload("bclm_raw.csv", BCLM_RAW.read_bytes())
    flow.save_columns()
    r = flow.endpoint_from_dates("9bad", "x", "liver_surgery_date", ["death_date"], [])
    assert any("plain name" in t for t in texts(r.text, "err"))
    r = flow.criterion("include", "no_such_variable > 3", "x")
    errs = texts(r.text, "err")
    assert any("no_such_variable" in t for t in errs)


FORMULAS = [
    '=HYPERLINK("http://evil.example","click")',
    "+1+2 cmd",
    "-2+3 cmd",
    "@SUM(A1:A2)",
]


def test_formula_cells_are_neutralised_in_the_xlsx_and_csv_downloads(flow: Flow) -> None:
    """OWASP CSV-injection rule: a text cell starting with = + - @ is written with a leading
    apostrophe, so no spreadsheet runs it."""
    rows = ["id,months,dead,comment"]
    for i in range(12):
        text = FORMULAS[i % 4].replace('"', '""')
        rows.append(f'P{i},{3 + i},{i % 2},"{text}"')
    flow.upload("inject.csv", ("\n".join(rows) + "\n").encode())
    r = flow.save_columns({"id:type": "identifier", "comment:type": "categorical"})
    assert r.url.path == "/endpoints", texts(r.text, "err")
    flow.client.post(
        "/endpoints",
        data={
            "csrf": flow.csrf,
            "action": "add_endpoint",
            "name": "OS",
            "label": "Overall survival",
            "form": "columns",
            "time": "months",
            "time_unit": "months",
            "event": "dead",
        },
    )
    r = flow.run(table1=["comment"], survival=["OS"], landmarks="6")
    assert r.url.path.startswith("/results/"), texts(r.text, "err")
    run = r.url.path.rsplit("/", 1)[1]
    import openpyxl

    xlsx = flow.client.get(f"/runs/{run}/download/tables.xlsx")
    assert xlsx.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    found = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f"
                if isinstance(c.value, str) and any(f[1:6] in c.value for f in FORMULAS):
                    found.append(c.value)
    assert found
    assert all(v.startswith("'") for v in found), found
    z = zipfile.ZipFile(io.BytesIO(flow.client.get(f"/runs/{run}/download/tables-csv.zip").content))
    cells = []
    for name in z.namelist():
        reader = csv.reader(io.StringIO(z.read(name).decode("utf-8-sig")))
        cells += [c for row in reader for c in row if any(f[1:6] in c for f in FORMULAS)]
    assert cells
    assert all(c.startswith("'") for c in cells), cells


def _rates(page: str) -> dict[tuple[str, str], float]:
    out = {}
    for name in ("PFS", "OS"):
        m = re.search(rf'<tr id="surv-{name}">(.*?)</tr>', page, re.S)
        assert m is not None
        for t, pct in re.findall(r'data-time="([^"]+)">([\d.]+) %', m.group(1)):
            out[(name, t)] = float(pct)
    return out


@pytest.mark.slow
def test_seed_study_reaches_the_published_rates_and_the_spec_reproduces_it(
    flow: Flow, tmp_path: Path
) -> None:
    """Published table (Sen et al. 2024): each printed whole percent is within 0.5 of the
    rate on the page (hand: PFS 11/12*9/10 = 82.5 %, *5/6 = 68.75 %; OS 11/12 = 91.7 %,
    82.5 %). Identity: the downloaded study.yaml run by `survstudy run` next to the data
    gives the same results.json numbers."""
    bclm_to_endpoints(flow)
    r = flow.run(
        table1=["pt_stage", "grade", "ki67_percent", "PFS", "OS"],
        survival=["PFS", "OS"],
        landmarks="24, 36",
        factors=["grade", "ki67_percent"],
        km_by="grade",
        methods="spss",
    )
    assert r.url.path.startswith("/results/"), texts(r.text, "err")
    page = r.text
    rates = _rates(page)
    hand = {("PFS", "24"): 82.5, ("PFS", "36"): 68.75, ("OS", "24"): 91.7, ("OS", "36"): 82.5}
    for key, published in PUBLISHED.items():
        assert abs(rates[key] - published) <= 0.5 + 1e-9, key
        assert rates[key] == pytest.approx(hand[key], abs=0.05)
    assert "BCLM-0" not in page
    assert "patient_id" not in page
    run = r.url.path.rsplit("/", 1)[1]
    figs = re.findall(rf'src="(/runs/{run}/figure/\d+\.png)"', page)
    assert figs
    img = flow.client.get(figs[0])
    assert img.headers["content-type"] == "image/png"
    assert img.content.startswith(b"\x89PNG")
    for name in ("report.html", "report.docx", "tables.xlsx", "results.json"):
        got = flow.client.get(f"/runs/{run}/download/{name}")
        assert got.status_code == 200
        assert b"BCLM-0" not in got.content
    spec = flow.client.get(f"/runs/{run}/download/study.yaml").text
    assert "Put the data file 'bclm_raw.csv' next to this file" in spec
    assert "path: bclm_raw.csv" in spec
    app_results = json.loads(flow.client.get(f"/runs/{run}/download/results.json").text)

    (tmp_path / "study.yaml").write_text(spec, encoding="utf-8")
    shutil.copy(BCLM_RAW, tmp_path / "bclm_raw.csv")
    out = subprocess.run(
        [sys.executable, "-m", "survstudy", "run", str(tmp_path / "study.yaml"), "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    rerun = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert rerun == app_results  # every number, and the provenance (same bytes, same spec)

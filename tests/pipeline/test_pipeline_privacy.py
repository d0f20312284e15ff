"""Planted identifiers: names, ids and exact dates never reach any output, log or message.

Kind of truth: property. A 40-patient cohort with unique fake names, ids and dates is run
through every output format (HTML, DOCX, CSV, XLSX, JSON, figures) and through error paths
(bad dates, duplicate ids, an unknown category, a bad spec); none of the planted strings may
appear in any file written, in stdout or in stderr, in any of the spellings a date can take.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import importlib.util
import os
import random
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest

NAMES = ["Quibbleton", "Zarvexa", "Mortlebee", "Yquandra", "Plivvet", "Orsolwyn"]

SPEC = """title: Planted identifiers
data: {path: planted.csv, id: pid, date_format: YMD}
units: months
variables:
  pid: {type: identifier}
  name: {type: identifier}
  surgery: {type: date}
  progression: {type: date}
  last_fu: {type: date}
  death: {type: date, death: true}
  age: {type: continuous, label: Age, unit: years}
  grade: {type: categorical, label: Grade, levels: [I, II, III]}
  arm: {type: categorical, label: Arm, levels: [A, B]}
endpoints:
  PFS: {label: Progression-free survival, start: surgery, events: [progression, death], censor: last_fu}
  OS: {label: Overall survival, start: surgery, events: death, censor: last_fu}
analyses:
  table1: {variables: [age, grade, arm, PFS, OS], by: arm}
  survival: {endpoints: [PFS, OS], landmarks: [12, 24]}
  univariable: {endpoints: [PFS, OS], factors: [{age: {per: 10}}, grade, arm]}
  multivariable: [{name: Model, endpoint: OS, covariates: [age, arm]}]
  km: [{endpoint: OS}, {endpoint: PFS, by: arm, ci: true}]
"""


def make_cohort(folder: Path) -> list[str]:
    """Write planted.csv and study.yaml; return the planted strings (every spelling)."""
    rnd = random.Random(20260526)
    planted: list[str] = []
    rows = []
    for i in range(40):
        name = f"{rnd.choice(NAMES)}{i:02d} Xylophant{i:02d}"
        pid = f"MRN-7{i:03d}913"
        surgery = dt.date(2012, 1, 1) + dt.timedelta(days=rnd.randint(0, 2500))
        fu = surgery + dt.timedelta(days=rnd.randint(90, 2400))
        prog = surgery + dt.timedelta(days=rnd.randint(30, 1500)) if rnd.random() < 0.5 else None
        if prog is not None and prog > fu:
            prog = None
        death = fu if rnd.random() < 0.4 else None
        rows.append(
            {
                "pid": pid,
                "name": name,
                "surgery": surgery.isoformat(),
                "progression": prog.isoformat() if prog else "",
                "last_fu": fu.isoformat(),
                "death": death.isoformat() if death else "",
                "age": rnd.randint(30, 80),
                "grade": rnd.choice(["I", "II", "III"]),
                "arm": "A" if i % 2 else "B",
            }
        )
        planted += [name, name.split()[0], pid]
        for d in (surgery, fu, prog, death):
            if d is not None:
                planted += [
                    d.isoformat(),
                    d.strftime("%d/%m/%Y"),
                    d.strftime("%m/%d/%Y"),
                    d.strftime("%d.%m.%Y"),
                    d.strftime("%Y%m%d"),
                ]
    with (folder / "planted.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (folder / "study.yaml").write_text(SPEC)
    return sorted(set(planted))


def _texts(path: Path) -> list[str]:
    """The file's bytes as text, plus every member of a zip (DOCX/XLSX) and PDF streams."""
    data = path.read_bytes()
    out = [data.decode("latin-1")]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            out += [z.read(n).decode("utf-8", "replace") for n in z.namelist()]
    if path.suffix == ".pdf":
        for chunk in data.split(b"stream")[1:]:
            body = chunk.split(b"endstream")[0].strip(b"\r\n")
            with contextlib.suppress(zlib.error):
                out.append(zlib.decompress(body).decode("latin-1"))
    return out


def assert_clean(texts: list[str], planted: list[str], where: str) -> None:
    for text in texts:
        for s in planted:
            assert s not in text, f"planted string {s!r} found in {where}"


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
    return subprocess.run(
        [sys.executable, "-m", "survstudy", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=env,
    )


def _report_leak_helper() -> Any:
    """The report package's ``assert_no_leak`` (tests/report/leak.py), loaded by path."""
    path = Path(__file__).resolve().parents[1] / "report" / "leak.py"
    spec = importlib.util.spec_from_file_location("survstudy_report_leak", path)
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.assert_no_leak


@pytest.mark.slow
def test_no_planted_string_in_any_output(tmp_path: Path) -> None:
    """Property: a full run (every format, TIFF too) leaks nothing."""
    planted = make_cohort(tmp_path)
    out = tmp_path / "out"
    res = run_cli(["run", "study.yaml", "--out", str(out), "--tiff"], tmp_path)
    assert res.returncode == 0, res.stderr
    assert_clean([res.stdout, res.stderr], planted, "the console")
    # the report package's helper also looks inside data: URIs and every zip entry
    _report_leak_helper()(out, planted, extra=[res.stdout, res.stderr])
    files = [p for p in out.rglob("*") if p.is_file()]
    suffixes = {p.suffix for p in files}
    assert {".html", ".docx", ".csv", ".xlsx", ".json", ".png", ".svg", ".pdf", ".tiff"} <= suffixes
    for p in files:
        assert_clean(_texts(p), planted, str(p.relative_to(out)))


@pytest.mark.parametrize(
    ("row", "column", "value"),
    [
        (3, "surgery", "2013-02-30"),  # impossible date
        (4, "pid", "MRN-7000913"),  # duplicate id (the first patient's)
        (5, "grade", "IV"),  # unknown category (shown, it is not sensitive)
        (6, "death", "1999-01-01"),  # death before surgery
    ],
)
def test_error_paths_leak_nothing(tmp_path: Path, row: int, column: str, value: str) -> None:
    """Property: a data error names row and column, never a planted name, id or date."""
    planted = make_cohort(tmp_path)
    lines = (tmp_path / "planted.csv").read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[row - 1].split(",")
    cells[header.index(column)] = value
    lines[row - 1] = ",".join(cells)
    (tmp_path / "planted.csv").write_text("\n".join(lines) + "\n")
    res = run_cli(["run", "study.yaml", "--out", str(tmp_path / "out")], tmp_path)
    assert res.returncode == 2
    assert res.stderr.startswith("error: ")
    assert_clean([res.stdout, res.stderr], [*planted, "2013-02-30", "1999-01-01"], "the error")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_bad_spec_and_debug_leak_nothing(tmp_path: Path) -> None:
    """Property: a spec error (a factor that is a date) and --debug print no planted value."""
    planted = make_cohort(tmp_path)
    spec = (tmp_path / "study.yaml").read_text().replace("factors: [", "factors: [surgery, ")
    (tmp_path / "study.yaml").write_text(spec)
    res = run_cli(["--debug", "run", "study.yaml", "--out", str(tmp_path / "out")], tmp_path)
    assert res.returncode == 2
    assert_clean([res.stdout, res.stderr], planted, "the error")

"""Issue 15 on a hospital-style sheet (tests/bad_inputs/cases/ok_free_text_column): a
free-text comments column, a 0/1 column, DD/MM/YYYY dates, Alive/Dead status, names.

Kinds of truth: the sheet itself read with the csv module (which values are free text,
how many patients have obstruct = 1), R reference (tests/reference/first_use.R:
coxph of Yes versus No), hand-written expected spec lines.
"""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from survstudy.cli import main as cli_main

CASES = Path(__file__).resolve().parents[1] / "bad_inputs" / "cases"
SHEET = CASES / "ok_free_text_column"
REF = json.loads(
    (Path(__file__).resolve().parents[1] / "reference" / "first_use.json").read_text("utf-8")
)


def _rows() -> list[dict[str, str]]:
    with open(SHEET / "data.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _all_text(folder: Path) -> str:
    """Every output file's text, the Word and Excel files' XML parts included."""
    parts = []
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        if p.suffix in (".docx", ".xlsx"):
            with zipfile.ZipFile(p) as z:
                parts += [z.read(n).decode("utf-8", "replace") for n in z.namelist()]
        elif p.suffix != ".png":
            parts.append(p.read_text("utf-8", "replace"))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sheet")
    for p in SHEET.iterdir():
        shutil.copy(p, folder / p.name)
    cli_main._state["debug"] = False
    with pytest.raises(SystemExit) as info:
        cli_main.main(["run", str(folder / "study.yaml"), "--out", str(folder / "out")])
    assert info.value.code in (0, None)
    return folder / "out"


def test_free_text_reaches_no_output(report: Path) -> None:
    text = _all_text(report)
    comments = [r["comments"] for r in _rows() if r["comments"]]
    assert len(comments) == 11
    for c in comments:
        assert c not in text, c
    # the names stay out too (identifier)
    for r in _rows():
        assert r["patient_name"] not in text


def test_binary_without_levels_prints_yes_no_only(report: Path) -> None:
    res = json.loads((report / "results.json").read_text("utf-8"))
    rows = [r for r in res["table1"] if r["variable"] == "obstruct"]
    ones = sum(r["obstruct"] == "1" for r in _rows())
    assert [(r["level"], r["n"], r["sublevels"]) for r in rows] == [
        ("Yes", ones, []),
        ("No", 12 - ones, []),
    ]
    table1 = (report / "tables" / "table1.csv").read_text("utf-8-sig")
    assert "true (n=0)" not in table1
    assert "1 (n=" not in table1


def test_binary_reference_is_no_and_hr_is_yes_versus_no(report: Path) -> None:
    """R: coxph(Surv(time, event) ~ factor(obstruct, c('No', 'Yes'))) on the sheet."""
    res = json.loads((report / "results.json").read_text("utf-8"))
    rows = [r for r in res["univariable"]["OS"] if r["variable"] == "obstruct"]
    ref = [r["level"] for r in rows if r["kind"] == "reference"]
    yes = [r for r in rows if r["kind"] == "level"]
    assert ref == ["No"]
    assert [r["level"] for r in yes] == ["Yes"]
    # coxph converges to 1e-9 relative in the log-likelihood; the HR agrees to ~1e-6
    assert yes[0]["hr"] == pytest.approx(REF["obstruct"]["hr_yes_vs_no"], rel=1e-6)
    # 6 events: the few-events regime reports the profile-likelihood CI (R: uniroot on
    # coxph's log-likelihood with the coefficient fixed, tol 1e-12), else the Wald CI
    ci = "profile_ci" if yes[0]["ci_method"] == "profile" else "ci"
    assert yes[0]["ci_method"] in ("profile", "wald")
    assert [yes[0]["lower"], yes[0]["upper"]] == pytest.approx(REF["obstruct"][ci], rel=1e-6)
    # sex: [Female, Male] has no No level: the second level (Male) stays the reference
    sex = [r for r in res["univariable"]["OS"] if r["variable"] == "sex" and r["kind"] == "level"]
    assert [r["level"] for r in sex] == ["Female"]
    assert sex[0]["hr"] == pytest.approx(REF["sex"]["hr_female_vs_male"], rel=1e-6)


@pytest.mark.parametrize(
    ("levels", "reference"),
    [
        ("[Yes, No]", "No"),
        ("[No, Yes]", "No"),
        ('{"Present": [1], "Absent": [0]}', "Absent"),
        ('{"Obstructed": [1], "Not obstructed": [0]}', "Not obstructed"),
        ("[Female, Male]", "Male"),
    ],
)
def test_binary_default_reference_rule(levels: str, reference: str) -> None:
    """The rule as stated in the spec's description (hand-written cases)."""
    from survstudy.spec import load_spec_text

    spec = load_spec_text(
        "data: {path: d.csv}\nvariables:\n"
        f"  x: {{type: binary, levels: {levels}}}\nendpoints: {{}}\n"
    )
    assert spec.variables["x"].reference_level() == reference


def test_endpoint_time_by_group_has_no_rank_test(tmp_path: Path) -> None:
    """Issue 15 item 12: an endpoint's time in Table 1 with by: is described per group but
    not tested (a rank test on censored and event times mixed compares nothing); the
    continuous variable beside it keeps its test."""
    for p in SHEET.iterdir():
        shutil.copy(p, tmp_path / p.name)
    spec = (tmp_path / "study.yaml").read_text("utf-8")
    spec = spec.replace(
        "table1: {variables: [age, sex, obstruct, rx]}", "table1: {variables: [age, OS], by: sex}"
    )
    (tmp_path / "study.yaml").write_text(spec, "utf-8")
    cli_main._state["debug"] = False
    with pytest.raises(SystemExit) as info:
        cli_main.main(["run", str(tmp_path / "study.yaml"), "--out", str(tmp_path / "out")])
    assert info.value.code in (0, None)
    res = json.loads((tmp_path / "out" / "results.json").read_text("utf-8"))
    rows = {r["variable"]: r for r in res["table1"]}
    assert [g["group"] for g in rows["OS"]["groups"]] == ["Female", "Male"]
    assert rows["OS"].get("p_value") is None
    assert rows["OS"].get("test") is None
    assert rows["age"]["p_value"] is not None


def test_run_prints_the_headline_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 15 item 12: `run` prints the patients included and each endpoint's n, events
    and median with its CI. R: quantile(survfit(...), 0.5) in days, shown in months of
    30.4375 days to 1 decimal; the upper limit is NA in R (not reached)."""
    for p in SHEET.iterdir():
        shutil.copy(p, tmp_path / p.name)
    cli_main._state["debug"] = False
    with pytest.raises(SystemExit):
        cli_main.main(["run", str(tmp_path / "study.yaml"), "--out", str(tmp_path / "o")])
    out = capsys.readouterr().out
    km = REF["os_km"]
    assert km["upper"] == "NA"
    med, lo = km["median"] / 30.4375, km["lower"] / 30.4375
    assert f"{km['n']} patients included" in out
    assert (
        f"Overall survival: {km['n']} patients, {km['events']} events, "
        f"median {med:.1f} months (95% CI {lo:.1f} to not reached)"
    ) in out

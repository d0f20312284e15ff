"""``survstudy.Study``: a whole study from a spec file or a dict and a DataFrame.

Kinds of truth: identity with ``survstudy run`` (its results.json on the same spec and
data: the GBSG example, whose numbers the pipeline tests check against R in
tests/reference/gbsg.json) and with ``survstudy validate`` and ``run``'s error line on
the same table written as Parquet; hand-written expectations for the DataFrames' shape
and for what must never happen (writing the user's table to disk).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from _api_cli import run

import survstudy
import survstudy.cli.run  # registers the command before any test patches the app
from survstudy.errors import DataError, SpecError, SurvstudyError

ROOT = Path(__file__).resolve().parents[2]
GBSG = ROOT / "examples" / "gbsg" / "study.yaml"
BCLM = ROOT / "examples" / "bclm" / "study.yaml"

# what only says where the inputs came from (file names and hashes of files)
_PROVENANCE = ("input_file", "input_sha256", "spec_file", "spec_sha256")


def _without_provenance(doc: dict[str, Any]) -> dict[str, Any]:
    doc = json.loads(json.dumps(doc))
    for k in _PROVENANCE:
        doc["provenance"].pop(k)
    return doc


@pytest.fixture(scope="module")
def gbsg_cli(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import survstudy.cli.run  # noqa: F401  (the command, in-process)
    from survstudy.cli import main as cli_main

    out = tmp_path_factory.mktemp("gbsg") / "out"
    with pytest.raises(SystemExit) as info:
        cli_main.main(["run", str(GBSG), "--out", str(out), "--formats", "json", "--quiet"])
    assert info.value.code in (0, None)
    doc: dict[str, Any] = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return doc


@pytest.fixture(scope="module")
def gbsg_yaml() -> Any:
    return survstudy.Study.from_yaml(GBSG).run()


def test_from_yaml_equals_survstudy_run(gbsg_cli: dict[str, Any], gbsg_yaml: Any) -> None:
    """Identity: Study.from_yaml(...).run().to_dict() is the results.json of survstudy run."""
    assert gbsg_yaml.to_dict() == gbsg_cli


def test_dict_and_dataframe_equal_the_yaml_and_file(
    gbsg_cli: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Identity: the spec as a dict and the data as a DataFrame give every number of the
    file-based run; only the provenance of the inputs differs. Nothing is written: no
    temporary file is made and the working folder stays empty."""
    spec = yaml.safe_load(GBSG.read_text(encoding="utf-8"))
    del spec["data"]["path"]
    df = pd.read_csv(GBSG.parent / "gbsg.csv")

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the API wrote a temporary file")

    for name in ("mkstemp", "mkdtemp", "NamedTemporaryFile", "TemporaryDirectory"):
        monkeypatch.setattr(tempfile, name, refuse)
    monkeypatch.chdir(tmp_path)
    study = survstudy.Study(spec, data=df)
    out = study.run()
    assert list(tmp_path.iterdir()) == []
    assert _without_provenance(out.to_dict()) == _without_provenance(gbsg_cli)
    assert out.to_dict()["provenance"]["input_file"] == "DataFrame"
    assert repr(study) == "Study('Recurrence-free survival in the GBSG 2 trial', data='DataFrame')"


def _numbers(doc: dict[str, Any]) -> dict[str, Any]:
    """Everything but where the inputs came from and the data-quality lines (which name the
    row as the source numbers it: a CSV file's row 6 is a DataFrame's 5th row)."""
    doc = _without_provenance(doc)
    doc["data_quality"] = [line.split("]")[0] for line in doc["data_quality"]]
    return doc


def test_dates_as_text_or_datetimes_give_the_same_study() -> None:
    """Identity: the seed study's dates as text (pd.read_csv) or parsed to datetime64 by
    pandas give the results of the spec's own CSV file; messages then name the DataFrame
    and its row (patient 6 of the file, on row 6 under the header, is row 5 of the table)."""
    spec = yaml.safe_load(BCLM.read_text(encoding="utf-8"))
    from_file = survstudy.Study.from_yaml(BCLM).run().to_dict()
    raw = pd.read_csv(BCLM.parent / "bclm_raw.csv")
    from_frame = survstudy.Study(spec, data=raw).run().to_dict()
    assert _numbers(from_frame) == _numbers(from_file)
    assert from_file["data_quality"][0].startswith(
        "warning: [ENDPOINT-NOT-DERIVED] bclm_raw.csv, row 6:"
    )
    assert from_frame["data_quality"][0].startswith(
        "warning: [ENDPOINT-NOT-DERIVED] DataFrame, row 5:"
    )
    dates = [c for c in raw.columns if c.endswith("_date")]
    parsed = raw.assign(**{c: pd.to_datetime(raw[c]) for c in dates})
    assert _numbers(survstudy.Study(spec, data=parsed).run().to_dict()) == _numbers(from_file)
    yaml_frame = survstudy.Study.from_yaml(BCLM, data=parsed).run().to_dict()
    assert yaml_frame["data_quality"] == from_frame["data_quality"]


def test_result_frames(gbsg_yaml: Any) -> None:
    """Hand-written expectations on the frames' shape; identity of their numbers with
    results.json (the GBSG median RFS and the hormonal-therapy HR)."""
    doc = gbsg_yaml.to_dict()
    s = gbsg_yaml.survival
    assert s["endpoint"].tolist() == ["RFS"]
    assert s["median"][0] == doc["endpoints"]["RFS"]["median"]
    assert s["median_conf_low"][0] == doc["endpoints"]["RFS"]["median_lower"]
    lm = gbsg_yaml.landmarks
    assert lm["time"].tolist() == [12, 36, 60]
    t1 = gbsg_yaml.table1
    assert {"variable", "label", "kind", "level", "n", "text"} <= set(t1.columns)
    assert t1["variable"].iloc[0] == "age"
    uni = gbsg_yaml.univariable
    row = uni[(uni["variable"] == "hormon") & (uni["kind"] == "level")].iloc[0]
    ref = next(
        r for r in doc["univariable"]["RFS"] if r["variable"] == "hormon" and r["kind"] == "level"
    )
    assert (row["hr"], row["conf_low"], row["conf_high"]) == (ref["hr"], ref["lower"], ref["upper"])
    multi = gbsg_yaml.multivariable
    assert set(multi["model"]) == {"Full model"}
    assert {"std_error", "conf_low", "conf_high", "p_value"} <= set(multi.columns)
    tables = gbsg_yaml.tables
    assert "table1" in tables
    assert tables["table1"].shape[0] == len(doc["table1"])
    html = gbsg_yaml._repr_html_()
    assert "<table>" in html
    assert "Recurrence-free survival" in html


def test_write_report(gbsg_yaml: Any, tmp_path: Path) -> None:
    """Hand-written expectations: the report folder of survstudy run; a folder holding the
    spec or the data file is refused (as survstudy run does)."""
    written = gbsg_yaml.write_report(tmp_path / "out", formats=("html", "json", "csv"))
    names = {p.name for p in written}
    assert {"report.html", "results.json"} <= names
    assert any(p.suffix == ".csv" for p in written)
    with pytest.raises(SurvstudyError, match="holds an input file"):
        gbsg_yaml.write_report(GBSG.parent)


def test_run_and_write_report_are_the_one_study_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Property of the design: Study.run() is survstudy.study.run_spec (the function of
    ``survstudy run``, ``demo`` and the app), called once, with the user's table in memory;
    write_report is its writing half, survstudy.study.write_run, on the same results."""
    import survstudy.study as one_run

    calls: list[dict[str, Any]] = []
    real_run, real_write = one_run.run_spec, one_run.write_run

    def spy_run(spec: Any, **kwargs: Any) -> Any:
        calls.append({"what": "run", **kwargs})
        return real_run(spec, **kwargs)

    def spy_write(results: Any, out: Any, **kwargs: Any) -> Any:
        calls.append({"what": "write", "results": results, **kwargs})
        return real_write(results, out, **kwargs)

    monkeypatch.setattr(one_run, "run_spec", spy_run)
    monkeypatch.setattr(one_run, "write_run", spy_write)
    spec, df = _bad_followup()
    df.loc[2, "last_seen"] = "2021-03-01"  # patient c followed up: the study runs
    out = survstudy.Study(spec, data=df).run()
    assert [c["what"] for c in calls] == ["run"]
    assert calls[0]["raw"] is not None
    assert calls[0]["profile"] is None
    out.write_report(tmp_path / "out", formats=("json",))
    assert [c["what"] for c in calls] == ["run", "write"]
    assert calls[1]["results"] is out.results


def _bad_followup() -> tuple[dict[str, Any], pd.DataFrame]:
    spec = {
        "title": "Small",
        "data": {"id": "id"},
        "variables": {
            "id": {"type": "identifier"},
            "arm": {"type": "categorical"},
            "entry": {"type": "date"},
            "death": {"type": "date", "death": True},
            "last_seen": {"type": "date"},
        },
        "endpoints": {
            "OS": {"start": "entry", "events": "death", "censor": "last_seen"},
        },
        "analyses": {"survival": {"endpoints": ["OS"]}},
    }
    df = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "arm": ["x", "y", "x", "y"],
            "entry": ["2020-01-01", "2020-02-01", "2020-03-01", "2020-04-01"],
            "death": ["2021-01-01", None, None, "2021-05-01"],
            "last_seen": ["2021-01-01", "2021-06-01", None, "2021-05-01"],
        }
    )
    return spec, df


def test_validate_and_run_errors_are_the_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Identity with ``survstudy validate`` and ``survstudy run`` on the same table as
    Parquet: patient c has neither an event nor a last follow-up (FOLLOWUP-MISSING, an
    error naming its row, 3); validate reports it, run raises it as one line."""
    spec, df = _bad_followup()
    check = survstudy.Study(spec, data=df).validate()
    assert not check.ok
    assert check.to_frame()["code"].tolist() == ["FOLLOWUP-MISSING"]
    assert check.to_frame()["rows"][0] == [3]

    df.to_parquet(tmp_path / "small.parquet", index=False)
    spec_file = tmp_path / "study.yaml"
    spec_file.write_text(
        yaml.safe_dump({**spec, "data": {"path": "small.parquet", "id": "id"}}), encoding="utf-8"
    )
    code, out, err = run(["validate", str(spec_file)], capsys)
    assert code == 2
    ours = str(check).splitlines()
    theirs = out.splitlines()
    # the same findings, lines and counts, the table named as the command names the file
    assert [ln.replace("DataFrame", "small.parquet") for ln in ours[1:]] == theirs[1:]

    with pytest.raises(DataError) as info:
        survstudy.Study(spec, data=df).run()
    code, out, err = run(["run", str(spec_file), "--out", str(tmp_path / "o"), "--quiet"], capsys)
    assert code == 2
    assert err == f"error: {info.value}\n".replace("DataFrame", "small.parquet")


def test_spec_errors_name_the_key() -> None:
    """Hand-written expectations: a dict spec is checked as a YAML one (unknown key with the
    closest valid one; an endpoint naming an unknown variable)."""
    spec, df = _bad_followup()
    with pytest.raises(SpecError) as info:
        survstudy.Study({**spec, "endpionts": {}}, data=df)
    assert info.value.code == "SPEC-UNKNOWN-KEY" or "endpoints" in str(info.value)
    assert "did you mean 'endpoints'" in str(info.value)
    with pytest.raises(SurvstudyError, match="unknown profile"):
        survstudy.Study(spec, data=df).run(profile="sas")

"""``survstudy cox``: JSON contract and values against R fixtures, errors.

Kinds of truth: R reference (tests/reference/cox.json, from tests/reference/cox.R)
and hand-written expectations for the error messages.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import survstudy.cli.cox  # noqa: F401  (registers the command at collection, before any test patches the app)
from survstudy.cli import main as cli_main

REF = Path(__file__).resolve().parents[1] / "reference"
FIX = json.loads((REF / "cox.json").read_text())["fixtures"]
DATA = REF / "data"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = 0
    try:
        cli_main.main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def cox_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code, out, err = run(["cox", *args, "--json"], capsys)
    assert code == 0, err
    return json.loads(out)


TOP_KEYS = {
    "ties",
    "n",
    "events",
    "n_dropped",
    "iterations",
    "converged",
    "loglik_null",
    "loglik",
    "terms",
    "tests",
    "concordance",
    "ph_test",
    "warnings",
}
TERM_KEYS = {"term", "coef", "se", "hr", "lower", "upper", "z", "p_value", "robust_se"}


def test_json_contract_and_values_veteran(capsys: pytest.CaptureFixture[str]) -> None:
    """R reference: coxph(Surv(time, status) ~ celltype + karno + trt, veteran), factor with
    reference "squamous"; cox.zph per term (celltype 3 df) and global."""
    f = FIX["veteran_factor"]
    out = cox_json(
        [
            str(DATA / "veteran.csv"),
            "--time",
            "time",
            "--event",
            "status",
            "--covariates",
            "celltype,karno,trt",
            "--categorical",
            "celltype",
            "--reference",
            "celltype=squamous",
            "--ph-test",
        ],
        capsys,
    )
    assert out.keys() >= TOP_KEYS
    assert all(t.keys() >= TERM_KEYS for t in out["terms"])
    assert set(out["tests"]) == {"likelihood_ratio", "wald", "score"}
    assert out["ties"] == "efron"
    assert out["n"] == f["n"]
    assert out["events"] == f["events"]
    assert out["n_dropped"] == 0
    assert out["converged"] is True
    assert out["iterations"] == f["iter"]
    # text levels sort as text: adeno, large, smallcell (R's order: smallcell, adeno, large)
    names = [t["term"] for t in out["terms"]]
    assert names == ["celltype[adeno]", "celltype[large]", "celltype[smallcell]", "karno", "trt"]
    perm = [1, 2, 0, 3, 4]
    np.testing.assert_allclose(
        [t["coef"] for t in out["terms"]], np.asarray(f["coef"])[perm], rtol=1e-6
    )
    np.testing.assert_allclose(
        [t["se"] for t in out["terms"]], np.asarray(f["se"])[perm], rtol=1e-6
    )
    np.testing.assert_allclose(
        [t["p_value"] for t in out["terms"]], np.asarray(f["p_value"])[perm], rtol=1e-6
    )
    assert all(t["robust_se"] is None for t in out["terms"])
    np.testing.assert_allclose([out["loglik_null"], out["loglik"]], f["loglik"], rtol=1e-9)
    lr = out["tests"]["likelihood_ratio"]
    np.testing.assert_allclose(
        [lr["statistic"], lr["p_value"]], [f["lr"][0], f["lr"][2]], rtol=1e-6
    )
    np.testing.assert_allclose(
        [out["concordance"]["c"], out["concordance"]["se"]],
        [f["concordance"], f["concordance_se"]],
        rtol=1e-6,
    )
    ph = out["ph_test"]
    np.testing.assert_allclose(
        [t["chisq"] for t in ph["terms"]] + [ph["global"]["chisq"]], f["zph_chisq"], rtol=1e-6
    )
    assert [t["df"] for t in ph["terms"]] == [3, 1, 1]
    assert ph["global"]["df"] == 5


def test_cluster_gives_robust_se(capsys: pytest.CaptureFixture[str]) -> None:
    """R reference: coxph(Surv(time, status) ~ age + sex + cluster(id), kidney)."""
    f = FIX["kidney_cluster"]
    out = cox_json(
        [
            str(DATA / "kidney.csv"),
            "--time",
            "time",
            "--event",
            "status",
            "--covariates",
            "age,sex",
            "--cluster",
            "id",
        ],
        capsys,
    )
    np.testing.assert_allclose([t["robust_se"] for t in out["terms"]], f["robust_se"], rtol=1e-6)
    np.testing.assert_allclose([t["se"] for t in out["terms"]], f["se"], rtol=1e-6)
    np.testing.assert_allclose([t["p_value"] for t in out["terms"]], f["p_value"], rtol=1e-6)
    assert out["ph_test"] is None


def test_missing_rows_dropped_and_strata(capsys: pytest.CaptureFixture[str]) -> None:
    """R reference: coxph(Surv(time, ev) ~ age + sex + strata(ph.ecog), lung) drops the row
    with missing ph.ecog (R's na.action); lung codes status 1/2, so we pass a 0/1 copy."""
    f = FIX["lung_strata"]
    src = (DATA / "lung.csv").read_text().splitlines()
    head = src[0].split(",")
    j = head.index('"status"')
    rows = [head]
    for line in src[1:]:
        cells = line.split(",")
        cells[j] = "1" if cells[j] == "2" else "0"
        rows.append(cells)
    out = cox_json(
        [
            _write(rows),
            "--time",
            "time",
            "--event",
            "status",
            "--covariates",
            "age,sex",
            "--strata",
            "ph.ecog",
        ],
        capsys,
    )
    assert out["n"] == f["n"]
    assert out["n_dropped"] == 1
    np.testing.assert_allclose([t["coef"] for t in out["terms"]], f["coef"], rtol=1e-6)


_TMP: list[Path] = []


def _write(rows: list[list[str]]) -> str:
    import tempfile

    fh = tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False)  # noqa: SIM115
    with fh:
        fh.write("\n".join(",".join(r) for r in rows) + "\n")
    _TMP.append(Path(fh.name))
    return fh.name


SMALL = "time,status,age,grade,flat\n5,1,50,2,1\n8,0,60,1,1\n12,1,55,3,1\n3,1,70,2,1\n9,0,45,1,1\n15,1,66,3,1\n"


@pytest.fixture
def small(tmp_path: Path) -> Path:
    p = tmp_path / "small.csv"
    p.write_text(SMALL)
    return p


def test_bad_event_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Hand-written: an event coded 2 is an error naming the row and the value (exit 2)."""
    p = tmp_path / "d.csv"
    p.write_text("time,status,age\n5,1,50\n8,2,60\n9,0,61\n")
    code, out, err = run(
        ["cox", str(p), "--time", "time", "--event", "status", "--covariates", "age"], capsys
    )
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("error:")
    assert "row 3" in err
    assert "'2'" in err


def test_unknown_column(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Hand-written: an unknown column is named (exit 2, one error line)."""
    code, _, err = run(
        ["cox", str(small), "--time", "time", "--event", "status", "--covariates", "agex"], capsys
    )
    assert code == 2
    assert err.startswith("error:")
    assert err.count("\n") == 1
    assert "'agex' not found" in err


def test_zero_variance_covariate(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Hand-written: a constant covariate is refused, naming it (exit 2, one error line)."""
    code, _, err = run(
        ["cox", str(small), "--time", "time", "--event", "status", "--covariates", "age,flat"],
        capsys,
    )
    assert code == 2
    assert err.startswith("error:")
    assert err.count("\n") == 1
    assert "flat" in err
    assert "zero variance" in err


def test_readable_table(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Hand-written: without --json a table with the term names and the tests is printed."""
    code, out, _ = run(
        [
            "cox",
            str(small),
            "--time",
            "time",
            "--event",
            "status",
            "--covariates",
            "age,grade",
            "--categorical",
            "grade",
            "--reference",
            "grade=2",
        ],
        capsys,
    )
    assert code == 0
    assert "grade[1]" in out
    assert "grade[3]" in out
    assert "grade[2]" not in out
    assert "Likelihood ratio test" in out

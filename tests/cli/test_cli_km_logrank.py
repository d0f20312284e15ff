"""``survstudy km`` and ``survstudy logrank`` end to end (R reference via tests/reference/km_logrank.json)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from survstudy.cli import main as cli_main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stats"))
from _km_ref import REF, arr, fixtures

DATA = REF / "data"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    cli_main._state["debug"] = False
    with pytest.raises(SystemExit) as info:
        cli_main.main(args)
    out = capsys.readouterr()
    code = info.value.code if isinstance(info.value.code, int) else 0
    return code, out.out, out.err


def _close(a, b):
    np.testing.assert_allclose(arr(a), arr(b), rtol=1e-6, atol=1e-12, equal_nan=True)


def test_km_json_by_group_matches_r(capsys):
    """R reference: km_aml_by (log-log 95 %), table, median with limits, survival at times."""
    fx = fixtures()["km_aml_by"]
    code, out, _ = run(
        [
            "km",
            str(DATA / "aml.csv"),
            "--time",
            "time",
            "--event",
            "status",
            "--by",
            "maintained",
            "--at",
            "12,24,36",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    payload = json.loads(out)
    assert {"conf_type", "conf_level", "groups"} <= set(payload)
    assert payload["conf_type"] == "log-log"
    for g, ref in zip(payload["groups"], fx["groups"], strict=True):
        assert g["group"] == ref["group"]
        assert {
            "group",
            "n",
            "events",
            "median",
            "median_lower",
            "median_upper",
            "table",
            "at",
        } <= set(g)
        i = list(arr(ref["probs"])).index(0.5)
        _close(
            [g["median"], g["median_lower"], g["median_upper"]],
            [arr(ref["q"])[i], arr(ref["q_lower"])[i], arr(ref["q_upper"])[i]],
        )
        tab = g["table"]
        assert set(tab[0]) >= {
            "time",
            "n_risk",
            "n_event",
            "n_censor",
            "survival",
            "std_err",
            "lower",
            "upper",
        }
        for key, rkey in [
            ("time", "time"),
            ("survival", "survival"),
            ("std_err", "std_err"),
            ("lower", "lower"),
            ("upper", "upper"),
            ("n_risk", "n_risk"),
        ]:
            _close([r[key] for r in tab], ref[rkey])
        assert set(g["at"][0]) >= {"time", "n_risk", "survival", "std_err", "lower", "upper"}
        _close([r["survival"] for r in g["at"]], ref["at_survival"])
        _close([r["n_risk"] for r in g["at"]], ref["at_n_risk"])


def test_km_json_nulls_and_not_reached(capsys):
    """R reference: km_flat_end (curve ends at 0.5: median 3 by the last-point rule) and
    km_flat (S = 0: NA std_err/limits -> null)."""
    _, out, _ = run(
        ["km", str(DATA / "km_flat.csv"), "--time", "time", "--event", "status", "--json"], capsys
    )
    g = json.loads(out)["groups"][0]
    assert g["group"] is None
    assert g["table"][-1]["lower"] is None
    assert g["table"][-1]["std_err"] is None
    assert g["median_upper"] is None  # R: NA (not reached by the upper curve)
    _, out, _ = run(
        ["km", str(DATA / "km_flat_end.csv"), "--time", "time", "--event", "status", "--json"],
        capsys,
    )
    fx = fixtures()["km_flat_end_log-log"]["groups"][0]
    g = json.loads(out)["groups"][0]
    assert g["median"] == arr(fx["q"])[1]


def test_km_reverse_plain(capsys):
    """R reference: km_aml_reverse (log-log) median follow-up."""
    fx = fixtures()["km_aml_reverse"]["groups"][0]
    _, out, _ = run(
        ["km", str(DATA / "aml.csv"), "--time", "time", "--event", "status", "--reverse", "--json"],
        capsys,
    )
    g = json.loads(out)["groups"][0]
    _close(
        [g["median"], g["median_lower"], g["median_upper"]],
        [arr(fx["q"])[1], arr(fx["q_lower"])[1], arr(fx["q_upper"])[1]],
    )


@pytest.mark.parametrize(
    ("rho", "name"), [("0", "lr_veteran_celltype"), ("1", "lr_veteran_celltype_rho1")]
)
def test_logrank_json_matches_r(rho, name, capsys):
    """R reference: survdiff on veteran by celltype (k = 4), rho 0 and 1 (peto-peto)."""
    fx = fixtures()[name]
    w = "logrank" if rho == "0" else "peto-peto"
    code, out, _ = run(
        [
            "logrank",
            str(DATA / "veteran.csv"),
            "--time",
            "time",
            "--event",
            "status",
            "--by",
            "celltype",
            "--weights",
            w,
            "--json",
        ],
        capsys,
    )
    assert code == 0
    p = json.loads(out)
    assert {"test", "statistic", "df", "p_value", "groups"} <= set(p)
    _close(p["statistic"], fx["statistic"])
    _close(p["p_value"], fx["p_value"])
    assert p["df"] == 3
    assert [g["group"] for g in p["groups"]] == fx["groups"]
    _close([g["observed"] for g in p["groups"]], fx["observed"])
    _close([g["expected"] for g in p["groups"]], fx["expected"])
    _close([g["n"] for g in p["groups"]], fx["n"])


def test_logrank_strata_json(capsys):
    """R reference: survdiff(... + strata(trt)) on veteran."""
    fx = fixtures()["lr_veteran_celltype_strata_trt"]
    _, out, _ = run(
        [
            "logrank",
            str(DATA / "veteran.csv"),
            "--time",
            "time",
            "--event",
            "status",
            "--by",
            "celltype",
            "--strata",
            "trt",
            "--json",
        ],
        capsys,
    )
    _close(json.loads(out)["statistic"], fx["statistic"])


def test_bad_event_value(tmp_path, capsys):
    """Hand: a 'yes' in row 4 of the sheet (pandas index 2) -> exit 2, row, column and value named."""
    f = tmp_path / "d.csv"
    f.write_text("t,e,g\n1,1,a\n2,0,b\n3,yes,a\n4,1,b\n", encoding="utf-8")
    code, out, err = run(["km", str(f), "--time", "t", "--event", "e", "--json"], capsys)
    assert code == 2
    assert out == ""
    assert "row 4" in err
    assert "'e'" in err
    assert "yes" in err
    assert "Traceback" not in err


def test_unknown_column(tmp_path, capsys):
    """Hand: unknown column -> exit 2 listing the available columns."""
    f = tmp_path / "d.csv"
    f.write_text("t,e,g\n1,1,a\n2,0,b\n", encoding="utf-8")
    code, _, err = run(["logrank", str(f), "--time", "t", "--event", "e", "--by", "grp"], capsys)
    assert code == 2
    assert "grp" in err
    assert "t, e, g" in err


def test_logrank_no_events(tmp_path, capsys):
    """Hand: no events at all -> log-rank refuses (exit 2); km draws it flat (exit 0)."""
    f = tmp_path / "d.csv"
    f.write_text("t,e,g\n1,0,a\n2,false,b\n3,0,a\n", encoding="utf-8")
    code, _, err = run(["logrank", str(f), "--time", "t", "--event", "e", "--by", "g"], capsys)
    assert code == 2
    assert "no events" in err
    code, out, _ = run(["km", str(f), "--time", "t", "--event", "e", "--json"], capsys)
    assert code == 0
    assert json.loads(out)["groups"][0]["median"] is None


def test_missing_rows_dropped_and_text_output(tmp_path, capsys):
    """Hand: a blank time is dropped and counted; the text table prints."""
    f = tmp_path / "d.csv"
    f.write_text("t,e\n1,1\n,1\n3,0\n4,TRUE\n", encoding="utf-8")
    code, out, _ = run(["km", str(f), "--time", "t", "--event", "e", "--json"], capsys)
    assert json.loads(out)["n_dropped"] == 1
    code, out, _ = run(["km", str(f), "--time", "t", "--event", "e"], capsys)
    assert code == 0
    assert "median" in out


def test_logrank_permutation_exact(capsys):
    """Naive oracle: --permutation exact on a 10-row file equals brute force over all
    C(10, 5) relabellings of O1 - E1 computed with the ordinary log-rank test."""
    import itertools

    from survstudy.stats.logrank import logrank_test

    t = [1, 2, 2, 3, 4, 5, 6, 6, 7, 9]
    e = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1]
    g = [0, 1, 0, 0, 1, 1, 0, 1, 1, 0]
    obs = logrank_test(t, e, g)
    s_obs = abs(obs.observed[0] - obs.expected[0])
    hits = total = 0
    for idx in itertools.combinations(range(10), 5):
        lab = [0 if i in idx else 1 for i in range(10)]
        r = logrank_test(t, e, lab)
        hits += abs(r.observed[0] - r.expected[0]) >= s_obs - 1e-9
        total += 1
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "d.csv"
        f.write_text(
            "t,e,g\n" + "".join(f"{a},{b},{c}\n" for a, b, c in zip(t, e, g, strict=True)),
            encoding="utf-8",
        )
        code, out, _ = run(
            [
                "logrank",
                str(f),
                "--time",
                "t",
                "--event",
                "e",
                "--by",
                "g",
                "--permutation",
                "exact",
                "--json",
            ],
            capsys,
        )
    assert code == 0
    perm = json.loads(out)["permutation"]
    assert perm["method"] == "exact"
    assert perm["p_value"] == pytest.approx(hits / total, rel=1e-12)

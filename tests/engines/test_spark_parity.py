"""The Spark engine (local mode) against the in-memory engine and R.

Kinds of truth: R reference (coxph fixtures in tests/reference/cox.json, to 1e-6)
and naive oracle (the in-memory engine, whose results are checked against
survstudy.stats and R in test_parity.py, to 1e-9 relative). One Spark session
(``local[2]``, no UI, 2 shuffle partitions, 1 GB driver, loopback only) serves
the whole test session. Slow (Spark's start-up and per-query overhead);
``make test`` runs them. Skipped only when PySpark or a Java runtime is missing.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from survstudy.engines import analyses, get_engine
from survstudy.engines.base import Source

pytest.importorskip("pyspark", reason="the spark extra is not installed (pip install '.[spark]')")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):  # pragma: no cover
    pytest.skip(
        "no Java runtime found (java on PATH or JAVA_HOME): Spark cannot start; "
        "`make java` installs openjdk-17-jre-headless on Debian",
        allow_module_level=True,
    )

pytestmark = pytest.mark.slow

REF = Path(__file__).resolve().parents[1] / "reference"
FIX = json.loads((REF / "cox.json").read_text())["fixtures"]
RTOL = 1e-9


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One Spark engine for the test session (local[2], modest memory, no network, no UI)."""
    eng = get_engine("spark", master="local[2]", driver_memory="1g", shuffle_partitions=2)
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def memory() -> Any:
    return get_engine("memory")


def _rel(a: Any, b: Any, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(
        np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=rtol, atol=0
    )


def _csv_columns(name: str) -> dict[str, np.ndarray]:
    import csv

    with (REF / "data" / f"{name}.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    out: dict[str, np.ndarray] = {}
    for k in rows[0]:
        vals = [r[k] for r in rows]
        try:
            out[k] = np.array([np.nan if v in ("NA", "") else float(v) for v in vals])
        except ValueError:
            out[k] = np.array(vals, dtype=object)
    return out


def _parquet(cols: dict[str, np.ndarray], path: Path) -> Source:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {
        k: pa.array(v, mask=np.isnan(v)) if v.dtype.kind == "f" else pa.array(v.tolist())
        for k, v in cols.items()
    }
    pq.write_table(pa.table(arrays), path)
    return Source.from_path(str(path))


def _same_cox(a: Any, b: Any, rtol: float = RTOL) -> None:
    assert a.n == b.n
    assert a.events == b.events
    assert a.term_names == b.term_names
    _rel(a.coef, b.coef, rtol)
    _rel(a.se, b.se, rtol)
    _rel([a.loglik_null, a.loglik], [b.loglik_null, b.loglik], rtol)
    for k in ("lr", "wald", "score"):
        if k in a.tests:
            _rel(a.tests[k].statistic, b.tests[k].statistic, rtol)


def _against_r(fit: Any, name: str) -> None:
    f = FIX[name]
    _rel(fit.coef, f["coef"], 1e-6)
    _rel(fit.se, f["se"], 1e-6)
    _rel([fit.loglik_null, fit.loglik], f["loglik"], 1e-6)


def test_veteran_csv_in_place(spark: Any, memory: Any) -> None:
    """R reference (veteran_factor_breslow_strata, karno) and naive oracle (memory engine): the CSV
    read by Spark in place (text typed as numbers/text by the engine); KM by cell type and the
    log-rank stratified by treatment; Cox Breslow with strata and the robust variance."""
    cols = _csv_columns("veteran")
    s_src = Source.from_path(str(REF / "data" / "veteran.csv"))
    m_src = Source.from_arrays(cols)

    km_s, rc_s = analyses.kaplan_meier(spark, s_src, time="time", event="status", group="celltype")
    km_m, rc_m = analyses.kaplan_meier(memory, m_src, time="time", event="status", group="celltype")
    assert (
        [g for g, _ in km_s] == [g for g, _ in km_m] == ["adeno", "large", "smallcell", "squamous"]
    )
    assert rc_s.n_read == rc_m.n_read == 137
    for (_, a), (_, b) in zip(km_s, km_m, strict=True):
        _rel(a.time, b.time)
        _rel(a.survival, b.survival)
        _rel(a.std_err, b.std_err)
        _rel(a.n_risk, b.n_risk)
    lr_s, _ = analyses.logrank(
        spark, s_src, time="time", event="status", group="celltype", strata="trt"
    )
    lr_m, _ = analyses.logrank(
        memory, m_src, time="time", event="status", group="celltype", strata="trt"
    )
    _rel(lr_s.statistic, lr_m.statistic)

    fits = []
    for eng, src in ((spark, s_src), (memory, m_src)):
        terms, assign = analyses.cox_terms(
            eng,
            src,
            time="time",
            event="status",
            covariates=["celltype", "karno"],
            categorical=["celltype"],
            strata="trt",
        )
        fits.append(
            analyses.cox(
                eng,
                src,
                time="time",
                event="status",
                terms=terms,
                strata="trt",
                ties="breslow",
                assign=assign,
                robust=True,
            )
        )
    _same_cox(fits[0], fits[1])
    _rel(fits[0].robust_se, fits[1].robust_se)
    # R (veteran_factor_breslow_strata) codes celltype against squamous; here adeno is the
    # reference, so only the karno coefficient is comparable
    assert fits[0].term_names[-1] == "karno"
    _rel(fits[0].coef[-1], FIX["veteran_factor_breslow_strata"]["coef"][-1], 1e-6)


@pytest.mark.parametrize(("name", "ties"), [("lung_strata", "efron"), ("lung_breslow", "breslow")])
def test_lung_cox_matches_r_and_memory(
    spark: Any, memory: Any, name: str, ties: str, tmp_path: Path
) -> None:
    """R reference (lung_strata: age + sex + strata(ph.ecog), Efron; lung_breslow:
    age + sex + ph.ecog, Breslow) and naive oracle (memory engine, 1e-9): status 1/2 recoded
    to 0/1, NA as Parquet NULLs (rows dropped as R's na.omit)."""
    cols = _csv_columns("lung")
    cols["ev"] = cols["status"] - 1.0
    keep = {k: cols[k] for k in ("time", "ev", "age", "sex", "ph.ecog")}
    f = FIX[name]
    strata = f["strata"]
    covs = list(f["covariates"])
    fits = []
    for eng, src in ((spark, _parquet(keep, tmp_path / "lung.parquet")), (memory, None)):
        src = src or Source.from_arrays(keep)
        terms, assign = analyses.cox_terms(
            eng, src, time="time", event="ev", covariates=covs, strata=strata
        )
        fits.append(
            analyses.cox(
                eng,
                src,
                time="time",
                event="ev",
                terms=terms,
                strata=strata,
                ties=ties,
                assign=assign,
            )
        )
    _same_cox(fits[0], fits[1])
    _against_r(fits[0], name)
    assert fits[0].n == f["n"]


def test_generated_registry_parity(spark: Any, memory: Any, tmp_path: Path) -> None:
    """Naive oracle: a synthetic registry (partitioned Parquet, day-rounded ties, 3 groups,
    4 strata, numeric and binary covariates) through Spark and the memory engine: KM,
    stratified log-rank, Cox Efron with strata, to 1e-9."""
    import pyarrow.parquet as pq

    from survstudy.data.synth import RegistryDesign, write_registry

    write_registry(tmp_path / "reg", 4000, seed=17, chunk=1500, design=RegistryDesign(p=3))
    s_src = Source.from_path(str(tmp_path / "reg"))
    t = pq.read_table(tmp_path / "reg")
    m_src = Source.from_arrays(
        {
            c: np.asarray(t[c].to_pylist(), dtype=object)
            if c in ("group", "region")
            else t[c].to_numpy()
            for c in t.column_names
        }
    )
    km_s, _ = analyses.kaplan_meier(spark, s_src, time="time", event="event", group="group")
    km_m, _ = analyses.kaplan_meier(memory, m_src, time="time", event="event", group="group")
    for (ga, a), (gb, b) in zip(km_s, km_m, strict=True):
        assert ga == gb
        _rel(a.survival, b.survival)
        _rel(a.std_err, b.std_err)
    kw: dict[str, Any] = {"time": "time", "event": "event", "group": "group", "strata": "region"}
    _rel(
        analyses.logrank(spark, s_src, **kw)[0].statistic,
        analyses.logrank(memory, m_src, **kw)[0].statistic,
    )
    fits = []
    for eng, src in ((spark, s_src), (memory, m_src)):
        terms, assign = analyses.cox_terms(
            eng,
            src,
            time="time",
            event="event",
            covariates=["group", "x1", "x2", "x3"],
            categorical=["group"],
            strata="region",
        )
        fits.append(
            analyses.cox(
                eng, src, time="time", event="event", terms=terms, strata="region", assign=assign
            )
        )
    _same_cox(fits[0], fits[1])
    assert fits[0].term_names == ("group[B]", "group[C]", "x1", "x2", "x3")


def test_spark_errors_are_user_errors(spark: Any, tmp_path: Path) -> None:
    """Hand-written: an unknown column and a bad event code are DataErrors naming the column
    and never a cell's value."""
    from survstudy.errors import DataError

    src = Source.from_path(str(REF / "data" / "veteran.csv"))
    with pytest.raises(DataError, match="'nosuch' not found"):
        spark.risk_table(src, time="nosuch", event="status")
    with pytest.raises(DataError, match="event must be 0/1") as info:
        spark.risk_table(src, time="time", event="karno")
    assert "60" not in str(info.value)


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from survstudy.cli import main as cli_main

    cli_main._state["debug"] = False
    with pytest.raises(SystemExit) as info:
        cli_main.main(args)
    out = capsys.readouterr()
    code = info.value.code if isinstance(info.value.code, int) else 0
    return code, out.out, out.err


def _same_json(a: Any, b: Any, path: str = "") -> None:
    """Equal structure, equal strings/ints/None, floats to 1e-9 relative."""
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            _same_json(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same_json(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, (int, float)):
        assert b == pytest.approx(a, rel=RTOL, abs=1e-300), path
    else:
        assert a == b, path


def test_cli_spark_master_gives_the_memory_json(
    spark: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Naive oracle: `survstudy cox|logrank FILE --engine spark --spark-master local[2] --json`
    prints the in-memory JSON (concordance, which needs the rows, is null through engines)."""
    vet = str(REF / "data" / "veteran.csv")
    cox = ["cox", vet, "--time", "time", "--event", "status", "--covariates", "karno,celltype"]
    cox += ["--categorical", "celltype", "--strata", "trt", "--json"]
    lr = ["logrank", vet, "--time", "time", "--event", "status", "--by", "celltype", "--json"]
    for args, skip in ((cox, ("concordance", "concordance_se")), (lr, ())):
        code, out_m, err = _cli(args, capsys)
        assert code == 0, err
        code, out_s, err = _cli([*args, "--engine", "spark", "--spark-master", "local[2]"], capsys)
        assert code == 0, err
        m, s = json.loads(out_m), json.loads(out_s)
        for k in skip:
            m.pop(k, None)
            s.pop(k, None)
        _same_json(m, s)

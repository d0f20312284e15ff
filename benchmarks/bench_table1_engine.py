"""Table 1 of a registry-sized derived table through the DuckDB (or Spark) engine.

Writes a synthetic derived table shaped like the bclm example's (the same 47 columns,
types and codes as ``derive_from_cohort`` gives for examples/bclm/study.yaml; values
drawn at random: ages with 2 decimals ~10^4 distinct values, sizes as integers — heavy
ties —, follow-up and endpoint times all distinct, 5 % missing), then times
``table1_from_engine`` on it in a fresh process per configuration (wall seconds, CPU
seconds and peak RSS from ``/usr/bin/time``), and checks the quartiles and the
Mann–Whitney p of two columns against NumPy/SciPy on the raw columns.

    python benchmarks/bench_table1_engine.py --n 10000000 --dir /tmp/t1bench
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "examples" / "bclm" / "study.yaml"


def make(n: int, out: Path) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from survstudy.data import build_cohort
    from survstudy.data.registry import derive_from_cohort, detail_levels
    from survstudy.spec import load_spec

    out.mkdir(parents=True, exist_ok=True)
    spec = load_spec(SPEC)
    tmp = tempfile.mkdtemp()
    dc = derive_from_cohort(build_cohort(spec), tmp)
    schema = pq.read_table(tmp).schema
    rng = np.random.default_rng(1)
    ncode = {}
    for info in dc.variables.values():
        if info.column and info.levels:
            ncode[info.column] = len(info.levels)
        if info.detail_column:
            ncode[info.detail_column] = len(detail_levels(info))
    step = 1_000_000
    for i, start in enumerate(range(0, n, step)):
        m = min(step, n - start)
        cols = {}
        for f in schema:
            c = f.name
            miss = rng.random(m) < 0.05
            if c == "row":
                cols[c] = pa.array(np.arange(start, start + m, dtype=np.int64) + 2)
            elif pa.types.is_integer(f.type):
                codes = rng.integers(0, ncode.get(c, 2), m).astype(np.int32)
                cols[c] = pa.array(codes, mask=miss)
            elif pa.types.is_boolean(f.type):
                cols[c] = pa.array(rng.random(m) < 0.9)
            elif c.endswith("_time"):
                cols[c] = pa.array(rng.exponential(1500.0, m), mask=miss)
            elif c.endswith("_event") or "__" in c:
                cols[c] = pa.array(rng.integers(0, 2, m).astype(float), mask=miss)
            elif c.endswith("_status"):
                cols[c] = pa.array(rng.integers(0, 3, m).astype(float), mask=miss)
            elif c.startswith("age"):
                cols[c] = pa.array(np.round(rng.normal(50, 10, m), 2), mask=miss)
            elif c == "followup":
                cols[c] = pa.array(rng.gamma(2.0, 20.0, m), mask=miss)
            else:
                cols[c] = pa.array(np.round(rng.gamma(2.0, 10.0, m)), mask=miss)
        pq.write_table(pa.table(cols), out / f"part-{i:05d}.parquet")


def _setup(path: str, n: int, by: str | None) -> tuple[object, object]:
    from dataclasses import replace

    from survstudy.data import build_cohort
    from survstudy.data.registry import derive_from_cohort
    from survstudy.spec import load_spec

    spec = load_spec(SPEC)
    assert spec.analyses.table1 is not None
    t1 = spec.analyses.table1.model_copy(update={"by": by, "missing": True})
    spec = spec.model_copy(update={"analyses": spec.analyses.model_copy(update={"table1": t1})})
    dc = replace(derive_from_cohort(build_cohort(spec), tempfile.mkdtemp()), path=path, n=n)
    return spec, dc


def run_one(path: str, n: int, by: str | None, profile: str, engine: str) -> None:
    import time

    from survstudy.engines import get_engine
    from survstudy.engines.base import Source
    from survstudy.pipeline.profiles import get_profile
    from survstudy.pipeline.table1_engine import table1_from_engine

    spec, dc = _setup(path, n, by)
    opts = {"threads": 2} if engine == "duckdb" else {"master": "local[2]", "driver_memory": "2g"}
    eng = get_engine(engine, **opts)
    t0 = time.perf_counter()
    res = table1_from_engine(
        spec,  # type: ignore[arg-type]
        dc,  # type: ignore[arg-type]
        eng,
        Source.from_path(path),
        get_profile(profile),
    )
    print(f"RESULT table1 {time.perf_counter() - t0:.1f} s, {len(res.rows)} rows")


def check(path: str, n: int) -> None:
    """Quartiles (SPSS type 6) and Mann–Whitney p against NumPy/SciPy on the raw columns."""
    import numpy as np
    import pyarrow.parquet as pq
    from scipy import stats

    from survstudy.engines import get_engine
    from survstudy.engines.base import Source
    from survstudy.pipeline.profiles import get_profile
    from survstudy.pipeline.table1_engine import table1_from_engine
    from survstudy.stats.descriptive import quantile

    cols = ["age_dx", "followup"]
    spec, dc = _setup(path, n, "er_status")
    t1 = spec.analyses.table1.model_copy(update={"variables": cols})  # type: ignore[attr-defined]
    spec = spec.model_copy(  # type: ignore[attr-defined]
        update={"analyses": spec.analyses.model_copy(update={"table1": t1})}  # type: ignore[attr-defined]
    )
    res = table1_from_engine(
        spec,  # type: ignore[arg-type]
        dc,  # type: ignore[arg-type]
        get_engine("duckdb", threads=2),
        Source.from_path(path),
        get_profile("spss"),
    )
    tab = pq.read_table(path, columns=[*cols, "er_status"])
    g = tab["er_status"].to_numpy(zero_copy_only=False)
    g = np.where(np.isnan(g), -1, g)
    for c in cols:
        x = tab[c].to_numpy(zero_copy_only=False)
        ok = ~np.isnan(x)
        row = next(r for r in res.rows if r.variable == c)
        want = [quantile(x[ok], p, "spss") for p in (0.25, 0.5, 0.75)]
        mw = stats.mannwhitneyu(x[ok & (g == 0)], x[ok & (g == 1)], method="asymptotic")
        print(
            f"CHECK {c}: quartiles equal {[row.q1, row.median, row.q3] == want}; "
            f"mean rel diff {abs(row.mean / x[ok].mean() - 1):.1e}; "  # type: ignore[operator]
            f"MW p {row.p_value!r} vs scipy {float(mw.pvalue)!r}"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--dir", default="/tmp/table1_bench")
    ap.add_argument("--engine", default="duckdb")
    ap.add_argument("--one", nargs=3, metavar=("BY", "PROFILE", "ENGINE"))
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    path = str(Path(a.dir) / f"n{a.n}")
    if a.one:
        by = None if a.one[0] == "none" else a.one[0]
        run_one(path, a.n, by, a.one[1], a.one[2])
        return
    if a.check:
        check(path, a.n)
        return
    if not Path(path).exists():
        make(a.n, Path(path))
    print(
        "| n | engine | by | profile | Table 1 (s) | process wall (s) | CPU (s) | peak RSS (MB) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for by in ("none", "er_status"):
        for profile in ("standard", "spss"):
            cmd = ["/usr/bin/time", "-f", "TIME %e %U %S %M", sys.executable, __file__]
            cmd += ["--n", str(a.n), "--dir", a.dir, "--one", by, profile, a.engine]
            p = subprocess.run(cmd, capture_output=True, text=True, check=True)
            t1 = next(ln for ln in p.stdout.splitlines() if ln.startswith("RESULT")).split()[2]
            tm = next(ln for ln in p.stderr.splitlines() if ln.startswith("TIME")).split()[1:]
            cpu = float(tm[1]) + float(tm[2])
            print(
                f"| {a.n:,} | {a.engine} | {by} | {profile} | {t1} | {tm[0]} | {cpu:.1f} "
                f"| {int(tm[3]) // 1024} |"
            )
    subprocess.run(
        [sys.executable, __file__, "--n", str(a.n), "--dir", a.dir, "--check"], check=True
    )


if __name__ == "__main__":
    main()

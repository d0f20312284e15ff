"""Benchmark: Kaplan–Meier and log-rank, survstudy vs lifelines vs statsmodels, in one run.

Seeded synthetic data (exponential event times, uniform censoring, times rounded
up to whole days so ties are realistic, two groups). For each n the median wall
time of repeated calls is reported, with the ratio peer / survstudy, and the
peak Python-heap memory of the survstudy call (tracemalloc, measured in a
separate run so it does not slow the timings). Also times the whole process of
``survstudy km small.csv --json`` on a 12-row file.

    .venv/bin/python benchmarks/bench_km_logrank.py [--out benchmarks/RESULTS-km-logrank.md] [--max-n 1000000]
"""

# ruff: noqa: B023  (the lambdas are called inside the loop iteration that defines them)
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np


def make_data(n: int, seed: int = 20261126) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 2, n)
    ev = np.ceil(rng.exponential(np.where(g == 1, 900.0, 700.0)))
    cens = np.ceil(rng.uniform(1, 2500, n))
    return np.minimum(ev, cens), (ev <= cens), g


def median_time(f: Callable[[], object], repeats: int) -> float:
    f()  # warm-up
    ts = []
    for _ in range(repeats):
        a = time.perf_counter()
        f()
        ts.append(time.perf_counter() - a)
    return statistics.median(ts)


def peak_mb(f: Callable[[], object]) -> float:
    tracemalloc.start()
    f()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(Path(__file__).with_name("RESULTS-km-logrank.md")))
    ap.add_argument("--max-n", type=int, default=10**6)
    args = ap.parse_args()

    import lifelines
    import statsmodels
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import logrank_test as ll_logrank
    from statsmodels.duration.survfunc import SurvfuncRight, survdiff

    from survstudy.stats.km import kaplan_meier
    from survstudy.stats.logrank import logrank_test

    rows = []
    n = 1000
    while n <= args.max_n:
        t, e, g = make_data(n)
        ei = e.astype(int)
        m = g == 1
        reps = 15 if n <= 10**5 else 7
        preps = 7 if n <= 10**5 else 3
        res = {
            "KM survstudy": median_time(lambda: kaplan_meier(t, e), reps),
            "KM lifelines": median_time(lambda: KaplanMeierFitter().fit(t, ei), preps),
            "KM statsmodels": median_time(lambda: SurvfuncRight(t, ei), preps),
            "LR survstudy": median_time(lambda: logrank_test(t, e, g), reps),
            "LR lifelines": median_time(lambda: ll_logrank(t[m], t[~m], ei[m], ei[~m]), preps),
            "LR statsmodels": median_time(lambda: survdiff(t, ei, g), preps),
        }
        mem_km = peak_mb(lambda: kaplan_meier(t, e))
        mem_lr = peak_mb(lambda: logrank_test(t, e, g))
        rows.append((n, res, mem_km, mem_lr))
        print(n, {k: round(v * 1e3, 2) for k, v in res.items()}, flush=True)
        n *= 10

    # survstudy alone at the largest n, in a fresh process (no peer libraries loaded, no
    # memory left fragmented by them): the in-run numbers above include that interference.
    bench_dir = str(Path(__file__).parent)
    code = (
        f"import sys; sys.path.insert(0, {bench_dir!r})\n"
        "from bench_km_logrank import make_data, median_time\n"
        "from survstudy.stats.km import kaplan_meier\n"
        "from survstudy.stats.logrank import logrank_test\n"
        f"t, e, g = make_data({rows[-1][0]})\n"
        "print(median_time(lambda: kaplan_meier(t, e), 15) * 1e3,"
        " median_time(lambda: logrank_test(t, e, g), 15) * 1e3)\n"
    )
    alone = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.split()
    km_alone, lr_alone = float(alone[0]), float(alone[1])

    # Whole process for the quick command on a 12-row file.
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "small.csv"
        t, e, g = make_data(12)
        f.write_text(
            "time,event,group\n"
            + "".join(f"{int(a)},{int(b)},{int(c)}\n" for a, b, c in zip(t, e, g, strict=True))
        )
        exe = str(Path(sys.executable).with_name("survstudy"))
        proc = []
        for _ in range(5):
            a = time.perf_counter()
            subprocess.run(
                [exe, "km", str(f), "--time", "time", "--event", "event", "--json"],
                check=True,
                capture_output=True,
            )
            proc.append(time.perf_counter() - a)
        bare = []
        for _ in range(5):
            a = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            bare.append(time.perf_counter() - a)

    load = os.getloadavg()
    lines = [
        "# Kaplan–Meier and log-rank benchmark",
        "",
        f"Generated by `benchmarks/bench_km_logrank.py` on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}, "
        f"lifelines {lifelines.__version__}, statsmodels {statsmodels.__version__}. "
        f"Load average at the end of the run: {load[0]:.2f} (other jobs share the machine, "
        "so absolute times are pessimistic; ratios are more stable).",
        "",
        "Data: seeded exponential times rounded up to days, uniform censoring, 2 groups. "
        "Median wall time in ms; ratio = peer / survstudy; peak = tracemalloc peak of the "
        "survstudy call (MB).",
        "",
        "| n | KM survstudy | KM lifelines | KM statsmodels | LR survstudy | LR lifelines | "
        "LR statsmodels | KM peak MB | LR peak MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for n, r, mk, ml in rows:

        def c(peer: str, ours: str) -> str:
            return f"{r[peer] * 1e3:.2f} ({r[peer] / r[ours]:.1f}x)"

        lines.append(
            f"| {n:,} | {r['KM survstudy'] * 1e3:.2f} | {c('KM lifelines', 'KM survstudy')} | "
            f"{c('KM statsmodels', 'KM survstudy')} | {r['LR survstudy'] * 1e3:.2f} | "
            f"{c('LR lifelines', 'LR survstudy')} | {c('LR statsmodels', 'LR survstudy')} | "
            f"{mk:.1f} | {ml:.1f} |"
        )
    lines += [
        "",
        f"survstudy alone at n = {rows[-1][0]:,} in a fresh process (median of 15): "
        f"KM {km_alone:.2f} ms, log-rank {lr_alone:.2f} ms. "
        "Targets at n = 10^6: KM <= 15 ms, log-rank <= 25 ms.",
        "",
        "## Quick command: `survstudy km small.csv --time time --event event --json` (12 rows)",
        "",
        f"Whole process, median of 5: {statistics.median(proc) * 1e3:.0f} ms "
        f"(bare `python -c pass`: {statistics.median(bare) * 1e3:.0f} ms). Target 500 ms.",
        "",
        "Where the time goes (`python -X importtime`, cumulative): numpy ~90-135 ms; typer "
        "and click (`survstudy.cli.main`) ~100-125 ms; the `survstudy` package itself "
        "(importlib.metadata for the version) ~60 ms; pydantic ~35 ms (imported by another "
        "command module at registration); interpreter start ~15-20 ms; reading 12 rows and "
        "the statistics < 5 ms. scipy is not imported (its `special` module alone costs "
        "~450 ms): normal and chi-square tails come from the standard library "
        "(`survstudy.stats._dist`). pandas is not imported (`read_raw`, not `read_table`, "
        "~650 ms saved). `survstudy.data.quick` loads `data/readers.py` without the "
        "`survstudy.data` package `__init__` (cohort builder, spec model: ~160 ms saved); "
        "making that `__init__` lazy would remove the need for this.",
        "",
    ]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

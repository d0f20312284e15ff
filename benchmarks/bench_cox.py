"""Benchmark: survstudy Cox (Efron) vs lifelines CoxPHFitter vs statsmodels PHReg.

Seeded synthetic data: n = 10^3 .. 10^6, p = 1 and 10 standard-normal
covariates, exponential survival times with a log-linear hazard, uniform
censoring, times rounded up to whole days (so ties are realistic).
Reports the minimum wall time of repeats (the machine is shared: the minimum is the
least disturbed run), the ratio to survstudy, and the peak traced memory (tracemalloc,
numpy allocations included) of one survstudy fit. When Rscript is installed, R's
fitting engine ``coxph.fit`` (survival; Efron) is timed on the same data in the same
run (data passed as raw doubles; minimum of 3). Writes benchmarks/RESULTS-cox.md.

    .venv/bin/python benchmarks/bench_cox.py            # full run (slow: peers at 10^6)
    .venv/bin/python benchmarks/bench_cox.py --quick    # n <= 10^5
    .venv/bin/python benchmarks/bench_cox.py --only 1000000:10 --out /tmp/r.md  # one size
"""

from __future__ import annotations

import argparse
import functools
import platform
import shutil
import subprocess
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

from survstudy.stats.cox import cox_fit


def make_data(n: int, p: int, seed: int = 20261126) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed + n + p)
    x = rng.normal(size=(n, p))
    beta = np.linspace(-0.3, 0.3, p) if p > 1 else np.array([0.3])
    t = np.ceil(rng.exponential(365.0, size=n) * np.exp(-x @ beta))
    c = np.ceil(rng.uniform(0, 1500, size=n))
    return x, np.minimum(t, c), (t <= c)


def timed(fn: object, repeats: int) -> float:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - t0)
    return min(out)


R_CODE = """
suppressPackageStartupMessages(library(survival))
a <- commandArgs(TRUE)
n <- as.integer(a[2]); p <- as.integer(a[3])
con <- file(a[1], "rb"); v <- readBin(con, "double", n * (p + 2)); close(con)
x <- matrix(v[seq_len(n * p)], n, p)
y <- Surv(v[n * p + seq_len(n)], v[n * p + n + seq_len(n)])
r <- numeric(3)
for (i in 1:3) r[i] <- system.time(coxph.fit(x, y, strata = NULL, offset = NULL, init = NULL,
  control = coxph.control(), weights = NULL, method = "efron", rownames = NULL))[["elapsed"]]
cat(min(r))
"""


def r_time(x: np.ndarray, t: np.ndarray, e: np.ndarray) -> float | None:
    """Minimum of 3 timings of R's coxph.fit (Efron) on the same data, or None without R."""
    if shutil.which("Rscript") is None:
        return None
    n, p = x.shape
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "d.bin"
        np.concatenate([np.asfortranarray(x).ravel(order="F"), t, e.astype(np.float64)]).tofile(raw)
        script = Path(tmp) / "c.R"
        script.write_text(R_CODE)
        try:
            out = subprocess.run(
                ["Rscript", str(script), str(raw), str(n), str(p)],
                capture_output=True,
                text=True,
                check=True,
            )
        except subprocess.CalledProcessError:
            return None
        return float(out.stdout.strip())


def run_survstudy(x: np.ndarray, t: np.ndarray, e: np.ndarray) -> None:
    cox_fit(x, t, e, ties="efron", concordance=False)


def run_lifelines(x: np.ndarray, t: np.ndarray, e: np.ndarray) -> None:
    import pandas as pd
    from lifelines import CoxPHFitter

    df = pd.DataFrame(x, columns=[f"x{j}" for j in range(x.shape[1])])
    df["T"] = t
    df["E"] = e.astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        CoxPHFitter().fit(df, "T", "E")


def run_statsmodels(x: np.ndarray, t: np.ndarray, e: np.ndarray) -> None:
    from statsmodels.duration.hazard_regression import PHReg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        PHReg(t, x, status=e.astype(int), ties="efron").fit()


def peak_mb(x: np.ndarray, t: np.ndarray, e: np.ndarray) -> float:
    tracemalloc.start()
    run_survstudy(x, t, e)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=str(Path(__file__).with_name("RESULTS-cox.md")))
    ap.add_argument("--only", default=None, help="one size as N:P, e.g. 1000000:10")
    args = ap.parse_args()
    sizes = [10**3, 10**4, 10**5] + ([] if args.quick else [10**6])
    cases = [(n, p) for p in (1, 10) for n in sizes]
    if args.only:
        n_s, p_s = args.only.split(":")
        cases = [(int(n_s), int(p_s))]
    rows = []
    for n, p in cases:
        x, t, e = make_data(n, p)
        reps = 7 if n <= 10**5 else 5
        peer_reps = reps if n <= 10**5 else 1
        s = timed(functools.partial(run_survstudy, x, t, e), reps)
        lf = timed(functools.partial(run_lifelines, x, t, e), peer_reps)
        sm = timed(functools.partial(run_statsmodels, x, t, e), peer_reps)
        rt = r_time(x, t, e)
        s = min(s, timed(functools.partial(run_survstudy, x, t, e), reps))  # after the peers
        mem = peak_mb(x, t, e)
        rows.append((n, p, int(e.sum()), s, rt, lf, sm, mem))
        print(
            f"n={n:>8} p={p:>2} survstudy {s:8.4f}s R coxph.fit {rt}s lifelines {lf:8.3f}s "
            f"statsmodels {sm:8.3f}s peak {mem:7.1f} MB",
            flush=True,
        )
    lines = [
        "# Cox regression benchmark (Efron ties)",
        "",
        f"Machine: {platform.machine()}, {platform.python_version()}, numpy {np.__version__}; "
        "minimum wall time of repeats (survstudy 2 x 7 below 10^6, 2 x 5 at 10^6, before and "
        "after the peers; lifelines/statsmodels 7, 1 at 10^6; R coxph.fit 3). "
        "Data: seeded, standard-normal covariates, day-rounded exponential times, uniform censoring. "
        "Generated by `benchmarks/bench_cox.py`.",
        "",
        "| n | p | events | survstudy (s) | R coxph.fit (s) | lifelines (s) | statsmodels (s) "
        "| R / survstudy | lifelines / survstudy | statsmodels / survstudy | survstudy peak MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n, p, ev, s, rt, lf, sm, mem in rows:
        rcol = "–" if rt is None else f"{rt:.3f}"
        rrat = "–" if rt is None else f"{rt / s:.1f}x"
        lines.append(
            f"| {n:,} | {p} | {ev:,} | {s:.4f} | {rcol} | {lf:.3f} | {sm:.3f} | {rrat} "
            f"| {lf / s:.1f}x | {sm / s:.1f}x | {mem:.1f} |"
        )
    Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

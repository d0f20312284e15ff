"""Benchmark: counting-process Cox at 10^6 intervals, whole process, against R and lifelines.

Seeded synthetic data in (start, stop] form: patients with a fixed age and sex, a
binary exposure that starts during follow-up for 40 % of them, and a laboratory
value measured three times (split with ``survstudy.stats.timedep.tdc_split``), whole
days. Written once as Parquet and as CSV. Each round runs, one after the other:

* ``survstudy cox FILE.parquet --start start --time stop --event event
  --covariates age,male,exposed,lab --json`` (a new process: start-up, reading, the
  interval check, the fit with concordance, JSON);
* ``Rscript``: ``data.table::fread`` of the CSV (R has no arrow here; fread is the
  fastest CSV reader R users have) and ``coxph(Surv(start, stop, event) ~ age + male +
  exposed + lab)`` (which also computes the concordance);
* lifelines ``CoxTimeVaryingFitter`` on ``pandas.read_parquet`` (Efron ties), with a
  time limit (it is quadratic-ish in the number of event times and takes hours at 10^6).

Wall, user and system time and peak RSS come from ``/usr/bin/time``; the coefficients
of the three are compared. ``OPENBLAS_NUM_THREADS=1`` for all (2 shared cores).

    .venv/bin/python benchmarks/bench_timedep.py                       # 10^6 intervals
    .venv/bin/python benchmarks/bench_timedep.py --patients 34000 --rounds 2
    .venv/bin/python benchmarks/bench_timedep.py --survstudy-path /tmp/merged/src

``--survstudy-path`` runs survstudy from another source tree (e.g. a scratch merge
with another branch) by putting it first on ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

COVS = ["age", "male", "exposed", "lab"]

R_CODE = """
suppressPackageStartupMessages({library(survival); library(data.table)})
d <- fread(commandArgs(TRUE)[1])
fit <- coxph(Surv(start, stop, event) ~ age + male + exposed + lab, data = d)
cat(sprintf("%.17g", coef(fit)), sep = "\\n")
"""

LIFELINES_CODE = """
import sys, json, warnings
import pandas as pd
from lifelines import CoxTimeVaryingFitter
warnings.simplefilter("ignore")
df = pd.read_parquet(sys.argv[1])
f = CoxTimeVaryingFitter()
f.fit(df[["id", "start", "stop", "event", "age", "male", "exposed", "lab"]], id_col="id",
      event_col="event", start_col="start", stop_col="stop")
print(json.dumps([float(f.params_[c]) for c in ["age", "male", "exposed", "lab"]]))
"""


def make_data(patients: int, seed: int = 20261127) -> dict[str, np.ndarray]:
    """(start, stop] rows: fixed age/sex, an exposure starting during follow-up, a lab value."""
    from survstudy.stats.timedep import tdc_split

    rng = np.random.default_rng(seed)
    age = np.round(rng.normal(62, 10, patients), 1)
    male = rng.integers(0, 2, patients)
    stop = np.minimum(
        np.ceil(rng.exponential(900, patients)), np.ceil(rng.uniform(30, 2500, patients))
    )
    event = rng.random(patients) < 0.6
    t_exp = np.where(
        rng.random(patients) < 0.4, np.ceil(rng.uniform(0, 1.2, patients) * stop), np.nan
    )
    pat = np.repeat(np.arange(patients), 3)
    mt = np.ceil(rng.uniform(0, 1.5, 3 * patients) * stop[pat])
    sp = tdc_split(
        np.zeros(patients), stop, event, pat, mt, rng.normal(size=3 * patients), init=0.0
    )
    exposed = (sp.start >= np.nan_to_num(t_exp[sp.patient], nan=np.inf)).astype(np.int64)
    return {
        "id": sp.patient + 1,
        "start": sp.start,
        "stop": sp.stop,
        "event": sp.event.astype(np.int64),
        "age": age[sp.patient],
        "male": male[sp.patient],
        "exposed": exposed,
        "lab": np.round(sp.value, 3),
    }


def write(data: dict[str, np.ndarray], folder: Path) -> tuple[Path, Path]:
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    table = pa.table(data)
    pq_path, csv_path = folder / "intervals.parquet", folder / "intervals.csv"
    pq.write_table(table, pq_path)
    pcsv.write_csv(table, csv_path)
    return pq_path, csv_path


def timed_run(cmd: list[str], env: dict[str, str], timeout: float | None) -> dict[str, Any]:
    """Run under /usr/bin/time; wall/user/sys seconds, peak RSS (MB), stdout."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        full = ["/usr/bin/time", "-o", tf.name, "-f", "%e %U %S %M", *cmd]
        t0 = time.perf_counter()
        try:
            p = subprocess.run(full, capture_output=True, text=True, env=env, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"timeout": True, "wall": time.perf_counter() - t0}
        if p.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {p.stderr[-2000:]}")
        wall, user, sys_, rss = tf.read().split()
    return {
        "timeout": False,
        "wall": float(wall),
        "cpu": float(user) + float(sys_),
        "rss_mb": int(rss) / 1024,
        "out": p.stdout,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--patients", type=int, default=340_000, help="~3 intervals per patient")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--lifelines-timeout", type=float, default=900.0)
    ap.add_argument("--no-lifelines", action="store_true")
    ap.add_argument("--survstudy-path", default=None)
    ap.add_argument("--out", default=str(Path(__file__).with_name("RESULTS-timedep.md")))
    args = ap.parse_args()

    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    ours_env = dict(env)
    if args.survstudy_path:
        ours_env["PYTHONPATH"] = args.survstudy_path + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = make_data(args.patients)
        n, events = data["stop"].size, int(data["event"].sum())
        pq_path, csv_path = write(data, folder)
        r_script = folder / "fit.R"
        r_script.write_text(R_CODE)
        ll_script = folder / "ll.py"
        ll_script.write_text(LIFELINES_CODE)
        ours_cmd = [
            sys.executable, "-m", "survstudy", "cox", str(pq_path), "--start", "start",
            "--time", "stop", "--event", "event", "--covariates", ",".join(COVS), "--json",
        ]  # fmt: skip
        r_cmd = ["Rscript", str(r_script), str(csv_path)]
        ll_cmd = [sys.executable, str(ll_script), str(pq_path)]
        runs: dict[str, list[dict[str, Any]]] = {"survstudy": [], "R": [], "lifelines": []}
        loads = []
        for rnd in range(args.rounds):
            loads.append(os.getloadavg()[0])
            this = {
                "survstudy": timed_run(ours_cmd, ours_env, None),
                "R": timed_run(r_cmd, env, None),
            }
            if not args.no_lifelines and rnd == 0:
                this["lifelines"] = timed_run(ll_cmd, env, args.lifelines_timeout)
            for k, v in this.items():
                runs[k].append(v)
            print(f"round {rnd + 1}: " + ", ".join(
                f"{k} {v['wall']:.2f} s" for k, v in this.items()
            ), flush=True)  # fmt: skip
    ours_coef = np.array([t["coef"] for t in json.loads(runs["survstudy"][0]["out"])["terms"]])
    r_coef = np.array([float(v) for v in runs["R"][0]["out"].split()])
    diffs = {"survstudy": np.abs(ours_coef - r_coef)}
    ll = runs["lifelines"][0] if runs["lifelines"] else None
    if ll is not None and not ll["timeout"]:
        diffs["lifelines"] = np.abs(np.array(json.loads(ll["out"])) - r_coef)

    def med(name: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[name] if not r["timeout"])

    def mn(name: str, key: str) -> float:
        return min(r[key] for r in runs[name] if not r["timeout"])

    lines = [
        "# Counting-process Cox benchmark: whole process",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python "
        f"{platform.python_version()}, numpy {np.__version__}; load average at the rounds: "
        + ", ".join(f"{v:.1f}" for v in loads)
        + f". Generated by `benchmarks/bench_timedep.py --patients {args.patients} "
        f"--rounds {args.rounds}`"
        + (f" `--survstudy-path {args.survstudy_path}`" if args.survstudy_path else "")
        + ".",
        "",
        f"Data: {n:,} intervals of {args.patients:,} patients, {events:,} events, 4 covariates "
        "(age, male, exposed: time-dependent 0/1, lab: time-dependent), whole days; Efron ties.",
        "",
        "| program | wall median (s) | wall min (s) | CPU median (s) | peak RSS (MB) | "
        "R / program (wall) | R / program (CPU) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ("survstudy", "R", "lifelines"):
        rs = [r for r in runs[name] if not r["timeout"]]
        if not runs[name]:
            continue
        if not rs:
            lines.append(
                f"| {name} | > {runs[name][0]['wall']:.0f} (stopped) | | | | < "
                f"{med('R', 'wall') / runs[name][0]['wall']:.3f}x | |"
            )
            continue
        lines.append(
            f"| {name} | {med(name, 'wall'):.2f} | {mn(name, 'wall'):.2f} | {med(name, 'cpu'):.2f} "
            f"| {max(r['rss_mb'] for r in rs):.0f} | {med('R', 'wall') / med(name, 'wall'):.2f}x "
            f"| {med('R', 'cpu') / med(name, 'cpu'):.2f}x |"
        )
    lines += [
        "",
        "Coefficients against R's `coxph` (max absolute difference over the 4): "
        + "; ".join(f"{k} {v.max():.2e}" for k, v in diffs.items())
        + ".",
        "",
        "Commands (per round, in this order):",
        "",
        "```",
        "survstudy cox intervals.parquet --start start --time stop --event event "
        "--covariates age,male,exposed,lab --json",
        "Rscript fit.R intervals.csv   # data.table::fread + coxph(Surv(start, stop, event) ~ ...)",
        "python ll.py intervals.parquet  # pandas.read_parquet + CoxTimeVaryingFitter (first round)",
        "```",
    ]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

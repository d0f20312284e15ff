"""Benchmark: cumulative incidence + Gray's test at n = 10^6, whole process, in one run.

Contenders, each a fresh process reading the same data and printing its results:

* ``survstudy cif FILE.parquet --by group --at … --json`` (in memory, the default);
* the same with ``--engine duckdb`` (the file read in place by DuckDB, statistics from the
  per-time counts on the driver);
* ``Rscript`` with ``cmprsk::cuminc`` (CIF per group and cause with variances, Gray's test)
  and ``timepoints``, reading the same data as CSV with ``data.table::fread`` (R's arrow
  package is not installed; fread is R's fastest CSV reader);
* a Python script with lifelines' ``AalenJohansenFitter`` per group and cause (variance on),
  reading the Parquet file with pandas (lifelines has no Gray's test).

The contenders run alternately, round after round (lifelines, minutes per run at 10^6,
only in the first ``--lifelines-rounds`` rounds). Wall time and peak RSS (``wait4``) of
each process. survstudy's and R's numbers at the chosen times are compared. Also the
statistics alone (arrays in memory, no reading): median of 7 in this process.

    .venv/bin/python benchmarks/bench_competing.py [--n 1000000] [--rounds 5]
        [--lifelines-rounds 1] [--out benchmarks/RESULTS-competing.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TIMES = (365, 730, 1825)

R_SCRIPT = r"""
suppressPackageStartupMessages({library(cmprsk); library(data.table); library(jsonlite)})
args <- commandArgs(TRUE)
d <- fread(args[1])
ci <- cuminc(d$time, d$status, d$group, cencode = 0)
tp <- timepoints(ci, as.numeric(strsplit(args[2], ",")[[1]]))
cat(toJSON(list(est = tp$est, var = tp$var, rows = rownames(tp$est),
                tests = unname(ci$Tests[, "stat"])), digits = NA))
"""

LIFELINES_SCRIPT = r"""
import json, sys, warnings
import pandas as pd
from lifelines import AalenJohansenFitter
d = pd.read_parquet(sys.argv[1], columns=["time", "status", "group"])
times = [float(x) for x in sys.argv[2].split(",")]
out = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # lifelines warns that it jitters tied times
    for g, sub in d.groupby("group"):
        for cause in (1, 2):
            ajf = AalenJohansenFitter(calculate_variance=True, seed=1)
            ajf.fit(sub["time"], sub["status"], event_of_interest=cause)
            out[f"{g} {cause}"] = [float(v) for v in ajf.predict(times)]
print(json.dumps(out))
"""


def make_data(n: int, seed: int = 20261207) -> dict[str, np.ndarray]:
    """Three groups; exponential times to the event (cause 1) and to a competing event
    (cause 2) in whole days, uniform censoring: many tied days."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 3, n)
    t1 = np.ceil(rng.exponential(np.array([1500.0, 1800.0, 2100.0])[g]))
    t2 = np.ceil(rng.exponential(2500.0, n))
    c = np.ceil(rng.uniform(1, 3650, n))
    time_ = np.minimum(np.minimum(t1, t2), c)
    # ties: the event wins over a competing event, either wins over a censoring
    status = np.where((t1 <= t2) & (t1 <= c), 1, np.where(t2 <= c, 2, 0))
    return {"time": time_, "status": status.astype(np.int64), "group": g.astype(np.int64)}


def run(cmd: list[str], timeout: float | None = None) -> tuple[float, float, float, str]:
    """Wall seconds, peak RSS (MB), CPU seconds (user + system, all threads) and stdout of
    one process (``inf`` wall after ``timeout``)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        a = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        deadline = None if timeout is None else a + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if deadline is not None and time.perf_counter() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                return float("inf"), float("nan"), float("nan"), ""
            time.sleep(0.005)
        wall = time.perf_counter() - a
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            raise RuntimeError(f"{cmd[0]} failed: {err.read().decode()[-2000:]}")
        out.seek(0)
        cpu = usage.ru_utime + usage.ru_stime
        return wall, usage.ru_maxrss / 1024, cpu, out.read().decode()


def stats_only(data: dict[str, np.ndarray], repeats: int = 7) -> float:
    """The statistics of ``survstudy cif`` on arrays already in memory (median seconds):
    :func:`survstudy.stats.competing.cif_analysis` (curves, values at the times, Gray's
    tests from the same cell counts) and its JSON object."""
    from survstudy.stats.competing import cif_analysis

    status = data["status"].astype(np.int8)  # as the command's event codes give it

    def once() -> None:
        res = cif_analysis(
            data["time"], status, data["group"], [0, 1, 2], by="group", at=list(TIMES)
        )
        res.to_dict()

    once()
    ts = []
    for _ in range(repeats):
        a = time.perf_counter()
        once()
        ts.append(time.perf_counter() - a)
    return statistics.median(ts)


def reader_only(path: str) -> float:
    """Seconds for ``survstudy cif``'s in-memory read of the three columns (one run)."""
    from survstudy.data.quick import load_columns

    a = time.perf_counter()
    load_columns(path, "time", None, others=("status", "group"))
    return time.perf_counter() - a


def _bytecode() -> None:
    """Compile survstudy's modules once, as a wheel install does: with
    PYTHONDONTWRITEBYTECODE set (some shells and CI images set it), an editable install
    would otherwise compile every module in every timed process."""
    import compileall

    import survstudy

    compileall.compile_dir(str(Path(survstudy.__file__).parent), quiet=1)


def main() -> None:
    _bytecode()
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10**6)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--lifelines-rounds", type=int, default=1)
    ap.add_argument("--lifelines-timeout", type=float, default=3600.0)
    ap.add_argument("--out", default=str(Path(__file__).with_name("RESULTS-competing.md")))
    args = ap.parse_args()

    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    exe = str(Path(sys.executable).with_name("survstudy"))
    rscript = shutil.which("Rscript")
    data = make_data(args.n)
    at = ",".join(str(t) for t in TIMES)
    tmp = Path(tempfile.mkdtemp(prefix="bench_competing_"))
    try:
        table = pa.table(data)
        pq.write_table(table, tmp / "data.parquet")
        pacsv.write_csv(table, tmp / "data.csv")
        (tmp / "cuminc.R").write_text(R_SCRIPT)
        (tmp / "aj.py").write_text(LIFELINES_SCRIPT)
        pqf, csvf = str(tmp / "data.parquet"), str(tmp / "data.csv")
        cif = [exe, "cif", pqf, "--time", "time", "--event", "status", "--cause", "1",
               "--competing", "2", "--censored", "0", "--by", "group", "--at", at, "--json"]  # fmt: skip
        contenders: dict[str, list[str]] = {
            "survstudy cif (memory)": cif,
            "survstudy cif --engine duckdb": [*cif, "--engine", "duckdb"],
        }
        if rscript:
            contenders["R cmprsk::cuminc (fread CSV)"] = [rscript, str(tmp / "cuminc.R"), csvf, at]
        contenders["lifelines AalenJohansenFitter"] = [sys.executable, str(tmp / "aj.py"), pqf, at]
        walls: dict[str, list[float]] = {k: [] for k in contenders}
        rss: dict[str, list[float]] = {k: [] for k in contenders}
        cpus: dict[str, list[float]] = {k: [] for k in contenders}
        outputs: dict[str, str] = {}
        names = list(contenders)
        for rnd in range(args.rounds):
            # each round starts with the next contender: on this virtual machine a process
            # started right after one that freed much memory (R, lifelines) pays for
            # faulting in pages the host took back, so no contender always comes after them
            for name in names[rnd % len(names) :] + names[: rnd % len(names)]:
                cmd = contenders[name]
                if name.startswith("lifelines") and rnd >= args.lifelines_rounds:
                    continue
                timeout = args.lifelines_timeout if name.startswith("lifelines") else None
                w, m, c, out = run(cmd, timeout)
                walls[name].append(w)
                rss[name].append(m)
                cpus[name].append(c)
                outputs.setdefault(name, out)
                print(f"round {rnd + 1}: {name}: {w:.2f} s, {c:.2f} CPU-s, {m:.0f} MB", flush=True)
        alone = stats_only(data)
        reader = reader_only(pqf)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    # agreement with R at the chosen times (cif and variance), Gray's statistics
    ours = json.loads(outputs["survstudy cif (memory)"])
    duck = json.loads(outputs["survstudy cif --engine duckdb"])
    agree: list[str] = []
    if rscript and outputs.get("R cmprsk::cuminc (fread CSV)"):
        r = json.loads(outputs["R cmprsk::cuminc (fread CSV)"])
        est, var = np.array(r["est"], dtype=float), np.array(r["var"], dtype=float)
        rows = r["rows"]
        d_est = d_var = 0.0
        for g in ours["groups"]:
            for key, cause in (("at", 1), ("competing_at", 2)):
                i = rows.index(f"{g['group']} {cause}")
                got = np.array([x["cif"] for x in g[key]])
                gv = np.array([x["se"] ** 2 for x in g[key]])
                d_est = max(d_est, float(np.max(np.abs(got - est[i]) / np.abs(est[i]))))
                d_var = max(d_var, float(np.max(np.abs(gv - var[i]) / np.abs(var[i]))))
        d_gray = max(
            abs(ours["gray"]["statistic"] / r["tests"][0] - 1),
            abs(ours["gray_competing"]["statistic"] / r["tests"][1] - 1),
        )
        agree.append(
            f"survstudy vs cmprsk at {at} days: max relative difference CIF {d_est:.1e}, "
            f"variance {d_var:.1e}, Gray's statistics {d_gray:.1e}."
        )
    d_duck = max(
        abs(a["cif"] - b["cif"])
        for ga, gb in zip(ours["groups"], duck["groups"], strict=True)
        for a, b in zip(ga["at"] + ga["competing_at"], gb["at"] + gb["competing_at"], strict=True)
    )
    agree.append(f"memory vs duckdb: max absolute CIF difference {d_duck:.1e}.")
    if outputs.get("lifelines AalenJohansenFitter"):
        lf = json.loads(outputs["lifelines AalenJohansenFitter"])
        d_lf = max(
            abs(x["cif"] - lf[f"{g['group']} {cause}"][k])
            for g in ours["groups"]
            for key, cause in (("at", 1), ("competing_at", 2))
            for k, x in enumerate(g[key])
        )
        agree.append(
            f"survstudy vs lifelines: max absolute CIF difference {d_lf:.1e} (lifelines "
            "jitters tied times, so it is not the same estimate on tied data)."
        )

    base = statistics.median(walls["survstudy cif (memory)"])
    load = os.getloadavg()
    import lifelines

    lines = [
        "# Competing risks benchmark: cumulative incidence + Gray's test, whole process",
        "",
        f"Generated by `benchmarks/bench_competing.py` on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}, "
        f"lifelines {lifelines.__version__}"
        + (
            ", "
            + subprocess.run(
                [rscript, "--version"], capture_output=True, text=True
            ).stdout.splitlines()[0]
            if rscript
            else ""
        )
        + f". Load average at the end of the run: {load[0]:.2f} (the machine is shared: "
        "absolute times are pessimistic; ratios are more stable).",
        "",
        f"Data: n = {args.n:,} patients, 3 groups, the event, a competing event and "
        "censoring, times in whole days (seeded; `make_data`). Each contender is a fresh "
        "process that reads the file, computes the cumulative incidence of both causes per "
        f"group with variances at {at} days (plus Gray's test, except lifelines, which has "
        "none) and prints the result. Contenders alternate, round after round, each round "
        "starting with the next contender (a process started right after one that freed "
        "much memory pays for faulting in pages this virtual machine's host took back). "
        "Median and "
        "fastest wall time in seconds; ratio = contender / `survstudy cif` (memory), of the "
        "medians and of the fastest runs (a run that shared a core with another job on this "
        "machine takes about twice as long); median CPU seconds (user + system, all "
        "threads); peak RSS in MB.",
        "",
        "| contender | runs | median s | ratio | fastest s | ratio | median CPU s | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    best = min(walls["survstudy cif (memory)"])
    for name in contenders:
        if not walls[name]:
            continue
        med, low = statistics.median(walls[name]), min(walls[name])
        shown = "> timeout" if med == float("inf") else f"{med:.2f}"
        lines.append(
            f"| {name} | {len(walls[name])} | {shown} | {med / base:.2f}x | {low:.2f} | "
            f"{low / best:.2f}x | {statistics.median(cpus[name]):.2f} | "
            f"{statistics.median(rss[name]):.0f} |"
        )

    def _ratio(prefix: str) -> float:
        found = [statistics.median(w) for n, w in walls.items() if n.startswith(prefix) and w]
        return found[0] / base if found else float("nan")

    ratio_r, ratio_l = _ratio("R "), _ratio("lifelines")
    fast_r = next(
        (min(w) / best for n, w in walls.items() if n.startswith("R ") and w), float("nan")
    )
    lines += [
        "",
        f"The statistics alone (arrays in memory, no reading; `cif_analysis`: CIF per group, "
        f"values at the times, Gray's test for both causes): {alone * 1e3:.0f} ms (median of "
        "7). The "
        f"in-memory read of the three columns alone (`data.quick.load_columns`: the "
        f"columnar reader, Parquet projection, whole columns typed at once): {reader:.2f} s "
        "(one run). The rest of the in-memory command's time is the interpreter and its "
        "imports (numpy, pyarrow) and writing the JSON; `--engine duckdb` runs the same "
        "statistics on per-time counts that DuckDB reads and sums column-wise.",
        "",
        "Goal (issue 18): at least 10x faster than both R and lifelines, whole process, in "
        f"memory: {ratio_r:.1f}x R (medians; {fast_r:.1f}x of the fastest runs), "
        + (
            f"{ratio_l:.0f}x lifelines in this run."
            if ratio_l == ratio_l
            else "lifelines not run this time (`--lifelines-rounds 0`)."
        ),
        "",
        *agree,
        "",
        "Commands (FILE is the data written by the script):",
        "",
        "```",
        " ".join(contenders["survstudy cif (memory)"]).replace(pqf, "FILE.parquet"),
        "survstudy cif ... --engine duckdb",
        "Rscript cuminc.R FILE.csv " + at + "   # fread, cuminc(time, status, group), timepoints",
        "python aj.py FILE.parquet " + at + "   # pandas.read_parquet, AalenJohansenFitter",
        "```",
        "",
    ]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Benchmark: KM + log-rank + Cox (Efron) on a synthetic registry, DuckDB and Spark engines.

Data: ``survstudy synth-registry --n N --out DIR --seed 2026`` (Parquet, 15 columns:
id, day-rounded time, event, group (3 levels), region (4 strata), x1..x10).
Analyses, all through the engine (files read in place):

* Kaplan–Meier by group; log-rank by group stratified by region;
* Cox, Efron ties, strata(region), terms group (2 dummies) + x1..x10 (12 columns),
  whose true log-HRs are in DIR/_registry.json (the estimates are compared with them).

Each measurement runs in a fresh process (``run`` sub-command) so the peak resident
memory (VmHWM of /proc/self/status; for Spark also the JVM child's) is that run's.

    .venv/bin/python benchmarks/bench_registry.py gen --n 1000000 --out /tmp/reg6
    .venv/bin/python benchmarks/bench_registry.py run --engine duckdb --data /tmp/reg6 --json out.json
    .venv/bin/python benchmarks/bench_registry.py run --engine spark --data /tmp/reg7 --json out.json
    .venv/bin/python benchmarks/bench_registry.py agree --data /tmp/reg6   # memory vs DuckDB
    .venv/bin/python benchmarks/bench_registry.py study --engine duckdb --data /tmp/reg7 --json s.json
    .venv/bin/python benchmarks/bench_registry.py study --engine memory --data /tmp/reg6 --tree-pss
    .venv/bin/python benchmarks/bench_registry.py report out1.json out2.json ...
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

COVS = [f"x{j}" for j in range(1, 11)]


def _vmhwm_kb(pid: int | str = "self") -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def _tree_pss_kb(pid: int) -> int:
    """PSS of ``pid`` and its descendants (kB; 0 for a process gone meanwhile)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup", encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
        todo.extend(_children(p))
    return total


def _children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", encoding="ascii") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            out.append(int(d))
    return out


def run(engine_name: str, data: str, master: str | None) -> dict[str, Any]:
    from survstudy.engines import analyses, get_engine
    from survstudy.engines.base import Source

    opts: dict[str, Any] = {}
    if engine_name == "duckdb":
        opts = {"memory_limit": "3GB", "threads": 2}
    elif engine_name == "spark" and master:
        opts = {"master": master}
    t0 = time.perf_counter()
    eng = get_engine(engine_name, **opts)
    t_start = time.perf_counter() - t0
    src = Source.from_path(data)
    meta = json.loads((Path(data) / "_registry.json").read_text(encoding="utf-8"))
    out: dict[str, Any] = {"engine": engine_name, "n": meta["n"], "events": meta["events"]}
    out["startup_s"] = t_start

    t0 = time.perf_counter()
    fits, _ = analyses.kaplan_meier(eng, src, time="time", event="event", group="group")
    out["km_s"] = time.perf_counter() - t0
    out["km_median"] = {str(g): r.median().estimate for g, r in fits}

    t0 = time.perf_counter()
    lr, _ = analyses.logrank(eng, src, time="time", event="event", group="group", strata="region")
    out["logrank_s"] = time.perf_counter() - t0
    out["logrank_chisq"] = float(lr.statistic)

    t0 = time.perf_counter()
    terms, assign = analyses.cox_terms(
        eng,
        src,
        time="time",
        event="event",
        covariates=["group", *COVS],
        categorical=["group"],
        strata="region",
    )
    fit = analyses.cox(
        eng, src, time="time", event="event", terms=terms, strata="region", assign=assign
    )
    out["cox_s"] = time.perf_counter() - t0
    out["cox_iterations"] = int(fit.iterations)
    out["cox_p"] = len(terms)
    truth = meta["true_log_hr"]
    names = list(fit.term_names)
    out["cox"] = {
        name: {"coef": float(c), "se": float(s), "true": truth.get(_truth_key(name))}
        for name, c, s in zip(names, fit.coef, fit.se, strict=True)
    }
    out["total_s"] = out["km_s"] + out["logrank_s"] + out["cox_s"]
    out["peak_rss_mb"] = _vmhwm_kb() / 1024
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    out["cpu_s"] = ru.ru_utime + ru.ru_stime  # DuckDB's threads included (not Spark's JVM)
    if engine_name == "spark":
        jvm = [_vmhwm_kb(c) for c in _children(os.getpid())]
        out["jvm_peak_rss_mb"] = max(jvm, default=0) / 1024
    eng.close()
    return out


def _truth_key(term: str) -> str:
    # engine term labels are "group[B]"; the truth uses "group=B"
    if term.startswith("group[") and term.endswith("]"):
        return "group=" + term[len("group[") : -1]
    return term


def agree(data: str) -> dict[str, Any]:
    """In-memory statistics (survstudy.stats on arrays) vs the DuckDB engine, max relative diff."""
    import pyarrow.parquet as pq

    from survstudy.engines import analyses, get_engine
    from survstudy.engines.base import Source
    from survstudy.stats.cox import cox_fit
    from survstudy.stats.km import kaplan_meier
    from survstudy.stats.logrank import logrank_test

    t = pq.read_table(data)
    tm = t["time"].to_numpy().astype(float)
    ev = t["event"].to_numpy().astype(float)
    grp = np.asarray(t["group"].to_pylist())
    reg = np.asarray(t["region"].to_pylist())
    x = np.column_stack(
        [(grp == lv).astype(float) for lv in ("B", "C")]
        + [t[c].to_numpy().astype(float) for c in COVS]
    )
    eng = get_engine("duckdb", threads=2)
    src = Source.from_path(data)
    rel: dict[str, float] = {}

    def rd(a: Any, b: Any) -> float:
        a, b = np.asarray(a, float), np.asarray(b, float)
        return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))

    fits, _ = analyses.kaplan_meier(eng, src, time="time", event="event", group="group")
    km_rel = 0.0
    for g, r in fits:
        m = kaplan_meier(tm[grp == g], ev[grp == g])
        km_rel = max(km_rel, rd(r.survival, m.survival), rd(r.std_err, m.std_err))
    rel["km_surv_se"] = km_rel
    lr, _ = analyses.logrank(eng, src, time="time", event="event", group="group", strata="region")
    lm = logrank_test(tm, ev, grp, strata=reg)
    rel["logrank_chisq"] = rd(lr.statistic, lm.statistic)
    terms, _ = analyses.cox_terms(
        eng,
        src,
        time="time",
        event="event",
        covariates=["group", *COVS],
        categorical=["group"],
        strata="region",
    )
    fe = analyses.cox(eng, src, time="time", event="event", terms=terms, strata="region")
    fm = cox_fit(x, tm, ev, strata=reg, ties="efron", concordance=False)
    rel["cox_coef"] = rd(fe.coef, fm.coef)
    rel["cox_se"] = rd(fe.se, fm.se)
    rel["cox_loglik"] = rd(fe.loglik, fm.loglik)
    eng.close()
    return {"n": int(t.num_rows), "max_rel_diff": rel}


def study(
    engine_name: str, data: str, jobs: int | None = None, tree_pss: bool = False
) -> dict[str, Any]:
    """``survstudy run`` of examples/registry/study.yaml on ``data``, in a child process:
    wall time and the child's peak RSS (for DuckDB the whole engine; for Spark the driver
    only, the JVM is a grandchild and its peak is not included)."""
    import resource
    import shutil
    import tempfile

    root = Path(__file__).resolve().parents[1]
    text = (root / "examples" / "registry" / "study.yaml").read_text(encoding="utf-8")
    work = Path(tempfile.mkdtemp(prefix="bench-study-"))
    try:
        spec = work / "study.yaml"
        spec.write_text(
            text.replace("  path: registry\n", f"  path: {Path(data).resolve()}\n"),
            encoding="utf-8",
        )
        exe = Path(sys.executable).with_name("survstudy")
        cmd = [str(exe), "run", str(spec), "--out", str(work / "out"), "--quiet"]
        cmd += ["--formats", "json,html", "--engine", engine_name]
        if jobs is not None:
            cmd += ["--jobs", str(jobs)]
        if engine_name == "duckdb":
            cmd += ["--engine-opt", "memory_limit=3GB", "--engine-opt", "threads=2"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd)
        # `survstudy run` computes in two processes on a two-CPU machine: with tree_pss,
        # besides the largest process's peak (ru_maxrss) sample the memory of the whole
        # process tree, as PSS (shared copy-on-write pages counted once), every 50 ms. The
        # sampling walks every page of the processes (smaps_rollup) and takes CPU from the
        # run: 1-2 s of the wall time at 10^6 rows, so it is off for timing runs
        pss_peak = 0
        if tree_pss:
            while proc.poll() is None:
                pss_peak = max(pss_peak, _tree_pss_kb(proc.pid))
                time.sleep(0.05)
        proc.wait()
        if proc.returncode:
            raise subprocess.CalledProcessError(proc.returncode, cmd)
        seconds = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_kb = after.ru_maxrss
        # user + system CPU of the run (DuckDB's threads included): the load-independent
        # measure on a shared machine
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        load = os.getloadavg()[0]
        res = json.loads((work / "out" / "results.json").read_text(encoding="utf-8"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    meta = json.loads((Path(data) / "_registry.json").read_text(encoding="utf-8"))
    return {
        "kind": "study",
        "study_engine": engine_name,
        "jobs": jobs,
        "n": meta["n"],
        "n_analysed": res["n"],
        "seconds": seconds,
        "cpu_seconds": cpu,
        "load_after": load,
        "peak_rss_mb": peak_kb / 1024,
        "peak_tree_pss_mb": pss_peak / 1024 if tree_pss else None,
        "concordance": res["multivariable"][0]["concordance"],
    }


def report(paths: list[str], out: Path) -> None:
    rows = [json.loads(Path(p).read_text(encoding="utf-8")) for p in paths]
    runs = [r for r in rows if "engine" in r]
    studies = [r for r in rows if r.get("kind") == "study"]
    agrees = [r for r in rows if "max_rel_diff" in r]
    lines = [
        "# Registry-scale benchmark (DuckDB and Spark engines)",
        "",
        f"Machine: 2 cores (shared with other engineers during the run), 24 GB RAM, "
        f"{platform.machine()}, Python {platform.python_version()}. "
        "Data: `survstudy synth-registry --seed 2026` (Parquet, zstd, 5 000 000 rows per file). "
        "Analyses through the engine, files read in place: Kaplan–Meier by group (3 levels); "
        "log-rank by group stratified by region (4 strata); Cox, Efron ties, strata(region), "
        "group (2 dummies) + x1..x10 = **12 columns** (the target's p = 10 plus the group). "
        "DuckDB: `memory_limit=3GB, threads=2`. Spark: local mode, `local[2]`, driver 1 GB (the engine default). "
        "One fresh process per row; peak memory = VmHWM of the Python process (DuckDB runs "
        "inside it) and for Spark also of the JVM. Generated by `benchmarks/bench_registry.py`.",
        "",
        "| n | engine | events | start-up (s) | KM (s) | log-rank (s) | Cox (s) | Cox iterations "
        "| total (s) | process CPU (s) | peak RSS (MB) | max abs(coef − truth) / SE |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(runs, key=lambda r: (r["n"], r["engine"])):
        z = max(
            abs(v["coef"] - v["true"]) / v["se"] for v in r["cox"].values() if v["true"] is not None
        )
        cpu = f"{r['cpu_s']:.0f}" if "cpu_s" in r else "—"
        peak = f"{r['peak_rss_mb']:.0f}"
        if "jvm_peak_rss_mb" in r:
            peak += f" + JVM {r['jvm_peak_rss_mb']:.0f}"
        lines.append(
            f"| {r['n']:,} | {r['engine']} | {r['events']:,} | {r['startup_s']:.1f} "
            f"| {r['km_s']:.1f} | {r['logrank_s']:.1f} | {r['cox_s']:.1f} | {r['cox_iterations']} "
            f"| {r['total_s']:.1f} | {cpu} | {peak} | {z:.2f} |"
        )
    if studies:
        lines += [
            "",
            "## A whole study: `survstudy run examples/registry/study.yaml --engine …`",
            "",
            "Cohort derived from the Parquet folder (SQL for duckdb; the readers for memory), "
            "Table 1 by group, survival summary with 3 landmarks, 5 univariable factors under "
            "both tie rules with log-rank tests, a stratified multivariable model (6 columns) "
            "with concordance and PH test, two KM figures, HTML + JSON report. One child "
            "process per row; peak RSS of that process.",
            "",
            "| n | engine | seconds | peak RSS (MB) | concordance |",
            "|---|---|---|---|---|",
        ]
        for r in sorted(studies, key=lambda r: (r["n"], r["study_engine"])):
            c = "—" if r["concordance"] is None else f"{r['concordance']:.4f}"
            lines.append(
                f"| {r['n']:,} | {r['study_engine']} | {r['seconds']:.0f} "
                f"| {r['peak_rss_mb']:.0f} | {c} |"
            )
    if agrees:
        lines += ["", "## In-memory vs DuckDB agreement", ""]
        lines += ["| n | quantity | max relative difference |", "|---|---|---|"]
        for a in agrees:
            for k, v in a["max_rel_diff"].items():
                lines.append(f"| {a['n']:,} | {k} | {v:.1e} |")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--n", type=int, required=True)
    g.add_argument("--out", required=True)
    r = sub.add_parser("run")
    r.add_argument("--engine", choices=["duckdb", "spark", "memory"], required=True)
    r.add_argument("--data", required=True)
    r.add_argument("--spark-master", default=None)
    r.add_argument("--json", default=None)
    st = sub.add_parser("study")
    st.add_argument("--engine", choices=["duckdb", "spark", "memory"], required=True)
    st.add_argument("--data", required=True)
    st.add_argument(
        "--jobs", type=int, default=None, help="survstudy run --jobs (default: its own)"
    )
    st.add_argument(
        "--tree-pss",
        action="store_true",
        help="also sample the process tree's PSS every 50 ms (slows the run: not for timing)",
    )
    st.add_argument("--json", default=None)
    a = sub.add_parser("agree")
    a.add_argument("--data", required=True)
    a.add_argument("--json", default=None)
    rp = sub.add_parser("report")
    rp.add_argument("files", nargs="+")
    rp.add_argument("--out", default=str(Path(__file__).with_name("RESULTS-registry.md")))
    args = ap.parse_args()
    if args.cmd == "gen":
        exe = Path(sys.executable).with_name("survstudy")
        subprocess.run(
            [str(exe), "synth-registry", "--n", str(args.n), "--out", args.out, "--seed", "2026"],
            check=True,
        )
        return
    if args.cmd == "report":
        report(args.files, Path(args.out))
        return
    if args.cmd == "run":
        res = run(args.engine, args.data, args.spark_master)
    elif args.cmd == "study":
        res = study(args.engine, args.data, args.jobs, args.tree_pss)
    else:
        res = agree(args.data)
    text = json.dumps(res, indent=1)
    print(text, flush=True)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

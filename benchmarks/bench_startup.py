"""Start-up time of the quick commands on a 12-row CSV, as whole processes.

Runs each command ``--repeats`` times (default 10) and prints the minimum and
median wall time, then one ``python -X importtime`` run of ``survstudy km``
summarised by top-level import (cumulative milliseconds), so one can see where
the time goes. Times on the shared machine are noisy: compare minima.

    .venv/bin/python benchmarks/bench_startup.py [--repeats 10]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = """time,event,grp,age
5,1,a,50
8,0,b,61
12,1,a,45
15,1,b,70
20,0,a,52
22,1,b,66
30,1,a,48
31,0,b,59
40,1,a,71
41,1,b,55
50,0,a,62
60,1,b,49
"""


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
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    script = Path(sys.executable).with_name("survstudy")  # the console script users run
    exe = [str(script)] if script.exists() else [sys.executable, "-m", "survstudy"]
    with tempfile.TemporaryDirectory() as tmp:
        q = str(Path(tmp) / "q.csv")
        Path(q).write_text(ROWS)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -c 'import numpy'": [sys.executable, "-c", "import numpy"],
            "survstudy --version": [*exe, "--version"],
            "km --json": [*exe, "km", q, "--time", "time", "--event", "event", "--json"],
            "km --by --at (table)": [
                *exe, "km", q, "--time", "time", "--event", "event", "--by", "grp", "--at", "12,24",
            ],
            "logrank --json": [
                *exe, "logrank", q, "--time", "time", "--event", "event", "--by", "grp", "--json",
            ],
            "cox --ph-test --json": [
                *exe, "cox", q, "--time", "time", "--event", "event", "--covariates", "age,grp",
                "--categorical", "grp", "--ph-test", "--json",
            ],
        }  # fmt: skip
        print(f"{'command':28s} {'min (s)':>8s} {'median (s)':>10s}")
        for label, cmd in commands.items():
            ts = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True)
                ts.append(time.perf_counter() - t0)
            print(f"{label:28s} {min(ts):8.3f} {statistics.median(ts):10.3f}")
        km_args = commands["km --json"][len(exe) :]
        run = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "survstudy", *km_args],
            check=True,
            capture_output=True,
            text=True,
        )
    print("\n-X importtime, survstudy km --json: top-level imports (cumulative ms)")
    for line in run.stderr.splitlines()[1:]:
        _, _, cum, name = (p.strip() for p in ("|" + line).split("|", 3))
        raw = line.split("|")[2]
        if not raw[1:].startswith(" ") and int(cum) > 1000:
            print(f"  {name:32s} {int(cum) / 1000:7.1f}")


if __name__ == "__main__":
    main()

"""Whole-process timings of the quick commands against a lifelines script (issue 16 targets).

Writes n rows x 12 columns (day-rounded times, 0/1 events, ten numeric covariates) as
Parquet and CSV into a temporary folder, then times, alternately and ``--repeat`` times:

* ``survstudy km FILE --time time --event event --json`` vs read + ``KaplanMeierFitter``;
* ``survstudy cox FILE --time time --event event --covariates x1..x10 --json`` vs read +
  ``CoxPHFitter``;

each a whole process (``/usr/bin/time``: wall seconds and peak resident memory), and
prints a Markdown table with the 1-minute load average. Usage::

    python benchmarks/bench_data_path.py --n 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

PEER_KM = """
import sys, pandas as pd
from lifelines import KaplanMeierFitter
d = pd.read_parquet(sys.argv[1]) if sys.argv[1].endswith('.parquet') else pd.read_csv(sys.argv[1])
KaplanMeierFitter().fit(d['time'], d['event'])
"""
PEER_COX = """
import sys, pandas as pd
from lifelines import CoxPHFitter
d = pd.read_parquet(sys.argv[1]) if sys.argv[1].endswith('.parquet') else pd.read_csv(sys.argv[1])
CoxPHFitter().fit(d[['time', 'event'] + [f'x{i}' for i in range(1, 11)]], 'time', 'event')
"""


def write_data(folder: Path, n: int) -> tuple[Path, Path]:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(16)
    x = rng.normal(size=(n, 10))
    lp = x[:, :3] @ np.array([0.3, -0.2, 0.1])
    t = np.ceil(rng.exponential(365.0 * np.exp(-lp)))
    c = np.ceil(rng.uniform(30, 2000, n))
    cols = {"id": np.arange(1, n + 1), "time": np.minimum(t, c), "event": (t <= c).astype(int)}
    cols.update({f"x{i + 1}": x[:, i] for i in range(10)})
    table = pa.table(cols)
    pq.write_table(table, folder / "data.parquet")
    pacsv.write_csv(table, folder / "data.csv")
    return folder / "data.parquet", folder / "data.csv"


def timed(cmd: list[str]) -> tuple[float, float]:
    out = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M", *cmd], capture_output=True, text=True, check=True
    )
    secs, kb = out.stderr.strip().splitlines()[-1].split()
    return float(secs), float(kb) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    exe = str(Path(sys.executable).parent / "survstudy")
    covs = ",".join(f"x{i}" for i in range(1, 11))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        parquet, csv = write_data(Path(tmp), args.n)
        for path in (parquet, csv):
            for what, ours, peer in (
                (
                    "km",
                    [exe, "km", str(path), "--time", "time", "--event", "event", "--json"],
                    PEER_KM,
                ),
                (
                    "cox",
                    [
                        exe,
                        "cox",
                        str(path),
                        "--time",
                        "time",
                        "--event",
                        "event",
                        "--covariates",
                        covs,
                        "--json",
                    ],
                    PEER_COX,
                ),
            ):
                a, b = [], []
                for _ in range(args.repeat):
                    a.append(timed(ours))
                    b.append(timed([sys.executable, "-c", peer, str(path)]))
                sa = min(x[0] for x in a)
                sb = min(x[0] for x in b)
                rows.append(
                    f"| {what} | {path.suffix[1:]} | {sa:.2f} s, {max(x[1] for x in a):.0f} MB "
                    f"| {sb:.2f} s, {max(x[1] for x in b):.0f} MB | {sb / sa:.2f}x |"
                )
    print(f"n = {args.n}, best of {args.repeat} (alternating); load {os.getloadavg()[0]:.1f}")
    print("| command | file | survstudy | lifelines script | speed-up |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()

"""Screenshots of each step of `survstudy app` into docs/app/ (shown in the README).

Runs the browser end-to-end test (tests/app/test_e2e.py: the real server, Debian's
chromium driven by playwright, the bclm example) with SURVSTUDY_APP_SCREENSHOTS set, so
the pictures are exactly what the test saw. Usage: .venv/bin/python scripts/app_screenshots.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    out = ROOT / "docs" / "app"
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SURVSTUDY_APP_SCREENSHOTS": str(out), "SOURCE_DATE_EPOCH": "0"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-m", "slow", "-p", "no:cacheprovider"]
    cmd.append(str(ROOT / "tests" / "app" / "test_e2e.py::test_seed_study_in_the_browser"))
    done = subprocess.run(cmd, env=env, cwd=ROOT, check=False)
    for p in sorted(out.glob("*.png")):
        print(p.relative_to(ROOT))
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())

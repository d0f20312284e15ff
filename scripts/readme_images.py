"""Regenerate the README's pictures of the demo report (docs/demo/*.png).

Runs ``survstudy demo bclm`` into a temporary folder, opens its report.html in
headless Chromium (Debian's /usr/bin/chromium driven by the ``playwright``
package; no browser download) and saves element screenshots of Table 1, the
survival table and the Kaplan–Meier figure by group, and copies the competing-risks
example's cumulative-incidence figure (examples/mgus2). Run it after a change that
alters how the report looks:

    .venv/bin/python scripts/readme_images.py

Needs: ``pip install playwright`` (in the test extra) and ``apt-get install chromium``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "demo"
SHOTS = {
    "table1.png": "#t-table1",
    "survival.png": "#t-survival",
    "km_pfs_by_group.png": "#f-km_PFS_by_lm_within_3y",
}
CIF_FIGURE = "mgus2_cif_by_sex.png"  # copied from `survstudy run examples/mgus2/study.yaml`
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> int:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    survstudy = Path(sys.executable).with_name("survstudy")
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [str(survstudy), "demo", "bclm", "--out", tmp], check=True, stdout=subprocess.DEVNULL
        )
        report = Path(tmp) / "out" / "report.html"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(
                viewport={"width": 900, "height": 1200}, device_scale_factor=1.5
            )
            page.goto(report.as_uri())
            for name, selector in SHOTS.items():
                page.locator(selector).screenshot(path=str(OUT / name))
                print(OUT / name)
            browser.close()
        # the competing-risks example's cumulative-incidence figure, as the run writes it
        subprocess.run(
            [
                str(survstudy),
                "run",
                str(ROOT / "examples" / "mgus2" / "study.yaml"),
                "--out",
                str(Path(tmp) / "mgus2"),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        shutil.copyfile(Path(tmp) / "mgus2" / "figures" / "km_PCM_by_sex.png", OUT / CIF_FIGURE)
        print(OUT / CIF_FIGURE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

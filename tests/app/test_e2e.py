"""End to end in a real browser: Playwright driving Debian's chromium against the real
server started by `survstudy app --no-browser --port 0`.

Kinds of truth: published table (Sen et al. 2024: 2-/3-year PFS 82 %/69 %, OS 92 %/82 %;
12 patients, 3 progressions, 3 deaths) and identity (the downloaded spec run by
`survstudy run` gives the results.json the app computed). With SURVSTUDY_APP_SCREENSHOTS=DIR
each step is also saved as a PNG (scripts/app_screenshots.py writes docs/app/ this way).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import BCLM_RAW

CHROMIUM = os.environ.get("SURVSTUDY_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
PUBLISHED = {("PFS", "24"): 82, ("PFS", "36"): 69, ("OS", "24"): 92, ("OS", "36"): 82}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server() -> Iterator[dict[str, Any]]:
    """The real server in a subprocess; stopped with SIGINT, its data folder must vanish."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "survstudy", "app", "--no-browser", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    info: dict[str, Any] = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not ("url" in info and "folder" in info):
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("open "):
            info["url"] = line.split(" ", 1)[1].strip()
        elif line.startswith("data folder: "):
            info["folder"] = Path(line[len("data folder: ") :].split(" (", 1)[0])
    if "url" not in info:
        proc.kill()
        _out, err = proc.communicate()
        pytest.fail(f"survstudy app printed no URL: {err}")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?token=[A-Za-z0-9_-]{40,}", info["url"])
    yield info
    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert not info["folder"].exists(), "the uploaded data were not deleted on shutdown"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"no browser: {CHROMIUM} is missing (make test installs Debian's chromium with "
            "apt-get when it can; set SURVSTUDY_CHROMIUM to another chromium binary)"
        )
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Shots:
    def __init__(self, page: Any) -> None:
        d = os.environ.get("SURVSTUDY_APP_SCREENSHOTS")
        self.dir = Path(d) if d else None
        self.page = page

    def __call__(self, name: str, full: bool = True) -> None:
        if self.dir is not None:
            self.dir.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(self.dir / f"{name}.png"), full_page=full)


def test_without_the_token_the_browser_gets_403(server: dict[str, Any], browser: Any) -> None:
    page = browser.new_page()
    base = server["url"].split("?", 1)[0]
    response = page.goto(base)
    assert response.status == 403
    page.close()


def test_seed_study_in_the_browser(server: dict[str, Any], browser: Any, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    page = context.new_page()
    shot = Shots(page)
    page.goto(server["url"])
    assert page.url.endswith("/")  # the token left the address bar
    page.set_input_files("#file", str(BCLM_RAW))
    shot("1-upload", full=False)
    page.click("#upload")
    page.wait_for_url("**/columns")
    page.fill("input[name=cutoff]", "2023-03-31")
    shot("2-columns", full=False)
    page.click("#save-columns")
    page.wait_for_url("**/endpoints")

    def endpoint(name: str, label: str, event: str) -> None:
        page.fill("#ep-name", name)
        page.fill("#ep-label", label)
        page.select_option("#ep-start", "liver_surgery_date")
        page.check(f"#ev-{event}")
        page.check("#ce-last_followup_date")
        page.click("#add-endpoint-button")
        page.wait_for_selector(f"#ep-{name}")

    endpoint("PFS", "Progression-free survival", "progression_date")
    endpoint("OS", "Overall survival", "death_date")
    page.fill(
        "#crit-expression",
        'liver_surgery_date >= date("2011-01-01") and liver_surgery_date <= date("2020-11-30")',
    )
    page.fill("#crit-reason", "Liver surgery outside January 2011 - November 2020")
    page.click("#add-criterion-button")
    page.select_option("#crit-kind", "exclude")
    page.fill("#crit-expression", 'extrahepatic_at_surgery == "Yes"')
    page.fill("#crit-reason", "Extrahepatic disease at operation")
    page.click("#add-criterion-button")
    for name in ("PFS", "OS"):
        row = page.locator(f"#ep-{name} td.count")
        assert row.all_inner_texts() == ["12", "3", "9"]
    shot("3-endpoints")
    page.click("#to-analyses")
    page.wait_for_url("**/analyses")
    page.fill("#landmarks", "24, 36")
    page.select_option("#methods", "spss")
    page.select_option("#km-by", "grade")
    page.check("input[name=factors][value=grade]")
    page.check("input[name=factors][value=ki67_percent]")
    shot("4-analyses", full=False)
    page.click("#run")
    page.wait_for_url("**/results/**", timeout=120_000)
    shot("5-results", full=False)
    if shot.dir is not None:
        page.locator("#figures figure").first.screenshot(path=str(shot.dir / "6-km-figure.png"))

    for name in ("PFS", "OS"):
        for cell in page.locator(f"#surv-{name} td.rate").all():
            t = cell.get_attribute("data-time")
            pct = float(cell.inner_text().split(" %", 1)[0])
            assert abs(pct - PUBLISHED[(name, t)]) <= 0.5 + 1e-9, (name, t, pct)
    assert "BCLM-0" not in page.content()

    with page.expect_download() as spec_dl:
        page.click("#download-spec")
    spec_dl.value.save_as(tmp_path / "study.yaml")
    with page.expect_download() as res_dl:
        page.click("a[href$='/download/results.json']")
    res_dl.value.save_as(tmp_path / "app-results.json")
    context.close()

    shutil.copy(BCLM_RAW, tmp_path / "bclm_raw.csv")
    out = subprocess.run(
        [sys.executable, "-m", "survstudy", "run", str(tmp_path / "study.yaml"), "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    rerun = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    app = json.loads((tmp_path / "app-results.json").read_text(encoding="utf-8"))
    assert rerun == app

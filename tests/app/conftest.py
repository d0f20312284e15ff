"""Fixtures for the web app's route tests: a TestClient logged in through the token,
and a small driver that walks the upload -> columns -> endpoints -> analyses flow."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette", reason="the app extra (starlette) is not installed")
pytest.importorskip("multipart", reason="the app extra (python-multipart) is not installed")

from starlette.testclient import TestClient

from survstudy.app import AppConfig, create_app

ROOT = Path(__file__).resolve().parents[2]
BCLM_RAW = ROOT / "examples" / "bclm" / "bclm_raw.csv"
PORT = 5555
TOKEN = "test-token-not-secret"


class Flow:
    """A logged-in client plus helpers that fill the app's forms as a user would."""

    def __init__(self, client: TestClient, folder: Path) -> None:
        self.client = client
        self.folder = folder
        self.csrf = ""

    def login(self) -> Any:
        r = self.client.get(f"/?token={TOKEN}")
        assert r.status_code == 200
        self.csrf = csrf_of(r.text)
        return r

    def upload(self, name: str, data: bytes, mime: str = "text/csv") -> Any:
        return self.client.post(
            "/upload", data={"csrf": self.csrf}, files={"file": (name, data, mime)}
        )

    def column_form(self, page: str) -> dict[str, Any]:
        """The columns form as the page shows it (selected types, labels, levels)."""
        form: dict[str, Any] = {"csrf": self.csrf}
        for m in re.finditer(r'<select name="(type_\d+)"[^>]*>(.*?)</select>', page, re.S):
            sel = re.search(r'value="(\w+)" selected', m.group(2))
            assert sel is not None
            form[m.group(1)] = sel.group(1)
        for m in re.finditer(
            r'<input type="text" name="((?:label|levels)_\d+)" value="([^"]*)"', page
        ):
            form[m.group(1)] = html.unescape(m.group(2))
        return form

    def column_index(self, page: str, column: str) -> int:
        m = re.search(rf'<select name="type_(\d+)" id="type_{re.escape(column)}"', page)
        assert m is not None, column
        return int(m.group(1))

    def save_columns(self, changes: dict[str, str] | None = None, **extra: str) -> Any:
        page = self.client.get("/columns").text
        form = self.column_form(page)
        for key, value in (changes or {}).items():
            column, field = key.rsplit(":", 1)
            form[f"{field}_{self.column_index(page, column)}"] = value
        form.update({"next": "1", **extra})
        return self.client.post("/columns", data=form)

    def endpoint_from_dates(
        self, name: str, label: str, start: str, events: list[str], censor: list[str]
    ) -> Any:
        return self.client.post(
            "/endpoints",
            data={
                "csrf": self.csrf,
                "action": "add_endpoint",
                "name": name,
                "label": label,
                "form": "dates",
                "start": start,
                "events": events,
                "censor": censor,
            },
        )

    def criterion(self, kind: str, expression: str, reason: str) -> Any:
        return self.client.post(
            "/endpoints",
            data={
                "csrf": self.csrf,
                "action": "add_criterion",
                "kind": kind,
                "expression": expression,
                "reason": reason,
            },
        )

    def run(self, **fields: Any) -> Any:
        data = {"csrf": self.csrf, "continuous": "median-range", "methods": "standard"}
        data.update(fields)
        return self.client.post("/analyses", data=data)


def csrf_of(page: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', page)
    assert m is not None
    return m.group(1)


def texts(page: str, cls: str) -> list[str]:
    """The unescaped texts of elements whose class starts with ``cls``."""
    return [html.unescape(t) for t in re.findall(rf'class="{cls}[^"]*"[^>]*>([^<]*)', page)]


@pytest.fixture
def make_flow(tmp_path: Path) -> Iterator[Callable[..., Flow]]:
    clients: list[TestClient] = []

    def make(port: int = PORT, host: str = "127.0.0.1", **config: Any) -> Flow:
        folder = tmp_path / f"server-{len(clients)}"
        folder.mkdir()
        app = create_app(AppConfig(port=port, token=TOKEN, **config), folder)
        client = TestClient(app, base_url=f"http://{host}:{port}", follow_redirects=True)
        client.__enter__()
        clients.append(client)
        return Flow(client, folder)

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def flow(make_flow: Callable[..., Flow]) -> Flow:
    f = make_flow()
    f.login()
    return f


def bclm_to_endpoints(f: Flow) -> None:
    """Upload the bclm raw file, keep the guessed types, define PFS and OS and the
    seed study's population (liver surgery 2011-01 to 2020-11, no extrahepatic disease)."""
    r = f.upload("bclm_raw.csv", BCLM_RAW.read_bytes())
    assert r.status_code == 200
    r = f.save_columns(cutoff="2023-03-31")
    assert r.url.path == "/endpoints"
    f.endpoint_from_dates(
        "PFS",
        "Progression-free survival",
        "liver_surgery_date",
        ["progression_date"],
        ["last_followup_date"],
    )
    f.endpoint_from_dates(
        "OS", "Overall survival", "liver_surgery_date", ["death_date"], ["last_followup_date"]
    )
    f.criterion(
        "include",
        'liver_surgery_date >= date("2011-01-01") and liver_surgery_date <= date("2020-11-30")',
        "Liver surgery outside January 2011 - November 2020",
    )
    f.criterion("exclude", 'extrahepatic_at_surgery == "Yes"', "Extrahepatic disease")

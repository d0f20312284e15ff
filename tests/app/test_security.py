"""Security rules of `survstudy app` (kind of truth: property — each test states the rule
of issue 8 and checks the server's answer against it)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from survstudy.app.security import safe_display_name, sniff_ok

from .conftest import BCLM_RAW, PORT, TOKEN, Flow, csrf_of, texts

PAGES = ["/", "/columns", "/endpoints", "/analyses", "/results/x", "/runs/x/figure/0.png"]


@pytest.mark.parametrize("path", PAGES)
def test_no_token_no_session_is_403(make_flow: Callable[..., Flow], path: str) -> None:
    """Rule: without the token (and so without a session) every page answers 403."""
    f = make_flow()
    assert f.client.get(path).status_code == 403


def test_post_without_session_is_403(make_flow: Callable[..., Flow]) -> None:
    f = make_flow()
    r = f.client.post("/upload", files={"file": ("a.csv", b"a,b\n1,2\n", "text/csv")})
    assert r.status_code == 403


def test_wrong_token_is_403(make_flow: Callable[..., Flow]) -> None:
    f = make_flow()
    assert f.client.get("/?token=wrong").status_code == 403
    assert f.client.get(f"/?token={TOKEN}x").status_code == 403
    assert f.client.get("/").status_code == 403


def test_token_gives_an_httponly_samesite_strict_session_cookie(
    make_flow: Callable[..., Flow],
) -> None:
    """Rule: the token is exchanged for a separate session id in an HttpOnly, SameSite=Strict
    cookie, and the browser is sent to the URL without the token."""
    f = make_flow()
    r = f.client.get(f"/?token={TOKEN}", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    assert TOKEN not in cookie
    assert f.client.get("/").status_code == 200


def test_token_in_the_cookie_is_403(make_flow: Callable[..., Flow]) -> None:
    """Rule: the cookie must hold a session id the server issued; the token itself is refused."""
    f = make_flow()
    f.client.cookies.set("survstudy_session", TOKEN)
    assert f.client.get("/").status_code == 403


def test_another_servers_session_cookie_is_403(make_flow: Callable[..., Flow]) -> None:
    """Rule: a session id from another server (another session) gives no access here."""
    a = make_flow()
    a.login()
    sid = a.client.cookies.get("survstudy_session")
    assert sid
    b = make_flow()
    b.client.cookies.set("survstudy_session", sid)
    assert b.client.get("/").status_code == 403
    b.client.cookies.set("survstudy_session", sid + "x")
    assert b.client.get("/columns").status_code == 403


@pytest.mark.parametrize(
    ("host", "port"),
    [("evil.example", PORT), ("127.0.0.1", PORT + 1), ("localhost.evil.example", PORT)],
)
def test_foreign_host_header_is_refused(
    make_flow: Callable[..., Flow], host: str, port: int
) -> None:
    """Rule (DNS rebinding): only 127.0.0.1/localhost/[::1] with the server's port are served."""
    f = make_flow(port=PORT, host=host) if port == PORT else make_flow(port=PORT)
    if port != PORT:
        r = f.client.get(f"/?token={TOKEN}", headers={"host": f"{host}:{port}"})
    else:
        r = f.client.get(f"/?token={TOKEN}")
    assert r.status_code == 400
    assert "loopback" in r.text


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_names_are_served(make_flow: Callable[..., Flow], host: str) -> None:
    f = make_flow(host=host)
    assert f.client.get(f"/?token={TOKEN}").status_code == 200


def test_security_headers(flow: Flow) -> None:
    r = flow.client.get("/")
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src" not in csp  # no scripts at all: default-src 'none' applies
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers["cache-control"] == "no-store"


def test_post_without_or_with_wrong_csrf_is_403(make_flow: Callable[..., Flow]) -> None:
    """Rule: every POST form carries the session's CSRF token; missing, wrong or another
    session's token -> 403."""
    a = make_flow()
    a.login()
    b = make_flow()
    b.login()
    data = BCLM_RAW.read_bytes()
    for csrf in (None, "wrong", b.csrf):
        form = {} if csrf is None else {"csrf": csrf}
        r = a.client.post("/upload", data=form, files={"file": ("x.csv", data, "text/csv")})
        assert r.status_code == 403, csrf
        r = a.client.post("/endpoints", data={**form, "action": "next"})
        assert r.status_code == 403, csrf
    assert a.upload("x.csv", data).status_code == 200


def test_cross_origin_post_is_403(flow: Flow) -> None:
    r = flow.client.post(
        "/upload",
        data={"csrf": flow.csrf},
        files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")},
        headers={"origin": "http://evil.example"},
    )
    assert r.status_code == 403


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("../../etc/passwd.csv", "passwd.csv"),
        ("..\\..\\windows\\system32\\x.csv", "x.csv"),
        ("/abs/path/.hidden.csv", "hidden.csv"),
        ("bad name;rm -rf $(x).csv", "bad_name_rm_-rf_x.csv"),
        ("ünïcödé.CSV", "unicode.csv"),
    ],
)
def test_path_traversal_file_names_are_stored_under_a_server_name(
    flow: Flow, tmp_path: Path, name: str, shown: str
) -> None:
    """Rule: the stored file name is chosen by the server; the user's name is only shown,
    sanitised (hand-derived expected names)."""
    r = flow.upload(name, BCLM_RAW.read_bytes())
    assert r.status_code == 200
    stored = sorted(p.name for p in flow.folder.rglob("*") if p.is_file())
    assert stored == ["upload-1.csv"]
    assert not (tmp_path.parent / "etc").exists()
    assert safe_display_name(name) == shown
    assert shown in r.text


def test_oversized_upload_is_413_before_reading(make_flow: Callable[..., Flow]) -> None:
    """Rule: a body larger than the limit is refused (413) from its Content-Length."""
    f = make_flow(max_upload_bytes=1000)
    f.login()
    r = f.upload("big.csv", b"a,b\n" + b"1,2\n" * 100_000)
    assert r.status_code == 413
    assert "too large" in r.text
    assert "limit" in r.text
    assert not list(f.folder.rglob("upload-*"))


def test_upload_just_over_the_limit_is_413_with_a_clear_message(
    make_flow: Callable[..., Flow],
) -> None:
    f = make_flow(max_upload_bytes=1000)
    f.login()
    r = f.upload("big.csv", b"a,b\n" + b"1,2\n" * 300)  # 1204 bytes: within the framing slack
    assert r.status_code == 413
    assert any("larger than the upload limit" in t for t in texts(r.text, "err"))
    assert not list(f.folder.rglob("upload-*"))


def test_row_limit(make_flow: Callable[..., Flow]) -> None:
    """The bclm file has 15 data rows; a limit of 10 refuses it."""
    f = make_flow(max_rows=10)
    f.login()
    r = f.upload("bclm_raw.csv", BCLM_RAW.read_bytes())
    assert r.status_code == 413
    assert any("15 rows" in t and "at most 10" in t for t in texts(r.text, "err"))


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("data.xlsx", b"a,b\n1,2\n"),  # CSV text named .xlsx
        ("data.csv", b"PK\x03\x04\x14\x00rest-of-a-zip"),  # a zip named .csv
        ("data.csv", b"a,b\n1,\x002\n"),  # binary bytes
        ("data.parquet", b"PAR1 not really"),  # no trailing magic
        ("data.sav", b"a,b\n1,2\n"),
        ("data.exe", b"MZ\x90\x00"),
        ("data", b"a,b\n1,2\n"),
    ],
)
def test_type_checked_by_extension_and_content(flow: Flow, name: str, data: bytes) -> None:
    r = flow.upload(name, data)
    assert r.status_code == 400
    assert any("[FILE-FORMAT]" in t for t in texts(r.text, "err"))
    assert not list(flow.folder.rglob("upload-*"))


def test_sniffing_accepts_the_real_formats(tmp_path: Path) -> None:
    """Magic numbers: zip 'PK\\x03\\x04', Parquet 'PAR1' at both ends, SPSS '$FL2'."""
    xlsx = (BCLM_RAW.parent / "bclm_raw.xlsx").read_bytes()
    assert sniff_ok("xlsx", xlsx[:64], xlsx[-8:])
    import pandas as pd

    p = tmp_path / "x.parquet"
    pd.DataFrame({"a": [1, 2]}).to_parquet(p)
    data = p.read_bytes()
    assert sniff_ok("parquet", data[:64], data[-8:])
    assert sniff_ok("sav", b"$FL2@(#) SPSS", b"")
    assert sniff_ok("csv", BCLM_RAW.read_bytes()[:100], b"")


def test_xlsx_upload_works(flow: Flow) -> None:
    r = flow.upload("bclm_raw.xlsx", (BCLM_RAW.parent / "bclm_raw.xlsx").read_bytes())
    assert r.status_code == 200
    assert r.url.path == "/columns"


def test_download_and_figure_names_are_ids_not_paths(flow: Flow) -> None:
    for path in (
        "/runs/nope/download/report.html",
        "/runs/nope/download/..%2F..%2Fetc%2Fpasswd",
        "/runs/nope/figure/0.png",
        "/runs/../../etc/passwd",
    ):
        assert flow.client.get(path).status_code == 404


def test_csrf_token_is_per_session(make_flow: Callable[..., Flow]) -> None:
    a = make_flow()
    b = make_flow()
    assert csrf_of(a.login().text) != csrf_of(b.login().text)
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", a.csrf)

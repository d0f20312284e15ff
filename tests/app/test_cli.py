"""`survstudy app` as a process: loopback only, token in the printed URL, refusals, and the
data folder deleted when it stops (kind of truth: property — the rules of issue 8)."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("uvicorn", reason="the app extra (uvicorn) is not installed")


def _start() -> tuple[subprocess.Popen[str], str, Path]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "survstudy", "app", "--no-browser", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = folder = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (url is None or folder is None):
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("open "):
            url = line.split(" ", 1)[1].strip()
        elif line.startswith("data folder: "):
            folder = Path(line[len("data folder: ") :].split(" (", 1)[0])
    if url is None or folder is None:
        proc.kill()
        _out, err = proc.communicate()
        pytest.fail(f"no URL printed: {err}")
    return proc, url, folder


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _status(url: str, headers: dict[str, str] | None = None) -> int:
    req = urllib.request.Request(url, headers=headers or {})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(req, timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        e.close()
        return int(e.code)


def test_app_process_binds_loopback_with_token_and_cleans_up() -> None:
    proc, url, folder = _start()
    try:
        m = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]{40,})", url)
        assert m is not None, url
        port = int(m.group(1))
        assert folder.is_dir()
        base = f"http://127.0.0.1:{port}/"
        assert _status(base) == 403  # no token
        assert _status(base + "?token=wrong") == 403
        assert _status(url) == 303  # the token is exchanged for a cookie, then to /
        assert _status(url, {"Host": f"evil.example:{port}"}) == 400
        # not reachable on another interface address than loopback
        addrs = {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
        for addr in addrs - {"127.0.0.1", "127.0.1.1"}:
            with socket.socket() as s:
                s.settimeout(2)
                assert s.connect_ex((addr, port)) != 0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert not folder.exists()


def test_busy_port_is_one_error_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        out = subprocess.run(
            [sys.executable, "-m", "survstudy", "app", "--no-browser", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert out.returncode == 2
    assert out.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert out.stderr.count("\n") == 1


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_every_catchable_stop_deletes_the_data(sig: str) -> None:
    """Issue 15 item 5: Ctrl+C, kill (SIGTERM) and a closed terminal (SIGHUP) all delete
    the data folder, uploads included (a file written into it stands for an upload)."""
    if not hasattr(signal, sig):
        pytest.skip(f"{sig} does not exist on this platform")
    proc, url, folder = _start()
    try:
        (folder / "upload-1.csv").write_text("id,name\n1,Jane Doe\n", encoding="utf-8")
        assert folder.is_dir()
        assert _status(url) == 303  # serving: the signal reaches a running server
    finally:
        proc.send_signal(getattr(signal, sig))
        _out, err = proc.communicate(timeout=30)
    assert not folder.exists(), err
    assert "the uploaded data were deleted" in err


def test_folder_of_a_killed_app_is_removed_at_the_next_start() -> None:
    """SIGKILL cannot be caught: the folder stays, and the next app start removes it
    (its owner process is gone); a folder of a running app is left alone."""
    first, _url, kept = _start()
    proc, _url, folder = _start()
    try:
        (folder / "upload-1.csv").write_text("id\n1\n", encoding="utf-8")
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    assert folder.exists()
    nxt, _url, new_folder = _start()
    try:
        assert not folder.exists()
        assert kept.exists()  # the first app still runs: its folder stays
        assert new_folder.exists()
    finally:
        for p in (nxt, first):
            p.send_signal(signal.SIGINT)
            p.communicate(timeout=30)
    assert not kept.exists()
    assert not new_folder.exists()

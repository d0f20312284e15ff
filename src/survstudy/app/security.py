"""The app's defences, kept apart from the pages so each can be read and tested alone.

- **Access token.** The server prints a URL carrying a random token
  (``secrets.token_urlsafe``); the first visit exchanges it, compared in
  constant time, for a session cookie (HttpOnly, SameSite=Strict) that holds a
  *separate* random session id. Without a known session id every request
  answers 403, so the token itself in a cookie, or another server's session
  id, is refused.
- **Host header.** Only ``127.0.0.1:PORT``, ``localhost:PORT`` and ``[::1]:PORT``
  are served (DNS-rebinding defence: a page on evil.example that resolves to
  127.0.0.1 still sends ``Host: evil.example``); others get 400.
- **CSRF.** Every POST form carries the session's CSRF token, compared in
  constant time; a POST whose ``Origin`` is present and not ours is refused too.
- **Uploads.** Request bodies need a Content-Length no larger than the limit
  (413 otherwise); the file type is checked by extension *and* by its first
  bytes; the file is stored under a server-chosen name in the server's own
  temporary folder; the user's file name is only shown, sanitised.
"""

from __future__ import annotations

import hmac
import re
import secrets
import unicodedata
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

__all__ = [
    "UPLOAD_FORMATS",
    "AppConfig",
    "allowed_hosts",
    "constant_time_equal",
    "new_token",
    "safe_display_name",
    "sniff_ok",
]

#: Extensions accepted for upload -> reader format (a subset of the readers' list).
UPLOAD_FORMATS: dict[str, str] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".sav": "sav",
    ".zsav": "sav",
    ".dta": "dta",
    ".parquet": "parquet",
}

#: Body limit of requests other than the upload (forms are small).
FORM_BYTES = 1 << 20
#: Room for the multipart framing around the uploaded file.
MULTIPART_OVERHEAD = 64 << 10


@dataclass(frozen=True)
class AppConfig:
    """Settings of one server: its port (for the Host check), access token and limits."""

    port: int
    token: str
    max_upload_bytes: int = 50 * 1024 * 1024
    max_rows: int = 100_000
    cookie_name: str = "survstudy_session"


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def constant_time_equal(a: str | None, b: str | None) -> bool:
    """``a == b`` without leaking where they differ through timing; ``None`` never matches."""
    if a is None or b is None:
        return False
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def allowed_hosts(port: int) -> frozenset[str]:
    """The Host header values the server answers: the loopback names with the port."""
    hosts = {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}
    if port == 80:
        hosts |= {"127.0.0.1", "localhost", "[::1]"}
    return frozenset(hosts)


def safe_display_name(filename: str | None, default_ext: str = ".csv") -> str:
    """The base name of an uploaded file made harmless, for display and for the spec.

    Directory parts (``/`` or ``\\``) are dropped, the name is reduced to ASCII
    letters, digits, ``.``, ``_`` and ``-`` (anything else becomes ``_``), leading
    dots are stripped and the stem is at most 80 characters. It is never used as a
    path on the server's disk.
    """
    raw = filename or ""
    base = PureWindowsPath(PurePosixPath(raw.replace("\x00", "")).name).name
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip(".").strip("_")
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    ext = f".{ext.lower()}" if ext else ""
    if ext not in UPLOAD_FORMATS:
        ext = default_ext
    stem = stem.strip("._-")[:80] or "data"
    return f"{stem}{ext}"


_PARQUET = b"PAR1"
_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0"  # legacy .xls / .doc


def sniff_ok(kind: str, head: bytes, tail: bytes) -> bool:
    """Do the file's first (and last) bytes look like ``kind``?

    CSV: no NUL byte in the first 64 KB and not a zip, OLE or Parquet container.
    XLSX: a zip archive. SPSS: ``$FL2``/``$FL3``. Parquet: ``PAR1`` at both ends.
    Stata: ``<stata_dta>`` (formats 117+) or a release byte 104-115 then byte order 1/2.
    """
    if kind == "csv":
        return (
            b"\x00" not in head[:65536]
            and not head.startswith((_ZIP, _OLE, _PARQUET, b"$FL2", b"$FL3"))
            and len(head) > 0
        )
    if kind == "xlsx":
        return head.startswith(_ZIP)
    if kind == "sav":
        return head[:4] in (b"$FL2", b"$FL3")
    if kind == "parquet":
        return head[:4] == _PARQUET and tail[-4:] == _PARQUET
    if kind == "dta":
        if head.startswith(b"<stata_dta>"):
            return True
        return len(head) > 2 and 104 <= head[0] <= 115 and head[1] in (1, 2)
    return False


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
        b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),  # "no-referrer" makes POSTs send Origin: null
    (b"cache-control", b"no-store"),
)


async def plain_response(send: Send, status: int, text: str) -> None:
    """A short text/plain answer (used before the app proper is reached)."""
    body = text.encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class GuardMiddleware:
    """Host allow-list, request-body limits and security headers, in front of everything.

    ``upload_path`` may carry ``max_upload_bytes`` plus the multipart framing;
    any other request body at most :data:`FORM_BYTES`. A POST without a
    Content-Length is refused (411), a larger one answers 413 before a byte of
    the body is read, and a body longer than its declared length is cut off.
    """

    def __init__(self, app: ASGIApp, config: AppConfig, upload_path: str = "/upload") -> None:
        self.app = app
        self.config = config
        self.hosts = allowed_hosts(config.port)
        self.upload_path = upload_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        if host.lower() not in self.hosts:
            await plain_response(
                send,
                400,
                "survstudy app answers only on its loopback address (127.0.0.1 or localhost "
                "with its port); this request named another host.",
            )
            return
        limit = FORM_BYTES
        if scope["path"] == self.upload_path:
            limit = self.config.max_upload_bytes + MULTIPART_OVERHEAD
        if scope["method"] not in ("GET", "HEAD"):
            length = headers.get("content-length")
            if length is None or not length.isdigit():
                await plain_response(send, 411, "a Content-Length header is required")
                return
            if int(length) > limit:
                mb = self.config.max_upload_bytes / (1024 * 1024)
                await plain_response(
                    send,
                    413,
                    f"The upload is too large: the limit is {mb:g} MB per file "
                    "(start the app with --max-upload-mb to change it).",
                )
                return
            receive = _capped(receive, int(length))

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _capped(receive: Receive, declared: int) -> Receive:
    """``receive`` that stops after ``declared`` body bytes (the rest is dropped)."""
    seen = 0

    async def inner() -> MutableMapping[str, Any]:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            body = message.get("body", b"")
            if seen + len(body) > declared:
                message = dict(message)
                message["body"] = body[: max(0, declared - seen)]
                message["more_body"] = False
            seen += len(message.get("body", b""))
        return message

    return inner

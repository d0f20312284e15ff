"""``assert_no_leak``: planted strings appear in no file of a report folder.

Reused by the pipeline's planted-identifier tests. Looks at every file's bytes,
inside zip containers (DOCX, XLSX: every entry), inside base64 ``data:`` URIs of
HTML (inline SVG/PNG) and inside Flate-compressed PDF streams, and matches each
planted string as UTF-8, as XML/HTML-escaped text and case-insensitively.
"""

from __future__ import annotations

import base64
import contextlib
import html
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = ["assert_no_leak", "texts_of"]

_DATA_URI = re.compile(rb"data:[a-z+/.-]+;base64,([A-Za-z0-9+/=]+)")
_PDF_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)


def _expand(name: str, data: bytes) -> Iterator[tuple[str, bytes]]:
    yield name, data
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(__import__("io").BytesIO(data)) as z:
                for entry in z.namelist():
                    yield from _expand(f"{name}!{entry}", z.read(entry))
        except zipfile.BadZipFile:
            pass
    for i, m in enumerate(_DATA_URI.finditer(data)):
        with contextlib.suppress(ValueError):
            yield from _expand(f"{name}#data{i}", base64.b64decode(m.group(1)))
    if data[:5] == b"%PDF-":
        for i, m in enumerate(_PDF_STREAM.finditer(data)):
            with contextlib.suppress(zlib.error):
                yield f"{name}#stream{i}", zlib.decompress(m.group(1))


def texts_of(root: str | Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every file under ``root`` and of everything inside it."""
    root = Path(root)
    for p in sorted(root.rglob("*")):
        if p.is_file():
            yield from _expand(str(p.relative_to(root)), p.read_bytes())


def _forms(s: str) -> set[bytes]:
    forms = {s, html.escape(s, quote=True), html.escape(s, quote=False)}
    forms |= {f.replace("'", "&apos;") for f in list(forms)}
    out: set[bytes] = set()
    for f in forms:
        out.add(f.lower().encode("utf-8"))
        out.add(f.lower().encode("utf-16-le"))
    return out


def assert_no_leak(out_dir: str | Path, strings: Iterable[str], extra: Iterable[str] = ()) -> None:
    """Fail with the file and string when any planted string occurs in any output.

    ``extra`` are texts that are not files (captured stdout/stderr, log lines,
    error messages) and are searched the same way.
    """
    planted = [s for s in strings if s]
    assert planted, "assert_no_leak needs at least one planted string"
    forms = {s: _forms(s) for s in planted}
    hits: list[str] = []
    items = list(texts_of(out_dir)) + [
        (f"<text {i}>", t.encode("utf-8")) for i, t in enumerate(extra)
    ]
    for name, data in items:
        low = data.lower()
        for s, fs in forms.items():
            if any(f in low for f in fs):
                hits.append(f"{s!r} in {name}")
    assert not hits, "planted strings leaked: " + "; ".join(hits[:20])

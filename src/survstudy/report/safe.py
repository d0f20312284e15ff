"""Safe and reproducible output: file names, paths, spreadsheet cells, JSON, zip files.

- :func:`slug`: an output name from a user label (ASCII, no separators, no
  leading dot, at most 64 characters).
- :func:`inside`: resolve a path and refuse anything outside the output folder.
- :func:`neutralise`: a text cell that a spreadsheet would run as a formula
  (starting with ``=``, ``+``, ``-``, ``@``, tab or CR) gets a leading
  apostrophe (OWASP "CSV injection" advice); numbers and printed negative
  numbers ("-0.5") stay as they are.
- :func:`canonical_json`: sorted keys, NaN/inf -> null, UTF-8, newline at end.
- :func:`normalise_zip`: rewrite an OOXML zip with fixed timestamps and fixed
  core-property dates, so DOCX/XLSX bytes do not depend on the clock.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import math
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from survstudy.errors import DataError

__all__ = [
    "FIXED_EPOCH",
    "canonical_json",
    "fixed_datetime",
    "inside",
    "jsonable",
    "neutralise",
    "normalise_zip",
    "refuse_inputs",
    "slug",
]

# 1980-01-01, the earliest date a zip entry can hold: used when SOURCE_DATE_EPOCH is unset.
FIXED_EPOCH = 315532800

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_NEGATIVE_NUMBER = re.compile(r"-(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def fixed_datetime() -> _dt.datetime:
    """``SOURCE_DATE_EPOCH`` (UTC) if set, else 1980-01-01 UTC."""
    from survstudy.report.bundle import source_date

    d = source_date()
    if d is None or d.year < 1980:
        return _dt.datetime.fromtimestamp(FIXED_EPOCH, tz=_dt.UTC)
    return d


def slug(label: str, *, max_len: int = 64, default: str = "item") -> str:
    """An ASCII file-name stem from ``label``: letters, digits, ``_`` and ``-`` only.

    Accents are folded ("Überleben" -> "Uberleben"); path separators, dots and
    everything else become ``_``; leading/trailing ``_``, ``-`` are dropped (so no
    leading dot or dash); at most ``max_len`` characters; never empty.
    """
    text = unicodedata.normalize("NFKD", str(label)).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^A-Za-z0-9_-]+", "_", text)
    text = re.sub(r"_+", "_", text).strip("_-")
    text = text[:max_len].strip("_-")
    return text or default


def inside(root: Path, *parts: str) -> Path:
    """``root/parts`` resolved; a :class:`DataError` if it would leave ``root``."""
    root_r = root.resolve()
    target = root_r.joinpath(*parts).resolve()
    if target != root_r and root_r not in target.parents:
        raise DataError(
            f"refusing to write '{'/'.join(parts)}': it is outside the output folder",
            rule="OUT-OUTSIDE",
        )
    return target


def refuse_inputs(targets: Iterable[Path], inputs: Iterable[str | Path]) -> None:
    """A :class:`DataError` if any target file is one of the inputs (same resolved path)."""
    ins = {Path(p).resolve() for p in inputs}
    for t in targets:
        tr = t.resolve()
        if tr in ins:
            raise DataError(
                f"refusing to overwrite the input file '{tr.name}'; choose another output folder",
                rule="OUT-IS-INPUT",
            )


def neutralise(value: Any) -> Any:
    """A spreadsheet-safe cell value.

    Numbers (int/float, not bool) are returned unchanged, NaN/inf as ``None``.
    A text that is a printed negative number ("-0.5", "-1e-3") is kept verbatim
    (a spreadsheet reads it as the number). Any other text starting with ``=``,
    ``+``, ``-``, ``@``, tab or CR gets a leading ``'`` ("+1" -> "'+1").
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    text = str(value)
    if text.startswith(_DANGEROUS) and not _NEGATIVE_NUMBER.fullmatch(text):
        return "'" + text
    return text


def jsonable(obj: Any) -> Any:
    """Plain JSON types: NaN/inf -> None, tuples -> lists, numpy scalars/arrays -> Python."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = [jsonable(v) for v in obj]
        if isinstance(obj, (set, frozenset)):
            items.sort(key=lambda x: json.dumps(x, sort_keys=True))
        return items
    if isinstance(obj, Path):
        return obj.as_posix()
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        return jsonable(tolist())
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        return jsonable(to_dict())
    item = getattr(obj, "item", None)
    if callable(item):
        return jsonable(item())
    return str(obj)


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, two-space indent, no NaN (null), UTF-8 without escapes, final newline."""
    text = json.dumps(jsonable(obj), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


_CORE_DATES = re.compile(
    rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)"
)


def normalise_zip(data: bytes, *, author: str = "survstudy") -> bytes:
    """Rewrite an OOXML package deterministically.

    Entries keep their order; every entry gets the same timestamp
    (``SOURCE_DATE_EPOCH`` or 1980-01-01), fixed permissions, deflate level 6;
    ``docProps/core.xml`` gets fixed created/modified dates and author.
    """
    when = fixed_datetime()
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode("ascii")
    date_time = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        names = zin.namelist()
        for name in names:
            payload = zin.read(name)
            if name == "docProps/core.xml":
                payload = _CORE_DATES.sub(lambda m: m.group(1) + stamp + m.group(3), payload)
                payload = re.sub(
                    rb"(<dc:creator>)[^<]*(</dc:creator>)",
                    lambda m: m.group(1) + author.encode() + m.group(2),
                    payload,
                )
                payload = re.sub(
                    rb"(<cp:lastModifiedBy>)[^<]*(</cp:lastModifiedBy>)",
                    lambda m: m.group(1) + author.encode() + m.group(2),
                    payload,
                )
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 0
            zout.writestr(info, payload, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    return out.getvalue()

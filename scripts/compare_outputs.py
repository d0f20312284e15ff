"""Compare two report folders of ``survstudy run``: byte for byte, except floats.

Usage::

    python scripts/compare_outputs.py BASELINE_DIR NEW_DIR [BASELINE_DIR NEW_DIR ...]

Every file of the baseline folder must exist in the new one (and no file may be new).
A file is accepted when its bytes are equal; otherwise, when it is text (JSON, HTML, CSV,
SVG) or a zip of text members (DOCX, XLSX), when the two texts are equal after every
number is taken out, and every pair of numbers differs by a relative amount below the
limit (``--rel``, default 1e-12). Binary files (PNG, PDF) must be byte-identical.

Prints one line per differing file and, at the end, the largest relative change of a
number and where it is. Exit status 0 when every file is accepted, 1 otherwise.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import zipfile
from pathlib import Path

NUMBER = re.compile(rb"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
TEXT_SUFFIXES = {".json", ".html", ".csv", ".svg", ".txt", ".xml", ".yaml", ".md"}
ZIP_SUFFIXES = {".docx", ".xlsx"}


class Largest:
    """The largest relative change seen, with where."""

    def __init__(self) -> None:
        self.rel = 0.0
        self.where = ""

    def see(self, a: bytes, b: bytes, where: str) -> float:
        x, y = float(a), float(b)
        scale = max(abs(x), abs(y))
        rel = 0.0 if x == y else abs(x - y) / scale
        if rel > self.rel:
            self.rel, self.where = rel, f"{where}: {a.decode()} -> {b.decode()}"
        return rel


def compare_text(a: bytes, b: bytes, where: str, largest: Largest, limit: float) -> str | None:
    """None when the texts agree up to numbers within ``limit``; else what differs."""
    if a == b:
        return None
    if NUMBER.sub(b"#", a) != NUMBER.sub(b"#", b):
        return "the text differs (not only numbers)"
    worst = 0.0
    for x, y in zip(NUMBER.findall(a), NUMBER.findall(b), strict=True):
        if x != y:
            worst = max(worst, largest.see(x, y, where))
    if worst >= limit:
        return f"a number changed by {worst:.3g} (relative)"
    return None


def compare_file(p: Path, q: Path, where: str, largest: Largest, limit: float) -> str | None:
    a, b = p.read_bytes(), q.read_bytes()
    if a == b:
        return None
    suffix = p.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return compare_text(a, b, where, largest, limit)
    if suffix in ZIP_SUFFIXES:
        za, zb = zipfile.ZipFile(io.BytesIO(a)), zipfile.ZipFile(io.BytesIO(b))
        if za.namelist() != zb.namelist():
            return "the archive members differ"
        for name in za.namelist():
            why = compare_text(za.read(name), zb.read(name), f"{where}:{name}", largest, limit)
            if why is not None:
                return f"{name}: {why}"
        return None
    return "binary file differs"


def compare_dirs(base: Path, new: Path, largest: Largest, limit: float) -> list[str]:
    problems = []
    old_files = {p.relative_to(base) for p in base.rglob("*") if p.is_file()}
    new_files = {p.relative_to(new) for p in new.rglob("*") if p.is_file()}
    for rel in sorted(old_files - new_files):
        problems.append(f"{new / rel}: missing")
    for rel in sorted(new_files - old_files):
        problems.append(f"{new / rel}: not in the baseline")
    for rel in sorted(old_files & new_files):
        why = compare_file(base / rel, new / rel, str(new / rel), largest, limit)
        if why is not None:
            problems.append(f"{new / rel}: {why}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path, help="pairs: BASELINE NEW")
    parser.add_argument("--rel", type=float, default=1e-12, help="largest relative change")
    args = parser.parse_args(argv)
    if len(args.dirs) % 2:
        parser.error("give folders in pairs: BASELINE NEW")
    largest = Largest()
    problems: list[str] = []
    pairs = list(zip(args.dirs[::2], args.dirs[1::2], strict=True))
    for base, new in pairs:
        problems += compare_dirs(base, new, largest, args.rel)
    for line in problems:
        print(line)
    print(
        f"{len(pairs)} folder pair(s); {len(problems)} problem(s); largest relative change "
        f"of a number: {largest.rel:.3g}" + (f" ({largest.where})" if largest.where else "")
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

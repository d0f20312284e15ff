"""MkDocs hooks of the documentation site (``mkdocs.yml``: ``hooks:``).

* ``on_files``: adds the generated pages of :mod:`docs_pages` (spec, CLI, glossary, data
  checks, R fixtures, README sections) as in-memory files; nothing generated is written
  into ``docs/``.
* ``on_page_markdown``: ``<!-- include: PATH [lines A-B] -->`` puts a repository file in a
  code block, ``<!-- run: survstudy ARGS -->`` the output of that command (run from the
  repository root), ``<!-- table: ID -->`` and ``<!-- figure: STEM -->`` a table and a figure
  of the seed study's report, so that the guide shows the real spec, output and report,
  never a stale copy (an unknown table or figure fails the build).
* ``on_page_content``: the docstrings use Sphinx roles (``:class:`~a.b.C```); the API
  reference shows them as plain code (``C``) instead of the raw role.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

_HERE = Path(__file__).resolve().parent


def _pages() -> Any:
    name = "survstudy_docs_pages"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _HERE / "docs_pages.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def on_files(files: Files, config: Any) -> Files:
    pages = _pages()
    for uri, make in pages.PAGES.items():
        files.append(File.generated(config, uri, content=make()))
    for stem, png in pages.seed_study()["figures"].items():
        files.append(File.generated(config, f"seed/{stem}.png", content=png))
    return files


_INCLUDE = re.compile(r"<!-- include: (\S+?)(?: lines (\d+)-(\d+))? -->")
_RUN = re.compile(r"<!-- run: survstudy (.+?) -->")
_TABLE = re.compile(r"<!-- table: (\S+) -->")
_FIGURE = re.compile(r"<!-- figure: (\S+) -->")
_ROOT = _HERE.parent


def _include(m: re.Match[str]) -> str:
    path = _ROOT / m.group(1)
    lines = path.read_text(encoding="utf-8").splitlines()
    if m.group(2):
        lines = lines[int(m.group(2)) - 1 : int(m.group(3))]
    lang = {".yaml": "yaml", ".yml": "yaml", ".py": "python", ".csv": "text"}.get(path.suffix, "")
    return f"```{lang}\n" + "\n".join(lines) + "\n```"


def _run(m: re.Match[str]) -> str:
    import shlex
    import subprocess

    args = shlex.split(m.group(1))
    done = subprocess.run(
        [sys.executable, "-m", "survstudy", *args],
        cwd=_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if done.returncode not in (0, 2) or done.stderr.startswith("error: internal"):
        raise RuntimeError(f"survstudy {m.group(1)} failed: {done.stderr}")
    text = (done.stdout + done.stderr).rstrip()
    return f"```console\n$ survstudy {m.group(1)}\n{text}\n```"


def _table(m: re.Match[str]) -> str:
    pages = _pages()
    return str(pages.table_markdown(pages.seed_study()["tables"][m.group(1)]))


def _figure(m: re.Match[str]) -> str:
    stem = m.group(1)
    if stem not in _pages().seed_study()["figures"]:
        raise KeyError(f"the seed study has no figure {stem!r}")
    return f"![{stem}](seed/{stem}.png)"


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    for pattern, fn in ((_INCLUDE, _include), (_RUN, _run), (_TABLE, _table), (_FIGURE, _figure)):
        markdown = pattern.sub(fn, markdown)
    return markdown


# :class:`~survstudy.stats.km.KaplanMeierResult` renders as ":class:" + <code>…</code>
_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):<code>(~?)([^<]+)</code>")


def _short(m: re.Match[str]) -> str:
    target = m.group(2)
    text = target.rsplit(".", 1)[-1] if m.group(1) else target
    return f"<code>{text}</code>"


def on_page_content(html: str, **kwargs: Any) -> str:
    return _ROLE.sub(_short, html)

"""Pages of the documentation site that are generated, never written by hand.

Each function returns the Markdown of one page from the source of truth it documents:

* ``reference/spec.md``      — ``docs/study-schema.json`` (the JSON Schema of study.yaml);
* ``reference/cli.md``       — the commands' own ``--help`` (typer/click objects);
* ``reference/glossary.md``  — :data:`survstudy.api.glossary.GLOSSARY`;
* ``reference/checks.md``    — :data:`survstudy.data.quality.CATALOGUE` (the data checks);
* ``reference/fixtures.md``  — ``tests/reference/*.json`` (every R call, with its versions,
  and the tests that read it);
* ``registry.md``, ``app.md`` — sections of ``README.md``;
* the seed study's tables and figures for the clinician's guide (:func:`seed_study`: the
  study in ``examples/bclm`` run through the Python API at build time).

``scripts/mkdocs_hooks.py`` adds them to the site at build time (nothing generated is
committed); ``tests/docs/test_docs_pages.py`` checks that they say everything their
source holds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

__all__ = [
    "PAGES",
    "checks_page",
    "cli_page",
    "fixtures_page",
    "glossary_page",
    "readme_section",
    "seed_study",
    "spec_page",
    "table_markdown",
]


def _cell(text: str) -> str:
    """Text for a Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


# --------------------------------------------------------------------------- study spec


def _def_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _walk_refs(node: Any) -> Iterable[tuple[str, Any]]:
    """(how, $def name) for every reference below ``node``; ``how`` says the container."""
    if isinstance(node, dict):
        if "$ref" in node:
            yield "", _def_name(node["$ref"])
        for key, how in (("items", "[]"), ("additionalProperties", ".NAME")):
            sub = node.get(key)
            if isinstance(sub, dict):
                for h, name in _walk_refs(sub):
                    yield how + h, name
        for sub in (node.get("patternProperties") or {}).values():
            for h, name in _walk_refs(sub):
                yield ".NAME" + h, name
        for sub in node.get("anyOf", []):
            yield from _walk_refs(sub)


def spec_paths(schema: dict[str, Any]) -> dict[str, str]:
    """Where each model of the schema sits in a spec: ``$def name -> key path`` (the first
    path found, breadth first from the top), e.g. ``EndpointSpec -> endpoints.NAME``."""
    out: dict[str, str] = {}
    queue: list[tuple[str, dict[str, Any]]] = [("", schema)]
    while queue:
        path, model = queue.pop(0)
        for key, prop in model.get("properties", {}).items():
            for how, name in _walk_refs(prop):
                if name not in out:
                    out[name] = f"{path}.{key}{how}".lstrip(".")
                    queue.append((out[name], schema["$defs"][name]))
    return out


def _anchor(path: str) -> str:
    return "spec-" + re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")


def _type(node: Any, paths: dict[str, str]) -> str:
    """A schema node as a short type text (links to the sections of nested models)."""
    if not isinstance(node, dict) or not node:
        return "any"
    if "$ref" in node:
        path = paths[_def_name(node["$ref"])]
        return f"[{path}](#{_anchor(path)})"
    if "anyOf" in node:
        parts = [_type(n, paths) for n in node["anyOf"] if n.get("type") != "null"]
        nullable = any(n.get("type") == "null" for n in node["anyOf"])
        return " or ".join(parts) + (" or null" if nullable else "")
    if "enum" in node:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    kind = node.get("type")
    if kind == "array":
        text = f"list of {_type(node.get('items', {}), paths)}"
        if "minItems" in node and node.get("minItems") == node.get("maxItems"):
            text = f"{node['minItems']} × {_type(node.get('items', {}), paths)}"
        return text
    if kind == "object":
        pattern = node.get("patternProperties")
        if pattern:
            return f"mapping name → {_type(next(iter(pattern.values())), paths)}"
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            return f"mapping → {_type(extra, paths)}"
        return "mapping"
    text = {
        "string": "text",
        "integer": "integer",
        "number": "number",
        "boolean": "true/false",
    }.get(str(kind), str(kind))
    if node.get("format") == "date":
        text = "date (YYYY-MM-DD)"
    bounds = []
    for key, sign in (
        ("minimum", "≥"),
        ("exclusiveMinimum", ">"),
        ("maximum", "≤"),
        ("exclusiveMaximum", "<"),
    ):
        if key in node:
            bounds.append(f"{sign} {node[key]}")
    return text + (f" ({', '.join(bounds)})" if bounds else "")


def _default(prop: dict[str, Any]) -> str:
    if "default" not in prop:
        return ""
    value = prop["default"]
    return "" if value is None else f"`{json.dumps(value, ensure_ascii=False)}`"


def _description(prop: dict[str, Any]) -> str:
    text = prop.get("description")
    if text is None:
        for sub in prop.get("anyOf", []):
            text = text or sub.get("description")
    if text is None and isinstance(prop.get("items"), dict):
        text = prop["items"].get("description")
    return _cell(text or "")


def _section(title: str, model: dict[str, Any], paths: dict[str, str], intro: str) -> list[str]:
    required = set(model.get("required", []))
    lines = [f"## `{title}` {{#{_anchor(title)}}}", ""]
    if intro:
        lines += [_cell(intro), ""]
    lines += ["| key | type | default | meaning |", "|---|---|---|---|"]
    for key, prop in model.get("properties", {}).items():
        name = f"`{key}`" + (" (required)" if key in required else "")
        lines.append(f"| {name} | {_type(prop, paths)} | {_default(prop)} | {_description(prop)} |")
    lines.append("")
    return lines


def spec_page(schema: dict[str, Any]) -> str:
    """The study-spec reference: one table per model of ``schema``, top level first, each
    model under the key path where it sits in a spec."""
    paths = spec_paths(schema)
    lines = [
        "# Study spec reference",
        "",
        "Every key of `study.yaml`, generated from its JSON Schema "
        "(`docs/study-schema.json`, printed by `survstudy schema`). Editors that read JSON "
        "Schema complete and check a spec that starts with "
        "`# yaml-language-server: $schema=…/study-schema.json`. `NAME` stands for a name you "
        "choose (letters, digits, `_`); `[]` for an item of a list. The "
        "[clinician's guide](../guide.md) shows the keys at work on a real study.",
        "",
    ]
    lines += _section("(top level)", schema, paths, schema.get("description", "").split("\n\n")[0])
    for name, path in paths.items():
        model = schema["$defs"][name]
        intro = model.get("description", "")
        lines += _section(path, model, paths, intro)
    return "\n".join(lines)


# --------------------------------------------------------------------------- CLI


def _help(*args: str) -> str:
    """``survstudy ARGS --help`` as a user sees it (80 columns)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "80", "TERM": "dumb", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "survstudy", *args, "--help"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=ROOT,
    )
    return done.stdout.rstrip()


def cli_commands(main_help: str) -> list[str]:
    """The command names listed under ``Commands:`` in ``survstudy --help``."""
    block = main_help.split("Commands:", 1)[1]
    return [m.group(1) for m in re.finditer(r"^  (\S+)", block, flags=re.M)]


def cli_page() -> str:
    """The command-line reference: ``survstudy --help`` and every ``survstudy COMMAND --help``,
    exactly as the commands print them."""
    main = _help()
    lines = [
        "# Command-line reference",
        "",
        "Generated from the commands themselves: each block below is what "
        "`survstudy COMMAND --help` prints. Every command prints a problem you can fix as "
        "one line, `error: [CODE] …`, and exits with status 2; `--debug` (before the command) "
        "shows the traceback of a bug.",
        "",
        "```text",
        main,
        "```",
        "",
    ]
    for name in cli_commands(main):
        lines += [f"## `survstudy {name}`", "", "```text", _help(name), "```", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- tables from code


def glossary_page() -> str:
    """The column glossary of the Python API's DataFrames."""
    from survstudy.api.glossary import GLOSSARY

    lines = [
        "# Column glossary",
        "",
        "Every DataFrame of the Python API (`to_frame()`, `glance()`, `survival_at()`, the "
        "study frames) names its columns from this one list "
        "(`survstudy.api.glossary.GLOSSARY`; a test checks it), so a name means the same "
        "everywhere — broom's `tidy()`/`glance()` columns with `_` for `.`. Numbers are "
        "unrounded; `NaN` stands where the JSON has `null`.",
        "",
        "| column | meaning |",
        "|---|---|",
    ]
    lines += [f"| `{k}` | {_cell(v)} |" for k, v in sorted(GLOSSARY.items())]
    return "\n".join(lines) + "\n"


def checks_page() -> str:
    """The data checks, from the catalogue the validation layer uses."""
    from survstudy.data.quality import CATALOGUE

    lines = [
        "# Data checks",
        "",
        "Every finding of `survstudy validate` (and `Study.validate()`) has one of these "
        "stable codes, generated from `survstudy.data.quality.CATALOGUE`. An error stops "
        "`survstudy run`; a warning is listed in the report next to what it concerns. "
        "Each message names the file, the row as the spreadsheet shows it (header = row 1; "
        "the case number for SPSS, Stata and Parquet files and for a DataFrame), the column "
        "and how to fix it — never the value of an identifier or date column.",
        "",
        "| code | severity | finding |",
        "|---|---|---|",
    ]
    for code, (severity, what) in CATALOGUE.items():
        lines.append(f"| `{code}` | {severity} | {_cell(what)} |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- R fixtures


def _users(name: str) -> list[str]:
    """Test files that read the fixture file ``name`` (directly, or through a helper module
    of the tests whose name starts with ``_``)."""
    tests = sorted((ROOT / "tests").rglob("*.py"))
    text = {p: p.read_text(encoding="utf-8") for p in tests}
    direct = [p for p in tests if name in text[p]]
    out = {p for p in direct if not p.name.startswith("_")}
    for helper in (p for p in direct if p.name.startswith("_")):
        stem = helper.stem
        out |= {p for p in tests if re.search(rf"\b(from|import) \.?{stem}\b", text[p])}
    return sorted(str(p.relative_to(ROOT)) for p in out)


def _versions(doc: dict[str, Any]) -> str:
    meta = doc.get("meta") or doc.get("versions") or {}
    keep = {k: v for k, v in meta.items() if isinstance(v, str | int | float) and k != "script"}
    return ", ".join(f"{k} {v}" for k, v in keep.items())


def _calls(doc: Any, prefix: str = "") -> Iterable[tuple[str, str]]:
    """(fixture name, R call) for every entry that records its call."""
    if isinstance(doc, dict):
        if isinstance(doc.get("call"), str):
            yield prefix or "(all)", doc["call"]
            return
        for key, value in doc.items():
            if key in ("meta", "versions", "data"):
                continue
            yield from _calls(value, f"{prefix}.{key}".lstrip("."))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from _calls(value, f"{prefix}[{i}]")


def fixtures_page(root: Path = ROOT) -> str:
    """Every R reference of the test suite: the script, R and package versions, each R call
    and the tests that read the fixture."""
    lines = [
        "# R reference fixtures",
        "",
        "The numbers of survstudy are checked against R. CI has no R: each script in "
        "`tests/reference/` was run once (`Rscript tests/reference/NAME.R` from the "
        "repository root) and wrote a JSON fixture that records, next to every number, the R "
        "call that made it and the versions of R and its packages. This page is generated "
        "from those fixtures.",
        "",
    ]
    for path in sorted((root / "tests" / "reference").glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        script = path.with_suffix(".R")
        calls = list(_calls(doc))
        lines += [
            f"## `{path.name}`",
            "",
            f"Made by `{script.relative_to(root)}`"
            + (f" ({_versions(doc)})" if _versions(doc) else "")
            + f"; {len(calls)} recorded calls.",
            "",
            "Read by: " + ", ".join(f"`{u}`" for u in _users(path.name)),
            "",
            "| fixture | R call |",
            "|---|---|",
        ]
        lines += [f"| `{name}` | `{_cell(call)}` |" for name, call in calls]
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------- README sections


def readme_section(readme: str, start: str, stop: Iterable[str], title: str) -> str:
    """The README from the heading ``start`` up to the first heading in ``stop`` (same or
    higher level), as a page titled ``title``: headings one level up, links into ``docs/``
    made relative to the site and other repository links shown as paths."""
    lines = readme.splitlines()
    begin = next(i for i, ln in enumerate(lines) if ln.lstrip("#").strip() == start)
    level = len(lines[begin]) - len(lines[begin].lstrip("#"))
    stops = set(stop)
    end = len(lines)
    for i in range(begin + 1, len(lines)):
        ln = lines[i]
        if ln.startswith("#") and ln.lstrip("#").strip() in stops:
            depth = len(ln) - len(ln.lstrip("#"))
            if depth <= level:
                end = i
                break
    body = "\n".join(lines[begin + 1 : end])
    body = re.sub(r"^(#{2,6}) ", lambda m: "#" * (len(m.group(1)) - 1) + "# ", body, flags=re.M)
    body = re.sub(r"\]\(docs/", "](", body)

    def other(m: re.Match[str]) -> str:
        target = m.group(2)
        if re.match(r"^(https?:|#|[\w-]+\.md$|[\w-]+/)", target) and not target.startswith(
            ("examples/", "benchmarks/", "src/", "tests/", "scripts/")
        ):
            return m.group(0)
        return f"{m.group(1)} (`{target}`)"

    body = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", other, body)
    return f"# {title}\n{body}\n"


def _readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- seed study


_SEED: dict[str, Any] = {}


def seed_study() -> dict[str, Any]:
    """The seed study (``examples/bclm/study.yaml``) run once per build: ``tables`` (table id
    -> DataFrame of the printed cells) and ``figures`` (figure file stem -> PNG bytes, as
    ``survstudy run`` writes them)."""
    if not _SEED:
        import tempfile

        import matplotlib

        matplotlib.use("Agg")
        import survstudy

        out = survstudy.Study.from_yaml(ROOT / "examples" / "bclm" / "study.yaml").run()
        with tempfile.TemporaryDirectory(prefix="survstudy-docs-") as tmp:
            written = out.write_report(Path(tmp) / "report", formats=("csv",))
            figures = {p.stem: p.read_bytes() for p in written if p.suffix == ".png"}
        _SEED.update(tables=out.tables, figures=figures)
    return _SEED


def table_markdown(frame: Any) -> str:
    """A table of printed cells as a Markdown table (empty cells stay empty)."""
    cols = [str(c) or " " for c in frame.columns]
    lines = ["| " + " | ".join(_cell(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_cell("" if v is None else str(v)) for v in row) + " |")
    return "\n".join(lines)


# virtual page -> its Markdown
PAGES: dict[str, Callable[[], str]] = {
    "reference/spec.md": lambda: spec_page(
        json.loads((ROOT / "docs" / "study-schema.json").read_text(encoding="utf-8"))
    ),
    "reference/cli.md": cli_page,
    "reference/glossary.md": glossary_page,
    "reference/checks.md": checks_page,
    "reference/fixtures.md": fixtures_page,
    "registry.md": lambda: readme_section(
        _readme(),
        "Registry-sized data: engines",
        ["Running a study"],
        "Registry-sized data: DuckDB and Spark",
    ),
    "app.md": lambda: readme_section(
        _readme(),
        "Point and click: survstudy app",
        ["Errors"],
        "Point and click: the app",
    ),
}

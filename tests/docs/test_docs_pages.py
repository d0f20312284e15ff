"""The generated pages of the documentation site say everything their source holds.

Kinds of truth: identity with the source each page is generated from (the JSON Schema of
the spec, the commands' --help, the glossary, the data-check catalogue, the R fixtures);
hand-written expectations for the README-section extraction. ``make docs`` builds the
site itself with ``mkdocs build --strict``.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _load() -> Any:
    name = "survstudy_docs_pages"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "docs_pages.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


pages = _load()
SCHEMA = json.loads((ROOT / "docs" / "study-schema.json").read_text(encoding="utf-8"))


def test_spec_page_has_every_model_and_key() -> None:
    """Identity with docs/study-schema.json: a section for every model, a row for every key
    of every model, each model placed where it sits in a spec."""
    text = pages.spec_page(SCHEMA)
    paths = pages.spec_paths(SCHEMA)
    assert set(paths) == set(SCHEMA["$defs"])
    assert paths["EndpointSpec"] == "endpoints.NAME"
    assert paths["EventCodes"] == "endpoints.NAME.event_codes"
    assert paths["KMFigureSpec"] == "analyses.km[]"
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    by_title = {s.split("`")[1]: s for s in sections}
    for name, path in paths.items():
        for key in SCHEMA["$defs"][name].get("properties", {}):
            assert f"| `{key}`" in by_title[path], (path, key)
    for key in SCHEMA["properties"]:
        assert f"| `{key}`" in by_title["(top level)"]
    # links point at sections that exist
    for anchor in re.findall(r"\]\(#([^)]+)\)", text):
        assert f"{{#{anchor}}}" in text


def test_glossary_and_checks_pages_list_their_sources() -> None:
    """Identity with survstudy.api.glossary.GLOSSARY and survstudy.data.quality.CATALOGUE."""
    from survstudy.api.glossary import GLOSSARY
    from survstudy.data.quality import CATALOGUE

    glossary = pages.glossary_page()
    assert all(f"| `{k}` |" in glossary for k in GLOSSARY)
    checks = pages.checks_page()
    assert all(f"| `{code}` | {sev} |" in checks for code, (sev, _) in CATALOGUE.items())


def test_fixtures_page_lists_every_r_call() -> None:
    """Identity with tests/reference/*.json: every fixture file, every recorded R call and
    the tests that read it (this API test among the readers of cox.json)."""
    text = pages.fixtures_page()
    for path in sorted((ROOT / "tests" / "reference").glob("*.json")):
        assert f"## `{path.name}`" in text
        doc = json.loads(path.read_text(encoding="utf-8"))
        for _, call in pages._calls(doc):
            assert pages._cell(call) in text
    cox = text.split("## `cox.json`")[1].split("## ")[0]
    assert "tests/api/test_parity_cli.py" in cox
    km = text.split("## `km_logrank.json`")[1].split("## ")[0]
    assert "tests/stats/test_km_reference.py" in km  # reads it through tests/stats/_km_ref.py


def test_readme_section() -> None:
    """Hand-written expectations: the section up to the next heading of its level, headings
    one level up, docs/ links made relative, other repository paths shown as paths."""
    readme = (
        "# Title\n\n## Keep\n\nText [schema](docs/results-schema.md) and "
        "![pic](docs/app/1.png), see [the example](examples/bclm/README.md).\n\n"
        "### Sub\n\nMore.\n\n## Next\n\nDropped.\n"
    )
    page = pages.readme_section(readme, "Keep", ["Next"], "Kept")
    assert page.startswith("# Kept\n")
    assert "## Sub" in page
    assert "Dropped" not in page
    assert "[schema](results-schema.md)" in page
    assert "![pic](app/1.png)" in page
    assert "the example (`examples/bclm/README.md`)" in page


def test_every_nav_page_exists() -> None:
    """Identity: each page of mkdocs.yml's navigation is a file in docs/ or a generated page."""

    def leaves(node: Any) -> list[str]:
        if isinstance(node, str):
            return [node]
        if isinstance(node, list):
            return [x for item in node for x in leaves(item)]
        return [x for v in node.values() for x in leaves(v)]

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    for page in leaves(config["nav"]):
        assert (ROOT / "docs" / page).exists() or page in pages.PAGES, page


@pytest.mark.slow
def test_cli_page_has_every_command() -> None:
    """Identity with the command line: a section with the --help text of every command."""
    from survstudy.cli import main as cli_main

    text = pages.cli_page()
    for module in cli_main._COMMAND_MODULES:
        name = module.replace("_", "-")
        assert f"## `survstudy {name}`" in text
        assert f"Usage: survstudy {name} [OPTIONS]" in text

"""The README's example spec is valid, and every check code is documented there."""

from __future__ import annotations

import re
from pathlib import Path

from survstudy.data.quality import CATALOGUE
from survstudy.spec import load_spec_text

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "survstudy" / "data"


def _section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Study spec and data")
    end = text.find("\n## ", start + 5)
    return text[start : end if end > 0 else None]


def test_readme_example_spec_loads() -> None:
    block = re.search(r"```yaml\n(.*?)```", _section(), re.S)
    assert block is not None
    spec = load_spec_text(block.group(1), file="README.md")
    assert list(spec.endpoints) == ["DFS", "PFS", "OS"]
    assert spec.units.days_per_unit == 30.4375


def test_every_code_used_is_in_the_catalogue_and_the_readme() -> None:
    used: set[str] = set()
    # the quick commands' and the Python API's column checks (data/quick.py,
    # data/intervals.py) have their own codes, documented with those commands
    for path in SRC.glob("*.py"):
        if path.name in ("quick.py", "intervals.py"):
            continue
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'(?:add\(\s*|[cC]heck\(\s*|rule=)"([A-Z]+(?:-[A-Z0-9]+)+)"', text))
    assert len(used) > 30  # the pattern finds the plan's declared checks too
    assert used <= set(CATALOGUE)
    section = _section()
    missing = [code for code in CATALOGUE if f"`{code}`" not in section]
    assert missing == []


def test_readme_issue17_examples_load() -> None:
    """Identity: the README's examples of composite endpoints and joined tables are valid
    spec text (the composite one completed with a data section)."""
    blocks = re.findall(r"```yaml\n(.*?)```", _section(), re.S)
    (composite,) = [b for b in blocks if "time: [rtime, dtime]" in b]
    spec = load_spec_text("data: {path: d.csv}\n" + composite, file="README.md")
    assert spec.endpoints["RFS"].time_parts() == ["rtime", "dtime"]
    (tables,) = [b for b in blocks if "tables:" in b]
    spec = load_spec_text(tables, file="README.md")
    assert set(spec.data.tables) == {"outcome", "visits"}
    assert spec.variables["last_visit"].summary == "max"

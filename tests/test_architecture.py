"""A house without circles: the modules of survstudy form a DAG and keep their privates.

Kind of truth: property of the source tree, read with ``ast`` (nothing is imported).
Every ``import``/``from … import`` anywhere in a module counts — inside functions and
``if TYPE_CHECKING:`` blocks too — so a cycle cannot hide behind a lazy import.

Rules checked:

* **no import cycle** between modules of ``survstudy`` (a package's ``__init__`` is the
  module of the package's name);
* **no private import across modules**: ``from survstudy.x import _y`` where ``_y`` is a
  name in another module; a private module (``pkg/_m.py``) imported from outside its
  package ``pkg``; ``x._y`` where ``x`` is another survstudy module bound by an import;
  ``obj._y`` (``obj`` not ``self``/``cls``) where ``_y`` is an attribute that only
  classes of *other* survstudy modules declare.

Each rule has a hand-made violation below, so that the checks themselves can fail.
"""

from __future__ import annotations

import ast
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: Known exceptions, to be emptied when the data-plan work (issue 16, item 1: the rewrite
#: of data/cohort.py, pipeline/derive_sql.py, pipeline/expr_sql.py, pipeline/registry.py
#: and the readers, moving into data/) is merged: private imports INTO or OUT OF those
#: files. Each entry is (importing module, imported private name); an entry that no
#: longer occurs fails the test, so the list cannot go stale.
DATA_PLAN_EXCEPTIONS: set[tuple[str, str]] = set()


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


@dataclass
class Module:
    name: str
    path: Path
    is_package: bool
    tree: ast.Module
    imports: set[str] = field(default_factory=set)  # modules it imports
    private: list[tuple[str, int]] = field(default_factory=list)  # (imported private, line)
    aliases: dict[str, str] = field(default_factory=dict)  # local name -> module
    declared: set[str] = field(default_factory=set)  # private attributes its classes declare
    type_only: set[str] = field(default_factory=set)  # modules imported only for typing

    @property
    def package(self) -> str:
        return self.name if self.is_package else self.name.rpartition(".")[0]


def _declared(tree: ast.Module) -> set[str]:
    """Private attributes and methods that the module's classes declare."""
    out: set[str] = set()
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        for st in cls.body:
            if isinstance(st, ast.FunctionDef | ast.AsyncFunctionDef):
                out.add(st.name)
            elif isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name):
                out.add(st.target.id)
            elif isinstance(st, ast.Assign):
                out |= {t.id for t in st.targets if isinstance(t, ast.Name)}
        for n in ast.walk(cls):
            if (
                isinstance(n, ast.Attribute)
                and isinstance(n.value, ast.Name)
                and n.value.id == "self"
                and isinstance(n.ctx, ast.Store)
            ):
                out.add(n.attr)
    return {n for n in out if _private(n)}


def _type_checking_imports(tree: ast.Module) -> set[int]:
    """ids of the import nodes inside ``if TYPE_CHECKING:`` blocks."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and (
            (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
            or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")
        ):
            for stmt in node.body:
                for sub in ast.walk(stmt):
                    if isinstance(sub, (ast.Import, ast.ImportFrom)):
                        out.add(id(sub))
    return out


def load(root: Path, top: str = "survstudy") -> dict[str, Module]:
    """Every module under ``root/top`` with its imports resolved to modules."""
    mods: dict[str, Module] = {}
    for path in sorted((root / top).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        name = ".".join(parts)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        mods[name] = Module(name, path, is_package, tree)
    for m in mods.values():
        m.declared = _declared(m.tree)
        typing_nodes = _type_checking_imports(m.tree)
        runtime: set[str] = set()
        typed: set[str] = set()
        for node in ast.walk(m.tree):
            seen = typed if id(node) in typing_nodes else runtime
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.name == top or a.name.startswith(top + "."):
                        seen.add(a.name)
                        _check_module_path(m, a.name, node.lineno)
                        if a.asname:
                            m.aliases[a.asname] = a.name
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(m, node.level, node.module)
                if base != top and not base.startswith(top + "."):
                    continue
                _check_module_path(m, base, node.lineno)
                for a in node.names:
                    full = f"{base}.{a.name}"
                    if full in mods:  # a module
                        seen.add(full)
                        m.aliases[a.asname or a.name] = full
                        _check_module_path(m, full, node.lineno)
                    else:
                        seen.add(base)
                        if _private(a.name) and base != m.name:
                            m.private.append((full, node.lineno))
        m.imports = runtime | typed
        m.type_only = typed - runtime
    return mods


def _resolve(m: Module, level: int, module: str | None) -> str:
    if level == 0:
        return module or ""
    base = m.package.split(".")
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _check_module_path(m: Module, target: str, line: int) -> None:
    """A private module (``pkg._m``) may be imported only from inside ``pkg``."""
    parts = target.split(".")
    for i, part in enumerate(parts):
        if _private(part):
            pkg = ".".join(parts[:i])
            if not (m.package == pkg or m.package.startswith(pkg + ".")):
                m.private.append((".".join(parts[: i + 1]), line))
            return


def private_uses(mods: dict[str, Module]) -> set[tuple[str, str]]:
    """(module, what) for every private import or attribute use across modules."""
    owners: dict[str, set[str]] = {}
    for m in mods.values():
        for a in m.declared:
            owners.setdefault(a, set()).add(m.name)
    out = {(m.name, what) for m in mods.values() for what, _line in m.private}
    for m in mods.values():
        for node in ast.walk(m.tree):
            if not (isinstance(node, ast.Attribute) and _private(node.attr)):
                continue
            v = node.value
            if isinstance(v, ast.Name) and v.id in m.aliases:
                target = m.aliases[v.id]
                if target != m.name:
                    out.add((m.name, f"{target}.{node.attr}"))
                continue
            if isinstance(v, ast.Name) and v.id in ("self", "cls"):
                continue
            others = owners.get(node.attr, set()) - {m.name}
            if others and node.attr not in m.declared:
                out.add((m.name, f"{sorted(others)[0]}.<class>.{node.attr}"))
    return out


def cycles(
    mods: dict[str, Module],
    allowed: Collection[tuple[str, str]] = (),
) -> list[list[str]]:
    """The import cycles: each strongly connected component of more than one module,
    as one closed path through it (Tarjan's algorithm, iterative)."""
    graph = {
        n: sorted(
            i
            for i in m.imports
            if i in mods and i != n and not (i in m.type_only and (n, i) in allowed)
        )
        for n, m in mods.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    comps: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = len(index)
                stack.append(v)
                on.add(v)
            if i < len(graph[v]):
                work.append((v, i + 1))
                w = graph[v][i]
                if w not in index:
                    work.append((w, 0))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    comps.append(_path(graph, set(comp)))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return comps


def _path(graph: dict[str, list[str]], comp: set[str]) -> list[str]:
    """A closed walk a -> … -> a inside one strongly connected component (for the message)."""
    first = min(comp)
    prev: dict[str, str] = {}
    todo = [first]
    while todo:
        v = todo.pop(0)
        for w in graph[v]:
            if w in comp and w not in prev:
                prev[w] = v
                todo.append(w)
    back = []
    v = prev[first]
    while v != first:
        back.append(v)
        v = prev[v]
    return [first, *reversed(back), first]


# --------------------------------------------------------------------------- the tree


@pytest.fixture(scope="module")
def tree() -> dict[str, Module]:
    return load(SRC)


def test_no_import_cycles(tree: dict[str, Module]) -> None:
    """Property: the import graph of survstudy's modules is acyclic."""
    # imports made only for type annotations (``if TYPE_CHECKING:``) count too: a circle
    # through them is still a circle in the design (the plan's steps name the executors'
    # interfaces in data/executor.py, never the executors)
    found = [" -> ".join(c) for c in cycles(tree)]
    assert found == []


def test_no_private_imports_across_modules(tree: dict[str, Module]) -> None:
    """Property: no module uses another module's private names (the data-plan allow-list
    aside)."""
    found = private_uses(tree)
    assert sorted(found - DATA_PLAN_EXCEPTIONS) == []
    # an allow-listed exception that is gone must leave the list
    assert sorted(DATA_PLAN_EXCEPTIONS - found) == []


def test_engine_interface_imports_no_implementation(tree: dict[str, Module]) -> None:
    """Property: engines/base.py declares; the implementations import it, never the reverse."""
    assert not {
        i for i in tree["survstudy.engines.base"].imports if i.startswith("survstudy.engines")
    }


def test_study_run_is_on_top(tree: dict[str, Module]) -> None:
    """Property: the study-run module (survstudy.study) is imported by the front ends only
    (the command line, the app and the Python API)."""
    users = {n for n, m in tree.items() if "survstudy.study" in m.imports}
    front = ("survstudy.cli", "survstudy.app", "survstudy.api")
    below = {u for u in users if not u.startswith(front)}
    assert below == set()


def test_pipeline_modules_stay_small() -> None:
    """Property: no module of pipeline/ above about 500 lines (the derivation files of the
    data-plan work aside, which move to data/)."""
    moving = {"derive_sql.py", "expr_sql.py", "registry.py"}
    big = {
        p.name: n
        for p in (SRC / "survstudy" / "pipeline").glob("*.py")
        if p.name not in moving and (n := len(p.read_text(encoding="utf-8").splitlines())) > 520
    }
    assert big == {}


# --------------------------------------------------------------------------- the checks can fail


def _fake(tmp: Path, files: dict[str, str]) -> dict[str, Module]:
    for rel, text in files.items():
        p = tmp / "pkg" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return load(tmp, top="pkg")


def test_a_cycle_is_found(tmp_path: Path) -> None:
    """Hand-made violation: a -> b -> c -> a (one import inside a function) is reported as
    one cycle; d, which imports a, is not in it."""
    mods = _fake(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "from pkg import b\n",
            "b.py": "import pkg.c\n",
            "c.py": "def f():\n    from pkg.a import thing\n",
            "d.py": "from pkg.a import thing\n",
        },
    )
    assert cycles(mods) == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]


def test_private_uses_are_found(tmp_path: Path) -> None:
    """Hand-made violations: a private name, a private module from outside its package, a
    module's private attribute, and a private attribute declared by another module's
    class; the allowed forms (own privates, a private module inside its package, self._x)
    are not reported."""
    mods = _fake(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": (
                "class A:\n    def __init__(self):\n        self._state = 1\n"
                "def _helper():\n    return 1\n"
            ),
            "b.py": (
                "from pkg.a import _helper\nfrom pkg import a\nfrom pkg.sub import _impl\n"
                "def f(obj):\n    return a._helper(), obj._state\n"
            ),
            "sub/__init__.py": "from pkg.sub._impl import thing\n",
            "sub/_impl.py": "thing = 1\n",
            "sub/ok.py": "from pkg.sub import _impl\nfrom pkg.sub._impl import thing\n",
        },
    )
    assert private_uses(mods) == {
        ("pkg.b", "pkg.a._helper"),
        ("pkg.b", "pkg.sub._impl"),
        ("pkg.b", "pkg.a.<class>._state"),
    }

"""The foundation: version, help, the error model's exit codes, the import layering."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import survstudy
from survstudy.cli import main as cli_main
from survstudy.errors import DataError, SpecError, SurvstudyError

SRC = Path(__file__).resolve().parents[1] / "src" / "survstudy"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "survstudy", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_version_flag_prints_installed_version() -> None:
    out = run_cli("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"survstudy {survstudy.__version__}"
    assert survstudy.__version__ != "0.0.0+unknown"


def test_help_lists_the_program() -> None:
    out = run_cli("--help")
    assert out.returncode == 0
    assert "Usage: survstudy" in out.stdout


def test_data_error_message_names_file_row_column_value_and_rule() -> None:
    err = DataError(
        "event must be 0/1 or true/false",
        file="cohort.csv",
        row=7,
        column="status",
        value="Dead",
        rule="EVENT-CODE",
        hint="add a mapping under the endpoint's event_codes",
    )
    assert isinstance(err, SurvstudyError)
    assert str(err) == (
        "[EVENT-CODE] cohort.csv, row 7, column 'status': event must be 0/1 or true/false "
        "(value: 'Dead'); add a mapping under the endpoint's event_codes"
    )


def test_sensitive_data_error_hides_the_value() -> None:
    err = DataError(
        "duplicate id",
        file="c.csv",
        row=3,
        column="mrn",
        value="MRN-123456",
        rule="ID-DUP",
        sensitive=True,
    )
    assert "MRN-123456" not in str(err)
    assert err.value is None


def test_spec_error_names_line_key_and_suggestion() -> None:
    err = SpecError(
        "unknown key", file="study.yaml", line=12, key="endpiont", suggestion="endpoints"
    )
    assert str(err) == (
        "[SPEC] study.yaml:12, key 'endpiont': unknown key (did you mean 'endpoints'?)"
    )


def _install_failing_command(monkeypatch: pytest.MonkeyPatch, exc: Exception) -> None:
    """Register a throwaway command that raises ``exc`` from deep inside a call chain."""
    import typer

    # Register the real commands on the real app first: command modules bind ``app``
    # when they are first imported, and must never bind the throwaway one below.
    cli_main._register()
    app = typer.Typer(pretty_exceptions_enable=False)

    def deep() -> None:
        raise exc

    @app.callback()
    def root(debug: bool = typer.Option(False, "--debug")) -> None:
        cli_main._state["debug"] = debug

    @app.command()
    def boom() -> None:
        deep()

    monkeypatch.setattr(cli_main, "app", app)
    monkeypatch.setattr(cli_main, "_state", {"debug": False})


def test_user_error_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _install_failing_command(
        monkeypatch, DataError("file not found", file="missing.csv", rule="FILE-NOT-FOUND")
    )
    with pytest.raises(SystemExit) as info:
        cli_main.main(["boom"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err == "error: [FILE-NOT-FOUND] missing.csv: file not found\n"


def test_internal_error_is_exit_1_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _install_failing_command(monkeypatch, ZeroDivisionError("division by zero"))
    with pytest.raises(SystemExit) as info:
        cli_main.main(["boom"])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: internal error: ZeroDivisionError: division by zero")
    assert "Traceback" not in err


def test_internal_error_with_debug_shows_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _install_failing_command(monkeypatch, ZeroDivisionError("division by zero"))
    with pytest.raises(SystemExit) as info:
        cli_main.main(["--debug", "boom"])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "in deep" in err


def test_importing_stats_loads_neither_pandas_nor_matplotlib() -> None:
    code = (
        "import sys, survstudy.stats, pkgutil, importlib\n"
        "for m in pkgutil.walk_packages(survstudy.stats.__path__, 'survstudy.stats.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [m for m in ('pandas', 'matplotlib', 'yaml') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# Which survstudy sub-packages each sub-package may import (ARCHITECTURE.md).
# ``errors`` (the error model) may be imported from anywhere.
ALLOWED: dict[str, set[str]] = {
    "stats": set(),
    "engines": {"stats"},
    "spec": set(),
    # the SQL executor of the cohort plan runs on an engine (and engines on stats); the
    # quick commands' input checks call two stats helpers: dummy coding of a categorical
    # column (data.quick.cox_design) and the counting-process interval checks
    # (data.intervals). No cycle: stats imports no other survstudy package.
    "data": {"spec", "engines", "stats"},
    "pipeline": {"spec", "data", "stats", "engines"},
    "tables": {"stats", "pipeline"},
    "plots": {"stats", "pipeline", "tables"},
    "report": {"tables", "plots", "pipeline", "stats", "spec"},
    "app": {"report", "tables", "plots", "pipeline", "data", "spec", "stats", "engines"},
    "cli": {"app", "report", "tables", "plots", "pipeline", "data", "spec", "stats", "engines"},
    # the Python API: a front end like the command line, whose column typing it shares
    # (survstudy.data.quick); the command line never imports the API
    "api": {"cli", "report", "tables", "plots", "pipeline", "data", "spec", "stats", "engines"},
}
THIRD_PARTY_FORBIDDEN: dict[str, set[str]] = {
    "stats": {"pandas", "matplotlib", "yaml", "pydantic", "openpyxl", "pyreadstat", "docx"},
    "spec": {"pandas", "matplotlib"},
    "engines": {"pandas", "matplotlib"},
    "tables": {"matplotlib"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_flow_one_way(package: str) -> None:
    violations = []
    for path in sorted((SRC / package).rglob("*.py")):
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "survstudy" and len(parts) > 1:
                target = parts[1]
                if target in ALLOWED and target != package and target not in ALLOWED[package]:
                    violations.append(f"{path.relative_to(SRC)} imports {name}")
            elif parts[0] in THIRD_PARTY_FORBIDDEN.get(package, set()):
                violations.append(f"{path.relative_to(SRC)} imports {name}")
    assert violations == []


def test_layering_check_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import pandas\nfrom survstudy.report import html\n")
    assert _imports(bad) == {"pandas", "survstudy.report"}


def test_missing_file_deep_inside_is_one_error_line_and_exit_2(tmp_path: Path) -> None:
    """A user error raised deep inside a command reaches the terminal as one line, exit 2."""
    code = (
        "import sys, typer\n"
        "from survstudy.cli import main as m\n"
        "from survstudy.data.readers import read_table\n"
        "@m.app.command()\n"
        "def load(path: str) -> None:\n"
        "    read_table(path)\n"
        "m.main(sys.argv[1:])\n"
    )
    missing = tmp_path / "nope.csv"
    out = subprocess.run(
        [sys.executable, "-c", code, "load", str(missing)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 2
    assert out.stderr == f"error: [FILE-NOT-FOUND] {missing}: file not found\n"
    assert out.stdout == ""


@pytest.mark.parametrize(
    ("argv", "module"),
    [(["km", "--help"], "km"), (["synth-registry", "--help"], "synth_registry")],
)
def test_only_the_invoked_command_module_is_imported(argv: list[str], module: str) -> None:
    """Identity: a named command (hyphenated or not) imports its own module and no other."""
    code = (
        "import sys\n"
        "from survstudy.cli import main as m\n"
        f"m._register({argv!r})\n"
        "print(sorted(k for k in sys.modules if k.startswith('survstudy.cli.')"
        " and not k.startswith('survstudy.cli._')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == str(sorted(["survstudy.cli.main", f"survstudy.cli.{module}"]))

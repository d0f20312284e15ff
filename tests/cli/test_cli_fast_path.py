"""The quick commands' fast path parses a command line exactly as typer does.

Kind of truth: equivalence with typer (the reference parser of the whole CLI). Commands
declared with :mod:`survstudy.cli._decl` run without importing typer when their command
line is plain (:func:`survstudy.cli._decl.fast_call`); every other line goes to typer. For
each declared command, the keyword arguments the fast path would pass are compared with
those typer passes to the same function for the same line — one line that gives every
option a value, and hand-written lines with ``--name=value``, repeated options, flags,
numbers and defaults. Lines the fast path must leave to typer (help, unknown, repeated or
missing options, values that look like options or do not convert) return ``None``.
"""

from __future__ import annotations

import functools
import inspect
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import pytest

from survstudy.cli import _decl
from survstudy.cli import main as cli_main

QUICK = ["km", "logrank", "cox", "cif"]


def _typer_kwargs(name: str, argv: list[str]) -> dict[str, Any]:
    """The keyword arguments typer passes to command ``name`` for ``argv``."""
    cli_main._import_commands([name])
    func = _decl.registered()[name]
    seen: dict[str, Any] = {}

    @functools.wraps(func)
    def record(**kwargs: Any) -> None:
        seen.update(kwargs)

    app = cli_main._build_app()
    app.command(name=name)(_decl.to_typer(record))
    app.command(name="other")(lambda: None)  # two commands: typer keeps the subcommand
    app(args=argv, prog_name="survstudy", standalone_mode=False)
    return seen


def _fast_kwargs(argv: list[str]) -> dict[str, Any] | None:
    cli_main._import_commands(argv[:1])
    got = _decl.fast_call(argv)
    if got is None:
        return None
    func, kwargs = got
    assert func is _decl.registered()[argv[0]]
    return kwargs


def _every_option_line(name: str) -> list[str]:
    """A line giving every parameter of ``name`` a non-default value of its type."""
    cli_main._import_commands([name])
    func = _decl.registered()[name]
    hints = typing.get_type_hints(func, include_extras=True)
    sig = inspect.signature(func)
    argv = [name]
    for i, (pname, param) in enumerate(sig.parameters.items()):
        base, meta = typing.get_args(hints[pname])[0], typing.get_args(hints[pname])[1:]
        (decl,) = [m for m in meta if isinstance(m, _decl.Param)]
        if decl.kind == "argument":
            argv.append("data.csv")
            continue
        opt = decl.args[0]
        args = typing.get_args(base)
        if args and type(None) in args:
            base = next(a for a in args if a is not type(None))
        if base is bool:
            argv.append(opt)
        elif typing.get_origin(base) is list:
            argv += [opt, f"k{i}=a", f"{opt}=k{i}=b"]
        elif base is int:
            argv.append(f"{opt}={i + 7}")
        elif base is float:
            argv += [opt, f"0.{i}5"]
        else:
            assert param.default is inspect.Parameter.empty or param.default != f"v{i}"
            argv += [opt, f"v{i}"]
    return argv


@pytest.mark.parametrize("name", QUICK)
def test_every_option_is_parsed_as_typer_parses_it(name: str) -> None:
    argv = _every_option_line(name)
    fast = _fast_kwargs(argv)
    assert fast is not None, argv
    assert fast == _typer_kwargs(name, argv)


LINES = [
    ["km", "d.csv", "--time", "t", "--event", "e"],
    ["km", "--json", "--time=t", "d.csv", "--event", "e", "--by", "g", "--at", "1,2"],
    ["km", "d.csv", "--time", "t", "--event", "e", "--conf-level", "0.9", "--table"],
    ["km", "d.csv", "--time", "t", "--event", "e", "--engine-opt", "a=1", "--engine-opt", "b=2"],
    ["logrank", "d.csv", "--time", "t", "--event", "e", "--by", "g", "--rho", "1", "--seed", "3"],
    ["logrank", "d.csv", "--time", "t", "--event", "e", "--by", "g", "--permutation", "1000"],
    ["cox", "d.csv", "--time", "t", "--event", "e", "--covariates", "a,b", "--json"],
    ["cox", "d.csv", "--time", "t", "--event", "e", "--covariates", "a", "--reference", "a=x"],
    ["cox", "d.csv", "--time", "t", "--event", "e", "--covariates", "a", "--firth", "--ph-test"],
    ["cif", "d.csv", "--time", "t", "--event", "e", "--cause", "1", "--competing", "2,3"],
    ["cif", "d.csv", "--time=t", "--event=e", "--cause=1", "--competing=2", "--by", ""],
]


@pytest.mark.parametrize("argv", LINES, ids=[" ".join(a) for a in LINES])
def test_common_lines_are_parsed_as_typer_parses_them(argv: list[str]) -> None:
    fast = _fast_kwargs(argv)
    assert fast is not None
    assert fast == _typer_kwargs(argv[0], argv)


TYPER_ONLY = [
    ["km", "--help"],
    ["km", "d.csv", "--time", "t", "--event", "e", "-h"],
    ["km", "d.csv", "--time", "t"],  # --event missing
    ["km", "d.csv", "--time", "t", "--event", "e", "--jsn"],  # unknown option
    ["km", "d.csv", "--time", "t", "--time", "u", "--event", "e"],  # repeated
    ["km", "d.csv", "e.csv", "--time", "t", "--event", "e"],  # two files
    ["km", "--time", "t", "--event", "e"],  # no file
    ["km", "d.csv", "--time", "--event", "e"],  # a value that looks like an option
    ["km", "d.csv", "--time", "t", "--event", "e", "--conf-level", "high"],  # not a number
    ["km", "d.csv", "--time", "t", "--event", "e", "--json=yes"],  # a flag with a value
    ["logrank", "d.csv", "--time", "t", "--event", "e", "--by", "g", "--seed", "1.5"],
    ["cox", "d.csv", "--time", "t", "--event", "e", "--covariates", "a", "--", "x"],
    ["run", "study.yaml"],  # not declared
]


@pytest.mark.parametrize("argv", TYPER_ONLY, ids=[" ".join(a) for a in TYPER_ONLY])
def test_other_lines_are_left_to_typer(argv: list[str]) -> None:
    assert _fast_kwargs(argv) is None


def test_a_quick_command_does_not_import_typer(tmp_path: Path) -> None:
    """Property: ``survstudy km`` on a plain line runs without typer (or pydantic)."""
    (tmp_path / "q.csv").write_text("time,event\n5,1\n8,0\n12,1\n3,1\n")
    code = (
        "import sys\n"
        "from survstudy.cli.main import main\n"
        "try:\n"
        "    main(['km', 'q.csv', '--time', 'time', '--event', 'event', '--json'])\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "print(sorted(m for m in ('typer', 'pydantic', 'click') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"
    assert '"median"' in out.stdout


def test_a_mistyped_option_still_gets_typers_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        cli_main.main(["km", "q.csv", "--time", "t", "--event", "e", "--jsn"])
    assert exc.value.code == 2
    assert capsys.readouterr().err == (
        "error: 'survstudy km' has no option --jsn (did you mean --json?); "
        "see 'survstudy km --help'\n"
    )

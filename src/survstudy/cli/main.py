"""The ``survstudy`` command: the typer app and the error-to-exit-code mapping.

Subcommands live in their own modules and are registered in :func:`_register`;
each imports its heavy dependencies inside the command body.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated, Any

import typer

from survstudy import __version__
from survstudy.errors import SurvstudyError

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 1

app = typer.Typer(
    name="survstudy",
    help=(
        "Survival studies from a patient spreadsheet and a short YAML study spec: "
        "Kaplan–Meier, log-rank, Cox, Table 1 and a publication-ready report."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

_state = {"debug": False}


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"survstudy {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback when something goes wrong.")
    ] = False,
) -> None:
    """Survival studies from a spreadsheet and a YAML spec."""
    _state["debug"] = debug


def _register(args: list[str] | None = None) -> None:
    """Import the modules that define subcommands (each adds itself to ``app``).

    Each module defines the command of its own name. When the first argument
    names a command, only that module is imported, so a quick command does not
    pay for the others' imports (pydantic, pandas); ``--help`` imports them all.
    """
    import importlib

    first = next((a for a in args or [] if not a.startswith("-")), None)
    module = None if first is None else first.replace("-", "_")  # synth-registry -> synth_registry
    names = [module] if module in _COMMAND_MODULES else _COMMAND_MODULES
    for name in names:
        importlib.import_module(f"survstudy.cli.{name}")


# Modules that add subcommands to ``app``; a feature adds its module here.
_COMMAND_MODULES: list[str] = [
    "validate",
    "schema",
    "init",
    "run",
    "cox",
    "cif",
    "km",
    "logrank",
    "demo",
    "synth_registry",
    "app",
    "selftest",
]


def usage_message(exc: Any) -> str:
    """A command-line mistake in one line; a mistyped option names the closest one."""
    ctx = getattr(exc, "ctx", None)
    where = f"'{ctx.command_path}'" if ctx is not None else "survstudy"
    help_hint = f"see '{ctx.command_path} --help'" if ctx is not None else "see 'survstudy --help'"
    option = getattr(exc, "option_name", None)
    if type(exc).__name__ == "NoSuchOption" and option:
        known: list[str] = []
        if ctx is not None:
            for param in ctx.command.get_params(ctx):
                known += [*param.opts, *param.secondary_opts]
        from difflib import get_close_matches

        best = get_close_matches(option, known, n=1, cutoff=0.5)
        guess = f" (did you mean {best[0]}?)" if best else ""
        return f"{where} has no option {option}{guess}; {help_hint}"
    text = " ".join(exc.format_message().split()).rstrip(".")
    return f"{where}: {text}; {help_hint}"


def _debug_requested(argv: list[str]) -> bool:
    return _state["debug"] or "--debug" in argv or os.environ.get("SURVSTUDY_DEBUG") == "1"


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turn errors into one ``error:`` line and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if argv is None:
        from survstudy import _process

        _process.claim()
    try:
        _register(args)
        code = app(args=args, prog_name="survstudy", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except typer.Abort:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    except typer.exceptions.TyperException as exc:  # click's errors (typer vendors click)
        if type(exc).__name__ == "NoArgsIsHelpError":
            print(exc.format_message(), file=sys.stderr)
        else:
            # one line, as for every other user error (not click's usage block)
            print(f"error: {usage_message(exc)}", file=sys.stderr)
        sys.exit(int(getattr(exc, "exit_code", EXIT_USER_ERROR)))
    except SurvstudyError as exc:
        if _debug_requested(args):
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # a bug in survstudy: short message, traceback on request
        if _debug_requested(args):
            traceback.print_exc()
            print(f"error: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        else:
            print(
                f"error: internal error: {type(exc).__name__}: {exc} "
                "(this is a bug in survstudy; run again with --debug for the traceback "
                "and report it)",
                file=sys.stderr,
            )
        sys.exit(EXIT_INTERNAL_ERROR)

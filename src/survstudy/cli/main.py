"""The ``survstudy`` command: the typer app and the error-to-exit-code mapping.

Subcommands live in their own modules and are registered in :func:`_register`;
each imports its heavy dependencies inside the command body. Commands declared with
:mod:`survstudy.cli._decl` (the quick ones) run without importing typer when their
command line is plain (:func:`survstudy.cli._decl.fast_call`); the typer ``app`` is built
on first use (``main.app``).
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import TYPE_CHECKING, Any

from survstudy.errors import SurvstudyError

if TYPE_CHECKING:
    import typer

    app: typer.Typer  # built on first use: see __getattr__

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 1

_state = {"debug": False}


def __getattr__(name: str) -> Any:
    """``main.app``: the typer app, built (typer imported) on first use."""
    if name == "app":
        return _app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _app() -> typer.Typer:
    """The typer app: ``main.app`` once built (or as a test set it), else a new one."""
    built = globals().get("app")
    if built is None:
        built = globals()["app"] = _build_app()
    return built


def _build_app() -> typer.Typer:
    import typer

    from survstudy import __version__

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

    def _version_callback(value: bool) -> None:
        if value:
            typer.echo(f"survstudy {__version__}")
            raise typer.Exit()

    # default-style options: this module's annotations are strings that typer would
    # evaluate in the module's namespace, where typer is not imported
    @app.callback()
    def _root(
        version: bool = typer.Option(
            False,
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Print the version and exit.",
        ),
        debug: bool = typer.Option(
            False, "--debug", help="Show the full traceback when something goes wrong."
        ),
    ) -> None:
        """Survival studies from a spreadsheet and a YAML spec."""
        _state["debug"] = debug

    return app


def _import_commands(args: list[str] | None = None) -> None:
    """Import the modules that define subcommands (each declares or adds its command).

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


def _register(args: list[str] | None = None) -> None:
    """Import the command modules for ``args`` and add their commands to the typer app
    (declared ones through :func:`survstudy.cli._decl.to_typer`), in
    ``_COMMAND_MODULES`` order."""
    import importlib

    from survstudy.cli import _decl

    app = _app()
    first = next((a for a in args or [] if not a.startswith("-")), None)
    module = None if first is None else first.replace("-", "_")
    names = [module] if module in _COMMAND_MODULES else _COMMAND_MODULES
    added = {c.name for c in app.registered_commands}
    for name in names:
        importlib.import_module(f"survstudy.cli.{name}")
        for cmd_name, func in _decl.registered().items():
            if cmd_name not in added:
                app.command(name=cmd_name)(_decl.to_typer(func))
                added.add(cmd_name)


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


def _run(args: list[str]) -> None:
    """Run the command line: a declared command's plain line directly, the rest by typer."""
    from survstudy.cli import _decl

    if args == ["--version"]:  # what the root callback prints, without building the app
        from survstudy import __version__

        print(f"survstudy {__version__}")
        sys.exit(0)
    if args and args[0].replace("-", "_") in _COMMAND_MODULES:
        _import_commands(args[:1])
        fast = _decl.fast_call(args)
        if fast is not None:
            func, kwargs = fast
            func(**kwargs)
            sys.exit(0)
    _register(args)
    code = _app()(args=args, prog_name="survstudy", standalone_mode=False)
    sys.exit(code if isinstance(code, int) else 0)


def _typer_error(exc: Exception) -> None:
    """Exit for typer's (click's) own exceptions: interrupted, or a command-line mistake in
    one line (not click's usage block). Returns for anything else."""
    typer = sys.modules.get("typer")
    if typer is None:
        return
    if isinstance(exc, typer.Abort):
        print("error: interrupted", file=sys.stderr)
        sys.exit(130)
    if isinstance(exc, typer.exceptions.TyperException):  # click's errors (typer vendors click)
        if type(exc).__name__ == "NoArgsIsHelpError":
            print(exc.format_message(), file=sys.stderr)
        else:
            print(f"error: {usage_message(exc)}", file=sys.stderr)
        sys.exit(int(getattr(exc, "exit_code", EXIT_USER_ERROR)))


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turn errors into one ``error:`` line and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if argv is None:
        from survstudy import _process

        _process.claim()
        _process.system_arrow_pool()
        if args[:1] in (["run"], ["demo"]):
            # a study in its own process: one BLAS thread (it computes in two processes),
            # no huge pages for NumPy's arrays (sporadic stalls of a second in the kernel),
            # freed arrays kept for reuse (fewer page faults), the cyclic collector run less
            # often; see survstudy._process
            _process.single_threaded_blas()
            _process.small_pages_for_numpy()
            _process.keep_freed_memory()
            _process.fewer_collections()
    try:
        _run(args)
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
        _typer_error(exc)
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

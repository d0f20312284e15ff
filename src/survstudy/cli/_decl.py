"""Command declarations that do not import typer, and the quick commands' fast path.

A command module declares its parameters as typer does — ``Annotated[str,
Option("--time", help=...)]`` — but with :func:`Option` and :func:`Argument` from here,
which only record their arguments, and registers the function with :func:`command`.
:mod:`survstudy.cli.main` turns each registered function into a typer command
(:func:`to_typer`: the same arguments handed to ``typer.Option``/``typer.Argument``) for
``--help``, completion and every command line the fast path does not take.

Why: typer imports pydantic to convert parameters (about 0.1 s, more than a quick
command's whole work on a small file, and a third of ``survstudy cif`` on 10^6 rows).
:func:`fast_call` parses the common command line of a declared command — one positional
argument, ``--name value``, ``--name=value``, flags, repeatable options, ``str``/``int``/
``float``/``bool``/``list[str]`` values — straight from the same declarations, and calls
the function with exactly the keyword arguments typer would pass
(``tests/cli/test_cli_fast_path.py`` checks that on many command lines). Anything else
(``--help``, an unknown or repeated option, a missing required one, a value that does not
convert, a value that looks like an option) returns ``None`` and typer handles the line,
with its usual messages.
"""

from __future__ import annotations

import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Argument",
    "Option",
    "Param",
    "command",
    "echo",
    "fast_call",
    "registered",
    "to_typer",
]

# keyword arguments of typer.Option/Argument that do not change how a value is parsed
_DISPLAY_ONLY = {"help", "show_default", "metavar", "hidden", "rich_help_panel"}


@dataclass(frozen=True)
class Param:
    """What ``typer.Option(*args, **kwargs)`` or ``typer.Argument(...)`` would be given."""

    kind: str  # "option" | "argument"
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


def Option(*args: Any, **kwargs: Any) -> Any:
    """A command-line option, declared as with ``typer.Option`` inside ``Annotated``."""
    return Param("option", args, kwargs)


def Argument(*args: Any, **kwargs: Any) -> Any:
    """A positional argument, declared as with ``typer.Argument`` inside ``Annotated``."""
    return Param("argument", args, kwargs)


_COMMANDS: dict[str, Callable[..., Any]] = {}


def command(func: Callable[..., Any]) -> Callable[..., Any]:
    """Register ``func`` as the command named after it (``synth_registry`` → ``synth-registry``)."""
    _COMMANDS[func.__name__.replace("_", "-")] = func
    return func


def registered() -> dict[str, Callable[..., Any]]:
    """The declared commands, in the order their modules were imported."""
    return dict(_COMMANDS)


def echo(message: str = "", *, err: bool = False) -> None:
    """Print one line to stdout (or stderr), as ``typer.echo`` does for text."""
    stream = sys.stderr if err else sys.stdout
    stream.write(f"{message}\n")
    stream.flush()


def _hints(func: Callable[..., Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(func, include_extras=True)
    hints.pop("return", None)
    return hints


def to_typer(func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` with its :class:`Param` declarations turned into typer's, for ``app.command``."""
    import functools
    import inspect

    import typer

    hints = _hints(func)
    sig = inspect.signature(func)
    params = []
    annotations: dict[str, Any] = {}
    for p in sig.parameters.values():
        ann = hints[p.name]
        if typing.get_origin(ann) is typing.Annotated:
            base, *meta = typing.get_args(ann)
            meta = [
                (typer.Option if m.kind == "option" else typer.Argument)(*m.args, **m.kwargs)
                if isinstance(m, Param)
                else m
                for m in meta
            ]
            ann = typing.Annotated[(base, *meta)]
        annotations[p.name] = ann
        params.append(p.replace(annotation=ann))

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    wrapper.__signature__ = sig.replace(parameters=params, return_annotation=None)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {**annotations, "return": None}
    return wrapper


# ---------------------------------------------------------------- the fast path


@dataclass(frozen=True)
class _Spec:
    name: str  # the function's parameter
    kind: str  # "option" | "argument"
    names: tuple[str, ...]  # --time
    convert: Callable[[str], Any] | None  # None: a flag
    multiple: bool
    required: bool
    default: Any


def _base(ann: Any) -> tuple[Any, list[Any]]:
    """``Annotated[T, ...]`` → (T, metadata); T with ``None`` removed from a union."""
    meta: list[Any] = []
    if typing.get_origin(ann) is typing.Annotated:
        ann, *meta = typing.get_args(ann)
    args = typing.get_args(ann)
    if args and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            ann = rest[0]
    return ann, meta


def _specs(func: Callable[..., Any]) -> list[_Spec] | None:
    """The fast parser's view of ``func``'s parameters, or None when it cannot parse them."""
    import inspect

    out = []
    sig = inspect.signature(func)
    for name, ann in _hints(func).items():
        base, meta = _base(ann)
        decl = [m for m in meta if isinstance(m, Param)]
        if len(decl) != 1 or set(decl[0].kwargs) - _DISPLAY_ONLY:
            return None
        d = decl[0]
        default = sig.parameters[name].default
        required = default is inspect.Parameter.empty
        multiple = typing.get_origin(base) is list
        if multiple:
            (item,) = typing.get_args(base)
            if item is not str:
                return None
            convert: Callable[[str], Any] | None = str
        elif base is bool:
            if d.kind != "option" or default is not False:
                return None
            convert = None
        elif base in (str, int, float):
            convert = base
        else:
            return None
        if d.kind == "option":
            names = tuple(a for a in d.args if isinstance(a, str))
            if not names or not all(n.startswith("--") and "/" not in n for n in names):
                return None
        else:
            if d.args or multiple:
                return None
            names = ()
        out.append(_Spec(name, d.kind, names, convert, multiple, required, default))
    return out


def fast_call(args: list[str]) -> tuple[Callable[..., Any], dict[str, Any]] | None:
    """The declared command ``args[0]`` and the keyword arguments for ``args[1:]``, or None.

    None whenever the line is anything but plain (see the module docstring): typer then
    parses it. The command's module must have been imported (it registers itself).
    """
    if not args or args[0] not in _COMMANDS:
        return None
    func = _COMMANDS[args[0]]
    specs = _specs(func)
    if specs is None:
        return None
    by_name = {n: s for s in specs for n in s.names}
    positional = [s for s in specs if s.kind == "argument"]
    values: dict[str, Any] = {}
    rest = list(args[1:])
    pos: list[str] = []
    while rest:
        tok = rest.pop(0)
        if tok == "--" or tok in ("-h", "--help"):
            return None
        if tok.startswith("-") and tok != "-":
            name, eq, inline = tok.partition("=")
            spec = by_name.get(name)
            if spec is None:
                return None
            if spec.convert is None:  # a flag
                if eq or spec.name in values:
                    return None
                values[spec.name] = True
                continue
            if eq:
                raw = inline
            else:
                if not rest or rest[0].startswith("-"):
                    return None
                raw = rest.pop(0)
            try:
                value = spec.convert(raw)
            except ValueError:
                return None
            if spec.multiple:
                values.setdefault(spec.name, []).append(value)
            elif spec.name in values:
                return None
            else:
                values[spec.name] = value
        else:
            pos.append(tok)
    if len(pos) != len(positional):
        return None
    for spec, raw in zip(positional, pos, strict=True):
        try:
            values[spec.name] = spec.convert(raw) if spec.convert else raw
        except ValueError:
            return None
    kwargs: dict[str, Any] = {}
    for spec in specs:
        if spec.name in values:
            kwargs[spec.name] = values[spec.name]
        elif spec.required:
            return None
        else:
            kwargs[spec.name] = spec.default
    return func, kwargs

"""The command-line interface (typer): argument parsing, rich output, exit codes.

Belongs here: commands that parse options and call ``pipeline``, ``stats`` or
``report``; the mapping of errors to exit codes (user error: one ``error: …``
line and exit 2; a bug: a short message and exit 1, traceback with ``--debug``).

Commands declare their options with :mod:`survstudy.cli._decl` (typer's spelling, without
importing typer); :mod:`survstudy.cli.main` hands them to typer for ``--help`` and every
unusual command line, and runs a plain line of a declared command directly.

Must not be here: statistics or formatting rules. Heavy modules (pandas,
matplotlib) are imported inside commands, never at module level, so that
``survstudy --help`` and quick commands start fast.
"""

"""Running ``survstudy`` in-process for the API tests (the CLI is the oracle of parity)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import survstudy.cli.cox
import survstudy.cli.km
import survstudy.cli.logrank  # noqa: F401  (register the commands before any test patches the app)
from survstudy.cli import main as cli_main

REF = Path(__file__).resolve().parents[1] / "reference"
DATA = REF / "data"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Exit code, stdout, stderr of ``survstudy ARGS``."""
    cli_main._state["debug"] = False
    code = 0
    try:
        cli_main.main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def cli_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """``survstudy ARGS --json`` as parsed JSON (the command must succeed)."""
    code, out, err = run([*args, "--json"], capsys)
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


def as_json(payload: dict[str, Any]) -> Any:
    """``payload`` through the JSON text the command prints (same floats, lists for tuples)."""
    return json.loads(json.dumps(payload, ensure_ascii=False, allow_nan=False))

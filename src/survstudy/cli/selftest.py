"""``survstudy selftest``: certified-value checks of this installation.

Prints one line per check (pass/FAIL, worst relative error, tolerance, source) and the
machine it ran on; exits 0 when every check passes, 1 otherwise. ``--json`` prints the
same as one JSON object (see :meth:`survstudy.selftest.SelftestReport.to_dict`).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from survstudy.cli.main import app


@app.command()
def selftest(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    certified: Annotated[
        str | None,
        typer.Option(
            "--certified",
            help="A certified-values file to check instead of the one shipped with survstudy.",
        ),
    ] = None,
) -> None:
    """Check this installation against certified values (hand-solved and R survival)."""
    from survstudy.selftest import run_selftest

    report = run_selftest(certified)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2, allow_nan=False))
    else:
        _print(report)
    sys.exit(0 if report.passed else 1)


def _print(report: object) -> None:
    from survstudy.selftest import SelftestReport

    assert isinstance(report, SelftestReport)
    for err in report.errors:
        print(f"FAIL  {err}")
    width = max((len(c.id) for c in report.checks), default=0)
    for c in report.checks:
        verdict = "pass" if c.passed else "FAIL"
        err = "not run" if c.max_rel_error == float("inf") else f"{c.max_rel_error:.1e}"
        print(
            f"{verdict}  {c.id:<{width}}  {c.n_values:>3} values  max rel. error {err:>7} "
            f"(tolerance {c.rtol:.0e})  {c.title}"
        )
        print(f"{'':6}{'':<{width}}  source: {c.source}")
        for f in c.failures[:5]:
            print(f"{'':6}{'':<{width}}  {f}")
        if len(c.failures) > 5:
            print(f"{'':6}{'':<{width}}  … and {len(c.failures) - 5} more")
    m = report.machine
    ob = m.get("openblas") or {}
    blas = m.get("blas", "?")
    if ob:
        blas += f" (kernel {ob.get('kernel', '?')}, {ob.get('threads', '?')} threads)"
    print(
        f"machine: survstudy {m.get('survstudy')}, Python {m.get('python')}, "
        f"NumPy {m.get('numpy')}, SciPy {m.get('scipy')}, BLAS {blas}, "
        f"CPU {m.get('cpu')} ({m.get('cores')} cores), {m.get('platform')}"
    )
    if m.get("environment"):
        env = ", ".join(f"{k}={v}" for k, v in m["environment"].items())
        print(f"environment: {env}")
    n_failed = sum(not c.passed for c in report.checks) + len(report.errors)
    total = len(report.checks)
    if report.passed:
        print(f"selftest passed: {total} of {total} checks in {report.seconds:.1f} s")
    else:
        print(f"selftest FAILED: {n_failed} of {total} checks failed ({report.seconds:.1f} s)")

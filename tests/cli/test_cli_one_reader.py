"""Issue 15 item 11: one reader for every command, and one error line for a mistyped option.

Kinds of truth: identity (the same data written as a European CSV — ``;`` separator,
decimal commas — give the quick commands exactly the numbers of the ordinary CSV, as
``validate``/``run`` already read it) and hand-written expected messages.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from survstudy.cli import main as cli_main

ROWS = [
    (9.5, 1, "a", 1.25),
    (13, 1, "a", 2.5),
    (13, 0, "b", 0.75),
    (18.25, 1, "b", 3.0),
    (23, 1, "a", 1.5),
    (28, 0, "b", 2.0),
    (31.5, 1, "a", 0.5),
    (34, 1, "b", 1.0),
    (45, 0, "a", 2.25),
    (48, 1, "b", 1.75),
    (161, 0, "a", 0.25),
    (5, 1, "b", 3.5),
]


def _write(tmp: Path) -> tuple[Path, Path]:
    plain = tmp / "plain.csv"
    euro = tmp / "euro.csv"
    plain.write_text("time,status,arm,x\n" + "".join(f"{t},{e},{g},{x}\n" for t, e, g, x in ROWS))
    euro.write_text(
        "time;status;arm;x\n"
        + "".join(
            f"{str(t).replace('.', ',')};{e};{g};{str(x).replace('.', ',')}\n"
            for t, e, g, x in ROWS
        )
    )
    return plain, euro


def _json(args: list[str], capsys: pytest.CaptureFixture[str]) -> object:
    with pytest.raises(SystemExit) as exit_:
        cli_main.main(args)
    out = capsys.readouterr().out
    assert exit_.value.code == 0, out
    return json.loads(out)


@pytest.mark.parametrize("command", ["km", "cox", "logrank"])
def test_european_csv_reads_as_in_run(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Identity: ';' and decimal commas give the numbers of the ',' CSV (km, cox, logrank)."""
    plain, euro = _write(tmp_path)
    extra = {
        "km": ["--by", "arm"],
        "cox": ["--covariates", "x,arm", "--categorical", "arm"],
        "logrank": ["--by", "arm"],
    }[command]
    args = ["--time", "time", "--event", "status", *extra, "--json"]
    a = _json([command, str(plain), *args], capsys)
    b = _json([command, str(euro), *args], capsys)
    assert a == b
    if command == "km":
        assert isinstance(a, dict)
        # hand count: 6 patients per arm, 8 events in all
        assert [g["n"] for g in a["groups"]] == [6, 6]
        assert sum(g["events"] for g in a["groups"]) == 8


def _error(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_:
        cli_main.main(args)
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    return captured.err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["km", "x.csv", "--tiem", "t", "--event", "e"],
            "error: 'survstudy km' has no option --tiem (did you mean --time?); "
            "see 'survstudy km --help'\n",
        ),
        (
            ["cox", "x.csv", "--time", "t", "--event", "e", "--covariate", "a"],
            "error: 'survstudy cox' has no option --covariate (did you mean --covariates?); "
            "see 'survstudy cox --help'\n",
        ),
        (
            ["run", "s.yaml", "--profle", "spss"],
            "error: 'survstudy run' has no option --profle (did you mean --profile?); "
            "see 'survstudy run --help'\n",
        ),
        (
            ["km", "x.csv", "--event", "e"],
            "error: 'survstudy km': Missing option '--time'; see 'survstudy km --help'\n",
        ),
    ],
)
def test_mistyped_option_is_one_error_line(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hand-written expected message: one line naming the closest option, exit 2."""
    assert _error(args, capsys) == expected


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_quick_commands_do_not_import_pandas(suffix: str, tmp_path: Path) -> None:
    """Start-up: a quick command on CSV or Parquet imports neither pandas (pyarrow would, to
    check its inputs: ~0.3-0.8 s) nor, on a small CSV, pyarrow; checked in a fresh process."""
    import subprocess
    import sys

    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / f"d.{suffix}"
    cols = {"time": [1.0, 2.0, 3.0, 4.0], "event": [1, 0, 1, 1]}
    if suffix == "csv":
        path.write_text("time,event\n1,1\n2,0\n3,1\n4,1\n", encoding="utf-8")
    else:
        pq.write_table(pa.table(cols), path)
    code = (
        "import sys\n"
        "from survstudy.cli.main import main\n"
        f"sys.argv = ['survstudy', 'km', {str(path)!r}, '--time', 'time', '--event', 'event',"
        " '--json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('pandas' in sys.modules, 'pyarrow' in sys.modules, file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    pandas_loaded, pyarrow_loaded = out.stderr.split()[-2:]
    assert pandas_loaded == "False"
    assert pyarrow_loaded == ("False" if suffix == "csv" else "True")

"""Errors for people: the API raises the one-line message the command prints.

Kinds of truth: identity with the command line's stderr (``error: <message>``) on the
same table written as a Parquet file — the file format whose rows the command numbers as
the API numbers a DataFrame's (1, 2, … in table order) — with only the table's name
differing (the file name there, ``DataFrame`` here); hand-written expectations for the
rest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _api_cli import DATA, run

import survstudy
from survstudy.errors import AnalysisError, DataError


def _small() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "time": [5.0, 8.0, 12.0, 20.0, 31.0, 40.0],
            "status": [1, 0, 1, 1, 0, 1],
            "arm": ["A", "B", "A", "B", "A", "B"],
            "age": [61, 55, 70, 48, 66, 59],
        }
    )


def _same_as_cli(
    df: pd.DataFrame,
    args: list[str],
    call: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> DataError:
    path = tmp_path / "table.parquet"
    df.to_parquet(path, index=False)
    code, out, err = run([args[0], str(path), *args[1:]], capsys)
    assert code == 2
    assert out == ""
    with pytest.raises(DataError) as info:
        call(df)
    text = f"error: {info.value}\n"
    assert "\n" not in str(info.value)
    assert err == text.replace("DataFrame", str(path), 1)
    return info.value


def test_unknown_column_is_the_command_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Identity with ``survstudy km``: COLUMN-UNKNOWN listing the columns."""
    err = _same_as_cli(
        _small(),
        ["km", "--time", "tme", "--event", "status"],
        lambda d: survstudy.kaplan_meier(d, "tme", "status"),
        tmp_path,
        capsys,
    )
    assert err.code == "COLUMN-UNKNOWN"
    assert str(err) == (
        "[COLUMN-UNKNOWN] DataFrame, column 'tme': column 'tme' not found; "
        "columns are: time, status, arm, age"
    )


def test_non_01_event_is_the_command_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Identity with ``survstudy logrank``: EVENT-CODE naming the row (3rd row) and value."""
    df = _small().astype({"status": str})  # a text column (Parquet keeps one type per column)
    df.loc[2, "status"] = "Dead"
    err = _same_as_cli(
        df,
        ["logrank", "--time", "time", "--event", "status", "--by", "arm"],
        lambda d: survstudy.logrank(d, "time", "status", "arm"),
        tmp_path,
        capsys,
    )
    assert (err.code, err.row, err.column) == ("EVENT-CODE", 3, "status")
    assert "'Dead' (row 3)" in str(err)


def test_event_2_is_the_command_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Identity with ``survstudy cox``: an event coded 2 (R's 1/2 convention) is refused."""
    df = _small()
    df.loc[4, "status"] = 2
    err = _same_as_cli(
        df,
        ["cox", "--time", "time", "--event", "status", "--covariates", "age"],
        lambda d: survstudy.cox(d, "time", "status", ["age"]),
        tmp_path,
        capsys,
    )
    assert (err.code, err.row) == ("EVENT-CODE", 5)


def test_text_time_is_the_command_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Identity with ``survstudy km``: NOT-A-NUMBER in the time column."""
    df = _small().astype({"time": str})
    df.loc[1, "time"] = "8 months"
    err = _same_as_cli(
        df,
        ["km", "--time", "time", "--event", "status"],
        lambda d: survstudy.kaplan_meier(d, "time", "status"),
        tmp_path,
        capsys,
    )
    assert (err.code, err.row) == ("NOT-A-NUMBER", 2)


def test_negative_time_is_the_command_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Identity with ``survstudy km``: a negative follow-up time."""
    df = _small()
    df.loc[5, "time"] = -3.0
    err = _same_as_cli(
        df,
        ["km", "--time", "time", "--event", "status"],
        lambda d: survstudy.kaplan_meier(d, "time", "status"),
        tmp_path,
        capsys,
    )
    assert (err.code, err.row) == ("TIME-NEGATIVE", 6)


def test_text_covariate_is_the_command_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Identity with ``survstudy cox``: a covariate cell that is not a number."""
    df = _small().astype({"age": str})
    df.loc[3, "age"] = "about 50"
    err = _same_as_cli(
        df,
        ["cox", "--time", "time", "--event", "status", "--covariates", "age"],
        lambda d: survstudy.cox(d, "time", "status", ["age"]),
        tmp_path,
        capsys,
    )
    assert (err.code, err.row) == ("NOT-A-NUMBER", 4)


def test_missing_values_are_dropped_and_counted_as_the_command_does(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Identity with ``survstudy km --json``: lung's missing ph.ecog row is left out of the
    curves by ph.ecog and counted in n_dropped (R's na.action = na.omit)."""
    df = pd.read_csv(DATA / "lung.csv")
    df["ev"] = (df["status"] == 2).astype(int)
    fit = survstudy.kaplan_meier(df, "time", "ev", by="ph.ecog")
    assert (fit.n_read, fit.n_dropped) == (228, 1)
    assert sum(res.n for _, res in fit.curves) == 227


def test_missing_event_value_in_pandas_nullable_column_is_dropped() -> None:
    """Hand calculation: pd.NA in a nullable Int64 event column is a missing cell (dropped),
    and booleans are accepted as events: 5 rows left, 3 events."""
    df = _small()
    df["status"] = pd.array([1, 0, pd.NA, 1, 0, 1], dtype="Int64")
    fit = survstudy.kaplan_meier(df, "time", "status")
    assert (fit.n_dropped, fit.curves[0][1].n, fit.curves[0][1].events) == (1, 5, 3)
    df["status"] = [True, False, True, True, False, True]
    assert survstudy.kaplan_meier(df, "time", "status").curves[0][1].events == 4


def test_event_codes_value_not_covered_is_the_command_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Identity with ``survstudy km --event-codes event=Dead,censored=Alive``: a value the
    mapping does not cover is an EVENT-CODE error naming the value and its rows."""
    df = _small().astype({"status": str})
    df["status"] = ["Dead", "Alive", "Dead", "dead", "Lost", "Alive"]
    codes = {"event": ["Dead"], "censored": ["Alive"]}
    err = _same_as_cli(
        df,
        ["km", "--time", "time", "--event", "status", "--event-codes", "event=Dead,censored=Alive"],
        lambda d: survstudy.kaplan_meier(d, "time", "status", event_codes=codes),
        tmp_path,
        capsys,
    )
    assert (err.code, err.row) == ("EVENT-CODE", 5)
    assert "'Lost' (row 5)" in str(err)
    # matching ignores case and surrounding spaces, as in a study spec ("dead" is an event)
    df.loc[4, "status"] = " alive "
    assert survstudy.kaplan_meier(df, "time", "status", event_codes=codes).curves[0][1].events == 3


def test_event_codes_are_checked() -> None:
    """Hand-written expectations: event_codes needs both keys, no value on both sides, and
    refuses competing events (they are not censorings)."""
    df = _small()
    for codes, message in (
        ({"event": [1]}, "must have the keys 'event' and 'censored'"),
        ({"event": [1], "censored": [1.0]}, "listed as event and as censored"),
        ({"event": [1], "censored": [0], "competing": [2]}, "competing"),
    ):
        with pytest.raises(AnalysisError, match=message):
            survstudy.kaplan_meier(df, "time", "status", event_codes=codes)


def test_errors_are_importable_from_the_top_level() -> None:
    """Identity: the public errors are the ones in survstudy.errors."""
    import survstudy.errors as errors

    for name in ("SurvstudyError", "SpecError", "DataError", "AnalysisError"):
        assert getattr(survstudy, name) is getattr(errors, name)
    assert issubclass(survstudy.DataError, survstudy.SurvstudyError)


def test_bad_arguments() -> None:
    """Hand-written expectations: options outside their choices are AnalysisError; a column
    given as a Series (not a name) is a TypeError; a non-table is a TypeError."""
    df = _small()
    with pytest.raises(AnalysisError, match="conf_type must be one of"):
        survstudy.kaplan_meier(df, "time", "status", conf_type="arcsine")
    with pytest.raises(AnalysisError, match="weights must be one of"):
        survstudy.logrank(df, "time", "status", "arm", weights="wilcoxon")
    with pytest.raises(AnalysisError, match="categorical arm is not one of the covariates"):
        survstudy.cox(df, "time", "status", ["age"], categorical=["arm"])
    with pytest.raises(TypeError, match="time must be a column name"):
        survstudy.kaplan_meier(df, df["time"], "status")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="data must be a pandas DataFrame"):
        survstudy.kaplan_meier([1, 2, 3], "time", "status")
    with pytest.raises(AnalysisError, match="id applies to interval data"):
        survstudy.kaplan_meier(df, "time", "status", id="arm")
    with pytest.raises(AnalysisError, match="permutation is not available with start"):
        survstudy.logrank(df, "time", "status", "arm", start="age", permutation="exact")
    with pytest.raises(AnalysisError, match="firth is not available with start"):
        survstudy.cox(df, "time", "status", ["age"], start="age", firth=True)


def test_bad_interval_is_the_command_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Identity with ``survstudy cox --start``: an interval whose start is not before its
    stop is refused with the command's line naming the row."""
    df = _small().assign(entry=[0.0, 0.0, 12.0, 5.0, 0.0, 0.0])  # row 3: entry 12 = time 12
    err = _same_as_cli(
        df,
        ["cox", "--start", "entry", "--time", "time", "--event", "status", "--covariates", "age"],
        lambda d: survstudy.cox(d, "time", "status", ["age"], start="entry"),
        tmp_path,
        capsys,
    )
    assert "row 3" in str(err)


def test_duplicate_column_names() -> None:
    """Hand-written expectation: two columns with one name, as a file's header would be."""
    df = pd.DataFrame([[1.0, 1, 2]], columns=["time", "status", "time"])
    with pytest.raises(DataError, match=r"\[COLUMN-DUPLICATE\] DataFrame, column 'time'"):
        survstudy.kaplan_meier(df, "time", "status")

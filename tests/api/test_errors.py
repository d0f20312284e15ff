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
from _api_cli import DATA, as_json, cli_json, run

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
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Identity with ``survstudy km --json`` on R's lung (one ph.ecog is NA, data row 14):
    ``missing="drop"`` leaves the row out of the curves by ph.ecog and counts it in n_dropped
    (R's na.action = na.omit: survfit(Surv(time, status) ~ ph.ecog, lung) has n = 227); the
    default refuses it, naming row 14 (lung.csv's 14th data line has ph.ecog NA)."""
    df = pd.read_csv(DATA / "lung.csv")
    df["ev"] = (df["status"] == 2).astype(int)
    path = tmp_path / "lung01.csv"
    df.to_csv(path, index=False)
    fit = survstudy.kaplan_meier(df, "time", "ev", by="ph.ecog", missing="drop")
    assert (fit.n_read, fit.n_dropped) == (228, 1)
    assert sum(res.n for _, res in fit.curves) == 227
    cli = cli_json(["km", str(path), "--time", "time", "--event", "ev", "--by", "ph.ecog"], capsys)
    assert as_json(fit.to_dict()) == cli
    assert "228 rows, 1 dropped (missing values)" in str(fit)
    with pytest.raises(DataError) as info:
        survstudy.kaplan_meier(df, "time", "ev", by="ph.ecog")
    assert str(info.value) == (
        "[MISSING-VALUE] DataFrame, row 14, column 'ph.ecog': missing value; 1 row of 228 "
        'has a missing value in the columns used; missing="drop" leaves them out, as '
        "survstudy km does"
    )


def test_missing_event_value_in_pandas_nullable_column_is_dropped() -> None:
    """Hand calculation: with ``missing="drop"``, pd.NA in a nullable Int64 event column is
    a missing cell (dropped), and booleans are accepted as events: 5 rows left, 3 events."""
    df = _small()
    df["status"] = pd.array([1, 0, pd.NA, 1, 0, 1], dtype="Int64")
    fit = survstudy.kaplan_meier(df, "time", "status", missing="drop")
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


# --------------------------------------------------------------------------- missing values


def _roles() -> pd.DataFrame:
    """Six rows with a column for every role a call can give a column."""
    return _small().assign(
        entry=[0.0, 1.0, 2.0, 0.0, 3.0, 0.0],
        centre=["X", "Y", "X", "Y", "X", "Y"],
        site=[1, 2, 3, 1, 2, 3],
        pid=[11, 12, 13, 14, 15, 16],
        cr=[1, 0, 2, 1, 2, 1],
    )


#: call, its command, the roles it gives a column (role -> column of _roles())
CALLS: dict[str, tuple[Any, str, dict[str, str]]] = {
    "kaplan_meier": (
        lambda d: survstudy.kaplan_meier(d, "time", "status", by="arm", start="entry", id="pid"),
        "survstudy km",
        {"time": "time", "event": "status", "start": "entry", "by": "arm", "id": "pid"},
    ),
    "logrank": (
        lambda d: survstudy.logrank(d, "time", "status", "arm", strata="centre", start="entry"),
        "survstudy logrank",
        {"time": "time", "event": "status", "start": "entry", "by": "arm", "strata": "centre"},
    ),
    "cox": (
        lambda d: survstudy.cox(
            d,
            "time",
            "status",
            ["age", "arm"],
            categorical=["arm"],
            strata="centre",
            cluster="site",
            start="entry",
        ),
        "survstudy cox",
        {
            "time": "time",
            "event": "status",
            "start": "entry",
            "strata": "centre",
            "covariates": "age",
            "categorical covariate": "arm",
            "cluster": "site",
        },
    ),
    "cox_id": (
        lambda d: survstudy.cox(d, "time", "status", ["age"], start="entry", id="pid"),
        "survstudy cox",
        {"id": "pid"},
    ),
    "cumulative_incidence": (
        lambda d: survstudy.cumulative_incidence(
            d, "time", "cr", by="arm", strata="centre", cause=1, competing=2
        ),
        "survstudy cif",
        {"time": "time", "event": "cr", "by": "arm", "strata": "centre"},
    ),
    "fine_gray": (
        lambda d: survstudy.fine_gray(d, "time", "cr", ["age", "arm"], cause=1, competing=2),
        "survstudy cox --fine-gray",
        {"time": "time", "event": "cr", "covariates": "age", "categorical covariate": "arm"},
    ),
}

CASES = [
    (call, role, kind)
    for call, (_, _, roles) in CALLS.items()
    for role in roles
    for kind in ("NaN", "None", "pd.NA")
]


def _with_missing(df: pd.DataFrame, column: str, index: int, kind: str) -> pd.DataFrame:
    """``df`` with the cell (index, column) missing as ``kind``: NaN in a float column,
    None in an object column, pd.NA in a pandas nullable column (Float64 or string)."""
    df = df.copy()
    text = df[column].dtype == object
    if kind == "NaN":
        if text:
            df[column] = df[column].astype(object)
            df.loc[index, column] = float("nan")
        else:
            df[column] = df[column].astype(float)
            df.loc[index, column] = float("nan")
    elif kind == "None":
        df[column] = df[column].astype(object)
        df.loc[index, column] = None
    else:
        df[column] = df[column].astype("string" if text else "Float64")
        df.loc[index, column] = pd.NA
    return df


@pytest.mark.parametrize(("call", "role", "kind"), CASES)
def test_missing_value_raises_by_default(call: str, role: str, kind: str) -> None:
    """Hand-written expectations: a missing cell (NaN, None, pd.NA) in any column the call
    uses raises MISSING-VALUE naming the first one: here the 3rd row of the role's column,
    another missing time in the 5th row makes 2 rows with a missing value (1 when the role
    is the time column itself). The message is the commands' one-line style; no value, no
    identifier (the pid values 11…16 never appear)."""
    fn, command, roles = CALLS[call]
    column = roles[role]
    df = _with_missing(_roles(), column, 2, kind)
    df = _with_missing(df, "time", 4, kind)
    with pytest.raises(DataError) as info:
        fn(df)
    err = info.value
    assert (err.code, err.row, err.column, err.value) == ("MISSING-VALUE", 3, column, None)
    assert str(err) == (
        f"[MISSING-VALUE] DataFrame, row 3, column '{column}': missing value; 2 rows of 6 "
        f'have a missing value in the columns used; missing="drop" leaves them out, as '
        f"{command} does"
    )
    for pid in range(11, 17):
        assert str(pid) not in str(err)


def test_missing_drop_leaves_the_rows_out() -> None:
    """Hand calculation: with ``missing="drop"`` the rows with a missing cell (row 3: arm
    None; row 5: time NaN) are left out: 4 rows of 6, n_dropped 2, the same fit as the table
    without them (events: rows 1, 4, 6 → 3; log-rank and Cox on the same 4 rows)."""
    df = _with_missing(_with_missing(_small(), "arm", 2, "None"), "time", 4, "NaN")
    kept = _small().drop(index=[2, 4]).reset_index(drop=True)
    km = survstudy.kaplan_meier(df, "time", "status", by="arm", missing="drop")
    assert (km.n_read, km.n_dropped) == (6, 2)
    assert [(lv, r.n, r.events) for lv, r in km.curves] == [("A", 1, 1), ("B", 3, 2)]
    assert "6 rows, 2 dropped (missing values)" in str(km)
    lr = survstudy.logrank(df, "time", "status", "arm", missing="drop")
    assert lr.statistic == survstudy.logrank(kept, "time", "status", "arm").statistic
    assert lr.n_dropped == 2
    fit = survstudy.cox(df, "time", "status", ["age", "arm"], categorical=["arm"], missing="drop")
    ref = survstudy.cox(kept, "time", "status", ["age", "arm"], categorical=["arm"])
    assert [t.coef for t in fit.result.terms] == [t.coef for t in ref.result.terms]
    assert fit.result.n_dropped == 2


def test_first_missing_is_the_first_row_then_the_first_role() -> None:
    """Hand-written expectations: the error names the earliest row with a missing cell and,
    within it, the first column in the call's order (time, event, start, by, …); text the
    commands read as missing ("NA", ".", "") counts too."""
    df = _roles().astype({"arm": object, "status": object})
    df.loc[3, "arm"] = "NA"
    df.loc[3, "status"] = "."
    df.loc[5, "time"] = float("nan")
    with pytest.raises(DataError) as info:
        survstudy.kaplan_meier(df, "time", "status", by="arm")
    assert (info.value.row, info.value.column) == (4, "status")
    assert "2 rows of 6 have" in str(info.value)
    df.loc[3, "status"] = 1
    with pytest.raises(DataError, match=r"row 4, column 'arm': missing value; 2 rows"):
        survstudy.kaplan_meier(df, "time", "status", by="arm")
    df.loc[3, "arm"] = ""
    with pytest.raises(DataError, match=r"row 4, column 'arm'"):
        survstudy.kaplan_meier(df, "time", "status", by="arm")


def test_missing_value_comes_after_unknown_column_and_bad_argument() -> None:
    """Hand-written expectations: an unknown column is reported before a missing value; a
    ``missing`` outside its choices is an AnalysisError before the table is read."""
    df = _with_missing(_small(), "time", 0, "NaN")
    with pytest.raises(DataError, match=r"^\[COLUMN-UNKNOWN\]"):
        survstudy.kaplan_meier(df, "time", "status", by="grp")
    for fn in (
        lambda m: survstudy.kaplan_meier(df, "time", "status", missing=m),
        lambda m: survstudy.logrank(df, "time", "status", "arm", missing=m),
        lambda m: survstudy.cox(df, "time", "status", ["age"], missing=m),
        lambda m: survstudy.cumulative_incidence(
            df, "time", "status", cause=1, competing=2, missing=m
        ),
        lambda m: survstudy.fine_gray(
            df, "time", "status", ["age"], cause=1, competing=2, missing=m
        ),
    ):
        with pytest.raises(AnalysisError, match="missing must be 'error' or 'drop', not 'omit'"):
            fn("omit")

"""tables.model: the table model and Table 1 from the pipeline's Table1Result (hand-written)."""

from __future__ import annotations

import pytest

from survstudy.pipeline.results import Table1Result, Table1Row
from survstudy.stats import descriptive as d
from survstudy.tables.model import (
    Column,
    Note,
    Row,
    Table1Options,
    Table1Variable,
    TableModel,
    table1_model,
)


def _model() -> TableModel:
    return TableModel(
        key="t",
        title="Table X",
        columns=[Column("a", "Name"), Column("b", "Value", align="right")],
        rows=[
            Row(kind="label", cells={"a": "Grade"}),
            Row(kind="level", cells={"a": "III", "b": "8 (66.7)"}, indent=1),
        ],
        footnotes=["HR, hazard ratio."],
        notes=[(1, "few patients", "b")],
    )


def test_model_id_key_and_records() -> None:
    """Hand-written: id and key are one identifier; records are column key -> text."""
    m = _model()
    assert m.id == m.key == "t"
    assert m.to_records() == [{"a": "Grade", "b": ""}, {"a": "III", "b": "8 (66.7)"}]
    assert m.to_records(headers=True)[1] == {"Name": "III", "Value": "8 (66.7)"}
    assert m.notes == (Note(1, "few patients", "b"),)
    assert m.to_dict()["rows"][1]["indent"] == 1


def test_model_text() -> None:
    """Hand-written: the terminal rendering, aligned, indented, right-aligned numbers."""
    assert _model().to_text() == (
        "Table X\n"
        "Name      Value\n"
        "-----  --------\n"
        "Grade\n"
        "  III  8 (66.7)\n"
        "Note (row 2, b): few patients\n"
        "HR, hazard ratio.\n"
    )


def test_row_kind_checked() -> None:
    """Identity: an unknown row kind is a programming error."""
    with pytest.raises(ValueError, match="row kind"):
        Row(kind="bogus", cells={})


def test_table1_from_pipeline_result_by_group() -> None:
    """Hand-written: a stratified Table 1 from the pipeline's result objects (journal style)."""
    g1 = Table1Row("age", "Age", "continuous", n=3, median=40, min=30, max=50)
    g2 = Table1Row("age", "Age", "continuous", n=2, median=55.5, min=51, max=60)
    rows = (
        Table1Row(
            "age",
            "Age",
            "continuous",
            n=5,
            median=50,
            min=30,
            max=60,
            groups=(g1, g2),
            p_value=0.2,
            test="Mann–Whitney U test",
        ),
        Table1Row(
            "grade",
            "Grade",
            "level",
            level="I/II",
            n=2,
            denominator=4,
            percent=50.0,
            sublevels=(("I", 1), ("II", 1)),
            groups=(
                Table1Row("grade", "Grade", "level", level="I/II", n=1, percent=100 / 3),
                Table1Row("grade", "Grade", "level", level="I/II", n=1, percent=100.0),
            ),
            p_value=0.0004,
            test="Fisher's exact test",
        ),
        Table1Row(
            "grade",
            "Grade",
            "level",
            level="III",
            n=2,
            denominator=4,
            percent=50.0,
            groups=(
                Table1Row("grade", "Grade", "level", level="III", n=2, percent=200 / 3),
                Table1Row("grade", "Grade", "level", level="III", n=0, percent=0.0),
            ),
        ),
        Table1Row(
            "grade",
            "Grade",
            "missing",
            n=1,
            groups=(
                Table1Row("grade", "Grade", "missing", n=0),
                Table1Row("grade", "Grade", "missing", n=1),
            ),
        ),
    )
    t1 = Table1Result(
        n=5,
        rows=rows,
        continuous="median-range",
        by="arm",
        by_label="Arm",
        by_levels=(("A", 3), ("B", 2)),
        tests=("Mann–Whitney U test", "Fisher's exact test"),
    )
    m = table1_model(t1)
    assert [c.header for c in m.columns] == [
        "Variable (n = 5)",
        "Category",
        "Overall (n = 5)",
        "A (n = 3)",
        "B (n = 2)",
        "p",
    ]
    got = [tuple(r.text(c.key) for c in m.columns) for r in m.rows]
    assert got == [
        ("Age, median (range)", "All", "50 (30–60)", "40 (30–50)", "55.5 (51–60)", "0.200"),
        ("Grade (n=4), n (%)", "I (n=1)/II (n=1)", "2 (50.0)", "1 (33.3)", "1 (100.0)", "<0.001"),
        ("", "III", "2 (50.0)", "2 (66.7)", "0 (0.0)", ""),
        ("", "Missing", "1", "0", "1", ""),
    ]
    assert [r.kind for r in m.rows] == ["summary", "level", "level", "missing"]
    assert m.footnotes == ("p-values: Mann–Whitney U test; Fisher's exact test.",)


def test_table1_variables_missing_and_iqr() -> None:
    """Hand-written: a missing line after the levels; median (IQR) with type-7 quartiles
    of 1..5 = 2 and 4; a group test on the first line."""
    v = [
        Table1Variable("x", "Score", d.describe([1, 2, 3, 4, 5, float("nan")])),
        Table1Variable(
            "s",
            "Sex",
            d.categorical_counts(["F", "M", "F", None], ["F", "M"]),
            level_labels={"F": "Female", "M": "Male"},
            test=d.GroupTestResult("Fisher's exact test", 1.0),
        ),
    ]
    m = table1_model(v, n=4, options=Table1Options(continuous="median-iqr"))
    got = [
        (r.text("variable"), r.text("category"), r.text("statistic"), r.text("p")) for r in m.rows
    ]
    assert got == [
        ("Score, median (IQR)", "All", "3 (2–4)", ""),
        ("", "Missing", "1", ""),
        ("Sex (n=3), n (%)", "Female", "2 (66.7)", ">0.999"),
        ("", "Male", "1 (33.3)", ""),
        ("", "Missing", "1", ""),
    ]


def test_table1_texts_match_model() -> None:
    """Hand-written: results.json texts are the printed statistics, seed style."""
    from survstudy.tables.model import table1_texts

    t1 = Table1Result(
        n=12,
        rows=(
            Table1Row("age", "Age", "continuous", n=12, median=46, min=29, max=57),
            Table1Row("er", "ER", "level", level="Positive", n=9, denominator=12, percent=75.0),
        ),
        continuous="median-range",
    )
    assert table1_texts(t1, Table1Options.seed()) == ["46 (29-57)", "9 (75)"]
    assert table1_texts(t1) == ["46 (29–57)", "9 (75.0)"]


def test_suffix_not_doubled() -> None:
    """Hand-written: a label that already ends in 'n (%)' is not suffixed again."""
    v = [Table1Variable("s", "Sex, n (%)", d.categorical_counts(["F", "M"], ["F", "M"]))]
    m = table1_model(v, n=2)
    assert m.rows[0].text("variable") == "Sex, n (%)"
    assert m.rows[0].text("statistic") == "1 (50.0)"

"""A hand-built report bundle for the renderer tests (no pipeline, no statistics).

Run as a script (``python sample_bundle.py OUT_DIR``) it writes the report; the
determinism test runs it in subprocesses with different TZ/LANG/PYTHONHASHSEED.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from survstudy.report import (
    SYNTHETIC_BANNER,
    FigureSpec,
    FlowStep,
    Provenance,
    QualityNote,
    ReportBundle,
    ReportWarning,
    methods_paragraph,
)
from survstudy.tables.model import Column, Row, TableModel

EVIL = "<script>alert('x')</script>"


def tables() -> list[TableModel]:
    t1 = TableModel(
        id="table1",
        title="Table 1. Characteristics of the patients",
        columns=[
            Column("variable", "Variable (n = 12)"),
            Column("category", "Category"),
            Column("statistic", "Statistics"),
        ],
        rows=[
            Row(
                "summary",
                {"variable": "Age, median (range)", "category": "", "statistic": "46 (29-57)"},
            ),
            Row("level", {"variable": "Grade, n (%)", "category": "II", "statistic": "5 (41.7)"}),
            Row("level", {"variable": "", "category": "III", "statistic": "7 (58.3)"}),
            Row(
                "level",
                {
                    "variable": f"Site {EVIL}",
                    "category": '=HYPERLINK("http://x")',
                    "statistic": "+1",
                },
            ),
            Row("level", {"variable": "@SUM(A1)", "category": "-cmd", "statistic": "-0.5"}),
        ],
        footnotes=["Liver resection type (n=11)."],
    )
    surv = TableModel(
        id="survival_summary",
        title="Table 2. Survival",
        columns=[Column("statistic", ""), Column("PFS", "Progression-free survival")],
        rows=[
            Row("level", {"statistic": "Patients, n", "PFS": "12"}),
            Row("level", {"statistic": "3-year survival, % (95% CI)", "PFS": "69 (31–89)"}),
        ],
    )
    uni = TableModel(
        id="univariable_dfs",
        title="Table 3. Univariable analysis of disease-free survival",
        columns=[
            Column("variable", "Variable"),
            Column("hr", "HR (95% CI)"),
            Column("p", "p", "right"),
        ],
        rows=[
            Row("label", {"variable": "Grade", "hr": "", "p": "0.031"}),
            Row("reference", {"variable": "II", "hr": "1 (reference)", "p": ""}, indent=1),
            Row("level", {"variable": "III", "hr": "9.87 (1.02–95.3)", "p": "0.048"}, indent=1),
        ],
        footnotes=["HR, hazard ratio; CI, confidence interval."],
    )
    return [t1, surv, uni]


def tiny_figure() -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 2))
    ax = fig.add_subplot()
    ax.step([0, 12, 24, 36], [1.0, 0.9, 0.8, 0.7], where="post")
    ax.set_xlabel("Months")
    ax.text(0, 0.6, "at risk 12")
    return fig


def make_bundle(*, with_figure: bool = True, title: str = "Liver metastasis study") -> ReportBundle:
    return ReportBundle(
        title=title,
        subtitle="Synthetic example",
        banner=SYNTHETIC_BANNER,
        flow=[
            FlowStep("Patients in the data file", 15),
            FlowStep("Surgery January 2011 – November 2020", 13, 2, "surgery outside the window"),
            FlowStep("Included", 12, 1, "extrahepatic disease at operation"),
        ],
        quality=[
            QualityNote(
                "DATE-ORDER",
                "warning",
                "progression date before surgery date",
                row=7,
                column="progression_date",
            ),
        ],
        tables=tables(),
        figures=[FigureSpec("km_pfs", "Kaplan–Meier estimate of PFS.", figure=tiny_figure())]
        if with_figure
        else [],
        methods=methods_paragraph(
            {
                "ci": "log-log",
                "tests": ["log-rank"],
                "cox": True,
                "ties": "Efron",
                "software": {"survstudy": "0.1.0", "Python": "3.11"},
            }
        ),
        warnings=[
            ReportWarning(
                "Fewer than 10 patients remained at risk.",
                table="survival_summary",
                row=1,
                column="PFS",
            ),
            ReportWarning(
                "Monotone likelihood: the hazard ratio is not finite.",
                table="univariable_dfs",
                row=2,
            ),
            ReportWarning("General caution about small samples."),
            ReportWarning("Few events: hazard ratios are imprecise.", table="univariable_dfs"),
        ],
        provenance=Provenance(
            "a" * 64, "b" * 64, {"survstudy": "0.1.0"}, "survstudy run study.yaml", None
        ),
        results={"n": 12, "median": float("nan"), "hr": 9.87, "levels": ("II", "III")},
    )


if __name__ == "__main__":
    from survstudy.report import write_report

    write_report(make_bundle(), Path(sys.argv[1]))

"""build_bundle helpers on hand-made stand-ins for StudyResults (no pipeline run).

Kind of truth: hand-written expected boxes, notes and wording.
"""

from __future__ import annotations

from types import SimpleNamespace

from survstudy.report import FlowStep, QualityNote
from survstudy.report.build import _flow, _quality, pipeline_methods
from survstudy.report.bundle import methods_paragraph


def test_flow_boxes_from_pipeline_steps() -> None:
    """7 rows -> 1 excluded (window) -> 6 -> 1 excluded (extrahepatic) -> 5 analysed."""
    res = SimpleNamespace(
        n=5,
        flow=(
            {
                "description": "Rows in the data file",
                "n_before": 7,
                "n_excluded": 0,
                "n_after": 7,
                "reason": "",
            },
            {
                "description": "date(x) >= 1",
                "n_before": 7,
                "n_excluded": 1,
                "n_after": 6,
                "reason": "Surgery outside the window",
            },
            {"description": "no-op", "n_before": 6, "n_excluded": 0, "n_after": 6, "reason": ""},
            {
                "description": "extrahepatic == 'Yes'",
                "n_before": 6,
                "n_excluded": 1,
                "n_after": 5,
                "reason": "",
            },
        ),
    )
    assert _flow(res) == [
        FlowStep("Rows in the data file", 7),
        FlowStep("Remaining", 6, 1, "Surgery outside the window"),
        FlowStep("Included in the analysis", 5, 1, "extrahepatic == 'Yes'"),
    ]
    assert _flow(SimpleNamespace(n=12, flow=())) == [FlowStep("Patients analysed", 12)]


def test_quality_notes_drop_repeated_prefix() -> None:
    res = SimpleNamespace(
        quality=(),
        quality_issues=(
            {
                "code": "MISSING",
                "severity": "warning",
                "message": "warning: [MISSING] row 4: gone",
                "row": 4,
                "column": "x",
            },
        ),
    )
    assert _quality(res) == [QualityNote("MISSING", "warning", "row 4: gone", 4, "x")]


def test_methods_paragraph_from_pipeline_facts() -> None:
    """The pipeline's facts (standard profile) worded as a paragraph."""
    text = methods_paragraph(
        pipeline_methods(
            {
                "profile": "standard",
                "software": "survstudy 0.1.0 (Python 3.11.7)",
                "km_ci": "log-log pointwise confidence intervals (Greenwood variance)",
                "conf_level": 0.95,
                "median_rule": "r",
                "ties": "efron",
                "tests": ["Log-rank"],
                "followup": "reverse Kaplan–Meier",
                "sentences": ["PFS: time from surgery to progression or death."],
            }
        )
    )
    assert text.startswith(
        "Survival was estimated with the Kaplan–Meier method, with 95% log-log pointwise "
        "confidence intervals (Greenwood variance). The median survival time was the first time"
    )
    assert "Median follow-up was estimated by the reverse Kaplan–Meier method." in text
    assert "(Efron method for tied event times)." in text
    assert "compared with the log-rank test." in text
    assert "Analyses were performed with survstudy 0.1.0 (Python 3.11.7)." in text
    assert text.endswith(
        "PFS: time from surgery to progression or death. Methods profile: standard. "
        "Analyses were performed with survstudy 0.1.0 (Python 3.11.7)."
    )

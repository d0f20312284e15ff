"""build_bundle helpers on hand-made stand-ins for StudyResults (no pipeline run).

Kind of truth: hand-written expected boxes, notes and wording.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from survstudy.report import FlowStep, QualityNote
from survstudy.report.build import _flow, _quality, pipeline_methods
from survstudy.report.bundle import methods_paragraph, references_of


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
        "Survival was estimated with the Kaplan–Meier method (Kaplan and Meier 1958), with 95% "
        "log-log pointwise confidence intervals (Greenwood variance; Greenwood 1926). The "
        "median survival time was the first time"
    )
    # the median-CI and PH-test variants are named (issue 22 item 6)
    assert (
        "with its confidence interval read off the log-log confidence band of the curve "
        "(Brookmeyer and Crowley 1982)" in text
    )
    assert (
        "Grambsch–Therneau score test of scaled Schoenfeld residuals on the Kaplan–Meier time "
        "scale, as R's cox.zph (Grambsch and Therneau 1994)" in text
    )
    assert (
        "Median follow-up was estimated by the reverse Kaplan–Meier method "
        "(Schemper and Smith 1996)." in text
    )
    assert "(Efron method for tied event times; Efron 1977)." in text
    assert "compared with the log-rank test (Mantel 1966)." in text
    # no jargon: the profile's name is not printed (issue 22 item 6)
    assert "Methods profile" not in text
    assert "standard" not in text
    assert text.endswith(
        "PFS: time from surgery to progression or death. "
        "Analyses were performed with survstudy 0.1.0 (Python 3.11.7)."
    )
    refs = references_of(text)
    assert refs[0].startswith("Kaplan EL, Meier P.")
    assert not [r for r in refs if r.startswith("Heinze")]  # Firth not cited, not listed


def test_methods_only_the_methods_used() -> None:
    """A study without Cox models or group comparisons names neither (issue 22 item 6), and
    the software sentence says against which R survival version the numbers were checked."""
    text = methods_paragraph(
        pipeline_methods(
            {
                "software": "survstudy 0.1.0 (Python 3.11.7)",
                "km_ci": "log-log pointwise confidence intervals (Greenwood variance)",
                "conf_level": 0.9,
                "median_rule": "r",
                "conf_type": "log-log",
                "ties": "efron",
                "tests": ["log-rank"],
                "cox_used": False,
                "logrank_used": False,
                "verified_against": "R survival 3.5.3",
            }
        )
    )
    assert "Cox" not in text
    assert "Grambsch" not in text
    assert "log-rank" not in text
    assert "with 90% log-log pointwise" in text
    assert text.endswith(
        "Analyses were performed with survstudy 0.1.0 (Python 3.11.7); the numbers were "
        "verified against R survival 3.5.3 in the test suite (Therneau 2023)."
    )
    refs = references_of(text)
    assert len(refs) == 4  # Kaplan–Meier, Greenwood, Brookmeyer–Crowley, Therneau
    assert not [r for r in refs if "Cox DR" in r or "Mantel" in r]


def test_verified_r_survival_version_is_the_fixtures() -> None:
    """The version the methods cite is the one that wrote the R fixtures (their meta)."""
    import json

    from survstudy.pipeline.methods import R_SURVIVAL_VERIFIED

    ref = Path(__file__).parents[1] / "reference"
    versions = {
        json.loads((ref / name).read_text())["meta"]["survival"]
        for name in ("gbsg.json", "issue22.json")
    }
    assert versions == {R_SURVIVAL_VERIFIED}


def test_ph_residual_caption_says_when_points_are_thinned() -> None:
    """Hand-written expectation: the β(t) figure draws at most 5,000 residuals per panel
    (plots.zph.MAX_POINTS); with 762,221 residuals in the largest panel the caption says how
    many are drawn and how they are chosen; at 5,000 or fewer, nothing is added."""
    import numpy as np

    from survstudy.report.build import _thinned_caption

    def panel(n: int) -> SimpleNamespace:
        return SimpleNamespace(y=np.zeros(n))

    assert _thinned_caption([panel(120), panel(5000)]) == ""
    assert _thinned_caption([SimpleNamespace(y=None)]) == ""
    assert _thinned_caption([panel(762_221), panel(10)]) == (
        " With up to 762,221 residuals per covariate, at most 5000 of those within the plotted range "
        "are drawn, evenly spaced in time order (the smooth and the test use them all)."
    )

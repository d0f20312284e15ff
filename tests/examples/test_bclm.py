"""The seed study (examples/bclm, SYNTHETIC data) against the published paper.

Sen E, Canbak T, Bostanci O, Battal M. J Coll Physicians Surg Pak 2024;34(05):604-609.
Kinds of truth: the published Table I (typed in by hand below), the published counts
and Kaplan-Meier rates (text of the Results), hand-calculated KM products (DESIGN.md),
and identity (the packaged copy of the example equals the repository's).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from survstudy.data import build_cohort
from survstudy.pipeline import run_study
from survstudy.spec import load_spec
from survstudy.tables.study import table1_table

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
PACKAGED = ROOT / "src" / "survstudy" / "examples"

# Table I as printed in the paper: (variable cell, category cell, statistic cell).
# The paper's subscripts "I (n=3)" are typed as plain text.
PUBLISHED_TABLE_I = [
    ("Diagnostic age#", "All", "46 (29-57)"),
    ("Metastatic age#", "All", "51 (31-59)"),
    ("pT stage, n (%)", "I (n=3)/II (n=4)", "7 (58.3)"),
    ("", "III", "5 (41.7)"),
    ("pN stage, n (%)", "0 (n=1)/I (n=5)", "6 (50)"),
    ("", "II (n=5)/III (n=1)", "6 (50)"),
    ("Breast cancer", "Unilateral", "11 (91.7)"),
    ("", "Bilateral", "1 (8.3)"),
    ("Histological tumour type, n (%)", "Ductal", "11 (91.7)"),
    ("", "Lobular", "1 (8.3)"),
    ("Tumour size-breast (mm) #", "All", "40 (10-70)"),
    ("Tumour size-liver (mm) #", "All", "20 (15-60)"),
    ("Breast involvement, n (%)", "Unifocal", "10 (83.3)"),
    ("", "Multifocal", "2 (16.7)"),
    ("Neoadjuvant chemotherapy n (%)", "Yes", "7 (58.3)"),
    ("", "No", "5 (41.7)"),
    ("Surgical type (breast), n (%)", "BCS", "4 (33.3)"),
    ("", "Mastectomy", "8 (66.7)"),
    ("Surgical type (axilla)", "Axillary dissection", "12 (100)"),
    ("", "SLNB (contralateral BC)", "1 (8.3)"),
    ("Histological grade, n (%)", "I/II", "4 (33.3)"),
    ("", "III", "8 (66.7)"),
    ("Lymphovascular invasion, n (%)", "Positive", "8 (66.7)"),
    ("", "Negative", "4 (33.3)"),
    ("Estrogen receptor, n (%)", "Positive", "9 (75)"),
    ("", "Negative", "3 (25)"),
    ("Progesterone receptor, n (%)", "Positive", "9 (75)"),
    ("", "Negative", "3 (25)"),
    ("HER 2, n (%)", "Positive", "5 (41.7)"),
    ("", "Negative", "7 (58.3)"),
    ("Ki-67 (%)#", "All", "37.5 (10-80)"),
    ("Subgroup, n (%)", "Luminal", "9 (75)"),
    ("", "Non-luminal", "3 (25)"),
    ("Other treatment following BC surgery", "Adjuvant chemotherapy", "5 (41.7)"),
    ("", "Radiotherapy", "12 (100)"),
    ("", "Hormonotherapy", "9 (75)"),
    ("Hepatic segment involvement, n (%)", "Single", "7 (58.3)"),
    ("", "Multiple", "5 (41.7)"),
    ("Liver resection type (n=11), n (%)", "Anatomical", "2 (18.2)"),
    ("", "Non-anatomical", "9 (81.8)"),
    ("Number of metastatic liver lesion#", "All", "1 (1-4)"),
    ("Post-relapse chemotherapy response", "Regression", "3 (25)"),
    ("", "Stable", "9 (75)"),
    ("Follow-up time", "All", "66 (32-130)"),
    ("Progression, n (%)", "Yes", "3 (25)"),
    ("Mortality, n (%)", "Yes", "3 (25)"),
    ("Disease-free survival time (month) #", "All", "36 (18-72)"),
    ("Progression-free survival time (month) #", "All", "27 (10-58)"),
    ("Overall survival time (month) #", "All", "30 (14-58)"),
]


@pytest.fixture(scope="module")
def results():  # type: ignore[no-untyped-def]
    spec = load_spec(EXAMPLES / "bclm" / "study.yaml")
    return run_study(spec, build_cohort(spec))


def test_table_i_every_row_as_published(results) -> None:  # type: ignore[no-untyped-def]
    """Published table: every row of Table I, text for text, and its header and footnote."""
    t1 = table1_table(results)
    assert t1 is not None
    got = [(r.text("variable"), r.text("category"), r.text("statistic")) for r in t1.rows]
    assert got == PUBLISHED_TABLE_I
    assert [c.header for c in t1.columns] == ["Variables (n = 12)", "Category", "Statistics"]
    # the seed's footnote, then issue 22 item 7's on the endpoint-time rows
    assert t1.footnotes == (
        "#: Median (range).",
        "† Observed times of censored and uncensored patients; not survival estimates "
        "(see the Kaplan–Meier estimates).",
    )


def test_flow_twelve_included(results) -> None:  # type: ignore[no-untyped-def]
    """Published text (12 patients) and DESIGN.md's exclusions: 15 rows, 2 + 1 excluded."""
    assert results.n == 12
    steps = [(s["n_before"], s["n_excluded"], s["n_after"]) for s in results.flow]
    assert steps == [(15, 0, 15), (15, 2, 13), (13, 1, 12)]
    assert results.synthetic is True


def test_events_and_km_rates(results) -> None:  # type: ignore[no-untyped-def]
    """Published: 3 progressions, 3 deaths; 2-/3-year PFS 82%/69%, OS 92%/82%.

    Hand calculation (DESIGN.md): PFS 11/12 x 9/10 = 0.825 at 24 months, x 5/6 = 0.6875
    at 36; OS 11/12 at 24, 11/12 x 9/10 = 0.825 at 36. survstudy prints whole percents
    rounded half-up (82.5 -> "83"); the documented rule checked here is that each
    published whole percent is a nearest integer of the estimate (|100 S - published|
    <= 0.5), which the paper's 82 for 82.5 satisfies (see examples/bclm/README.md).
    """
    pfs, os_ = results.endpoints["PFS"], results.endpoints["OS"]
    assert (pfs.n, pfs.events, os_.n, os_.events) == (12, 3, 12, 3)
    expected = {
        ("PFS", 24.0): (11 / 12 * 9 / 10, 82),
        ("PFS", 36.0): (11 / 12 * 9 / 10 * 5 / 6, 69),
        ("OS", 24.0): (11 / 12, 92),
        ("OS", 36.0): (11 / 12 * 9 / 10, 82),
    }
    for (ep, t), (hand, published) in expected.items():
        a = next(x for x in results.endpoints[ep].at if x.time == t)
        assert a.survival == pytest.approx(hand, abs=1e-12)
        assert abs(100 * a.survival - published) <= 0.5 + 1e-9


def test_lm_within_3_years_logrank(results) -> None:  # type: ignore[no-untyped-def]
    """Published p = 0.040; DESIGN.md: the nearest achievable with a 3-patient group is
    p = 0.047 (chi-square 3.93, hand-enumerated and checked with R survdiff)."""
    km = next(k for k in results.km if k.key == "km_PFS_by_lm_within_3y")
    lr = km.tests[0]
    assert lr.weights == "logrank"
    assert lr.p_value == pytest.approx(0.0473, abs=5e-4)
    assert lr.p_value < 0.05


def test_packaged_example_is_the_repository_copy() -> None:
    """Identity: `survstudy demo` runs exactly the files users see in examples/."""
    for name, files in (
        ("bclm", ("study.yaml", "bclm_raw.csv")),
        ("gbsg", ("study.yaml", "gbsg.csv")),
    ):
        for f in files:
            assert (PACKAGED / name / f).read_bytes() == (EXAMPLES / name / f).read_bytes(), f


@pytest.mark.slow
def test_demo_bclm_writes_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """CLI: `survstudy demo bclm --out DIR` exits 0, writes report.html, prints the summary
    (published: 12 patients; hand calculation: 82.5% PFS at 24 months)."""
    from survstudy.cli import main as cli_main

    out = tmp_path / "demo"
    try:
        cli_main.main(["demo", "bclm", "--out", str(out)])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert (out / "out" / "report.html").is_file()
    assert "12 included" in printed
    assert "SYNTHETIC" in printed
    assert "24-month 82.5%" in printed
    assert str(out / "out" / "report.html") in printed

"""Table I of the seed paper rebuilt from 12 hand-constructed patients.

Published table: the truth. The expected rows below are copied from Table I of
the seed paper (BC liver metastases, 12 patients; ``<sub>`` markup removed);
the raw values are hand-made so that their summaries are the published ones.
"""

from __future__ import annotations

from survstudy.stats import descriptive as d
from survstudy.tables.model import (
    Table1Options,
    Table1Variable,
    grouped_level_text,
    table1_model,
)

# Published Table I: (variable label, category, statistic), in print order.
PUBLISHED = [
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

# Hand-made raw values for 12 patients (sorted; the 6th and 7th give the median).
CONTINUOUS = {
    "Diagnostic age#": [29, 35, 38, 40, 44, 46, 46, 48, 50, 52, 55, 57],
    "Metastatic age#": [31, 40, 44, 47, 50, 51, 51, 53, 55, 56, 58, 59],
    "Tumour size-breast (mm) #": [10, 20, 25, 30, 35, 40, 40, 45, 50, 55, 60, 70],
    "Tumour size-liver (mm) #": [15, 15, 18, 20, 20, 20, 20, 25, 30, 35, 40, 60],
    "Ki-67 (%)#": [10, 15, 20, 25, 30, 35, 40, 50, 60, 65, 70, 80],
    "Number of metastatic liver lesion#": [1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4],
    "Follow-up time": [32, 40, 50, 55, 60, 66, 66, 70, 80, 90, 100, 130],
    "Disease-free survival time (month) #": [18, 20, 24, 30, 33, 36, 36, 40, 48, 55, 60, 72],
    "Progression-free survival time (month) #": [10, 12, 15, 20, 25, 27, 27, 30, 35, 40, 50, 58],
    "Overall survival time (month) #": [14, 18, 20, 24, 28, 30, 30, 35, 40, 45, 50, 58],
}


def _rep(*pairs: tuple[str, int]) -> list[str]:
    out: list[str] = []
    for v, k in pairs:
        out += [v] * k
    return out


def _cat(label: str, *pairs: tuple[str, int], **kw: object) -> Table1Variable:
    values = _rep(*pairs)
    levels = [v for v, _ in pairs]
    return Table1Variable(label, label, d.categorical_counts(values, levels), **kw)  # type: ignore[arg-type]


def _grouped(label: str, groups: dict[str, str], *raw: tuple[str, int]) -> Table1Variable:
    """A variable whose data values are grouped (pT I and II -> "I/II"), as the seed prints."""
    values = _rep(*raw)
    raw_counts = d.categorical_counts(values, [v for v, _ in raw])
    by_raw = dict(zip(raw_counts.levels, raw_counts.counts, strict=True))
    grouped_values = [groups[v] for v in values]
    levels = list(dict.fromkeys(groups[v] for v, _ in raw))
    sub = {
        g: grouped_level_text([(v, int(by_raw[v])) for v, _ in raw if groups[v] == g])
        for g in levels
        if sum(1 for v, _ in raw if groups[v] == g) > 1
    }
    return Table1Variable(label, label, d.categorical_counts(grouped_values, levels), sublabels=sub)


def _cont(label: str) -> Table1Variable:
    return Table1Variable(label, label, d.describe(CONTINUOUS[label]))


def _multi(label: str, options: dict[str, int]) -> Table1Variable:
    sel = {k: [True] * n + [False] * (12 - n) for k, n in options.items()}
    return Table1Variable(label, label, d.multiselect_counts(sel))


def _variables() -> list[Table1Variable]:
    grade = {"I": "I/II", "II": "I/II", "III": "III"}
    resection_values = _rep(("Anatomical", 2), ("Non-anatomical", 9), ("", 1))
    applies = [True] * 11 + [False]  # the RFA patient had no resection
    return [
        _cont("Diagnostic age#"),
        _cont("Metastatic age#"),
        _grouped("pT stage, n (%)", grade, ("I", 3), ("II", 4), ("III", 5)),
        _grouped(
            "pN stage, n (%)",
            {"0": "0/I", "I": "0/I", "II": "II/III", "III": "II/III"},
            ("0", 1),
            ("I", 5),
            ("II", 5),
            ("III", 1),
        ),
        _cat("Breast cancer", ("Unilateral", 11), ("Bilateral", 1)),
        _cat("Histological tumour type, n (%)", ("Ductal", 11), ("Lobular", 1)),
        _cont("Tumour size-breast (mm) #"),
        _cont("Tumour size-liver (mm) #"),
        _cat("Breast involvement, n (%)", ("Unifocal", 10), ("Multifocal", 2)),
        _cat("Neoadjuvant chemotherapy n (%)", ("Yes", 7), ("No", 5)),
        _cat("Surgical type (breast), n (%)", ("BCS", 4), ("Mastectomy", 8)),
        _multi("Surgical type (axilla)", {"Axillary dissection": 12, "SLNB (contralateral BC)": 1}),
        # Grade is grouped too, but the paper prints no part counts for it.
        Table1Variable(
            "grade",
            "Histological grade, n (%)",
            d.categorical_counts(
                [grade[v] for v in _rep(("I", 1), ("II", 3), ("III", 8))], ["I/II", "III"]
            ),
        ),
        _cat("Lymphovascular invasion, n (%)", ("Positive", 8), ("Negative", 4)),
        _cat("Estrogen receptor, n (%)", ("Positive", 9), ("Negative", 3)),
        _cat("Progesterone receptor, n (%)", ("Positive", 9), ("Negative", 3)),
        _cat("HER 2, n (%)", ("Positive", 5), ("Negative", 7)),
        _cont("Ki-67 (%)#"),
        _cat("Subgroup, n (%)", ("Luminal", 9), ("Non-luminal", 3)),
        _multi(
            "Other treatment following BC surgery",
            {"Adjuvant chemotherapy": 5, "Radiotherapy": 12, "Hormonotherapy": 9},
        ),
        _cat("Hepatic segment involvement, n (%)", ("Single", 7), ("Multiple", 5)),
        Table1Variable(
            "resection",
            "Liver resection type, n (%)",
            d.categorical_counts(
                resection_values, ["Anatomical", "Non-anatomical"], applies=applies
            ),
        ),
        _cont("Number of metastatic liver lesion#"),
        _cat("Post-relapse chemotherapy response", ("Regression", 3), ("Stable", 9)),
        _cont("Follow-up time"),
        _cat("Progression, n (%)", ("Yes", 3), ("No", 9), show_levels=("Yes",)),
        _cat("Mortality, n (%)", ("Yes", 3), ("No", 9), show_levels=("Yes",)),
        _cont("Disease-free survival time (month) #"),
        _cont("Progression-free survival time (month) #"),
        _cont("Overall survival time (month) #"),
    ]


def test_seed_table1_every_row_as_published() -> None:
    """Published table: every printed row of the seed's Table I, text for text."""
    model = table1_model(_variables(), n=12, options=Table1Options.seed(), title="Table I")
    got = [(r.text("variable"), r.text("category"), r.text("statistic")) for r in model.rows]
    assert got == PUBLISHED
    assert [c.header for c in model.columns] == ["Variables (n = 12)", "Category", "Statistics"]
    assert model.footnotes == ("#: Median (range).",)


def test_seed_table1_records_and_text() -> None:
    """Published table: the CSV records and the terminal text carry the same strings."""
    model = table1_model(_variables(), n=12, options=Table1Options.seed())
    recs = model.to_records()
    assert recs[0] == {"variable": "Diagnostic age#", "category": "All", "statistic": "46 (29-57)"}
    text = model.to_text()
    assert "Liver resection type (n=11), n (%)" in text
    assert "#: Median (range)." in text

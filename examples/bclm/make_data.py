"""Write the SYNTHETIC raw spreadsheet of the bclm example (deterministic, no randomness).

SYNTHETIC DATA - not real patients; built to reproduce Sen et al. 2024
(J Coll Physicians Surg Pak 34(05):604-609). See DESIGN.md for the reasoning.
Months are days / 30.4375; ages are completed years. Data cut-off 2023-03-31.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

HERE = Path(__file__).resolve().parent
MONTH = 30.4375
NOTE = (
    "SYNTHETIC DATA - not real patients; built to reproduce Sen et al. 2024 "
    "(J Coll Physicians Surg Pak 34(05):604-609)"
)


def add_months(d: dt.date, months: float) -> dt.date:
    return d + dt.timedelta(days=round(months * MONTH))


# Per included patient: id, bc diagnosis date, months dx->BC surgery (None = de novo),
# DFS months (BC surgery -> LM detection), months LM detection -> liver surgery,
# PFS months (None = no progression), OS months, died, age at dx, birthday offset (years
# before dx beyond whole age), then the Table I factors.
# fmt: off
COLS = ["pt", "pn", "lat", "hist", "size_b", "size_l", "focal", "neo", "surg", "slnb",
        "grade", "lvi", "er", "pr", "her2", "ki67", "adj", "horm", "seg", "rtype", "nles",
        "resp", "proc"]
P = [
 # id  dx          dx->surg dfs   lm->ls pfs   os    died age  frac
 ("m1", "2014-03-10", 6.0, 18.0, 3.0, 10.0, 14.0, True, 29, 0.90,
  (2, 3, "unilateral", "ductal", 35, 30, "unifocal", "yes", "mastectomy", "no", 3, "negative", "positive", "positive", "negative", 80, "yes", "yes", "single", "non-anatomical", 1, "stable", "resection")),
 ("m2", "2015-02-02", 6.0, 22.0, 3.0, None, 34.0, False, 57, 0.05,
  (3, 1, "unilateral", "ductal", 60, 20, "unifocal", "yes", "BCS", "no", 3, "positive", "positive", "positive", "positive", 60, "no", "yes", "single", "non-anatomical", 1, "stable", "resection")),
 ("m3", "2013-01-14", 0.7, 36.01, 3.0, None, 20.0, False, 52, 0.50,
  (2, 2, "unilateral", "ductal", 40, 20, "multifocal", "no", "mastectomy", "no", 3, "positive", "positive", "positive", "negative", 50, "yes", "yes", "multiple", "non-anatomical", 2, "regression", "resection")),
 ("m4", "2014-09-22", 0.7, 36.012, 2.6, None, 25.0, False, 43, 0.40,
  (3, 1, "unilateral", "ductal", 50, 20, "unifocal", "no", "mastectomy", "no", 3, "negative", "negative", "negative", "positive", 25, "no", "no", "single", "non-anatomical", 1, "stable", "resection")),
 ("m5", "2015-05-04", 0.8, 36.04, 4.3, None, 25.5, False, 48, 0.30,
  (1, 2, "unilateral", "ductal", 40, 15, "unifocal", "no", "mastectomy", "no", 3, "positive", "positive", "positive", "positive", 45, "yes", "yes", "multiple", "", 4, "stable", "RFA")),
 ("m6", "2014-11-17", 0.7, 36.045, 2.65, None, 26.0, False, 46, 0.60,
  (1, 1, "unilateral", "ductal", 30, 25, "unifocal", "no", "mastectomy", "no", 3, "negative", "negative", "negative", "negative", 70, "no", "no", "single", "non-anatomical", 1, "stable", "resection")),
 ("m7", "2011-08-08", 6.0, 42.0, 3.0, 28.0, 40.0, True, 50, 0.20,
  (3, 2, "unilateral", "ductal", 25, 45, "unifocal", "yes", "BCS", "no", 2, "positive", "negative", "negative", "positive", 40, "no", "no", "multiple", "non-anatomical", 3, "stable", "resection")),
 ("m8", "2011-04-11", 6.0, 48.0, 3.0, None, 38.0, False, 55, 0.05,
  (3, 2, "unilateral", "ductal", 45, 18, "multifocal", "yes", "mastectomy", "no", 3, "positive", "positive", "positive", "positive", 15, "yes", "yes", "single", "non-anatomical", 1, "regression", "resection")),
 ("m9", "2011-02-07", 6.0, 55.0, 3.0, None, 45.0, False, 41, 0.50,
  (2, 1, "bilateral", "ductal", 35, 35, "unifocal", "yes", "mastectomy", "yes", 2, "positive", "positive", "positive", "negative", 10, "no", "yes", "multiple", "anatomical", 2, "stable", "resection")),
 ("m10", "2012-01-09", 6.0, 64.0, 2.0, None, 58.0, False, 46, 0.80,
  (1, 2, "unilateral", "ductal", 70, 20, "unifocal", "yes", "BCS", "no", 2, "positive", "positive", "positive", "negative", 20, "no", "yes", "single", "non-anatomical", 1, "stable", "resection")),
 ("m11", "2011-03-21", 0.7, 72.0, 3.0, None, 50.0, False, 45, 0.10,
  (2, 0, "unilateral", "lobular", 10, 60, "unifocal", "no", "BCS", "no", 1, "negative", "positive", "positive", "negative", 35, "yes", "yes", "multiple", "anatomical", 1, "stable", "resection")),
 ("d0", "2016-06-13", None, None, 7.5, 22.0, 24.5, True, 38, 0.50,
  (3, 1, "unilateral", "ductal", 55, 20, "unifocal", "yes", "mastectomy", "no", 3, "positive", "positive", "positive", "negative", 30, "no", "yes", "single", "non-anatomical", 1, "regression", "resection")),
]
# fmt: on

HEADER = [
    "patient_id",
    "record_status",
    "birth_date",
    "bc_diagnosis_date",
    "bc_surgery_date",
    "lm_detection_date",
    "liver_surgery_date",
    "extrahepatic_at_surgery",
    "progression_date",
    "last_followup_date",
    "death_date",
    "pt_stage",
    "pn_stage",
    "laterality",
    "histology",
    "tumour_size_breast_mm",
    "tumour_size_liver_mm",
    "focality",
    "neoadjuvant_chemo",
    "breast_surgery",
    "axillary_dissection",
    "slnb_contralateral",
    "grade",
    "lymphovascular_invasion",
    "er_status",
    "pr_status",
    "her2_status",
    "ki67_percent",
    "subgroup",
    "adjuvant_chemo",
    "radiotherapy",
    "hormonotherapy",
    "hepatic_segments",
    "liver_resection_type",
    "n_liver_lesions",
    "chemo_response",
    "liver_procedure",
    "notes",
]


def iso(d: dt.date | None) -> str:
    return "" if d is None else d.isoformat()


def build_rows() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    # Order of rows is shuffled by a fixed permutation so the file is not sorted by outcome.
    order = [5, 0, 9, 2, 11, 7, 3, 10, 1, 8, 4, 6]
    for k, idx in enumerate(order):
        _pid, dx_s, d2s, dfs, lm2ls, pfs, os_m, died, age, frac, f = P[idx]
        fx = dict(zip(COLS, f, strict=True))
        dx = dt.date.fromisoformat(dx_s)
        birth = dx - dt.timedelta(days=round((age + frac) * 365.25))
        if d2s is None:
            surg = None
            lm = dx
        else:
            surg = add_months(dx, d2s)
            lm = add_months(surg, dfs)
        ls = add_months(lm, lm2ls)
        last = add_months(ls, os_m)
        prog = add_months(ls, pfs) if pfs is not None else None
        lum = "luminal" if (fx["er"] == "positive" or fx["pr"] == "positive") else "non-luminal"
        rows.append(
            {
                "patient_id": f"BCLM-{k + 1:03d}",
                "record_status": "synthetic",
                "birth_date": iso(birth),
                "bc_diagnosis_date": iso(dx),
                "bc_surgery_date": iso(surg),
                "lm_detection_date": iso(lm),
                "liver_surgery_date": iso(ls),
                "extrahepatic_at_surgery": "no",
                "progression_date": iso(prog),
                "last_followup_date": iso(last),
                "death_date": iso(last) if died else "",
                "pt_stage": fx["pt"],
                "pn_stage": fx["pn"],
                "laterality": fx["lat"],
                "histology": fx["hist"],
                "tumour_size_breast_mm": fx["size_b"],
                "tumour_size_liver_mm": fx["size_l"],
                "focality": fx["focal"],
                "neoadjuvant_chemo": fx["neo"],
                "breast_surgery": fx["surg"],
                "axillary_dissection": "yes",
                "slnb_contralateral": fx["slnb"],
                "grade": fx["grade"],
                "lymphovascular_invasion": fx["lvi"],
                "er_status": fx["er"],
                "pr_status": fx["pr"],
                "her2_status": fx["her2"],
                "ki67_percent": fx["ki67"],
                "subgroup": lum,
                "adjuvant_chemo": fx["adj"],
                "radiotherapy": "yes",
                "hormonotherapy": fx["horm"],
                "hepatic_segments": fx["seg"],
                "liver_resection_type": fx["rtype"] or "not applicable",
                "n_liver_lesions": fx["nles"],
                "chemo_response": fx["resp"],
                "liver_procedure": fx["proc"],
                "notes": "de novo (synchronous) metastasis; breast surgery combined with hepatic surgery"
                if d2s is None
                else "",
            }
        )
    rows.extend(excluded_rows(len(rows)))
    return rows


def excluded_rows(n: int) -> list[dict[str, object]]:
    base = dict(build_template())
    out = []
    specs = [
        (
            "2006-05-15",
            "2006-05-29",
            "2010-03-01",
            "2010-06-07",
            "no",
            "",
            "2014-01-20",
            "",
            "liver surgery before January 2011",
        ),
        (
            "2012-10-01",
            "2012-10-22",
            "2016-02-15",
            "2016-05-09",
            "yes",
            "",
            "2016-11-14",
            "2016-11-14",
            "peritoneal deposits found at operation (extrahepatic disease)",
        ),
        (
            "2017-03-06",
            "2017-03-27",
            "2020-09-28",
            "2021-01-11",
            "no",
            "",
            "2023-01-16",
            "",
            "liver surgery after November 2020",
        ),
    ]
    for j, (dx, su, lm, ls, ehm, prog, last, death, note) in enumerate(specs):
        r = dict(base)
        r.update(
            {
                "patient_id": f"BCLM-{n + j + 1:03d}",
                "birth_date": iso(
                    dt.date.fromisoformat(dx) - dt.timedelta(days=round((47 + 0.3 * j) * 365.25))
                ),
                "bc_diagnosis_date": dx,
                "bc_surgery_date": su,
                "lm_detection_date": lm,
                "liver_surgery_date": ls,
                "extrahepatic_at_surgery": ehm,
                "progression_date": prog,
                "last_followup_date": last,
                "death_date": death,
                "notes": note,
            }
        )
        out.append(r)
    return out


def build_template() -> dict[str, object]:
    return {
        "patient_id": "",
        "record_status": "synthetic",
        "pt_stage": 2,
        "pn_stage": 1,
        "laterality": "unilateral",
        "histology": "ductal",
        "tumour_size_breast_mm": 30,
        "tumour_size_liver_mm": 25,
        "focality": "unifocal",
        "neoadjuvant_chemo": "no",
        "breast_surgery": "mastectomy",
        "axillary_dissection": "yes",
        "slnb_contralateral": "no",
        "grade": 2,
        "lymphovascular_invasion": "positive",
        "er_status": "positive",
        "pr_status": "positive",
        "her2_status": "negative",
        "ki67_percent": 30,
        "subgroup": "luminal",
        "adjuvant_chemo": "yes",
        "radiotherapy": "yes",
        "hormonotherapy": "yes",
        "hepatic_segments": "single",
        "liver_resection_type": "non-anatomical",
        "n_liver_lesions": 1,
        "chemo_response": "stable",
        "liver_procedure": "resection",
    }


def main() -> None:
    rows = build_rows()
    with (HERE / "bclm_raw.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=HEADER, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow(r)
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "patients"
    ws.append(HEADER)
    for r in rows:
        ws.append([r.get(h, "") for h in HEADER])
    rd = wb.create_sheet("README")
    rd.append([NOTE])
    rd.append(["One row per patient; 12 meet the inclusion criteria, 3 are excluded."])
    rd.append(["Data cut-off 2023-03-31. See examples/bclm/DESIGN.md."])
    wb.properties.creator = "survstudy make_data.py"
    wb.properties.created = dt.datetime(2023, 3, 31)
    wb.properties.modified = dt.datetime(2023, 3, 31)
    wb.save(HERE / "bclm_raw.xlsx")
    (HERE / "SYNTHETIC.txt").write_text(NOTE + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

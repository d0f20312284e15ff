"""Write the certified values that ``survstudy selftest`` checks (src/survstudy/selftest/certified.json).

Every value comes from outside survstudy: hand calculations written out below as exact
fractions and closed forms, and R's survival package through the committed fixtures in
tests/reference/ (each made by the R script beside it; the R call and versions are
copied into the certified file). This script imports nothing from survstudy.

    .venv/bin/python scripts/make_certified.py
"""

from __future__ import annotations

import json
import math
from fractions import Fraction as Fr
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "tests" / "reference"
OUT = ROOT / "src" / "survstudy" / "selftest" / "certified.json"


def _ref(name: str) -> dict:
    return json.loads((REF / name).read_text(encoding="utf-8"))


def _limit(v: object) -> float | str:
    return v if isinstance(v, str) else float(v)  # "inf"/"-inf" stay text


def hand_cox() -> list[dict]:
    """Therneau & Grambsch (2000), appendix E, test data 1 (book_test1.csv; the row with a
    missing status dropped): (1, death, x=1), (1, cens, 1), (6, death, 1), (6, death, 0),
    (8, cens, 0), (9, death, 0); r = exp(beta).

    Breslow: l = 2b - log(3r + 3) - 2 log(r + 3); U = 0 <=> r^2 - 3r - 6 = 0, so
    b = log(3/2 + sqrt(33)/2); I(b) = r/(r+1)^2 + 6r/(r+3)^2; l(0) = -log 6 - 2 log 4;
    score test U(0)^2/I(0) = 1/(5/8) = 1.6.
    Efron: l = 2b - log(3r + 3) - log(r + 3) - log((r + 5)/2); U = 0 <=> r^3 - 23r - 30 = 0
    (largest root by the trigonometric formula); I = r/(r+1)^2 + 3r/(r+3)^2 + 5r/(r+5)^2;
    l(0) = -log 72; score test (13/12)^2/(83/144) = 169/83.
    """
    rb = 1.5 + math.sqrt(33) / 2
    bb = math.log(rb)
    ib = rb / (rb + 1) ** 2 + 6 * rb / (rb + 3) ** 2
    re = 2 * math.sqrt(23 / 3) * math.cos(math.acos(45 / 23 * math.sqrt(3 / 23)) / 3)
    be = math.log(re)
    ie = re / (re + 1) ** 2 + 3 * re / (re + 3) ** 2 + 5 * re / (re + 5) ** 2
    src = "hand calculation: Therneau & Grambsch (2000) appendix E, test data 1"
    return [
        {
            "id": "cox-hand-breslow",
            "title": "Cox model, Breslow ties, Therneau & Grambsch test data 1",
            "source": src,
            "kind": "cox",
            "data": "book_test1",
            "args": {"covariates": ["x"], "ties": "breslow"},
            "values": {
                "coef": [bb],
                "se": [1 / math.sqrt(ib)],
                "loglik": 2 * bb - math.log(3 * rb + 3) - 2 * math.log(rb + 3),
                "loglik_null": -math.log(6) - 2 * math.log(4),
                "score_test": 1.6,
            },
            "rtol": 1e-9,
        },
        {
            "id": "cox-hand-efron",
            "title": "Cox model, Efron ties, Therneau & Grambsch test data 1",
            "source": src,
            "kind": "cox",
            "data": "book_test1",
            "args": {"covariates": ["x"], "ties": "efron"},
            "values": {
                "coef": [be],
                "se": [1 / math.sqrt(ie)],
                "loglik": 2 * be - math.log(3 * re + 3) - math.log(re + 3) - math.log((re + 5) / 2),
                "loglik_null": -math.log(72),
                "score_test": 169 / 83,
            },
            "rtol": 1e-9,
        },
    ]


# Ten patients in two groups (time, event): A = 2, 3, 3+, 5, 8+; B = 1, 4, 4, 6+, 7.
HAND_TIME = [2, 3, 3, 5, 8, 1, 4, 4, 6, 7]
HAND_EVENT = [1, 1, 0, 1, 0, 1, 1, 1, 0, 1]
HAND_GROUP = ["A"] * 5 + ["B"] * 5


def hand_km_logrank() -> list[dict]:
    """Kaplan–Meier of all ten and the log-rank test A vs B, by hand.

    Event times 1, 2, 3, 4, 5, 7 with (at risk, deaths) = (10,1), (9,1), (8,1) [the
    censoring at 3 is still at risk], (6,2), (4,1), (2,1):
    S = 9/10, 8/10, 7/10, 7/10*4/6 = 7/15, 7/15*3/4 = 7/20, 7/40.
    Greenwood at 4: S^2 * (1/(10*9) + 1/(9*8) + 1/(8*7) + 2/(6*4)). Median: the first time
    with S <= 1/2 is 4.
    Log-rank for A: at each event time E = n_A d/n and V = n_A n_B d (n - d)/(n^2 (n - 1)):
    (nA, nB, d, O_A) = (5,5,1,0), (5,4,1,1), (4,4,1,1), (2,4,2,0), (2,2,1,1), (1,1,1,0);
    O = 3, E = 1/2 + 5/9 + 1/2 + 2/3 + 1/2 + 1/2 = 29/9, V = 649/405,
    chi^2 = (3 - 29/9)^2/(649/405) = 20/649.
    """
    s = [Fr(9, 10), Fr(8, 10), Fr(7, 10), Fr(7, 15), Fr(7, 20), Fr(7, 40)]
    gw = Fr(1, 90) + Fr(1, 72) + Fr(1, 56) + Fr(2, 24)
    se4 = math.sqrt(float(s[3] ** 2 * gw))
    rows = [(5, 5, 1, 0), (5, 4, 1, 1), (4, 4, 1, 1), (2, 4, 2, 0), (2, 2, 1, 1), (1, 1, 1, 0)]
    obs = sum(Fr(o) for *_, o in rows)
    exp_ = sum(Fr(a * d, a + b) for a, b, d, _ in rows)
    var = sum(Fr(a * b * d * (a + b - d), (a + b) ** 2 * (a + b - 1)) for a, b, d, _ in rows)
    assert exp_ == Fr(29, 9)
    assert var == Fr(649, 405)
    chi = (obs - exp_) ** 2 / var
    assert chi == Fr(20, 649)
    src = "hand calculation (fractions in scripts/make_certified.py)"
    data = {"time": HAND_TIME, "event": HAND_EVENT, "group": HAND_GROUP}
    return [
        {
            "id": "km-hand",
            "title": "Kaplan–Meier, ten patients (survival, Greenwood SE, median)",
            "source": src,
            "kind": "km",
            "data": data,
            "args": {"times": [1, 2, 3, 4, 5, 7], "se_time": 4},
            "values": {
                "survival": [float(v) for v in s],
                "std_err": se4,
                "median": 4.0,
            },
            "rtol": 1e-12,
        },
        {
            "id": "logrank-hand",
            "title": "Log-rank test, ten patients in two groups",
            "source": src,
            "kind": "logrank",
            "data": data,
            "args": {},
            "values": {
                "statistic": float(chi),
                "observed": [3.0, 4.0],
                "expected": [float(exp_), float(7 - exp_)],
                "variance": float(var),
            },
            "rtol": 1e-12,
        },
    ]


def r_checks() -> list[dict]:
    kl = _ref("km_logrank.json")
    km = kl["km_lung"]
    g = km["groups"][0]
    lr = kl["lr_lung_sex"]
    cox = _ref("cox.json")["fixtures"]["lung_efron"]
    prof = _ref("profile_ci.json")
    pb = prof["fixtures"]["breast_TNGCD"]
    firth = _ref("firth.json")
    fb = firth["fixtures"]["breast_breslow"]
    ver = km["versions"]
    # R fixtures are compared at 1e-6 relative in the test suite (their printed precision
    # is 15 digits, their own convergence ~1e-9); profile limits and Firth references are
    # solved to 1e-10 or better (uniroot tol 1e-10 / 1e-13), so 1e-8 is justified there.
    return [
        {
            "id": "km-r-lung",
            "title": "Kaplan–Meier on lung (survival at 180/365/730 days, log-log CI, median)",
            "source": f"{ver['R']}, survival {ver['survival']}: {km['call']}",
            "kind": "km",
            "data": "lung",
            "args": {"times": [180, 365, 730], "conf_type": "log-log"},
            "values": {
                "at_survival": g["at_survival"][1:4],
                "at_lower": g["at_lower"][1:4],
                "at_upper": g["at_upper"][1:4],
                "median": g["q"][2],
                "median_lower": g["q_lower"][2],
                "median_upper": g["q_upper"][2],
            },
            "rtol": 1e-6,
        },
        {
            "id": "logrank-r-lung",
            "title": "Log-rank test on lung by sex",
            "source": f"{lr['versions']['R']}, survival {lr['versions']['survival']}: {lr['call']}",
            "kind": "logrank",
            "data": "lung",
            "args": {"by": "sex"},
            "values": {
                "statistic": lr["statistic"],
                "p_value": lr["p_value"],
                "observed": lr["observed"],
                "expected": lr["expected"],
            },
            "rtol": 1e-6,
        },
        {
            "id": "cox-r-lung",
            "title": "Cox model on lung (age + sex + ph.ecog, Efron)",
            "source": f"{cox['R']}, survival {cox['survival']}: {' '.join(cox['call'].split())}",
            "kind": "cox",
            "data": "lung",
            "args": {"covariates": cox["covariates"], "ties": "efron"},
            "values": {
                "coef": cox["coef"],
                "se": cox["se"],
                "p_value": cox["p_value"],
                "loglik": cox["loglik"][1],
                "loglik_null": cox["loglik"][0],
                "score_test": cox["score"][0],
            },
            "rtol": 1e-6,
        },
        {
            "id": "firth-r-breast",
            "title": "Firth-penalised Cox on coxphf's breast data (T + N + G + CD, Breslow)",
            "source": f"{firth['meta']['R']}, survival {firth['meta']['survival']}: "
            f"{fb['call']} (tests/reference/firth.R)",
            "kind": "firth",
            "data": "firth_breast",
            "args": {"covariates": fb["covariates"], "ties": "breslow"},
            "values": {
                "coef": fb["coef"],
                "se": fb["se"],
                "p_value": fb["p_value"],
                "lower": fb["lower"],
                "upper": fb["upper"],
            },
            "rtol": 1e-8,
        },
        {
            "id": "profile-r-breast",
            "title": "Profile-likelihood limits, ordinary Cox, monotone likelihood (breast, G)",
            "source": f"{prof['meta']['R']}, survival {prof['meta']['survival']}: {pb['call']} "
            "(tests/reference/profile_ci.R)",
            "kind": "profile",
            "data": "firth_breast",
            "args": {"covariates": pb["covariates"], "ties": "breslow"},
            "values": {
                "lower": [_limit(v) for v in pb["lower"]],
                "upper": [_limit(v) for v in pb["upper"]],
            },
            "rtol": 1e-8,
        },
    ]


def build() -> str:
    """The certified file's text (a test checks that the shipped file is exactly this)."""
    checks = hand_cox() + hand_km_logrank() + r_checks()
    doc = {
        "about": "Certified values for `survstudy selftest`; made by scripts/make_certified.py "
        "from hand calculations and the R fixtures in tests/reference (never from survstudy).",
        "checks": checks,
    }
    return json.dumps(doc, indent=1) + "\n"


def main() -> None:
    text = build()
    OUT.write_text(text, encoding="utf-8")
    checks = json.loads(text)["checks"]
    print(f"wrote {OUT}: {len(checks)} checks")


if __name__ == "__main__":
    main()

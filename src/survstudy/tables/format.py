"""The one formatting module: every number a person reads goes through here.

Rules (documented in ``docs/formatting.md``):

* **Rounding** is round-half-up on the *decimal* value the float prints as
  (``Decimal(repr(x))``), so 0.125 -> "0.13", 2.675 -> "2.68", 58.333 -> "58.3";
  binary-float artefacts (``round(2.675, 2) == 2.67``) never show.
* **Missing** (``None``/NaN) prints as an em dash "—"; a quantity that exists but
  cannot be estimated prints "NE"; a median survival that is not reached prints
  "not reached".
* **p-values**: three decimals; below 0.001 "<0.001"; above 0.999 ">0.999" (a p
  of exactly 1 is a rounding statement, never a certainty). 0.0499999 prints
  "0.050": the text is rounded, the decision is made on the unrounded value.
* **Ranges** use an en dash "–" by default (journal style); pass ``sep="-"`` for
  a hyphen (the seed paper prints "46 (29-57)"). When either end is negative the
  range reads " to " ("−5.0 to 5.1"): a dash between negative numbers is ambiguous.
* **Negative numbers** carry a real minus sign "−" (U+2212), not a hyphen.
* **Large numbers** (absolute value ≥ 10 000) group thousands with "," ("10,000,000",
  "12,345.6"); below 10 000 nothing changes ("9999"), so small series print as before.
  The CSV/XLSX writers turn a cell that is only a number back into a raw number.
* **Counts and percents** "7 (58.3)": one decimal by default;
  ``drop_trailing_zeros=True`` gives the seed's "6 (50)" and "12 (100)".
* **Continuous summaries** use the "shortest up to N decimals" rule: 46 -> "46",
  37.5 -> "37.5", 37.25 -> "37.3" (N = 1).
* **Hazard ratios** two decimals "1.92 (0.48–7.75)"; non-finite parts "NE".
  :func:`hr_ci_text` (tables and forest plots) takes three decimals when a value
  other than 1 would print "1.00" ("0.997 (0.937–1.061)"), and more (up to four)
  while the two bounds print alike ("1.221 (1.218–1.224)", not "1.22 (1.22–1.22)").

Nothing here computes a statistic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

__all__ = [
    "EN_DASH",
    "GROUP_FROM",
    "MINUS",
    "MISSING",
    "NOT_ESTIMABLE",
    "NOT_REACHED",
    "FormatStyle",
    "count",
    "count_percent",
    "decimals_apart",
    "denominator_note",
    "estimate_ci",
    "fixed",
    "format_hr_ci",
    "format_p",
    "hr_ci",
    "hr_ci_text",
    "is_missing",
    "mean_sd",
    "median_iqr",
    "median_range",
    "missing",
    "not_estimable",
    "not_reached",
    "number",
    "p_value",
    "percent",
    "percent_ci",
    "range_text",
    "reference",
    "round_half_up",
    "shortest",
]

EN_DASH = "–"
MINUS = "\u2212"
THOUSANDS_SEP = ","
# Grouping starts at five digits (Chicago/AMA/Nature style: "9999" but "10,000"); the
# small series this program was built for keep their printed form byte for byte.
GROUP_FROM = 10_000
MISSING = "—"
NOT_ESTIMABLE = "NE"
NOT_REACHED = "not reached"

Number = float | int | Decimal | None


@dataclass(frozen=True)
class FormatStyle:
    """Formatting options shared by a table (journal default; :meth:`seed` for the seed paper)."""

    percent_decimals: int = 1
    drop_trailing_zeros: bool = False
    range_sep: str = EN_DASH
    continuous_max_decimals: int = 1
    mean_sd_decimals: int = 1
    hr_decimals: int = 2
    p_decimals: int = 3

    @classmethod
    def seed(cls) -> FormatStyle:
        """The seed paper's Table I: "6 (50)", "46 (29-57)", "37.5 (10-80)"."""
        return cls(drop_trailing_zeros=True, range_sep="-")


def is_missing(x: object) -> bool:
    """``None`` or a float NaN."""
    if x is None:
        return True
    try:
        return math.isnan(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def missing() -> str:
    """The text for a missing value: an em dash."""
    return MISSING


def not_estimable() -> str:
    """The text for a quantity that cannot be estimated from the data."""
    return NOT_ESTIMABLE


def not_reached() -> str:
    """The text for a median survival the curve never reaches."""
    return NOT_REACHED


def reference() -> str:
    """The HR cell of a reference category."""
    return "1 (reference)"


def _decimal(x: float | int | Decimal) -> Decimal:
    # repr gives the shortest string that round-trips: the decimal value people see.
    if isinstance(x, Decimal):
        return x
    if isinstance(x, int):
        return Decimal(x)
    return Decimal(repr(float(x)))


def round_half_up(x: float | int | Decimal, decimals: int) -> Decimal:
    """``x`` rounded half-up (away from zero on ties) to ``decimals`` places, as a Decimal."""
    if decimals < 0:
        raise ValueError("decimals must be >= 0")
    q = Decimal(1).scaleb(-decimals)
    d = _decimal(x)
    try:
        with localcontext() as ctx:
            # the default 28 significant digits cannot hold a huge finite value with its
            # decimals (a Wald bound of 4e26 from a diverging coefficient): as many as needed
            if d.is_finite():
                ctx.prec = max(ctx.prec, d.adjusted() + decimals + 2)
            return d.quantize(q, rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:  # pragma: no cover - inf/nan are handled by callers
        raise ValueError(f"cannot round {x!r}") from exc


def _text(d: Decimal) -> str:
    if d == 0:
        # "-0.0" after rounding a tiny negative: there is no negative zero in a table.
        d = abs(d)
    s = format(d, ",f") if abs(d) >= GROUP_FROM else format(d, "f")
    if THOUSANDS_SEP != ",":  # pragma: no cover - one separator today
        s = s.replace(",", THOUSANDS_SEP)
    return MINUS + s[1:] if s.startswith("-") else s


def count(n: int | None) -> str:
    """An integer count: "9999", "10,000", "10,000,000"; None -> "—"."""
    if n is None:
        return MISSING
    return _text(Decimal(int(n)))


def _strip(s: str) -> str:
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def fixed(x: Number, decimals: int, *, drop_trailing_zeros: bool = False) -> str:
    """``x`` with exactly ``decimals`` decimals (or fewer when trailing zeros are dropped).

    None/NaN -> "—"; ±inf -> "NE".
    """
    if is_missing(x):
        return MISSING
    assert x is not None
    if math.isinf(float(x)):
        return NOT_ESTIMABLE
    s = _text(round_half_up(x, decimals))
    return _strip(s) if drop_trailing_zeros else s


def number(x: Number, digits: int = 2, *, drop_trailing_zeros: bool = False) -> str:
    """A plain number with ``digits`` decimals ("0.68")."""
    return fixed(x, digits, drop_trailing_zeros=drop_trailing_zeros)


def shortest(x: Number, max_decimals: int = 1) -> str:
    """Shortest text up to ``max_decimals`` decimals: 46.0 -> "46", 37.5 -> "37.5"."""
    return fixed(x, max_decimals, drop_trailing_zeros=True)


def percent(p: Number, decimals: int = 1, *, drop_trailing_zeros: bool = False) -> str:
    """A percentage (already on the 0–100 scale) without the % sign: "58.3"."""
    return fixed(p, decimals, drop_trailing_zeros=drop_trailing_zeros)


def count_percent(
    n: int | None,
    percent_value: Number = None,
    decimals: int = 1,
    *,
    denominator: int | None = None,
    drop_trailing_zeros: bool = False,
    percent_sign: bool = False,
) -> str:
    """Count and percent "7 (58.3)".

    ``percent_value`` is on the 0–100 scale; when it is None and ``denominator``
    is given it is ``100 * n / denominator``. With neither, only the count
    prints. ``drop_trailing_zeros`` gives "6 (50)", "12 (100)".
    """
    if n is None:
        return MISSING
    if percent_value is None and denominator is not None:
        percent_value = 100.0 * n / denominator if denominator > 0 else None
    if percent_value is None or is_missing(percent_value):
        return count(n)
    pct = percent(percent_value, decimals, drop_trailing_zeros=drop_trailing_zeros)
    return f"{count(n)} ({pct}{'%' if percent_sign else ''})"


def range_text(a: str, b: str, sep: str = EN_DASH) -> str:
    """Two printed ends of a range or interval: "29–57"; " to " when an end is negative.

    "−5–5.1" or "−5-−1" could be read as a subtraction; "−5.0 to 5.1" cannot.
    """
    if a.startswith((MINUS, "-")) or b.startswith((MINUS, "-")):
        return f"{a} to {b}"
    return f"{a}{sep}{b}"


def _pair(a: str, b: str, sep: str) -> str:
    return range_text(a, b, sep)


def median_range(
    median: Number,
    low: Number,
    high: Number,
    *,
    sep: str = EN_DASH,
    max_decimals: int = 1,
) -> str:
    """Median (range) "46 (29–57)", shortest text up to ``max_decimals`` decimals.

    Also used for median (IQR) with the quartiles as ``low``/``high``.
    """
    if is_missing(median):
        return MISSING
    m = shortest(median, max_decimals)
    return f"{m} ({_pair(shortest(low, max_decimals), shortest(high, max_decimals), sep)})"


def median_iqr(
    median: Number, q1: Number, q3: Number, *, sep: str = EN_DASH, max_decimals: int = 1
) -> str:
    """Median (IQR) "40 (25–55)" (same rule as :func:`median_range`)."""
    return median_range(median, q1, q3, sep=sep, max_decimals=max_decimals)


def mean_sd(mean: Number, sd: Number, decimals: int = 1) -> str:
    """Mean (SD) "46.2 (8.1)" with a fixed number of decimals."""
    if is_missing(mean):
        return MISSING
    return f"{fixed(mean, decimals)} ({fixed(sd, decimals)})"


def estimate_ci(
    estimate: Number, lower: Number, upper: Number, digits: int = 1, *, sep: str = EN_DASH
) -> str:
    """Estimate with its CI "82.5 (54.3–94.1)"; a missing bound prints "NE"."""
    if is_missing(estimate):
        return MISSING

    def b(x: Number) -> str:
        return NOT_ESTIMABLE if is_missing(x) else fixed(x, digits)

    return f"{fixed(estimate, digits)} ({_pair(b(lower), b(upper), sep)})"


def hr_ci(hr: Number, lower: Number, upper: Number, digits: int = 2, *, sep: str = EN_DASH) -> str:
    """Hazard ratio (95% CI) "1.92 (0.48–7.75)".

    Two decimals at every magnitude (0.999 -> "1.00", 1000 -> "1000.00"); an
    infinite or missing HR prints "NE", an infinite or missing bound "NE" in its place.
    """
    if is_missing(hr) or math.isinf(float(hr)):  # type: ignore[arg-type]
        return NOT_ESTIMABLE
    return estimate_ci(hr, lower, upper, digits, sep=sep)


def hr_ci_text(hr: float, lower: float, upper: float) -> str:
    """HR (95% CI) as the tables and the forest plots print it: 2 decimals, or 3 when a
    value other than exactly 1 would print as "1.00" ("0.997 (0.937–1.061)").

    A bound printed "1.00" next to p = 0.041 reads as a contradiction (the CI excludes
    1 at full precision); one more decimal shows where the interval lies. An interval
    whose bounds print alike ("1.22 (1.22–1.22)", large registries) takes one more
    decimal, up to four: "1.221 (1.218–1.224)".
    """
    digits = 2
    if any(
        not is_missing(v) and math.isfinite(v) and v != 1.0 and f"{v:.2f}" == "1.00"
        for v in (hr, lower, upper)
    ):
        digits = 3
    # Registry-sized samples give intervals narrower than 0.01: "1.22 (1.22–1.22)" reads as
    # no uncertainty at all. Up to 4 decimals, until the two bounds print apart.
    return hr_ci(hr, lower, upper, digits=decimals_apart(lower, upper, digits, 4))


def decimals_apart(lower: Number, upper: Number, decimals: int, max_decimals: int) -> int:
    """``decimals``, or more (up to ``max_decimals``) while two different finite bounds
    would print alike: (0.7009, 0.7015) at 2 -> 3 ("0.701", "0.702")."""
    if is_missing(lower) or is_missing(upper):
        return decimals
    assert lower is not None
    assert upper is not None
    if not (math.isfinite(float(lower)) and math.isfinite(float(upper))) or lower == upper:
        return decimals
    while decimals < max_decimals and fixed(lower, decimals) == fixed(upper, decimals):
        decimals += 1
    return decimals


def format_hr_ci(hr: Number, lower: Number, upper: Number) -> str:
    """Alias of :func:`hr_ci` (the name the plots look for)."""
    return hr_ci(hr, lower, upper)


def p_value(p: Number, decimals: int = 3) -> str:
    """A p-value, journal style: "0.038", "<0.001", ">0.999"; None/NaN -> "—".

    Below 10**-decimals (on the unrounded value) -> "<0.001" (0.00099 -> "<0.001",
    0.001 -> "0.001"); a value that rounds to 1 -> ">0.999" (0.9994 -> "0.999",
    0.9995 -> ">0.999", 1 -> ">0.999").
    """
    if is_missing(p):
        return MISSING
    assert p is not None
    v = float(p)
    if v < 0 or v > 1:
        raise ValueError(f"a p-value must lie in [0, 1], got {v!r}")
    lo = Decimal(1).scaleb(-decimals)
    d = _decimal(v)
    if d < lo:
        return f"<{_text(lo)}"
    r = round_half_up(v, decimals)
    if r >= 1:
        # "1.000" would claim certainty; say it is above the largest printable value.
        return f">{_text(1 - lo)}"
    return _text(r)


def format_p(p: Number) -> str:
    """Alias of :func:`p_value` (the name the plots look for)."""
    return p_value(p)


def percent_ci(
    survival: Number,
    lower: Number,
    upper: Number,
    decimals: int = 0,
    *,
    style: str = "compact",
    level: float = 0.95,
    sep: str = EN_DASH,
) -> str:
    """A survival proportion (0–1 scale) as a percentage with its CI.

    ``style="compact"``: "82 (54–94)" (the column header says "% (95% CI)");
    ``style="text"``: "82% (95% CI 54–94)" for running text.
    """
    if is_missing(survival):
        return MISSING

    def pc(x: Number) -> str:
        if is_missing(x):
            return NOT_ESTIMABLE
        assert x is not None
        return fixed(_decimal(x) * 100, decimals)

    est, lo, hi = pc(survival), pc(lower), pc(upper)
    if style == "text":
        lv = shortest(level * 100, 1)
        return f"{est}% ({lv}% CI {_pair(lo, hi, sep)})"
    if style != "compact":
        raise ValueError(f"unknown style {style!r}")
    return f"{est} ({_pair(lo, hi, sep)})"


def denominator_note(n: int) -> str:
    """The "(n=11)" annotation of a per-variable denominator or a grouped level."""
    return f"(n={count(n)})"

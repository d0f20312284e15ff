"""Descriptive statistics and group comparisons for Table 1.

Summaries
    :func:`describe` — n, missing, median, quartiles, range, mean, SD of a
    continuous variable. Quantiles by ``method="r7"`` (R's default type 7:
    ``h = (n-1)p``, linear interpolation between order statistics; our standard)
    or ``method="spss"`` (SPSS EXAMINE's default "weighted average at (n+1)p",
    R type 6: ``h = (n+1)p``, clamped to the sample range). Hyndman & Fan (1996),
    Am Stat 50:361–365. SD has divisor n-1.

    :func:`categorical_counts` — counts and percents of each level over a
    denominator (the patients to whom the variable applies and whose value is
    known); missing values are counted separately and are not in the
    denominator. :func:`multiselect_counts` — each option counted over the same
    denominator (percentages need not add to 100).

Group comparisons (a Table 1 stratified by a column)
    :func:`categorical_test` — Pearson's chi-square (no continuity correction
    unless ``correct=True``, which applies Yates's correction to 2×2 tables as R
    does) or Fisher's exact test, chosen by the rule "Fisher when any expected
    count < 5". 2×2: scipy's ``fisher_exact`` (two-sided, sum of the
    probabilities of tables no more likely than the observed one). r×c: the
    Fisher–Freeman–Halton test by full enumeration of the tables with the
    observed margins (relative tolerance 1e-7 on "no more likely", as R's
    ``fisher.test``) when at most ``max_tables`` tables need visiting, otherwise
    a seeded Monte-Carlo p from ``n_simulations`` random tables with the
    observed margins, ``p = (1 + #{P_sim <= P_obs}) / (B + 1)`` (R's
    ``simulate.p.value``; Patefield-equivalent sampling by permutation).

    :func:`continuous_test` — Mann–Whitney U (2 groups; R's ``wilcox.test``
    rule: exact distribution when both groups have < 50 values and there are no
    ties, otherwise the normal approximation with tie-corrected variance and a
    continuity correction) or Kruskal–Wallis (k groups; chi-square approximation,
    tie-corrected). ``parametric=True``: Welch's t-test (2 groups) or one-way
    ANOVA (k groups). Every result names its test for the table footnote.

From sufficient quantities (registry-sized data reduced by an engine)
    :func:`continuous_test_from_sums` — the same tests from per-group sizes and
    midrank sums plus the pooled tie term (:func:`tie_term`), or sizes, means
    and variances; :func:`continuous_test` itself goes through it, so both give
    the same p from the same sums. :func:`quantile_position` and
    :func:`interpolate` — the order statistics a quantile needs and how they
    combine (:func:`quantile` uses them).

``scipy.stats`` is imported inside the functions (it is slow to import).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from survstudy.errors import AnalysisError
from survstudy.stats._common import StatWarning

__all__ = [
    "CategoricalSummary",
    "ContinuousSummary",
    "GroupTestResult",
    "MultiSelectSummary",
    "anova_from_moments",
    "categorical_counts",
    "categorical_test",
    "continuous_test",
    "continuous_test_from_sums",
    "describe",
    "fisher_exact_rxc",
    "interpolate",
    "kruskal_wallis_from_ranks",
    "mann_whitney_exact_applies",
    "mann_whitney_from_ranks",
    "multiselect_counts",
    "quantile",
    "quantile_position",
    "smd_categorical",
    "smd_continuous",
    "tie_term",
    "welch_t_from_moments",
]

QUANTILE_METHODS = ("r7", "spss")


def _f(x: Any) -> float | None:
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


# --------------------------------------------------------------------------- continuous


def quantile(values: Any, p: float, method: str = "r7") -> float:
    """The ``p`` quantile of the non-missing ``values`` (R type 7, or type 6 = SPSS).

    Type 7: position ``h = (n-1)p`` (0-based); type 6: ``h = (n+1)p - 1`` clamped
    to [0, n-1]; then ``x[floor h] + (h - floor h)(x[floor h + 1] - x[floor h])``.
    """
    if method not in QUANTILE_METHODS:
        raise ValueError(f"quantile method must be one of {QUANTILE_METHODS}, got {method!r}")
    if not 0.0 <= p <= 1.0:
        raise ValueError("p must lie in [0, 1]")
    x = np.sort(np.asarray(values, dtype=float))
    return _sorted_quantile(x[~np.isnan(x)], p, method)


def _sorted_quantile(x: np.ndarray, p: float, method: str) -> float:
    """:func:`quantile` of ``x`` already sorted, without missing values."""
    n = x.size
    if n == 0:
        return math.nan
    lo, frac = quantile_position(n, p, method)
    return interpolate(float(x[lo]), float(x[lo + 1]) if frac != 0.0 else math.nan, frac)


def quantile_position(n: int, p: float, method: str = "r7") -> tuple[int, float]:
    """Where the ``p`` quantile of ``n`` sorted values lies: ``(lo, frac)``.

    ``lo`` is the 0-based index of the lower order statistic, ``frac`` the weight of
    the next one (``frac == 0.0`` when the quantile is ``x[lo]`` itself, so that only
    ``x[lo]`` is needed). Type 7: ``h = (n-1)p``; type 6 (SPSS): ``h = (n+1)p - 1``
    clamped to [0, n-1] (Hyndman & Fan 1996). An engine that picks the order
    statistics in SQL and :func:`interpolate` give exactly :func:`quantile`.
    """
    if method not in QUANTILE_METHODS:
        raise ValueError(f"quantile method must be one of {QUANTILE_METHODS}, got {method!r}")
    if n < 1:
        raise ValueError("no values")
    h = (n - 1) * p if method == "r7" else (n + 1) * p - 1.0
    h = min(max(h, 0.0), n - 1.0)
    lo = math.floor(h)
    frac = h - lo
    if lo + 1 >= n:
        frac = 0.0
    return lo, frac


def interpolate(lower: float, upper: float, frac: float) -> float:
    """``lower + frac (upper - lower)``; ``lower`` itself when ``frac == 0``."""
    if frac == 0.0:
        return float(lower)
    return float(lower + frac * (upper - lower))


@dataclass(frozen=True)
class ContinuousSummary:
    """Summary of a continuous variable (known values only; ``n_missing`` counted apart)."""

    n: int
    n_missing: int
    median: float
    q1: float
    q3: float
    min: float
    max: float
    mean: float
    sd: float
    method: str = "r7"

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "n_missing": self.n_missing,
            "median": _f(self.median),
            "q1": _f(self.q1),
            "q3": _f(self.q3),
            "min": _f(self.min),
            "max": _f(self.max),
            "mean": _f(self.mean),
            "sd": _f(self.sd),
            "method": self.method,
        }


def describe(values: Any, *, method: str = "r7") -> ContinuousSummary:
    """n, missing, median, quartiles (``method``), range, mean and SD (divisor n-1)."""
    a = np.asarray(values, dtype=float).ravel()
    miss = np.isnan(a)
    x = a[~miss]
    n = int(x.size)
    nan = math.nan
    if n == 0:
        return ContinuousSummary(0, int(miss.sum()), nan, nan, nan, nan, nan, nan, nan, method)
    if method not in QUANTILE_METHODS:
        raise ValueError(f"quantile method must be one of {QUANTILE_METHODS}, got {method!r}")
    xs = np.sort(x)  # once for the three quantiles
    return ContinuousSummary(
        n=n,
        n_missing=int(miss.sum()),
        median=_sorted_quantile(xs, 0.5, method),
        q1=_sorted_quantile(xs, 0.25, method),
        q3=_sorted_quantile(xs, 0.75, method),
        min=float(x.min()),
        max=float(x.max()),
        mean=float(x.mean()),
        sd=float(x.std(ddof=1)) if n > 1 else nan,
        method=method,
    )


# --------------------------------------------------------------------------- categorical


def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and v.strip() == ""


@dataclass(frozen=True)
class CategoricalSummary:
    """Counts and percents (0–100) of each level over ``denominator`` (known values)."""

    levels: tuple[str, ...]
    counts: np.ndarray
    percents: np.ndarray
    denominator: int
    n_missing: int
    n_not_applicable: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "levels": list(self.levels),
            "counts": [int(c) for c in self.counts],
            "percents": [_f(p) for p in self.percents],
            "denominator": self.denominator,
            "n_missing": self.n_missing,
            "n_not_applicable": self.n_not_applicable,
        }

    def to_records(self) -> list[dict[str, Any]]:
        return [
            {"level": lev, "n": int(c), "denominator": self.denominator, "percent": _f(p)}
            for lev, c, p in zip(self.levels, self.counts, self.percents, strict=True)
        ]


def _percents(counts: np.ndarray, denom: int) -> np.ndarray:
    if denom == 0:
        return np.full(counts.shape, np.nan)
    return 100.0 * counts.astype(float) / denom


def categorical_counts(
    values: Sequence[Any],
    levels: Sequence[str] | None = None,
    *,
    applies: Sequence[bool] | np.ndarray | None = None,
) -> CategoricalSummary:
    """Count each level among ``values`` (compared as ``str``).

    Missing (None, NaN, blank) values are counted in ``n_missing`` and left out
    of the denominator. ``applies`` (a boolean mask) restricts the variable to a
    subset (e.g. liver resection type only for resected patients): patients
    outside it are neither counted nor missing. ``levels`` fixes the order (and
    includes empty levels); otherwise levels appear in sorted order. A value not
    among ``levels`` raises AnalysisError.
    """
    vals = list(values)
    if applies is not None:
        mask = np.asarray(applies, dtype=bool)
        if mask.size != len(vals):
            raise ValueError("applies must have one entry per value")
        n_na = int((~mask).sum())
        vals = [v for v, m in zip(vals, mask, strict=True) if m]
    else:
        n_na = 0
    known = [str(v) for v in vals if not _is_missing(v)]
    n_missing = len(vals) - len(known)
    levs = tuple(levels) if levels is not None else tuple(sorted(set(known)))
    index = {lev: i for i, lev in enumerate(levs)}
    counts = np.zeros(len(levs), dtype=np.int64)
    for v in known:
        if v not in index:
            raise AnalysisError(f"value outside the listed levels in a Table 1 variable: {v!r}")
        counts[index[v]] += 1
    denom = len(known)
    return CategoricalSummary(levs, counts, _percents(counts, denom), denom, n_missing, n_na)


@dataclass(frozen=True)
class MultiSelectSummary:
    """Counts of each selected option over one denominator (percents need not sum to 100)."""

    levels: tuple[str, ...]
    counts: np.ndarray
    percents: np.ndarray
    denominator: int
    n_missing: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "options": list(self.levels),
            "counts": [int(c) for c in self.counts],
            "percents": [_f(p) for p in self.percents],
            "denominator": self.denominator,
            "n_missing": self.n_missing,
        }


def multiselect_counts(
    selected: Mapping[str, Any],
    *,
    missing: Sequence[bool] | np.ndarray | None = None,
    applies: Sequence[bool] | np.ndarray | None = None,
) -> MultiSelectSummary:
    """Each option (a boolean column: selected or not) counted over the same denominator.

    ``missing`` flags patients whose answer is unknown (out of the denominator);
    ``applies`` restricts to a subset. The denominator is the patients who apply
    and are not missing.
    """
    names = tuple(selected)
    if not names:
        raise ValueError("no options")
    cols = [np.asarray(selected[k], dtype=bool) for k in names]
    n = cols[0].size
    keep = np.ones(n, dtype=bool) if applies is None else np.asarray(applies, dtype=bool)
    miss = np.zeros(n, dtype=bool) if missing is None else np.asarray(missing, dtype=bool)
    use = keep & ~miss
    counts = np.array([int((c & use).sum()) for c in cols], dtype=np.int64)
    denom = int(use.sum())
    return MultiSelectSummary(
        names, counts, _percents(counts, denom), denom, int((keep & miss).sum())
    )


# --------------------------------------------------------------------------- tests


@dataclass(frozen=True)
class GroupTestResult:
    """A group comparison for Table 1, named for its footnote.

    ``test``: "Pearson's chi-square test", "Pearson's chi-square test with Yates's
    continuity correction", "Fisher's exact test", "Fisher–Freeman–Halton exact
    test", "Mann–Whitney U test", "Kruskal–Wallis test", "Welch's t-test",
    "One-way ANOVA". ``method``: "exact", "monte-carlo" or "asymptotic".
    """

    test: str
    p_value: float
    statistic: float = math.nan
    df: float = math.nan
    method: str = "asymptotic"
    correction: str = ""
    min_expected: float = math.nan
    n_simulations: int = 0
    seed: int | None = None
    warnings: tuple[Any, ...] = field(default=())

    @property
    def footnote(self) -> str:
        """The test in words, e.g. "Mann–Whitney U test (exact)"."""
        bits = [] if "exact" in self.test else [self.method]
        bits += [self.correction] if self.correction else []
        if self.method == "monte-carlo":
            bits = [f"Monte Carlo, {self.n_simulations} tables, seed {self.seed}"]
        return f"{self.test} ({'; '.join(bits)})" if bits else self.test

    def to_dict(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "p_value": _f(self.p_value),
            "statistic": _f(self.statistic),
            "df": _f(self.df),
            "method": self.method,
            "correction": self.correction,
            "min_expected": _f(self.min_expected),
            "n_simulations": self.n_simulations,
            "seed": self.seed,
            "footnote": self.footnote,
        }


def _log_table_prob(cells: np.ndarray, rows: np.ndarray, cols: np.ndarray, n: int) -> float:
    lg = math.lgamma
    return (
        sum(lg(r + 1) for r in rows)
        + sum(lg(c + 1) for c in cols)
        - lg(n + 1)
        - sum(lg(int(x) + 1) for x in cells.ravel())
    )


class _TooMany(Exception):
    pass


def _enumerate_p(table: np.ndarray, max_tables: int) -> float:
    """Exact Fisher–Freeman–Halton p by enumerating every table with the observed margins."""
    rows = table.sum(axis=1).astype(int)
    cols = table.sum(axis=0).astype(int)
    n = int(rows.sum())
    lg = math.lgamma
    const = sum(lg(r + 1) for r in rows) + sum(lg(c + 1) for c in cols) - lg(n + 1)
    log_obs = _log_table_prob(table, rows, cols, n)
    # R's fisher.test: tables with P <= P_obs * (1 + 1e-7) count as "no more likely".
    threshold = log_obs + math.log1p(1e-7)
    r, c = rows.size, cols.size
    total = 0.0
    visited = 0

    # Fill column by column; within a column, row by row, bounded by remaining row totals.
    def fill_col(j: int, remaining: list[int], acc: float) -> None:
        nonlocal total, visited
        if j == c - 1:
            # The last column is determined by the remaining row totals.
            logp = acc - sum(lg(x + 1) for x in remaining)
            visited += 1
            if visited > max_tables:
                raise _TooMany
            if const + logp <= threshold:
                total += math.exp(const + logp)
            return
        col_total = int(cols[j])

        def fill_cell(i: int, left: int, rem: list[int], acc2: float) -> None:
            if i == r - 1:
                if left <= rem[i]:
                    rem2 = rem.copy()
                    rem2[i] -= left
                    fill_col(j + 1, rem2, acc2 - lg(left + 1))
                return
            later = sum(rem[i + 1 :])
            for x in range(max(0, left - later), min(left, rem[i]) + 1):
                rem2 = rem.copy()
                rem2[i] -= x
                fill_cell(i + 1, left - x, rem2, acc2 - lg(x + 1))

        fill_cell(0, col_total, remaining, acc)

    fill_col(0, [int(x) for x in rows], 0.0)
    return min(1.0, total)


def fisher_exact_rxc(
    table: Any,
    *,
    max_tables: int = 200_000,
    n_simulations: int = 100_000,
    seed: int = 20240101,
) -> GroupTestResult:
    """Fisher–Freeman–Halton exact test of an r×c table.

    Full enumeration when at most ``max_tables`` tables have the observed
    margins; otherwise a Monte-Carlo p from ``n_simulations`` permutation tables
    (seeded, so reproducible). Rows or columns with a zero total are dropped.
    """
    t = np.asarray(table, dtype=np.int64)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if t.ndim != 2 or min(t.shape) < 2:
        return GroupTestResult("Fisher–Freeman–Halton exact test", 1.0, method="exact")
    try:
        p = _enumerate_p(t, max_tables)
        return GroupTestResult("Fisher–Freeman–Halton exact test", p, method="exact")
    except _TooMany:
        pass
    rows = t.sum(axis=1)
    cols = t.sum(axis=0)
    n = int(t.sum())
    rlab = np.repeat(np.arange(rows.size), rows)
    clab = np.repeat(np.arange(cols.size), cols)
    rng = np.random.default_rng(seed)
    log_obs = _log_table_prob(t, rows, cols, n)
    threshold = log_obs + math.log1p(1e-7)
    lgam = np.vectorize(math.lgamma)
    # Permuting one label vector against the other draws tables from the exact
    # multiple-hypergeometric null with the observed margins.
    const = float(lgam(rows + 1).sum() + lgam(cols + 1).sum()) - math.lgamma(n + 1)
    lgtab = lgam(np.arange(n + 1) + 1.0)
    nc = cols.size
    hits = 0
    done = 0
    batch = max(1, min(n_simulations, 2_000_000 // max(n, 1)))
    while done < n_simulations:
        b = min(batch, n_simulations - done)
        perms = np.argsort(rng.random((b, n)), axis=1)
        cells = rlab[None, :] * nc + clab[perms]
        offs = (np.arange(b) * t.size)[:, None]
        sims = np.bincount((cells + offs).ravel(), minlength=b * t.size).reshape(b, t.size)
        logp = const - lgtab[sims].sum(axis=1)
        hits += int((logp <= threshold).sum())
        done += b
    p = (1 + hits) / (n_simulations + 1)
    return GroupTestResult(
        "Fisher–Freeman–Halton exact test",
        p,
        method="monte-carlo",
        n_simulations=n_simulations,
        seed=seed,
    )


def _not_computed(why: str) -> GroupTestResult:
    # A Table 1 detail must not stop a run: the p prints as a dash with the reason attached.
    return GroupTestResult(
        "not computed",
        math.nan,
        method="none",
        warnings=(StatWarning("TEST-NOT-COMPUTABLE", f"No group comparison: {why}."),),
    )


def _expected(t: np.ndarray) -> np.ndarray:
    rows = t.sum(axis=1, keepdims=True).astype(float)
    cols = t.sum(axis=0, keepdims=True).astype(float)
    return rows @ cols / t.sum()


def categorical_test(
    table: Any,
    *,
    method: str = "auto",
    correct: bool = False,
    max_tables: int = 200_000,
    n_simulations: int = 100_000,
    seed: int = 20240101,
) -> GroupTestResult:
    """Chi-square or Fisher's exact test of a groups × categories count table.

    ``method``: "auto" (Fisher when any expected count < 5, else chi-square),
    "chisq" or "fisher". ``correct=True`` applies Yates's continuity correction
    to a 2×2 chi-square (R's ``chisq.test(correct=TRUE)``: the correction is
    ``min(0.5, |O-E|)``); by default no correction. Empty rows/columns are
    dropped; with fewer than two left the result has ``test="not computed"``, a
    NaN p and a ``TEST-NOT-COMPUTABLE`` warning (no exception: Table 1 goes on).
    """
    if method not in ("auto", "chisq", "fisher"):
        raise ValueError(f"method must be auto, chisq or fisher, got {method!r}")
    t = np.asarray(table, dtype=np.int64)
    if t.ndim != 2:
        raise ValueError("a two-way table is needed")
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if min(t.shape) < 2:
        return _not_computed("only one group or one category has patients")
    e = _expected(t)
    min_e = float(e.min())
    use_fisher = method == "fisher" or (method == "auto" and min_e < 5)
    if use_fisher:
        if t.shape == (2, 2):
            from scipy import stats

            res = stats.fisher_exact(t, alternative="two-sided")
            return GroupTestResult(
                "Fisher's exact test",
                float(res.pvalue),
                statistic=float(res.statistic),
                method="exact",
                min_expected=min_e,
            )
        r = fisher_exact_rxc(t, max_tables=max_tables, n_simulations=n_simulations, seed=seed)
        return GroupTestResult(
            r.test,
            r.p_value,
            method=r.method,
            min_expected=min_e,
            n_simulations=r.n_simulations,
            seed=r.seed,
        )
    # scipy.stats.chi2.sf is special.chdtrc (the same numbers) without importing
    # scipy.stats (0.3-0.6 s)
    from scipy import special

    diff = np.abs(t - e)
    yates = correct and t.shape == (2, 2)
    if yates:
        diff = diff - np.minimum(0.5, diff)
    chisq = float((diff**2 / e).sum())
    df = (t.shape[0] - 1) * (t.shape[1] - 1)
    p = float(special.chdtrc(df, chisq))
    name = "Pearson's chi-square test"
    return GroupTestResult(
        name + (" with Yates's continuity correction" if yates else ""),
        p,
        statistic=chisq,
        df=float(df),
        method="asymptotic",
        correction="Yates's continuity correction" if yates else "",
        min_expected=min_e,
    )


def _clean(samples: Iterable[Any]) -> list[np.ndarray]:
    out = []
    for s in samples:
        a = np.asarray(s, dtype=float).ravel()
        out.append(a[~np.isnan(a)])
    return out


#: R's wilcox.test uses the exact Mann–Whitney distribution below this many values per group.
MW_EXACT_MAX = 50


def mann_whitney_exact_applies(n1: int, n2: int, ties: bool) -> bool:
    """R's ``wilcox.test`` rule: exact when both groups have < 50 values and no ties."""
    return n1 < MW_EXACT_MAX and n2 < MW_EXACT_MAX and not ties


def tie_term(counts: Any, multiplicity: Any = None) -> float:
    """``Σ (t³ - t)`` over the tie groups, ``counts`` = how many values share each value.

    ``multiplicity`` (optional): how many distinct values have each of ``counts``
    (a histogram of tie sizes, as an engine returns it). Summed in exact integer
    arithmetic and rounded once, so that every path that counts the same ties
    (NumPy here, SQL in an engine) gives the same float.
    """
    if multiplicity is not None:
        c_list = np.asarray(counts).ravel().tolist()
        pairs = zip(c_list, np.asarray(multiplicity).ravel().tolist(), strict=True)
        return float(sum(int(m) * (int(c) ** 3 - int(c)) for c, m in pairs if int(c) > 1))
    t = np.asarray(counts, dtype=np.int64).ravel()
    t = t[t > 1]
    if t.size == 0:
        return 0.0
    if float(t.sum()) * float(t.max()) ** 2 < 2.0**62:
        return float(int(np.sum(t**3 - t)))
    return float(sum(c**3 - c for c in (int(v) for v in t.tolist())))


def mann_whitney_from_ranks(
    rank_sum_1: float, n1: int, n2: int, ties: float, *, correct: bool = True
) -> GroupTestResult:
    """Two-sided Mann–Whitney U test, normal approximation, from the first group's rank sum.

    ``U1 = R1 - n1(n1+1)/2``; ``z = (max(U1, U2) - n1 n2/2 - c) / σ`` with
    ``σ² = n1 n2/12 ((n+1) - T/(n(n-1)))``, ``T = Σ(t³-t)`` (:func:`tie_term`, midranks)
    and ``c = 0.5`` with the continuity correction; ``p = 2 Φ(-z)`` capped at 1
    (R's ``wilcox.test(exact = FALSE, correct = TRUE)``; Hollander & Wolfe 1999, §4.1).
    The statistic is U1 (R's W). All values tied (σ = 0): p = 1.
    """
    from scipy import special

    n = n1 + n2
    u1 = float(rank_sum_1) - n1 * (n1 + 1) / 2.0
    u2 = n1 * n2 - u1
    num = max(u1, u2) - n1 * n2 / 2.0
    if correct:
        num -= 0.5
    var = n1 * n2 / 12.0 * ((n + 1) - ties / (n * (n - 1.0)))
    # every value tied (σ = 0): no evidence of a difference
    p = 2.0 * float(special.ndtr(-num / math.sqrt(var))) if var > 0 else 1.0
    return GroupTestResult(
        "Mann–Whitney U test",
        min(max(p, 0.0), 1.0),
        statistic=u1,
        method="asymptotic",
        correction=("continuity and ties correction" if correct else "ties correction"),
    )


def kruskal_wallis_from_ranks(rank_sums: Any, ns: Any, ties: float) -> GroupTestResult:
    """Kruskal–Wallis test from per-group midrank sums ``R_j`` and sizes ``n_j``.

    ``H = 12/(N(N+1)) Σ (R_j - n_j (N+1)/2)² / n_j``, divided by the tie correction
    ``1 - T/(N³ - N)`` (``T`` = :func:`tie_term`); p from χ² with k-1 df (R's
    ``kruskal.test``; Hollander & Wolfe 1999, §6.1). The centred form avoids the
    cancellation of ``12/(N(N+1)) Σ R_j²/n_j - 3(N+1)`` at registry sizes. All
    values tied: "not computed".
    """
    from scipy import special  # chdtrc is scipy.stats.chi2.sf without importing scipy.stats

    r = np.asarray(rank_sums, dtype=float)
    m = np.asarray(ns, dtype=float)
    big_n = float(m.sum())
    corr = 1.0 - ties / (big_n**3 - big_n)
    if corr <= 0.0:
        return _not_computed("all values are equal")
    dev = r - m * (big_n + 1.0) / 2.0
    h = 12.0 / (big_n * (big_n + 1.0)) * float(np.sum(dev * dev / m)) / corr
    df = r.size - 1
    return GroupTestResult(
        "Kruskal–Wallis test",
        float(special.chdtrc(df, h)),
        statistic=h,
        df=float(df),
        method="asymptotic",
        correction="ties correction",
    )


def welch_t_from_moments(ns: Any, means: Any, variances: Any) -> GroupTestResult:
    """Welch's two-sample t-test from sizes, means and variances (divisor n-1).

    ``t = (m1 - m2)/√(v1/n1 + v2/n2)``, Welch–Satterthwaite df
    ``(v1/n1 + v2/n2)² / ((v1/n1)²/(n1-1) + (v2/n2)²/(n2-1))``, two-sided p from
    Student's t (R's ``t.test``; Welch 1947, Biometrika 34:28–35).
    """
    from scipy import special

    n1, n2 = (int(x) for x in ns)
    m1, m2 = (float(x) for x in means)
    v1, v2 = (float(x) for x in variances)
    if n1 < 2 or n2 < 2:
        return _not_computed("a group has fewer than two values")
    a, b = v1 / n1, v2 / n2
    if not a + b > 0:
        return _not_computed("no variation within the groups")
    t = (m1 - m2) / math.sqrt(a + b)
    df = (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n2 - 1))
    p = 2.0 * float(special.stdtr(df, -abs(t)))
    return GroupTestResult("Welch's t-test", min(p, 1.0), statistic=t, df=df)


def anova_from_moments(ns: Any, means: Any, variances: Any) -> GroupTestResult:
    """One-way ANOVA (equal variances) from group sizes, means and variances (divisor n-1).

    ``F = [Σ n_j (m_j - m)²/(k-1)] / [Σ (n_j - 1) v_j/(N-k)]``, ``m`` the grand mean;
    p from F(k-1, N-k) (R's ``oneway.test(var.equal = TRUE)``; Fisher 1925).
    """
    from scipy import stats

    m_n = np.asarray(ns, dtype=float)
    m_mean = np.asarray(means, dtype=float)
    v = np.where(m_n > 1, np.asarray(variances, dtype=float), 0.0)
    k = m_n.size
    big_n = float(m_n.sum())
    if big_n - k < 1:
        return _not_computed("too few values for the within-group variance")
    grand = float(np.sum(m_n * m_mean)) / big_n
    ssb = float(np.sum(m_n * (m_mean - grand) ** 2))
    ssw = float(np.sum((m_n - 1.0) * v))
    df1, df2 = k - 1, big_n - k
    if ssw <= 0.0:
        if ssb <= 0.0:
            return _not_computed("all values are equal")
        f, p = math.inf, 0.0
    else:
        f = (ssb / df1) / (ssw / df2)
        p = float(stats.f.sf(f, df1, df2))
    return GroupTestResult("One-way ANOVA", p, statistic=f, df=float(df1))


def continuous_test_from_sums(
    ns: Sequence[int],
    *,
    parametric: bool = False,
    rank_sums: Sequence[float] | None = None,
    ties: float | None = None,
    means: Sequence[float] | None = None,
    variances: Sequence[float] | None = None,
    correct: bool = True,
) -> GroupTestResult:
    """:func:`continuous_test` from sufficient quantities instead of the values.

    ``ns`` per group; ``parametric``: ``means`` and ``variances`` (n-1) per group;
    otherwise ``rank_sums`` (midranks in the pooled groups) and ``ties``
    (:func:`tie_term` of the pooled values). Same rules and the same p as
    :func:`continuous_test` (which calls this), except that the exact
    Mann–Whitney distribution needs the values: when
    :func:`mann_whitney_exact_applies`, ValueError (fetch the values and call
    :func:`continuous_test`; it happens only below 50 values per group).
    """
    keep = [i for i, n in enumerate(ns) if n > 0]
    if len(keep) < 2:
        return _not_computed("fewer than two groups have values")
    n = [int(ns[i]) for i in keep]
    if parametric:
        if means is None or variances is None:
            raise ValueError("means and variances are needed")
        mm = [float(means[i]) for i in keep]
        vv = [float(variances[i]) for i in keep]
        if len(keep) == 2:
            return welch_t_from_moments(n, mm, vv)
        return anova_from_moments(n, mm, vv)
    if rank_sums is None or ties is None:
        raise ValueError("rank sums and the tie term are needed")
    rs = [float(rank_sums[i]) for i in keep]
    if len(keep) == 2:
        if mann_whitney_exact_applies(n[0], n[1], ties > 0):
            raise ValueError("the exact Mann–Whitney test needs the values")
        return mann_whitney_from_ranks(rs[0], n[0], n[1], ties, correct=correct)
    return kruskal_wallis_from_ranks(rs, n, ties)


def continuous_test(
    samples: Sequence[Any],
    *,
    parametric: bool = False,
    exact: bool | None = None,
    correct: bool = True,
) -> GroupTestResult:
    """Mann–Whitney U / Kruskal–Wallis (or Welch t / one-way ANOVA) across groups.

    Mann–Whitney: ``exact=None`` follows R's ``wilcox.test``: exact when every
    group has fewer than 50 values and there are no ties; otherwise the normal
    approximation with tie-corrected variance and (``correct=True``) a
    continuity correction. The statistic is U of the first group (R's W).
    Empty groups are dropped; with fewer than two left the result is "not
    computed" (NaN p, ``TEST-NOT-COMPUTABLE`` warning).
    """
    xs = [x for x in _clean(samples) if x.size > 0]
    if len(xs) < 2:
        return _not_computed("fewer than two groups have values")
    ns = [int(x.size) for x in xs]
    if parametric:
        means = [float(x.mean()) for x in xs]
        variances = [float(x.var(ddof=1)) if x.size > 1 else math.nan for x in xs]
        return continuous_test_from_sums(ns, parametric=True, means=means, variances=variances)
    pooled = np.concatenate(xs)
    _u, inv, counts = np.unique(pooled, return_inverse=True, return_counts=True)
    ties = tie_term(counts)
    if len(xs) == 2:
        x, y = xs
        has_ties = bool((counts > 1).any())
        use_exact = mann_whitney_exact_applies(x.size, y.size, has_ties) if exact is None else exact
        if use_exact and has_ties:
            raise AnalysisError("the exact Mann–Whitney test needs data without ties")
        if use_exact:
            from scipy import stats

            r3 = stats.mannwhitneyu(x, y, alternative="two-sided", method="exact")
            return GroupTestResult(
                "Mann–Whitney U test",
                float(r3.pvalue),
                statistic=float(r3.statistic),
                method="exact",
            )
    # mid-ranks from the same sort (scipy's rankdata, method "average", sorts again):
    # the values before a tie group plus (size + 1) / 2, exact in binary
    below = np.cumsum(counts) - counts
    ranks = (below + (counts + 1) / 2.0)[np.ravel(inv)]
    bounds = np.cumsum([0, *ns])
    rank_sums = [float(ranks[bounds[j] : bounds[j + 1]].sum()) for j in range(len(xs))]
    if len(xs) == 2:
        return mann_whitney_from_ranks(rank_sums[0], ns[0], ns[1], ties, correct=correct)
    return kruskal_wallis_from_ranks(rank_sums, ns, ties)


def smd_continuous(mean1: float, sd1: float, mean0: float, sd0: float) -> float:
    """Standardised mean difference of two groups, (m1 − m0) / sqrt((s1² + s0²) / 2)
    (Austin 2009); ``nan`` when both SDs are 0 and the means differ, 0 when all agree."""
    pooled = math.sqrt((sd1 * sd1 + sd0 * sd0) / 2.0)
    if pooled > 0:
        return (mean1 - mean0) / pooled
    return 0.0 if mean1 == mean0 else math.nan


def smd_categorical(p1: Sequence[float], p0: Sequence[float]) -> float:
    """Standardised difference of a categorical variable between two groups from the
    proportions of its k levels (Yang and Dalton 2012, as R's tableone): with T the
    differences of levels 2..k and S their average multinomial covariance,
    sqrt(Tᵀ S⁻¹ T); for two levels |p1 − p0| / sqrt((p1(1 − p1) + p0(1 − p0)) / 2).
    ``nan`` when S is singular."""
    a = np.asarray(p1, dtype=np.float64)[1:]
    b = np.asarray(p0, dtype=np.float64)[1:]
    t = a - b
    s = (np.diag(a) - np.outer(a, a) + np.diag(b) - np.outer(b, b)) / 2.0
    if not t.size:
        return 0.0
    if not np.any(t):
        return 0.0
    try:
        x = np.linalg.solve(s, t)
    except np.linalg.LinAlgError:
        return math.nan
    v = float(t @ x)
    return math.sqrt(v) if v >= 0 else math.nan

"""The permutation log-rank p of one group comparison (univariable tables, KM figures).

:func:`survstudy.stats.exact.logrank_small_sample` on the comparison's rows, as the
spec's ``permutation`` option asks: the exact conditional permutation p (Heimann and
Neuhaus 1998) or a seeded Monte-Carlo one with its Clopper–Pearson interval.
"""

from __future__ import annotations

from typing import Any

from survstudy.errors import AnalysisError
from survstudy.pipeline.context import Warnings
from survstudy.pipeline.results import PermutationTest
from survstudy.pipeline.rows import Selection

__all__ = ["permutation_test"]


def permutation_test(
    option: str,
    seed: int,
    n_resamples: int,
    sel: Selection,
    warn: Warnings,
    what: str,
    section: str,
    **where: Any,
) -> PermutationTest | None:
    """The permutation log-rank p of one comparison, as the spec's option asks.

    ``auto`` runs it only when a group expects fewer than 5 events
    (:func:`survstudy.stats.exact.logrank_small_sample`); a failure is a warning, the
    chi-square p stays.
    """
    try:
        res = sel.permutation(option, seed, n_resamples)
    except AnalysisError as exc:
        warn.add(
            "PERMUTATION-NOT-COMPUTED",
            f"{what}: the permutation log-rank p could not be computed: {exc.message}",
            section,
            **where,
        )
        return None
    if res is None:
        return None
    mc = res.method == "monte-carlo"
    return PermutationTest(
        method=str(res.method),
        statistic=float(res.statistic),
        p_value=float(res.p_value),
        option=option,
        reason=str(res.reason),
        p_lower=float(res.p_lower) if mc and res.p_lower is not None else float("nan"),
        p_upper=float(res.p_upper) if mc and res.p_upper is not None else float("nan"),
        n_resamples=int(res.n_resamples) if mc and res.n_resamples is not None else None,
        seed=int(res.seed) if mc and res.seed is not None else None,
    )

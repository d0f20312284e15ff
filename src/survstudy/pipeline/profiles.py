"""Methods profiles: which conventions a run follows.

``standard`` follows R's survival package (the default): Efron's method for tied
event times in Cox models, log-log pointwise confidence intervals, the median
as where the curve crosses 0.5 (midpoint of a flat segment lying exactly at 0.5)
with the Brookmeyer–Crowley interval read off the confidence band, and the
log-rank test.

``spss`` follows SPSS 25 (KM and COXREG procedures), which small clinical
studies such as the seed paper used: Breslow's method for ties, the median as
the first event time with Ŝ ≤ 0.5 with SPSS's standard error (Collett's
density rule) and the symmetric interval median ± 1.96·SE, and the tests of
SPSS's "Overall Comparisons" table: "Log Rank (Mantel-Cox)" and "Breslow
(Generalized Wilcoxon)" (the Gehan–Breslow test, weights = number at risk).
SPSS's KM procedure prints no pointwise CI for Ŝ(t); the survival rates use the
spec's ``conf_type`` in both profiles.
"""

from __future__ import annotations

from survstudy.pipeline.results import MethodsProfile

__all__ = ["PROFILES", "get_profile"]

PROFILE_NAMES = ("standard", "spss")


def get_profile(
    name: str, *, conf_type: str = "log-log", conf_level: float = 0.95
) -> MethodsProfile:
    """The :class:`MethodsProfile` called ``name`` (``standard`` or ``spss``)."""
    if name == "standard":
        return MethodsProfile(
            name="standard",
            ties="efron",
            median_rule="r",
            conf_type=conf_type,
            conf_level=conf_level,
            tests=(("logrank", "Log-rank"),),
            software="R survival conventions",
        )
    if name == "spss":
        return MethodsProfile(
            name="spss",
            ties="breslow",
            median_rule="spss",
            conf_type=conf_type,
            conf_level=conf_level,
            tests=(
                ("logrank", "Log Rank (Mantel-Cox)"),
                ("gehan-breslow", "Breslow (Generalized Wilcoxon)"),
            ),
            software="SPSS 25 conventions",
        )
    raise ValueError(f"unknown methods profile {name!r}; use one of {', '.join(PROFILE_NAMES)}")


PROFILES = PROFILE_NAMES

"""The derived table of a registry-sized cohort: moved to :mod:`survstudy.data.registry`.

Kept so that ``from survstudy.data.registry import DerivedCohort`` keeps working; new
code imports from :mod:`survstudy.data.registry` (or :mod:`survstudy.data`).
"""

from __future__ import annotations

from survstudy.data.registry import (
    DerivedCohort,
    applicable_column,
    derive_from_cohort,
    detail_levels,
)

__all__ = ["DerivedCohort", "applicable_column", "derive_from_cohort", "detail_levels"]

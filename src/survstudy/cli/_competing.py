"""Competing-risks options shared by ``survstudy cif`` and ``survstudy cox``.

The codes of the event column (``--cause``, ``--competing``, ``--censored``) are read by
:mod:`survstudy.data.status_codes`, which the Python API shares; here only ``--at``.
"""

from __future__ import annotations

from survstudy.errors import AnalysisError

__all__ = ["parse_times"]


def parse_times(at: str | None, option: str = "--at") -> list[float]:
    """``"12, 36,60"`` -> ``[12.0, 36.0, 60.0]``; :class:`AnalysisError` for a non-number."""
    out = []
    for part in [c.strip() for c in at.split(",") if c.strip()] if at else []:
        try:
            out.append(float(part))
        except ValueError:
            raise AnalysisError(f"{option} must be comma-separated numbers, not {part!r}") from None
    return out

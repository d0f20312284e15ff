"""Result types shared by every analysis: warnings, the methods profile, the
reconciliation rows, provenance; and :func:`json_float` (a float for JSON).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from survstudy.stats import StatWarning

__all__ = ["MethodsProfile", "ProfileDifference", "Provenance", "StudyWarning", "json_float"]


def json_float(x: Any) -> float | None:
    """A float for JSON: NaN/inf/None -> None."""
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


@dataclass(frozen=True)
class StudyWarning:
    """A statistical or data warning, with where it applies (endpoint, variable, term, time)."""

    code: str
    message: str
    endpoint: str | None = None
    variable: str | None = None
    term: str | None = None
    model: str | None = None
    time: float | None = None
    section: str = (
        ""  # table1 | survival | univariable | multivariable | km | treatment_effect | data
    )

    @classmethod
    def from_stat(cls, w: StatWarning, *, section: str, **where: Any) -> StudyWarning:
        ctx = dict(w.context)
        term = where.pop("term", None) or ctx.get("term")
        return cls(
            code=w.code,
            message=w.message,
            term=str(term) if term is not None else None,
            section=section,
            **where,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "section": self.section,
            "endpoint": self.endpoint,
            "variable": self.variable,
            "term": self.term,
            "model": self.model,
            "time": json_float(self.time),
        }


@dataclass(frozen=True)
class MethodsProfile:
    """Conventions of a methods profile (``standard`` = R's survival, ``spss`` = SPSS 25)."""

    name: str
    ties: str  # efron | breslow
    median_rule: str  # r | spss
    conf_type: str  # log-log | log | plain (pointwise survival CIs)
    conf_level: float
    tests: tuple[tuple[str, str], ...]  # (weights, printed label) for group comparisons
    software: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ties": self.ties,
            "median_rule": self.median_rule,
            "conf_type": self.conf_type,
            "conf_level": self.conf_level,
            "tests": [{"weights": w, "label": lab} for w, lab in self.tests],
            "software": self.software,
        }


# --------------------------------------------------------------------------- Table 1


@dataclass(frozen=True)
class ProfileDifference:
    """One quantity computed under both methods profiles (for the reconciliation table).

    ``kind`` says how to print the values: ``time`` (with ``lower``/``upper``),
    ``hr`` (with CI), ``p`` or ``count``.
    """

    section: str
    item: str
    quantity: str
    kind: str
    standard: float
    spss: float
    standard_lower: float = float("nan")
    standard_upper: float = float("nan")
    spss_lower: float = float("nan")
    spss_upper: float = float("nan")
    standard_method: str = ""
    spss_method: str = ""
    analysis: str = ""  # "Survival summary", "Univariable, Overall survival", a model's name

    @property
    def relative_difference(self) -> float:
        a, b = self.standard, self.spss
        if not (math.isfinite(a) and math.isfinite(b)):
            return 0.0 if (math.isfinite(a) == math.isfinite(b)) else float("inf")
        scale = max(abs(a), abs(b), 1e-300)
        return abs(a - b) / scale

    def to_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "analysis": self.analysis,
            "item": self.item,
            "quantity": self.quantity,
            "kind": self.kind,
            "standard": json_float(self.standard),
            "standard_lower": json_float(self.standard_lower),
            "standard_upper": json_float(self.standard_upper),
            "standard_method": self.standard_method,
            "spss": json_float(self.spss),
            "spss_lower": json_float(self.spss_lower),
            "spss_upper": json_float(self.spss_upper),
            "spss_method": self.spss_method,
        }


# --------------------------------------------------------------------------- the whole run


@dataclass(frozen=True)
class Provenance:
    """Where the numbers came from: input and spec hashes, versions, profile, date."""

    input_file: str
    input_sha256: str
    spec_file: str | None
    spec_sha256: str | None
    versions: dict[str, str]
    generated: str | None  # ISO date from SOURCE_DATE_EPOCH, else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_file": self.input_file,
            "input_sha256": self.input_sha256,
            "spec_file": self.spec_file,
            "spec_sha256": self.spec_sha256,
            "versions": dict(sorted(self.versions.items())),
            "generated": self.generated,
        }

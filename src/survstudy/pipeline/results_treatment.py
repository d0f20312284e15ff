"""Result type of a propensity-score comparison of two treatments (:mod:`.treatment_effect`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from survstudy.pipeline.results_common import json_float as _f
from survstudy.stats.treatment import TreatmentEffectResult

__all__ = ["TreatmentEffect"]


@dataclass(frozen=True)
class TreatmentEffect:
    """One ``analyses.treatment_effect`` entry, computed.

    ``result`` holds the statistics (:class:`survstudy.stats.TreatmentEffectResult`:
    propensity model, weights or matches, balance, adjusted curves, Cox HRs) in the
    study's time unit; it is ``None`` when the comparison could not be made
    (``reason`` says why, e.g. separation in the propensity model). ``labels`` maps
    the confounders' names to their labels; ``methods`` are the sentences of the
    methods paragraph naming every choice; ``notes`` the plain-language warnings.
    """

    name: str
    endpoint: str
    endpoint_label: str
    treatment: str
    treatment_label: str
    treated_level: str
    control_level: str
    method: str
    estimand: str
    confounders: tuple[str, ...]
    labels: dict[str, str]
    n_known: int
    n_dropped: int
    landmarks: tuple[float, ...]
    result: TreatmentEffectResult | None
    methods: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    reason: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def estimable(self) -> bool:
        return self.result is not None

    def to_dict(self) -> dict[str, Any]:
        """The ``treatment_effect[]`` entry of results.json (``docs/results-schema.md``)."""
        r = self.result
        head: dict[str, Any] = {"name": self.name, "endpoint": self.endpoint}
        if r is None:
            body: dict[str, Any] = {
                "method": self.method,
                "estimand": self.estimand,
                "n": None,
                "n_treated": None,
                "n_control": None,
                "ess_treated": None,
                "ess_control": None,
                "propensity": None,
                "balance": [],
                "hr": None,
                "lower": None,
                "upper": None,
                "p_value": None,
                "robust_se": None,
                "crude": None,
                "at": [],
                "warnings": [],
            }
        else:
            body = r.to_dict()
        out = {**head, **body}
        # beyond the contract
        out.update(
            {
                "endpoint_label": self.endpoint_label,
                "treatment": self.treatment,
                "treatment_label": self.treatment_label,
                "treated_level": self.treated_level,
                "control_level": self.control_level,
                "confounders": list(self.confounders),
                "n_known": self.n_known,
                "n_dropped": self.n_dropped,
                "landmarks": [_f(t) for t in self.landmarks],
                "options": dict(self.options),
                "methods": list(self.methods),
                "notes": list(self.notes),
                "estimable": self.estimable,
                "reason": self.reason,
            }
        )
        return out

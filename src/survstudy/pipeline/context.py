"""What every analysis of a study run shares: :class:`StudyContext`.

One context is made per :func:`~survstudy.pipeline.run.run_study` call and handed
to each analysis module. It holds the spec, the cohort (its metadata: variables,
endpoints, unit), the :class:`~survstudy.pipeline.rows.Rows` that give each
analysis its patients (in memory or through a data engine), the chosen methods
profile and the other one (for the reconciliation table), and the study's
warnings collector. It computes nothing itself.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from survstudy.data import Cohort
from survstudy.data.registry import DerivedCohort
from survstudy.errors import SpecError
from survstudy.pipeline.results import MethodsProfile, StudyWarning
from survstudy.pipeline.rows import Rows
from survstudy.spec import StudySpec
from survstudy.stats import StatWarning

__all__ = [
    "FEW_AT_RISK",
    "MIN_EPV",
    "Progress",
    "StudyContext",
    "Warnings",
    "exp_or_inf",
    "fmt_num",
    "unit_word",
]

Progress = Callable[[str, int, int], None]
"""Progress callback: (what is being computed, step number, number of steps)."""

#: Below this many patients at risk a landmark rate gets a warning (or below 10% of n).
FEW_AT_RISK = 10
#: Below this many events per model parameter a multivariable model gets a warning.
MIN_EPV = 10


class Warnings:
    """The study's warnings, in the order the analyses raise them (each message once).

    :meth:`recording` logs what an analysis adds, and :meth:`replay` adds it again to
    another collector: the study run computes two analyses side by side (in two
    processes) and puts their warnings in the order a run one after the other gives.
    """

    def __init__(self, items: Iterable[StudyWarning] = ()) -> None:
        self.items: list[StudyWarning] = list(items)
        self._log: list[tuple[bool, StudyWarning]] | None = None

    def add(self, code: str, message: str, section: str, **where: Any) -> str:
        """Record a warning (unless the same one is there already); returns the message."""
        w = StudyWarning(code=code, message=message, section=section, **where)
        self._add(w, once=True)
        return message

    def add_stat(self, w: StatWarning, section: str, **where: Any) -> None:
        """Record a statistics routine's warning (always: each belongs to its own fit)."""
        self._add(StudyWarning.from_stat(w, section=section, **where), once=False)

    def _add(self, w: StudyWarning, *, once: bool) -> None:
        if self._log is not None:
            self._log.append((once, w))
        if not once or w not in self.items:
            self.items.append(w)

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[tuple[bool, StudyWarning]]]:
        """Log every warning added inside the ``with`` block (in order)."""
        log: list[tuple[bool, StudyWarning]] = []
        outer, self._log = self._log, log
        try:
            yield log
        finally:
            self._log = outer

    def replay(self, log: Iterable[tuple[bool, StudyWarning]]) -> None:
        """Add the warnings of a :meth:`recording` log, as their analysis added them."""
        for once, w in log:
            self._add(w, once=once)


@dataclass(frozen=True, eq=False)
class StudyContext:
    """The inputs every analysis of one study run reads (see the module docstring)."""

    spec: StudySpec
    cohort: Cohort | DerivedCohort
    rows: Rows
    profile: MethodsProfile
    other: MethodsProfile
    warn: Warnings
    #: processes an analysis may compute in (2: independent parts side by side)
    jobs: int = 1

    @property
    def in_memory(self) -> bool:
        """The patients' rows are in memory (not a registry cohort read by an engine): the
        methods that need them (profile limits, Firth, exact permutation) are available."""
        return not isinstance(self.cohort, DerivedCohort)

    @property
    def file(self) -> str | None:
        """The spec's file name, for error messages."""
        return self.spec.path.name if self.spec.path else None

    def spec_error(self, message: str, *key: str | int, code: str | None = None) -> SpecError:
        """A :class:`SpecError` pointing at ``key`` (``"analyses", "km", 0, …``) in the spec."""
        kw: dict[str, Any] = {} if code is None else {"code": code}
        return SpecError(
            message,
            file=self.file,
            line=self.spec.line_of(*key),
            key=".".join(str(k) for k in key),
            **kw,
        )

    def check_endpoint(self, name: str, key: tuple[str, ...]) -> None:
        """Refuse an analysis of ``name`` when it is not an endpoint of the study."""
        if name not in self.cohort.endpoints:
            known = ", ".join(sorted(self.cohort.endpoints)) or "none"
            raise self.spec_error(
                f"'{name}' is not an endpoint of the study (endpoints: {known})", *key
            )

    def endpoint_label(self, name: str) -> str:
        return self.cohort.endpoints[name].label


def fmt_num(x: float) -> str:
    """A number as people write it in a sentence: ``12``, ``2.5``."""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def exp_or_inf(x: float) -> float:
    """exp that gives inf (not an OverflowError) for a term running off to infinity."""
    return math.exp(x) if x < 709.0 else float("inf")


def unit_word(unit: str, value: float = 2.0) -> str:
    """``months`` -> ``month`` for a value of 1."""
    return unit[:-1] if value == 1 and unit.endswith("s") else unit

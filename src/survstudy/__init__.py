"""survstudy: a retrospective survival study from a spreadsheet and a YAML spec.

The package flows one way (see ``docs/architecture.md``)::

    spec/ + data/  ->  pipeline/  ->  stats/  ->  tables/ + plots/  ->  report/
                                            cli/ and api/ drive it all

The Python API is here at the top level (:mod:`survstudy.api`)::

    import survstudy
    km = survstudy.kaplan_meier(df, "time", "status", by="arm")
    fit = survstudy.cox(df, "time", "status", ["age", "grade"], categorical=["grade"])
    cif = survstudy.cumulative_incidence(df, "time", "status", by="arm", cause=1, competing=2)
    out = survstudy.Study.from_yaml("study.yaml").run()

Names are imported on first use (PEP 562), so ``import survstudy`` and the command
line do not pay for pandas, matplotlib or the API's modules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from survstudy._version import __version__
from survstudy.errors import AnalysisError, DataError, SpecError, SurvstudyError

if TYPE_CHECKING:
    from survstudy.api import (
        CoxFit,
        CumulativeIncidenceFit,
        FineGrayFit,
        KaplanMeierFit,
        LogRankTest,
        Study,
        StudyOutput,
        cox,
        cumulative_incidence,
        fine_gray,
        kaplan_meier,
        logrank,
    )

# public name -> module that defines it (imported on first use)
_LAZY = {
    "kaplan_meier": "survstudy.api",
    "logrank": "survstudy.api",
    "cox": "survstudy.api",
    "cumulative_incidence": "survstudy.api",
    "fine_gray": "survstudy.api",
    "Study": "survstudy.api",
    "StudyOutput": "survstudy.api",
    "KaplanMeierFit": "survstudy.api",
    "LogRankTest": "survstudy.api",
    "CoxFit": "survstudy.api",
    "CumulativeIncidenceFit": "survstudy.api",
    "FineGrayFit": "survstudy.api",
}

__all__ = [
    "AnalysisError",
    "CoxFit",
    "CumulativeIncidenceFit",
    "DataError",
    "FineGrayFit",
    "KaplanMeierFit",
    "LogRankTest",
    "SpecError",
    "Study",
    "StudyOutput",
    "SurvstudyError",
    "__version__",
    "cox",
    "cumulative_incidence",
    "fine_gray",
    "kaplan_meier",
    "logrank",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'survstudy' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

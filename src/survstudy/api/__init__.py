"""The Python API: survival analysis from a DataFrame, and whole studies, in a notebook.

Belongs here: thin front ends that convert a user's table (pandas, polars, Arrow) and
arguments into the calls the command line makes, and wrap the results for people
(``to_frame()``, ``to_dict()``, ``summary()``, ``_repr_html_``, ``plot()``).

Must not be here: statistics (``stats``), formatting rules (``tables``), figures
(``plots``), report layout (``report``). Imports: everything below it, and the quick
commands' column typing (``survstudy.data.quick``); the command line does not import
this package. pandas and matplotlib are imported inside functions only, so that
``import survstudy`` stays cheap.

Public API (also at the top level, ``survstudy.kaplan_meier`` …)::

    km = kaplan_meier(df, "time", "status", by="arm")      # KaplanMeierFit
    lr = logrank(df, "time", "status", by="arm")           # LogRankTest
    fit = cox(df, "time", "status", ["age", "grade"], categorical=["grade"])   # CoxFit
    cif = cumulative_incidence(df, "time", "status", by="arm", cause=1, competing=2)
    fg = fine_gray(df, "time", "status", ["age", "arm"], cause=1, competing=2)
    km.to_frame(); km.to_dict(); km.summary(); km.plot()
    study = Study.from_yaml("study.yaml")                  # or Study(spec_dict, data=df)
    out = study.run()                                      # StudyOutput
    out.table1; out.survival; out.univariable; out.multivariable; out.write_report("out/")

The competing-risks front ends (``cumulative_incidence``, ``fine_gray``: ``survstudy cif``
and ``cox --cause/--competing --fine-gray``) are in ``competing.py``.
"""

from __future__ import annotations

from survstudy.api.competing import (
    CumulativeIncidenceFit,
    FineGrayFit,
    cumulative_incidence,
    fine_gray,
)
from survstudy.api.regression import CoxFit, cox
from survstudy.api.study import Study, StudyOutput
from survstudy.api.survival import KaplanMeierFit, LogRankTest, kaplan_meier, logrank

__all__ = [
    "CoxFit",
    "CumulativeIncidenceFit",
    "FineGrayFit",
    "KaplanMeierFit",
    "LogRankTest",
    "Study",
    "StudyOutput",
    "cox",
    "cumulative_incidence",
    "fine_gray",
    "kaplan_meier",
    "logrank",
]

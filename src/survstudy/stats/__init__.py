"""Statistics: Kaplan–Meier, the log-rank family, Cox regression, competing risks
(cumulative incidence, Gray's test, Fine–Gray), descriptive statistics.

Belongs here: estimators and tests on plain NumPy arrays (times in whole days or
any unit, 0/1 events, numeric design matrices), their result dataclasses, and
the warnings about a result (as data on it).

Must not be here: pandas, matplotlib, YAML, file I/O, column names from a
spreadsheet, or any formatting of numbers for people. Imports: numpy, scipy and
``survstudy.errors`` only. A test asserts that importing this package loads
neither pandas nor matplotlib.
"""

from survstudy.stats._common import StatWarning

__all__ = ["StatWarning"]

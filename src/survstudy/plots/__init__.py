"""Figures: Kaplan–Meier curves with a number-at-risk table, forest plots.

Belongs here: functions that take a result object and a matplotlib ``Axes``
and return the ``Axes``; matplotlib is imported lazily inside them.

Must not be here: statistics (the risk table's numbers come from the result),
file layout of a report. Imports: matplotlib (lazily), result types.
"""

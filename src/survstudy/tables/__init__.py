"""Table models and the one formatting module.

Belongs here: results -> table models (rows with a type — label, level,
reference, missing — columns and footnotes), and the formatting rules for
people ("7 (58.3)", "1.92 (0.48–7.75)", "<0.001").

Must not be here: any statistic. If a number is missing from a result object,
add it to the result object in ``stats``/``pipeline``. Imports: result types
from ``stats`` and ``pipeline``.
"""

"""The error model: every failure a user can fix is a :class:`SurvstudyError`.

::

    Exception
     └── SurvstudyError          user-fixable; the CLI prints one ``error: …`` line, exit 2
          ├── SpecError          the study YAML: file, line, key, closest valid key
          ├── DataError          the spreadsheet: file, row as seen in the sheet, column, value, rule code
          └── AnalysisError      the data cannot support the analysis asked for
                                 (no events, a constant covariate, collinear columns, …)

Anything else that escapes is a bug in survstudy: the CLI prints a short
message and exits 1 (the traceback only with ``--debug``).

Privacy: a :class:`DataError` for a column that holds identifiers or dates is
built with ``sensitive=True`` and never shows the offending value, only the
row and the column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AnalysisError", "DataError", "Issue", "SpecError", "SurvstudyError"]


class SurvstudyError(Exception):
    """A problem the user can fix. ``code`` is stable and documented (e.g. ``DATE-AMBIGUOUS``)."""

    code: str = "SURVSTUDY"

    def __init__(self, message: str, *, code: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.hint = hint

    def __str__(self) -> str:
        text = self.message
        if self.hint:
            text = f"{text} ({self.hint})"
        return text


class SpecError(SurvstudyError):
    """An error in the study spec, located by file, YAML line and key."""

    code = "SPEC"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        key: str | None = None,
        suggestion: str | None = None,
        code: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, code=code, hint=hint)
        self.file = file
        self.line = line
        self.key = key
        self.suggestion = suggestion

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file if self.line is None else f"{self.file}:{self.line}")
        elif self.line is not None:
            where.append(f"line {self.line}")
        if self.key:
            where.append(f"key '{self.key}'")
        text = f"[{self.code}] "
        if where:
            text += ", ".join(where) + ": "
        text += self.message
        if self.suggestion:
            text += f" (did you mean '{self.suggestion}'?)"
        if self.hint:
            text += f" ({self.hint})"
        return text


class DataError(SurvstudyError):
    """An error in the input data, located as the user sees it in the spreadsheet.

    ``row`` is the spreadsheet row number (header = row 1, first patient = row 2
    for a file with one header line), not a 0-based pandas index.
    """

    code = "DATA"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        value: Any = None,
        rule: str | None = None,
        hint: str | None = None,
        sensitive: bool = False,
    ) -> None:
        super().__init__(message, code=rule, hint=hint)
        self.file = file
        self.row = row
        self.column = column
        self.value = None if sensitive else value
        self.sensitive = sensitive

    @property
    def rule(self) -> str:
        return self.code

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        text = f"[{self.code}] "
        if where:
            text += ", ".join(where) + ": "
        text += self.message
        if self.value is not None and not self.sensitive:
            text += f" (value: {self.value!r})"
        if self.hint:
            text += f"; {self.hint}"
        return text


@dataclass(frozen=True)
class Issue:
    """One data-quality finding: an error (stops the run) or a warning (reported)."""

    code: str
    message: str
    severity: str = "warning"
    file: str | None = None
    row: int | None = None
    column: str | None = None
    value: Any = None
    hint: str | None = None
    context: Mapping[str, Any] = field(default_factory=dict)


class AnalysisError(SurvstudyError):
    """The data cannot support the analysis (no events, constant covariate, collinearity, …)."""

    code = "ANALYSIS"

    def __str__(self) -> str:
        text = f"[{self.code}] {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

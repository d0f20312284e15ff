"""The data-quality report: the check catalogue, issue collection and the one-line format.

Every finding is an :class:`~survstudy.errors.Issue` with a stable code from
:data:`CATALOGUE`. Errors stop the analysis (``DataError``, exit 2); warnings are
listed in the report. Rows are spreadsheet rows as the user sees them.
Values are shown only for columns that are neither identifiers nor dates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from survstudy.errors import DataError, Issue

__all__ = ["CATALOGUE", "IssueCollector", "QualityReport", "format_issue", "format_rows"]

#: code -> (severity, what the check finds). Severity "error" stops the analysis.
CATALOGUE: dict[str, tuple[str, str]] = {
    "FILE-NOT-FOUND": ("error", "the data file does not exist"),
    "FILE-FORMAT": ("error", "the file format cannot be told from the extension"),
    "FILE-UNREADABLE": ("error", "the file cannot be read in its format"),
    "FILE-EMPTY": ("error", "the file or sheet has no header row"),
    "FILE-ENCODING": ("error", "the text encoding given in the spec does not fit the file"),
    "FILE-ENCODING-GUESSED": ("warning", "the CSV file is not UTF-8 and was read as Windows-1252"),
    "FILE-TOO-LARGE": ("error", "the file is larger than the limit"),
    "XLSX-TOO-LARGE": ("error", "the workbook unpacks too large or too compressed (zip bomb)"),
    "XLSX-UNSAFE": ("error", "defusedxml is not installed, so workbooks are not read"),
    "SHEET-NOT-FOUND": ("error", "the sheet named in the spec is not in the workbook"),
    "CSV-RAGGED": ("error", "a CSV row has more fields than the header"),
    "COLUMN-DUPLICATE": ("error", "two columns have the same name"),
    "COLUMN-MISSING": ("error", "a column named in the spec is not in the file"),
    "NO-ROWS": ("error", "the file has no data rows"),
    "ID-DUPLICATE": ("error", "the same patient identifier appears on several rows"),
    "ID-MISSING": ("warning", "a row has no patient identifier"),
    "DATE-UNPARSEABLE": ("error", "a value in a date column is not a date"),
    "DATE-AMBIGUOUS": ("error", "a date reads differently as day/month and month/day"),
    "DATE-INCONSISTENT": ("error", "a date column mixes day/month and month/day orders"),
    "DATE-TWO-DIGIT-YEAR": ("error", "a date has a two-digit year and no century pivot"),
    "DATE-EXCEL-SERIAL": (
        "warning",
        "a date is stored as an Excel serial number (an error in a CSV without excel_date_system)",
    ),
    "DATE-FUTURE": ("warning", "a date is after the data cut-off (an error for a start date)"),
    "MIXED-TYPES": ("error", "a numeric column holds text"),
    "RANGE": ("error", "a value lies outside the plausible range given in the spec"),
    "CATEGORY-UNKNOWN": ("error", "a value is not one of the categories listed in the spec"),
    "REFERENCE-UNKNOWN": ("error", "the reference category is not among the categories"),
    "CATEGORY-CASE": ("warning", "categories differ only by upper/lower case"),
    "EVENT-CODE": ("error", "an event column holds values other than 0/1 or true/false"),
    "MISSING": ("warning", "values are missing"),
    "NOT-APPLICABLE-VALUE": ("warning", "a value is given where the variable does not apply"),
    "POPULATION-MISSING": ("warning", "an inclusion criterion cannot be evaluated for some rows"),
    "NO-PATIENTS": ("error", "no patient is left after the inclusion criteria"),
    "EVENT-BEFORE-START": ("error", "an event date is before the endpoint's start date"),
    "FOLLOWUP-BEFORE-START": ("error", "the last follow-up is before the start date"),
    "DEATH-BEFORE-SURGERY": ("error", "the date of death is before an endpoint's start date"),
    "PROGRESSION-AFTER-DEATH": ("error", "an event date is after the date of death"),
    "FOLLOWUP-AFTER-DEATH": ("error", "the last follow-up is after the date of death"),
    "FOLLOWUP-BEFORE-EVENT": ("warning", "the last follow-up is before an event date"),
    "FOLLOWUP-MISSING": ("error", "no event and no last follow-up date: time cannot be derived"),
    "DURATION-NONPOSITIVE": ("error", "a duration is negative (zero durations are warnings)"),
    "DURATION-ZERO": ("warning", "a duration is zero"),
    "ENDPOINT-NOT-DERIVED": ("warning", "an endpoint cannot be derived for some patients"),
    "EVENT-AFTER-CUTOFF": ("warning", "events after the data cut-off were censored at it"),
}


def format_rows(rows: Sequence[int], limit: int = 10) -> str:
    """'row 5' or 'rows 5, 7, 9 and 3 more'."""
    rows = sorted(set(rows))
    if len(rows) == 1:
        return f"row {rows[0]}"
    shown = ", ".join(str(r) for r in rows[:limit])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"rows {shown}{more}"


def format_issue(issue: Issue) -> str:
    """One line: ``error: [CODE] file, rows 3, 5, column 'c': message (value: 'x'); hint``."""
    where: list[str] = []
    if issue.file:
        where.append(issue.file)
    rows = list(issue.context.get("rows", ())) if issue.context else []
    if rows:
        where.append(format_rows(rows))
    elif issue.row is not None:
        where.append(f"row {issue.row}")
    if issue.column is not None:
        where.append(f"column '{issue.column}'")
    text = f"{issue.severity}: [{issue.code}] "
    if where:
        text += ", ".join(where) + ": "
    text += issue.message
    if issue.value is not None:
        text += f" (value: {issue.value!r})"
    if issue.hint:
        text += f"; {issue.hint}"
    return text


@dataclass(frozen=True)
class QualityReport:
    """All findings of one validation run, errors first in the order they were found."""

    issues: tuple[Issue, ...]

    @property
    def errors(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(i for i in self.issues if i.severity == "warning")

    @property
    def has_errors(self) -> bool:
        return any(i.severity == "error" for i in self.issues)

    def lines(self) -> list[str]:
        """Every issue as one line, errors first."""
        return [format_issue(i) for i in (*self.errors, *self.warnings)]

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-ready list of issues (values already hidden for sensitive columns)."""
        out = []
        for i in self.issues:
            out.append(
                {
                    "code": i.code,
                    "severity": i.severity,
                    "message": i.message,
                    "file": i.file,
                    "row": i.row,
                    "rows": list(i.context.get("rows", ())) if i.context else [],
                    "column": i.column,
                    "value": i.value if isinstance(i.value, str | int | float) else None,
                    "hint": i.hint,
                    "text": format_issue(i),
                }
            )
        return out

    def raise_if_errors(self) -> None:
        """Raise a :class:`DataError` for the first error (with the count of the others)."""
        errors = self.errors
        if not errors:
            return
        first = errors[0]
        rows = list(first.context.get("rows", ())) if first.context else []
        more = ""
        if len(errors) > 1:
            more = f" (and {len(errors) - 1} more error(s); run 'survstudy validate' for all)"
        message = first.message
        if len(rows) > 1:
            message = f"{format_rows(rows)}: {message}"
        raise DataError(
            message + more,
            file=first.file,
            row=first.row if len(rows) <= 1 else None,
            column=first.column,
            value=first.value,
            rule=first.code,
            hint=first.hint,
        )


class IssueCollector:
    """Collects issues; hides values of sensitive columns; severity comes from the catalogue."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.issues: list[Issue] = []

    def add(
        self,
        code: str,
        message: str,
        *,
        rows: Iterable[int] = (),
        column: str | None = None,
        value: Any = None,
        sensitive: bool = False,
        hint: str | None = None,
        severity: str | None = None,
        file: str | None = None,
    ) -> None:
        rows = sorted(set(int(r) for r in rows))
        sev = severity or CATALOGUE.get(code, ("error", ""))[0]
        self.issues.append(
            Issue(
                code=code,
                message=message,
                severity=sev,
                file=self.file if file is None else (file or None),
                row=rows[0] if rows else None,
                column=column,
                value=None if sensitive else value,
                hint=hint,
                context={"rows": tuple(rows)} if rows else {},
            )
        )

    def report(self) -> QualityReport:
        return QualityReport(tuple(self.issues))

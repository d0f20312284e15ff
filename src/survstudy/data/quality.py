"""The data-quality report: the check catalogue, issue collection and the one-line format.

Every finding is an :class:`~survstudy.errors.Issue` with a stable code from
:data:`CATALOGUE`. Errors stop the analysis (``DataError``, exit 2); warnings are
listed in the report. Rows are spreadsheet rows as the user sees them.
Values are shown only for columns that are neither identifiers nor dates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from survstudy.errors import DataError, Issue

__all__ = [
    "CATALOGUE",
    "CHECKS",
    "CheckKind",
    "CheckText",
    "IssueCollector",
    "QualityReport",
    "format_issue",
    "format_rows",
]


@dataclass(frozen=True)
class CheckText:
    """One wording of a check: message and hint templates (``str.format`` fields named
    by the check's parameters), and a severity when this wording overrides the code's."""

    message: str
    hint: str | None = None
    severity: str | None = None


@dataclass(frozen=True)
class CheckKind:
    """A check of the catalogue: code, severity, what it finds, and its wordings by variant
    (``""`` is the usual one)."""

    code: str
    severity: str
    finds: str
    texts: dict[str, CheckText] = field(default_factory=dict)

    def text(self, variant: str = "", **params: Any) -> tuple[str, str | None, str]:
        """(message, hint, severity) of ``variant`` with ``params`` filled in."""
        t = self.texts[variant]
        hint = t.hint.format(**params) if t.hint is not None else None
        return t.message.format(**params), hint, t.severity or self.severity


def _k(code: str, severity: str, finds: str, *texts: tuple[str, CheckText]) -> CheckKind:
    return CheckKind(code, severity, finds, dict(texts))


def _t(message: str, hint: str | None = None, severity: str | None = None) -> CheckText:
    return CheckText(message, hint, severity)


_BOTH_DATES = "check both dates"

#: The check catalogue: every data-quality code with its severity ("error" stops the
#: analysis), what it finds (the README's table), and the wordings both executors of the
#: cohort plan print (the in-memory one and the SQL one take their messages from here).
CHECKS: dict[str, CheckKind] = {
    k.code: k
    for k in [
        _k("FILE-NOT-FOUND", "error", "the data file does not exist"),
        _k("FILE-FORMAT", "error", "the file format cannot be told from the extension"),
        _k("FILE-UNREADABLE", "error", "the file cannot be read in its format"),
        _k("FILE-EMPTY", "error", "the file or sheet has no header row"),
        _k("FILE-ENCODING", "error", "the text encoding given in the spec does not fit the file"),
        _k(
            "FILE-ENCODING-GUESSED",
            "warning",
            "the CSV file is not UTF-8 and was read as Windows-1252",
            ("", _t("{note}")),
        ),
        _k("FILE-TOO-LARGE", "error", "the file is larger than the limit"),
        _k(
            "XLSX-TOO-LARGE", "error", "the workbook unpacks too large or too compressed (zip bomb)"
        ),
        _k("XLSX-UNSAFE", "error", "defusedxml is not installed, so workbooks are not read"),
        _k("SHEET-NOT-FOUND", "error", "the sheet named in the spec is not in the workbook"),
        _k("CSV-RAGGED", "error", "a CSV row has more fields than the header"),
        _k("COLUMN-DUPLICATE", "error", "two columns have the same name"),
        _k("COLUMN-MISSING", "error", "a column named in the spec is not in the file"),
        _k("NO-ROWS", "error", "the file has no data rows", ("", _t("the file has no data rows"))),
        _k(
            "ID-DUPLICATE",
            "error",
            "the same patient identifier appears on several rows",
            ("", _t("the same patient id appears on {rows}{more}", "keep one row per patient")),
        ),
        _k(
            "ID-MISSING",
            "warning",
            "a row has no patient identifier",
            ("", _t("the patient id is empty{more}", "give every row its patient id")),
        ),
        _k(
            "DATE-UNPARSEABLE",
            "error",
            "a value in a date column is not a date",
            ("", _t("cannot read the value as a date", "write dates as YYYY-MM-DD")),
            (
                "impossible",
                _t(
                    "the date does not exist (a day or month out of range, such as 31/02)",
                    "correct the day or the month",
                ),
            ),
            (
                "pattern",
                _t("cannot read the value as a date", "the spec's date_format is '{pattern}'"),
            ),
        ),
        _k(
            "DATE-AMBIGUOUS",
            "error",
            "a date reads differently as day/month and month/day",
            *(
                (
                    variant,
                    _t(
                        "the date can be read as day/month/year or as month/day/year" + evidence,
                        "set data.date_format: DMY (day first) or MDY (month first)",
                    ),
                )
                for variant, evidence in [
                    ("", ""),
                    ("dmy", " (row {row} can only be day/month/year)"),
                    ("mdy", " (row {row} can only be month/day/year)"),
                ]
            ),
        ),
        _k(
            "DATE-INCONSISTENT",
            "error",
            "a date column mixes day/month and month/day orders",
            (
                "",
                _t(
                    "the column mixes day/month/year (e.g. row {dmy_row}) and month/day/year "
                    "(e.g. row {mdy_row}) dates",
                    "write one format throughout, preferably YYYY-MM-DD",
                ),
            ),
        ),
        _k(
            "DATE-TWO-DIGIT-YEAR",
            "error",
            "a date has a two-digit year and no century pivot",
            (
                "",
                _t(
                    "the year has two digits, so the century is unknown",
                    "write four-digit years, or set data.century_pivot (e.g. 30: 00-29 -> 20xx)",
                ),
            ),
        ),
        _k(
            "DATE-EXCEL-SERIAL",
            "warning",
            "a date is stored as an Excel serial number (an error in a CSV without "
            "excel_date_system)",
            (
                "unknown",
                _t(
                    "a number where a date is expected (an Excel serial date in {where}, "
                    "whose date system is unknown)",
                    "export the dates as YYYY-MM-DD, or set data.excel_date_system: 1900 (or 1904)",
                    severity="error",
                ),
            ),
            (
                "converted",
                _t(
                    "{n} date(s) stored as Excel serial numbers were converted with the "
                    "{system} date system",
                    "format the cells as dates in the workbook to be sure",
                ),
            ),
        ),
        _k(
            "DATE-FUTURE",
            "warning",
            "a date is after the data cut-off (an error for a start date)",
            (
                "",
                _t(
                    "the date is after the data cut-off ({cutoff})",
                    "check the date or the cut-off in the spec",
                ),
            ),
            (
                "start",
                _t(
                    "the start date is after the data cut-off ({cutoff})",
                    "exclude these patients under population, or move data.cutoff",
                    severity="error",
                ),
            ),
        ),
        _k(
            "MIXED-TYPES",
            "error",
            "a numeric column holds text",
            *(
                (
                    variant,
                    _t(
                        message,
                        "correct the cells, or add the codes to data.missing if they mean "
                        "'missing'",
                    ),
                )
                for variant, message in [
                    ("", "expected numbers, found text: {values}"),
                    ("hidden", "expected numbers, found text"),
                ]
            ),
        ),
        _k(
            "RANGE",
            "error",
            "a value lies outside the plausible range given in the spec",
            (
                "",
                _t(
                    "value(s) outside the plausible range [{lo}, {hi}]: {values}",
                    "correct the cells, or widen 'range' in the spec if they are right",
                ),
            ),
        ),
        _k(
            "CATEGORY-UNKNOWN",
            "error",
            "a value is not one of the categories listed in the spec",
            *(
                (
                    variant,
                    _t(
                        message,
                        "known: {allowed}; add the value to a level in the spec or correct "
                        "the cell",
                    ),
                )
                for variant, message in [
                    ("", "value(s) not among the categories: {values}"),
                    ("hidden", "value(s) not among the categories: values hidden"),
                ]
            ),
        ),
        _k(
            "REFERENCE-UNKNOWN",
            "error",
            "the reference category is not among the categories",
            (
                "",
                _t(
                    "the reference '{reference}' is not among the categories found: {levels}",
                    "set 'reference' to one of them, or list the levels in the spec",
                ),
            ),
        ),
        _k(
            "MANY-LEVELS",
            "warning",
            "a categorical variable has many categories for the number of values (free "
            "text?): more than 5 categories and fewer than 5 values per category on "
            "average, or more than 20 categories",
            (
                "",
                _t(
                    "{levels} categories among {values} values; Table 1 lists every one of them",
                    "if this is free text, declare it type: text (never analysed or shown); "
                    "otherwise group the values into levels in the spec",
                ),
            ),
        ),
        _k(
            "CATEGORY-CASE",
            "warning",
            "categories differ only by upper/lower case",
            (
                "",
                _t(
                    "categories differ only by upper/lower case: {groups}",
                    "list the levels in the spec to merge them",
                ),
            ),
            (
                "merged",
                _t(
                    "values written in another upper/lower case were counted as the level "
                    "they match: {merged}",
                    "correct the cells if they mean something else",
                ),
            ),
        ),
        _k(
            "EVENT-CODE",
            "error",
            "an event column holds values other than 0/1 or true/false",
            (
                "",
                _t(
                    "the event indicator must be 0/1 or true/false; found {values}",
                    "add event_codes: {{event: [...], censored: [...]}} to the endpoint",
                ),
            ),
            (
                "mapped",
                _t(
                    "values not covered by event_codes: {values}",
                    "add them to event_codes.event, .censored or .competing",
                ),
            ),
        ),
        _k(
            "EXPRESSION-DOMAIN",
            "error",
            "a function in an expression gets a value outside its domain (log of zero or "
            "less, square root of a negative number)",
            (
                "",
                _t(
                    "{function}() of a value {domain} in '{expression}' ({where}); the result "
                    "would be missing",
                    "correct the values, or change the expression (e.g. log(x + 1))",
                ),
            ),
        ),
        _k(
            "MISSING",
            "warning",
            "values are missing",
            (
                "",
                _t(
                    "{n} of {denominator} value(s) missing",
                    "analyses use the patients with a value",
                ),
            ),
            (
                "derived",
                _t(
                    "{n} of {denominator} value(s) missing ('{label}', derived)",
                    "analyses use the patients with a value",
                ),
            ),
        ),
        _k(
            "NOT-APPLICABLE-VALUE",
            "warning",
            "a value is given where the variable does not apply",
            (
                "",
                _t(
                    "'{label}' has a value although it does not apply ({condition}); "
                    "the value is ignored",
                    "clear the cell, or check the applicable_when condition",
                ),
            ),
        ),
        _k(
            "POPULATION-MISSING",
            "warning",
            "an inclusion criterion cannot be evaluated for some rows",
            (
                "",
                _t(
                    "the criterion '{expression}' cannot be evaluated (missing values); "
                    "these rows were {fate}",
                    "fill in the values the criterion uses",
                ),
            ),
        ),
        _k(
            "NO-PATIENTS",
            "error",
            "no patient is left after the inclusion criteria",
            (
                "",
                _t(
                    "no patient meets the inclusion criteria",
                    "check the population criteria and the dates' format",
                ),
            ),
        ),
        _k(
            "EVENT-BEFORE-START",
            "error",
            "an event date is before the endpoint's start date",
            ("", _t("the event date ('{var}') is before the start date ('{start}')", _BOTH_DATES)),
        ),
        _k(
            "IMMORTAL-TIME",
            "warning",
            "a group or covariate of an endpoint is derived from a date after the endpoint's "
            "start (immortal-time bias)",
            (
                "",
                _t(
                    "'{var}' (a group or covariate for {endpoint}) is derived from the date "
                    "'{date}', which is after the start of {endpoint} ('{start}') for {n} "
                    "patient(s): comparing them from the start credits the exposed group with "
                    "the time they had to survive to be exposed (immortal-time bias)",
                    "declare it time-dependent (time_dependent: {{from: {date}}}: Cox models "
                    "split the follow-up at the date), or compare patients by their status at "
                    "a landmark (analyses.landmark: [{{endpoint: {endpoint}, at: ..., by: "
                    "{var}}}], with {var} time-dependent)",
                ),
            ),
        ),
        _k(
            "FOLLOWUP-BEFORE-START",
            "error",
            "the last follow-up is before the start date",
            (
                "",
                _t(
                    "the last follow-up ('{var}') is before the start date ('{start}')",
                    _BOTH_DATES,
                ),
            ),
        ),
        _k(
            "DEATH-BEFORE-SURGERY",
            "error",
            "the date of death is before an endpoint's start date",
            (
                "",
                _t(
                    "the date of death ('{var}') is before the start date ('{start}')",
                    _BOTH_DATES,
                ),
            ),
        ),
        _k(
            "PROGRESSION-AFTER-DEATH",
            "error",
            "an event date is after the date of death",
            (
                "",
                _t("the event date ('{var}') is after the date of death ('{death}')", _BOTH_DATES),
            ),
        ),
        _k(
            "FOLLOWUP-AFTER-DEATH",
            "error",
            "the last follow-up is after the date of death",
            (
                "",
                _t(
                    "the last follow-up ('{var}') is after the date of death ('{death}')",
                    _BOTH_DATES,
                ),
            ),
        ),
        _k(
            "FOLLOWUP-BEFORE-EVENT",
            "warning",
            "the last follow-up is before an event date",
            (
                "",
                _t(
                    "{label}: the last follow-up is before the event date; the event is used",
                    "update the last follow-up date",
                ),
            ),
        ),
        _k(
            "FOLLOWUP-MISSING",
            "error",
            "no event and no last follow-up date: time cannot be derived",
            (
                "",
                _t(
                    "{label}: no event date and no last follow-up date ({censor}), so the "
                    "time cannot be derived",
                    "fill in the last follow-up date",
                ),
            ),
            (
                "no-censor",
                _t(
                    "{label}: no event date and the endpoint has no 'censor' date, so the "
                    "time cannot be derived",
                    "add 'censor: <last follow-up date>' to the endpoint",
                ),
            ),
        ),
        _k(
            "DURATION-NONPOSITIVE",
            "error",
            "a duration is negative (zero durations are warnings)",
            ("", _t("{label}: the time is negative", "survival times must be zero or more")),
        ),
        _k(
            "DURATION-ZERO",
            "warning",
            "a duration is zero",
            (
                "",
                _t(
                    "{label}: the duration is zero days",
                    "the patient contributes no follow-up; check the dates",
                ),
            ),
        ),
        _k(
            "ENDPOINT-NOT-DERIVED",
            "warning",
            "an endpoint cannot be derived for some patients",
            (
                "columns",
                _t(
                    "{label}: time or event missing; these patients are left out of its analyses",
                    "fill in the time and the event to include them",
                ),
            ),
            (
                "dates",
                _t(
                    "{label}: no '{start}' date, so the endpoint cannot be derived; these "
                    "patients are left out of its analyses",
                    "fill in the start date to include them",
                ),
            ),
            (
                "status",
                _t(
                    "{label}: no '{start}' date, no '{end}' date or no '{status}' value, so "
                    "the endpoint cannot be derived; these patients are left out of its analyses",
                    "fill in the dates and the status to include them",
                ),
            ),
        ),
        _k(
            "STATUS-DATE-CONFLICT",
            "error",
            "the vital status disagrees with the date of death (dead without a death date, "
            "or alive with one)",
            (
                "dead",
                _t(
                    "{label}: '{status}' says the event happened but '{death}' is empty",
                    "fill in the date of death, or correct the status",
                ),
            ),
            (
                "alive",
                _t(
                    "{label}: '{status}' says censored (alive) but '{death}' holds a date",
                    "correct the status, or the date of death",
                ),
            ),
        ),
        _k(
            "TABLE-ID-DUPLICATE",
            "error",
            "a patient id appears on several rows of a joined table with one row per patient",
            (
                "",
                _t(
                    "table '{table}': the same patient id appears on {rows}",
                    "keep one row per patient, or declare the table with rows: many",
                ),
            ),
        ),
        _k(
            "TABLE-ID-UNKNOWN",
            "warning",
            "a row of a joined table has a patient id that is not in the main table",
            (
                "",
                _t(
                    "table '{table}': {n} row(s) with a patient id not in {main}; they are "
                    "not used",
                    "check the ids, or add the patients to the main table",
                ),
            ),
        ),
        _k(
            "TABLE-NO-MATCH",
            "warning",
            "a patient of the main table has no row in a joined table",
            (
                "",
                _t(
                    "{n} patient(s) have no row in the table '{table}' ({path}); their values "
                    "from it are missing",
                    "check the ids in both tables",
                ),
            ),
        ),
        _k(
            "ENDPOINT-COMPONENT-MISSING",
            "error",
            "a component of a composite endpoint (time: [...], event: [...]) has no time or "
            "no event",
            (
                "",
                _t(
                    "{label}: a component's time or event is missing (components {components}), "
                    "so the composite cannot be derived",
                    "fill in every component's time and event",
                ),
            ),
        ),
        _k(
            "ENDPOINT-COMPONENTS-DISAGREE",
            "warning",
            "a component of a composite endpoint is censored before another component's event",
            (
                "",
                _t(
                    "{label}: a component is censored before another component's event, so "
                    "its status after the censoring is unknown; the composite counts the "
                    "earliest event",
                    "check the follow-up of the censored component",
                ),
            ),
        ),
        _k(
            "EVENT-AFTER-CUTOFF",
            "warning",
            "events after the data cut-off were censored at it",
            (
                "",
                _t(
                    "{label}: {n} event(s) after the data cut-off ({cutoff}) were censored at "
                    "the cut-off",
                    "move data.cutoff to count them",
                ),
            ),
        ),
    ]
}

#: code -> (severity, what the check finds): the catalogue in short
CATALOGUE: dict[str, tuple[str, str]] = {c: (k.severity, k.finds) for c, k in CHECKS.items()}


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

    def check(
        self,
        code: str,
        variant: str = "",
        params: dict[str, Any] | None = None,
        *,
        rows: Iterable[int] = (),
        column: str | None = None,
        value: Any = None,
        sensitive: bool = False,
        file: str | None = None,
    ) -> None:
        """Add the catalogue's check ``code`` in its wording ``variant`` with ``params``."""
        message, hint, severity = CHECKS[code].text(variant, **(params or {}))
        self.add(
            code,
            message,
            rows=rows,
            column=column,
            value=value,
            sensitive=sensitive,
            hint=hint,
            severity=severity,
            file=file,
        )

    def report(self) -> QualityReport:
        return QualityReport(tuple(self.issues))

"""The data layer: from a patient spreadsheet to an analysis-ready cohort.

Belongs here: readers (CSV, XLSX, SPSS .sav, Stata .dta, Parquet), opened
read-only; date parsing; the validation rules and the data-quality report;
endpoint derivation (durations in whole days, events as 0/1); the inclusion
flow; the :class:`Cohort` (one row per patient).

Must not be here: statistics beyond counting, formatting for reports, writing
any file. Imports: pandas, pyarrow, openpyxl, pyreadstat, ``survstudy.spec``,
``survstudy.errors``.
"""

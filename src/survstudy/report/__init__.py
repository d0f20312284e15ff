"""Report renderers: HTML (jinja2), Word (python-docx), CSV/XLSX and results.json.

Belongs here: laying table models and figures out in a file format, the
methods paragraph and provenance block, safe output (escaping, neutralised
spreadsheet formulas, sanitised file names, never writing outside the output
folder).

Must not be here: statistics or number formatting rules (use ``tables``).
Imports: ``tables``, ``plots``, result types.
"""

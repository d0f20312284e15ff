"""The pipeline: ``run_study(spec, cohort) -> StudyResults``.

Belongs here: turning the spec's ``analyses`` section into arrays and calls to
``survstudy.stats``, and collecting the results (plain, JSON-serialisable) with
their warnings and provenance.

Must not be here: estimators (they live in ``stats``), number formatting (in
``tables``), rendering (in ``report``). Imports: ``spec``, ``data``, ``stats``.
"""

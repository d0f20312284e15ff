"""One study run: a spec in, the results and (optionally) the report folder out.

:func:`run_spec` is the one way a whole study is run — by ``survstudy run``,
``survstudy demo``, the web app and the Python API (``survstudy.Study(...).run()``,
whose ``write_report`` is :func:`write_run`, the writing half of a run). It builds the cohort (in memory, or derived where
the data are by a DuckDB/Spark engine), computes every analysis of the spec
(:func:`survstudy.pipeline.run_study`) and, given ``out``, writes the report folder
(:func:`survstudy.report.build_bundle`, :func:`survstudy.report.write_report`).

It sits above every other package (spec, data, engines, pipeline, report); only the
front ends (``cli``, ``app``, ``api``) import it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from survstudy import _process
from survstudy._parallel import jobs_for, when_waiting
from survstudy.data.access import sql_readable
from survstudy.errors import SurvstudyError

if TYPE_CHECKING:
    from survstudy.pipeline.results import StudyResults
    from survstudy.report.bundle import ReportBundle
    from survstudy.spec import StudySpec

__all__ = [
    "ALL_FORMATS",
    "StudyRun",
    "check_out_dir",
    "default_out_dir",
    "run_spec",
    "sql_readable",
    "study_rows",
    "write_run",
]

#: Every output format of the report folder.
ALL_FORMATS = ("html", "docx", "csv", "xlsx", "json")


@dataclass(frozen=True)
class StudyRun:
    """What :func:`run_spec` gives: the results, and when a report folder was written,
    its bundle (tables and figures as written) and the files (path -> kind: ``html``,
    ``docx``, ``csv``, ``xlsx``, ``json`` or ``figure``, in writing order)."""

    results: StudyResults
    bundle: ReportBundle | None = None
    written: dict[Path, str] = field(default_factory=dict)
    out_dir: Path | None = None


def _noop(_what: str, _i: int, _n: int) -> None:
    return None


def run_spec(
    spec: StudySpec | str | os.PathLike[str],
    *,
    cohort: Any = None,
    raw: Any = None,
    profile: str | None = None,
    engine: str = "memory",
    engine_options: Mapping[str, Any] | None = None,
    out: str | os.PathLike[str] | None = None,
    formats: Sequence[str] = ALL_FORMATS,
    tiff: bool = False,
    inputs: Sequence[str | os.PathLike[str]] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    jobs: int | None = None,
) -> StudyRun:
    """Run the study ``spec`` (a :class:`~survstudy.spec.StudySpec`, or the path of its YAML).

    ``cohort``: an in-memory :class:`~survstudy.data.Cohort` already built (the app's
    uploaded file); ``raw``: the patients' cells already read in memory
    (:func:`~survstudy.data.readers.read_frame` of the Python API's DataFrame), from
    which the cohort is built instead of ``spec.data``'s file; by default the cohort is
    built from ``spec.data`` — in memory with
    ``engine="memory"``, or derived by ``engine`` (``duckdb``/``spark``, settings in
    ``engine_options``) where Parquet/CSV data are (:func:`study_rows`). ``profile``
    overrides ``analyses.methods``. With ``out``, the report folder is written there in
    ``formats`` (``tiff``: also TIFF figures); it must not be or hold an input file
    (``inputs``, default the spec and its data file). ``progress(what, step, steps)``
    is called before each step. ``jobs``: processes to compute in (independent analyses
    and the figures side by side; :func:`survstudy._parallel.jobs_for`: by default 2 when
    this process is the command line's own and may use two CPUs, else 1); the results
    and files are the same whatever the number. User-fixable problems raise
    :class:`~survstudy.errors.SurvstudyError` subclasses.
    """
    from survstudy.pipeline import run_study
    from survstudy.spec import StudySpec, load_spec

    if isinstance(spec, StudySpec):
        study = spec
    else:
        study = load_spec(spec if isinstance(spec, str) else Path(spec))
    report = progress or _noop
    out_dir = Path(out) if out is not None else None
    if cohort is not None and raw is not None:
        raise ValueError("give cohort or raw, not both")
    in_memory = cohort is not None or raw is not None
    if inputs is None:
        inputs = [p for p in (study.path, None if in_memory else study.data_path) if p]
    input_paths = [Path(p) for p in inputs]
    if out_dir is not None:
        check_out_dir(out_dir, input_paths)
    if out_dir is not None and jobs_for(jobs) > 1:
        from survstudy.plots import preload

        # the figures' imports and font, loaded while this process waits for a second one
        # (they are needed for the report, and inherited by the process that shares it)
        when_waiting(preload)
    report("reading the data", 0, 7)
    options = dict(engine_options or {})
    with study_rows(study, engine, options, cohort=cohort, raw=raw) as (c, eng):
        results = run_study(
            study,
            c,
            profile=profile,
            progress=lambda what, i, n: report(what, i + 1, n + 2),
            data_engine=eng,
            jobs=jobs,
        )
    if out_dir is None:
        return StudyRun(results)
    # the cohort and the fits' arrays are freed: their pages back before the figures
    _process.release_freed_memory()
    report("writing the report", 6, 7)
    return write_run(results, out_dir, formats=formats, tiff=tiff, inputs=input_paths, jobs=jobs)


def write_run(
    results: StudyResults,
    out: str | os.PathLike[str],
    *,
    formats: Sequence[str] = ALL_FORMATS,
    tiff: bool = False,
    inputs: Sequence[str | os.PathLike[str]] = (),
    option: str = "--out",
    jobs: int | None = None,
) -> StudyRun:
    """Write the report folder of computed ``results`` into ``out`` (the writing half of
    :func:`run_spec`; the Python API's ``StudyOutput.write_report``). ``out`` must not be
    or hold one of ``inputs`` (:func:`check_out_dir`; ``option`` names the setting in
    the message). ``jobs``: as for :func:`run_spec` (the figures are drawn side by side)."""
    from survstudy.report import build_bundle, write_report

    out_dir = Path(out)
    input_paths = [Path(p) for p in inputs]
    check_out_dir(out_dir, input_paths, option=option)
    bundle = build_bundle(results, tiff=tiff)
    written = write_report(
        bundle, out_dir, formats=formats, inputs=input_paths, tiff=tiff, jobs=jobs
    )
    return StudyRun(results, bundle, dict(written), out_dir)


@contextlib.contextmanager
def study_rows(
    study: Any, engine: str, options: dict[str, Any], *, cohort: Any = None, raw: Any = None
) -> Iterator[tuple[Any, Any]]:
    """The cohort to analyse and the engine that reads it, for the ``with`` block.

    Without ``cohort`` this is :func:`survstudy.data.open_cohort` (in memory, or derived
    where the data are by ``duckdb``/``spark``; from ``raw``, cells already read in memory,
    instead of the spec's file when given; in memory, with its rows in canonical order,
    :meth:`~survstudy.data.Cohort.in_canonical_order`). ``cohort``: an in-memory cohort already
    built (the app's upload); with ``engine="memory"`` it is analysed as it is, otherwise
    it is written to a private temporary folder for the engine, removed afterwards (it
    holds patient-level data).
    """
    from survstudy.data import Cohort, open_cohort

    if cohort is None:
        with open_cohort(study, engine, options=options, raw=raw) as opened:
            if isinstance(opened.cohort, Cohort):
                # the pipeline computes on the rows in canonical order: put them in it
                # here, so that the cohort in file order (no caller holds it) is freed
                # instead of being kept beside its reordered copy (peak memory)
                opened.cohort = opened.cohort.in_canonical_order()
                # the readers' freed temporaries back to the system (own process only)
                _process.release_freed_memory()
            yield opened.cohort, opened.engine
        return
    if engine == "memory":
        yield cohort, None
        return
    import shutil
    import tempfile

    from survstudy.data.registry import derive_from_cohort
    from survstudy.engines import get_engine

    eng = get_engine(engine, **options)
    work = tempfile.mkdtemp(prefix="survstudy-cohort-", dir=options.get("temp_directory"))
    try:
        yield derive_from_cohort(cohort, os.path.join(work, "cohort")), eng
    finally:
        eng.close()
        shutil.rmtree(work, ignore_errors=True)


def default_out_dir(spec_path: Path) -> Path:
    """``out/`` in the spec's folder."""
    return spec_path.resolve().parent / "out"


def check_out_dir(out: Path, inputs: Sequence[Path], *, option: str = "--out") -> None:
    """Refuse an output folder that is an input file or that holds an input file.

    Every output name is fixed (report.html, results.json, …) or derived from a
    sanitised label, so the only way to overwrite an input is for the input to sit
    in the output folder; that is refused outright. ``option`` names the setting in
    the messages ("choose another --out").
    """
    out_r = out.resolve()
    for p in inputs:
        p_r = p.resolve()
        if p_r == out_r:
            raise SurvstudyError(
                f"the output folder '{out}' is an input file; choose another {option}",
                code="OUT-IS-INPUT",
            )
        if out_r == p_r.parent or out_r in p_r.parents:
            raise SurvstudyError(
                f"the output folder '{out}' holds an input file ('{p.name}'); survstudy never "
                f"writes next to its inputs there. Choose another {option}",
                code="OUT-HOLDS-INPUT",
            )
    if out_r.exists() and not out_r.is_dir():
        raise SurvstudyError(
            f"the output path '{out}' exists and is not a folder", code="OUT-NOT-DIR"
        )

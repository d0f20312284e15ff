"""A whole study from Python: a spec (YAML file or dict) and its data (file or DataFrame).

:class:`Study` is the front end of ``survstudy validate`` and ``survstudy run``:
``Study.from_yaml("study.yaml")`` reads the spec and its data file as the commands do;
``Study(spec_dict, data=df)`` takes the spec as a mapping (the keys of ``study.yaml``)
and the patients as an in-memory table, which is never written anywhere (it is read
through :func:`survstudy.data.readers.read_frame`). :meth:`Study.run` is the one study run of ``survstudy run``, ``demo`` and the app,
:func:`survstudy.study.run_spec` (the cohort in memory, then every analysis of the spec);
:class:`StudyOutput` shows the results as DataFrames and writes the report folder with
:func:`survstudy.study.write_run`, the writing half of that run. Nothing here calls the
pipeline or the report directly.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from survstudy.api._input import TABLE_NAME

if TYPE_CHECKING:
    import pandas as pd

    from survstudy.data import FlowStep, QualityReport
    from survstudy.pipeline import StudyResults
    from survstudy.spec import StudySpec

__all__ = ["ALL_FORMATS", "Study", "StudyOutput", "StudyValidation"]

#: every output format of the report folder
ALL_FORMATS = ("html", "docx", "csv", "xlsx", "json")

# results.json keys -> the API's column glossary (survstudy.api.glossary)
_RENAME = {
    "se": "std_error",
    "std_err": "std_error",
    "lower": "conf_low",
    "upper": "conf_high",
    "median_lower": "median_conf_low",
    "median_upper": "median_conf_high",
    "followup_lower": "followup_conf_low",
    "followup_upper": "followup_conf_high",
    "concordance_se": "concordance_std_error",
    "shr_lower": "shr_conf_low",
    "shr_upper": "shr_conf_high",
}


class Study:
    """A study: its spec and its data, ready to :meth:`validate` and :meth:`run`.

    ``spec``: a mapping with the keys of ``study.yaml`` (``title``, ``data``,
    ``variables``, ``endpoints``, ``population``, ``analyses``), or a loaded
    :class:`~survstudy.spec.StudySpec`. ``data``: the patients, one row each, as a pandas
    DataFrame (or polars, a pyarrow Table, anything with ``__arrow_c_stream__`` or
    ``__dataframe__``), copied when the study is made; the spec's ``data`` section then
    needs no ``path`` (its other keys — ``id``, ``date_format``, ``missing``,
    ``cutoff`` — still apply) and messages name the table ``DataFrame``, its rows
    numbered 1, 2, … in table order. Without ``data`` the spec's ``data.path`` is read
    (relative to the current folder for a mapping).

    Raises :class:`~survstudy.errors.SpecError` for a spec that is not valid, naming the
    key and the closest valid one.
    """

    def __init__(self, spec: Mapping[str, Any] | StudySpec, data: Any = None) -> None:
        from survstudy.spec import StudySpec, load_spec_mapping

        if isinstance(spec, StudySpec):
            if data is not None:
                # messages, flow and provenance name the table, not the spec's file
                table = spec.data.model_copy(update={"path": TABLE_NAME})
                spec = spec.model_copy(update={"data": table})
            self._spec = spec
        else:
            mapping = _with_table_path(spec) if data is not None else dict(spec)
            self._spec = load_spec_mapping(mapping, file="<spec>")
        self._raw = None
        if data is not None:
            from survstudy.data.readers import read_frame

            self._raw = read_frame(data, name=TABLE_NAME)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str], data: Any = None) -> Study:
        """The study of a spec file (``data.path`` relative to it), or of ``data`` given here."""
        from survstudy.spec import load_spec

        return cls(load_spec(Path(path)), data=data)

    @property
    def spec(self) -> StudySpec:
        """The validated spec (:class:`~survstudy.spec.StudySpec`)."""
        return self._spec

    def _inputs(self) -> list[Path]:
        out = [p for p in (self._spec.path,) if p is not None]
        if self._raw is None:
            out.append(self._spec.data_path)
        return out

    def validate(self) -> StudyValidation:
        """Check the data against the spec, as ``survstudy validate``: every finding (errors
        and warnings, each naming the row and column), the inclusion flow and the patients
        and events per endpoint. Nothing is raised for data errors: see ``.ok``."""
        from survstudy.data import Cohort, open_cohort

        with open_cohort(self._spec, strict=False, raw=self._raw) as handle:
            cohort = handle.cohort
        assert isinstance(cohort, Cohort)  # in memory
        return StudyValidation(
            report=cohort.report,
            flow=tuple(cohort.flow),
            endpoints={
                name: {"n": ep.n, "events": ep.events, "definition": ep.definition}
                for name, ep in cohort.endpoints.items()
            },
            n_rows=cohort.flow[0].n_before,
            n_included=cohort.n,
            input_file=cohort.input_file,
        )

    def run(self, profile: str | None = None) -> StudyOutput:
        """Compute every analysis of the spec's ``analyses`` section, as ``survstudy run``.

        ``profile``: ``standard`` (R conventions) or ``spss`` (SPSS 25 conventions);
        default the spec's ``analyses.methods``. Raises
        :class:`~survstudy.errors.DataError` for the first error in the data (see
        :meth:`validate` for all of them).
        """
        if profile is not None and profile not in ("standard", "spss"):
            from survstudy.errors import SurvstudyError

            raise SurvstudyError(
                f"unknown profile '{profile}'; use standard or spss", code="CLI-PROFILE"
            )
        return StudyOutput(_run(self._spec, self._raw, profile), tuple(self._inputs()))

    def __repr__(self) -> str:
        title = self._spec.title or "untitled study"
        data = TABLE_NAME if self._raw is not None else str(self._spec.data.path)
        return f"Study({title!r}, data={data!r})"


def _with_table_path(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The spec mapping with ``data.path`` naming the in-memory table (messages, the flow and
    the provenance then name it, with its rows numbered as in the table)."""
    out = dict(spec)
    section = out.get("data")
    data = dict(section) if isinstance(section, Mapping) else {}
    data["path"] = TABLE_NAME
    out["data"] = data
    return out


def _run(spec: StudySpec, raw: Any, profile: str | None) -> StudyResults:
    """The study run of ``survstudy run`` (:func:`survstudy.study.run_spec`, in memory),
    on the spec's data file or on ``raw``, the user's table read in memory."""
    from survstudy.study import run_spec

    return run_spec(spec, raw=raw, profile=profile).results


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class StudyValidation:
    """What :meth:`Study.validate` found: ``report`` (every issue), the inclusion ``flow``,
    patients and events per endpoint, rows read and patients included."""

    report: QualityReport
    flow: tuple[FlowStep, ...]
    endpoints: Mapping[str, Mapping[str, Any]]
    n_rows: int
    n_included: int
    input_file: str

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed): :meth:`Study.run` will run."""
        return not self.report.has_errors

    def to_frame(self) -> pd.DataFrame:
        """One row per finding: ``code, severity, message, rows, column, hint, text``."""
        import pandas as pd

        keys = ["code", "severity", "message", "rows", "column", "hint", "text"]
        return pd.DataFrame(
            [{k: r[k] for k in keys} for r in self.report.to_records()], columns=keys
        )

    def __str__(self) -> str:
        lines = [f"{self.input_file}: {self.n_rows} rows, {self.n_included} included"]
        if len(self.flow) > 1:
            lines.append("inclusion flow:")
        for step in self.flow[1:]:
            reason = step.reason or step.description
            unknown = f", {step.n_unknown} not evaluable" if step.n_unknown else ""
            lines.append(
                f"  {step.n_before} -> {step.n_after}: {step.n_excluded} excluded "
                f"({reason}){unknown}"
            )
        for name, ep in self.endpoints.items():
            n, events = ep["n"], ep["events"]
            lines.append(
                f"endpoint {name}: {n} patient{'s' if n != 1 else ''}, "
                f"{events} event{'s' if events != 1 else ''}"
                + (f" (not derived for {self.n_included - n})" if n < self.n_included else "")
            )
        lines += self.report.lines()
        lines.append(f"{len(self.report.errors)} error(s), {len(self.report.warnings)} warning(s)")
        return "\n".join(lines) + "\n"

    def summary(self, file: TextIO | None = None) -> None:
        """Print the report as ``survstudy validate`` does (its lines after the first)."""
        print(str(self), end="", file=file or sys.stdout)

    def _repr_html_(self) -> str:
        import html

        return "<pre>" + html.escape(str(self)) + "</pre>"


# --------------------------------------------------------------------------- output


class StudyOutput:
    """The results of :meth:`Study.run`.

    ``results`` is the :class:`~survstudy.pipeline.StudyResults` (everything computed,
    unrounded); :meth:`to_dict` is the body of ``results.json``. The DataFrames
    (:attr:`table1`, :attr:`survival`, :attr:`landmarks`, :attr:`univariable`,
    :attr:`multivariable`) hold the same unrounded numbers with the API's column names
    (:mod:`survstudy.api.glossary`), times in the study's unit; :attr:`tables` the
    report's tables as printed.
    """

    def __init__(self, results: StudyResults, inputs: Sequence[Path] = ()) -> None:
        self.results = results
        self._inputs = tuple(inputs)
        self._doc: dict[str, Any] | None = None
        self._tables: list[Any] | None = None

    def _table_models(self) -> list[Any]:
        if self._tables is None:
            from survstudy.tables.study import study_tables

            self._tables = study_tables(self.results)
        return self._tables

    def to_dict(self) -> dict[str, Any]:
        """The body of ``results.json`` (``docs/results-schema.md``): JSON types only (``None``
        for NaN), every number unrounded."""
        if self._doc is None:
            from survstudy.report.safe import jsonable
            from survstudy.tables.study import results_document

            self._doc = jsonable(results_document(self.results, self._table_models()))
        return self._doc

    @property
    def table1(self) -> pd.DataFrame:
        """Table 1, one row per printed row: ``variable, label, kind, level, n, denominator,
        percent, median, min, max, q1, q3, mean, sd, n_missing, unit, text`` (``text``: the
        cell as printed)."""
        return _frame(self.to_dict()["table1"], drop=("sublevels", "groups"))

    @property
    def survival(self) -> pd.DataFrame:
        """One row per endpoint: ``endpoint, label, n, events, censored, median,
        median_conf_low, median_conf_high, followup_median, …`` (times in the study's unit)."""
        rows: list[dict[str, Any]] = []
        for name, ep in self.to_dict()["endpoints"].items():
            rows.append({"endpoint": name, **ep})
        return _frame(rows, drop=("at", "warnings", "precision", "definition", "cif"))

    @property
    def cumulative_incidence(self) -> pd.DataFrame:
        """Endpoints with competing events: the cumulative incidence at the landmark times,
        one row per endpoint, time and cause (``event`` or ``competing``): ``endpoint, time,
        cause, cif, conf_low, conf_high, std_error, n_risk, one_minus_km``."""
        rows: list[dict[str, Any]] = []
        for name, ep in self.to_dict()["endpoints"].items():
            for at in (ep.get("cif") or {}).get("at", []):
                rows.append({"endpoint": name, **at})
        return _frame(rows, drop=("warnings",))

    @property
    def landmarks(self) -> pd.DataFrame:
        """Survival at the spec's landmark times, one row per endpoint and time: ``endpoint,
        time, survival, conf_low, conf_high, std_error, n_risk``."""
        rows: list[dict[str, Any]] = []
        for name, ep in self.to_dict()["endpoints"].items():
            for at in ep.get("at") or []:
                rows.append({"endpoint": name, **at})
        return _frame(rows, drop=("warnings", "messages"))

    @property
    def univariable(self) -> pd.DataFrame:
        """The univariable Cox rows of every endpoint, in table order: ``endpoint, variable,
        label, kind, level, reference, per, unit, term, coef, std_error, hr, conf_low,
        conf_high, p_value, overall_p, logrank_p, ph_p, n, events, estimable, …``."""
        rows: list[dict[str, Any]] = []
        for name, items in self.to_dict()["univariable"].items():
            rows.extend({"endpoint": name, **r} for r in items)
        return _frame(rows, drop=("warnings", "firth", "permutation"))

    @property
    def multivariable(self) -> pd.DataFrame:
        """The rows of every multivariable model: ``model, endpoint`` and the columns of
        :attr:`univariable`."""
        rows: list[dict[str, Any]] = []
        for m in self.to_dict()["multivariable"]:
            rows.extend({"model": m["name"], "endpoint": m["endpoint"], **r} for r in m["rows"])
        return _frame(rows, drop=("warnings", "firth", "permutation"))

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The report's tables as printed (the cells of ``tables/*.csv``), by table id."""
        import pandas as pd

        out = {}
        for t in self._table_models():
            records = t.to_records(headers=True)
            out[t.id] = pd.DataFrame(records, columns=[c.header for c in t.columns])
        return out

    def write_report(
        self,
        out_dir: str | os.PathLike[str],
        *,
        formats: Sequence[str] = ALL_FORMATS,
        tiff: bool = False,
    ) -> list[Path]:
        """Write the report folder (``report.html``, ``report.docx``, ``tables/*.csv``,
        ``tables.xlsx``, ``results.json``, ``figures/*``) into ``out_dir``, as ``survstudy run
        --out``; return the files written. An output folder that is, or holds, the spec or
        the data file is refused."""
        from survstudy.study import write_run

        run = write_run(
            self.results,
            out_dir,
            formats=formats,
            tiff=tiff,
            inputs=self._inputs,
            option="folder",
        )
        return list(run.written)

    def _repr_html_(self) -> str:
        from survstudy.api._display import render_html

        models = [t for t in self._table_models() if t.id != "reconciliation"]
        return render_html(self.results.title, models)

    def __str__(self) -> str:
        from survstudy.api._display import render_text

        models = [t for t in self._table_models() if t.id != "reconciliation"]
        return render_text(self.results.title, models)

    def summary(self, file: TextIO | None = None) -> None:
        """Print the report's tables as text."""
        print(str(self), end="", file=file or sys.stdout)


def _frame(rows: list[dict[str, Any]], drop: Sequence[str] = ()) -> pd.DataFrame:
    """Records with results.json keys as a DataFrame with glossary column names; ``None``
    becomes NaN in numeric columns."""
    import pandas as pd

    clean = [{_RENAME.get(k, k): v for k, v in r.items() if k not in drop} for r in rows]
    frame = pd.DataFrame(clean)
    for c in frame.columns:
        values = [v for v in frame[c] if v is not None]
        if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            frame[c] = pd.to_numeric(frame[c], errors="coerce")
    return frame

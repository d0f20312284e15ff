"""The Starlette application of ``survstudy app``: routes, sessions and the runner call.

Flow: upload (``/``) -> columns (``/columns``) -> endpoints and population
(``/endpoints``) -> analyses (``/analyses``) -> results (``/results/{run}``) and
downloads. Every step writes the session's choices as a study spec, loads it
with :func:`survstudy.spec.load_spec_text` and builds the cohort with
:func:`survstudy.data.build_cohort`, so the counts and messages are those of
``survstudy validate``/``run``. Files live in the server's temporary folder
under names the server chooses; figures and downloads are served by id from a
per-run table, never from a path in the request.
"""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import threading
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from survstudy.app.criteria import OPERATORS
from survstudy.app.security import (
    UPLOAD_FORMATS,
    AppConfig,
    GuardMiddleware,
    Receive,
    Scope,
    Send,
    constant_time_equal,
    plain_response,
    safe_display_name,
    sniff_ok,
)
from survstudy.app.state import (
    DATE_GROUPS,
    TYPES,
    ColumnChoice,
    CriterionChoice,
    EndpointChoice,
    RunRecord,
    Session,
    Upload,
    parse_list,
    parse_numbers,
    reference_shown,
    spec_text,
)
from survstudy.errors import SpecError, SurvstudyError

__all__ = ["create_app"]

_TEMPLATES = Path(__file__).parent / "templates"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DOWNLOAD_TYPES = {
    "report.html": "text/html; charset=utf-8",
    "report.docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "tables.xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "tables-csv.zip": "application/zip",
    "results.json": "application/json",
    "study.yaml": "application/x-yaml; charset=utf-8",
}
# matplotlib and the report writers are not thread-safe: one run at a time.
_RUN_LOCK = threading.Lock()
#: the treatment comparison's choices in the analyses form (value -> text)
TE_METHODS = {
    "weighting-ATE": "weighting, ATE (stabilised inverse-probability weights)",
    "weighting-ATT": "weighting, ATT (effect in the treated)",
    "weighting-overlap": "weighting, overlap weights",
    "matching": "1:1 matching on the logit, caliper 0.2 SD (ATT)",
}


class _Forbidden(Exception):
    pass


@dataclass
class _Check:
    """The outcome of loading the session's spec and building its cohort."""

    cohort: Any = None
    spec_error: SpecError | None = None
    error: SurvstudyError | None = None


class _App:
    def __init__(self, config: AppConfig, folder: Path) -> None:
        self.config = config
        self.folder = folder
        self.sessions: dict[str, Session] = {}
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )

    # ------------------------------------------------------------------ sessions

    async def auth(self, scope: Scope, receive: Receive, send: Send, inner: Any) -> None:
        """Token -> session cookie on first visit; a known session cookie afterwards; else 403."""
        if scope["type"] != "http":
            await inner(scope, receive, send)
            return
        request = Request(scope)
        token = request.query_params.get("token")
        if token is not None and scope["path"] == "/":
            if not constant_time_equal(token, self.config.token):
                await plain_response(send, 403, _NO_ACCESS)
                return
            sid = secrets.token_urlsafe(32)
            folder = self.folder / f"session-{len(self.sessions) + 1}"
            folder.mkdir(mode=0o700)
            self.sessions[sid] = Session(id=sid, csrf=secrets.token_urlsafe(32), folder=folder)
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(
                self.config.cookie_name,
                sid,
                httponly=True,
                samesite="strict",
                path="/",
            )
            await response(scope, receive, send)
            return
        cookie = request.cookies.get(self.config.cookie_name)
        session = self._session(cookie)
        if session is None:
            await plain_response(send, 403, _NO_ACCESS)
            return
        scope.setdefault("state", {})["session"] = session
        await inner(scope, receive, send)

    def _session(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        for key, s in self.sessions.items():
            if constant_time_equal(sid, key):
                return s
        return None

    # ------------------------------------------------------------------ helpers

    def page(self, template: str, s: Session, status: int = 200, **ctx: Any) -> HTMLResponse:
        html = self.env.get_template(template).render(s=s, csrf=s.csrf, **ctx)
        return HTMLResponse(html, status_code=status)

    async def form(self, request: Request, **limits: Any) -> FormData:
        """The POSTed form after the CSRF check (403 on a missing or wrong token)."""
        s = _session_of(request)
        origin = request.headers.get("origin")
        if origin is not None:  # "null" (sandboxed or redirected) is refused too
            host = origin.split("://", 1)[-1]
            if host.lower() != request.headers.get("host", "").lower():
                raise _Forbidden
        form = await request.form(**limits)
        got = form.get("csrf")
        if not isinstance(got, str) or not constant_time_equal(got, s.csrf):
            await form.close()
            raise _Forbidden
        return form

    def words(self, s: Session, text: str) -> str:
        """A message in the CLI's words, naming the user's file rather than the stored one."""
        if s.upload is not None:
            text = text.replace(s.upload.stored.name, s.upload.display_name)
        return text

    def check(self, s: Session, stage: str) -> _Check:
        """Load the spec of the session up to ``stage`` and build its cohort (non-strict)."""
        from survstudy.spec import load_spec_text

        assert s.upload is not None
        text = spec_text(s, s.upload.display_name, analyses=stage == "analyses")
        if stage == "columns":
            text = spec_text(_without_endpoints(s), s.upload.display_name, analyses=False)
        try:
            spec = load_spec_text(text, file="study.yaml", base=s.folder)
        except SpecError as exc:
            return _Check(spec_error=exc)
        try:
            return _Check(cohort=_build_cohort(spec, s.upload, strict=False))
        except SurvstudyError as exc:
            return _Check(error=exc)

    # ------------------------------------------------------------------ upload

    async def index(self, request: Request) -> Response:
        s = _session_of(request)
        return self.page("upload.html", s, step="upload", error=None, limit=self._limit_text())

    def _limit_text(self) -> str:
        return f"{self.config.max_upload_bytes / (1024 * 1024):g} MB"

    async def upload(self, request: Request) -> Response:
        s = _session_of(request)
        form = await self.form(request)
        item = form.get("file")
        if not isinstance(item, UploadFile) or not item.filename:
            return self._upload_error(s, "choose a file to upload")
        display = safe_display_name(item.filename)
        ext = Path(item.filename.replace("\\", "/")).suffix.lower()
        if ext not in UPLOAD_FORMATS:
            return self._upload_error(
                s,
                f"[FILE-FORMAT] {display}: cannot tell the file format from the extension "
                f"'{ext or '(none)'}'; use .csv, .xlsx, .sav, .dta or .parquet",
            )
        kind = UPLOAD_FORMATS[ext]
        data = await item.read(self.config.max_upload_bytes + 1)
        await item.close()
        if len(data) > self.config.max_upload_bytes:
            return self._upload_error(
                s,
                f"[FILE-TOO-LARGE] {display}: the file is larger than the upload limit of "
                f"{self._limit_text()}",
                status=413,
            )
        if not sniff_ok(kind, data[:65536], data[-8:]):
            return self._upload_error(
                s,
                f"[FILE-FORMAT] {display}: the file's content is not {kind.upper()} although "
                f"its name ends in '{ext}'",
            )
        s.n_uploads += 1
        stored = s.folder / f"upload-{s.n_uploads}{ext}"
        stored.write_bytes(data)
        stored.chmod(0o600)
        from survstudy.data.readers import read_raw
        from survstudy.data.scaffold import guess_columns

        try:
            raw = read_raw(stored, fmt=kind)
        except SurvstudyError as exc:
            stored.unlink()
            return self._upload_error(s, self.words(s, str(exc)).replace(stored.name, display))
        if len(raw.records) > self.config.max_rows:
            stored.unlink()
            return self._upload_error(
                s,
                f"[FILE-TOO-LARGE] {display}: {len(raw.records)} rows; the app takes at most "
                f"{self.config.max_rows} (start it with --max-rows to change that)",
                status=413,
            )
        if s.upload is not None and s.upload.stored.exists():
            s.upload.stored.unlink()
        s.upload = Upload(
            stored=stored,
            display_name=display,
            kind=kind,
            n_rows=len(raw.records),
            columns=tuple(raw.columns),
        )
        s.reset_for_upload()
        s.title = Path(display).stem.replace("_", " ").strip() or "My study"
        s.columns = [_choice(g) for g in guess_columns(raw)]
        from survstudy.data.scaffold import date_order_hint

        hint = date_order_hint(raw, guess_columns(raw))
        s.date_format = hint if hint in ("DMY", "MDY") else ("DMY" if hint == "?" else "")
        return RedirectResponse("/columns", status_code=303)

    def _upload_error(self, s: Session, message: str, status: int = 400) -> Response:
        return self.page(
            "upload.html", s, status=status, step="upload", error=message, limit=self._limit_text()
        )

    # ------------------------------------------------------------------ columns

    async def columns(self, request: Request) -> Response:
        s = _session_of(request)
        if s.upload is None:
            return RedirectResponse("/", status_code=303)
        if request.method == "POST":
            form = await self.form(request)
            for i, c in enumerate(s.columns):
                t = form.get(f"type_{i}")
                if isinstance(t, str) and t in TYPES:
                    c.type = t
                label = form.get(f"label_{i}")
                if isinstance(label, str):
                    c.label = label.strip()[:200]
                levels = form.get(f"levels_{i}")
                if isinstance(levels, str):
                    c.levels = levels.strip()[:2000]
                group = form.get(f"group_{i}")
                if isinstance(group, str) and group in DATE_GROUPS:
                    c.group = group
                reference = form.get(f"reference_{i}")
                if isinstance(reference, str):
                    c.reference = reference.strip()[:200]
            title = form.get("title")
            if isinstance(title, str) and title.strip():
                s.title = title.strip()[:200]
            df = form.get("date_format")
            if isinstance(df, str) and df in ("", "DMY", "MDY", "YMD"):
                s.date_format = df
            cutoff = form.get("cutoff")
            if isinstance(cutoff, str):
                s.cutoff = cutoff.strip() if _is_iso_date(cutoff.strip()) else ""
            units = form.get("units")
            if isinstance(units, str) and units in ("days", "weeks", "months", "years"):
                s.units = units
        chk = self.check(s, "columns")
        by_column, general = self._issues(s, chk)
        ok = chk.cohort is not None and not chk.cohort.report.has_errors
        if request.method == "POST" and ok:
            s.columns_saved = True
            if form.get("next") == "1":
                return RedirectResponse("/endpoints", status_code=303)
        return self.page(
            "columns.html",
            s,
            step="columns",
            types=TYPES,
            date_groups=DATE_GROUPS,
            references={c.column: reference_shown(c) for c in s.columns},
            by_column=by_column,
            general=general,
            ok=ok,
        )

    def _issues(self, s: Session, chk: _Check) -> tuple[dict[str, list[str]], list[str]]:
        """Messages by data column (or variable name) and those that name none."""
        by: dict[str, list[str]] = {}
        general: list[str] = []
        names = {c.name: c.column for c in s.columns}
        if chk.spec_error is not None:
            key = chk.spec_error.key or ""
            parts = key.split(".")
            text = self.words(s, f"error: {chk.spec_error}")
            if len(parts) >= 2 and parts[0] == "variables" and parts[1] in names:
                by.setdefault(names[parts[1]], []).append(text)
            elif len(parts) >= 2 and parts[0] in ("endpoints", "population", "analyses"):
                by.setdefault(".".join(parts[:2]), []).append(text)
            else:
                general.append(text)
        if chk.error is not None:
            general.append(self.words(s, f"error: {chk.error}"))
        if chk.cohort is not None:
            for r in chk.cohort.report.to_records():
                text = self.words(s, str(r["text"]))
                if r["column"] is not None:
                    by.setdefault(str(r["column"]), []).append(text)
                else:
                    general.append(text)
        return by, general

    # ------------------------------------------------------------------ endpoints

    async def endpoints(self, request: Request) -> Response:
        s = _session_of(request)
        if s.upload is None:
            return RedirectResponse("/", status_code=303)
        form_error: dict[str, str] = {}
        if request.method == "POST":
            form = await self.form(request)
            action = form.get("action")
            if action == "add_endpoint":
                form_error = self._add_endpoint(s, form)
            elif action == "delete_endpoint":
                s.endpoints = [e for e in s.endpoints if e.name != form.get("name")]
            elif action == "add_criterion":
                form_error = self._add_criterion(s, form)
            elif action == "delete_criterion":
                idx = form.get("index")
                if isinstance(idx, str) and idx.isdigit() and int(idx) < len(s.population):
                    del s.population[int(idx)]
            elif action == "next":
                return RedirectResponse("/analyses", status_code=303)
        chk = self.check(s, "endpoints")
        by, general = self._issues(s, chk)
        counts: dict[str, dict[str, int]] = {}
        flow: list[dict[str, Any]] = []
        if chk.cohort is not None:
            import numpy as np

            c = chk.cohort
            for name, ep in c.endpoints.items():
                status = c.columns.get(ep.status_column)
                competing = int(np.sum(np.asarray(status) == 2)) if status is not None else 0
                counts[name] = {
                    "n": ep.n,
                    "events": ep.events,
                    "censored": ep.n - ep.events - competing,
                    "competing": competing,
                    "not_derived": c.n - ep.n,
                }
            flow = [st.to_dict() for st in c.flow]
        for e in s.endpoints:
            cols = [e.start, e.end, *e.events, *e.censor, *e.competing, e.time, e.event, e.status]
            names = {c.name: c.column for c in s.columns}
            for col in cols:
                if col is None:
                    continue
                for msg in by.get(names.get(col, col), []):
                    by.setdefault(f"endpoints.{e.name}", []).append(msg)
        return self.page(
            "endpoints.html",
            s,
            step="endpoints",
            dates=s.variables("date"),
            others=s.visible(),
            counts=counts,
            flow=flow,
            by=by,
            general=general,
            form_error=form_error,
            operators=OPERATORS,
            n_rows=s.upload.n_rows,
        )

    def _add_endpoint(self, s: Session, form: FormData) -> dict[str, str]:
        name = _text(form, "name")
        if not _NAME.match(name):
            return {"endpoint": "the endpoint name must be a plain name: letters, digits, _"}
        if s.endpoint(name) is not None or any(c.name == name for c in s.variables()):
            return {"endpoint": f"the name '{name}' is already used"}
        dates = {c.name for c in s.variables("date")}
        columns = {c.column for c in s.visible()}
        form_kind = _text(form, "form") or "dates"
        ep = EndpointChoice(name=name, label=_text(form, "label") or name, form=form_kind)
        if form_kind == "status":
            ep.start = _text(form, "start") or None
            ep.end = _text(form, "end") or None
            ep.status = _text(form, "status") or None
            ep.event_values = _text(form, "event_values")
            ep.censored_values = _text(form, "censored_values")
            if ep.start not in dates or ep.end not in dates or ep.status not in columns:
                return {
                    "endpoint": "choose the start date, the last contact date and the vital "
                    "status column"
                }
        elif form_kind == "columns":
            ep.time = _text(form, "time") or None
            ep.event = _text(form, "event") or None
            unit = _text(form, "time_unit")
            ep.time_unit = unit if unit in ("days", "weeks", "months", "years") else s.units
            ep.event_values = _text(form, "event_values")
            ep.censored_values = _text(form, "censored_values")
            if ep.time not in columns or ep.event not in columns:
                return {"endpoint": "choose the time column and the event column"}
            code = _text(form, "competing_value")
            if code:
                problem = _competing_code_problem(s, ep, code)
                if problem:
                    return {"endpoint": problem}
                ep.competing_values = code
        else:
            ep.start = _text(form, "start") or None
            ep.events = [v for v in form.getlist("events") if isinstance(v, str) and v in dates]
            ep.censor = [v for v in form.getlist("censor") if isinstance(v, str) and v in dates]
            ep.competing = [
                v for v in form.getlist("competing") if isinstance(v, str) and v in dates
            ]
            if ep.start not in dates or not ep.events:
                return {"endpoint": "choose the start date and at least one event date"}
            both = [v for v in ep.events if v in ep.censor]
            if both:
                label = next((c.label for c in s.columns if c.name == both[0]), both[0])
                return {
                    "endpoint": f"'{label or both[0]}' is ticked as an event and as the "
                    "censoring date: every patient with that date would count as an event. "
                    "Untick it under one of them (last follow-up is a censoring date)."
                }
            both = [v for v in ep.competing if v in ep.events or v == ep.start]
            if both:
                return {
                    "endpoint": f"the competing event date '{both[0]}' is also the start or an "
                    "event date; a competing event is a different event (e.g. death without "
                    "progression)"
                }
        if ep.competing or ep.competing_values:
            ep.competing_label = _text(form, "competing_label")[:200]
        s.endpoints.append(ep)
        chk = self.check(s, "endpoints")
        if chk.spec_error is not None:
            s.endpoints.pop()
            return {"endpoint": self.words(s, f"error: {chk.spec_error}")}
        return {}

    def _add_criterion(self, s: Session, form: FormData) -> dict[str, str]:
        from survstudy.app.criteria import picker_expression, reworded_error

        kind = _text(form, "kind")
        expr = _text(form, "expression")[:1000]
        reason = _text(form, "reason")[:200]
        # what the user typed stays in the form when the condition is refused
        kept = {"criterion_kind": kind, "criterion_text": expr, "criterion_reason": reason}
        if not expr:
            expr = (
                picker_expression(
                    s,
                    _text(form, "pick_variable"),
                    _text(form, "pick_op"),
                    _text(form, "pick_value"),
                )
                or ""
            )
        if kind not in ("include", "exclude") or not expr:
            return {
                "criterion": "write a condition (or pick a variable, an operator and a value) "
                "and choose keep or exclude",
                **kept,
            }
        s.population.append(CriterionChoice(kind, expr, reason))
        chk = self.check(s, "endpoints")
        if chk.spec_error is not None:
            s.population.pop()
            return {"criterion": self.words(s, reworded_error(s, expr, chk.spec_error)), **kept}
        return {}

    # ------------------------------------------------------------------ analyses

    async def analyses(self, request: Request) -> Response:
        s = _session_of(request)
        if s.upload is None:
            return RedirectResponse("/", status_code=303)
        a = s.analyses
        candidates = s.choosable()
        if not a.saved:
            a.table1 = [c.name for c in candidates]
            a.survival = [e.name for e in s.endpoints]
            a.landmarks = {"months": "12, 24, 36", "years": "1, 2, 3"}.get(s.units, "")
        errors: list[str] = []
        if request.method == "POST":
            form = await self.form(request)
            valid = {c.name for c in candidates}
            eps = {e.name for e in s.endpoints}
            a.table1 = [v for v in form.getlist("table1") if v in valid or v in eps]
            cont = _text(form, "continuous")
            a.continuous = (
                cont if cont in ("median-range", "median-iqr", "mean-sd") else "median-range"
            )
            a.survival = [v for v in form.getlist("survival") if v in eps]
            a.landmarks = _text(form, "landmarks")
            a.factors = [v for v in form.getlist("factors") if v in valid]
            a.covariates = [v for v in form.getlist("covariates") if v in valid]
            by = _text(form, "km_by")
            a.km_by = by if by in valid else ""
            m = _text(form, "methods")
            a.methods = m if m in ("standard", "spss") else "standard"
            tr = _text(form, "treatment")
            a.treatment = tr if tr in valid else ""
            a.confounders = [
                v for v in form.getlist("confounders") if v in valid and v != a.treatment
            ]
            tm = _text(form, "te_method")
            a.te_method = tm if tm in TE_METHODS else "weighting-ATE"
            if a.treatment and not a.confounders:
                errors.append("treatment comparison: choose the confounders (at least one)")
            a.saved = True
            try:
                parse_numbers(a.landmarks)
            except ValueError:
                errors.append("landmarks: give times as numbers separated by commas, e.g. 24, 36")
            if not a.survival:
                errors.append("choose at least one endpoint for the survival analysis")
            if not errors:
                try:
                    run_id = await _in_thread(self.run, s)
                except SurvstudyError as exc:
                    errors.append(self.words(s, f"error: {exc}"))
                else:
                    return RedirectResponse(f"/results/{run_id}", status_code=303)
        categorical = [c for c in candidates if c.type in ("categorical", "binary")]
        return self.page(
            "analyses.html",
            s,
            step="analyses",
            candidates=candidates,
            categorical=categorical,
            te_methods=TE_METHODS,
            errors=errors,
            immortal=self.immortal_time(s),
            date_groups=DATE_GROUPS,
        )

    def immortal_time(self, s: Session) -> dict[str, list[str]]:
        """The IMMORTAL-TIME warnings of ``survstudy validate`` by variable name: what the
        check of the session's spec says if each offered variable were a factor of every
        endpoint (the analyses form shows them next to the factor before it is chosen)."""
        from dataclasses import replace

        from survstudy.spec import load_spec_text

        assert s.upload is not None
        names = [c.name for c in s.choosable()]
        eps = [e.name for e in s.endpoints]
        if not names or not eps:
            return {}
        probe = replace(
            s,
            analyses=replace(
                s.analyses, survival=eps, factors=names, covariates=[], km_by="", treatment=""
            ),
        )
        try:
            spec = load_spec_text(
                spec_text(probe, s.upload.display_name), file="study.yaml", base=s.folder
            )
            cohort = _build_cohort(spec, s.upload, strict=False)
        except (SurvstudyError, ValueError):
            return {}  # the errors are shown where they arise (columns, endpoints, run)
        out: dict[str, list[str]] = {}
        for r in cohort.report.to_records():
            if r["code"] != "IMMORTAL-TIME":
                continue
            var = next((n for n in names if str(r["message"]).startswith(f"'{n}' (")), None)
            if var is not None:
                out.setdefault(var, []).append(self.words(s, str(r["text"])))
        return out

    def run(self, s: Session) -> str:
        """Run the spec with the ordinary runner; write the report into a new run folder."""
        from survstudy.report.safe import slug
        from survstudy.spec import load_spec_text
        from survstudy.study import run_spec

        assert s.upload is not None
        run_id = secrets.token_urlsafe(12)
        k = len(s.runs) + 1
        out_dir = s.folder / f"run-{k}"
        download = spec_text(s, s.upload.display_name, header=_spec_header(s))
        spec = load_spec_text(download, file="study.yaml", base=s.folder)
        # the same provenance as `survstudy run` on the downloaded spec
        spec.attach_source(sha256=hashlib.sha256(download.encode("utf-8")).hexdigest())
        with _RUN_LOCK:
            cohort = _build_cohort(spec, s.upload, strict=True)
            run = run_spec(spec, cohort=cohort, out=out_dir, inputs=[s.upload.stored])
        results, bundle, written = run.results, run.bundle, run.written
        assert bundle is not None  # a report folder was written
        captions = {slug(f.id, default="figure"): f.caption for f in bundle.figures}
        figures = [
            (captions.get(p.stem, p.stem), p)
            for p in written
            if written[p] == "figure" and p.suffix == ".png"
        ]
        (out_dir / "study.yaml").write_text(download, encoding="utf-8")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for p in written:
                if written[p] == "csv":
                    z.writestr(f"tables/{p.name}", p.read_bytes())
        (out_dir / "tables-csv.zip").write_bytes(buf.getvalue())
        downloads = {name: out_dir / name for name in _DOWNLOAD_TYPES}
        s.runs[run_id] = RunRecord(
            id=run_id,
            out_dir=out_dir,
            spec_download=download,
            figures=figures,
            downloads=downloads,
            page=_results_page(results, bundle, lambda text: self.words(s, text)),
        )
        s.last_run = run_id
        return run_id

    # ------------------------------------------------------------------ results

    def _run_of(self, request: Request) -> tuple[Session, RunRecord | None]:
        s = _session_of(request)
        return s, s.runs.get(str(request.path_params.get("run", "")))

    async def results(self, request: Request) -> Response:
        s, run = self._run_of(request)
        if run is None:
            return self.page("missing.html", s, status=404, step="results")
        return self.page("results.html", s, step="results", run=run, p=run.page)

    async def figure(self, request: Request) -> Response:
        _s, run = self._run_of(request)
        i = request.path_params.get("index")
        if run is None or not isinstance(i, int) or not 0 <= i < len(run.figures):
            return Response("not found", status_code=404, media_type="text/plain")
        return Response(run.figures[i][1].read_bytes(), media_type="image/png")

    async def download(self, request: Request) -> Response:
        _s, run = self._run_of(request)
        name = str(request.path_params.get("name", ""))
        if run is None or name not in _DOWNLOAD_TYPES:
            return Response("not found", status_code=404, media_type="text/plain")
        path = run.downloads[name]
        return Response(
            path.read_bytes(),
            media_type=_DOWNLOAD_TYPES[name],
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )


_NO_ACCESS = (
    "403 Forbidden: open the link that `survstudy app` printed (it carries the access token) "
    "in this browser."
)


def _build_cohort(spec: Any, upload: Upload, *, strict: bool) -> Any:
    """The cohort of ``spec`` (:func:`survstudy.data.open_cohort`) read from the stored file.

    The spec names the user's file (``data.path``: its sanitised name), as the
    downloaded spec does, so every message, count and provenance entry is what
    ``survstudy run`` prints next to the user's file; the bytes are read from the
    server-chosen stored file.
    """
    from survstudy.data import open_cohort

    return open_cohort(spec, strict=strict, data_file=upload.stored, data_format=upload.kind).cohort


def _session_of(request: Request) -> Session:
    s = request.scope.get("state", {}).get("session")
    assert isinstance(s, Session)
    return s


def _text(form: FormData, key: str) -> str:
    v = form.get(key)
    return v.strip() if isinstance(v, str) else ""


def _is_iso_date(text: str) -> bool:
    import datetime as dt

    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _competing_code_problem(s: Session, ep: EndpointChoice, code: str) -> str:
    """Why ``code`` cannot be the competing-event value of ``ep``'s event column ('' if it can)."""
    column = next((c for c in s.visible() if c.column == ep.event), None)
    values = parse_list(column.values_hint) if column is not None else []
    if code not in values:
        found = ", ".join(values) if values else "no short list of values"
        return (
            f"the competing event code '{code}' is not a value of the event column "
            f"'{ep.event}' (its values: {found})"
        )
    taken = parse_list(ep.event_values) + parse_list(ep.censored_values) or ["1", "0"]
    if code in taken:
        return (
            f"the competing event code '{code}' already means the event or censored; "
            "choose the value of the other event (e.g. death without progression)"
        )
    return ""


def _without_endpoints(s: Session) -> Session:
    from dataclasses import replace

    return replace(s, endpoints=[], population=[])


def _choice(g: Any) -> ColumnChoice:
    """A column's row in the mapping step from the ``survstudy init`` guess."""
    t = g.type
    levels = ""
    hint = ""
    if t in ("categorical", "binary") and g.levels:
        # the 0/1 guess carries the labels Yes/No, not the data's values
        hint = "1, 0" if g.note == "1 = Yes, 0 = No" else ", ".join(g.levels)
        if t == "binary" and {x.casefold() for x in g.levels} - {
            "yes",
            "no",
            "y",
            "n",
            "true",
            "false",
            "1",
            "0",
        }:
            levels = hint  # text pairs (female/male) need their levels named
    if t == "categorical" and not g.levels:
        t = "ignore"  # an empty column
    return ColumnChoice(
        column=g.column,
        name=g.name,
        type=t,
        label=g.column,
        levels=levels,
        note=g.note,
        values_hint=hint,
    )


def _spec_header(s: Session) -> str:
    assert s.upload is not None
    return (
        "# Study spec written by `survstudy app`.\n"
        f"# Put the data file '{s.upload.display_name}' next to this file, then run:\n"
        "#   survstudy run study.yaml\n"
    )


def _pct(x: float) -> str:
    import math

    return "–" if x is None or not math.isfinite(x) else f"{100 * x:.1f}"


def _results_page(results: Any, bundle: Any, words: Any) -> dict[str, Any]:
    """What the results page shows: headline survival, report tables, warnings."""
    import math

    from survstudy.report import table_view

    unit = results.time_unit
    survival = []
    for name, ep in results.endpoints.items():
        med = ep.median
        survival.append(
            {
                "name": name,
                "label": ep.label,
                "n": ep.n,
                "events": ep.events,
                "censored": ep.n - ep.events,
                "median": f"{med.estimate:.1f}" if math.isfinite(med.estimate) else "not reached",
                "at": [
                    {
                        "time": f"{a.time:g}",
                        "survival": _pct(a.survival),
                        "lower": _pct(a.lower),
                        "upper": _pct(a.upper),
                        "n_risk": a.n_risk,
                    }
                    for a in ep.at
                ],
                "cif": _cif_rows(ep.cif),
            }
        )
    tables = [table_view(t) for t in bundle.tables]
    warnings = [words(w.message) for w in bundle.warnings]
    return {
        "title": results.title,
        "n": results.n,
        "unit": unit,
        "profile": results.profile.name,
        "flow": list(results.flow),
        "survival": survival,
        "tables": tables,
        "warnings": list(dict.fromkeys(warnings)),
        "quality": [words(q) for q in results.quality],
        "banner": bundle.banner,
    }


def _cif_rows(cif: Any) -> dict[str, Any] | None:
    """A competing-risks endpoint's cumulative incidence at the landmarks (event, competing)."""
    if cif is None:
        return None

    def cells(cause: str) -> list[dict[str, Any]]:
        return [
            {
                "time": f"{a.time:g}",
                "cif": _pct(a.cif),
                "lower": _pct(a.lower),
                "upper": _pct(a.upper),
                "n_risk": a.n_risk,
            }
            for a in cif.at
            if a.cause == cause
        ]

    return {
        "label": cif.competing_label,
        "events": cif.competing_events,
        "event": cells("event"),
        "competing": cells("competing"),
    }


async def _in_thread(fn: Any, *args: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args)


def create_app(config: AppConfig, folder: Path) -> Any:
    """The ASGI application: guard (Host, body size, headers) -> auth -> routes.

    ``folder`` is the server's own temporary folder (the caller deletes it on
    shutdown); every upload and every run output is written under it.
    """
    core = _App(config, folder)

    def handler(method: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            form: FormData | None = None
            try:
                if request.method == "POST":
                    form = await core.form(request, max_files=1, max_fields=5000)
                return await method(request)
            except _Forbidden:
                return Response(
                    "403 Forbidden: the form's security token is missing or wrong; reload "
                    "the page and try again.",
                    status_code=403,
                    media_type="text/plain",
                )
            finally:
                if form is not None:
                    await form.close()

        return endpoint

    routes = [
        Route("/", handler(core.index), methods=["GET"]),
        Route("/upload", handler(core.upload), methods=["POST"]),
        Route("/columns", handler(core.columns), methods=["GET", "POST"]),
        Route("/endpoints", handler(core.endpoints), methods=["GET", "POST"]),
        Route("/analyses", handler(core.analyses), methods=["GET", "POST"]),
        Route("/results/{run}", handler(core.results), methods=["GET"]),
        Route("/runs/{run}/figure/{index:int}.png", handler(core.figure), methods=["GET"]),
        Route("/runs/{run}/download/{name}", handler(core.download), methods=["GET"]),
    ]

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        core.sessions.clear()

    starlette = Starlette(routes=routes, lifespan=lifespan)

    async def authed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await starlette(scope, receive, send)
            return
        await core.auth(scope, receive, send, starlette)

    app = GuardMiddleware(authed, config)
    app.core = core  # type: ignore[attr-defined]
    return app

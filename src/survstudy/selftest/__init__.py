"""``survstudy selftest``: certified-value checks of this installation.

The checks recompute, on the user's own machine (its NumPy, SciPy and BLAS kernels),
numbers whose true values are known from outside survstudy: hand-solved examples
(Therneau & Grambsch's Cox test data, a ten-patient Kaplan–Meier and log-rank) and R
``survival`` results (Kaplan–Meier, log-rank, Cox, Firth, profile-likelihood limits).
The certified values, with the source of each, are package data (``certified.json``,
made by ``scripts/make_certified.py`` from the hand formulas and the committed R
fixtures); the data sets are small public ones shipped beside it in ``data/``:
``book_test1.csv`` (Therneau & Grambsch 2000, appendix E, test data 1), ``lung.csv``
(R ``survival::lung``, NCCTG advanced lung cancer, 228 patients) and
``firth_breast.csv`` (the breast-cancer data of Heinze & Schemper 2001, shipped with
R ``coxphf``).

A check passes when every value agrees within its relative tolerance (stated per check,
from the precision of its reference). The report also records the machine: Python,
NumPy, SciPy, the BLAS library and the kernel it chose for this CPU, the thread count.
"""

from __future__ import annotations

import csv
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CheckResult", "SelftestReport", "machine_info", "run_selftest"]

CERTIFIED = "certified.json"


@dataclass(frozen=True)
class CheckResult:
    """One certified check: every compared value, the worst relative error, the verdict."""

    id: str
    title: str
    source: str
    passed: bool
    n_values: int
    max_rel_error: float
    rtol: float
    seconds: float
    failures: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "source": self.source,
            "passed": self.passed,
            "n_values": self.n_values,
            "max_rel_error": self.max_rel_error if math.isfinite(self.max_rel_error) else None,
            "rtol": self.rtol,
            "seconds": self.seconds,
            "failures": list(self.failures),
        }


@dataclass(frozen=True)
class SelftestReport:
    checks: tuple[CheckResult, ...]
    machine: Mapping[str, Any]
    seconds: float
    certified: str = CERTIFIED
    errors: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks) and not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "n_checks": len(self.checks),
            "n_failed": sum(not c.passed for c in self.checks),
            "seconds": self.seconds,
            "certified": self.certified,
            "checks": [c.to_dict() for c in self.checks],
            "machine": dict(self.machine),
            "errors": list(self.errors),
        }


# --------------------------------------------------------------------------- data


def _data_dir() -> Any:
    return resources.files("survstudy.selftest") / "data"


def _read_csv(name: str) -> dict[str, np.ndarray]:
    """A shipped CSV as float columns; empty or NA cells are NaN."""
    text = (_data_dir() / f"{name}.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    out: dict[str, np.ndarray] = {}
    for key in rows[0]:
        vals = [r[key] for r in rows]
        out[key] = np.array([math.nan if v in ("", "NA") else float(v) for v in vals])
    return out


def _dataset(spec: Any) -> dict[str, np.ndarray]:
    """Time, event and covariates of a check's data: a shipped file or inline columns."""
    if isinstance(spec, Mapping):
        return {k: np.asarray(v) for k, v in spec.items()}
    d = _read_csv(str(spec))
    if spec == "lung":  # R's coding: status 1 = censored, 2 = dead
        d["event"] = (d["status"] == 2).astype(np.float64)
    elif spec == "firth_breast":
        d["time"], d["event"] = d["TIME"], d["CENS"]
    elif spec == "book_test1":
        d["event"] = d["status"]
    return d


def _complete(d: Mapping[str, np.ndarray], cols: Sequence[str]) -> np.ndarray:
    keep = np.ones(d["time"].size, dtype=bool)
    for c in cols:
        v = d[c]
        if v.dtype.kind == "f":
            keep &= ~np.isnan(v)
    return keep


# --------------------------------------------------------------------------- computations


def _cox(d: Mapping[str, np.ndarray], args: Mapping[str, Any]) -> dict[str, Any]:
    from survstudy.stats.cox import cox_fit

    covs = list(args["covariates"])
    keep = _complete(d, [*covs, "event"])
    x = np.column_stack([d[c][keep] for c in covs])
    res = cox_fit(x, d["time"][keep], d["event"][keep], ties=args["ties"], concordance=False)
    return {
        "coef": res.coef.tolist(),
        "se": res.se.tolist(),
        "p_value": res.p_value.tolist(),
        "loglik": res.loglik,
        "loglik_null": res.loglik_null,
        "score_test": res.tests["score"].statistic,
    }


def _firth(d: Mapping[str, np.ndarray], args: Mapping[str, Any]) -> dict[str, Any]:
    from survstudy.stats.firth import cox_fit_firth

    x = np.column_stack([d[c] for c in args["covariates"]])
    res = cox_fit_firth(x, d["time"], d["event"], ties=args["ties"], concordance=False)
    return {
        "coef": res.coef.tolist(),
        "se": res.se.tolist(),
        "p_value": res.p_value.tolist(),
        "lower": [math.log(t.lower) for t in res.terms],
        "upper": [math.log(t.upper) for t in res.terms],
    }


def _profile(d: Mapping[str, np.ndarray], args: Mapping[str, Any]) -> dict[str, Any]:
    from survstudy.stats.firth import profile_ci

    x = np.column_stack([d[c] for c in args["covariates"]])
    lo, hi, _ = profile_ci(x, d["time"], d["event"], ties=args["ties"])
    return {"lower": lo.tolist(), "upper": hi.tolist()}


def _km(d: Mapping[str, np.ndarray], args: Mapping[str, Any]) -> dict[str, Any]:
    from survstudy.stats.km import kaplan_meier

    res = kaplan_meier(d["time"], d["event"], conf_type=args.get("conf_type", "log-log"))
    at = res.survival_at(np.asarray(args["times"], dtype=np.float64))
    med = res.median()
    out: dict[str, Any] = {
        "survival": at.survival.tolist(),
        "at_survival": at.survival.tolist(),
        "at_lower": at.lower.tolist(),
        "at_upper": at.upper.tolist(),
        "median": med.estimate,
        "median_lower": med.lower,
        "median_upper": med.upper,
    }
    if "se_time" in args:
        out["std_err"] = float(res.survival_at([float(args["se_time"])]).std_err[0])
    return out


def _logrank(d: Mapping[str, np.ndarray], args: Mapping[str, Any]) -> dict[str, Any]:
    from survstudy.stats.logrank import logrank_test

    group = d[args.get("by", "group")]
    res = logrank_test(d["time"], d["event"], group)
    return {
        "statistic": res.statistic,
        "p_value": res.p_value,
        "observed": np.asarray(res.observed).tolist(),
        "expected": np.asarray(res.expected).tolist(),
        "variance": float(np.asarray(res.variance)[0, 0]),
    }


_KINDS: dict[str, Callable[[Mapping[str, np.ndarray], Mapping[str, Any]], dict[str, Any]]] = {
    "cox": _cox,
    "firth": _firth,
    "profile": _profile,
    "km": _km,
    "logrank": _logrank,
}


# --------------------------------------------------------------------------- comparison


def _as_float(v: Any) -> float:
    if v is None:
        return math.nan
    if isinstance(v, str):  # "inf" / "-inf" in the certified file
        return float(v)
    return float(v)


def _compare(key: str, got: Any, want: Any, rtol: float, failures: list[str]) -> tuple[int, float]:
    """Count of values and the worst relative error; mismatches appended to ``failures``."""
    if isinstance(want, list):
        gl = list(got) if isinstance(got, list | tuple | np.ndarray) else [got]
        if len(gl) != len(want):
            failures.append(f"{key}: {len(gl)} values, certified {len(want)}")
            return len(want), math.inf
        n, worst = 0, 0.0
        for i, (g, w) in enumerate(zip(gl, want, strict=True)):
            k, e = _compare(f"{key}[{i}]", g, w, rtol, failures)
            n += k
            worst = max(worst, e)
        return n, worst
    g, w = _as_float(got), _as_float(want)
    if math.isinf(w) or math.isnan(w):
        same = (g == w) or (math.isnan(g) and math.isnan(w))
        if not same:
            failures.append(f"{key} = {g!r}, certified {w!r}")
        return 1, 0.0 if same else math.inf
    err = abs(g - w) / max(abs(w), 1e-300) if w != 0 else abs(g)
    if not err <= rtol:  # also catches NaN
        failures.append(f"{key} = {g:.15g}, certified {w:.15g} (relative error {err:.2g})")
    return 1, err if math.isfinite(err) else math.inf


def _run_check(spec: Mapping[str, Any]) -> CheckResult:
    t0 = time.perf_counter()
    failures: list[str] = []
    rtol = float(spec["rtol"])
    n, worst = 0, 0.0
    try:
        got = _KINDS[spec["kind"]](_dataset(spec["data"]), spec.get("args", {}))
        for key, want in spec["values"].items():
            k, e = _compare(key, got.get(key), want, rtol, failures)
            n += k
            worst = max(worst, e)
    except Exception as exc:  # a check that cannot run is a failed check, with the reason
        failures.append(f"could not run: {type(exc).__name__}: {exc}")
        worst = math.inf
    return CheckResult(
        id=str(spec["id"]),
        title=str(spec["title"]),
        source=str(spec["source"]),
        passed=not failures,
        n_values=n,
        max_rel_error=worst,
        rtol=rtol,
        seconds=time.perf_counter() - t0,
        failures=tuple(failures),
    )


# --------------------------------------------------------------------------- machine


def _openblas() -> dict[str, Any]:
    """Configuration, chosen CPU kernel and threads of the OpenBLAS that NumPy loaded."""
    import ctypes

    maps = Path("/proc/self/maps")
    if not maps.exists():
        return {}
    libs: list[str] = []
    for line in maps.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split()
        path = parts[-1] if len(parts) >= 6 else ""
        if "openblas" in Path(path).name.lower() and ".so" in path and path not in libs:
            libs.append(path)
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (
            ("scipy_openblas_", "64_"),
            ("scipy_openblas_", ""),
            ("openblas_", ""),
        ):
            try:
                fns = [getattr(lib, f"{prefix}get_{w}{suffix}") for w in ("config", "corename")]
                nthr = getattr(lib, f"{prefix}get_num_threads{suffix}")
            except AttributeError:
                continue
            for f in fns:
                f.restype = ctypes.c_char_p
            nthr.restype = ctypes.c_int
            config, kernel = (_text(f()) for f in fns)
            return {
                "library": Path(path).name,
                "config": config,
                "kernel": kernel,
                "threads": int(nthr()),
            }
    return {}


def _text(b: bytes | None) -> str:
    return b.decode("ascii", "replace").strip() if b else ""


def _cpu() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """Python, NumPy, SciPy, BLAS (library, kernel for this CPU, threads), CPU, OS."""
    import scipy

    from survstudy import __version__

    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        blas_build = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:
        blas_build = "unknown"
    env = {
        k: os.environ[k]
        for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
        if k in os.environ
    }
    return {
        "survstudy": __version__,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "blas": blas_build,
        "openblas": _openblas(),
        "cpu": _cpu(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "environment": env,
    }


# --------------------------------------------------------------------------- runner


def load_certified(path: str | Path | None = None) -> list[dict[str, Any]]:
    """The certified checks: the package's own file, or ``path`` (for a site's own set)."""
    if path is None:
        text = (resources.files("survstudy.selftest") / CERTIFIED).read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    doc = json.loads(text)
    checks = doc["checks"]
    if not isinstance(checks, list) or not checks:
        raise ValueError("the certified file lists no checks")
    return checks


def run_selftest(certified: str | Path | None = None) -> SelftestReport:
    """Run every certified check and describe the machine (see the module docstring)."""
    t0 = time.perf_counter()
    errors: list[str] = []
    try:
        specs = load_certified(certified)
    except (OSError, ValueError, KeyError) as exc:
        specs = []
        errors.append(f"cannot read the certified values: {exc}")
    results = tuple(_run_check(s) for s in specs)
    return SelftestReport(
        checks=results,
        machine=machine_info(),
        seconds=time.perf_counter() - t0,
        certified=str(certified) if certified is not None else CERTIFIED,
        errors=tuple(errors),
    )

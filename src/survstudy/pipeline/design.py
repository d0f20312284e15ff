"""Design matrices for Cox models from the cohort's typed columns.

A continuous factor is one column (its values). A categorical or binary factor
is dummy-coded against its reference level: one 0/1 column per other level
that has at least one patient, in the spec's level order; levels without
patients are kept for the table (shown as "no patients") but get no column,
since an all-zero column cannot be estimated. Missing values are NaN in every
column of the factor; models drop those rows (complete cases) and report how
many.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from survstudy.data import CategoricalColumn, Cohort
from survstudy.errors import SpecError
from survstudy.stats.splines import rcs_basis, rcs_names

__all__ = [
    "FactorDesign",
    "factor_design",
    "on_model_matrix",
    "spline_design",
    "stratum_design",
    "transformed",
]


@dataclass(frozen=True)
class FactorDesign:
    """The columns a factor contributes to a Cox model, and how to label them."""

    variable: str
    label: str
    kind: str  # continuous | categorical
    unit: str | None
    per: float | None
    columns: np.ndarray  # (n, k) float, NaN where the value is missing
    terms: tuple[str, ...]  # term names, "grade[III]" or "age"
    term_levels: tuple[str | None, ...]  # level of each term (None for continuous)
    levels: tuple[str, ...] = ()
    reference: str | None = None
    empty_levels: tuple[str, ...] = ()
    codes: np.ndarray | None = None  # level index per patient, -1 missing (categorical)
    transform: str | None = None  # log | rcs (the spec's transform)
    knots: tuple[float, ...] = ()  # rcs: the knots (set by spline_design)
    reference_value: float | None = None  # rcs: the HR curve's reference (spec)

    @property
    def spline(self) -> bool:
        return self.transform == "rcs"

    @property
    def missing(self) -> np.ndarray:
        return np.isnan(self.columns).any(axis=1)

    @property
    def categorical(self) -> bool:
        return self.kind == "categorical"


def on_model_matrix(designs: list[FactorDesign], x: np.ndarray | None) -> list[FactorDesign]:
    """``designs`` whose columns are views of ``x``, the model matrix stacked from them
    with every patient kept (no complete-case drop, no split follow-up: ``x`` has the
    designs' rows, and its column blocks are copies of their columns, in order). A model
    then holds its dummy columns once instead of twice (at 10^6 patients, 31 MB for 4
    dummies). Else (rows dropped, or no matrix in memory) ``designs`` as they are."""
    widths = [d.columns.shape[1] for d in designs]
    if (
        x is None
        or not designs
        or x.ndim != 2
        or x.shape[1] != sum(widths)
        or any(d.columns.shape[0] != x.shape[0] for d in designs)
    ):
        return designs
    out, col = [], 0
    for d, w in zip(designs, widths, strict=True):
        out.append(replace(d, columns=x[:, col : col + w]))
        col += w
    return out


def stratum_design(design: FactorDesign) -> FactorDesign:
    """``design`` (categorical) as a model's stratum: its codes and levels without its
    dummy columns, which a stratum never uses (at 10^6 patients and 4 levels they were
    24 MB held through the model's fit). Its rows with a missing value are ``codes < 0``."""
    return replace(design, columns=np.empty((design.columns.shape[0], 0)))


def factor_design(
    cohort: Cohort, variable: str, *, per: float | None = None, label: str | None = None
) -> FactorDesign:
    """Build the design columns of ``variable`` over the cohort's patients."""
    info = cohort.variables.get(variable)
    if info is None:
        known = ", ".join(sorted(cohort.variables))
        raise SpecError(
            f"'{variable}' is not a variable of the study (known: {known})",
            key="analyses",
            code="SPEC-UNKNOWN-VARIABLE",
        )
    lab = label or info.label
    if info.type == "continuous":
        values = np.asarray(cohort.columns[variable], dtype=float)
        return FactorDesign(
            variable=variable,
            label=lab,
            kind="continuous",
            unit=info.unit,
            per=per,
            columns=values.reshape(-1, 1),
            terms=(variable,),
            term_levels=(None,),
        )
    if not info.is_categorical:
        raise SpecError(
            f"'{variable}' is a {info.type} variable and cannot be a factor in a Cox model "
            "(use a continuous, categorical or binary variable)",
            key="analyses",
            code="SPEC-FACTOR-TYPE",
        )
    col = cohort.columns[variable]
    assert isinstance(col, CategoricalColumn)
    levels = tuple(col.categories)
    reference = info.reference if info.reference in levels else (levels[0] if levels else None)
    index = {lev: i for i, lev in enumerate(levels)}
    codes = np.asarray(col.codes, dtype=int)  # positions in col.categories, -1 missing
    counts = np.bincount(codes[codes >= 0], minlength=len(levels))
    empty = tuple(lev for lev, c in zip(levels, counts, strict=True) if c == 0)
    others = [lev for lev in levels if lev != reference and lev not in empty]
    n = len(codes)
    cols = np.zeros((n, len(others)), dtype=float)
    for j, lev in enumerate(others):
        cols[:, j] = (codes == index[lev]).astype(float)
    cols[codes < 0, :] = np.nan
    if not others:
        cols = np.full((n, 0), np.nan)
    return FactorDesign(
        variable=variable,
        label=lab,
        kind="categorical",
        unit=None,
        per=None,
        columns=cols,
        terms=tuple(f"{variable}[{lev}]" for lev in others),
        term_levels=tuple(others),
        levels=levels,
        reference=reference,
        empty_levels=empty,
        codes=codes,
    )


def transformed(
    design: FactorDesign, transform: str | None, reference_value: float | None = None
) -> FactorDesign:
    """The design of ``transform: log`` (natural log of the values; zero or negative values
    refused) or ``transform: rcs`` (marked; its spline columns come from :func:`spline_design`
    once the knots are known from the patients analysed)."""
    if transform is None:
        return design
    if design.kind != "continuous":
        raise SpecError(
            f"'{design.variable}': transform: {transform} needs a continuous variable",
            key="analyses",
            code="SPEC-TRANSFORM-TYPE",
        )
    if transform == "rcs":
        return replace(design, transform="rcs", reference_value=reference_value)
    values = design.columns[:, 0]
    bad = ~np.isnan(values) & (values <= 0)
    if bad.any():
        k = int(bad.sum())
        raise SpecError(
            f"'{design.variable}': transform: log, but {k} value{'s are' if k > 1 else ' is'} "
            "zero or negative (log undefined); use transform: rcs, or derive a shifted "
            "variable in the spec",
            key="analyses",
            code="SPEC-TRANSFORM-LOG",
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        logged = np.log(values)
    return replace(
        design,
        label=f"{design.label} (natural log)",
        unit=None,
        columns=logged.reshape(-1, 1),
        transform="log",
    )


def spline_design(design: FactorDesign, knots: tuple[float, ...]) -> FactorDesign:
    """A ``transform: rcs`` design with its restricted-cubic-spline columns (``rms::rcs``:
    ``x, x', x''`` for 4 knots; NaN where the value is missing)."""
    values = design.columns[:, 0]
    ok = ~np.isnan(values)
    cols = np.full((values.size, len(knots) - 1), np.nan)
    cols[ok] = rcs_basis(values[ok], np.asarray(knots, dtype=float))
    return replace(
        design,
        columns=cols,
        terms=rcs_names(design.variable, len(knots)),
        term_levels=(None,) * (len(knots) - 1),
        knots=tuple(float(k) for k in knots),
    )

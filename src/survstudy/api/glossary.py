"""The one glossary of column names in the DataFrames of the Python API.

Every ``to_frame()``, ``glance()`` and study table of :mod:`survstudy.api` names its
columns from :data:`GLOSSARY` (a test checks it), so a name means the same in every
frame, like broom's ``tidy()``/``glance()`` columns in R (with ``_`` for ``.``).
Numbers in frames are unrounded floats; ``NaN`` stands where the JSON has ``null``
(a median not reached, an undefined confidence limit).

Differences from broom worth knowing: ``std_error`` of a Kaplan–Meier row is the
standard error of S(t) (R's ``summary(survfit)$std.err``), not of the cumulative
hazard as in ``broom::tidy.survfit``; Cox frames give both ``coef`` (log hazard
ratio) and ``hr`` instead of one ``estimate`` column.
"""

from __future__ import annotations

__all__ = ["GLOSSARY"]

#: column name -> meaning
GLOSSARY: dict[str, str] = {
    # grouping
    "group": "the level of the grouping column (`by`) this row belongs to",
    "endpoint": "the study endpoint (its name in the spec)",
    "model": "the multivariable model's name in the spec",
    "variable": "the spec's variable (or the covariate column)",
    "label": "the variable's or endpoint's label as printed",
    "kind": "the row's kind: header, reference, level, continuous (Cox tables); "
    "continuous, level, option, missing (Table 1)",
    "level": "the category of a categorical variable",
    "term": "the model term: a column name, or `column[level]` for a category",
    "cause": "competing risks: `event` (the event of interest) or `competing` (a competing event)",
    # counts
    "n": "patients (rows) in the analysis, the group, or the category",
    "events": "events observed (competing risks: events of interest)",
    "competing_events": "competing events observed",
    "censored": "patients censored",
    "n_read": "rows in the table",
    "n_dropped": "rows left out for a missing value in a used column",
    "time": "follow-up time, in the unit of the time column (study frames: the study's unit)",
    "n_risk": "number at risk just before `time`",
    "n_event": "events at `time`",
    "n_censor": "censorings at `time`",
    "observed": "events observed in the group",
    "expected": "events expected in the group under the null hypothesis",
    "denominator": "patients to whom the variable applies and whose value is known",
    "percent": "100 · n / denominator",
    "n_missing": "missing values among the patients to whom the variable applies",
    # estimates
    "survival": "Kaplan–Meier estimate of S(time)",
    "cif": "Aalen–Johansen estimate of the cumulative incidence of `cause` at `time`",
    "std_error": "standard error of the row's estimate (S(t), the cumulative incidence, or "
    "`coef` for Cox and Fine–Gray rows)",
    "robust_std_error": "robust (sandwich) standard error of `coef`",
    "naive_std_error": "model-based standard error of a Fine–Gray `coef` (`std_error` is the "
    "sandwich)",
    "conf_low": "lower confidence limit of the row's estimate (S(t), the cumulative "
    "incidence, or `hr`)",
    "conf_high": "upper confidence limit of the row's estimate (S(t), the cumulative "
    "incidence, or `hr`)",
    "conf_level": "confidence level of the limits (0.95)",
    "coef": "log hazard ratio (per unit, or per `per` units on a scaled row)",
    "hr": "hazard ratio, exp(coef) (Fine–Gray: the subdistribution hazard ratio)",
    "per": "the hazard ratio is per this many units of the variable",
    "unit": "the variable's unit",
    "reference": "the row is the reference category (HR 1)",
    "estimable": "false when the term cannot be estimated (monotone likelihood)",
    "median": "median survival time (NaN: not reached); Table 1: the median of the variable",
    "median_conf_low": "lower confidence limit of the median (NaN: not reached)",
    "median_conf_high": "upper confidence limit of the median (NaN: not reached)",
    "min": "smallest value",
    "max": "largest value",
    "q1": "first quartile",
    "q3": "third quartile",
    "mean": "mean",
    "sd": "standard deviation",
    "text": "the cell exactly as the report prints it",
    "followup_median": "median follow-up by the reverse Kaplan–Meier method",
    "followup_conf_low": "lower confidence limit of the median follow-up",
    "followup_conf_high": "upper confidence limit of the median follow-up",
    "followup_min": "shortest observed time",
    "followup_max": "longest observed time",
    # tests
    "statistic": "test statistic: z for a Cox term (coef / std_error), chi-square for a test",
    "df": "degrees of freedom",
    "p_value": "two-sided p-value of the row's test (Cox terms: Wald, or the penalised "
    "likelihood-ratio p of a Firth fit)",
    "lr_p_value": "likelihood-ratio p of dropping the term (given where the Wald p is not)",
    "overall_p": "likelihood-ratio p of the whole factor (more than two levels)",
    "logrank_p": "log-rank p across the factor's levels",
    "ph_p": "proportional-hazards test p (cox.zph, KM transform)",
    "adjusted_p": "Holm or Benjamini–Hochberg adjusted p over an endpoint's factors",
    "test": "the name of the test",
    "method": "the fitting method: ordinary or firth",
    "ci_method": "how the confidence limits were computed: wald or profile",
    "ties": "the handling of tied event times: efron or breslow",
    "loglik": "log partial likelihood at the estimate (penalised for Firth fits)",
    "loglik_null": "log partial likelihood with every coefficient 0",
    "concordance": "Harrell's concordance (C)",
    "concordance_std_error": "infinitesimal-jackknife standard error of the concordance",
    "iterations": "Newton–Raphson iterations",
    "converged": "whether the fit met the convergence rule",
    "events_per_variable": "events per model parameter",
    "n_parameters": "number of model parameters (columns of the design)",
    # competing risks
    "competing": "the endpoint has competing events (summarised by cumulative incidence)",
    "one_minus_km": "1 − Kaplan–Meier of the event with competing events censored",
    "shr": "subdistribution hazard ratio (Fine–Gray), beside the cause-specific `hr`",
    "shr_conf_low": "lower confidence limit of `shr`",
    "shr_conf_high": "upper confidence limit of `shr`",
    "shr_p_value": "Wald p of the Fine–Gray term (robust standard error)",
}

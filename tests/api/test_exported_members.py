"""The public names of ``survstudy`` (httpx's tests/test_exported_members.py, adapted).

Kinds of truth: hand-written expectations: the list below is the contract of issue 21
(a name added to the API is added here on purpose, never by accident); property: each
name resolves, is documented and comes from survstudy; ``import survstudy`` stays cheap.
"""

from __future__ import annotations

import inspect
import subprocess
import sys

import survstudy

PUBLIC = [
    "AnalysisError",
    "CoxFit",
    "CumulativeIncidenceFit",
    "DataError",
    "FineGrayFit",
    "KaplanMeierFit",
    "LogRankTest",
    "SpecError",
    "Study",
    "StudyOutput",
    "SurvstudyError",
    "__version__",
    "cox",
    "cumulative_incidence",
    "fine_gray",
    "kaplan_meier",
    "logrank",
]


def test_all_is_pinned() -> None:
    """The contract: exactly these names, sorted."""
    assert survstudy.__all__ == PUBLIC


def test_every_name_resolves_is_documented_and_ours() -> None:
    """Property: each name is an attribute, with a docstring, defined inside survstudy."""
    for name in survstudy.__all__:
        obj = getattr(survstudy, name)
        if name == "__version__":
            assert isinstance(obj, str)
            continue
        assert obj.__module__.startswith("survstudy."), name
        assert inspect.getdoc(obj), name
    assert set(PUBLIC) <= set(dir(survstudy))


def test_signatures_are_the_issue_contract() -> None:
    """Hand-written expectations: the positional signatures of issue 21, in order, with
    their defaults (keyword-only additions come after)."""

    def head(fn: object, n: int) -> list[tuple[str, object]]:
        params = list(inspect.signature(fn).parameters.values())[:n]  # type: ignore[arg-type]
        return [(p.name, p.default) for p in params]

    empty = inspect.Parameter.empty
    assert head(survstudy.kaplan_meier, 7) == [
        ("data", empty),
        ("time", empty),
        ("event", empty),
        ("by", None),
        ("conf_type", "log-log"),
        ("conf_level", 0.95),
        ("start", None),
    ]
    assert head(survstudy.logrank, 6) == [
        ("data", empty),
        ("time", empty),
        ("event", empty),
        ("by", empty),
        ("strata", None),
        ("weights", "logrank"),
    ]
    assert head(survstudy.cox, 11) == [
        ("data", empty),
        ("time", empty),
        ("event", empty),
        ("covariates", empty),
        ("categorical", None),
        ("reference", None),
        ("strata", None),
        ("ties", "efron"),
        ("robust", False),
        ("cluster", None),
        ("firth", False),
    ]
    # the competing-risks calls begin as kaplan_meier and cox; the codes are keyword-only
    # and cause and competing required (no default could be right)
    assert head(survstudy.cumulative_incidence, 6) == head(survstudy.kaplan_meier, 6)
    assert head(survstudy.fine_gray, 6) == head(survstudy.cox, 6)
    for fn in (survstudy.cumulative_incidence, survstudy.fine_gray):
        params = inspect.signature(fn).parameters
        assert [
            (params[k].kind, params[k].default) for k in ("cause", "competing", "censored")
        ] == [
            (inspect.Parameter.KEYWORD_ONLY, empty),
            (inspect.Parameter.KEYWORD_ONLY, empty),
            (inspect.Parameter.KEYWORD_ONLY, 0),
        ]
    for fn in (survstudy.kaplan_meier, survstudy.logrank, survstudy.cox):
        extra = list(inspect.signature(fn).parameters.values())
        assert all(
            p.kind is inspect.Parameter.KEYWORD_ONLY
            for p in extra
            if p.name in ("at", "permutation", "ph_test", "event_codes")
        )
    for fn in (survstudy.cumulative_incidence, survstudy.fine_gray):
        extra = list(inspect.signature(fn).parameters.values())[6:]
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in extra)
    # issue 21 item 2: a missing value is an error unless the caller asks for the commands'
    # dropping; ``missing`` is the last parameter of every call, keyword-only
    for fn in (
        survstudy.kaplan_meier,
        survstudy.logrank,
        survstudy.cox,
        survstudy.cumulative_incidence,
        survstudy.fine_gray,
    ):
        last = list(inspect.signature(fn).parameters.values())[-1]
        assert (last.name, last.kind, last.default) == (
            "missing",
            inspect.Parameter.KEYWORD_ONLY,
            "error",
        ), fn.__name__
    for method in ("to_frame", "to_dict", "summary", "_repr_html_", "plot"):
        for cls in (
            survstudy.KaplanMeierFit,
            survstudy.CoxFit,
            survstudy.CumulativeIncidenceFit,
            survstudy.FineGrayFit,
        ):
            assert callable(getattr(cls, method)), (cls.__name__, method)
    for method in ("from_yaml", "validate", "run"):
        assert callable(getattr(survstudy.Study, method))
    for attr in ("table1", "survival", "univariable", "multivariable", "write_report"):
        assert hasattr(survstudy.StudyOutput, attr)


def test_import_is_cheap() -> None:
    """Property: ``import survstudy`` loads neither pandas, numpy, matplotlib nor the API
    modules (they load on first use of a name), so the command line starts fast."""
    code = (
        "import sys, survstudy\n"
        "bad = [m for m in ('pandas', 'numpy', 'matplotlib', 'survstudy.api', 'pydantic')"
        " if m in sys.modules]\n"
        "print(','.join(bad))\n"
        "survstudy.kaplan_meier\n"
        "print('survstudy.api' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["", "True"]


def test_unknown_attribute() -> None:
    """Hand-written expectation: a missing name is an AttributeError, as for any module."""
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'kaplan_meir'"):
        survstudy.kaplan_meir

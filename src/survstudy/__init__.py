"""survstudy: a retrospective survival study from a spreadsheet and a YAML spec.

The package flows one way (see ``docs/architecture.md``)::

    spec/ + data/  ->  pipeline/  ->  stats/  ->  tables/ + plots/  ->  report/
                                                                cli/ drives it all

Only the version lives here; import the sub-packages you need so that a quick
command does not pay for pandas or matplotlib.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("survstudy")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]

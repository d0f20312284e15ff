"""survstudy: a retrospective survival study from a spreadsheet and a YAML spec.

The package flows one way (see ``docs/architecture.md``)::

    spec/ + data/  ->  pipeline/  ->  stats/  ->  tables/ + plots/  ->  report/
                                                                cli/ drives it all

Only the version lives here; import the sub-packages you need so that a quick
command does not pay for pandas or matplotlib.
"""

from survstudy._version import __version__

__all__ = ["__version__"]

"""Journal style shared by the figures: palette, fonts and an rcParams context.

matplotlib is imported lazily; nothing here touches pyplot or the global
rcParams outside a ``with style_context():`` block.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from survstudy.tables import format as tables_format

__all__ = ["OKABE_ITO", "format_p", "style_context"]

# Okabe & Ito (2008), "Color Universal Design": distinguishable under the common
# colour-vision deficiencies. Black first: a single curve prints black.
OKABE_ITO: tuple[str, ...] = (
    "#000000",  # black
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow (last: poor contrast on white)
)

# Arial-metric first (journals ask for Arial/Helvetica), then the bundled font.
_PREFERRED_FONTS = ("Arial", "Helvetica", "Liberation Sans", "Nimbus Sans", "DejaVu Sans")

BASE_SIZE = 8.0


@lru_cache(maxsize=1)
def _font_family() -> list[str]:
    # Only fonts that exist: a missing family makes matplotlib log a warning per text.
    from matplotlib import font_manager

    have = {f.name for f in font_manager.fontManager.ttflist}
    fams = [f for f in _PREFERRED_FONTS if f in have]
    return fams or ["DejaVu Sans"]


def rc_params() -> dict[str, Any]:
    """The rcParams every survstudy figure is drawn and saved with."""
    return {
        "font.family": "sans-serif",
        "font.sans-serif": _font_family(),
        "font.size": BASE_SIZE,
        "axes.titlesize": BASE_SIZE + 1,
        "axes.labelsize": BASE_SIZE + 0.5,
        "xtick.labelsize": BASE_SIZE,
        "ytick.labelsize": BASE_SIZE,
        "legend.fontsize": BASE_SIZE,
        "axes.linewidth": 0.6,
        "xtick.major.width": 0.6,
        "ytick.major.width": 0.6,
        "xtick.major.size": 3.0,
        "ytick.major.size": 3.0,
        "lines.linewidth": 1.2,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "legend.frameon": False,
        "svg.fonttype": "none",
        "svg.hashsalt": "survstudy",
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        "path.simplify": False,
        # negative tick labels with a real minus sign, as the tables print them
        "axes.unicode_minus": True,
    }


@contextlib.contextmanager
def style_context() -> Iterator[None]:
    """Temporarily apply :func:`rc_params` (restored on exit, even after an error)."""
    import matplotlib

    params: Any = rc_params()
    with matplotlib.rc_context(params):
        yield


def format_p(p: float, *, prefix: bool = True) -> str:
    """A p-value as the tables print it (:func:`survstudy.tables.format.p_value`),
    with a "p = " / "p < " prefix for the figure ("p = 0.040", "p < 0.001")."""
    text = tables_format.p_value(p)
    if not prefix:
        return text
    return f"p {text[0]} {text[1:]}" if text[:1] in "<>" else f"p = {text}"

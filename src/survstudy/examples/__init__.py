"""Example studies shipped with the package (``survstudy demo``).

Copies of ``examples/<name>/`` in the repository (a test keeps them identical):
``bclm`` (the seed study on SYNTHETIC data) and ``gbsg`` (the GBSG 2 trial).
"""

EXAMPLES: dict[str, tuple[str, ...]] = {
    "bclm": ("study.yaml", "bclm_raw.csv"),
    "gbsg": ("study.yaml", "gbsg.csv"),
}

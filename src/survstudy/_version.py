"""The version of survstudy (read by pyproject.toml at build time, and at run time without importlib.metadata)."""

__version__ = "0.1.0"

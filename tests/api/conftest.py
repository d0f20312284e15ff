"""The API tests share helpers in ``_api_cli.py`` (running the command line in-process)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

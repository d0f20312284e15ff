"""Options shared by the quick commands (km, logrank, cox)."""

from __future__ import annotations

from typing import Annotated

from survstudy.cli._decl import Option

__all__ = ["EventCodesOption"]

EventCodesOption = Annotated[
    str | None,
    Option(
        "--event-codes",
        help="Map the event column's values, as the spec's event_codes: "
        "event=2,censored=1 (R's lung status), event=Dead,censored=Alive; "
        "several values with | (event=Dead|died).",
    ),
]

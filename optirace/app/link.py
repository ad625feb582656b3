"""The page's link: its query as text, and the session's `Location`, whatever the link holds.

Panel reads a link's query values as JSON and numbers, and creating the session's Location raises
for a value of more than 4300 digits (Python's limit on int-from-text); Panel then leaves the page
blank. The app therefore reads the query as plain text from the request (`pn.state.session_args`),
which the URL decoder checks value by value, and serves without a Location when Panel cannot make one.
"""

from __future__ import annotations

import logging

import panel as pn
from panel.io.location import Location

__all__ = ["link_query", "location"]

log = logging.getLogger(__name__)


def link_query() -> dict[str, str]:
    """The query of the link that opened this session, as text (the last value of a repeated key)."""
    out: dict[str, str] = {}
    for key, values in pn.state.session_args.items():
        if values:
            value = values[-1]
            out[key] = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return out


def location() -> Location | None:
    """The session's Location, or None outside a server or when Panel cannot read the link."""
    try:
        return pn.state.location
    except ValueError as e:
        log.info("the link's query is beyond what Panel reads (%s): serving without URL sync", str(e)[:80])
        return None

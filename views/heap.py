"""Garbage-collector settings for the server process, applied once when the app is first imported.

A server process holds a large, long-lived heap (Panel, Bokeh, JAX and the compiled racers) and
each animation frame allocates a little garbage. CPython's cyclic collector would rescan that
long-lived heap on its full passes; `gc.freeze()` sets what exists at start-up aside, so the passes
see only the sessions' objects. Frozen objects are still freed by reference counting.
"""

from __future__ import annotations

import gc

_done = False


def settle() -> None:
    global _done
    if _done:
        return
    _done = True
    gc.collect()
    gc.freeze()

"""The server process's heap: set start-up objects aside once, give memory back when tabs close.

A server process holds a large, long-lived heap (Panel, Bokeh, JAX and the compiled racers) and
each animation frame allocates a little garbage. CPython's cyclic collector would rescan that
long-lived heap on its full passes; `gc.freeze()` sets what exists at start-up aside, so the passes
see only the sessions' objects. Frozen objects are still freed by reference counting.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import time

_done = False


def settle() -> None:
    global _done
    if _done:
        return
    _done = True
    gc.collect()
    gc.freeze()


def _libc():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


_LIBC = _libc()
_pending: asyncio.TimerHandle | None = None
_last_close = 0.0


def release(delay: float = 2.0) -> None:
    """After sessions close: collect their cycles and hand freed pages back to the system.

    glibc keeps freed memory in its arenas for reuse; `malloc_trim` returns what it can, so a
    replica's memory falls back after a class leaves. It runs `delay` seconds after the latest
    close, once for a class that closes its tabs together, and after Bokeh has let go of them."""
    global _pending, _last_close
    _last_close = time.monotonic()
    if _pending is not None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        _trim()
        return
    _pending = loop.call_later(delay, _when_quiet, delay)


def _when_quiet(delay: float) -> None:
    global _pending
    wait = _last_close + delay - time.monotonic()
    if wait > 0:
        _pending = asyncio.get_running_loop().call_later(wait, _when_quiet, delay)
        return
    _pending = None
    _trim()


def _trim() -> None:
    gc.collect()
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)

"""Give a server process's memory back to the system once its sessions have closed.

A closed session's objects are freed (tests/test_session_memory.py), but the image runs Python on
glibc's allocator (PYTHONMALLOC=malloc, see the Dockerfile), which keeps freed memory in its heap
for reuse: the process's resident memory stayed where the class had taken it (+115% of the
baseline 60 s after 60 load sessions closed, +357% after 200; benchmarks/load.py). glibc's
`malloc_trim` hands the free pages back. It runs once a class has gone quiet: `delay` seconds
after the latest session closed, after a pass of the cyclic collector (a session's models refer
to each other, so some of them wait for it).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging
import time
from pathlib import Path

__all__ = ["release", "resident_mb", "settle", "trim"]

log = logging.getLogger("optirace.app")


def _libc():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


# None where there is no glibc (musl, macOS): the memory then goes back as that allocator decides.
_MALLOC_TRIM = getattr(_libc(), "malloc_trim", None)
_pending: asyncio.TimerHandle | None = None
_last_close = 0.0
_settled = False


def settle() -> None:
    """Once per process, at its first page: set the objects alive then (Panel, Bokeh, JAX, the
    compiled racers, and that first page) aside from the cyclic collector, so the collection after
    sessions close scans only what came after. With all of them it held the event loop for 9.7 s
    on a loaded machine after 30 sessions closed. Frozen objects are still freed by reference
    counting; the first page's cycles are kept, once per process."""
    global _settled
    if _settled:
        return
    _settled = True
    gc.collect()
    gc.freeze()


def resident_mb() -> float | None:
    """This process's resident memory (Linux), for the log line; None elsewhere."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20
    except (OSError, ValueError, IndexError):
        return None


def release(delay: float = 2.0) -> None:
    """A session has closed: trim the heap `delay` seconds after the latest close (once for a
    class that closes its tabs together), on the server's event loop."""
    global _pending, _last_close
    _last_close = time.monotonic()
    if _pending is not None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # not on the server's loop (a script, a test): now
        trim()
        return
    _pending = loop.call_later(delay, _when_quiet, delay)


def _when_quiet(delay: float) -> None:
    global _pending
    loop = asyncio.get_running_loop()
    wait = _last_close + delay - time.monotonic()
    if wait > 0:
        _pending = loop.call_later(wait, _when_quiet, delay)
        return
    _pending = None
    # The collection needs the GIL, so it runs here (the start-up heap is set aside: `settle`);
    # the trim runs on a worker thread, since ctypes lets go of the GIL during the call (0.1 s to
    # return 250 MB on a loaded machine, time every session would otherwise wait).
    collected = _collect()
    loop.run_in_executor(None, trim, collected)


def _collect() -> tuple[float | None, float]:
    before, t0 = resident_mb(), time.perf_counter()
    gc.collect()
    return before, time.perf_counter() - t0


def trim(collected: tuple[float | None, float] | None = None) -> None:
    """Collect cycles (unless done: `collected`), then return the heap's free pages to the system
    (where glibc is)."""
    before, gc_seconds = collected or _collect()
    t0 = time.perf_counter()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
    after = resident_mb()
    if before is not None and after is not None:
        log.info("heap trimmed after sessions closed: %.0f -> %.0f MB resident (collection %.0f ms, trim %.0f ms)",
                 before, after, 1000 * gc_seconds, 1000 * (time.perf_counter() - t0))  # fmt: skip

"""SIGTERM treated like Ctrl-C while an export writes, so its half-written file is removed.

Python's default SIGTERM ends the process at once, skipping every `finally`; `docker stop`, `kill`
and a job scheduler send SIGTERM. Inside `sigterm_exits()` it raises SystemExit(143) instead (the
shell's code for "ended by SIGTERM"), and the export's clean-up runs on the way out.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["sigterm_exits", "exit_on_sigterm", "check", "SIGTERM_EXIT"]

SIGTERM_EXIT = 128 + signal.SIGTERM


_REQUESTED = threading.Event()


def exit_on_sigterm(signum, frame) -> None:
    """A SIGTERM handler: leave through SystemExit, so `finally` blocks run."""
    _REQUESTED.set()
    raise SystemExit(SIGTERM_EXIT)


def check() -> None:
    """Raise the SystemExit again if a SIGTERM arrived: Python drops an exception raised while a
    garbage-collector callback runs (JAX has one), so the export also asks at every frame."""
    if _REQUESTED.is_set():
        raise SystemExit(SIGTERM_EXIT)


@contextmanager
def sigterm_exits() -> Iterator[None]:
    """Within the block, SIGTERM raises SystemExit(143). Only the main thread can take signals;
    elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _REQUESTED.clear()
    previous = signal.signal(signal.SIGTERM, exit_on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        _REQUESTED.clear()

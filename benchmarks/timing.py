"""The benchmarks' one timer: wall seconds of `fn(i)` for repeat i (a benchmark may vary its input
by the repeat, so that no cache answers it)."""

from __future__ import annotations

import time
from collections.abc import Callable


def times(fn: Callable[[int], object], repeats: int) -> list[float]:
    out = []
    for i in range(repeats):
        t = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t)
    return out

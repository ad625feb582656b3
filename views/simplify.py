"""Fewer points for a curve that looks the same: Ramer-Douglas-Peucker on a function's graph.

The learning-rate panel draws each racer's whole schedule at once. Most schedules are constant or
piecewise linear (in log lr), so of a race's thousands of rows a handful carry the shape; sending
and drawing only those keeps a slider move cheap. The error is measured vertically (same x), which
is what a plotted function's reader sees.
"""

from __future__ import annotations

import numpy as np


def simplify(x: np.ndarray, y: np.ndarray, tol: float) -> np.ndarray:
    """Indices of the points to keep so that the polyline through them stays within `tol` of y
    (vertically, at every original x). Non-finite y are gaps: they and their finite neighbours
    are kept, so breaks in the line stay where they were."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-d and of one length; got {x.shape} and {y.shape}")
    if not tol >= 0:
        raise ValueError(f"tol = {tol!r}: give a tolerance >= 0")
    n = len(y)
    keep = np.zeros(n, dtype=bool)
    finite = np.isfinite(y)
    keep[~finite] = True
    # Runs of finite values, simplified one by one.
    edges = np.flatnonzero(np.diff(np.concatenate([[0], finite.astype(np.int8), [0]])))
    for lo, hi in zip(edges[::2], edges[1::2] - 1, strict=True):
        keep[lo] = keep[hi] = True
        stack = [(lo, hi)]
        while stack:
            a, b = stack.pop()
            if b - a < 2:
                continue
            xs, ys = x[a + 1 : b], y[a + 1 : b]
            t = (xs - x[a]) / (x[b] - x[a]) if x[b] != x[a] else np.zeros_like(xs)
            err = np.abs(ys - (y[a] + t * (y[b] - y[a])))
            j = int(np.argmax(err))
            if err[j] > tol:
                m = a + 1 + j
                keep[m] = True
                stack += [(a, m), (m, b)]
    return np.flatnonzero(keep)

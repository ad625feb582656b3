"""Fewer points for a curve that looks the same: Ramer-Douglas-Peucker on a function's graph.

The learning-rate panel draws each racer's whole schedule at once. Most schedules are constant or
piecewise linear (in log lr), so of a race's thousands of rows a handful carry the shape; sending
and drawing only those keeps a slider move cheap. The error is measured vertically (same x), which
is what a plotted function's reader sees.
"""

from __future__ import annotations

import numpy as np


def simplify(x: np.ndarray, y: np.ndarray, tol: float, breaks=()) -> np.ndarray:
    """Indices of the points to keep so that the polyline through them stays within `tol` of y
    (vertically, at every original x). Non-finite y are gaps: they and their finite neighbours
    are kept, so breaks in the line stay where they were. Indices in `breaks` are kept too, and
    each piece between them is simplified on its own.

    The pieces are split level by level, every piece of a level at once: a long race's curves
    (thousands of points, some never simplifying) take a few array passes, not a Python step per
    kept point."""
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
    # The ends of every run of finite values.
    edges = np.flatnonzero(np.diff(np.concatenate([[0], finite.astype(np.int8), [0]])))
    keep[edges[::2]] = True
    keep[edges[1::2] - 1] = True
    cut = np.asarray(breaks, dtype=np.int64).reshape(-1)
    keep[cut[(cut >= 0) & (cut < n)]] = True
    # Pieces: consecutive kept points, both finite, with points between them (which are finite:
    # every non-finite point is kept).
    k = np.flatnonzero(keep)
    a, b = k[:-1], k[1:]
    live = finite[a] & finite[b] & (b - a >= 2)
    a, b = a[live], b[live]
    while len(a):
        inner = b - a - 1
        first = np.cumsum(inner) - inner  # where each piece's points start in the flat arrays
        piece = np.repeat(np.arange(len(a)), inner)
        idx = np.arange(len(piece)) - first[piece] + a[piece] + 1
        xa, xb, ya, yb = x[a][piece], x[b][piece], y[a][piece], y[b][piece]
        dx = xb - xa
        t = np.where(dx != 0, (x[idx] - xa) / np.where(dx != 0, dx, 1.0), 0.0)
        err = np.abs(y[idx] - (ya + t * (yb - ya)))
        worst = np.maximum.reduceat(err, first)
        split = worst > tol
        # Each split piece breaks at its first point of largest error.
        at = np.flatnonzero((err == worst[piece]) & split[piece])
        _, one = np.unique(piece[at], return_index=True)
        m = idx[at[one]]
        keep[m] = True
        a, b = np.concatenate([a[split], m]), np.concatenate([m, b[split]])
        live = b - a >= 2
        a, b = a[live], b[live]
    return np.flatnonzero(keep)

"""Fewer points for a line that looks the same: Ramer-Douglas-Peucker (RDP), and drawing a
scribble's repeated segments once.

The learning-rate panel draws each racer's whole schedule at once. Most schedules are constant or
piecewise linear (in log lr), so of a race's thousands of rows a handful carry the shape; sending
and drawing only those keeps a slider move cheap. On a function's graph the error is measured
vertically (same x), which is what a plotted function's reader sees; on a path in the plane, as the
distance to the drawn segment.

A racer that never settles (Lion's fixed-size sign steps, RMSprop bouncing across a valley) goes
over the same few pixels thousands of times, and RDP keeps every turn. `strokes` then draws each
segment once: a segment whose two ends fall in the same two grid cells as one already drawn adds
nothing a viewer can see.
"""

from __future__ import annotations

import numpy as np

# Each level of splitting is a few array passes over every unsettled piece at once. A smooth curve
# settles in about log2(points kept) levels; a restless one (oscillating every step) can take
# hundreds, each splitting off a point or two: past LEVELS, the unsettled pieces keep every point.
LEVELS = 24


def _vertical(x, y, idx, a, b) -> np.ndarray:
    """How far each point idx lies above or below the line through a and b, at its own x."""
    xa, xb, ya, yb = x[a], x[b], y[a], y[b]
    dx = xb - xa
    t = np.where(dx != 0, (x[idx] - xa) / np.where(dx != 0, dx, 1.0), 0.0)
    return np.abs(y[idx] - (ya + t * (yb - ya)))


def _to_segment(x, y, idx, a, b) -> np.ndarray:
    """How far each point idx lies from the segment a-b, in the plane."""
    xa, ya = x[a], y[a]
    dx, dy = x[b] - xa, y[b] - ya
    px, py = x[idx] - xa, y[idx] - ya
    length2 = dx * dx + dy * dy
    along = np.where(length2 > 0, (px * dx + py * dy) / np.where(length2 > 0, length2, 1.0), 0.0)
    t = np.clip(along, 0.0, 1.0)  # the nearest point of the segment, not of its line
    return np.hypot(px - t * dx, py - t * dy)


_METRICS = {"vertical": _vertical, "segment": _to_segment}


def simplify(x: np.ndarray, y: np.ndarray, tol: float, breaks=(), metric: str = "vertical") -> np.ndarray:
    """Indices of the points to keep so that the polyline through them stays within `tol` of every
    point: vertically, at the point's x (metric="vertical", a function's graph), or in the plane
    (metric="segment", a path). Non-finite points are gaps: they and their finite neighbours are
    kept, so breaks in the line stay where they were. Indices in `breaks` are kept too, and each
    piece between them is simplified on its own.

    The pieces are split level by level, every piece of a level at once: a long race's curves
    (thousands of points, some never simplifying) take a few array passes, not a Python step per
    kept point."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-d and of one length; got {x.shape} and {y.shape}")
    if not tol >= 0:
        raise ValueError(f"tol = {tol!r}: give a tolerance >= 0")
    if metric not in _METRICS:
        raise ValueError(f"metric = {metric!r}: choose one of {sorted(_METRICS)}")
    error = _METRICS[metric]
    n = len(y)
    keep = np.zeros(n, dtype=bool)
    finite = np.isfinite(x) & np.isfinite(y)
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
    for _ in range(LEVELS):
        if not len(a):
            break
        inner = b - a - 1
        first = np.cumsum(inner) - inner  # where each piece's points start in the flat arrays
        piece = np.repeat(np.arange(len(a)), inner)
        idx = np.arange(len(piece)) - first[piece] + a[piece] + 1
        err = error(x, y, idx, a[piece], b[piece])
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
    else:
        # Pieces still unsettled keep every point: within any tolerance, and RDP keeps most of such
        # restless stretches anyway.
        for lo, hi in zip(a, b, strict=True):
            keep[lo:hi] = True
    return np.flatnonzero(keep)


def strokes(x: np.ndarray, y: np.ndarray, rows: np.ndarray, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """The polyline through `rows` of (x, y), with each segment drawn once.

    A segment is left out when its ends fall in the same two square grid cells (of side `cell`,
    either way round) as a segment drawn before it; being within a cell's diagonal of that segment
    at both ends, it lies within the diagonal of it everywhere. A segment with a non-finite end is
    kept: it draws nothing, and the line breaks there as before.

    Returns (points, starts): the rows to draw, in order, and for each whether it begins a new
    stroke (the line must not join it to the point before it)."""
    rows = np.asarray(rows, dtype=np.int64)
    if not cell > 0:
        raise ValueError(f"cell = {cell!r}: give a cell side > 0")
    if len(rows) < 2:
        return rows, np.zeros(len(rows), dtype=bool)
    # Cells as floats: a runaway racer's coordinates would overflow integers.
    qx, qy = np.floor(x[rows] / cell), np.floor(y[rows] / cell)
    a = np.stack([qx[:-1], qy[:-1]], axis=1)
    b = np.stack([qx[1:], qy[1:]], axis=1)
    a_first = (a[:, 0] < b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] <= b[:, 1]))
    lo, hi = np.where(a_first[:, None], a, b), np.where(a_first[:, None], b, a)
    keys = np.concatenate([lo, hi], axis=1)
    finite = np.isfinite(keys).all(axis=1)
    drawn = ~finite
    if finite.any():
        _, first = np.unique(keys[finite], axis=0, return_index=True)
        drawn[np.flatnonzero(finite)[first]] = True
    # Segment j joins rows[j] and rows[j + 1]. A point is drawn when a segment at it is; it starts
    # a stroke when the segment before it is not drawn but the one after it is.
    before = np.concatenate([[False], drawn])
    after = np.concatenate([drawn, [False]])
    show = before | after
    starts = (after & ~before)[show]
    starts[0] = False  # the first point drawn has nothing before it to break from
    return rows[show], starts

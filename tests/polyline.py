"""How far points lie from a drawn polyline: the check behind the simplification tests."""

from __future__ import annotations

import numpy as np


def distance_to_polyline(px, py, xs, ys, lone_points: bool = True) -> np.ndarray:
    """Each point's distance to the nearest segment of the polyline (xs, ys), which breaks at NaN.

    lone_points: every finite vertex also counts as a segment of length 0 (a point between two
    breaks draws a dot in the test's sense). Without it, only the segments count, and the vertices
    only when there is no segment at all."""
    px, py = np.asarray(px, dtype=float), np.asarray(py, dtype=float)
    if not len(px):
        return np.zeros(0)
    ok = np.isfinite(xs[:-1] + ys[:-1] + xs[1:] + ys[1:])
    ax, ay, bx, by = xs[:-1][ok], ys[:-1][ok], xs[1:][ok], ys[1:][ok]
    fin = np.isfinite(xs + ys)
    if lone_points or not len(ax):
        ax, ay = np.concatenate([ax, xs[fin]]), np.concatenate([ay, ys[fin]])
        bx, by = np.concatenate([bx, xs[fin]]), np.concatenate([by, ys[fin]])
    dx, dy = bx - ax, by - ay
    length2 = np.where(dx * dx + dy * dy > 0, dx * dx + dy * dy, 1.0)
    t = np.clip(((px[:, None] - ax) * dx + (py[:, None] - ay) * dy) / length2, 0, 1)
    return np.min(np.hypot(px[:, None] - ax - t * dx, py[:, None] - ay - t * dy), axis=1)

"""views/simplify.py: fewer points, the same curve (within the tolerance), gaps where they were."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polyline import distance_to_polyline

import optimizers
from views.simplify import simplify, strokes
from views.trajectories import SCHEDULE_TOL, Trajectories


def _max_error(x, y, keep) -> float:
    """Largest vertical gap between y and the polyline through the kept points, over finite runs."""
    worst = 0.0
    finite = np.isfinite(y)
    kept = keep[finite[keep]]
    for a, b in zip(kept[:-1], kept[1:], strict=True):
        if not finite[a : b + 1].all():
            continue
        line = np.interp(x[a : b + 1], [x[a], x[b]], [y[a], y[b]])
        worst = max(worst, float(np.max(np.abs(line - y[a : b + 1]))))
    return worst


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.floats(-1e3, 1e3), st.just(float("nan"))), min_size=1, max_size=300),
    st.sampled_from([0.0, 1e-6, 1e-3, 0.1, 10.0]),
)
def test_simplified_curve_stays_within_tolerance(values, tol):
    y = np.asarray(values)
    x = np.arange(len(y), dtype=np.float64)
    keep = simplify(x, y, tol)
    assert np.all(np.diff(keep) > 0), "indices must be sorted and unique"
    assert keep[0] == 0 and keep[-1] == len(y) - 1, "the ends are kept"
    assert set(np.flatnonzero(~np.isfinite(y))) <= set(keep), "every gap is kept"
    assert _max_error(x, y, keep) <= tol + 1e-9 * (1 + np.nanmax(np.abs(y), initial=0))


def test_straight_pieces_shrink_to_their_corners():
    x = np.arange(1000.0)
    assert simplify(x, np.full(1000, 3.0), 1e-9).tolist() == [0, 999]
    step = np.where(x < 500, 1.0, 0.0)  # a step schedule: the two ends and the two corners
    assert simplify(x, step, 1e-9).tolist() == [0, 499, 500, 999]


def _walk(steps, scale):
    """A 2-D random walk from hypothesis' numbers, with a NaN point where a step was NaN."""
    d = np.asarray(steps, dtype=np.float64).reshape(-1, 2) * scale
    xy = np.cumsum(np.nan_to_num(d), axis=0)
    xy[np.isnan(d)] = np.nan
    return xy[:, 0].copy(), xy[:, 1].copy()


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.one_of(st.floats(-1, 1), st.just(float("nan"))), min_size=2, max_size=400).filter(
        lambda v: len(v) % 2 == 0),
    st.sampled_from([0.0, 1e-3, 0.05, 0.5]),
)  # fmt: skip
def test_a_simplified_path_stays_within_tolerance_in_the_plane(steps, tol):
    x, y = _walk(steps, 1.0)
    keep = simplify(x, y, tol, metric="segment")
    assert np.all(np.diff(keep) > 0) and keep[0] == 0 and keep[-1] == len(x) - 1
    bad = ~np.isfinite(x + y)
    assert set(np.flatnonzero(bad)) <= set(keep), "every gap is kept"
    # Each finite point lies within tol of the segment joining the kept points around it.
    xs, ys = x[keep], y[keep]
    far = distance_to_polyline(x[~bad], y[~bad], xs, ys)
    assert np.all(far <= tol + 1e-9)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from([-1.0, 1.0, 0.0, 0.5, float("nan")]), min_size=2, max_size=600).filter(
        lambda v: len(v) % 2 == 0),
    st.sampled_from([0.01, 0.1, 0.3]),
)  # fmt: skip
def test_strokes_draw_each_segment_once_and_lose_nothing_visible(steps, cell):
    # Steps of fixed size, as Lion takes: the walk revisits the same places, the case strokes is for.
    x, y = _walk(steps, 0.1)
    rows = np.arange(len(x))
    points, starts = strokes(x, y, rows, cell)
    assert np.all(np.diff(points) > 0) and points[0] == 0 and not starts[0]
    xs, ys = x[points], y[points]
    # The polyline as drawn: a NaN before every start.
    at = np.arange(len(points)) + np.cumsum(starts)
    dx, dy = np.full(len(points) + starts.sum(), np.nan), np.full(len(points) + starts.sum(), np.nan)
    dx[at], dy[at] = xs, ys
    fin = np.isfinite(x + y)
    # Every original point (so every original segment, whose ends are) lies within a cell's diagonal.
    assert np.all(distance_to_polyline(x[fin], y[fin], dx, dy) <= cell * np.sqrt(2) + 1e-9)
    # No two drawn segments join the same two cells.
    seg = [(tuple(np.floor([dx[j], dy[j]] / np.float64(cell))), tuple(np.floor([dx[j + 1], dy[j + 1]] / np.float64(cell))))
           for j in range(len(dx) - 1) if np.isfinite(dx[j] + dy[j] + dx[j + 1] + dy[j + 1])]  # fmt: skip
    keys = [tuple(sorted(pair)) for pair in seg]
    assert len(keys) == len(set(keys))


def test_a_scribble_is_drawn_once():
    # Back and forth between two points 500 times, then away: three points and one break.
    x = np.concatenate([np.tile([0.0, 1.0], 500), [2.0]])
    points, starts = strokes(x, np.zeros_like(x), np.arange(len(x)), 0.5)
    assert points.tolist() == [0, 1, 999, 1000]
    assert starts.tolist() == [False, False, True, False]


def test_a_restless_curve_stops_splitting_and_keeps_its_points():
    # Oscillating every step: RDP would split off a point or two per level for thousands of levels;
    # past LEVELS the unsettled pieces keep every point, still within tolerance.
    rng = np.random.default_rng(0)
    x = np.arange(3000.0)
    y = np.cumsum(rng.normal(size=3000)) * 1e-3 + np.where(np.arange(3000) % 2, 1.0, -1.0)
    keep = simplify(x, y, 0.01)
    assert len(keep) > 2900
    assert _max_error(x, y, keep) <= 0.01
    smooth = simplify(x, np.sin(x / 300), 1e-4)  # a smooth curve still shrinks
    assert len(smooth) < 400
    assert _max_error(x, np.sin(x / 300), smooth) <= 1e-4 + 1e-12


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="one length"):
        simplify(np.arange(3.0), np.arange(4.0), 0.1)
    with pytest.raises(ValueError, match="tolerance"):
        simplify(np.arange(3.0), np.arange(3.0), float("nan"))
    with pytest.raises(ValueError, match="metric"):
        simplify(np.arange(3.0), np.arange(3.0), 0.1, metric="manhattan")
    with pytest.raises(ValueError, match="cell"):
        strokes(np.arange(3.0), np.arange(3.0), np.arange(3), 0.0)


@pytest.mark.parametrize(
    "schedule, at_most",
    [({"name": "constant"}, 3), ({"name": "step", "step_size": 500}, 25),
     ({"name": "cosine", "T_max": 3000}, 300), ({"name": "cyclic", "max_lr": 1e-1, "step_size_up": 200}, 600)],
)  # fmt: skip
def test_a_schedule_is_drawn_from_few_rows_and_exactly(schedule, at_most):
    res = optimizers.race("rosenbrock", [{"optimizer": "sgd", "lr": 0.01, "schedule": schedule}], steps=3000)
    traj = Trajectories()
    traj.load(res)
    curve = traj.schedule(0)
    assert len(curve["step"]) <= at_most
    # Every drawn row is the race's own value, and between them the log curve is within tolerance.
    steps = curve["step"].astype(int)
    np.testing.assert_array_equal(curve["lr"][:-1], res.lr[0, steps[:-1]])
    keep = steps
    assert _max_error(np.arange(3001.0), np.log10(traj.columns["lr0"]), keep) <= SCHEDULE_TOL + 1e-12

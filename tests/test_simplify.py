"""views/simplify.py: fewer points, the same curve (within the tolerance), gaps where they were."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optimizers
from views.simplify import simplify
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


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="one length"):
        simplify(np.arange(3.0), np.arange(4.0), 0.1)
    with pytest.raises(ValueError, match="tolerance"):
        simplify(np.arange(3.0), np.arange(3.0), float("nan"))


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

"""Each default race teaches what its surface's description promises, with the default budget."""

from __future__ import annotations

import numpy as np

import optimizers
from optirace.app.defaults import default_racers
from optirace.app.state import RaceState
from surfaces import SURFACES

BUDGET = RaceState.param.steps.default  # 300


def _race(surface: str):
    racers = default_racers(surface)
    res = optimizers.race(surface, racers, steps=BUDGET)
    assert np.all(res.diverged_at == -1), f"a default racer diverged on {surface}"
    return racers, res


def test_plain_gd_zig_zags_across_the_quadratic_ravine():
    racers, res = _race("quadratic")
    gd = next(i for i, r in enumerate(racers) if r["optimizer"] == "gd")
    y = res.params[gd, :21, 1]
    flips = int(np.sum(np.sign(y[1:]) != np.sign(y[:-1])))
    assert flips >= 15, f"GD crossed the ravine {flips} times in 20 steps"
    assert res.loss[gd, -1] < res.loss[gd, 0]  # zig-zags, but still converges


def test_a_racer_escapes_the_first_rastrigin_dimple():
    racers, res = _race("rastrigin")
    gd = next(i for i, r in enumerate(racers) if r["optimizer"] == "gd")
    first_dimple = np.round(res.params[gd, -1])  # where plain GD settles: the start's own dimple
    assert np.array_equal(first_dimple, np.round(res.params[gd, 0]))
    ends = np.round(res.params[:, -1])
    escaped = [i for i in range(len(racers)) if not np.array_equal(ends[i], first_dimple)]
    assert escaped, "every default racer stayed in the first dimple"
    assert min(res.loss[i, -1] for i in escaped) < res.loss[gd, -1]


def test_a_racer_reaches_the_rosenbrock_minimum_within_the_budget():
    # "Reaches": within 1e-3 of (1, 1), or a loss below 1e-6 (the leaderboard's "first within 1e-6").
    _, res = _race("rosenbrock")
    dist = np.linalg.norm(res.params - np.asarray(SURFACES["rosenbrock"].minima[0]), axis=-1)
    reached = (dist < 1e-3) | (res.loss - SURFACES["rosenbrock"].min_value < 1e-6)
    assert reached.any(), f"closest: {dist.min():.3g}, lowest loss {res.loss.min():.3g}"

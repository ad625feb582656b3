"""The ghost of the last race: after a change, the figures' ghost layers hold the race before it."""

from __future__ import annotations

import numpy as np
import pytest

from optirace.app.ghost import GhostView
from optirace.app.live import RaceView
from optirace.app.state import RaceState


def paths(state_or_result) -> list[np.ndarray]:
    res = state_or_result
    last = np.where(res.diverged_at >= 0, res.diverged_at, res.steps)
    return [res.params[i, : last[i] + 1] for i in range(res.params.shape[0])]


def ghost_data(ghost: GhostView) -> dict:
    layers = ghost.layers()
    assert set(layers) == {"contour", "loss"}
    (path,), (loss,) = layers["contour"], layers["loss"]
    return {"path": path.data_source.data, "loss": loss.data_source.data}


@pytest.fixture
def page():
    state = RaceState(surface="rosenbrock", racers=[{"optimizer": "adam", "lr": 0.02},
                                                    {"optimizer": "sgd", "lr": 5e-4, "momentum": 0.9}], steps=80)  # fmt: skip
    view = RaceView(state)
    return state, GhostView(state, view)


def test_after_a_change_the_ghost_layers_hold_the_previous_race(page):
    state, ghost = page
    assert state.ghost is None
    assert all(
        np.isnan(xs).all() for xs in ghost_data(ghost)["path"]["xs"]
    )  # nothing before the first change
    before = state.result
    colors = state.colors()
    state.update_racer(0, lr=0.05)
    assert state.result is not before and state.ghost[0] is before
    data = ghost_data(ghost)
    for i, p in enumerate(paths(before)):
        np.testing.assert_array_equal(data["path"]["xs"][i], p[:, 0])
        np.testing.assert_array_equal(data["path"]["ys"][i], p[:, 1])
        np.testing.assert_array_equal(data["loss"]["xs"][i], np.arange(len(p)))
        np.testing.assert_allclose(
            data["loss"]["ys"][i], np.maximum(before.loss[i, : len(p)] - before.surface.min_value, 1e-16)
        )
    assert list(data["path"]["color"]) == colors
    # The next change replaces it with the race just shown.
    shown = state.result
    state.steps = 60
    data = ghost_data(ghost)
    np.testing.assert_array_equal(data["path"]["xs"][0], paths(shown)[0][:, 0])


def test_the_ghost_goes_on_a_new_surface_on_reset_and_with_its_switch(page):
    state, ghost = page
    state.update_racer(0, lr=0.05)
    assert not np.isnan(ghost_data(ghost)["path"]["xs"][0]).all()
    ghost.switch.value = False
    assert np.isnan(ghost_data(ghost)["path"]["xs"][0]).all()
    ghost.switch.value = True
    assert not np.isnan(ghost_data(ghost)["path"]["xs"][0]).all()
    state.reset()
    assert state.ghost is None and np.isnan(ghost_data(ghost)["path"]["xs"][0]).all()
    state.update_racer(0, lr=0.03)
    assert state.ghost is not None
    state.surface = "himmelblau"
    assert state.ghost is None and np.isnan(ghost_data(ghost)["path"]["xs"][0]).all()


def test_the_pages_reset_report_clears_the_ghost(page):
    state, ghost = page
    state.update_racer(0, lr=0.05)
    report = ghost.view.player.report
    report.data = {"step": [3], "playing": [0]}  # a pause is no reset
    assert state.ghost is not None
    report.data = {"step": [0], "playing": [0], "reset": [1]}  # what player.js sends on Reset
    assert state.ghost is None


def test_the_same_race_again_keeps_the_ghost(page):
    state, ghost = page
    first = state.result
    state.update_racer(0, lr=0.05)
    state.recompute()  # the same inputs raced again: no change to show
    assert state.ghost[0] is first

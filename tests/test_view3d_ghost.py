"""The 3D view in the app (optirace/app/view3d.py): the ghost of the last race, following its switch,
and a pause or step that redraws the paths without rendering the surface again."""

from __future__ import annotations

import numpy as np
import panel as pn

from optirace.app.ghost import GhostView
from optirace.app.live import RaceView
from optirace.app.state import RaceState
from optirace.app.view3d import View3D
from optirace.figures.surface3d import _rendered


def test_the_3d_view_draws_the_ghost_while_its_switch_is_on_and_a_step_renders_no_surface():
    state = RaceState(surface="rosenbrock", racers=[{"optimizer": "adam", "lr": 0.02},
                                                    {"optimizer": "sgd", "lr": 5e-4, "momentum": 0.9}], steps=80)  # fmt: skip
    ghost = GhostView(state, RaceView(state))
    view = View3D(state, pn.Spacer(), ghost.switch)
    view.switch.value = "3D"
    assert len(view.plot.object["data"]) == 3  # the surface and two racers: no change yet, no ghost
    before = state.result
    state.update_racer(0, lr=0.05)
    assert state.ghost[0] is before
    data = view.plot.object["data"]
    assert len(data) == 5
    for i, t in enumerate(data[3:]):
        np.testing.assert_array_equal(t["x"], before.params[i, :, 0])
        assert t["line"]["dash"] == "dash"
    ghost.switch.value = False
    assert len(view.plot.object["data"]) == 3
    ghost.switch.value = True
    assert len(view.plot.object["data"]) == 5
    # At rest, a step moves the paths' ends; the surface was rendered once for all of it.
    misses = _rendered.cache_info().misses
    state.step = 7
    data = view.plot.object["data"]
    assert [len(t["x"]) for t in data[1:3]] == [8, 8]
    np.testing.assert_array_equal(data[1]["x"], state.result.params[0, :8, 0])
    assert _rendered.cache_info().misses == misses

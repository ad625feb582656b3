"""The app's Basins card without a browser: the map of the chosen racer, the bounds on one map's
work, a click on the map as the race's start, and what happens to a drawn map when the race changes."""

from __future__ import annotations

import numpy as np
import pytest

from optirace.app.basins_panel import GRIDS, MAX_WORK, BasinsPanel
from optirace.app.state import RaceState
from optirace.figures.basins import START_TAG, TAG, basin_map


def _panel(**scene) -> tuple[RaceState, BasinsPanel]:
    state = RaceState(**scene)
    return state, BasinsPanel(state)


def _image(panel) -> np.ndarray:
    (r,) = [r for r in panel._fig.renderers if TAG in r.tags]
    return np.asarray(r.data_source.data["image"][0])


def test_the_map_is_of_the_chosen_racer_and_only_computed_when_asked():
    racers = [{"optimizer": "gd", "lr": 0.001}, {"optimizer": "adam", "lr": 0.05}]
    state, panel = _panel(surface="himmelblau", racers=racers, steps=100)
    assert panel._fig is None and panel.plot.objects == []
    assert list(panel.racer.options) == ["gd", "adam"]
    panel.racer.value = 1
    panel.grid.value = 32
    panel.compute()
    want = basin_map("himmelblau", racers[1], grid=32, steps=100)
    assert np.array_equal(_image(panel), want.labels)
    assert "global minimum (3, 2)" in panel.status.object


def test_one_maps_work_is_bounded_with_a_message():
    state, panel = _panel(surface="himmelblau", steps=5000)
    panel.grid.value = max(GRIDS)
    assert max(GRIDS) ** 2 * 5000 > MAX_WORK
    panel.compute()
    assert panel._fig is None
    assert "use fewer starts or fewer steps" in panel.status.object


@pytest.mark.parametrize("grid", [8, 4096, "128", None])
def test_a_grid_the_page_never_offered_is_refused(grid):
    state, panel = _panel(surface="himmelblau", steps=50)
    panel.grid.param.update(options=[*GRIDS, grid] if grid is not None else [*GRIDS, None])
    panel.grid.value = grid
    panel.compute()
    assert panel._fig is None and "grid: use one of 32, 64, 128, 256" in panel.status.object


def test_a_one_variable_surface_says_why_there_is_no_map():
    state, panel = _panel(surface="parabola", steps=50)
    panel.compute()
    assert panel._fig is None and "one variable" in panel.status.object


def test_a_click_on_the_map_sets_the_start_and_moves_the_maps_start_marker():
    state, panel = _panel(surface="himmelblau", steps=50)
    panel.grid.value = 32
    panel.compute()

    class Click:  # what Bokeh's Tap event carries: the clicked point in data units
        x, y = 2.5, -1.25

    panel._on_tap(Click())
    assert state.start == (2.5, -1.25)
    assert tuple(state.result.params[0, 0]) == (2.5, -1.25)
    (marker,) = [r for r in panel._fig.renderers if START_TAG in r.tags]
    assert (marker.data_source.data["x"][0], marker.data_source.data["y"][0]) == (2.5, -1.25)
    # The start is not what the map is of: the map is not stale.
    assert "changed" not in panel.status.object


def test_a_changed_race_marks_the_map_stale_and_a_new_surface_clears_it():
    state, panel = _panel(surface="himmelblau", steps=50)
    panel.grid.value = 32
    panel.compute()
    state.steps = 60
    assert "The race changed since this map was drawn" in panel.status.object
    assert panel._fig is not None
    state.surface = "rosenbrock"
    assert panel._fig is None and panel.plot.objects == [] and panel.status.object == ""

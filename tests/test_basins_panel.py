"""The app's Basins card without a browser: the map of the chosen racer, the bounds on one map's
work, a click on the map as the race's start, and what happens to a drawn map when the race changes."""

from __future__ import annotations

import html

import numpy as np
import pytest

from optirace.app.basins_panel import COSTLY_GRIDS, GRIDS, MAX_WORK, BasinsPanel, plan
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


# ----- a costly surface: the network's landscape --------------------------------------------------------
def test_on_the_networks_landscape_the_card_maps_the_largest_grid_that_fits_and_says_why():
    """At the race's default 300 steps not even 16 x 16 starts fit the bound on mlp_landscape (one
    step costs 2000 closed-form steps): the card maps 16 x 16 starts for the first 128 steps, and
    says so, where it used to refuse."""
    state, panel = _panel(surface="mlp_landscape")
    assert state.steps == 300 and state.surface_obj.cost == 2000
    assert list(panel.grid.options) == [16] and panel.grid.value == 16
    for words in ("16×16 starts", "the first 128 of the race's 300 steps", "2000 steps of a closed-form surface",
                  "128 data points"):  # fmt: skip
        assert words in html.unescape(panel.note.object)
    panel.compute()
    assert panel._fig is not None, panel.status.object
    want = basin_map("mlp_landscape", state.racers[0], grid=16, steps=128)
    assert np.array_equal(_image(panel), want.labels)
    assert "trained minimum" in panel.status.object and "16×16 starts" in panel.status.object


def test_on_a_costly_surface_the_offered_grids_follow_the_steps_and_keep_a_fitting_choice():
    state, panel = _panel(surface="mlp_landscape", steps=10)
    # 32^2 x 10 x 2000 fits 256^2 x 1000; 64^2 x 10 x 2000 does not
    assert list(panel.grid.options) == [16, 32] and panel.grid.value == 32
    note = html.unescape(panel.note.object)
    assert "At most 32×32 starts on this surface:" in note  # the race's steps kept: only the grid is smaller
    panel.grid.value = 16
    state.steps = 12
    assert panel.grid.value == 16  # the user's choice still fits
    state.steps = 300
    assert list(panel.grid.options) == [16]
    state.surface = "himmelblau"  # back on a closed-form surface: every grid, no note
    assert list(panel.grid.options) == list(GRIDS) and panel.note.object == ""


def test_a_costly_surfaces_plan_never_exceeds_the_bound():
    assert plan(128, 300, 1.0) == (128, 300)
    assert plan(256, 5000, 1.0) == (256, 5000)  # a closed-form surface: refused by the card, not shrunk
    assert plan(128, 300, 2000.0) == (16, 128)
    assert plan(256, 10, 2000.0) == (32, 10)
    assert plan(16, 1, 2000.0) == (16, 1)
    for grid in COSTLY_GRIDS:
        for steps in (1, 7, 300, 5000, 10**6):
            for cost in (1.5, 2000.0, 1e6, 1e12):
                g, n = plan(grid, steps, cost)
                assert g <= grid and n <= steps
                assert n < 1 or g * g * n * cost <= MAX_WORK


def test_a_costly_surface_refuses_what_even_one_step_of_the_smallest_map_exceeds():
    state, panel = _panel(surface="mlp_landscape", steps=50)
    panel.grid.param.update(options=[*COSTLY_GRIDS, 8])
    panel.grid.value = 8
    panel.compute()
    assert panel._fig is None and "grid: use one of 16, 32, 64, 128, 256" in panel.status.object

"""The lr x β card on a costly surface (the network's landscape, where one step is the network's
loss and gradient on its data): a smaller map that fits one map's work bound, said plainly, instead
of the engine's refusal of the card's full 32 x 32 map."""

from __future__ import annotations

import html

import numpy as np

from optimizers.maps import lr_beta_map
from optirace.app.basins_panel import MAX_WORK
from optirace.app.heatmap_panel import MIN_SIDE, HeatmapPanel, fitted_side
from optirace.app.state import RaceState


def test_the_lr_beta_card_maps_fewer_cells_on_the_networks_landscape_and_says_why():
    state = RaceState(surface="mlp_landscape")
    assert state.steps == 300 and state.result.surface.cost == 2000
    panel = HeatmapPanel(state)
    i = panel.racer.value
    panel.compute()
    assert panel.map is not None, panel.status.object
    assert panel.map.loss.shape == (10, 10)  # 10^2 x 300 x 2000 <= MAX_WORK < 11^2 x 300 x 2000
    want = lr_beta_map("mlp_landscape", state.racers[i], steps=300, lrs=10, betas=10)
    np.testing.assert_array_equal(panel.map.loss, want.loss)
    status = html.unescape(panel.status.object)
    assert "runs diverged" in status and "10 × 10 cells on this surface" in status
    assert "2000 steps of a closed-form surface" in status


def test_the_cards_side_fits_the_bound_and_too_many_steps_are_refused_with_a_reason():
    assert fitted_side(32, 300, 1.0) == 32  # a closed-form surface: the card's own side
    assert fitted_side(32, 300, 2000.0) == 10
    assert fitted_side(32, 10, 2000.0) == 32
    for steps in (1, 50, 300, 2000, 5000, 10**6):
        for cost in (1.5, 2000.0, 1e9):
            side = fitted_side(32, steps, cost)
            assert side == 0 or (MIN_SIDE <= side <= 32 and side * side * steps * cost <= MAX_WORK)
    state = RaceState(surface="mlp_landscape", steps=5000)
    panel = HeatmapPanel(state)
    panel.compute()
    assert panel.map is None
    assert "race fewer steps to map it" in html.unescape(panel.status.object)

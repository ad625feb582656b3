"""The learning-rate (Tune) card on a costly surface (the network's landscape, where one step is the
network's loss and gradient on its data): fewer learning rates per racer, fitted to the work bound
the Basins and lr x β cards share, said in plain words; a race too costly to sweep is refused with a
reason; the sweeps to compute run under the page's busy indicator."""

from __future__ import annotations

import html
import json

import numpy as np
import pytest

from optimizers.tune import DEFAULT_GRID, lr_sweeps
from optirace.app import basins_panel, heatmap_panel
from optirace.app.busy import SHEET
from optirace.app.state import RaceState
from optirace.app.tune_panel import TUNE_GRIDS, TunePanel, fitted_grid
from optirace.app.work_bound import MAX_WORK


def test_the_tune_card_sweeps_fewer_learning_rates_on_the_networks_landscape_and_says_why():
    state = RaceState(surface="mlp_landscape")
    assert (len(state.racers), state.steps, state.result.surface.cost) == (3, 300, 2000)
    panel = TunePanel(state)
    sweeps = panel.sweeps()
    # 3 racers x 32 x 300 x 2000 <= MAX_WORK < 3 x 64 x 300 x 2000
    assert [len(w.values) for w in sweeps] == [32, 32, 32]
    assert panel._fig is not None, panel.status.object  # the card drew its plot
    (want,) = lr_sweeps("mlp_landscape", [state.racers[0]], steps=300, start=state.start, grid=32)
    np.testing.assert_array_equal(sweeps[0].values, want.values)
    np.testing.assert_array_equal(sweeps[0].loss, want.loss)
    note = html.unescape(panel.note.object)
    assert "32 learning rates per racer on this surface (64 on a closed-form one)" in note
    assert "2000 steps of a closed-form surface" in note


def test_a_closed_form_surface_keeps_the_full_grid_and_no_note():
    state = RaceState(surface="himmelblau", steps=100)
    panel = TunePanel(state)
    assert [len(w.values) for w in panel.sweeps()] == [DEFAULT_GRID] * len(state.racers)
    assert panel.note.object == ""


def test_the_grid_fits_the_one_bound_every_card_shares():
    # One bound, not a copy: the Basins and lr x β cards read the same number.
    assert basins_panel.MAX_WORK is MAX_WORK and heatmap_panel.MAX_WORK is MAX_WORK
    assert fitted_grid(64, 3, 300, 1.0) == 64
    assert fitted_grid(64, 3, 300, 2000.0) == 32
    assert fitted_grid(64, 1, 300, 2000.0) == 64
    assert fitted_grid(64, 8, 300, 2000.0) == 8
    for racers in (1, 3, 8):
        for steps in (1, 50, 300, 2000, 5000, 10**6):
            for cost in (1.5, 2000.0, 1e9):
                g = fitted_grid(64, racers, steps, cost)
                assert g == 0 or (g in TUNE_GRIDS and racers * g * steps * cost <= MAX_WORK)


@pytest.mark.parametrize("steps", [4200, 5000])
def test_sweeps_too_costly_even_at_the_smallest_grid_are_refused_with_a_reason(steps):
    state = RaceState(surface="mlp_landscape", steps=steps, racers=[{"optimizer": "adam", "lr": 0.01}])
    assert min(TUNE_GRIDS) * steps * 2000 > MAX_WORK
    panel = TunePanel(state)
    assert panel._fig is None and panel.note.object == ""
    assert "race fewer steps or fewer racers to sweep them" in html.unescape(panel.status.object)
    with pytest.raises(ValueError, match="race fewer steps"):
        panel.sweeps()
    panel.tune()  # the button says the same, and changes nothing
    assert "race fewer steps" in state.error and state.racers == [{"optimizer": "adam", "lr": 0.01}]


def test_sweeps_to_compute_run_under_the_busy_indicator():
    state = RaceState(surface="himmelblau", steps=50, racers=[{"optimizer": "adam", "lr": 0.01}])
    panel = TunePanel(state, grid=8)
    assert panel.busy.target is panel.plot and SHEET in panel.plot.stylesheets
    assert not panel._missing()  # drawn: a learning-rate slider only moves the mark
    state.steps = 60
    assert not panel._missing()  # the new race's sweeps were computed as it drew
    panel.grid = 16  # sweeps of another size: not computed yet
    assert panel._missing()
    panel._draw()
    assert not panel._missing() and [len(w.values) for w in panel.sweeps()] == [16]


def test_the_tune_command_says_what_a_costly_surface_costs_before_the_work(capsys):
    from optirace.cli import main

    argv = ["tune", "--surface", "mlp_landscape", "--racer", "adam:lr=0.01", "--steps", "20", "--grid", "8"]
    assert main([*argv, "--json"]) == 0
    out = capsys.readouterr()
    assert len(json.loads(out.out)["racers"][0]["final_loss"]) == 8  # stdout holds the JSON alone
    assert "one step on this surface costs as much as 2000 steps of a closed-form surface" in out.err
    assert "1 racers x 8 learning rates x 20 steps is 320,000 closed-form run-steps" in out.err
    assert (
        main(["tune", "--surface", "himmelblau", "--racer", "adam:lr=0.01", "--steps", "20", "--grid", "8"])
        == 0
    )
    assert "costs as much" not in capsys.readouterr().err

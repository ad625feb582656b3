"""Optax racers in the app (in-process): the menu, typed names, sliders from optax's signature."""

from __future__ import annotations

import math

import panel as pn
import param

from optimizers.optax_racers import CURATED
from optirace.app.racers import RacerEditor
from optirace.app.state import RaceState


def _widget(card, name: str):
    return next(w for w in card.select(pn.widgets.Widget) if getattr(w, "label", None) == name)


def test_the_menu_offers_curated_optax_optimizers_and_any_typed_one():
    state = RaceState(surface="booth")
    editor = RacerEditor(state)
    assert set(CURATED) <= set(editor.new_optimizer.options) and "adam" in editor.new_optimizer.options
    editor.new_optimizer.value = "optax:lamb"
    editor.add.clicks += 1
    assert state.error == "" and state.racers[-1]["optimizer"] == "optax:lamb"
    editor.any_optax.value = "adan"  # the prefix may be left out
    editor.add.clicks += 1
    assert state.error == "" and state.racers[-1]["optimizer"] == "optax:adan"
    assert editor.any_optax.value == ""  # used: the menu's choice is the next one again
    assert state.result.params.shape[0] == len(state.racers)
    # The typed racer's card shows its optimizer, though the menu does not list it.
    card = editor.cards.objects[-1]
    assert _widget(card, "optimizer").value == "optax:adan"
    n = len(state.racers)
    editor.any_optax.value = "optax:nope"
    editor.add.clicks += 1
    assert len(state.racers) == n and "unknown optax optimizer 'nope'; known:" in state.error
    assert editor.any_optax.value == "optax:nope"  # refused: kept, to be corrected
    editor.any_optax.value = "lbfgs"
    editor.add.clicks += 1
    assert len(state.racers) == n and "optax:lbfgs cannot race" in state.error


def test_sliders_come_from_the_signature_and_move_the_traced_values():
    state = RaceState(surface="rosenbrock", racers=[{"optimizer": "optax:yogi", "learning_rate": 0.05}])
    editor = RacerEditor(state)
    card = editor.cards.objects[0]
    labels = {getattr(w, "label", None) for w in card.select(pn.widgets.FloatSlider)}
    assert {"learning_rate", "b1", "b2", "eps"} <= labels
    lr = _widget(card, "learning_rate")
    assert math.isclose(lr.value, math.log10(0.05))  # a log slider, as for built-in learning rates
    before = state.result.params.copy()
    b1 = _widget(card, "b1")
    assert (b1.start, b1.end) == (0.0, 0.9999)
    with param.edit_constant(b1):  # as Panel applies a browser's change
        b1.param.update(value=0.5, value_throttled=0.5)
    assert state.error == "" and state.racers[0]["b1"] == 0.5
    assert not (state.result.params == before).all()
    assert "b1=0.5" in state.to_query()["r0"] and state.to_query()["r0"].startswith("optax:yogi:")


def test_a_new_surface_retunes_an_optax_racers_learning_rate():
    state = RaceState(surface="rosenbrock", racers=[{"optimizer": "optax:yogi", "learning_rate": 0.5}])
    state.surface = "booth"
    assert state.error == "" and state.racers[0]["learning_rate"] != 0.5
    # Inside a wrapper, the inner optax racer's own learning_rate is retuned (not a torch-named lr).
    state.racers = [{"optimizer": "lookahead", "inner": {"optimizer": "optax:adamw", "learning_rate": 0.5}}]
    state.surface = "himmelblau"
    assert state.error == "" and state.racers[0]["inner"] == {
        "optimizer": "optax:adamw",
        "learning_rate": 0.05,
    }

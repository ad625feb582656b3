"""The racer cards' controls (optirace/app/racers.py), in-process."""

from __future__ import annotations

import math

import panel as pn
import param

from optirace.app.defaults import default_spec
from optirace.app.racers import RacerEditor
from optirace.app.state import RaceState


def _lr_slider(editor: RacerEditor):
    card = editor.cards.objects[0]
    return next(
        w for w in card.select(pn.widgets.Widget) if w.name == "lr" or getattr(w, "label", "") == "lr"
    )


def test_a_drag_released_in_one_update_sets_the_lr():
    """A drag whose release reaches the server with `value` and `value_throttled` together (one
    update, two events for the same watcher) must set the racer's lr, not fail."""
    state = RaceState()
    state.apply_query({"r0": "gd:lr=0.001"})
    editor = RacerEditor(state)
    slider = _lr_slider(editor)
    with param.edit_constant(slider):  # as Panel applies a browser's change
        slider.param.update(value=-2.125, value_throttled=-2.125)  # log10 of the lr
    assert math.isclose(state.racers[0]["lr"], 10**-2.125, rel_tol=0.01)  # shown to 2 digits: 0.0075
    with param.edit_constant(slider):
        slider.param.update(value_throttled=-2.5)  # a keyboard move: value_throttled alone
    assert math.isclose(state.racers[0]["lr"], 10**-2.5, rel_tol=0.02)


def _select(editor: RacerEditor, name: str):
    return next(w for w in editor.cards.objects[0].select(pn.widgets.Select) if w.name == name)


def test_changing_the_inner_optimizer_starts_from_its_defaults():
    """Lookahead around sgd (momentum 0.9) -> adam: sgd's momentum must not be carried into adam."""
    state = RaceState(surface="booth", racers=[{"optimizer": "lookahead"}])
    state.update_racer(0, optimizer="lookahead")
    editor = RacerEditor(state)
    assert state.racers[0]["inner"].get("momentum") == 0.9
    _select(editor, "inner optimizer").value = "adam"
    assert state.error == ""
    assert state.racers[0]["inner"] == {"optimizer": "adam", "lr": default_spec("adam", "booth")["lr"]}
    # Between rules of the same lr scale, the racer's own lr is kept.
    state.update_racer(0, **{"inner.lr": 0.07})
    _select(editor, "inner optimizer").value = "rmsprop"
    assert state.error == "" and state.racers[0]["inner"] == {"optimizer": "rmsprop", "lr": 0.07}


def test_linear_sliders_show_and_keep_the_value_as_given():
    from optimizers import OPTIMIZERS
    from optirace.app.widgets import hparam_widget

    beta2 = next(h for h in OPTIMIZERS["adam"].hparams if h.name == "beta2")
    for value in (0.999, 0.9999, 0.95, 0.0):
        w, convert = hparam_widget(beta2, value)
        assert w.value == value
        k = (w.value - w.start) / w.step
        assert abs(k - round(k)) < 1e-6, f"{value} is off the slider's grid"
        assert convert(w.value) == value  # what a release sends back is the value, not 1.0
        digits = int(w.format.code.split("toFixed(")[1].split(")")[0])
        assert float(f"{value:.{digits}f}") == value, f"{value} labelled with {digits} decimals"


def test_a_cycling_schedule_on_an_optimizer_without_momentum_is_accepted():
    """Picking cyclic or onecycle for adagrad (no momentum, no beta1) turns cycle_momentum off
    instead of being refused; the checkbox shows it off."""
    for schedule in ("cyclic", "onecycle"):
        state = RaceState(surface="booth", racers=[{"optimizer": "adagrad", "lr": 0.1}])
        editor = RacerEditor(state)
        _select(editor, "lr schedule").value = schedule
        assert state.error == ""
        assert state.racers[0]["schedule"] == {"name": schedule, "cycle_momentum": False}
        box = next(
            w for w in editor.cards.objects[0].select(pn.widgets.Checkbox) if w.name == "cycle_momentum"
        )
        assert box.value is False
    # Where there is a momentum to cycle, torch's default (on) stays.
    state = RaceState(surface="booth", racers=[{"optimizer": "adam", "lr": 0.1}])
    state.update_racer(0, schedule="onecycle")
    assert state.error == "" and "cycle_momentum" not in state.racers[0]["schedule"]


def test_a_schedules_own_lr_left_to_the_racer_says_so():
    """base_lr / max_lr = -1 means the racer's lr: the slider says that, not its left end's 1e-5,
    and moving it back there gives -1 again."""
    state = RaceState(surface="booth", racers=[{"optimizer": "sgd", "lr": 0.02, "momentum": 0.9}])
    editor = RacerEditor(state)
    _select(editor, "lr schedule").value = "onecycle"
    slider = next(w for w in editor.cards.objects[0].select(pn.widgets.FloatSlider) if w.name == "max_lr")
    assert slider.value == slider.start
    assert (
        "racer's lr" in slider.format.code
        and f"tick < {slider.start + slider.step / 2!r}" in slider.format.code
    )
    with param.edit_constant(slider):
        slider.param.update(value=-1.0, value_throttled=-1.0)  # log10: max_lr = 0.1
    assert state.racers[0]["schedule"]["max_lr"] == 0.1
    with param.edit_constant(slider):
        slider.param.update(value=slider.start, value_throttled=slider.start)
    assert state.racers[0]["schedule"]["max_lr"] == -1.0


def test_a_card_header_follows_its_settings_and_quotes_a_label_as_text():
    state = RaceState()
    state.apply_query({"r0": "sgd:lr=0.01", "r1": "adam:lr=0.02,label=<b>mine</b>"})
    editor = RacerEditor(state)
    header = editor.cards.objects[0].header.object  # a Bokeh Div, its text set in place
    assert "sgd · lr 0.01</span>" in header.text
    slider = _lr_slider(editor)
    with param.edit_constant(slider):  # as Panel applies a browser's change
        slider.param.update(value_throttled=-1.5)  # log10 of the lr
    assert "sgd · lr 0.0316</span>" in header.text  # the same Div, not a rebuilt card
    labelled = editor.cards.objects[1].header.object.text
    assert "&lt;b&gt;mine&lt;/b&gt;" in labelled and "<b>" not in labelled
    assert "adam · lr 0.02" in labelled

"""The app's lessons select and "optimal settings" button, on the app's state (no browser)."""

from __future__ import annotations

import pytest

import surfaces
from optirace.app.lessons import LessonPicker
from optirace.app.state import RaceState
from optirace.app.theory import OptimalSettings
from optirace.lessons import lesson
from optirace.scene import Scene


def test_opening_a_lesson_loads_its_whole_scene_and_caption():
    state = RaceState(surface="rosenbrock", noise=0.5, seed=7, start=(0.5, 0.5))
    picker = LessonPicker(state)
    picker.open("momentum-ravine")
    want = Scene(**lesson("momentum-ravine").fields())
    assert state.surface == "quadratic" and state.kappa == 100
    assert state.racers == want.racers and state.steps == want.steps
    # Nothing of the previous race lingers: noise, seed and start are the lesson's (defaults here).
    assert (state.noise, state.seed, state.start) == (0.0, 0, None)
    assert state.result is not None and state.result.steps == want.steps and not state.error
    assert picker.caption.text == lesson("momentum-ravine").caption
    assert picker.caption.heading.startswith("Momentum in a ravine")
    assert picker.select.value == "momentum-ravine"
    # Choosing from the select does the same.
    picker.select.value = "sgd-noise-minibatches"
    assert state.surface == "least_squares" and state.batch_size == 4 and state.kappa is None
    assert picker.current == "sgd-noise-minibatches"
    # Another surface clears the caption: it would describe a race no longer shown.
    state.surface = "rosenbrock"
    assert picker.current == "" and picker.caption.text == ""


def test_a_link_names_a_lesson():
    state = RaceState()
    picker = LessonPicker(state)
    picker.from_link({"lesson": "gd-by-hand"})
    assert state.surface == "parabola" and picker.current == "gd-by-hand"
    state = RaceState()
    state.apply_query({"surface": "quadratic", "kappa": "50", "r0": "gd:lr=0.01"})
    picker = LessonPicker(state)
    picker.from_link({"surface": "quadratic", "kappa": "50", "r0": "gd:lr=0.01", "lesson": "learning-rates"})
    assert state.kappa == 50 and len(state.racers) == 1, "the link's own scene stays"
    assert picker.caption.text == lesson("learning-rates").caption
    state = RaceState()
    picker = LessonPicker(state)
    picker.from_link({"lesson": "<script>"})
    assert picker.current == "" and any("unknown lesson" in n for n in state.notices)
    with pytest.raises(ValueError, match="unknown lesson"):
        picker.open("nope")


def test_optimal_settings_sets_the_theory_and_says_so():
    state = RaceState(surface="quadratic", kappa=50.0,
                      racers=[{"optimizer": "gd", "lr": 0.001}, {"optimizer": "sgd", "lr": 0.001, "momentum": 0.9},
                              {"optimizer": "adam", "lr": 0.1}])  # fmt: skip
    button = OptimalSettings(state)
    assert button.box.visible
    button.apply()
    t = surfaces.theory("quadratic", kappa=50)
    assert state.racers[0] == {"optimizer": "gd", "lr": t["lr_gd"]}
    assert state.racers[1] == {
        "optimizer": "sgd",
        "lr": t["lr_heavy_ball"],
        "momentum": t["momentum_heavy_ball"],
    }
    assert state.racers[2] == {"optimizer": "adam", "lr": 0.1}
    text = button.notice.text
    assert "κ = 50" in text and f"{t['lr_gd']:.4g}" in text and f"{t['momentum_heavy_ball']:.4g}" in text
    assert "Left as they were (no closed form): adam:lr=0.1" in text
    state.surface = "rosenbrock"
    assert not button.box.visible


def test_a_broken_lesson_file_leaves_the_page_working(monkeypatch, tmp_path):
    import optirace.lessons as shipped

    (tmp_path / "01-broken.json").write_text("{", encoding="utf-8")
    monkeypatch.setattr(shipped, "LESSONS_DIR", tmp_path)
    shipped.lessons.cache_clear()
    try:
        state = RaceState()
        picker = LessonPicker(state)
        assert list(picker.select.options) == ["(none)"]
        picker.from_link({"lesson": "gd-by-hand"})
        assert any("unknown lesson" in n for n in state.notices)
    finally:
        shipped.lessons.cache_clear()

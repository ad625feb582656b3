"""The live view in-process (no browser): what a settings change rebuilds, and what it only relabels."""

from __future__ import annotations

import pytest
from panel.theme import DarkTheme

from views.live import RaceView
from views.state import RaceState
from views.theme import look


def test_a_slider_move_relabels_in_place_and_a_new_surface_rebuilds():
    state = RaceState()
    state.apply_query({"r0": "gd:lr=0.001", "r1": "adam:lr=0.02"})
    view = RaceView(state)
    figs = (view._parts["fig"], view._parts["loss"]["fig"], view._parts["lr"]["fig"])
    before = view.traj.columns["x0"][5]
    state.update_racer(0, lr=0.004)
    # Rebuilding means new models for the browser to lay out: hundreds of them, for a label.
    assert (view._parts["fig"], view._parts["loss"]["fig"], view._parts["lr"]["fig"]) == figs
    assert state.label(0) == "gd:lr=0.004"
    assert view._parts["hovers"][0].tooltips[0] == ("racer", "gd:lr=0.004")
    assert view._parts["loss"]["legend"][0].label.value == "gd:lr=0.004"
    assert view._parts["hovers"][1].tooltips[0] == ("racer", "adam:lr=0.02")
    assert view.traj.columns["x0"][5] != before  # the sources hold the new race
    state.surface = "beale"
    assert view._parts["fig"] is not figs[0]


def test_the_lr_panel_draws_each_whole_schedule_and_follows_slider_moves():
    state = RaceState()
    state.apply_query({"r0": "gd:lr=0.001", "r1": "sgd:lr=0.01,schedule=step,schedule.step_size=50",
                       "steps": "200"})  # fmt: skip
    view = RaceView(state)
    gd, sgd = (s.data for s in view._parts["lr"]["schedules"])
    # Drawn before the race plays: all 200 steps, from the few rows where the shape changes.
    assert list(gd["step"]) == [0, 199, 200] and list(gd["lr"][:2]) == [0.001, 0.001]
    assert list(sgd["step"][:4]) == [0, 49, 50, 99] and sgd["lr"][2] == 0.01 * 0.1
    state.update_racer(0, lr=0.004)
    gd = view._parts["lr"]["schedules"][0].data
    assert list(gd["lr"][:2]) == [0.004, 0.004]


@pytest.mark.parametrize(("theme", "present"), [("light", False), ("dark", False), ("dark", True)])
def test_the_looks_font_sizes_survive_panels_dark_theme(theme, present):
    """Bokeh takes a property set to its default as unset, and Panel's dark theme then put its own
    sizes on the axes and titles: the dark page's labels were a size the look never chose."""
    state = RaceState()
    state.apply_query({"theme": theme, "present": "1" if present else "0"})
    view = RaceView(state)
    lk = look(theme, present)
    figs = (view._parts["fig"], view._parts["loss"]["fig"], view._parts["lr"]["fig"])
    for fig in figs:
        for model in fig.references():
            DarkTheme.bokeh_theme.apply_to_model(model)
        for ax in (*fig.xaxis, *fig.yaxis):
            assert (ax.major_label_text_font_size, ax.axis_label_text_font_size) == (lk.tick_font, lk.font)
        assert fig.title.text_font_size == lk.font
    assert view._parts["loss"]["fig"].min_border_left == lk.axis_room


@pytest.mark.parametrize("surface", ["booth", "parabola"])
def test_hover_numbers_show_small_values(surface):
    """A loss of 1e-12 must not hover as 0.0000: every number field is printf-formatted with %g."""
    import re

    state = RaceState(surface=surface)
    view = RaceView(state)
    for hover in view._parts["hovers"]:
        fields = [(name, spec) for name, spec in hover.tooltips if name not in ("racer", "step")]
        assert fields
        for name, spec in fields:
            column, fmt = re.fullmatch(r"(@\w+)\{(.+)\}", spec).groups()
            assert hover.formatters.get(column) == "printf", (name, spec)
            # BokehJS's printf formatter follows C's printf, as Python's % does.
            assert fmt % 1e-12 == "1e-12" and fmt % 1.2 == "1.2" and fmt % -0.00123 == "-0.00123", fmt


def test_axes_and_hover_name_the_surfaces_variables():
    """Least squares fits a line: its coordinates are the slope w and the intercept b, not x and y."""
    state = RaceState(surface="least_squares")
    view = RaceView(state)
    fig = view._parts["fig"]
    assert (fig.xaxis[0].axis_label, fig.yaxis[0].axis_label) == ("w", "b")
    names = [name for name, _ in view._parts["hovers"][0].tooltips]
    assert names[2:4] == ["w", "b"]
    state.update_racer(0, lr=0.03)  # a relabel swaps the tooltips in place: the names stay
    assert [name for name, _ in view._parts["hovers"][0].tooltips][2:4] == ["w", "b"]
    state.surface = "booth"
    fig = view._parts["fig"]
    assert (fig.xaxis[0].axis_label, fig.yaxis[0].axis_label) == ("x", "y")

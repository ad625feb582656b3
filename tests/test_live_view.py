"""The live view in-process (no browser): what a settings change rebuilds, what it only updates, and
what the page's player is sent."""

from __future__ import annotations

import re

import numpy as np
import pytest
from bokeh.models import HoverTool
from panel.theme import DarkTheme

from optirace.app.live import RaceView
from optirace.app.state import RaceState
from optirace.figures import look


def _legend_labels(fig) -> list[str]:
    return [item.label["value"] if isinstance(item.label, dict) else item.label.value
            for legend in fig.legend for item in legend.items]  # fmt: skip


def test_a_slider_move_relabels_in_place_and_a_new_surface_rebuilds():
    state = RaceState()
    state.apply_query({"r0": "gd:lr=0.001", "r1": "adam:lr=0.02"})
    view = RaceView(state)
    figs = dict(view._figs)
    before = np.array(view.player.race.data["x0"][:6])
    state.update_racer(0, lr=0.004)
    # Rebuilding means new models for the browser to lay out: hundreds of them, for a label.
    assert view._figs == figs
    assert state.label(0) == "gd:lr=0.004"
    assert "gd:lr=0.004" in _legend_labels(figs["loss"])
    assert "adam:lr=0.02" in _legend_labels(figs["loss"])
    assert list(view.player.racers.data["text"]) == ["gd:lr=0.004", "adam:lr=0.02"]  # the hover's names
    assert view.player.race.data["x0"][5] != before[5]  # the page is sent the new race
    state.surface = "beale"
    assert view._figs["contour"] is not figs["contour"]


def test_the_lr_panel_draws_each_whole_schedule_and_follows_slider_moves():
    state = RaceState()
    state.apply_query({"r0": "gd:lr=0.001", "r1": "sgd:lr=0.01,schedule=step,schedule.step_size=50",
                       "steps": "200"})  # fmt: skip
    view = RaceView(state)
    race = view.player.race.data
    # Sent before the race plays: the learning rate of all 200 steps.
    assert list(race["step"][:3]) == [0, 1, 2] and len(race["step"]) == 201
    assert race["lr0"][0] == race["lr0"][199] == 0.001
    assert race["lr1"][49] == 0.01 and race["lr1"][50] == pytest.approx(0.01 * 0.1)
    state.update_racer(0, lr=0.004)
    assert view.player.race.data["lr0"][0] == 0.004


@pytest.mark.parametrize(("theme", "present"), [("light", False), ("dark", False), ("dark", True)])
def test_the_looks_font_sizes_survive_panels_dark_theme(theme, present):
    """Bokeh takes a property set to its default as unset, and Panel's dark theme then put its own
    sizes on the axes and titles: the dark page's labels were a size the look never chose."""
    state = RaceState()
    state.apply_query({"theme": theme, "present": "1" if present else "0"})
    view = RaceView(state)
    lk = look(theme, present)
    for fig in view._figs.values():
        for model in fig.references():
            DarkTheme.bokeh_theme.apply_to_model(model)
        for ax in (*fig.xaxis, *fig.yaxis):
            assert (ax.major_label_text_font_size, ax.axis_label_text_font_size) == (f"{lk.tick_font:g}px",
                                                                                     f"{lk.font:g}px")  # fmt: skip
        assert fig.title.text_font_size == f"{lk.font:g}px"


def _hovers(view) -> list[HoverTool]:
    """The hovers that show numbers (the current points'); a path's hover names its racer only."""
    return [t for t in view._figs["contour"].tools if isinstance(t, HoverTool) and t.tooltips
            and any(name not in ("racer", "step") for name, _ in t.tooltips)]  # fmt: skip


@pytest.mark.parametrize("surface", ["booth", "parabola"])
def test_hover_numbers_show_small_values(surface):
    """A loss of 1e-12 must not hover as 0.0000: every number field is printf-formatted with %g."""
    state = RaceState(surface=surface)
    view = RaceView(state)
    hovers = _hovers(view)
    assert hovers
    for hover in hovers:
        fields = [(name, spec) for name, spec in hover.tooltips if name not in ("racer", "step")]
        assert fields
        for name, spec in fields:
            column, fmt = re.fullmatch(r"(@\{\w+\})\{(.+)\}", spec).groups()
            assert hover.formatters.get(column) == "printf", (name, spec)
            # BokehJS's printf formatter follows C's printf, as Python's % does.
            assert fmt % 1e-12 == "1e-12" and fmt % 1.2 == "1.2" and fmt % -0.00123 == "-0.00123", fmt


def test_axes_and_hover_name_the_surfaces_variables():
    """Least squares fits a line: its coordinates are the slope w and the intercept b, not x and y."""
    state = RaceState(surface="least_squares")
    view = RaceView(state)
    fig = view._figs["contour"]
    assert (fig.xaxis[0].axis_label, fig.yaxis[0].axis_label) == ("w", "b")
    names = [name for name, _ in _hovers(view)[0].tooltips]
    assert names[2:4] == ["w", "b"]
    state.update_racer(0, lr=0.03)  # a new race of the same structure: the names stay
    assert [name for name, _ in _hovers(view)[0].tooltips][2:4] == ["w", "b"]
    state.surface = "booth"
    fig = view._figs["contour"]
    assert (fig.xaxis[0].axis_label, fig.yaxis[0].axis_label) == ("x", "y")


def test_adding_and_removing_racers_keeps_the_figures():
    """Racers are drawn in their palette slot's layers: Add racer and Remove only send the new race
    (a new figure cost the server a second and more, and the page a re-layout)."""
    state = RaceState()
    state.apply_query({"r0": "gd:lr=0.001", "r1": "adam:lr=0.02", "r2": "sgd:lr=0.002"})
    view = RaceView(state)
    figs = dict(view._figs)

    def shown_legend():
        return [item.label.value for item in figs["loss"].legend[0].items if item.visible]

    state.remove_racer(1)
    assert view._figs == figs
    assert list(view.player.racers.data["slot"]) == [0, 2]  # sgd keeps its colour
    assert shown_legend() == ["gd:lr=0.001", "sgd:lr=0.002"]
    state.add_racer("rmsprop")
    assert view._figs == figs
    assert list(view.player.racers.data["slot"]) == [0, 2, 1]  # the free colour
    assert len(shown_legend()) == 3 and shown_legend()[1].startswith("rmsprop")


def test_presentation_mode_enlarges_the_playback_bar():
    state = RaceState()
    view = RaceView(state)
    plain = view.player.play.width
    assert view.player.slider.stylesheets == []
    state.present = True
    assert view.player.play.width > plain and view.player.slider.stylesheets
    state.present = False
    assert view.player.play.width == plain and view.player.slider.stylesheets == []


def test_the_figures_draw_on_a_2d_canvas():
    """HoloViews asks for WebGL, which a browser without a GPU emulates on the CPU: painting a frame
    took about a second there. The player's figures draw on a 2-D canvas."""
    view = RaceView(RaceState())
    assert {fig.output_backend for fig in view._figs.values()} == {"canvas"}


def test_the_divergence_marks_are_one_layer_each_with_a_row_per_slot():
    """Every racer's cross, label and loss-panel cross share one layer per kind (a layer per racer
    was 24 renderers for every page to build and draw), a row per palette slot, coloured by slot,
    with the columns the page's player writes (figures/player.js)."""
    from bokeh.core.property.vectorization import Field

    from optirace.figures import PALETTE, tags

    state = RaceState()
    state.apply_query({"r0": "gd:lr=0.001", "r1": "adam:lr=0.02"})
    view = RaceView(state)
    slots = len(view._figs["loss"].legend[0].items)
    found = {}
    for fig in view._figs.values():
        for r in fig.renderers:
            for t in r.tags:
                p = tags.parse(t)
                if p and p[0] in ("deadx", "deadtext", "lossdead"):
                    assert p[1] == -1
                    found.setdefault(p[0], []).append(r)
    assert {k: len(v) for k, v in found.items()} == {"deadx": 1, "deadtext": 1, "lossdead": 1}
    (note,) = found["deadtext"]
    assert note.glyph.text_align == Field("align") and note.glyph.text_baseline == Field("baseline")
    assert {"x", "y", "text", "align", "baseline"} <= set(note.data_source.data)
    for role in ("deadx", "lossdead"):
        (cross,) = found[role]
        assert cross.glyph.line_color == Field("line_color")
        colours = list(cross.data_source.data["line_color"])
        assert len(colours) == slots and colours[:2] == list(PALETTE[:2])
        assert np.isnan(np.asarray(cross.data_source.data["y"], float)).all(), (
            "empty until the page fills them"
        )


@pytest.mark.parametrize(
    "query", [{}, {"surface": "quadratic", "present": "1", "theme": "dark"}, {"surface": "parabola"}]
)
def test_the_figures_pass_bokehs_checks(query):
    """The server skips Bokeh's document checks for each new session (optirace/app/page.py): they
    are made here instead, on the figures every page is built from, and find nothing."""
    from bokeh.core.validation.check import check_integrity

    state = RaceState()
    state.apply_query(query)
    view = RaceView(state)
    issues = check_integrity({m for fig in view._figs.values() for m in fig.references()})
    assert not issues.error, issues.error
    assert not issues.warning, issues.warning


def test_a_whole_pages_document_passes_bokehs_checks():
    from bokeh.core.validation.check import check_integrity
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from optirace.app import page

    doc = Document()
    with set_curdoc(doc):
        page.build().server_doc(doc)
    models = {m for root in doc.roots for m in root.references()}
    assert len(models) > 300  # the figures are in it
    issues = check_integrity(models)
    assert not issues.error, issues.error
    assert not issues.warning, issues.warning

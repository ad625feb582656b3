"""The figures are described once (optirace.figures): the app's Bokeh figure and the exports'
matplotlib figure come from the same description, with the same layers, labels, limits and colours."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest
from bokeh.models import ColorBar, LogColorMapper, LogTicker
from holoviews.plotting.bokeh import OverlayPlot as BokehOverlay
from holoviews.plotting.mpl import OverlayPlot as MplOverlay
from matplotlib.colors import LogNorm, to_hex

import optimizers
from optirace.export import Options
from optirace.export.frames import Picture
from optirace.export.scene import state_from_scene
from optirace.figures import PALETTE, look, race_figure
from optirace.figures.surface import GRID

SMALL = (640, 360)


def _race(surface, racers, steps):
    return optimizers.race(surface, racers, steps=steps)


def _panels(description):
    """Panel name -> (Bokeh overlay plot, matplotlib overlay plot) of one description."""
    bk = hv.renderer("bokeh").get_plot(description)
    mpl = hv.renderer("matplotlib").get_plot(description)
    b = {p.hmap.last.group: p for p in bk.traverse(lambda p: p, [BokehOverlay])}
    m = {p.hmap.last.group: p for p in mpl.traverse(lambda p: p, [MplOverlay])}
    assert list(b) == list(m)
    return {name: (b[name], m[name]) for name in b}


def _ranges(fig):
    """(x limits, y limits) a Bokeh figure shows: its fixed ranges, or, for the surface (equal
    scales: data ranges that fit its image and widen in the browser to the frame's shape), the
    image's extent."""
    from bokeh.models import DataRange1d, GlyphRenderer
    from bokeh.models import Image as ImageGlyph

    if not isinstance(fig.x_range, DataRange1d):
        return (fig.x_range.start, fig.x_range.end), (fig.y_range.start, fig.y_range.end)
    assert fig.match_aspect and fig.aspect_scale == 1
    assert fig.x_range.range_padding == 0 == fig.y_range.range_padding
    (image,) = [r for r in fig.renderers if isinstance(r, GlyphRenderer) and isinstance(r.glyph, ImageGlyph)]
    assert fig.x_range.renderers == [image] == fig.y_range.renderers
    d = image.data_source.data
    x, y, dw, dh = (float(d[k][0]) for k in ("x", "y", "dw", "dh"))
    return (x, x + dw), (y, y + dh)


def _layers(plot):
    return [(type(sub.hmap.last).__name__, sub.hmap.last.group) for sub in plot.subplots.values()]


def _mpl_color(artist) -> str:
    get = getattr(artist, "get_color", None) or artist.get_edgecolor
    c = get()
    if not isinstance(c, str):
        c = np.asarray(c)
        c = c[0] if c.ndim == 2 else c
    return to_hex(c).lower()


@pytest.fixture(scope="module")
def rosenbrock():
    res = _race("rosenbrock", [{"optimizer": "sgd", "lr": 0.01}, {"optimizer": "adam", "lr": 0.05}], 60)
    return res, ["sgd:lr=0.01", "adam:lr=0.05"]


@pytest.mark.parametrize("theme", ["light", "dark", "slides"])
def test_the_app_and_the_export_draw_one_description(rosenbrock, theme):
    res, labels = rosenbrock
    panels = _panels(race_figure(res, labels, theme, k=40))
    assert list(panels) == ["Contour", "Loss", "Lr"]
    lk = look(theme)
    for name, (b, m) in panels.items():
        fig, ax = b.state, m.handles["axis"]
        # The same layers, in the same order, each drawn by both backends.
        assert _layers(b) == _layers(m) and len(b.subplots) == len(m.subplots) >= 3
        for sb, sm in zip(b.subplots.values(), m.subplots.values(), strict=True):
            assert "glyph" in sb.handles and ("artist" in sm.handles or "annotations" in sm.handles)
        # The same titles, axis labels and limits.
        assert fig.title.text == ax.get_title() != ""
        assert fig.xaxis[0].axis_label == ax.get_xlabel() and fig.yaxis[0].axis_label == ax.get_ylabel()
        xlim, ylim = _ranges(fig)
        if name == "Contour":
            # The image's extent reaches half a grid cell past the domain (its samples sit on the
            # domain's edges): the app's view holds the export's limits and at most a cell more.
            for got, want in ((xlim, ax.get_xlim()), (ylim, ax.get_ylim())):
                cell = (want[1] - want[0]) / (GRID - 1)
                assert got[0] <= want[0] and got[1] >= want[1]
                assert got == pytest.approx(want, abs=cell)
        else:
            assert xlim == pytest.approx(ax.get_xlim())
            lo, hi = ax.get_ylim()
            assert ylim == pytest.approx((lo, hi), rel=1e-6)
        # The same legend entries.
        bk_items = [i.label.value for leg in fig.legend for i in leg.items]
        mpl_leg = ax.get_legend()
        mpl_items = [t.get_text() for t in mpl_leg.get_texts()] if mpl_leg and mpl_leg.get_visible() else []
        assert bk_items == mpl_items
        # The same racer colours, from the Okabe-Ito palette.
        kind = {"Contour": "RacerPath", "Loss": "Loss", "Lr": "Lr"}[name]
        bk_colors = [
            s.handles["glyph"].line_color.lower() for s in b.subplots.values() if s.hmap.last.group == kind
        ]
        mpl_colors = [
            _mpl_color(s.handles["artist"]) for s in m.subplots.values() if s.hmap.last.group == kind
        ]
        assert bk_colors == mpl_colors == [c.lower() for c in PALETTE[:2]]
    # The same colour map, log-scaled on both sides for Rosenbrock.
    b, m = panels["Contour"]
    (bi,) = [s for s in b.subplots.values() if s.hmap.last.group == "Surface"]
    (mi,) = [s for s in m.subplots.values() if s.hmap.last.group == "Surface"]
    mapper, image = bi.handles["color_mapper"], mi.handles["artist"]
    assert isinstance(mapper, LogColorMapper) and isinstance(image.norm, LogNorm)
    assert [c.lower() for c in mapper.palette] == [c.lower() for c in lk.cmap]
    n = len(lk.cmap)
    assert [to_hex(c) for c in image.cmap(np.arange(n))] == [c.lower() for c in lk.cmap]
    assert (mapper.low, mapper.high) == pytest.approx((image.norm.vmin, image.norm.vmax))


def test_the_surface_has_equal_data_scales_a_ravine_looks_like_a_ravine():
    res = _race("quadratic", [{"optimizer": "sgd", "lr": 0.05}], 20)
    assert res.surface.domain == ((-10.0, 10.0), (-4.0, 4.0))
    b, m = _panels(race_figure(res, ["sgd"], k=20))["Contour"]
    assert b.state.match_aspect and b.state.aspect_scale == 1
    assert m.handles["axis"].get_aspect() == 1.0
    # Drawn in an export: 2.5 times wider than tall on the page, whatever the picture's shape.
    st = state_from_scene({"surface": "quadratic", "racers": ["sgd:lr=0.05"], "steps": 20})
    for size in ((1280, 720), (640, 640)):
        pic = Picture(st, Options(size=size))
        pic.frame(20)
        box = pic.main_ax.get_window_extent()
        assert box.width / box.height == pytest.approx(2.5, rel=0.02)


def _inside(inner, outer) -> bool:
    return outer.x0 <= inner.x0 and inner.x1 <= outer.x1 and outer.y0 <= inner.y0 and inner.y1 <= outer.y1


@pytest.mark.parametrize("theme", ["light", "slides"])
def test_the_divergence_label_is_inside_the_frame_and_under_nothing(theme):
    st = state_from_scene({"surface": "rosenbrock", "racers": ["sgd:lr=0.01"], "steps": 300})
    d = int(st.result.diverged_at[0])
    assert 0 < d < 300
    pic = Picture(st, Options(size=(1280, 720), theme=theme))
    renderer = pic.canvas.get_renderer()
    for k in (d, 300):
        pic.frame(k)
        note, cross = pic.notes[0], pic.crosses[0]
        assert note.get_visible() and note.get_text() == f"diverged at step {d}"
        frame = pic.main_ax.get_window_extent(renderer)
        assert _inside(note.get_window_extent(renderer), frame)
        assert _inside(cross.get_window_extent(renderer), frame)
        # Drawn last: nothing that moves or stands still is painted over it.
        ax = pic.main_ax
        drawn = (*ax.lines, *ax.collections, *ax.images, *ax.texts)
        assert note.get_zorder() >= max(a.get_zorder() for a in drawn if a is not note)
        assert pic._moving[-1] is note or note.get_zorder() == pic._moving[-1].get_zorder()
        for leg in pic.legends:  # legends sit outside the data area
            assert not leg.get_window_extent(renderer).overlaps(frame)
    pic.frame(d - 1)
    assert not pic.notes[0].get_visible()
    # The Bokeh description places it inside the ranges too, aligned towards the middle.
    b, _ = _panels(race_figure(st.result, ["sgd:lr=0.01"], theme, k=300))["Contour"]
    (label,) = [s for s in b.subplots.values() if s.hmap.last.group == "DivergedLabel"]
    src = label.handles["source"].data
    fig = b.state
    (x,), (y,) = src["x"], src["y"]
    (x0, x1), (y0, y1) = _ranges(fig)
    assert x0 < x < x1 and y0 < y < y1
    glyph = label.handles["glyph"]
    assert (glyph.text_align == "right") == (x > 0) and (glyph.text_baseline == "top") == (y > 1.0)


def test_a_log_scaled_surface_has_a_colour_bar_with_log_ticks_in_loss_units(rosenbrock):
    res, labels = rosenbrock
    b, m = _panels(race_figure(res, labels, k=60))["Contour"]
    (bar,) = [r for r in b.state.right if isinstance(r, ColorBar)]
    assert isinstance(bar.ticker, LogTicker) and "loss" in bar.title
    cbar = [s for s in m.subplots.values() if s.hmap.last.group == "Surface"][0].handles["cbar"]
    assert isinstance(cbar.norm, LogNorm) and "loss" in cbar.ax.get_ylabel()
    cbar.ax.figure.canvas.draw()
    ticks = [t.get_text() for t in cbar.ax.get_yticklabels() if t.get_text()]
    assert len(ticks) >= 3 and all("10^" in t for t in ticks)
    # A surface that is not log-scaled: a linear bar, still in loss units.
    quad = _race("quadratic", [{"optimizer": "sgd", "lr": 0.05}], 5)
    b, _ = _panels(race_figure(quad, ["sgd"]))["Contour"]
    (bar,) = [r for r in b.state.right if isinstance(r, ColorBar)]
    assert not isinstance(bar.ticker, LogTicker) and bar.title == "loss"


def test_legends_sit_outside_the_data_area(rosenbrock):
    res, labels = rosenbrock
    for name, (b, _m) in _panels(race_figure(res, labels, k=60)).items():
        for leg in b.state.legend:
            if leg.items:
                assert leg not in b.state.center, name
    st = state_from_scene({"surface": "rosenbrock", "racers": ["adam:lr=0.05", "sgd:lr=0.001"], "steps": 30})
    for panels in (("contour", "loss", "lr"), ("contour",)):
        pic = Picture(st, Options(size=(1280, 720), panels=panels))
        pic.frame(30)
        r = pic.canvas.get_renderer()
        assert pic.legends
        for leg in pic.legends:
            box = leg.get_window_extent(r)
            assert not any(box.overlaps(ax.get_window_extent(r)) for ax in pic.axes.values())


def test_cycled_momentum_is_drawn_under_the_learning_rate():
    racers = [{"optimizer": "sgd", "lr": 0.001, "momentum": 0.9},
              {"optimizer": "adam", "lr": 0.01, "schedule": {"name": "onecycle", "max_lr": 0.05, "total_steps": 40}}]  # fmt: skip
    res = _race("rosenbrock", racers, 40)
    panels = _panels(race_figure(res, ["sgd", "adam"], k=20))
    assert list(panels) == ["Contour", "Loss", "Lr", "Momentum"]
    b, m = panels["Momentum"]
    curves = [s for s in m.subplots.values() if s.hmap.last.group == "Momentum"]
    assert len(curves) == 1 and _mpl_color(curves[0].handles["artist"]) == PALETTE[1].lower()
    y = curves[0].handles["artist"].get_ydata()
    assert np.nanmin(y) == pytest.approx(0.85, abs=1e-3) and np.nanmax(y) == pytest.approx(0.95, abs=1e-3)


def test_the_live_apps_figures_are_the_exports_description():
    """The app's live figures (rendered once per structure for the page's player) and the export's
    matplotlib figure have the same panels, titles, axis labels, surface limits, racer colours and
    legend entries."""
    from optirace.app.live import RaceView
    from optirace.app.state import RaceState

    scene = {"surface": "rosenbrock", "racers": ["sgd:lr=0.001,momentum=0.9", "adam:lr=0.05"], "steps": 80}
    app = RaceView(RaceState(**{k: v for k, v in state_from_scene(scene).param.values().items()
                                if k in RaceState.param and k not in ("name",)}))._figs  # fmt: skip
    pic = Picture(state_from_scene(scene), Options(size=SMALL))
    axes = {ax.get_title(): ax for ax in pic.fig.axes if ax.get_title()}
    titles = {name: fig.title.text for name, fig in app.items()}
    assert sorted(titles.values()) == sorted(axes)
    for name, fig in app.items():
        ax = axes[fig.title.text]
        assert (fig.xaxis[0].axis_label, fig.yaxis[0].axis_label) == (ax.get_xlabel(), ax.get_ylabel()), name
    c = axes[titles["contour"]]
    (x0, x1), (y0, y1) = c.get_xlim(), c.get_ylim()
    # Equal data scales: the app's view fits the surface's image (the domain and half a grid cell)
    # and may show more, never less.
    (a0, a1), (b0, b1) = _ranges(app["contour"])
    assert a0 <= x0 and a1 >= x1 and b0 <= y0 and b1 >= y1
    shown = [item.label.value for item in app["loss"].legend[0].items if item.visible]
    exported = [t.get_text() for t in axes[titles["loss"]].get_legend().get_texts()]
    raced = state_from_scene(scene)
    assert shown == exported == [raced.label(i) for i in range(2)]
    lines = {to_hex(line.get_color()).lower() for line in axes[titles["loss"]].get_lines()}
    assert {PALETTE[0].lower(), PALETTE[1].lower()} <= lines

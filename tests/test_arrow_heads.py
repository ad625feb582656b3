"""The internals' arrows in the page have heads (optirace/figures/internals.py): a Bokeh Arrow
annotation over each arrow layer's own source, its head at the arrow's tip, shown with the layer."""

from __future__ import annotations

import holoviews as hv
from bokeh.models import Arrow, GlyphRenderer, OpenHead

import optimizers
from optirace.figures import look, race_figure
from optirace.figures.tags import parse


def test_each_arrow_layer_has_open_heads_at_its_tips_in_each_rows_colour():
    res = optimizers.race("rosenbrock", [{"optimizer": "adam", "lr": 0.02}], steps=10)
    fig = hv.render(race_figure(res, ["adam"], panels=["contour"], player=True), backend="bokeh")
    plots = (
        [fig] if not hasattr(fig, "children") else [c[0] if isinstance(c, tuple) else c for c in fig.children]
    )
    (plot,) = [p for p in plots if any(isinstance(r, GlyphRenderer) for r in getattr(p, "renderers", []))]
    layers = {
        parse(t)[0][len("arrow.") :]: r
        for r in plot.renderers
        for t in r.tags
        if parse(t) and parse(t)[0].startswith("arrow.")
    }
    assert set(layers) == {"g", "u", "m"}
    arrows = [a for a in plot.center if isinstance(a, Arrow)]
    assert len(arrows) == 3
    lk = look("light")
    for kind, r in layers.items():
        (a,) = [a for a in arrows if a.source is r.data_source]
        # The head at (x1, y1), the tip, and none at the racer's point: it points away from the racer.
        assert (a.x_start.field, a.y_start.field, a.x_end.field, a.y_end.field) == ("x0", "y0", "x1", "y1"), (
            kind
        )
        assert a.start is None and isinstance(a.end, OpenHead)
        assert a.end.line_color.field == "color" and a.end.size == lk.head_size
        assert a.line_alpha == 0  # the shaft is the layer's own dashed segment
        # Shown and hidden with the layer, in the page (the player toggles the layer).
        (cb,) = r.js_property_callbacks["change:visible"]
        assert cb.args["other"] is a and cb.code == "other.visible = this.visible"


def test_the_apps_copies_of_a_figure_keep_their_heads_on_their_own_sources():
    from optirace.figures.played import bokeh_panels

    res = optimizers.race("rosenbrock", [{"optimizer": "adam", "lr": 0.02}], steps=10)
    # The first call renders the structure, the next copy it (a CustomJS's args are a map, copied too).
    for _ in range(2):
        plot = bokeh_panels(res, ["adam"], "light", False, panels=["contour"])["contour"]
    layers = [r for r in plot.renderers if any(str(t).startswith("optirace:arrow.") for t in r.tags)]
    arrows = [a for a in plot.center if isinstance(a, Arrow)]
    assert len(layers) == len(arrows) == 3
    for r in layers:
        (a,) = [a for a in arrows if a.source is r.data_source]
        (cb,) = r.js_property_callbacks["change:visible"]
        assert cb.args["other"] is a

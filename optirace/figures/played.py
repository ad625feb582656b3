"""The race's panels rendered with the Bokeh backend for the player (the app and the offline HTML)."""

from __future__ import annotations

from collections.abc import Sequence

import holoviews as hv

from .line import line_limits
from .race import PANELS, race_figure

__all__ = ["bokeh_panels", "limits"]


def limits(result) -> tuple[tuple[float, float], tuple[float, float]]:
    """The surface panel's x and y limits (a one-variable surface's y is its loss)."""
    s = result.surface
    if s.dim == 2:
        (x0, x1), (y0, y1) = s.domain
        return (float(x0), float(x1)), (float(y0), float(y1))
    _, _, xlim, ylim = line_limits(s)
    return xlim, ylim


def bokeh_panels(result, labels: Sequence[str], theme: str, present: bool, panels: Sequence[str] = PANELS,
                 legend: bool = True, kappa=None, sizes: dict | None = None) -> dict[str, object]:  # fmt: skip
    """{panel name: Bokeh figure} of `race_figure(..., player=True)`, each panel rendered on its own
    so the page can lay them out. `sizes` gives (width, height) per panel; without, the panels
    fill the space they are given, the surface keeping equal data scales."""
    layout = race_figure(result, labels, theme, present, k=0, panels=panels, legend=legend, kappa=kappa,
                         player=True)  # fmt: skip
    out = {}
    for item in layout:
        name = item.group.lower()
        if sizes and name in sizes:
            w, h = sizes[name]
            item = item.opts(width=int(w), height=int(h), responsive=False, backend="bokeh")
        else:
            item = item.opts(responsive=True, min_height=160, min_width=200, backend="bokeh")
        plot = hv.renderer("bokeh").get_plot(item)
        out[name] = plot.state
        # Under a server HoloViews ties each plot to the session's document, to update it later
        # and clean it up when the session ends. These figures are rendered once and then driven
        # by the player: untied, the plot objects go now, not with the session.
        plot.document = None
    return out

"""Every figure of a race, declared once as HoloViews elements with options for both backends.

    import holoviews as hv
    from optirace.figures import race_figure
    fig = race_figure(result, labels, "dark", present=False, k=120, panels=("contour", "loss", "lr"))
    hv.render(fig, backend="bokeh")        # the app and the offline HTML
    hv.render(fig, backend="matplotlib")   # GIF, MP4, PNG, SVG, PDF

Pure functions of the race's data: the same result, labels, look and step give the same figure.
The look (palette, colours, sizes) imports without HoloViews, so the app's state can use it cheaply.
"""

from __future__ import annotations

from .look import LOOKS, PALETTE, Look, look

__all__ = ["race_figure", "panel_names", "racer_colors", "PALETTE", "Look", "look", "LOOKS", "PANELS"]


def __getattr__(name: str):
    # HoloViews and both of its plotting backends load only when a figure is described.
    if name in ("race_figure", "panel_names", "racer_colors", "PANELS"):
        from . import race

        return getattr(race, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

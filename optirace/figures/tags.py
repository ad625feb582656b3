"""Marks on the Bokeh models of a played figure: which racer and which role each one draws.

A figure declared for the player (`race_figure(..., player=True)`) is rendered once per structure
(surface, racers, look). Its step-dependent layers (paths, current points, curves, divergence
markers, the step marker; the internals' arrows and tracks, figures/internals.py) are tagged here
through a HoloViews hook, so that the player in the page (figures/player.js) can find them and
fill them from the race it was sent, step after step, with no message to the server. The hook
also marks them not to sync: what the player draws stays in the page. Hooks run for the Bokeh
backend only; the matplotlib rendering of the same figure ignores them.
"""

from __future__ import annotations

__all__ = ["played", "panel", "ghost", "PREFIX", "parse"]

PREFIX = "optirace"


def _fields(glyph) -> tuple[str, str]:
    """The columns a glyph reads its coordinates from (HoloViews names them after dimensions)."""
    if hasattr(glyph, "xs"):
        return str(glyph.xs), str(glyph.ys)
    if hasattr(glyph, "x0"):
        return "x0", "y0"
    if hasattr(glyph, "location"):
        return "", ""
    return str(glyph.x), str(glyph.y)


def played(element, role: str, racer: int = -1, *hooks):
    """`element`, whose Bokeh renderer is tagged `optirace:role:racer:xfield:yfield`, with its other
    Bokeh `hooks` (run first)."""

    def hook(plot, _element):
        glyph = plot.handles.get("glyph")
        renderer = plot.handles.get("glyph_renderer")
        fx, fy = _fields(glyph)
        target = renderer if renderer is not None else glyph  # a Span is its own renderer
        target.tags = [*target.tags, f"{PREFIX}:{role}:{racer}:{fx}:{fy}"]
        # What the player changes every frame lives on the overlay layer: BokehJS then repaints
        # that layer alone, and the panel's image, contours, axes and legend (the primary layer)
        # are not drawn again with each step.
        target.level = "overlay"
        for model in (renderer, glyph, plot.handles.get("source")):
            if model is not None:
                model.syncable = False

    return element.opts(hooks=[*hooks, hook], backend="bokeh")


def ghost(element, role: str):
    """`element`, the ghost of the last race (figures/ghost.py), tagged `optirace:<role>:-1:xs:ys`. The
    server fills it once per change, so unlike a played layer it stays in sync; under the racers'
    layers (they are drawn on the overlay level), and left alone by the player."""

    def hook(plot, _element):
        from bokeh.core.properties import field

        renderer = plot.handles["glyph_renderer"]
        renderer.tags = [*renderer.tags, f"{PREFIX}:{role}:-1:xs:ys"]
        renderer.glyph.line_color = field("color")  # each racer's line in its own colour
        source = plot.handles["source"]
        source.data = {**source.data, "color": ["#000000"] * len(source.data["xs"])}

    return element.opts(hooks=[hook], backend="bokeh")


def panel(overlay, name: str, *hooks):
    """`overlay`, whose Bokeh figure is tagged `optirace:panel:<name>` (the server sets its ranges),
    with its other Bokeh `hooks` (an element has one list of hooks: given again, it is replaced)."""

    def hook(plot, _element):
        plot.state.tags = [*plot.state.tags, f"{PREFIX}:panel:{name}"]

    return overlay.opts(hooks=[*hooks, hook], backend="bokeh")


def parse(tag) -> tuple[str, int, str, str] | None:
    """(role, racer, xfield, yfield) of one of our tags, or None."""
    if not isinstance(tag, str) or not tag.startswith(PREFIX + ":"):
        return None
    parts = tag.split(":")
    if parts[1] == "panel":
        return ("panel", -1, parts[2], "")
    _, role, racer, fx, fy = parts
    return role, int(racer), fx, fy

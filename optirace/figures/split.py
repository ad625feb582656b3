"""Each racer's path and loss curve in two layers of a played figure: a done part and a growing tail.

The page's player (figures/player.js) redraws what changes with the step on the overlay level,
which BokehJS clears and repaints whole on every frame. Late in a long race a path or a loss curve
holds thousands of points, and repainting 8 paths and 8 curves of up to 5000 points each frame
was most of a frame. So each of these layers gets a twin, the done layer, on the annotation level
(the panel's main canvas, painted with the image, contours and axes): the player puts the rows up
to a checkpoint there, and only the rows from the checkpoint to the step shown in the tail (the
original layer, on the overlay level). The checkpoint moves by a fixed number of rows, so the main
canvas is repainted once per that many rows, and a frame's work no longer grows with the step.

The layers the player fills only when a race arrives (each racer's learning-rate and momentum
schedule, the theory's predicted loss: whole curves, known before the race runs) go to the main
canvas too: on the overlay level they were repainted with every frame though they never change.
"""

from __future__ import annotations

from bokeh.models import ColumnDataSource, GlyphRenderer, HoverTool

from . import tags

__all__ = ["DONE", "ROLES", "STILL", "done_layers", "still_layers"]

ROLES = ("path", "loss")  # the split layers' roles (figures/tags.py)
DONE = "done"  # a done layer's role is its tail's role with this suffix: "pathdone", "lossdone"
STILL = ("lr", "momentum", "predicted")  # roles the player fills only with a new race
LEVEL = "annotation"  # the highest level of the main canvas: over the image, contours and grid


def done_layers(fig) -> dict[str, str]:
    """Add a done layer to `fig` beside each racer's path and loss curve layer (tagged for the
    player, figures/tags.py); return {the tail's tag: its done layer's tag}."""
    out = {}
    for r in list(fig.renderers):
        if not isinstance(r, GlyphRenderer):
            continue
        for t in r.tags:
            p = tags.parse(t)
            if p is None or p[0] not in ROLES or p[1] < 0:
                continue
            role, slot, fx, fy = p
            mark = f"{tags.PREFIX}:{role}{DONE}:{slot}:{fx}:{fy}"
            # Empty until the player fills it; the same columns, so a path's hover names its racer.
            source = ColumnDataSource({name: [] for name in r.data_source.column_names})
            glyph = r.glyph.clone()
            done = GlyphRenderer(
                data_source=source, glyph=glyph, tags=[mark], level=LEVEL, name=f"{role}{DONE}"
            )
            # As for every layer the player changes: what it draws stays in the page.
            for model in (done, glyph, source):
                model.syncable = False
            # Drawn first, under the layers of its own level that came after its tail.
            fig.renderers.insert(fig.renderers.index(r), done)
            for tool in fig.tools:
                if isinstance(tool, HoverTool) and isinstance(tool.renderers, list) and r in tool.renderers:
                    tool.renderers = [*tool.renderers, done]
            out[t] = mark
    return out


def still_layers(fig) -> int:
    """Move the layers of `fig` that change only with a new race (`STILL`) to the main canvas;
    return how many."""
    moved = 0
    for r in fig.renderers:
        if any((p := tags.parse(t)) is not None and p[0] in STILL for t in r.tags):
            r.level = LEVEL
            moved += 1
    return moved

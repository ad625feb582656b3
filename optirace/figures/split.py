"""Each racer's path and loss curve in two layers of a played figure: a done part and a growing tail.

The page's player (figures/player.js) redraws what changes with the step on the overlay level,
which BokehJS clears and repaints whole on every frame. Late in a long race a path or a loss curve
holds thousands of points, and repainting 8 paths and 8 curves of up to 5000 points each frame
was most of a frame. So these layers get a twin, the done layer, on the annotation level (the
panel's main canvas, painted with the image, contours and axes): one layer for all the racers, a
line per racer. The player puts each racer's rows up to a checkpoint there, and only the rows from
the checkpoint to the step shown in its tail (the original layer, on the overlay level). The
checkpoint moves by a fixed number of rows, so the main canvas is repainted once per that many
rows, and a frame's work no longer grows with the step.

The layers the player fills only when a race arrives (each racer's learning-rate and momentum
schedule, the theory's predicted loss: whole curves, known before the race runs) go to the main
canvas too: on the overlay level they were repainted with every frame though they never change.
"""

from __future__ import annotations

from bokeh.core.properties import field
from bokeh.models import ColumnDataSource, GlyphRenderer, HoverTool, MultiLine

from . import tags

__all__ = ["DONE", "ROLES", "STILL", "done_layers", "still_layers"]

ROLES = ("path", "loss")  # the split layers' roles (figures/tags.py)
DONE = "done"  # a done layer's role is its tail's role with this suffix: "pathdone", "lossdone"
STILL = ("lr", "momentum", "predicted")  # roles the player fills only with a new race
LEVEL = "annotation"  # the highest level of the main canvas: over the image, contours and grid


def done_layers(fig) -> None:
    """Add the done layer of `fig`'s racers' paths, or of its loss curves: one layer for all the
    racers, a line per palette slot in its racer's colour, beside their tails (tagged for the
    player, figures/tags.py). One done layer per racer was 16 renderers more for every page to
    build, send and draw."""
    for role in ROLES:
        tails = sorted(
            ((p[1], r, t) for r in fig.renderers if isinstance(r, GlyphRenderer) for t in r.tags
             if (p := tags.parse(t)) is not None and p[0] == role and p[1] >= 0),
            key=lambda x: x[0],
        )  # fmt: skip
        if not tails:
            continue
        if [slot for slot, _, _ in tails] != list(range(len(tails))):
            raise ValueError(f"{role} layers are not one per slot 0..n-1: {[slot for slot, _, _ in tails]}")
        mark = f"{tags.PREFIX}:{role}{DONE}:-1:xs:ys"
        first = tails[0][1]
        line = first.glyph
        # Empty lines until the player fills them; a path's names, so its hover names its racer.
        columns = {"xs": [[] for _ in tails], "ys": [[] for _ in tails],
                   "color": [r.glyph.line_color for _, r, _ in tails]}  # fmt: skip
        if "racer" in first.data_source.column_names:
            columns["racer"] = ["" for _ in tails]
        glyph = MultiLine(xs="xs", ys="ys", line_color=field("color"), line_width=line.line_width,
                          line_alpha=line.line_alpha, line_dash=line.line_dash,
                          line_join=line.line_join, line_cap=line.line_cap)  # fmt: skip
        source = ColumnDataSource(columns)
        done = GlyphRenderer(data_source=source, glyph=glyph, tags=[mark], level=LEVEL, name=f"{role}{DONE}")
        # As for every layer the player changes: what it draws stays in the page.
        for model in (done, glyph, source):
            model.syncable = False
        # Drawn first, under the layers of its own level that came after the tails.
        fig.renderers.insert(fig.renderers.index(first), done)
        tails_drawn = {r for _, r, _ in tails}
        for tool in fig.tools:
            if (
                isinstance(tool, HoverTool)
                and isinstance(tool.renderers, list)
                and tails_drawn & set(tool.renderers)
            ):
                tool.renderers = [*tool.renderers, done]


def still_layers(fig) -> int:
    """Move the layers of `fig` that change only with a new race (`STILL`) to the main canvas;
    return how many."""
    moved = 0
    for r in fig.renderers:
        if any((p := tags.parse(t)) is not None and p[0] in STILL for t in r.tags):
            r.level = LEVEL
            moved += 1
    return moved

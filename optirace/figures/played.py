"""The race's panels rendered with the Bokeh backend for the player (the app and the offline HTML)."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

import holoviews as hv
import numpy as np
from bokeh.models import ColumnDataSource, CustomJS, GlyphRenderer

from . import tags
from .line import line_limits
from .race import PANELS, race_figure

__all__ = ["bokeh_panels", "limits", "slot_count", "slotted"]

SLOTS = 8  # racers' layers a played figure holds at least: one per colour of the palette


def slot_count(slots: Sequence[int]) -> int:
    """Layers for the racers of a played figure: a racer added or removed within them is drawn with
    no new figure (a new figure costs the server a second or more, and the page a re-layout)."""
    return max(SLOTS, max(slots, default=-1) + 1)


def slotted(result, slots: Sequence[int], n: int):
    """`result` seen with one racer per slot (racer i in slot slots[i]): an empty slot holds a copy
    of the first racer, which never diverges, so limits are the race's own; the page hides it."""
    idx = np.zeros(n, dtype=int)
    used = np.zeros(n, dtype=bool)
    for i, s in enumerate(slots):
        idx[s], used[s] = i, True
    pick = lambda a: None if a is None else np.asarray(a)[idx]  # noqa: E731
    dead = np.where(used, np.asarray(result.diverged_at)[idx], -1)
    return SimpleNamespace(surface=result.surface, steps=result.steps, params=pick(result.params),
                           loss=pick(result.loss), lr=pick(result.lr), momentum=pick(getattr(result, "momentum", None)),
                           diverged_at=dead, racers=[None] * n), used  # fmt: skip


def limits(result) -> tuple[tuple[float, float], tuple[float, float]]:
    """The surface panel's x and y limits (a one-variable surface's y is its loss)."""
    s = result.surface
    if s.dim == 2:
        (x0, x1), (y0, y1) = s.domain
        return (float(x0), float(x1)), (float(y0), float(y1))
    _, _, xlim, ylim = line_limits(s)
    return xlim, ylim


def bokeh_panels(result, labels: Sequence[str], theme: str, present: bool, panels: Sequence[str] = PANELS,
                 legend: bool = True, kappa=None, sizes: dict | None = None,
                 slots: Sequence[int] | None = None) -> dict[str, object]:  # fmt: skip
    """{panel name: Bokeh figure} of `race_figure(..., player=True)`, each panel rendered on its own
    so the page can lay them out. `sizes` gives (width, height) per panel; without, the panels
    fill the space they are given, the surface keeping equal data scales. `slots` gives each
    racer's palette slot (default: racer i in slot i); the figure has layers for slot_count(slots)
    racers, tagged by slot, and the legend's entries of empty slots are hidden."""
    n = result.params.shape[0]
    slots = list(range(n)) if slots is None else list(slots)
    view, used = slotted(result, slots, slot_count(slots))
    by_slot = [""] * len(used)
    for i, s in enumerate(slots):
        by_slot[s] = labels[i]
    # Empty slots are told apart by a label no racer has (labels are shown as text, never parsed).
    by_slot = [t if used[s] else f"\u2063{s}" for s, t in enumerate(by_slot)]
    layout = race_figure(view, by_slot, theme, present, k=0, panels=panels, legend=legend, kappa=kappa,
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
        # HoloViews asks Bokeh for WebGL; a browser without a GPU emulates it on the CPU, and each
        # frame's copy to the page's canvas then took about a second (a projector's laptop, a
        # headless test). A 2-D canvas draws these few thousand points in milliseconds.
        plot.state.output_backend = "canvas"
        # Under a server HoloViews ties each plot to the session's document, to update it later
        # and clean it up when the session ends. These figures are rendered once and then driven
        # by the player: untied, the plot objects go now, not with the session.
        plot.document = None
    for fig in out.values():
        for lg in fig.legend:
            for item in lg.items:
                item.visible = not _empty(item)
                _stand_in(fig, item)
    return out


# The layers are named by their tags, not held: a model the legend reaches would bring its
# re-rendering back with every change the player makes to it.
_FOLLOW = CustomJS(
    code="""
for (const m of cb_obj.document.all_models)
  if ((m.tags ?? []).some((t) => marks.includes(t))) m.visible = cb_obj.visible;
"""
)


def _stand_in(fig, item) -> None:
    """Let the legend entry draw a still copy of its layers' glyphs. BokehJS re-renders a legend
    (new elements and a canvas per entry) whenever any model its entries reach changes, and the
    player changes the racers' layers every frame: that re-rendering was a third of the page's
    work while a race played. A click on the entry hides the copy, and with it the racer's layers."""
    drawn = [r for r in item.renderers if any(tags.parse(t) for t in r.tags)]
    if not drawn:
        return
    slot = next(t[1] for r in drawn for t in map(tags.parse, r.tags) if t)
    copies = []
    for r in item.renderers:
        empty = ColumnDataSource({name: [] for name in r.data_source.column_names})
        # Tagged with its racer's slot (the server relabels entries by slot); the page's player
        # leaves a `key` alone.
        copies.append(GlyphRenderer(data_source=empty, glyph=r.glyph.clone(), name="legend-key",
                                    tags=[f"{tags.PREFIX}:key:{slot}::"]))  # fmt: skip
    fig.renderers.extend(copies)
    for copy in copies:
        marks = [t for r in item.renderers for t in r.tags if tags.parse(t)]
        copy.js_on_change("visible", _FOLLOW.clone(args={"marks": marks}))
    item.renderers = copies


def _empty(item) -> bool:
    label = item.label.get("value", "") if isinstance(item.label, dict) else getattr(item.label, "value", "")
    return str(label).startswith("\u2063")

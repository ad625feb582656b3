"""The race's panels rendered with the Bokeh backend for the player (the app and the offline HTML)."""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from types import SimpleNamespace

import holoviews as hv
import numpy as np
from bokeh.core.properties import value
from bokeh.core.serialization import Deserializer, Serializer
from bokeh.models import ColumnDataSource, CustomJS, GlyphRenderer

from ..text import shown
from . import tags
from .curves import curve_values
from .line import line_limits
from .race import PANELS, panel_names, race_figure
from .split import done_layers, still_layers

__all__ = ["bokeh_panels", "fit", "limits", "relabel", "slot_count", "slotted"]

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
    racers, tagged by slot, and the legend's entries of empty slots are hidden.

    The figures are new models every call, copied from the last rendering of the same structure
    (surface, slots, look, panels, sizes): HoloViews renders a structure once per process, in
    seconds, and a copy takes a fraction of that. What differs between two races of one structure
    (the racers' layers, their names, the curves' limits) is the player's and `relabel`'s to set."""
    n = result.params.shape[0]
    slots = list(range(n)) if slots is None else list(slots)
    count = slot_count(slots)
    names = tuple(panel_names(result, panels))
    key = (result.surface, kappa, count, theme, bool(present), names, bool(legend),
           tuple(sorted((k, tuple(v)) for k, v in (sizes or {}).items())))  # fmt: skip
    with _LOCK:
        rep = _RENDERED.get(key)
        if rep is not None:
            _RENDERED.move_to_end(key)
    if rep is None:
        figs = _render(result, labels, theme, present, panels, legend, kappa, sizes, slots)
        rep = _encoded(figs)
        with _LOCK:
            _RENDERED[key] = rep
            while len(_RENDERED) > _KEEP:
                _RENDERED.popitem(last=False)
    order, content, columns = rep
    ids: dict = {}
    figs = dict(zip(order, Deserializer().decode(_fresh_ids(content, ids)), strict=True))
    new = {ids[old]: data for old, data in columns.items()}
    # Every source is a renderer's (walking all the models under a figure took a second).
    sources = [getattr(r, "data_source", None) for fig in figs.values() for r in fig.renderers]
    for m in sources:
        if m is not None and m.id in new:
            m.data = dict(new.pop(m.id))  # the arrays are shared, read-only, by every copy
    if new:
        raise RuntimeError(f"{len(new)} sources of a copied figure were not found under its renderers")
    relabel(figs, labels, slots)
    fit(figs, result)
    return figs


def _encoded(figs: dict):
    """(panel names, Bokeh's JSON of the figures without their sources' columns, {source id:
    columns}). The columns are set on each copy as they are: decoded from JSON, Bokeh logs
    every value it sets, and formatting the arrays for that took most of a copy's time."""
    columns = {}
    for fig in figs.values():
        for m in fig.references():
            if isinstance(m, ColumnDataSource):
                data = {k: np.asarray(v) if isinstance(v, np.ndarray) else v for k, v in m.data.items()}
                for v in data.values():
                    if isinstance(v, np.ndarray):
                        v.flags.writeable = False
                columns[m.id] = data
    content = Serializer(deferred=False).encode(list(figs.values()))
    _drop_columns(content, set(columns))
    return list(figs), content, columns


def _drop_columns(rep, ids: set) -> None:
    if isinstance(rep, dict):
        if rep.get("type") == "object" and rep.get("id") in ids:
            rep.get("attributes", {}).pop("data", None)
        for v in rep.values():
            _drop_columns(v, ids)
    elif isinstance(rep, (list, tuple)):  # a map's entries are (key, value) tuples
        for v in rep:
            _drop_columns(v, ids)


def fit(figs: dict, result) -> None:
    """The curve panels' limits follow `result` (the surface panel's are the surface's)."""
    for name, fig in figs.items():
        if name == "contour":
            continue
        _, (lo, hi), _ = curve_values(result, name)
        fig.y_range.start, fig.y_range.end = lo, hi
        fig.x_range.start, fig.x_range.end = 0, max(result.steps, 1)


# Renderings kept, as Bokeh's JSON (a few hundred kB to a few MB each): the surfaces a class
# switches between. A session's figures are never these, but copies of them.
_KEEP = 16
_RENDERED: OrderedDict = OrderedDict()
_LOCK = threading.Lock()


def _fresh_ids(rep, ids: dict):
    """Bokeh's JSON of models with every model id replaced by a new one (ids are unique within a
    document, and every copy goes to a document of its own, or beside another copy)."""
    if isinstance(rep, dict):
        out = {k: _fresh_ids(v, ids) for k, v in rep.items() if k != "id"}
        if "id" in rep and (rep.get("type") == "object" or len(rep) == 1):
            out["id"] = ids.setdefault(rep["id"], f"o{uuid.uuid4().hex}")
        elif "id" in rep:
            out["id"] = rep["id"]
        return out
    if isinstance(rep, (list, tuple)):  # a map's entries (a CustomJS's args) are (key, value) tuples
        return [_fresh_ids(v, ids) for v in rep]
    return rep


def relabel(figs: dict, labels: Sequence[str], slots: Sequence[int]) -> None:
    """The legends' racer entries name the racers in `slots` (racer i in slot slots[i]), and the
    entries of empty slots are hidden: in place, so a racer renamed, added or removed needs no new
    figure."""
    at = {slot: i for i, slot in enumerate(slots)}
    for fig in figs.values():
        for lg in fig.legend:
            for item in lg.items:
                parsed = [tags.parse(t) for r in item.renderers for t in r.tags]
                slot = next((t[1] for t in parsed if t and t[1] >= 0), None)
                if slot is None:
                    continue
                item.visible = slot in at
                if slot in at:
                    item.label = value(shown(labels[at[slot]]))


def _render(result, labels, theme, present, panels, legend, kappa, sizes, slots) -> dict[str, object]:
    view, used = slotted(result, slots, slot_count(slots))
    by_slot = [""] * len(used)
    for i, s in enumerate(slots):
        by_slot[s] = labels[i]
    # Every slot has a legend entry (`relabel` names or hides it): an empty slot's label is one no
    # racer has (labels are shown as text, never parsed).
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
        # and clean it up when the session ends. The rendering is only copied: untied, it goes now.
        plot.document = None
    for fig in out.values():
        for r in fig.renderers:
            if isinstance(r, GlyphRenderer):
                # HoloViews gives every layer its own glyphs for selected, unselected and muted
                # points; nothing here selects or mutes, and each is a model more for every session
                # to build and send (a third of the figures' 700). BokehJS draws the layer's glyph.
                r.selection_glyph = r.nonselection_glyph = r.muted_glyph = None
        # Paths and loss curves: a done part on the main canvas and a growing tail (figures/split.py).
        done_layers(fig)
        still_layers(fig)
        for lg in fig.legend:
            for item in lg.items:
                _stand_in(fig, item)
    return out


# The racer's layers follow its legend entry; the done layers, which hold every racer, are the
# player's to redraw without it (figures/player.js).
_FOLLOW = CustomJS(
    code="""
for (const m of cb_obj.document.all_models)
  if ((m.tags ?? []).some((t) => marks.includes(t))) m.visible = cb_obj.visible;
const p = window.__optirace && window.__optirace.player;
if (p && p.draw) p.draw(p.step, true);
"""
)


def _stand_in(fig, item) -> None:
    """Let the legend entry draw a still copy of its layers' glyphs. BokehJS re-renders a legend
    (new elements and a canvas per entry) whenever any model its entries reach changes, and the
    player changes the racers' layers every frame: that re-rendering was a third of the page's
    work while a race played. A click on the entry hides the copy, and with it the racer's layers
    (and its lines in the done layers, which the player then redraws)."""
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

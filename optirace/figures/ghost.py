"""The ghost of the last race: the race before the last change, drawn whole and faint under the
racers, on the surface panel (the paths) and on the loss panel, so a lecturer can show before and after.

It is one layer per panel in a played figure (figures/played.py), tagged with its own role
(figures/tags.py): the page's player leaves it alone, and the server fills it once per change with
`ghost_columns`. Empty, it draws nothing.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np

from .look import Look
from .tags import ghost

__all__ = ["ghost_layer", "ghost_columns", "ROLES", "ALPHA"]

ROLES = {"contour": "ghostpath", "loss": "ghostloss"}  # panel -> the ghost layer's role
ALPHA = 0.35  # faint beside the racers' own lines, and still seen on a projector


def ghost_layer(kind: str, lk: Look, kdims) -> hv.Path:
    """The empty ghost layer of panel `kind` ("contour" or "loss"), over the panel's dimensions: one
    dashed line per racer of the last race, each in its racer's colour."""
    x, y = (hv.Dimension(d).name for d in kdims)
    empty = hv.Path([{x: [np.nan], y: [np.nan], "color": "#000000"}], kdims=list(kdims), vdims="color",
                    group="Ghost", label="")  # fmt: skip
    # Each line's colour is read from its row (the tags' hook points the glyph at the column):
    # mapped by HoloViews, a colour column would go through a colour map.
    empty = empty.opts(line_width=lk.line_width, alpha=ALPHA, line_dash="dashed", show_legend=False,
                       backend="bokeh")  # fmt: skip
    return ghost(empty, ROLES[kind])


def ghost_columns(result, colors, kind: str, rows: np.ndarray | None = None) -> dict[str, list]:
    """The ghost layer's columns for panel `kind` showing `result` whole (each racer up to where it
    diverged), racer i in `colors[i]`; `rows`, the steps drawn (the player's thinned rows), or all.
    `result` None: the empty layer."""
    if result is None:
        return {"xs": [np.array([np.nan])], "ys": [np.array([np.nan])], "color": ["#000000"]}
    from .curves import curve_values  # curves.py draws the ghost layer: imported once both are loaded

    steps = np.arange(result.steps + 1) if rows is None else np.asarray(rows)
    last = np.where(result.diverged_at >= 0, result.diverged_at, result.steps).astype(int)
    gap = curve_values(result, "loss")[0] if kind == "loss" else None
    xs, ys = [], []
    for i in range(result.params.shape[0]):
        r = steps[steps <= last[i]]
        if kind == "loss":
            xs.append(r.astype(np.float64))
            ys.append(np.asarray(gap[i, r], dtype=np.float64))
        else:
            xs.append(np.asarray(result.params[i, r, 0], dtype=np.float64))
            ys.append(np.asarray(result.params[i, r, 1], dtype=np.float64))
    return {"xs": xs, "ys": ys, "color": list(colors)}

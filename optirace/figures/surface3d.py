"""The surface in 3D: the loss as a height field, with every racer's path on it (plotly backend).

The same surface the 2-D panel draws (figures/surface.py): where it spans orders of magnitude, the
height is the gap to the minimum on a log axis, as the 2-D panel's colours are. Each path is drawn at
its racer's loss, over steps 0..k.
"""

from __future__ import annotations

from collections.abc import Sequence

import holoviews as hv

# The plotly backend's plotting classes: its options are given per backend, as race.py does for its two.
import holoviews.plotting.plotly  # noqa: F401
import numpy as np

from ..text import as_html
from .look import Look, look
from .look import title as as_title
from .race import racer_colors
from .surface import surface_values

__all__ = ["surface3d_figure", "plotly_figure", "heights", "STRIDE", "MAX_POINTS"]

STRIDE = 3  # every third sample of the 2-D panel's grid: 80 x 80 quads turn smoothly in the browser
MAX_POINTS = 2000  # points per drawn path, at most (evenly spaced, always with the last one)


def heights(result, loss: np.ndarray, floor: float) -> np.ndarray:
    """Where a loss sits on the height axis: the loss itself, or on a log-scaled surface its gap to the
    minimum above `floor` (a log axis cannot show 0), as surface_values draws the surface."""
    loss = np.asarray(loss, dtype=np.float64)
    if not result.surface.log_scale:
        return loss
    return np.maximum(loss - result.surface.min_value, 0.0) + floor


def _rows(end: int) -> np.ndarray:
    """The steps 0..end drawn: all of them, or MAX_POINTS evenly spaced ones ending at `end`."""
    if end + 1 <= MAX_POINTS:
        return np.arange(end + 1)
    return np.unique(np.linspace(0, end, MAX_POINTS).round().astype(int))  # linspace ends at `end`


def surface3d_figure(result, labels: Sequence[str], colors: Sequence[str] | None = None, theme: str = "light",
                     k: int | None = None, kappa=None) -> hv.Overlay:  # fmt: skip
    """The race at step k (default: the last) over the surface in 3D: one surface trace, then one path
    trace per racer (in racer order), each ending at the racer's point at step k (or where it diverged).
    A log-scaled surface (Surface.log_scale) is drawn on a log height axis."""
    s = result.surface
    if s.dim != 2:
        raise ValueError(f"surface: the 3D view draws 2-D surfaces; {s.name} has {s.dim} variable(s)")
    lk: Look = look(theme)
    k = result.steps if k is None else int(min(max(k, 0), result.steps))
    colors = list(colors) if colors is not None else racer_colors(result.params.shape[0])
    xs, ys, Z, _, log = surface_values(s, kappa)
    xs, ys, Z = xs[::STRIDE], ys[::STRIDE], Z[::STRIDE, ::STRIDE]
    floor = float(Z.min()) if log else 0.0
    zlabel = "loss − min (log scale)" if log else "loss"
    vx, vy = (str(v) for v in s.variables[:2])
    kd = [hv.Dimension("x", label=vx), hv.Dimension("y", label=vy)]
    vd = hv.Dimension("z", label=zlabel)
    surface = hv.Surface((xs, ys, Z), kdims=kd, vdims=[vd], group="Surface3D")
    surface = surface.opts(cmap=list(lk.cmap), colorbar=False, alpha=0.9, backend="plotly")
    layers = [surface]
    last = np.where(result.diverged_at >= 0, result.diverged_at, result.steps).astype(int)
    P = np.asarray(result.params, dtype=np.float64)
    for i, c in enumerate(colors):
        rows = _rows(min(k, int(last[i])))
        z = heights(result, result.loss[i, rows], floor)
        # Plotly reads a trace's name as HTML (a subset): user text goes in escaped.
        path = hv.Path3D((P[i, rows, 0], P[i, rows, 1], z), kdims=[*kd, vd], group="RacerPath3D",
                         label=as_html(labels[i]))  # fmt: skip
        layers.append(path.opts(color=c, line_width=lk.line_width + 2, backend="plotly"))
    (x0, x1), (y0, y1) = s.domain
    zlim = (float(Z.min()), float(Z.max()))
    return hv.Overlay(layers).opts(
        title=as_title(s.title + ("  (log-scaled heights)" if log else "")), xlim=(float(x0), float(x1)),
        ylim=(float(y0), float(y1)), zlim=zlim, logz=log, responsive=True, show_legend=True,
        bgcolor=lk.background, backend="plotly",
    )  # fmt: skip


def plotly_figure(overlay: hv.Overlay, theme: str = "light") -> dict:
    """`overlay` (from surface3d_figure) as plotly's figure dict, for Panel's Plotly pane.

    HoloViews 1.23 writes a log height axis's range in data units, and plotly reads a log axis's
    range in powers of ten (HoloViews fixed this for 2-D x and y axes, holoviz/holoviews#5272, not for
    a 3-D scene's z axis): the range is written again from the overlay's own zlim. The page's
    background and text take the look's colours, which the 3-D scene reads from the paper."""
    fig = hv.renderer("plotly").get_plot_state(overlay)
    opts = hv.Store.lookup_options("plotly", overlay, "plot").kwargs
    zaxis = fig["layout"].get("scene", {}).get("zaxis", {})
    if opts.get("logz") and "zlim" in opts:
        lo, hi = opts["zlim"]
        zaxis["range"] = [float(np.log10(lo)), float(np.log10(hi))]
    lk = look(theme)
    # The legend under the scene, in rows: at its right, it took a third of the panel's width.
    fig["layout"].update(paper_bgcolor=lk.background, font={"color": lk.text},
                         margin={"l": 0, "r": 0, "b": 0, "t": 40}, legend={"orientation": "h", "y": 0})  # fmt: skip
    return fig

"""The surface in 3D: the loss as a height field, with every racer's path on it (plotly backend).

The same surface the 2-D panel draws (figures/surface.py): where it spans orders of magnitude, the
height is the gap to the minimum on a log axis, as the 2-D panel's colours are. Each path is drawn at
its racer's loss, over steps 0..k; the last race before a change (its ghost, figures/ghost.py) is
drawn whole, faint and dashed.

`surface3d_figure` declares the figure (HoloViews elements and options) and `plotly_figure` renders it.
`figure3d` gives the same figure for the app, where it is redrawn at each pause or step: HoloViews
renders the surface, the look and one path of each kind once per surface, parameter and look
(cached), and each racer's path is that path's trace with the racer's points, name and colour.
Rendering every path through HoloViews cost the server 0.2 s idle and up to 1 s under load, most of
it HoloViews working out each path's ranges, which the figure declares anyway.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Sequence

import holoviews as hv

# The plotly backend's plotting classes: its options are given per backend, as race.py does for its two.
import holoviews.plotting.plotly  # noqa: F401
import numpy as np

from ..text import as_html
from .ghost import ALPHA
from .look import Look, look
from .look import title as as_title
from .race import racer_colors
from .surface import surface_values

__all__ = ["surface3d_figure", "plotly_figure", "figure3d", "heights", "faded", "STRIDE", "MAX_POINTS"]

STRIDE = 3  # every third sample of the 2-D panel's grid: 80 x 80 quads turn smoothly in the browser
MAX_POINTS = 2000  # points per drawn path, at most (evenly spaced, always with the last one)
GHOST_DASH = "dash"  # plotly's dash pattern of a ghost's line (the 2-D panels' ghost is dashed too)
_TEMPLATE = "template"  # the label of the paths figure3d renders once and copies


def heights(result, loss: np.ndarray, floor: float) -> np.ndarray:
    """Where a loss sits on the height axis: the loss itself, or on a log-scaled surface its gap to the
    minimum above `floor` (a log axis cannot show 0), as surface_values draws the surface."""
    loss = np.asarray(loss, dtype=np.float64)
    if not result.surface.log_scale:
        return loss
    return np.maximum(loss - result.surface.min_value, 0.0) + floor


def faded(color: str, background: str, alpha: float = ALPHA) -> str:
    """`color` (#rrggbb) seen at `alpha` over `background`: a WebGL line drawn with transparency
    shows its overlaps darker and depends on the drawing order, a blended colour does not."""
    c, b = (np.array([int(h[i : i + 2], 16) for i in (1, 3, 5)], dtype=float) for h in (color, background))
    return "#" + "".join(f"{round(v):02x}" for v in alpha * c + (1 - alpha) * b)


def _rows(end: int) -> np.ndarray:
    """The steps 0..end drawn: all of them, or MAX_POINTS evenly spaced ones ending at `end`."""
    if end + 1 <= MAX_POINTS:
        return np.arange(end + 1)
    return np.unique(np.linspace(0, end, MAX_POINTS).round().astype(int))  # linspace ends at `end`


def _last(result) -> np.ndarray:
    """Each racer's last drawn step: where it diverged, or the race's last."""
    return np.where(result.diverged_at >= 0, result.diverged_at, result.steps).astype(int)


def path_points(
    result, floor: float, k: int | None = None
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each racer's drawn path as (x, y, height), over steps 0..k (default: the last), thinned to
    MAX_POINTS, each ending at its point at step k or where it diverged."""
    k = result.steps if k is None else int(min(max(k, 0), result.steps))
    P = np.asarray(result.params, dtype=np.float64)
    out = []
    for i, last in enumerate(_last(result)):
        rows = _rows(min(k, int(last)))
        out.append((P[i, rows, 0], P[i, rows, 1], heights(result, result.loss[i, rows], floor)))
    return out


class _Scene:
    """The surface's element, dimensions and overlay options, as both the figure and its cache use them."""

    def __init__(self, surface, theme: str, kappa) -> None:
        if surface.dim != 2:
            raise ValueError(
                f"surface: the 3D view draws 2-D surfaces; {surface.name} has {surface.dim} variable(s)"
            )
        self.lk: Look = look(theme)
        xs, ys, Z, _, log = surface_values(surface, kappa)
        xs, ys, Z = xs[::STRIDE], ys[::STRIDE], Z[::STRIDE, ::STRIDE]
        self.log = log
        self.floor = float(Z.min()) if log else 0.0
        zlabel = "loss − min (log scale)" if log else "loss"
        vx, vy = (str(v) for v in surface.variables[:2])
        self.kd = [hv.Dimension("x", label=vx), hv.Dimension("y", label=vy)]
        self.vd = hv.Dimension("z", label=zlabel)
        surf = hv.Surface((xs, ys, Z), kdims=self.kd, vdims=[self.vd], group="Surface3D")
        self.surface = surf.opts(cmap=list(self.lk.cmap), colorbar=False, alpha=0.9, backend="plotly")
        (x0, x1), (y0, y1) = surface.domain
        # Every range is declared: the surface's domain and heights hold the figure.
        self.opts = dict(
            title=as_title(surface.title + ("  (log-scaled heights)" if log else "")), xlim=(float(x0), float(x1)),
            ylim=(float(y0), float(y1)), zlim=(float(Z.min()), float(Z.max())), logz=log, responsive=True,
            show_legend=True, bgcolor=self.lk.background, backend="plotly",
        )  # fmt: skip

    def path(self, x, y, z, label: str, color: str) -> hv.Path3D:
        # Plotly reads a trace's name as HTML (a subset): user text goes in escaped.
        p = hv.Path3D((x, y, z), kdims=[*self.kd, self.vd], group="RacerPath3D", label=as_html(label))
        return p.opts(color=color, line_width=self.lk.line_width + 2, backend="plotly")

    def ghost(self, x, y, z, color: str) -> hv.Path3D:
        """A path of the last race: faint and dashed, thinner than the racers', out of the legend."""
        p = hv.Path3D((x, y, z), kdims=[*self.kd, self.vd], group="GhostPath3D")
        return p.opts(color=faded(color, self.lk.background), line_width=self.lk.line_width, dash=GHOST_DASH,
                      show_legend=False, backend="plotly")  # fmt: skip


def surface3d_figure(result, labels: Sequence[str], colors: Sequence[str] | None = None, theme: str = "light",
                     k: int | None = None, kappa=None, ghost=None) -> hv.Overlay:  # fmt: skip
    """The race at step k (default: the last) over the surface in 3D: one surface trace, then one path
    trace per racer (in racer order), each ending at the racer's point at step k (or where it diverged),
    then, with `ghost` (the last race and its colours), one faint dashed trace per racer of that race,
    drawn whole. A log-scaled surface (Surface.log_scale) is drawn on a log height axis."""
    sc = _Scene(result.surface, theme, kappa)
    colors = list(colors) if colors is not None else racer_colors(result.params.shape[0])
    layers = [sc.surface]
    for (x, y, z), label, c in zip(path_points(result, sc.floor, k), labels, colors, strict=True):
        layers.append(sc.path(x, y, z, label, c))
    if ghost is not None:
        old, old_colors = ghost
        layers += [
            sc.ghost(x, y, z, c) for (x, y, z), c in zip(path_points(old, sc.floor), old_colors, strict=True)
        ]
    return hv.Overlay(layers).opts(**sc.opts)


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


def _array(v) -> np.ndarray:
    """A figure dict's array: plotly writes numpy arrays as typed-array specs (dtype, base64 bytes,
    shape), as plotly.js reads them."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
        if "shape" in v:
            a = a.reshape([int(n) for n in str(v["shape"]).split(",")])
        return a
    return np.asarray(v)


@functools.lru_cache(maxsize=8)  # a class shares its surfaces; a formula typed is a new surface
def _rendered(surface, theme: str, kappa) -> tuple[dict, float]:
    """The figure of `surface` with one racer's path and one ghost path (two points each, inside the
    scene's declared ranges), rendered by HoloViews once; and the floor of its heights."""
    sc = _Scene(surface, theme, kappa)
    (x0, x1), (y0, y1) = surface.domain
    x, y, z = [x0, x1], [y0, y1], list(sc.opts["zlim"])
    overlay = hv.Overlay([sc.surface, sc.path(x, y, z, _TEMPLATE, "#000000"), sc.ghost(x, y, z, "#000000")])
    fig = plotly_figure(overlay.opts(**sc.opts), theme)
    for t in fig["data"]:
        t.pop("uid", None)  # plotly's own per-trace id: each figure3d trace gets none, as a new trace
    # The surface's arrays as numpy arrays: Panel sends those to the page as binary columns, once,
    # and gives plotly the same arrays at each redraw, which then keeps the surface it built.
    surf = fig["data"][0]
    for c in "xyz":
        surf[c] = _array(surf[c])
        surf[c].flags.writeable = False  # shared by every session's figure
    return fig, sc.floor


def figure3d(result, labels: Sequence[str], colors: Sequence[str] | None = None, theme: str = "light",
             k: int | None = None, kappa=None, ghost=None) -> dict:  # fmt: skip
    """plotly_figure(surface3d_figure(...)) with the same arguments, without rendering the paths
    through HoloViews: the surface, look and path styles come from `_rendered` (cached), and each
    racer's trace is the rendered path's with the racer's points, name and colour."""
    base, floor = _rendered(result.surface, theme, kappa)  # refuses a one-variable surface, as _Scene does
    surf, path, gpath = base["data"]
    colors = list(colors) if colors is not None else racer_colors(result.params.shape[0])
    group = path["legendgroup"][: -len(_TEMPLATE)]  # HoloViews groups a path's legend by group and label

    def trace(template: dict, points, **changes) -> dict:
        x, y, z = points
        line = {**template["line"], "color": changes.pop("color")}
        return {**template, **changes, "line": line, "x": x, "y": y, "z": z}

    data = [dict(surf)]
    for pts, label, c in zip(path_points(result, floor, k), labels, colors, strict=True):
        name = as_html(label)
        data.append(trace(path, pts, name=name, legendgroup=group + name, color=c))
    if ghost is not None:
        old, old_colors = ghost
        bg = look(theme).background
        data += [
            trace(gpath, pts, color=faded(c, bg))
            for pts, c in zip(path_points(old, floor), old_colors, strict=True)
        ]
    layout = {**base["layout"]}  # the dict Panel compares with the last one sent: a copy per figure
    return {"data": data, "layout": layout}

"""The 2-D surface: colour map with a colour bar in loss units, contour lines, the minima, the
start, the racers' paths and current points, and where a racer diverged.

Equal data scales: a unit of x is as long as a unit of y, so a ravine looks like a ravine.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np

from surfaces.grid import grid_values

from ..text import shown
from .ghost import ghost_layer
from .internals import internals_layers
from .look import BANDS, Look, axes, line, marker, styled, text
from .look import title as as_title
from .tags import panel, played
from .theory import eigen_layers

__all__ = ["surface_overlay", "surface_values", "pinned", "GRID"]

GRID = 240  # samples per side: smooth at 1920x1080, one jitted call


def surface_values(surface, kappa=None, n: int = GRID):
    """(xs, ys, values, levels, log) drawn for a 2-D surface. Where the surface spans orders of
    magnitude the values are the gap to the minimum (floored above 0) on a log colour scale."""
    (xs, ys), Z = grid_values(surface, n, {"kappa": kappa} if kappa is not None else None)
    Z = np.where(np.isfinite(Z), Z, np.nanmax(np.where(np.isfinite(Z), Z, -np.inf)))
    log = bool(surface.log_scale)
    if log:
        gap = np.maximum(Z - surface.min_value, 0.0)
        Z = gap + max(gap.max() * 1e-7, 1e-12)
        levels = np.logspace(np.log10(Z.min()), np.log10(Z.max()), BANDS + 1)[1:-1]
    else:
        levels = np.linspace(Z.min(), Z.max(), BANDS + 1)[1:-1]
    return xs, ys, Z, levels, log


def pinned(x: float, y: float, xlim, ylim) -> tuple[float, float, str, str]:
    """Where a diverged racer's cross sits (inside the frame, however far it flew) and how its label
    aligns: towards the middle of the plot, so the label is inside the frame too."""
    (x0, x1), (y0, y1) = xlim, ylim
    ix, iy = 0.03 * (x1 - x0), 0.04 * (y1 - y0)
    x = x1 - ix if not np.isfinite(x) and x > 0 else x  # +inf goes right, -inf and NaN left
    y = y1 - iy if not np.isfinite(y) and y > 0 else y
    px = float(min(max(np.nan_to_num(x, nan=x0), x0 + ix), x1 - ix))
    py = float(min(max(np.nan_to_num(y, nan=y0), y0 + iy), y1 - iy))
    h = "right" if px > 0.5 * (x0 + x1) else "left"
    v = "top" if py > 0.5 * (y0 + y1) else "bottom"
    return px, py, h, v


def diverged_marks(res, X, Y, xlim, ylim) -> list[tuple[float, float, float, float, str, str]]:
    """Per racer: where its cross and its label sit if it diverged (else at its last point), as
    (cross x, cross y, label x, label y, horizontal and vertical alignment of the label)."""
    (x0, x1), (y0, y1) = xlim, ylim
    out = []
    for i, d in enumerate(res.diverged_at):
        d = int(d) if d >= 0 else res.steps
        px, py, h, v = pinned(X[i, d], Y[i, d], xlim, ylim)
        tx = px + (0.045 if h == "left" else -0.045) * (x1 - x0)
        ty = py + (0.02 if v == "bottom" else -0.02) * (y1 - y0)
        out.append((px, py, tx, ty, h, v))
    return out


def diverged_layers(
    res, k: int, X, Y, colors, lk: Look, scale: float, xlim, ylim, player: bool = False
) -> list:
    """A cross and a "diverged at step d" label for each racer diverged by step k, both inside the
    frame; one pair of elements per racer, so each label aligns towards the middle of the plot.
    For the player, two layers, one row per racer: `dead_layers`."""
    if player:
        return dead_layers(colors, lk, scale)
    layers = []
    for i, (px, py, tx, ty, h, v) in enumerate(diverged_marks(res, X, Y, xlim, ylim)):
        d = int(res.diverged_at[i])
        if not 0 <= d <= k:
            continue
        cross = hv.Points([(px, py)], group="Diverged")
        cross = styled(cross, marker("x", lk.head_size + 8, scale, None, colors[i], 4))
        note = hv.Labels([(tx, ty, f"diverged at step {d}" if 0 <= d <= k else "")], vdims="text",
                         group="DivergedLabel")  # fmt: skip
        note = styled(note, text(lk.text, lk.font, scale))  # the cross wears the racer's colour
        note = note.opts(text_align=h, text_baseline=v, backend="bokeh")
        note = note.opts(horizontalalignment=h, verticalalignment=v, backend="matplotlib")
        layers += [cross, note]
    return layers


def dead_layers(colors, lk: Look, scale: float) -> list:
    """The player's crosses and "diverged at step d" labels: one layer of each, with a row per
    racer's slot, empty (NaN) until the page's player fills a row once its racer has diverged by
    the step shown (figures/player.js). A pair of layers per racer was 16 renderers more for every
    page to build, send and draw: with the loss panel's crosses, a quarter of the first race's time
    to show. Each label's alignment (towards the middle of the plot) is a column, as its colour is."""
    n = len(colors)
    nan = [np.nan] * n
    cross = hv.Points({"x": nan, "y": nan, "color": list(colors)}, ["x", "y"], ["color"], group="Diverged")
    cross = styled(cross, marker("x", lk.head_size + 8, scale, None, "color", 4))
    note = hv.Labels({"x": nan, "y": nan, "text": [""] * n}, ["x", "y"], ["text"], group="DivergedLabel")
    note = styled(note, text(lk.text, lk.font, scale))
    return [played(cross, "deadx"), played(note, "deadtext", -1, _aligned_by_row)]


def _aligned_by_row(plot, _element) -> None:
    """The label's alignment read from its `align` and `baseline` columns, which the page's player
    writes. Set here: HoloViews maps an option to a column only while the column's values differ."""
    from bokeh.core.properties import field

    source = plot.handles["source"]
    rows = len(source.data["x"])
    source.data = {**source.data, "align": ["left"] * rows, "baseline": ["bottom"] * rows}
    plot.handles["glyph"].update(text_align=field("align"), text_baseline=field("baseline"))


def surface_overlay(res, colors, labels, lk: Look, k: int, scale: float = 1.0, kappa=None, legend=True,
                    racer_legend=False, player: bool = False) -> hv.Overlay:  # fmt: skip
    """The surface panel at step k (paths drawn over steps 0..k). With `player`, the layers that
    change with the step are tagged for the page's player (optirace/figures/tags.py)."""
    s = res.surface
    xs, ys, Z, levels, log = surface_values(s, kappa)
    (x0, x1), (y0, y1) = s.domain
    clabel = "loss − min (log scale)" if log else "loss"
    # The axes are named as the surface names its coordinates (least squares fits w and b).
    vx, vy = (str(v) for v in s.variables[:2])
    img = hv.Image((xs, ys, Z), kdims=[hv.Dimension("x", label=vx), hv.Dimension("y", label=vy)],
                   vdims=[hv.Dimension("loss", label=clabel)], group="Surface")  # fmt: skip
    zlo, zhi = float(Z.min()), float(Z.max())
    for backend in ("bokeh", "matplotlib"):
        img = img.opts(cmap=list(lk.cmap), colorbar=True, logz=log, clim=(zlo, zhi), backend=backend)
    img = img.opts(colorbar_opts={"title": clabel}, backend="bokeh")
    img = img.opts(colorbar_opts={"label": clabel}, backend="matplotlib")
    contours = hv.operation.contours(img, levels=list(levels), overlaid=False).relabel(group="Contours")
    contours = styled(contours, line(lk.contour_line, lk.contour_width, scale, alpha=lk.contour_alpha))
    contours = contours.opts(show_legend=False, backend="bokeh").opts(show_legend=False, backend="matplotlib")
    layers = [img, contours, *eigen_layers(s, kappa, lk, scale)]
    if s.local_minima:
        lm = np.asarray(s.local_minima)
        layers.append(styled(hv.Points(lm[:, :2], label="local minimum", group="LocalMinimum"),
                             marker("triangle", 12, scale, None, lk.minimum, 2)))  # fmt: skip
    gm = np.asarray(s.minima)
    layers.append(styled(hv.Points(gm[:, :2], label=s.minimum_label, group="GlobalMinimum"),
                         marker("star", 19, scale, "#ffffff", lk.minimum, 1.5)))  # fmt: skip
    if player:  # the last race, faint under this one's paths (figures/ghost.py)
        layers.append(ghost_layer("contour", lk, img.kdims))
    P = res.params
    start = styled(hv.Points([tuple(P[0, 0, :2])], label="start", group="Start"),
                         marker("circle", lk.head_size + 4, scale, None, lk.text, 2))  # fmt: skip
    layers.append(played(start, "start") if player else start)
    last = np.where(res.diverged_at >= 0, res.diverged_at, res.steps).astype(int)
    for i, c in enumerate(colors):
        end = min(k, last[i]) + 1
        # Each path carries its racer's name: hovered anywhere (all paths begin at the start), it says
        # whose path it is. A field, which Bokeh escapes, never the tooltip's fixed text.
        path = hv.Path([{"x": P[i, :end, 0], "y": P[i, :end, 1], "racer": shown(labels[i])}], vdims="racer",
                       group="RacerPath", label=labels[i] if racer_legend else "")  # fmt: skip
        path = path.opts(tools=["hover"], hover_tooltips=[("racer", "@{racer}")], backend="bokeh")
        path = styled(path, line(c, lk.line_width, scale, alpha=0.95))
        for backend in ("bokeh", "matplotlib"):
            path = path.opts(show_legend=racer_legend, backend=backend)
        layers.append(played(path, "path", i) if player else path)
    if player:  # the internals' arrows and tracks, which the page shows when asked (figures/internals.py)
        layers += internals_layers(len(colors), lk)
    layers.append(heads_layer(res, k, P[..., 0], P[..., 1], colors, labels, lk, scale, s.variables, player))
    layers += diverged_layers(res, k, P[..., 0], P[..., 1], colors, lk, scale, (x0, x1), (y0, y1), player)
    title = s.title + ("  (log-scaled colours)" if log else "")
    ax = axes(lk, scale, grid=False)
    plot = {
        "bokeh": {"title": as_title(title), "xlim": (x0, x1), "ylim": (y0, y1), "data_aspect": 1,
                  "show_legend": legend, "legend_position": "bottom", "legend_cols": 4, "responsive": False},
        "matplotlib": {"title": as_title(title), "xlim": (x0, x1), "ylim": (y0, y1), "aspect": "equal",
                       "show_legend": legend, "legend_position": "bottom", "legend_cols": 4},
    }  # fmt: skip
    overlay = hv.Overlay(layers)
    for backend in ("bokeh", "matplotlib"):
        overlay = overlay.opts(**ax[backend], **plot[backend], backend=backend)
    return (
        panel(overlay, "contour", equal_scales)
        if player
        else overlay.opts(hooks=[equal_scales], backend="bokeh")
    )


def equal_scales(plot, _element) -> None:
    """A unit of x as long on screen as a unit of y, whatever size the page gives the plot: the
    ranges fit the surface's image, then widen in one direction to the frame's shape (Bokeh's
    match_aspect, which works on data ranges only). A fixed x and y range (what `data_aspect`
    gives) keeps equal scales only at the size it was drawn for."""
    from bokeh.models import DataRange1d, GlyphRenderer
    from bokeh.models import Image as ImageGlyph

    fig = plot.state
    image = [r for r in fig.renderers if isinstance(r, GlyphRenderer) and isinstance(r.glyph, ImageGlyph)]
    fig.x_range = DataRange1d(renderers=image, range_padding=0)
    fig.y_range = DataRange1d(renderers=image, range_padding=0)
    fig.match_aspect = True
    fig.aspect_scale = 1


def heads_layer(res, k: int, X, Y, colors, labels, lk: Look, scale: float, variables, player: bool):
    """Each racer's current point. Hovered, it names the racer, the step and where it is."""
    last = np.where(res.diverged_at >= 0, res.diverged_at, res.steps).astype(int)
    rows = np.minimum(k, last)
    at = np.arange(len(colors))
    names = [str(v) for v in variables][: 2 if res.surface.dim == 2 else 1]
    table = {"x": X[at, rows], "y": Y[at, rows], "color": list(colors), "racer": [shown(t) for t in labels],
             "step": rows, "loss": res.loss[at, rows]}  # fmt: skip
    heads = hv.Points(table, ["x", "y"], ["color", "racer", "step", "loss"], group="Heads")
    heads = styled(heads, marker("circle", lk.head_size, scale, "color", "#ffffff", 2))
    # Bokeh escapes a tooltip's @field values, not its fixed text: user text only ever in a field.
    # Written as HoloViews writes them (@{name}): a formatter is found by the field's exact spelling.
    coords = [(n, f"@{{{c}}}{{%.4g}}") for n, c in zip(names, ("x", "y")[: len(names)], strict=True)]
    tips = [("racer", "@{racer}"), ("step", "@{step}"), *coords, ("loss", "@{loss}{%.4g}")]
    formats = {f"@{{{c}}}": "printf" for c in ("x", "y", "loss")}
    heads = heads.opts(tools=["hover"], hover_tooltips=tips, hover_formatters=formats, backend="bokeh")
    return played(heads, "heads") if player else heads

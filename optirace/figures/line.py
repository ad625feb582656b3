"""One-variable surfaces: the curve f(x), the racers' iterates on it, their current points, the
tangent at each racer (the gradient made visible), the minima and where a racer diverged."""

from __future__ import annotations

import holoviews as hv
import numpy as np

from surfaces.grid import gradients, grid_values

from .look import Look, axes, line, marker, styled
from .look import title as as_title
from .surface import diverged_layers, heads_layer
from .tags import panel, played

__all__ = ["line_overlay", "line_limits", "tangent_segments", "TANGENT"]

TANGENT = 0.12  # a tangent's half-width, as a fraction of the x range


def line_limits(surface) -> tuple[np.ndarray, np.ndarray, tuple, tuple]:
    (xs,), F = grid_values(surface, 400)
    span = float(F.max() - F.min()) or 1.0
    return xs, F, tuple(surface.domain[0]), (float(F.min() - 0.08 * span), float(F.max() + 0.08 * span))


def tangent_segments(res, k: int, xlim) -> np.ndarray:
    """(n_racers, 4): x0, y0, x1, y1 of the tangent at each racer's point of step k."""
    last = np.where(res.diverged_at >= 0, res.diverged_at, res.steps).astype(int)
    rows = np.minimum(k, last)
    n = len(rows)
    x = res.params[np.arange(n), rows, 0]
    y = res.loss[np.arange(n), rows]
    g = gradients(res.surface, x[:, None])[:, 0]
    w = TANGENT * (xlim[1] - xlim[0])
    return np.stack([x - w, y - g * w, x + w, y + g * w], axis=1)


def line_overlay(res, colors, labels, lk: Look, k: int, scale: float = 1.0, legend: bool = True,
                 racer_legend: bool = False, player: bool = False) -> hv.Overlay:  # fmt: skip
    s = res.surface
    xs, F, xlim, ylim = line_limits(s)
    layers = [styled(hv.Curve((xs, F), "x", hv.Dimension("f", label="f(x)"), group="Function"),
                     line(lk.text, lk.line_width, scale, alpha=0.8))]  # fmt: skip
    gm = np.asarray(s.minima)[:, 0]
    layers.append(styled(hv.Points((gm, [s.min_value] * len(gm)), label=s.minimum_label, group="GlobalMinimum"),
                         marker("star", 19, scale, "#ffffff", lk.minimum, 1.5)))  # fmt: skip
    if s.local_minima:
        lm = np.asarray(s.local_minima)[:, 0]
        fl = [float(s.f(np.array([v]))) for v in lm]
        layers.append(styled(hv.Points((lm, fl), label="local minimum", group="LocalMinimum"),
                             marker("triangle", 12, scale, None, lk.minimum, 2)))  # fmt: skip
    start = styled(hv.Points([(res.params[0, 0, 0], res.loss[0, 0])], label="start", group="Start"),
                         marker("circle", lk.head_size + 4, scale, None, lk.text, 2))  # fmt: skip
    layers.append(played(start, "start") if player else start)
    last = np.where(res.diverged_at >= 0, res.diverged_at, res.steps).astype(int)
    X, L = res.params[..., 0], res.loss
    for i, c in enumerate(colors):
        end = min(k, last[i]) + 1
        dots = hv.Points((X[i, :end], L[i, :end]), group="RacerPath", label=labels[i] if racer_legend else "")
        dots = styled(dots, marker("circle", 4 + lk.line_width, scale, c, c, 0)).opts(alpha=0.6)
        layers.append(played(dots, "path", i) if player else dots)
    seg = tangent_segments(res, k, xlim)
    for i, c in enumerate(colors):
        tangent = styled(
            hv.Segments([tuple(seg[i])], group="Tangent"), line(c, lk.line_width, scale, dash=True)
        )
        layers.append(played(tangent, "tangent", i) if player else tangent)
    layers.append(heads_layer(res, k, X, L, colors, labels, lk, scale, s.variables, player))
    layers += diverged_layers(res, k, X, L, colors, lk, scale, xlim, ylim, player)
    ax = axes(lk, scale, grid=True)
    common = {"title": as_title(s.title), "xlim": xlim, "ylim": ylim, "xlabel": "x", "ylabel": "f(x)",
              "show_legend": legend, "legend_position": "bottom", "legend_cols": 4}  # fmt: skip
    overlay = hv.Overlay(layers)
    for backend in ("bokeh", "matplotlib"):
        extra = {"responsive": False} if backend == "bokeh" else {}
        overlay = overlay.opts(**ax[backend], **common, **extra, backend=backend)
    return panel(overlay, "contour") if player else overlay

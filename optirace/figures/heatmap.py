"""The lr x β map: a racer's final loss over a grid of learning rates and momenta (or beta1).

One cell per (lr, β) of `optimizers.maps.lr_beta_map`, on a log learning-rate axis and a linear β
axis, coloured by the final loss above the surface's minimum on a log scale (colorcet's bgy, a
perceptually uniform map: dark is low). A run that diverged has no final loss: its cell is grey,
a colour the map never takes. The racer's own (lr, β) is marked with a ringed dot in its colour.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import holoviews as hv

# Both backends' plotting classes: options are given per backend, and each needs its own loaded.
import holoviews.plotting.bokeh  # noqa: F401
import holoviews.plotting.mpl  # noqa: F401
import numpy as np

from ..text import as_mathtext, shown
from .curves import GAP_FLOOR
from .look import axes, look, marker, mpl_pt, styled
from .look import title as as_title

__all__ = ["heatmap_figure", "heatmap_data", "HeatmapData", "TAG", "DIVERGED", "CMAP", "beta_label"]

TAG = "optirace:heatmap"  # Bokeh renderers are tagged TAG:cells and TAG:mark (tests, the page)
CMAP = "bgy"  # colorcet's linear_bgy_10_95_c74: blue, green, yellow; no grey anywhere in it
DIVERGED = {"light": "#b0b0b0", "dark": "#6e6e6e"}  # grey: a cell with no final loss
_SYMBOLS = {"beta1": "β₁", "momentum": "momentum"}


def beta_label(name: str) -> str:
    """The β axis's label: β₁ for Adam's kin and Lion, momentum for SGD's."""
    return _SYMBOLS.get(name, name)


def _tagged(element, tag: str):
    def hook(plot, _element):
        renderer = plot.handles.get("glyph_renderer")
        if renderer is not None:
            renderer.tags = [*renderer.tags, tag]

    return element.opts(hooks=[hook], backend="bokeh")


def _cells_hook(m):
    """Tag the cells' renderer, and give each cell its own lr and β in the hover: HoloViews puts the
    arithmetic middle of a cell's edges there, which on the log axis is not the cell's lr."""

    def hook(plot, _element):
        renderer, source = plot.handles.get("glyph_renderer"), plot.handles.get("source")
        if renderer is not None:
            renderer.tags = [*renderer.tags, f"{TAG}:cells"]
        if source is not None and "left" in source.data:
            d = source.data
            middle = np.sqrt(np.asarray(d["left"], dtype=float) * np.asarray(d["right"], dtype=float))
            j = np.abs(np.log(middle)[:, None] - np.log(m.lrs)[None, :]).argmin(axis=1)
            beta = (np.asarray(d["bottom"], dtype=float) + np.asarray(d["top"], dtype=float)) / 2
            i = np.abs(beta[:, None] - m.betas[None, :]).argmin(axis=1)
            source.data = {**d, "lr": m.lrs[j], "beta": m.betas[i]}

    return hook


def _edges(values: np.ndarray, log: bool) -> np.ndarray:
    """Cell edges halfway between neighbouring values (in log space for a log axis), the end cells
    as wide as their neighbours."""
    v = np.log(values) if log else np.asarray(values, dtype=float)
    mid = (v[1:] + v[:-1]) / 2
    e = np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])
    return np.exp(e) if log else e


def _colorbar(lk, scale: float):
    def hook(plot, _element):
        ax, artist = plot.handles["axis"], plot.handles["artist"]
        bar = ax.figure.colorbar(artist, ax=ax, pad=0.02, fraction=0.05, aspect=30)
        bar.set_label("final loss − min", size=mpl_pt(lk.font, scale), color=lk.text)
        bar.ax.tick_params(labelsize=mpl_pt(lk.tick_font, scale), colors=lk.text)

    return hook


class HeatmapData(NamedTuple):
    """What the map draws: cell edges, each cell's final loss above the minimum (NaN where the run
    diverged), the racer's own (lr, β), and the colour limits."""

    lr_edges: np.ndarray
    beta_edges: np.ndarray
    gap: np.ndarray
    mark: tuple[float, float]
    clim: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]


def heatmap_data(m, mark: tuple[float, float] | None = None) -> HeatmapData:
    """The plot's numbers for an `optimizers.maps.LrBetaMap`; `mark` is the racer's (lr, β) if it
    moved since the map was made (its own by default)."""
    lr_edges, beta_edges = _edges(m.lrs, log=True), _edges(m.betas, log=False)
    gap = np.where(m.diverged, np.nan, np.maximum(np.asarray(m.loss, dtype=float) - m.min_value, GAP_FLOOR))
    seen = gap[np.isfinite(gap)]
    lo, hi = (float(seen.min()), float(seen.max())) if seen.size else (0.1, 10.0)
    clim = (lo / 10, hi * 10) if hi <= lo * 1.0001 else (lo, hi)
    lr, beta = mark if mark is not None else (m.lr, m.beta)
    # A racer outside the map (a legal value beyond the slider's range) widens the view to show it.
    xlim = (float(lr_edges[0]), float(lr_edges[-1]))
    if lr > 0:
        xlim = (min(xlim[0], lr / 1.5), max(xlim[1], lr * 1.5))
    ylim = (min(float(beta_edges[0]), beta), max(float(beta_edges[-1]), beta))
    return HeatmapData(lr_edges, beta_edges, gap, (float(lr), float(beta)), clim, xlim, ylim)


def heatmap_figure(m, label: str, color: str, theme: str = "light", present: bool = False,
                   mark: tuple[float, float] | None = None, scale: float = 1.0) -> hv.Overlay:  # fmt: skip
    """The map of `m` (an `optimizers.maps.LrBetaMap`) for racer `label` drawn in `color`; `mark`
    is where to mark the racer's own (lr, β), by default the values it had when the map was made."""
    lk = look(theme, present)
    data = heatmap_data(m, mark)
    ylabel = beta_label(m.beta_name)
    lr_dim = hv.Dimension("lr", label="learning rate")
    beta_dim = hv.Dimension("beta", label=ylabel)
    gap_dim = hv.Dimension("gap", label="final loss − min")
    cells = hv.QuadMesh((data.lr_edges, data.beta_edges, data.gap), [lr_dim, beta_dim], [gap_dim],
                        group="LrBetaMap")  # fmt: skip
    diverged = DIVERGED["dark" if lk.name == "dark" else "light"]
    common = {"cmap": CMAP, "logz": True, "clim": data.clim, "colorbar": True,
              "clipping_colors": {"NaN": diverged}}  # fmt: skip
    cells = cells.opts(**common, tools=["hover"], line_alpha=0, backend="bokeh")
    # matplotlib's colour bar is drawn by a hook: HoloViews places its own beside the axes as they
    # are before their aspect applies, and so over the wide map.
    cells = cells.opts(**{**common, "colorbar": False}, hooks=[_colorbar(lk, scale)], backend="matplotlib")
    cells = cells.opts(hooks=[_cells_hook(m)], backend="bokeh")
    point = hv.Points([data.mark], ["lr", "beta"], group="CurrentSetting", label=label)
    point = _tagged(
        styled(point, marker("circle", lk.head_size + 4, scale, color, lk.text, 2.5)), f"{TAG}:mark"
    )
    # A legend entry for the grey cells: a square at no point (NaN), so only its swatch is drawn
    # (matplotlib leaves a layer with no rows out of the legend).
    key = hv.Points([(np.nan, np.nan)], ["lr", "beta"], group="Diverged", label="diverged")
    swatch = marker("circle", lk.head_size + 2, scale, diverged, diverged, 1)
    swatch["bokeh"]["marker"], swatch["matplotlib"]["marker"] = "square", "s"
    key = styled(key, swatch)
    ax = axes(lk, scale, grid=False)
    title = f"Final loss after {m.steps} steps over learning rate and {ylabel}"
    opts = {"title": as_title(title), "logx": True, "xlim": data.xlim, "ylim": data.ylim,
            "xlabel": "learning rate", "ylabel": ylabel, "show_legend": True}  # fmt: skip
    overlay = hv.Overlay([cells, point, key])
    # The legend sits under the map: the map's corners are where the interesting cells often are.
    overlay = overlay.opts(**ax["bokeh"], **opts, legend_position="bottom", backend="bokeh")
    # As wide as the Bokeh map (1.6:1) rather than square. HoloViews measures a log axis's span in
    # natural-log units where matplotlib's aspect counts decades: its ratio comes out ln(10) times
    # too narrow, so it is asked for ln(10) times wider.
    overlay = overlay.opts(**ax["matplotlib"], **opts, legend_position="bottom", fig_inches=(12.8, 7.2),
                           aspect=1.6 * math.log(10), backend="matplotlib")  # fmt: skip
    labels = [label, "diverged"]
    overlay = overlay.opts(legend_labels={t: shown(t) for t in labels}, backend="bokeh")
    return overlay.opts(legend_labels={t: as_mathtext(t) for t in labels}, backend="matplotlib")

"""Basins of attraction: where one racer ends from every start of a grid over the surface.

Each start of an n x n grid is raced for the same budget in one vmapped call (`optimizers.basins`)
and coloured by where it ended: at one of the surface's listed minima (global and local, each its
own colour, named in the legend), at none of them within the budget, or diverged. The minima are
marked on the map and numbered as in the legend. Equal data scales, as the surface panel.

    bmap = basin_map("himmelblau", {"optimizer": "adam", "lr": 0.05}, grid=128, steps=300)
    hv.render(basins_figure(bmap), backend="bokeh")        # the app
    hv.render(basins_figure(bmap), backend="matplotlib")   # PNG, SVG, PDF
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import holoviews as hv

# Both backends' plotting classes: options are given per backend, and each needs its own loaded.
import holoviews.plotting.bokeh  # noqa: F401
import holoviews.plotting.mpl  # noqa: F401
import numpy as np

import optimizers
from optimizers.engine import resolve_surface
from optimizers.spec import shown as quoted

from ..text import as_mathtext, shown
from .look import PALETTE, axes, look, marker, mpl_pt, styled, text
from .look import title as as_title
from .surface import equal_scales

__all__ = [
    "BasinMap",
    "basin_map",
    "basins_figure",
    "check_grid",
    "classify",
    "minima_list",
    "tolerance",
    "DEFAULT_GRID",
    "MIN_GRID",
    "MAX_GRID",
    "NO_MINIMUM",
    "DIVERGED",
    "TAG",
    "START_TAG",
]

DEFAULT_GRID = 128
MIN_GRID = 16  # coarser, a map says little
MAX_GRID = 1024  # the engine's own bound (optimizers/limits.py MAX_GRID)
NO_MINIMUM = "no listed minimum within budget"
DIVERGED = "diverged"
TAG = "optirace:basins"  # the map's Bokeh image renderer carries it (the page and tests find it so)
START_TAG = "optirace:basins:start"  # and the start marker's renderer this one
# The minima's colours: Okabe & Ito's palette without its grey (the grey says "no minimum"), then
# colorcet's Glasbey colours (Glasbey et al. 2007) for surfaces with more minima than that.
_MINIMUM_COLORS = tuple(c for c in PALETTE if c != "#7F7F7F")


def check_grid(grid: Any) -> int:
    """The grid's starts per side: an integer from MIN_GRID to MAX_GRID, else ValueError."""
    if isinstance(grid, (bool, np.bool_)) or not isinstance(grid, (int, np.integer)):
        raise ValueError(
            f"grid = {quoted(grid)} is not allowed; use an integer from {MIN_GRID} to {MAX_GRID}"
        )
    if not MIN_GRID <= grid <= MAX_GRID:
        raise ValueError(f"grid = {int(grid)} is not allowed; use an integer from {MIN_GRID} to {MAX_GRID}")
    return int(grid)


def minima_list(surface) -> list[tuple[tuple[float, float], str]]:
    """The surface's listed minima, global first, each with what it is ("global minimum", ...)."""
    out = [(tuple(float(v) for v in m[:2]), str(surface.minimum_label)) for m in surface.minima]
    return out + [(tuple(float(v) for v in m[:2]), "local minimum") for m in surface.local_minima]


def tolerance(surface) -> float:
    """How near a listed minimum an end point must be to count as reaching it: 2% of the domain's
    larger side, and under half the distance between the two closest minima (so it is one of them)."""
    span = max(hi - lo for lo, hi in surface.domain)
    tol = 0.02 * span
    points = np.asarray([p for p, _ in minima_list(surface)], dtype=np.float64)
    if len(points) > 1:
        d = np.linalg.norm(points[:, None, :] - points[None, :, :], axis=-1)
        tol = min(tol, 0.45 * float(d[np.triu_indices(len(points), 1)].min()))
    return tol


def classify(ends: np.ndarray, surface, tol: float | None = None) -> np.ndarray:
    """For end points (..., 2) (NaN where diverged): the index of the listed minimum each reached
    (`minima_list` order), len(minima) for none within `tol`, len(minima) + 1 for diverged."""
    ends = np.asarray(ends, dtype=np.float64)
    points = np.asarray([p for p, _ in minima_list(surface)], dtype=np.float64).reshape(-1, 2)
    k = len(points)
    tol = tolerance(surface) if tol is None else tol
    dead = ~np.all(np.isfinite(ends), axis=-1)
    d = np.linalg.norm(np.where(dead[..., None], 0.0, ends)[..., None, :] - points, axis=-1)  # (..., k)
    nearest = np.argmin(d, axis=-1) if k else np.zeros(dead.shape, dtype=int)
    near = (
        np.take_along_axis(d, nearest[..., None], axis=-1)[..., 0] <= tol if k else np.zeros(dead.shape, bool)
    )
    return np.where(dead, k + 1, np.where(near, nearest, k)).astype(np.int32)


@dataclass(frozen=True)
class BasinMap:
    """One racer's basins over a grid of starts: what the figure draws and a test compares."""

    surface: Any
    racer: str  # the racer as racer text, for the title
    grid: int
    steps: int
    xs: np.ndarray  # (grid,) start x of each column
    ys: np.ndarray  # (grid,) start y of each row
    ends: np.ndarray  # (grid, grid, 2) where each start ended; NaN where it diverged
    labels: np.ndarray  # (grid, grid) int32: index into `names`
    names: tuple[str, ...]  # each listed minimum's name, then NO_MINIMUM, then DIVERGED
    minima: tuple[tuple[tuple[float, float], str], ...]

    def shares(self) -> np.ndarray:
        """The fraction of the starts in each category (`names` order)."""
        return np.bincount(self.labels.ravel(), minlength=len(self.names)) / self.labels.size


def _point_text(p) -> str:
    # An estimated minimum's coordinate of 1e-17 is a zero in float64 noise: shown as 0.
    return ", ".join(f"{v if abs(v) > 1e-12 else 0.0:.3g}" for v in p)


def basin_map(surface, racer: Mapping[str, Any] | str, grid: int = DEFAULT_GRID, steps: int = 300,
              noise: float = 0.0, seed: int = 0, surface_params: Mapping[str, float] | None = None) -> BasinMap:  # fmt: skip
    """Race `racer` from every start of a grid x grid grid over the surface's domain (one vmapped
    call) and classify where each ended. ValueError for a grid outside MIN_GRID..MAX_GRID, a
    one-variable surface, or anything the engine refuses (steps, racer, work)."""
    grid = check_grid(grid)
    surf = resolve_surface(surface)
    if surf.dim != 2:
        raise ValueError(f"basins: {surf.name} has one variable; a basin map needs a surface of two")
    ends = optimizers.basins(surf, racer, grid=grid, steps=steps, noise=noise, seed=seed,
                             surface_params=surface_params)  # fmt: skip
    minima = tuple(minima_list(surf))
    names = tuple(f"{i + 1}: {what} ({_point_text(p)})" for i, (p, what) in enumerate(minima))
    spec = optimizers.parse_racer(racer) if isinstance(racer, str) else dict(racer)
    return BasinMap(
        surface=surf,
        racer=optimizers.racer_to_string(spec),
        grid=grid,
        steps=int(steps),
        xs=np.linspace(*surf.domain[0], grid),
        ys=np.linspace(*surf.domain[1], grid),
        ends=ends,
        labels=classify(ends, surf),
        names=(*names, NO_MINIMUM, DIVERGED),
        minima=minima,
    )


def category_colors(n_minima: int, theme: str = "light") -> list[str]:
    """Colours of the categories: one per minimum, then "no minimum" (grey), then "diverged"
    (the text's colour: black on light, near white on dark)."""
    colors = list(_MINIMUM_COLORS)
    if n_minima > len(colors):
        import colorcet

        colors += [c for c in colorcet.glasbey if c.upper() not in colors][: n_minima - len(colors)]
    lk = look(theme)
    none = "#c8c8c8" if theme != "dark" else "#6b6b6b"
    return [*colors[:n_minima], none, lk.text]


def _bokeh_key(entries: list[tuple[str, str]], size: float, lk) -> Callable[[Any, Any], None]:
    """A Bokeh hook adding one legend entry per category: a square of its colour. Bokeh models, not
    HoloViews layers: a layer per category took HoloViews a third of the drawing time. One point,
    at NaN, drawn nowhere: BokehJS draws no legend square for a renderer with no data."""

    def hook(plot, _element) -> None:
        from bokeh.models import ColumnDataSource, GlyphRenderer, Legend, LegendItem, Scatter

        fig = plot.state
        items = []
        for label, color in entries:
            glyph = Scatter(x="x", y="y", marker="square", size=size, fill_color=color, line_color="#888888")
            swatch = GlyphRenderer(
                data_source=ColumnDataSource({"x": [np.nan], "y": [np.nan]}), glyph=glyph, name="basin-key"
            )
            fig.renderers.append(swatch)
            items.append(LegendItem(label=label, renderers=[swatch]))
        if fig.legend:  # HoloViews' own (the start's): the categories come first
            fig.legend[0].items = [*items, *fig.legend[0].items]
        else:
            fig.add_layout(Legend(items=items, label_text_font_size=f"{lk.tick_font:g}px", label_text_color=lk.text,
                                  background_fill_color=lk.background, border_line_color=lk.grid), "right")  # fmt: skip

    return hook


def _mpl_key(entries: list[tuple[str, str]], size: float, lk, scale: float) -> Callable[[Any, Any], None]:
    """The same legend for matplotlib, one entry a line beside the map (below it, three columns of
    long names ran into each other under a square map). A still makes room for it (export/view.py)."""

    def hook(plot, _element) -> None:
        from matplotlib.lines import Line2D

        ax = plot.handles["axis"]
        handles = [Line2D([], [], linestyle="none", marker="s", markersize=mpl_pt(size, scale), markerfacecolor=c,
                          markeredgecolor="#888888") for _, c in entries]  # fmt: skip
        labels = [as_mathtext(t) for t, _ in entries]
        old = ax.get_legend()
        if old is not None:  # HoloViews' own (the start's)
            handles += list(old.legend_handles)
            labels += [t.get_text() for t in old.get_texts()]
        ax.legend(handles, labels, ncol=1, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                  fontsize=mpl_pt(lk.tick_font, scale))  # fmt: skip

    return hook


def _tag(plot, _element) -> None:
    renderer = plot.handles.get("glyph_renderer")
    if renderer is not None:
        renderer.tags = [*renderer.tags, TAG]


def _tag_start(plot, _element) -> None:
    renderer = plot.handles.get("glyph_renderer")
    if renderer is not None:
        renderer.tags = [*renderer.tags, START_TAG]


def basins_figure(bmap: BasinMap, theme: str = "light", present: bool = False, scale: float = 1.0,
                  legend: bool = True, start: tuple[float, float] | None = None) -> hv.Overlay:  # fmt: skip
    """The map: each start coloured by its category, the minima marked and numbered, a legend
    naming each colour with its share of the starts; `start`, if given, is marked too."""
    lk = look(theme, present)
    s = bmap.surface
    n = len(bmap.names)
    colors = category_colors(len(bmap.minima), theme)
    vx, vy = (str(v) for v in s.variables[:2])
    img = hv.Image((bmap.xs, bmap.ys, bmap.labels), kdims=[hv.Dimension("x", label=vx), hv.Dimension("y", label=vy)],
                   vdims=[hv.Dimension("basin")], group="Basins")  # fmt: skip
    # Category k is the value k: a clim of (-0.5, n - 0.5) over n colours puts each in its own bin.
    for backend in ("bokeh", "matplotlib"):
        img = img.opts(cmap=colors, clim=(-0.5, n - 0.5), colorbar=False, backend=backend)
    img = img.opts(hooks=[_tag], backend="bokeh")
    layers = [img]
    entries = [
        (f"{name}: {share:.0%}", c) for name, c, share in zip(bmap.names, colors, bmap.shares(), strict=True)
    ]
    if bmap.minima:
        span = (bmap.xs[-1] - bmap.xs[0], bmap.ys[-1] - bmap.ys[0])
        for kind, shape, size in (("global", "star", 19), ("local", "triangle", 13)):
            pts = [p for p, what in bmap.minima if (what == "local minimum") == (kind == "local")]
            if pts:
                mark = hv.Points(pts, group="GlobalMinimum" if kind == "global" else "LocalMinimum")
                mark = styled(mark, marker(shape, size, scale, "#ffffff", "#111111", 1.5))
                layers.append(
                    mark.opts(show_legend=False, backend="bokeh").opts(
                        show_legend=False, backend="matplotlib"
                    )
                )
        # Each minimum's number, as the legend names it.
        numbers = hv.Labels([(p[0] + 0.025 * span[0], p[1] + 0.025 * span[1], str(i + 1))
                             for i, (p, _) in enumerate(bmap.minima)], vdims="text", group="MinimumNumber")  # fmt: skip
        numbers = styled(numbers, text("#111111", lk.tick_font, scale))
        layers.append(numbers.opts(text_align="left", text_baseline="bottom", backend="bokeh")
                      .opts(horizontalalignment="left", verticalalignment="bottom", backend="matplotlib"))  # fmt: skip
    if start is not None:  # where the race starts: a click on the map in the app moves it
        mark = hv.Points([tuple(start)], label="start", group="Start")
        mark = styled(mark, marker("circle", lk.head_size + 4, scale, "#ffffff", "#111111", 2))
        layers.append(mark.opts(hooks=[_tag_start], backend="bokeh"))
    title = f"Basins on {s.title}: {bmap.racer}, {bmap.steps} steps, {bmap.grid}×{bmap.grid} starts"
    (x0, x1), (y0, y1) = s.domain
    ax = axes(lk, scale, grid=False)
    plot = {
        "bokeh": {"title": as_title(shown(title)), "xlim": (x0, x1), "ylim": (y0, y1), "data_aspect": 1,
                  "show_legend": legend, "legend_position": "right", "responsive": False},
        "matplotlib": {"title": as_title(as_mathtext(title)), "xlim": (x0, x1), "ylim": (y0, y1),
                       "aspect": "equal", "show_legend": legend, "legend_position": "bottom"},
    }  # fmt: skip
    overlay = hv.Overlay(layers)
    for backend in ("bokeh", "matplotlib"):
        overlay = overlay.opts(**ax[backend], **plot[backend], backend=backend)
    size = lk.head_size + 3
    keys = {"bokeh": [_bokeh_key(entries, size, lk)], "matplotlib": [_mpl_key(entries, size, lk, scale)]}
    overlay = overlay.opts(hooks=[equal_scales, *(keys["bokeh"] if legend else [])], backend="bokeh")
    return overlay.opts(hooks=keys["matplotlib"] if legend else [], backend="matplotlib")

"""race_figure: the panels an export or the app asks for, laid out as one HoloViews Layout."""

from __future__ import annotations

from collections.abc import Sequence

import holoviews as hv

# Both backends' plotting classes: options are given per backend, and each needs its own loaded.
import holoviews.plotting.bokeh  # noqa: F401
import holoviews.plotting.mpl  # noqa: F401

from ..text import as_mathtext, shown
from .curves import curve_overlay, has_momentum
from .line import line_overlay
from .look import PALETTE, look
from .look import title as as_title
from .surface import surface_overlay

__all__ = ["race_figure", "panel_names", "racer_colors", "PANELS"]

PANELS = ("contour", "loss", "lr")


def racer_colors(n: int) -> list[str]:
    return [PALETTE[i % len(PALETTE)] for i in range(n)]


def panel_names(result, panels: Sequence[str] = PANELS) -> list[str]:
    """The panels drawn for `panels`: a momentum panel joins the learning rate's where a schedule
    cycles the momentum of some racer."""
    out = list(panels)
    if "lr" in out and has_momentum(result).any():
        out.insert(out.index("lr") + 1, "momentum")
    return out


def race_figure(result, labels: Sequence[str], theme: str = "light", present: bool = False, k: int | None = None,
                panels: Sequence[str] = PANELS, legend: bool = True, title: str | None = None, kappa=None,
                scale: float = 1.0, player: bool = False, noise: float = 0.0) -> hv.Layout:  # fmt: skip
    """The race at step k (default: the last), one panel per name in `panels` (see panel_names),
    each an Overlay whose group names the panel. `scale` sizes the matplotlib rendering's text and
    lines (1 at 1280x720); the Bokeh rendering is in CSS pixels. With `player`, the layers that
    change with the step are tagged, and drawn for every racer, for the page's player to fill
    (optirace/figures/player.py)."""
    lk = look(theme, present)
    k = result.steps if k is None else int(min(max(k, 0), result.steps))
    colors = racer_colors(result.params.shape[0])
    labels = list(labels)
    names = panel_names(result, panels)
    racer_legend = legend and "loss" not in names
    items = []
    for name in names:
        if name == "contour":
            if result.surface.dim == 2:
                o = surface_overlay(result, colors, labels, lk, k, scale, kappa, legend, racer_legend, player)
            else:
                o = line_overlay(result, colors, labels, lk, k, scale, legend, racer_legend, player)
        else:
            o = curve_overlay(
                result, name, colors, labels, lk, k, scale, legend, player, kappa=kappa, noise=noise
            )
        # User text is shown as its characters: matplotlib would read a `$` as the start of mathtext.
        o = o.opts(legend_labels={t: shown(t) for t in labels}, backend="bokeh")
        o = o.opts(legend_labels={t: as_mathtext(t) for t in labels}, backend="matplotlib")
        items.append(o.relabel(group=name.capitalize()))
    layout = hv.Layout(items).cols(len(items))
    layout = layout.opts(title=as_title(shown(title or "")), backend="bokeh")
    layout = layout.opts(title=as_title(as_mathtext(title or "")), backend="matplotlib")
    layout = layout.opts(sublabel_format="", backend="matplotlib")
    return layout

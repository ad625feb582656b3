"""One look for every backend: colours, fonts, line widths, the racers' palette and the colour map.

Sizes are CSS pixels, as the Bokeh backend takes them; the matplotlib backend turns them into
points at the export's scale (`mpl_pt`), so a 1280x720 export looks like the app pixel for pixel.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

import numpy as np

__all__ = ["PALETTE", "Look", "look", "LOOKS", "mpl_pt", "title", "styled"]

# Okabe & Ito's colour-blind-safe palette (Color Universal Design, 2008), in the order racers get it.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#7F7F7F")
LOOKS = ("light", "dark", "slides")
BANDS = 14  # colour bands of a surface, between its contour lines


@cache
def _grey(lo: float, hi: float) -> tuple[str, ...]:
    """A stretch of colorcet's CET_L1, the perceptually uniform grey (Kovesi 2015): the racers own
    every hue, so the surface stays grey and each racer's colour reads against it on a projector.
    Imported here, when a figure is drawn: colorcet takes a second to load, the app's state none."""
    import colorcet

    cet = colorcet.palette["CET_L1"]
    a, b = round(lo * (len(cet) - 1)), round(hi * (len(cet) - 1))
    return tuple(cet[a : b + 1]) if a <= b else tuple(cet[b : a + 1])[::-1]


@dataclass(frozen=True)
class Look:
    name: str
    background: str
    text: str
    grid: str
    contour_line: str
    minimum: str
    cmap_name: str  # what the colour map is called in a legend or a test
    cmap_range: tuple[float, float]  # the stretch of CET_L1 drawn, low loss first
    line_width: float
    head_size: float
    font: float  # titles and axis labels, CSS px
    tick_font: float
    contour_width: float = 1.2
    contour_alpha: float = 0.75

    @property
    def cmap(self) -> tuple[str, ...]:
        """The colour map's colours, low loss first: one per band between contour lines, so each
        line is the edge of a band (and an animation frame holds few colours, quick to encode)."""
        grey = _grey(*self.cmap_range)
        return tuple(grey[round(i)] for i in np.linspace(0, len(grey) - 1, BANDS))


LIGHT = Look(
    "light", "#ffffff", "#222222", "#e5e5e5", "#3d4148", "#111111",
    "CET_L1 (grey, 45-97%)", (0.45, 0.97), 2.0, 11, 14, 12,
)  # fmt: skip
DARK = Look(
    "dark", "#1e1f24", "#e6e6e6", "#3a3b40", "#d6dae2", "#ffffff",
    "CET_L1 (grey, 8-50%)", (0.08, 0.50), 2.0, 11, 14, 12, contour_alpha=0.45,
)  # fmt: skip


def look(theme: str, present: bool = False) -> Look:
    """The look of `theme` (light, dark or slides); `present` enlarges lines and text for a room."""
    if theme not in LOOKS:
        raise ValueError(f"theme {theme!r}: use one of {', '.join(LOOKS)}")
    base = DARK if theme == "dark" else LIGHT
    if theme == "slides":
        present = True
    if not present:
        return base
    return replace(base, line_width=4.0, head_size=18, font=20, tick_font=16, contour_width=1.8)


def mpl_pt(css_px: float, scale: float = 1.0) -> float:
    """CSS pixels as matplotlib points at 100 dpi, scaled with the picture (1920x1080 is 1.5)."""
    return css_px * 0.72 * scale


# ----- one style, both backends ---------------------------------------------------------------------
# Bokeh's marker names and matplotlib's for the same shape.
_MARKERS = {"circle": "o", "star": "*", "triangle": "^", "x": "x", "circle_cross": "$\\oplus$"}


def line(color: str, width: float, scale: float, dash: bool = False, alpha: float = 1.0) -> dict:
    """Options of a line (Curve, Path, Contours, VLine, Segments) for both backends."""
    return {
        "bokeh": {"color": color, "line_width": width, "alpha": alpha, "line_dash": "dashed" if dash else "solid"},
        "matplotlib": {"color": color, "linewidth": mpl_pt(width, scale), "alpha": alpha,
                       "linestyle": "--" if dash else "-"},
    }  # fmt: skip


def marker(shape: str, size: float, scale: float, fill: str | None, edge: str, edge_width: float) -> dict:
    """Options of Points for both backends; `size` is the marker's diameter in CSS px."""
    mpl = {"marker": _MARKERS[shape], "s": mpl_pt(size, scale) ** 2, "linewidth": mpl_pt(edge_width, scale)}
    if shape == "x":  # matplotlib strokes an unfilled marker in its face colour
        mpl["color"] = edge
    elif fill == "color":  # filled from the element's "color" column
        mpl.update(c="color", edgecolors=edge)
    else:
        mpl.update(facecolors=fill or "none", edgecolors=edge)
    bk = {"marker": shape, "size": size, "fill_color": fill, "line_color": edge, "line_width": edge_width}
    return {"bokeh": bk, "matplotlib": mpl}


def text(color: str, size: float, scale: float, bold: bool = True) -> dict:
    """Options of Labels for both backends."""
    return {
        "bokeh": {"text_color": color, "text_font_size": f"{size:g}px",
                  "text_font_style": "bold" if bold else "normal"},
        "matplotlib": {"color": color, "size": mpl_pt(size, scale), "weight": "bold" if bold else "normal"},
    }  # fmt: skip


def axes(lk: Look, scale: float, grid: bool) -> dict:
    """Plot options every panel shares: fonts, colours, the frame, the toolbar."""
    fonts = {"title": lk.font, "labels": lk.font, "ticks": lk.tick_font, "legend": lk.tick_font}
    bg = {"plot.background_fill_color": lk.background, "plot.border_fill_color": lk.background,
          "plot.outline_line_color": lk.grid, "xaxis.axis_line_color": lk.grid, "yaxis.axis_line_color": lk.grid,
          "xaxis.axis_label_text_color": lk.text, "yaxis.axis_label_text_color": lk.text,
          "xaxis.major_label_text_color": lk.text, "yaxis.major_label_text_color": lk.text,
          "title.text_color": lk.text, "xgrid.grid_line_color": lk.grid if grid else None,
          "ygrid.grid_line_color": lk.grid if grid else None, "toolbar.logo": None}  # fmt: skip
    return {
        "bokeh": {"fontsize": {k: f"{v:g}px" for k, v in fonts.items()}, "show_grid": grid, "backend_opts": bg,
                  "toolbar": "right", "default_tools": ["pan", "wheel_zoom", "box_zoom", "reset", "save"]},
        "matplotlib": {"fontsize": {k: mpl_pt(v, scale) for k, v in fonts.items()}, "show_grid": grid,
                       "bgcolor": lk.background},
    }  # fmt: skip


def title(text: str) -> str:
    """A title as HoloViews takes it: a format string, so a user's braces are doubled."""
    return str(text).replace("{", "{{").replace("}", "}}")


def styled(element, spec: dict, plot: dict | None = None):
    """`element` with the same look given to both backends (`spec` from line/marker/text/axes)."""
    for backend in ("bokeh", "matplotlib"):
        element = element.opts(**spec[backend], **(plot or {}).get(backend, {}), backend=backend)
    return element

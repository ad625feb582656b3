"""Colours and sizes for the light, dark and presentation looks, in one place."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Look:
    background: str
    text: str
    grid: str
    contour_low: str
    contour_high: str
    contour_line: str
    minimum: str
    line_width: float
    head_size: float
    # Sizes must differ from Bokeh's defaults (13px, 11px): Bokeh takes setting a default as leaving
    # it unset, and Panel's dark theme then replaced it with its own (larger, em-based) size.
    font: str  # axis label and title size
    tick_font: str
    # px left of a curve panel's frame: the axis label, ticks and the widest log tick label
    # (10^-16) once the axis spans two decades, so the frame keeps its width as a falling loss
    # reaches longer labels. Measured in Chromium: 70 light, 71 dark, 96 presenting.
    axis_room: int = 76


LIGHT = Look(
    "#ffffff", "#222222", "#e5e5e5", "#f7f7f7", "#b0b6be", "#8a8f96", "#111111", 2.0, 11, "14px", "12px"
)
DARK = Look(
    "#1e1f24", "#e6e6e6", "#3a3b40", "#2a2c33", "#5b616e", "#8c93a3", "#ffffff", 2.0, 11, "14px", "12px"
)


def look(theme: str, present: bool) -> Look:
    base = DARK if theme == "dark" else LIGHT
    if not present:
        return base
    return Look(**{**base.__dict__, "line_width": 4.0, "head_size": 18, "font": "20px", "tick_font": "16px",
                   "axis_room": 100})  # fmt: skip


def ramp(low: str, high: str, n: int) -> list[str]:
    """n colours evenly between two hex colours: a quiet background that racers stand out on."""
    a = np.array([int(low[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    b = np.array([int(high[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    out = []
    for t in np.linspace(0.0, 1.0, max(n, 1)):
        r, g, bl = (a + (b - a) * t).round().astype(int)
        out.append(f"#{r:02x}{g:02x}{bl:02x}")
    return out

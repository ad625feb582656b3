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
    font: str  # axis label size
    tick_font: str


LIGHT = Look(
    "#ffffff", "#222222", "#e5e5e5", "#f7f7f7", "#b0b6be", "#8a8f96", "#111111", 2.0, 11, "13px", "11px"
)
DARK = Look(
    "#1e1f24", "#e6e6e6", "#3a3b40", "#2a2c33", "#5b616e", "#8c93a3", "#ffffff", 2.0, 11, "13px", "11px"
)


def look(theme: str, present: bool) -> Look:
    base = DARK if theme == "dark" else LIGHT
    if not present:
        return base
    return Look(**{**base.__dict__, "line_width": 4.0, "head_size": 18, "font": "20px", "tick_font": "16px"})


def ramp(low: str, high: str, n: int) -> list[str]:
    """n colours evenly between two hex colours: a quiet background that racers stand out on."""
    a = np.array([int(low[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    b = np.array([int(high[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    out = []
    for t in np.linspace(0.0, 1.0, max(n, 1)):
        r, g, bl = (a + (b - a) * t).round().astype(int)
        out.append(f"#{r:02x}{g:02x}{bl:02x}")
    return out

"""The internals' arrows in a still (PNG, SVG, PDF): drawn at the still's step with matplotlib
arrows on the surface panel of an export's picture, with their scales written in the panel's corner.
What they mean and how they are scaled is optirace/figures/internals.py's, as in the page."""

from __future__ import annotations

import numpy as np

from optirace.figures.internals import ARROW_NAMES, DASH, arrow_columns
from optirace.figures.look import mpl_pt

__all__ = ["draw_arrows"]

_STYLE = {"dotted": ":", "solid": "-", "dashed": "--"}


def draw_arrows(picture, k: int, kinds, kappa=None) -> int:
    """Draw the `kinds` of arrows of step k on the picture's surface panel; returns how many."""
    res = picture.res
    ax = getattr(picture, "axes", {}).get("contour")
    if not kinds or ax is None or res.surface.dim != 2:
        return 0
    k = int(min(max(k, 0), res.steps))
    cols, sc = arrow_columns(res, np.array([k]), {"kappa": kappa} if kappa is not None else None)
    lk, scale = picture.look, picture.scale
    drawn = 0
    for i in range(res.params.shape[0]):
        x, y = res.params[i, k]
        for kind in kinds:
            dx, dy = cols.get(f"{kind}dx{i}", [np.nan])[0], cols.get(f"{kind}dy{i}", [np.nan])[0]
            if not (np.isfinite(dx) and np.isfinite(dy)) or dx == dy == 0:
                continue
            ax.annotate("", xy=(x + dx, y + dy), xytext=(x, y), zorder=5,
                        arrowprops={"arrowstyle": "-|>", "color": picture.colors[i], "shrinkA": 0, "shrinkB": 0,
                                    "linewidth": mpl_pt(1.25 * lk.line_width, scale),
                                    "linestyle": _STYLE[DASH[kind]], "mutation_scale": 10 * scale})  # fmt: skip
            drawn += 1
    said = ", ".join(f"{ARROW_NAMES[kind]} ×{sc[kind]:g}" for kind in kinds)
    ax.text(0.01, 0.01, f"arrows at step {k}: {said}", transform=ax.transAxes, ha="left", va="bottom",
            color=lk.text, fontsize=mpl_pt(lk.tick_font, scale), zorder=6)  # fmt: skip
    return drawn

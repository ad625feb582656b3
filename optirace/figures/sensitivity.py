"""Learning-rate sensitivity: each racer's final loss against its learning rate, log-log.

One curve per racer over its learning rate's display range (`optimizers.tune.lr_sweeps`, one
vmapped call per racer), and a marker where the racer's own learning rate sits, at the final loss
of its race. A run that diverged leaves a gap in its curve; a racer whose own run diverged is
marked with a cross at the top of the plot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import holoviews as hv

# Both backends' plotting classes: options are given per backend, and each needs its own loaded.
import holoviews.plotting.bokeh  # noqa: F401
import holoviews.plotting.mpl  # noqa: F401
import numpy as np

from ..text import as_mathtext, shown
from .curves import GAP_FLOOR
from .look import PALETTE, axes, line, look, marker, styled
from .look import title as as_title

__all__ = ["sensitivity_figure", "sensitivity_data", "SensitivityData", "TAG"]

TAG = "optirace:sensitivity"  # Bokeh renderers are tagged TAG:curve:i and TAG:mark:i (tests, the page)


def _tagged(element, tag: str):
    def hook(plot, _element):
        renderer = plot.handles.get("glyph_renderer")
        if renderer is not None:
            renderer.tags = [*renderer.tags, tag]

    return element.opts(hooks=[hook], backend="bokeh")


def _gap(loss, min_value: float) -> np.ndarray:
    """Final loss above the minimum, floored for the log axis; NaN where the run diverged."""
    loss = np.asarray(loss, dtype=float)
    gap = np.maximum(loss - min_value, GAP_FLOOR)
    return np.where(np.isfinite(loss), gap, np.nan)


class SensitivityData(NamedTuple):
    """What the plot draws: each racer's curve (lr, gap) and mark (lr, gap, diverged), and the limits."""

    curves: list[tuple[np.ndarray, np.ndarray]]
    marks: list[tuple[float, float, bool]]
    xlim: tuple[float, float]
    ylim: tuple[float, float]


def sensitivity_data(sweeps, current: Sequence[tuple[float, float]], min_value: float) -> SensitivityData:
    """The plot's numbers: the page moves the marks and curves of a drawn plot with these (no new figure)."""
    gaps = [_gap(s.loss, min_value) for s in sweeps]
    marks = [(float(lr), float(_gap([loss], min_value)[0])) for lr, loss in current]
    seen = np.concatenate(
        [g[np.isfinite(g)] for g in gaps] + [np.array([y for _, y in marks if np.isfinite(y)])]
    )
    lo, hi = (float(seen.min()), float(seen.max())) if seen.size else (0.1, 10.0)
    ylim = (lo / 10, hi * 10) if hi <= lo * 1.0001 else (lo / 3, hi * 3)
    xs = np.concatenate([s.values for s in sweeps] + [np.array([x for x, _ in marks if x > 0])])
    xlim = (float(xs.min()) / 1.5, float(xs.max()) * 1.5)
    # A diverged racer's cross sits at the top; a zero learning rate (legal) at the left edge.
    placed = [
        (x if x > 0 else xlim[0], y if np.isfinite(y) else ylim[1] / 1.5, not np.isfinite(y))
        for x, y in marks
    ]
    return SensitivityData([(s.values, g) for s, g in zip(sweeps, gaps, strict=True)], placed, xlim, ylim)


def sensitivity_figure(sweeps, labels: Sequence[str], current: Sequence[tuple[float, float]], min_value: float,
                       theme: str = "light", present: bool = False, colors: Sequence[str] | None = None,
                       steps: int | None = None, scale: float = 1.0, legend: bool = True) -> hv.Overlay:  # fmt: skip
    """The sensitivity plot. `sweeps` are `optimizers.tune.Sweep`s, one per racer; `current` gives
    each racer's own (learning rate, final loss), its loss +inf if its race diverged; `min_value`
    is the surface's minimum (the y axis is the final loss above it)."""
    lk = look(theme, present)
    colors = list(colors or [PALETTE[i % len(PALETTE)] for i in range(len(sweeps))])
    data = sensitivity_data(sweeps, current, min_value)
    xlim, ylim = data.xlim, data.ylim
    layers = []
    for i, (x, g) in enumerate(data.curves):
        curve = hv.Curve((x, g), hv.Dimension("lr", label="learning rate"),
                         hv.Dimension("gap", label="final loss − min"), group="Sensitivity", label=labels[i])  # fmt: skip
        layers.append(_tagged(styled(curve, line(colors[i], lk.line_width, scale)), f"{TAG}:curve:{i}"))
    for i, (x, y, dead) in enumerate(data.marks):
        point = hv.Points([(x, y)], ["lr", "gap"], group="CurrentLR")
        # Filled with the racer's colour and ringed in the text's: it reads on its own curve.
        shape = marker("x" if dead else "circle", lk.head_size + 2, scale, None if dead else colors[i],
                       colors[i] if dead else lk.text, 2)  # fmt: skip
        layers.append(_tagged(styled(point, shape), f"{TAG}:mark:{i}"))
    ax = axes(lk, scale, grid=True)
    title = "Learning-rate sensitivity" + (f": final loss after {steps} steps" if steps else "")
    common = {"title": as_title(title), "logx": True, "logy": True, "xlim": xlim, "ylim": ylim,
              "xlabel": "learning rate", "ylabel": "final loss − min", "show_legend": legend,
              "legend_position": "right"}  # fmt: skip
    overlay = hv.Overlay(layers)
    for backend in ("bokeh", "matplotlib"):
        extra = {"legend_opts": {"click_policy": "hide"}} if backend == "bokeh" else {}
        overlay = overlay.opts(**ax[backend], **common, **extra, backend=backend)
    overlay = overlay.opts(legend_labels={t: shown(t) for t in labels}, backend="bokeh")
    return overlay.opts(legend_labels={t: as_mathtext(t) for t in labels}, backend="matplotlib")

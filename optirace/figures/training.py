"""Real training: each racer's loss while the MLP trains at full dimension (optimizers.training).

Per racer, in its colour from the race's palette: the training loss (solid) and the held-out loss
(dashed) after every step, on a log axis; a cross where a racer diverged (its curves stop there).
"""

from __future__ import annotations

from collections.abc import Sequence

import holoviews as hv

# Both backends' plotting classes: options are given per backend, and each needs its own loaded.
import holoviews.plotting.bokeh  # noqa: F401
import holoviews.plotting.mpl  # noqa: F401
import numpy as np

from ..text import as_mathtext, shown
from .look import PALETTE, axes, line, look, marker, styled
from .look import title as as_title

__all__ = ["training_figure", "training_limits", "TAG", "TITLE"]

TAG = "optirace:training"  # Bokeh renderers are tagged TAG:train:i and TAG:held_out:i (tests, the page)
TITLE = "Real training (solid: training loss, dashed: held-out)"


def _tagged(element, tag: str):
    def hook(plot, _element):
        renderer = plot.handles.get("glyph_renderer")
        if renderer is not None:
            renderer.tags = [*renderer.tags, tag]

    return element.opts(hooks=[hook], backend="bokeh")


def _last(training) -> np.ndarray:
    """Per racer, the last step its curves show: where it diverged, else the last step."""
    return np.where(training.diverged_at >= 0, training.diverged_at, training.steps).astype(int)


def training_limits(training) -> tuple[float, float]:
    """y limits (log axis) holding every finite, positive loss the curves show."""
    last = _last(training)
    seen = [
        np.asarray(curve[i, : last[i] + 1], dtype=float)
        for curve in (training.train_loss, training.held_out_loss)
        for i in range(curve.shape[0])
    ]
    values = np.concatenate(seen)
    values = values[np.isfinite(values) & (values > 0)]
    if not values.size:
        return 0.1, 10.0
    lo, hi = float(values.min()), float(values.max())
    return (lo / 10, hi * 10) if hi <= lo * 1.0001 else (lo / 1.6, hi * 1.6)


def training_figure(training, labels: Sequence[str], colors: Sequence[str] | None = None, theme: str = "light",
                    present: bool = False, scale: float = 1.0, legend: bool = True) -> hv.Overlay:  # fmt: skip
    """The loss curves of `training` (an `optimizers.training.Training`), one colour per racer."""
    lk = look(theme, present)
    n = len(training.racers)
    colors = list(colors or [PALETTE[i % len(PALETTE)] for i in range(n)])
    last = _last(training)
    ylim = training_limits(training)
    layers = []
    for i in range(n):
        steps = np.arange(last[i] + 1)
        for kind, values, dash in (
            ("train", training.train_loss, False),
            ("held_out", training.held_out_loss, True),
        ):
            curve = hv.Curve((steps, values[i, : last[i] + 1]), "step", hv.Dimension("loss", label="loss"),
                             group="Training" if not dash else "HeldOut", label=labels[i] if not dash else "")  # fmt: skip
            curve = styled(curve, line(colors[i], lk.line_width * (0.75 if dash else 1.0), scale, dash=dash))
            if dash:  # the legend names each racer once, by its solid line
                for backend in ("bokeh", "matplotlib"):
                    curve = curve.opts(show_legend=False, backend=backend)
            layers.append(_tagged(curve, f"{TAG}:{kind}:{i}"))
        d = int(training.diverged_at[i])
        if d >= 0:
            cross = hv.Points(
                [(d, float(np.clip(training.train_loss[i, d], *ylim)))], ["step", "loss"], group="Diverged"
            )
            layers.append(styled(cross, marker("x", lk.head_size, scale, None, colors[i], 3)))
    ax = axes(lk, scale, grid=True)
    common = {"title": as_title(TITLE), "xlim": (0, max(training.steps, 1)), "ylim": ylim, "logy": True,
              "xlabel": "step", "ylabel": f"loss ({training.params.shape[1]}-parameter MLP)", "show_legend": legend,
              "legend_position": "right"}  # fmt: skip
    overlay = hv.Overlay(layers)
    for backend in ("bokeh", "matplotlib"):
        extra = {"legend_opts": {"click_policy": "hide"}} if backend == "bokeh" else {}
        overlay = overlay.opts(**ax[backend], **common, **extra, backend=backend)
    overlay = overlay.opts(legend_labels={t: shown(t) for t in labels}, backend="bokeh")
    return overlay.opts(legend_labels={t: as_mathtext(t) for t in labels}, backend="matplotlib")

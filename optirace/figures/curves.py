"""The loss curves (gap to the minimum, log y) and the learning-rate curves, with the step marker.

Where a schedule cycles the momentum (or Adam's beta1), its curve is drawn in a panel under the
learning rate, on the same steps.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np

from .ghost import ghost_layer
from .look import Look, axes, line, marker, styled
from .tags import panel, played
from .theory import has_theory, predicted_gap

__all__ = ["curve_overlay", "curve_values", "has_momentum", "GAP_FLOOR"]

GAP_FLOOR = 1e-16  # a log axis cannot show 0: a converged racer sits on this floor
TITLES = {"loss": ("Loss", "loss − min"), "lr": ("Learning rate", "learning rate"),
          "momentum": ("Momentum (cycled)", "momentum / β₁")}  # fmt: skip


def has_momentum(res) -> np.ndarray:
    """Per racer: whether its schedule cycles the momentum (a row of result.momentum not all NaN)."""
    m = getattr(res, "momentum", None)
    if m is None or np.size(m) == 0:
        return np.zeros(res.params.shape[0], dtype=bool)
    return ~np.all(np.isnan(np.asarray(m, dtype=float)), axis=1)


def curve_values(res, kind: str) -> tuple[np.ndarray, tuple[float, float], bool]:
    """(values per racer and step, y limits fixed for the whole race, log y) of one curve panel."""
    n = res.params.shape[0]
    last = np.where(res.diverged_at >= 0, res.diverged_at, res.steps).astype(int)
    if kind == "loss":
        Y = np.maximum(np.asarray(res.loss, dtype=float) - res.surface.min_value, GAP_FLOOR)
    elif kind == "lr":
        Y = np.concatenate([res.lr, np.full((n, 1), np.nan)], axis=1)
        Y = np.where(Y > 0, Y, np.nan)  # a zero lr has no place on a log axis
    else:
        Y = np.concatenate([np.asarray(res.momentum, dtype=float), np.full((n, 1), np.nan)], axis=1)
    rows = np.arange(Y.shape[1])[None, :] <= last[:, None]
    shown = Y[rows & np.isfinite(Y)]
    log = kind != "momentum"
    if not shown.size:
        return Y, ((0.1, 10.0) if log else (0.0, 1.0)), log
    lo, hi = float(shown.min()), float(shown.max())
    if log:
        lo, hi = (lo / 10, hi * 10) if hi <= lo * 1.0001 else (lo / 1.6, hi * 1.6)
    else:
        pad = 0.08 * (hi - lo) if hi > lo else 0.05
        lo, hi = lo - pad, hi + pad
    return Y, (lo, hi), log


def curve_overlay(res, kind: str, colors, labels, lk: Look, k: int, scale: float = 1.0,
                  legend: bool = True, player: bool = False, kappa=None, noise: float = 0.0) -> hv.Overlay:  # fmt: skip
    """One curve panel at step k: each racer's curve over steps 0..k (the learning rate's whole
    schedule, known before the race runs), a cross where a racer diverged, and the step marker.
    With `player`, the layers are tagged for the page's player (optirace/figures/tags.py).
    On a surface with a theory (the quadratic), the loss panel draws each racer's predicted loss
    dashed beside it (figures/theory.py; `kappa` and `noise` are the race's)."""
    Y, ylim, log = curve_values(res, kind)
    steps = res.steps
    last = np.where(res.diverged_at >= 0, res.diverged_at, steps).astype(int)
    racers = range(len(colors)) if kind != "momentum" else np.flatnonzero(has_momentum(res))
    layers = []
    if player and kind == "loss":  # the last race, faint under this one's curves (figures/ghost.py)
        layers.append(ghost_layer("loss", lk, ["step", hv.Dimension("y", label=TITLES[kind][1])]))
    for i in racers:
        end = min(k, last[i]) + 1 if kind == "loss" else Y.shape[1]
        curve = hv.Curve((np.arange(end), Y[i, :end]), "step", hv.Dimension("y", label=TITLES[kind][1]),
                         group=kind.capitalize(), label=labels[i])  # fmt: skip
        curve = styled(curve, line(colors[i], lk.line_width, scale))
        layers.append(played(curve, kind, int(i)) if player else curve)
    if kind == "loss" and has_theory(res.surface):
        # The whole prediction, known before the race runs (as the learning rate's schedule is).
        pred = predicted_gap(res, kappa, noise)
        for i in range(len(colors)):
            if not player and not np.isfinite(pred[i]).any():
                continue
            curve = hv.Curve((np.arange(pred.shape[1]), pred[i]), "step", hv.Dimension("y", label=TITLES[kind][1]),
                             group="Predicted", label="")  # fmt: skip
            curve = styled(curve, line(colors[i], lk.line_width * 0.75, scale, dash=True, alpha=0.8))
            for backend in ("bokeh", "matplotlib"):
                curve = curve.opts(show_legend=False, backend=backend)
            layers.append(played(curve, "predicted", i) if player else curve)
    if kind == "loss" and player:
        # One layer of crosses, a row per racer's slot, which the page's player fills once the racer
        # has diverged (as the surface's: figures/surface.py, dead_layers).
        nan = [np.nan] * len(colors)
        cross = hv.Points(
            {"step": nan, "y": nan, "color": list(colors)}, ["step", "y"], ["color"], group="Diverged"
        )
        cross = styled(cross, marker("x", lk.head_size, scale, None, "color", 3))
        layers.append(played(cross, "lossdead"))
    elif kind == "loss":
        for i, d in enumerate(res.diverged_at):
            if 0 <= d <= k:
                cross = hv.Points([(int(d), Y[i, int(d)])], ["step", "y"], group="Diverged")
                cross = styled(cross, marker("x", lk.head_size, scale, None, colors[i], 3))
                layers.append(cross)
    step = styled(hv.VLine(k, group="Step"), line(lk.text, 1.5, scale, dash=True))
    layers.append(played(step, "step") if player else step)
    title, ylabel = TITLES[kind]
    if kind == "loss" and has_theory(res.surface):
        title = "Loss (dashed: theory, loss₀·ρ^(2t))"
    ax = axes(lk, scale, grid=True)
    common = {"title": title, "xlim": (0, max(steps, 1)), "ylim": ylim, "logy": log, "xlabel": "step",
              "ylabel": ylabel, "show_legend": legend and kind == "loss", "legend_position": "right"}  # fmt: skip
    overlay = hv.Overlay(layers)
    for backend in ("bokeh", "matplotlib"):
        # A click on a legend entry hides that racer's curve (the loss panel holds the racers' legend).
        extra = {"responsive": False, "legend_opts": {"click_policy": "hide"}} if backend == "bokeh" else {}
        overlay = overlay.opts(**ax[backend], **common, **extra, backend=backend)
    return panel(overlay, kind) if player else overlay

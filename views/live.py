"""Keeps the figures in step with the state: rebuild on a new structure, stream while playing.

A new race (any input changed) reloads the precomputed columns and shows rows 0..step at once;
playback then streams only the new rows each frame. Figures are rebuilt only when what they draw
changes shape: another surface, another number of racers, another look.
"""

from __future__ import annotations

import functools

import numpy as np
import panel as pn
from bokeh.events import Tap

from optirace.text import as_html
from surfaces.grid import gradients

from .plots import curve_figure, legend_label, line_figure, racer_tooltips, surface_figure
from .reveal import TICKS
from .state import RaceState
from .styles import html_pane
from .theme import look
from .trajectories import Trajectories


def _edits_bokeh(method):
    """Run a handler that changes Bokeh models directly inside `pn.io.unlocked()`.

    Widget events reach Python without the session's document lock; unlocked() collects the
    model changes and sends them as one message (it also batches them, like hold())."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with pn.io.unlocked():
            return method(*args, **kwargs)

    return wrapper


class RaceView:
    def __init__(self, state: RaceState) -> None:
        self.state = state
        self.traj = Trajectories()
        self.main = pn.Column(sizing_mode="stretch_both", min_height=340)
        self.loss_pane = pn.Column(sizing_mode="stretch_both", min_height=170)
        self.lr_pane = pn.Column(sizing_mode="stretch_both", min_height=170)
        self.board = html_pane("", sizing_mode="stretch_width", css_classes=["leaderboard"])
        self.iterates = html_pane("", sizing_mode="stretch_width", css_classes=["iterates"])
        self._key = None
        self._parts: dict = {}
        self._grads: np.ndarray | None = None
        self._frame = 0
        self._dead_key = None
        self._labels: dict[int, str] = {}
        state.param.watch(self._on_result, ["result"])
        state.param.watch(self._on_step, ["step"])
        state.param.watch(self._on_look, ["theme", "present"])
        state.param.watch(self._on_pause, ["playing"])
        self._on_result()

    # ----- building ----------------------------------------------------------------------------
    def _structure(self):
        s = self.state
        return (
            s.surface,
            tuple(s.colors()),  # the number of racers and each one's colour
            s.theme,
            s.present,
            s.kappa,
        )

    def _build(self) -> None:

        s = self.state
        res = s.result
        lk = look(s.theme, s.present)
        colors = s.colors()
        labels = [s.label(i) for i in range(len(s.racers))]
        surf = res.surface
        if surf.dim == 2:
            parts = surface_figure(surf, s.kappa, lk, colors, labels, self.traj)
        else:
            parts = line_figure(surf, lk, colors, labels, self.traj)
        parts["fig"].on_event(Tap, self._on_tap)
        parts["loss"] = curve_figure("loss", lk, colors, labels, self.traj, s.steps)
        parts["lr"] = curve_figure("lr", lk, colors, labels, self.traj, s.steps)
        self._parts = parts
        self.main.objects = [pn.pane.Bokeh(parts["fig"], sizing_mode="stretch_both")]
        self.loss_pane.objects = [pn.pane.Bokeh(parts["loss"]["fig"], sizing_mode="stretch_both")]
        self.lr_pane.objects = [pn.pane.Bokeh(parts["lr"]["fig"], sizing_mode="stretch_both")]

    def _relabel(self) -> None:
        """Labels follow the racers' settings in place: a slider move must not rebuild the figures."""
        s = self.state
        dim = s.result.surface.dim
        for i, (item, hover) in enumerate(
            zip(self._parts["loss"]["legend"], self._parts["hovers"], strict=True)
        ):
            label = s.label(i)
            if self._labels.get(i) == label:
                continue
            self._labels[i] = label
            item.label = legend_label(label)
            hover.tooltips = racer_tooltips(dim, i, label, s.result.surface.variables)

    @_edits_bokeh
    def _on_look(self, *_):
        self._key = None
        self._on_result()

    @_edits_bokeh
    def _on_result(self, *_) -> None:
        s = self.state
        if s.result is None:
            return
        self.traj.load(s.result)
        key = self._structure()
        if key != self._key:
            self._build()  # draws the new race's schedules too
            self._key = key
            self._labels = {}
            self._dead_key = None
        else:
            for i, source in enumerate(self._parts["lr"]["schedules"]):
                source.data = self.traj.schedule(i)
        for name in ("loss", "lr"):
            self._parts[name]["fig"].x_range.end = max(s.steps, 1)
        self._relabel()
        if s.result.surface.dim == 1:
            self._grads = gradients(s.result.surface, s.result.params)[..., 0]
        x0 = s.result.params[:, 0]
        self._parts["start"].data = {
            "x": [x0[0, 0]],
            "y": [x0[0, 1] if x0.shape[1] > 1 else s.result.loss[0, 0]],
        }
        self.traj.show(s.step)
        self._markers(s.step)
        self._tables(s.step)

    # ----- per frame -------------------------------------------------------------------------------
    @_edits_bokeh
    def _on_step(self, event) -> None:
        if self.state.result is None:
            return
        k = self.state.step  # the latest step, even if this event was queued behind others
        self.traj.advance(k)
        self._markers(k)
        self._frame += 1
        # Tables are text: refresh them twice a second while playing, and on every pause.
        if not self.state.playing or self._frame % (TICKS // 2) == 0:
            self._tables(k)

    @_edits_bokeh
    def _on_pause(self, event) -> None:
        # The race may stop on a frame whose tables were skipped (the end of a race, a pause).
        if not event.new and self.state.result is not None:
            self._tables(self.state.step)

    def _markers(self, k: int) -> None:
        res = self.state.result
        k = min(k, res.steps)
        n = res.params.shape[0]
        colors = self.state.colors()[:n]
        p = res.params[:, k]
        ys = p[:, 1] if p.shape[1] > 1 else res.loss[:, k]
        dead = [i for i in range(n) if 0 <= res.diverged_at[i] <= k]
        # Sent only when the set of diverged racers shown changes, not every frame.
        dead_key = (id(res), tuple(dead))
        if dead_key != self._dead_key:
            self._dead_key = dead_key
            self._parts["dead"].data = self._pinned(res, dead, p, ys, colors)
        if "tangents" in self._parts and self._grads is not None:
            lo, hi = res.surface.domain[0]
            w = 0.12 * (hi - lo)
            g = self._grads[:, k]
            self._parts["tangents"].data = {
                "x0": p[:, 0] - w, "x1": p[:, 0] + w,
                "y0": ys - g * w, "y1": ys + g * w, "color": colors,
            }  # fmt: skip

    @staticmethod
    def _pinned(res, dead, p, ys, colors) -> dict:
        """Diverged racers' crosses, pinned inside the drawn domain: the frozen point of a runaway
        racer can be far outside it. Labels sit on the side facing the centre, so they are never cut."""
        (x_lo, x_hi), *rest = res.surface.domain
        y_lo, y_hi = rest[0] if rest else (float(np.min(ys)), float(np.max(ys)))
        mx, my = 0.03 * (x_hi - x_lo), 0.04 * (y_hi - y_lo)
        xs = [min(max(p[i, 0], x_lo + mx), x_hi - mx) for i in dead]
        right = [x > 0.5 * (x_lo + x_hi) for x in xs]
        return {
            "x": xs,
            "y": [min(max(ys[i], y_lo + my), y_hi - my) for i in dead],
            "color": [colors[i] for i in dead],
            "text": [f"diverged at step {res.diverged_at[i]}" for i in dead],
            "align": ["right" if r else "left" for r in right],
            "xoff": [-12 if r else 12 for r in right],
        }

    def _tables(self, k: int) -> None:
        s = self.state
        rows = s.leaderboard()
        body = "".join(
            f"<tr><td><span class='swatch' style='background:{r['color']}'></span>{as_html(r['racer'])}</td>"
            f"<td>{r['loss']:.4g}</td><td>{r['distance']:.3g}</td>"
            f"<td>{r['first'] if r['first'] is not None else '–'}</td>"
            f"<td class='status {r['status'].split()[0]}'>{as_html(r['status'])}</td></tr>"
            for r in rows
        )
        self.board.object = (
            f"<table class='board'><caption>Leaderboard at step {k}</caption>"
            "<tr><th>racer</th><th>loss</th><th>distance to min</th><th>first within 1e-6</th><th>status</th></tr>"
            f"{body}</table>"
        )
        if s.result.surface.dim == 1 and self._grads is not None:
            self.iterates.object = self._iterate_table(k)
        else:
            self.iterates.object = ""

    def _iterate_table(self, k: int) -> str:
        """x_t and f'(x_t) per racer: the first steps (on x² − 4x + 3 with lr 0.3 from 0: 0 -> 1.2 -> 1.68) and the latest."""
        res = self.state.result
        ts = list(range(min(k, 5) + 1))
        ts += [t for t in range(max(k - 5, 0), k + 1) if t not in ts]
        head = "".join(
            f"<th><span class='swatch' style='background:{self.state.color(i)}'></span>x<sub>t</sub></th>"
            f"<th>f'(x<sub>t</sub>)</th>"
            for i in range(res.params.shape[0])
        )
        body = ""
        prev = None
        for t in ts:
            if prev is not None and t != prev + 1:
                body += "<tr><td>⋮</td></tr>"
            cells = "".join(
                f"<td>{res.params[i, t, 0]:.6g}</td><td>{self._grads[i, t]:.6g}</td>"
                for i in range(res.params.shape[0])
            )
            body += f"<tr><td>{t}</td>{cells}</tr>"
            prev = t
        return f"<table class='iterates'><caption>Iterates</caption><tr><th>t</th>{head}</tr>{body}</table>"

    # ----- input from the plot -------------------------------------------------------------------
    def _on_tap(self, event) -> None:
        if self.state.result.surface.dim == 2:
            self.state.set_start(event.x, event.y)
        else:
            self.state.set_start(event.x)

"""The learning-rate card: each racer's sensitivity to its learning rate, and one click to tune it.

Built when its card is first opened (page.py); from then on it follows the race. The sweeps (one
vmapped call per racer, optimizers.tune.lr_sweeps) do not depend on a racer's own learning rate, so
they are kept by everything else the racer and the race are made of: moving a learning-rate
slider only moves the racer's mark. A new race of the same racers and look moves the drawn plot's
curves and marks in place; only a new set of racers (or look) draws a new figure.

On a costly surface (`Surface.cost`: the network's landscape, where a step is the network's loss
and gradient on its data) the sweeps of all the racers together keep to the bound every card
shares (work_bound.MAX_WORK): each racer gets the largest of TUNE_GRIDS learning rates that fits,
and the card says so. Sweeps not yet computed run under the page's busy indicator.
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import replace

import numpy as np
import panel as pn

from optimizers import Racer
from optimizers.tune import DEFAULT_GRID, lr_sweeps, with_lr
from optirace.fairness import changes, racer_name
from optirace.figures.sensitivity import TAG, sensitivity_data, sensitivity_figure
from optirace.text import as_html

from .busy import Busy
from .state import RaceState
from .styles import html_pane
from .work_bound import MAX_WORK

log = logging.getLogger("optirace.app")

__all__ = ["TunePanel", "legend_names", "fitted_grid", "TUNE_GRIDS"]

_KEPT = 64  # sweeps kept per session (one per racer and race inputs)
# Learning rates per racer on a costly surface, largest first. A few fixed sizes rather than any
# integer: each size is a compiled program of its own, and these stay in the compilation cache.
TUNE_GRIDS = (64, 32, 16, 8)


def fitted_grid(grid: int, racers: int, steps: int, cost: float) -> int:
    """Learning rates per racer: `grid` on a closed-form surface; on a costlier one the largest of
    `grid` and the smaller TUNE_GRIDS whose sweeps, for all the racers, fit MAX_WORK (0 if none does)."""
    if cost <= 1:
        return grid
    for g in (grid, *(g for g in TUNE_GRIDS if g < grid)):
        if racers * g * steps * cost <= MAX_WORK:
            return g
    return 0


def why(grid: int, fitted: int, cost: float) -> str:
    """The card's plain words for fewer learning rates on a costly surface ("" when there are as many)."""
    if fitted >= grid:
        return ""
    return (f"{fitted} learning rates per racer on this surface ({grid} on a closed-form one): one step here "
            f"costs as much as {cost:g} steps of a closed-form surface, and one card's work is bounded "
            f"({MAX_WORK:,} closed-form run-steps for all the racers).")  # fmt: skip


def legend_names(specs) -> list[str]:
    """Each racer's name in the plot: its label or optimizer; a repeated name gets its number."""
    names = [racer_name(s) for s in specs]
    return [n if names.count(n) == 1 else f"{n} ({i + 1})" for i, n in enumerate(names)]


class TunePanel(pn.viewable.Viewer):
    def __init__(self, state: RaceState, grid: int = DEFAULT_GRID, **params) -> None:
        super().__init__(**params)
        self.state = state
        self.grid = grid
        self.tune_button = pn.widgets.Button(
            label="Tune lr", color="primary", width=100, css_classes=["tune-lr"]
        )
        self.undo_button = pn.widgets.Button(label="Undo", width=90, disabled=True, css_classes=["tune-undo"])
        self.tune_button.on_click(lambda e: self.tune())
        self.undo_button.on_click(lambda e: self.undo())
        hint = ("Final loss after the race's steps against each racer's learning rate, over its slider's "
                "range (log-log); the dot is the racer's own. <b>Tune lr</b> sets every racer to the "
                "learning rate with the lowest final loss (diverged runs count as +inf).")  # fmt: skip
        self.status = html_pane("", css_classes=["tune-status"], sizing_mode="stretch_width")
        self.note = html_pane("", css_classes=["tune-note"], sizing_mode="stretch_width")
        self.plot = pn.Column(sizing_mode="stretch_width", min_height=340, css_classes=["sensitivity"])
        self.busy = Busy(self.plot)
        self.format = pn.widgets.Select(options=["png", "svg", "pdf"], value="png", width=70)
        self.download = pn.widgets.FileDownload(callback=self._still, filename="sensitivity.png", label="Download",
                                                width=110, css_classes=["sensitivity-download"])  # fmt: skip
        self.format.param.watch(lambda e: setattr(self.download, "filename", f"sensitivity.{e.new}"), "value")
        self._layout = pn.Column(
            html_pane(f"<span class='hint'>{hint}</span>", sizing_mode="stretch_width"),
            pn.Row(self.tune_button, self.undo_button, pn.Spacer(width=20), self.format, self.download),
            self.note, self.status, self.plot, sizing_mode="stretch_width",
        )  # fmt: skip
        self._cache: dict[str, object] = {}
        self._before: list[dict] | None = None  # the racers before the last tuning, for Undo
        self._tuned: list[dict] | None = None
        self._key = None
        self._fig = None
        state.param.watch(self._on_change, ["result", "theme", "present"])
        state.param.watch(self._on_racers, ["racers"])
        self._draw()

    def __panel__(self):
        return self._layout

    # ----- the sweeps ---------------------------------------------------------------------------
    def _scene(self) -> dict:
        s = self.state
        return dict(steps=s.steps, start=s.start, noise=s.noise, seed=s.seed, batch_size=s.batch_size,
                    surface_params=s.surface_params())  # fmt: skip

    def fitted(self) -> int:
        """Learning rates per racer for the current race (fitted_grid); refuses a race whose sweeps
        would pass the bound even at the smallest grid."""
        s = self.state
        cost = s.surface_obj.cost
        grid = fitted_grid(self.grid, len(s.racers), s.steps, cost)
        if not grid:
            raise ValueError(f"learning-rate sweeps: one step on this surface costs as much as {cost:g} steps of a "
                             f"closed-form surface, and not even {min(TUNE_GRIDS)} learning rates for each of "
                             f"{len(s.racers)} racers over {s.steps} steps fit one card's work; race fewer steps "
                             "or fewer racers to sweep them")  # fmt: skip
        return grid

    def _keys(self, grid: int) -> list[str]:
        s, scene = self.state, self._scene()
        # Keyed by everything but the learning rate, which the sweep sets itself.
        return [json.dumps([s.surface, with_lr(spec, 1.0), scene, grid], sort_keys=True, default=str)
                for spec in s.racers]  # fmt: skip

    def _missing(self) -> bool:
        """Whether drawing now computes a sweep (then it runs under the busy indicator)."""
        try:
            return any(k not in self._cache for k in self._keys(self.fitted()))
        except ValueError:
            return False

    def sweeps(self) -> list:
        """Each racer's sweep for the current race, computed for the racers not seen before."""
        s, scene = self.state, self._scene()
        grid = self.fitted()
        cost = s.surface_obj.cost
        # Checked again here, whatever fitted_grid did: no sweeps beyond the bound on a costly surface.
        if cost > 1 and len(s.racers) * grid * s.steps * cost > MAX_WORK:
            raise ValueError(f"learning-rate sweeps: {len(s.racers)} racers x {grid} learning rates x {s.steps} "
                             f"steps is more than this page sweeps on this surface")  # fmt: skip
        self.note.object = as_html(why(self.grid, grid, cost))
        out = []
        for spec, key in zip(s.racers, self._keys(grid), strict=True):
            sweep = self._cache.get(key)
            if sweep is None:
                (sweep,) = lr_sweeps(s.surface, [spec], grid=grid, **scene)
                while len(self._cache) >= _KEPT:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[key] = sweep
            out.append(sweep)
        # The racer's own rate (the cached sweep may have been made with another).
        return [
            replace(w, before=float(Racer.from_spec(r).base_lr)) for w, r in zip(out, s.racers, strict=True)
        ]

    # ----- drawing ------------------------------------------------------------------------------
    def _current(self) -> list[tuple[float, float]]:
        res = self.state.result
        final = np.where(res.diverged_at >= 0, np.inf, res.loss[:, -1])
        return [(float(r.base_lr), float(x)) for r, x in zip(res.racers, final, strict=True)]

    def _on_change(self, *_):
        self._draw()

    def _draw(self) -> None:
        s = self.state
        if s.result is None or len(s.result.racers) != len(s.racers):
            return
        # Sweeps to compute (opening the card, a new race) take a while: under the busy indicator.
        # Moving a mark only is at once, and without it.
        if self._missing():
            self.busy(self._draw_now)
        else:
            self._draw_now()

    def _draw_now(self) -> None:
        s = self.state
        if s.result is None or len(s.result.racers) != len(s.racers):
            return
        try:
            sweeps = self.sweeps()
        except ValueError as e:  # a race too costly to sweep here, or one the engine refuses (rare: it raced)
            self.note.object = ""
            self.status.object = f"<span class='error'>{as_html(e)}</span>"
            return
        current = self._current()
        data = sensitivity_data(sweeps, current, s.result.surface.min_value)
        labels = legend_names(s.racers)
        dead = tuple(d for _, _, d in data.marks)
        key = (tuple(labels), tuple(s.colors()), s.theme, s.present, s.steps, dead)
        if key == self._key and self._fig is not None:
            self._move(data)
            return
        fig = self.figure()
        import holoviews as hv

        fig = fig.opts(responsive=True, min_height=320, height=340, backend="bokeh")
        bk = hv.renderer("bokeh").get_plot(fig)
        self._fig = bk.state
        bk.document = None  # drawn once, then moved in place here: not tied to the session's document
        self._key = key
        self.plot.objects = [pn.pane.Bokeh(self._fig, sizing_mode="stretch_width", height=340)]

    def _move(self, data) -> None:
        """The same plot with a new race's curves, marks and limits (no new figure)."""
        fig = self._fig
        # Widget events reach Python without the session's lock: unlocked() sends these as one message.
        with pn.io.unlocked():
            for r in fig.renderers:
                for t in r.tags:
                    if not (isinstance(t, str) and t.startswith(TAG + ":")):
                        continue
                    _, _, role, i = t.split(":")
                    if role == "curve":
                        x, y = data.curves[int(i)]
                    else:
                        x, y, _ = data.marks[int(i)]
                        x, y = [x], [y]
                    r.data_source.data = {"lr": np.asarray(x), "gap": np.asarray(y)}
            fig.x_range.start, fig.x_range.end = data.xlim
            fig.y_range.start, fig.y_range.end = data.ylim

    def figure(self, **options):
        """The plot as drawn now, described for any backend (the still export renders it with matplotlib)."""
        s = self.state
        return sensitivity_figure(self.sweeps(), legend_names(s.racers), self._current(), s.result.surface.min_value,
                                  s.theme, s.present, colors=s.colors(), steps=s.steps, **options)  # fmt: skip

    def _still(self):
        """The plot as a PNG, SVG or PDF still (matplotlib, 1280x720, as the race's stills)."""
        import io
        import tempfile
        from pathlib import Path

        from optirace.export.view import write_view

        with tempfile.TemporaryDirectory() as tmp:
            path = write_view(
                self.figure(), Path(tmp) / f"sensitivity.{self.format.value}", theme=self.state.theme
            )
            return io.BytesIO(path.read_bytes())

    # ----- tuning -------------------------------------------------------------------------------
    def tune(self) -> None:
        s = self.state
        try:
            sweeps = self.sweeps()
            tuned = [with_lr(spec, w.best) for spec, w in zip(s.racers, sweeps, strict=True)]
        except ValueError as e:
            s.error = str(e)
            return
        before = copy.deepcopy(s.racers)
        lines = changes([racer_name(r) for r in s.racers], sweeps)
        self._before, self._tuned = before, tuned
        s.racers = tuned
        self.undo_button.disabled = False
        self.status.object = "<br>".join(as_html(t) for t in lines)
        log.info("tuned %d racers' learning rates", len(tuned))

    def undo(self) -> None:
        if self._before is None:
            return
        before, self._before, self._tuned = self._before, None, None
        self.state.racers = before
        self.undo_button.disabled = True
        self.status.object = "Learning rates restored."

    def _on_racers(self, event) -> None:
        # Undo restores the racers of before the tuning only while they are still the tuned ones:
        # after any other change it would throw that change away.
        if self._tuned is not None and event.new != self._tuned:
            self._before = self._tuned = None
            self.undo_button.disabled = True

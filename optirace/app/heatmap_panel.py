"""The lr x β card: one racer's final loss over a grid of learning rates and momenta; a click races a cell.

Built when its card is first opened (page.py). The map (optimizers.maps.lr_beta_map, one vmapped
call over the whole grid) is computed on the button, for a racer of the race with a momentum or
beta1, with the race's own surface, start, steps, noise and seed. It does not depend on the racer's
own lr and β, so moving those (with the racer's sliders, or by clicking a cell) only moves the
racer's mark; any other change of the race or the racer leaves the map out of date, and it is
taken away until it is computed again.

Clicking a cell sets the racer's lr and β to the cell's through the state's racer edit
(`RaceState.update_racer`, the sliders' own path): the race runs again and the racer's card, the
plots and the link follow.
"""

from __future__ import annotations

import json
import logging
import math

import numpy as np
import panel as pn
from bokeh.events import Tap

from optimizers.maps import DEFAULT_SIDE, beta_name, lr_beta_map, with_lr_beta
from optirace.figures.heatmap import TAG, beta_label, heatmap_data, heatmap_figure
from optirace.text import as_html

from .busy import Busy
from .state import RaceState
from .styles import html_pane
from .tune_panel import legend_names
from .work_bound import MAX_WORK

log = logging.getLogger("optirace.app")

__all__ = ["HeatmapPanel", "mappable", "fitted_side"]

_HEIGHT = 380
MIN_SIDE = 4  # fewer values per axis than this is no map


def fitted_side(side: int, steps: int, cost: float) -> int:
    """Values per axis for the map on a surface of this cost: `side` on a closed-form surface; on a
    costlier one (the network's landscape) as many as fit the basins card's bound on one map's work
    at the race's steps (0 if not even MIN_SIDE do)."""
    if cost <= 1:
        return side
    fits = min(side, math.isqrt(int(MAX_WORK // (steps * cost))))
    return fits if fits >= MIN_SIDE else 0


def mappable(spec) -> bool:
    """Whether an lr x β map can be drawn for this racer: it has a momentum or beta1 that no
    schedule cycles."""
    try:
        with_lr_beta(spec, 1.0, 0.5)
        return beta_name(spec) is not None
    except ValueError:
        return False


def _key(spec) -> str:
    """The racer without its lr and β (which the map sets itself): a map is this racer's as long as
    this stays the same."""
    return json.dumps(with_lr_beta(spec, 1.0, 0.5), sort_keys=True, default=str)


class HeatmapPanel(pn.viewable.Viewer):
    def __init__(self, state: RaceState, side: int = DEFAULT_SIDE, **params) -> None:
        super().__init__(**params)
        self.state = state
        self.side = side
        self.racer = pn.widgets.Select(label="racer", options={}, width=260, css_classes=["heatmap-racer"])
        self.compute_button = pn.widgets.Button(label="Compute map", color="primary", width=130,
                                                css_classes=["heatmap-compute"])  # fmt: skip
        self.compute_button.on_click(lambda e: self.busy(self.compute))
        hint = (f"Final loss after the race's steps for a {side} × {side} grid of learning rates (log) and "
                "momentum or β₁, over their sliders' ranges, with the race's start, steps, noise and seed; "
                "grey cells diverged, the dot is the racer's own setting. <b>Click a cell</b> to race "
                "that setting.")  # fmt: skip
        self.status = html_pane("", css_classes=["heatmap-status"], sizing_mode="stretch_width")
        self.plot = pn.Column(sizing_mode="stretch_width", min_height=_HEIGHT, css_classes=["heatmap"])
        self.busy = Busy(self.plot)
        self._layout = pn.Column(
            html_pane(f"<span class='hint'>{hint}</span>", sizing_mode="stretch_width"),
            pn.Row(self.racer, self.compute_button), self.status, self.plot, sizing_mode="stretch_width",
        )  # fmt: skip
        self.map = None  # the LrBetaMap drawn, and what it was made of
        self._made_of = None
        self._fig = None
        state.param.watch(self._on_race, ["result"])
        state.param.watch(self._on_look, ["theme", "present"])
        self._choices()

    def __panel__(self):
        return self._layout

    # ----- which racer --------------------------------------------------------------------------
    def _choices(self) -> None:
        s = self.state
        names = legend_names(s.racers)
        options = {n: i for i, (n, spec) in enumerate(zip(names, s.racers, strict=True)) if mappable(spec)}
        keep = self.racer.value if self.racer.value in options.values() else None
        if options != self.racer.options:  # a slider move leaves them as they were: nothing to send
            self.racer.options = options
        want = keep if keep is not None else next(iter(options.values()), None)
        if self.racer.value != want:
            self.racer.value = want
        self.compute_button.disabled = not options
        if not options and self.map is None:
            self.status.object = (
                "No racer of this race has a momentum or β₁ to map (or its schedule cycles it): add one "
                "such as sgd with momentum, nag, rmsprop, adam or lion."
            )

    def _scene(self) -> tuple:
        s = self.state
        return (s.surface, s.formula, s.domain, s.steps, s.start, s.noise, s.seed, s.batch_size,
                json.dumps(s.surface_params(), sort_keys=True))  # fmt: skip

    def _index(self) -> int | None:
        """The map's racer in the race now: the racer it was made for, if nothing but its lr and β
        changed (found again if racers before it came or went), and the race is the same."""
        if self.map is None or self._made_of is None or self._made_of[1] != self._scene():
            return None
        key = self._made_of[0]
        for i, spec in enumerate(self.state.racers):
            if mappable(spec) and _key(spec) == key:
                return i
        return None

    # ----- computing ----------------------------------------------------------------------------
    def compute(self) -> None:
        s, index = self.state, self.racer.value
        if s.result is None or index is None or not 0 <= index < len(s.racers):
            return
        spec = s.racers[index]
        surface = s.result.surface
        side = fitted_side(self.side, s.steps, surface.cost)
        try:
            if not side:
                raise ValueError(f"lr x β map: one step on this surface costs as much as {surface.cost:g} steps of a "
                                 f"closed-form surface, and not even {MIN_SIDE} × {MIN_SIDE} cells of {s.steps} "
                                 "steps fit one map's work; race fewer steps to map it")  # fmt: skip
            m = lr_beta_map(surface, spec, steps=s.steps, start=s.start, lrs=side, betas=side, noise=s.noise,
                            seed=s.seed, batch_size=s.batch_size, surface_params=s.surface_params())  # fmt: skip
        except ValueError as e:
            self.status.object = f"<span class='error'>{as_html(e)}</span>"
            return
        self.map, self._made_of = m, (_key(spec), self._scene())
        log.info("lr x beta map of %d x %d cells", len(m.lrs), len(m.betas))
        self.status.object = self._summary(m)
        if side < self.side:
            self.status.object += (
                "<br><span class='hint'>"
                + as_html(
                    f"{side} × {side} cells on this surface: one step here costs as much as {surface.cost:g} steps "
                    "of a closed-form surface, and one map's work is bounded."
                )
                + "</span>"
            )
        self._draw()

    def _summary(self, m) -> str:
        finite = np.where(m.diverged, np.inf, m.loss)
        i, j = np.unravel_index(int(np.argmin(finite)), finite.shape)
        name = beta_label(m.beta_name)
        if not np.isfinite(finite[i, j]):
            return f"Every one of the {m.loss.size} runs diverged."
        return as_html(
            f"{int(m.diverged.sum())} of {m.loss.size} runs diverged; the lowest final loss, "
            f"{finite[i, j]:.3g}, is at lr {m.lrs[j]:.3g}, {name} {m.betas[i]:.3g}."
        )

    # ----- drawing ------------------------------------------------------------------------------
    def _mark(self) -> tuple[float, float] | None:
        index = self._index()
        if index is None:
            return None
        from optimizers import Racer

        owner = Racer.from_spec(self.state.racers[index]).lr_owner
        return float(owner.hp[self.map.lr_name]), float(owner.hp[self.map.beta_name])

    def figure(self):
        """The map as drawn now, described for any backend."""
        s, index = self.state, self._index()
        label = legend_names(s.racers)[index]
        return heatmap_figure(self.map, label, s.color(index), s.theme, s.present, mark=self._mark())

    def _draw(self) -> None:
        import holoviews as hv

        fig = self.figure().opts(responsive=True, min_height=_HEIGHT - 20, height=_HEIGHT, backend="bokeh")
        plot = hv.renderer("bokeh").get_plot(fig)
        self._fig = plot.state
        plot.document = None  # drawn once, then its mark moved in place: not tied to the session's document
        self._fig.on_event(Tap, self._on_tap)
        self.plot.objects = [pn.pane.Bokeh(self._fig, sizing_mode="stretch_width", height=_HEIGHT)]

    def _on_look(self, *_) -> None:
        if self._index() is not None:
            self._draw()

    def _on_race(self, *_) -> None:
        self._choices()
        if self.map is None:
            return
        if self._index() is None:
            # The race or the racer changed in more than its lr and β: this map is not its map.
            self.map, self._made_of, self._fig = None, None, None
            self.plot.objects = []
            self.status.object = "The race changed since the map was made: compute it again."
            return
        self._move_mark()

    def _move_mark(self) -> None:
        """The racer's mark at its lr and β now (no new figure)."""
        data = heatmap_data(self.map, self._mark())
        with pn.io.unlocked():
            for r in self._fig.renderers:
                if f"{TAG}:mark" in r.tags:
                    source = r.data_source
                    source.data = {
                        **source.data,
                        "lr": np.asarray([data.mark[0]]),
                        "beta": np.asarray([data.mark[1]]),
                    }
            self._fig.x_range.start, self._fig.x_range.end = data.xlim
            self._fig.y_range.start, self._fig.y_range.end = data.ylim

    # ----- clicking a cell ----------------------------------------------------------------------
    def _on_tap(self, event) -> None:
        self.choose(event.x, event.y)

    def choose(self, lr, beta) -> bool:
        """Race the cell under (lr, beta): the map's racer takes its lr and β. False if the point is
        off the map or the map is out of date."""
        m, index = self.map, self._index()
        try:
            lr, beta = float(lr), float(beta)
        except (TypeError, ValueError):
            return False
        if m is None or index is None or not (math.isfinite(lr) and math.isfinite(beta)) or lr <= 0:
            return False
        data = heatmap_data(m)
        if not (
            data.lr_edges[0] <= lr <= data.lr_edges[-1] and data.beta_edges[0] <= beta <= data.beta_edges[-1]
        ):
            return False
        i, j = m.cell(lr, beta)
        prefix = "inner." if m.inner else ""
        changes = {f"{prefix}{m.lr_name}": float(m.lrs[j]), f"{prefix}{m.beta_name}": float(m.betas[i])}
        if not self.state.update_racer(index, **changes):
            return False
        cell = "diverged" if m.diverged[i, j] else f"final loss {m.loss[i, j]:.3g}"
        self.status.object = as_html(
            f"Racing lr {m.lrs[j]:.3g}, {beta_label(m.beta_name)} {m.betas[i]:.3g} (on the map: {cell})."
        )
        return True

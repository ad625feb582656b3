"""The noise as a cloud: the race run with many seeds at once (optimizers.cloud), drawn as a spread.

Shown while the race is random (gradient noise, or a mini-batch size on a data surface). Its
"seeds" box starts at 1, which draws nothing: the cloud is work (one vmapped call of the race
for every seed, then a figure of every seed's path), so it runs only when asked for. From then on
it follows the race: every new race draws a new cloud, under the busy indicator.
"""

from __future__ import annotations

import logging

import panel as pn

from optimizers.cloud import MAX_SEEDS
from optirace.text import as_html

from .busy import Busy
from .state import RaceState
from .styles import html_pane
from .tune_panel import legend_names

log = logging.getLogger("optirace.app")

__all__ = ["CloudPanel", "MAX_POINTS", "is_random"]

# Points of the seeds' paths the page draws at most (seeds x racers x (steps + 1)): 64 seeds of
# 4 racers x 1000 steps. Beyond it the figure is megabytes the browser must take in for one view.
MAX_POINTS = 64 * 4 * 1001


def is_random(state: RaceState) -> bool:
    """Whether another seed gives another race: gradient noise, or mini-batches of a data surface."""
    return state.noise > 0 or (state.batch_size is not None and state.surface_obj.data is not None)


class CloudPanel(pn.viewable.Viewer):
    def __init__(self, state: RaceState, **params) -> None:
        super().__init__(**params)
        self.state = state
        self.seeds = pn.widgets.IntInput(label="seeds", start=1, end=MAX_SEEDS, value=1, step=1, width=110,
                                         css_classes=["cloud-seeds"])  # fmt: skip
        hint = ("The race run with many seeds at once: each seed draws its own noise (or mini-batches). "
                f"1 draws nothing; up to {MAX_SEEDS}. Faint: every seed's path; bold: their mean. Loss: "
                "the median over the seeds, and the band between the 25th and 75th percentiles.")  # fmt: skip
        self.status = html_pane("", css_classes=["cloud-status"], sizing_mode="stretch_width")
        # Never empty (Bokeh flags an empty layout in a page's document): a spacer while nothing is drawn.
        self._nothing = pn.Spacer(height=0)
        self.plot = pn.Column(
            self._nothing, sizing_mode="stretch_width", min_height=40, css_classes=["cloud"]
        )
        self.busy = Busy(self.plot)
        self._layout = pn.Column(
            html_pane("<b>Noise as a cloud</b>", sizing_mode="stretch_width"),
            html_pane(f"<span class='hint'>{hint}</span>", sizing_mode="stretch_width"),
            self.seeds, self.status, self.plot, sizing_mode="stretch_width", css_classes=["cloud-panel"],
        )  # fmt: skip
        self.seeds.param.watch(lambda e: self.busy(self.draw), "value")
        state.param.watch(self._on_change, ["result", "theme", "present"])
        self._key = None
        self._fig = None
        self._show()

    def __panel__(self):
        return self._layout

    def _clear(self) -> None:
        # Only when something is drawn: every race change of a race that is not random comes here,
        # and setting a layout's children, even to the same ones, makes Bokeh walk every model of
        # the session's document (some 600), most of a slider move's time on the server.
        if self.plot.objects != [self._nothing]:
            self.plot.objects = [self._nothing]
        self._fig = self._key = None

    def _show(self) -> bool:
        shown = is_random(self.state)
        self._layout.visible = shown
        return shown

    def _on_change(self, *_) -> None:
        if self._show() and self.seeds.value > 1:
            self.busy(self.draw)
        elif not self._layout.visible:
            self._clear()

    def cloud(self):
        """The cloud of the current race, or None (one seed asked for, or a race that is not random)."""
        import optimizers

        s = self.state
        n = int(self.seeds.value or 1)
        if n <= 1 or not is_random(s):
            return None
        points = n * len(s.racers) * (s.steps + 1)
        if points > MAX_POINTS:
            raise ValueError(f"seeds: {n} seeds x {len(s.racers)} racers x {s.steps} steps is more than the page "
                             f"draws ({MAX_POINTS} points); use fewer seeds or steps")  # fmt: skip
        return optimizers.cloud(s.surface_object(), s.parsed_racers(), steps=s.steps, start=s.start, noise=s.noise,
                                seeds=n, batch_size=s.batch_size, seed=s.seed,
                                surface_params=s.surface_params())  # fmt: skip

    def figure(self, c, **options):
        """The cloud's figure, described for any backend."""
        from optirace.figures.cloud import cloud_figure

        s = self.state
        return cloud_figure(c, legend_names(s.racers), s.theme, s.present, colors=s.colors(), **options)

    def draw(self) -> None:
        s = self.state
        if s.result is None:
            return
        try:
            c = self.cloud()
        except ValueError as e:
            self.status.object = f"<span class='error'>{as_html(e)}</span>"
            self._clear()
            return
        if c is None:
            self.status.object = ""
            self._clear()
            return
        key = (
            c.surface,
            tuple(legend_names(s.racers)),
            tuple(s.colors()),
            s.theme,
            s.present,
            c.params.shape,
        )
        if key == self._key and self._fig is not None and c.surface.dim == 2:
            self._move(c)
        else:
            self._draw_new(c, key)
        self.status.object = f"{c.params.shape[1]} seeds ({c.seeds[0]} to {c.seeds[-1]})"

    def _draw_new(self, c, key) -> None:
        import holoviews as hv

        fig = self.figure(c, sizes={"paths": (420, 400), "loss": (480, 320), "fit": (360, 320)})
        bk = hv.renderer("bokeh").get_plot(fig)
        model = bk.state
        bk.document = None  # drawn once, then moved in place: not tied to the session's document
        self._fig, self._key = model, key
        self.plot.objects = [pn.pane.Bokeh(model, sizing_mode="fixed")]
        log.info("cloud of %d seeds x %d racers x %d steps drawn", c.params.shape[1], len(c.racers), c.steps)

    def _move(self, c) -> None:
        """The drawn figure with a new cloud's data (same racers, seeds, steps and look: a slider moved)."""
        from bokeh.models import GlyphRenderer
        from bokeh.plotting import figure as BokehFigure

        from optirace.figures.cloud import TAG, moved_columns

        columns, ylim = moved_columns(c)
        # Widget events reach Python without the session's lock: unlocked() sends these as one message.
        with pn.io.unlocked():
            for r in self._fig.select({"type": GlyphRenderer}):
                for t in r.tags:
                    role = t[len(TAG) + 1 :] if isinstance(t, str) and t.startswith(TAG + ":") else None
                    if role in columns:
                        r.data_source.data = {**r.data_source.data, **columns[role]}
                    if role == "median:0":
                        loss_plot = next(
                            f for f in self._fig.select({"type": BokehFigure}) if r in f.renderers
                        )
                        loss_plot.y_range.start, loss_plot.y_range.end = ylim

"""The Real training card: the race's racers train a real network, at full dimension.

Built when its card is first opened (page.py). "Train" trains the small MLP of surfaces/mlp.py (all
its parameters, full batch) once per racer, with the racer's optimizer, learning rate, schedule and
clipping, from the one initialisation the race's seed draws (optimizers.training.train: one jitted
call), and draws each racer's training and held-out loss in the race's colours. Training takes
seconds, so it runs when asked, under the card's busy spinner; a change of racers after it is said.
"""

from __future__ import annotations

import logging

import panel as pn

from optimizers.training import MAX_TRAINING_STEPS, train
from optirace.figures.training import training_figure
from optirace.text import as_html

from .busy import Busy
from .state import RaceState
from .styles import html_pane
from .tune_panel import legend_names

log = logging.getLogger("optirace.app")

__all__ = ["TrainingPanel"]

STEPS = [s for s in (100, 250, 500, 1000, 2000) if s <= MAX_TRAINING_STEPS]


class TrainingPanel(pn.viewable.Viewer):
    def __init__(self, state: RaceState, **params) -> None:
        super().__init__(**params)
        self.state = state
        self.train_button = pn.widgets.Button(label="Train", color="primary", width=100,
                                              css_classes=["train-network"])  # fmt: skip
        self.steps = pn.widgets.Select(options=STEPS, value=500, width=90, css_classes=["train-steps"])
        self.status = html_pane("", css_classes=["training-status"], sizing_mode="stretch_width")
        self.plot = pn.Column(sizing_mode="stretch_width", min_height=300, css_classes=["training-plot"])
        self.busy = Busy(self.plot)
        self.train_button.on_click(lambda e: self.busy(self.train))
        hint = ("Trains a real network: a small MLP (two hidden layers of 16 tanh units, 337 parameters) "
                "classifying 128 points of two moons, all its parameters at once, full batch. Each racer "
                "trains its own copy with its optimizer, learning rate, schedule and clipping, from one "
                "initialisation drawn by the race's seed; the curves are its loss on the training points "
                "(solid) and on 128 held-out points (dashed). The race above moves along a 2-D slice; "
                "this is the training itself.")  # fmt: skip
        self._layout = pn.Column(
            html_pane(f"<span class='hint'>{hint}</span>", sizing_mode="stretch_width"),
            pn.Row(self.train_button, pn.pane.HTML("steps", margin=(12, 4, 0, 16)), self.steps),
            self.status, self.plot, sizing_mode="stretch_width",
        )  # fmt: skip
        self.result = None
        self._trained = None  # the racers and seed the drawn curves are of
        state.param.watch(self._on_change, ["racers", "seed"])

    def __panel__(self):
        return self._layout

    def train(self) -> None:
        """Train the current racers and draw their curves; a refusal is said in the card."""
        s = self.state
        racers, seed, steps = [dict(r) for r in s.racers], int(s.seed), int(self.steps.value)
        try:
            result = train(racers, steps=steps, seed=seed)
        except ValueError as e:
            self.status.object = f"<span class='error'>{as_html(e)}</span>"
            return
        import holoviews as hv

        fig = training_figure(result, legend_names(racers), s.colors(), s.theme, s.present)
        fig = fig.opts(responsive=True, min_height=280, height=300, backend="bokeh")
        plot = hv.renderer("bokeh").get_plot(fig)
        plot.document = None  # drawn once per training: not tied to the session's document
        self.result, self._trained = result, (racers, seed)
        self.plot.objects = [pn.pane.Bokeh(plot.state, sizing_mode="stretch_width", height=300)]
        self.status.object = as_html(f"Trained {len(racers)} racer(s) for {steps} steps from seed {seed}.")
        log.info("trained the network with %d racers x %d steps", len(racers), steps)

    def _on_change(self, *_) -> None:
        if self._trained is None:
            return
        racers, seed = self._trained
        if (racers, seed) != ([dict(r) for r in self.state.racers], int(self.state.seed)):
            self.status.object = as_html("The racers or the seed changed since: press Train to train them.")

"""Keeps the page's figures and player in step with the state. The server does nothing per frame.

The figures are `optirace.figures` rendered with the Bokeh backend, once per structure (surface,
racers' colours, look, panels); a new race of the same structure is sent to the page's player in
one message (optirace/figures/player.py), and the page plays it. The server learns the step when
the user pauses, steps or scrubs (the player's `report`).
"""

from __future__ import annotations

import functools
import logging

import panel as pn
from bokeh.events import Tap

from optirace.figures.played import bokeh_panels, fit, limits, relabel, slot_count
from optirace.figures.player import Player, tagged
from optirace.figures.race import panel_names

from .state import RaceState

log = logging.getLogger("optirace.app")


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
        self.player = Player(speed=state.speed, loop=state.loop, autoplay=state.playing, report=True,
                             present=state.present)  # fmt: skip
        self.player.slider.value = int(state.step)
        self.main = pn.Column(sizing_mode="stretch_both", min_height=340)
        self.loss_pane = pn.Column(sizing_mode="stretch_both", min_height=170)
        self.lr_pane = pn.Column(sizing_mode="stretch_both", min_height=170)
        self.bar = pn.pane.Bokeh(self.player.bar(compact=state.embed), sizing_mode="stretch_width",
                                 css_classes=["playback"])  # fmt: skip
        self.board = pn.pane.Bokeh(self.player.board, sizing_mode="stretch_width")
        self.iterates = pn.pane.Bokeh(self.player.iterates, sizing_mode="stretch_width")
        self._key = None
        self._figs: dict = {}
        self._labels = None
        self.player.report.on_change("data", self._on_report)
        self.player.speed.on_change("value", lambda attr, old, new: setattr(state, "speed", float(new)))
        self.player.loop.on_change("active", lambda attr, old, new: setattr(state, "loop", bool(new)))
        state.param.watch(self._on_result, ["result"])
        state.param.watch(self._on_look, ["theme", "present"])
        self._on_result()

    # ----- building ----------------------------------------------------------------------------
    def _structure(self):
        s = self.state
        # Racers come and go within the figure's slots (optirace/figures/played.py): no new figure.
        return (s.surface, slot_count(s.slots()), s.theme, s.present, s.kappa, tuple(panel_names(s.result)))

    def _labels_now(self) -> list[str]:
        return [self.state.label(i) for i in range(len(self.state.racers))]

    def _build(self) -> None:
        s = self.state
        res = s.result
        figs = bokeh_panels(res, self._labels_now(), s.theme, s.present, kappa=s.kappa, slots=s.slots())
        figs["contour"].on_event(Tap, self._on_tap)
        self._figs = figs
        self.player.attach(*figs.values())
        self.main.objects = [pn.pane.Bokeh(figs["contour"], sizing_mode="stretch_both")]
        self.loss_pane.objects = [pn.pane.Bokeh(figs["loss"], sizing_mode="stretch_both")]
        curves = [
            pn.pane.Bokeh(figs[name], sizing_mode="stretch_both")
            for name in ("lr", "momentum")
            if name in figs
        ]
        self.lr_pane.objects = curves

    def _relabel(self) -> None:
        """Legend entries follow the racers in place, by slot: a slider move, a racer added or
        removed must not rebuild the figures."""
        labels = self._labels_now()
        key = (tuple(labels), tuple(self.state.slots()))
        if key == self._labels:
            return
        self._labels = key
        relabel(self._figs, labels, self.state.slots())

    @_edits_bokeh
    def _on_look(self, *_):
        self.player.set_present(self.state.present)
        self._key = None
        self._on_result()

    @_edits_bokeh
    def _on_result(self, *_) -> None:
        s = self.state
        if s.result is None:
            return
        key = self._structure()
        if key != self._key:
            self._build()
            self._key = key
            self._labels = None
        else:
            fit(self._figs, s.result)
        self._relabel()
        self.player.load(s.result, self._labels_now(), s.colors(), *limits(s.result), slots=s.slots(),
                         kappa=s.kappa, noise=s.noise)  # fmt: skip

    # ----- input from the page -------------------------------------------------------------------
    def _on_report(self, attr, old, new) -> None:
        """The page paused, stepped or scrubbed: the server learns where it is."""
        try:
            step, playing = int(new["step"][0]), bool(new["playing"][0])
        except (KeyError, IndexError, TypeError, ValueError):
            return  # a report is only ever what player.js writes; anything else is ignored
        s = self.state
        if s.result is None:
            return
        try:
            s.param.update(step=max(0, min(step, s.result.steps)), playing=playing)
        except Exception as e:  # noqa: BLE001 (any failure stays in this session, said here and in the log)
            log.exception("session: the step the page reported could not be applied")
            s.error = f"the step could not be applied ({type(e).__name__}: {e})"[:300]

    def _on_tap(self, event) -> None:
        if self.state.result.surface.dim == 2:
            self.state.set_start(event.x, event.y)
        else:
            self.state.set_start(event.x)


__all__ = ["RaceView", "tagged"]

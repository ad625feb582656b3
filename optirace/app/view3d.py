"""The surface in 3D beside the 2-D panel: a switch shows one or the other in the same place.

The 3-D figure (optirace/figures/surface3d.py) is drawn by plotly in the page, which turns it with the
mouse at no cost to the server. It follows the player as the server knows it: at rest, the paths end
at the step the player paused, stepped or scrubbed to (the page reports those, figures/player.js);
while the race plays, the whole paths are shown. Nothing is done per frame, and nothing at all while
the 2-D view is shown.
"""

from __future__ import annotations

import logging

import panel as pn

from optirace.figures.surface3d import plotly_figure, surface3d_figure

from .state import RaceState

__all__ = ["View3D", "VIEWS"]

log = logging.getLogger("optirace.app")
VIEWS = ("2D", "3D")


class View3D:
    """`switch` picks the view; `pane` holds the 3-D figure, shown in place of `flat` (the 2-D panel)."""

    def __init__(self, state: RaceState, flat: pn.viewable.Viewable, preload: bool = True) -> None:
        """`preload`: once the page is live, let it fetch plotly.js and set up an empty 3-D scene (see
        `preload`)."""
        self.state = state
        self.flat = flat
        self.switch = pn.widgets.RadioButtonGroup(
            options=list(VIEWS), value="2D", css_classes=["view-switch"]
        )
        # The plot is made once the page is live (`preload`), or when the 3-D view is asked for: in the
        # page, it makes the browser fetch plotly.js (3.5 MB, from Panel's bundle on this server), which
        # must not delay the race's first picture.
        self.pane = pn.Column(sizing_mode="stretch_both", visible=False, css_classes=["surface3d"])
        self.plot = None
        self._drawn = None
        self.switch.param.watch(self._switched, "value")
        if preload:
            pn.state.onload(self.preload)
        state.param.watch(self._changed, ["result", "step", "playing", "theme", "kappa"])
        self._fit_surface()

    def preload(self) -> None:
        """An empty 3-D plot in the hidden pane: the browser fetches and parses plotly.js (3.5 MB) and
        sets up WebGL while the page is idle, which was most of the wait for the first 3-D view
        (measured on a busy machine: 2.4 s parsing, 1.9 s for the first 3-D scene). The switch then
        only waits for the figure. It runs once the page is live, after the race is drawn."""
        if self.plot is None and self.state.result is not None and self.state.result.surface.dim == 2:
            self._plot(
                {"data": [{"type": "scatter3d", "x": [], "y": [], "z": [], "mode": "lines"}], "layout": {}}
            )

    def _plot(self, fig: dict) -> None:
        if self.plot is None:
            # Plotly's own logo links off the server.
            self.plot = pn.pane.Plotly(fig, sizing_mode="stretch_both", config={"displaylogo": False})
            self.pane.objects = [self.plot]
        else:
            self.plot.object = fig

    @property
    def shown(self) -> bool:
        return self.switch.value == "3D"

    def _fit_surface(self) -> None:
        """A one-variable surface has no 3-D view: the switch is off, on the 2-D view."""
        flat = self.state.result is None or self.state.result.surface.dim != 2
        self.switch.disabled = flat
        if flat and self.shown:
            self.switch.value = "2D"

    def _switched(self, event) -> None:
        three = event.new == "3D"
        self.flat.visible = not three
        self.pane.visible = three
        if three:
            self._draw()

    def _changed(self, *_) -> None:
        self._fit_surface()
        if self.shown:
            self._draw()

    def step(self) -> int:
        """The step the paths end at: the player's at rest, the last one while it plays."""
        s = self.state
        return s.result.steps if s.playing else int(min(s.step, s.result.steps))

    def _draw(self) -> None:
        s = self.state
        if s.result is None or s.result.surface.dim != 2:
            return
        k = self.step()
        key = (id(s.result), k, s.theme, tuple(s.colors()), tuple(map(s.label, range(len(s.racers)))))
        if key == self._drawn:
            return
        labels = [s.label(i) for i in range(len(s.racers))]
        try:
            overlay = surface3d_figure(s.result, labels, s.colors(), s.theme, k=k, kappa=s.kappa)
            self._plot(plotly_figure(overlay, s.theme))
        except Exception as e:  # noqa: BLE001 (the 2-D view and the session go on; said here and in the log)
            log.exception("session: the 3D view could not be drawn")
            s.error = f"the 3D view could not be drawn ({type(e).__name__}: {e})"[:300]
            return
        self._drawn = key

"""The surface in 3D beside the 2-D panel: a switch shows one or the other in the same place.

The 3-D figure (optirace/figures/surface3d.py) is drawn by plotly in the page, which turns it with the
mouse at no cost to the server. It follows the player as the server knows it: at rest, the paths end
at the step the player paused, stepped or scrubbed to (the page reports those, figures/player.js);
while the race plays, the whole paths are shown. Nothing is done per frame, and nothing at all while
the 2-D view is shown. The ghost of the last race (optirace/app/ghost.py) is drawn faint and dashed, as
on the 2-D panels, and follows the same switch.

A pause or step redraws the paths alone: the surface and the look are rendered once per surface
(figures/surface3d.py, `figure3d`), and the Plotly pane sends the page only the arrays that changed.
"""

from __future__ import annotations

import logging

import panel as pn
from bokeh.models import CustomJS
from panel.models.plotly import PlotlyPlot

from optirace.figures.surface3d import figure3d

from .state import RaceState

__all__ = ["View3D", "VIEWS"]

log = logging.getLogger("optirace.app")
VIEWS = ("2D", "3D")
PRELOAD_JS = """
if (!window.Plotly && !window.__optirace3d) {
  window.__optirace3d = 'loading';
  const idle = (f) => (window.requestIdleCallback ? window.requestIdleCallback(f) : setTimeout(f, 0));
  const warm = () => {
    const div = document.createElement('div');
    div.style.cssText = 'position:fixed;left:-10000px;top:0;width:240px;height:240px';
    document.body.appendChild(div);
    window.Plotly.newPlot(div, [{type: 'scatter3d', x: [0, 1], y: [0, 1], z: [0, 1], mode: 'lines'}], {})
      .then(() => { window.Plotly.purge(div); div.remove(); window.__optirace3d = 'ready'; });
  };
  const load = () => {
    const s = document.createElement('script');
    s.src = url;
    s.onload = () => idle(warm);
    document.head.appendChild(s);
  };
  // After the race's first picture, when the page has nothing else to do.
  setTimeout(() => idle(load), 1000);
}
"""


class View3D:
    """`switch` picks the view; `pane` holds the 3-D figure, shown in place of `flat` (the 2-D panel)."""

    def __init__(
        self, state: RaceState, flat: pn.viewable.Viewable, ghost: pn.widgets.Checkbox | None = None
    ) -> None:
        """`ghost`: the ghost's switch (optirace/app/ghost.py); without it, no ghost is drawn."""
        self.state = state
        self.flat = flat
        self.ghost = ghost
        self.switch = pn.widgets.RadioButtonGroup(
            options=list(VIEWS), value="2D", css_classes=["view-switch"]
        )
        # The plot is made when the 3-D view is first asked for (the page may have fetched plotly.js
        # by then: `preload`): in the document from the start, it would make the browser fetch and
        # parse plotly.js before the race's first picture.
        # A spacer until then: Bokeh's checks flag a layout with no children.
        self.pane = pn.Column(
            pn.Spacer(), sizing_mode="stretch_both", visible=False, css_classes=["surface3d"]
        )
        self.plot = None
        self._drawn = None
        self.switch.param.watch(self._switched, "value")
        state.param.watch(self._changed, ["result", "step", "playing", "theme", "kappa", "ghost"])
        if ghost is not None:
            ghost.param.watch(self._changed, "value")
        self._fit_surface()

    @staticmethod
    def preload() -> CustomJS:
        """The page's code, run when its document is ready, that fetches plotly.js (3.5 MB, the copy
        Panel itself loads, from this server) once the page is idle, and sets up a 3-D scene off
        screen. Measured on a busy machine, parsing plotly.js (2.4 s) and the first WebGL scene (1.9 s)
        were most of the first 3-D view's wait; done in the page alone, nothing is added to the
        document, which would lay the figures out again (and repaint them) while a race plays.
        Panel skips loading plotly.js when the page has it (PlotlyPlot.__js_skip__)."""
        return CustomJS(args={"url": PlotlyPlot.__javascript__[0]}, code=PRELOAD_JS)

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
        ghost = s.ghost if self.ghost is not None and self.ghost.value else None
        labels = [s.label(i) for i in range(len(s.racers))]
        key = (
            id(s.result),
            k,
            s.theme,
            s.kappa,
            tuple(s.colors()),
            tuple(labels),
            id(ghost[0]) if ghost else None,
        )
        if key == self._drawn:
            return
        try:
            fig = figure3d(s.result, labels, s.colors(), s.theme, k=k, kappa=s.kappa, ghost=ghost)
            self._plot(fig)
        except Exception as e:  # noqa: BLE001 (the 2-D view and the session go on; said here and in the log)
            log.exception("session: the 3D view could not be drawn")
            s.error = f"the 3D view could not be drawn ({type(e).__name__}: {e})"[:300]
            return
        self._drawn = key

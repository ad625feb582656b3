"""The basins card: where one racer of the race ends from every start of a grid, on demand.

Built when its card is first opened (page.py). The map is computed when asked (one vmapped call,
`optimizers.basins`, under the busy spinner): it is a grid of whole races, too much work to redo on
every slider move. Clicking the map races from that point: it sets the race's start, as a click on
the surface does. A change to what the map is of (the racer, the surface, the budget) says the map
is stale; a new surface clears it.

On a surface whose steps cost more than a closed-form surface's (`Surface.cost`: the network's
landscape, where a step is the network's loss and gradient on its data), the same work bound holds
for fewer starts: the card offers the grids that fit at the race's steps and chooses the largest,
and where not even the smallest grid fits, maps fewer steps than the race's. It says which, and why.
"""

from __future__ import annotations

import logging

import numpy as np
import panel as pn
from bokeh.events import Tap

from optirace.text import as_html

from .busy import Busy
from .state import RaceState
from .styles import html_pane
from .tune_panel import legend_names
from .work_bound import MAX_WORK  # starts x steps of one map (the bound every card shares)

log = logging.getLogger("optirace.app")

__all__ = ["BasinsPanel", "GRIDS", "COSTLY_GRIDS", "DEFAULT_GRID", "MAX_WORK", "plan"]

GRIDS = (32, 64, 128, 256)  # starts per side the card offers; the CLI goes to 1024
# ... and on a costly surface, down to the smallest map optimizers.basins draws
COSTLY_GRIDS = (16, *GRIDS)
DEFAULT_GRID = 128
HEIGHT = 480


def offered(cost: float) -> tuple[int, ...]:
    """The grids the card takes on a surface of this cost."""
    return GRIDS if cost <= 1 else COSTLY_GRIDS


def plan(grid: int, steps: int, cost: float) -> tuple[int, int]:
    """(grid, steps) of the map to draw for a chosen grid and the race's steps, within MAX_WORK.

    A closed-form surface (cost 1) maps what was chosen, or nothing (the caller refuses it). On a
    costlier surface the grid comes down to the largest offered one that fits, the race's steps
    kept; only if even the smallest grid cannot race them do the steps come down, to as many as fit.
    """
    if grid * grid * steps * cost <= MAX_WORK or cost <= 1:
        return grid, steps
    fitting = [g for g in COSTLY_GRIDS if g <= grid and g * g * steps * cost <= MAX_WORK]
    if fitting:
        return max(fitting), steps
    smallest = COSTLY_GRIDS[0]
    return smallest, int(MAX_WORK // (smallest * smallest * cost))


def why(surface, race_steps: int) -> str:
    """The card's plain words for the smaller maps of a costly surface ("" on a closed-form one)."""
    if surface.cost <= 1:
        return ""
    grid, steps = plan(max(COSTLY_GRIDS), race_steps, surface.cost)
    data = surface.data
    over = f" (the loss and its gradient over {len(data.y)} data points)" if data is not None else ""
    most = f"{grid}×{grid} starts" + (
        f" and the first {steps} of the race's {race_steps} steps" if steps < race_steps else ""
    )
    return (f"At most {most} on this surface: one step here{over} costs as much as {surface.cost:g} steps "
            f"of a closed-form surface, and one map's work is bounded ({MAX_WORK:,} closed-form start-steps).")  # fmt: skip


class BasinsPanel(pn.viewable.Viewer):
    def __init__(self, state: RaceState, **params) -> None:
        super().__init__(**params)
        self.state = state
        self.racer = pn.widgets.Select(label="racer", width=200, css_classes=["basins-racer"])
        self.grid = pn.widgets.Select(label="starts per side", options=list(GRIDS), value=DEFAULT_GRID, width=130,
                                      css_classes=["basins-grid"])  # fmt: skip
        self.button = pn.widgets.Button(
            label="Compute map", color="primary", width=130, css_classes=["basins-compute"]
        )
        self.button.on_click(lambda e: self.compute())
        hint = ("Each start of a grid over the surface raced for the race's steps, coloured by the listed "
                "minimum it ends at (or none, or diverged). Click the map to race from that start.")  # fmt: skip
        self.status = html_pane("", css_classes=["basins-status"], sizing_mode="stretch_width")
        self.note = html_pane("", css_classes=["basins-note"], sizing_mode="stretch_width")
        self.plot = pn.Column(sizing_mode="stretch_width", min_height=HEIGHT, css_classes=["basins"])
        self.busy = Busy(self.plot)
        self._layout = pn.Column(
            html_pane(f"<span class='hint'>{hint}</span>", sizing_mode="stretch_width"),
            pn.Row(self.racer, self.grid, self.button), self.note, self.status, self.plot, sizing_mode="stretch_width",
        )  # fmt: skip
        self._fig = None
        self._key = None  # what the drawn map is of
        self._racers()
        state.param.watch(lambda *_: self._racers(), ["racers"])
        state.param.watch(self._on_surface, ["surface", "formula", "domain"])
        state.param.watch(self._on_result, ["result"])
        state.param.watch(lambda *_: self._grids(), ["surface", "formula", "domain", "steps"])
        self._grids()

    def __panel__(self):
        return self._layout

    # ----- inputs -------------------------------------------------------------------------------
    def _racers(self) -> None:
        names = legend_names(self.state.racers)
        keep = self.racer.value if isinstance(self.racer.value, int) and self.racer.value < len(names) else 0
        self.racer.options = {n: i for i, n in enumerate(names)}
        self.racer.value = keep

    def _grids(self) -> None:
        """On a costly surface: offer the grids that fit the race's steps (at least the smallest),
        choose the largest of them, and say why. Elsewhere: every grid, and no note."""
        s = self.state
        cost = s.surface_obj.cost
        if cost <= 1:
            if list(self.grid.options) != list(GRIDS):
                self.grid.options = list(GRIDS)
                self.grid.value = DEFAULT_GRID
            self.note.object = ""
            return
        largest, _ = plan(max(COSTLY_GRIDS), s.steps, cost)
        options = [g for g in COSTLY_GRIDS if g <= largest]
        # Arriving on the surface, the largest map that fits; after a change of steps, the chosen
        # grid if it still fits.
        keep = (
            self.grid.value
            if list(self.grid.options) != list(GRIDS) and self.grid.value in options
            else largest
        )
        self.grid.options = options
        self.grid.value = keep
        self.note.object = f"<span class='hint'>{as_html(why(s.surface_obj, s.steps))}</span>"

    def _what(self) -> tuple:
        """What a map drawn now would be of: a drawn map of anything else is stale."""
        s = self.state
        i = self.racer.value if isinstance(self.racer.value, int) else 0
        spec = s.racers[i] if i < len(s.racers) else None
        return (
            s.surface,
            s.formula,
            s.domain,
            repr(spec),
            s.steps,
            s.noise,
            s.seed,
            repr(s.surface_params()),
        )

    # ----- computing ----------------------------------------------------------------------------
    def compute(self) -> None:
        """Compute and draw the map for the chosen racer, under the busy spinner."""
        self.busy(self._compute)

    def _compute(self) -> None:
        from optirace.figures.basins import basin_map

        s = self.state
        try:
            grid, cost = self.grid.value, s.surface_obj.cost
            grids = offered(cost)
            if grid not in grids:  # a value the page never offered
                raise ValueError(f"grid: use one of {', '.join(map(str, grids))}")
            i = self.racer.value if isinstance(self.racer.value, int) else 0
            if not 0 <= i < len(s.racers):
                raise ValueError("racer: pick one of the race's racers")
            grid, steps = plan(grid, s.steps, cost)
            # Still checked here, whatever `plan` did: no map beyond the bound, whatever the inputs.
            if steps < 1 or grid * grid * steps * cost > MAX_WORK:
                raise ValueError(f"basins: {grid}x{grid} starts x {s.steps} steps is more than this page maps "
                                 f"({MAX_WORK:,} start-steps); use fewer starts or fewer steps")  # fmt: skip
            key = self._what()
            bmap = basin_map(s.surface_obj, s.racers[i], grid=grid, steps=steps, noise=s.noise, seed=s.seed,
                             surface_params=s.surface_params())  # fmt: skip
        except ValueError as e:
            self.status.object = f"<span class='error'>{as_html(e)}</span>"
            return
        self._draw(bmap)
        self._key = key
        shares = bmap.shares()
        # The listed minima's shares, largest first: what the map says in one line.
        parts = [
            f"{as_html(n)}: {p:.0%}"
            for n, p in sorted(zip(bmap.names, shares, strict=True), key=lambda t: -t[1])
            if p > 0
        ]
        note = why(s.surface_obj, s.steps)
        self.status.object = "; ".join(parts) + (
            f"<br><span class='hint'>{as_html(note)}</span>" if note else ""
        )
        log.info("basins: %dx%d starts x %d steps", grid, grid, steps)

    def _draw(self, bmap) -> None:
        import holoviews as hv

        from optirace.figures.basins import basins_figure

        s = self.state
        fig = basins_figure(bmap, s.theme, s.present, start=self._start())
        fig = fig.opts(responsive=True, min_height=320, min_width=300, backend="bokeh")
        plot = hv.renderer("bokeh").get_plot(fig)
        # A 2-D canvas, as the race's figures (optirace/figures/played.py): WebGL emulated on a CPU is slow.
        plot.state.output_backend = "canvas"
        plot.document = None  # drawn once per computation, then moved in place: no session document tie
        self._fig = plot.state
        self._fig.on_event(Tap, self._on_tap)
        self.plot.objects = [pn.pane.Bokeh(self._fig, sizing_mode="stretch_width", height=HEIGHT)]

    def _start(self) -> tuple[float, float]:
        res = self.state.result
        if res is None or res.surface.dim != 2:
            return (np.nan, np.nan)
        return tuple(float(v) for v in res.params[0, 0, :2])

    # ----- following the race -------------------------------------------------------------------
    def _on_tap(self, event) -> None:
        if self.state.surface_obj.dim == 2 and event.x is not None and event.y is not None:
            self.state.set_start(event.x, event.y)

    def _on_result(self, *_) -> None:
        if self._fig is None:
            return
        from optirace.figures.basins import START_TAG

        x, y = self._start()
        with pn.io.unlocked():  # widget events reach Python without the session's lock
            for r in self._fig.renderers:
                if START_TAG in r.tags:
                    r.data_source.data = {**r.data_source.data, "x": np.array([x]), "y": np.array([y])}
        if self._key is not None and self._key != self._what():
            self.status.object = (
                "The race changed since this map was drawn: <b>Compute map</b> draws it anew."
            )

    def _on_surface(self, *_) -> None:
        self._fig = self._key = None
        self.plot.objects = []
        self.status.object = ""

"""The ghost of the last race in the page: after any change, the race before it stays, faint, on the
surface and loss panels until the next change, so a lecturer can show before and after.

On by default: it is what shows a change's effect, and a lecturer who moves a slider in front of a
class wants that "before" on the screen without first finding a switch. It goes on a new surface
and on Reset. The state keeps the last race (RaceState.ghost); this fills the figures' ghost layers
(optirace/figures/ghost.py) once per change, and never per frame.
"""

from __future__ import annotations

import panel as pn

from optirace.figures.ghost import ROLES, ghost_columns
from optirace.figures.player import thinned_rows
from optirace.figures.tags import parse

from .live import RaceView
from .state import RaceState

__all__ = ["GhostView"]

PANEL_OF = {role: kind for kind, role in ROLES.items()}


class GhostView:
    """`switch` shows or hides the ghost; the ghost layers of `view`'s figures follow the state."""

    def __init__(self, state: RaceState, view: RaceView, on: bool = True) -> None:
        self.state = state
        self.view = view
        self.switch = pn.widgets.Checkbox(label="Ghost of last race", value=on, css_classes=["ghost-switch"])
        self._shown = None
        self.switch.param.watch(self._update, "value")
        # After the view's own watcher, which may have made new figures for the new race.
        state.param.watch(self._update, ["result", "ghost"])
        view.player.report.on_change("data", self._on_report)
        self._update()

    def layers(self) -> dict[str, list]:
        """The figures' ghost layers, by panel ("contour", "loss")."""
        out: dict[str, list] = {}
        for m in self.view.player.targets:
            for t in m.tags:
                p = parse(t)
                if p and p[0] in PANEL_OF:
                    out.setdefault(PANEL_OF[p[0]], []).append(m)
        return out

    def _update(self, *_) -> None:
        ghost = self.state.ghost if self.switch.value else None
        layers = self.layers()
        key = (id(ghost[0]) if ghost else None, tuple(id(m) for ms in layers.values() for m in ms))
        if key == self._shown:
            return
        self._shown = key
        with pn.io.unlocked():  # one message for both panels, as the view sends a race
            for kind, models in layers.items():
                if ghost is None:
                    data = ghost_columns(None, (), kind)
                else:
                    res, colors = ghost
                    # The steps the page received of that race: as many points as its own paths had.
                    rows = thinned_rows(res.steps, res.params.shape[0], res.diverged_at)
                    data = ghost_columns(res, colors, kind, rows)
                for m in models:
                    m.data_source.data = data

    def _on_report(self, attr, old, new) -> None:
        """The page's Reset (player.js says so in its report): no "before" any more."""
        if list(new.get("reset", ())) == [1]:
            self.state.reset()

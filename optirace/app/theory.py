"""The "optimal settings" button, shown on surfaces with a theory (the quadratic).

It sets each racer the theory has an optimum for (optirace/figures/theory.py `optimal_spec`):
gradient descent and SGD without momentum to lr = 2/(μ + L), the heavy ball (SGD with momentum,
the averaged momentum rule) to Polyak's lr = 4/(√L + √μ)² and momentum ((√κ − 1)/(√κ + 1))², and
says in a notice what it set and what it left alone. The loss panel's dashed lines then show the
rates these settings achieve (surfaces/theory.py).
"""

from __future__ import annotations

import panel as pn

from optirace.figures.theory import has_theory, optimal_spec
from surfaces.theory import theory

from .plaintext import PlainText
from .state import RaceState

__all__ = ["OptimalSettings"]


class OptimalSettings(pn.viewable.Viewer):
    def __init__(self, state: RaceState, busy=None) -> None:
        super().__init__()
        self.state = state
        self.busy = busy or (lambda work: work())
        self.button = pn.widgets.Button(label="optimal settings", color="success", sizing_mode="stretch_width",
                                        css_classes=["optimal-settings"])  # fmt: skip
        self.notice = PlainText(hide_empty=True, heading="", sizing_mode="stretch_width",
                                css_classes=["optimal-notice"])  # fmt: skip
        self.button.on_click(lambda e: self.busy(self.apply))
        self.box = pn.Column(self.button, self.notice, sizing_mode="stretch_width")
        state.param.watch(self._visible, ["surface"])
        self._visible()

    def __panel__(self) -> pn.Column:
        return self.box

    def _visible(self, *_) -> None:
        self.box.visible = has_theory(self.state.surface)
        if not self.box.visible:
            self.notice.text = ""

    def apply(self) -> None:
        """Set the racers to the theory's optimum for the current kappa; say what was set."""
        s = self.state
        try:
            t = theory(s.surface, kappa=s.kappa)
        except ValueError as e:
            s.error = str(e)
            return
        racers, said, left = [], [], []
        for i, spec in enumerate(s.racers):
            got = optimal_spec(spec, t)
            if got is None:
                racers.append(spec)
                left.append(s.label(i))
            else:
                racers.append(got[0])
                said.append(got[1])
        if said:
            s.racers = racers
        kappa = f"κ = {t['kappa']:g}: "
        text = kappa + ("; ".join(said) if said else "no racer here has a known optimum")
        if left:
            text += f". Left as they were (no closed form): {', '.join(left)}"
        self.notice.heading = "Optimal settings set for"
        self.notice.text = text

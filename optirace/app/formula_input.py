"""The "Your formula" box under the Surface menu: type f(x, y) or f(x), press Enter (or Apply).

The text goes to `RaceState.set_formula`, which reads it with the whitelisting grammar of
surfaces/formula.py; a refusal (with its column) shows in the page's error toast, and the last race
stays. What the check at random points found (not finite, kinks) shows under the box as plain text.
"""

from __future__ import annotations

from collections.abc import Callable

import panel as pn

from optirace.scene import FORMULA
from surfaces.formula import MAX_LENGTH

from .plaintext import PlainText
from .state import RaceState

__all__ = ["FormulaInput", "EXAMPLE"]

EXAMPLE = "x^2 + 3y^2"  # raced when "Your formula" is picked with nothing typed yet


class FormulaInput(pn.viewable.Viewer):
    def __init__(
        self,
        state: RaceState,
        busy: Callable[[Callable[[], None]], None] | None = None,
        refused: Callable[[], None] | None = None,
    ) -> None:
        """`busy(work)` runs the race (perhaps on a later tick); `refused()` is called if the
        formula was refused (the page puts its Surface menu back)."""
        super().__init__()
        self.state, self.busy, self.refused = state, busy or (lambda work: work()), refused
        self.text = pn.widgets.TextInput(
            label="Your formula f(x, y) or f(x)", placeholder=f"e.g. {EXAMPLE}, then Enter",
            value=state.formula or "", max_length=MAX_LENGTH, css_classes=["formula-input"],
            sizing_mode="stretch_width",
        )  # fmt: skip
        self.domain = pn.widgets.TextInput(
            label="domain", placeholder="-3,3,-3,3", width=150, css_classes=["formula-domain"],
            value=",".join(f"{v:g}" for v in state.domain) if state.domain else "",
        )  # fmt: skip
        self.apply = pn.widgets.Button(
            label="Apply", width=80, css_classes=["formula-apply"], margin=(24, 5, 5, 5)
        )
        self.notes = PlainText(heading="Note:", kind="warning", hide_empty=True, css_classes=["formula-notes"],
                               sizing_mode="stretch_width")  # fmt: skip
        self._syncing = False
        # A TextInput's value changes on Enter (and when it loses focus): that is "apply".
        self.text.param.watch(self._entered, "value")
        self.domain.param.watch(self._entered, "value")
        self.apply.on_click(lambda e: self.choose())
        state.param.watch(self._sync, ["surface", "result"])
        self._sync()
        self.layout = pn.Column(self.text, pn.Row(self.domain, self.apply), self.notes,
                                sizing_mode="stretch_width")  # fmt: skip

    def __panel__(self) -> pn.Column:
        return self.layout

    def _entered(self, event) -> None:
        if not self._syncing and self.text.value.strip():
            self.choose()

    def choose(self) -> None:
        """Race on the typed formula (the example if none is typed)."""
        if not self.text.value.strip():
            self._set(self.text, EXAMPLE)
        text, domain = self.text.value, self.domain.value.strip() or None

        def work() -> None:
            if not self.state.set_formula(text, domain) and self.refused is not None:
                self.refused()

        self.busy(work)

    def _set(self, widget, value: str) -> None:
        self._syncing = True
        try:
            widget.value = value
        finally:
            self._syncing = False

    def _sync(self, *_) -> None:
        s = self.state
        on = s.surface == FORMULA
        self.notes.text = "; ".join(getattr(s.surface_obj, "notes", ())) if on else ""
        if on and s.formula and self.text.value.strip() != s.formula:
            self._set(self.text, s.formula)  # a link's formula shows in the box

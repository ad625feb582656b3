"""The internals' toggles and table (optirace/figures/internals.py) on the page.

The arrows and tracks are drawn by the page's player from the race it was sent: a toggle only tells
the page which to draw (no message is needed for that, and none is sent while a race plays). The
table is written here, by the server, for the step the page reports when it pauses, steps or
scrubs; while the race plays the server hears nothing and the table says so.
"""

from __future__ import annotations

import logging

import panel as pn
from bokeh.models import CheckboxGroup, CustomJS, Div

from optirace.figures.internals import arrow_scales, internals_html, scale_text
from optirace.text import as_html

from .state import RaceState
from .styles import html_pane

__all__ = ["InternalsPanel", "TOGGLES"]

log = logging.getLogger("optirace.app")

# (label, what player.js draws for it: a key of window.__optirace.layers; "table" is the server's)
TOGGLES = (
    ("Gradient arrows", "g"),
    ("Update arrows", "u"),
    ("Momentum arrows", "m"),
    ("Slow-weight tracks", "track"),
    ("Internals table", "table"),
)

# Made per session: a model belongs to one document.
_SHOW = """
const o = (window.__optirace = window.__optirace ?? {});
o.layers = {};
for (const i of cb_obj.active) o.layers[keys[i]] = true;
// A race at rest is drawn again at its step; a playing one draws them from its next frame.
const P = o.player;
if (P && !P.playing && P.draw) P.draw(P.step, false);
"""


class InternalsPanel:
    """The toggles (with the arrows' scales) and the table, for one session."""

    def __init__(self, state: RaceState) -> None:
        self.state = state
        self.toggles = CheckboxGroup(labels=[t for t, _ in TOGGLES], active=[], inline=True,
                                     css_classes=["internals-toggles"], name="internals-toggles")  # fmt: skip
        self.toggles.js_on_change("active", CustomJS(args={"keys": [k for _, k in TOGGLES]}, code=_SHOW))
        self.scale = Div(text="", css_classes=["arrow-scale"], name="arrow-scale")
        self.bar = pn.pane.Bokeh(_row(self.toggles, self.scale), sizing_mode="stretch_width")
        self.table = html_pane(
            "", sizing_mode="stretch_width", css_classes=["internals-table"], visible=False
        )
        self.view = pn.Column(self.bar, self.table, sizing_mode="stretch_width")
        self.toggles.on_change("active", lambda attr, old, new: self.refresh())
        state.param.watch(lambda *_: self.refresh(), ["result", "step", "playing"])

    def _on(self, key: str) -> bool:
        keys = [k for _, k in TOGGLES]
        return any(keys[i] == key for i in self.toggles.active if 0 <= i < len(keys))

    def refresh(self) -> None:
        s = self.state
        res = s.result
        if res is None:
            return
        try:
            params = s.surface_params()
            arrows = any(self._on(k) for k in ("g", "u", "m"))
            if arrows and res.surface.dim == 2:
                self.scale.text = as_html(scale_text(arrow_scales(res, params)))
            elif arrows:
                self.scale.text = as_html("arrows are drawn on two-variable surfaces")
            else:
                self.scale.text = ""
            show = self._on("table")
            self.table.visible = show
            if not show:
                return
            if s.playing:
                self.table.object = (
                    "<p class='hint'>Pause, step or scrub to read the internals at a step.</p>"
                )
                return
            labels = [s.label(i) for i in range(len(res.racers))]
            k = max(0, min(int(s.step), res.steps))
            self.table.object = internals_html(res, labels, s.colors(), k, params, s.noise)
        except Exception as e:  # noqa: BLE001 (a failure stays in this panel, said here and in the log)
            log.exception("session: the internals could not be shown")
            self.table.object = as_html(f"the internals could not be shown ({type(e).__name__})")


def _row(*children):
    from bokeh.layouts import row

    return row(*children, sizing_mode="stretch_width")

"""Notices and refusals as toasts: fixed in a corner above the page, each with a close button, so
they never push the plots down a projector's screen. The text is shown by PlainText, as ever."""

from __future__ import annotations

from collections.abc import Callable

import panel as pn

from surfaces import PLUGIN_PROBLEMS

from .plaintext import PlainText
from .state import RaceState

__all__ = ["Toast", "toasts"]


class Toast(pn.viewable.Viewer):
    """One message: `show(text)` shows it ('' hides it); the close button calls `dismiss`."""

    def __init__(self, heading: str, kind: str, css_class: str, dismiss: Callable[[], None]) -> None:
        super().__init__()
        self.pane = PlainText(
            heading=heading, kind=kind, sizing_mode="stretch_width", css_classes=[css_class]
        )
        self.close = pn.widgets.Button(label="✕", color="light", width=40, margin=(5, 0, 5, 4),
                                       css_classes=["toast-close"])  # fmt: skip
        self.close.on_click(lambda e: dismiss())
        self.row = pn.Row(self.pane, self.close, visible=False, sizing_mode="stretch_width",
                          css_classes=["toast", kind])  # fmt: skip

    def __panel__(self) -> pn.Row:
        return self.row

    def show(self, text: str) -> None:
        self.pane.text = text
        self.row.visible = bool(text)


def toasts(state: RaceState) -> pn.Column:
    """What the link did not say right, and why the last change was refused: both quote the user's
    own text, so both are plain text. Closing one forgets it: the same refusal again shows again."""
    notice = Toast("Some of the link was not understood:", "warning", "notice",
                   lambda: setattr(state, "notices", []))  # fmt: skip
    error = Toast("Not applied:", "danger", "error", lambda: setattr(state, "error", ""))
    box = pn.Column(notice, error, visible=False, css_classes=["toasts"],
                    styles={"position": "fixed", "right": "16px", "bottom": "16px", "z-index": "1050",
                            "width": "min(440px, calc(100vw - 32px))"})  # fmt: skip

    # Plug-ins skipped at start-up (surfaces/plugins.py): the server's, shown to each session once.
    plugins = Toast("Plug-ins skipped:", "warning", "plugin-problems", lambda: (plugins.show(""), update()))
    plugins.show("; ".join(PLUGIN_PROBLEMS))
    box.objects = [*box.objects, plugins]

    def update(*_):
        notice.show("; ".join(state.notices))
        error.show(state.error)
        box.visible = bool(state.notices or state.error or plugins.row.visible)

    state.param.watch(update, ["notices", "error"])
    update()
    return box

"""A pane that shows text as its characters: notices, errors, and anything else a user wrote.

Its markup is written here and nowhere else, around `optirace.text.as_html` of what it shows, so
no text given to it is ever read as HTML, Markdown or math, whatever it holds.
"""

from __future__ import annotations

from typing import Any

import panel as pn
import param

from optirace.text import as_html

from .styles import html_pane

__all__ = ["PlainText"]

_LAYOUT = ("sizing_mode", "width", "height", "min_width", "margin", "css_classes")


class PlainText(pn.viewable.Viewer):
    """`PlainText(text=..., heading=..., kind="warning")`: `heading` is our own words, shown bold
    before `text`; `kind` colours the box (plain text has none). With `hide_empty`, the pane hides
    itself while `text` is empty."""

    text = param.String(default="", doc="what to show, exactly as written")
    heading = param.String(default="", doc="our own words before the text, in bold")
    kind = param.Selector(default="plain", objects=["plain", "warning", "danger"])
    hide_empty = param.Boolean(default=False, doc="hidden while `text` is empty")

    def __init__(self, **params: Any) -> None:
        layout = {k: params.pop(k) for k in _LAYOUT if k in params}
        super().__init__(**params)
        # Math off explicitly: `$$...$$` in a user's text must not be typeset either.
        self._pane = html_pane(self._markup(), disable_math=True, **layout)
        self._pane.visible = self._visible()
        self.param.watch(self._render, ["text", "heading", "kind", "hide_empty"])

    def __panel__(self) -> pn.pane.HTML:
        return self._pane

    def _visible(self) -> bool:
        return bool(self.text) or not self.hide_empty

    def _markup(self) -> str:
        if not self.text and not self.heading:
            return ""
        head = f"<b>{as_html(self.heading)}</b> " if self.heading else ""
        return f"<div class='note {self.kind}'>{head}{as_html(self.text)}</div>"

    def _render(self, *_: Any) -> None:
        self._pane.object = self._markup()
        self._pane.visible = self._visible()

"""The sidebar's "Lessons" select: opening a lesson loads its scene and shows its caption.

A lesson is read like any stranger's scene file (optirace/lessons.py). Its scene is applied as a
link is (`RaceState.apply_query`), after the race inputs go back to their defaults, so nothing of
the previous race lingers. Its caption is shown as plain text (PlainText, optirace/text.py). The
page's link then carries `lesson=<name>` beside the scene; a link with only `lesson=` opens it.
"""

from __future__ import annotations

import logging

import panel as pn
import param

from optirace.lessons import lesson, lessons
from optirace.scene import SURFACE_PARAMS, Scene
from optirace.text import shown

from .plaintext import PlainText
from .state import RaceState

__all__ = ["LessonPicker", "NONE"]

log = logging.getLogger("optirace.app")

NONE = "(none)"


class LessonPicker(pn.viewable.Viewer):
    """The select (in the sidebar) and the caption (above the plots) of the open lesson."""

    current = param.String(default="", doc="the open lesson's name ('' for none)")

    def __init__(self, state: RaceState, **params) -> None:
        super().__init__(**params)
        self.state = state
        self.busy = None  # the page's Busy, once it has one
        self._syncing = False
        try:
            found = lessons()
        except ValueError as e:  # a broken lesson file must not take the page down: said, and skipped
            log.error("lessons not shown: %s", e)
            found = {}
        options = {NONE: ""} | {one.title: name for name, one in found.items()}
        self.select = pn.widgets.Select(label="Lessons", options=options, value="", sizing_mode="stretch_width",
                                        css_classes=["lesson-select"])  # fmt: skip
        self.caption = PlainText(hide_empty=True, sizing_mode="stretch_width", css_classes=["lesson-caption"])
        self.select.param.watch(self._chosen, "value")
        state.param.watch(self._surface, ["surface"])

    def __panel__(self) -> pn.widgets.Select:
        return self.select

    def _chosen(self, event) -> None:
        if self._syncing:
            return
        if event.new:
            # Through the page's busy indicator, as a new surface from its own select is: the
            # work then runs in a callback of its own, under the session's document lock.
            (self.busy or (lambda work: work()))(lambda: self.open(event.new))
        else:
            self._show("")

    @staticmethod
    def _known() -> dict:
        try:
            return lessons()
        except ValueError:
            return {}

    def _surface(self, event) -> None:
        # Another surface is another race: the lesson's caption no longer says what is shown.
        one = self._known().get(self.current)
        if one is not None and event.new != one.scene.get("surface"):
            self._show("")

    def _show(self, name: str) -> None:
        self.current = name
        one = self._known().get(name)
        self.caption.heading = one.title + ":" if one else ""
        self.caption.text = one.caption if one else ""
        self._syncing = True
        try:
            self.select.value = name
        finally:
            self._syncing = False

    def open(self, name: str) -> None:
        """Load the lesson's scene into the state and show its caption (ValueError for an unknown one)."""
        one = lesson(name)
        query = Scene(**one.fields()).to_query()
        state = self.state
        with param.parameterized.batch_call_watchers(state):
            state.param.update(start=None, noise=0.0, seed=0, batch_size=None, step=0, playing=False,
                               **dict.fromkeys(SURFACE_PARAMS))  # fmt: skip
        state.apply_query(query)
        self._show(name)

    def from_link(self, query: dict[str, str]) -> None:
        """A link's `lesson=`: its caption (the link's own scene, if it has one, stays: it may be
        the lesson changed by its reader), or the whole lesson when the link names nothing else."""
        name = query.get("lesson")
        if name is None:
            return
        if name not in self._known():
            self.state.notices = [*self.state.notices, f"unknown lesson {shown(name, 40)!r}: ignored"]
            return
        if "surface" in query:
            self._show(name)
        else:
            self.open(name)

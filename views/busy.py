"""The page's busy indicator around work that can take a while (racing again, a new surface)."""

from __future__ import annotations

from collections.abc import Callable

import panel as pn


class Busy:
    """`busy(work)`: show `target`'s loading spinner, run `work`, hide the spinner.

    In a server callback, Bokeh sends the callback's changes only once it returns: spinner on and
    off in one callback would never be seen. So the spinner goes on here and the work runs in a
    callback of its own, once the browser has been told. Outside a session it just runs the work."""

    def __init__(self, target: pn.viewable.Viewable) -> None:
        self.target = target

    def __call__(self, work: Callable[[], None]) -> None:
        doc = pn.state.curdoc
        if doc is None or doc.session_context is None:
            work()
            return
        self.target.loading = True

        def run():
            try:
                work()
            finally:
                self.target.loading = False

        doc.add_next_tick_callback(run)

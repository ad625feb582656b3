"""The page's busy indicator around work that can take a while (racing again, a new surface)."""

from __future__ import annotations

import base64
from collections.abc import Callable

import panel as pn

from .styles import STATIC

_SPINNER = base64.b64encode((STATIC / "busy.svg").read_bytes()).decode()
# For the busy area's own `stylesheets`. Panel's spinner is an image the browser fetches from the
# server the first time it is shown: while the server is busy with the work, so it arrived after
# the work was done and the spinner was never seen. Inlined, it shows at once. (`!important`:
# Panel's own loading sheet comes after ours and says the same with the same specificity.)
SHEET = f"""
:host(.pn-loading.pn-arc)::before {{
  -webkit-mask-image: url("data:image/svg+xml;base64,{_SPINNER}") !important;
  mask-image: url("data:image/svg+xml;base64,{_SPINNER}") !important;
  background-color: #0b4f7c !important;
  width: 64px !important; height: 64px !important;
}}
"""


class Busy:
    """`busy(work)`: show `target`'s loading spinner, run `work`, hide the spinner.

    In a server callback, Bokeh sends the callback's changes only once it returns: spinner on and
    off in one callback would never be seen. So the spinner goes on here and the work runs in a
    callback of its own, once the browser has been told. Outside a session it just runs the work."""

    def __init__(self, target: pn.viewable.Viewable) -> None:
        self.target = target
        target.stylesheets = [*target.stylesheets, SHEET]

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

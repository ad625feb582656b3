"""A widget and a pane the server updates several times a second while a race plays.

Panel resolves the page design's stylesheets (file paths, an `isfile` on each) on every property
update of a widget and on every new object of a pane, and uses them only when the stylesheets
themselves change. For the scrubber (5 updates a second) and the tables (2 a second) that lookup
was the largest cost of a server animating 40 sessions: 12% and 2.5% of its time (py-spy, under
`benchmarks/load.py`). These classes do what their bases do for such updates, without it.
"""

from __future__ import annotations

import panel as pn


class Scrubber(pn.widgets.IntSlider):
    """The playback scrubber: value updates skip the design lookup; a stylesheet change does not."""

    def _update_properties(self, *events, doc):
        if any(e.name == "stylesheets" for e in events):
            return super()._update_properties(*events, doc=doc)
        return self._process_param_change({e.name: e.new for e in events})


class LiveHTML(pn.pane.HTML):
    """An HTML pane whose new objects update the model's text only (its other properties are
    unchanged by a new object, and still update through Panel's usual path)."""

    def _update(self, ref, model) -> None:
        if self.enable_streaming:
            super()._update(ref, model)
            return
        model.update(**self._process_param_change({"object": self.object}))

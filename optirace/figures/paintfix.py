"""Two BokehJS paint costs the race's animation cannot afford, removed in the page: the one patch
of a library's internals OptiRace keeps, applied only to the Bokeh versions it was measured on.

Profiling the page in Chromium (benchmarks/app.py; see the README) showed the browser spending most
of each animated frame recalculating styles, not drawing:

- every glyph renderer keeps a `<style>` sheet placing its DOM element over its glyph's screen
  bounding box, and rewrites it on every paint. A growing path changes that box every frame, so
  each of the race's ~80 renderers invalidated the page's styles once per frame (about 500 times a
  second at 30 frames per second);
- BokehJS then reads computed styles (`getComputedStyle`, for CSS-variable theming and the plot's
  font size) many times per paint, and each read after an invalidation forces a full style
  recalculation of the page.

Two prototype patches, applied once per page when its document is ready:

- a renderer's element is placed at its first paint and then left where it is. The element is an
  empty, invisible placeholder for DOM content a renderer may carry; the app's renderers carry
  none, and the canvas (not the element) draws the glyph and takes the pointer events;
- an inline style sheet whose text is unchanged is not rewritten (BokehJS rewrites the same text
  anyway, which the browser treats as a new sheet).

Measured with 8 racers at 120 steps/s: frames painted with new rows went from about 9 to about 25
per second. No upstream report was found for either cost (BokehJS's `GlyphRendererView.update_position`
and `InlineStyleSheet._update`); the patches are applied only on the Bokeh versions in `TESTED`, and
skipped in the page, leaving BokehJS as it is, if its modules are not the expected ones.
tests/browser/test_app.py::test_growing_paths_leave_the_page_styles_alone fails when they stop
applying (its page reports `Bokeh.__optirace_paint_fixes`).
"""

from __future__ import annotations

import bokeh
from bokeh.document import Document
from bokeh.events import DocumentReady
from bokeh.models import CustomJS

TESTED = ("3.8", "3.9", "3.10")  # Bokeh minor versions whose BokehJS these patches were checked on

PATCH_JS = """
const B = window.Bokeh;
if (B != null && B.require != null && !B.__optirace_paint_fixes) {
  let dom = null, glyph = null;
  try {
    dom = B.require("core/dom");
    glyph = B.require("models/renderers/glyph_renderer");
  } catch (e) {
    dom = null;
  }
  const sheet = dom && dom.InlineStyleSheet && dom.InlineStyleSheet.prototype;
  const view = glyph && glyph.GlyphRendererView && glyph.GlyphRendererView.prototype;
  if (sheet && typeof sheet._update === "function" && view && typeof view.update_position === "function") {
    const update = sheet._update;
    sheet._update = function (css) {
      if (this.el == null || this.el.textContent !== css) update.call(this, css);
    };
    const place = view.update_position;
    view.update_position = function () {
      if (this.__optirace_placed) return;
      this.__optirace_placed = true;
      place.call(this);
    };
    B.__optirace_paint_fixes = true;
  }
}
"""


def applies(version: str = bokeh.__version__) -> bool:
    return ".".join(version.split(".")[:2]) in TESTED


def install(doc: Document) -> bool:
    """Apply the patches in the browser once the document is ready (a CustomJS: no extra module).
    False, and nothing installed, on a Bokeh version they were not checked on."""
    if not applies():
        return False
    doc.js_on_event(DocumentReady, CustomJS(code=PATCH_JS))
    return True

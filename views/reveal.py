"""The browser reveals each server frame's rows over the frame's interval.

While playing, the server sends a frame's new rows TICKS times a second by streaming one cell into
a `feed` source: the rows as a float64 block, row-major in the tail's column order, base64-encoded.
As one text cell it travels inline in the message's JSON: as lists, each number cost the server's
serializer a Python step; as a numpy column, Bokeh adds two websocket frames per array (each a
write to the socket); and a stream, unlike a replacement of the feed's data, costs Bokeh no walk of
the document's models.

In the browser, a script queues the rows and appends them to the drawn tail a few at a time,
spread evenly over the tick's interval, on the display's animation frames: the paths grow as
smoothly as the browser can paint, while the server's cost follows TICKS alone (a message costs it
about the same however few rows it carries).

The tail is marked not to sync: the browser's own appends never travel back. The server still
replaces the tail outright (a jump, a reset, a recompute, a chunk boundary); the queue is then
dropped, since the replacement holds every row up to the server's step.
"""

from __future__ import annotations

import base64

import numpy as np
from bokeh.models import ColumnDataSource, CustomJS

TICKS = 20  # server frames per second while playing

_QUEUE = """
const st = feed._reveal ?? (feed._reveal = {queue: [], busy: false, mine: false});
const col = (src, k) => (src.data instanceof Map ? src.data.get(k) : src.data[k]);
const cells = col(feed, 'rows');
const cell = cells && cells.length ? cells[cells.length - 1] : '';
if (!cell) return;
// One float64 block (little-endian), row-major, in the tail's column order.
const bytes = Uint8Array.from(atob(cell), (ch) => ch.charCodeAt(0));
const flat = new Float64Array(bytes.buffer);
const names = tail.data instanceof Map ? [...tail.data.keys()] : Object.keys(tail.data);
const C = names.length, m = Math.floor(flat.length / C), s = names.indexOf('step');
const ts = col(tail, 'step') ?? [];
let known = ts.length ? ts[ts.length - 1] : -1;
if (st.queue.length) known = Math.max(known, st.queue[st.queue.length - 1].step);
const now = performance.now();
for (let j = 0; j < m; j++) {
  const step = flat[j * C + s];
  if (!(step > known)) continue;
  const row = {};
  for (let c = 0; c < C; c++) row[names[c]] = flat[j * C + c];
  st.queue.push({step, due: now + period * j / m, row});
  known = step;
}
if (st.busy || !st.queue.length) return;
st.busy = true;
const loop = () => {
  const t = performance.now();
  if (st.queue.length && st.queue[0].due <= t) {
    const out = {};
    while (st.queue.length && st.queue[0].due <= t) {
      const row = st.queue.shift().row;
      for (const k in row) (out[k] ?? (out[k] = [])).push(row[k]);
    }
    st.mine = true;
    try { tail.stream(out, undefined, {sync: false}); } finally { st.mine = false; }
  }
  if (st.queue.length) requestAnimationFrame(loop); else st.busy = false;
};
requestAnimationFrame(loop);
"""

# A replacement from the server holds every row up to its step: what is queued is stale.
_DROP = """
const st = feed._reveal;
if (st && !st.mine) st.queue.length = 0;
"""

EMPTY = {"rows": [""]}  # the feed before the first frame


def frame(block: np.ndarray) -> dict:
    """What the server streams into the feed for a frame's rows (see the module's docstring)."""
    data = np.ascontiguousarray(block, dtype="<f8").tobytes()
    return {"rows": [base64.b64encode(data).decode("ascii")]}


def install(tail: ColumnDataSource, feed: ColumnDataSource) -> None:
    """Wire the browser side: rows streamed into `feed` are revealed into `tail`."""
    tail.syncable = False
    args = {"tail": tail, "feed": feed, "period": 1000 / TICKS}
    feed.js_on_change("streaming", CustomJS(args=args, code=_QUEUE))
    tail.js_on_change("data", CustomJS(args={"feed": feed}, code=_DROP))

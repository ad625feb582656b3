"""The browser reveals each server frame's rows over the frame's interval.

The server sends the newly revealed rows of the race at TICKS frames a second in a `feed` source:
one float64 block, row-major in the tail's column order, which Bokeh sends as one binary buffer (as
lists, each number cost the server's serializer a Python step; as arrays, each column a websocket
frame of its own). In the browser, a script queues them and appends them to the drawn tail a few at a time,
spread evenly over the next tick's interval, on animation frames at most every MIN_GAP_MS: the
paths grow at up to 30 frames a second while the server sends half as many messages (each one
costs the server about as much to encode and write as its rows are worth to draw).

The tail is marked not to sync: the browser's own appends never travel back. The server still
replaces the tail outright (a jump, a reset, a recompute, a chunk boundary); the queue is then
dropped, since the replacement holds every row up to the server's step.
"""

from __future__ import annotations

from bokeh.models import ColumnDataSource, CustomJS

TICKS = 10  # server frames per second while playing
MIN_GAP_MS = 0

_QUEUE = """
const st = feed._reveal ?? (feed._reveal = {queue: [], busy: false, last: 0, mine: false});
const col = (src, k) => (src.data instanceof Map ? src.data.get(k) : src.data[k]);
const flat = col(feed, 'rows');
if (!flat || !flat.length) return;
// The feed is one float64 block, row-major, in the tail's column order.
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
  if (t - st.last >= gap && st.queue.length && st.queue[0].due <= t) {
    const out = {};
    while (st.queue.length && st.queue[0].due <= t) {
      const row = st.queue.shift().row;
      for (const k in row) (out[k] ?? (out[k] = [])).push(row[k]);
    }
    st.last = t;
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


def install(tail: ColumnDataSource, feed: ColumnDataSource) -> None:
    """Wire the browser side: rows streamed into `feed` are revealed into `tail`."""
    tail.syncable = False
    args = {"tail": tail, "feed": feed, "period": 1000 / TICKS, "gap": MIN_GAP_MS}
    feed.js_on_change("data", CustomJS(args=args, code=_QUEUE))
    tail.js_on_change("data", CustomJS(args={"feed": feed}, code=_DROP))

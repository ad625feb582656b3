"""The browser reveals each server frame's rows over the frame's interval, and moves the archive.

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

When the tail crosses a chunk boundary (views/trajectories.py) the feed's cell says so (`base`):
its block then holds every row from the archive's end to the server's step, and `keep` lists, per
racer, the rows its lighter path and loss curve keep (a start of a stroke as -(row + 1)), as int32.
The script appends those rows to the archive and the racers' curves, and restarts the tail at
`base`. Sent as Bokeh columns, the same move was about 140 arrays, each a websocket frame, once a
second: about a quarter of the server's CPU for an animating session (an A/B, late in a race).

The tail, the archive and the curves are marked not to sync: the browser's own changes never
travel back. The server still replaces them outright (a jump, a reset, a recompute); the queue is
then dropped, since the replacement holds every row up to the server's step.
"""

from __future__ import annotations

import base64

import numpy as np
from bokeh.models import ColumnDataSource, CustomJS

TICKS = 20  # server frames per second while playing

_QUEUE = """
const st = feed._reveal ?? (feed._reveal = {queue: [], busy: false, mine: false});
const col = (src, k) => (src.data instanceof Map ? src.data.get(k) : src.data[k]);
const latest = (k) => { const c = col(feed, k); return c && c.length ? c[c.length - 1] : null; };
const cell = latest('rows');
if (!cell) return;
const bytes = (text) => Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
// One float64 block (little-endian), row-major, in the tail's column order.
const flat = new Float64Array(bytes(cell).buffer);
const names = tail.data instanceof Map ? [...tail.data.keys()] : Object.keys(tail.data);
const C = names.length, m = Math.floor(flat.length / C), s = names.indexOf('step');
const base = latest('base') ?? -1;
if (base >= 0 && m) {
  // A chunk boundary: rows lo..base join the archive, the tail restarts at base with every row
  // up to the server's step, and what is queued is stale.
  st.queue.length = 0;
  const lo = flat[s];
  const pick = (c, rows) => rows.map((r) => (r === null ? NaN : flat[(r - lo) * C + c]));
  const span = (from, to) => Array.from({length: to - from + 1}, (_, j) => from + j);
  const into = (src, cols, rows) => {
    if (!src) return;  // a figure without these curves (a one-variable race draws no archived paths)
    const out = {};
    for (const [name, c] of cols) out[name] = pick(c, rows);
    src.stream(out, undefined, {sync: false});
  };
  into(archive, names.map((k, c) => [k, c]), span(lo, base));
  const keep = new Int32Array(bytes(latest('keep')).buffer);
  const named = (name) => [...feed.document.all_models].find((x) => x.name === name);
  let p = 0;
  const next = () => {  // one racer's kept rows, with a null (a NaN row) before each stroke's start
    const n = keep[p++], rows = [];
    for (let j = 0; j < n; j++) { const r = keep[p++]; if (r < 0) rows.push(null, -r - 1); else rows.push(r); }
    return rows;
  };
  const racers = keep[p++];
  const at = (k) => names.indexOf(k);
  for (let i = 0; i < racers; i++)
    into(named('race-path-' + i), ['step', 'x' + i, 'y' + i, 'loss' + i, 'lr' + i].map((k) => [k, at(k)]), next());
  for (let i = 0; i < racers; i++)
    into(named('race-loss-' + i), ['step', 'gap' + i].map((k) => [k, at(k)]), next());
  const fresh = {};
  const rows = span(base, flat[(m - 1) * C + s]);
  names.forEach((k, c) => { fresh[k] = pick(c, rows); });
  st.mine = true;
  try { tail.data = fresh; } finally { st.mine = false; }
  return;
}
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

EMPTY = {"rows": [""], "base": [-1], "keep": [""]}  # the feed before the first frame


def _text(array: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode("ascii")


def frame(block: np.ndarray) -> dict:
    """What the server streams into the feed for a frame's rows (see the module's docstring)."""
    return {"rows": [_text(block, "<f8")], "base": [-1], "keep": [""]}


def move(block: np.ndarray, base: int, paths: list, losses: list) -> dict:
    """What the server streams into the feed when the tail crosses a chunk boundary: `block` holds
    rows lo..k (lo is the first row the archive lacks), `base` the tail's new first row, and
    `paths`/`losses` per racer the (rows, starts) its curve keeps within lo..base."""
    keep = [len(paths)]
    for rows, starts in [*paths, *losses]:
        rows = np.asarray(rows, dtype=np.int64)
        keep += [len(rows), *np.where(starts, -rows - 1, rows).tolist()]
    return {"rows": [_text(block, "<f8")], "base": [int(base)], "keep": [_text(np.asarray(keep), "<i4")]}


def install(tail: ColumnDataSource, feed: ColumnDataSource, archive: ColumnDataSource) -> None:
    """Wire the browser side: rows streamed into `feed` are revealed into `tail`, and moved into
    `archive` and the racers' curves (found by name: they change with the number of racers)."""
    tail.syncable = False
    archive.syncable = False
    args = {"tail": tail, "feed": feed, "archive": archive, "period": 1000 / TICKS}
    feed.js_on_change("streaming", CustomJS(args=args, code=_QUEUE))
    tail.js_on_change("data", CustomJS(args={"feed": feed}, code=_DROP))

"""The race's numbers as Bokeh columns, in two sources every plot shares.

Columns: `step`, and per racer i: `x{i}`, `y{i}` (for one-variable surfaces y is the loss), `loss{i}`,
`gap{i}` (loss minus the global minimum's value, floored for the log axis) and `lr{i}`.

The shown rows 0..k are split at a chunk boundary m: `archive` holds rows 0..m and `source` (the
live tail) rows m..k, so the two halves of each line meet at row m. Each racer's path and loss
curve also have a lighter archive of their own (`paths`, `losses`), which the plots draw.

While playing, new rows reach the tail through `feed` and a script in the browser
(views/reveal.py), which also makes the move at each chunk boundary: rows to the archives, the tail
restarting at the boundary. The server's copies of these sources then hold what it last replaced,
not what the browser shows; it replaces them outright on a jump, a reset or a recompute. BokehJS
reprocesses every row of a source on each stream, for every glyph drawing from it; streaming frames
into a short tail keeps that work bounded however long the race, and the archives change once per
chunk.
"""

from __future__ import annotations

import numpy as np
from bokeh.models import ColumnDataSource

from optimizers.race import RaceResult

from . import reveal
from .simplify import simplify, strokes

# The learning-rate panel draws whole schedules within this many decades of the exact curve
# (a thousandth of a decade is far below a pixel on any axis the panel shows).
SCHEDULE_TOL = 1e-3
GAP_FLOOR = 1e-16  # the log axis cannot show 0; a converged racer sits on this floor
CHUNK = 256  # rows per archive move: per-frame browser work is O(CHUNK), and a move O(race) once
# The archived part of a racer's path on the surface is drawn within this fraction of the plotted
# domain of every iterate (half a pixel on a 1000-pixel plot): half of it for RDP, which leaves out
# the iterates of a nearly straight stretch, and half for drawing each repeated segment once (see
# views/simplify.py). A racer that has settled stops costing paint, and a scribbling one costs the
# pixels it covers, not its steps: late in a long race the paths were most of what the browser
# painted per frame.
PATH_TOL = 1 / 2000
# The archived part of a racer's loss curve leaves out rows whose log loss lies within this
# fraction of the decades the whole race's curves span of the line through the rows kept (a tenth of
# a pixel on a 200-pixel panel at the race's end). Late in a long race the full curves were most of
# what the browser painted per frame.
LOSS_TOL = 1 / 2000


class Trajectories:
    def __init__(self, chunk: int | None = CHUNK) -> None:
        """chunk=None keeps every row in `source` (the archive stays empty), for exports that
        replace the shown rows wholesale in the browser."""
        self.source = ColumnDataSource(data={"step": []}, name="race")
        self.archive = ColumnDataSource(data={"step": []}, name="race-archive")
        # A frame's new rows travel in `feed`; the browser moves them into `source` (views/reveal.py).
        self.feed = ColumnDataSource(data=dict(reveal.EMPTY), name="race-feed")
        self.chunk = chunk
        reveal.install(self.source, self.feed, self.archive)
        self.columns: dict[str, np.ndarray] = {"step": np.zeros(0)}
        self.shown = -1
        self.base = 0  # the live tail's first row; the archive ends there (empty while it is 0)
        # Per racer: the archived part of its path on the surface, with fewer rows: the rows drawn
        # (`kept`), and which of them start a new stroke (`starts`, see _path_rows).
        self.paths: list[ColumnDataSource] = []
        self.kept: list[np.ndarray] = []
        self.starts: list[np.ndarray] = []
        # Per racer: the archived part of its loss curve, with fewer rows (see `loss_kept`).
        self.losses: list[ColumnDataSource] = []
        self.loss_kept: list[np.ndarray] = []
        self.loss_tol = 0.0  # decades
        self.scale: tuple[float, float] = (1.0, 1.0)  # the plotted domain's width and height

    def load(self, res: RaceResult) -> None:
        """Precompute every column of the race (no Bokeh traffic yet)."""
        n_rows = res.params.shape[1]
        cols = {"step": np.arange(n_rows, dtype=np.float64)}
        gap = np.maximum(res.loss - res.surface.min_value, GAP_FLOOR)
        lr = np.concatenate([res.lr, np.full((res.lr.shape[0], 1), np.nan)], axis=1)
        lr = np.where(lr > 0, lr, np.nan)  # a zero lr has no place on a log axis
        for i in range(res.params.shape[0]):
            cols[f"x{i}"] = res.params[i, :, 0]
            cols[f"y{i}"] = res.params[i, :, 1] if res.params.shape[2] > 1 else res.loss[i]
            cols[f"loss{i}"] = res.loss[i]
            cols[f"gap{i}"] = gap[i]
            cols[f"lr{i}"] = lr[i]
        self.columns = cols
        n = res.params.shape[0]
        if len(self.paths) != n:  # a new racer count rebuilds the figures, which take these
            # Named: the browser finds them by name when it moves rows in (views/reveal.py).
            self.paths = [ColumnDataSource(data={"step": []}, name=f"race-path-{i}", syncable=False)
                          for i in range(n)]  # fmt: skip
            self.losses = [ColumnDataSource(data={"step": []}, name=f"race-loss-{i}", syncable=False)
                           for i in range(n)]  # fmt: skip
        dom = res.surface.domain
        self.scale = (dom[0][1] - dom[0][0], (dom[1][1] - dom[1][0]) if len(dom) > 1 else 1.0)
        logs = np.log10(gap)  # floored above 0, so finite where the loss is
        finite = logs[np.isfinite(logs)]
        self.loss_tol = LOSS_TOL * max(float(finite.max() - finite.min()) if finite.size else 0.0, 1.0)
        self.kept, self.starts, self.loss_kept = [], [], []  # see _lighten

    def _lighten(self) -> None:
        """The racers' lighter archived paths and loss curves, computed when the archive is first
        needed: most slider moves happen before a race has filled its first chunk, and the 8 racers
        of a 5000-step race cost about 20 ms here."""
        n = len(self.paths)
        if len(self.kept) == n:
            return
        cols = self.columns
        drawn = [self._path_rows(cols[f"x{i}"], cols[f"y{i}"]) for i in range(n)]
        self.kept = [rows for rows, _ in drawn]
        self.starts = [starts for _, starts in drawn]
        self.loss_kept = [
            self._curve_rows(cols["step"], np.log10(cols[f"gap{i}"]), self.loss_tol) for i in range(n)
        ]

    @property
    def last(self) -> int:
        return len(self.columns["step"]) - 1

    def _base(self, k: int) -> int:
        return 0 if self.chunk is None else (k // self.chunk) * self.chunk

    def _rows(self, lo: int, hi: int) -> dict:
        return {name: col[lo : hi + 1] for name, col in self.columns.items()}

    def _path_rows(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A racer's archived path (see PATH_TOL): the rows to draw, and which of them start a new
        stroke. RDP runs on each chunk alone, so chunk edges, where the archive grows, are kept by
        it; the repeated segments are left out across the whole race."""
        sx, sy = self.scale
        xs, ys = x / sx, y / sy
        rows = simplify(xs, ys, PATH_TOL / 2, breaks=np.arange(0, len(xs), self.chunk or max(len(xs), 1)),
                        metric="segment")  # fmt: skip
        return strokes(xs, ys, rows, PATH_TOL / 2 / np.sqrt(2))

    def _curve_rows(self, x: np.ndarray, y: np.ndarray, tol: float) -> np.ndarray:
        """A curve's rows to draw in its archive (views/simplify.py), split at every chunk edge, where
        the archive grows, so each chunk is simplified on its own and its edges are kept."""
        return simplify(x, y, tol, breaks=np.arange(0, len(x), self.chunk or max(len(x), 1)))

    def block(self, lo: int, hi: int) -> np.ndarray:
        """Rows lo..hi of every column as one row-major float64 array, in the columns' order."""
        return np.stack([col[lo : hi + 1] for col in self.columns.values()], axis=1).ravel()

    def _path_within(self, i: int, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """Racer i's archived path rows within lo..hi, and which of them start a stroke."""
        if hi < lo:  # an empty archive (before the first chunk) needs no lighter curves
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
        self._lighten()
        rows, starts = self.kept[i], self.starts[i]
        inside = (rows >= lo) & (rows <= hi)
        return rows[inside], starts[inside]

    def _loss_within(self, i: int, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """Racer i's archived loss-curve rows within lo..hi (a curve has no breaks but its NaN)."""
        if hi < lo:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
        self._lighten()
        rows = self.loss_kept[i]
        rows = rows[(rows >= lo) & (rows <= hi)]
        return rows, np.zeros(len(rows), dtype=bool)

    def _path(self, i: int, lo: int, hi: int) -> dict:
        """Racer i's archived path rows within lo..hi: the columns its glyph and hover read, with a
        row of NaN before each point that starts a stroke (where Bokeh breaks a line)."""
        rows, starts = self._path_within(i, lo, hi)
        # Each point's place once the breaks are in: one more for every start up to and including it.
        at = np.arange(len(rows)) + np.cumsum(starts)
        out = {}
        for name in ("step", f"x{i}", f"y{i}", f"loss{i}", f"lr{i}"):
            col = np.full(len(rows) + int(starts.sum()), np.nan)
            col[at] = self.columns[name][rows]
            out[name] = col
        return out

    def _loss(self, i: int, lo: int, hi: int) -> dict:
        """Racer i's archived loss-curve rows within lo..hi."""
        rows, _ = self._loss_within(i, lo, hi)
        return {name: self.columns[name][rows] for name in ("step", f"gap{i}")}

    def show(self, k: int) -> None:
        """Replace both sources with rows 0..k (after a recompute, a reset or a jump back)."""
        k = max(0, min(k, self.last))
        self.base = self._base(k)
        end = self.base if self.base else -1
        # The server's copies are stale once the browser has revealed or moved rows on its own,
        # and may equal the new rows; Bokeh sends a source's replaced data even then.
        self.archive.data = self._rows(0, end)
        for i, path in enumerate(self.paths):
            path.data = self._path(i, 0, end)
        for i, curve in enumerate(self.losses):
            curve.data = self._loss(i, 0, end)
        self.source.data = self._rows(self.base, k)
        self.shown = k

    def advance(self, k: int) -> None:
        """Move to step k, streaming only the new rows when going forward."""
        k = max(0, min(k, self.last))
        if k == self.shown:
            return
        if k < self.shown or self.shown < 0:
            self.show(k)
            return
        base = self._base(k)
        if base == self.base:
            self.feed.stream(reveal.frame(self.block(self.shown + 1, k)), rollover=1)
        else:
            # The tail crossed a chunk boundary: the archive and the racers' curves take the rows
            # up to it, and the tail restarts there. One cell carries it all, and the browser
            # makes the moves (views/reveal.py).
            lo = self.base + 1 if self.base else 0
            paths = [self._path_within(i, lo, base) for i in range(len(self.paths))]
            losses = [self._loss_within(i, lo, base) for i in range(len(self.losses))]
            self.feed.stream(reveal.move(self.block(lo, k), base, paths, losses), rollover=1)
            self.base = base
        self.shown = k

    def schedule(self, i: int) -> dict:
        """Racer i's learning rate over the whole race, as a curve for a log axis: the rows where
        its shape changes (see views/simplify.py), with the race's own values at those rows."""
        step, lr = self.columns["step"], self.columns.get(f"lr{i}")
        if lr is None:
            return {"step": [], "lr": []}
        with np.errstate(divide="ignore", invalid="ignore"):
            keep = simplify(step, np.log10(lr), SCHEDULE_TOL)
        return {"step": step[keep], "lr": lr[keep]}

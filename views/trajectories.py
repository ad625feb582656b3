"""The race's numbers as Bokeh columns, in two sources every plot shares.

Columns: `step`, and per racer i: `x{i}`, `y{i}` (for one-variable surfaces y is the loss), `loss{i}`,
`gap{i}` (loss minus the global minimum's value, floored for the log axis) and `lr{i}`.

The shown rows 0..k are split at a chunk boundary m: `archive` holds rows 0..m and `source` (the
live tail) rows m..k, so the two halves of each line meet at row m. BokehJS reprocesses every row of a
source on each stream, for every glyph drawing from it; streaming frames into a short tail keeps that
work bounded however long the race, and the archive changes once per chunk.
"""

from __future__ import annotations

import numpy as np
from bokeh.models import ColumnDataSource

from optimizers.race import RaceResult

from .simplify import simplify

# The learning-rate panel draws whole schedules within this many decades of the exact curve
# (a thousandth of a decade is far below a pixel on any axis the panel shows).
SCHEDULE_TOL = 1e-3
GAP_FLOOR = 1e-16  # the log axis cannot show 0; a converged racer sits on this floor
CHUNK = 256  # rows per archive move: per-frame browser work is O(CHUNK), and a move O(race) once


class Trajectories:
    def __init__(self, chunk: int | None = CHUNK) -> None:
        """chunk=None keeps every row in `source` (the archive stays empty), for exports that
        replace the shown rows wholesale in the browser."""
        self.source = ColumnDataSource(data={"step": []}, name="race")
        self.archive = ColumnDataSource(data={"step": []}, name="race-archive")
        self.chunk = chunk
        self.columns: dict[str, np.ndarray] = {"step": np.zeros(0)}
        self.shown = -1
        self.base = 0  # the live tail's first row; the archive ends there (empty while it is 0)

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

    @property
    def last(self) -> int:
        return len(self.columns["step"]) - 1

    def _base(self, k: int) -> int:
        return 0 if self.chunk is None else (k // self.chunk) * self.chunk

    def _rows(self, lo: int, hi: int) -> dict:
        return {name: col[lo : hi + 1] for name, col in self.columns.items()}

    def show(self, k: int) -> None:
        """Replace both sources with rows 0..k (after a recompute, a reset or a jump back)."""
        k = max(0, min(k, self.last))
        self.base = self._base(k)
        self.archive.data = self._rows(0, self.base if self.base else -1)
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
            # Lists, not arrays: Bokeh sends each array as a websocket frame of its own (one per
            # column), but numbers inline in the message's one JSON frame.
            self.source.stream({name: col.tolist() for name, col in self._rows(self.shown + 1, k).items()})
        else:
            # The tail crossed a chunk boundary: the archive takes the rows up to it, and the tail
            # restarts there (a replace of at most CHUNK rows).
            self.archive.stream(self._rows(self.base + 1 if self.base else 0, base))
            self.source.data = self._rows(base, k)
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

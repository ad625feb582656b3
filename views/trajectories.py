"""The race's numbers as Bokeh columns: one shared ColumnDataSource for every plot.

Columns: `step`, and per racer i: `x{i}`, `y{i}` (for one-variable surfaces y is the loss), `loss{i}`,
`gap{i}` (loss minus the global minimum's value, floored for the log axis) and `lr{i}`. The source
holds rows 0..k for the shown step k; playing streams only the newly revealed rows.
"""

from __future__ import annotations

import numpy as np
from bokeh.models import ColumnDataSource

from optimizers.race import RaceResult

GAP_FLOOR = 1e-16  # the log axis cannot show 0; a converged racer sits on this floor


class Trajectories:
    def __init__(self) -> None:
        self.source = ColumnDataSource(data={"step": []})
        self.columns: dict[str, np.ndarray] = {"step": np.zeros(0)}
        self.shown = -1

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

    def show(self, k: int) -> None:
        """Replace the source with rows 0..k (after a recompute, a reset or a jump back)."""
        k = max(0, min(k, self.last))
        self.source.data = {name: col[: k + 1] for name, col in self.columns.items()}
        self.shown = k

    def advance(self, k: int) -> None:
        """Move to step k, streaming only the new rows when going forward."""
        k = max(0, min(k, self.last))
        if k == self.shown:
            return
        if k < self.shown or self.shown < 0:
            self.show(k)
            return
        self.source.stream({name: col[self.shown + 1 : k + 1] for name, col in self.columns.items()})
        self.shown = k

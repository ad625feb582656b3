"""Basin-map benchmark: `python benchmarks/basins.py [--repeats 5]`.

Times the map of one racer (Adam, lr 0.05) on Himmelblau, 300 steps from every start of a grid:

- engine:           `optimizers.basins` alone (one vmapped call; compiled programs warm)
- computed + drawn: `basin_map` (the engine call and each start's category), then the figure
                    described (HoloViews) and rendered with Bokeh, as the app's Basins card draws it
at 128 x 128 starts (budget: 1 s) and 256 x 256 (budget: 3 s). The first call's compile is shown apart.

The peer, measured in the same run: a plain Python loop of single races (`optimizers.race`, one
racer, the same steps) over an 8 x 8 grid. The ratio compares the time per start.

Prints the median and the range over the repeats.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).absolute().parent.parent))
import timing  # noqa: E402

SURFACE = "himmelblau"
RACER = {"optimizer": "adam", "lr": 0.05}
STEPS = 300
BUDGETS = {128: 1.0, 256: 3.0}  # seconds, computed and drawn
PEER_GRID = 8


def _row(name: str, times: list[float], note: str = "") -> str:
    return f"{name:34} {statistics.median(times):8.3f} {min(times):8.3f} {max(times):8.3f}  s  {note}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    import holoviews as hv
    import numpy as np

    import optimizers
    from optirace.figures.basins import basin_map, basins_figure

    def drawn(grid: int) -> None:
        fig = basins_figure(basin_map(SURFACE, RACER, grid=grid, steps=STEPS))
        hv.renderer("bokeh").get_plot(fig)

    print(
        f"basins: {RACER['optimizer']} lr {RACER['lr']} on {SURFACE}, {STEPS} steps per start, {args.repeats} repeats"
    )
    print(f"{'':34} {'median':>8} {'min':>8} {'max':>8}")
    t = time.perf_counter()
    drawn(128)
    print(f"first 128x128 map (compiles its program, loads the figure code): {time.perf_counter() - t:.2f} s")
    per_start = {}
    ok = True
    for grid, budget in BUDGETS.items():
        drawn(grid)  # each grid size is its own program: compiled before timing
        engine = timing.times(
            lambda _i, g=grid: optimizers.basins(SURFACE, RACER, grid=g, steps=STEPS), args.repeats
        )
        full = timing.times(lambda _i, g=grid: drawn(g), args.repeats)
        verdict = "within" if statistics.median(full) <= budget else "OVER"
        ok &= verdict == "within"
        print(_row(f"{grid}x{grid}: engine", engine))
        print(_row(f"{grid}x{grid}: computed + drawn", full, f"({verdict} the {budget:g} s budget)"))
        per_start[grid] = statistics.median(engine) / grid**2

    xs = np.linspace(-5.0, 5.0, PEER_GRID)
    starts = [(x, y) for y in xs for x in xs]
    optimizers.race(SURFACE, [RACER], start=starts[0], steps=STEPS)  # compiled before timing

    def loop() -> None:
        for s in starts:
            optimizers.race(SURFACE, [RACER], start=s, steps=STEPS)

    peer = timing.times(lambda _i: loop(), args.repeats)
    print(_row(f"peer: Python loop of {len(starts)} races", peer))
    peer_per_start = statistics.median(peer) / len(starts)
    for grid, t_start in per_start.items():
        print(f"per start: {grid}x{grid} map {t_start * 1e6:.2f} us, loop of races {peer_per_start * 1e6:.1f} us: "
              f"the map is {peer_per_start / t_start:.0f}x faster per start")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

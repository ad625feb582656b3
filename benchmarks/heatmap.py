"""lr x β map benchmark: `python benchmarks/heatmap.py [--repeats 7] [--loop 6]`.

Times `optimizers.maps.lr_beta_map` for a 32 x 32 grid of learning rates x momentum (or beta1) at
300 steps on Rosenbrock (1024 runs in one vmapped call), for SGD with momentum and for Adam:

- engine:          lr_beta_map alone (compiled program warm; the first call's compile is shown apart)
- map drawn:       the map, then its figure described (HoloViews) and rendered with Bokeh
- app, Compute:    the app's button (optirace/app/heatmap_panel.py): the map and its plot in the card

and, in the same run, the peer: a Python loop of single `optimizers.race` calls over a small
loop x loop grid of the same racer, steps and surface. The ratio is per cell: the loop's time per
cell over the vmapped map's (engine) time per cell.

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

RACERS = ["sgd:lr=0.001,momentum=0.9", "adam:lr=0.01"]
STEPS, SIDE = 300, 32


def _row(name: str, times: list[float], note: str = "") -> str:
    return f"{name:16} {statistics.median(times):8.3f} {min(times):8.3f} {max(times):8.3f}  s{note}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--loop", type=int, default=6, help="side of the single races' grid (default 6: 36 races)")
    args = p.parse_args(argv)
    import holoviews as hv

    import optimizers
    from optimizers.maps import lr_beta_map
    from optirace.app.heatmap_panel import HeatmapPanel
    from optirace.app.state import RaceState
    from optirace.figures.heatmap import heatmap_figure

    print(f"lr x beta map: {SIDE} x {SIDE} cells x {STEPS} steps, Rosenbrock, {args.repeats} repeats; "
          f"peer: a Python loop of single races over {args.loop} x {args.loop} cells")  # fmt: skip
    for racer in RACERS:
        t = time.perf_counter()
        m = lr_beta_map("rosenbrock", racer, steps=STEPS, lrs=SIDE, betas=SIDE)
        cold = time.perf_counter() - t

        def engine(_, racer=racer):
            return lr_beta_map("rosenbrock", racer, steps=STEPS, lrs=SIDE, betas=SIDE)

        def drawn(_, racer=racer):
            fig = heatmap_figure(engine(_), racer, "#0072B2")
            hv.renderer("bokeh").get_plot(fig)

        state = RaceState(racers=[optimizers.parse_racer(racer)], steps=STEPS)
        panel = HeatmapPanel(state, side=SIDE)

        def app(_, panel=panel):
            panel.compute()

        # The peer: the same racer's single races over a small grid of the map's own cells.
        rows = [round(k * (SIDE - 1) / (args.loop - 1)) for k in range(args.loop)]
        cells = [m.spec(i, j) for i in rows for j in rows]
        optimizers.race("rosenbrock", [cells[0]], steps=STEPS)  # its program compiled

        def loop(_, cells=cells):
            for spec in cells:
                optimizers.race("rosenbrock", [spec], steps=STEPS)

        timed = {"engine": timing.times(engine, args.repeats), "map drawn": timing.times(drawn, args.repeats),
                 "app, Compute": timing.times(app, args.repeats), "loop": timing.times(loop, args.repeats)}  # fmt: skip
        per_map = statistics.median(timed["engine"]) / m.loss.size
        per_loop = statistics.median(timed["loop"]) / len(cells)
        print(f"\n{racer}: first call (compiles the map's program) {cold:.2f} s; "
              f"{int(m.diverged.sum())} of {m.loss.size} runs diverged")  # fmt: skip
        print(f"{'':16} {'median':>8} {'min':>8} {'max':>8}")
        for name in ("engine", "map drawn", "app, Compute"):
            print(_row(name, timed[name]))
        print(_row(f"loop of {len(cells)} races", timed["loop"],
                   f"  ({len(cells)} cells; {per_loop * SIDE * SIDE:.2f} s for {SIDE * SIDE} at that rate)"))  # fmt: skip
        print(f"per cell: map {per_map * 1e6:.1f} us, loop {per_loop * 1e6:.1f} us; "
              f"the vmapped map is {per_loop / per_map:.0f}x faster per cell")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

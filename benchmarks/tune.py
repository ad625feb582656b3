"""Tuning benchmark: `python benchmarks/tune.py [--repeats 7]`.

Times `optimizers.tune` for 8 racers x 300 steps x 64 learning rates on Rosenbrock (8 vmapped calls
of 64 runs), then the same with the redraw the page does:

- engine:       optimizers.tune alone (compiled programs warm; the first call's compile is shown apart)
- new figure:   tune, then the sensitivity plot described (HoloViews) and rendered with Bokeh
- app, Tune lr: the app's button (optirace/app/tune_panel.py) with no sweep cached: the 8 sweeps,
                the racers set to their tuned rates, the race run again, the drawn plot moved in place

Prints the median and the range over the repeats. Target: at most 1 s for each.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).absolute().parent.parent))
import timing  # noqa: E402

RACERS = [
    {"optimizer": "adam", "lr": 0.01},
    {"optimizer": "sgd", "lr": 0.001, "momentum": 0.9},
    {"optimizer": "rmsprop", "lr": 0.01},
    {"optimizer": "adagrad", "lr": 0.1},
    {"optimizer": "nag", "lr": 0.001, "momentum": 0.9},
    {"optimizer": "lion", "lr": 0.001},
    {"optimizer": "adabelief", "lr": 0.01},
    {"optimizer": "yogi", "lr": 0.01},
]
STEPS, GRID = 300, 64


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args(argv)
    import holoviews as hv

    import optimizers
    from optirace.figures.sensitivity import sensitivity_figure

    t = time.perf_counter()
    optimizers.tune("rosenbrock", RACERS, steps=STEPS, grid=GRID)
    cold = time.perf_counter() - t

    def engine(_):
        return optimizers.tune("rosenbrock", RACERS, steps=STEPS, grid=GRID)

    res = optimizers.race("rosenbrock", RACERS, steps=STEPS)
    current = [(r.base_lr, float(x)) for r, x in zip(res.racers, res.loss[:, -1], strict=True)]

    def figure(_):
        tuned = engine(_)
        fig = sensitivity_figure(tuned.sweeps, [r["optimizer"] for r in RACERS], current, 0.0, steps=STEPS)
        hv.renderer("bokeh").get_plot(fig)

    from optirace.app.state import RaceState
    from optirace.app.tune_panel import TunePanel

    state = RaceState(racers=[dict(r) for r in RACERS], steps=STEPS)
    panel = TunePanel(state, grid=GRID)

    def app(i):
        panel.undo()
        state.seed = 1000 + i  # a new race input: no sweep of it is cached (noise 0: the same runs)
        panel._cache.clear()
        panel.tune()

    rows = [("engine", timing.times(engine, args.repeats)), ("new figure", timing.times(figure, args.repeats)),
            ("app, Tune lr", timing.times(app, args.repeats))]  # fmt: skip
    print(
        f"tune: {len(RACERS)} racers x {STEPS} steps x {GRID} learning rates, Rosenbrock, {args.repeats} repeats"
    )
    print(f"first call (compiles 8 sweep programs): {cold:.2f} s")
    print(f"{'':14} {'median':>8} {'min':>8} {'max':>8}")
    for name, times in rows:
        print(f"{name:14} {statistics.median(times):8.3f} {min(times):8.3f} {max(times):8.3f}  s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

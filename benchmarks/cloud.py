"""Cloud benchmark: `python benchmarks/cloud.py [--repeats 7]`.

A 64-seed cloud of 4 racers x 500 steps on Rosenbrock with gradient noise (sigma 0.5):

- engine:          optimizers.cloud alone (one vmapped call; the first call's compile is shown apart)
- loop of races:   the same 64 runs as 64 calls of optimizers.race, one per seed (the peer)
- new figure:      the cloud computed, then its figure described (HoloViews) and rendered with Bokeh
- app, moved:      the app's redraw when a slider moves (optirace/app/cloud_panel.py): the cloud
                   computed and the drawn figure's data replaced in place

Prints the median and the range over the repeats, and the engine's ratio to the loop of races.
Budget: 0.5 s for a cloud computed and drawn.
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
    {"optimizer": "nag", "lr": 0.001, "momentum": 0.9},
]
STEPS, SEEDS, NOISE = 500, 64, 0.5
BUDGET = 0.5


def _once(fn, i: int) -> float:
    t = time.perf_counter()
    fn(i)
    return time.perf_counter() - t


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args(argv)
    import holoviews as hv

    import optimizers
    from optirace.figures.cloud import cloud_figure

    def engine(i):
        return optimizers.cloud("rosenbrock", RACERS, steps=STEPS, noise=NOISE, seeds=SEEDS, seed=100 * i)

    def loop(i):
        return [
            optimizers.race("rosenbrock", RACERS, steps=STEPS, noise=NOISE, seed=100 * i + s)
            for s in range(SEEDS)
        ]

    t = time.perf_counter()
    engine(0)
    cold = time.perf_counter() - t
    loop(0)  # the race program compiles here, outside the timing

    labels = [r["optimizer"] for r in RACERS]

    def figure(i):
        hv.renderer("bokeh").get_plot(cloud_figure(engine(i), labels))

    from optirace.app.cloud_panel import CloudPanel
    from optirace.app.state import RaceState

    state = RaceState(racers=[dict(r) for r in RACERS], steps=STEPS, noise=NOISE)
    panel = CloudPanel(state)
    panel.seeds.value = SEEDS  # the first drawing: a new figure

    def app(i):
        state.seed = 1000 + i  # a new race input: the cloud is computed again and moved in place
        assert panel._fig is not None and panel.status.object.startswith(f"{SEEDS} seeds")

    # The engine and its peer alternate, repeat by repeat, so both see the same machine load.
    # Each repeat races new seeds (100 i, ...): neither reuses the draws of an earlier repeat.
    pairs = [(_once(engine, i), _once(loop, i)) for i in range(1, args.repeats + 1)]
    rows = [("engine", [a for a, _ in pairs]), ("loop of races", [b for _, b in pairs]),
            ("new figure", timing.times(figure, args.repeats)), ("app, moved", timing.times(app, args.repeats))]  # fmt: skip
    print(f"cloud: {SEEDS} seeds x {len(RACERS)} racers x {STEPS} steps, Rosenbrock, noise {NOISE}, "
          f"{args.repeats} repeats")  # fmt: skip
    print(f"first call (compiles the vmapped race program): {cold:.2f} s")
    print(f"{'':14} {'median':>8} {'min':>8} {'max':>8}")
    for name, times in rows:
        print(f"{name:14} {statistics.median(times):8.3f} {min(times):8.3f} {max(times):8.3f}  s")
    med = {name: statistics.median(times) for name, times in rows}
    ratios = [b / a for a, b in pairs]
    print(f"loop of races / engine, per repeat: median {statistics.median(ratios):.1f}x "
          f"({min(ratios):.1f}-{max(ratios):.1f})")  # fmt: skip
    for name in ("new figure", "app, moved"):
        verdict = "within" if med[name] <= BUDGET else "over"
        print(f"{name}: {med[name]:.3f} s, {verdict} the {BUDGET} s budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())

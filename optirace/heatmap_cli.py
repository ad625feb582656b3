"""`optirace heatmap`: one racer's final loss over a grid of learning rates x momentum (or beta1).

    optirace heatmap --surface rosenbrock --racer sgd:lr=0.001,momentum=0.9 --steps 300 [--json]
    optirace heatmap --racer adam:lr=0.01 --lrs 48 --betas 24 --out map.png

The map is `optimizers.maps.lr_beta_map` (one vmapped call over the grid) with the race's flags
(surface, start, steps, noise, seed); `--out FILE.png|.svg|.pdf` writes the figure with the same
matplotlib rendering as the race's stills.
"""

from __future__ import annotations

import argparse
import json

__all__ = ["add_heatmap", "run_heatmap", "DEFAULT_RACER"]

DEFAULT_RACER = "sgd:lr=0.001,momentum=0.9"


def add_heatmap(p: argparse.ArgumentParser) -> None:
    from optimizers.maps import DEFAULT_SIDE, MAX_MAP_SIDE

    from .cli import _add_race
    from .fair_cli import _out

    _add_race(p)  # the race's own flags (the shared Scene declaration), --surface-param and --json
    for flag, what in (("--lrs", "learning rates, log-spaced"), ("--betas", "values of momentum or beta1")):
        p.add_argument(flag, type=int, default=DEFAULT_SIDE, metavar="N",
                       help=f"{what} over the slider's range (2 to {MAX_MAP_SIDE}; default: {DEFAULT_SIDE})")  # fmt: skip
    _out(p, "the map")


def run_heatmap(args: argparse.Namespace) -> int:
    import numpy as np

    import optimizers
    from optimizers.maps import lr_beta_map

    from .cli import _parse_surface_params
    from .fair_cli import _write
    from .figures.heatmap import beta_label
    from .scene import Scene

    scene = Scene(**Scene.read_args(args))
    if len(scene.racers) > 1:
        raise ValueError(f"--racer: a map is of one racer; {len(scene.racers)} were given")
    spec = scene.racers[0] if scene.racers else optimizers.parse_racer(DEFAULT_RACER)
    sp = {**(scene.surface_params() or {}), **_parse_surface_params(args.surface_param)} or None
    if args.out:
        from .export.view import view_format

        view_format(args.out)  # a wrong extension is refused before any work
    surface = scene.surface_object()
    m = lr_beta_map(surface, spec, steps=scene.steps, start=scene.start, lrs=args.lrs, betas=args.betas,
                    noise=scene.noise, seed=scene.seed, batch_size=scene.batch_size, surface_params=sp)  # fmt: skip
    name = optimizers.racer_to_string(spec)
    if args.json:
        start = [float(v) for v in (scene.start if scene.start is not None else surface.start)]
        out = {"surface": surface.name, "racer": name, "start": start, "noise": scene.noise,
               "seed": scene.seed, **m.as_json()}  # fmt: skip
        print(json.dumps(out, indent=2, allow_nan=False))
    else:
        print(f"{surface.title} ({surface.name}), {m.steps} steps; {name} over {len(m.lrs)} learning rates "
              f"x {len(m.betas)} values of {m.beta_name}")  # fmt: skip
        finite = [(float(x), i, j) for (i, j), x in np.ndenumerate(m.loss) if not m.diverged[i, j]]
        print(f"diverged: {int(m.diverged.sum())} of {m.loss.size} runs")
        if finite:
            x, i, j = min(finite)
            print(f"lowest final loss: {x:.6g} at lr {m.lrs[j]:g}, {beta_label(m.beta_name)} {m.betas[i]:g}")
    if args.out:
        from .figures import PALETTE
        from .figures.heatmap import heatmap_figure

        _write(heatmap_figure(m, name, PALETTE[0]), args.out, args.json)
    return 0

"""`optirace tune` and `optirace memory`: a fair race from the terminal.

    optirace tune   --surface rosenbrock --racer adam:lr=0.01 --racer sgd:lr=0.001 --steps 300 [--json]
    optirace memory --racer adam --racer sgd:momentum=0.9 --params 7e9 --gpus 8 [--json]

`--out FILE.png|.svg|.pdf` writes the sensitivity plot (tune) or the memory bars (memory) with the
same matplotlib rendering as the race's stills.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["add_tune", "run_tune", "add_memory", "run_memory"]


def _racers(args: argparse.Namespace, given: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    import optimizers

    from .cli import _default_racers

    return list(given or [optimizers.parse_racer(s) for s in _default_racers(optimizers.OPTIMIZERS)])


def _out(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--out", metavar="FILE", help=f"also write {what} as .png, .svg or .pdf (1280x720)")


def add_tune(p: argparse.ArgumentParser) -> None:
    from optimizers.tune import DEFAULT_GRID, MAX_TUNE_GRID

    from .cli import _add_race

    _add_race(p)  # the race's own flags (the shared Scene declaration), --surface-param and --json
    p.add_argument("--grid", type=int, default=DEFAULT_GRID, metavar="N",
                   help=f"learning rates tried per racer, over its display range (2 to {MAX_TUNE_GRID}; "
                        f"default: {DEFAULT_GRID})")  # fmt: skip
    _out(p, "the learning-rate sensitivity plot")


def run_tune(args: argparse.Namespace) -> int:
    import optimizers

    from .cli import _parse_surface_params
    from .fairness import changes, racer_name, tune_json
    from .scene import Scene

    scene = Scene(**Scene.read_args(args))
    specs = _racers(args, scene.racers)
    sp = {**(scene.surface_params() or {}), **_parse_surface_params(args.surface_param)} or None
    common = dict(start=scene.start, steps=scene.steps, noise=scene.noise, seed=scene.seed,
                  batch_size=scene.batch_size, surface_params=sp)  # fmt: skip
    if args.out:
        from .export.view import view_format

        view_format(args.out)  # a wrong extension is refused before any work
    surface = scene.surface_object()  # a catalogue surface, or --formula over --domain
    if surface.cost > 1:
        _costly_note(surface.cost, len(specs), args.grid, scene.steps)
    result = optimizers.race(surface, specs, **common)
    tuned = optimizers.tune(surface, specs, grid=args.grid, **common)
    if args.json:
        print(json.dumps(tune_json(result, specs, tuned, args.grid), indent=2, allow_nan=False))
    else:
        start = ", ".join(f"{v:g}" for v in result.params[0, 0])
        print(f"{result.surface.title} ({result.surface.name}), {result.steps} steps from ({start}); "
              f"{args.grid} learning rates per racer")  # fmt: skip
        for line, s in zip(changes([racer_name(r) for r in specs], tuned.sweeps), tuned.sweeps, strict=True):
            note = (
                "  (every run diverged: unchanged)" if s.all_diverged else f"  (final loss {s.best_loss:.3g})"
            )
            print(line + note)
    if args.out:
        from .figures.sensitivity import sensitivity_figure

        current = [(s.before, _final(result, i)) for i, s in enumerate(tuned.sweeps)]
        fig = sensitivity_figure(tuned.sweeps, [racer_name(r) for r in specs], current,
                                 result.surface.min_value, steps=result.steps)  # fmt: skip
        _write(fig, args.out, args.json)
    return 0


def _costly_note(cost: float, racers: int, grid: int, steps: int) -> None:
    """On a costly surface, before the work: what it costs and how to make it quicker. The command
    runs on the user's own machine, so it does what was asked (the page fits its grid instead)."""
    import sys

    work = racers * grid * steps * cost
    print(f"note: one step on this surface costs as much as {cost:g} steps of a closed-form surface: "
          f"{racers} racers x {grid} learning rates x {steps} steps is {work:,.0f} closed-form run-steps, "
          "which can take a while; a smaller --grid is quicker", file=sys.stderr)  # fmt: skip


def _final(result, i: int) -> float:
    return float("inf") if result.diverged_at[i] >= 0 else float(result.loss[i, -1])


def _write(fig, out: str, quiet: bool) -> None:
    import sys

    from .export.view import write_view

    try:
        path = write_view(fig, out)
    except OSError as e:
        raise ValueError(f"cannot write {out}: {e.strerror or e}") from None
    # After JSON, stdout holds the JSON alone: the note goes to stderr.
    print(f"wrote {path}", file=sys.stderr if quiet else sys.stdout)


def add_memory(p: argparse.ArgumentParser) -> None:
    from optimizers.memory import DEFAULT_GPUS, DEFAULT_PARAMS, MAX_GPUS, MAX_PARAMS

    from .cli import DEFAULT_RACERS

    p.add_argument("--racer", dest="racers", action="append", metavar="SPEC",
                   help=f"a racer, e.g. 'adam'; repeat for more (default: {' and '.join(DEFAULT_RACERS[:2])})")  # fmt: skip
    p.add_argument("--params", default=str(DEFAULT_PARAMS), metavar="N",
                   help=f"parameters of the model, e.g. 7e9 (1 to {MAX_PARAMS:g}; default: {DEFAULT_PARAMS:g})")  # fmt: skip
    p.add_argument("--gpus", default=str(DEFAULT_GPUS), metavar="G",
                   help=f"data-parallel GPUs sharing the optimizer state, ZeRO stage 1 (1 to {MAX_GPUS}; "
                        f"default: {DEFAULT_GPUS})")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _out(p, "the memory bars")


def run_memory(args: argparse.Namespace) -> int:
    import optimizers
    from optimizers.memory import check_gpus, check_params

    from .fairness import MEMORY_COLUMNS, human_bytes, memory_rows, text_table
    from .scene import MAX_RACERS, _racer_from_text

    if args.racers and len(args.racers) > MAX_RACERS:
        raise ValueError(f"--racer: at most {MAX_RACERS} racers")
    specs = (
        [_racer_from_text(t, f"--racer {t!r}") for t in args.racers] if args.racers else _racers(args, None)
    )
    labels = list(args.racers) if args.racers else [optimizers.racer_to_string(s) for s in specs]
    params, gpus = check_params(args.params), check_gpus(args.gpus)
    rows = optimizers.memory(specs, params=params, gpus=gpus, labels=labels)
    if args.out:
        from .export.view import view_format

        view_format(args.out)
    if args.json:
        out = {"params": params, "gpus": gpus, "zero_stage": 1, "bytes": {"fp32": 4, "bf16": 2},
               "racers": [m.as_json() for m in rows]}  # fmt: skip
        print(json.dumps(out, indent=2, allow_nan=False))
    else:
        print(f"Optimizer state for a model of {params:.3g} parameters, ZeRO stage 1 over {gpus} GPU(s): "
              "the state is split over the GPUs; each GPU also holds the whole parameters and gradients "
              f"({human_bytes(rows[0].replicated_bytes_per_gpu('fp32'))} fp32, "
              f"{human_bytes(rows[0].replicated_bytes_per_gpu('bf16'))} bf16), not counted below.")  # fmt: skip
        print(text_table(MEMORY_COLUMNS, memory_rows(rows)))
    if args.out:
        from .figures.memory import memory_figure

        _write(memory_figure(rows, labels), args.out, args.json)
    return 0

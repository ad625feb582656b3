"""The `optirace` console script: race from the terminal, serve the web app, run the benchmark.

    optirace race  --surface rosenbrock --racer 'adam:lr=0.01' --racer 'sgd:lr=0.001,momentum=0.9'
    optirace serve [panel serve options]
    optirace export --surface rosenbrock --racer 'adam:lr=0.02' --steps 300 --out race.gif
    optirace bench

Each subcommand is one entry in `COMMANDS`: a function adding its arguments and one running it.
Mistakes in what the user typed end as a single `optirace: error: ...` line and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .text import shown

__all__ = ["main", "build_parser", "UsageError"]

EXIT_USAGE = 2

# Tried in order; the first two whose optimizer is registered race when no --racer is given.
DEFAULT_RACERS = (
    "sgd:lr=0.001,momentum=0.9",
    "adam:lr=0.01",
    "nag:lr=0.001,momentum=0.9",
    "gd:lr=0.001",
)

RACER_HELP = """\
racer syntax: NAME:key=value,key=value,...
  hyperparameters use torch.optim's names (tuples split: betas -> beta1, beta2)
  schedule:  sgd:lr=0.1,schedule=step,schedule.step_size=100,schedule.gamma=0.5
  clipping:  adam:lr=0.01,clip_norm=1.0   (or clip_value=0.5)
  wrappers:  lookahead:k=5,alpha=0.5,inner=sgd,inner.lr=0.01
  label:     adam:lr=0.01,label=fast-adam
  optax:     optax:lamb:learning_rate=0.01,b1=0.8   (any optax optimizer, with optax's names)
"""


class UsageError(Exception):
    """Something the user typed is wrong: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr instead of the usage block."""

    def error(self, message: str):
        raise UsageError(f"{message} (see '{self.prog} --help')")


# --- race ------------------------------------------------------------------------------------------


def _add_race(p: argparse.ArgumentParser) -> None:
    from .scene import RACE_INPUTS, Scene

    racers = " and ".join(DEFAULT_RACERS[:2])
    Scene.add_arguments(
        p, RACE_INPUTS, helps={"racers": f"a racer, e.g. 'adam:lr=0.01'; repeat for more (default: {racers})"}
    )
    p.add_argument(
        "--surface-param",
        action="append",
        metavar="NAME=VALUE",
        default=[],
        help="override a surface shape parameter, e.g. kappa=100; repeat for more",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _parse_surface_params(items: Sequence[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            raise UsageError(f"--surface-param {item!r} is not NAME=VALUE, e.g. kappa=100")
        out[name.strip()] = value.strip()
    return out


def _default_racers(registered) -> list[str]:
    return [s for s in DEFAULT_RACERS if s.partition(":")[0] in registered][:2]


def _run_race(args: argparse.Namespace) -> int:
    import optimizers  # imports jax: only when racing

    from .report import as_json, summarise, table
    from .scene import Scene

    scene = Scene(**Scene.read_args(args))
    specs = args.racers or _default_racers(optimizers.OPTIMIZERS)
    racers = scene.racers or [optimizers.parse_racer(s) for s in specs]
    surface = scene.surface_object()
    for note in getattr(surface, "notes", ()):  # a typed formula's check: where f misbehaves
        print(f"optirace: note: {shown(note)}", file=sys.stderr)
    result = optimizers.race(
        surface,
        racers,
        start=scene.start,
        steps=scene.steps,
        noise=scene.noise,
        seed=scene.seed,
        batch_size=scene.batch_size,
        surface_params={**(scene.surface_params() or {}), **_parse_surface_params(args.surface_param)},
    )
    if args.json:
        context = {"noise": scene.noise, "seed": scene.seed, "batch_size": scene.batch_size}
        print(json.dumps(as_json(result, specs, **context), indent=2, allow_nan=False))
    else:
        start = ", ".join(f"{v:g}" for v in result.params[0, 0])
        print(f"{result.surface.title} ({result.surface.name}), {result.steps} steps from ({start})")
        print(table(summarise(result, specs)))
    return 0


# --- serve -----------------------------------------------------------------------------------------


def app_path() -> Path:
    """app.py sits beside the packages, both in a checkout and once installed (a top-level module)."""
    beside = Path(__file__).resolve().parent.parent / "app.py"
    if beside.is_file():
        return beside
    import importlib.util

    spec = importlib.util.find_spec("app")
    if spec is not None and spec.origin and Path(spec.origin).name == "app.py":
        return Path(spec.origin)
    raise UsageError(f"cannot find app.py (looked in {beside.parent} and on the import path)")


def _add_serve(p: argparse.ArgumentParser) -> None:
    p.epilog = (
        "Every other option goes to 'panel serve' unchanged, e.g. "
        "optirace serve --port 5006 --address 0.0.0.0 --allow-websocket-origin course.example.org:5006. "
        "See 'python -m panel serve --help' for them."
    )


def serve_command(extra: Sequence[str]) -> list[str]:
    # The plugin adds the security headers and the strict websocket origin check (docs/deploy.md).
    return [
        sys.executable,
        "-m",
        "panel",
        "serve",
        str(app_path()),
        "--plugins",
        "optirace.serve_plugin",
        *extra,
    ]


def _run_serve(args: argparse.Namespace) -> int:
    cmd = serve_command(args.extra)
    # The server inherits the engine's XLA setting even if the app touches JAX before the engine.
    from optimizers.engine import compile_loops_as_one_kernel

    compile_loops_as_one_kernel(os.environ)
    # Memory falls back when tabs close (see the Dockerfile): glibc's allocator for Python objects.
    os.environ.setdefault("PYTHONMALLOC", "malloc")
    if os.name == "posix":
        # exec: signals (Ctrl-C, a container's SIGTERM) reach panel directly.
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(cmd[0], cmd)
    return subprocess.call(cmd)


# --- bench -----------------------------------------------------------------------------------------


def _add_bench(p: argparse.ArgumentParser) -> None:
    from .bench import add_arguments

    add_arguments(p)


def _run_bench(args: argparse.Namespace) -> int:
    from .bench import run

    return run(args)


# --- export ----------------------------------------------------------------------------------------


def _add_export(p: argparse.ArgumentParser) -> None:
    from .export.command import add_arguments

    p.epilog = RACER_HELP
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    add_arguments(p)


def _run_export(args: argparse.Namespace) -> int:
    from .export.command import run

    return run(args)


# --- tune, memory (optirace/fair_cli.py) ----------------------------------------------------------


def _add_tune(p: argparse.ArgumentParser) -> None:
    from .fair_cli import add_tune

    add_tune(p)


def _run_tune(args: argparse.Namespace) -> int:
    from .fair_cli import run_tune

    return run_tune(args)


def _add_memory(p: argparse.ArgumentParser) -> None:
    from .fair_cli import add_memory

    add_memory(p)


def _run_memory(args: argparse.Namespace) -> int:
    from .fair_cli import run_memory

    return run_memory(args)


# --- heatmap (optirace/heatmap_cli.py) ------------------------------------------------------------


def _add_heatmap(p: argparse.ArgumentParser) -> None:
    from .heatmap_cli import add_heatmap

    add_heatmap(p)


def _run_heatmap(args: argparse.Namespace) -> int:
    from .heatmap_cli import run_heatmap

    return run_heatmap(args)


# --- deck ------------------------------------------------------------------------------------------


def _add_deck(p: argparse.ArgumentParser) -> None:
    from .export.deck import add_arguments

    add_arguments(p)


def _run_deck(args: argparse.Namespace) -> int:
    from .export.deck import run

    return run(args)


# --- basins (optirace/basins_cli.py) --------------------------------------------------------------


def _add_basins(p: argparse.ArgumentParser) -> None:
    from .basins_cli import add_basins

    add_basins(p)


def _run_basins(args: argparse.Namespace) -> int:
    from .basins_cli import run_basins

    return run_basins(args)


# --- registry --------------------------------------------------------------------------------------

Command = tuple[str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]

COMMANDS: tuple[Command, ...] = (
    ("race", "race optimizers on a surface and print the outcome", _add_race, _run_race),
    ("serve", "run the web app (panel serve app.py)", _add_serve, _run_serve),
    ("export", "write a race for slides: GIF, MP4, HTML, PNG, SVG, PDF", _add_export, _run_export),
    ("bench", "time the engine against torch.optim and optax", _add_bench, _run_bench),
    ("tune", "set each racer's learning rate to its best on this surface and budget", _add_tune, _run_tune),
    ("memory", "optimizer-state memory per racer for a large model (ZeRO stage 1)", _add_memory, _run_memory),
    ("deck", "write the lessons as an offline slide deck (.html) or stills (.pdf)", _add_deck, _run_deck),
    ("basins", "map where one racer ends from each start of a grid (basins)", _add_basins, _run_basins),
    ("heatmap", "one racer's final loss over a grid of learning rate x momentum", _add_heatmap, _run_heatmap),
)

# Commands whose unknown options are passed through rather than rejected.
PASS_THROUGH = {"serve"}


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(
        prog="optirace",
        description="Deep-learning optimizers racing across loss surfaces.",
        epilog=RACER_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"optirace {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_text, add, _ in COMMANDS:
        p = sub.add_parser(name, help=help_text, description=help_text.capitalize() + ".")
        if name in ("race", "tune", "heatmap"):
            p.epilog = RACER_HELP
            p.formatter_class = argparse.RawDescriptionHelpFormatter
        add(p)
    return parser


def _glue_negative_values(argv: list[str]) -> list[str]:
    """`--start -1.5,2.0` would read as an unknown option to argparse; make it `--start=-1.5,2.0`
    (and so for `--domain -3,3` and `--formula "-x^2"`)."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        if (
            argv[i] in ("--start", "--domain", "--formula")
            and i + 1 < len(argv)
            and argv[i + 1].startswith("-")
        ):
            out.append(f"{argv[i]}={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    runners = {name: run for name, _, _, run in COMMANDS}
    try:
        parser = build_parser()
        args, extra = parser.parse_known_args(_glue_negative_values(argv))
        if extra and args.command not in PASS_THROUGH:
            raise UsageError(
                f"unrecognized arguments: {' '.join(extra)} (see 'optirace {args.command} --help')"
            )
        args.extra = extra
        return runners[args.command](args)
    except (UsageError, ValueError) as err:
        # ValueError is the engine's validation: its message names the field and what is allowed.
        # One line, and no terminal control sequences from a stranger's scene file or link.
        message = shown(" ".join(str(err).split()))
        print(f"optirace: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""`optirace export`: its arguments and its run; optirace/cli.py only registers them.

    optirace export --surface rosenbrock --racer 'adam:lr=0.02' --racer 'sgd:lr=0.001,momentum=0.9' \\
        --steps 300 --out race.gif
    optirace export --scene scene.json --out race.mp4 --size 1920x1080 --theme slides

Heavy modules (JAX, matplotlib, Bokeh) load only when an export runs, so `--help` stays instant.
"""

from __future__ import annotations

import argparse
import sys

from .options import DEFAULT_FPS, FORMATS, PANELS, THEMES, Options, format_of, parse_panels, parse_size

__all__ = ["add_arguments", "run"]

RACE_ARGS = ("surface", "racer", "steps", "start", "noise", "seed")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = "Export a race for slides. The format comes from --out's extension:\n" + "\n".join(
        f"  .{k:<5} {v}" for k, v in FORMATS.items()
    )
    p.add_argument("--out", required=True, metavar="FILE", help="the file to write: race.gif, race.mp4, ...")
    race = p.add_argument_group("the race (or --scene)")
    race.add_argument("--scene", metavar="FILE.json|URL",
                      help="the app's scene: a JSON file from the app's Export menu, or a shared app link")  # fmt: skip
    race.add_argument("--surface", help="surface key (default: rosenbrock)")
    race.add_argument("--racer", action="append", metavar="SPEC",
                      help="a racer, e.g. 'adam:lr=0.01'; repeat for more (default: the app's racers)")  # fmt: skip
    race.add_argument("--steps", type=int, help="optimizer steps per racer (default: 300)")
    race.add_argument("--start", metavar="X,Y", help="start point (default: the surface's own start)")
    race.add_argument("--noise", type=float, help="Gaussian gradient noise sigma (default: 0)")
    race.add_argument("--seed", type=int, help="noise seed (default: 0)")
    look = p.add_argument_group("the picture")
    look.add_argument("--size", default="1280x720", metavar="WxH", help="pixels (default: 1280x720)")
    look.add_argument("--theme", choices=THEMES,
                      help="slides: large fonts and thick lines (default: the scene's look, else light)")  # fmt: skip
    look.add_argument("--panels", default=",".join(PANELS), metavar="LIST",
                      help=f"comma-separated, side by side: {', '.join(PANELS)} (default: all three)")  # fmt: skip
    look.add_argument("--title", help="a title above the panels")
    look.add_argument("--no-legend", action="store_true", help="leave the legends out")
    look.add_argument(
        "--fps", type=float, default=DEFAULT_FPS, help=f"frames per second (default: {DEFAULT_FPS:g})"
    )
    look.add_argument("--duration", type=float, metavar="SECONDS",
                      help="length of the animation (default: one frame per step, 2 to 12 s)")  # fmt: skip
    look.add_argument("--at-step", type=int, metavar="K",
                      help="stills and the HTML's first view: show step K (default: the last step)")  # fmt: skip


def _scene(args: argparse.Namespace) -> dict:
    from .scene import read_scene

    if args.scene is not None:
        return read_scene(args.scene)
    scene: dict = {
        "surface": args.surface or "rosenbrock",
        "steps": 300 if args.steps is None else args.steps,
    }
    if args.racer:
        scene["racers"] = [_racer(r) for r in args.racer]
    if args.start is not None:
        try:
            scene["start"] = [float(v) for v in args.start.split(",")]
        except ValueError:
            raise ValueError(f"--start {args.start!r} is not a point; give numbers, e.g. -1.5,2.0") from None
    for key in ("noise", "seed"):
        if getattr(args, key) is not None:
            scene[key] = getattr(args, key)
    return scene


def _racer(text: str) -> str:
    """Checked here so a mistake is reported against the --racer it came from."""
    from optimizers import Racer, parse_racer
    from views.urlstate import racer_to_string

    try:
        spec = parse_racer(text)
        Racer.from_spec(spec)
    except ValueError as e:
        raise ValueError(f"--racer {text!r}: {e}") from None
    return racer_to_string(spec)


def options_from(args: argparse.Namespace) -> Options:
    return Options(
        size=parse_size(args.size),
        theme=args.theme,
        fps=args.fps,
        duration=args.duration,
        title=args.title,
        legend=not args.no_legend,
        panels=parse_panels(args.panels),
        at_step=args.at_step,
    )


def _bar(stream):
    """A progress bar on a terminal; nothing when output goes to a file or a pipe."""
    if not stream.isatty():
        return None, lambda done, total: None
    from tqdm import tqdm

    bar = tqdm(total=0, unit="frame", file=stream, leave=False, dynamic_ncols=True)

    def update(done: int, total: int) -> None:
        if bar.total != total:
            bar.reset(total=total)
        bar.n = done
        bar.refresh()

    return bar, update


def run(args: argparse.Namespace) -> int:
    fmt = format_of(args.out)
    options = options_from(args)
    if options.at_step is not None and fmt in ("gif", "mp4"):
        raise ValueError(f"--at-step is for stills and the HTML's first view, not .{fmt}")
    if fmt not in ("gif", "mp4", "html") and args.duration is not None:
        raise ValueError(f"--duration is for animations (.gif, .mp4, .html), not .{fmt}")
    from . import export
    from .interrupt import sigterm_exits
    from .scene import state_from_scene

    given = [a for a in RACE_ARGS if getattr(args, a) is not None]
    if args.scene is not None and given:
        raise ValueError(f"--scene gives the whole race; drop --{given[0]}")
    try:
        state = state_from_scene(_scene(args))
    except ValueError as e:
        raise ValueError(f"scene {args.scene}: {e}" if args.scene else str(e)) from None
    bar, progress = _bar(sys.stderr)
    try:
        with sigterm_exits():  # a killed export removes its half-written file, as Ctrl-C does
            written = export(state, args.out, options, progress)
    except OSError as e:
        raise ValueError(f"cannot write {args.out}: {e.strerror or e}") from None
    finally:
        if bar is not None:
            bar.close()
    print(written.describe())
    return 0

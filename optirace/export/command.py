"""`optirace export`: its arguments and its run; optirace/cli.py only registers them.

    optirace export --surface rosenbrock --racer 'adam:lr=0.02' --racer 'sgd:lr=0.001,momentum=0.9' \\
        --steps 300 --out race.gif
    optirace export --scene scene.json --out race.mp4 --size 1920x1080 --theme slides

Heavy modules (JAX, matplotlib, Bokeh) load only when an export runs, so `--help` stays instant.
"""

from __future__ import annotations

import argparse
import sys

from optirace.text import shown

from .options import (
    DEFAULT_FPS,
    FORMATS,
    PANELS,
    THEMES,
    Options,
    format_of,
    parse_arrows,
    parse_panels,
    parse_size,
)

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    from optirace.scene import RACE_INPUTS, Scene

    p.description = "Export a race for slides. The format comes from --out's extension:\n" + "\n".join(
        f"  .{k:<5} {v}" for k, v in FORMATS.items()
    )
    p.add_argument("--out", required=True, metavar="FILE", help="the file to write: race.gif, race.mp4, ...")
    race = p.add_argument_group("the race (or --scene)")
    race.add_argument("--scene", metavar="FILE.json|URL",
                      help="the app's scene: a JSON file from the app's Export menu, or a shared app link")  # fmt: skip
    Scene.add_arguments(race, RACE_INPUTS)
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
    look.add_argument("--arrows", metavar="LIST",
                      help="stills: arrows at each racer's point at the step, any of g (the negative gradient), "
                           "u (the update), m (minus the first moment), comma-separated")  # fmt: skip


def _state(args: argparse.Namespace):
    """The race to export, from --scene or from the race flags; ValueError naming what is wrong."""
    from optirace.scene import FORMS, RACE_INPUTS, Scene

    from .scene import raced, read_scene, state_from_scene

    given = [FORMS[n].flag for n in RACE_INPUTS if getattr(args, n, None) is not None]
    if args.scene is not None:
        if given:
            raise ValueError(f"--scene gives the whole race; drop {given[0]}")
        try:
            return state_from_scene(read_scene(args.scene))
        except ValueError as e:
            raise ValueError(f"scene {args.scene}: {e}") from None
    return raced(Scene.read_args(args))


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
        arrows=parse_arrows(getattr(args, "arrows", None)),
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
    if options.arrows and fmt not in ("png", "svg", "pdf"):
        raise ValueError(f"--arrows is for stills (.png, .svg, .pdf), not .{fmt}")
    if fmt not in ("gif", "mp4", "html") and args.duration is not None:
        raise ValueError(f"--duration is for animations (.gif, .mp4, .html), not .{fmt}")
    from . import export
    from .interrupt import sigterm_exits

    state = _state(args)
    for note in getattr(state.result.surface, "notes", ()):  # a typed formula's check
        print(f"optirace: note: {shown(note)}", file=sys.stderr)
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

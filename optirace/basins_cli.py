"""`optirace basins`: where one racer ends from every start of a grid, as a picture.

    optirace basins --surface himmelblau --racer adam:lr=0.05 --grid 128 --steps 300 --out map.png
    optirace basins --formula "(x^2 - 1)^2 + y^2" --domain -2,2,-1,1 --racer sgd:lr=0.05 --out map.svg

The surface, formula, racer and budget flags are the race's own (the shared Scene declaration), so
they read as `optirace race` and `optirace tune` read them. `--out` takes .png, .svg or .pdf (the
matplotlib rendering of the other stills, 1280x720) or .html (the Bokeh figure, standalone).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_basins", "run_basins", "BASINS_FIELDS", "OUT_FORMATS"]

# The Scene's fields a basin map is made of: no start (every start of the grid is one), no batch.
BASINS_FIELDS = ("surface", "formula", "domain", "racers", "steps", "noise", "seed")
OUT_FORMATS = ("png", "svg", "pdf", "html")


def add_basins(p: argparse.ArgumentParser) -> None:
    from .cli import RACER_HELP
    from .figures.basins import DEFAULT_GRID, MAX_GRID, MIN_GRID
    from .scene import Scene

    p.epilog = RACER_HELP  # the racer syntax, as `optirace race --help` gives it
    p.formatter_class = argparse.RawDescriptionHelpFormatter

    Scene.add_arguments(
        p, BASINS_FIELDS, helps={"racers": "the racer, e.g. 'adam:lr=0.05' (default: adam:lr=0.01)"}
    )
    p.add_argument("--surface-param", action="append", metavar="NAME=VALUE", default=[],
                   help="override a surface shape parameter, e.g. kappa=100; repeat for more")  # fmt: skip
    p.add_argument("--grid", type=int, default=DEFAULT_GRID, metavar="N",
                   help=f"starts per side of the grid over the surface's domain ({MIN_GRID} to {MAX_GRID}; "
                        f"default: {DEFAULT_GRID})")  # fmt: skip
    p.add_argument("--out", required=True, metavar="FILE",
                   help="write the map as .png, .svg, .pdf (1280x720) or .html (standalone, no server)")  # fmt: skip


def out_format(path: str) -> str:
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in OUT_FORMATS:
        raise ValueError(
            f"--out {Path(path).name}: write a basin map as {', '.join('.' + f for f in OUT_FORMATS)}"
        )
    return fmt


def run_basins(args: argparse.Namespace) -> int:
    import optimizers

    from .cli import _parse_surface_params
    from .figures.basins import basin_map, basins_figure, check_grid
    from .scene import Scene
    from .text import shown

    fmt = out_format(args.out)  # refused before any work, as is the grid
    grid = check_grid(args.grid)
    scene = Scene(**Scene.read_args(args))
    if len(scene.racers) > 1:
        raise ValueError("--racer: a basin map is of one racer; give --racer once")
    spec = scene.racers[0] if scene.racers else optimizers.parse_racer("adam:lr=0.01")
    sp = {**(scene.surface_params() or {}), **_parse_surface_params(args.surface_param)} or None
    surface = scene.surface_object()  # a catalogue surface, or --formula over --domain
    for note in getattr(surface, "notes", ()):  # a typed formula's check: where f misbehaves
        print(f"optirace: note: {shown(note)}", file=sys.stderr)
    bmap = basin_map(surface, spec, grid=grid, steps=scene.steps, noise=scene.noise, seed=scene.seed,
                     surface_params=sp)  # fmt: skip
    print(f"{shown(surface.title)} ({surface.name}): {shown(bmap.racer)}, {bmap.steps} steps from each of "
          f"{grid}x{grid} starts")  # fmt: skip
    for name, share in zip(bmap.names, bmap.shares(), strict=True):
        print(f"  {share:7.2%}  {name}")
    fig = basins_figure(bmap)
    try:
        path = _write(fig, args.out, fmt, surface.title)
    except OSError as e:
        raise ValueError(f"cannot write {args.out}: {e.strerror or e}") from None
    print(f"wrote {path}")
    return 0


def _write(fig, out: str, fmt: str, title: str) -> Path:
    if fmt != "html":
        from .export.view import write_view

        return write_view(fig, out)
    import holoviews as hv
    from bokeh.document import Document

    from .export.html import page_html
    from .figures.look import look
    from .text import shown

    fig = fig.opts(width=900, height=640, backend="bokeh")
    doc = Document()
    doc.add_root(hv.render(fig, backend="bokeh"))
    path = Path(out)
    path.write_text(
        page_html(doc, f"OptiRace basins: {shown(title)}", look("light").background), encoding="utf-8"
    )
    return path

"""Export a race for slides: animated GIF, MP4 and offline HTML; PNG, SVG and PDF stills.

    from optirace.export import Options, export
    from optirace.export.scene import state_from_scene
    state = state_from_scene({"surface": "rosenbrock", "racers": ["adam:lr=0.02"], "steps": 300})
    export(state, "race.gif", Options(size=(1280, 720), theme="slides"))

The format comes from the file's extension. `state` is a raced scene (optirace.scene.Raced, or the
app's state, which is a scene too), so the CLI, the app's Export menu and a scene JSON all export
through this one call.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .interrupt import check as check_interrupt
from .options import ANIMATED, FORMATS, Options, format_of, frame_steps

if TYPE_CHECKING:  # the export runs on a scene raced without the app (optirace.scene.Raced)
    from optirace.scene import Raced

__all__ = ["export", "Options", "Written", "FORMATS", "format_of"]

Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class Written:
    path: Path
    format: str
    size: tuple[int, int]
    frames: int  # frames stored (GIF stores equal consecutive frames once); 1 for stills
    seconds: float  # length of the animation; 0 for stills
    step: int | None  # the still's step (or the HTML's first view)
    bytes: int

    def describe(self) -> str:
        w, h = self.size
        what = f"{w}x{h}"
        if self.format in ("gif", "mp4"):
            what += f", {self.frames} frames, {self.seconds:g} s"
        elif self.format == "html":
            what += f", offline, plays {self.seconds:g} s"
        else:
            what += f", step {self.step}"
        if self.format in ("pdf", "svg"):
            what += f", page {w * 0.72:g} x {h * 0.72:g} pt ({w / 100:g} x {h / 100:g} in)"
        return f"wrote {self.path} ({FORMATS[self.format]}, {what}, {self.bytes / 1e6:.2f} MB)"


def export(state: Raced, out: str | Path, options: Options | None = None,
           progress: Progress | None = None) -> Written:  # fmt: skip
    """Write the state's race to `out`; the format is the extension. ValueError for bad options."""
    out = Path(out)
    fmt = format_of(out)
    if state.result is None:
        raise ValueError(state.error or "there is no race to export")
    steps = state.result.steps
    options = (options or Options()).checked(fmt, steps)
    if options.at_step is None and fmt not in ANIMATED:
        options = options.with_step(min(state.step, steps))
    if not out.parent.is_dir():
        raise ValueError(f"cannot write {out}: folder {out.parent} does not exist")
    given = progress or (lambda i, n: None)

    def done(i: int, n: int) -> None:
        check_interrupt()  # a SIGTERM the interpreter swallowed still stops the export here
        given(i, n)

    # Written beside the target and renamed at the end: a failed export leaves no half file behind.
    tmp = out.with_name(f".{out.stem}-{os.getpid()}-{secrets.token_hex(4)}{out.suffix}")
    try:
        frames, seconds = _write(state, tmp, fmt, options, done)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    step = options.at_step if fmt not in ("gif", "mp4") else None
    return Written(out, fmt, options.size, frames, seconds, step, out.stat().st_size)


def _write(state: Raced, path: Path, fmt: str, options: Options, done: Progress) -> tuple[int, float]:
    steps = state.result.steps
    if fmt in ("gif", "mp4"):
        from .animate import write_gif, write_mp4
        from .frames import Picture

        pic = Picture(state, options, animated=True)
        ks = frame_steps(options, steps)
        total = len(ks)
        count = [0]

        def tick():
            count[0] += 1
            done(count[0], total)

        frames = (pic.rgba(int(k)) for k in ks)
        if fmt == "gif":
            samples = [pic.frame(int(ks[0])), pic.frame(int(ks[-1]))]
            stored = write_gif(path, frames, options.size, options.fps, total, samples, tick)
        else:
            write_mp4(path, frames, options.size, options.fps, tick)
            stored = total
        return stored, total / options.fps
    if fmt == "html":
        from .html import write_html

        done(0, 1)
        write_html(state, path, options)
        done(1, 1)
        return 1, options.seconds(steps)
    from .still import write_still

    done(0, 1)
    write_still(state, path, fmt, options, int(options.at_step))
    done(1, 1)
    return 1, 0.0

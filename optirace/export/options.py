"""What an export is asked for besides the scene: format, size, look, timing, panels.

One checker for the CLI and the app's Export menu, so both refuse the same things with the same words.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from optirace.text import shown

__all__ = ["Options", "FORMATS", "PANELS", "THEMES", "format_of", "parse_size", "parse_panels", "frame_steps"]

# Extension -> what it holds.
FORMATS = {
    "gif": "animated GIF",
    "mp4": "H.264 video",
    "html": "standalone animated page",
    "png": "still picture",
    "svg": "still, vector",
    "pdf": "still, vector",
}
ANIMATED = ("gif", "mp4", "html")
PANELS = ("contour", "loss", "lr")
THEMES = ("light", "dark", "slides")
MAX_SIDE = 3840
MAX_CAPTION = 1000
MAX_FRAMES = 3000  # 2 minutes at 25 fps: a bound on one export's work on a shared server
DEFAULT_FPS = 25.0  # GIF delays are whole centiseconds: 25 fps is exactly 4 of them


@dataclass(frozen=True)
class Options:
    size: tuple[int, int] = (1280, 720)
    theme: str | None = None  # None: the scene's own look (light or dark, presentation or not)
    fps: float = DEFAULT_FPS
    duration: float | None = None  # None: about one frame per step, 2 to 12 seconds
    title: str | None = None
    legend: bool = True
    panels: tuple[str, ...] = PANELS
    at_step: int | None = None  # stills (and the HTML's first view): None means the scene's step
    caption: str | None = None  # a paragraph under the panels (a lesson's, in a deck)
    arrows: tuple[str, ...] = ()  # stills: the internals' arrows at the step (export/arrows.py)

    def checked(self, fmt: str, steps: int) -> Options:
        """These options for a race of `steps` steps written as `fmt`; ValueError names what is wrong."""
        w, h = self.size
        if not (16 <= w <= MAX_SIDE and 16 <= h <= MAX_SIDE):
            raise ValueError(f"size {w}x{h}: width and height must be 16 to {MAX_SIDE} pixels")
        if fmt == "mp4" and (w % 2 or h % 2):
            raise ValueError(f"size {w}x{h}: MP4 (H.264, yuv420p) needs an even width and height")
        if self.theme is not None and self.theme not in THEMES:
            raise ValueError(f"theme {self.theme!r}: use one of {', '.join(THEMES)}")
        if not (math.isfinite(self.fps) and 1 <= self.fps <= 60):
            raise ValueError(f"fps {self.fps:g}: use 1 to 60 frames per second")
        if self.duration is not None and not (math.isfinite(self.duration) and 0 < self.duration <= 120):
            raise ValueError(f"duration {self.duration:g}: use more than 0 and at most 120 seconds")
        if (
            not self.panels
            or any(p not in PANELS for p in self.panels)
            or len(set(self.panels)) < len(self.panels)
        ):
            raise ValueError(f"panels {','.join(self.panels)!r}: choose from {', '.join(PANELS)}, each once")
        if self.caption is not None and len(self.caption) > MAX_CAPTION:
            raise ValueError(f"caption: at most {MAX_CAPTION} characters")
        if self.at_step is not None and not 0 <= self.at_step <= steps:
            raise ValueError(f"at-step {self.at_step}: the race has steps 0 to {steps}")
        if fmt in ("gif", "mp4") and self.frames(steps) > MAX_FRAMES:
            raise ValueError(
                f"{self.frames(steps)} frames is too many: fps x duration must be <= {MAX_FRAMES}"
            )
        return self

    def seconds(self, steps: int) -> float:
        if self.duration is not None:
            return float(self.duration)
        return float(min(12.0, max(2.0, steps / self.fps)))

    def frames(self, steps: int) -> int:
        return max(2, round(self.fps * self.seconds(steps)))

    def with_step(self, k: int | None) -> Options:
        return self if self.at_step is not None or k is None else replace(self, at_step=int(k))


def frame_steps(options: Options, steps: int) -> np.ndarray:
    """The step each frame shows: the race revealed evenly from step 0 to the last one."""
    return np.rint(np.linspace(0, steps, options.frames(steps))).astype(int)


def format_of(path: str | Path) -> str:
    ext = Path(path).suffix.lower().lstrip(".")
    if ext not in FORMATS:
        known = ", ".join(f".{e}" for e in FORMATS)
        raise ValueError(f"cannot tell the format of {str(path)!r}: end the file name with {known}")
    return ext


def parse_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text or "")
    if not m:
        raise ValueError(f"size {text!r} is not WIDTHxHEIGHT, e.g. 1280x720 or 1920x1080")
    return int(m.group(1)), int(m.group(2))


def parse_panels(text: str) -> tuple[str, ...]:
    names = tuple(p.strip().lower() for p in (text or "").split(",") if p.strip())
    aliases = {"surface": "contour", "curve": "contour"}
    return tuple(aliases.get(p, p) for p in names)


ARROW_KINDS = ("g", "u", "m")  # optirace/figures/internals.py's KINDS (that module loads HoloViews)


def parse_arrows(text: str | None) -> tuple[str, ...]:
    """`g,u,m` (any of them, each once) as a tuple; ValueError naming what is allowed."""
    if text is None:
        return ()
    names = tuple(p.strip().lower() for p in str(text).split(",") if p.strip())
    if not names or any(n not in ARROW_KINDS for n in names) or len(set(names)) < len(names):
        raise ValueError(
            f"arrows {shown(str(text), 40)!r}: comma-separated, each once, from g (the negative gradient), "
            "u (the update), m (minus the first moment)"
        )
    return names

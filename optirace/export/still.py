"""Stills of one step: PNG (the very pixels of that animation frame), SVG and PDF (vector).

Sizes: a PNG is WxH pixels at 100 dpi. An SVG or PDF page is the same picture as vector, W/100 by
H/100 inches (1280x720 -> 12.8 x 7.2 in = 921.6 x 518.4 pt), fonts scaled as in the PNG, so
`\\includegraphics[width=\\linewidth]` in Beamer shows it as the PNG would look.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from .arrows import draw_arrows
from .frames import DPI, Picture
from .options import Options

if TYPE_CHECKING:  # the export runs on a scene raced without the app (optirace.scene.Raced)
    from optirace.scene import Raced

__all__ = ["write_still", "page_size_pt"]


def page_size_pt(options: Options) -> tuple[float, float]:
    w, h = options.size
    return w * 72 / DPI, h * 72 / DPI


def write_still(state: Raced, path: Path, fmt: str, options: Options, k: int) -> None:
    picture = Picture(state, options, animated=fmt == "png")
    draw_arrows(picture, k, options.arrows, state.kappa)  # drawn once, before the frame's background
    if fmt == "png":
        Image.fromarray(picture.frame(k)).save(path, format="PNG", dpi=(DPI, DPI), compress_level=9)
    else:
        picture.save(path, fmt, k)

"""Stills of the views beside the race (learning-rate sensitivity, memory per racer): PNG, SVG, PDF.

The same matplotlib rendering and the same page sizes as a race's stills (optirace/export/still.py):
a PNG is WxH pixels at 100 dpi, an SVG or PDF the same picture as vector, W/100 by H/100 inches,
with reproducible metadata.
"""

from __future__ import annotations

from pathlib import Path

import holoviews as hv

from optirace.figures.look import look

from .frames import DPI, LOCK, REFERENCE
from .options import MAX_SIDE

__all__ = ["write_view", "view_format", "VIEW_FORMATS", "view_scale"]

VIEW_FORMATS = ("png", "svg", "pdf")


def view_scale(size: tuple[int, int]) -> float:
    """Text and line scale of a picture of `size` (1 at 1280x720, as the race's stills)."""
    return min(size[0] / REFERENCE[0], size[1] / REFERENCE[1])


def view_format(path: str | Path) -> str:
    """The format of `path` from its extension; ValueError if a view cannot be written as it."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in VIEW_FORMATS:
        raise ValueError(f"{path.name}: write a view as {', '.join('.' + f for f in VIEW_FORMATS)}")
    return fmt


def _themed(fig, lk) -> None:
    """Text, ticks, frames and keys in the look's colours: HoloViews' matplotlib options colour the
    background only, and a dark still kept black text on it."""
    for ax in fig.axes:
        ax.title.set_color(lk.text)
        ax.xaxis.label.set_color(lk.text)
        ax.yaxis.label.set_color(lk.text)
        ax.tick_params(which="both", colors=lk.grid, labelcolor=lk.text)
        for spine in ax.spines.values():
            spine.set_color(lk.grid)
        key = ax.get_legend()
        if key is not None:
            key.get_frame().set_facecolor(lk.background)
            key.get_frame().set_edgecolor(lk.grid)
            for t in key.get_texts():
                t.set_color(lk.text)
    for t in fig.texts:
        t.set_color(lk.text)


def _fit_legends(fig) -> None:
    """Narrow each axes whose legend, placed beside it, would run past the figure's right edge (a
    wide map fills the still's width). An axes of equal scales narrows about its centre, so its
    right edge may move by only half as much: a few rounds."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)  # text is measured as drawn; savefig picks the format's own canvas
    for _ in range(4):
        canvas.draw()
        renderer = canvas.get_renderer()
        moved = False
        for ax in fig.axes:
            key = ax.get_legend()
            if key is None:
                continue
            over = (key.get_window_extent(renderer).x1 - 0.99 * fig.bbox.width) / fig.bbox.width
            box = ax.get_position()
            if over > 0 and box.width - over > 0.1:
                ax.set_position([box.x0, box.y0, box.width - over, box.height])
                moved = True
        if not moved:
            return


def write_view(element: hv.Element, path: str | Path, size: tuple[int, int] = (1280, 720),
               theme: str = "light") -> Path:  # fmt: skip
    """Render a figure of optirace.figures with matplotlib and write it to `path` (.png, .svg, .pdf)."""
    import matplotlib as mpl

    path = Path(path)
    fmt = view_format(path)
    w, h = size
    if not (16 <= w <= MAX_SIDE and 16 <= h <= MAX_SIDE):
        raise ValueError(f"size {w}x{h}: width and height must be 16 to {MAX_SIDE} pixels")
    lk = look(theme)
    background = lk.background
    meta = {
        "svg": {"Date": None, "Creator": "optirace"},
        "pdf": {"CreationDate": None, "Creator": "optirace"},
    }
    with LOCK, mpl.rc_context({"svg.hashsalt": "optirace", "pdf.fonttype": 42, "svg.fonttype": "path"}):
        fig = hv.render(element, backend="matplotlib")
        try:
            fig.set_dpi(DPI)
            fig.set_size_inches(w / DPI, h / DPI)
            fig.set_facecolor(background)
            _themed(fig, lk)
            _fit_legends(fig)
            fig.savefig(path, format=fmt, dpi=DPI, facecolor=background, metadata=meta.get(fmt))
        finally:
            import matplotlib.pyplot as plt

            plt.close(fig)
    return path

"""The race's figure rendered by HoloViews' matplotlib backend, one frame per shown step.

The figure is described once (optirace.figures) and rendered once at the race's last step; each
frame then moves the rendered artists (paths, current points, curves, divergence markers, the step
counter) to step k. The still parts (colour map, contours, axes, minima) are drawn once: each frame
restores that background and draws only the moving artists on it. A diverged racer's path ends
where it left the race and its cross and label are pinned inside the plot, never off towards infinity.
"""

from __future__ import annotations

import threading
from pathlib import Path

import holoviews as hv
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg

from optirace.figures import Look, look, race_figure, racer_colors
from optirace.figures.curves import curve_values
from optirace.figures.line import line_limits, tangent_segments
from optirace.figures.look import mpl_pt

from ..text import as_mathtext, shown
from .options import Options

__all__ = ["Picture", "resolve_look", "LOCK", "DPI"]

DPI = 100
REFERENCE = (1280, 720)  # the size whose fonts and lines match the app's pixel for pixel
# matplotlib's text, rc and font caches are process-wide: one picture is built or saved at a time.
LOCK = threading.RLock()


def resolve_look(state, options: Options) -> tuple[str, bool]:
    """(theme, presentation) of an export: the option if given, else what the scene shows."""
    if options.theme is None:
        return state.theme, bool(state.present)
    if options.theme == "slides":
        return "light", True
    return options.theme, False


def _overlays(plot) -> dict:
    """Panel name -> the rendered OverlayPlot, in the figure's order."""
    from holoviews.plotting.mpl import OverlayPlot

    found = plot.traverse(lambda p: p, [OverlayPlot])
    return {p.hmap.last.group.lower(): p for p in found}


def _layers(overlay_plot) -> dict[str, list]:
    """Group -> the rendered element plots of that group, in the overlay's order."""
    out: dict[str, list] = {}
    for sub in overlay_plot.subplots.values():
        out.setdefault(sub.hmap.last.group, []).append(sub)
    return out


class Picture:
    """One figure of a race at a fixed size; `frame(k)` gives the RGB pixels at step k."""

    def __init__(self, state, options: Options, animated: bool = True) -> None:
        self.res = res = state.result
        self.options = options
        self.animated = animated
        theme, present = resolve_look(state, options)
        self.look: Look = look(theme, present)
        w, h = options.size
        self.scale = min(w / REFERENCE[0], h / REFERENCE[1])
        self.n = res.params.shape[0]
        self.steps = res.steps
        self.colors = racer_colors(self.n)
        raw = [state.label(i) for i in range(self.n)]
        # User text is drawn as its characters: a `$` must not start matplotlib's mathtext.
        self.labels = [as_mathtext(t) for t in raw]
        d = res.diverged_at
        self.last_row = np.where(d >= 0, d, self.steps).astype(int)
        description = race_figure(res, raw, theme, present, k=self.steps, panels=options.panels,
                                  legend=options.legend, title=options.title, kappa=state.kappa,
                                  scale=self.scale, noise=state.noise)  # fmt: skip
        self._moving: list = []
        with LOCK:
            self.plot = hv.renderer("matplotlib").get_plot(description)
            self.fig = self.plot.state
            self.fig.set_dpi(DPI)
            self.fig.set_size_inches(w / DPI, h / DPI)
            self.fig.set_facecolor(self.look.background)
            self.canvas = FigureCanvasAgg(self.fig)
            self._collect()
            self._arrange()
            self._background = None

    # ----- the rendered artists ----------------------------------------------------------------------
    def _move(self, artist):
        """Artists that change with the step: left out of the background, drawn on every frame."""
        if self.animated:
            artist.set_animated(True)
        self._moving.append(artist)
        return artist

    def _collect(self) -> None:
        lk = self.look
        self.panels = _overlays(self.plot)
        self.axes = {name: p.handles["axis"] for name, p in self.panels.items()}
        self.legends = [ax.get_legend() for ax in self.axes.values() if ax.get_legend() is not None]
        for leg in self.legends:
            leg.get_frame().set_facecolor(lk.background)
            leg.get_frame().set_edgecolor(lk.grid)
            for t in leg.get_texts():
                t.set_color(lk.text)
        # HoloViews keeps the Layout's title (a figure suptitle) among the plot's handles.
        self.suptitle = self.plot.handles.get("title")
        if self.suptitle is not None:
            self.suptitle.set_color(lk.text)
        for ax in self.axes.values():
            # On the left, as Bokeh draws a title; the step counter takes the right.
            ax.title.set_color(lk.text)
            ax.title.set_horizontalalignment("left")
            ax.title.set_x(0.0)
            ax.xaxis.label.set_color(lk.text)
            ax.yaxis.label.set_color(lk.text)
            ax.tick_params(colors=lk.grid, labelcolor=lk.text)
            for spine in ax.spines.values():
                spine.set_color(lk.grid)
        self.cbar = None
        if "contour" in self.panels:
            layers = _layers(self.panels["contour"])
            self.main_ax = self.axes["contour"]
            for sub in layers.get("Surface", []):
                self.cbar = sub.handles.get("cbar")
                if self.cbar is not None:
                    self.cbar.ax.tick_params(colors=lk.grid, labelcolor=lk.text)
                    self.cbar.ax.yaxis.label.set_color(lk.text)
                    self.cbar.outline.set_edgecolor(lk.grid)
            self.paths = [self._move(p.handles["artist"]) for p in layers.get("RacerPath", [])]
            self.heads = self._move(layers["Heads"][0].handles["artist"])
            self.tangents = [self._move(p.handles["artist"]) for p in layers.get("Tangent", [])]
            dead = [i for i in range(self.n) if self.last_row[i] < self.steps]
            self.crosses = {
                i: self._move(p.handles["artist"])
                for i, p in zip(dead, layers.get("Diverged", []), strict=True)
            }
            self.notes = {}
            for i, p in zip(dead, layers.get("DivergedLabel", []), strict=True):
                (note,) = p.handles["artist"]
                self.notes[i] = self._move(note)
            if self.res.surface.dim == 2:
                self.X, self.Y = self.res.params[..., 0], self.res.params[..., 1]
            else:
                self.X, self.Y = self.res.params[..., 0], self.res.loss
                self.xlim = line_limits(self.res.surface)[2]
        self.curves = {}
        for kind in ("loss", "lr", "momentum"):
            if kind not in self.panels:
                continue
            layers = _layers(self.panels[kind])
            Y = curve_values(self.res, kind)[0]
            lines = [p.handles["artist"] for p in layers.get(kind.capitalize(), [])]
            if kind == "loss":
                lines = [self._move(ln) for ln in lines]
            dead = [i for i in range(self.n) if self.last_row[i] < self.steps] if kind == "loss" else []
            marks = {
                i: self._move(p.handles["artist"])
                for i, p in zip(dead, layers.get("Diverged", []), strict=True)
            }
            (marker,) = layers["Step"][0].handles["annotations"]
            self._move(marker)
            self.curves[kind] = (Y, lines, marks, marker)
        first = self.axes[next(iter(self.panels))]
        self.title = first.set_title("", loc="right", color=lk.text, fontweight="bold",
                                     fontsize=mpl_pt(lk.font, self.scale))  # fmt: skip
        self.title.set_text(f"step {self.steps}/{self.steps}")
        if self.animated:
            self.title.set_animated(True)
        self._moving.sort(key=lambda a: a.get_zorder())

    # ----- layout ----------------------------------------------------------------------------------
    def _arrange(self) -> None:
        """Place the panels: the surface on the left at equal data scales with its colour bar, the
        curves stacked beside it, each legend outside its data area."""
        W, H = self.options.size
        s = self.scale
        px_w, px_h = 1 / W, 1 / H
        renderer = self.canvas.get_renderer()
        top = H - (self.look.font * 2.4 * s if self.options.title else 0)
        bottom = self._caption(W, H) if self.options.caption else 0.0
        if self.options.title and self.suptitle is not None:
            # HoloViews places a Layout's title above the figure's top edge once it is resized
            # (y ≈ 1.1): into the room left for it.
            self.suptitle.set_y(1 - self.look.font * 1.2 * s / H)
            self.suptitle.set_verticalalignment("center")
        names = list(self.panels)
        curves = [c for c in names if c != "contour"]
        rects = {}
        if "contour" in names and curves:
            left_w = W * 1.25 / 2.25
            rects["contour"] = (0, bottom, left_w, top - bottom)
            for i, c in enumerate(curves):
                hh = (top - bottom) / len(curves)
                rects[c] = (left_w, top - (i + 1) * hh, W - left_w, hh)
        else:
            for i, c in enumerate(names):
                rects[c] = (i * W / len(names), bottom, W / len(names), top - bottom)

        def extent(name):
            leg = self.axes[name].get_legend() if name in self.axes else None
            if leg is None or not leg.get_visible():
                return 0.0, 0.0
            ext = leg.get_window_extent(renderer)
            return ext.width, ext.height

        loss_w = extent("loss")[0]  # every curve panel leaves it, so their step axes line up
        for name, (x, y, w, h) in rects.items():
            ax = self.axes[name]
            leg = ax.get_legend()
            lw, lh = extent(name)
            # Room for ticks, axis labels and titles, which grow with the look's fonts (slides).
            f = s * self.look.font / 14
            if name == "contour":
                cbar = 95 * f if self.cbar is not None else 12 * s
                box = (x + 70 * f, y + 52 * f + lh, w - 70 * f - cbar, h - 52 * f - lh - 34 * f)
            else:
                right = loss_w + 16 * s if loss_w else 14 * s
                box = (x + 80 * f, y + 50 * f, w - 80 * f - right, h - 50 * f - 34 * f)
            if name != "contour":
                ax.set_aspect("auto")  # curves fill their panel; only the surface keeps equal scales
            ax.set_position([box[0] * px_w, box[1] * px_h, max(box[2], 10) * px_w, max(box[3], 10) * px_h])
            ax.apply_aspect()
            pos = ax.get_position()
            if name == "contour" and self.cbar is not None:
                self.cbar.ax.set_position([pos.x1 + 14 * s * px_w, pos.y0, 16 * s * px_w, pos.height])
            if leg is not None:
                if name == "loss":
                    leg.set_bbox_to_anchor((pos.x1 + 10 * s * px_w, pos.y1), transform=self.fig.transFigure)
                    leg.set_loc("upper left")
                else:
                    leg.set_bbox_to_anchor((pos.x0, pos.y0 - 46 * f * px_h, pos.width, 0),
                                           transform=self.fig.transFigure)  # fmt: skip
                    leg.set_loc("upper left")

    def _caption(self, W: float, H: float) -> float:
        """Draw the caption under the panels, wrapped to the width; returns the height it takes (px)."""
        import textwrap

        size = self.look.tick_font * self.scale * 1.1
        per_line = max(int(W / (size * 0.55)), 20)  # a character is about 0.55 em wide
        lines = textwrap.wrap(shown(self.options.caption), per_line)
        height = (len(lines) + 1) * size * 1.45
        self.fig.text(0.015, (height - size * 0.7) / H, "\n".join(as_mathtext(t) for t in lines), va="top", ha="left",
                      color=self.look.text, fontsize=mpl_pt(size), linespacing=1.35)  # fmt: skip
        return height

    # ----- one step --------------------------------------------------------------------------------
    def show(self, k: int) -> None:
        """Set every moving artist to step k."""
        k = int(min(max(k, 0), self.steps))
        res = self.res
        self.title.set_text(f"step {k}/{self.steps}")
        if "contour" in self.panels:
            rows = np.minimum(k, self.last_row)
            for i, art in enumerate(self.paths):
                xy = np.stack([self.X[i, : rows[i] + 1], self.Y[i, : rows[i] + 1]], axis=1)
                if res.surface.dim == 2:
                    art.set_segments([xy])
                else:
                    art.set_offsets(xy)
            idx = np.arange(self.n)
            self.heads.set_offsets(np.stack([self.X[idx, rows], self.Y[idx, rows]], axis=1))
            for i in self.crosses:
                self.crosses[i].set_visible(bool(res.diverged_at[i] <= k))
            for i in self.notes:
                self.notes[i].set_visible(bool(res.diverged_at[i] <= k))
            if self.tangents:
                seg = tangent_segments(res, k, self.xlim)
                for i, art in enumerate(self.tangents):
                    art.set_segments([seg[i].reshape(2, 2)])
        for kind, (Y, lines, marks, marker) in self.curves.items():
            if kind == "loss":
                for i, ln in enumerate(lines):
                    end = min(k, self.last_row[i]) + 1
                    ln.set_data(np.arange(end), Y[i, :end])
            for i, mk in marks.items():
                mk.set_visible(bool(res.diverged_at[i] <= k))
            marker.set_xdata([k, k])

    # ----- output ----------------------------------------------------------------------------------
    def rgba(self, k: int) -> np.ndarray:
        """RGBA pixels (height, width, 4) of step k: a view, valid until the next frame is drawn."""
        with LOCK:
            self.show(k)
            if not self.animated:
                self.canvas.draw()
            else:
                if self._background is None:
                    self.canvas.draw()
                    self._background = self.canvas.copy_from_bbox(self.fig.bbox)
                self.canvas.restore_region(self._background)
                for a in self._moving:
                    if a.get_visible():
                        self.fig.draw_artist(a)
                self.fig.draw_artist(self.title)
            return np.asarray(self.canvas.buffer_rgba())

    def frame(self, k: int) -> np.ndarray:
        """RGB pixels (height, width, 3) of step k, a copy."""
        return np.ascontiguousarray(self.rgba(k)[..., :3])

    def save(self, path: Path, fmt: str, k: int) -> None:
        """A vector or raster still of step k (everything drawn, nothing blitted)."""
        import matplotlib as mpl

        with LOCK, mpl.rc_context({"svg.hashsalt": "optirace", "pdf.fonttype": 42, "svg.fonttype": "path"}):
            self.show(k)
            meta = {
                "svg": {"Date": None, "Creator": "optirace"},
                "pdf": {"CreationDate": None, "Creator": "optirace"},
            }
            self.fig.savefig(
                path, format=fmt, dpi=DPI, facecolor=self.look.background, metadata=meta.get(fmt)
            )

"""The app's figures redrawn with matplotlib, one frame per shown step.

Everything the app's Bokeh figures show (views/plots.py) is here with the same data, colours
(views/theme.py, views/state.PALETTE), contour levels and marker sizes: sizes the app gives in CSS
pixels become points at 100 dpi, scaled with the picture so 1920x1080 looks like 1280x720, only sharper.

Frames are fast because the still parts (contours, axes, minima) are drawn once: each frame restores
that background and draws only the racers' artists on it. A diverged racer's path ends where it
left the race and its cross is pinned inside the plot, never drawn off towards infinity.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from surfaces.grid import gradients, grid_values
from views.plots import contour_values
from views.state import PALETTE, RaceState
from views.theme import Look, look, ramp
from views.trajectories import GAP_FLOOR

from ..text import as_mathtext
from .options import Options

__all__ = ["Picture", "resolve_look", "LOCK"]

DPI = 100
PX = 72 / DPI  # one CSS pixel of the app, in points at DPI
REFERENCE = (1280, 720)  # the size whose fonts and lines match the app's pixel for pixel
# matplotlib's text, rc and font caches are process-wide: one picture is built or saved at a time.
LOCK = threading.RLock()


def resolve_look(state: RaceState, options: Options) -> tuple[str, bool]:
    """(theme, presentation) of an export: the option if given, else what the scene shows."""
    if options.theme is None:
        return state.theme, bool(state.present)
    if options.theme == "slides":
        return "light", True
    return options.theme, False


def _px(css: str | float) -> float:
    return float(str(css).removesuffix("px"))


class Picture:
    """One figure of a race at a fixed size; `frame(k)` gives the RGB pixels at step k."""

    def __init__(self, state: RaceState, options: Options, animated: bool = True) -> None:
        self.res = res = state.result
        self.options = options
        self.animated = animated
        theme, present = resolve_look(state, options)
        self.look: Look = look(theme, present)
        w, h = options.size
        self.scale = min(w / REFERENCE[0], h / REFERENCE[1])
        self.n = res.params.shape[0]
        self.steps = res.steps
        self.colors = [PALETTE[i % len(PALETTE)] for i in range(self.n)]
        self.labels = [as_mathtext(state.label(i)) for i in range(self.n)]
        self.kappa = state.kappa
        # Rows past a racer's divergence repeat its last good point: draw only up to it.
        d = res.diverged_at
        self.last_row = np.where(d >= 0, d, self.steps).astype(int)
        self._moving: list = []
        with LOCK:
            self.fig = Figure(figsize=(w / DPI, h / DPI), dpi=DPI, facecolor=self.look.background,
                              layout="constrained")  # fmt: skip
            self.canvas = FigureCanvasAgg(self.fig)
            self._build()
            self._background = None

    # ----- sizes and styles ------------------------------------------------------------------------
    def pt(self, css_px: float) -> float:
        return css_px * PX * self.scale

    def _style(self, ax, title: str, xlabel: str, ylabel: str, grid: bool) -> None:
        lk = self.look
        ax.set_facecolor(lk.background)
        for spine in ax.spines.values():
            spine.set_color(lk.grid)
            spine.set_linewidth(self.pt(1))
        ax.tick_params(colors=lk.grid, labelcolor=lk.text, labelsize=self.pt(_px(lk.tick_font)),
                       width=self.pt(1), length=self.pt(5))  # fmt: skip
        ax.set_xlabel(xlabel, color=lk.text, fontsize=self.pt(_px(lk.font)))
        ax.set_ylabel(ylabel, color=lk.text, fontsize=self.pt(_px(lk.font)))
        # Bokeh's titles: bold, on the left.
        self.titles[ax] = ax.set_title(title, loc="left", color=lk.text, fontsize=self.pt(_px(lk.font)),
                                       fontweight="bold")  # fmt: skip
        if grid:
            ax.grid(True, color=lk.grid, linewidth=self.pt(1))
            ax.set_axisbelow(True)

    def _legend(self, ax, handles, labels, loc: str):
        lk = self.look
        # Opaque (the app's is 70%): frames paste the legend's pixels back over the racers, drawn once.
        leg = ax.legend(handles, labels, loc=loc, fontsize=self.pt(_px(lk.tick_font)), facecolor=lk.background,
                        edgecolor=lk.grid, labelcolor=lk.text, framealpha=1.0, fancybox=False)  # fmt: skip
        leg.set_zorder(10)
        self.legends.append(leg)
        return leg

    def _move(self, artist):
        """Artists that change with the step: left out of the background, drawn on every frame."""
        if self.animated:
            artist.set_animated(True)
        self._moving.append(artist)
        return artist

    def _line(self, ax, color, lw_px=0.0, marker=None, size_px=0.0, **kw) -> Line2D:
        (ln,) = ax.plot([], [], color=color, linewidth=self.pt(lw_px), marker=marker,
                        markersize=self.pt(size_px), **kw)  # fmt: skip
        return self._move(ln)

    # ----- layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        panels = self.options.panels
        curves = [p for p in panels if p != "contour"]
        fig = self.fig
        pad = self.pt(8) / 72
        fig.get_layout_engine().set(w_pad=pad, h_pad=pad, wspace=0.03, hspace=0.04)
        if self.options.title:
            fig.suptitle(as_mathtext(self.options.title), color=self.look.text, fontsize=self.pt(_px(self.look.font) * 1.5),
                         fontweight="bold")  # fmt: skip
        self.axes: dict = {}
        self.titles: dict = {}
        self.legends: list = []
        self.base_title = ""
        if "contour" in panels and curves:
            # The app's layout: the surface on the left, the curves stacked beside it.
            gs = fig.add_gridspec(len(curves), 2, width_ratios=[1.25, 1])
            self.axes["contour"] = fig.add_subplot(gs[:, 0])
            for i, c in enumerate(curves):
                self.axes[c] = fig.add_subplot(gs[i, 1])
        else:
            gs = fig.add_gridspec(1, len(panels))
            for i, p in enumerate(panels):
                self.axes[p] = fig.add_subplot(gs[0, i])
        racer_legend = self.options.legend and "loss" not in panels
        if "contour" in panels:
            if self.res.surface.dim == 2:
                self._surface(self.axes["contour"], racer_legend)
            else:
                self._curve(self.axes["contour"], racer_legend)
        for c in curves:
            self._series(self.axes[c], c)
        # The step counter sits at the right of the first panel's title; it alone is redrawn as text.
        first = self.axes[panels[0]]
        if panels[0] == "contour":
            self.titles[first].set_text(self.base_title)
        lk = self.look
        self.title = first.set_title("", loc="right", color=lk.text, fontsize=self.pt(_px(lk.font)),
                                     fontweight="bold")  # fmt: skip
        self.title.set_text(f"step {self.steps}/{self.steps}")  # the widest text, for the layout
        if self.animated:
            self.title.set_animated(True)

    def _racer_handles(self):
        return [Line2D([], [], color=c, linewidth=self.pt(self.look.line_width)) for c in self.colors]

    def _surface(self, ax, racer_legend: bool) -> None:
        lk, s = self.look, self.res.surface
        xs, ys, Z, levels = contour_values(s, self.kappa)  # the app's contours, exactly
        ax.contourf(xs, ys, Z, levels=levels, colors=ramp(lk.contour_low, lk.contour_high, len(levels) - 1))
        ax.contour(xs, ys, Z, levels=levels, colors=lk.contour_line, linewidths=self.pt(0.6), alpha=0.45)
        ax.set_xlim(*s.domain[0])
        ax.set_ylim(*s.domain[1])
        self._style(ax, "", "x", "y", grid=False)
        self.base_title = s.title + ("  (log-scaled colours)" if s.log_scale else "")
        handles, names = [], []
        if s.local_minima:
            lm = np.asarray(s.local_minima)
            handles.append(ax.plot(lm[:, 0], lm[:, 1], ls="none", marker="^", ms=self.pt(11), mfc="none",
                                   mec=lk.minimum, mew=self.pt(1.5))[0])  # fmt: skip
            names.append("local minimum")
        gm = np.asarray(s.minima)
        handles.append(ax.plot(gm[:, 0], gm[:, 1], ls="none", marker="*", ms=self.pt(17), mfc="#ffffff",
                               mec=lk.minimum, mew=self.pt(1.5))[0])  # fmt: skip
        names.append("global minimum")
        self._start(ax, self.res.params[0, 0, 0], self.res.params[0, 0, 1])
        self._racers(ax, self.res.params[:, :, 0], self.res.params[:, :, 1], path=True)
        if self.options.legend:
            if racer_legend:
                handles, names = handles + self._racer_handles(), names + self.labels
            self._legend(ax, handles, names, "upper right")

    def _curve(self, ax, racer_legend: bool) -> None:
        """One-variable surfaces: f(x), the racers on it, and the tangent line at each racer."""
        lk, s = self.look, self.res.surface
        (xs,), F = grid_values(s, 400)
        span = float(F.max() - F.min()) or 1.0
        ax.plot(xs, F, color=lk.text, linewidth=self.pt(lk.line_width), alpha=0.8)
        ax.set_xlim(*s.domain[0])
        ax.set_ylim(F.min() - 0.08 * span, F.max() + 0.08 * span)
        self._style(ax, "", "x", "f(x)", grid=True)
        self.base_title = s.title
        gm = np.asarray(s.minima)[:, 0]
        handles = [ax.plot(gm, [s.min_value] * len(gm), ls="none", marker="*", ms=self.pt(17), mfc="#ffffff",
                           mec=lk.minimum, mew=self.pt(1))[0]]  # fmt: skip
        names = ["global minimum"]
        if s.local_minima:
            lm = np.asarray(s.local_minima)[:, 0]
            handles.append(ax.plot(lm, [float(s.f(np.array([v]))) for v in lm], ls="none", marker="^",
                                   ms=self.pt(11), mfc="none", mec=lk.minimum, mew=self.pt(1))[0])  # fmt: skip
            names.append("local minimum")
        self.grads = gradients(s, self.res.params)[..., 0]
        self.tangents = [self._line(ax, c, lk.line_width, ls="--") for c in self.colors]
        self._start(ax, self.res.params[0, 0, 0], self.res.loss[0, 0])
        self._racers(ax, self.res.params[:, :, 0], self.res.loss, path=False)
        if self.options.legend:
            if racer_legend:
                handles, names = handles + self._racer_handles(), names + self.labels
            self._legend(ax, handles, names, "upper center")

    def _start(self, ax, x, y) -> None:
        lk, size = self.look, self.pt(self.look.head_size + 4)
        for m in ("o", "+"):  # Bokeh's circle_cross
            ax.plot([x], [y], ls="none", marker=m, ms=size, mfc="none", mec=lk.text, mew=self.pt(1.5))

    def _racers(self, ax, X, Y, path: bool) -> None:
        lk = self.look
        self.main_ax, self.X, self.Y = ax, X, Y
        self.paths = []
        for c in self.colors:
            if path:
                ln = self._line(ax, c, lk.line_width, marker="o", size_px=3 + lk.line_width, alpha=0.9)
            else:
                ln = self._line(ax, c, 0, marker="o", size_px=4 + lk.line_width, alpha=0.6, ls="none")
            ln.set_markeredgewidth(0)
            self.paths.append(ln)
        self.heads = [
            self._line(ax, c, 0, marker="o", size_px=lk.head_size, ls="none", mfc=c, mec="#ffffff",
                       mew=self.pt(2))
            for c in self.colors
        ]  # fmt: skip
        self.crosses = [self._line(ax, c, 0, marker="x", size_px=lk.head_size + 8, ls="none", mew=self.pt(4))
                        for c in self.colors]  # fmt: skip
        self.notes = [
            self._move(ax.annotate("", (0, 0), xytext=(0, 0), textcoords="offset points", color=c, fontweight="bold",
                                   fontsize=self.pt(_px(lk.font)), annotation_clip=False))
            for c in self.colors
        ]  # fmt: skip

    def _series(self, ax, kind: str) -> None:
        lk, res = self.look, self.res
        if kind == "loss":
            Y = np.maximum(res.loss - res.surface.min_value, GAP_FLOOR)
        else:
            Y = np.concatenate([res.lr, np.full((self.n, 1), np.nan)], axis=1)
            Y = np.where(Y > 0, Y, np.nan)  # a zero lr has no place on a log axis
        rows = np.arange(Y.shape[1])[None, :] <= self.last_row[:, None]
        shown = Y[rows & np.isfinite(Y)]
        lo, hi = (float(shown.min()), float(shown.max())) if shown.size else (0.1, 10.0)
        lo, hi = (lo / 10, hi * 10) if hi <= lo * 1.0001 else (lo / 1.6, hi * 1.6)
        ax.set_yscale("log")
        ax.set_xlim(0, max(self.steps, 1))
        ax.set_ylim(lo, hi)  # fixed for the whole race, so the frames do not jump
        self._style(ax, "Loss" if kind == "loss" else "Learning rate", "step",
                    "loss − min" if kind == "loss" else "learning rate", grid=True)  # fmt: skip
        lines = [self._line(ax, c, lk.line_width) for c in self.colors]
        marks = [self._line(ax, c, 0, marker="x", size_px=lk.head_size, ls="none", mew=self.pt(3))
                 for c in self.colors] if kind == "loss" else []  # fmt: skip
        marker = self._move(ax.axvline(0, color=lk.text, linestyle="--", linewidth=self.pt(1.5)))
        setattr(self, f"{kind}_parts", (Y, lines, marks, marker))
        if kind == "loss" and self.options.legend:
            self._legend(ax, self._racer_handles(), self.labels, "lower left")

    # ----- one step --------------------------------------------------------------------------------
    def show(self, k: int) -> None:
        """Set every moving artist to step k."""
        k = int(min(max(k, 0), self.steps))
        res = self.res
        self.title.set_text(f"step {k}/{self.steps}")
        if hasattr(self, "paths"):
            self._show_racers(k)
        for kind in ("loss", "lr"):
            if not hasattr(self, f"{kind}_parts"):
                continue
            Y, lines, marks, marker = getattr(self, f"{kind}_parts")
            for i, ln in enumerate(lines):
                end = min(k, self.last_row[i]) + 1
                ln.set_data(np.arange(end), Y[i, :end])
            for i, mk in enumerate(marks):
                d = int(res.diverged_at[i])
                mk.set_data(([d], [Y[i, d]]) if 0 <= d <= k else ([], []))
            marker.set_xdata([k, k])

    def _show_racers(self, k: int) -> None:
        res, ax = self.res, self.main_ax
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        ins_x, ins_y = 0.02 * (x1 - x0), 0.03 * (y1 - y0)
        for i in range(self.n):
            end = min(k, self.last_row[i]) + 1
            self.paths[i].set_data(self.X[i, :end], self.Y[i, :end])
            x, y = self.X[i, k], self.Y[i, k]
            self.heads[i].set_data([x], [y])
            d = int(res.diverged_at[i])
            if 0 <= d <= k:
                # Pinned inside the plot: a runaway racer's last point may be far outside it.
                px, py = min(max(x, x0 + ins_x), x1 - ins_x), min(max(y, y0 + ins_y), y1 - ins_y)
                self.crosses[i].set_data([px], [py])
                right = px > 0.5 * (x0 + x1)
                note = self.notes[i]
                note.xy = (px, py)
                note.set_text(f"diverged at step {d}")
                note.set_position((-self.pt(12) if right else self.pt(12), self.pt(6)))
                note.set_horizontalalignment("right" if right else "left")
                note.set_visible(True)
            else:
                self.crosses[i].set_data([], [])
                self.notes[i].set_visible(False)
            if hasattr(self, "tangents"):
                w = 0.12 * (x1 - x0)
                g = self.grads[i, k]
                self.tangents[i].set_data([x - w, x + w], [y - g * w, y + g * w])

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
                    self._legend_pixels = [
                        self.canvas.copy_from_bbox(leg.get_window_extent().padded(2)) for leg in self.legends
                    ]
                self.canvas.restore_region(self._background)
                for a in self._moving:
                    if a.get_visible():
                        self.fig.draw_artist(a)
                for region in self._legend_pixels:
                    self.canvas.restore_region(region)
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

"""The Bokeh figures: the surface with the racers' paths, the loss and learning-rate curves.

Static layers (contours, minima) are drawn once per surface; the racers' glyphs read the shared
`Trajectories` sources (an archive and a short live tail), so a frame costs one small `stream`.
"""

from __future__ import annotations

import itertools

import numpy as np
from bokeh.core.properties import value
from bokeh.models import (
    ColumnDataSource,
    CustomJS,
    HoverTool,
    ImageRGBA,
    Legend,
    LegendItem,
    Line,
    Range1d,
    Scatter,
    Segment,
    Span,
    Text,
)
from bokeh.plotting import figure

from optirace.text import as_tooltip, shown
from surfaces.grid import grid_values

from .theme import Look, ramp

TOOLS = "pan,wheel_zoom,box_zoom,reset,save"
_SERIAL = itertools.count()  # tells apart the figures of one document, for names looked up in JS


def _draw(fig, glyph, source: ColumnDataSource | None = None, **data):
    """Add `glyph`, reading `source` or a new source holding `data`. Unlike figure.scatter() and
    the like, add_glyph gives the renderer no selection or muted copies of its glyph: nothing here
    is selected or muted, and every model of a page costs the server and the browser time before
    the race is drawn (and is walked again for each message the session sends)."""
    return fig.add_glyph(source if source is not None else ColumnDataSource(data), glyph)


def _legend(fig, items: list[tuple[str, object]], **style) -> None:
    """A legend for glyphs added with _draw (which take no legend_label)."""
    fig.add_layout(Legend(items=[LegendItem(label=label, renderers=[r]) for label, r in items], **style))


def _style(fig, look: Look) -> None:
    fig.background_fill_color = look.background
    fig.border_fill_color = look.background
    fig.outline_line_color = look.grid
    for ax in (*fig.xaxis, *fig.yaxis):
        ax.axis_label_text_font_size = look.font
        ax.major_label_text_font_size = look.tick_font
        ax.axis_label_text_color = look.text
        ax.major_label_text_color = look.text
        ax.axis_line_color = look.grid
        ax.major_tick_line_color = look.grid
        ax.minor_tick_line_color = None
    fig.xgrid.grid_line_color = look.grid
    fig.ygrid.grid_line_color = look.grid
    fig.title.text_color = look.text
    fig.title.text_font_size = look.font
    fig.toolbar.logo = None


def _follow_last_row(traj, code: str, **args) -> None:
    """Run `code` in the browser whenever the live tail changes (a streamed frame or a replace),
    with `row(name)` giving the tail's last value of a column. What it moves is marked not to sync,
    so following the race costs no message back to the server."""
    for model in args.values():
        if hasattr(model, "syncable"):
            model.syncable = False
    js = (
        "const d = source.data, n = source.get_length() ?? 0;"
        "const row = (name) => { const c = d instanceof Map ? d.get(name) : d[name]; return n && c ? c[n - 1] : NaN; };"
        + code
    )
    callback = CustomJS(args={"source": traj.source, **args}, code=js)
    traj.source.js_on_change("data", callback)
    traj.source.js_on_change("streaming", callback)


def legend_label(label: str):
    """A racer's name as a legend entry's text (drawn on the canvas, as the characters given)."""
    return value(shown(label))


# Four significant digits, in scientific notation only where it is needed: a loss of 1e-12 reads
# "1e-12", not "0.0000", and 1.2 reads "1.2", not "1.200e+0".
NUMBER = "{%.4g}"


def _racer_fields(dim: int, i: int, variables: tuple[str, ...] = ("x", "y")) -> list[tuple[str, str]]:
    if dim == 1:
        return [(variables[0], f"x{i}"), ("f", f"loss{i}")]
    return [(variables[0], f"x{i}"), (variables[1], f"y{i}"), ("loss", f"loss{i}"), ("lr", f"lr{i}")]


def racer_tooltips(
    dim: int, i: int, label: str, variables: tuple[str, ...] = ("x", "y")
) -> list[tuple[str, str]]:
    """Racer i's hover text, its coordinates named as its surface names them; the label changes
    with its settings, so the app swaps it in place."""
    label = as_tooltip(label)  # BokehJS reads a tooltip's text as an HTML template
    return [
        ("racer", label),
        ("step", "@step"),
        *((name, f"@{col}{NUMBER}") for name, col in _racer_fields(dim, i, variables)),
    ]


def racer_formatters(dim: int, i: int) -> dict[str, str]:
    """The HoverTool formatters that make racer_tooltips' numbers printf-formatted."""
    return {f"@{col}": "printf" for _, col in _racer_fields(dim, i)}


def _both(fig, glyph, traj, x: str, y: str, archive=None, **style) -> list:
    """One racer's glyph drawn from the archive (or the racer's own, lighter `archive`, see
    Trajectories.paths) and from the live tail: together, rows 0..k. `glyph` is a glyph model
    class."""
    return [_draw(fig, glyph(x=x, y=y, **style), src) for src in (traj.archive if archive is None else archive,
                                                                   traj.source)]  # fmt: skip


def _legend_proxy(fig, renderers, name: str, nowhere: ColumnDataSource):
    """A twin of a racer's streamed lines that draws nothing, for its legend entry.

    BokehJS rebuilds a legend (a canvas per entry, then a style recalculation) whenever anything its
    items reach changes, transitively: listing the streamed lines would rebuild it on every frame.
    The twin reaches nothing streamed, so clicking it finds its lines by name, in the browser. It
    draws from `nowhere`, one point of NaN the figure's twins share: the legend draws an entry's
    swatch from the first row of its renderer."""
    for r in renderers:
        r.name = name
    glyph = renderers[0].glyph
    twin = _draw(fig, Line(x="x", y="y", line_color=glyph.line_color, line_width=glyph.line_width), nowhere)
    code = f"for (const r of cb_obj.document.all_models) if (r.name === '{name}') r.visible = cb_obj.visible"
    twin.js_on_change("visible", CustomJS(code=code))
    return twin


def _heads(fig, traj, colors, look: Look) -> None:
    """The racers' current points: one glyph on a small source the browser fills from the tail's
    last row, rather than a glyph per racer filtering the whole tail on every frame."""
    heads = ColumnDataSource({"x": [], "y": [], "color": []})
    _draw(fig, Scatter(x="x", y="y", size=look.head_size, fill_color="color", line_color="#ffffff", line_width=2),
          heads)  # fmt: skip
    n = len(colors)
    _follow_last_row(
        traj,
        f"const x = [], y = []; for (let i = 0; i < {n}; i++) {{ x.push(row('x' + i)); y.push(row('y' + i)); }}"
        "heads.data = {x, y, color: colors};",
        heads=heads,
        colors=list(colors),
    )


def _dead(fig, look: Look, **text_style) -> ColumnDataSource:
    """Diverged racers: a cross and "diverged at step k" (the source is filled by views/live.py)."""
    dead = ColumnDataSource({"x": [], "y": [], "color": [], "text": [], "align": [], "xoff": []})
    _draw(
        fig,
        Scatter(x="x", y="y", marker="x", size=look.head_size + 8, line_color="color", line_width=4),
        dead,
    )
    _draw(fig, Text(x="x", y="y", text="text", text_color="color", text_font_size=look.font, x_offset="xoff",
                    text_align="align", **text_style), dead)  # fmt: skip
    return dead


def _levels(z: np.ndarray, n: int = 18) -> np.ndarray:
    """Contour levels at quantiles of the drawn values, so every surface shows its structure."""
    levels = np.unique(np.quantile(z[np.isfinite(z)], np.linspace(0.0, 1.0, n)))
    return levels if len(levels) >= 2 else np.array([z.min(), z.min() + 1.0])


def contour_values(surface, kappa=None, n: int = 160):
    """(xs, ys, drawn values, levels) of a 2D surface's filled contours, shared by the app and the
    exports: the log of the gap to the minimum where the surface spans orders of magnitude."""
    (xs, ys), Z = grid_values(surface, n, {"kappa": kappa} if kappa is not None else None)
    if surface.log_scale:
        gap = np.maximum(Z - surface.min_value, 0.0)
        Z = np.log10(gap + max(gap.max() * 1e-7, 1e-12))
    return xs, ys, Z, _levels(Z)


def _rgb(hex_color: str) -> np.ndarray:
    return np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.uint8)


def contour_image(Z: np.ndarray, levels: np.ndarray, look: Look) -> np.ndarray:
    """Filled contours with their level lines, rasterised once into an RGBA image.

    The browser repaints the plot on every animation frame; one image costs far less to paint than
    thousands of contour polygons, and looks the same at the drawn size."""
    bands = np.clip(np.digitize(Z, levels[1:-1]), 0, len(levels) - 2)
    palette = np.stack([_rgb(c) for c in ramp(look.contour_low, look.contour_high, len(levels) - 1)])
    rgb = palette[bands].astype(np.float64)
    edge = np.zeros(bands.shape, dtype=bool)
    # Both pixels of a band change, so the lines survive the browser's downscaling.
    step_x = bands[:, 1:] != bands[:, :-1]
    step_y = bands[1:, :] != bands[:-1, :]
    edge[:, 1:] |= step_x
    edge[:, :-1] |= step_x
    edge[1:, :] |= step_y
    edge[:-1, :] |= step_y
    rgb[edge] = 0.7 * rgb[edge] + 0.3 * _rgb(look.contour_line)  # the level lines, at 30% opacity
    rgba = np.empty(bands.shape, dtype=np.uint32)
    view = rgba.view(dtype=np.uint8).reshape((*bands.shape, 4))
    view[..., :3] = rgb.round().astype(np.uint8)
    view[..., 3] = 255
    return rgba


def surface_figure(surface, kappa, look: Look, colors, labels, traj) -> dict:
    """The 2D surface: filled contours (log-scaled where it spans orders of magnitude), minima,
    the racers' paths and their current points. Returns the figure and its small live sources."""
    _, _, Zd, levels = contour_values(surface, kappa, n=480)
    fig = figure(
        x_range=Range1d(*surface.domain[0], bounds="auto"),
        y_range=Range1d(*surface.domain[1], bounds="auto"),
        tools=TOOLS,
        active_scroll=None,
        sizing_mode="stretch_both",
        min_height=320,
        min_width=320,
        x_axis_label=surface.variables[0],
        y_axis_label=surface.variables[1],
        title=f"{surface.title}" + ("  (log-scaled colours)" if surface.log_scale else ""),
    )
    _style(fig, look)
    (x_lo, x_hi), (y_lo, y_hi) = surface.domain
    _draw(fig, ImageRGBA(image="image", x=x_lo, y=y_lo, dw=x_hi - x_lo, dh=y_hi - y_lo),
          image=[contour_image(Zd, levels, look)])  # fmt: skip
    marks = []
    if surface.local_minima:
        lm = np.asarray(surface.local_minima)
        marks.append(("local minimum", _draw(fig, Scatter(x="x", y="y", marker="triangle", size=11, fill_color=None,
                                                          line_color=look.minimum, line_width=1.5),
                                             x=lm[:, 0], y=lm[:, 1])))  # fmt: skip
    gm = np.asarray(surface.minima)
    marks.append(("global minimum", _draw(fig, Scatter(x="x", y="y", marker="star", size=17, fill_color="#ffffff",
                                                       line_color=look.minimum, line_width=1.5),
                                          x=gm[:, 0], y=gm[:, 1])))  # fmt: skip
    _legend(fig, marks, location="top_right", background_fill_alpha=0.7, label_text_font_size=look.tick_font,
            click_policy="none")  # fmt: skip
    start = ColumnDataSource({"x": [], "y": []})
    _draw(fig, Scatter(x="x", y="y", marker="circle_cross", size=look.head_size + 4, fill_color=None,
                       line_color=look.text, line_width=1.5), start)  # fmt: skip
    hovers = []
    for i, color in enumerate(colors):
        # Lines only: a dot per iterate doubles what the browser repaints every frame.
        paths = _both(fig, Line, traj, f"x{i}", f"y{i}", archive=traj.paths[i], line_color=color,
                      line_width=look.line_width, line_alpha=0.9)  # fmt: skip
        hovers.append(
            HoverTool(
                renderers=paths,
                line_policy="nearest",
                tooltips=racer_tooltips(2, i, labels[i], surface.variables),
                formatters=racer_formatters(2, i),
            )
        )
        fig.add_tools(hovers[-1])
    _heads(fig, traj, colors, look)
    dead = _dead(fig, look, y_offset=-8, text_font_style="bold")
    return {"fig": fig, "dead": dead, "start": start, "hovers": hovers}


def curve_figure(kind: str, look: Look, colors, labels, traj, steps: int) -> dict:
    """Loss (minus the minimum's value) or learning rate per step, log y, with a step marker."""
    column = "gap" if kind == "loss" else "lr"
    fig = figure(
        x_range=Range1d(0, max(steps, 1)),
        y_axis_type="log",
        tools=TOOLS,
        sizing_mode="stretch_both",
        min_height=160,
        min_width=260,
        x_axis_label="step",
        y_axis_label="loss − min" if kind == "loss" else "learning rate",
        title="Loss" if kind == "loss" else "Learning rate",
        # Room for the widest label from the start: as a falling loss reached longer labels the
        # frame narrowed, jittering the panel, and each change was a message back to the server.
        min_border_left=look.axis_room,
    )
    _style(fig, look)
    # The y range follows the data in the browser. Unsynced, its change (every frame, while a loss
    # falls) stays there: synced, each was a message back that the server decoded against every
    # model of the page, for a number it never reads.
    fig.y_range.syncable = False
    # Likewise the plot's own size: its inner width changes with the width of the y labels as the
    # range moves, and the server never reads it.
    fig.syncable = False
    items = []
    serial = next(_SERIAL)  # keeps the lines' names unique in the document, across rebuilds
    nowhere = ColumnDataSource({"x": [np.nan], "y": [np.nan]})  # what the legend's twins draw
    schedules = []
    for i, color in enumerate(colors):
        if kind == "lr":
            # The whole schedule, drawn once per race: it is known before the race plays, and a
            # static line costs the browser nothing per frame. The marker shows where the race is.
            schedules.append(ColumnDataSource(traj.schedule(i)))
            _draw(fig, Line(x="step", y="lr", line_color=color, line_width=look.line_width), schedules[-1])
            continue
        lines = _both(fig, Line, traj, "step", f"{column}{i}", archive=traj.losses[i], line_color=color,
                      line_width=look.line_width)  # fmt: skip
        twin = _legend_proxy(
            fig, lines, f"{kind}-{serial}-{i}", nowhere
        )  # the racers' legend, on the loss panel
        items.append(LegendItem(label=legend_label(labels[i]), renderers=[twin]))
    if items:
        legend = Legend(items=items, location="bottom_left", click_policy="hide",
                        label_text_font_size=look.tick_font, background_fill_alpha=0.7)  # fmt: skip
        fig.add_layout(legend)
    # The step marker follows the tail's last row in the browser (see _follow_last_row).
    # On the overlay layer: BokehJS then repaints only that layer when the marker alone moves (the
    # learning-rate panel, whose schedules are static, on every animation frame), not the whole plot.
    marker = Span(location=0, dimension="height", line_color=look.text, line_dash="dashed", line_width=1.5,
                  level="overlay")  # fmt: skip
    fig.add_layout(marker)
    _follow_last_row(traj, "if (n) marker.location = row('step');", marker=marker)
    return {"fig": fig, "legend": items, "schedules": schedules}


def line_figure(surface, look: Look, colors, labels, traj) -> dict:
    """One-variable surfaces: the curve f(x), the racers on it and the tangent at each racer."""
    (xs,), F = grid_values(surface, 400)
    span = float(F.max() - F.min()) or 1.0
    fig = figure(
        x_range=Range1d(*surface.domain[0], bounds="auto"),
        y_range=Range1d(F.min() - 0.08 * span, F.max() + 0.08 * span),
        tools=TOOLS,
        sizing_mode="stretch_both",
        min_height=320,
        min_width=320,
        x_axis_label=surface.variables[0],
        y_axis_label=f"f({surface.variables[0]})",
        title=surface.title,
    )
    _style(fig, look)
    _draw(
        fig, Line(x="x", y="y", line_color=look.text, line_width=look.line_width, line_alpha=0.8), x=xs, y=F
    )
    gm = np.asarray(surface.minima)[:, 0]
    marks = [("global minimum", _draw(fig, Scatter(x="x", y="y", marker="star", size=17, fill_color="#ffffff",
                                                   line_color=look.minimum),
                                      x=gm, y=[surface.min_value] * len(gm)))]  # fmt: skip
    if surface.local_minima:
        lm = np.asarray(surface.local_minima)[:, 0]
        marks.append(("local minimum", _draw(fig, Scatter(x="x", y="y", marker="triangle", size=11, fill_color=None,
                                                          line_color=look.minimum),
                                             x=lm, y=[float(surface.f(np.array([v]))) for v in lm])))  # fmt: skip
    _legend(fig, marks, location="top_center", label_text_font_size=look.tick_font)
    tangents = ColumnDataSource({"x0": [], "y0": [], "x1": [], "y1": [], "color": []})
    _draw(fig, Segment(x0="x0", y0="y0", x1="x1", y1="y1", line_color="color", line_width=look.line_width,
                       line_dash="dashed"), tangents)  # fmt: skip
    hovers = []
    for i, color in enumerate(colors):
        dots = _both(fig, Scatter, traj, f"x{i}", f"y{i}", size=4 + look.line_width, fill_color=color,
                     line_color=color, fill_alpha=0.6, line_alpha=0.6)  # fmt: skip
        hovers.append(
            HoverTool(
                renderers=dots,
                tooltips=racer_tooltips(1, i, labels[i], surface.variables),
                formatters=racer_formatters(1, i),
            )
        )
        fig.add_tools(hovers[-1])
    _heads(fig, traj, colors, look)
    dead = _dead(fig, look)
    start = ColumnDataSource({"x": [], "y": []})
    _draw(fig, Scatter(x="x", y="y", marker="circle_cross", size=look.head_size + 4, fill_color=None,
                       line_color=look.text), start)  # fmt: skip
    return {"fig": fig, "dead": dead, "tangents": tangents, "start": start, "hovers": hovers}

"""The noise seen as a cloud: a race run with many seeds (optimizers.cloud), drawn as a spread.

On the surface, each racer's seeds' paths are drawn faintly, with their end points, and the mean
path over the seeds in full colour on top: the cloud shows where the noise can take a racer, the
mean where it goes on average. (A one-variable surface plots x against the step instead: the
mean, and a band of one standard deviation each side.) On the loss panel, each racer's median
loss over the seeds and the band between its 25th and 75th percentiles. On a data surface
(least squares), a third panel shows the data and each racer's fitted line y = w x + b at the
final step: the mean (w, b) in full colour, each seed's faintly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import holoviews as hv

# Both backends' plotting classes: options are given per backend, and each needs its own loaded.
import holoviews.plotting.bokeh  # noqa: F401
import holoviews.plotting.mpl  # noqa: F401
import numpy as np

from ..text import as_mathtext, shown
from .curves import GAP_FLOOR
from .look import PALETTE, Look, axes, line, look, marker, styled
from .look import title as as_title
from .surface import equal_scales, surface_values

__all__ = ["cloud_figure", "cloud_panels", "fitted_lines", "has_fit", "moved_columns", "seed_alpha", "TAG"]

TAG = "optirace:cloud"  # Bokeh renderers are tagged TAG:role (tests, the page); roles below (i: the racer)
ROLES = (
    "seeds",
    "ends",
    "heads",
    "mean",
    "band",
    "median:i",
    "fit",
    "fitseeds",
    "data",
    "xband:i",
    "xmean:i",
)


def _tag(tag: str, **more) -> dict:
    """Options (for `styled`) that tag the element's Bokeh renderer, with `more` Bokeh options. Given
    with the element's style, in one call: each call of .opts walks the element and costs."""

    def hook(plot, _element):
        renderer = plot.handles.get("glyph_renderer")
        if renderer is not None:
            renderer.tags = [*renderer.tags, tag]

    return {"bokeh": {"hooks": [hook], **more}}


def _tagged(element, tag: str):
    return element.opts(**_tag(tag)["bokeh"], backend="bokeh")


def _joined(paths: np.ndarray) -> np.ndarray:
    """(n, m, 2) paths as one (n * (m + 1) - 1, 2) array, a NaN row between two paths: drawn as
    one line with gaps (Bokeh and matplotlib break a line at NaN), a HoloViews path of 64 parts
    took seconds to draw where one part takes a few milliseconds."""
    n, m, d = paths.shape
    gap = np.full((n, 1, d), np.nan)
    return np.concatenate([paths, gap], axis=1).reshape(-1, d)[:-1]


def _racer_lines(lines: Sequence[np.ndarray], colors: Sequence[str], kdims, group: str, spec: dict, tag: str):
    """One line per racer, (m, 2) each, in one element with the racer's colour in its "color" column,
    drawn with `spec` (look.line("color", ...)) and tagged `tag`."""
    kx, ky = (d.name for d in kdims)
    el = hv.Contours([{kx: xy[:, 0], ky: xy[:, 1], "color": col} for xy, col in zip(lines, colors, strict=True)],
                     kdims, vdims="color", group=group)  # fmt: skip
    # Inside a Layout, HoloViews' matplotlib backend maps a column of colour names through a colour
    # map as categories: the map given sends each racer's colour to itself.
    return styled(el, spec, {**_tag(tag), "matplotlib": {"cmap": {col: col for col in colors}}})


def seed_alpha(n_seeds: int) -> float:
    """Opacity of one seed's path: the cloud's density reads the same from 4 seeds to 64."""
    return float(min(0.5, max(0.06, 2.5 / n_seeds)))


def has_fit(surface) -> bool:
    """Whether the surface fits a line y = w x + b to data: features (x, 1), parameters (w, b)."""
    data = surface.data
    if data is None or surface.dim != 2:
        return False
    X = np.asarray(data.X)
    return X.ndim == 2 and X.shape[1] == 2 and bool(np.all(X[:, 1] == 1.0))


def fitted_lines(surface, wb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(xs, ys) of the lines y = w x + b for each row (w, b) of `wb` (..., 2), across the data's
    x range: xs (2,), ys (..., 2)."""
    x = np.asarray(surface.data.X)[:, 0]
    xs = np.array([x.min(), x.max()])
    wb = np.asarray(wb, dtype=float)
    return xs, wb[..., :1] * xs + wb[..., 1:2]


def _gap_quantiles(c) -> np.ndarray:
    """(3, n_racers, steps + 1): the 25th, 50th and 75th percentile of the loss above the minimum."""
    return np.maximum(c.loss_quantiles() - c.surface.min_value, GAP_FLOOR)


def _loss_ylim(q: np.ndarray) -> tuple[float, float]:
    lo, hi = float(q.min()), float(q.max())
    return (lo / 10, hi * 10) if hi <= lo * 1.0001 else (lo / 1.6, hi * 1.6)


def moved_columns(c) -> tuple[dict[str, dict[str, object]], tuple[float, float]]:
    """What a new cloud of the same racers, seeds, steps and 2-D surface changes in a drawn figure:
    {tag role: {column: values}} of the tagged Bokeh renderers (as cloud_figure's Bokeh rendering
    holds them), and the loss panel's y limits. The page moves a drawn figure with these rather
    than drawing a new one (a new figure takes a second; this, milliseconds)."""
    P, mean, q = c.params, c.mean_path(), _gap_quantiles(c)
    steps = np.arange(c.steps + 1)
    out: dict[str, dict[str, object]] = {}
    seeds = [_joined(P[i, :, :, :2]) for i in range(P.shape[0])]
    out["seeds"] = {"xs": [p[:, 0] for p in seeds], "ys": [p[:, 1] for p in seeds]}
    out["mean"] = {"xs": list(mean[:, :, 0]), "ys": list(mean[:, :, 1])}
    for i in range(P.shape[0]):
        out[f"median:{i}"] = {"step": steps, "gap": q[1, i]}
    out["ends"] = {"x": P[:, :, -1, 0].ravel(), "y": P[:, :, -1, 1].ravel()}
    out["heads"] = {"x": mean[:, -1, 0], "y": mean[:, -1, 1]}
    back = steps[::-1]
    out["band"] = {"xs": [[[np.concatenate([steps, back])]] for _ in range(P.shape[0])],
                   "ys": [[[np.concatenate([q[2, i], q[0, i, ::-1]])]] for i in range(P.shape[0])]}  # fmt: skip
    if has_fit(c.surface):
        final = P[:, :, -1, :]
        _, ys = fitted_lines(c.surface, final)
        _, mean_ys = fitted_lines(c.surface, final.mean(axis=1))
        out["fitseeds"] = {"y0": ys.reshape(-1, 2)[:, 0], "y1": ys.reshape(-1, 2)[:, 1]}
        out["fit"] = {"y0": mean_ys[:, 0], "y1": mean_ys[:, 1]}
    return out, _loss_ylim(q)


def _surface_panel(c, colors, labels, lk: Look, scale: float, legend: bool, more: dict) -> hv.Overlay:
    s = c.surface
    xs, ys, Z, levels, log = surface_values(s)
    (x0, x1), (y0, y1) = s.domain
    clabel = "loss − min (log scale)" if log else "loss"
    # The axes are named as the surface names its coordinates (least squares fits w and b).
    vx, vy = (str(v) for v in s.variables[:2])
    # Every layer's axes carry the panel's ranges: HoloViews skips finding the ranges of data whose
    # dimensions have one (the seeds' paths alone are 64 x 4 x 501 points), and the panel shows
    # the surface's domain whatever the paths hold.
    kd = [hv.Dimension("x", label=vx, range=(x0, x1)), hv.Dimension("y", label=vy, range=(y0, y1))]
    img = hv.Image((xs, ys, Z), kdims=kd, vdims=[hv.Dimension("loss", label=clabel)], group="Surface")
    for backend in ("bokeh", "matplotlib"):
        img = img.opts(cmap=list(lk.cmap), colorbar=False, logz=log, clim=(float(Z.min()), float(Z.max())),
                       backend=backend)  # fmt: skip
    # The contour lines, all levels in one line (a NaN between two pieces), in one colour: as a
    # Contours element of one line per level, they took as long to draw as the rest of the panel.
    contours = hv.operation.contours(img, levels=list(levels), overlaid=False)
    kx, ky = (d.name for d in contours.kdims)
    # Its data, one dict per level: split() would make a HoloViews element of each, at a cost.
    pieces = [np.column_stack([d[kx], d[ky]]) for d in contours.data if len(d[kx])]
    gap = np.full((1, 2), np.nan)
    joined = np.concatenate([np.concatenate([p, gap]) for p in pieces])[:-1] if pieces else np.empty((0, 2))
    lines = styled(hv.Path([joined], kdims=kd, group="Contours"),
                   line(lk.contour_line, lk.contour_width, scale, alpha=lk.contour_alpha))  # fmt: skip
    layers = [img, lines]
    gm = np.asarray(s.minima)
    layers.append(styled(hv.Points(gm[:, :2], kd, label=s.minimum_label, group="GlobalMinimum"),
                         marker("star", 19, scale, "#ffffff", lk.minimum, 1.5)))  # fmt: skip
    P = c.params
    layers.append(styled(hv.Points([tuple(P[0, 0, 0, :2])], kd, label="start", group="Start"),
                         marker("circle", lk.head_size + 4, scale, None, lk.text, 2)))  # fmt: skip
    alpha = seed_alpha(P.shape[1])
    mean = c.mean_path()
    # Every racer's seeds in one element, and every racer's mean in another: one line per racer
    # (its seeds joined, a NaN between two), each in its racer's colour. A HoloViews element costs
    # tens of milliseconds to draw whatever it holds; Contours keeps a colour given per line as one
    # line (a Path coloured by a column is split into one segment per step).
    seeds = _racer_lines([_joined(P[i, :, :, :2]) for i in range(len(colors))], colors, kd, "SeedPaths",
                         line("color", max(1.0, lk.line_width * 0.5), scale, alpha=alpha), f"{TAG}:seeds")  # fmt: skip
    means = _racer_lines([mean[i, :, :2] for i in range(len(colors))], colors, kd, "MeanPath",
                         line("color", lk.line_width * 1.25, scale), f"{TAG}:mean")  # fmt: skip
    layers += [seeds, means]
    ends = hv.Points({"x": P[:, :, -1, 0].ravel(), "y": P[:, :, -1, 1].ravel(),
                      "color": np.repeat(colors, P.shape[1])}, kd, ["color"], group="SeedEnds")  # fmt: skip
    ends = styled(ends, marker("circle", 6, scale, "color", "#ffffff", 0)).opts(alpha=0.6)
    heads = hv.Points({"x": mean[:, -1, 0], "y": mean[:, -1, 1], "color": colors}, kd, ["color"],
                      group="MeanEnd")  # fmt: skip
    heads = styled(heads, marker("circle", lk.head_size, scale, "color", "#ffffff", 2), _tag(f"{TAG}:heads"))
    layers += [_tagged(ends, f"{TAG}:ends"), heads]
    title = f"{s.title}: {P.shape[1]} seeds and their mean"
    ax = axes(lk, scale, grid=False)
    plot = {
        "bokeh": {"xlim": (x0, x1), "ylim": (y0, y1), "data_aspect": 1, "responsive": False},
        "matplotlib": {"xlim": (x0, x1), "ylim": (y0, y1), "aspect": "equal"},
    }
    plot["bokeh"]["hooks"] = [equal_scales]
    overlay = hv.Overlay(layers)
    for backend in ("bokeh", "matplotlib"):
        overlay = overlay.opts(**ax[backend], **plot[backend], title=as_title(title), show_legend=legend,
                               legend_position="bottom", legend_cols=4, **more[backend], backend=backend)  # fmt: skip
    return overlay


def _line_panel(c, colors, labels, lk: Look, scale: float, legend: bool, more: dict) -> hv.Overlay:
    """One-variable surfaces: x against the step, the mean and one standard deviation each side."""
    steps = np.arange(c.steps + 1)
    mean, sd = c.mean_path()[..., 0], c.spread()[..., 0]
    layers = []
    for i, col in enumerate(colors):
        band = hv.Area((steps, mean[i] - sd[i], mean[i] + sd[i]), "step", ["x", "x2"], group="Band")
        band = styled(band, {"bokeh": {"fill_color": col, "fill_alpha": 0.25, "line_alpha": 0},
                             "matplotlib": {"facecolor": col, "alpha": 0.25, "linewidth": 0}})  # fmt: skip
        curve = hv.Curve((steps, mean[i]), "step", "x", group="MeanPath", label=labels[i])
        curve = styled(curve, line(col, lk.line_width, scale))
        layers += [_tagged(band, f"{TAG}:xband:{i}"), _tagged(curve, f"{TAG}:xmean:{i}")]
    title = f"{c.surface.title}: mean x ± 1 sd over {c.params.shape[1]} seeds"
    ax = axes(lk, scale, grid=True)
    overlay = hv.Overlay(layers)
    for backend in ("bokeh", "matplotlib"):
        overlay = overlay.opts(**ax[backend], title=as_title(title), xlabel="step", ylabel="x",
                               show_legend=legend, legend_position="bottom", **more[backend], backend=backend)  # fmt: skip
    return overlay


def _loss_panel(c, colors, labels, lk: Look, scale: float, legend: bool, more: dict) -> hv.Overlay:
    q = _gap_quantiles(c)
    steps = np.arange(c.steps + 1)
    ylim, xlim = _loss_ylim(q), (0, max(c.steps, 1))
    # The axes carry the panel's ranges, which HoloViews then need not find in the data.
    kd = [hv.Dimension("step", range=xlim), hv.Dimension("gap", label="loss − min", range=ylim)]
    layers = []
    # The 25-75% bands as one element of polygons, one per racer (the outline: up the 75th
    # percentile, back down the 25th), for the reason the surface's layers are merged.
    back = steps[::-1]
    bands = hv.Polygons([{"step": np.concatenate([steps, back]), "gap": np.concatenate([q[2, i], q[0, i, ::-1]]),
                          "band_color": col} for i, col in enumerate(colors)], kd, vdims="band_color",
                        group="LossBand")  # fmt: skip
    # Inside a Layout, HoloViews' matplotlib backend maps a column of colour names through a colour
    # map as categories: the map given sends each racer's colour to itself.
    own = {c: c for c in colors}
    bands = styled(bands, {"bokeh": {"fill_color": "band_color", "fill_alpha": 0.25, "line_alpha": 0},
                           "matplotlib": {"facecolor": "band_color", "alpha": 0.25, "linewidth": 0, "cmap": own}},
                    _tag(f"{TAG}:band", show_legend=False))  # fmt: skip
    layers.append(bands)
    for i, col in enumerate(colors):
        curve = hv.Curve((steps, q[1, i]), kd[0], kd[1], group="MedianLoss", label=labels[i])
        layers.append(styled(curve, line(col, lk.line_width, scale), _tag(f"{TAG}:median:{i}")))
    ax = axes(lk, scale, grid=True)
    overlay = hv.Overlay(layers)
    for backend in ("bokeh", "matplotlib"):
        extra = {"responsive": False, "legend_opts": {"click_policy": "hide"}} if backend == "bokeh" else {}
        overlay = overlay.opts(**ax[backend], **extra, title="Loss: median over seeds, 25–75% band",
                               xlabel="step", ylabel="loss − min", logy=True, ylim=ylim,
                               xlim=xlim, show_legend=legend, legend_position="right", **more[backend],
                               backend=backend)  # fmt: skip
    return overlay


def _fit_panel(c, colors, labels, lk: Look, scale: float, more: dict) -> hv.Overlay:
    """The data and each racer's line y = w x + b at the final step (mean (w, b); each seed's faintly)."""
    s = c.surface
    X, y = np.asarray(s.data.X), np.asarray(s.data.y)
    data = styled(
        hv.Points((X[:, 0], y), ["x", "y"], group="Data"), marker("circle", 7, scale, lk.text, lk.text, 0)
    )
    layers = [_tagged(data.opts(alpha=0.55), f"{TAG}:data:0")]
    alpha = seed_alpha(c.params.shape[1])
    final = c.params[:, :, -1, :]
    # Straight lines: segments, every racer's in one element, each in its racer's colour.
    xs, ys = fitted_lines(s, final)  # ys: (racers, seeds, 2)
    _, mean_ys = fitted_lines(s, final.mean(axis=1))  # (racers, 2)
    for name, Y, width, a in (
        ("fitseeds", ys.reshape(-1, 2), 1.0, alpha),
        ("fit", mean_ys, lk.line_width, 1.0),
    ):
        n = len(Y)
        seg = hv.Segments({"x0": np.full(n, xs[0]), "y0": Y[:, 0], "x1": np.full(n, xs[1]), "y1": Y[:, 1],
                           "color": np.repeat(colors, n // len(colors))}, ["x0", "y0", "x1", "y1"], ["color"],
                          group="Fit" if name == "fit" else "SeedFits")  # fmt: skip
        layers.append(styled(seg, line("color", width, scale, alpha=a), _tag(f"{TAG}:{name}")))
    ax = axes(lk, scale, grid=True)
    overlay = hv.Overlay(layers)
    for backend in ("bokeh", "matplotlib"):
        extra = {"responsive": False} if backend == "bokeh" else {}
        overlay = overlay.opts(**ax[backend], **extra, title="Fitted line y = w x + b (final step)",
                               xlabel="x", ylabel="y", show_legend=False, **more[backend], backend=backend)  # fmt: skip
    return overlay


def cloud_panels(c) -> list[str]:
    """The panels drawn for the cloud `c`: its paths, its loss, and the fit on a line-fitting surface."""
    return ["paths", "loss", *(["fit"] if has_fit(c.surface) else [])]


def cloud_figure(c, labels: Sequence[str], theme: str = "light", present: bool = False,
                 colors: Sequence[str] | None = None, scale: float = 1.0, legend: bool = True,
                 title: str | None = None, sizes: Mapping[str, tuple[int, int]] | None = None) -> hv.Layout:  # fmt: skip
    """The cloud `c` (an optimizers.Cloud) as one Layout: the paths panel, the loss panel and, on a
    line-fitting data surface, the fit panel. Racers wear the race's colours (`colors`, else the
    palette in order). `sizes` gives panels (by name, see cloud_panels) a Bokeh width and height."""
    lk = look(theme, present)
    n = c.params.shape[0]
    colors = list(colors or [PALETTE[i % len(PALETTE)] for i in range(n)])
    labels = list(labels)
    items = []
    for name in cloud_panels(c):
        # User text is shown as its characters: matplotlib would read a `$` as the start of mathtext.
        # Given with each panel's own options: every call of .opts walks the whole panel.
        more = {"bokeh": {"legend_labels": {t: shown(t) for t in labels}},
                "matplotlib": {"legend_labels": {t: as_mathtext(t) for t in labels}}}  # fmt: skip
        if sizes and name in sizes:
            more["bokeh"].update(width=sizes[name][0], height=sizes[name][1])
        if name == "paths":
            make = _surface_panel if c.surface.dim == 2 else _line_panel
            o = make(c, colors, labels, lk, scale, legend=False, more=more)
        elif name == "loss":
            o = _loss_panel(c, colors, labels, lk, scale, legend, more)
        else:
            o = _fit_panel(c, colors, labels, lk, scale, more)
        items.append(o.relabel(group=name.capitalize()))
    layout = hv.Layout(items).cols(len(items))
    layout = layout.opts(title=as_title(shown(title or "")), backend="bokeh")
    return layout.opts(title=as_title(as_mathtext(title or "")), sublabel_format="", backend="matplotlib")

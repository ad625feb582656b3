"""A standalone animated page: the app's own Bokeh figures, BokehJS inlined, a JavaScript player.

The figures come from views/plots.py, so the page draws what the live app draws. The whole race
is stored once in the page (one hidden ColumnDataSource); the player reveals rows 0..k of it in the
browser with `CustomJS`, so nothing is computed and nothing is fetched: it works from `file://`
with the network off. Play/Pause, Step buttons and a step scrubber; `race.html?play=1&loop=1`
starts by itself and loops (for a slide), as the app's own links do. Keys: space plays or pauses,
the arrow keys step.
"""

from __future__ import annotations

from pathlib import Path

from bokeh.core.templates import get_env
from bokeh.document import Document
from bokeh.embed import file_html
from bokeh.layouts import column, row
from bokeh.models import Button, ColumnDataSource, CustomJS, Div, LegendItem, Slider
from bokeh.resources import Resources

from surfaces.grid import gradients
from views import paintfix
from views.plots import curve_figure, legend_label, line_figure, surface_figure
from views.state import PALETTE, RaceState
from views.theme import look
from views.trajectories import Trajectories

from ..text import as_html, shown
from .frames import resolve_look
from .options import Options

__all__ = ["write_html", "PLAYER_JS"]

CONTROLS_HEIGHT = 56
# Bokeh's own page, whose background is the figure's, so a dark export is dark edge to edge.
_TEMPLATE = get_env().from_string(
    "{% extends 'file.html.jinja' %}{% block preamble %}"
    "<style>html, body { background: {{ background }}; }</style>{% endblock %}"
)


class _Standalone(Resources):
    """Bokeh's own code inline, and nothing else.

    Bokeh adds the `__javascript__`/`__css__` files of every model class the process has imported.
    Inside the app's server those include Panel's, as paths relative to the server, which a file
    saved to disk cannot load; the exported page is made of Bokeh models only."""

    @property
    def js_files(self) -> list[str]:
        return []

    @property
    def css_files(self) -> list[str]:
        return []

    def clone(self, *, components=None) -> _Standalone:
        # Bokeh clones the resources to drop unused components; the clone must stay standalone.
        return _Standalone(mode=self.mode, minified=self.minified,
                           components=components if components is not None else list(self.components))  # fmt: skip


# One player per page; `action` is what the calling widget asks for.
PLAYER_JS = r"""
const P = (window.__optirace = window.__optirace || {timer: null, acc: 0, loop: false});
const get = (d, k) => (d instanceof Map ? d.get(k) : d[k]);
const data = (obj) => (shown.data instanceof Map ? new Map(Object.entries(obj)) : obj);
function render(k) {
  const f = full.data, n = colors.length, cols = {};
  for (const name of (f instanceof Map ? [...f.keys()] : Object.keys(f))) {
    if (!/^g\d+$/.test(name)) cols[name] = get(f, name).slice(0, k + 1);  // g{i}: tangent slopes
  }
  shown.data = data(cols);
  const hx = [], hy = [], dx = [], dy = [], dc = [], dt = [], da = [], dox = [];
  const [x0, x1, y0, y1] = [xr.start, xr.end, yr.start, yr.end];
  const t = {x0: [], y0: [], x1: [], y1: [], color: []};
  for (let i = 0; i < n; i++) {
    const x = get(f, 'x' + i)[k], y = get(f, 'y' + i)[k];
    hx.push(x); hy.push(y);
    const d = dead_at[i];
    if (d >= 0 && d <= k) {
      // Pinned inside the plot: a runaway racer's last point may be far outside it.
      const ix = 0.02 * (x1 - x0), iy = 0.03 * (y1 - y0);
      dx.push(Math.min(Math.max(x, x0 + ix), x1 - ix)); dy.push(Math.min(Math.max(y, y0 + iy), y1 - iy));
      dc.push(colors[i]); dt.push('diverged at step ' + d);
      const right = dx[dx.length - 1] > 0.5 * (x0 + x1);  // label on the side facing the centre
      da.push(right ? 'right' : 'left'); dox.push(right ? -12 : 12);
    }
    if (tangents) {
      const w = 0.12 * (x1 - x0), g = get(f, 'g' + i)[k];
      t.x0.push(x - w); t.x1.push(x + w); t.y0.push(y - g * w); t.y1.push(y + g * w); t.color.push(colors[i]);
    }
  }
  if (heads) heads.data = data({x: hx, y: hy, color: colors.slice()});
  dead.data = data({x: dx, y: dy, color: dc, text: dt, align: da, xoff: dox});
  if (tangents) tangents.data = data(t);
  for (const m of markers) m.location = k;
  if (Math.floor(P.acc) !== k) P.acc = k;
}
function stop() {
  if (P.timer !== null) { clearInterval(P.timer); P.timer = null; }
  play.label = '\u25b6 Play';
}
function start() {
  if (slider.value >= slider.end) slider.value = 0;
  P.acc = slider.value;
  play.label = '\u275a\u275a Pause';
  P.timer = setInterval(() => {
    P.acc += speed / fps;
    const k = Math.min(Math.floor(P.acc), slider.end);
    if (k !== slider.value) slider.value = k;
    if (k >= slider.end) {
      if (P.loop) { P.acc = 0; slider.value = 0; } else stop();
    }
  }, 1000 / fps);
}
function toggle() { if (P.timer !== null) stop(); else start(); }
function step(delta) { stop(); slider.value = Math.max(0, Math.min(slider.value + delta, slider.end)); }
if (action === 'render') render(slider.value);
else if (action === 'toggle') toggle();
else if (action === 'forward') step(1);
else if (action === 'back') step(-1);
else if (action === 'ready') {
  render(slider.value);
  P.slider = slider; P.ready = true;  // for scripts (and tests) driving the page
  const q = new URLSearchParams(window.location.search);
  P.loop = q.get('loop') === '1';
  document.addEventListener('keydown', (e) => {
    if (e.key === ' ') { e.preventDefault(); toggle(); }
    else if (e.key === 'ArrowRight') step(1);
    else if (e.key === 'ArrowLeft') step(-1);
  });
  if (q.get('play') === '1') start();
}
"""


def _fixed(fig, width: int, height: int) -> None:
    fig.sizing_mode = "fixed"
    fig.width, fig.height = int(width), int(height)
    fig.min_width = fig.min_height = None


def _racer_legend(fig, labels) -> None:
    """Racer names on the surface figure, for exports that leave the loss panel (and its legend) out."""
    items = []
    for i, label in enumerate(labels):
        r = next((r for r in fig.renderers if getattr(r.glyph, "x", None) == f"x{i}"), None)
        if r is not None:
            items.append(LegendItem(label=legend_label(label), renderers=[r]))
    if fig.legend:
        fig.legend[0].items = [*fig.legend[0].items, *items]


def write_html(state: RaceState, path: Path, options: Options) -> None:
    res = state.result
    theme, present = resolve_look(state, options)
    lk = look(theme, present)
    n = res.params.shape[0]
    colors = [PALETTE[i % len(PALETTE)] for i in range(n)]
    labels = [state.label(i) for i in range(n)]
    k0 = res.steps if options.at_step is None else int(options.at_step)
    traj = Trajectories(chunk=None)  # the player below replaces the shown rows wholesale
    traj.load(res)
    full_cols = dict(traj.columns)
    if res.surface.dim == 1:
        grads = gradients(res.surface, res.params)[..., 0]
        full_cols.update({f"g{i}": grads[i] for i in range(n)})
    traj.show(k0)
    full = ColumnDataSource(full_cols, name="race")
    traj.source.name = "shown"

    w, h = options.size
    title_h = 44 if options.title else 0
    plot_h = max(h - CONTROLS_HEIGHT - title_h, 120)
    panels = options.panels
    curves = [p for p in panels if p != "contour"]
    if res.surface.dim == 2:
        parts = surface_figure(res.surface, state.kappa, lk, colors, labels, traj)
    else:
        parts = line_figure(res.surface, lk, colors, labels, traj)
    x0 = res.params[:, 0]
    parts["start"].data = {"x": [x0[0, 0]], "y": [x0[0, 1] if x0.shape[1] > 1 else res.loss[0, 0]]}
    curve_parts = {c: curve_figure(c, lk, colors, labels, traj, res.steps) for c in curves}
    figs = {"contour": parts["fig"], **{c: p["fig"] for c, p in curve_parts.items()}}
    if not options.legend:
        for fig in (figs.get("contour"), figs.get("loss")):
            if fig is not None:
                fig.legend.visible = False
    elif "loss" not in panels and "contour" in panels:
        _racer_legend(parts["fig"], labels)

    if "contour" in panels and curves:
        main_w = round(w * 1.25 / 2.25)
        _fixed(figs["contour"], main_w, plot_h)
        for c in curves:
            _fixed(figs[c], w - main_w, plot_h // len(curves))
        plots = row(figs["contour"], column(*[figs[c] for c in curves]))
    else:
        shown_figs = [figs[p] for p in panels]
        for f in shown_figs:
            _fixed(f, w // len(panels), plot_h)
        plots = row(*shown_figs)

    slider = Slider(start=0, end=max(res.steps, 1), value=k0, step=1, title="step", name="step",
                    width=max(w - 360, 120), styles={"color": lk.text})  # fmt: skip
    play = Button(label="▶ Play", button_type="primary", width=110, name="play")
    back = Button(label="◀ Step", width=80, name="back")
    forward = Button(label="Step ▶", width=80, name="forward")
    args = {
        "slider": slider,
        "play": play,
        "full": full,
        "shown": traj.source,
        "heads": parts.get("heads"),  # None where the figure's heads follow the source by themselves
        "dead": parts["dead"],
        "tangents": parts.get("tangents"),
        # Step markers are glyphs on the shown source now; none are left to move by hand.
        "markers": [curve_parts[c]["marker"] for c in curves if "marker" in curve_parts[c]],
        "xr": parts["fig"].x_range,
        "yr": parts["fig"].y_range,
        "colors": colors,
        "dead_at": [int(d) for d in res.diverged_at],
        "speed": float(res.steps / options.seconds(res.steps)),
        "fps": float(options.fps),
    }

    def player(action: str) -> CustomJS:
        return CustomJS(args=args, code=f"const action = {action!r};\n{PLAYER_JS}")

    slider.js_on_change("value", player("render"))
    play.js_on_click(player("toggle"))
    back.js_on_click(player("back"))
    forward.js_on_click(player("forward"))
    controls = row(play, back, forward, slider, height=CONTROLS_HEIGHT)
    items = [controls, plots]
    if options.title:
        items.insert(0, Div(text=f"<h2 style='margin:4px 8px;color:{lk.text}'>{as_html(options.title)}</h2>",
                            height=title_h))  # fmt: skip
    doc = Document()
    doc.add_root(column(*items, styles={"background": lk.background}))
    paintfix.install(doc)  # the same browser paint fixes as the app (views/paintfix.py)
    doc.js_on_event("document_ready", player("ready"))
    page = file_html(doc, resources=_Standalone(mode="inline"), title=shown(options.title) if options.title else f"OptiRace: {res.surface.title}",
                     template=_TEMPLATE, template_variables={"background": lk.background})  # fmt: skip
    Path(path).write_text(page, encoding="utf-8")

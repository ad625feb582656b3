"""A standalone animated page: the race's figure rendered with Bokeh, BokehJS inlined, and the player.

The figure is the app's own (`optirace.figures`, rendered with the Bokeh backend) and so is the
player (`optirace.figures.player`): the whole race is stored once in the page and played there, so
nothing is computed and nothing is fetched: it works from `file://` with the network off.
Play/Pause, Step, Reset, speed, loop and a step scrubber; `race.html?play=1&loop=1` starts by itself
and loops (for a slide), as the app's own links do. Keys: space plays or pauses, the arrow keys
step, r goes back to the start.
"""

from __future__ import annotations

from pathlib import Path

from bokeh.core.templates import get_env
from bokeh.document import Document
from bokeh.embed import file_html
from bokeh.layouts import column, row
from bokeh.models import Div
from bokeh.resources import Resources

from ..figures import look, paintfix, racer_colors
from ..figures.played import bokeh_panels, limits
from ..figures.player import Player
from ..text import as_html, shown
from .frames import resolve_look
from .options import Options

__all__ = ["write_html", "race_block", "page_html"]

CONTROLS_HEIGHT = 64
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


def write_html(state, path: Path, options: Options) -> None:
    block, player, lk = race_block(state, options, linked=True)
    doc = Document()
    doc.add_root(block)
    paintfix.install(doc)  # the same browser paint fixes as the app
    doc.js_on_event("document_ready", player.ready())
    title = shown(options.title) if options.title else f"OptiRace: {state.result.surface.title}"
    Path(path).write_text(page_html(doc, title, lk.background), encoding="utf-8")


def page_html(doc: Document, title: str, background: str) -> str:
    """The standalone page of `doc`: BokehJS inline, nothing fetched."""
    return file_html(doc, resources=_Standalone(mode="inline"), title=title, template=_TEMPLATE,
                     template_variables={"background": background})  # fmt: skip


def race_block(state, options: Options, linked: bool = False, caption: str | None = None):
    """(the race's column of models: title, caption, playback bar, panels; its Player; its Look).
    `linked`: the player reads play=1 and loop=1 from the page's link (a page of one race)."""
    res = state.result
    theme, present = resolve_look(state, options)
    lk = look(theme, present)
    n = res.params.shape[0]
    colors = racer_colors(n)
    labels = [state.label(i) for i in range(n)]
    k0 = res.steps if options.at_step is None else int(options.at_step)

    w, h = options.size
    title_h = 44 if options.title else 0
    caption_h = 28 + 22 * (len(caption) // max(w // 9, 1)) if caption else 0  # about 9 px a character
    plot_h = max(h - CONTROLS_HEIGHT - title_h - caption_h, 120)
    panels = list(options.panels)
    curves = [p for p in panels if p != "contour"]
    if "contour" in panels and curves:
        main_w = round(w * 1.25 / 2.25)
        sizes = {"contour": (main_w, plot_h), **{c: (w - main_w, plot_h // len(curves)) for c in curves}}
        sizes["momentum"] = sizes.get("lr", (w - main_w, plot_h // len(curves)))
    else:
        sizes = {p: (w // len(panels), plot_h) for p in panels}
    figs = bokeh_panels(res, labels, theme, present, panels, options.legend, state.kappa, sizes)
    if "contour" in figs and len(figs) > 1:
        plots = row(figs["contour"], column(*[f for name, f in figs.items() if name != "contour"]))
    else:
        plots = row(*figs.values())

    player = Player(
        speed=res.steps / options.seconds(res.steps), report=False, present=present, linked=linked
    )
    player.slider.value = k0
    player.slider.width = max(w - 720, 120)
    player.slider.sizing_mode = None
    player.attach(plots)
    player.load(res, labels, colors, *limits(res), kappa=state.kappa, noise=state.noise)
    for m in (player.slider, player.board):
        m.styles = {"color": lk.text}
    bar = row(player.play, player.back, player.forward, player.reset, player.speed, player.loop, player.slider,
              height=CONTROLS_HEIGHT)  # fmt: skip
    items = [bar, plots]
    if caption:
        items.insert(0, Div(text=f"<p style='margin:2px 8px;color:{lk.text};font-size:16px'>{as_html(caption)}</p>",
                            css_classes=["caption"], width=w, height=caption_h))  # fmt: skip
    if options.title:
        items.insert(0, Div(text=f"<h2 style='margin:4px 8px;color:{lk.text}'>{as_html(options.title)}</h2>",
                            height=title_h))  # fmt: skip
    return column(*items, styles={"background": lk.background}), player, lk

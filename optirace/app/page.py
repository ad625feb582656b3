"""Assembles one session's page: state, controls, figures, playback, URL and clean-up."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import panel as pn
from bokeh.settings import settings
from panel.io.location import Location

from optirace.figures import paintfix
from optirace.scene import FORMULA
from surfaces import SURFACES

from . import heap
from .basins_panel import BasinsPanel
from .busy import Busy
from .cloud_panel import CloudPanel
from .explain import Explain
from .export_menu import ExportMenu
from .fair_cards import fair_cards
from .formula_input import FormulaInput
from .ghost import GhostView
from .internals_panel import InternalsPanel
from .latex import katex_stylesheets
from .lessons import LessonPicker
from .link import link_query, location
from .live import RaceView
from .local_css import serve_panel_css_here
from .racers import RacerEditor
from .state import LIMITS, RaceState
from .styles import CARD_SHEET, FAVICON, SHEET, live_html
from .theory import OptimalSettings
from .toasts import toasts
from .view3d import View3D


def _server_log() -> logging.Logger:
    """Our lines in the server's log (the app's and the export workers'), formatted like Bokeh's
    (panel serve leaves our loggers unset)."""
    logger = logging.getLogger("optirace")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logging.getLogger("optirace.app")


log = _server_log()

# Bokeh checks every model of a new session's document before sending it (a second of the page's
# first byte on a busy server, for some 600 models). The figures are one tested description
# (tests/test_live_view.py validates a page's document); the check finds nothing in a session.
settings.perform_document_validation.set_value(False)


def _settings(state: RaceState, busy=None) -> tuple[pn.Column, pn.Column]:
    """(surface picker with its formula, race settings): the sidebar puts the racers between them.
    A new surface is drawn anew, which takes a while: it runs under `busy`, if given."""
    busy = busy or (lambda work: work())
    surface = pn.widgets.Select(label="Surface", options={**{s.title: k for k, s in SURFACES.items()},
                                "Your formula": FORMULA}, value=state.surface, css_classes=["surface-select"])  # fmt: skip
    # "Your formula" races what is typed in the box under the menu (or its example); refused, the
    # menu goes back to the surface still raced.
    typed = FormulaInput(state, busy, refused=lambda: sync())

    def choose(key):
        if key != FORMULA:
            busy(lambda: setattr(state, "surface", key))
        else:
            typed.choose()

    surface.param.watch(lambda e: None if syncing[0] else choose(e.new), "value")
    formula = pn.pane.LaTeX(
        "", sizing_mode="stretch_width", css_classes=["formula"], stylesheets=katex_stylesheets()
    )
    about = pn.pane.Markdown("", sizing_mode="stretch_width", css_classes=["description"])
    kappa = pn.widgets.FloatSlider(label="condition number κ", start=1, end=200, step=1, value=20)
    kappa.param.watch(lambda e: setattr(state, "kappa", float(e.new)), "value")
    sx = pn.widgets.FloatInput(label="start x", width=110, css_classes=["start-x"])
    sy = pn.widgets.FloatInput(label="start y", width=110, css_classes=["start-y"])
    default_start = pn.widgets.Button(label="default start", width=110)
    default_start.on_click(lambda e: setattr(state, "start", None))

    def set_start(event):
        if syncing[0]:
            return
        pt = (sx.value,) if state.surface_obj.dim == 1 else (sx.value, sy.value)
        if all(v is not None for v in pt):
            state.set_start(*pt)

    syncing = [False]
    sx.param.watch(set_start, "value")
    sy.param.watch(set_start, "value")
    steps = pn.widgets.IntSlider(label="steps (every racer)", start=10, end=LIMITS["steps"], step=10,
                                 value=state.steps)  # fmt: skip
    steps.param.watch(lambda e: setattr(state, "steps", int(e.new)), "value_throttled")
    noise = pn.widgets.FloatSlider(label="gradient noise σ", start=0, end=5, step=0.05, value=state.noise)
    noise.param.watch(lambda e: setattr(state, "noise", float(e.new)), "value_throttled")
    seed = pn.widgets.IntInput(label="seed", start=0, end=2**31 - 1, value=state.seed, width=110)
    seed.param.watch(lambda e: setattr(state, "seed", int(e.new)), "value")
    batch = pn.widgets.IntSlider(label="mini-batch size", start=1, end=64, value=64)
    batch.param.watch(lambda e: setattr(state, "batch_size", int(e.new)), "value_throttled")

    def sync(*_):
        s = state.surface_obj
        syncing[0] = True
        try:
            surface.value = state.surface
            formula.object = f"$${s.formula}$$"
            about.object = s.description
            kappa.visible = "kappa" in s.params
            if state.kappa is not None:
                kappa.value = state.kappa
            res = state.result  # the last surface's race, until the new one has run
            fits = res is not None and res.params.shape[-1] == s.dim and res.surface.name == s.name
            x0 = res.params[0, 0] if fits else s.start
            sx.value = float(x0[0])
            sy.visible = s.dim == 2
            if s.dim == 2:
                sy.value = float(x0[1])
            batch.visible = s.data is not None
            if s.data is not None:
                batch.end = s.data.n
                batch.value = state.batch_size or s.data.n
            steps.value = state.steps
            noise.value = state.noise
            seed.value = state.seed
        finally:
            syncing[0] = False

    state.param.watch(sync, ["surface", "result"])
    sync()
    header = pn.Column(surface, typed, formula, about, kappa, sizing_mode="stretch_width")
    race = pn.Column(
        pn.pane.HTML("<b>Start</b> <span class='hint'>(or click on the plot)</span>", stylesheets=[SHEET]),
        pn.Row(sx, sy), default_start, steps, noise, seed, batch,
        sizing_mode="stretch_width",
    )  # fmt: skip
    return header, race


def _sync_url(state: RaceState, picker: LessonPicker | None = None):
    loc = location()
    if loc is None:
        return

    def push(*_):
        lesson = {"lesson": picker.current} if picker is not None and picker.current else {}
        loc.search = "?" + urlencode({**state.to_query(), **lesson})

    state.param.watch(push, ["result", "speed", "present", "theme"])
    if picker is not None:
        picker.param.watch(push, ["current"])


def _closed(ctx) -> None:
    log.info("session %s destroyed; nothing of it runs any more", getattr(ctx, "id", "?"))
    heap.release()  # its memory back to the system, once the class has gone quiet


def _built_when_opened(title: str, make, **params) -> pn.Card:
    """A collapsed card whose content is built the first time it is opened. The export menu is
    27 of the page's 400 models; most visits never open it, and every model costs the server and the
    browser time before the race is drawn."""
    card = pn.Card(title=title, collapsed=True, **params)

    def opened(event):
        if not event.new and not card.objects:
            card.objects = [make()]

    card.param.watch(opened, "collapsed")
    return card


def _real_training(state: RaceState):
    from .training_panel import TrainingPanel  # with its figure's HoloViews, only once opened

    return TrainingPanel(state)


def build() -> pn.viewable.Viewable:
    """One session's page. Bokeh runs app.py per session, so this runs per session too; the jitted
    programs it uses are compiled once per process in `optimizers`."""
    if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
        serve_panel_css_here(pn.state.curdoc)  # before any model is made
        heap.settle()  # the process's start-up objects aside from the cyclic collector, once
    pn.extension("katex", notifications=False)
    state = RaceState()
    query = link_query()
    if query:
        state.apply_query(query)
    picker = LessonPicker(state)
    picker.from_link(query)
    view = RaceView(state)
    ghost = GhostView(state, view)  # the race before the last change, faint (on by default)
    playback = view.bar
    alerts = toasts(state)  # over the page's corner, not above the plots
    if pn.state.curdoc is not None:
        pn.state.on_session_destroyed(_closed)
        # The page's player starts once the document is ready: it draws the step and, for a link
        # with play=1, plays (optirace/figures/player.js).
        pn.state.curdoc.js_on_event("document_ready", view.player.ready())
        if not (state.embed or state.playing):  # plotly.js for the 3D view, once the page is idle
            pn.state.curdoc.js_on_event("document_ready", View3D.preload())
        paintfix.install(pn.state.curdoc)
    _sync_url(state, picker)
    # Marks the page live: onload runs once the browser's websocket is connected, so a visitor (or a
    # test) that sees this marker knows clicks now reach the server.
    # A Bokeh Div set in place (styles.live_html): a Panel HTML pane's first new text made Bokeh walk
    # the whole document, 0.1 s of server time in every page's first second.
    ready = live_html("", css_classes=["ready-marker"], width=0, height=0, margin=0)
    later: list = []  # what the page adds once it has been drawn (below)

    def loaded():
        for add in later:
            add()
        ready.object.text = "<span data-ready='1'></span>"

    if state.embed:
        # An iframe in a slide can be 640x360: the plots take what the playback bar leaves, and the
        # figures (on a page at least 320x320, the curves 260x160 each) must be allowed to shrink into it.
        view.main.min_height = view.loss_pane.min_height = view.lr_pane.min_height = 100

        def shrinkable(*_):
            for box, (width, height) in (
                (view.main, (240, 160)),
                (view.loss_pane, (180, 80)),
                (view.lr_pane, (180, 80)),
            ):
                for pane in box.objects:
                    pane.object.update(min_width=width, min_height=height)

        for box in (view.main, view.loss_pane, view.lr_pane):
            box.param.watch(shrinkable, "objects")
        shrinkable()
    curves = pn.Column(view.loss_pane, view.lr_pane, sizing_mode="stretch_both",
                       min_width=180 if state.embed else 300)  # fmt: skip
    # The plots fill the window below the playback bar, so a projector at 1280x720 shows them whole.
    # The surface in 3D, in the 2-D panel's place when switched on; the ghost's switch shows its ghost too.
    view3d = View3D(state, view.main, ghost.switch)
    three = [] if state.embed else [view3d.pane]  # a slide's iframe has no switch: no 3-D pane to lay out
    plots = pn.Row(view.main, *three, curves, sizing_mode="stretch_both", min_height=200 if state.embed else 420,
                   styles={"height": "calc(100vh - 70px)" if state.embed else "calc(100vh - 150px)"},
                   css_classes=["plots"])  # fmt: skip
    busy = Busy(plots)
    picker.busy = busy
    if state.embed:
        # The playback bar is wider than a small iframe: it scrolls on its own rather than
        # widening the page past the frame, which would cut the curves off.
        # (Panel gives a layout the sum of its children's minimum widths: `min-width` says otherwise.)
        shrink = {"min-width": "0"}
        bar = pn.Column(playback, sizing_mode="stretch_width", styles={**shrink, "overflow-x": "auto"})
        pn.state.onload(loaded)
        return pn.Column(alerts, bar, plots, ready, sizing_mode="stretch_both", styles=shrink,
                         css_classes=["embed", "present" if state.present else "normal"])  # fmt: skip
    present = pn.widgets.Switch(label="presentation mode", value=state.present)
    present.param.watch(lambda e: setattr(state, "present", e.new), "value")
    # Bootstrap, not Fast: the Fast design imports a web font, and classrooms are often offline.
    template = pn.template.BootstrapTemplate(
        title="OptiRace",
        theme="dark" if state.theme == "dark" else "default",
        sidebar_width=340,
        favicon=FAVICON,
        header_background="#0b4f7c",
        # The busy spinner would flip twice per animation frame: two extra messages each frame.
        busy_indicator=None,
    )
    surface_box, race_box = _settings(state, busy)
    template.sidebar.extend([
        pn.pane.Markdown("### Surface"), surface_box,
        pn.pane.Markdown("### Lessons"), picker.select,
        pn.pane.Markdown("### Racers"), RacerEditor(state, busy), OptimalSettings(state, busy).box,
        pn.pane.Markdown("### Race"), race_box,
        _built_when_opened("Export and share", lambda: ExportMenu(state), sizing_mode="stretch_width",
                           stylesheets=[CARD_SHEET]),
        pn.pane.Markdown("### View"), view3d.switch, ghost.switch,
        present,
    ])  # fmt: skip
    # Below the plots, out of a 1280x720 window's sight: added once the page has drawn the race, so
    # that building, sending and laying them out (a sixth of the time to the first race drawn) comes
    # after it. The ready marker is set after them.
    below = pn.Column(sizing_mode="stretch_width", margin=0)

    def below_the_plots():
        below.objects = [
            CloudPanel(state),  # shown while the race is random (noise, mini-batches)
            *fair_cards(state, lambda title, make: _built_when_opened(title, make, sizing_mode="stretch_width",
                                                                      stylesheets=[CARD_SHEET])),
            _built_when_opened("Basins of attraction", lambda: BasinsPanel(state), sizing_mode="stretch_width",
                               stylesheets=[CARD_SHEET]),
            pn.Card(Explain(state), title="Explain: each racer's update rule", collapsed=False,
                    sizing_mode="stretch_width", stylesheets=[CARD_SHEET]),
        ]  # fmt: skip

    later.append(below_the_plots)
    template.main.extend([
        alerts, picker.caption, playback, plots, InternalsPanel(state).view,
        _built_when_opened("Real training: a 337-parameter network, trained by each racer",
                           lambda: _real_training(state), sizing_mode="stretch_width", stylesheets=[CARD_SHEET]),
        pn.Row(view.board, view.iterates, sizing_mode="stretch_width"),
        below,
        ready,
    ])  # fmt: skip
    pn.state.onload(loaded)
    return template


def serve() -> pn.viewable.Viewable:
    """Build this session's page and add it to the session's document (what app.py does)."""
    page = build()
    doc = pn.state.curdoc
    if doc is None:
        return page.servable()
    # Panel adds the template's items to the document one root at a time, and after each Bokeh
    # walks every model the document holds (16 walks of about 400 models, a fifth of the time to
    # the page's first byte). Frozen, it walks them once, at the end.
    # A link Panel cannot read gets a blank Location: the template needs one to render at all.
    loc = location()
    with doc.models.freeze():
        page.servable(location=loc if loc is not None else Location())
    return page

"""Assembles one session's page: state, controls, figures, playback, URL and clean-up."""

from __future__ import annotations

import logging
import time
from urllib.parse import urlencode

import panel as pn
from panel.io.location import Location

from surfaces import SURFACES

from . import heap, paintfix, refcache
from .busy import Busy
from .explain import Explain
from .export_menu import ExportMenu
from .frequent import Scrubber
from .keyboard import Shortcuts
from .latex import katex_stylesheets
from .link import link_query, location
from .live import RaceView
from .racers import RacerEditor
from .reveal import TICKS
from .state import LIMITS, RaceState
from .styles import CARD_SHEET, FAVICON, SHEET, html_pane
from .toasts import toasts


def _server_log() -> logging.Logger:
    """Our lines in the server's log, formatted like Bokeh's (panel serve leaves our logger unset)."""
    logger = logging.getLogger("optirace.app")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


log = _server_log()
refcache.install()  # once per process: see views/refcache.py
heap.settle()  # once per process, on the first page: everything imported so far is long-lived


class Playback:
    """Play/Pause, Step, Reset, speed and the scrubber, driving `state.step` by a periodic callback."""

    def __init__(self, state: RaceState) -> None:
        self.state = state
        self.play = pn.widgets.Button(name="❚❚ Pause" if state.playing else "▶ Play", button_type="primary",
                                      width=100, css_classes=["play"])  # fmt: skip
        self.back = pn.widgets.Button(name="◀ Step", width=80, css_classes=["back"])
        self.forward = pn.widgets.Button(name="Step ▶", width=80, css_classes=["step"])
        self.reset = pn.widgets.Button(name="⟲ Reset", width=90, css_classes=["reset"])
        self.speed = pn.widgets.FloatSlider(name="speed (steps/s)", start=1, end=500, step=1, value=state.speed,
                                            width=200)  # fmt: skip
        self.scrub = Scrubber(name="step", start=0, end=max(state.steps_done, 1), value=state.step,
                                          sizing_mode="stretch_width", min_width=200, css_classes=["scrubber"])  # fmt: skip
        self.play.on_click(lambda e: state.toggle())
        self.forward.on_click(lambda e: state.step_once(1))
        self.back.on_click(lambda e: state.step_once(-1))
        self.reset.on_click(lambda e: state.reset())
        self.speed.param.watch(lambda e: setattr(state, "speed", float(e.new)), "value")
        self.scrub.param.watch(self._scrubbed, "value")
        state.param.watch(self._on_step, ["step"])
        state.param.watch(self._on_playing, ["playing"])
        state.param.watch(self._on_result, ["result"])
        self._last = time.monotonic()
        self._scrub_sent = 0.0
        self.callback = None
        self._ctx = None  # the session's context, once served (see start_callbacks)
        self._syncing = False

    def __panel__(self):
        return pn.Row(self.play, self.back, self.forward, self.reset, self.speed, self.scrub,
                      sizing_mode="stretch_width", css_classes=["playback"])  # fmt: skip

    def _scrubbed(self, event):
        if not self._syncing:
            self.state.playing = False
            self.state.step = int(event.new)

    def _on_step(self, event):
        # While playing, the scrubber follows at 5 Hz: each update is a message of its own.
        now = time.monotonic()
        if self.state.playing and now - self._scrub_sent < 0.2:
            return
        self._scrub_sent = now
        self._syncing = True
        try:
            self.scrub.value = int(event.new)
        finally:
            self._syncing = False

    def _on_result(self, *_):
        self.scrub.end = max(self.state.steps_done, 1)

    def _on_playing(self, event):
        self.play.name = "❚❚ Pause" if event.new else "▶ Play"
        if not event.new:
            self._scrub_sent = 0.0
            self._on_step(type("Event", (), {"new": self.state.step}))
        if self.callback is None:
            return
        if event.new:
            self._last = time.monotonic()
            self.callback.start()
        else:
            self.callback.stop()

    def tick(self):
        if self._tab_gone():
            # Bokeh keeps a closed tab's session, and so this callback, for up to half a minute
            # before destroying it: at 20 frames a second, for no one.
            self.callback.stop()
            log.info("session %s: its tab has gone; playback paused", getattr(self._ctx, "id", "?"))
            return
        now = time.monotonic()
        # Clamp dt so a stalled tab does not jump far ahead when it wakes.
        dt = min(now - self._last, 0.25)
        self._last = now
        try:
            # One message per frame: the stream, the scrubber and the tables leave together.
            with pn.io.unlocked():
                self.state.advance(dt)
        except Exception as e:  # noqa: BLE001 (any failure: it must stay in this session)
            self.failed(e)

    def failed(self, error: Exception) -> None:
        """A frame failed: stop this session's playback and say so here and in the server log.

        Uncaught, the error would reach the server's loop 30 times a second until the tab closed;
        other sessions never see it either way, since each has its own state and callback."""
        log.exception("session playback stopped after an error")
        self.state.playing = False
        self.state.error = f"playback stopped after an internal error ({type(error).__name__}: {error})"[:300]

    def start_callbacks(self):
        # Stopped until the page has loaded: a race opened with play=1 starts when it can be seen.
        # `background` keeps the ticks out of Panel's busy tracking (a list shared by every session
        # of the process, rescanned on each tick): it feeds only the busy indicator, which is off.
        self.callback = pn.io.PeriodicCallback(callback=self.tick, period=int(1000 / TICKS), background=True)
        self._ctx = pn.state.curdoc.session_context if pn.state.curdoc is not None else None

    def _tab_gone(self) -> bool:
        """True once the session's last browser connection has closed (Bokeh never reconnects one)."""
        session = getattr(self._ctx, "session", None)
        return session is not None and session.connection_count == 0

    def page_loaded(self):
        if self.state.playing and self.callback is not None and not self.callback.running:
            self._last = time.monotonic()
            self.callback.start()

    def on_key(self, action: str):
        s = self.state
        {"toggle": s.toggle, "forward": lambda: s.step_once(1), "back": lambda: s.step_once(-1),
         "reset": s.reset}[action]()  # fmt: skip


def _settings(state: RaceState, busy=None) -> tuple[pn.Column, pn.Column]:
    """(surface picker with its formula, race settings): the sidebar puts the racers between them.
    A new surface is drawn anew, which takes a while: it runs under `busy`, if given."""
    busy = busy or (lambda work: work())
    surface = pn.widgets.Select(name="Surface", options={s.title: k for k, s in SURFACES.items()}, value=state.surface,
                                css_classes=["surface-select"])  # fmt: skip
    surface.param.watch(
        lambda e: None if syncing[0] else busy(lambda: setattr(state, "surface", e.new)), "value"
    )
    formula = pn.pane.LaTeX(
        "", sizing_mode="stretch_width", css_classes=["formula"], stylesheets=katex_stylesheets()
    )
    about = pn.pane.Markdown("", sizing_mode="stretch_width", css_classes=["description"])
    kappa = pn.widgets.FloatSlider(name="condition number κ", start=1, end=200, step=1, value=20)
    kappa.param.watch(lambda e: setattr(state, "kappa", float(e.new)), "value")
    sx = pn.widgets.FloatInput(name="start x", width=110, css_classes=["start-x"])
    sy = pn.widgets.FloatInput(name="start y", width=110, css_classes=["start-y"])
    default_start = pn.widgets.Button(name="default start", width=110)
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
    steps = pn.widgets.IntSlider(name="steps (every racer)", start=10, end=LIMITS["steps"], step=10,
                                 value=state.steps)  # fmt: skip
    steps.param.watch(lambda e: setattr(state, "steps", int(e.new)), "value_throttled")
    noise = pn.widgets.FloatSlider(name="gradient noise σ", start=0, end=5, step=0.05, value=state.noise)
    noise.param.watch(lambda e: setattr(state, "noise", float(e.new)), "value_throttled")
    seed = pn.widgets.IntInput(name="seed", start=0, end=2**31 - 1, value=state.seed, width=110)
    seed.param.watch(lambda e: setattr(state, "seed", int(e.new)), "value")
    batch = pn.widgets.IntSlider(name="mini-batch size", start=1, end=64, value=64)
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
            x0 = state.result.params[0, 0] if state.result is not None else s.start
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
    header = pn.Column(surface, formula, about, kappa, sizing_mode="stretch_width")
    race = pn.Column(
        pn.pane.HTML("<b>Start</b> <span class='hint'>(or click on the plot)</span>", stylesheets=[SHEET]),
        pn.Row(sx, sy), default_start, steps, noise, seed, batch,
        sizing_mode="stretch_width",
    )  # fmt: skip
    return header, race


def _sync_url(state: RaceState):
    loc = location()
    if loc is None:
        return

    def push(*_):
        loc.search = "?" + urlencode(state.to_query())

    state.param.watch(push, ["result", "speed", "present", "theme"])


def _closed(ctx, playback: Playback) -> None:
    """A tab closed: stop its animation and say so in the server log (tests and operators read it)."""
    if playback.callback is not None:
        playback.callback.stop()
    log.info("session %s closed; its playback callback stopped", getattr(ctx, "id", "?"))
    heap.release()


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


def build() -> pn.viewable.Viewable:
    """One session's page. Bokeh runs app.py per session, so this runs per session too; the jitted
    programs it uses are compiled once per process in `optimizers`."""
    pn.extension("katex", notifications=False)
    state = RaceState()
    query = link_query()
    if query:
        state.apply_query(query)
    view = RaceView(state)
    playback = Playback(state)
    keys = Shortcuts(playback.on_key)
    alerts = toasts(state)  # over the page's corner, not above the plots
    playback.start_callbacks()
    if pn.state.curdoc is not None:
        pn.state.on_session_destroyed(lambda ctx: _closed(ctx, playback))
        paintfix.install(pn.state.curdoc)
    _sync_url(state)
    # Marks the page live: onload runs once the browser's websocket is connected, so a visitor (or a
    # test) that sees this marker knows clicks now reach the server.
    ready = html_pane("", css_classes=["ready-marker"], width=0, height=0, margin=0)

    def loaded():
        playback.page_loaded()
        ready.object = "<span data-ready='1'></span>"

    pn.state.onload(loaded)
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
    plots = pn.Row(view.main, curves, sizing_mode="stretch_both", min_height=200 if state.embed else 420,
                   styles={"height": "calc(100vh - 70px)" if state.embed else "calc(100vh - 150px)"},
                   css_classes=["plots"])  # fmt: skip
    busy = Busy(plots)
    if state.embed:
        # The playback bar is wider than a small iframe: it scrolls on its own rather than
        # widening the page past the frame, which would cut the curves off.
        # (Panel gives a layout the sum of its children's minimum widths: `min-width` says otherwise.)
        shrink = {"min-width": "0"}
        bar = pn.Column(playback, sizing_mode="stretch_width", styles={**shrink, "overflow-x": "auto"})
        return pn.Column(alerts, bar, plots, keys, ready, sizing_mode="stretch_both", styles=shrink,
                         css_classes=["embed", "present" if state.present else "normal"])  # fmt: skip
    present = pn.widgets.Switch(name="presentation mode", value=state.present)
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
        pn.pane.Markdown("### Racers"), RacerEditor(state, busy),
        pn.pane.Markdown("### Race"), race_box,
        _built_when_opened("Export and share", lambda: ExportMenu(state), sizing_mode="stretch_width",
                           stylesheets=[CARD_SHEET]),
        present,
    ])  # fmt: skip
    template.main.extend([
        alerts, playback, plots,
        pn.Row(view.board, view.iterates, sizing_mode="stretch_width"),
        pn.Card(Explain(state), title="Explain: each racer's update rule", collapsed=False,
                sizing_mode="stretch_width", stylesheets=[CARD_SHEET]),
        keys, ready,
    ])  # fmt: skip
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

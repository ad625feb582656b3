"""The Export menu: the current figure as GIF, MP4, offline HTML, PNG, SVG or PDF, with a progress
bar and a download; the shareable link, an iframe snippet for slides, and the scene as JSON.

An export works on a snapshot of the scene (what the link shows, plus the shown step), rendered in
a worker process at a lower priority (optirace/export/worker.py) by optirace.export, the same code
as `optirace export --scene`: the session stays live meanwhile, and moving a slider during an export
does not change the file being written. One export at a time per tab, a bounded queue per server
process, a time limit per export, and a closed tab's export is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from urllib.parse import urlencode

import panel as pn
from panel.links import Callback

from optirace.text import as_html

from .link import location
from .plaintext import PlainText
from .state import RaceState

__all__ = ["ExportMenu"]

FORMAT_CHOICES = {
    "GIF (animated)": "gif",
    "MP4 video": "mp4",
    "HTML (offline, animated)": "html",
    "PNG (this step)": "png",
    "SVG (this step)": "svg",
    "PDF (this step)": "pdf",
}
SIZES = ["1280x720", "1920x1080", "960x540", "640x360"]
LOOKS = {"as shown": "", "light": "light", "dark": "dark", "slides (large fonts)": "slides"}

COPY_JS = """
const text = source.value;
const done = () => { button.label = 'Copied'; setTimeout(() => { button.label = label; }, 1500); };
if (navigator.clipboard && window.isSecureContext) {
  navigator.clipboard.writeText(text).then(done);
} else {  // plain http on a classroom server: the clipboard API is off, the old way still works
  const area = document.createElement('textarea');
  area.value = text; area.style.position = 'fixed'; area.style.opacity = '0';
  document.body.appendChild(area); area.select(); document.execCommand('copy'); area.remove(); done();
}
"""


class ExportMenu(pn.viewable.Viewer):
    """`ExportMenu(state)`: place it anywhere in the page; it reads the state, never changes it."""

    def __init__(self, state: RaceState, **params) -> None:
        super().__init__(**params)
        self.state = state
        # Sized to the sidebar (340 px at 1280x720): the format on a line of its own, size and look
        # sharing the next.
        self.format = pn.widgets.Select(label="Format", options=FORMAT_CHOICES, value="gif",
                                        sizing_mode="stretch_width", css_classes=["export-format"])  # fmt: skip
        self.size = pn.widgets.Select(label="Size", options=SIZES, value=SIZES[0], sizing_mode="stretch_width",
                                      min_width=100, css_classes=["export-size"])  # fmt: skip
        self.look = pn.widgets.Select(label="Look", options=LOOKS, value="", sizing_mode="stretch_width",
                                      min_width=100)  # fmt: skip
        self.button = pn.widgets.Button(label="Export", color="primary", width=100,
                                        css_classes=["export-button"])  # fmt: skip
        self.progress = pn.indicators.Progress(value=0, max=100, visible=False, sizing_mode="stretch_width",
                                               css_classes=["export-progress"])  # fmt: skip
        self.status = PlainText(sizing_mode="stretch_width", css_classes=["export-status"])
        self.notice = PlainText(sizing_mode="stretch_width", css_classes=["export-notice"], hide_empty=True)
        self.download = pn.widgets.FileDownload(file=None, filename="race.gif", label="Download", embed=False,
                                                visible=False, color="success", sizing_mode="stretch_width",
                                                css_classes=["export-download"])  # fmt: skip
        self.link = pn.widgets.TextInput(label="Link to this figure", sizing_mode="stretch_width",
                                         css_classes=["export-link"])  # fmt: skip
        self.autoplay = pn.widgets.Checkbox(label="iframe plays by itself and loops", value=True)
        self.snippet = pn.widgets.TextAreaInput(label="iframe snippet (embed mode)", height=90,
                                                sizing_mode="stretch_width", css_classes=["export-snippet"])  # fmt: skip
        self.copy_link = pn.widgets.Button(label="Copy link", width=130, css_classes=["copy-link"])
        self.copy_snippet = pn.widgets.Button(
            label="Copy iframe snippet", width=170, css_classes=["copy-snippet"]
        )
        for button, source in ((self.copy_link, self.link), (self.copy_snippet, self.snippet)):
            button.js_on_click(args={"source": source, "button": button, "label": button.label}, code=COPY_JS)
        self._job = None
        if pn.state.curdoc is not None:
            pn.state.on_session_destroyed(lambda ctx: self._session_ended())
            self._warm_workers()
        self.scene_file = pn.widgets.FileDownload(callback=self._scene_bytes, filename="optirace-scene.json",
                                                  label="Download scene JSON", embed=False,
                                                  css_classes=["export-scene"])  # fmt: skip
        self.button.on_click(self._on_export)
        state.param.watch(self._update_links, ["result", "theme", "present", "speed", "loop"])
        self.size.param.watch(self._update_links, "value")
        self.autoplay.param.watch(self._update_links, "value")
        self._update_links()

    def __panel__(self):
        return pn.Column(
            self.format,
            pn.Row(self.size, self.look, sizing_mode="stretch_width"),
            self.button,
            self.download,  # a line of its own: its label holds the file's name
            self.progress,
            self.status,
            self.notice,
            self.link,
            self.copy_link,
            self.snippet,
            self.autoplay,
            self.copy_snippet,
            self.scene_file,
            sizing_mode="stretch_width",
            css_classes=["export-menu"],
        )

    @staticmethod
    def _warm_workers() -> None:
        """The menu is built when its card is first opened: a good moment to start the export
        workers, so the first export does not wait for one to start."""
        from optirace.export.worker import export_pool

        with contextlib.suppress(ValueError):  # a bad limit in the environment: the export reports it
            export_pool().warm()

    def _session_ended(self) -> None:
        self.forget_links()
        self.cancel_export("the tab was closed")

    def forget_links(self) -> None:
        """Drop the copy buttons' browser callbacks from Panel's registry when the session ends.

        Panel files a `js_on_click` callback under its button in a process-wide weak-keyed registry,
        but the callback holds the button (and the text it copies), so the key never dies: without
        this, every closed tab left its export menu, and all it reaches, in the server's memory."""
        for button in (self.copy_link, self.copy_snippet):
            Callback.registry.pop(button, None)

    # ----- link and snippet --------------------------------------------------------------------------
    def share_url(self, **extra: str) -> str:
        """The app's address with the current scene as its query (what `copy link` copies)."""
        query = urlencode({**self.state.to_query(), **extra})
        loc = location()
        if loc is None or not loc.hostname:
            return f"?{query}"
        host = loc.hostname + (f":{loc.port}" if loc.port else "")
        return f"{loc.protocol}//{host}{loc.pathname}?{query}"

    def iframe_snippet(self) -> str:
        extra = {"embed": "1"}
        if self.autoplay.value:
            extra.update(play="1", loop="1")
        w, h = self.size.value.split("x")
        src = as_html(self.share_url(**extra))
        return (f'<iframe src="{src}" width="{w}" height="{h}" style="border:0" '
                'allow="fullscreen" loading="lazy"></iframe>')  # fmt: skip

    def _update_links(self, *_):
        self.link.value = self.share_url()
        self.snippet.value = self.iframe_snippet()

    def _scene_bytes(self) -> io.BytesIO:
        from optirace.export.scene import scene_json

        return io.BytesIO(scene_json(self.state).encode())

    # ----- export ------------------------------------------------------------------------------------
    def options(self):
        from optirace.export import Options
        from optirace.export.options import parse_size

        return Options(size=parse_size(self.size.value), theme=self.look.value or None)

    def _owner(self):
        """Who an export belongs to, for the one-at-a-time rule: this tab's session."""
        ctx = pn.state.curdoc.session_context if pn.state.curdoc is not None else None
        return getattr(ctx, "id", None) or id(self)

    def cancel_export(self, reason: str) -> None:
        if self._job is not None:
            self._job.cancel(reason)

    def _refused(self, error: ValueError) -> None:
        text = str(error)
        if not text.startswith("Not exported"):
            text = f"Not exported: {text}"
        self.status.param.update(text=text, heading="", kind="danger")

    async def _on_export(self, event) -> None:
        from optirace.export.scene import scene_from_state
        from optirace.export.worker import export_pool

        if self._job is not None:
            # Checked here, not only by the disabled button: a page can send clicks regardless.
            self.notice.text = "One export at a time: this tab's export is still running."
            return
        fmt = self.format.value
        try:
            # The scene is taken here, on the session's thread; the worker never sees the live state.
            job = export_pool().submit(self._owner(), scene_from_state(self.state), fmt, self.options())
        except ValueError as e:
            self._refused(e)
            return
        self._job = job
        self.button.disabled = True
        self.button.loading = True  # working, from the click on: the bar moves only once frames are drawn
        self.download.visible = False
        self.progress.value, self.progress.visible = 0, True
        self.notice.text = ""
        self.status.param.update(text=f"Exporting {fmt.upper()}…", heading="", kind="plain")
        try:
            while not job.done():
                ahead = job.ahead()
                waiting = f" (waiting: {ahead} export{'s' * (ahead > 1)} ahead)" if ahead else ""
                self.status.text = f"Exporting {fmt.upper()}…{waiting}"
                self.progress.value = int(100 * job.fraction)
                await asyncio.sleep(0.25)
            data, name, description = job.result()
        except ValueError as e:
            self._refused(e)
        else:
            self.download.filename = name
            self.download.file = io.BytesIO(data)
            self.download.label = f"Download {name}"
            self.download.visible = True
            self.status.text = description
        finally:
            self._job = None
            self.notice.text = ""
            self.progress.visible = False
            self.button.disabled = False
            self.button.loading = False

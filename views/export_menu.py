"""The Export menu: the current figure as GIF, MP4, offline HTML, PNG, SVG or PDF, with a progress
bar and a download; the shareable link, an iframe snippet for slides, and the scene as JSON.

An export works on a snapshot of the scene (what the link shows, plus the shown step), rendered in
a worker thread by optirace.export, the same code as `optirace export --scene`: the session stays
live meanwhile, and moving a slider during an export does not change the file being written.
"""

from __future__ import annotations

import asyncio
import io
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlencode

import panel as pn
from panel.links import Callback

from optirace.text import as_html

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
# One export at a time per server process: the renderers share matplotlib's global caches.
_BUSY = threading.Lock()

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
        self.format = pn.widgets.Select(label="Format", options=FORMAT_CHOICES, value="gif", width=190,
                                        css_classes=["export-format"])  # fmt: skip
        self.size = pn.widgets.Select(label="Size", options=SIZES, value=SIZES[0], width=110)
        self.look = pn.widgets.Select(label="Look", options=LOOKS, value="", width=150)
        self.button = pn.widgets.Button(label="Export", color="primary", width=100,
                                        css_classes=["export-button"])  # fmt: skip
        self.progress = pn.indicators.Progress(value=0, max=100, visible=False, sizing_mode="stretch_width",
                                               css_classes=["export-progress"])  # fmt: skip
        self.status = PlainText(sizing_mode="stretch_width", css_classes=["export-status"])
        self.download = pn.widgets.FileDownload(file=None, filename="race.gif", label="Download", embed=False,
                                                visible=False, color="success",
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
        if pn.state.curdoc is not None:
            pn.state.on_session_destroyed(lambda ctx: self.forget_links())
        self.scene_file = pn.widgets.FileDownload(callback=self._scene_bytes, filename="optirace-scene.json",
                                                  label="Download scene JSON", embed=False,
                                                  css_classes=["export-scene"])  # fmt: skip
        self.button.on_click(self._on_export)
        self._fraction = 0.0
        state.param.watch(self._update_links, ["result", "theme", "present", "speed", "loop"])
        self.size.param.watch(self._update_links, "value")
        self.autoplay.param.watch(self._update_links, "value")
        self._update_links()

    def __panel__(self):
        return pn.Column(
            pn.Row(self.format, self.size, self.look, sizing_mode="stretch_width"),
            pn.Row(self.button, self.download, sizing_mode="stretch_width"),
            self.progress,
            self.status,
            self.link,
            self.copy_link,
            self.snippet,
            self.autoplay,
            self.copy_snippet,
            self.scene_file,
            sizing_mode="stretch_width",
            css_classes=["export-menu"],
        )

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
        loc = pn.state.location
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

    def render(self, fmt: str, progress=None, scene: dict | None = None) -> tuple[bytes, str, str]:
        """(file contents, file name, one-line description) of the scene (default: the current
        figure) as `fmt`. Safe in a worker thread given a scene: the state is not touched."""
        from optirace.export import export
        from optirace.export.scene import scene_from_state, state_from_scene

        scene = scene_from_state(self.state) if scene is None else scene
        name = f"optirace-{scene['surface']}.{fmt}"
        with _BUSY, tempfile.TemporaryDirectory(prefix="optirace-export-") as tmp:
            snapshot = state_from_scene(scene)
            written = export(snapshot, Path(tmp) / name, self.options(), progress)
            data = written.path.read_bytes()
        description = written.describe().replace(f"wrote {written.path} ", f"{name} ")
        return data, name, description

    async def _on_export(self, event) -> None:
        fmt = self.format.value
        self.button.disabled = True
        self.download.visible = False
        self.progress.value, self.progress.visible = 0, True
        self.status.param.update(text=f"Exporting {fmt.upper()}…", heading="", kind="plain")
        self._fraction = 0.0

        def progress(done: int, total: int) -> None:
            self._fraction = done / max(total, 1)

        from optirace.export.scene import scene_from_state

        loop = asyncio.get_running_loop()
        try:
            # The scene is taken here, on the session's thread; the worker never reads the live state.
            job = loop.run_in_executor(None, self.render, fmt, progress, scene_from_state(self.state))
            while not job.done():
                await asyncio.sleep(0.25)
                self.progress.value = int(100 * self._fraction)
            data, name, description = await job
        except (ValueError, OSError, RuntimeError) as e:
            self.status.param.update(text=str(e), heading="Not exported:", kind="danger")
        else:
            self.download.filename = name
            self.download.file = io.BytesIO(data)
            self.download.label = f"Download {name}"
            self.download.visible = True
            self.status.text = description
        finally:
            self.progress.visible = False
            self.button.disabled = False

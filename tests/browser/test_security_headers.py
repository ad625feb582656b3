"""The app under its own Content-Security-Policy, in real Chromium: the page works with no CSP
violation, slides from another site or from disk embed it by default, and OPTIRACE_FRAME_ANCESTORS
limits who may."""

from __future__ import annotations

import functools
import http.server
import os
import threading

import pytest
from conftest import ARTIFACTS, SERVE_FLAGS, _free_port, panel_serve

pytestmark = pytest.mark.browser

# Records every CSP violation the page (or a frame) meets, before any of its scripts run.
WATCH_CSP = """window.__csp = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`));"""
# The race is drawn: Bokeh holds the shared source with the racers' rows.
DRAWN_JS = (
    "() => window.Bokeh && Bokeh.documents.length && [...Bokeh.documents[0].all_models].some("
    "m => m.type === 'ColumnDataSource' && (m.data instanceof Map ? m.data.has('x0') : 'x0' in m.data))"
)


def test_the_page_works_under_its_csp_with_no_violation(app):
    ui, url = app
    page = ui.page
    page.add_init_script(WATCH_CSP)
    documents = []
    page.on("response", lambda r: documents.append(r) if r.request.resource_type == "document" else None)
    ui.open(f"{url}/app?play=1&loop=1")
    csp = documents[0].headers["content-security-policy"]
    assert "'unsafe-eval'" in csp and "frame-ancestors" not in csp
    assert documents[0].headers["x-content-type-options"] == "nosniff"
    assert documents[0].headers["referrer-policy"] == "no-referrer"
    first = ui.shown_step()
    page.wait_for_timeout(1500)
    assert ui.shown_step() != first  # it animates: the websocket connected under connect-src 'self'
    page.get_by_role("button", name="❚❚ Pause").click()
    ui.choose(page.locator("select").first, "Himmelblau")
    page.get_by_text("Export and share", exact=True).click()
    page.locator(".export-format select").wait_for(timeout=30_000)
    with page.expect_download(timeout=30_000) as download:
        page.get_by_role("button", name="Download scene JSON").click()
    assert download.value.suggested_filename.endswith(".json")
    assert "Himmelblau" in ui.text()
    assert page.evaluate("window.__csp") == [] and ui.errors == []


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def slides(tmp_path):
    """A deck that embeds a URL in an iframe, served from its own origin (another port) and as a
    file; returns a function url -> (http URL of the deck, file URL of the deck)."""
    servers = []

    def make(app_url: str, name: str = "deck.html") -> tuple[str, str]:
        deck = tmp_path / name
        deck.write_text(
            f'<!doctype html><title>Lecture</title><iframe src="{app_url}" width="1200" height="700"></iframe>'
        )
        handler = functools.partial(_Quiet, directory=str(tmp_path))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://localhost:{server.server_address[1]}/{name}", deck.as_uri()

    yield make
    for server in servers:
        server.shutdown()


def _embedded(browser, deck_url: str, timeout: float = 60_000) -> tuple[bool, list[str]]:
    """Open the deck; (whether the app inside its iframe drew its race, the console's CSP lines)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(deck_url)
    frame = page.locator("iframe").element_handle().content_frame()
    try:
        frame.wait_for_function(DRAWN_JS, timeout=timeout)
        drawn = True
    except Exception:
        drawn = False
    context.close()
    return drawn, console


def test_slides_from_another_site_or_from_disk_embed_the_app_by_default(browser, server, slides):
    on_the_web, on_disk = slides(f"{server}/app?surface=booth")
    assert _embedded(browser, on_the_web) == (True, [])
    assert _embedded(browser, on_disk) == (True, [])


def test_frame_ancestors_lets_only_the_named_sites_embed(browser, slides, tmp_path):
    port = _free_port()
    allowed, _ = slides(f"http://127.0.0.1:{port}/app", "allowed.html")
    other, on_disk = slides(f"http://127.0.0.1:{port}/app", "other.html")
    allowed_origin = allowed.rsplit("/", 1)[0]
    env = {**os.environ, "OPTIRACE_FRAME_ANCESTORS": f"'self' {allowed_origin}"}
    log_path = ARTIFACTS / "frame-ancestors-serve.log"
    with panel_serve("app.py", *SERVE_FLAGS, log_path=log_path, env=env, port=port):
        assert _embedded(browser, allowed) == (True, [])
        # Each deck is served from its own port, so `other` is another origin than `allowed`.
        assert other.rsplit("/", 1)[0] != allowed_origin
        drawn, console = _embedded(browser, other, timeout=15_000)
        assert not drawn and any("frame-ancestors" in line for line in console), console
        drawn, console = _embedded(browser, on_disk, timeout=15_000)
        assert not drawn and any("frame-ancestors" in line for line in console), console

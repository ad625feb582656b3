"""The page needs nothing but our server, even in a session Bokeh made again for a late websocket."""

from __future__ import annotations

import re
import time

import pytest
from bokeh.util.token import get_session_id
from conftest import ARTIFACTS, RACE_ROWS_JS, SERVE_FLAGS, AppPage, panel_serve

pytestmark = pytest.mark.browser

LOG = ARTIFACTS / "panel-serve-short-lived.log"


@pytest.fixture(scope="module")
def short_lived():
    """A server that discards a session no browser connected to within 1 s (Bokeh's default is
    15 s): a page whose scripts arrive 3 s late then connects to a session Bokeh makes again."""
    with panel_serve("app.py", *SERVE_FLAGS, "--check-unused-sessions", "500", "--unused-session-lifetime", "1000",
                     "--log-level", "info", log_path=LOG) as url:  # fmt: skip
        yield url


@pytest.fixture
def late_page(browser, short_lived):
    """(AppPage, base URL) of a tab whose scripts, and so its websocket, come after its session went."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    errors: list[str] = []
    external: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith((short_lived, "data:")) else external.append(r.url))

    def late(route):
        time.sleep(3)
        route.continue_()

    page.route("**/static/js/bokeh.min.js*", late)
    yield AppPage(page, errors, external), short_lived
    context.close()


# Every ImportedStyleSheet of the page's document, by URL.
STYLESHEETS = (
    "() => [...Bokeh.documents[0].all_models].filter(m => m.type === 'ImportedStyleSheet').map(m => m.url)"
)


def test_a_session_remade_for_a_late_websocket_loads_nothing_from_a_cdn(late_page):
    """Bokeh discards a session no browser connected to within the unused-session lifetime and
    makes it again when the page's websocket arrives. That session's HTML page is never rendered,
    which is where Panel points its stylesheets at the server: its page took Panel's theme,
    Bootstrap, KaTeX and loading styles from Panel's CDN."""
    ui, url = late_page
    ui.open(f"{url}/app")
    token = re.search(r'"token":\s*"([^"]+)"', ui.page.content()).group(1)
    # The page's own session was discarded before its websocket came: this page shows the remade one.
    assert f"session {get_session_id(token)} destroyed" in LOG.read_text()
    sheets = ui.page.evaluate(STYLESHEETS)
    assert any("static/extensions/panel/" in s for s in sheets), sheets
    assert [s for s in sheets if re.match(r"(https?:)?//", s)] == []
    assert ui.external == [], f"requests left the server: {ui.external[:3]}"
    assert ui.errors == []


def test_a_session_remade_for_a_late_websocket_answers_the_page(late_page):
    """The remade session is the page's: a surface chosen on the page is raced and drawn."""
    ui, url = late_page
    ui.open(f"{url}/app?surface=booth")
    token = re.search(r'"token":\s*"([^"]+)"', ui.page.content()).group(1)
    assert f"session {get_session_id(token)} destroyed" in LOG.read_text()
    ui.choose(ui.page.locator(".surface-select select"), "Rosenbrock")
    ui.page.wait_for_function(
        "() => [...Bokeh.documents[0].all_models].some(m => m.type === 'Title' && (m.text || '').startsWith('Rosenbrock'))",
        timeout=90_000,  # a new surface's first figure and race, in a fresh server on a busy machine
    )
    # Rosenbrock's start, raced by the server (its race may reach the player just after the title).
    ui.page.wait_for_function(f"() => {{ {RACE_ROWS_JS} const r = rows(); return !!r && r.x0[0] === -1.5; }}")
    assert ui.errors == []

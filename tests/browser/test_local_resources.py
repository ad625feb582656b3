"""The page needs nothing but our server, even in a session Bokeh made again for a late websocket."""

from __future__ import annotations

import re
import time

import pytest
from bokeh.util.token import get_session_id

pytestmark = pytest.mark.browser

# Every ImportedStyleSheet of the page's document, by URL.
STYLESHEETS = (
    "() => [...Bokeh.documents[0].all_models].filter(m => m.type === 'ImportedStyleSheet').map(m => m.url)"
)


def test_a_session_remade_for_a_late_websocket_loads_nothing_from_a_cdn(app, server_log):
    """Bokeh discards a session no browser connected to within the unused-session lifetime (1 s for
    the test server, 15 s by default) and makes it again when the page's websocket arrives. That
    session's HTML page is never rendered, which is where Panel points its stylesheets at the server:
    its page took Panel's theme, Bootstrap, KaTeX and loading styles from Panel's CDN."""
    ui, url = app

    def late(route):
        time.sleep(3)  # the page's scripts, and so its websocket, arrive after the session is gone
        route.continue_()

    ui.page.route("**/static/js/bokeh.min.js*", late)
    ui.open(f"{url}/app")
    token = re.search(r'"token":\s*"([^"]+)"', ui.page.content()).group(1)
    # The page's own session was discarded before its websocket came: this page shows the remade one.
    assert f"session {get_session_id(token)} destroyed" in server_log.read_text()
    sheets = ui.page.evaluate(STYLESHEETS)
    assert any("static/extensions/panel/" in s for s in sheets), sheets
    assert [s for s in sheets if re.match(r"(https?:)?//", s)] == []
    assert ui.external == [], f"requests left the server: {ui.external[:3]}"
    assert ui.errors == []

"""Panel's stylesheets come from this server in every session: a classroom may be offline."""

from __future__ import annotations

import panel as pn
from bokeh.document import Document
from panel.io.resources import LOCAL_DIST


def serve_panel_css_here(doc: Document) -> None:
    """Point the session's Panel stylesheets at this server before the page's models are made.

    Panel names its stylesheets (its theme's, Bootstrap's, KaTeX's, loading.css) by their CDN
    address and points them at the server when it renders the session's HTML page, through the
    document's `dist_url` template variable. Bokeh discards a session that no browser connected to
    within --unused-session-lifetime (15 s by default) and makes it again, with the page's own id,
    when the page's websocket arrives late. That session's page is never rendered, so its
    stylesheets named the CDN: offline, the page lost its styles. Given here, before the page is
    built, every stylesheet Panel makes for the session is local from the start.
    """
    rel = pn.state.rel_path
    doc.template_variables.setdefault("dist_url", f"{rel}/{LOCAL_DIST}" if rel else LOCAL_DIST)

"""Security headers and a strict websocket origin check for the app server.

`install()` must run before the server is built; the Panel server plugin optirace/serve_plugin.py
does that, since `panel serve` imports plugins first:

    panel serve app.py --plugins optirace.serve_plugin

(scripts/run.sh, `optirace serve`, the image's CMD and docker/entrypoint.py all do.)

What it changes, and why here:

- The app's page, its websocket and Bokeh's and Panel's endpoints and files answer with `X-Content-Type-Options: nosniff`,
  `Referrer-Policy: no-referrer` and a Content-Security-Policy (`CSP` below says what each source
  is for). `OPTIRACE_FRAME_ANCESTORS` adds a `frame-ancestors` directive; unset, any page may embed
  the app (lecture slides are served from anywhere, including files opened from disk).
- Every websocket upgrade that carries an `Origin` is checked against Bokeh's allow-list
  (`--allow-websocket-origin` / `BOKEH_ALLOW_WS_ORIGIN`). Tornado 6.6 accepts an upgrade
  without asking Bokeh when `Origin` matches `Host`, or when the request says
  `Sec-Fetch-Site: same-origin`; after a DNS rebinding both hold for a hostile page, so a server
  allowing only `127.0.0.1:5120` would take a websocket from `http://evil.example`.

`panel serve` offers no public way to give the server Tornado transforms or its own handlers, so
this module does what Panel itself does to install its handlers: it replaces the handler classes
in Bokeh's route tables (`bokeh.server.urls`) with subclasses. It is a patch of library
internals, so it stays in this one module: `install()` checks the tables look as expected and
refuses otherwise, and tests/test_server_security.py fails when Panel, Bokeh or Tornado change
version (and while a bare `panel serve` still takes the forged upgrade). Routes Panel adds outside
these tables (/liveness, /favicon.ico, --static-dirs files) and the / redirect get no headers here;
the proxy recipe (docker/nginx.conf) adds them.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping

import bokeh
import panel
import tornado
from bokeh.server import tornado as bktornado
from bokeh.server import urls
from bokeh.server.views.ws import WSHandler
from tornado.web import RequestHandler

log = logging.getLogger(__name__)

# The versions whose route tables and origin checks this module was written against.
TESTED = {"panel": "1.10.0", "bokeh": "3.10.2", "tornado": "6.6.1"}

# What the app's page needs, found by loading it in Chromium, playing, exporting and downloading
# with each source taken away in turn (tests/browser/test_security_headers.py keeps the page free
# of CSP violations). Everything not listed falls back to default-src 'self': the KaTeX fonts and
# stylesheets, Bokeh's and Panel's scripts, the favicon.
CSP = {
    "default-src": "'self'",
    # 'unsafe-inline': Bokeh and Panel write the document, its session token and the bootstrap
    # code into inline <script> tags, different in every page (no hash fits, and the templates
    # take no nonce). 'unsafe-eval': panel.min.js compiles code with `new Function` (so do
    # Bokeh's CustomJS callbacks, which the app uses). blob:: Panel's module loader
    # (es-module-shims) turns modules into blob: scripts; without it the page never connects.
    "script-src": "'self' 'unsafe-inline' 'unsafe-eval' blob:",
    # Bokeh and Panel style their widgets with inline <style> elements and style attributes.
    "style-src": "'self' 'unsafe-inline'",
    # Panel's and Bokeh's icons are data: SVGs.
    "img-src": "'self' data:",
    # The websocket: CSP Level 3 lets 'self' cover ws:/wss: to the page's own host and port.
    # blob:: es-module-shims fetches the blob: modules it made.
    "connect-src": "'self' blob:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
}

# One source expression of frame-ancestors: a keyword, a scheme, or a host source.
_ANCESTOR = re.compile(
    r"'none'|'self'|\*|[a-z][a-z0-9+.-]*:"
    r"|([a-z][a-z0-9+.-]*://)?(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:(\d{1,5}|\*))?(/[^\s;,']*)?",
    re.IGNORECASE,
)


def frame_ancestors(environ: Mapping[str, str]) -> str | None:
    """The `frame-ancestors` sources from OPTIRACE_FRAME_ANCESTORS, or None (embedding allowed).

    Raises ValueError naming the variable when a source is not a CSP source expression; a `;` or
    `,` would otherwise smuggle further directives or policies into the header."""
    raw = environ.get("OPTIRACE_FRAME_ANCESTORS", "").strip()
    if not raw:
        return None
    if re.search(r"[^\x20-\x7e]", raw):
        raise ValueError("OPTIRACE_FRAME_ANCESTORS: only printable characters and spaces, please")
    sources = raw.split(" ")
    sources = [s for s in sources if s]
    for source in sources:
        if not _ANCESTOR.fullmatch(source):
            raise ValueError(
                f"OPTIRACE_FRAME_ANCESTORS: {source!r} is not a frame-ancestors source; give "
                "space-separated sources such as 'self' https://slides.example.org, or 'none'"
            )
    if "'none'" in sources and len(sources) > 1:
        raise ValueError("OPTIRACE_FRAME_ANCESTORS: 'none' cannot be combined with other sources")
    return " ".join(sources)


def content_security_policy(environ: Mapping[str, str]) -> str:
    directives = dict(CSP)
    ancestors = frame_ancestors(environ)
    if ancestors is not None:
        directives["frame-ancestors"] = ancestors
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def security_headers(environ: Mapping[str, str]) -> dict[str, str]:
    """The headers every response of the app server carries."""
    return {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Content-Security-Policy": content_security_policy(environ),
    }


class _SecurityHeaders(RequestHandler):
    """Adds the headers to every response of a handler, error pages included."""

    headers: dict[str, str] = {}

    def set_default_headers(self) -> None:
        super().set_default_headers()
        for name, value in self.headers.items():
            self.set_header(name, value)


class _StrictOrigin(WSHandler):
    """Asks Bokeh's allow-list about every upgrade that names an Origin, before Tornado's
    same-origin shortcuts can wave it through. An upgrade without Origin does not come from a
    browser page (browsers always send one), so it cannot be a rebinding; Bokeh lets it through."""

    async def get(self, *args, **kwargs) -> None:
        origin = self.request.headers.get("Origin") or self.request.headers.get("Sec-Websocket-Origin")
        if origin is not None and not self.check_origin(origin):
            self.set_status(403)
            self.finish("Cross origin websockets not allowed")
            return
        await super().get(*args, **kwargs)


def _secured(handler: type) -> type:
    if issubclass(handler, _SecurityHeaders):
        return handler
    bases = (
        (_StrictOrigin, _SecurityHeaders, handler)
        if issubclass(handler, WSHandler)
        else (_SecurityHeaders, handler)
    )
    return type(f"Secured{handler.__name__}", bases, {"__module__": __name__})


def install(environ: Mapping[str, str] | None = None) -> None:
    """Make every Bokeh server built from now on in this process send the headers and check origins.

    Raises RuntimeError if Bokeh's route tables no longer hold a websocket route: the origin check
    would silently be off, so the server must not start."""
    environ = os.environ if environ is None else environ
    headers = security_headers(environ)
    found = {"panel": panel.__version__, "bokeh": bokeh.__version__, "tornado": tornado.version}
    if found != TESTED:
        log.warning("optirace.server_security was checked with %s, running %s", TESTED, found)
    ws_routes = [r for r in urls.per_app_patterns if r[0] == "/ws" and issubclass(r[1], WSHandler)]
    if len(ws_routes) != 1:
        raise RuntimeError(
            "optirace.server_security: Bokeh's per-app routes no longer hold one websocket route; "
            "the strict origin check cannot be installed"
        )
    _SecurityHeaders.headers = headers
    for table in (urls.per_app_patterns, urls.toplevel_patterns):
        # The root route stays: Bokeh hands it its arguments only if its class is the very one
        # Bokeh expects, and it only redirects to the app (or lists several apps).
        table[:] = [route if route[1] is bktornado.RootHandler else (route[0], _secured(route[1]), *route[2:])
                    for route in table]  # fmt: skip

    global _installed
    _installed = True


_installed = False
_warned = False


def warn_unless_installed() -> None:
    """Log once per process when the server runs without install() (a bare `panel serve app.py`).

    Called while a session's page is built, it checks on the document's next tick: Panel builds a
    --warm session before it imports its plugins, so checking at once would warn falsely there."""
    doc = panel.state.curdoc
    if _installed or _warned:
        return
    if doc is not None:
        doc.add_next_tick_callback(_warn_unless_installed)
    else:
        _warn_unless_installed()


def _warn_unless_installed() -> None:
    global _warned
    if not _installed and not _warned:
        _warned = True
        log.warning(
            "security headers and the strict websocket origin check are off: "
            "serve with `panel serve app.py --plugins optirace.serve_plugin`"
        )

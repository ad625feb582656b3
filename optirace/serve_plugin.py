"""A Panel server plugin: `panel serve app.py --plugins optirace.serve_plugin`.

`panel serve` imports its plugins before it builds the server, which is when the security headers
and the strict websocket origin check (optirace/server_security.py) must be in place.
"""

from optirace.server_security import install

# A plugin declares the routes it adds; this one adds none, it secures Bokeh's own.
ROUTES: list = []
install()

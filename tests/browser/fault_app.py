"""The app with one fault added on request, served beside app.py by the isolation tests.

`?fault=1` gives that session a periodic callback that raises on every call, as a bug in one
session's code would; every other session is the plain app.
"""

import panel as pn

from optirace.app.page import serve

serve()
if pn.state.session_args.get("fault"):

    def broken():
        raise RuntimeError("fault injected by the isolation test")

    pn.state.add_periodic_callback(broken, period=100)

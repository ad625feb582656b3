"""OptiRace: `panel serve app.py`. A thin assembly; the pieces live in views/, the maths in optimizers/."""

from optirace.server_security import warn_unless_installed
from views.page import serve

warn_unless_installed()  # served without `--plugins optirace.serve_plugin`: say so in the log
serve()

"""OptiRace: `panel serve app.py`. A thin assembly; the page lives in optirace/app/, the maths in optimizers/."""

from optirace.app.page import serve

serve()

# After the page is built: placed before it, during a --warm start Panel linked its theme and
# loading styles from its CDN (tests/browser/test_app.py checks that nothing leaves the server).
from optirace.server_security import warn_unless_installed  # noqa: E402

warn_unless_installed()  # served without `--plugins optirace.serve_plugin`: say so in the log

"""What a closed tab leaves in the server: nothing of its export menu (optirace/app/export_menu.py)."""

from __future__ import annotations

import gc
import weakref

from panel.links import Callback

from optirace.app.export_menu import ExportMenu
from optirace.app.state import RaceState


def test_a_forgotten_export_menu_can_be_freed():
    menu = ExportMenu(RaceState())
    buttons = (menu.copy_link, menu.copy_snippet)
    # Panel files each copy button's browser callback under the button, and the callback holds it.
    assert all(b in Callback.registry for b in buttons)
    gone = weakref.ref(menu.link)
    menu.forget_links()  # what the session-destroyed hook runs
    assert not any(b in Callback.registry for b in buttons)
    del menu, buttons
    gc.collect()
    assert gone() is None, "the menu's widgets must be freed once its session has gone"

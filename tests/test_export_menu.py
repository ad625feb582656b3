"""The export menu's own guard, in-process: Panel 1.10 drops a disabled button's clicks on the
server, so a stale page's second click no longer reaches the menu in the browser test
(tests/browser/test_export_fairness.py); the menu's check must still hold for a click that does."""

from __future__ import annotations

import pytest

from optirace.app.export_menu import ExportMenu
from optirace.app.state import RaceState


def test_a_second_export_while_one_runs_is_refused_with_a_notice():
    menu = ExportMenu(RaceState())
    running = object()
    menu._job = running  # an export under way
    # The guard answers before the handler awaits anything: one step of the coroutine runs it
    # (no event loop of its own, which another test's server may hold in this thread).
    step = menu._on_export(None)
    with pytest.raises(StopIteration):
        step.send(None)
    assert menu.notice.text == "One export at a time: this tab's export is still running."
    assert menu._job is running  # the running export is the one kept

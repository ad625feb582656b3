"""Sessions are independent, and closing a tab frees its session."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.browser


def test_one_users_changes_never_reach_another(browser, server):
    a = browser.new_context(viewport={"width": 1280, "height": 720})
    b = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        from conftest import AppPage

        pa = AppPage(a.new_page(), [], []).open(f"{server}/app")
        pb = AppPage(b.new_page(), [], []).open(f"{server}/app")
        for _ in range(4):
            pa.page.get_by_role("button", name="Step ▶").click()
        pa.choose(pa.page.locator("select").first, "Booth")
        pa.page.wait_for_timeout(1500)
        assert "Booth" in pa.text()
        assert pb.shown_step() == 0
        assert pb.trajectory()["x0"][0] == -1.5  # still Rosenbrock's start
    finally:
        a.close()
        b.close()


def test_closing_a_tab_stops_its_session(browser, server, server_log):
    before = server_log.read_text().count("closed; its playback callback stopped")
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    from conftest import AppPage

    ui = AppPage(ctx.new_page(), [], []).open(f"{server}/app?play=1&loop=1")
    ui.page.wait_for_timeout(500)
    ctx.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server_log.read_text().count("closed; its playback callback stopped") > before:
            return
        time.sleep(0.5)
    raise AssertionError("the server never destroyed the closed tab's session")

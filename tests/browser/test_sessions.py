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


def test_a_closed_tab_stops_animating_before_its_session_is_destroyed(browser, tmp_path):
    """Bokeh keeps a closed tab's session for up to half a minute (its defaults, as a plain
    `panel serve` runs): its playback must stop when the tab goes, not when the session does."""
    import subprocess
    import sys

    from conftest import ROOT, AppPage, _free_port, wait_live

    port = _free_port()
    log_path = tmp_path / "serve.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "panel", "serve", "app.py", "--port", str(port), "--address", "127.0.0.1",
             "--allow-websocket-origin", f"127.0.0.1:{port}", "--liveness", "--static-dirs", "assets=static",
             "--log-level", "info"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            wait_live(url, proc, log_path)
            ctx = browser.new_context(viewport={"width": 1280, "height": 720})
            ui = AppPage(ctx.new_page(), [], []).open(f"{url}/app?play=1&loop=1")
            ui.page.wait_for_timeout(1000)
            assert ui.shown_step() > 0  # it was animating
            ctx.close()
            closed = time.monotonic()
            while "its tab has gone; playback paused" not in log_path.read_text():
                assert time.monotonic() - closed < 5, "the closed tab's playback kept running"
                time.sleep(0.2)
            # ...well before Bokeh destroys the session (15 s unused, checked every 17 s).
            assert "closed; its playback callback stopped" not in log_path.read_text()
        finally:
            proc.terminate()
            proc.wait(10)

"""Sessions are independent, and closing a tab frees its session."""

from __future__ import annotations

import os
import time
from pathlib import Path

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
    before = server_log.read_text().count("destroyed; nothing of it runs")
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    from conftest import AppPage

    ui = AppPage(ctx.new_page(), [], []).open(f"{server}/app?play=1&loop=1")
    ui.page.wait_for_timeout(500)
    ctx.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server_log.read_text().count("destroyed; nothing of it runs") > before:
            return
        time.sleep(0.5)
    raise AssertionError("the server never destroyed the closed tab's session")


def test_a_closed_tab_stops_animating_before_its_session_is_destroyed(browser, tmp_path):
    """Bokeh keeps a closed tab's session for up to half a minute (its defaults, as a plain
    `panel serve` runs). The race plays in the page, so neither a playing tab nor a closed one's
    lingering session costs the server anything: no playback runs on the server at all."""
    import subprocess
    import sys

    from conftest import ROOT, AppPage, _free_port, wait_live

    def cpu_seconds(pid: int) -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    port = _free_port()
    log_path = tmp_path / "serve.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "panel", "serve", "app.py", "--port", str(port), "--address", "127.0.0.1",
             "--allow-websocket-origin", f"127.0.0.1:{port}", "--liveness", "--static-dirs", "assets=static",
             "--log-level", "info"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        ctx = None
        try:
            url = f"http://127.0.0.1:{port}"
            wait_live(url, proc, log_path)
            ctx = browser.new_context(viewport={"width": 1280, "height": 720})
            ui = AppPage(ctx.new_page(), [], []).open(f"{url}/app?play=1&loop=1")
            ui.page.wait_for_timeout(1000)
            first = ui.shown_step()
            c0 = cpu_seconds(proc.pid)
            ui.page.wait_for_timeout(2000)
            playing = cpu_seconds(proc.pid) - c0
            assert ui.shown_step() != first, "it was animating"
            ctx.close()
            ctx = None
            c0 = cpu_seconds(proc.pid)
            time.sleep(3)
            closed = cpu_seconds(proc.pid) - c0
            # An idle server's housekeeping, a few hundredths of a second; a frame a step was far more.
            assert playing < 0.3 and closed < 0.3, (playing, closed)
            assert "destroyed; nothing of it runs" not in log_path.read_text(), (
                "the session was not yet destroyed: the test means that"
            )
        finally:
            if ctx is not None:
                ctx.close()
            proc.terminate()
            proc.wait(10)
